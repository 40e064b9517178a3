/*
 * test_store.c -- the public API on a populated store: a full pool (ENOSPC,
 * then deletes + GC make room), atomic batches, iterators and snapshots
 * (also across GC), stats, and a corrupted record on media.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "common/apitest.h"

/* ---- suite: full pool ------------------------------------------------------------ */

static size_t full_key(char *k, const char *pfx, uint32_t i)
{
	return (size_t)snprintf(k, 32, "%s-%06u", pfx, i);
}

static void test_full_pool(void)
{
	char path[256], k[32];
	static uint8_t v[1024];
	daxkv *db = fresh("api-full", path, sizeof(path), POOL16, DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	daxkv_stats st0;
	CU_ASSERT_EQUAL_FATAL(daxkv_stats_get(db, &st0), DAXKV_OK);
	uint64_t nseg = st0.segments_used + st0.segments_free;

	uint32_t n = 0;
	int rc = DAXKV_OK;
	for (uint32_t i = 0; i < 200000; i++) {
		dkvt_vmake(v, sizeof(v), i, 0, 1);
		rc = daxkv_put(db, k, full_key(k, "full", i), v, sizeof(v));
		if (rc != DAXKV_OK)
			break;
		n++;
	}
	printf("\n  full pool: %u puts of 1 KiB acknowledged before %s\n", n, daxkv_strerror(rc));
	CU_ASSERT_EQUAL_FATAL(rc, DAXKV_ENOSPC);
	CU_ASSERT(errmsg_set());
	CU_ASSERT(n > 8000); /* at least half of a 16 MiB pool holds records */
	CU_ASSERT_EQUAL(stat_keys(db), n);
	dkvt_vmake(v, sizeof(v), n, 0, 1);
	CU_ASSERT_EQUAL(daxkv_put(db, k, full_key(k, "full", n), v, sizeof(v)), DAXKV_ENOSPC);
	CU_ASSERT(absent(db, k, strlen(k)));

	/* every acknowledged key reads back */
	unsigned bad = 0;
	for (uint32_t i = 0; i < n; i++) {
		dkvt_vmake(v, sizeof(v), i, 0, 1);
		bad += !has_value(db, k, full_key(k, "full", i), v, sizeof(v));
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(check_ok(db));

	/* deletes work in a full pool; after the first 100, one that needs
	 * space may need a GC pass first */
	unsigned gc_for_delete = 0, del_bad = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i % 10 == 0)
			continue;
		size_t kl = full_key(k, "full", i);
		rc = daxkv_delete(db, k, kl);
		if (rc == DAXKV_ENOSPC && i > 110) {
			gc_for_delete++;
			CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
			rc = daxkv_delete(db, k, kl);
		}
		if (rc != DAXKV_OK && del_bad++ < 5)
			fprintf(stderr, "delete %u in full pool: %s\n", i, daxkv_strerror(rc));
	}
	CU_ASSERT_EQUAL(del_bad, 0);
	uint32_t kept = (n + 9) / 10;
	CU_ASSERT_EQUAL(stat_keys(db), kept);

	daxkv_stats before, after;
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &before), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &after), DAXKV_OK);
	printf("  full pool: gc passes needed by deletes %u; segments free %" PRIu64 " -> %" PRIu64
	       " of %" PRIu64 "\n",
	       gc_for_delete, before.segments_free, after.segments_free, nseg);
	CU_ASSERT(after.segments_free > before.segments_free);
	CU_ASSERT(after.segments_free >= nseg / 2);
	CU_ASSERT_EQUAL(after.segments_used + after.segments_free, nseg);
	CU_ASSERT(after.dead_bytes < before.dead_bytes);
	CU_ASSERT(after.gc_runs > before.gc_runs);

	/* room again: half as many new puts as the pool first took */
	unsigned put_bad = 0;
	for (uint32_t i = 0; i < n / 2; i++) {
		dkvt_vmake(v, sizeof(v), i, 1, 2);
		size_t kl = full_key(k, "new", i);
		rc = daxkv_put(db, k, kl, v, sizeof(v));
		if (rc != DAXKV_OK && put_bad++ < 5)
			fprintf(stderr, "put %u after gc: %s\n", i, daxkv_strerror(rc));
	}
	CU_ASSERT_EQUAL(put_bad, 0);

	for (int round = 0; round < 2; round++) {
		bad = 0;
		for (uint32_t i = 0; i < n; i++) {
			size_t kl = full_key(k, "full", i);
			if (i % 10) {
				bad += !absent(db, k, kl);
				continue;
			}
			dkvt_vmake(v, sizeof(v), i, 0, 1);
			bad += !has_value(db, k, kl, v, sizeof(v));
		}
		for (uint32_t i = 0; i < n / 2; i++) {
			dkvt_vmake(v, sizeof(v), i, 1, 2);
			bad += !has_value(db, k, full_key(k, "new", i), v, sizeof(v));
		}
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT_EQUAL(stat_keys(db), kept + n / 2);
		CU_ASSERT(check_ok(db));
		CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
		if (round == 0) {
			db = open_path(path, 0, 0, 0, 0);
			CU_ASSERT_PTR_NOT_NULL_FATAL(db);
		}
	}
	dkvt_remove(path);
}

