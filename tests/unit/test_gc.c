/*
 * test_gc.c -- garbage collection: discard accounting against a recount,
 * victim selection (sealed only; the ratio threshold; both policies),
 * relocation and reclamation, snapshots across GC, EBUSY, and the
 * background thread keeping a sustained overwrite workload within a small
 * pool, and space under an open iterator: writers wait for it rather than
 * fail, deletes have headroom.  The threaded races are in test_gc_online.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>

#include "common/dkvtest.h"
#include "engine/internal.h"
#include "tests/hooks/testhooks.h"

#define NK 2000
#define SEG (64 * 1024ull)

static char path[256];
static uint8_t vbuf[4096];

static int put_v(daxkv *db, uint32_t key, uint64_t ver, size_t len)
{
	char k[DKVT_KEYBUF];
	size_t kl = dkvt_key(key, k);
	dkvt_vmake(vbuf, len, key, 0, ver);
	return daxkv_put(db, k, kl, vbuf, len);
}

/* 1 when key holds version ver (0 = absent). */
static int holds(daxkv *db, uint32_t key, uint64_t ver)
{
	char k[DKVT_KEYBUF];
	size_t kl = dkvt_key(key, k), vl = 0;
	int rc = daxkv_get(db, k, kl, vbuf, sizeof(vbuf), &vl);
	if (ver == 0)
		return rc == DAXKV_ENOTFOUND;
	uint32_t kid;
	uint64_t got;
	return rc == DAXKV_OK && dkvt_vcheck(vbuf, vl, &kid, NULL, &got) == 0 && kid == key &&
	       got == ver;
}

static int space_ok(daxkv *db, uint64_t *sealed_empty)
{
	char msg[256];
	if (dkv_test_space_check(db, msg, sizeof(msg), sealed_empty) != 0) {
		fprintf(stderr, "\n  space check: %s\n", msg);
		return 0;
	}
	if (dkv_test_check(db, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "\n  structure check: %s\n", msg);
		return 0;
	}
	return 1;
}

static daxkv *open_gc(int create, int bg, int policy)
{
	daxkv_options o = dkvt_opts(16 * DKVT_MIB, SEG, create, bg);
	o.gc_policy = policy;
	daxkv *db = NULL;
	int rc = daxkv_open(path, &o, &db);
	if (rc)
		fprintf(stderr, "open: %s (%s)\n", daxkv_strerror(rc), daxkv_errmsg());
	return db;
}

/* A fresh store of pool_mib at path (named after tag), GC thread on or off. */
static daxkv *fresh_gc(const char *tag, uint64_t pool_mib, int bg)
{
	dkvt_path(path, sizeof(path), tag);
	dkvt_remove(path);
	daxkv_options o = dkvt_opts(pool_mib * DKVT_MIB, SEG, 1, bg);
	daxkv *db = NULL;
	int rc = daxkv_open(path, &o, &db);
	if (rc)
		fprintf(stderr, "open: %s (%s)\n", daxkv_strerror(rc), daxkv_errmsg());
	return db;
}

/* ---- accounting ---- */

/* Random puts/overwrites/deletes/batches, an iterator held across some of
 * them (tombstones), and GC passes: the per-segment live counts kept along
 * the way equal a recount, live + dead = bytes used, before and after a clean
 * reopen. */
