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

/* sl_find_full's answer when the walk met damage (errmsg says what). */
#define SL_DAMAGED (-2)
/* The level where key was found (its node is succs[l]), -1 when absent, or
 * SL_DAMAGED.  relaxed: no level nesting check (recovery, before the
 * in-flight unlinks are settled).  Caller pinned. */
int sl_find_full(struct daxkv *db, struct sl_key key, struct sl_node **preds,
		 struct sl_node **succs, bool relaxed);

#endif
