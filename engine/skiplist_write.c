/*
 * skiplist_write.c -- the writers of the persistent skiplist: insert, update
 * and delete (sl_put), the unlink of tombstones no snapshot needs (sl_purge,
 * and the drain of the deferred ones), GC's repoint, and recovery's settle of
 * an operation in flight.  The search and the node layout are in skiplist.c
 * and skiplist_node.h.
 *
 * Durability invariants (docs/ARCHITECTURE.md, "Durability invariants"):
 *  PERSIST(SL-1): the record, the new node's content and the lane slot are
 *                 durable (one fence) before anything points at the node.
 *  PERSIST(SL-2): the operation is published with one 8-byte store (level-0 link,
 *                 or the node's record location) + flush + fence: durable.
 *  PERSIST(SL-3): upper-level links are flushed but not fenced: after a crash
 *                 every pointer still goes forward to a node linked at level 0,
 *                 except pointers to a node whose unlink was in flight, which
 *                 recovery removes (sl_settle).
 *  PERSIST(SL-4): a node's bitmap bits change in the same fenced group as its
 *                 level-0 link/unlink; the lane slot names it one fence earlier.
 */
#include <stdlib.h>

#include "engine/dindex.h"
#include "engine/skiplist_node.h"

/* ---- writers ---- */

static void node_init(struct daxkv *db, struct sl_node *n, unsigned level, struct sl_key key,
		      uint64_t loc, uint64_t size)
{
	memset(n, 0, sizeof(*n) + 8 * level);
	n->loc = loc;
	n->vw = vw_gen(db) | VW_LOCKED; /* nobody builds on it until fully linked */
	n->level = (uint8_t)level;
	n->klen = key.len;
	n->rsize8 = (uint32_t)(size >> 3);
	memcpy(n->prefix, key.k, key.len < DKV_PREFIX ? key.len : DKV_PREFIX);
}

/* Appends op's record (or takes the batch's pre-written one); *size is its
 * size, computed, not read back: an NT-written line is not in the cache. */
static int write_rec(struct daxkv *db, unsigned lane, const struct sl_put *op, uint8_t type,
		     uint64_t prev, uint64_t seq, uint64_t *off, uint64_t *size)
{
	uint32_t vlen = type == REC_DEL ? 0 : op->vlen;
	*size = rec_size(op->key.len, vlen);
	if (op->pre_off) {
		*off = op->pre_off;
		return 0;
	}
	uint64_t gen;
	seg_append_begin(db, lane); /* block: the shared segment, in seq order */
	int rc = seg_reserve(db, lane, *size, type == REC_DEL ? SEG_USE_DELETE : SEG_USE_PUT, off,
			     &gen);
	if (rc) {
		seg_append_end(db, lane, 0);
		return rc;
	}
	struct rec_in r = { .type = type, .key = op->key.k, .klen = op->key.len,
			    .val = op->val, .vlen = vlen, .seq = seq ? seq : dkv_next_seq(db, 1),
			    .prev = prev, .expire = type == REC_DEL ? 0 : op->expire };
	rec_write(db, *off, gen, &r);
	seg_append_end(db, lane, *off + *size);
	return 0;
}

struct locked {
	struct sl_node *n[DKV_MAX_LEVEL];
	unsigned cnt;
};
static void lock_add(const struct daxkv *db, struct locked *lk, struct sl_node *p)
{
	if (lk->cnt && lk->n[lk->cnt - 1] == p)
		return;
	node_lock(db, p);
	lk->n[lk->cnt++] = p;
}
static void unlock_all(struct locked *lk)
{
	while (lk->cnt)
		node_unlock(lk->n[--lk->cnt]);
}

/* ---- bounded retries ----
 * A writer retries while another one is inside a node (inserting: LOCKED and
 * not yet LINKED; removing: MARKED and LOCKED); both end.  Damaged media can
 * make a retry's reason permanent, so each retry loop tells the two apart:
 *  - a node of this boot that is neither LINKED nor LOCKED was never made by
 *    a finished or running insert (node_init locks, the link publishes
 *    LINKED and unlocks in one store): damage at once;
 *  - a MARKED node whose lock is free (or held by us) was unlinked by its
 *    remover before the release, and a search that starts after seeing that
 *    cannot reach it (we are pinned: its slot is not reused): meeting the
 *    same "gone" node again on the next try is damage -- it is linked from
 *    somewhere its remover could not see.
 * Every other retry waits on a remover or inserter that finishes.  The lock
 * spins (node_lock) wait on this boot's lock bits only (a word of an earlier
 * boot reads unlocked), held for bounded critical sections. */