static void test_accounting(void)
{
	dkvt_path(path, sizeof(path), "gc-acct");
	dkvt_remove(path);
	daxkv *db = open_gc(1, 0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	struct dkvt_rng r;
	dkvt_rng_seed(&r, 42);
	static uint64_t ver[NK];
	memset(ver, 0, sizeof(ver));
	daxkv_batch *b = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_batch_new(&b), DAXKV_OK);
	daxkv_iter *it = NULL;
	for (int i = 1; i <= 20000; i++) {
		uint32_t key = (uint32_t)dkvt_below(&r, NK);
		unsigned x = (unsigned)dkvt_below(&r, 100);
		if (x < 60) {
			CU_ASSERT_EQUAL(put_v(db, key, (uint64_t)i, 32 + dkvt_below(&r, 300)), 0);
			ver[key] = (uint64_t)i;
		} else if (x < 80) {
			char k[DKVT_KEYBUF];
			int rc = daxkv_delete(db, k, dkvt_key(key, k));
			CU_ASSERT_EQUAL(rc, ver[key] ? DAXKV_OK : DAXKV_ENOTFOUND);
			ver[key] = 0;
		} else if (x < 90) {
			daxkv_batch_clear(b);
			for (int j = 0; j < 4; j++) {
				uint32_t bk = (key + (uint32_t)j * 7) % NK;
				char k[DKVT_KEYBUF];
				size_t kl = dkvt_key(bk, k);
				dkvt_vmake(vbuf, 64, bk, 0, (uint64_t)i);
				CU_ASSERT_EQUAL(daxkv_batch_put(b, k, kl, vbuf, 64), 0);
				ver[bk] = (uint64_t)i;
			}
			CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_OK);
		} else if (x < 92) {
			if (it) {
				daxkv_iter_free(it);
				it = NULL;
			} else {
				CU_ASSERT_EQUAL(daxkv_iter_new(db, &it), DAXKV_OK);
			}
		} else if (x < 93) {
			CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
		}
		if (i % 5000 == 0)
			CU_ASSERT(space_ok(db, NULL));
	}
	daxkv_iter_free(it);
	daxkv_batch_free(b);
	CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
	CU_ASSERT(space_ok(db, NULL));
	daxkv_stats st;
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT(st.gc_runs > 0);
	CU_ASSERT(st.bytes_written >= st.live_bytes + st.gc_bytes_moved);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	db = open_gc(0, 0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	daxkv_stats st2;
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st2), DAXKV_OK);
	CU_ASSERT_EQUAL(st2.live_bytes, st.live_bytes);
	CU_ASSERT_EQUAL(st2.dead_bytes, st.dead_bytes);
	CU_ASSERT_EQUAL(st2.bytes_written, st.bytes_written);
	CU_ASSERT_EQUAL(st2.gc_passes, st.gc_passes);
	CU_ASSERT(space_ok(db, NULL));
	int bad = 0;
	for (uint32_t k = 0; k < NK; k++)
		bad += !holds(db, k, ver[k]);
	CU_ASSERT_EQUAL(bad, 0);
	dkvt_close_remove(db, path);
}

/* ---- victim selection ---- */

/* Writes keys [k0, k0+n) at version ver (100-byte values). */
static void put_range(daxkv *db, uint32_t k0, uint32_t n, uint64_t ver)
{
	for (uint32_t k = k0; k < k0 + n; k++)
		CU_ASSERT_EQUAL(put_v(db, k, ver, 100), DAXKV_OK);
}

static uint32_t seg_of_key(daxkv *db, uint32_t key)
{
	char k[DKVT_KEYBUF];
	size_t kl = dkvt_key(key, k);
	return dkv_test_seg_of(db, dkv_test_record_offset(db, k, kl));
}

/* Two sealed segments, one 40% dead and one 60% dead, and an active one
 * 90% dead: a pass frees only the 60% one (ratio 0.5), never the active. */
static void check_threshold(int policy)
{
	dkvt_path(path, sizeof(path), "gc-thresh");
	dkvt_remove(path);
	daxkv *db = open_gc(1, 0, policy);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	put_range(db, 0, 100, 1);
	CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0);
	put_range(db, 100, 100, 1);
	CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0);
	uint32_t a = seg_of_key(db, 0), b = seg_of_key(db, 100);
	CU_ASSERT_NOT_EQUAL(a, b);
	put_range(db, 0, 40, 2);    /* a: 40% dead */
	put_range(db, 100, 60, 2);  /* b: 60% dead */
	for (uint64_t v = 1; v <= 5; v++)
		put_range(db, 300, 50, v); /* the active segment: 200 of 350 dead */
	uint32_t act = seg_of_key(db, 300);
	uint64_t used;
	int64_t live;
	CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
	CU_ASSERT_EQUAL(dkv_test_seg_info(db, a, &used, &live), 2 /* SEG_SEALED */);
	CU_ASSERT_EQUAL(dkv_test_seg_info(db, b, &used, &live), 0 /* SEG_FREE */);
	CU_ASSERT_EQUAL(dkv_test_seg_info(db, act, &used, &live), 1 /* SEG_ACTIVE */);
	CU_ASSERT(space_ok(db, NULL));
	int bad = 0;
	for (uint32_t k = 0; k < 200; k++)
		bad += !holds(db, k, (k % 100) < (k < 100 ? 40u : 60u) ? 2 : 1);
	for (uint32_t k = 300; k < 350; k++)
		bad += !holds(db, k, 5);
	CU_ASSERT_EQUAL(bad, 0);
	dkvt_close_remove(db, path);
}

static void test_threshold_ratio(void)
{
	check_threshold(DAXKV_GC_RATIO);
}

static void test_threshold_cost_benefit(void)
{
	check_threshold(DAXKV_GC_COST_BENEFIT);
}