/* ---- suite: batch ------------------------------------------------------------------ */

static void test_batch_apply(void)
{
	char path[256];
	daxkv *db = fresh("api-batch", path, sizeof(path), POOL16, DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(daxkv_batch_new(NULL), DAXKV_EINVAL);
	daxkv_batch *b = (daxkv_batch *)(uintptr_t)0x99;
	CU_ASSERT_EQUAL_FATAL(daxkv_batch_new(&b), DAXKV_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_EQUAL(b, (daxkv_batch *)(uintptr_t)0x99);

	CU_ASSERT_EQUAL(put_s(db, "pre", "existing"), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "a", 1, "a1", 2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "b", 1, "b1", 2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_delete(b, "a", 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "c", 1, "c2", 2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "b", 1, "b3", 2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_delete(b, "zz", 2), DAXKV_OK); /* absent: not an error */
	CU_ASSERT_EQUAL(daxkv_batch_delete(b, "pre", 3), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "pre", 3, "again", 5), DAXKV_OK);
	/* nothing is applied before daxkv_write */
	CU_ASSERT(absent(db, "b", 1));
	CU_ASSERT(has_str(db, "pre", "existing"));
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_OK);
	CU_ASSERT(absent(db, "a", 1));
	CU_ASSERT(has_str(db, "b", "b3"));
	CU_ASSERT(has_str(db, "c", "c2"));
	CU_ASSERT(absent(db, "zz", 2));
	CU_ASSERT(has_str(db, "pre", "again"));
	CU_ASSERT_EQUAL(stat_keys(db), 3);

	/* cleared: only what comes after applies */
	daxkv_batch_clear(b);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "d", 1, "d4", 2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_OK);
	CU_ASSERT(has_str(db, "d", "d4"));
	CU_ASSERT(has_str(db, "b", "b3"));
	CU_ASSERT(has_str(db, "c", "c2"));
	CU_ASSERT_EQUAL(stat_keys(db), 4);

	/* a big batch */
	daxkv_batch_clear(b);
	char k[DKVT_KEYBUF];
	uint8_t v[256];
	for (uint32_t i = 0; i < 500; i++) {
		dkvt_vmake(v, DKVT_VHDR + i % 200, i, 0, 5);
		CU_ASSERT_EQUAL(daxkv_batch_put(b, k, dkvt_key(i, k), v, DKVT_VHDR + i % 200), DAXKV_OK);
	}
	for (uint32_t i = 0; i < 500; i += 5)
		CU_ASSERT_EQUAL(daxkv_batch_delete(b, k, dkvt_key(i, k)), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_OK);
	daxkv_batch_free(b);
	daxkv_batch_free(NULL);
	CU_ASSERT_EQUAL(stat_keys(db), 4 + 400);

	for (int round = 0; round < 2; round++) {
		unsigned bad = 0;
		for (uint32_t i = 0; i < 500; i++) {
			size_t kl = dkvt_key(i, k);
			if (i % 5 == 0) {
				bad += !absent(db, k, kl);
				continue;
			}
			dkvt_vmake(v, DKVT_VHDR + i % 200, i, 0, 5);
			bad += !has_value(db, k, kl, v, DKVT_VHDR + i % 200);
		}
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT(has_str(db, "b", "b3"));
		CU_ASSERT(absent(db, "a", 1));
		CU_ASSERT(check_ok(db));
		CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
		db = round == 0 ? open_path(path, 0, 0, 0, 0) : NULL;
		if (round == 0)
			CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	}
	dkvt_remove(path);
}

