/*
 * inspect.h -- offline inspection, verification and repair of a DAX pool:
 * what `daxkv info`, `daxkv check` and `daxkv check --repair` run.  Not
 * installed and not exported from libdaxkv.so; the CLI links daxkv_static.
 *
 * The inspector maps a pool without the engine's open path (no recovery, no
 * lock upgrade, no assumption that anything on the media is sane): every
 * offset is bounds-checked before it is dereferenced, every record is
 * CRC-checked, loops are detected.  A read-only inspection never writes the
 * pool (the mapping is PROT_READ).
 */
#ifndef DAXKV_INSPECT_H
#define DAXKV_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daxkv.h"

struct insp; /* an inspected pool */

/* Maps the pool at path for inspection (rw = 0: read-only, a shared lock,
 * allowed on a non-pmem copy; rw = 1: read-write, exclusive, pmem only).
 * OK; or what pool_open answers: ENOSTORE; EBUSY (open in another process);
 * ENOTPOOL (not a daxkv pool); EVERSION (a daxkv pool of another format
 * version); ECORRUPT (a daxkv pool whose header is damaged: errmsg says how);
 * EACCES; EIO; ENOMEM. */
int insp_open(const char *path, int rw, struct insp **out);
void insp_close(struct insp *in);

/* The backup copy of the pool header (pmem/pool.h) as the inspection found it. */
enum insp_hdr_backup {
	INSP_HDR_BACKUP_OK = 0,      /* sound and equal to the header in use */
	INSP_HDR_BACKUP_MISSING = 1, /* all zeroes: a pool from before the backup; the
	                                next read-write open adds it */
	INSP_HDR_BACKUP_BAD = 2,     /* damaged or different from the primary; a
	                                read-write open (check --repair) rewrites it */
};

struct insp_info {
	uint32_t format_version;
	int hdr_primary_ok; /* 0: the primary header is damaged, read through the backup */
	int hdr_backup;     /* enum insp_hdr_backup */
	int is_pmem;       /* the mapping is (emulated) persistent memory */
	int clean;         /* clean-shutdown flag */
	uint64_t pool_size, seg_size;
	uint32_t nsegs;
	uint64_t uuid_lo, uuid_hi, create_time_ns, boot_gen, seq_lease;
	uint32_t segs_free, segs_active, segs_sealed, segs_node, segs_bad;
	uint64_t capacity_bytes; /* bytes all segments could hold in records */
	uint64_t used_bytes;     /* record bytes in log segments */
	uint64_t live_bytes, dead_bytes;
	uint64_t keys;
	int recounted;           /* keys and live bytes come from an index walk
	                            (after an unclean shutdown), not the summaries */
	uint64_t node_slots_used;
	uint64_t gc_runs, gc_bytes_moved;
	uint64_t record_max_bytes; /* largest record and batch (daxkv_stats' field) */
};

/* Geometry and summaries; after an unclean shutdown keys and live bytes are
 * recounted from the index (a bounded, checked walk).  OK. */
int insp_info(struct insp *in, struct insp_info *out);

/* A problem found by check or a step taken by repair. */
enum insp_sev { INSP_DAMAGE = 0, INSP_NOTE = 1, INSP_LOST = 2, INSP_FIXED = 3 };
enum insp_where { INSP_AT_POOL = 0, INSP_AT_SEGMENT, INSP_AT_RECORD, INSP_AT_NODE,
		  INSP_AT_LEVEL, INSP_AT_BITMAP, INSP_AT_COUNT, INSP_AT_KEY };
struct insp_problem {
	int sev;       /* enum insp_sev */
	int where;     /* enum insp_where */
	int64_t seg;   /* segment id, -1 none */
	uint64_t off;  /* pool offset (0 none) */
	int level;     /* skiplist level, -1 none */
	const void *key; /* the key concerned (NULL none); valid during the call */
	uint32_t klen;
	char what[200];
};
typedef void (*insp_emit_fn)(void *ctx, const struct insp_problem *p);

struct insp_summary {
	uint64_t problems;       /* INSP_DAMAGE items */
	uint64_t notes;
	uint64_t records, records_bad;
	uint64_t nodes, nodes_bad, keys;
	uint64_t log_only_keys;  /* repair: keys found only in the log */
	uint64_t lost_keys;      /* repair: index entries dropped */
	uint64_t fixed;          /* repair: steps taken */
};

/* Full read-only verification (see docs/CLI.md): the pool header's two
 * copies, the damage mark a handle leaves (sb->clean == DKV_SB_DAMAGED),
 * segment headers, every
 * record's CRC, level 0 (pointers, node sanity, record of the node's key,
 * order, loops, bitmap bit), upper levels, bitmap leaks, discard counts and
 * the key count against a recount.  Each problem goes to emit (NULL: none).
 * Returns OK (the summary says whether anything was found) or ENOMEM. */
int insp_check(struct insp *in, insp_emit_fn emit, void *ctx, struct insp_summary *sum);

/* Repair (repair.c), on a pool opened rw = 1 and closed by the call:
 *  from_log = 0: keep every sound index node (reachable at any level or
 *    allocated in a node bitmap, node and record valid), drop the damaged,
 *    rebuild all levels and the bitmaps, rewrite damaged log regions as dead
 *    filler records, fix segment headers; keys found only in the log are
 *    reported, not restored (deletes leave no record);
 *  from_log = 1: rebuild the whole index from the newest valid record of
 *    each key (deleted keys may come back).
 * Then the engine opens the pool (recovery, recount) and closes it cleanly.
 * OK, ENOSPC (from_log: no room for the nodes), EIO, ENOMEM, or what the
 * engine's open answers. */
int insp_repair(struct insp *in, const char *path, int from_log, insp_emit_fn emit, void *ctx,
		struct insp_summary *sum);

/* Whether the last open of db found a clean shutdown flag (0: it recovered,
 * or it is read-only over an unclean pool). */
int insp_db_was_clean(const daxkv *db);

#endif
