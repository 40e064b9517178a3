/*
 * test_concurrency.c -- writers, readers, an iterator and GC at once
 * (labels unit + concurrency; meant to be clean under -fsanitize=thread).
 *
 * 4 writer threads, each alone on its own range of keys and all of them on a
 * small shared "hot" range; 2 reader threads; 1 iterator thread; 1 thread
 * calling daxkv_gc() (the background GC runs too).  For DAXKV_CONC_SECONDS
 * (default 2).
 *
 * Values encode key id, writer, version, length and a checksum.  A writer
 * publishes, per key of its own range, the version it is about to write
 * (intent, before the call) and the last acknowledged op (after the call).
 * That gives a per-key linearizability check for the own ranges:
 *   - a get returns only whole values written for that key by its owner;
 *   - a get started after an acknowledged put sees that version or a newer
 *     one; never one newer than the latest intent at the end of the get;
 *   - ENOTFOUND after an acknowledged put only if a newer op had started;
 *   - one reader never sees a key's version go backwards.
 * The iterator checks order, whole values, its snapshot per key against the
 * acknowledged/intent state before its creation and after its walk, and
 * batch atomicity across keys: where it shows one key at a batch's version,
 * every other key of that batch shows that version or a newer state.
 * At the end the store must equal each writer's last acknowledged write for
 * the own ranges, and for each hot key the effect of some writer's last op
 * on it; dkv_test_check() passes; the same after a reopen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "common/dkvtest.h"
#include "tests/hooks/testhooks.h"

#define NWRITERS 4
#define NREADERS 2
#define PER 256
#define HOT 16
#define NKEYS (NWRITERS * PER + HOT)
#define VMAXLEN 400

static daxkv *db;
static atomic_int stop;
static pthread_barrier_t start_line;

/* own ranges: intent = version about to be written; acked = ver << 1 | del */
static _Atomic uint64_t intent[NKEYS];
static _Atomic uint64_t acked[NKEYS];

struct last_op {
	uint64_t ver;
	int del; /* 1: the last op was a delete */
	int any; /* 0: never written */
};
/* private to each writer during the run; read by main after join */
static struct last_op last[NWRITERS][NKEYS];

/* Batches of each writer by version (a seqlock ring), for the iterator's
 * cross-key check.  Values written by a batch carry BATCH_FLAG in writer. */
#define BATCH_FLAG 0x100u
#define BRING 4096
struct bent {
	_Atomic uint64_t ver; /* 0 while being rewritten */
	_Atomic uint32_t n;
	_Atomic uint32_t key[6];
	_Atomic uint32_t del[6];
};
static struct bent btab[NWRITERS][BRING];

static atomic_ulong errors;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_err[512];
static _Atomic uint64_t n_put, n_del, n_batch, n_get, n_iter, n_gc, n_gc_busy, n_nospc;

__attribute__((format(printf, 1, 2))) static void terr(const char *fmt, ...)
{
	if (atomic_fetch_add(&errors, 1) == 0) {
		va_list ap;
		pthread_mutex_lock(&err_lock);
		va_start(ap, fmt);
		vsnprintf(first_err, sizeof(first_err), fmt, ap);
		va_end(ap);
		pthread_mutex_unlock(&err_lock);
	}
}

static int owner_of(uint32_t key)
{
	return key < NWRITERS * PER ? (int)(key / PER) : -1;
}

static size_t vlen_for(uint32_t key, uint64_t ver)
{
	return DKVT_VHDR + dkvt_mix64(((uint64_t)key << 32) ^ ver) % (VMAXLEN - DKVT_VHDR);
}

/* ---- writers ---------------------------------------------------------------- */

struct wctx {
	int w;
	uint64_t ver;
	struct dkvt_rng r;
	uint8_t present[NKEYS]; /* own keys only */
	daxkv_batch *b;
};

static int retry_nospc(int rc)
{
	if (rc != DAXKV_ENOSPC)
		return 0;
	atomic_fetch_add(&n_nospc, 1);
	daxkv_gc(db);
	sched_yield();
	return 1;
}

