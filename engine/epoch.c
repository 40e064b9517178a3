/*
 * epoch.c -- epoch-based reclamation for nodes and segments.
 *
 * Our own small scheme instead of liburcu: the read side is one TLS-indexed
 * seq_cst exchange (a store with a full barrier), it is written with C11 atomics that TSan understands
 * (liburcu's hand-written barriers make TSan report false races), and pins
 * can belong to objects (iterators live across calls and threads).
 *
 * A reader publishes the global epoch it saw in its slot while it holds
 * references.  An object unlinked and retired at epoch e is freed once every
 * published slot is > e: a reader that pinned later can no longer reach it
 * (the pin's seq_cst fence orders its loads after the unlink).
 */
#include <stdlib.h>

#include "engine/internal.h"

#define EPOCH_SLOTS 4096

struct epoch_pin {
	_Atomic uint64_t epoch; /* 0 = not pinned */
	_Atomic int used;
	uint32_t depth;
	char pad[64 - 16];
};
_Static_assert(sizeof(struct epoch_pin) == 64, "one line per pin");

static struct epoch_pin g_pins[EPOCH_SLOTS];
static _Atomic uint64_t g_epoch = 1;
static _Atomic uint32_t g_hiwater; /* slots ever used: the scan bound */
static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static __thread struct epoch_pin *tl_pin DKV_TLS_HOT;

static void pin_release(void *p)
{
	struct epoch_pin *pin = p;
	atomic_store(&pin->epoch, 0);
	atomic_store_explicit(&pin->used, 0, memory_order_release);
}

static void epoch_once(void)
{
	(void)pthread_key_create(&g_key, pin_release);
}

static struct epoch_pin *pin_alloc(void)
{
	for (;;) {
		for (uint32_t i = 0; i < EPOCH_SLOTS; i++) {
			int z = 0;
			if (atomic_load_explicit(&g_pins[i].used, memory_order_relaxed) == 0 &&
			    atomic_compare_exchange_strong(&g_pins[i].used, &z, 1)) {
				uint32_t hw = atomic_load(&g_hiwater);
				while (hw < i + 1 &&
				       !atomic_compare_exchange_weak(&g_hiwater, &hw, i + 1))
					;
				g_pins[i].depth = 0;
				return &g_pins[i];
			}
		}
		/* More live threads and iterators than slots: wait for one. */
		sched_yield();
	}
}

static inline void pin_enter(struct epoch_pin *p)
{
	/* A seq_cst exchange: a full barrier (a locked instruction on x86) that
	 * orders our later loads after the published epoch, and one that TSan
	 * models (it does not model standalone fences). */
	atomic_exchange(&p->epoch, atomic_load(&g_epoch));
}

void epoch_pin(void)
{
	struct epoch_pin *p = tl_pin;
	if (DKV_UNLIKELY(!p)) {
		pthread_once(&g_once, epoch_once);
		p = tl_pin = pin_alloc();
		pthread_setspecific(g_key, p);
	}
	if (p->depth++ == 0)
		pin_enter(p);
}

void epoch_unpin(void)
{
	struct epoch_pin *p = tl_pin;
	DAXKV_ASSERT(p && p->depth > 0);
	if (--p->depth == 0)
		atomic_store(&p->epoch, 0);
}

struct epoch_pin *epoch_pin_obj(void)
{
	struct epoch_pin *p = pin_alloc();
	pin_enter(p);
	return p;
}

void epoch_unpin_obj(struct epoch_pin *p)
{
	if (p)
		pin_release(p);
}

void epoch_retire(struct daxkv *db, void (*fn)(struct daxkv *, uint64_t), uint64_t arg)
{
	size_t n;
	pthread_mutex_lock(&db->retire_mu);
	if (db->nretired == db->cap_retired) {
		size_t cap = db->cap_retired ? db->cap_retired * 2 : 256;
		struct retired *r = realloc(db->retired, cap * sizeof(*r));
		if (!r) {
			/* Out of memory: it can neither be deferred nor freed now (the
			 * caller may itself be pinned).  It stays unusable -- a slot
			 * quarantined, a segment off the free list -- until the store is
			 * reopened; the media is right either way. */
			pthread_mutex_unlock(&db->retire_mu);
			return;
		}
		db->retired = r;
		db->cap_retired = cap;
	}
	db->retired[db->nretired++] =
		(struct retired){ atomic_load(&g_epoch), fn, arg };
	n = db->nretired;
	pthread_mutex_unlock(&db->retire_mu);
	if ((n & 63) == 0)
		epoch_reclaim(db);
}

static uint64_t min_pinned(void)
{
	uint64_t min = UINT64_MAX;
	uint32_t hw = atomic_load(&g_hiwater);
	for (uint32_t i = 0; i < hw; i++) {
		/* seq_cst (acquire at least): a reader's unpin happens-before the
		 * callbacks we run for what it may have held. */
		uint64_t e = atomic_load(&g_pins[i].epoch);
		if (e && e < min)
			min = e;
	}
	return min;
}

size_t epoch_reclaim(struct daxkv *db)
{
	atomic_fetch_add(&g_epoch, 1);
	uint64_t min = min_pinned();
	size_t done = 0;
	pthread_mutex_lock(&db->retire_mu);
	size_t keep = 0;
	struct retired *ready = NULL;
	size_t nready = 0;
	for (size_t i = 0; i < db->nretired; i++) {
		if (db->retired[i].epoch < min)
			nready++;
	}
	if (nready)
		ready = malloc(nready * sizeof(*ready));
	for (size_t i = 0; i < db->nretired; i++) {
		struct retired r = db->retired[i];
		if (r.epoch < min && ready)
			ready[done++] = r;
		else
			db->retired[keep++] = r;
	}
	db->nretired = keep;
	pthread_mutex_unlock(&db->retire_mu);
	for (size_t i = 0; i < done; i++)
		ready[i].fn(db, ready[i].arg);
	free(ready);
	return done;
}

void epoch_drain(struct daxkv *db)
{
	pthread_mutex_lock(&db->retire_mu);
	struct retired *r = db->retired;
	size_t n = db->nretired;
	db->retired = NULL;
	db->nretired = db->cap_retired = 0;
	pthread_mutex_unlock(&db->retire_mu);
	for (size_t i = 0; i < n; i++)
		r[i].fn(db, r[i].arg);
	free(r);
}