static void test_batch_invalid(void)
{
	char path[256];
	daxkv *db = fresh("api-batchbad", path, sizeof(path), POOL16, DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	daxkv_batch *b = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_batch_new(&b), DAXKV_OK);
	uint8_t *key = calloc(1, DAXKV_KEY_MAX + 1);
	size_t vbig = (size_t)DAXKV_VALUE_MAX + 1;
	uint8_t *val = big_buffer(vbig);
	CU_ASSERT_PTR_NOT_NULL_FATAL(key);
	CU_ASSERT_PTR_NOT_NULL_FATAL(val);

	CU_ASSERT_EQUAL(daxkv_batch_put(b, "x", 1, "x", 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_batch_put(NULL, "k", 1, "v", 1), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, NULL, 1, "v", 1), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "k", 0, "v", 1), DAXKV_EINVAL);
	CU_ASSERT(errmsg_set());
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "k", 1, NULL, 4), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, key, DAXKV_KEY_MAX + 1, "v", 1), DAXKV_ETOOBIG);
	CU_ASSERT(errmsg_set());
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "k", 1, val, vbig), DAXKV_ETOOBIG);
	CU_ASSERT_EQUAL(daxkv_batch_delete(NULL, "k", 1), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_batch_delete(b, NULL, 1), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_batch_delete(b, "k", 0), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_batch_delete(b, key, DAXKV_KEY_MAX + 1), DAXKV_ETOOBIG);
	CU_ASSERT_EQUAL(daxkv_batch_put(b, "y", 1, "y", 1), DAXKV_OK);

	CU_ASSERT_EQUAL(daxkv_write(NULL, b), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_write(db, NULL), DAXKV_EINVAL);
	CU_ASSERT(absent(db, "x", 1));
	/* the rejected operations were not added; the good ones stay */
	CU_ASSERT_EQUAL(daxkv_write(db, b), DAXKV_OK);
	CU_ASSERT(has_str(db, "x", "x"));
	CU_ASSERT(has_str(db, "y", "y"));
	CU_ASSERT(absent(db, "k", 1));
	CU_ASSERT_EQUAL(stat_keys(db), 2);
	daxkv_batch_free(b);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	munmap(val, vbig);
	free(key);
	dkvt_remove(path);
}

/* ---- suite: iter -------------------------------------------------------------------- */

struct ent {
	uint8_t k[16];
	size_t klen;
	char v[24];
	size_t vlen;
};

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	return dkvt_keycmp(x->k, x->klen, y->k, y->klen);
}

/* n random unique keys over a small alphabet (shared prefixes, NUL and 0xff
 * bytes), plus a prefix chain; sorted in the API's order. */
static size_t make_keys(struct ent *e, size_t n, uint64_t seed)
{
	static const uint8_t alpha[] = {0x00, 0x01, 'a', 'b', 0x7f, 0x80, 0xfe, 0xff};
	struct dkvt_rng r;
	dkvt_rng_seed(&r, seed);
	const char *chain[] = {"p", "p\0", "pa", "pab", "pb"};
	const size_t chainlen[] = {1, 2, 2, 3, 2};
	size_t m = 0;
	for (size_t c = 0; c < 5; c++, m++) {
		memcpy(e[m].k, chain[c], chainlen[c]);
		e[m].klen = chainlen[c];
	}
	while (m < n) {
		struct ent *x = &e[m];
		x->klen = 1 + dkvt_below(&r, 12);
		for (size_t i = 0; i < x->klen; i++)
			x->k[i] = alpha[dkvt_below(&r, sizeof(alpha))];
		int dup = 0;
		for (size_t j = 0; j < m && !dup; j++)
			dup = e[j].klen == x->klen && memcmp(e[j].k, x->k, x->klen) == 0;
		if (!dup)
			m++;
	}
	for (size_t i = 0; i < n; i++)
		e[i].vlen = (size_t)snprintf(e[i].v, sizeof(e[i].v), "v%zu-%u", i,
					     (unsigned)(seed & 0xffff));
	qsort(e, n, sizeof(*e), ent_cmp);
	return n;
}

/* Mismatches between the iterator at its current position, walking in dir
 * (+1 next, -1 prev), and e[from..] in that direction, until the end. */