static void w_put(struct wctx *c, uint32_t key, int own)
{
	uint8_t v[VMAXLEN];
	char k[DKVT_KEYBUF];
	uint64_t ver = ++c->ver;
	size_t vl = vlen_for(key, ver);
	dkvt_vmake(v, vl, key, (uint32_t)c->w, ver);
	size_t kl = dkvt_key(key, k);
	if (own)
		atomic_store(&intent[key], ver);
	int rc, tries = 0;
	while (retry_nospc(rc = daxkv_put(db, k, kl, v, vl)) && tries++ < 10000)
		;
	if (rc != DAXKV_OK) {
		terr("writer %d put key %u: %s (%s)", c->w, key, daxkv_strerror(rc), daxkv_errmsg());
		return;
	}
	if (own) {
		atomic_store(&acked[key], ver << 1);
		c->present[key] = 1;
	}
	last[c->w][key] = (struct last_op){ver, 0, 1};
	atomic_fetch_add(&n_put, 1);
}

static void w_del(struct wctx *c, uint32_t key, int own)
{
	char k[DKVT_KEYBUF];
	uint64_t ver = ++c->ver;
	size_t kl = dkvt_key(key, k);
	if (own)
		atomic_store(&intent[key], ver);
	int rc, tries = 0;
	while (retry_nospc(rc = daxkv_delete(db, k, kl)) && tries++ < 10000)
		;
	int ok = own ? rc == (c->present[key] ? DAXKV_OK : DAXKV_ENOTFOUND)
		     : (rc == DAXKV_OK || rc == DAXKV_ENOTFOUND);
	if (!ok) {
		terr("writer %d delete key %u: %s (%s)", c->w, key, daxkv_strerror(rc),
		     daxkv_errmsg());
		return;
	}
	if (own) {
		atomic_store(&acked[key], ver << 1 | 1);
		c->present[key] = 0;
	}
	last[c->w][key] = (struct last_op){ver, 1, 1};
	atomic_fetch_add(&n_del, 1);
}

static void w_batch(struct wctx *c)
{
	uint8_t v[VMAXLEN];
	char k[DKVT_KEYBUF];
	uint32_t keys[6];
	int del[6];
	uint64_t ver = ++c->ver;
	int n = 2 + (int)dkvt_below(&c->r, 5);
	daxkv_batch_clear(c->b);
	for (int j = 0; j < n; j++) {
		int dup;
		do { /* distinct keys: the per-key intent/acked stay simple */
			keys[j] = (uint32_t)(c->w * PER) + (uint32_t)dkvt_below(&c->r, PER);
			dup = 0;
			for (int i = 0; i < j; i++)
				dup |= keys[i] == keys[j];
		} while (dup);
		del[j] = dkvt_below(&c->r, 4) == 0;
		size_t kl = dkvt_key(keys[j], k);
		int rc;
		if (del[j]) {
			rc = daxkv_batch_delete(c->b, k, kl);
		} else {
			size_t vl = vlen_for(keys[j], ver);
			dkvt_vmake(v, vl, keys[j], (uint32_t)c->w | BATCH_FLAG, ver);
			rc = daxkv_batch_put(c->b, k, kl, v, vl);
		}
		if (rc != DAXKV_OK) {
			terr("writer %d batch op: %s", c->w, daxkv_strerror(rc));
			return;
		}
	}
	struct bent *be = &btab[c->w][ver % BRING];
	atomic_store(&be->ver, 0);
	atomic_store(&be->n, (uint32_t)n);
	for (int j = 0; j < n; j++) {
		atomic_store(&be->key[j], keys[j]);
		atomic_store(&be->del[j], (uint32_t)del[j]);
	}
	atomic_store(&be->ver, ver);
	for (int j = 0; j < n; j++)
		atomic_store(&intent[keys[j]], ver);
	int rc, tries = 0;
	while (retry_nospc(rc = daxkv_write(db, c->b)) && tries++ < 10000)
		;
	if (rc != DAXKV_OK) {
		terr("writer %d batch write: %s (%s)", c->w, daxkv_strerror(rc), daxkv_errmsg());
		return;
	}
	for (int j = 0; j < n; j++) {
		atomic_store(&acked[keys[j]], ver << 1 | (uint64_t)del[j]);
		c->present[keys[j]] = (uint8_t)!del[j];
		last[c->w][keys[j]] = (struct last_op){ver, del[j], 1};
	}
	atomic_fetch_add(&n_batch, 1);
}

