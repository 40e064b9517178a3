/*
 * test_ttl.c -- expiry times and conditional writes through the public API
 * (include/daxkv.h, "Time to live" and "Read-modify-write"): lazy expiry on
 * every read path, the active cycle and daxkv_expire_run, expiry across
 * reopen and GC, versions with put_if/delete_if, batch conditions, and a
 * concurrent read-modify-write counter whose total must come out exact.
 * Runs on both backends (test_ttl_block).
 */
#define _GNU_SOURCE

#include <pthread.h>

#include "common/apitest.h"

#define POOL (32 * DKVT_MIB)
#define SEG DKVT_MIB

/* A store with no background GC and the given expiry cycle rate. */
static daxkv *open_hz(const char *path, int create, int hz)
{
	daxkv_options o = dkvt_opts(POOL, SEG, create, 0);
	o.expire_hz = hz;
	daxkv *db = NULL;
	int rc = daxkv_open(path, &o, &db);
	if (rc)
		fprintf(stderr, "open %s: %s (%s)\n", path, daxkv_strerror(rc), daxkv_errmsg());
	return db;
}

static daxkv *fresh_hz(const char *tag, char *path, size_t cap, int hz)
{
	dkvt_path(path, cap, tag);
	dkvt_remove(path);
	return open_hz(path, 1, hz);
}

static daxkv_stats stats(daxkv *db)
{
	daxkv_stats st;
	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	return st;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void test_put_ttl_basic(void)
{
	char path[256];
	daxkv *db = fresh_hz("ttl-basic", path, sizeof(path), -1);
	CU_ASSERT_FATAL(db != NULL);
	int64_t t = 0;
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "k", 1, "v1", 2, 100000), DAXKV_OK);
	CU_ASSERT(has_str(db, "k", "v1"));
	CU_ASSERT_EQUAL(daxkv_ttl(db, "k", 1, &t), DAXKV_OK);
	CU_ASSERT(t > 90000 && t <= 100000);
	uint64_t ver = 0, exp = 0, now = daxkv_now_ms();
	size_t vlen = 0;
	char buf[8];
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "k", 1, buf, sizeof(buf), &vlen, &ver, &exp), DAXKV_OK);
	CU_ASSERT(ver != 0);
	CU_ASSERT(exp > now && exp <= now + 100000);
	/* A plain put clears the expiry; put_expire sets an absolute one. */
	CU_ASSERT_EQUAL(put_s(db, "k", "v2"), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_ttl(db, "k", 1, &t), DAXKV_OK);
	CU_ASSERT_EQUAL(t, DAXKV_TTL_NONE);
	CU_ASSERT_EQUAL(daxkv_put_expire(db, "k", 1, "v3", 2, now + 500000), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "k", 1, NULL, 0, &vlen, NULL, &exp), DAXKV_OK);
	CU_ASSERT_EQUAL(exp, now + 500000);
	/* persist: removed once, then nothing to remove. */
	int had = -1;
	CU_ASSERT_EQUAL(daxkv_persist(db, "k", 1, &had), DAXKV_OK);
	CU_ASSERT_EQUAL(had, 1);
	CU_ASSERT_EQUAL(daxkv_persist(db, "k", 1, &had), DAXKV_OK);
	CU_ASSERT_EQUAL(had, 0);
	CU_ASSERT(has_str(db, "k", "v3"));
	CU_ASSERT_EQUAL(daxkv_ttl(db, "k", 1, &t), DAXKV_OK);
	CU_ASSERT_EQUAL(t, DAXKV_TTL_NONE);
	/* expire_at on an existing key keeps its value. */
	CU_ASSERT_EQUAL(daxkv_expire_at(db, "k", 1, now + 700000), DAXKV_OK);
	CU_ASSERT(has_str(db, "k", "v3"));
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "k", 1, NULL, 0, &vlen, NULL, &exp), DAXKV_OK);
	CU_ASSERT_EQUAL(exp, now + 700000);
	/* Absent keys, bad arguments. */
	CU_ASSERT_EQUAL(daxkv_ttl(db, "nope", 4, &t), DAXKV_ENOTFOUND);
	CU_ASSERT_EQUAL(daxkv_expire_at(db, "nope", 4, now + 1000), DAXKV_ENOTFOUND);
	CU_ASSERT_EQUAL(daxkv_persist(db, "nope", 4, NULL), DAXKV_ENOTFOUND);
	CU_ASSERT_EQUAL(daxkv_ttl(db, "k", 1, NULL), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_put_expire(db, "k", 1, "v", 1, (uint64_t)INT64_MAX + 1),
			DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "k", 1, "v", 1, UINT64_MAX), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_put_ttl(NULL, "k", 1, "v", 1, 10), DAXKV_EINVAL);
	CU_ASSERT(has_str(db, "k", "v3"));
	CU_ASSERT(check_ok(db));
	dkvt_close_remove(db, path);
}

