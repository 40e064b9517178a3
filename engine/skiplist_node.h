/*
 * skiplist_node.h -- what the skiplist's search (skiplist.c) and its writers
 * (skiplist_write.c) share: the node's volatile word (lock, mark and linked
 * bits tagged with the boot generation), its lock, and next-pointer access.
 * Private to those two files.
 */
#ifndef DAXKV_SKIPLIST_NODE_H
#define DAXKV_SKIPLIST_NODE_H

#include <sched.h>

#include "engine/internal.h"

#define VW_LOCKED 1u
#define VW_MARKED 2u
#define VW_LINKED 4u
#define SL_RETRY 1

static inline uint32_t vw_gen(const struct daxkv *db)
{
	return (db->boot_gen & 0x0fffffffu) << 4;
}
static inline _Atomic uint32_t *vwp(struct sl_node *n)
{
	return (_Atomic uint32_t *)&n->vw;
}
static inline uint32_t vw_flags(const struct daxkv *db, struct sl_node *n)
{
	uint32_t v = atomic_load_explicit(vwp(n), memory_order_acquire);
	return (v & ~15u) == vw_gen(db) ? (v & 15u) : VW_LINKED;
}
static inline void relax(unsigned *spins)
{
	if (++*spins % 64 == 0)
		sched_yield();
	else
		__builtin_ia32_pause();
}
static inline void node_lock(const struct daxkv *db, struct sl_node *n)
{
	unsigned spins = 0;
	for (;;) {
		uint32_t v = atomic_load_explicit(vwp(n), memory_order_relaxed);
		uint32_t cur = (v & ~15u) == vw_gen(db) ? v : (vw_gen(db) | VW_LINKED);
		if (!(cur & VW_LOCKED) &&
		    atomic_compare_exchange_weak_explicit(vwp(n), &v, cur | VW_LOCKED,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
		relax(&spins);
	}
}
static inline void node_unlock(struct sl_node *n)
{
	atomic_fetch_and_explicit(vwp(n), ~VW_LOCKED, memory_order_release);
}
static inline uint64_t nxt(const struct sl_node *n, unsigned l)
{
	return atomic_load_explicit((_Atomic uint64_t *)&n->next[l], memory_order_acquire);
}
static inline void set_next(struct sl_node *n, unsigned l, uint64_t v)
{
	atomic_store_explicit((_Atomic uint64_t *)&n->next[l], v, memory_order_release);
	pm_flush(&n->next[l], 8);
}
static inline struct sl_node *node_at(struct daxkv *db, uint64_t off)
{
	return off && sl_off_ok(db, off) ? dkv_ptr(db, off) : NULL;
}

/* ---- keys ---- */

/* The record's copy of a long key (klen > DKV_PREFIX) of n, or NULL when the
 * location or length would read outside the record's segment (damage).
 * Bounds only, no CRC: the key may still be wrong, never out of bounds. */
static inline const uint8_t *node_full_key(const struct daxkv *db, const struct sl_node *n)
{
	uint64_t loc = sl_loc(n) & ~LOC_TOMB, in = (loc - db->seg_base) & (db->seg_size - 1);
	if (DKV_UNLIKELY(loc < db->seg_base || (loc & 7) || in < SEG_DATA_OFF ||
			 n->klen > DAXKV_KEY_MAX ||
			 in + sizeof(struct rec_hdr) + n->klen > db->seg_size ||
			 loc + sizeof(struct rec_hdr) + n->klen > db->pool.size))
		return NULL;
	const struct rec_hdr *h = rec_at(db, loc);
	/* A location that points at a record of another key length is damage:
	 * its bytes past the key would order the node at random. */
	return DKV_UNLIKELY(h->klen != n->klen) ? NULL : rec_key(h);
}

/* The full key of n: its prefix, or the record's copy of a longer key. */
static inline struct sl_key node_key(const struct daxkv *db, const struct sl_node *n)
{
	struct sl_key k = { n->prefix, n->klen };
	if (n->klen > DKV_PREFIX) {
		/* sl_cmp orders n by its prefix, then the record's bytes after it:
		 * a record that disagrees with the prefix, or cannot be read, is
		 * damage, and the prefix (which sorts just before n) is its key. */
		k.k = node_full_key(db, n);
		if (DKV_UNLIKELY(!k.k || memcmp(k.k, n->prefix, DKV_PREFIX) != 0))
			k = (struct sl_key){ n->prefix, DKV_PREFIX };
	}
	return k;
}

static inline uint64_t be64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

/* sl_cmp, inlined into the searches: the sign is what counts; a key that
 * cannot be read sets *bad and sorts n last. */
static inline int cmp_node(const struct daxkv *db, const struct sl_node *n, struct sl_key key,
			   bool *bad)
{
	uint32_t nk = n->klen;
	if (nk >= DKV_PREFIX && key.len >= DKV_PREFIX) {
		/* The common case (keys of 16+ bytes): two word compares. */
		uint64_t a = be64(n->prefix), b = be64(key.k);
		if (a == b) {
			a = be64(n->prefix + 8);
			b = be64(key.k + 8);
		}
		if (a != b)
			return a < b ? -1 : 1;
	}
	uint32_t m = nk < key.len ? nk : key.len;
	int c = memcmp(n->prefix, key.k, m < DKV_PREFIX ? m : DKV_PREFIX);
	if (c)
		return c;
	if (m > DKV_PREFIX) {
		const uint8_t *full = node_full_key(db, n);
		if (DKV_UNLIKELY(!full)) {
			*bad = true;
			return 1;
		}
		c = memcmp(full + DKV_PREFIX, key.k + DKV_PREFIX, m - DKV_PREFIX);
		if (c)
			return c;
	}
	return (nk > key.len) - (nk < key.len);
}

/* sl_find_full's answer when the walk met damage (errmsg says what). */
#define SL_DAMAGED (-2)
/* The level where key was found (its node is succs[l]), -1 when absent, or
 * SL_DAMAGED.  relaxed: no level nesting check (recovery, before the
 * in-flight unlinks are settled).  Caller pinned. */
int sl_find_full(struct daxkv *db, struct sl_key key, struct sl_node **preds,
		 struct sl_node **succs, bool relaxed);
/* sl_find_tree's answer when the DRAM index cannot help: search the skiplist. */
#define SL_NO_HINT (-3)
struct dix_hit;
/* The search of level l from the DRAM index (dindex.c): the tree of level l
 * and a short walk of that level.  0 (found: succs[l]), -1 (absent: preds[l]
 * and succs[l] set), or SL_NO_HINT; *hit: the tree's answer.  Caller pinned,
 * dix_ready. */
int sl_find_tree(struct daxkv *db, unsigned l, struct sl_key key, struct sl_node **preds,
		 struct sl_node **succs, struct dix_hit *hit);

#endif
