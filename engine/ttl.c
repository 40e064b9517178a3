/*
 * ttl.c -- the expiry index: the set of skiplist nodes whose key has (or had)
 * an expiry time, in DRAM, for the active expiry cycle to sample (expire.c;
 * docs/ARCHITECTURE.md, "Time to live").
 *
 * A dense array of node offsets (uniform random sampling: a random index)
 * and an open-addressing hash from offset to array position (O(1) add and
 * remove: the last entry moves into the hole).  One mutex; only writes with
 * an expiry and the cycle take it.  Entries are hints, not truth: a node in
 * the set may since have lost its expiry, been deleted or reused for another
 * key -- the cycle checks each sample against the node and the record and
 * drops what no longer has an expiry.  Nothing here is on media: open
 * rebuilds the set from the records (expire.c).
 */
#include <stdlib.h>
#include <time.h>

#include "engine/internal.h"

static inline size_t slot_of(uint64_t off, size_t mask)
{
	return (size_t)(((off >> 6) * 0x9e3779b97f4a7c15ull) >> 20) & mask;
}

/* The hash slot holding off, or the empty one where it would go. */
static size_t find_slot(const struct dkv_ttl *t, uint64_t off)
{
	size_t mask = t->hcap - 1, i = slot_of(off, mask);
	while (t->hkey[i] && t->hkey[i] != off)
		i = (i + 1) & mask;
	return i;
}

static int grow(struct dkv_ttl *t)
{
	size_t ncap = t->hcap ? t->hcap * 2 : 1024;
	uint64_t *nk = calloc(ncap, sizeof(*nk));
	uint32_t *nv = malloc(ncap * sizeof(*nv));
	uint64_t *na = realloc(t->arr, ncap / 2 * sizeof(*na));
	if (!nk || !nv || !na) {
		free(nk);
		free(nv);
		if (na)
			t->arr = na;
		return DAXKV_ENOMEM;
	}
	t->arr = na;
	uint64_t *ok = t->hkey;
	uint32_t *ov = t->hval;
	size_t ocap = t->hcap;
	t->hkey = nk;
	t->hval = nv;
	t->hcap = ncap;
	for (size_t i = 0; i < ocap; i++) {
		if (!ok[i])
			continue;
		size_t s = find_slot(t, ok[i]);
		t->hkey[s] = ok[i];
		t->hval[s] = ov[i];
	}
	free(ok);
	free(ov);
	return 0;
}

void ttl_add(struct daxkv *db, uint64_t node)
{
	struct dkv_ttl *t = &db->ttl;
	atomic_store_explicit(&db->ttl_any, 1, memory_order_relaxed);
	pthread_mutex_lock(&t->mu);
	if (t->n + 1 > t->hcap / 2 && grow(t)) {
		t->lost = true; /* the cycle walks the index again for it */
		goto out;
	}
	size_t s = find_slot(t, node);
	if (t->hkey[s])
		goto out; /* already there */
	t->hkey[s] = node;
	t->hval[s] = (uint32_t)t->n;
	t->arr[t->n++] = node;
	atomic_store_explicit(&t->count, t->n, memory_order_relaxed);
out:
	pthread_mutex_unlock(&t->mu);
}

/* Removes hash slot i, shifting back the entries of its probe run. */
static void hash_remove(struct dkv_ttl *t, size_t i)
{
	size_t mask = t->hcap - 1, j = i;
	for (;;) {
		t->hkey[i] = 0;
		for (;;) {
			j = (j + 1) & mask;
			if (!t->hkey[j])
				return;
			size_t home = slot_of(t->hkey[j], mask);
			/* j's entry may fill i unless its home lies cyclically in (i, j]. */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		t->hkey[i] = t->hkey[j];
		t->hval[i] = t->hval[j];
		i = j;
	}
}

void ttl_del(struct daxkv *db, uint64_t node)
{
	struct dkv_ttl *t = &db->ttl;
	pthread_mutex_lock(&t->mu);
	if (!t->hcap)
		goto out;
	size_t s = find_slot(t, node);
	if (!t->hkey[s])
		goto out;
	uint32_t at = t->hval[s];
	hash_remove(t, s);
	uint64_t last = t->arr[--t->n];
	if (at != t->n) { /* the last entry fills the hole */
		t->arr[at] = last;
		t->hval[find_slot(t, last)] = at;
	}
	atomic_store_explicit(&t->count, t->n, memory_order_relaxed);
out:
	pthread_mutex_unlock(&t->mu);
}

size_t ttl_sample(struct daxkv *db, uint64_t *out, size_t max, uint64_t *rng)
{
	struct dkv_ttl *t = &db->ttl;
	size_t k = 0;
	pthread_mutex_lock(&t->mu);
	for (; k < max && k < t->n; k++) {
		uint64_t x = *rng; /* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*rng = x;
		out[k] = t->arr[x % t->n];
	}
	pthread_mutex_unlock(&t->mu);
	return k;
}

int ttl_take_all(struct daxkv *db, uint64_t **out, size_t *n)
{
	struct dkv_ttl *t = &db->ttl;
	int rc = 0;
	pthread_mutex_lock(&t->mu);
	*n = t->n;
	*out = malloc((t->n ? t->n : 1) * sizeof(**out));
	if (!*out)
		rc = dkv_err(DAXKV_ENOMEM, "out of memory (expiry index of %zu keys)", t->n);
	else if (t->n)
		memcpy(*out, t->arr, t->n * sizeof(**out));
	pthread_mutex_unlock(&t->mu);
	return rc;
}

bool ttl_lost_take(struct daxkv *db)
{
	struct dkv_ttl *t = &db->ttl;
	pthread_mutex_lock(&t->mu);
	bool lost = t->lost;
	t->lost = false;
	pthread_mutex_unlock(&t->mu);
	return lost;
}

void ttl_init(struct daxkv *db)
{
	pthread_mutex_init(&db->ttl.mu, NULL);
}

void ttl_fini(struct daxkv *db)
{
	struct dkv_ttl *t = &db->ttl;
	free(t->arr);
	free(t->hkey);
	free(t->hval);
	t->arr = t->hkey = NULL;
	t->hval = NULL;
	t->n = t->hcap = 0;
	pthread_mutex_destroy(&t->mu);
}

int dkv_check_expire(uint64_t expire_at_ms)
{
	if (expire_at_ms > DKV_EXPIRE_MAX)
		return dkv_err(DAXKV_EINVAL, "expiry time %llu ms is beyond 2^63",
			       (unsigned long long)expire_at_ms);
	return 0;
}

DAXKV_API uint64_t daxkv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts); /* the vDSO: no system call */
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