/* Expired keys are absent to get, get_meta, ttl and iterators; nothing is
 * deleted until the cycle (here daxkv_expire_run) runs. */
static void test_lazy_expiry(void)
{
	char path[256];
	daxkv *db = fresh_hz("ttl-lazy", path, sizeof(path), -1);
	CU_ASSERT_FATAL(db != NULL);
	CU_ASSERT_EQUAL(put_s(db, "a", "keep"), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "b", 1, "short", 5, 30), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "c", 1, "long", 4, 3600 * 1000), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "d-a-key-longer-than-sixteen", 27, "x", 1, 30),
			DAXKV_OK);
	CU_ASSERT(has_str(db, "b", "short"));
	sleep_ms(80);
	size_t vlen;
	int64_t t;
	uint64_t ver;
	CU_ASSERT_EQUAL(daxkv_get(db, "b", 1, NULL, 0, &vlen), DAXKV_ENOTFOUND);
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "b", 1, NULL, 0, &vlen, &ver, NULL), DAXKV_ENOTFOUND);
	CU_ASSERT_EQUAL(daxkv_ttl(db, "b", 1, &t), DAXKV_ENOTFOUND);
	CU_ASSERT(absent(db, "d-a-key-longer-than-sixteen", 27));
	daxkv_iter *it = NULL;
	CU_ASSERT_FATAL(daxkv_iter_new(db, &it) == DAXKV_OK);
	int seen = 0;
	for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it)) {
		size_t kl;
		const char *k = daxkv_iter_key(it, &kl);
		CU_ASSERT(kl == 1 && (k[0] == 'a' || k[0] == 'c'));
		CU_ASSERT_EQUAL(daxkv_iter_expire(it) != 0, k[0] == 'c');
		seen++;
	}
	daxkv_iter_seek_last(it);
	CU_ASSERT(daxkv_iter_valid(it));
	daxkv_iter_seek(it, "b", 1);
	CU_ASSERT(daxkv_iter_valid(it));
	size_t kl;
	CU_ASSERT(daxkv_iter_valid(it) && ((const char *)daxkv_iter_key(it, &kl))[0] == 'c');
	daxkv_iter_free(it);
	CU_ASSERT_EQUAL(seen, 2);
	/* Still counted: reads wrote nothing. */
	daxkv_stats st = stats(db);
	CU_ASSERT_EQUAL(st.keys, 4);
	CU_ASSERT_EQUAL(st.expired_keys, 0);
	uint64_t n = 0;
	CU_ASSERT_EQUAL(daxkv_expire_run(db, &n), DAXKV_OK);
	CU_ASSERT_EQUAL(n, 2);
	st = stats(db);
	CU_ASSERT_EQUAL(st.keys, 2);
	CU_ASSERT_EQUAL(st.expired_keys, 2);
	CU_ASSERT_EQUAL(daxkv_expire_run(db, &n), DAXKV_OK);
	CU_ASSERT_EQUAL(n, 0);
	/* A delete of an expired key removes it and says it was absent. */
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "e", 1, "x", 1, 20), DAXKV_OK);
	sleep_ms(60);
	CU_ASSERT_EQUAL(daxkv_delete(db, "e", 1), DAXKV_ENOTFOUND);
	st = stats(db);
	CU_ASSERT_EQUAL(st.keys, 2);
	CU_ASSERT_EQUAL(st.expired_keys, 3);
	/* A write over an expired key makes it new. */
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "f", 1, "x", 1, 20), DAXKV_OK);
	sleep_ms(60);
	CU_ASSERT_EQUAL(put_s(db, "f", "again"), DAXKV_OK);
	CU_ASSERT(has_str(db, "f", "again"));
	CU_ASSERT_EQUAL(daxkv_expire_run(db, &n), DAXKV_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT(has_str(db, "f", "again"));
	/* A time already past deletes. */
	CU_ASSERT_EQUAL(daxkv_put_expire(db, "a", 1, "x", 1, 1), DAXKV_OK);
	CU_ASSERT(absent(db, "a", 1));
	CU_ASSERT_EQUAL(daxkv_put_expire(db, "zz", 2, "x", 1, 1), DAXKV_OK);
	CU_ASSERT(absent(db, "zz", 2));
	CU_ASSERT_EQUAL(daxkv_expire_at(db, "c", 1, 5), DAXKV_OK);
	CU_ASSERT(absent(db, "c", 1));
	CU_ASSERT(check_ok(db));
	dkvt_close_remove(db, path);
}

