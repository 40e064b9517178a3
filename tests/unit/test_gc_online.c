/*
 * test_gc_online.c -- GC racing foreground work (label concurrency: TSan runs it).
 *
 * Two writers overwrite and delete their own keys in a small pool while the
 * background thread compacts and a third thread calls daxkv_gc() in a loop
 * (EBUSY while a pass runs is fine); a reader checks every value it gets is
 * whole, and an iterator opened before the race reads exactly its snapshot
 * in the middle of it.  Afterwards each key holds its writer's last acknowledged
 * version, and the space accounting equals a recount.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>

#include "common/dkvtest.h"
#include "tests/hooks/testhooks.h"

#define NW 2
#define KEYS_PER 1500
#define VLEN 120
#define SNAPV (1ull << 40) /* the version before the race */

static daxkv *db;
static char path[256];
static _Atomic int stop;
static _Atomic unsigned bad_reads, gc_calls, gc_busy, gc_errors;
static uint64_t last[NW][KEYS_PER]; /* 0 = deleted/absent */
static unsigned long ops_per_writer = 150000;

static uint32_t key_of(int w, uint32_t i)
{
	return (uint32_t)(i * NW + (uint32_t)w);
}

static void *writer(void *arg)
{
	int w = (int)(intptr_t)arg;
	struct dkvt_rng r;
	dkvt_rng_seed(&r, 1000 + (uint64_t)w);
	uint8_t v[VLEN];
	char k[DKVT_KEYBUF];
	for (unsigned long op = 1; op <= ops_per_writer; op++) {
		/* skewed: half the writes to a tenth of the keys */
		uint32_t i = (uint32_t)(dkvt_below(&r, 2) ? dkvt_below(&r, KEYS_PER / 10)
							  : dkvt_below(&r, KEYS_PER));
		uint32_t key = key_of(w, i);
		size_t kl = dkvt_key(key, k);
		if (dkvt_below(&r, 10) == 0) {
			int rc = daxkv_delete(db, k, kl);
			if (rc == DAXKV_OK || rc == DAXKV_ENOTFOUND)
				last[w][i] = 0;
			else
				atomic_fetch_add(&gc_errors, 1);
			continue;
		}
		dkvt_vmake(v, VLEN, key, (uint32_t)w, op);
		if (daxkv_put(db, k, kl, v, VLEN) == DAXKV_OK)
			last[w][i] = op;
		else
			atomic_fetch_add(&gc_errors, 1);
	}
	return NULL;
}

static void *reader(void *arg)
{
	(void)arg;
	struct dkvt_rng r;
	dkvt_rng_seed(&r, 77);
	uint8_t v[VLEN + 16];
	char k[DKVT_KEYBUF];
	while (!atomic_load(&stop)) {
		uint32_t key = (uint32_t)dkvt_below(&r, NW * KEYS_PER);
		size_t kl = dkvt_key(key, k), vl = 0;
		int rc = daxkv_get(db, k, kl, v, sizeof(v), &vl);
		uint32_t kid;
		if (rc == DAXKV_OK && (dkvt_vcheck(v, vl, &kid, NULL, NULL) != 0 || kid != key))
			atomic_fetch_add(&bad_reads, 1);
		else if (rc != DAXKV_OK && rc != DAXKV_ENOTFOUND)
			atomic_fetch_add(&bad_reads, 1);
	}
	return NULL;
}

static void *gc_caller(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		int rc = daxkv_gc(db);
		atomic_fetch_add(&gc_calls, 1);
		if (rc == DAXKV_EBUSY)
			atomic_fetch_add(&gc_busy, 1);
		else if (rc != DAXKV_OK && rc != DAXKV_ENOSPC)
			atomic_fetch_add(&gc_errors, 1);
		usleep(2000);
	}
	return NULL;
}

