/*
 * expire.c -- active expiry: the background cycle that deletes expired keys
 * (docs/ARCHITECTURE.md, "Time to live").
 *
 * Reads never write, so an expired key stays in the index (absent to every
 * reader) until something deletes it.  The cycle follows Redis' active
 * expiry (expire.c, activeExpireCycle): expire_hz times a second it samples
 * EXP_SAMPLE keys at random from the expiry index (ttl.c), deletes the
 * expired ones, and samples again while more than a quarter of a sample was
 * expired -- within a time budget of a quarter of its period.  A delete is
 * conditional (SL_COND_EXPIRED: the record it saw, still expired), so a key
 * rewritten meanwhile is left alone; its record then becomes garbage that GC
 * reclaims as any other.
 *
 * The expiry index is DRAM only: at start the thread walks level 0 once and
 * adds every node whose record has an expiry (in bounded chunks, pinned one
 * chunk at a time, resuming by key).  Writes with an expiry add their node
 * as they go, so the walk and the writers together miss none.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "engine/internal.h"

#define EXP_SAMPLE 20u  /* keys per sample (Redis: 20) */
#define EXP_CHUNK 4096u /* nodes per pinned chunk of the walk */

enum { EXP_LIVE, EXP_GONE, EXP_STALE };

/* The record of the node at off when it is an allocated node whose current
 * record has an expiry time, else NULL.  Caller pinned. */
static const struct rec_hdr *expiring(struct daxkv *db, uint64_t off)
{
	if (!na_off_ok(db, off, 1) || !na_is_set(db, off))
		return NULL;
	uint64_t loc = sl_loc(dkv_ptr(db, off));
	if ((loc & LOC_TOMB) || !rec_off_ok(db, loc) || !rec_at(db, loc)->expire)
		return NULL;
	return rec_at(db, loc);
}

/* One node of the index: deletes it when expired at now (EXP_GONE), drops
 * it from the index when it has no expiry any more (EXP_STALE). */
static int check_node(struct daxkv *db, uint64_t off, uint64_t now, uint8_t *kbuf)
{
	uint32_t klen = 0;
	uint64_t seq = 0;
	epoch_pin();
	const struct rec_hdr *h = expiring(db, off);
	if (h && h->expire <= now) {
		struct sl_key k = sl_node_key(db, dkv_ptr(db, off));
		if (k.len && k.len <= DAXKV_KEY_MAX) {
			memcpy(kbuf, k.k, k.len);
			klen = k.len;
			seq = h->seq;
		}
	}
	epoch_unpin();
	if (!h) {
		ttl_del(db, off);
		/* A writer may have given the slot to a key with an expiry between
		 * the check and the removal: look again (its add came first). */
		epoch_pin();
		bool again = expiring(db, off) != NULL;
		epoch_unpin();
		if (again)
			ttl_add(db, off);
		return EXP_STALE;
	}
	if (!klen)
		return EXP_LIVE;
	struct sl_put op = { .key = { kbuf, klen }, .val = "", .is_delete = 1,
			     .cond = SL_COND_EXPIRED, .expect = seq, .now_ms = now };
	int rc = dkv_write_one(db, &op);
	if (rc == 0) {
		ttl_del(db, off);
		return EXP_GONE;
	}
	return EXP_LIVE; /* rewritten meanwhile (ECONFLICT), or no room now */
}

/* Adds every node of level 0 whose record has an expiry (stop: give up). */
static int walk(struct daxkv *db, bool (*stop)(struct daxkv *))
{
	uint8_t *kbuf = malloc(DAXKV_KEY_MAX);
	if (!kbuf)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	uint32_t klen = 0;
	for (;;) {
		epoch_pin();
		struct sl_node *n = klen ? sl_seek(db, (struct sl_key){ kbuf, klen }, false, NULL)
					 : sl_next0(db, db->head);
		for (unsigned i = 0; n && i < EXP_CHUNK; i++, n = sl_next0(db, n))
			if (expiring(db, dkv_off(db, n)))
				ttl_add(db, dkv_off(db, n));
		struct sl_key k = n ? sl_node_key(db, n) : (struct sl_key){ NULL, 0 };
		bool more = n && k.len && k.len <= DAXKV_KEY_MAX;
		if (more) { /* resume at n's key: pinned no longer than a chunk */
			memcpy(kbuf, k.k, k.len);
			klen = k.len;
		}
		epoch_unpin();
		if (!more || (stop && stop(db)))
			break;
	}
	free(kbuf);
	return 0;
}

/* One cycle (Redis' slow cycle): sample, delete, again while a quarter or
 * more was expired, within budget_ns.  Returns the keys deleted. */
