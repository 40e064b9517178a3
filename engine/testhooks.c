/*
 * testhooks.c -- internal views for the test suites (DAXKV_TEST_HOOKS only).
 */
#ifdef DAXKV_TEST_HOOKS
#include <stdio.h>

#include "engine/internal.h"
#include "engine/testhooks.h"

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
#endif
