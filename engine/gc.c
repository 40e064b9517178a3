/*
 * gc.c -- online garbage collection of log segments.
 *
 * rosedb's discard-ratio GC (its getCCL victim rule) made online and crash-safe:
 *  - accounting: every segment's live bytes (records the index points at)
 *    move with each insert, overwrite, delete, batch and relocation, so its
 *    dead bytes are tail - live; DRAM only, recounted from the index after a
 *    crash (dkv_recount) and saved at a clean close;
 *  - victims: sealed segments only (never one a lane appends to).  Two
 *    policies (DAXKV_GC_*):
 *      RATIO         rosedb's getCCL: every segment whose dead share is at
 *                    least gc_ratio, oldest first, whenever there is one;
 *      COST_BENEFIT  the cleaner's rank of LFS (Rosenblum and Ousterhout,
 *                    "The Design and Implementation of a Log-Structured File
 *                    System", SOSP 1991): benefit = dead share (1 - u) x age,
 *                    age the time (in seqs) since the newest data in it was
 *                    written; cost = the live share u to move (LFS adds 1 for
 *                    reading the segment, next to free on pmem; (1 - u) *
 *                    age / u copied 9% less on test_gc's skewed trace than
 *                    (1 - u) * age / (1 + u)).  Run when free space
 *                    falls under a target, best first, until it is back
 *                    above: segments are left to die further first, which
 *                    is what cuts the bytes copied (docs/BENCHMARKS.md has
 *                    both on the same trace).  Pacman (Wang et al., ATC
 *                    2022) makes the same point for pmem KV logs;
 *    a segment with nothing live is freed by either policy without copying.
 *  - relocation: a record is live iff the index points at exactly its
 *    location; live records are copied to the GC lane's segment (its own,
 *    so survivors -- cold data -- are kept apart from fresh writes), then the
 *    index is swung from the old location to the new one under the node's
 *    lock (sl_repoint): a writer that changed the node first wins and the
 *    copy is garbage;
 *  - reclamation: an emptied victim is marked free on media and returns to
 *    the free list after the epoch grace period, so readers, iterators and
 *    snapshots that may still read it (old versions via record.prev) finish
 *    first.
 *
 * Foreground writes and reads go on throughout.  The pass takes the GC lane
 * (not the writers') a group of records at a time; batches take every lane,
 * so a batch's records, written before the index points at them, are never
 * judged dead mid-batch.
 *
 * Tombstones: deletes normally unlink their node and write no record (the
 * index is the truth, docs/ARCHITECTURE.md), so no older version can resurface from
 * the log after a crash.  A tombstone record exists only while a snapshot
 * needs the older version; GC drops it (unlinking the node) once no
 * snapshot does, and copies it otherwise.
 *
 * Durability invariants:
 *  PERSIST(GC-1): copies are durable (one fence per group) before the index
 *                 points at them.
 *  PERSIST(GC-2): repoints are durable (one fence per group) before the victim
 *                 is marked free; a crash in between leaves the victim sealed
 *                 and a later pass redoes it, the first copies becoming dead
 *                 bytes in the GC segment.
 */
#include <float.h>
#include <stdlib.h>
#include <time.h>

#include "engine/internal.h"

#define GC_GROUP 64
#define GC_POLL_NS (20ull * 1000 * 1000)    /* background wake-up period */
#define GC_NAP_MAX_NS (10ull * 1000 * 1000) /* longest rate-limit sleep */
#define GC_CB_MIN_DEAD 0.0625 /* cost-benefit: not worth copying 15/16 to free 1/16 */

enum gc_mode { GC_DEMAND, GC_BACKGROUND };

struct moved {
	struct sl_node *n;
	uint64_t from, to, size;
};

struct gc_ctx {
	struct daxkv *db;
	enum gc_mode mode;
	struct moved m[GC_GROUP];
	unsigned nm;
	uint64_t copied; /* bytes copied this pass: the rate limit's meter */
	uint64_t t0_ns;
};

struct cand {
	uint32_t id;
	double score;
};

/* ---- policy ---- */

/* Writers are (about to be) refused space: no rate limit. */
static bool gc_urgent(struct daxkv *db)
{
	return atomic_load(&db->gc_waiters) > 0 ||
	       seg_free_count(db) <= db->reserve + db->reserve_del + 1;
}

static int cand_cmp(const void *a, const void *b)
{
	double x = ((const struct cand *)a)->score, y = ((const struct cand *)b)->score;
	return (x < y) - (x > y); /* best first */
}