static void *writer_main(void *arg)
{
	struct wctx *c = arg;
	if (daxkv_batch_new(&c->b) != DAXKV_OK) {
		terr("batch_new");
		pthread_barrier_wait(&start_line);
		return NULL;
	}
	pthread_barrier_wait(&start_line);
	while (!atomic_load(&stop) && atomic_load(&errors) == 0) {
		unsigned x = (unsigned)dkvt_below(&c->r, 100);
		uint32_t own = (uint32_t)(c->w * PER) + (uint32_t)dkvt_below(&c->r, PER);
		uint32_t hot = NWRITERS * PER + (uint32_t)dkvt_below(&c->r, HOT);
		if (x < 12)
			w_put(c, hot, 0);
		else if (x < 15)
			w_del(c, hot, 0);
		else if (x < 80)
			w_put(c, own, 1);
		else if (x < 92)
			w_del(c, own, 1);
		else
			w_batch(c);
	}
	daxkv_batch_free(c->b);
	return NULL;
}

/* ---- readers ------------------------------------------------------------------ */

/* Checks a value read for key; returns its version or 0 (error reported);
 * *batch (if not NULL) tells whether a batch wrote it. */
static uint64_t check_value(const void *v, size_t vl, uint32_t key, const char *who, int *batch)
{
	uint32_t id, writer;
	uint64_t ver;
	if (dkvt_vcheck(v, vl, &id, &writer, &ver) != 0) {
		terr("%s: key %u: torn or corrupt value (len %zu)", who, key, vl);
		return 0;
	}
	if (batch)
		*batch = (writer & BATCH_FLAG) != 0;
	writer &= ~BATCH_FLAG;
	int owner = owner_of(key);
	if (id != key || (owner >= 0 && (int)writer != owner) || writer >= NWRITERS ||
	    vl != vlen_for(key, ver)) {
		terr("%s: key %u: value of key %u writer %u", who, key, id, writer);
		return 0;
	}
	return ver;
}

/* The linearizability rule for an own-range key: a = acked before the read,
 * i = intent after it; ver the version read (0: absent). */
static void check_linear(uint32_t key, uint64_t a, uint64_t i, uint64_t ver, const char *who)
{
	uint64_t aver = a >> 1;
	int adel = (int)(a & 1);
	if (ver) {
		if (ver < aver || (ver == aver && adel) || ver > i)
			terr("%s: key %u read version %" PRIu64 " (acked %" PRIu64 "%s before, intent %" PRIu64
			     " after)",
			     who, key, ver, aver, adel ? " delete" : "", i);
	} else if (a && !adel && i <= aver) {
		terr("%s: key %u absent although put %" PRIu64 " was acknowledged and nothing newer "
		     "started",
		     who, key, aver);
	}
}

static void *reader_main(void *arg)
{
	int id = *(int *)arg;
	struct dkvt_rng r;
	dkvt_rng_seed(&r, 1000 + (uint64_t)id);
	uint64_t *seen = calloc(NKEYS, sizeof(uint64_t));
	uint8_t buf[VMAXLEN + 16];
	char k[DKVT_KEYBUF], who[32];
	snprintf(who, sizeof(who), "reader %d", id);
	pthread_barrier_wait(&start_line);
	while (!atomic_load(&stop) && atomic_load(&errors) == 0 && seen) {
		uint32_t key = (uint32_t)dkvt_below(&r, NKEYS);
		int own = owner_of(key) >= 0;
		size_t kl = dkvt_key(key, k), vl = 0;
		uint64_t a = own ? atomic_load(&acked[key]) : 0;
		int rc = daxkv_get(db, k, kl, buf, sizeof(buf), &vl);
		uint64_t i = own ? atomic_load(&intent[key]) : 0;
		atomic_fetch_add(&n_get, 1);
		uint64_t ver = 0;
		if (rc == DAXKV_OK) {
			if (vl > sizeof(buf)) {
				terr("%s: key %u: length %zu", who, key, vl);
				break;
			}
			ver = check_value(buf, vl, key, who, NULL);
			if (ver == 0)
				break;
		} else if (rc != DAXKV_ENOTFOUND) {
			terr("%s: get key %u: %s", who, key, daxkv_strerror(rc));
			break;
		}
		if (!own)
			continue;
		check_linear(key, a, i, ver, who);
		if (ver) {
			if (ver < seen[key])
				terr("%s: key %u went back from version %" PRIu64 " to %" PRIu64, who, key,
				     seen[key], ver);
			seen[key] = ver;
		}
	}
	free(seen);
	return NULL;
}

