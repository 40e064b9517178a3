/*
 * testhooks.c -- internal views for the test suites (DAXKV_TEST_HOOKS only).
 */
#ifdef DAXKV_TEST_HOOKS
#include <stdio.h>
#include <stdlib.h>

#include "engine/internal.h"
#include "tests/hooks/testhooks.h"

int dkv_test_pool_range(daxkv *db, void **base, size_t *len)
{
	*base = db->base;
	*len = db->pool.size;
	return 0;
}

int dkv_test_shadow_start(daxkv *db, const struct pm_shadow_opts *o)
{
	return pm_shadow_start(db->base, db->pool.size, o);
}

int dkv_test_check(daxkv *db, char *msg, size_t cap)
{
	uint64_t nodes = 0, slots = 0;
	dkv_lanes_lock_all(db);
	int rc = sl_check(db, msg, cap, &nodes, &slots);
	if (!rc && slots != na_count(db)) {
		snprintf(msg, cap, "node bitmap has %llu slots allocated, reachable nodes use %llu",
			 (unsigned long long)na_count(db), (unsigned long long)slots);
		rc = -1;
	}
	for (uint32_t id = 0; !rc && id < db->nsegs; id++) {
		struct dkv_seg *s = &db->segs[id];
		if (s->state == SEG_ACTIVE && (s->owner >= DKV_LANES ||
					       db->lanes[s->owner].seg != (int)id)) {
			snprintf(msg, cap, "active segment %u has no lane", id);
			rc = -1;
		}
	}
	dkv_lanes_unlock_all(db);
	return rc;
}

uint64_t dkv_test_record_offset(daxkv *db, const void *key, size_t klen)
{
	epoch_pin();
	struct sl_node *n = sl_find(db, (struct sl_key){ key, (uint32_t)klen });
	uint64_t loc = n ? sl_loc(n) : LOC_TOMB;
	epoch_unpin();
	return (loc & LOC_TOMB) ? 0 : loc;
}

uint64_t dkv_test_nodes_allocated(daxkv *db)
{
	uint64_t nodes = 0, slots = 0;
	char msg[8];
	dkv_lanes_lock_all(db);
	sl_check(db, msg, sizeof(msg), &nodes, &slots);
	uint64_t used = na_count(db);
	dkv_lanes_unlock_all(db);
	return nodes + (used > slots ? used - slots : 0); /* leaked slots count too */
}

int dkv_test_seal_all(daxkv *db)
{
	dkv_lanes_lock_all(db);
	for (unsigned l = 0; l < DKV_LANES; l++) {
		if (db->lanes[l].seg >= 0) {
			seg_seal(db, (uint32_t)db->lanes[l].seg);
			db->lanes[l].seg = -1;
		}
	}
	dkv_lanes_unlock_all(db);
	return 0;
}

int dkv_test_was_clean(daxkv *db)
{
	return db->was_clean;
}

/* Live bytes per segment from a walk of the index (caller holds every lane). */
static int64_t *recount_live(struct daxkv *db)
{
	int64_t *live = calloc(db->nsegs, sizeof(*live));
	if (!live)
		return NULL;
	epoch_pin();
	for (struct sl_node *n = sl_next0(db, db->head); n; n = sl_next0(db, n)) {
		uint64_t loc = sl_loc(n) & ~LOC_TOMB;
		const struct rec_hdr *h = rec_at(db, loc);
		live[dkv_seg_of(db, loc)] += (int64_t)rec_size(h->klen, h->vlen);
	}
	epoch_unpin();
	return live;
}

static int free_list_check(struct daxkv *db, char *msg, size_t cap)
{
	int rc = 0;
	uint8_t *seen = calloc(db->nsegs, 1);
	if (!seen)
		return snprintf(msg, cap, "out of memory"), -1;
	pthread_mutex_lock(&db->seg_mu);
	uint32_t nfree = db->nfree;
	for (uint32_t i = 0; !rc && i < nfree; i++) {
		uint32_t id = db->free_ids[i];
		if (id >= db->nsegs || seen[id] || db->segs[id].state != SEG_FREE) {
			snprintf(msg, cap, "free list entry %u (segment %u) is bad", i, id);
			rc = -1;
		} else {
			seen[id] = 1;
		}
	}
	pthread_mutex_unlock(&db->seg_mu);
	free(seen);
	return rc;
}

int dkv_test_space_check(daxkv *db, char *msg, size_t cap, uint64_t *sealed_empty)
{
	if (atomic_load(&db->needs_recount))
		dkv_recount(db);
	dkv_lanes_lock_all(db);
	int rc = 0;
	uint64_t empty = 0;
	int64_t *live = recount_live(db);
	if (!live) {
		snprintf(msg, cap, "out of memory");
		rc = -1;
	}
	for (uint32_t id = 0; !rc && id < db->nsegs; id++) {
		struct dkv_seg *s = &db->segs[id];
		uint32_t st = atomic_load(&s->state);
		if (st != SEG_ACTIVE && st != SEG_SEALED) {
			if (live[id]) {
				snprintf(msg, cap, "segment %u (state %u) holds %lld live bytes", id,
					 st, (long long)live[id]);
				rc = -1;
			}
			continue;
		}
		int64_t counted = atomic_load(&s->live);
		uint64_t used = atomic_load(&s->tail) - SEG_DATA_OFF;
		if (counted != live[id] || live[id] < 0 || (uint64_t)live[id] > used) {
			snprintf(msg, cap, "segment %u: live %lld counted, %lld recounted, %llu used",
				 id, (long long)counted, (long long)live[id],
				 (unsigned long long)used);
			rc = -1;
		}
		empty += st == SEG_SEALED && live[id] == 0;
	}
	if (!rc)
		rc = free_list_check(db, msg, cap);
	dkv_lanes_unlock_all(db);
	free(live);
	if (sealed_empty)
		*sealed_empty = empty;
	return rc;
}

uint32_t dkv_test_seg_of(daxkv *db, uint64_t off)
{
	return dkv_seg_of(db, off);
}

int dkv_test_seg_info(daxkv *db, uint32_t id, uint64_t *used, int64_t *live)
{
	struct dkv_seg *s = &db->segs[id];
	*used = atomic_load(&s->tail) - SEG_DATA_OFF;
	*live = atomic_load(&s->live);
	return (int)atomic_load(&s->state);
}
#endif
