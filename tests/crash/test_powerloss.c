/*
 * test_powerloss.c -- simulated power loss at every fence of a workload.
 *
 * The shadow mode of pmem/persist.h keeps only the lines that were flushed and
 * fenced (plus, with keep_pending_pct, a random part of the flushed but not
 * yet fenced ones): what survives a power cut on ADR hardware.  The scripted,
 * single-threaded workload: put 50 keys, overwrite 20, delete 10, a batch of
 * 5 puts + 2 deletes, 600 puts of 4 KiB over 20 keys (several segments roll
 * over and fill with dead records), daxkv_gc(); 120 small puts and 300 more
 * 4 KiB ones, GC (relocating two groups of live records); an iterator opened,
 * 10 deletes (tombstone records), 260 4 KiB puts, GC (copying tombstones the
 * snapshot needs), the iterator freed (purges), GC; a few more writes, GC
 * again, close.  Expiry times: puts with a TTL a day long (the key keeps
 * it), puts whose TTL passes at once (the key is absent from then on) and
 * daxkv_expire_run's deletes of them, twice.
 *
 * A first run counts the fences F of the workload (the store is created and
 * closed before the shadow starts, so creation is not enumerated) and dumps
 * the shadow at the end.  Then for each chosen k in 1..F a child process
 * re-runs it with crash_at_fence = k (keep_pending_pct 0 for odd k, 50 for
 * even k); the shadow is written to an image and the child exits 99 inside
 * fence k.  The parent opens a copy of the image (recovery) and checks:
 *   - open succeeds, dkv_test_check() passes;
 *   - every acknowledged operation is reflected, the one in flight is all or
 *     nothing (a batch too), no value is torn; an iteration and stats.keys
 *     agree with the model; nodes >= keys;
 *   - the recovered store is usable: more puts, overwrites, deletes, GC (after
 *     which nodes == keys), close, and a clean reopen with the same content.
 * By default the crash points are every fence of the operations that are not
 * plain puts (deletes, batch, GC, close, segment roll-overs) plus a stride
 * over the rest, at most DAXKV_PL_MAX_POINTS (700); DAXKV_PL_FULL=1 takes all.
 *
 * DAXKV_TEST_BACKEND=block runs it on the block backend: the shadow is then
 * io/'s power-loss mode (io/segfile_shadow.h) -- a "fence" is a durable point
 * (a durable write, a directory sync), an image is a store directory, and
 * keep_pending keeps random 4 KiB blocks of the write in flight (a torn write)
 * or random pending creations and removals of the directory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdatomic.h>
#include <sys/mman.h>

#include "common/dkvtest.h"
#include "tests/hooks/testhooks.h"

#define NKEYS 256
#define MAXB 8
#define MAXOPS 2048
#define CRASH_STATUS 99

enum { K_PUT = 1, K_DEL, K_BATCH, K_GC, K_CLOSE, K_ITER, K_PUT_TTL, K_PUT_EXPIRED, K_EXPIRE };
enum { S_EMPTY = 0, S_INTENT = 1, S_ACKED = 2 };

struct wop {
	int kind;
	int n;
	unsigned delmask;
	uint32_t key[MAXB];
	uint64_t ver;
	uint32_t vlen;
};

struct shlog {
	_Atomic int state[MAXOPS];
	uint64_t fences_after[MAXOPS];
	int shadow_rc;
	char errmsg[256];
};

struct kstate {
	uint8_t present;
	uint64_t ver;
	uint32_t vlen;
	uint8_t ttl; /* the key carries an expiry time (a day ahead) */
};

static struct wop W[MAXOPS];
static int NW;
static struct shlog *L;
static uint64_t pool_bytes;
static char live_path[256], image_path[256], rec_path[256], end_image[256];

/* ---- the workload -------------------------------------------------------------- */

static void w_put(uint32_t key, uint64_t ver, uint32_t vlen)
{
	W[NW++] = (struct wop){.kind = K_PUT, .n = 1, .key = {key}, .ver = ver, .vlen = vlen};
}

static void w_del(uint32_t key)
{
	W[NW++] = (struct wop){.kind = K_DEL, .n = 1, .key = {key}};
}