static void test_bad_policy(void)
{
	dkvt_path(path, sizeof(path), "gc-badpol");
	daxkv_options o = dkvt_opts(16 * DKVT_MIB, SEG, 1, 0);
	o.gc_policy = 7;
	daxkv *db = NULL;
	CU_ASSERT_EQUAL(daxkv_open(path, &o, &db), DAXKV_EINVAL);
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT(strstr(daxkv_errmsg(), "gc_policy") != NULL);
}

/* ---- relocation, reclamation, snapshots ---- */

/* An iterator opened before many overwrites, deletes and GC passes still
 * reads its snapshot; once freed, GC gets the space back. */
static void test_snapshot_across_passes(void)
{
	dkvt_path(path, sizeof(path), "gc-snap");
	dkvt_remove(path);
	daxkv *db = open_gc(1, 1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	put_range(db, 0, 500, 1);
	daxkv_iter *it = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &it), DAXKV_OK);
	for (uint64_t v = 2; v <= 12; v++) {
		put_range(db, 0, 500, v);
		int rc = daxkv_gc(db);
		CU_ASSERT(rc == DAXKV_OK || rc == DAXKV_EBUSY);
	}
	for (uint32_t k = 0; k < 500; k += 2) {
		char kb[DKVT_KEYBUF];
		CU_ASSERT_EQUAL(daxkv_delete(db, kb, dkvt_key(k, kb)), DAXKV_OK);
	}
	while (daxkv_gc(db) == DAXKV_EBUSY)
		usleep(1000);
	unsigned n = 0, bad = 0;
	for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it), n++) {
		size_t vl;
		const void *v = daxkv_iter_value(it, &vl);
		uint64_t ver;
		bad += dkvt_vcheck(v, vl, NULL, NULL, &ver) != 0 || ver != 1;
	}
	CU_ASSERT_EQUAL(daxkv_iter_status(it), DAXKV_OK);
	CU_ASSERT_EQUAL(n, 500);
	CU_ASSERT_EQUAL(bad, 0);
	daxkv_stats before, after;
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &before), DAXKV_OK);
	daxkv_iter_free(it);
	while (daxkv_gc(db) == DAXKV_EBUSY)
		usleep(1000);
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &after), DAXKV_OK);
	CU_ASSERT(after.segments_free > before.segments_free);
	CU_ASSERT_EQUAL(after.keys, 250);
	bad = 0;
	for (uint32_t k = 0; k < 500; k++)
		bad += !holds(db, k, k % 2 ? 12 : 0);
	CU_ASSERT_EQUAL(bad, 0);
	uint64_t empty = 1;
	CU_ASSERT(space_ok(db, &empty));
	CU_ASSERT_EQUAL(empty, 0); /* no sealed segment left holding nothing */
	dkvt_close_remove(db, path);
}

/* A pass is running (background, held back by a 1 byte/s rate): daxkv_gc()
 * answers EBUSY, and close still ends it promptly. */
static void test_ebusy(void)
{
	dkvt_path(path, sizeof(path), "gc-busy");
	dkvt_remove(path);
	daxkv_options o = dkvt_opts(16 * DKVT_MIB, SEG, 1, 1);
	o.gc_policy = DAXKV_GC_RATIO;
	o.gc_rate = 1;
	daxkv *db = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_open(path, &o, &db), DAXKV_OK);
	put_range(db, 0, 300, 1);
	CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0);
	put_range(db, 0, 200, 2); /* > 1 group of live records left behind */
	CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0);
	daxkv_stats st = {0};
	for (int i = 0; i < 2000 && st.gc_passes == 0; i++) {
		usleep(1000);
		CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	}
	CU_ASSERT(st.gc_passes > 0);
	CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_EBUSY);
	CU_ASSERT(strstr(daxkv_errmsg(), "already running") != NULL);
	double t0 = dkvt_now();
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	if (dkvt_now() - t0 > 5)
		fprintf(stderr, "\n  close took %.1f s\n", dkvt_now() - t0);
	db = open_gc(0, 0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	int bad = 0;
	for (uint32_t k = 0; k < 300; k++)
		bad += !holds(db, k, k < 200 ? 2 : 1);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(space_ok(db, NULL));
	dkvt_close_remove(db, path);
}

/* ---- the background thread ---- */

/* Overwrites of live data a third of the pool, ten pool-fulls of writes:
 * every put succeeds (writers wait for GC rather than fail), all values are
 * right, and the space accounting holds. */
