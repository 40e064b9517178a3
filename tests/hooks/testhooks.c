/*
 * testhooks.c -- internal views for the test suites (DAXKV_TEST_HOOKS only).
 */
#ifdef DAXKV_TEST_HOOKS
#include <stdio.h>
#include <stdlib.h>

#include "engine/dindex_int.h"
#include "engine/internal.h"
#include "io/segfile_shadow.h"
#include "tests/hooks/testhooks.h"

int dkv_test_pool_range(daxkv *db, void **base, size_t *len)
{
	*base = db->base;
	*len = db->pool.size;
	return 0;
}

static int shadow_blk; /* the shadow started is the block backend's (io/) */

int dkv_test_shadow_start(daxkv *db, const struct pm_shadow_opts *o)
{
	shadow_blk = db->blk != NULL;
	if (!shadow_blk)
		return pm_shadow_start(db->base, db->pool.size, o);
	return iosf_shadow_start(db->blk->dir, o->crash_at_fence, o->image_path,
				 o->keep_pending_pct, o->seed, o->status_on_crash);
}

uint64_t dkv_test_shadow_events(void)
{
	return shadow_blk ? iosf_shadow_events() : pm_shadow_fences();
}

int dkv_test_shadow_dump(const char *path)
{
	return shadow_blk ? iosf_shadow_dump(path) : pm_shadow_dump(path);
}

/* Waits until the build of the DRAM index has ended; whether it is in use. */
bool dkv_test_dix_wait(daxkv *db)
{
	struct dix *t = db->dix;
	if (!t)
		return false;
	pthread_mutex_lock(&t->done_mu);
	while (!t->done)
		pthread_cond_wait(&t->done_cv, &t->done_mu);
	pthread_mutex_unlock(&t->done_mu);
	return dix_ready(db);
}
/* ---- the DRAM index agrees with levels 0 and 1 (engine/dindex.c) ---- */

struct chk {
	struct daxkv *db;
	unsigned level;     /* the skiplist level the tree mirrors */
	struct sl_node *at; /* the node the next entry must name */
	uint64_t entries;
	char *msg;
	size_t cap;
};

/* The next node of level l not being removed (MARKED), or NULL. */
static struct sl_node *live_after(struct daxkv *db, struct sl_node *n, unsigned l)
{
	do {
		uint64_t o = nxt(n, l);
		n = o && sl_off_ok(db, o) ? dkv_ptr(db, o) : NULL;
	} while (n && (vw_flags(db, n) & VW_MARKED));
	return n;
}

static int chk_node(struct chk *c, const struct dnode *n, unsigned depth)
{
	if (depth > 64) {
		snprintf(c->msg, c->cap, "DRAM index deeper than 64 levels");
		return -1;
	}
	if (!n->leaf) {
		for (unsigned i = 0; i <= n->count; i++)
			if (chk_node(c, n->child[i], depth + 1))
				return -1;
		return 0;
	}
	for (unsigned i = 0; i < n->count; i++) {
		struct sl_node *want = c->at;
		uint64_t off = n->off[i];
		if (!want || off != dkv_off(c->db, want)) {
			snprintf(c->msg, c->cap,
				 "DRAM index (level %u) entry %llu names node %llu, the level has %llu there",
				 c->level, (unsigned long long)c->entries, (unsigned long long)off,
				 (unsigned long long)(want ? dkv_off(c->db, want) : 0));
			return -1;
		}
		struct dkey K = dkey_of(node_key(c->db, want));
		if (K.hi != n->hi[i] || K.lo != n->lo[i]) {
			snprintf(c->msg, c->cap, "DRAM index entry %llu: prefix differs from node %llu",
				 (unsigned long long)c->entries, (unsigned long long)off);
			return -1;
		}
		c->entries++;
		c->at = live_after(c->db, want, c->level);
	}
	return 0;
}

static int dix_check_level(struct daxkv *db, unsigned l, struct dnode *root, char *msg,
			   size_t cap)
{
	struct chk c = { db, l, NULL, 0, msg, cap };
	c.at = live_after(db, db->head, l);
	int rc = chk_node(&c, root, 0);
	if (!rc && c.at) {
		snprintf(msg, cap,
			 "level %u node %llu is missing from the DRAM index (after %llu entries)", l,
			 (unsigned long long)dkv_off(db, c.at), (unsigned long long)c.entries);
		rc = -1;
	}
	return rc;
}

/* dix_scan (from a key, after it) and dix_scan_hit (from dix_find's leaf)
 * name level 0's next live nodes, in order, for every key of level 0; after
 * a key, it finds the successor wherever it is (past emptied leaves). */