/* Scores segment s, or returns false when it is no victim now. */
static bool rank(struct daxkv *db, const struct dkv_seg *s, enum gc_mode mode, bool pressure,
		 uint64_t now, double *score)
{
	uint64_t used = atomic_load(&s->tail) - SEG_DATA_OFF;
	int64_t lv = atomic_load(&s->live);
	uint64_t live = lv > 0 ? (uint64_t)lv : 0;
	if (live == 0) {
		*score = DBL_MAX; /* nothing to copy: free it */
		return true;
	}
	double u = live >= used ? 1.0 : (double)live / (double)used;
	uint64_t age_seq = atomic_load(&s->age_seq);
	if (db->gc_policy == DAXKV_GC_RATIO) {
		*score = -(double)age_seq; /* oldest first */
		return 1 - u >= db->gc_ratio;
	}
	if (mode == GC_DEMAND) {
		if (1 - u < db->gc_ratio)
			return false;
	} else if (!pressure || 1 - u < GC_CB_MIN_DEAD) {
		return false;
	}
	double age = (double)(now > age_seq ? now - age_seq : 0) + 1;
	*score = (1 - u) * age / u; /* u > 0: live == 0 returned above */
	return true;
}

static size_t pick(struct daxkv *db, enum gc_mode mode, bool pressure, struct cand *c)
{
	uint64_t now = atomic_load(&db->seq);
	size_t n = 0;
	for (uint32_t id = 0; id < db->nsegs; id++) {
		const struct dkv_seg *s = &db->segs[id];
		if (atomic_load(&s->state) != SEG_SEALED || atomic_load(&s->gc_skip))
			continue;
		double score;
		if (rank(db, s, mode, pressure, now, &score))
			c[n++] = (struct cand){ id, score };
	}
	qsort(c, n, sizeof(*c), cand_cmp);
	return n;
}

/* ---- relocation ---- */

/* *ts = CLOCK_MONOTONIC now + ns (the clock of the GC condition variables). */
static void deadline(struct timespec *ts, uint64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	uint64_t t = (uint64_t)ts->tv_nsec + ns;
	ts->tv_sec += (time_t)(t / 1000000000ull);
	ts->tv_nsec = (long)(t % 1000000000ull);
}

static int gc_publish(struct gc_ctx *g)
{
	struct daxkv *db = g->db;
	if (!g->nm)
		return 0;
	pm_fence(); /* PERSIST(GC-1) */
	if (db->blk) { /* the copies durable in their file (BLK-1) */
		int rc = blk_sync_lane(db, DKV_GC_LANE);
		if (rc) {
			g->nm = 0;
			return rc;
		}
	}
	for (unsigned i = 0; i < g->nm; i++) {
		const struct moved *m = &g->m[i];
		if (!m->n)
			continue; /* a tombstone carried forward (gc_tomb_kept) */
		if (!sl_repoint(db, m->n, m->from, m->to))
			continue; /* a writer won: the copy is dead */
		seg_live_add(db, m->to, (int64_t)m->size);
		seg_live_add(db, m->from, -(int64_t)m->size);
		atomic_fetch_add(&db->gc_bytes_moved, m->size);
	}
	pm_fence(); /* PERSIST(GC-2) */
	g->nm = 0;
	return 0;
}

/* Block: the log is the truth, so a tombstone no node points at any more
 * still hides the key's older records from the replay of the next open
 * (blkopen.c) while a segment other than the victim may hold one: it is
 * carried forward until every other segment's data is newer. */
static bool gc_tomb_kept(struct daxkv *db, uint32_t victim, const struct rec_hdr *h)
{
	if (!db->blk || h->type != REC_DEL)
		return false;
	for (uint32_t id = 0; id < db->nsegs; id++) {
		unsigned st = atomic_load(&db->segs[id].state);
		if (id != victim && (st == SEG_ACTIVE || st == SEG_SEALED) &&
		    atomic_load(&db->segs[id].min_seq) < h->seq)
			return true;
	}
	return false;
}

/* Scans records from *off on, copying the live ones, until a group is full
 * or the segment ends.  Caller holds the GC lane and is pinned. */