static unsigned walk_compare(daxkv_iter *it, const struct ent *e, size_t n, long from, int dir)
{
	unsigned bad = 0;
	long i = from;
	for (; daxkv_iter_valid(it); i += dir) {
		if (i < 0 || i >= (long)n) {
			bad++;
			break;
		}
		size_t kl = 0, vl = 0;
		const void *k = daxkv_iter_key(it, &kl);
		const void *v = daxkv_iter_value(it, &vl);
		if (k == NULL || v == NULL || kl != e[i].klen || memcmp(k, e[i].k, kl) != 0 ||
		    vl != e[i].vlen || memcmp(v, e[i].v, vl) != 0)
			bad++;
		if (dir > 0)
			daxkv_iter_next(it);
		else
			daxkv_iter_prev(it);
	}
	if (i != (dir > 0 ? (long)n : -1))
		bad++; /* stopped early */
	if (daxkv_iter_status(it) != DAXKV_OK)
		bad++;
	return bad;
}

static int put_ents(daxkv *db, const struct ent *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (daxkv_put(db, e[i].k, e[i].klen, e[i].v, e[i].vlen) != DAXKV_OK)
			return -1;
	return 0;
}

static void test_iter_empty(void)
{
	char path[256];
	daxkv *db = fresh("api-iterempty", path, sizeof(path), POOL16, DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	daxkv_iter *it = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &it), DAXKV_OK);
	daxkv_iter_seek_first(it);
	CU_ASSERT_FALSE(daxkv_iter_valid(it));
	daxkv_iter_seek_last(it);
	CU_ASSERT_FALSE(daxkv_iter_valid(it));
	daxkv_iter_seek(it, "a", 1);
	CU_ASSERT_FALSE(daxkv_iter_valid(it));
	CU_ASSERT_EQUAL(daxkv_iter_status(it), DAXKV_OK);
	daxkv_iter_free(it);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(path);
}

static void test_iter_order(void)
{
	enum { N = 400 };
	static struct ent e[N];
	char path[256];
	make_keys(e, N, 1234);
	daxkv *db = fresh("api-iter", path, sizeof(path), POOL16, DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* insert in a shuffled order */
	static struct ent sh[N];
	memcpy(sh, e, sizeof(e));
	struct dkvt_rng r;
	dkvt_rng_seed(&r, 99);
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = dkvt_below(&r, i + 1);
		struct ent t = sh[i];
		sh[i] = sh[j];
		sh[j] = t;
	}
	CU_ASSERT_EQUAL_FATAL(put_ents(db, sh, N), 0);

	for (int round = 0; round < 2; round++) {
		daxkv_iter *it = NULL;
		CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &it), DAXKV_OK);
		daxkv_iter_seek_first(it);
		CU_ASSERT_EQUAL(walk_compare(it, e, N, 0, +1), 0);
		daxkv_iter_seek_last(it);
		CU_ASSERT_EQUAL(walk_compare(it, e, N, N - 1, -1), 0);

		/* seek to each present key: exact; then both directions */
		unsigned bad = 0;
		for (size_t i = 0; i < N; i += 7) {
			daxkv_iter_seek(it, e[i].k, e[i].klen);
			size_t kl;
			const void *k = daxkv_iter_key(it, &kl);
			bad += !daxkv_iter_valid(it) || kl != e[i].klen || memcmp(k, e[i].k, kl) != 0;
			if (i % 3 == 0)
				bad += walk_compare(it, e, N, (long)i, -1);
			else if (i % 3 == 1)
				bad += walk_compare(it, e, N, (long)i, +1);
		}
		CU_ASSERT_EQUAL(bad, 0);

		/* seek to missing keys: first key >= target, prev gives the one before */
		bad = 0;
		for (int t = 0; t < 300; t++) {
			uint8_t q[16];
			size_t ql = 1 + dkvt_below(&r, 13);
			for (size_t b = 0; b < ql; b++)
				q[b] = (uint8_t)dkvt_below(&r, 256);
			if (t % 2) { /* a present key, one byte longer or with a changed tail */
				const struct ent *x = &e[dkvt_below(&r, N)];
				memcpy(q, x->k, x->klen);
				ql = x->klen < 15 ? x->klen + 1 : x->klen;
				q[ql - 1] = (uint8_t)dkvt_below(&r, 256);
			}
			size_t lo = 0, hi = N; /* first e >= q */
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (dkvt_keycmp(e[mid].k, e[mid].klen, q, ql) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			daxkv_iter_seek(it, q, ql);
			if (lo == N) {
				bad += daxkv_iter_valid(it) != 0;
				continue;
			}
			size_t kl;
			const void *k = daxkv_iter_key(it, &kl);
			if (!daxkv_iter_valid(it) || kl != e[lo].klen || memcmp(k, e[lo].k, kl) != 0) {
				bad++;
				continue;
			}
			daxkv_iter_prev(it);
			if (lo == 0) {
				bad += daxkv_iter_valid(it) != 0;
			} else {
				k = daxkv_iter_key(it, &kl);
				bad += !daxkv_iter_valid(it) || kl != e[lo - 1].klen ||
				       memcmp(k, e[lo - 1].k, kl) != 0;
			}
		}
		CU_ASSERT_EQUAL(bad, 0);

		/* past the end; before the start */
		daxkv_iter_seek(it, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 13);
		CU_ASSERT_FALSE(daxkv_iter_valid(it));
		daxkv_iter_seek(it, "\x00", 1);
		CU_ASSERT_TRUE(daxkv_iter_valid(it));
		size_t kl;
		const void *k = daxkv_iter_key(it, &kl);
		CU_ASSERT(kl == e[0].klen && memcmp(k, e[0].k, kl) == 0);
		daxkv_iter_prev(it);
		CU_ASSERT_FALSE(daxkv_iter_valid(it));
		daxkv_iter_seek_last(it);
		daxkv_iter_next(it);
		CU_ASSERT_FALSE(daxkv_iter_valid(it));
		daxkv_iter_free(it);

		CU_ASSERT(check_ok(db));
		CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
		db = open_path(path, 0, 0, 0, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	}
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(path);
}

