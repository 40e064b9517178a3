/*
 * test_model.c -- random operations against an in-memory model.
 *
 * A small key space (random keys of 1..40 bytes over a narrow alphabet, so
 * they share prefixes and overwrites are frequent), values of 0..2000 bytes.
 * Each step is a put, delete, get (whole, partial or a length query), batch,
 * iterator comparison (forward, backward, from a seek), snapshot check (an
 * iterator created before a few writes still shows the old model), or GC.
 * Every 1000..3000 steps the store is closed and reopened, dkv_test_check()
 * must pass and the whole store must equal the model.
 *
 * DAXKV_MODEL_SEEDS (default 8) seeds of DAXKV_MODEL_OPS (default 10000) steps;
 * DAXKV_MODEL_SEED picks the first seed.  The first mismatch stops the seed
 * and prints the seed and step to replay it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "common/dkvtest.h"
#include "tests/hooks/testhooks.h"

#define NK 300
#define KMAX 40
#define VMAX 2000

struct mkey {
	uint8_t k[KMAX];
	size_t len;
};

struct mval {
	int present;
	size_t len;
	uint8_t v[VMAX];
};

struct model {
	struct mval val[NK];
	uint64_t count;
};

static struct mkey keys[NK];
static size_t by_rank[NK]; /* key ids in key order */
static struct model M, snap;

static struct {
	uint64_t seed;
	long step;
	const char *op;
	int failed;
	uint64_t ops, gets, puts, dels, batches, iters, snaps, gcs, reopens, gc_segments;
} ctx;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;
	if (ctx.failed++)
		return;
	fprintf(stderr, "\nmodel mismatch: seed %" PRIu64 " step %ld op %s: ", ctx.seed, ctx.step,
		ctx.op);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	CU_FAIL("model mismatch (see stderr)");
}

static int rank_cmp(const void *a, const void *b)
{
	const struct mkey *x = &keys[*(const size_t *)a], *y = &keys[*(const size_t *)b];
	return dkvt_keycmp(x->k, x->len, y->k, y->len);
}

static void make_keyspace(struct dkvt_rng *r)
{
	static const uint8_t alpha[] = {'a', 'b', 'c', 0x00, 0xff, 'z'};
	for (size_t i = 0; i < NK;) {
		struct mkey *k = &keys[i];
		k->len = 1 + dkvt_below(r, KMAX);
		for (size_t b = 0; b < k->len; b++)
			k->k[b] = b < 4 ? alpha[dkvt_below(r, sizeof(alpha))] : (uint8_t)dkvt_below(r, 256);
		int dup = 0;
		for (size_t j = 0; j < i && !dup; j++)
			dup = keys[j].len == k->len && memcmp(keys[j].k, k->k, k->len) == 0;
		if (!dup)
			i++;
	}
	for (size_t i = 0; i < NK; i++)
		by_rank[i] = i;
	qsort(by_rank, NK, sizeof(by_rank[0]), rank_cmp);
}

static size_t rand_vlen(struct dkvt_rng *r)
{
	return dkvt_below(r, 20) == 0 ? 0 : dkvt_below(r, VMAX + 1);
}

static void model_put(struct model *m, size_t id, const uint8_t *v, size_t len)
{
	if (!m->val[id].present)
		m->count++;
	m->val[id].present = 1;
	m->val[id].len = len;
	memcpy(m->val[id].v, v, len);
}

static void model_del(struct model *m, size_t id)
{
	if (m->val[id].present)
		m->count--;
	m->val[id].present = 0;
}

/* ---- checks -------------------------------------------------------------------- */

static void check_get(daxkv *db, size_t id, int mode)
{
	static uint8_t buf[VMAX + 64];
	const struct mval *e = &M.val[id];
	size_t vlen = (size_t)-1;
	size_t cap = sizeof(buf);
	if (mode == 1 && e->present)
		cap = e->len ? (size_t)dkvt_mix64(ctx.step) % (e->len + 1) : 0;
	memset(buf, 0xa5, sizeof(buf));
	int rc = mode == 2 ? daxkv_get(db, keys[id].k, keys[id].len, NULL, 0, &vlen)
			   : daxkv_get(db, keys[id].k, keys[id].len, buf, cap, &vlen);
	ctx.gets++;
	if (!e->present) {
		if (rc != DAXKV_ENOTFOUND)
			fail("get key %zu: %s, expected ENOTFOUND", id, daxkv_strerror(rc));
		return;
	}
	if (rc != DAXKV_OK) {
		fail("get key %zu: %s, expected OK", id, daxkv_strerror(rc));
		return;
	}
	if (vlen != e->len) {
		fail("get key %zu: vlen %zu, expected %zu", id, vlen, e->len);
		return;
	}
	if (mode == 2)
		return;
	size_t n = cap < e->len ? cap : e->len;
	if (memcmp(buf, e->v, n) != 0)
		fail("get key %zu: wrong bytes (len %zu, cap %zu)", id, e->len, cap);
	else if (n < sizeof(buf) && buf[n] != 0xa5)
		fail("get key %zu: byte written past min(cap, len) = %zu", id, n);
}

