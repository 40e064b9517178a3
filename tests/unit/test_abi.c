/*
 * test_abi.c -- programs built against another header than the library's
 * (include/daxkv.h, "Versioning"): daxkv_options and daxkv_stats start with
 * their size, and the library reads and writes only the bytes it covers.
 *
 *  - an older header: the layouts below without the fields added last, each
 *    followed by guard bytes; init/open/stats must not touch a guard byte,
 *    must give the missing options their defaults and report the stats the
 *    short struct has;
 *  - a newer header: one trailing field more; 0 is accepted, anything else
 *    answers DAXKV_EINVAL (the library cannot honour an option it does not know).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "common/dkvtest.h"
#include "engine/internal.h"

#define POOL (32 * DKVT_MIB)
#define SEG (1 * DKVT_MIB)
#define NKEYS 100u
#define GUARD 0x5a

/* daxkv_options before gc_policy and gc_rate. */
struct old_options {
	uint32_t size;
	uint64_t pool_size;
	uint64_t segment_size;
	int create;
	int read_only;
	int backend;
	double gc_ratio;
	int gc_background;
};

/* daxkv_stats before record_max_bytes and pool_bytes. */
struct old_stats {
	uint32_t size;
	uint64_t keys;
	uint64_t live_bytes;
	uint64_t dead_bytes;
	uint64_t capacity_bytes;
	uint64_t segments_used;
	uint64_t segments_free;
	uint64_t gc_runs;
	uint64_t gc_bytes_moved;
	int backend;
	uint64_t segment_size;
	uint64_t bytes_written;
	uint64_t gc_passes;
};

/* A newer header: one field more at the end. */
struct new_options {
	daxkv_options cur;
	uint64_t future;
};

struct new_stats {
	daxkv_stats cur;
	uint64_t future;
};

/* Each struct sits in front of guard bytes the library must never write. */
struct guarded_options {
	struct old_options o;
	unsigned char guard[64];
};

struct guarded_stats {
	struct old_stats s;
	unsigned char guard[64];
};

static int guard_intact(const unsigned char *g, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (g[i] != GUARD)
			return 0;
	return 1;
}

static void put_keys(daxkv *db)
{
	char k[32], v[64];
	memset(v, 'v', sizeof(v));
	for (unsigned i = 0; i < NKEYS; i++) {
		int kl = snprintf(k, sizeof(k), "abi-%06u", i);
		CU_ASSERT_EQUAL_FATAL(daxkv_put(db, k, (size_t)kl, v, sizeof(v)), DAXKV_OK);
	}
}

/* The layouts really are shorter: a test of nothing otherwise. */
static void test_layouts(void)
{
	CU_ASSERT(sizeof(struct old_options) < sizeof(daxkv_options));
	CU_ASSERT(sizeof(struct old_stats) < sizeof(daxkv_stats));
	CU_ASSERT_EQUAL(offsetof(struct old_options, gc_background),
			offsetof(daxkv_options, gc_background));
	CU_ASSERT_EQUAL(offsetof(struct old_stats, gc_passes), offsetof(daxkv_stats, gc_passes));
}

static void test_old_options(void)
{
	struct guarded_options w;
	memset(&w, GUARD, sizeof(w));
	daxkv_options_init_sized((daxkv_options *)&w.o, sizeof(w.o));
	CU_ASSERT(guard_intact(w.guard, sizeof(w.guard)));
	CU_ASSERT_EQUAL(w.o.size, sizeof(w.o));
	CU_ASSERT_EQUAL(w.o.pool_size, 0);
	CU_ASSERT_EQUAL(w.o.create, 0);
	CU_ASSERT_EQUAL(w.o.read_only, 0);
	CU_ASSERT_EQUAL(w.o.backend, DAXKV_BACKEND_AUTO);
	CU_ASSERT_EQUAL(w.o.gc_background, 1);

	char path[256];
	dkvt_path(path, sizeof(path), "abi-old-opt");
	dkvt_remove(path);
	w.o.pool_size = POOL;
	w.o.segment_size = SEG;
	w.o.create = 1;
	w.o.gc_background = 0;
	w.o.gc_ratio = 0.25;
	daxkv *db = NULL;
	int rc = daxkv_open(path, (const daxkv_options *)&w.o, &db);
	CU_ASSERT_EQUAL_FATAL(rc, DAXKV_OK);
	/* What the short struct has is read; what it lacks (the guard bytes
	 * lie where gc_policy/gc_rate would) takes the defaults. */
	CU_ASSERT_EQUAL(db->gc_ratio, 0.25);
	CU_ASSERT_EQUAL(db->gc_policy, DAXKV_GC_COST_BENEFIT);
	CU_ASSERT_EQUAL(db->gc_rate, DKV_GC_RATE_DEFAULT);
	CU_ASSERT(guard_intact(w.guard, sizeof(w.guard)));
	daxkv_stats st;
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT_EQUAL(st.segment_size, SEG);
	CU_ASSERT_EQUAL(st.pool_bytes, POOL);
	put_keys(db);
	dkvt_close_remove(db, path);
}