static int gc_group(struct gc_ctx *g, uint32_t id, uint64_t *off, uint64_t end)
{
	struct daxkv *db = g->db;
	uint64_t gen = db->segs[id].gen, sz;
	while (*off < end && g->nm < GC_GROUP) {
		uint64_t o = *off;
		if (rec_check(db, o, gen, end, &sz))
			return dkv_err(DAXKV_ECORRUPT, "segment %u: damaged record at %llu; "
				       "segment kept", id,
				       (unsigned long long)(o - dkv_seg_start(db, id)));
		*off += sz;
		const struct rec_hdr *h = rec_at(db, o);
		bool damaged = false;
		struct sl_node *n = sl_find_ex(db, (struct sl_key){ rec_key(h), h->klen }, &damaged);
		if (DKV_UNLIKELY(damaged)) /* "not found" would be no proof of death */
			return dkv_err(DAXKV_ECORRUPT, "segment %u: the index is damaged; "
				       "segment kept", id);
		uint64_t loc = n ? sl_loc(n) : LOC_TOMB;
		if ((loc & ~LOC_TOMB) != o) {
			if (!gc_tomb_kept(db, id, h))
				continue; /* dead */
			n = NULL; /* copied, pointed at by nothing */
		}
		if (n && (loc & LOC_TOMB) && sl_purge(db, DKV_GC_LANE, dkv_off(db, n)) == 0)
			continue; /* a tombstone no snapshot needs any more */
		uint64_t to, tgen;
		seg_append_begin(db, DKV_GC_LANE);
		int rc = seg_reserve(db, DKV_GC_LANE, sz, SEG_USE_GC, &to, &tgen);
		if (rc) {
			seg_append_end(db, DKV_GC_LANE, 0);
			return rc;
		}
		rec_copy(db, to, tgen, o);
		seg_append_end(db, DKV_GC_LANE, to + sz);
		struct dkv_seg *ds = &db->segs[dkv_seg_of(db, to)];
		if (h->seq > atomic_load(&ds->age_seq))
			atomic_store(&ds->age_seq, h->seq); /* only GC writes it while active */
		g->m[g->nm++] = (struct moved){ n, o, to, sz };
		g->copied += sz;
	}
	return 0;
}

/* Background passes keep to gc_rate bytes copied per second unless writers
 * are short of space. */
static void gc_throttle(struct gc_ctx *g)
{
	struct daxkv *db = g->db;
	if (g->mode != GC_BACKGROUND || db->gc_rate == UINT64_MAX)
		return;
	while (!atomic_load(&db->gc_stop) && !gc_urgent(db)) {
		uint64_t el = dkv_now_ns() - g->t0_ns;
		uint64_t due = (uint64_t)((double)g->copied * 1e9 / (double)db->gc_rate);
		if (due <= el)
			return;
		struct timespec ts;
		deadline(&ts, due - el < GC_NAP_MAX_NS ? due - el : GC_NAP_MAX_NS);
		pthread_mutex_lock(&db->gc_mu);
		if (!db->gc_kick)
			pthread_cond_timedwait(&db->gc_cv, &db->gc_mu, &ts);
		pthread_mutex_unlock(&db->gc_mu);
	}
}

/* 0 (victim freed), 1 (stopped: close), or an error (victim kept). */
static int gc_segment(struct gc_ctx *g, uint32_t id)
{
	struct daxkv *db = g->db;
	struct dkv_lane *gl = &db->lanes[DKV_GC_LANE];
	uint64_t start = dkv_seg_start(db, id), end = start + atomic_load(&db->segs[id].tail);
	uint64_t off = start + SEG_DATA_OFF;
	int rc = 0;
	while (!rc && off < end) {
		if (atomic_load(&db->gc_stop))
			return 1;
		pthread_mutex_lock(&gl->mu);
		epoch_pin();
		rc = gc_group(g, id, &off, end);
		int prc = gc_publish(g);
		if (!rc)
			rc = prc;
		epoch_unpin();
		pthread_mutex_unlock(&gl->mu);
		gc_throttle(g);
	}
	if (rc == DAXKV_ECORRUPT)
		atomic_store(&db->segs[id].gc_skip, 1); /* check/repair's business */
	if (rc)
		return rc;
	pthread_mutex_lock(&gl->mu);
	if (DKV_UNLIKELY(atomic_load(&db->segs[id].live) != 0)) {
		/* Every live record was moved, yet the count disagrees: the
		 * recount's level-0 walk missed nodes the searches still reach
		 * (a damaged index).  Keep the segment for check/repair. */
		pthread_mutex_unlock(&gl->mu);
		atomic_store(&db->segs[id].gc_skip, 1);
		return dkv_err(DAXKV_ECORRUPT, "segment %u: %lld live bytes left after moving "
			       "every live record: the index is damaged; segment kept", id,
			       (long long)atomic_load(&db->segs[id].live));
	}
	seg_release(db, id); /* PERSIST(GC-2) held for every group */
	pthread_mutex_unlock(&gl->mu);
	atomic_fetch_add(&db->gc_runs, 1);
	return 0;
}

static void pass_ended(struct daxkv *db)
{
	atomic_store(&db->gc_running, 0);
	pthread_mutex_lock(&db->gc_mu);
	db->gc_ended++;
	pthread_cond_broadcast(&db->gc_done_cv);
	pthread_mutex_unlock(&db->gc_mu);
}