static void test_iter_snapshot(void)
{
	enum { N = 200 };
	static struct ent e[N], now[N + 40];
	char path[256];
	make_keys(e, N, 777);
	daxkv *db = fresh("api-snap", path, sizeof(path), POOL16, DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(put_ents(db, e, N), 0);

	daxkv_iter *old = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &old), DAXKV_OK);

	/* after the snapshot: overwrite the even keys, delete every third odd
	 * one, add 40 new keys (between and around the old ones) */
	size_t m = 0;
	unsigned wbad = 0;
	for (size_t i = 0; i < N; i++) {
		now[m] = e[i];
		if (i % 2 == 0) {
			now[m].vlen = (size_t)snprintf(now[m].v, sizeof(now[m].v), "new%zu", i);
			wbad += daxkv_put(db, now[m].k, now[m].klen, now[m].v, now[m].vlen) != DAXKV_OK;
		} else if (i % 3 == 0) {
			wbad += daxkv_delete(db, e[i].k, e[i].klen) != DAXKV_OK;
			continue;
		}
		m++;
	}
	for (int j = 0; j < 40; j++) {
		struct ent x;
		memset(&x, 0, sizeof(x));
		x.klen = (size_t)snprintf((char *)x.k, sizeof(x.k), "%c+new%02d", "\x01" "ab\x7f"[j % 4], j);
		x.vlen = (size_t)snprintf(x.v, sizeof(x.v), "added%d", j);
		wbad += daxkv_put(db, x.k, x.klen, x.v, x.vlen) != DAXKV_OK;
		now[m++] = x;
	}
	CU_ASSERT_EQUAL(wbad, 0);
	qsort(now, m, sizeof(now[0]), ent_cmp);

	/* the old iterator still shows the old store, both directions and seeks */
	daxkv_iter_seek_first(old);
	CU_ASSERT_EQUAL(walk_compare(old, e, N, 0, +1), 0);
	daxkv_iter_seek_last(old);
	CU_ASSERT_EQUAL(walk_compare(old, e, N, N - 1, -1), 0);
	daxkv_iter_seek(old, e[N / 2].k, e[N / 2].klen);
	CU_ASSERT_EQUAL(walk_compare(old, e, N, N / 2, +1), 0);
	daxkv_iter_seek(old, "a+new01", 7); /* a key added later: not in the snapshot */
	size_t lo = 0;
	while (lo < N && dkvt_keycmp(e[lo].k, e[lo].klen, "a+new01", 7) < 0)
		lo++;
	CU_ASSERT_EQUAL(walk_compare(old, e, N, (long)lo, +1), 0);

	/* a new iterator shows the new store */
	daxkv_iter *cur = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &cur), DAXKV_OK);
	daxkv_iter_seek_first(cur);
	CU_ASSERT_EQUAL(walk_compare(cur, now, m, 0, +1), 0);
	daxkv_iter_seek_last(cur);
	CU_ASSERT_EQUAL(walk_compare(cur, now, m, (long)m - 1, -1), 0);
	daxkv_iter_free(cur);
	daxkv_iter_free(old);
	CU_ASSERT_EQUAL(stat_keys(db), m);
	CU_ASSERT(check_ok(db));
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(path);
}