static inline bool vw_gone(const struct daxkv *db, struct sl_node *n, bool we_lock)
{
	uint32_t f = vw_flags(db, n);
	return (f & VW_MARKED) && (we_lock || !(f & VW_LOCKED));
}
static int retry_damaged(struct sl_node **last_gone, struct sl_node *gone)
{
	if (gone && gone == *last_gone)
		return dkv_err(DAXKV_ECORRUPT, "skiplist damaged: a removed node is still "
			       "linked (its slot is shared, or a pointer was restored)");
	*last_gone = gone;
	return 0;
}

static int insert_new(struct daxkv *db, unsigned lane, const struct sl_put *op,
		      struct sl_node **preds, struct sl_node **succs, uint64_t noff,
		      unsigned level, const struct dix_hit *hit, uint64_t kh,
		      struct sl_node **gone)
{
	struct locked lk = { .cnt = 0 };
	*gone = NULL;
	for (unsigned l = 0; l < level; l++) {
		struct sl_node *p = preds[l], *s = succs[l];
		lock_add(db, &lk, p);
		if ((vw_flags(db, p) & VW_MARKED) || (s && (vw_flags(db, s) & VW_MARKED)) ||
		    nxt(p, l) != (s ? dkv_off(db, s) : 0)) {
			if (vw_gone(db, p, true))
				*gone = p;
			else if (s && vw_gone(db, s, false))
				*gone = s;
			unlock_all(&lk);
			return SL_RETRY;
		}
	}
	uint64_t roff, size;
	/* The new node's line, to be written after the record: its miss
	 * overlaps the record's copy. */
	__builtin_prefetch(dkv_ptr(db, noff), 1);
	int rc = write_rec(db, lane, op, REC_PUT, 0, 0, &roff, &size);
	if (rc) {
		unlock_all(&lk);
		return rc;
	}
	struct sl_node *n = dkv_ptr(db, noff);
	node_init(db, n, level, op->key, roff, size);
	for (unsigned l = 0; l < level; l++)
		n->next[l] = succs[l] ? dkv_off(db, succs[l]) : 0;
	n->prev = preds[0] == db->head ? 0 : dkv_off(db, preds[0]);
	pm_flush(n, sizeof(*n) + 8 * level);
	dkv_slot_set(db, lane, noff | LANE_OP_ALLOC);
	/* PERSIST(SL-1): record, node and slot durable before the link (block:
	 * the record in its file, BLK-1; nothing is linked on failure). */
	rc = seg_durable(db, roff + size);
	if (DKV_UNLIKELY(rc)) {
		unlock_all(&lk);
		return rc;
	}
	/* The bitmap's atomics before the link's flush (na_commit says why). */
	na_commit(db, noff, level);
	set_next(preds[0], 0, noff);
	if (succs[0]) /* a hint, validated on use (iter.c): no flush of its own */
		atomic_store_explicit((_Atomic uint64_t *)&succs[0]->prev, noff,
				      memory_order_relaxed);
	pm_fence(); /* PERSIST(SL-2): linked at level 0 -- durable. */
	/* In the DRAM index before anyone can lock n to remove it (dindex.c);
	 * out of memory turns the tree off, not the put. */
	(void)(hit ? dix_set_at(db, 0, op->key, noff, hit) : dix_set(db, 0, op->key, noff));
	dhash_set(db, op->key, kh, noff);
	sl_top_raise(db, level); /* before a reader can meet a taller link */
	for (unsigned l = 1; l < level; l++)
		set_next(preds[l], l, noff); /* PERSIST(SL-3) */
	if (level >= 2) /* linked at level 1: into the tall tree, as above */
		(void)dix_set(db, 1, op->key, noff);
	atomic_store_explicit(vwp(n), vw_gen(db) | VW_LINKED, memory_order_release);
	unlock_all(&lk);
	atomic_fetch_add_explicit(&db->lanes[lane].keys, 1, memory_order_relaxed);
	seg_live_add(db, roff, (int64_t)size);
	if (op->node_out)
		*op->node_out = noff;
	return 0;
}