static void run_sustained(int policy)
{
	dkvt_path(path, sizeof(path), "gc-sustain");
	dkvt_remove(path);
	daxkv_options o = dkvt_opts(8 * DKVT_MIB, SEG, 1, 1);
	o.gc_policy = policy;
	daxkv *db = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_open(path, &o, &db), DAXKV_OK);
	enum { KEYS = 12000, VLEN = 160 };
	static uint64_t ver[KEYS];
	memset(ver, 0, sizeof(ver));
	struct dkvt_rng r;
	dkvt_rng_seed(&r, (uint64_t)policy);
	uint64_t total = 0, fails = 0;
	for (uint64_t i = 1; total < 10 * 8 * DKVT_MIB; i++) {
		/* skewed: half the writes go to a tenth of the keys */
		uint32_t key = (uint32_t)(dkvt_below(&r, 2) ? dkvt_below(&r, KEYS / 10)
							    : dkvt_below(&r, KEYS));
		int rc = put_v(db, key, i, VLEN);
		if (rc != DAXKV_OK && fails++ < 5)
			fprintf(stderr, "\n  put %" PRIu64 ": %s (%s)\n", i, daxkv_strerror(rc),
				daxkv_errmsg());
		if (rc == DAXKV_OK)
			ver[key] = i;
		total += VLEN + 40;
	}
	CU_ASSERT_EQUAL(fails, 0);
	daxkv_stats st;
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT(st.gc_runs > 0);
	CU_ASSERT(st.gc_passes > 0);
	int bad = 0;
	for (uint32_t k = 0; k < KEYS; k++)
		bad += !holds(db, k, ver[k]);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(space_ok(db, NULL));
	printf("(policy %d: %" PRIu64 " segments freed, %.2f MiB moved) ", policy, st.gc_runs,
	       (double)st.gc_bytes_moved / (double)DKVT_MIB);
	dkvt_close_remove(db, path);
}

static void test_sustained_cost_benefit(void)
{
	run_sustained(DAXKV_GC_COST_BENEFIT);
}

static void test_sustained_ratio(void)
{
	run_sustained(DAXKV_GC_RATIO);
}

/* All live and full: ENOSPC comes back (no hang); after deletes, background
 * GC makes room and puts succeed again without a daxkv_gc() call. */
static void test_full_then_background(void)
{
	daxkv *db = fresh_gc("gc-full", 4, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	uint32_t n = 0;
	int rc;
	while ((rc = put_v(db, n, 1, 400)) == DAXKV_OK)
		n++;
	CU_ASSERT_EQUAL(rc, DAXKV_ENOSPC);
	CU_ASSERT(n > 1000);
	for (uint32_t k = 0; k < n; k += 2) {
		char kb[DKVT_KEYBUF];
		CU_ASSERT_EQUAL(daxkv_delete(db, kb, dkvt_key(k, kb)), DAXKV_OK);
	}
	uint32_t more = 0;
	while (more < n / 4 && put_v(db, n + more, 1, 400) == DAXKV_OK)
		more++;
	CU_ASSERT_EQUAL(more, n / 4);
	int bad = 0;
	for (uint32_t k = 0; k < n; k++)
		bad += !holds(db, k, k % 2 ? 1 : 0);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(space_ok(db, NULL));
	dkvt_close_remove(db, path);
}

/* ---- space held by an open iterator ---- */

struct holder {
	daxkv *db;
	daxkv_iter *it;
	_Atomic int freed, saw_wait;
};

/* Frees the iterator only once a writer is waiting for space: before the
 * fix that writer had already answered ENOSPC. */
static void *free_when_waited(void *arg)
{
	struct holder *h = arg;
	for (int i = 0; i < 20000 && atomic_load(&h->db->gc_waiters) == 0; i++)
		usleep(500);
	atomic_store(&h->saw_wait, atomic_load(&h->db->gc_waiters) > 0);
	usleep(20000);
	daxkv_iter_free(h->it);
	atomic_store(&h->freed, 1);
	return NULL;
}

/* Overwrites through two pool-fulls while an iterator pins every segment GC
 * frees; the iterator is freed only after a writer waits.  Every put and
 * delete succeeds: a writer waits (bounded) for the space readers hold. */
static void test_wait_for_iterator(void)
{
	struct holder h = { 0 };
	h.db = fresh_gc("gc-iterwait", 8, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h.db);
	for (uint32_t k = 0; k < NK; k++)
		CU_ASSERT_EQUAL_FATAL(put_v(h.db, k, 1, 200), DAXKV_OK);
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(h.db, &h.it), DAXKV_OK);
	pthread_t t;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, free_when_waited, &h), 0);
	struct dkvt_rng r;
	dkvt_rng_seed(&r, 5);
	uint64_t written = 0, ver = 2;
	unsigned fails = 0, dels = 0;
	while (written < 2 * 8 * DKVT_MIB) {
		uint32_t k = (uint32_t)dkvt_below(&r, NK);
		int rc;
		if (dkvt_below(&r, 8) == 0) {
			char kb[DKVT_KEYBUF];
			rc = daxkv_delete(h.db, kb, dkvt_key(k, kb));
			rc = rc == DAXKV_ENOTFOUND ? DAXKV_OK : rc;
			dels++;
		} else {
			rc = put_v(h.db, k, ver++, 200);
		}
		if (rc != DAXKV_OK && fails++ < 3)
			fprintf(stderr, "\n  write %llu: %s (%s)", (unsigned long long)written,
				daxkv_strerror(rc), daxkv_errmsg());
		written += 256;
	}
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(fails, 0);
	CU_ASSERT_EQUAL(atomic_load(&h.saw_wait), 1); /* the pool did fill while pinned */
	CU_ASSERT(dels > 0);
	CU_ASSERT(space_ok(h.db, NULL));
	dkvt_close_remove(h.db, path);
}