/* An iterator keeps its snapshot while GC compacts and reuses segments. */
static void test_iter_snapshot_gc(void)
{
	enum { N = 200, VL = 2048 };
	char path[256], k[DKVT_KEYBUF];
	static uint8_t v[VL];
	daxkv *db = fresh("api-snapgc", path, sizeof(path), POOL16, DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	unsigned wbad = 0;
	for (uint32_t i = 0; i < N; i++) {
		dkvt_vmake(v, VL, i, 0, 1);
		wbad += daxkv_put(db, k, dkvt_key(i, k), v, VL) != DAXKV_OK;
	}
	daxkv_iter *old = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &old), DAXKV_OK);
	for (uint64_t ver = 2; ver <= 12; ver++) { /* ~4.4 MiB more through a 16 MiB pool */
		for (uint32_t i = 0; i < N; i++) {
			dkvt_vmake(v, VL, i, 0, ver);
			int rc = daxkv_put(db, k, dkvt_key(i, k), v, VL);
			if (rc != DAXKV_OK && wbad++ < 3)
				fprintf(stderr, "put ver %" PRIu64 ": %s\n", ver, daxkv_strerror(rc));
		}
		CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0);
		int rc = daxkv_gc(db);
		CU_ASSERT(rc == DAXKV_OK);
	}
	CU_ASSERT_EQUAL(wbad, 0);

	/* the old iterator: every key at version 1, whole */
	unsigned n = 0, bad = 0;
	for (daxkv_iter_seek_first(old); daxkv_iter_valid(old); daxkv_iter_next(old), n++) {
		size_t kl, vl;
		const void *kp = daxkv_iter_key(old, &kl);
		const void *vp = daxkv_iter_value(old, &vl);
		uint32_t id;
		uint64_t ver;
		if (dkvt_vcheck(vp, vl, &id, NULL, &ver) != 0 || ver != 1 ||
		    (long)id != dkvt_key_id(kp, kl))
			bad++;
	}
	CU_ASSERT_EQUAL(n, N);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(daxkv_iter_status(old), DAXKV_OK);
	daxkv_iter_free(old);

	daxkv_stats st;
	CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT(st.gc_runs > 0);
	bad = 0;
	for (uint32_t i = 0; i < N; i++) {
		dkvt_vmake(v, VL, i, 0, 12);
		bad += !has_value(db, k, dkvt_key(i, k), v, VL);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(check_ok(db));
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(path);
}

/* ---- suite: stats ---------------------------------------------------------------------- */