/* The expiry time is in the record: across a clean close, a crash-like
 * reopen is test_powerloss's; here reopen and GC's copies. */
static void test_reopen_and_gc(void)
{
	char path[256];
	daxkv *db = fresh_hz("ttl-reopen", path, sizeof(path), -1);
	CU_ASSERT_FATAL(db != NULL);
	uint64_t far = daxkv_now_ms() + 3600 * 1000;
	char k[32], v[200];
	memset(v, 'v', sizeof(v));
	for (int i = 0; i < 2000; i++) {
		snprintf(k, sizeof(k), "ttl%05d", i);
		CU_ASSERT_EQUAL(daxkv_put_expire(db, k, strlen(k), v, sizeof(v),
						 i % 2 ? far + (uint64_t)i : 0), DAXKV_OK);
	}
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "soon", 4, "x", 1, 200), DAXKV_OK);
	/* Overwrite filler so that segments become GC victims, then GC. */
	for (int r = 0; r < 6; r++)
		for (int i = 0; i < 2000; i++) {
			snprintf(k, sizeof(k), "fill%05d", i);
			CU_ASSERT_EQUAL(daxkv_put(db, k, strlen(k), v, sizeof(v)), DAXKV_OK);
		}
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	db = open_hz(path, 0, -1);
	CU_ASSERT_FATAL(db != NULL);
	int rc = daxkv_gc(db);
	CU_ASSERT(rc == DAXKV_OK || rc == DAXKV_ENOSPC);
	CU_ASSERT(stats(db).gc_runs > 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(k, sizeof(k), "ttl%05d", i);
		uint64_t exp = 1;
		size_t vlen;
		CU_ASSERT_EQUAL(daxkv_get_meta(db, k, strlen(k), NULL, 0, &vlen, NULL, &exp),
				DAXKV_OK);
		CU_ASSERT_EQUAL(exp, i % 2 ? far + (uint64_t)i : 0);
	}
	CU_ASSERT_EQUAL(stats(db).ttl_keys, 0); /* no thread, no walk yet */
	sleep_ms(250);
	uint64_t n = 0;
	CU_ASSERT_EQUAL(daxkv_expire_run(db, &n), DAXKV_OK); /* walks first */
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(stats(db).ttl_keys, 1000);
	CU_ASSERT(absent(db, "soon", 4));
	CU_ASSERT(check_ok(db));
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	/* Read-only: expired keys absent, no thread, nothing written. */
	db = dkvt_open_store(path, POOL, SEG, 0, 1);
	CU_ASSERT_FATAL(db != NULL);
	CU_ASSERT(absent(db, "soon", 4));
	CU_ASSERT(has_value(db, "ttl00001", 8, v, sizeof(v)));
	CU_ASSERT_EQUAL(daxkv_expire_run(db, NULL), DAXKV_EREADONLY);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(path);
}

