/*
 * stats.c -- daxkv_stats_get, and the recount of keys and live bytes from the
 * index after an unclean shutdown (the per-segment and per-lane counters are
 * DRAM summaries, saved only at a clean close).
 */
#include <stdlib.h>

#include "engine/internal.h"
#include "io/segfile.h"


int dkv_recount(struct daxkv *db)
{
	dkv_lanes_lock_all(db);
	epoch_pin();
	for (uint32_t i = 0; i < db->nsegs; i++)
		atomic_store(&db->segs[i].live, 0);
	int64_t keys = 0;
	/* Damaged media: sl_next0 stops at a wild pointer, the budget (more nodes
	 * than the pool holds) at a loop, and a wild location is not counted. */
	uint64_t budget = db->pool.size / DKV_LINE;
	for (struct sl_node *n = sl_next0(db, db->head); n && budget;
	     n = sl_next0(db, n), budget--) {
		uint64_t loc = sl_loc(n);
		if (!rec_off_ok(db, loc & ~LOC_TOMB))
			continue;
		const struct rec_hdr *h = rec_at(db, loc & ~LOC_TOMB);
		uint64_t sz = rec_size(h->klen, h->vlen);
		if (!db->read_only) /* a read-only mapping cannot be written */
			__atomic_store_n(&n->rsize8, (uint32_t)(sz >> 3), __ATOMIC_RELAXED);
		seg_live_add(db, loc & ~LOC_TOMB, (int64_t)sz);
		keys += !(loc & LOC_TOMB);
		/* A tombstone whose purge the crash forgot (the list is DRAM):
		 * queue it again; sl_purge still asks the snapshots. */
		if ((loc & LOC_TOMB) && !db->read_only) /* sl_purge vets the offset */
			dkv_purge_later(db, dkv_off(db, n));
	}
	for (unsigned l = 0; l < DKV_LANES; l++)
		atomic_store(&db->lanes[l].keys, l == 0 ? keys : 0);
	atomic_store(&db->needs_recount, 0);
	epoch_unpin();
	dkv_lanes_unlock_all(db);
	return 0;
}

static void stats_fill(daxkv *db, daxkv_stats *st)
{
	if (atomic_load(&db->needs_recount))
		dkv_recount(db);
	memset(st, 0, sizeof(*st));
	int64_t keys = 0;
	for (unsigned l = 0; l < DKV_LANES; l++)
		keys += atomic_load(&db->lanes[l].keys);
	st->keys = keys > 0 ? (uint64_t)keys : 0;
	for (uint32_t i = 0; i < db->nsegs; i++) {
		struct dkv_seg *s = &db->segs[i];
		uint32_t state = atomic_load(&s->state);
		if (state == SEG_FREE || state == SEG_NODE)
			continue;
		int64_t live = atomic_load(&s->live);
		uint64_t used = atomic_load(&s->tail) - SEG_DATA_OFF;
		st->live_bytes += live > 0 ? (uint64_t)live : 0;
		st->dead_bytes += used - (live > 0 ? (uint64_t)live : 0);
	}
	/* Free = reusable now: a segment GC freed stays out of the count until
	 * no reader, iterator or snapshot can still see it. */
	st->segments_free = seg_free_count(db);
	st->segments_used = db->nsegs - st->segments_free;
	st->capacity_bytes = (uint64_t)db->nsegs * seg_max_record(db);
	st->gc_runs = atomic_load(&db->gc_runs);
	st->gc_bytes_moved = atomic_load(&db->gc_bytes_moved);
	st->backend = db->blk ? DAXKV_BACKEND_BLOCK : DAXKV_BACKEND_DAX;
	if (db->blk) {
		st->volatile_media = db->blk->volatile_fs;
		blk_stats(db, &st->device_writes, &st->sync_waits);
	} else {
		st->volatile_media = db->pool.fd >= 0 && iosf_volatile_fs(db->pool.fd);
	}
	st->expired_keys = atomic_load(&db->expired_keys);
	st->ttl_keys = atomic_load(&db->ttl.count);
	st->segment_size = db->seg_size;
	st->bytes_written = db->written_base;
	for (unsigned l = 0; l < DKV_LANES; l++)
		st->bytes_written += atomic_load_explicit(&db->lanes[l].written,
							  memory_order_relaxed);
	st->gc_passes = atomic_load(&db->gc_passes);
	st->record_max_bytes = seg_max_record(db);
	st->pool_bytes = db->pool.size;
}

DAXKV_API int daxkv_stats_get_sized(daxkv *db, daxkv_stats *st, size_t size)
{
	if (!db || !st)
		return dkv_err(DAXKV_EINVAL, "db or st is NULL");
	daxkv_stats full;
	stats_fill(db, &full);
	return dkv_stats_copy_out(&full, st, size);
}

DAXKV_API int(daxkv_stats_get)(daxkv *db, daxkv_stats *st)
{
	if (!db || !st)
		return dkv_err(DAXKV_EINVAL, "db or st is NULL");
	return daxkv_stats_get_sized(db, st, dkv_stats_size(st));
}