/* Frees victims in rank order; a background cost-benefit pass stops once
 * free space is back above the target. */
static int gc_victims(struct daxkv *db, enum gc_mode mode, const struct cand *c, size_t n)
{
	struct gc_ctx *g = malloc(sizeof(*g));
	if (!g)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	*g = (struct gc_ctx){ .db = db, .mode = mode, .t0_ns = dkv_now_ns() };
	bool lazy = mode == GC_BACKGROUND && db->gc_policy == DAXKV_GC_COST_BENEFIT;
	uint64_t runs0 = atomic_load(&db->gc_runs);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (lazy && c[i].score != DBL_MAX &&
		    seg_free_count(db) > seg_free_target(db) + seg_free_target(db) / 2)
			break; /* enough: the rest dies further first */
		int r = gc_segment(g, c[i].id);
		/* Freed victims become reusable once no reader holds them: the
		 * next victim may need one to relocate into, and waiting writers
		 * may go on at once rather than at the end of the pass. */
		if (epoch_reclaim(db) && atomic_load(&db->gc_waiters)) {
			pthread_mutex_lock(&db->gc_mu);
			pthread_cond_broadcast(&db->gc_done_cv);
			pthread_mutex_unlock(&db->gc_mu);
		}
		if (r == 1)
			break;
		if (r && !rc)
			rc = r;
		if (r == DAXKV_ENOSPC)
			break;
	}
	free(g);
	if (rc == DAXKV_ENOSPC && atomic_load(&db->gc_runs) > runs0)
		rc = 0; /* progress was made; the rest waits for the next pass */
	return rc;
}

static int gc_pass(struct daxkv *db, enum gc_mode mode)
{
	if (db->read_only || atomic_load(&db->broken))
		return dkv_err(DAXKV_EREADONLY, "store is read-only");
	int z = 0;
	if (!atomic_compare_exchange_strong(&db->gc_running, &z, 1))
		return dkv_err(DAXKV_EBUSY, "a GC pass is already running");
	if (atomic_load(&db->needs_recount))
		dkv_recount(db);
	dkv_purge_run(db, DKV_GC_LANE);
	int rc = 0;
	struct cand *c = malloc(db->nsegs * sizeof(*c));
	if (!c) {
		rc = dkv_err(DAXKV_ENOMEM, "out of memory");
		goto out;
	}
	size_t n = pick(db, mode, seg_free_count(db) < seg_free_target(db), c);
	if (n || mode == GC_DEMAND) {
		atomic_fetch_add(&db->gc_passes, 1);
		rc = gc_victims(db, mode, c, n);
	}
	epoch_reclaim(db);
out:
	free(c);
	pass_ended(db);
	return rc == DAXKV_ECORRUPT ? 0 : rc; /* damage is reported by check; GC goes on */
}

DAXKV_API int daxkv_gc(daxkv *db)
{
	if (!db)
		return dkv_err(DAXKV_EINVAL, "db is NULL");
	return gc_pass(db, GC_DEMAND);
}

/* ---- the background thread ---- */

static void *gc_main(void *arg)
{
	struct daxkv *db = arg;
	pthread_mutex_lock(&db->gc_mu);
	while (!atomic_load(&db->gc_stop)) {
		if (!db->gc_kick) {
			struct timespec ts;
			deadline(&ts, GC_POLL_NS);
			pthread_cond_timedwait(&db->gc_cv, &db->gc_mu, &ts);
		}
		if (atomic_load(&db->gc_stop))
			break;
		db->gc_kick = 0;
		pthread_mutex_unlock(&db->gc_mu);
		(void)gc_pass(db, GC_BACKGROUND); /* EBUSY: a daxkv_gc() pass runs */
		pthread_mutex_lock(&db->gc_mu);
	}
	pthread_mutex_unlock(&db->gc_mu);
	return NULL;
}

int gc_start(struct daxkv *db)
{
	atomic_store(&db->gc_stop, 0);
	int e = pthread_create(&db->gc_thread, NULL, gc_main, db);
	if (e)
		return dkv_err(DAXKV_ENOMEM, "cannot start the GC thread: %s", strerror(e));
	pthread_setname_np(db->gc_thread, "daxkv-gc");
	db->gc_thread_on = true;
	return 0;
}

void gc_stop(struct daxkv *db)
{
	if (!db->gc_thread_on)
		return;
	pthread_mutex_lock(&db->gc_mu);
	atomic_store(&db->gc_stop, 1);
	pthread_cond_broadcast(&db->gc_cv);
	pthread_cond_broadcast(&db->gc_done_cv);
	pthread_mutex_unlock(&db->gc_mu);
	pthread_join(db->gc_thread, NULL);
	db->gc_thread_on = false;
}