/* Removes marked+locked node n from every level; tomb is its new location.
 * 0, or ECORRUPT (nothing written) when the index around n is damaged. */
static int unlink_marked(struct daxkv *db, unsigned lane, struct sl_node *n, uint64_t tomb,
			 bool relaxed)
{
	struct sl_node *preds[DKV_MAX_LEVEL], *succs[DKV_MAX_LEVEL], *last_gone = NULL;
	struct sl_key key = sl_node_key(db, n);
	struct locked lk;
	unsigned spins = 0;
	/* na_free() below needs a slot of a node segment (its bitmap and DRAM
	 * overlay): a node reached through a damaged link, or whose segment
	 * header no longer says NODE, is damage, not something to free. */
	if (!na_off_ok(db, dkv_off(db, n), n->level))
		return dkv_err(DAXKV_ECORRUPT, "skiplist damaged: node %llu (level %u) is not "
			       "a slot of a node segment", (unsigned long long)dkv_off(db, n),
			       n->level);
	/* A linked node's bits are set before its link (and by recovery's
	 * settle); one whose slot the bitmap says is free was reached through
	 * damage, and the allocator may have it reserved (a lane's cache). */
	if (!na_is_set(db, dkv_off(db, n)))
		return dkv_err(DAXKV_ECORRUPT, "skiplist damaged: node %llu is linked but its "
			       "slot is free in the node bitmap", (unsigned long long)dkv_off(db, n));
	for (;;) {
		bool ok = true;
		struct sl_node *gone = NULL;
		lk.cnt = 0;
		if (sl_find_full(db, key, preds, succs, relaxed) == SL_DAMAGED)
			return DAXKV_ECORRUPT;
		for (unsigned l = 0; ok && l < n->level; l++) {
			if (succs[l] != n)
				continue; /* not linked at l (a crash left it out) */
			lock_add(db, &lk, preds[l]);
			ok = !(vw_flags(db, preds[l]) & VW_MARKED) &&
			     nxt(preds[l], l) == dkv_off(db, n);
			if (!ok && vw_gone(db, preds[l], true))
				gone = preds[l];
		}
		if (ok)
			break;
		unlock_all(&lk);
		if (retry_damaged(&last_gone, gone))
			return DAXKV_ECORRUPT;
		relax(&spins);
	}
	uint64_t noff = dkv_off(db, n);
	dkv_slot_set(db, lane, noff | LANE_OP_FREE);
	pm_fence(); /* PERSIST(SL-1): slot (and tomb record, if any) durable first. */
	atomic_store_explicit((_Atomic uint64_t *)&n->loc, tomb, memory_order_release);
	pm_flush(&n->loc, 8);
	for (int l = n->level - 1; l >= 0; l--)
		if (succs[l] == n)
			set_next(preds[l], (unsigned)l, nxt(n, (unsigned)l));
	struct sl_node *s = node_at(db, nxt(n, 0));
	if (s) /* a hint: no flush (insert_new) */
		atomic_store_explicit((_Atomic uint64_t *)&s->prev,
				      preds[0] == db->head ? 0 : dkv_off(db, preds[0]),
				      memory_order_relaxed);
	na_free(db, noff, n->level);
	pm_fence(); /* PERSIST(SL-2), PERSIST(SL-4): unlinked and freed -- durable. */
	for (unsigned l = 0; l < 2 && l < n->level; l++)
		dix_del(db, l, key, noff); /* under n's lock, MARKED (dindex.c) */
	dhash_del(db, key, noff);
	unlock_all(&lk);
	return 0;
}

