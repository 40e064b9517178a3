/*
 * test_parallel_insert.c -- writers inserting unique keys at the same time.
 *
 * Regression for a node-allocator race (a slot handed to two inserts when the
 * allocator read the media bitmap and the DRAM overlay in an order that can
 * see a commit mid-way): the result was a node with one level linked at level
 * 1 and searches that degrade to a walk of level 0.  After the fill, the
 * structural check (order on every level, bitmap = reachable nodes) must pass
 * and every key must read back.
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

#define NTHREADS 3
#define PER_THREAD 60000

static daxkv *g_db;
static _Atomic int g_errors;

struct warg {
	int id;
	pthread_barrier_t *bar;
};

static void key_of(char *k, int t, int i)
{
	snprintf(k, 24, "%016llx", (unsigned long long)dkvt_mix64((uint64_t)t << 32 | (unsigned)i));
}

static void *writer(void *p)
{
	struct warg *a = p;
	char k[24], v[40];
	pthread_barrier_wait(a->bar);
	for (int i = 0; i < PER_THREAD; i++) {
		key_of(k, a->id, i);
		snprintf(v, sizeof(v), "v-%d-%d", a->id, i);
		if (daxkv_put(g_db, k, 16, v, strlen(v)) != DAXKV_OK)
			atomic_fetch_add(&g_errors, 1);
	}
	return NULL;
}

static void test_parallel_unique_inserts(void)
{
	char path[256], msg[512] = "";
	dkvt_path(path, sizeof(path), "parallel-insert");
	daxkv_options o = dkvt_opts(256 * DKVT_MIB, 4 * DKVT_MIB, 1, 0);
	CU_ASSERT_EQUAL_FATAL(daxkv_open(path, &o, &g_db), DAXKV_OK);
	pthread_t th[NTHREADS];
	struct warg args[NTHREADS];
	pthread_barrier_t bar;
	pthread_barrier_init(&bar, NULL, NTHREADS);
	for (int t = 0; t < NTHREADS; t++) {
		args[t] = (struct warg){ t, &bar };
		pthread_create(&th[t], NULL, writer, &args[t]);
	}
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&bar);
	CU_ASSERT_EQUAL(atomic_load(&g_errors), 0);
	int rc = dkv_test_check(g_db, msg, sizeof(msg));
	if (rc)
		fprintf(stderr, "check: %s\n", msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(dkv_test_nodes_allocated(g_db), (uint64_t)NTHREADS * PER_THREAD);
	int missing = 0;
	char k[24], v[40], want[40];
	for (int t = 0; t < NTHREADS; t++) {
		for (int i = 0; i < PER_THREAD; i++) {
			size_t vl = 0;
			key_of(k, t, i);
			snprintf(want, sizeof(want), "v-%d-%d", t, i);
			if (daxkv_get(g_db, k, 16, v, sizeof(v), &vl) != DAXKV_OK ||
			    vl != strlen(want) || memcmp(v, want, vl) != 0)
				missing++;
		}
	}
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(daxkv_close(g_db), DAXKV_OK);
	dkvt_remove(path);
}

static const struct dkvt_test tests[] = {
	{ "unique_inserts", test_parallel_unique_inserts },
	{ NULL, NULL },
};
static const struct dkvt_suite suites[] = {
	{ "parallel_insert", tests },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