static void test_stats(void)
{
	char path[256], k[DKVT_KEYBUF];
	uint8_t v[200];
	daxkv *db = fresh("api-stats", path, sizeof(path), POOL16, DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	daxkv_stats st;
	memset(&st, 0xab, sizeof(st));
	CU_ASSERT_EQUAL_FATAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT_EQUAL(st.keys, 0);
	CU_ASSERT_EQUAL(st.live_bytes, 0);
	CU_ASSERT_EQUAL(st.dead_bytes, 0);
	CU_ASSERT_EQUAL(st.gc_runs, 0);
	CU_ASSERT_EQUAL(st.gc_bytes_moved, 0);
	CU_ASSERT_EQUAL(st.backend, dkvt_backend() == DAXKV_BACKEND_BLOCK ? DAXKV_BACKEND_BLOCK
								 : DAXKV_BACKEND_DAX);
	CU_ASSERT(st.capacity_bytes > POOL16 / 2 && st.capacity_bytes <= POOL16);
	uint64_t nseg = st.segments_used + st.segments_free;
	CU_ASSERT(nseg >= 8 && nseg <= 16); /* 1 MiB segments in 16 MiB */

	uint64_t payload = 0;
	for (uint32_t i = 0; i < 100; i++) {
		size_t kl = dkvt_key(i, k);
		dkvt_vmake(v, 100, i, 0, 1);
		CU_ASSERT_EQUAL(daxkv_put(db, k, kl, v, 100), DAXKV_OK);
		payload += kl + 100;
	}
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT_EQUAL(st.keys, 100);
	CU_ASSERT(st.live_bytes >= payload);
	CU_ASSERT(st.live_bytes < payload + 100 * 128); /* a record header is not huge */
	CU_ASSERT_EQUAL(st.dead_bytes, 0);
	CU_ASSERT(st.segments_used >= 1);
	CU_ASSERT_EQUAL(st.segments_used + st.segments_free, nseg);
	uint64_t live1 = st.live_bytes;

	for (uint32_t i = 0; i < 10; i++) {
		dkvt_vmake(v, 100, i, 0, 2);
		CU_ASSERT_EQUAL(daxkv_put(db, k, dkvt_key(i, k), v, 100), DAXKV_OK);
	}
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT_EQUAL(st.keys, 100);
	CU_ASSERT(st.dead_bytes >= 10 * (6 + 100)); /* ten dead records */
	CU_ASSERT_EQUAL(st.live_bytes, live1);       /* same sizes replaced */
	uint64_t dead1 = st.dead_bytes;

	for (uint32_t i = 90; i < 95; i++)
		CU_ASSERT_EQUAL(daxkv_delete(db, k, dkvt_key(i, k)), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT_EQUAL(st.keys, 95);
	CU_ASSERT(st.dead_bytes > dead1);
	CU_ASSERT(st.live_bytes < live1);
	CU_ASSERT_EQUAL(st.segments_used + st.segments_free, nseg);
	uint64_t live2 = st.live_bytes;
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);

	db = open_path(path, 0, 0, 0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT_EQUAL(st.keys, 95);
	CU_ASSERT_EQUAL(st.live_bytes, live2);
	CU_ASSERT_EQUAL(st.backend, dkvt_backend() == DAXKV_BACKEND_BLOCK ? DAXKV_BACKEND_BLOCK
								 : DAXKV_BACKEND_DAX);

	/* make mostly dead sealed segments; GC reclaims them */
	static uint8_t bigv[4000];
	for (int pass = 0; pass < 3; pass++)
		for (uint32_t i = 0; i < 500; i++) {
			dkvt_vmake(bigv, sizeof(bigv), 1000 + i % 50, 0, (uint64_t)pass * 1000 + i);
			CU_ASSERT_EQUAL(daxkv_put(db, k, dkvt_key(1000 + i % 50, k), bigv, sizeof(bigv)),
					DAXKV_OK);
		}
	CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0);
	daxkv_stats pre;
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &pre), DAXKV_OK);
	CU_ASSERT_EQUAL(pre.keys, 145);
	CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	CU_ASSERT(st.gc_runs > pre.gc_runs);
	CU_ASSERT(st.dead_bytes < pre.dead_bytes);
	CU_ASSERT(st.segments_free > pre.segments_free);
	CU_ASSERT_EQUAL(st.keys, 145);
	CU_ASSERT_EQUAL(st.live_bytes, pre.live_bytes);
	CU_ASSERT(check_ok(db));
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(path);
}

/* ---- suite: corrupt ----------------------------------------------------------------------- */