static int update_locked(struct daxkv *db, unsigned lane, const struct sl_put *op,
			 struct sl_node *n)
{
	uint64_t old = sl_loc(n), roff, seq = 0;
	uint64_t oldsz = (uint64_t)n->rsize8 << 3;
	bool was_tomb = old & LOC_TOMB;
	int rc = 0;
	if (op->pre_off && old == (op->pre_off | (op->is_delete ? LOC_TOMB : 0)))
		goto out; /* batch redo: already applied */
	if (op->is_delete && was_tomb) {
		rc = op->pre_off ? 0 : DAXKV_ENOTFOUND;
		goto out;
	}
	if (DKV_UNLIKELY(op->cond || op->was_expired)) {
		/* Conditions and expiry read the current record's header (under the
		 * lock: the version cannot change before the write). */
		const struct rec_hdr *h = rec_at(db, old & ~LOC_TOMB);
		uint64_t live = sl_live_version(db, old, op->now_ms);
		bool expired = !was_tomb && live == 0;
		if (op->cond == SL_COND_EXPIRED ? !expired || h->seq != op->expect
		    : op->cond == SL_COND_VERSION && live != op->expect &&
			      !(op->is_delete && expired)) {
			rc = dkv_err(DAXKV_ECONFLICT, "the key's version is %llu, not %llu",
				     (unsigned long long)live, (unsigned long long)op->expect);
			goto out;
		}
		if (op->was_expired)
			*op->was_expired = op->is_delete && expired;
	}
	if (op->is_delete) {
		seq = op->pre_off ? op->pre_seq : dkv_next_seq(db, 1);
		if (dkv_snap_allows_unlink(db, seq)) {
			if (db->blk) {
				/* Block: the log is the truth (its index is rebuilt from
				 * it), so the delete is a durable tombstone first. */
				uint64_t toff, tsz;
				rc = write_rec(db, lane, op, REC_DEL, old & ~LOC_TOMB, seq, &toff,
					       &tsz);
				if (!rc)
					rc = seg_durable(db, toff + tsz); /* PERSIST(BLK-1) */
				if (rc)
					goto out;
			}
			/* No snapshot needs the old version: unlink now.  The index is
			 * the truth, so no record is needed (and a full pool still
			 * accepts deletes).  TOMB on a put record = deleted, no record. */
			/* Accounting moves before the change is visible: GC must not
			 * see the record dead, free its segment, and then get the
			 * subtraction into the segment's next life. */
			seg_live_add(db, old & ~LOC_TOMB, -(int64_t)oldsz);
			atomic_fetch_or(vwp(n), VW_MARKED);
			rc = unlink_marked(db, lane, n, old | LOC_TOMB, false);
			if (!rc)
				atomic_fetch_sub_explicit(&db->lanes[lane].keys, 1,
							  memory_order_relaxed);
			goto out; /* stays MARKED: it is gone (or the handle is broken) */
		}
	}
	uint64_t size;
	rc = write_rec(db, lane, op, op->is_delete ? REC_DEL : REC_PUT, old & ~LOC_TOMB, seq,
		       &roff, &size);
	if (rc)
		goto out;
	/* PERSIST(SL-1): the record is durable before the node points at it. */
	rc = seg_durable(db, roff + size);
	if (DKV_UNLIKELY(rc))
		goto out;
	/* Atomic: iterators read it unlocked (a prefetch's length, iter.c). */
	__atomic_store_n(&n->rsize8, (uint32_t)(size >> 3), __ATOMIC_RELAXED);
	seg_live_add(db, old & ~LOC_TOMB, -(int64_t)oldsz); /* before: see above */
	atomic_store_explicit((_Atomic uint64_t *)&n->loc, roff | (op->is_delete ? LOC_TOMB : 0),
			      memory_order_release);
	pm_flush(&n->loc, 8);
	pm_fence(); /* PERSIST(SL-2): published -- durable. */
	seg_live_add(db, roff, (int64_t)size);
	if (op->is_delete) {
		atomic_fetch_sub_explicit(&db->lanes[lane].keys, 1, memory_order_relaxed);
		dkv_purge_later(db, dkv_off(db, n));
	} else if (was_tomb) {
		atomic_fetch_add_explicit(&db->lanes[lane].keys, 1, memory_order_relaxed);
	}
	if (op->node_out)
		*op->node_out = dkv_off(db, n);
out:
	node_unlock(n);
	return rc;
}