/* The background cycle deletes expired keys on its own. */
static void test_active_cycle(void)
{
	char path[256];
	daxkv *db = fresh_hz("ttl-active", path, sizeof(path), 100);
	CU_ASSERT_FATAL(db != NULL);
	char k[32];
	for (int i = 0; i < 500; i++) {
		snprintf(k, sizeof(k), "k%04d", i);
		int rc = i < 100 ? daxkv_put(db, k, strlen(k), "p", 1)
				 : daxkv_put_ttl(db, k, strlen(k), "t", 1, 20);
		CU_ASSERT_EQUAL(rc, DAXKV_OK);
	}
	/* Liveness, not speed: up to 20 s for what takes ~0.1 s. */
	daxkv_stats st = stats(db);
	for (int w = 0; w < 2000 && st.keys != 100; w++) {
		sleep_ms(10);
		st = stats(db);
	}
	CU_ASSERT_EQUAL(st.keys, 100);
	CU_ASSERT_EQUAL(st.expired_keys, 400);
	CU_ASSERT_EQUAL(st.ttl_keys, 0);
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "k%04d", i);
		CU_ASSERT(has_str(db, k, "p"));
	}
	CU_ASSERT(check_ok(db));
	dkvt_close_remove(db, path);
}

static void test_put_if(void)
{
	char path[256];
	daxkv *db = fresh_hz("ttl-cas", path, sizeof(path), -1);
	CU_ASSERT_FATAL(db != NULL);
	size_t vlen;
	uint64_t v1 = 0, v2 = 0, v3 = 0;
	CU_ASSERT_EQUAL(daxkv_put_if(db, "k", 1, "a", 1, 0, 0), DAXKV_OK); /* absent: 0 */
	CU_ASSERT_EQUAL(daxkv_put_if(db, "k", 1, "b", 1, 0, 0), DAXKV_ECONFLICT);
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "k", 1, NULL, 0, &vlen, &v1, NULL), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put_if(db, "k", 1, "c", 1, 0, v1 + 1000), DAXKV_ECONFLICT);
	CU_ASSERT(has_str(db, "k", "a"));
	CU_ASSERT_EQUAL(daxkv_put_if(db, "k", 1, "c", 1, 0, v1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "k", 1, NULL, 0, &vlen, &v2, NULL), DAXKV_OK);
	CU_ASSERT(v2 != v1);
	CU_ASSERT_EQUAL(daxkv_put_if(db, "k", 1, "d", 1, 0, v1), DAXKV_ECONFLICT);
	CU_ASSERT(has_str(db, "k", "c"));
	CU_ASSERT_EQUAL(daxkv_put_if(db, "new", 3, "x", 1, 0, v2), DAXKV_ECONFLICT);
	CU_ASSERT(absent(db, "new", 3));
	/* delete_if */
	CU_ASSERT_EQUAL(daxkv_delete_if(db, "k", 1, v1), DAXKV_ECONFLICT);
	CU_ASSERT_EQUAL(daxkv_delete_if(db, "nope", 4, 0), DAXKV_ENOTFOUND);
	CU_ASSERT_EQUAL(daxkv_delete_if(db, "k", 1, v2), DAXKV_OK);
	CU_ASSERT(absent(db, "k", 1));
	CU_ASSERT_EQUAL(daxkv_delete_if(db, "k", 1, v2), DAXKV_ENOTFOUND);
	/* An expired key is absent: version 0 writes over it. */
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "e", 1, "x", 1, 20), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "e", 1, NULL, 0, &vlen, &v3, NULL), DAXKV_OK);
	sleep_ms(60);
	CU_ASSERT_EQUAL(daxkv_put_if(db, "e", 1, "y", 1, 0, v3), DAXKV_ECONFLICT);
	CU_ASSERT_EQUAL(daxkv_delete_if(db, "e", 1, v3), DAXKV_ENOTFOUND);
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "e", 1, "x", 1, 20), DAXKV_OK);
	sleep_ms(60);
	CU_ASSERT_EQUAL(daxkv_put_if(db, "e", 1, "y", 1, 0, 0), DAXKV_OK);
	CU_ASSERT(has_str(db, "e", "y"));
	/* Versions survive GC moves and reopen. */
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "e", 1, NULL, 0, &vlen, &v3, NULL), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	db = open_hz(path, 0, -1);
	CU_ASSERT_FATAL(db != NULL);
	CU_ASSERT_EQUAL(daxkv_put_if(db, "e", 1, "z", 1, 0, v3), DAXKV_OK);
	CU_ASSERT(has_str(db, "e", "z"));
	CU_ASSERT(check_ok(db));
	dkvt_close_remove(db, path);
}