/* put with an expiry a day ahead (ttl), or one that passes at once
 * (the key is absent from then on: lazy expiry, then K_EXPIRE deletes it). */
static void w_put_ttl(uint32_t key, uint64_t ver, uint32_t vlen, int expired)
{
	W[NW++] = (struct wop){.kind = expired ? K_PUT_EXPIRED : K_PUT_TTL, .n = 1,
			       .key = {key}, .ver = ver, .vlen = vlen};
}

static void w_other(int kind)
{
	W[NW++] = (struct wop){.kind = kind};
}

static void build_workload(void)
{
	NW = 0;
	for (uint32_t k = 0; k < 50; k++)
		w_put(k, 1, 64 + (k * 37) % 400);
	for (uint32_t k = 0; k < 20; k++)
		w_put(k, 2, 100 + (k * 53) % 300);
	for (uint32_t k = 20; k < 30; k++)
		w_del(k);
	struct wop b = {.kind = K_BATCH, .n = 7, .ver = 3, .vlen = 200};
	for (int j = 0; j < 5; j++)
		b.key[j] = 50 + (uint32_t)j;
	b.key[5] = 30;
	b.key[6] = 31;
	b.delmask = (1u << 5) | (1u << 6);
	W[NW++] = b;
	/* Expiry times: overwrites and new keys with a TTL, keys that expire at
	 * once, and the expiry deletes of daxkv_expire_run. */
	for (uint32_t k = 40; k < 44; k++)
		w_put_ttl(k, 4, 120, 0);
	w_put_ttl(90, 4, 80, 0);
	for (uint32_t k = 44; k < 48; k++)
		w_put_ttl(k, 4, 120, 1);
	w_put_ttl(91, 4, 80, 1);
	w_other(K_EXPIRE);
	for (uint32_t i = 0; i < 600; i++) /* ~2.4 MiB through 1 MiB segments */
		w_put(100 + i % 20, 10 + i, 4096);
	w_other(K_GC);
	/* GC relocating several groups of live records: 120 small keys left
	 * behind in a segment that then fills with dead 4 KiB records. */
	for (uint32_t k = 130; k < 250; k++)
		w_put(k, 7000, 100);
	for (uint32_t i = 0; i < 300; i++)
		w_put(100 + i % 20, 8000 + i, 4096);
	w_other(K_GC);
	/* Tombstones: deletes while an iterator holds a snapshot write tombstone
	 * records; GC must keep (copy) them while the snapshot lives, and they
	 * are purged once it is freed. */
	w_other(K_ITER);
	for (uint32_t k = 130; k < 140; k++)
		w_del(k);
	for (uint32_t i = 0; i < 260; i++)
		w_put(100 + i % 20, 9000 + i, 4096);
	w_other(K_GC);
	w_other(K_ITER);
	w_other(K_GC);
	w_put(60, 5000, 300);
	w_del(1);
	struct wop b2 = {.kind = K_BATCH, .n = 3, .ver = 5001, .vlen = 150};
	b2.key[0] = 61;
	b2.key[1] = 2;
	b2.key[2] = 3;
	b2.delmask = 1u << 2;
	W[NW++] = b2;
	w_put_ttl(62, 5002, 90, 1);
	w_put_ttl(63, 5002, 90, 0);
	w_other(K_EXPIRE);
	w_other(K_GC);
	w_other(K_CLOSE);
}

static const char *kind_name(int kind)
{
	static const char *names[] = {"?", "put", "delete", "batch", "gc", "close", "iter",
				      "put-ttl", "put-expired", "expire-run"};
	return kind >= 0 && kind <= K_EXPIRE ? names[kind] : "?";
}

static void apply(struct kstate *m, const struct wop *o)
{
	for (int j = 0; j < o->n; j++) {
		struct kstate *s = &m[o->key[j]];
		if (o->kind == K_DEL || o->kind == K_PUT_EXPIRED || (o->delmask & (1u << j))) {
			memset(s, 0, sizeof(*s));
		} else {
			s->present = 1;
			s->ver = o->ver;
			s->vlen = o->vlen;
			s->ttl = o->kind == K_PUT_TTL;
		}
	}
}

/* ---- the child ------------------------------------------------------------------ */

__attribute__((format(printf, 1, 2), noreturn)) static void child_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(L->errmsg, sizeof(L->errmsg), fmt, ap);
	va_end(ap);
	_exit(3);
}

