/*
 * lane.c -- writer lanes and sequence numbers.
 *
 * A lane is a writer slot: a mutex, an active log segment, an in-flight slot
 * on media (the node an insert or unlink is working on, or a batch being
 * applied) and per-lane counters.  Threads map onto lanes by a thread id.
 * Sequence numbers order versions across lanes; they come from a DRAM
 * counter below a lease that is durable first.
 *
 * Durability invariants:
 *  PERSIST(LANE-1): every seq handed out is below sb->seq_lease, which is made
 *                   durable before the seq is used (a restart continues above it).
 */
#include <limits.h>

#include "engine/internal.h"

#define SEQ_LEASE_STEP (1ull << 20)

/* ---- lanes ---- */

static _Atomic unsigned g_thread_ids;
static __thread unsigned tl_thread_id DKV_TLS_HOT = UINT_MAX;

unsigned dkv_lane_enter(struct daxkv *db)
{
	if (DKV_UNLIKELY(tl_thread_id == UINT_MAX))
		tl_thread_id = atomic_fetch_add(&g_thread_ids, 1);
	unsigned lane = tl_thread_id % db->nlanes;
	pthread_mutex_lock(&db->lanes[lane].mu);
	return lane;
}

void dkv_lane_exit(struct daxkv *db, unsigned lane)
{
	pthread_mutex_unlock(&db->lanes[lane].mu);
}

void dkv_lanes_lock_all(struct daxkv *db)
{
	for (unsigned l = 0; l < db->nlanes; l++)
		pthread_mutex_lock(&db->lanes[l].mu);
	pthread_mutex_lock(&db->lanes[DKV_GC_LANE].mu);
}

void dkv_lanes_unlock_all(struct daxkv *db)
{
	pthread_mutex_unlock(&db->lanes[DKV_GC_LANE].mu);
	for (unsigned l = db->nlanes; l-- > 0;)
		pthread_mutex_unlock(&db->lanes[l].mu);
}

void dkv_slot_set(struct daxkv *db, unsigned lane, uint64_t op)
{
	struct lane_slot *s = db->lanes[lane].slot;
	atomic_store_explicit((_Atomic uint64_t *)&s->op, op, memory_order_release);
	pm_flush(&s->op, 8);
}

/* ---- sequence numbers ---- */

void dkv_lease_extend(struct daxkv *db, uint64_t upto)
{
	pthread_mutex_lock(&db->lease_mu);
	if (atomic_load(&db->lease) <= upto) {
		uint64_t l = upto + SEQ_LEASE_STEP;
		db->sb->seq_lease = l;
		pm_persist(&db->sb->seq_lease, 8); /* PERSIST(LANE-1) */
		atomic_store(&db->lease, l);
	}
	pthread_mutex_unlock(&db->lease_mu);
}

uint64_t dkv_next_seq(struct daxkv *db, uint64_t n)
{
	uint64_t s = atomic_fetch_add(&db->seq, n) + 1;
	if (DKV_UNLIKELY(s + n > atomic_load_explicit(&db->lease, memory_order_acquire)))
		dkv_lease_extend(db, s + n);
	DAXKV_ASSERT(s + n <= atomic_load(&db->lease)); /* PERSIST(LANE-1) */
	return s;
}