/* ---- iterator ------------------------------------------------------------------ */

/* Where the iteration shows key A at the version v of a batch, each other key
 * B of that batch must show v or something newer: B at a version < v means
 * the snapshot holds part of the batch.  (B absent where the batch put it is
 * fine only if a newer op on B had started by the end of the walk.) */
static void check_batches(const uint8_t *hit, const uint64_t *got, const uint8_t *inb,
			  const uint64_t *i1)
{
	for (uint32_t a = 0; a < NWRITERS * PER; a++) {
		if (!hit[a] || !inb[a])
			continue;
		uint64_t v = got[a];
		struct bent *be = &btab[owner_of(a)][v % BRING];
		uint32_t keys[6], del[6];
		if (atomic_load(&be->ver) != v)
			continue; /* reused since */
		uint32_t n = atomic_load(&be->n);
		if (n > 6)
			continue;
		for (uint32_t j = 0; j < n; j++) {
			keys[j] = atomic_load(&be->key[j]);
			del[j] = atomic_load(&be->del[j]);
		}
		if (atomic_load(&be->ver) != v)
			continue;
		for (uint32_t j = 0; j < n; j++) {
			uint32_t b = keys[j];
			if (b == a || b >= NWRITERS * PER)
				continue;
			int bad = hit[b] ? got[b] < v : (!del[j] && i1[b] <= v);
			if (bad) {
				terr("iterator: batch %" PRIu64 " of writer %d seen on key %u but key %u "
				     "shows %s (partial batch in a snapshot)",
				     v, owner_of(a), a, b, hit[b] ? "an older version" : "nothing");
				return;
			}
		}
	}
}

static void *iter_main(void *arg)
{
	(void)arg;
	uint64_t *a0 = calloc(NKEYS, sizeof(uint64_t));
	uint64_t *got = calloc(NKEYS, sizeof(uint64_t));
	uint8_t *hit = calloc(NKEYS, 1);
	uint8_t *inb = calloc(NKEYS, 1);
	uint64_t *i1 = calloc(NKEYS, sizeof(uint64_t));
	char prev[DKVT_KEYBUF];
	struct dkvt_rng r;
	dkvt_rng_seed(&r, 77);
	pthread_barrier_wait(&start_line);
	while (!atomic_load(&stop) && atomic_load(&errors) == 0 && a0 && got && hit && inb && i1) {
		for (uint32_t k = 0; k < NWRITERS * PER; k++)
			a0[k] = atomic_load(&acked[k]);
		memset(hit, 0, NKEYS);
		daxkv_iter *it = NULL;
		if (daxkv_iter_new(db, &it) != DAXKV_OK) {
			terr("iter_new");
			break;
		}
		size_t prevlen = 0;
		unsigned n = 0;
		for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it), n++) {
			size_t kl, vl;
			const void *kp = daxkv_iter_key(it, &kl);
			const void *vp = daxkv_iter_value(it, &vl);
			long id = dkvt_key_id(kp, kl);
			if (id < 0 || id >= NKEYS) {
				terr("iterator: unknown key (len %zu)", kl);
				break;
			}
			if (n > 0 && dkvt_keycmp(prev, prevlen, kp, kl) >= 0) {
				terr("iterator: out of order at entry %u", n);
				break;
			}
			memcpy(prev, kp, kl);
			prevlen = kl;
			if (hit[id]++) {
				terr("iterator: key %ld twice", id);
				break;
			}
			int isb = 0;
			got[id] = check_value(vp, vl, (uint32_t)id, "iterator", &isb);
			inb[id] = (uint8_t)isb;
			if (got[id] == 0)
				break;
		}
		int ok = daxkv_iter_status(it) == DAXKV_OK;
		/* a seek lands on the first key >= target */
		uint32_t target = (uint32_t)dkvt_below(&r, NKEYS);
		char tk[DKVT_KEYBUF];
		size_t tkl = dkvt_key(target, tk);
		daxkv_iter_seek(it, tk, tkl);
		if (daxkv_iter_valid(it)) {
			size_t kl;
			const void *kp = daxkv_iter_key(it, &kl);
			if (dkvt_keycmp(kp, kl, tk, tkl) < 0)
				terr("iterator: seek landed before its target");
		}
		daxkv_iter_free(it);
		if (!ok)
			terr("iterator status not OK");
		if (atomic_load(&errors))
			break;
		/* snapshot rule per own key: as of a moment between a0 and now */
		for (uint32_t k = 0; k < NWRITERS * PER; k++) {
			i1[k] = atomic_load(&intent[k]);
			check_linear(k, a0[k], i1[k], hit[k] ? got[k] : 0, "iterator");
		}
		check_batches(hit, got, inb, i1);
		atomic_fetch_add(&n_iter, 1);
	}
	free(a0);
	free(got);
	free(hit);
	free(inb);
	free(i1);
	return NULL;
}