/* Compares the iterator, at its position, walking in dir from rank r0, with
 * model m; at most steps entries (0 = to the end). */
static void iter_compare(daxkv_iter *it, const struct model *m, long r0, int dir, long steps)
{
	long r = r0, seen = 0;
	for (;;) {
		while (r >= 0 && r < NK && !m->val[by_rank[r]].present)
			r += dir;
		int expect = r >= 0 && r < NK;
		if (steps && seen == steps)
			return;
		if (daxkv_iter_valid(it) != expect) {
			fail("iterator %s at rank %ld (dir %d, %ld seen): valid=%d, model has %s",
			     expect ? "ended early" : "went past the end", r, dir, seen,
			     daxkv_iter_valid(it), expect ? "more" : "no more");
			return;
		}
		if (!expect)
			break;
		size_t id = by_rank[r], kl = 0, vl = 0;
		const void *k = daxkv_iter_key(it, &kl);
		const void *v = daxkv_iter_value(it, &vl);
		if (k == NULL || kl != keys[id].len || memcmp(k, keys[id].k, kl) != 0) {
			fail("iterator at rank %ld: wrong key (len %zu), expected key %zu", r, kl, id);
			return;
		}
		if (vl != m->val[id].len || (vl && (v == NULL || memcmp(v, m->val[id].v, vl) != 0))) {
			fail("iterator at key %zu: wrong value (len %zu, expected %zu)", id, vl,
			     m->val[id].len);
			return;
		}
		seen++;
		r += dir;
		if (dir > 0)
			daxkv_iter_next(it);
		else
			daxkv_iter_prev(it);
	}
	if (daxkv_iter_status(it) != DAXKV_OK)
		fail("iterator status %s", daxkv_strerror(daxkv_iter_status(it)));
}