static int do_op(daxkv **dbp, const struct wop *o, daxkv_batch *b)
{
	static uint8_t v[8192];
	char k[DKVT_KEYBUF];
	daxkv *db = *dbp;
	switch (o->kind) {
	case K_PUT:
		dkvt_vmake(v, o->vlen, o->key[0], 0, o->ver);
		return daxkv_put(db, k, dkvt_key(o->key[0], k), v, o->vlen);
	case K_DEL:
		return daxkv_delete(db, k, dkvt_key(o->key[0], k));
	case K_PUT_TTL:
	case K_PUT_EXPIRED:
		dkvt_vmake(v, o->vlen, o->key[0], 0, o->ver);
		return daxkv_put_ttl(db, k, dkvt_key(o->key[0], k), v, o->vlen,
				     o->kind == K_PUT_TTL ? 86400u * 1000 : 1);
	case K_EXPIRE: {
		/* the expired keys' deletes; wait out the 1 ms TTLs first */
		struct timespec ts = {0, 3 * 1000 * 1000};
		nanosleep(&ts, NULL);
		return daxkv_expire_run(db, NULL);
	}
	case K_BATCH:
		daxkv_batch_clear(b);
		for (int j = 0; j < o->n; j++) {
			size_t kl = dkvt_key(o->key[j], k);
			int rc;
			if (o->delmask & (1u << j)) {
				rc = daxkv_batch_delete(b, k, kl);
			} else {
				dkvt_vmake(v, o->vlen, o->key[j], 0, o->ver);
				rc = daxkv_batch_put(b, k, kl, v, o->vlen);
			}
			if (rc != DAXKV_OK)
				return rc;
		}
		return daxkv_write(db, b);
	case K_GC:
		return daxkv_gc(db);
	case K_ITER: { /* open an iterator, or free the open one */
		static daxkv_iter *it;
		if (it) {
			daxkv_iter_free(it);
			it = NULL;
			return 0;
		}
		return daxkv_iter_new(db, &it);
	}
	case K_CLOSE:
		*dbp = NULL;
		return daxkv_close(db);
	default:
		return DAXKV_EINVAL;
	}
}

/* Creates the store, reopens it under the shadow (crash_at_fence = k; 0 =
 * never) and runs the workload.  Exits 0 when it completed. */
