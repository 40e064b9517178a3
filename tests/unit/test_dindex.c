/*
 * test_dindex.c -- the DRAM index (engine/dindex.c) agrees with the skiplist.
 *
 * The index answers gets, overwrites and deletes and gives inserts and seeks
 * their start on level 0, so a wrong entry is a wrong answer.  These suites
 * drive it where it is hardest: keys that agree on their first 16 bytes (the
 * tree's word compare ties and the whole key decides, separators included),
 * short keys padded with zero bytes ("a" < "a\0" < "a\0\0"), deletes that
 * empty leaves, reopens whose background build races the writers, and
 * several writers at once.  After each phase dkv_test_check waits for the
 * build and checks the tree maps exactly the live level-0 nodes in order;
 * every key is read back against a model, and a full scan must list the
 * model's keys in order.
 */
#define _XOPEN_SOURCE 700
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "common/dkvtest.h"
#include "tests/hooks/testhooks.h"

#define FAMILY 3000          /* keys per family */
#define NKEYS (3 * FAMILY)
#define KMAX 40

/* Key id -> bytes: family 0 shares a 24-byte prefix, family 1 is 1..17 bytes
 * of 'a' and zero bytes, family 2 is 16 random bytes. */
static size_t key_of(unsigned id, uint8_t *k)
{
	unsigned f = id / FAMILY, i = id % FAMILY;
	if (f == 0)
		return (size_t)snprintf((char *)k, KMAX, "shared-prefix-of-24-byte%06u", i);
	if (f == 1) {
		size_t len = 1 + i % 17;
		for (size_t j = 0; j < len; j++)
			k[j] = (i >> (j % 12)) & 1 ? 'a' : 0;
		k[len - 1] = (uint8_t)(i / 17); /* distinct per (length, i / 17) */
		return len;
	}
	uint64_t a = dkvt_mix64(i), b = dkvt_mix64(i + 0x1000000ull);
	memcpy(k, &a, 8);
	memcpy(k + 8, &b, 8);
	return 16;
}

struct model {
	uint32_t ver[NKEYS]; /* 0: absent; else the version of its value */
};

static int put_ver(daxkv *db, unsigned id, uint32_t ver)
{
	uint8_t k[KMAX];
	char v[32];
	size_t kl = key_of(id, k);
	int n = snprintf(v, sizeof(v), "v%u-%u", id, ver);
	return daxkv_put(db, k, kl, v, (size_t)n);
}

/* Whether the store holds exactly the model (gets and a full scan). */
static int agrees(daxkv *db, const struct model *m, unsigned lo, unsigned hi)
{
	int bad = 0;
	for (unsigned id = lo; id < hi && bad < 5; id++) {
		uint8_t k[KMAX];
		char v[32], want[32];
		size_t kl = key_of(id, k), vl = 0;
		int rc = daxkv_get(db, k, kl, v, sizeof(v), &vl);
		if (!m->ver[id]) {
			if (rc != DAXKV_ENOTFOUND) {
				fprintf(stderr, "key %u: want absent, get says %d\n", id, rc);
				bad++;
			}
			continue;
		}
		int n = snprintf(want, sizeof(want), "v%u-%u", id, m->ver[id]);
		if (rc != DAXKV_OK || vl != (size_t)n || memcmp(v, want, vl) != 0) {
			fprintf(stderr, "key %u: want %s, get says %d (%.*s)\n", id, want, rc,
				(int)vl, v);
			bad++;
		}
	}
	return bad == 0;
}

/* The keys of the model, sorted as the API orders them. */
struct kref {
	uint8_t k[KMAX];
	size_t len;
};
static int kref_cmp(const void *a, const void *b)
{
	const struct kref *x = a, *y = b;
	return dkvt_keycmp(x->k, x->len, y->k, y->len);
}

