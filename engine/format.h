/*
 * format.h -- every on-media structure of the DAX backend, pinned with
 * _Static_assert (docs/ARCHITECTURE.md, "Persistent format").  Layout of a pool (offsets in bytes):
 *
 *   0      struct pool_hdr (pmem/pool.h): geometry, immutable, CRC-sealed
 *   4096   struct sb_state: mutable superblock words, each published by one
 *          8-byte store (boot generation, clean flag, seq lease)
 *   4352   skiplist head node (DKV_MAX_LEVEL levels)
 *   12288  lane table: DKV_LANES x struct lane_slot (one line each)
 *   seg_base = 16384: nsegs segments of seg_size bytes
 *
 * A segment starts with struct seg_hdr.  A log segment holds records from
 * SEG_DATA_OFF on; a node segment holds a bitmap (1 bit per 64-byte slot)
 * and then the slots of skiplist nodes.
 */
#ifndef DAXKV_FORMAT_H
#define DAXKV_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include "pmem/pool.h"

#define DKV_LINE 64u
#define DKV_MAX_LEVEL 32
#define DKV_LANES 64u        /* lane slots in the pool; GC uses the last */
#define DKV_GC_LANE (DKV_LANES - 1)
#define DKV_SB_STATE_OFF 4096u
#define DKV_HEAD_OFF 4352u
#define DKV_LANES_OFF 12288u
#define DKV_SEG_BASE 16384u
#define DKV_PREFIX 16u       /* key bytes kept in a node */

/* ---- superblock state ---- */
struct sb_state {
	uint64_t boot_gen;  /* +1 at every read-write open; tags volatile node words */
	uint64_t clean;     /* 1 between a clean close and the next open;
	                       DKV_SB_DAMAGED: a handle met damage (recovery.c) */
	uint64_t seq_lease; /* every seq handed out is below this */
	uint64_t keys;      /* live keys at the last clean close */
	uint64_t gc_runs;
	uint64_t gc_bytes_moved;
	uint64_t bytes_written; /* record bytes appended, at the last clean close */
	uint64_t gc_passes;
};
_Static_assert(sizeof(struct sb_state) == 64, "sb_state is one line");
/* Older builds read any value but 1 as unclean: no format-version change. */
#define DKV_SB_DAMAGED 2ull

/* ---- lane slots: the in-flight operation of each writer lane ----
 * op    = node offset | LANE_OP_ALLOC/FREE: the node an insert or unlink in
 *         flight allocates or frees; one 8-byte store, durable at the
 *         operation's first fence.  A stale value is harmless: recovery
 *         decides from the node's current state.
 * batch = offset of the first record of a committed batch being applied
 *         (0 none); set before the batch's commit fence, cleared (and fenced)
 *         once every operation of the batch is applied. */
enum { LANE_OP_NONE = 0, LANE_OP_ALLOC = 1, LANE_OP_FREE = 2 };
#define LANE_OP_MASK 63ull
struct lane_slot {
	uint64_t op;
	uint64_t batch;
	uint64_t pad[6];
};
_Static_assert(sizeof(struct lane_slot) == 64, "lane slot is one line");
_Static_assert(DKV_LANES_OFF + DKV_LANES * sizeof(struct lane_slot) == DKV_SEG_BASE,
	       "lane table ends at seg_base");

/* ---- segments ----
 * sw (state word) = state | owner lane << 8 | gen << 16, one 8-byte store. */
enum { SEG_FREE = 0, SEG_ACTIVE = 1, SEG_SEALED = 2, SEG_NODE = 3 };
#define SEG_MAGIC 0x4745534b58414455ull /* "UDAXKSEG" */
#define SW_STATE(w) ((unsigned)((w)&0xff))
#define SW_OWNER(w) ((unsigned)(((w) >> 8) & 0xff))
#define SW_GEN(w) ((w) >> 16)
#define SW_MAKE(st, own, gen) ((uint64_t)(st) | ((uint64_t)(own) << 8) | ((uint64_t)(gen) << 16))

struct seg_hdr {
	uint64_t magic;
	uint64_t sw;
	uint64_t tail;       /* log: end of records (exact when sealed, a lower
	                        bound while active) */
	uint64_t live_bytes; /* at the last clean close */
	uint64_t age_seq;    /* sealed: the newest data it holds (seq), GC's age */
	uint64_t pad[3];
};
_Static_assert(sizeof(struct seg_hdr) == 64, "seg_hdr is one line");
#define SEG_DATA_OFF 256u /* first record of a log segment */

/* ---- records ----
 * crc32c(seed = segment gen, bytes 4..end of key+value) | type | flags |
 * klen | vlen | seq | expire | prev (older version's offset) | aux, then key,
 * value, zero padding to 8 bytes. */
enum { REC_PUT = 1, REC_DEL = 2 };
#define REC_F_BATCH 1u      /* part of an atomic batch */
#define REC_F_BATCH_LAST 2u /* last record of its batch */
struct rec_hdr {
	uint32_t crc;
	uint8_t type;
	uint8_t flags;
	uint16_t rsv;
	uint32_t klen;
	uint32_t vlen;
	uint64_t seq;
	uint64_t expire;
	uint64_t prev; /* offset of the version this one replaced (0 none) */
	uint64_t aux;  /* batch: the node reserved for a new key */
};
_Static_assert(sizeof(struct rec_hdr) == 48, "rec_hdr is 48 bytes");
_Static_assert(offsetof(struct rec_hdr, seq) == 16, "rec seq");

/* ---- skiplist nodes ----
 * A node lives in a node segment, in 1..5 consecutive 64-byte slots.
 * loc is the record offset, published with one 8-byte store; | LOC_TOMB marks
 * the key deleted: either loc is a tombstone record (a delete under an open
 * snapshot) or the key's last put (a delete no snapshot needed writes no
 * record; the node is unlinked right after).  vw is volatile (lock/mark/linked
 * bits tagged with the boot generation): it may reach media with its line,
 * and a word of an earlier boot reads as plain LINKED, so it needs no flush. */
#define LOC_TOMB 1ull
struct sl_node {
	uint64_t loc;
	uint32_t vw;
	uint8_t level;
	uint8_t rsv0;
	uint16_t rsv1;
	uint32_t klen;
	uint32_t rsize8; /* size/8 of the record loc points at (accounting only) */
	uint8_t prefix[DKV_PREFIX];
	uint64_t prev; /* level-0 backward link: a hint, validated on use */
	uint64_t next[];
};
_Static_assert(sizeof(struct sl_node) == 48, "node header is 48 bytes");
_Static_assert(offsetof(struct sl_node, next) == 48, "next[] at 48");
_Static_assert(DKV_HEAD_OFF + 48 + 8 * DKV_MAX_LEVEL <= DKV_LANES_OFF, "head fits");

/* A node segment: seg_hdr, the slot bitmap at NA_BITMAP_OFF (one bit per
 * 64-byte line of the segment, rounded up), then the slots from the next
 * 4 KiB boundary. */
#define NA_BITMAP_OFF 256u
static inline uint64_t na_data_off(uint64_t seg_size)
{
	uint64_t words = (seg_size / DKV_LINE + 63) / 64;
	return (NA_BITMAP_OFF + words * 8 + 4095) & ~4095ull;
}
static inline uint32_t na_nslots(uint64_t seg_size)
{
	return (uint32_t)((seg_size - na_data_off(seg_size)) / DKV_LINE);
}

static inline uint32_t node_slots(unsigned level)
{
	return (uint32_t)((48 + 8 * level + DKV_LINE - 1) / DKV_LINE);
}

#endif