/* The node a new key takes: its level drawn and its slots reserved once,
 * kept across retries (a batch brings its own). */
static int take_node(struct daxkv *db, unsigned lane, uint64_t *noff, unsigned *level)
{
	if (*noff)
		return 0;
	*level = sl_random_level();
	return na_reserve_lane(db, lane, *level, noff);
}

/* Where a put starts.  From the hash, an overwrite finds its node without a
 * search; an insert needs the tree's neighbours anyway, and asking the hash
 * first would put a cache miss in front of the descent.  So each thread
 * goes by its recent puts: hash first while they were mostly overwrites,
 * the tree first (with the hash bucket fetched beside it, for the insert's
 * entry) while they were mostly inserts. */
static __thread int tl_overwrites DKV_TLS_HOT; /* -8..8: recent overwrites minus inserts */
static inline void learn_put(bool overwrite)
{
	int v = tl_overwrites + (overwrite ? 1 : -1);
	tl_overwrites = v > 8 ? 8 : v < -8 ? -8 : v;
}

/* An update's decision for the key's current record h (NULL: absent,
 * deleted or expired): SL_UPD_WRITE with op's value, expiry and is_delete
 * filled in, SL_UPD_KEEP, or a status. */
static int run_update(struct daxkv *db, struct sl_put *op, uint64_t loc)
{
	const struct rec_hdr *h = NULL;
	if (!(loc & LOC_TOMB) && sl_live_version(db, loc, op->now_ms))
		h = rec_at(db, loc);
	op->is_delete = 0;
	int u = op->update(op->update_ctx, h, op);
	if (u == SL_UPD_WRITE && op->is_delete && !h)
		u = SL_UPD_KEEP; /* nothing to delete */
	return u;
}

