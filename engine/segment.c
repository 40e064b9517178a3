/*
 * segment.c -- log segments: the DRAM segment table, the free list, each
 * lane's active segment, seal and release.
 *
 * Durability invariants:
 *  PERSIST(SEG-1): a segment's state word (state | owner | gen) is published by
 *                  one 8-byte store after everything it implies is durable: a
 *                  new active segment's tail is reset first, a sealed segment's
 *                  final tail is durable before SEALED, a node segment's bitmap
 *                  is zero before NODE.
 *  PERSIST(SEG-2): a segment is marked FREE only after no index entry points
 *                  into it durably (GC fences its repoints first); DRAM reuse
 *                  waits for the epoch grace period as readers may still read it.
 */
#include <stdlib.h>
#include <time.h>

#include "engine/internal.h"

static void seg_publish_sw(struct daxkv *db, uint32_t id, uint64_t sw)
{
	struct seg_hdr *h = dkv_seg_hdr(db, id);
	atomic_store_explicit((_Atomic uint64_t *)&h->sw, sw, memory_order_release);
	pm_persist(&h->sw, sizeof(h->sw));
}

int seg_table_load(struct daxkv *db)
{
	/* The geometry every offset computation trusts (format_new makes no other):
	 * checked before anything is addressed through it. */
	if (db->seg_base != DKV_SEG_BASE || db->seg_size < (64u << 10) ||
	    db->seg_size > (1ull << 32) || (db->seg_size & (db->seg_size - 1)) ||
	    db->nsegs < 4 || db->nsegs > (1u << 24))
		return dkv_err(DAXKV_ECORRUPT, "pool geometry is not one daxkv makes");
	db->segs = calloc(db->nsegs, sizeof(*db->segs));
	db->free_ids = calloc(db->nsegs, sizeof(*db->free_ids));
	if (!db->segs || !db->free_ids)
		return dkv_err(DAXKV_ENOMEM, "segment table");
	for (unsigned l = 0; l < DKV_LANES; l++)
		db->lanes[l].seg = -1;
	for (uint32_t id = 0; id < db->nsegs; id++) {
		const struct seg_hdr *h = dkv_seg_hdr(db, id);
		struct dkv_seg *s = &db->segs[id];
		if (h->magic != SEG_MAGIC)
			return dkv_err(DAXKV_ECORRUPT, "segment %u header has a bad magic", id);
		uint64_t sw = h->sw;
		s->state = SW_STATE(sw);
		s->owner = SW_OWNER(sw);
		s->gen = SW_GEN(sw);
		s->tail = h->tail;
		s->live = db->was_clean ? (int64_t)h->live_bytes : 0;
		s->age_seq = h->age_seq;
		if (s->state > SEG_NODE || (s->state != SEG_NODE && s->state != SEG_FREE &&
					    (h->tail < SEG_DATA_OFF || h->tail > db->seg_size ||
					     (h->tail & 7))))
			return dkv_err(DAXKV_ECORRUPT, "segment %u header is damaged", id);
		if (s->state == SEG_FREE)
			db->free_ids[db->nfree++] = id;
		else if (s->state == SEG_ACTIVE) {
			if (s->owner >= DKV_LANES || db->lanes[s->owner].seg >= 0)
				return dkv_err(DAXKV_ECORRUPT, "segment %u: bad owner lane", id);
			db->lanes[s->owner].seg = (int)id;
		}
	}
	return 0;
}

void seg_table_free(struct daxkv *db)
{
	free(db->segs);
	free(db->free_ids);
	db->segs = NULL;
	db->free_ids = NULL;
}

void seg_reserves_init(struct daxkv *db)
{
	/* GC: one segment to copy into, so that a pass can always start.
	 * Deletes: a 32nd of the pool (1..16 segments; none in toy pools). */
	db->reserve = 1;
	uint32_t d = db->nsegs / 32;
	db->reserve_del = db->nsegs < 8 ? 0 : d < 1 ? 1 : d > 16 ? 16 : d;
}

/* Free segments that must stay for those more entitled than use. */
static uint32_t seg_floor(struct daxkv *db, enum seg_use use)
{
	switch (use) {
	case SEG_USE_PUT:
		return db->reserve + db->reserve_del;
	case SEG_USE_DELETE:
		return db->reserve;
	case SEG_USE_GC:
		return atomic_load(&db->min_snap) != UINT64_MAX ? db->reserve + db->reserve_del
								 : 0;
	}
	return UINT32_MAX;
}