static uint64_t cycle(struct daxkv *db, uint64_t budget_ns, uint64_t *rng, uint8_t *kbuf)
{
	uint64_t t0 = dkv_now_ns(), gone_total = 0;
	uint64_t offs[EXP_SAMPLE];
	for (;;) {
		size_t n = ttl_sample(db, offs, EXP_SAMPLE, rng);
		if (!n)
			break;
		uint64_t now = daxkv_now_ms();
		size_t gone = 0, seen = 0;
		for (size_t i = 0; i < n; i++) {
			int r = check_node(db, offs[i], now, kbuf);
			gone += r == EXP_GONE;
			seen += r != EXP_STALE;
		}
		gone_total += gone;
		/* Stale entries cost a lookup and are gone now: sample again. */
		if ((seen && gone * 4 <= seen) || dkv_now_ns() - t0 >= budget_ns ||
		    atomic_load(&db->exp_stop) || atomic_load(&db->broken))
			break;
	}
	return gone_total;
}

static bool stop_asked(struct daxkv *db)
{
	return atomic_load(&db->exp_stop) != 0;
}

static void *exp_main(void *arg)
{
	struct daxkv *db = arg;
	uint8_t *kbuf = malloc(DAXKV_KEY_MAX);
	uint64_t rng = dkv_now_ns() | 1;
	uint64_t period_ns = 1000000000ull / (uint64_t)db->expire_hz;
	if (!kbuf)
		return NULL; /* no active expiry: reads still hide expired keys */
	if (walk(db, stop_asked) == 0 && !stop_asked(db))
		atomic_store(&db->exp_walked, 1);
	pthread_mutex_lock(&db->exp_mu);
	while (!stop_asked(db)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t at = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + period_ns;
		ts.tv_sec = (time_t)(at / 1000000000ull);
		ts.tv_nsec = (long)(at % 1000000000ull);
		while (!stop_asked(db) &&
		       pthread_cond_timedwait(&db->exp_cv, &db->exp_mu, &ts) != ETIMEDOUT)
			;
		if (stop_asked(db))
			break;
		pthread_mutex_unlock(&db->exp_mu);
		if (ttl_lost_take(db))
			(void)walk(db, stop_asked);
		if (!atomic_load(&db->broken))
			(void)cycle(db, period_ns / 4, &rng, kbuf);
		pthread_mutex_lock(&db->exp_mu);
	}
	pthread_mutex_unlock(&db->exp_mu);
	free(kbuf);
	return NULL;
}

int exp_start(struct daxkv *db)
{
	atomic_store(&db->exp_stop, 0);
	int e = pthread_create(&db->exp_thread, NULL, exp_main, db);
	if (e)
		return dkv_err(DAXKV_ENOMEM, "cannot start the expiry thread: %s", strerror(e));
	pthread_setname_np(db->exp_thread, "daxkv-expire");
	db->exp_thread_on = true;
	return 0;
}

void exp_stop(struct daxkv *db)
{
	if (!db->exp_thread_on)
		return;
	pthread_mutex_lock(&db->exp_mu);
	atomic_store(&db->exp_stop, 1);
	pthread_cond_broadcast(&db->exp_cv);
	pthread_mutex_unlock(&db->exp_mu);
	pthread_join(db->exp_thread, NULL);
	db->exp_thread_on = false;
}

DAXKV_API int daxkv_expire_run(daxkv *db, uint64_t *expired)
{
	if (!db)
		return dkv_err(DAXKV_EINVAL, "db is NULL");
	if (db->read_only || atomic_load(&db->broken))
		return dkv_err(DAXKV_EREADONLY, "store is read-only");
	uint64_t gone = 0, *all = NULL;
	size_t n = 0;
	uint8_t *kbuf = malloc(DAXKV_KEY_MAX);
	int rc = kbuf ? 0 : dkv_err(DAXKV_ENOMEM, "out of memory");
	/* Until the thread's walk has listed every key with an expiry (or
	 * with no thread at all) this call walks itself: adds are idempotent. */
	if (!rc && (!atomic_load(&db->exp_walked) || ttl_lost_take(db))) {
		rc = walk(db, NULL);
		if (!rc && !db->exp_thread_on)
			atomic_store(&db->exp_walked, 1);
	}
	if (!rc)
		rc = ttl_take_all(db, &all, &n);
	uint64_t now = daxkv_now_ms();
	for (size_t i = 0; !rc && i < n; i++)
		gone += check_node(db, all[i], now, kbuf) == EXP_GONE;
	if (!rc && atomic_load(&db->broken))
		rc = dkv_err(DAXKV_EREADONLY, "store is read-only until reopened");
	free(all);
	free(kbuf);
	if (expired)
		*expired = gone;
	return rc;
}