static void *gc_main(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start_line);
	while (!atomic_load(&stop) && atomic_load(&errors) == 0) {
		int rc = daxkv_gc(db);
		if (rc == DAXKV_EBUSY)
			atomic_fetch_add(&n_gc_busy, 1);
		else if (rc == DAXKV_OK)
			atomic_fetch_add(&n_gc, 1);
		else
			terr("daxkv_gc: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
		usleep(50 * 1000);
	}
	return NULL;
}

/* ---- final state ---------------------------------------------------------------- */

static unsigned check_final(uint64_t *nkeys)
{
	uint8_t buf[VMAXLEN + 16];
	char k[DKVT_KEYBUF];
	unsigned bad = 0;
	uint64_t present = 0;
	for (uint32_t key = 0; key < NKEYS; key++) {
		size_t vl = 0;
		int rc = daxkv_get(db, k, dkvt_key(key, k), buf, sizeof(buf), &vl);
		uint32_t id, writer = 0;
		uint64_t ver = 0;
		if (rc == DAXKV_OK &&
		    (vl > sizeof(buf) || dkvt_vcheck(buf, vl, &id, &writer, &ver) != 0 || id != key ||
		     (writer & ~BATCH_FLAG) >= NWRITERS)) {
			fprintf(stderr, "final: key %u: bad value\n", key);
			bad++;
			continue;
		}
		if (rc != DAXKV_OK && rc != DAXKV_ENOTFOUND) {
			fprintf(stderr, "final: key %u: %s\n", key, daxkv_strerror(rc));
			bad++;
			continue;
		}
		present += rc == DAXKV_OK;
		int owner = owner_of(key);
		if (owner >= 0) {
			const struct last_op *l = &last[owner][key];
			int want_present = l->any && !l->del;
			if ((rc == DAXKV_OK) != want_present || (want_present && ver != l->ver)) {
				fprintf(stderr, "final: key %u: store %s %" PRIu64 ", last ack %s %" PRIu64 "\n",
					key, rc == DAXKV_OK ? "has" : "lacks", ver,
					l->any ? (l->del ? "delete" : "put") : "none", l->ver);
				bad++;
			}
			continue;
		}
		/* hot key: the effect of some writer's last op on it */
		int match = 0, touched = 0;
		for (int w = 0; w < NWRITERS; w++) {
			const struct last_op *l = &last[w][key];
			touched |= l->any;
			if (rc == DAXKV_OK)
				match |= l->any && !l->del && (int)writer == w && l->ver == ver;
			else
				match |= l->any && l->del;
		}
		if (rc != DAXKV_OK && !touched)
			match = 1;
		if (!match) {
			fprintf(stderr, "final: hot key %u: %s (writer %u ver %" PRIu64
					") is no writer's last op\n",
				key, rc == DAXKV_OK ? "value" : "absent", writer, ver);
			bad++;
		}
	}
	*nkeys = present;
	return bad;
}