/* Whether a seg_take for use would find a segment now. */
static bool seg_room(struct daxkv *db, enum seg_use use)
{
	return seg_free_count(db) > seg_floor(db, use);
}

/* A node segment's metadata after its header -- the slot bitmap (format.h)
 * and the gap before it -- zeroed, so that no stale byte of the segment's
 * last use remains: flushed, no fence (PERSIST(SEG-1): before NODE). */
static void clear_node_meta(struct daxkv *db, uint32_t id)
{
	char *from = (char *)dkv_seg_hdr(db, id) + sizeof(struct seg_hdr);
	char *to = (char *)dkv_seg_hdr(db, id) + NA_BITMAP_OFF + (db->seg_size / DKV_LINE + 7) / 8;
	pm_set_nodrain(from, 0, (size_t)(to - from));
}

static void seg_kick_gc(struct daxkv *db);

/* Block: this thread's last seg_take failed on a full filesystem (not a full
 * pool): GC frees no room there, so seg_wait_space answers at once. */
static __thread bool tl_fs_full;

int seg_take(struct daxkv *db, unsigned state, unsigned lane, enum seg_use use)
{
	uint32_t floor = seg_floor(db, use);
	tl_fs_full = false;
	pthread_mutex_lock(&db->seg_mu);
	if (db->nfree <= floor) {
		uint32_t nf = db->nfree;
		pthread_mutex_unlock(&db->seg_mu);
		return dkv_err(DAXKV_ENOSPC, "pool full: %u free segments, %u kept for %s", nf,
			       floor, use == SEG_USE_PUT ? "deletes and GC" : "GC");
	}
	bool headroom = db->nfree <= seg_floor(db, SEG_USE_PUT);
	uint32_t id = db->free_ids[--db->nfree];
	bool low = db->nfree < seg_free_target(db);
	pthread_mutex_unlock(&db->seg_mu);
	if (low)
		seg_kick_gc(db);

	struct dkv_seg *s = &db->segs[id];
	struct seg_hdr *h = dkv_seg_hdr(db, id);
	/* Block: a new file; its seed above every seed of files a crash may
	 * bring back under this name. */
	uint64_t gen = db->blk ? atomic_fetch_add(&db->blk->next_gen, 1) : s->gen + 1;
	DAXKV_ASSERT(atomic_load(&s->state) == SEG_FREE); /* on the free list: free */
	/* PERSIST(SEG-1): reset what the new state relies on, then publish it. */
	h->tail = SEG_DATA_OFF;
	h->live_bytes = 0;
	h->age_seq = 0;
	pm_flush(h, sizeof(*h));
	if (state == SEG_NODE)
		clear_node_meta(db, id);
	pm_fence();
	s->gen = gen;
	s->owner = lane;
	atomic_store(&s->tail, SEG_DATA_OFF);
	atomic_store(&s->live, 0);
	atomic_store(&s->age_seq, 0);
	atomic_store(&s->min_seq, UINT64_MAX);
	atomic_store(&s->gc_skip, 0);
	s->headroom = headroom;
	atomic_store(&s->state, state);
	seg_publish_sw(db, id, SW_MAKE(state, lane, gen));
	DAXKV_ASSERT(h->tail == SEG_DATA_OFF && SW_GEN(h->sw) == gen); /* SEG-1 after */
	if (db->blk && state == SEG_ACTIVE) {
		int rc = blk_seg_create(db, id); /* PERSIST(BLK-2) */
		if (rc) { /* no file: the segment goes back, the write fails */
			tl_fs_full = rc == DAXKV_ENOSPC; /* no wait for GC: seg_wait_space */
			atomic_store(&s->state, SEG_FREE);
			seg_publish_sw(db, id, SW_MAKE(SEG_FREE, 0, gen));
			pthread_mutex_lock(&db->seg_mu);
			db->free_ids[db->nfree++] = id;
			pthread_mutex_unlock(&db->seg_mu);
			return rc;
		}
	}
	return (int)id;
}