static void test_batch_expect(void)
{
	char path[256];
	daxkv *db = fresh_hz("ttl-batch", path, sizeof(path), -1);
	CU_ASSERT_FATAL(db != NULL);
	daxkv_batch *b = NULL;
	CU_ASSERT_FATAL(daxkv_batch_new(&b) == DAXKV_OK);
	/* MSETNX: every key must be absent. */
	CU_ASSERT_EQUAL(daxkv_batch_expect(b, "x", 1, 0), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_expect(b, "y", 1, 0), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "x", 1, "1", 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put_expire(b, "y", 1, "2", 1, daxkv_now_ms() + 100000),
			DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_OK);
	CU_ASSERT(has_str(db, "x", "1"));
	int64_t t;
	CU_ASSERT_EQUAL(daxkv_ttl(db, "y", 1, &t), DAXKV_OK);
	CU_ASSERT(t > 90000);
	daxkv_batch_clear(b);
	CU_ASSERT_EQUAL(daxkv_batch_expect(b, "z", 1, 0), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_expect(b, "y", 1, 0), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "z", 1, "3", 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "y", 1, "4", 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_ECONFLICT);
	CU_ASSERT(absent(db, "z", 1));
	CU_ASSERT(has_str(db, "y", "2"));
	/* RENAME: the source's version holds, then the move is atomic. */
	size_t vlen;
	uint64_t ver;
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "x", 1, NULL, 0, &vlen, &ver, NULL), DAXKV_OK);
	daxkv_batch_clear(b);
	CU_ASSERT_EQUAL(daxkv_batch_expect(b, "x", 1, ver), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "w", 1, "1", 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_delete(b, "x", 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_OK);
	CU_ASSERT(absent(db, "x", 1));
	CU_ASSERT(has_str(db, "w", "1"));
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_ECONFLICT); /* x is gone now */
	/* Conditions alone. */
	daxkv_batch_clear(b);
	CU_ASSERT_EQUAL(daxkv_batch_expect(b, "w", 1, 0), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_ECONFLICT);
	/* A past expiry time in a batch deletes. */
	daxkv_batch_clear(b);
	CU_ASSERT_EQUAL(daxkv_batch_put_expire(b, "w", 1, "x", 1, 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_OK);
	CU_ASSERT(absent(db, "w", 1));
	CU_ASSERT_EQUAL(daxkv_batch_expect(NULL, "w", 1, 0), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_batch_expect(b, "", 0, 0), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_batch_put_expire(b, "w", 1, "x", 1, UINT64_MAX), DAXKV_EINVAL);
	daxkv_batch_free(b);
	CU_ASSERT(check_ok(db));
	dkvt_close_remove(db, path);
}

/* ---- daxkv_update ---- */

struct upd {
	char buf[32];
	int mode; /* 0 incr, 1 keep, 2 delete, 3 fail, 4 big, 5 expire now */
	int calls;
	int saw_exists;
	uint64_t saw_expire;
};

static int upd_fn(void *ctx, const void *old, size_t old_len, int exists, const void **val,
		  size_t *vlen, uint64_t *expire_at_ms)
{
	struct upd *u = ctx;
	static char big[70000];
	u->calls++;
	u->saw_exists = exists;
	u->saw_expire = *expire_at_ms;
	switch (u->mode) {
	case 1: return DAXKV_UPDATE_KEEP;
	case 2: return DAXKV_UPDATE_DELETE;
	case 3: return DAXKV_EINVAL;
	case 4:
		*val = big;
		*vlen = 2 * DKVT_MIB; /* past the 1 MiB segments' record limit */
		return DAXKV_UPDATE_PUT;
	case 5:
		*expire_at_ms = 1;
		return DAXKV_UPDATE_PUT;
	default: break;
	}
	long long v = 0;
	if (exists) {
		char tmp[32];
		size_t n = old_len < sizeof(tmp) - 1 ? old_len : sizeof(tmp) - 1;
		memcpy(tmp, old, n);
		tmp[n] = 0;
		v = atoll(tmp);
	}
	*vlen = (size_t)snprintf(u->buf, sizeof(u->buf), "%lld", v + 1);
	*val = u->buf;
	return DAXKV_UPDATE_PUT;
}

