/*
 * write.c -- one put or delete through a writer lane: the path every
 * single-key write of the API takes (db.c, kv.c) and the active expiry
 * cycle's deletes (expire.c).  It waits for space as a put does, keeps the
 * expiry index (ttl.c) and counts deletes of expired keys.
 */
#include "engine/internal.h"

int dkv_write_one(struct daxkv *db, struct sl_put *op)
{
	uint64_t deadline = 0, node = 0, *node_out = op->node_out;
	bool expired = false;
	op->node_out = &node;
	/* A delete tells expired keys (absent to readers) from live ones once
	 * the store has seen an expiry; conditions read the clock anyway. */
	if (op->cond || (op->is_delete && atomic_load_explicit(&db->ttl_any,
								 memory_order_relaxed))) {
		if (!op->now_ms)
			op->now_ms = daxkv_now_ms();
		op->was_expired = &expired;
	}
	int rc;
	for (;;) {
		unsigned lane = dkv_lane_enter(db);
		/* Group commit: a leader waits for this one once it holds its lane
		 * (not while it waits for a lane a syncing writer holds). */
		if (db->blk)
			blk_enter(db);
		rc = sl_put(db, lane, op);
		if (db->blk)
			blk_leave(db); /* when no record was appended */
		dkv_lane_exit(db, lane);
		if (rc != DAXKV_ENOSPC)
			break;
		/* Full: GC may free space, or an open iterator may let go of what
		 * GC freed; wait for that rather than fail (bounded in time; a
		 * pool of live data fails at once). */
		if (!seg_wait_space(db, op->is_delete ? SEG_USE_DELETE : SEG_USE_PUT, &deadline))
			break; /* errmsg: the refusal that counted */
	}
	op->node_out = node_out;
	if (rc)
		return rc;
	if (node_out)
		*node_out = node;
	if (op->expire && !op->is_delete && node)
		ttl_add(db, node);
	if (expired) {
		atomic_fetch_add_explicit(&db->expired_keys, 1, memory_order_relaxed);
		if (op->cond != SL_COND_EXPIRED)
			rc = DAXKV_ENOTFOUND; /* it was absent to every reader already */
	}
	return rc;
}