static int dix_scan_check(struct daxkv *db, char *msg, size_t cap)
{
	enum { W = 8 };
	for (struct sl_node *n = live_after(db, db->head, 0); n; n = live_after(db, n, 0)) {
		struct sl_key k = node_key(db, n);
		uint64_t at[W], after[W], hit_at[W];
		unsigned na = dix_scan(db, k, false, at, W), nf = dix_scan(db, k, true, after, W);
		struct dix_hit h;
		dix_find(db, 0, k, &h);
		unsigned nh = dix_scan_hit(&h, hit_at, W);
		if (!na || at[0] != dkv_off(db, n) || nh != na ||
		    memcmp(hit_at, at, na * sizeof(at[0])) != 0) {
			snprintf(msg, cap, "dix_scan from node %llu's key: %u nodes from %llu (from its "
				 "leaf: %u)", (unsigned long long)dkv_off(db, n), na,
				 (unsigned long long)(na ? at[0] : 0), nh);
			return -1;
		}
		struct sl_node *s = n;
		for (unsigned j = 0; j < W; j++) {
			s = s ? live_after(db, s, 0) : NULL;
			uint64_t want = s ? dkv_off(db, s) : 0;
			if ((j + 1 < na && at[j + 1] != want) || (j < nf && after[j] != want) ||
			    (j == 0 && !nf && want)) {
				snprintf(msg, cap, "dix_scan after node %llu's key: entry %u is not the "
					 "level's node %llu", (unsigned long long)dkv_off(db, n), j,
					 (unsigned long long)want);
				return -1;
			}
		}
	}
	return 0;
}

/* The hash maps every live key of level 0 to its node, and holds nothing
 * else (entries = live nodes). */
static int dhash_check(struct daxkv *db, char *msg, size_t cap)
{
	if (!dhash_on(db))
		return 0;
	uint64_t nodes = 0, entries = 0;
	for (struct sl_node *n = live_after(db, db->head, 0); n; n = live_after(db, n, 0), nodes++) {
		uint64_t got = dhash_get(db, node_key(db, n), 0);
		if (got != dkv_off(db, n)) {
			snprintf(msg, cap, "hash maps node %llu's key to %llu",
				 (unsigned long long)dkv_off(db, n), (unsigned long long)got);
			return -1;
		}
	}
	const struct dhash *d = &db->dix->hash;
	const uint64_t *slot = d->tab;
	for (uint64_t i = 0; i < (d->mask + 1) * 8; i++)
		entries += slot[i] > 1; /* 0 empty, 1 removed */
	if (entries != nodes) {
		snprintf(msg, cap, "hash holds %llu entries for %llu keys",
			 (unsigned long long)entries, (unsigned long long)nodes);
		return -1;
	}
	return 0;
}

int dkv_test_dhash_replace(daxkv *db, const void *key, size_t klen)
{
	struct sl_key k = { key, (uint32_t)klen };
	if (!dkv_test_dix_wait(db) || !dhash_on(db))
		return 0;
	epoch_pin(); /* the old node's slot is not reused under us */
	struct sl_node *old = sl_find(db, k);
	int rc = -1;
	if (old && daxkv_delete(db, key, klen) == DAXKV_OK &&
	    daxkv_put(db, key, klen, "again", 5) == DAXKV_OK) {
		uint64_t o = dkv_off(db, old), n = dhash_get(db, k, 0);
		if (n && n != o) {
			dhash_del(db, k, n);
			dhash_add(db, k, 0, o);
			dhash_set(db, k, 0, n);
			rc = dhash_get(db, k, 0) == n ? 0 : -1;
		}
	}
	epoch_unpin();
	return rc;
}

static int dix_check(struct daxkv *db, char *msg, size_t cap)
{
	if (!dkv_test_dix_wait(db))
		return 0; /* not in use: nothing to agree with */
	epoch_pin();
	int rc = 0;
	for (unsigned l = 0; !rc && l < 2; l++)
		rc = dix_check_level(db, l, atomic_load(&db->dix->root[l]), msg, cap);
	if (!rc)
		rc = dix_scan_check(db, msg, cap);
	if (!rc)
		rc = dhash_check(db, msg, cap);
	epoch_unpin();
	return rc;
}

int dkv_test_check(daxkv *db, char *msg, size_t cap)
{
	uint64_t nodes = 0, slots = 0;
	dkv_lanes_lock_all(db);
	int rc = sl_check(db, msg, cap, &nodes, &slots);
	if (!rc)
		rc = dix_check(db, msg, cap);
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
	int rc = 0;
	dkv_lanes_lock_all(db);
	for (unsigned l = 0; l < DKV_LANES; l++) {
		if (db->lanes[l].seg >= 0) {
			int r = seg_seal(db, (uint32_t)db->lanes[l].seg);
			rc = rc ? rc : r;
			db->lanes[l].seg = -1;
		}
	}
	dkv_lanes_unlock_all(db);
	return rc;
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

int dkv_test_blk_loads(daxkv *db, uint32_t *hinted, uint32_t *scanned)
{
	if (!db->blk)
		return -1;
	*hinted = db->blk->hinted;
	*scanned = db->blk->scanned;
	return 0;
}