/* With an iterator open for good and no GC, puts fill the pool and answer
 * ENOSPC at once (nothing can come back); deletes still succeed, in the
 * headroom kept for their tombstones; once the iterator goes, GC makes room. */
static void test_delete_headroom(void)
{
	daxkv *db = fresh_gc("gc-delroom", 8, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	uint32_t n = 0;
	while (n < 4000 && put_v(db, n, 1, 200) == DAXKV_OK)
		n++;
	CU_ASSERT_EQUAL_FATAL(n, 4000);
	daxkv_iter *it = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &it), DAXKV_OK);
	int rc;
	uint64_t ver = 2, t0 = dkv_now_ns();
	while ((rc = put_v(db, (uint32_t)(ver % n), ver, 200)) == DAXKV_OK)
		ver++;
	CU_ASSERT_EQUAL(rc, DAXKV_ENOSPC);
	CU_ASSERT(dkv_now_ns() - t0 < DKV_SPACE_WAIT_NS); /* no wait: nothing pending */
	CU_ASSERT(strstr(daxkv_errmsg(), "pool full") != NULL);
	unsigned bad = 0;
	for (uint32_t k = 0; k < 1000; k++) {
		char kb[DKVT_KEYBUF];
		rc = daxkv_delete(db, kb, dkvt_key(k, kb));
		if (rc != DAXKV_OK && bad++ < 3)
			fprintf(stderr, "\n  delete %u: %s (%s)", k, daxkv_strerror(rc),
				daxkv_errmsg());
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(put_v(db, 0, 1, 200), DAXKV_ENOSPC); /* headroom stays the deletes' */
	/* the snapshot still reads what it saw */
	unsigned seen = 0;
	for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it))
		seen++;
	CU_ASSERT_EQUAL(seen, n);
	daxkv_iter_free(it);
	CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
	CU_ASSERT_EQUAL(put_v(db, 0, 9, 200), DAXKV_OK);
	CU_ASSERT(holds(db, 0, 9) && holds(db, 999, 0));
	CU_ASSERT(space_ok(db, NULL));
	dkvt_close_remove(db, path);
}

static const struct dkvt_test acct_tests[] = {
	{"matches_recount", test_accounting},
	{NULL, NULL},
};
static const struct dkvt_test victim_tests[] = {
	{"threshold_ratio", test_threshold_ratio},
	{"threshold_cost_benefit", test_threshold_cost_benefit},
	{"bad_policy", test_bad_policy},
	{NULL, NULL},
};
static const struct dkvt_test reloc_tests[] = {
	{"snapshot_across_passes", test_snapshot_across_passes},
	{"ebusy", test_ebusy},
	{NULL, NULL},
};
static const struct dkvt_test bg_tests[] = {
	{"sustained_cost_benefit", test_sustained_cost_benefit},
	{"sustained_ratio", test_sustained_ratio},
	{"full_then_background", test_full_then_background},
	{"wait_for_iterator", test_wait_for_iterator},
	{"delete_headroom", test_delete_headroom},
	{NULL, NULL},
};
static const struct dkvt_suite suites[] = {
	{"accounting", acct_tests},
	{"victims", victim_tests},
	{"relocation", reloc_tests},
	{"background", bg_tests},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