int sl_put(struct daxkv *db, unsigned lane, const struct sl_put *op_in)
{
	/* An update decides the write under the key's lock: a copy it fills. */
	struct sl_put upd, *mop = NULL;
	const struct sl_put *op = op_in;
	if (DKV_UNLIKELY(op_in->update != NULL)) {
		upd = *op_in;
		op = mop = &upd;
	}
	struct sl_node *preds[DKV_MAX_LEVEL], *succs[DKV_MAX_LEVEL], *last_gone = NULL, *gone;
	uint64_t noff = op->pre_node;
	unsigned level = op->pre_level, spins = 0;
	bool first = true; /* the DRAM index's start on the first try; retries descend */
	struct dix_hit hit, hit1;
	uint64_t kh = 0; /* the key's hash, once known */
	int rc = 0;
	epoch_pin();
	for (;;) { /* bounded: see "bounded retries" */
		bool tree = first && dix_ready(db), hashed = tree && dhash_on(db);
		bool by_hash = hashed && tl_overwrites >= 0;
		first = false;
		int lf = SL_NO_HINT;
		uint64_t at = 0;
		if (hashed) /* the bucket: the lookup's, or the insert's dhash_set */
			kh = dhash_prefetch(db, op->key);
		if (by_hash) {
			at = dhash_get(db, op->key, kh);
			learn_put(at != 0);
		}
		if (at) { /* the key's node, by the hash: no search */
			succs[0] = dkv_ptr(db, at);
			lf = 0;
		} else if (tree) {
			lf = sl_find_tree(db, 0, op->key, preds, succs, &hit);
			if (hashed && !by_hash)
				learn_put(lf >= 0);
		}
		if (lf == -1 && !op->is_delete) {
			/* New key: the level-0 walk serves a one-level node, the tall
			 * tree a two-level one; a taller one (1 in 256) descends. */
			if ((rc = take_node(db, lane, &noff, &level)))
				break;
			if (level > 2 ||
			    (level == 2 && sl_find_tree(db, 1, op->key, preds, succs, &hit1) != -1))
				lf = SL_NO_HINT; /* found at level 1 after all: a race */
		}
		if (lf == SL_NO_HINT)
			lf = sl_find_full(db, op->key, preds, succs, false);
		if (lf == SL_DAMAGED) {
			rc = DAXKV_ECORRUPT;
			break;
		}
		if (lf >= 0) {
			struct sl_node *n = succs[lf];
			uint32_t f = vw_flags(db, n);
			if (!(f & VW_LINKED) || (f & VW_MARKED)) {
				if (!(f & (VW_LINKED | VW_LOCKED))) {
					rc = dkv_err(DAXKV_ECORRUPT, "skiplist damaged: node %llu "
						     "was never linked",
						     (unsigned long long)dkv_off(db, n));
					break;
				}
				rc = retry_damaged(&last_gone, vw_gone(db, n, false) ? n : NULL);
				if (rc)
					break;
				relax(&spins); /* being inserted or removed: wait */
				continue;
			}
			node_lock(db, n);
			if (vw_flags(db, n) & VW_MARKED) {
				node_unlock(n);
				rc = retry_damaged(&last_gone, n); /* we held its lock: gone */
				if (rc)
					break;
				continue;
			}
			/* A key longer than the node's prefix matched the record's
			 * copy of it: trust that only when the record is sound (a
			 * reverted line can dress another key's record as ours,
			 * and overwriting would leave this key out of order). */
			if (DKV_UNLIKELY(op->key.len > DKV_PREFIX) &&
			    rec_verify(db, sl_loc(n) & ~LOC_TOMB) != 0) {
				node_unlock(n);
				rc = DAXKV_ECORRUPT; /* errmsg: rec_verify's */
				break;
			}
			if (DKV_UNLIKELY(mop != NULL) &&
			    (rc = run_update(db, mop, sl_loc(n))) != SL_UPD_WRITE) {
				node_unlock(n);
				if (rc == SL_UPD_KEEP)
					rc = 0;
				break;
			}
			rc = update_locked(db, lane, op, n);
			break;
		}
		if (DKV_UNLIKELY(mop != NULL) && (rc = run_update(db, mop, LOC_TOMB)) != SL_UPD_WRITE) {
			if (rc == SL_UPD_KEEP)
				rc = 0;
			break; /* (asked again after a retry: the key may be there then) */
		}
		if (op->is_delete) {
			rc = op->pre_off ? 0 : DAXKV_ENOTFOUND;
			break;
		}
		if (DKV_UNLIKELY(op->cond == SL_COND_EXPIRED ||
				 (op->cond == SL_COND_VERSION && op->expect))) {
			rc = dkv_err(DAXKV_ECONFLICT, "the key is absent, not at version %llu",
				     (unsigned long long)op->expect);
			break;
		}
		if ((rc = take_node(db, lane, &noff, &level)))
			break;
		rc = insert_new(db, lane, op, preds, succs, noff, level, tree ? &hit : NULL, kh,
				&gone);
		if (rc == SL_RETRY) {
			rc = retry_damaged(&last_gone, gone);
			if (rc)
				break;
			continue;
		}
		if (rc == 0)
			noff = 0; /* consumed */
		break;
	}
	if (noff && !op->pre_node)
		na_unreserve_lane(db, lane, noff, level);
	else if (noff)
		na_unreserve(db, noff, level);
	epoch_unpin();
	if (DKV_UNLIKELY(rc == DAXKV_ECORRUPT))
		dkv_break(db); /* the index a writer walks is damaged */
	return rc;
}

int sl_purge(struct daxkv *db, unsigned lane, uint64_t off)
{
	int rc = 0;
	/* off comes from the purge list, refilled from media after a crash:
	 * purge only what is plainly an allocated node. */
	if (!na_off_ok(db, off, 1) || !na_is_set(db, off))
		return 0;
	struct sl_node *n = dkv_ptr(db, off);
	if (!na_off_ok(db, off, n->level))
		return 0;
	epoch_pin();
	node_lock(db, n);
	uint64_t loc = sl_loc(n);
	if ((vw_flags(db, n) & VW_MARKED) || !(loc & LOC_TOMB)) {
		node_unlock(n);
		goto out;
	}
	if (!dkv_snap_allows_unlink(db, rec_at(db, loc & ~LOC_TOMB)->seq)) {
		node_unlock(n);
		rc = DAXKV_EBUSY;
		goto out;
	}
	uint64_t sz = (uint64_t)n->rsize8 << 3;
	seg_live_add(db, loc & ~LOC_TOMB, -(int64_t)sz); /* before the unlink: see update */
	atomic_fetch_or(vwp(n), VW_MARKED);
	rc = unlink_marked(db, lane, n, loc, false);
	node_unlock(n);
out:
	epoch_unpin();
	if (DKV_UNLIKELY(rc == DAXKV_ECORRUPT))
		dkv_break(db);
	return rc;
}

