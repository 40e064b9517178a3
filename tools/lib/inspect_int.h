/*
 * inspect_int.h -- what inspect.c (view, info, check) and repair.c share.
 *
 * struct insp wraps a struct daxkv filled by a tolerant loader: the engine's
 * helpers that only read geometry (rec_check, rec_off_ok, na_off_ok,
 * dkv_seg_*) work on it, nothing else of the engine runs on it.  A segment
 * whose header fails its checks gets state INSP_SEG_BAD, which no helper
 * takes for a log or node segment.
 */
#ifndef DAXKV_INSPECT_INT_H
#define DAXKV_INSPECT_INT_H

#include "tools/lib/inspect.h"
#include "engine/internal.h"

#define INSP_SEG_BAD 0xffu
#define INSP_REPORT_PER_SEG 4 /* damaged records listed per segment */

/* What is wrong with a segment header: repair decides by these codes. */
enum insp_segp {
	INSP_SEGP_OK = 0,
	INSP_SEGP_MAGIC,     /* bad magic (the rest may be sound) */
	INSP_SEGP_STATE,     /* unknown state */
	INSP_SEGP_TAIL,      /* tail outside the segment */
	INSP_SEGP_OWNER,     /* active with a bad or shared owner lane */
};

struct insp {
	struct daxkv *db;
	int rw;
	const char **segwhy; /* per segment: why its header is bad (NULL: good) */
	uint8_t *segprob;    /* per segment: the same as an INSP_SEGP_* code */
	uint64_t *tail;     /* per log segment: the end of its records (segment-relative),
	                       extended over valid records past the header's tail after
	                       an unclean shutdown, as recovery would */
	uint64_t na_data;   /* first node slot of a node segment (segment-relative) */
	uint32_t na_slots;  /* node slots per node segment */
	uint64_t nlines;    /* 64-byte lines in the segment area (bitmap index space) */
	int hdr_primary_bad; /* the primary pool header failed: read through the backup
	                        (a read-write inspection rewrote the primary from it) */
	int hdr_backup;      /* enum insp_hdr_backup: the backup copy as found */
};

/* What a node offset holds. */
enum { NODE_OK = 0, NODE_BADPTR, NODE_BADHDR, NODE_BADREC };
struct insp_node {
	uint64_t off;
	unsigned level;
	uint32_t klen;
	uint64_t loc;   /* as stored (with LOC_TOMB) */
	uint64_t rec;   /* loc without the tomb bit */
	uint64_t rsize; /* size of the record (NODE_OK only) */
	const uint8_t *key; /* full key (NODE_OK) or the prefix (NODE_BADREC) */
	uint32_t keylen;    /* bytes at key */
	const char *why;    /* what is wrong (not NODE_OK) */
};

struct insp_out {
	insp_emit_fn emit;
	void *ctx;
	struct insp_summary *sum;
};

void insp_say(struct insp_out *o, int sev, int where, int64_t seg, uint64_t off, int level,
	      const void *key, uint32_t klen, const char *fmt, ...)
	__attribute__((format(printf, 9, 10)));

/* (Re)reads every segment header into the view (state, gen, effective tail). */
void insp_reload_segs(struct insp *in);
/* Whether off may hold a node (geometry only: node segment, slot boundary). */
bool insp_node_ptr_ok(const struct insp *in, uint64_t off);
/* Reads and validates the node at off.  NODE_OK, or the first problem. */
int insp_node_read(const struct insp *in, uint64_t off, struct insp_node *n);
/* Validates a record at pool offset off of a good log segment, inside its
 * records: 0 and *size, or -1. */
int insp_rec_ok(const struct insp *in, uint64_t off, uint64_t *size);
/* Key order of the API (memcmp, shorter prefix first). */
int insp_keycmp(const void *a, uint32_t alen, const void *b, uint32_t blen);
/* Bit index of a pool offset in the segment area's per-line maps. */
static inline uint64_t insp_line(const struct insp *in, uint64_t off)
{
	return (off - in->db->seg_base) / DKV_LINE;
}
static inline bool bm_get(const uint64_t *m, uint64_t i)
{
	return (m[i / 64] >> (i % 64)) & 1;
}
static inline void bm_set(uint64_t *m, uint64_t i)
{
	m[i / 64] |= 1ull << (i % 64);
}
/* The media node bitmap of node segment id. */
static inline uint64_t *insp_bitmap(const struct insp *in, uint32_t id)
{
	return (uint64_t *)((char *)dkv_seg_hdr(in->db, id) + NA_BITMAP_OFF);
}
static inline bool insp_is_log(const struct insp *in, uint32_t id)
{
	uint32_t st = in->db->segs[id].state;
	return !in->segwhy[id] && (st == SEG_ACTIVE || st == SEG_SEALED);
}
static inline bool insp_is_node(const struct insp *in, uint32_t id)
{
	return !in->segwhy[id] && in->db->segs[id].state == SEG_NODE;
}
/* The offsets of in-flight node operations in the lane table (unclean pool). */
bool insp_in_flight(const struct insp *in, uint64_t node_off);

#endif