static int scan_agrees(daxkv *db, const struct model *m)
{
	static struct kref want[NKEYS];
	size_t n = 0;
	for (unsigned id = 0; id < NKEYS; id++)
		if (m->ver[id])
			want[n].len = key_of(id, want[n].k), n++;
	qsort(want, n, sizeof(want[0]), kref_cmp);
	daxkv_iter *it = NULL;
	if (daxkv_iter_new(db, &it) != DAXKV_OK)
		return 0;
	size_t i = 0;
	int ok = 1;
	for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it), i++) {
		size_t kl;
		const void *k = daxkv_iter_key(it, &kl);
		if (i >= n || kl != want[i].len || memcmp(k, want[i].k, kl) != 0) {
			fprintf(stderr, "scan: key %zu differs from the model\n", i);
			ok = 0;
			break;
		}
	}
	if (ok && i != n) {
		fprintf(stderr, "scan: %zu keys, the model has %zu\n", i, n);
		ok = 0;
	}
	/* Seeks: to each model key (found) and just past it (the next one). */
	for (size_t j = 0; ok && j < n; j += 7) {
		daxkv_iter_seek(it, want[j].k, want[j].len);
		size_t kl = 0;
		const void *k = daxkv_iter_valid(it) ? daxkv_iter_key(it, &kl) : NULL;
		if (!k || kl != want[j].len || memcmp(k, want[j].k, kl) != 0) {
			fprintf(stderr, "seek to model key %zu did not land on it\n", j);
			ok = 0;
		}
		uint8_t past[KMAX + 1];
		memcpy(past, want[j].k, want[j].len);
		past[want[j].len] = 0; /* the smallest key after it */
		daxkv_iter_seek(it, past, want[j].len + 1);
		k = daxkv_iter_valid(it) ? daxkv_iter_key(it, &kl) : NULL;
		int at_end = j + 1 == n;
		if (at_end ? k != NULL
			   : (!k || kl != want[j + 1].len || memcmp(k, want[j + 1].k, kl) != 0)) {
			fprintf(stderr, "seek past model key %zu did not land on the next\n", j);
			ok = 0;
		}
	}
	daxkv_iter_free(it);
	return ok;
}

static int checked(daxkv *db)
{
	char msg[512] = "";
	int rc = dkv_test_check(db, msg, sizeof(msg));
	if (rc)
		fprintf(stderr, "check: %s\n", msg);
	return rc == 0;
}

/* ops random puts (new versions) and deletes over every family. */
static int churn(daxkv *db, struct model *m, struct dkvt_rng *r, unsigned ops, unsigned del_pct)
{
	for (unsigned i = 0; i < ops; i++) {
		unsigned id = (unsigned)dkvt_below(r, NKEYS);
		if (dkvt_below(r, 100) < del_pct) {
			uint8_t k[KMAX];
			size_t kl = key_of(id, k);
			int rc = daxkv_delete(db, k, kl);
			if (rc != (m->ver[id] ? DAXKV_OK : DAXKV_ENOTFOUND)) {
				fprintf(stderr, "delete %u: %d\n", id, rc);
				return 0;
			}
			m->ver[id] = 0;
		} else {
			uint32_t ver = m->ver[id] + 1;
			if (put_ver(db, id, ver) != DAXKV_OK) {
				fprintf(stderr, "put %u failed\n", id);
				return 0;
			}
			m->ver[id] = ver;
		}
	}
	return 1;
}