bool sl_repoint(struct daxkv *db, struct sl_node *n, uint64_t old, uint64_t new_loc)
{
	DAXKV_ASSERT(rec_off_ok(db, new_loc));
	/* The node lock is the compare-and-swap's guard: writers read loc, write
	 * the record that names it as prev and store the new loc all under it,
	 * so a swing can never fall between their read and their store. */
	node_lock(db, n);
	uint64_t loc = sl_loc(n);
	bool ok = !(vw_flags(db, n) & VW_MARKED) && (loc & ~LOC_TOMB) == old;
	if (ok) {
		atomic_store_explicit((_Atomic uint64_t *)&n->loc, new_loc | (loc & LOC_TOMB),
				      memory_order_release);
		pm_flush(&n->loc, 8);
	}
	node_unlock(n);
	return ok;
}

/* ---- recovery ---- */

/* Whether a linked node starts inside the slots after n's first: then n is
 * gone and its slots were reused, and a lane slot naming n is stale (it
 * names the node of its lane's last insert or delete, however long ago:
 * freed since by another lane, its slots taken by a node that starts inside
 * them).  Settling n would free that node's slot. */
static bool slots_reused(struct daxkv *db, uint64_t off, unsigned level)
{
	for (unsigned j = 1; j < node_slots(level); j++) {
		uint64_t o = off + (uint64_t)j * DKV_LINE;
		if (!na_is_set(db, o) || !sl_node_sane(db, o))
			continue;
		struct sl_node *m = dkv_ptr(db, o), *p[DKV_MAX_LEVEL], *s[DKV_MAX_LEVEL];
		if (sl_find_full(db, sl_node_key(db, m), p, s, true) >= 0 && s[0] == m)
			return true;
	}
	return false;
}

int sl_settle(struct daxkv *db, unsigned lane, uint64_t off, bool was_alloc)
{
	if (!sl_node_sane(db, off))
		return 0; /* never initialised durably, so never linked nor committed */
	struct sl_node *n = dkv_ptr(db, off);
	struct sl_node *preds[DKV_MAX_LEVEL], *succs[DKV_MAX_LEVEL];
	if (sl_find_full(db, sl_node_key(db, n), preds, succs, true) == SL_DAMAGED)
		return DAXKV_ECORRUPT; /* decided from level 0 by dkv_reindex instead */
	bool linked = succs[0] == n;
	if (!linked && slots_reused(db, off, n->level))
		return 0; /* a stale name: n's slots belong to a live node now */
	na_set(db, off, n->level, linked);
	if (linked) {
		if (!was_alloc && (sl_loc(n) & LOC_TOMB)) {
			/* A delete whose unlink did not reach the media: finish it
			 * (no snapshot survives a restart), or the node would linger. */
			node_lock(db, n);
			atomic_fetch_or(vwp(n), VW_MARKED);
			int rc = unlink_marked(db, lane, n, sl_loc(n), true);
			node_unlock(n);
			return rc;
		}
		return 0;
	}
	/* An unlink (or a link) in flight left upper-level pointers to n. */
	for (unsigned l = 1; l < n->level; l++)
		if (succs[l] == n)
			set_next(preds[l], l, nxt(n, l));
	return 0;
}

/* ---- deferred purges ---- */

void dkv_purge_run(struct daxkv *db, int lane)
{
	size_t n;
	uint64_t *list = dkv_purge_take(db, &n);
	if (!n) {
		free(list);
		return;
	}
	unsigned l = lane >= 0 ? (unsigned)lane : dkv_lane_enter(db);
	if (lane >= 0)
		pthread_mutex_lock(&db->lanes[l].mu);
	for (size_t i = 0; i < n; i++)
		if (sl_purge(db, l, list[i]) == DAXKV_EBUSY)
			dkv_purge_later(db, list[i]);
	dkv_lane_exit(db, l);
	free(list);
}