int seg_seal(struct daxkv *db, uint32_t id)
{
	struct dkv_seg *s = &db->segs[id];
	struct seg_hdr *h = dkv_seg_hdr(db, id);
	DAXKV_ASSERT(atomic_load(&s->state) == SEG_ACTIVE);
	/* Age for cost-benefit GC: a writer's segment holds data up to now; the
	 * GC lane's holds old data it copied (it tracked the newest). */
	if (s->owner != DKV_GC_LANE)
		atomic_store(&s->age_seq, atomic_load(&db->seq));
	/* PERSIST(SEG-1): the exact tail first, then SEALED. */
	h->tail = atomic_load(&s->tail);
	h->age_seq = atomic_load(&s->age_seq);
	pm_persist(&h->tail, sizeof(h->tail) + sizeof(h->live_bytes) + sizeof(h->age_seq));
	atomic_store(&s->state, SEG_SEALED);
	seg_publish_sw(db, id, SW_MAKE(SEG_SEALED, s->owner, s->gen));
	DAXKV_ASSERT(h->tail == atomic_load(&s->tail) && h->tail <= db->seg_size); /* SEG-1 */
	return db->blk ? blk_seg_seal(db, id) : 0;
}

uint64_t seg_max_record(const struct daxkv *db)
{
	return db->seg_size - SEG_DATA_OFF;
}

int seg_reserve(struct daxkv *db, unsigned lane, uint64_t len, enum seg_use use, uint64_t *off,
		uint64_t *gen)
{
	/* Block: the writer lanes share lane 0's segment (blk.c, under log_mu). */
	if (db->blk && lane != DKV_GC_LANE)
		lane = 0;
	struct dkv_lane *L = &db->lanes[lane];
	if (len > seg_max_record(db))
		return dkv_err(DAXKV_ETOOBIG, "record of %llu bytes exceeds the largest this "
			       "store takes (%llu: segment size %llu less its header)",
			       (unsigned long long)len, (unsigned long long)seg_max_record(db),
			       (unsigned long long)db->seg_size);
	/* A segment a delete took from the headroom: puts leave it to deletes
	 * while the pool is short, or they would eat the headroom a line at a
	 * time. */
	if (L->seg >= 0 && db->segs[L->seg].headroom && use == SEG_USE_PUT) {
		if (!seg_room(db, SEG_USE_PUT))
			return dkv_err(DAXKV_ENOSPC, "pool full: the rest is kept for deletes "
				       "and GC");
		db->segs[L->seg].headroom = false;
	}
	if (L->seg < 0 || atomic_load(&db->segs[L->seg].tail) + len > db->seg_size) {
		/* PERSIST(SEG-1): sealed before the next one is active, so a lane
		 * never owns two active segments after a crash. */
		int rc = L->seg >= 0 ? seg_seal(db, (uint32_t)L->seg) : 0;
		L->seg = -1;
		if (rc)
			return rc; /* block: the file failed; the handle broke */
		int id = seg_take(db, SEG_ACTIVE, lane, use);
		if (id < 0)
			return id;
		L->seg = id;
	}
	struct dkv_seg *s = &db->segs[L->seg];
	uint64_t t = atomic_load_explicit(&s->tail, memory_order_relaxed);
	DAXKV_ASSERT(atomic_load(&s->state) == SEG_ACTIVE && s->owner == lane &&
		     t + len <= db->seg_size);
	*off = dkv_seg_start(db, (uint32_t)L->seg) + t;
	*gen = s->gen;
	atomic_store_explicit(&s->tail, t + len, memory_order_release);
	atomic_store_explicit(&L->written, atomic_load_explicit(&L->written, memory_order_relaxed) +
				      len, memory_order_relaxed); /* one writer: the lane holder */
	return 0;
}

static void seg_free_cb(struct daxkv *db, uint64_t id)
{
	if (db->blk)
		blk_seg_drop(db, (uint32_t)id);
	pthread_mutex_lock(&db->seg_mu);
	db->free_ids[db->nfree++] = (uint32_t)id;
	pthread_mutex_unlock(&db->seg_mu);
	atomic_fetch_sub(&db->npending, 1);
}

void seg_release(struct daxkv *db, uint32_t id)
{
	struct dkv_seg *s = &db->segs[id];
	DAXKV_ASSERT(atomic_load(&s->state) != SEG_FREE); /* released once */
	atomic_store(&s->state, SEG_FREE);
	atomic_store(&s->live, 0);
	/* PERSIST(SEG-2): the caller made every repoint out of it durable. */
	seg_publish_sw(db, id, SW_MAKE(SEG_FREE, 0, s->gen));
	atomic_fetch_add(&db->npending, 1);
	epoch_retire(db, seg_free_cb, id);
}