static void test_update(void)
{
	char path[256];
	daxkv *db = fresh_hz("ttl-update", path, sizeof(path), -1);
	CU_ASSERT_FATAL(db != NULL);
	struct upd u = { .mode = 0 };
	CU_ASSERT_EQUAL(daxkv_update(db, "n", 1, upd_fn, &u), DAXKV_OK);
	CU_ASSERT_EQUAL(u.saw_exists, 0);
	CU_ASSERT(has_str(db, "n", "1"));
	CU_ASSERT_EQUAL(daxkv_update(db, "n", 1, upd_fn, &u), DAXKV_OK);
	CU_ASSERT(has_str(db, "n", "2"));
	CU_ASSERT_EQUAL(u.saw_exists, 1);
	/* The expiry is kept unless the function changes it. */
	uint64_t far = daxkv_now_ms() + 100000, exp = 0;
	size_t vlen;
	CU_ASSERT_EQUAL(daxkv_put_expire(db, "t", 1, "41", 2, far), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_update(db, "t", 1, upd_fn, &u), DAXKV_OK);
	CU_ASSERT_EQUAL(u.saw_expire, far);
	CU_ASSERT(has_str(db, "t", "42"));
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "t", 1, NULL, 0, &vlen, NULL, &exp), DAXKV_OK);
	CU_ASSERT_EQUAL(exp, far);
	/* keep, delete, a status, too big, expired as written */
	u.mode = 1;
	CU_ASSERT_EQUAL(daxkv_update(db, "n", 1, upd_fn, &u), DAXKV_OK);
	CU_ASSERT(has_str(db, "n", "2"));
	u.mode = 3;
	CU_ASSERT_EQUAL(daxkv_update(db, "n", 1, upd_fn, &u), DAXKV_EINVAL);
	CU_ASSERT(has_str(db, "n", "2"));
	u.mode = 4;
	CU_ASSERT_EQUAL(daxkv_update(db, "n", 1, upd_fn, &u), DAXKV_ETOOBIG);
	CU_ASSERT(has_str(db, "n", "2"));
	u.mode = 2;
	CU_ASSERT_EQUAL(daxkv_update(db, "n", 1, upd_fn, &u), DAXKV_OK);
	CU_ASSERT(absent(db, "n", 1));
	CU_ASSERT_EQUAL(daxkv_update(db, "n", 1, upd_fn, &u), DAXKV_OK); /* absent: no-op */
	CU_ASSERT(absent(db, "n", 1));
	u.mode = 5;
	CU_ASSERT_EQUAL(daxkv_update(db, "t", 1, upd_fn, &u), DAXKV_OK);
	CU_ASSERT(absent(db, "t", 1));
	/* An expired key is absent to the function. */
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "e", 1, "7", 1, 20), DAXKV_OK);
	sleep_ms(60);
	u.mode = 0;
	CU_ASSERT_EQUAL(daxkv_update(db, "e", 1, upd_fn, &u), DAXKV_OK);
	CU_ASSERT_EQUAL(u.saw_exists, 0);
	CU_ASSERT(has_str(db, "e", "1"));
	CU_ASSERT_EQUAL(daxkv_update(db, "e", 1, NULL, &u), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_update(NULL, "e", 1, upd_fn, &u), DAXKV_EINVAL);
	CU_ASSERT(check_ok(db));
	dkvt_close_remove(db, path);
}

/* ---- concurrent read-modify-write ---- */

#define INCR_THREADS 8
#define INCR_EACH 1500

struct incr_arg {
	daxkv *db;
	int id;
	int by_update; /* daxkv_update instead of get_meta + put_if */
	uint64_t conflicts;
	int err;
};