__attribute__((noreturn)) static void child_run(uint64_t k)
{
	dkvt_remove(live_path);
	daxkv_options o = dkvt_opts(pool_bytes, DKVT_MIB, 1, 0);
	daxkv *db = NULL;
	int rc = daxkv_open(live_path, &o, &db);
	if (rc != DAXKV_OK)
		child_die("create: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
	if (daxkv_close(db) != DAXKV_OK)
		child_die("close after create");
	o.create = 0;
	rc = daxkv_open(live_path, &o, &db);
	if (rc != DAXKV_OK)
		child_die("reopen: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
	struct pm_shadow_opts so = {
		.crash_at_fence = k,
		.image_path = image_path,
		.keep_pending_pct = (k % 2) ? 0 : 50,
		.seed = (unsigned)k,
		.status_on_crash = CRASH_STATUS,
	};
	L->shadow_rc = dkv_test_shadow_start(db, &so);
	if (L->shadow_rc != 0)
		child_die("dkv_test_shadow_start failed");
	daxkv_batch *b = NULL;
	if (daxkv_batch_new(&b) != DAXKV_OK)
		child_die("batch_new");
	for (int i = 0; i < NW; i++) {
		const struct wop *op = &W[i];
		if (k == 0 && op->kind == K_CLOSE && dkv_test_shadow_dump(end_image) != 0)
			child_die("dkv_test_shadow_dump failed");
		atomic_store(&L->state[i], S_INTENT);
		rc = do_op(&db, op, b);
		if (rc != DAXKV_OK)
			child_die("op %d (%s): %s (%s)", i, kind_name(op->kind), daxkv_strerror(rc),
				  daxkv_errmsg());
		atomic_store(&L->state[i], S_ACKED);
		L->fences_after[i] = dkv_test_shadow_events();
	}
	daxkv_batch_free(b);
	_exit(0);
}

static int run_child(uint64_t k)
{
	memset(L, 0, sizeof(*L));
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		child_run(k);
	return dkvt_wait(pid);
}

/* ---- verification -------------------------------------------------------------- */

static struct {
	uint64_t k;
	int failed;
	uint64_t points, crashed, finished, applied, absent, noinflight;
	uint64_t keep_pending_points;
} R;

__attribute__((format(printf, 1, 2))) static void vfail(const char *fmt, ...)
{
	va_list ap;
	if (R.failed++ >= 3)
		return;
	fprintf(stderr, "\ncrash at fence %" PRIu64 " (keep_pending %d%%): ", R.k,
		(R.k % 2) ? 0 : 50);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int observe(daxkv *db, uint32_t key, struct kstate *st)
{
	static uint8_t buf[8192];
	char k[DKVT_KEYBUF];
	size_t vlen = 0;
	uint64_t exp = 0;
	memset(st, 0, sizeof(*st));
	int rc = daxkv_get_meta(db, k, dkvt_key(key, k), buf, sizeof(buf), &vlen, NULL, &exp);
	if (rc == DAXKV_ENOTFOUND)
		return 1;
	if (rc != DAXKV_OK) {
		vfail("get key %u: %s (%s)", key, daxkv_strerror(rc), daxkv_errmsg());
		return 0;
	}
	uint32_t id;
	uint64_t ver;
	if (vlen > sizeof(buf) || dkvt_vcheck(buf, vlen, &id, NULL, &ver) != 0 || id != key) {
		vfail("key %u: torn or foreign value (len %zu)", key, vlen);
		return 0;
	}
	st->present = 1;
	st->ver = ver;
	st->vlen = (uint32_t)vlen;
	st->ttl = exp != 0;
	return 1;
}

static int same(const struct kstate *a, const struct kstate *b)
{
	return a->present == b->present &&
	       (!a->present || (a->ver == b->ver && a->vlen == b->vlen && a->ttl == b->ttl));
}

static unsigned verify_model(daxkv *db, const struct kstate *m, const char *when)
{
	unsigned bad = 0, n = 0;
	for (uint32_t key = 0; key < NKEYS; key++) {
		struct kstate o;
		n += m[key].present;
		if (!observe(db, key, &o)) {
			bad++;
		} else if (!same(&o, &m[key])) {
			bad++;
			vfail("%s: key %u: store %s ver %" PRIu64 ", expected %s ver %" PRIu64, when, key,
			      o.present ? "has" : "lacks", o.ver, m[key].present ? "put" : "absent",
			      m[key].ver);
		}
	}
	daxkv_iter *it = NULL;
	if (daxkv_iter_new(db, &it) != DAXKV_OK) {
		vfail("%s: iter_new", when);
		return bad + 1;
	}
	unsigned seen = 0;
	long last = -1;
	for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it), seen++) {
		size_t kl, vl;
		const void *kp = daxkv_iter_key(it, &kl);
		const void *vp = daxkv_iter_value(it, &vl);
		long id = dkvt_key_id(kp, kl);
		uint32_t vid;
		uint64_t ver;
		if (id < 0 || id >= NKEYS || !m[id].present || dkvt_vcheck(vp, vl, &vid, NULL, &ver) ||
		    vid != (uint32_t)id || ver != m[id].ver) {
			bad++;
			vfail("%s: iterator entry %u (key id %ld) not in the model", when, seen, id);
		}
		if (id <= last) { /* dkvt_key ids sort as their numbers */
			bad++;
			vfail("%s: iterator out of order at entry %u", when, seen);
		}
		last = id;
	}
	daxkv_iter_free(it);
	if (seen != n) {
		bad++;
		vfail("%s: iterator saw %u keys, model has %u", when, seen, n);
	}
	/* Expired keys are absent but counted until deleted: delete them. */
	int erc = daxkv_expire_run(db, NULL);
	if (erc != DAXKV_OK) {
		bad++;
		vfail("%s: expire_run: %s (%s)", when, daxkv_strerror(erc), daxkv_errmsg());
	}
	daxkv_stats st;
	memset(&st, 0, sizeof(st));
	if (daxkv_stats_get(db, &st) != DAXKV_OK || st.keys != n) {
		bad++;
		vfail("%s: stats.keys %" PRIu64 ", model has %u", when, st.keys, n);
	}
	return bad;
}

static uint64_t model_keys(const struct kstate *m)
{
	uint64_t n = 0;
	for (uint32_t k = 0; k < NKEYS; k++)
		n += m[k].present;
	return n;
}

static void struct_check(daxkv *db, const char *when)
{
	char msg[512] = "";
	if (dkv_test_check(db, msg, sizeof(msg)) != 0)
		vfail("%s: dkv_test_check: %s", when, msg);
}

static daxkv *open_rec(const char *path)
{
	daxkv_options o = dkvt_opts(pool_bytes, DKVT_MIB, 0, 0);
	o.expire_hz = -1; /* expiry deletes only where verify_model asks */
	daxkv *db = NULL;
	int rc = daxkv_open(path, &o, &db);
	if (rc != DAXKV_OK) {
		vfail("open of the image: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
		return NULL;
	}
	return db;
}

/* The recovered store takes more writes and GC, and reopens clean. */
static void exercise(daxkv *db, struct kstate *m, const char *path)
{
	static uint8_t v[600];
	char k[DKVT_KEYBUF];
	for (uint32_t key = 200; key < 220; key++) {
		dkvt_vmake(v, 500, key, 0, 9000);
		int rc = daxkv_put(db, k, dkvt_key(key, k), v, 500);
		if (rc != DAXKV_OK) {
			vfail("put after recovery: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
			return;
		}
		m[key] = (struct kstate){1, 9000, 500, 0};
	}
	for (uint32_t key = 100; key < 105; key++) {
		dkvt_vmake(v, 333, key, 0, 9001);
		if (daxkv_put(db, k, dkvt_key(key, k), v, 333) != DAXKV_OK) {
			vfail("overwrite after recovery failed");
			return;
		}
		m[key] = (struct kstate){1, 9001, 333, 0};
	}
	for (uint32_t key = 0; key < 5; key++) {
		int want = m[key].present ? DAXKV_OK : DAXKV_ENOTFOUND;
		int rc = daxkv_delete(db, k, dkvt_key(key, k));
		if (rc != want)
			vfail("delete key %u after recovery: %s, expected %s", key, daxkv_strerror(rc),
			      daxkv_strerror(want));
		memset(&m[key], 0, sizeof(m[key]));
	}
	int rc = daxkv_expire_run(db, NULL); /* expired keys hold nodes until deleted */
	if (rc == DAXKV_OK)
		rc = daxkv_gc(db);
	if (rc != DAXKV_OK)
		vfail("gc after recovery: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
	uint64_t nodes = dkv_test_nodes_allocated(db), keys = model_keys(m);
	if (nodes != keys)
		vfail("after gc: %" PRIu64 " nodes for %" PRIu64 " keys (leak)", nodes, keys);
	verify_model(db, m, "after more writes");
	struct_check(db, "after more writes");
	if (daxkv_close(db) != DAXKV_OK)
		vfail("close of the recovered store");
	db = open_rec(path);
	if (db == NULL)
		return;
	if (dkv_test_was_clean(db) != 1)
		vfail("reopen after a clean close ran recovery");
	struct_check(db, "clean reopen");
	verify_model(db, m, "clean reopen");
	daxkv_close(db);
}

/* Verifies the store at path against the log of the run that made it. */
static void verify_store(const char *path, int from_image)
{
	static struct kstate m[NKEYS], applied[NKEYS];
	memset(m, 0, sizeof(m));
	int inflight = -1;
	for (int i = 0; i < NW; i++) {
		int s = atomic_load(&L->state[i]);
		if (s == S_ACKED) {
			if (inflight >= 0)
				vfail("op %d acknowledged after op %d in flight", i, inflight);
			apply(m, &W[i]);
		} else if (s == S_INTENT) {
			if (inflight >= 0)
				vfail("two ops in flight (%d, %d)", inflight, i);
			inflight = i;
		}
	}
	daxkv *db = open_rec(path);
	if (db == NULL)
		return;
	struct_check(db, "after recovery");
	if (from_image && inflight > 0 && dkv_test_was_clean(db) != 0 &&
	    W[inflight].kind != K_CLOSE)
		vfail("image of a crash mid-%s reports a clean shutdown", kind_name(W[inflight].kind));

	if (inflight >= 0 && W[inflight].n > 0) {
		const struct wop *op = &W[inflight];
		memcpy(applied, m, sizeof(m));
		apply(applied, op);
		int all_a = 1, all_n = 1;
		for (int j = 0; j < op->n; j++) {
			struct kstate o;
			if (!observe(db, op->key[j], &o)) {
				all_a = all_n = 0;
				break;
			}
			all_a &= same(&o, &applied[op->key[j]]);
			all_n &= same(&o, &m[op->key[j]]);
		}
		if (all_a && !all_n) {
			memcpy(m, applied, sizeof(m));
			R.applied++;
		} else if (all_n) {
			R.absent++;
		} else {
			vfail("op %d (%s of %d keys) in flight is partly applied", inflight,
			      kind_name(op->kind), op->n);
			memcpy(m, applied, sizeof(m));
		}
	} else {
		R.noinflight++;
	}
	verify_model(db, m, "after recovery");
	uint64_t nodes = dkv_test_nodes_allocated(db), keys = model_keys(m);
	if (nodes < keys)
		vfail("%" PRIu64 " nodes for %" PRIu64 " keys", nodes, keys);
	exercise(db, m, path);
}

/* ---- the crash points ---------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Chooses crash points in 1..F; returns how many (into pts). */
static size_t choose_points(uint64_t F, uint64_t *pts, size_t cap)
{
	int full = dkvt_env_long("DAXKV_PL_FULL", 0) != 0;
	long maxl = dkvt_env_long("DAXKV_PL_MAX_POINTS", 700);
	size_t maxp = maxl < 2 ? 2 : (size_t)maxl;
	size_t n = 0;
	if (full) {
		for (uint64_t k = 1; k <= F && n < cap; k++)
			pts[n++] = k;
		return n;
	}
	/* the usual fence count of a plain put */
	uint64_t hist[8] = {0};
	for (int i = 0; i < NW; i++) {
		uint64_t d = L->fences_after[i] - (i ? L->fences_after[i - 1] : 0);
		if (W[i].kind == K_PUT && d < 8)
			hist[d]++;
	}
	uint64_t usual = 0;
	for (uint64_t d = 0; d < 8; d++)
		if (hist[d] > hist[usual])
			usual = d;
	uint8_t *take = calloc(F + 1, 1);
	if (take == NULL)
		return 0;
	for (int i = 0; i < NW; i++) {
		uint64_t lo = i ? L->fences_after[i - 1] : 0, hi = L->fences_after[i];
		if (hi > F)
			hi = F;
		if (W[i].kind != K_PUT || hi - lo != usual || i < 3)
			for (uint64_t k = lo + 1; k <= hi; k++)
				take[k] = 1;
	}
	uint64_t stride = F / (maxp * 2 / 3);
	if (stride < 1)
		stride = 1;
	if (stride % 2 == 0)
		stride++; /* odd: alternate between keep_pending 0 and 50 */
	for (uint64_t k = 1 + F % stride; k <= F; k += stride)
		take[k] = 1;
	for (uint64_t k = F > 3 ? F - 3 : 1; k <= F; k++)
		take[k] = 1;
	for (uint64_t k = 1; k <= F && n < cap; k++)
		if (take[k])
			pts[n++] = k;
	free(take);
	if (n > maxp) { /* thin evenly, keep the ends */
		size_t m = 0;
		for (size_t i = 0; i < maxp; i++)
			pts[m++] = pts[i * (n - 1) / (maxp - 1)];
		n = m;
	}
	qsort(pts, n, sizeof(*pts), cmp_u64);
	return n;
}

static void test_powerloss(void)
{
	pool_bytes = (uint64_t)dkvt_env_long("DAXKV_PL_POOL_MB", 12) * DKVT_MIB;
	dkvt_path(live_path, sizeof(live_path), "pl-live");
	dkvt_path(image_path, sizeof(image_path), "pl-image");
	dkvt_path(rec_path, sizeof(rec_path), "pl-rec");
	dkvt_path(end_image, sizeof(end_image), "pl-end");
	L = mmap(NULL, sizeof(*L), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(L != MAP_FAILED);
	build_workload();
	CU_ASSERT_FATAL(NW < MAXOPS);
	memset(&R, 0, sizeof(R));
	double t0 = dkvt_now();

	/* 1. count the fences, and check the end state (everything fenced) */
	int st = run_child(0);
	if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		fprintf(stderr, "counting run: status %#x: %s\n", st, L->errmsg);
	CU_ASSERT_FATAL(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CU_ASSERT_EQUAL_FATAL(L->shadow_rc, 0);
	uint64_t F_ops = L->fences_after[NW - 2]; /* through the last GC */
	uint64_t F = L->fences_after[NW - 1] >= F_ops ? L->fences_after[NW - 1] : F_ops;
	uint64_t fences_before_gc = 0;
	for (int i = 0; i < NW; i++)
		if (W[i].kind == K_GC) {
			fences_before_gc = i ? L->fences_after[i - 1] : 0;
			break;
		}
	printf("\n  powerloss: workload of %d ops, %" PRIu64 " fences (%" PRIu64
	       " before the first GC, %" PRIu64 " with close)\n",
	       NW, F_ops, fences_before_gc, F);
	CU_ASSERT_FATAL(F_ops >= (uint64_t)NW - 3); /* each write fences at least once */
	uint64_t *points = calloc(F + 1, sizeof(uint64_t));
	CU_ASSERT_PTR_NOT_NULL_FATAL(points);
	size_t np = choose_points(F, points, F + 1);

	R.k = 0;
	/* the dump before close: a crash after the last fence of the last GC;
	 * every op but the close acknowledged */
	atomic_store(&L->state[NW - 1], S_EMPTY);
	verify_store(end_image, 1);
	/* the live pool after a clean close */
	atomic_store(&L->state[NW - 1], S_ACKED);
	verify_store(live_path, 0);
	CU_ASSERT_EQUAL_FATAL(R.failed, 0);

	/* 2. crash at each chosen fence */
	int saved = 0;
	for (size_t i = 0; i < np && R.failed < 10; i++) {
		uint64_t k = points[i];
		int before = R.failed;
		R.k = k;
		dkvt_remove(image_path);
		st = run_child(k);
		if (WIFEXITED(st) && WEXITSTATUS(st) == CRASH_STATUS) {
			R.crashed++;
			R.keep_pending_points += k % 2 == 0;
			if (dkvt_copy_store(image_path, rec_path) != 0) {
				vfail("no image written at the crash");
				continue;
			}
			verify_store(rec_path, 1);
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			R.finished++; /* fewer fences this run: the workload completed */
			verify_store(live_path, 0);
		} else {
			vfail("child status %#x: %s", st, L->errmsg);
		}
		R.points++;
		if (R.failed > before && !saved) { /* keep the first failing image */
			char keep[256];
			snprintf(keep, sizeof(keep), "/tmp/daxkv-powerloss-fence%" PRIu64 ".img", k);
			if (dkvt_copy_store(image_path, keep) == 0) {
				fprintf(stderr, "  image kept at %s\n", keep);
				saved = 1;
			}
		}
		dkvt_remove(rec_path);
	}
	printf("  powerloss: %" PRIu64 " of %" PRIu64 " crash points enumerated in %.1f s: %" PRIu64
	       " crashed (%" PRIu64 " keeping 50%% of unfenced lines), %" PRIu64
	       " completed first; in flight: %" PRIu64 " applied, %" PRIu64 " absent, %" PRIu64
	       " none/no-op; %d failures\n",
	       R.points, F, dkvt_now() - t0, R.crashed, R.keep_pending_points, R.finished, R.applied,
	       R.absent, R.noinflight, R.failed);
	CU_ASSERT_EQUAL(R.failed, 0);
	CU_ASSERT_EQUAL(R.points, np);
	CU_ASSERT(R.crashed > 0);
	free(points);
	munmap(L, sizeof(*L));
	dkvt_remove(live_path);
	dkvt_remove(image_path);
	dkvt_remove(end_image);
}

static const struct dkvt_test pl_tests[] = {
	{"every_fence_of_a_workload", test_powerloss},
	{NULL, NULL},
};
static const struct dkvt_suite suites[] = {
	{"powerloss", pl_tests},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