uint32_t seg_free_count(struct daxkv *db)
{
	pthread_mutex_lock(&db->seg_mu);
	uint32_t n = db->nfree;
	pthread_mutex_unlock(&db->seg_mu);
	return n;
}

void seg_live_add(struct daxkv *db, uint64_t off, int64_t bytes)
{
	uint32_t id = dkv_seg_of(db, off);
	if (DKV_LIKELY(off >= db->seg_base && id < db->nsegs)) /* else a damaged location */
		atomic_fetch_add_explicit(&db->segs[id].live, bytes, memory_order_relaxed);
}

/* ---- running out: the GC kick and the writers' wait ----
 * The background thread (gc.c) sleeps on gc_cv; segment.c wakes it through
 * the fields of struct daxkv, so that calls go one way (gc.c uses segment.c,
 * never the reverse). */

#define SPACE_POLL_NS (1000ull * 1000) /* a waiting writer looks at pending frees */

static void deadline(struct timespec *ts, uint64_t ns)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	uint64_t t = (uint64_t)ts->tv_nsec + ns;
	ts->tv_sec += (time_t)(t / 1000000000ull);
	ts->tv_nsec = (long)(t % 1000000000ull);
}

/* Free segments under which the background thread starts (cost-benefit),
 * about an eighth of the pool and a few more than the reserves in small
 * pools; it stops at one and a half times as many. */
uint32_t seg_free_target(const struct daxkv *db)
{
	uint32_t t = db->nsegs / 8, kept = db->reserve + db->reserve_del;
	return t < kept + 3 ? kept + 3 : t;
}

/* Wakes the background GC thread now rather than at its next poll (cheap;
 * called as segments are taken and free ones run low). */
static void seg_kick_gc(struct daxkv *db)
{
	if (!db->gc_thread_on || atomic_load(&db->gc_running))
		return;
	pthread_mutex_lock(&db->gc_mu);
	db->gc_kick = 1;
	pthread_cond_signal(&db->gc_cv);
	pthread_mutex_unlock(&db->gc_mu);
}

bool seg_wait_space(struct daxkv *db, enum seg_use use, uint64_t *until_ns)
{
	if (tl_fs_full) {
		tl_fs_full = false;
		return false; /* the filesystem is full: errmsg names it */
	}
	if (!*until_ns)
		*until_ns = dkv_now_ns() + DKV_SPACE_WAIT_NS;
	uint64_t deadline_ns = *until_ns;
	bool gc = db->gc_thread_on && !atomic_load(&db->gc_stop);
	uint64_t want = 0; /* the pass that must end before GC counts as stuck */
	atomic_fetch_add(&db->gc_waiters, 1);
	pthread_mutex_lock(&db->gc_mu);
	for (;;) {
		/* Victims GC freed while this writer was pinned wait for a reclaim;
		 * the writer, unpinned now, may run it rather than wait for GC's. */
		pthread_mutex_unlock(&db->gc_mu);
		epoch_reclaim(db);
		pthread_mutex_lock(&db->gc_mu);
		if (seg_room(db, use))
			break;
		bool pending = atomic_load(&db->npending) > 0;
		uint64_t now = dkv_now_ns();
		if (now >= deadline_ns || atomic_load(&db->gc_stop))
			break;
		if (gc && !want) {
			/* A pass that starts after this request (one running now
			 * may have picked its victims before our need). */
			want = db->gc_ended + 1 + (uint64_t)atomic_load(&db->gc_running);
			db->gc_kick = 1;
			pthread_cond_broadcast(&db->gc_cv);
		}
		bool gc_left = gc && db->gc_ended < want;
		if (!gc_left && !pending)
			break; /* GC freed nothing and nothing comes back: full of live data */
		/* Readers release segments without a signal: look again soon. */
		uint64_t nap = pending ? SPACE_POLL_NS : deadline_ns - now;
		struct timespec ts;
		deadline(&ts, nap < deadline_ns - now ? nap : deadline_ns - now);
		pthread_cond_timedwait(&db->gc_done_cv, &db->gc_mu, &ts);
		if (gc && db->gc_ended >= want && !seg_room(db, use))
			want = 0; /* that pass is over: ask for another while frees are pending */
	}
	pthread_mutex_unlock(&db->gc_mu);
	atomic_fetch_sub(&db->gc_waiters, 1);
	return seg_room(db, use);
}