/* rank of the first key >= q */
static long lower_bound(const uint8_t *q, size_t ql)
{
	long lo = 0, hi = NK;
	while (lo < hi) {
		long mid = (lo + hi) / 2;
		const struct mkey *k = &keys[by_rank[mid]];
		if (dkvt_keycmp(k->k, k->len, q, ql) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void do_iter(daxkv *db, struct dkvt_rng *r, const struct model *m, daxkv_iter *given)
{
	daxkv_iter *it = given;
	if (it == NULL && daxkv_iter_new(db, &it) != DAXKV_OK) {
		fail("iter_new failed");
		return;
	}
	switch (dkvt_below(r, 4)) {
	case 0:
		daxkv_iter_seek_first(it);
		iter_compare(it, m, 0, +1, 0);
		break;
	case 1:
		daxkv_iter_seek_last(it);
		iter_compare(it, m, NK - 1, -1, 0);
		break;
	default: {
		/* seek to a key of the space (maybe absent) or a variation of one */
		uint8_t q[KMAX + 1];
		const struct mkey *k = &keys[dkvt_below(r, NK)];
		size_t ql = k->len;
		memcpy(q, k->k, ql);
		if (dkvt_below(r, 2))
			q[ql++] = (uint8_t)dkvt_below(r, 256);
		daxkv_iter_seek(it, q, ql);
		long lb = lower_bound(q, ql);
		if (dkvt_below(r, 2)) {
			iter_compare(it, m, lb, +1, 30);
		} else {
			/* one step back from the seek position, then backwards */
			long rr = lb;
			while (rr < NK && !m->val[by_rank[rr]].present)
				rr++;
			if (rr < NK) {
				daxkv_iter_prev(it);
				iter_compare(it, m, rr - 1, -1, 30);
			} else if (daxkv_iter_valid(it)) {
				fail("seek past the last key is valid");
			}
		}
		break;
	}
	}
	if (given == NULL)
		daxkv_iter_free(it);
	ctx.iters++;
}

static void check_all(daxkv *db)
{
	for (size_t id = 0; id < NK && !ctx.failed; id++)
		check_get(db, id, 0);
	daxkv_iter *it = NULL;
	if (daxkv_iter_new(db, &it) != DAXKV_OK) {
		fail("iter_new failed");
		return;
	}
	daxkv_iter_seek_first(it);
	iter_compare(it, &M, 0, +1, 0);
	daxkv_iter_seek_last(it);
	iter_compare(it, &M, NK - 1, -1, 0);
	daxkv_iter_free(it);
	daxkv_stats st;
	memset(&st, 0, sizeof(st));
	if (daxkv_stats_get(db, &st) != DAXKV_OK || st.keys != M.count)
		fail("stats.keys %" PRIu64 ", model has %" PRIu64, st.keys, M.count);
}

/* ---- operations ----------------------------------------------------------------- */

static void op_put(daxkv *db, struct dkvt_rng *r, size_t id)
{
	static uint8_t v[VMAX];
	size_t len = rand_vlen(r);
	dkvt_fill(v, len, dkvt_next(r));
	int rc = daxkv_put(db, keys[id].k, keys[id].len, len ? v : NULL, len);
	ctx.puts++;
	if (rc != DAXKV_OK) {
		fail("put key %zu (%zu bytes): %s (%s)", id, len, daxkv_strerror(rc), daxkv_errmsg());
		return;
	}
	model_put(&M, id, v, len);
}

static void op_del(daxkv *db, size_t id)
{
	int rc = daxkv_delete(db, keys[id].k, keys[id].len);
	int want = M.val[id].present ? DAXKV_OK : DAXKV_ENOTFOUND;
	ctx.dels++;
	if (rc != want) {
		fail("delete key %zu: %s, expected %s", id, daxkv_strerror(rc), daxkv_strerror(want));
		return;
	}
	model_del(&M, id);
}

static void op_batch(daxkv *db, struct dkvt_rng *r)
{
	static uint8_t v[12][VMAX];
	size_t ids[12], lens[12];
	int isdel[12];
	size_t n = 1 + dkvt_below(r, 12);
	daxkv_batch *b = NULL;
	if (daxkv_batch_new(&b) != DAXKV_OK) {
		fail("batch_new");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ids[i] = dkvt_below(r, NK);
		isdel[i] = dkvt_below(r, 10) < 3;
		int rc;
		if (isdel[i]) {
			rc = daxkv_batch_delete(b, keys[ids[i]].k, keys[ids[i]].len);
		} else {
			lens[i] = rand_vlen(r);
			dkvt_fill(v[i], lens[i], dkvt_next(r));
			rc = daxkv_batch_put(b, keys[ids[i]].k, keys[ids[i]].len, v[i], lens[i]);
		}
		if (rc != DAXKV_OK) {
			fail("batch op %zu: %s", i, daxkv_strerror(rc));
			daxkv_batch_free(b);
			return;
		}
	}
	int rc = daxkv_write(db, b);
	daxkv_batch_free(b);
	ctx.batches++;
	if (rc != DAXKV_OK) {
		fail("write of a batch of %zu: %s (%s)", n, daxkv_strerror(rc), daxkv_errmsg());
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (isdel[i])
			model_del(&M, ids[i]);
		else
			model_put(&M, ids[i], v[i], lens[i]);
	}
}

/* An iterator made now keeps showing this model while writes go on. */
static void op_snapshot(daxkv *db, struct dkvt_rng *r)
{
	daxkv_iter *it = NULL;
	if (daxkv_iter_new(db, &it) != DAXKV_OK) {
		fail("iter_new");
		return;
	}
	memcpy(&snap, &M, sizeof(M));
	size_t n = 1 + dkvt_below(r, 20);
	for (size_t i = 0; i < n && !ctx.failed; i++) {
		size_t id = dkvt_below(r, NK);
		if (dkvt_below(r, 3))
			op_put(db, r, id);
		else
			op_del(db, id);
	}
	const char *was = ctx.op;
	ctx.op = "snapshot-compare";
	if (!ctx.failed)
		do_iter(db, r, &snap, it);
	if (!ctx.failed) {
		daxkv_iter_seek_first(it);
		iter_compare(it, &snap, 0, +1, 0);
	}
	ctx.op = was;
	daxkv_iter_free(it);
	ctx.snaps++;
}

static daxkv *reopen(daxkv *db, const char *path, int bg)
{
	if (db && daxkv_close(db) != DAXKV_OK)
		fail("close failed");
	daxkv_options o = dkvt_opts(16 * DKVT_MIB, DKVT_MIB, 1, bg);
	daxkv *ndb = NULL;
	int rc = daxkv_open(path, &o, &ndb);
	if (rc != DAXKV_OK) {
		fail("reopen: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
		return NULL;
	}
	ctx.reopens++;
	return ndb;
}

static void run_seed(uint64_t seed, long nops)
{
	char path[256], tag[64];
	struct dkvt_rng r;
	memset(&M, 0, sizeof(M));
	ctx.seed = seed;
	ctx.failed = 0;
	ctx.step = -1;
	ctx.op = "open";
	dkvt_rng_seed(&r, seed);
	make_keyspace(&r);
	snprintf(tag, sizeof(tag), "model-%" PRIu64, seed);
	dkvt_path(path, sizeof(path), tag);
	dkvt_remove(path);
	int bg = (int)(seed & 1); /* odd seeds with the background GC running too */
	daxkv *db = reopen(NULL, path, bg);
	if (db == NULL)
		return;
	long next_reopen = 1000 + (long)dkvt_below(&r, 2000);

	for (ctx.step = 0; ctx.step < nops && !ctx.failed; ctx.step++) {
		unsigned x = (unsigned)dkvt_below(&r, 1000);
		size_t id = dkvt_below(&r, NK);
		ctx.ops++;
		if (x < 350) {
			ctx.op = "put";
			op_put(db, &r, id);
		} else if (x < 500) {
			ctx.op = "delete";
			op_del(db, id);
		} else if (x < 750) {
			ctx.op = "get";
			check_get(db, id, (int)dkvt_below(&r, 4) % 3); /* whole, partial, length */
		} else if (x < 800) {
			ctx.op = "batch";
			op_batch(db, &r);
		} else if (x < 806) {
			ctx.op = "iterate";
			do_iter(db, &r, &M, NULL);
		} else if (x < 808) {
			ctx.op = "snapshot";
			op_snapshot(db, &r);
		} else if (x < 811) {
			ctx.op = "gc";
			int rc = daxkv_gc(db);
			ctx.gcs++;
			if (rc != DAXKV_OK && !(bg && rc == DAXKV_EBUSY))
				fail("gc: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
		} else {
			ctx.op = "put";
			op_put(db, &r, id);
		}
		if (ctx.step == next_reopen && !ctx.failed) {
			ctx.op = "reopen";
			db = reopen(db, path, bg);
			if (db == NULL)
				break;
			char msg[512] = "";
			if (dkv_test_was_clean(db) != 1)
				fail("clean close not seen by the next open");
			if (dkv_test_check(db, msg, sizeof(msg)) != 0)
				fail("dkv_test_check: %s", msg);
			check_all(db);
			next_reopen = ctx.step + 1000 + (long)dkvt_below(&r, 2000);
		}
	}
	if (db && !ctx.failed) {
		ctx.op = "final";
		check_all(db);
		db = reopen(db, path, bg);
		if (db) {
			char msg[512] = "";
			if (dkv_test_check(db, msg, sizeof(msg)) != 0)
				fail("dkv_test_check: %s", msg);
			check_all(db);
		}
	}
	if (db) {
		daxkv_stats st;
		if (daxkv_stats_get(db, &st) == DAXKV_OK)
			ctx.gc_segments += st.gc_runs;
		daxkv_close(db);
	}
	dkvt_remove(path);
}

static void test_model_random(void)
{
	long seeds = dkvt_env_long("DAXKV_MODEL_SEEDS", 8);
	long nops = dkvt_env_long("DAXKV_MODEL_OPS", 10000);
	uint64_t first = (uint64_t)dkvt_env_long("DAXKV_MODEL_SEED", 1);
	double t0 = dkvt_now();
	memset(&ctx, 0, sizeof(ctx));
	unsigned failed_seeds = 0;
	for (long s = 0; s < seeds; s++) {
		run_seed(first + (uint64_t)s, nops);
		failed_seeds += ctx.failed != 0;
	}
	printf("\n  model: %ld seeds x %ld steps in %.1f s: %" PRIu64 " puts, %" PRIu64
	       " deletes, %" PRIu64 " gets, %" PRIu64 " batches, %" PRIu64 " iterations, %" PRIu64
	       " snapshots, %" PRIu64 " gc calls reclaiming %" PRIu64 " segments, %" PRIu64
	       " reopens\n",
	       seeds, nops, dkvt_now() - t0, ctx.puts, ctx.dels, ctx.gets, ctx.batches, ctx.iters,
	       ctx.snaps, ctx.gcs, ctx.gc_segments, ctx.reopens);
	CU_ASSERT_EQUAL(failed_seeds, 0);
	CU_ASSERT(ctx.ops >= (uint64_t)(seeds * nops) || failed_seeds);
	CU_ASSERT(ctx.gc_segments > 0 || nops < 5000); /* GC really ran under the model */
}

static const struct dkvt_test model_tests[] = {
	{"random_ops_vs_model", test_model_random},
	{NULL, NULL},
};
static const struct dkvt_suite suites[] = {
	{"model", model_tests},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