static void test_concurrent(void)
{
	char path[256];
	dkvt_path(path, sizeof(path), "conc");
	dkvt_remove(path);
	daxkv_options o = dkvt_opts(64 * DKVT_MIB, DKVT_MIB, 1, 1);
	int rc = daxkv_open(path, &o, &db);
	if (rc != DAXKV_OK)
		fprintf(stderr, "open: %s (%s)\n", daxkv_strerror(rc), daxkv_errmsg());
	CU_ASSERT_EQUAL_FATAL(rc, DAXKV_OK);

	long secs = dkvt_env_long("DAXKV_CONC_SECONDS", 2);
	enum { NT = NWRITERS + NREADERS + 2 };
	pthread_t th[NT];
	static struct wctx wc[NWRITERS];
	int rid[NREADERS];
	CU_ASSERT_EQUAL_FATAL(pthread_barrier_init(&start_line, NULL, NT + 1), 0);
	int t = 0;
	for (int w = 0; w < NWRITERS; w++) {
		memset(&wc[w], 0, sizeof(wc[w]));
		wc[w].w = w;
		dkvt_rng_seed(&wc[w].r, 500 + (uint64_t)w);
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t++], NULL, writer_main, &wc[w]), 0);
	}
	for (int i = 0; i < NREADERS; i++) {
		rid[i] = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t++], NULL, reader_main, &rid[i]), 0);
	}
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t++], NULL, iter_main, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t++], NULL, gc_main, NULL), 0);
	double t0 = dkvt_now();
	pthread_barrier_wait(&start_line);
	while (dkvt_now() - t0 < (double)secs && atomic_load(&errors) == 0)
		usleep(10 * 1000);
	atomic_store(&stop, 1);
	for (int i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start_line);

	printf("\n  concurrency: %.1f s: %" PRIu64 " puts, %" PRIu64 " deletes, %" PRIu64
	       " batches, %" PRIu64 " gets, %" PRIu64 " iterations, gc %" PRIu64 " (+%" PRIu64
	       " busy), ENOSPC retries %" PRIu64 "\n",
	       dkvt_now() - t0, atomic_load(&n_put), atomic_load(&n_del), atomic_load(&n_batch),
	       atomic_load(&n_get), atomic_load(&n_iter), atomic_load(&n_gc), atomic_load(&n_gc_busy),
	       atomic_load(&n_nospc));
	if (atomic_load(&errors))
		fprintf(stderr, "first error of %lu: %s\n", atomic_load(&errors), first_err);
	CU_ASSERT_EQUAL(atomic_load(&errors), 0);
	CU_ASSERT(atomic_load(&n_put) > 0 && atomic_load(&n_get) > 0 && atomic_load(&n_iter) > 0);

	for (int round = 0; round < 2; round++) {
		uint64_t nkeys = 0;
		CU_ASSERT_EQUAL(check_final(&nkeys), 0);
		char msg[512] = "";
		rc = dkv_test_check(db, msg, sizeof(msg));
		if (rc != 0)
			fprintf(stderr, "dkv_test_check: %s\n", msg);
		CU_ASSERT_EQUAL(rc, 0);
		daxkv_stats st;
		memset(&st, 0, sizeof(st));
		CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
		CU_ASSERT_EQUAL(st.keys, nkeys);
		CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
		db = NULL;
		if (round == 0) {
			o.create = 0;
			rc = daxkv_open(path, &o, &db);
			CU_ASSERT_EQUAL_FATAL(rc, DAXKV_OK);
			CU_ASSERT_EQUAL(dkv_test_was_clean(db), 1);
		}
	}
	dkvt_remove(path);
}

static const struct dkvt_test conc_tests[] = {
	{"writers_readers_iterator_gc", test_concurrent},
	{NULL, NULL},
};
static const struct dkvt_suite suites[] = {
	{"concurrency", conc_tests},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