static void *incr_main(void *p)
{
	struct incr_arg *a = p;
	for (int i = 0; i < INCR_EACH && !a->err; i++) {
		/* one shared counter, and one of four that several threads share */
		const char *keys[2] = { "counter", NULL };
		char k2[16];
		snprintf(k2, sizeof(k2), "c%d", a->id % 4);
		keys[1] = k2;
		for (int j = 0; j < 2; j++) {
			if (a->by_update) {
				struct upd u = { .mode = 0 };
				int rc = daxkv_update(a->db, keys[j], strlen(keys[j]), upd_fn, &u);
				if (rc != DAXKV_OK)
					a->err = rc;
				a->conflicts += (uint64_t)(u.calls - 1);
				continue;
			}
			for (;;) {
				char buf[32];
				size_t vlen = 0;
				uint64_t ver = 0;
				long long v = 0;
				int rc = daxkv_get_meta(a->db, keys[j], strlen(keys[j]), buf,
							sizeof(buf) - 1, &vlen, &ver, NULL);
				if (rc == DAXKV_OK) {
					buf[vlen < sizeof(buf) - 1 ? vlen : sizeof(buf) - 1] = 0;
					v = atoll(buf);
				} else if (rc != DAXKV_ENOTFOUND) {
					a->err = rc;
					break;
				}
				int n = snprintf(buf, sizeof(buf), "%lld", v + 1);
				rc = daxkv_put_if(a->db, keys[j], strlen(keys[j]), buf, (size_t)n, 0,
						  rc == DAXKV_OK ? ver : 0);
				if (rc == DAXKV_OK)
					break;
				if (rc != DAXKV_ECONFLICT) {
					a->err = rc;
					break;
				}
				a->conflicts++;
			}
		}
	}
	return NULL;
}

static long long get_ll(daxkv *db, const char *k)
{
	char buf[32];
	size_t vlen = 0;
	if (daxkv_get(db, k, strlen(k), buf, sizeof(buf) - 1, &vlen) != DAXKV_OK)
		return -1;
	buf[vlen] = 0;
	return atoll(buf);
}

static void concurrent_incr(int by_update)
{
	char path[256];
	daxkv *db = fresh_hz("ttl-incr", path, sizeof(path), 0);
	CU_ASSERT_FATAL(db != NULL);
	pthread_t th[INCR_THREADS];
	struct incr_arg a[INCR_THREADS];
	for (int i = 0; i < INCR_THREADS; i++) {
		a[i] = (struct incr_arg){ .db = db, .id = i, .by_update = by_update };
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, incr_main, &a[i]) == 0);
	}
	uint64_t conflicts = 0;
	for (int i = 0; i < INCR_THREADS; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(a[i].err, 0);
		conflicts += a[i].conflicts;
	}
	CU_ASSERT_EQUAL(get_ll(db, "counter"), (long long)INCR_THREADS * INCR_EACH);
	long long sum = 0;
	for (int c = 0; c < 4; c++) {
		char k[8];
		snprintf(k, sizeof(k), "c%d", c);
		CU_ASSERT_EQUAL(get_ll(db, k), (long long)(INCR_THREADS / 4) * INCR_EACH);
		sum += get_ll(db, k);
	}
	CU_ASSERT_EQUAL(sum, (long long)INCR_THREADS * INCR_EACH);
	printf("(%llu %s) ", (unsigned long long)conflicts,
	       by_update ? "repeated calls" : "conflicts retried");
	CU_ASSERT(check_ok(db));
	dkvt_close_remove(db, path);
}

static void test_concurrent_incr(void)
{
	concurrent_incr(0);
}

static void test_concurrent_update(void)
{
	concurrent_incr(1);
}

static const struct dkvt_test ttl_tests[] = {
	{ "put_ttl_basic", test_put_ttl_basic },
	{ "lazy_expiry", test_lazy_expiry },
	{ "reopen_and_gc", test_reopen_and_gc },
	{ "active_cycle", test_active_cycle },
	{ NULL, NULL },
};
static const struct dkvt_test cas_tests[] = {
	{ "put_if", test_put_if },
	{ "batch_expect", test_batch_expect },
	{ "update", test_update },
	{ "concurrent_incr", test_concurrent_incr },
	{ "concurrent_update", test_concurrent_update },
	{ NULL, NULL },
};
static const struct dkvt_suite suites[] = {
	{ "ttl", ttl_tests },
	{ "cas", cas_tests },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