static void test_race(void)
{
	dkvt_path(path, sizeof(path), "gc-online");
	dkvt_remove(path);
	daxkv_options o = dkvt_opts(8 * DKVT_MIB, 64 * 1024, 1, 1);
	CU_ASSERT_EQUAL_FATAL(daxkv_open(path, &o, &db), DAXKV_OK);
	/* the snapshot: every key at version SNAPV */
	uint8_t v[VLEN];
	char k[DKVT_KEYBUF];
	for (uint32_t key = 0; key < NW * KEYS_PER; key++) {
		dkvt_vmake(v, VLEN, key, 9, SNAPV);
		CU_ASSERT_EQUAL_FATAL(daxkv_put(db, k, dkvt_key(key, k), v, VLEN), DAXKV_OK);
		last[key % NW][key / NW] = SNAPV;
	}
	daxkv_iter *it = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &it), DAXKV_OK);
	daxkv_iter_free(it); /* one opened and freed early: its pins must go */
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &it), DAXKV_OK);

	pthread_t tw[NW], tr, tg;
	for (int w = 0; w < NW; w++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tw[w], NULL, writer, (void *)(intptr_t)w), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tr, NULL, reader, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tg, NULL, gc_caller, NULL), 0);
	/* While they run (and GC passes go by), the snapshot reads as it was.
	 * Held for the whole race it would keep every freed segment from
	 * reuse and fill the small pool. */
	usleep(30000);
	unsigned n = 0, badsnap = 0;
	for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it), n++) {
		size_t vl;
		const void *val = daxkv_iter_value(it, &vl);
		uint64_t ver;
		badsnap += dkvt_vcheck(val, vl, NULL, NULL, &ver) != 0 || ver != SNAPV;
	}
	CU_ASSERT_EQUAL(daxkv_iter_status(it), DAXKV_OK);
	CU_ASSERT_EQUAL(n, NW * KEYS_PER);
	CU_ASSERT_EQUAL(badsnap, 0);
	daxkv_iter_free(it);
	for (int w = 0; w < NW; w++)
		pthread_join(tw[w], NULL);
	atomic_store(&stop, 1);
	pthread_join(tr, NULL);
	pthread_join(tg, NULL);
	CU_ASSERT_EQUAL(atomic_load(&bad_reads), 0);
	CU_ASSERT_EQUAL(atomic_load(&gc_errors), 0);

	unsigned wrong = 0;
	for (int w = 0; w < NW; w++) {
		for (uint32_t i = 0; i < KEYS_PER; i++) {
			uint32_t key = key_of(w, i);
			size_t kl = dkvt_key(key, k), vl = 0;
			int rc = daxkv_get(db, k, kl, v, sizeof(v), &vl);
			uint64_t ver = 0;
			if (last[w][i] == 0)
				wrong += rc != DAXKV_ENOTFOUND;
			else
				wrong += rc != DAXKV_OK || dkvt_vcheck(v, vl, NULL, NULL, &ver) != 0 ||
					 ver != last[w][i];
		}
	}
	CU_ASSERT_EQUAL(wrong, 0);
	daxkv_stats st;
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT(st.gc_runs > 0);
	char msg[256];
	int sc = dkv_test_space_check(db, msg, sizeof(msg), NULL);
	if (sc)
		fprintf(stderr, "\n  %s\n", msg);
	CU_ASSERT_EQUAL(sc, 0);
	CU_ASSERT_EQUAL(dkv_test_check(db, msg, sizeof(msg)), 0);
	printf("(%u GC calls, %u busy, %" PRIu64 " segments freed) ", atomic_load(&gc_calls),
	       atomic_load(&gc_busy), st.gc_runs);
	dkvt_close_remove(db, path);
}

static const struct dkvt_test race_tests[] = {
	{"writers_readers_gc", test_race},
	{NULL, NULL},
};
static const struct dkvt_suite suites[] = {
	{"online", race_tests},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	ops_per_writer = (unsigned long)dkvt_env_long("DAXKV_GC_RACE_OPS", 150000);
	return dkvt_run(suites);
}