static void test_old_stats(void)
{
	char path[256];
	daxkv *db = dkvt_fresh_store(path, sizeof(path), "abi-old-stats", POOL, SEG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	put_keys(db);

	struct guarded_stats w;
	memset(&w, GUARD, sizeof(w));
	CU_ASSERT_EQUAL(daxkv_stats_get_sized(db, (daxkv_stats *)&w.s, sizeof(w.s)), DAXKV_OK);
	CU_ASSERT(guard_intact(w.guard, sizeof(w.guard)));
	CU_ASSERT_EQUAL(w.s.size, sizeof(w.s));

	/* Nothing runs in the background (no GC thread): the full struct read
	 * now holds the same numbers. */
	daxkv_stats full;
	CU_ASSERT_EQUAL_FATAL(daxkv_stats_get(db, &full), DAXKV_OK);
	CU_ASSERT_EQUAL(full.size, sizeof(full));
	CU_ASSERT_EQUAL(w.s.keys, NKEYS);
	CU_ASSERT_EQUAL(w.s.keys, full.keys);
	CU_ASSERT_EQUAL(w.s.live_bytes, full.live_bytes);
	CU_ASSERT_EQUAL(w.s.dead_bytes, full.dead_bytes);
	CU_ASSERT_EQUAL(w.s.capacity_bytes, full.capacity_bytes);
	CU_ASSERT_EQUAL(w.s.segments_used, full.segments_used);
	CU_ASSERT_EQUAL(w.s.segments_free, full.segments_free);
	CU_ASSERT_EQUAL(w.s.gc_runs, full.gc_runs);
	CU_ASSERT_EQUAL(w.s.gc_bytes_moved, full.gc_bytes_moved);
	CU_ASSERT_EQUAL(w.s.backend, dkvt_backend() == DAXKV_BACKEND_BLOCK ? DAXKV_BACKEND_BLOCK
								   : DAXKV_BACKEND_DAX);
	CU_ASSERT_EQUAL(w.s.segment_size, SEG);
	CU_ASSERT_EQUAL(w.s.bytes_written, full.bytes_written);
	CU_ASSERT(w.s.bytes_written > 0);
	CU_ASSERT_EQUAL(w.s.gc_passes, full.gc_passes);

	/* The smallest layout: the size field and keys. */
	memset(&w, GUARD, sizeof(w));
	size_t small = offsetof(struct old_stats, keys) + sizeof(w.s.keys);
	CU_ASSERT_EQUAL(daxkv_stats_get_sized(db, (daxkv_stats *)&w.s, small), DAXKV_OK);
	CU_ASSERT_EQUAL(w.s.size, small);
	CU_ASSERT_EQUAL(w.s.keys, NKEYS);
	CU_ASSERT(guard_intact((unsigned char *)&w + small, sizeof(w) - small));

	/* Below that: EINVAL and nothing written. */
	memset(&w, GUARD, sizeof(w));
	CU_ASSERT_EQUAL(daxkv_stats_get_sized(db, (daxkv_stats *)&w.s, sizeof(uint32_t)),
			DAXKV_EINVAL);
	CU_ASSERT(guard_intact((unsigned char *)&w, sizeof(w)));
	dkvt_close_remove(db, path);
}

/* A newer header's init through this library: the caller's size is kept (so
 * open later knows the struct is longer) and the unknown tail is zeroed. */
static void test_new_options_init(void)
{
	struct new_options n;
	memset(&n, GUARD, sizeof(n));
	daxkv_options_init_sized(&n.cur, sizeof(n));
	CU_ASSERT_EQUAL(n.cur.size, sizeof(n));
	CU_ASSERT_EQUAL(n.future, 0);
	CU_ASSERT_EQUAL(n.cur.gc_background, 1);
}

static void test_new_options_open(void)
{
	char path[256];
	dkvt_path(path, sizeof(path), "abi-new-opt");
	dkvt_remove(path);
	struct new_options n;
	memset(&n, 0, sizeof(n));
	daxkv_options_init_sized(&n.cur, sizeof(n));
	n.cur.size = sizeof(n); /* as a newer library's init sets it */
	n.cur.pool_size = POOL;
	n.cur.segment_size = SEG;
	n.cur.create = 1;
	n.cur.gc_background = 0;
	daxkv *db = (daxkv *)&n; /* a sentinel: untouched on failure */

	n.future = 1; /* an option this library cannot honour */
	CU_ASSERT_EQUAL(daxkv_open(path, &n.cur, &db), DAXKV_EINVAL);
	CU_ASSERT_PTR_EQUAL(db, (daxkv *)&n);
	CU_ASSERT(strlen(daxkv_errmsg()) > 0);
	CU_ASSERT_EQUAL(access(path, F_OK), -1); /* nothing created */

	n.future = 0;
	CU_ASSERT_EQUAL_FATAL(daxkv_open(path, &n.cur, &db), DAXKV_OK);
	put_keys(db);

	struct new_stats ns;
	memset(&ns, GUARD, sizeof(ns));
	CU_ASSERT_EQUAL(daxkv_stats_get_sized(db, &ns.cur, sizeof(ns)), DAXKV_OK);
	CU_ASSERT_EQUAL(ns.cur.size, sizeof(ns.cur)); /* what the library filled */
	CU_ASSERT_EQUAL(ns.future, 0);               /* the rest zeroed */
	CU_ASSERT_EQUAL(ns.cur.keys, NKEYS);
	CU_ASSERT_EQUAL(ns.cur.pool_bytes, POOL);
	dkvt_close_remove(db, path);
}

static const struct dkvt_test old_tests[] = {
	{"layouts", test_layouts},
	{"old_options", test_old_options},
	{"old_stats", test_old_stats},
	{NULL, NULL},
};
static const struct dkvt_test new_tests[] = {
	{"new_options_init", test_new_options_init},
	{"new_options_open", test_new_options_open},
	{NULL, NULL},
};
static const struct dkvt_suite suites[] = {
	{"older_header", old_tests},
	{"newer_header", new_tests},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
