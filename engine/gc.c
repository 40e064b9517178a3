/*
 * gc.c -- garbage collection of log segments (rosedb's discard-ratio scheme,
 * seed 001): sealed segments whose dead share is at least gc_ratio are
 * victims; a record is live iff the index points at exactly its location;
 * live records are copied to the GC lane's segment and the index repointed;
 * the emptied segment is freed once no reader can still hold it.
 *
 * This pass holds every lane (writers pause; readers go on).  The online
 * version (issue 3) swings the index with a CAS instead.
 *
 * Durability invariants:
 *  PERSIST(G1): copies are durable (one fence per group) before the index
 *               points at them.
 *  PERSIST(G2): repoints are durable (one fence) before the victim is marked
 *               free; a crash in between leaves the victim sealed and the
 *               next pass redoes it, the first copies becoming dead bytes.
 */
#include <stdlib.h>

#include "engine/internal.h"

#define GC_GROUP 64

struct moved {
	struct sl_node *n;
	uint64_t from, to, size;
};

struct gc_ctx {
	struct daxkv *db;
	struct moved m[GC_GROUP];
	unsigned nm;
};

static void gc_publish(struct gc_ctx *g)
{
	if (!g->nm)
		return;
	pm_fence(); /* PERSIST(G1) */
	for (unsigned i = 0; i < g->nm; i++) {
		sl_repoint_excl(g->db, g->m[i].n, g->m[i].to);
		seg_live_add(g->db, g->m[i].to, (int64_t)g->m[i].size);
		seg_live_add(g->db, g->m[i].from, -(int64_t)g->m[i].size);
		atomic_fetch_add(&g->db->gc_bytes_moved, g->m[i].size);
	}
	pm_fence(); /* PERSIST(G2) */
	g->nm = 0;
}

static int gc_segment(struct gc_ctx *g, uint32_t id)
{
	struct daxkv *db = g->db;
	uint64_t start = dkv_seg_start(db, id), end = start + atomic_load(&db->segs[id].tail);
	uint64_t gen = db->segs[id].gen, sz;
	for (uint64_t off = start + SEG_DATA_OFF; off < end; off += sz) {
		if (rec_check(db, off, gen, end, &sz))
			return dkv_err(DAXKV_ECORRUPT, "segment %u: damaged record at %llu; "
				       "segment kept", id, (unsigned long long)(off - start));
		const struct rec_hdr *h = rec_at(db, off);
		struct sl_node *n = sl_find(db, (struct sl_key){ rec_key(h), h->klen });
		if (!n || (sl_loc(n) & ~LOC_TOMB) != off)
			continue; /* dead */
		if ((sl_loc(n) & LOC_TOMB) && sl_purge(db, DKV_GC_LANE, dkv_off(db, n)) == 0)
			continue; /* a tombstone nobody needs any more */
		uint64_t to, tgen;
		int rc = seg_reserve(db, DKV_GC_LANE, sz, true, &to, &tgen);
		if (rc) {
			gc_publish(g);
			return rc;
		}
		rec_copy(db, to, tgen, off);
		g->m[g->nm++] = (struct moved){ n, off, to, sz };
		if (g->nm == GC_GROUP)
			gc_publish(g);
	}
	gc_publish(g);
	seg_release(db, id);
	atomic_fetch_add(&db->gc_runs, 1);
	return 0;
}

static int victims(struct daxkv *db, uint32_t *out)
{
	int n = 0;
	for (uint32_t id = 0; id < db->nsegs; id++) {
		struct dkv_seg *s = &db->segs[id];
		if (atomic_load(&s->state) != SEG_SEALED)
			continue;
		uint64_t used = atomic_load(&s->tail) - SEG_DATA_OFF;
		int64_t live = atomic_load(&s->live);
		uint64_t dead = used - (live > 0 ? (uint64_t)live : 0);
		if (used == 0 || (double)dead >= db->gc_ratio * (double)used)
			out[n++] = id;
	}
	return n;
}

int dkv_gc_pass(struct daxkv *db)
{
	if (db->read_only)
		return dkv_err(DAXKV_EREADONLY, "store is read-only");
	int z = 0;
	if (!atomic_compare_exchange_strong(&db->gc_running, &z, 1))
		return dkv_err(DAXKV_EBUSY, "a GC pass is already running");
	if (atomic_load(&db->needs_recount))
		dkv_recount(db);
	dkv_purge_run(db);
	uint32_t *v = malloc(db->nsegs * sizeof(*v));
	int rc = 0;
	if (!v) {
		rc = dkv_err(DAXKV_ENOMEM, "out of memory");
		goto out;
	}
	dkv_lanes_lock_all(db);
	struct gc_ctx g = { .db = db, .nm = 0 };
	int n = victims(db, v);
	uint64_t runs0 = atomic_load(&db->gc_runs);
	for (int i = 0; i < n && rc != DAXKV_ENOSPC; i++) {
		epoch_pin();
		int r = gc_segment(&g, v[i]);
		epoch_unpin();
		/* Freed victims become reusable once no reader holds them: the
		 * next victim may need one to relocate into. */
		epoch_reclaim(db);
		if (r && !rc)
			rc = r;
	}
	dkv_lanes_unlock_all(db);
	epoch_reclaim(db);
	if (rc == DAXKV_ENOSPC && atomic_load(&db->gc_runs) > runs0)
		rc = 0; /* progress was made; the rest waits for the next pass */
out:
	free(v);
	atomic_store(&db->gc_running, 0);
	return rc == DAXKV_ECORRUPT ? 0 : rc; /* damage is reported by check, GC goes on */
}

DAXKV_API int daxkv_gc(daxkv *db)
{
	if (!db)
		return dkv_err(DAXKV_EINVAL, "db is NULL");
	return dkv_gc_pass(db);
}
