/*
 * recovery.c -- what open does after a crash (DESIGN.md §8).
 *
 * Cost is bounded by the pool geometry, never by the number of keys:
 *  1. each active segment: extend its tail over the records past the
 *     persisted tail that pass their CRC (at most one segment per lane);
 *  2. each lane's in-flight node: settle its bitmap bits from whether it is
 *     linked at level 0, and drop upper-level pointers to an unlinked one
 *     (a search per lane);
 *  3. each lane's committed batch: redo it (idempotent).
 * Keys and live-byte counts are recounted lazily (stats/GC/close).
 */
#include "engine/internal.h"

static void recover_tail(struct daxkv *db, uint32_t id)
{
	struct dkv_seg *s = &db->segs[id];
	uint64_t start = dkv_seg_start(db, id), end = start + db->seg_size, sz;
	uint64_t t = start + atomic_load(&s->tail);
	while (t < end && rec_check(db, t, s->gen, end, &sz) == 0)
		t += sz;
	atomic_store(&s->tail, t - start);
	struct seg_hdr *h = dkv_seg_hdr(db, id);
	h->tail = t - start;
	pm_flush(&h->tail, 8);
}

int dkv_recover(struct daxkv *db)
{
	for (uint32_t id = 0; id < db->nsegs; id++)
		if (db->segs[id].state == SEG_ACTIVE)
			recover_tail(db, id);
	for (unsigned l = 0; l < DKV_LANES; l++) {
		uint64_t op = db->lanes[l].slot->op;
		unsigned kind = (unsigned)(op & LANE_OP_MASK);
		uint64_t off = op & ~LANE_OP_MASK;
		if ((kind == LANE_OP_ALLOC || kind == LANE_OP_FREE) && off &&
		    na_off_ok(db, off, 1))
			sl_settle(db, l, off, kind == LANE_OP_ALLOC);
	}
	pm_fence();
	for (unsigned l = 0; l < DKV_LANES; l++) {
		struct lane_slot *s = db->lanes[l].slot;
		if (!s->batch)
			continue;
		dkv_batch_redo(db, l, s->batch);
		s->batch = 0;
		pm_persist(&s->batch, 8);
	}
	epoch_drain(db);
	return 0;
}