static void test_model(void)
{
	static struct model m;
	char path[256];
	struct dkvt_rng r;
	dkvt_rng_seed(&r, (uint64_t)dkvt_env_long("DAXKV_TEST_SEED", 7));
	memset(&m, 0, sizeof(m));
	daxkv *db = dkvt_fresh_store(path, sizeof(path), "dindex-model", 64 * DKVT_MIB,
				     1 * DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* Fill, churn (a third deletes: leaves empty out), drain to a few keys,
	 * refill: each on the live index. */
	CU_ASSERT(churn(db, &m, &r, 4 * NKEYS, 10));
	CU_ASSERT(checked(db) && agrees(db, &m, 0, NKEYS) && scan_agrees(db, &m));
	CU_ASSERT(churn(db, &m, &r, 2 * NKEYS, 70));
	CU_ASSERT(checked(db) && agrees(db, &m, 0, NKEYS) && scan_agrees(db, &m));
	CU_ASSERT(churn(db, &m, &r, 2 * NKEYS, 35));
	/* Reopen: the index is rebuilt while the churn goes on beside it. */
	for (int round = 0; round < 3; round++) {
		CU_ASSERT_EQUAL_FATAL(daxkv_close(db), DAXKV_OK);
		db = dkvt_open_store(path, 64 * DKVT_MIB, 1 * DKVT_MIB, 0, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(db);
		CU_ASSERT(churn(db, &m, &r, NKEYS, 30));
		CU_ASSERT(checked(db));
		CU_ASSERT(dkv_test_dix_wait(db)); /* a sound pool's build completes */
		CU_ASSERT(agrees(db, &m, 0, NKEYS) && scan_agrees(db, &m));
	}
	dkvt_close_remove(db, path);
}

/* ---- several writers, and a build racing them ---- */

#define NTHREADS 3
#define OWN (NKEYS / NTHREADS) /* keys each writer owns: ids t, t + 3, ... */

static daxkv *g_db;
static struct model g_m;
static _Atomic int g_err;

struct warg {
	unsigned t;
	unsigned ops;
	pthread_barrier_t *bar;
};

static void *writer(void *p)
{
	struct warg *a = p;
	struct dkvt_rng r;
	dkvt_rng_seed(&r, 1000 + a->t);
	pthread_barrier_wait(a->bar);
	for (unsigned i = 0; i < a->ops && !atomic_load(&g_err); i++) {
		unsigned id = (unsigned)dkvt_below(&r, OWN) * NTHREADS + a->t;
		uint8_t k[KMAX], v[32];
		size_t kl = key_of(id, k), vl;
		unsigned op = (unsigned)dkvt_below(&r, 100);
		int rc;
		if (op < 30) {
			rc = daxkv_delete(g_db, k, kl);
			if (rc != (g_m.ver[id] ? DAXKV_OK : DAXKV_ENOTFOUND))
				atomic_fetch_add(&g_err, 1);
			g_m.ver[id] = 0;
		} else if (op < 70) {
			uint32_t ver = g_m.ver[id] + 1;
			if (put_ver(g_db, id, ver) != DAXKV_OK)
				atomic_fetch_add(&g_err, 1);
			g_m.ver[id] = ver;
		} else {
			rc = daxkv_get(g_db, k, kl, v, sizeof(v), &vl);
			if (rc != (g_m.ver[id] ? DAXKV_OK : DAXKV_ENOTFOUND))
				atomic_fetch_add(&g_err, 1);
		}
	}
	return NULL;
}

static void run_writers(unsigned ops)
{
	pthread_t th[NTHREADS];
	struct warg a[NTHREADS];
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, NTHREADS);
	for (unsigned t = 0; t < NTHREADS; t++) {
		a[t] = (struct warg){ t, ops, &bar };
		pthread_create(&th[t], NULL, writer, &a[t]);
	}
	for (unsigned t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&bar);
}

static void test_writers(void)
{
	char path[256];
	memset(&g_m, 0, sizeof(g_m));
	atomic_store(&g_err, 0);
	g_db = dkvt_fresh_store(path, sizeof(path), "dindex-writers", 64 * DKVT_MIB,
				1 * DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_db);
	run_writers(3 * OWN);
	CU_ASSERT_EQUAL(atomic_load(&g_err), 0);
	CU_ASSERT(checked(g_db) && agrees(g_db, &g_m, 0, NKEYS));
	for (int round = 0; round < 3; round++) {
		CU_ASSERT_EQUAL_FATAL(daxkv_close(g_db), DAXKV_OK);
		g_db = dkvt_open_store(path, 64 * DKVT_MIB, 1 * DKVT_MIB, 0, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(g_db);
		run_writers(OWN); /* beside the build */
		CU_ASSERT_EQUAL(atomic_load(&g_err), 0);
		CU_ASSERT(checked(g_db) && agrees(g_db, &g_m, 0, NKEYS) && scan_agrees(g_db, &g_m));
	}
	dkvt_close_remove(g_db, path);
}

/* The hash of keys replaces a stale entry of a re-inserted key, and the
 * build alone fills it. */
static void test_hash_replace(void)
{
	char path[256];
	daxkv *db = dkvt_fresh_store(path, sizeof(path), "dindex-hash", 64 * DKVT_MIB,
				     1 * DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (unsigned id = 0; id < 100; id++)
		CU_ASSERT_EQUAL(put_ver(db, id, 1), DAXKV_OK);
	CU_ASSERT(dkv_test_dix_wait(db));
	for (unsigned id = 0; id < 100; id += 7) {
		uint8_t k[KMAX];
		size_t kl = key_of(id, k);
		CU_ASSERT_EQUAL(dkv_test_dhash_replace(db, k, kl), 0);
	}
	CU_ASSERT(checked(db));
	/* A reopen with no writer beside the build: every key by the build's
	 * walk alone (the last round's hash entries included). */
	CU_ASSERT_EQUAL_FATAL(daxkv_close(db), DAXKV_OK);
	db = dkvt_open_store(path, 64 * DKVT_MIB, 1 * DKVT_MIB, 0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT(dkv_test_dix_wait(db));
	CU_ASSERT(checked(db));
	dkvt_close_remove(db, path);
}

static const struct dkvt_test tests[] = {
	{ "model", test_model },
	{ "hash_replace", test_hash_replace },
	{ "writers", test_writers },
	{ NULL, NULL },
};
static const struct dkvt_suite suites[] = {
	{ "dindex", tests },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