static void test_corrupt_record(void)
{
	DKVT_DAX_ONLY(); /* writes into the pool's mapping (test_block: a damaged file) */
	enum { N = 60, VL = 512, BAD = 10 };
	char path[256], k[DKVT_KEYBUF];
	static uint8_t v[N][VL];
	daxkv *db = fresh("api-corrupt", path, sizeof(path), POOL16, DKVT_MIB);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (uint32_t i = 0; i < N; i++) {
		dkvt_vmake(v[i], VL, i, 0, 1);
		CU_ASSERT_EQUAL(daxkv_put(db, k, dkvt_key(i, k), v[i], VL), DAXKV_OK);
		if (i == 49)
			CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0); /* 0..49 sealed, 50.. active */
	}
	size_t bkl = dkvt_key(BAD, k);
	char badkey[DKVT_KEYBUF];
	memcpy(badkey, k, bkl);
	uint64_t off = dkv_test_record_offset(db, badkey, bkl);
	void *base = NULL;
	size_t len = 0;
	CU_ASSERT_EQUAL_FATAL(dkv_test_pool_range(db, &base, &len), 0);
	CU_ASSERT_FATAL(off > 0 && off < len);
	size_t window = len - off < 4096 + VL ? len - off : 4096 + VL;
	uint8_t *val = memmem((uint8_t *)base + off, window, v[BAD], VL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(val);
	val[VL / 2] ^= 0x5a;

	uint8_t buf[VL];
	size_t vlen = 0;
	memset(buf, 0xee, sizeof(buf));
	CU_ASSERT_EQUAL(daxkv_get(db, badkey, bkl, buf, sizeof(buf), &vlen), DAXKV_ECORRUPT);
	CU_ASSERT(errmsg_set());
	size_t untouched = 0;
	for (size_t i = 0; i < sizeof(buf); i++)
		untouched += buf[i] == 0xee;
	CU_ASSERT_EQUAL(untouched, sizeof(buf)); /* no bytes copied */

	unsigned bad = 0;
	for (uint32_t i = 0; i < N; i++)
		if (i != BAD)
			bad += !has_value(db, k, dkvt_key(i, k), v[i], VL);
	CU_ASSERT_EQUAL(bad, 0);
	char msg[256];
	CU_ASSERT_NOT_EQUAL(dkv_test_check(db, msg, sizeof(msg)), 0); /* the checker sees it */

	/* the iterator reports it as NULL value + ECORRUPT */
	daxkv_iter *it = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_iter_new(db, &it), DAXKV_OK);
	daxkv_iter_seek(it, badkey, bkl);
	CU_ASSERT_TRUE_FATAL(daxkv_iter_valid(it));
	size_t vl = 99;
	CU_ASSERT_PTR_NULL(daxkv_iter_value(it, &vl));
	CU_ASSERT_EQUAL(vl, 0);
	CU_ASSERT_EQUAL(daxkv_iter_status(it), DAXKV_ECORRUPT);
	daxkv_iter_free(it);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);

	/* clean reopen, then an unclean one (recovery): sealed damage is kept
	 * as ECORRUPT, never trimmed as a torn tail, and nothing after it lost */
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			fflush(NULL);
			pid_t pid = fork();
			if (pid == 0) {
				daxkv *c = open_path(path, 0, 0, 0, 0);
				_exit(c ? 0 : 1); /* no close: unclean */
			}
			int status = 0; /* a failed CU_ASSERT_FATAL does not return */
			CU_ASSERT_FATAL(pid > 0 && waitpid(pid, &status, 0) == pid);
			CU_ASSERT(exited_ok(status));
		}
		db = open_path(path, 0, 0, 0, 0);
		CU_ASSERT_PTR_NOT_NULL_FATAL(db);
		CU_ASSERT_EQUAL(dkv_test_was_clean(db), round == 0);
		CU_ASSERT_EQUAL(daxkv_get(db, badkey, bkl, buf, sizeof(buf), &vlen), DAXKV_ECORRUPT);
		bad = 0;
		for (uint32_t i = 0; i < N; i++)
			if (i != BAD)
				bad += !has_value(db, k, dkvt_key(i, k), v[i], VL);
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT_EQUAL(stat_keys(db), N);
		if (round == 0)
			CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	}
	/* the damaged key can be deleted and written again; then all is clean */
	CU_ASSERT_EQUAL(daxkv_delete(db, badkey, bkl), DAXKV_OK);
	CU_ASSERT(absent(db, badkey, bkl));
	CU_ASSERT(check_ok(db));
	CU_ASSERT_EQUAL(daxkv_put(db, badkey, bkl, v[BAD], VL), DAXKV_OK);
	CU_ASSERT(has_value(db, badkey, bkl, v[BAD], VL));
	CU_ASSERT(check_ok(db));
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(path);
}

/* ---- main ---- */

static const struct dkvt_test full_tests[] = {
	{"full_pool", test_full_pool},
	{NULL, NULL},
};
static const struct dkvt_test batch_tests[] = {
	{"apply_in_order", test_batch_apply},
	{"invalid_ops", test_batch_invalid},
	{NULL, NULL},
};
static const struct dkvt_test iter_tests[] = {
	{"empty", test_iter_empty},
	{"order_and_seek", test_iter_order},
	{"snapshot", test_iter_snapshot},
	{"snapshot_across_gc", test_iter_snapshot_gc},
	{NULL, NULL},
};
static const struct dkvt_test stats_tests[] = {
	{"stats", test_stats},
	{NULL, NULL},
};
static const struct dkvt_test corrupt_tests[] = {
	{"corrupt_record", test_corrupt_record},
	{NULL, NULL},
};
static const struct dkvt_suite suites[] = {
	{"full", full_tests},
	{"batch", batch_tests},
	{"iter", iter_tests},
	{"stats", stats_tests},
	{"corrupt", corrupt_tests},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
