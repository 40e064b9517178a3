/*
 * test_kill.c -- SIGKILL a writer at random points, reopen, verify
 * (WiredTiger's random_abort test).
 *
 * Each cycle forks a child that opens the pool (background GC on, the two
 * victim policies in alternate cycles, so kills land inside relocation and
 * reclamation too) and runs
 * random puts, overwrites, deletes, batches and GC passes from 1 or 2 writer
 * threads on disjoint key ranges.  Before each operation the child logs its
 * intent, and only after the call returned OK (or ENOTFOUND for a delete of an
 * absent key) marks it acknowledged, in a MAP_SHARED log the parent reads.
 * The parent SIGKILLs the child after 0.5..30 ms (randomised to the
 * microsecond; one cycle in eight counts from the fork, so some kills land in
 * open/recovery), reopens the pool and checks:
 *   - open succeeds (recovery) and dkv_test_check() passes;
 *   - every acknowledged operation's effect is present: each key holds the
 *     latest acknowledged version, or is absent after an acknowledged delete;
 *   - the one operation in flight per thread is all or nothing (a batch too);
 *   - no value is torn (values carry key id, version, length and a checksum);
 *   - an iteration sees exactly the model, in order; stats.keys agrees;
 *   - no node leaks: nodes >= keys, and after daxkv_gc() nodes == keys;
 *   - space: per-segment live bytes equal a recount from the index, the free
 *     list is sound, and after daxkv_gc() no sealed segment holding nothing
 *     live is left behind (no segment leaks).
 * The pool carries over from cycle to cycle, so state accumulates.
 *
 * DAXKV_CRASH_CYCLES (default 60) cycles per variant; DAXKV_CRASH_SEED.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "common/dkvtest.h"
#include "tests/hooks/testhooks.h"

#define NKEYS 1024
#define MAXB 8
#define MAXT 2
#define LOGCAP (1u << 17)
#define POOL (32 * DKVT_MIB)

enum { K_PUT = 1, K_DEL = 2, K_BATCH = 3 };
enum { S_EMPTY = 0, S_INTENT = 1, S_ACKED = 2 };

struct logent {
	_Atomic uint32_t state;
	uint8_t kind;
	uint8_t n;
	uint8_t delmask; /* bit i: op i of a batch is a delete */
	uint8_t pad;
	uint64_t ver;
	uint32_t key[MAXB];
};

struct tlog {
	_Atomic uint64_t count;
	struct logent e[LOGCAP];
};

struct shared {
	_Atomic int opened;
	_Atomic int error;
	char errmsg[512];
	uint32_t cycle;
	uint64_t seed;
	int nthreads;
	_Atomic uint64_t gc_runs; /* segments the child's GC freed (seen so far) */
	uint8_t present[NKEYS]; /* the model at fork time */
	struct tlog log[MAXT];
};

static struct shared *sh;

struct kstate {
	uint8_t present;
	uint64_t ver;
};

static struct kstate model[NKEYS];
static char pool_path[256];

static size_t vlen_of(uint32_t key, uint64_t ver)
{
	return DKVT_VHDR + dkvt_mix64(((uint64_t)key << 40) ^ ver) % 1200;
}

/* ---- the child ------------------------------------------------------------------- */

__attribute__((format(printf, 1, 2), noreturn)) static void child_die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sh->errmsg, sizeof(sh->errmsg), fmt, ap);
	va_end(ap);
	atomic_store(&sh->error, 1);
	_exit(3);
}

struct writer {
	daxkv *db;
	int t;
};

static int with_space(daxkv *db, int rc_first, int (*again)(void *), void *arg)
{
	int rc = rc_first;
	for (int tries = 0; rc == DAXKV_ENOSPC && tries < 20; tries++) {
		int g = daxkv_gc(db);
		if (g == DAXKV_EBUSY)
			usleep(1000);
		rc = again(arg);
	}
	return rc;
}

struct op_args {
	daxkv *db;
	const char *k;
	size_t kl;
	const void *v;
	size_t vl;
	daxkv_batch *b;
};

static int again_put(void *a)
{
	struct op_args *o = a;
	return daxkv_put(o->db, o->k, o->kl, o->v, o->vl);
}

static int again_del(void *a)
{
	struct op_args *o = a;
	return daxkv_delete(o->db, o->k, o->kl);
}

static int again_write(void *a)
{
	struct op_args *o = a;
	return daxkv_write(o->db, o->b);
}

static uint32_t pick_key(struct dkvt_rng *r, int t, int nthreads)
{
	return (uint32_t)(dkvt_below(r, NKEYS / nthreads) * (uint64_t)nthreads + (uint64_t)t);
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	int nt = sh->nthreads;
	struct tlog *log = &sh->log[w->t];
	struct dkvt_rng r;
	static __thread uint8_t v[DKVT_VHDR + 1200];
	uint8_t present[NKEYS];
	char k[DKVT_KEYBUF];
	memcpy(present, sh->present, sizeof(present));
	dkvt_rng_seed(&r, sh->seed ^ ((uint64_t)sh->cycle << 20) ^ (uint64_t)w->t);
	daxkv_batch *b = NULL;
	if (daxkv_batch_new(&b) != DAXKV_OK)
		child_die("batch_new failed");

	daxkv_stats st0;
	if (daxkv_stats_get(w->db, &st0) != DAXKV_OK)
		child_die("stats failed");
	for (uint32_t i = 0;; i++) { /* i: the log entry of the next write */
		if (i >= LOGCAP) { /* log full: wait for the kill */
			for (;;)
				pause();
		}
		daxkv_stats st;
		if (w->t == 0 && (i & 255) == 0 && daxkv_stats_get(w->db, &st) == DAXKV_OK)
			atomic_store(&sh->gc_runs, st.gc_runs - st0.gc_runs);
		unsigned x = (unsigned)dkvt_below(&r, 1000);
		if (x >= 990) { /* a GC pass, racing the background one */
			int g = daxkv_gc(w->db);
			if (g != DAXKV_OK && g != DAXKV_EBUSY)
				child_die("daxkv_gc: %s (%s)", daxkv_strerror(g), daxkv_errmsg());
			i--; /* not logged: GC changes no key */
			continue;
		}
		struct logent *e = &log->e[i];
		e->ver = ((uint64_t)sh->cycle << 32) | (i + 1);
		e->delmask = 0;
		if (x < 550) {
			e->kind = K_PUT;
			e->n = 1;
			e->key[0] = pick_key(&r, w->t, nt);
		} else if (x < 780) {
			e->kind = K_DEL;
			e->n = 1;
			e->key[0] = pick_key(&r, w->t, nt);
			for (int tries = 0; tries < 4 && !present[e->key[0]]; tries++)
				e->key[0] = pick_key(&r, w->t, nt);
		} else {
			e->kind = K_BATCH;
			e->n = (uint8_t)(2 + dkvt_below(&r, MAXB - 1));
			for (int j = 0; j < e->n; j++) {
				e->key[j] = pick_key(&r, w->t, nt);
				if (dkvt_below(&r, 4) == 0)
					e->delmask |= (uint8_t)(1u << j);
			}
		}
		atomic_store(&log->count, (uint64_t)i + 1);
		atomic_store(&e->state, S_INTENT);

		struct op_args a = {.db = w->db};
		int rc, want = DAXKV_OK;
		if (e->kind == K_PUT) {
			a.kl = dkvt_key(e->key[0], k);
			a.k = k;
			a.vl = vlen_of(e->key[0], e->ver);
			dkvt_vmake(v, a.vl, e->key[0], (uint32_t)w->t, e->ver);
			a.v = v;
			rc = with_space(w->db, again_put(&a), again_put, &a);
		} else if (e->kind == K_DEL) {
			a.kl = dkvt_key(e->key[0], k);
			a.k = k;
			want = present[e->key[0]] ? DAXKV_OK : DAXKV_ENOTFOUND;
			rc = with_space(w->db, again_del(&a), again_del, &a);
		} else {
			daxkv_batch_clear(b);
			for (int j = 0; j < e->n; j++) {
				size_t kl = dkvt_key(e->key[j], k);
				int brc;
				if (e->delmask & (1u << j)) {
					brc = daxkv_batch_delete(b, k, kl);
				} else {
					size_t vl = vlen_of(e->key[j], e->ver);
					dkvt_vmake(v, vl, e->key[j], (uint32_t)w->t, e->ver);
					brc = daxkv_batch_put(b, k, kl, v, vl);
				}
				if (brc != DAXKV_OK)
					child_die("batch op: %s", daxkv_strerror(brc));
			}
			a.b = b;
			rc = with_space(w->db, again_write(&a), again_write, &a);
		}
		if (rc != want)
			child_die("op %u kind %d key %u: %s (%s), expected %s", i, e->kind, e->key[0],
				  daxkv_strerror(rc), daxkv_errmsg(), daxkv_strerror(want));
		for (int j = 0; j < e->n; j++)
			present[e->key[j]] = !(e->kind == K_DEL || (e->delmask & (1u << j)));
		atomic_store(&e->state, S_ACKED);
	}
	return NULL;
}

static void child_main(void)
{
	daxkv_options o = dkvt_opts(POOL, DKVT_MIB, 0, 1);
	/* background GC on, each victim policy in turn */
	o.gc_policy = (sh->cycle & 1) ? DAXKV_GC_RATIO : DAXKV_GC_COST_BENEFIT;
	daxkv *db = NULL;
	int rc = daxkv_open(pool_path, &o, &db);
	if (rc != DAXKV_OK)
		child_die("child open: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
	atomic_store(&sh->opened, 1);
	struct writer w[MAXT];
	pthread_t th[MAXT];
	for (int t = 0; t < sh->nthreads; t++) {
		w[t].db = db;
		w[t].t = t;
		if (t > 0 && pthread_create(&th[t], NULL, writer_main, &w[t]) != 0)
			child_die("pthread_create");
	}
	writer_main(&w[0]);
	_exit(4);
}

/* ---- the parent -------------------------------------------------------------------- */

static struct {
	unsigned failures;
	uint64_t acked, inflight_applied, inflight_absent, inflight_none, open_kills, gc_runs;
} res;

__attribute__((format(printf, 2, 3))) static void vfail(int cycle, const char *fmt, ...)
{
	va_list ap;
	if (res.failures++ >= 10)
		return;
	fprintf(stderr, "\ncycle %d: ", cycle);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The state of key in the store: 1 read ok (*st filled), 0 a failure. */
static int observe(daxkv *db, uint32_t key, struct kstate *st, int cycle)
{
	static uint8_t buf[DKVT_VHDR + 1300];
	char k[DKVT_KEYBUF];
	size_t vlen = 0;
	int rc = daxkv_get(db, k, dkvt_key(key, k), buf, sizeof(buf), &vlen);
	if (rc == DAXKV_ENOTFOUND) {
		st->present = 0;
		st->ver = 0;
		return 1;
	}
	if (rc != DAXKV_OK) {
		vfail(cycle, "get key %u: %s (%s)", key, daxkv_strerror(rc), daxkv_errmsg());
		return 0;
	}
	uint32_t id;
	uint64_t ver;
	if (vlen > sizeof(buf) || dkvt_vcheck(buf, vlen, &id, NULL, &ver) != 0 || id != key ||
	    vlen != vlen_of(key, ver)) {
		vfail(cycle, "key %u: torn or foreign value (len %zu)", key, vlen);
		return 0;
	}
	st->present = 1;
	st->ver = ver;
	return 1;
}

static void apply(struct kstate *m, const struct logent *e)
{
	for (int j = 0; j < e->n; j++) {
		uint32_t key = e->key[j];
		if (e->kind == K_DEL || (e->delmask & (1u << j))) {
			m[key].present = 0;
			m[key].ver = 0;
		} else {
			m[key].present = 1;
			m[key].ver = e->ver;
		}
	}
}

static int same(const struct kstate *a, const struct kstate *b)
{
	return a->present == b->present && (!a->present || a->ver == b->ver);
}

/* The in-flight op: the store must show all of it or none of it. */
static void resolve_inflight(daxkv *db, const struct logent *e, int cycle)
{
	static struct kstate applied[NKEYS];
	memcpy(applied, model, sizeof(model));
	apply(applied, e);
	int all_a = 1, all_n = 1;
	for (int j = 0; j < e->n; j++) {
		struct kstate o;
		uint32_t key = e->key[j];
		if (!observe(db, key, &o, cycle))
			return;
		all_a &= same(&o, &applied[key]);
		all_n &= same(&o, &model[key]);
	}
	if (all_a && !all_n) {
		memcpy(model, applied, sizeof(model));
		res.inflight_applied++;
	} else if (all_n) {
		res.inflight_absent++;
	} else {
		vfail(cycle, "op in flight (kind %d, %d keys, ver %" PRIx64 ") partly applied",
		      e->kind, e->n, e->ver);
		for (int j = 0; j < e->n; j++) {
			struct kstate o;
			uint32_t key = e->key[j];
			if (observe(db, key, &o, cycle))
				fprintf(stderr, "  key %u: store %d/%" PRIx64 ", before %d/%" PRIx64
						", after %d/%" PRIx64 "\n",
					key, o.present, o.ver, model[key].present, model[key].ver,
					applied[key].present, applied[key].ver);
		}
		memcpy(model, applied, sizeof(model)); /* go on from something */
	}
}

static unsigned verify_all(daxkv *db, int cycle)
{
	unsigned bad = 0, nmodel = 0;
	for (uint32_t key = 0; key < NKEYS; key++) {
		struct kstate o;
		nmodel += model[key].present;
		if (!observe(db, key, &o, cycle)) {
			bad++;
			continue;
		}
		if (!same(&o, &model[key])) {
			bad++;
			vfail(cycle, "key %u: store %s ver %" PRIx64 ", acknowledged %s ver %" PRIx64, key,
			      o.present ? "has" : "lacks", o.ver, model[key].present ? "put" : "delete",
			      model[key].ver);
		}
	}
	/* one ordered walk sees exactly the model */
	daxkv_iter *it = NULL;
	if (daxkv_iter_new(db, &it) != DAXKV_OK) {
		vfail(cycle, "iter_new failed");
		return bad + 1;
	}
	unsigned n = 0;
	char prev[DKVT_KEYBUF];
	size_t prevlen = 0;
	for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it), n++) {
		size_t kl, vl;
		const void *kp = daxkv_iter_key(it, &kl);
		const void *vp = daxkv_iter_value(it, &vl);
		long id = dkvt_key_id(kp, kl);
		uint32_t vid;
		uint64_t ver;
		if (id < 0 || id >= NKEYS || dkvt_vcheck(vp, vl, &vid, NULL, &ver) != 0 ||
		    vid != (uint32_t)id || !model[id].present || model[id].ver != ver) {
			bad++;
			vfail(cycle, "iterator entry %u (key id %ld) does not match the model", n, id);
		}
		if (n > 0 && dkvt_keycmp(prev, prevlen, kp, kl) >= 0) {
			bad++;
			vfail(cycle, "iterator out of order at entry %u", n);
		}
		if (kl < sizeof(prev)) {
			memcpy(prev, kp, kl);
			prevlen = kl;
		}
	}
	if (daxkv_iter_status(it) != DAXKV_OK)
		bad++;
	daxkv_iter_free(it);
	if (n != nmodel) {
		bad++;
		vfail(cycle, "iterator saw %u keys, model has %u", n, nmodel);
	}
	daxkv_stats st;
	memset(&st, 0, sizeof(st));
	if (daxkv_stats_get(db, &st) != DAXKV_OK || st.keys != nmodel) {
		bad++;
		vfail(cycle, "stats.keys %" PRIu64 ", model has %u", st.keys, nmodel);
	}
	return bad;
}

static void check_struct(daxkv *db, int cycle, const char *when)
{
	char msg[512] = "";
	if (dkv_test_check(db, msg, sizeof(msg)) != 0)
		vfail(cycle, "dkv_test_check (%s): %s", when, msg);
	uint64_t empty = 0;
	if (dkv_test_space_check(db, msg, sizeof(msg), &empty) != 0)
		vfail(cycle, "space accounting (%s): %s", when, msg);
	else if (strstr(when, "gc") && empty)
		vfail(cycle, "%" PRIu64 " sealed segments with nothing live after GC (leak)", empty);
}

static void verify_cycle(int cycle, int nthreads)
{
	const struct logent *inflight[MAXT] = {NULL};
	uint64_t acked_now = 0;
	for (int t = 0; t < nthreads; t++) {
		struct tlog *log = &sh->log[t];
		uint64_t n = atomic_load(&log->count);
		for (uint64_t i = 0; i < n; i++) {
			const struct logent *e = &log->e[i];
			uint32_t s = atomic_load(&e->state);
			if (s == S_ACKED) {
				apply(model, e);
				acked_now++;
			} else if (s == S_INTENT && i == n - 1) {
				inflight[t] = e;
			} else if (!(s == S_EMPTY && i == n - 1)) {
				vfail(cycle, "log of thread %d: entry %" PRIu64 "/%" PRIu64 " in state %u",
				      t, i, n, s);
			}
		}
	}
	res.acked += acked_now;

	daxkv_options o = dkvt_opts(POOL, DKVT_MIB, 0, 0);
	daxkv *db = NULL;
	int rc = daxkv_open(pool_path, &o, &db);
	if (rc != DAXKV_OK) {
		vfail(cycle, "open after kill: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
		return;
	}
	if (acked_now > 0 && dkv_test_was_clean(db) != 0)
		vfail(cycle, "open after a kill mid-writes reports a clean shutdown");
	check_struct(db, cycle, "after recovery");

	int any = 0;
	for (int t = 0; t < nthreads; t++)
		if (inflight[t]) {
			resolve_inflight(db, inflight[t], cycle);
			any = 1;
		}
	if (!any)
		res.inflight_none++;

	unsigned bad = verify_all(db, cycle);
	uint64_t keys = 0;
	for (uint32_t k = 0; k < NKEYS; k++)
		keys += model[k].present;
	uint64_t nodes = dkv_test_nodes_allocated(db);
	if (nodes < keys)
		vfail(cycle, "%" PRIu64 " nodes allocated for %" PRIu64 " keys", nodes, keys);

	rc = daxkv_gc(db);
	if (rc != DAXKV_OK)
		vfail(cycle, "daxkv_gc after recovery: %s (%s)", daxkv_strerror(rc), daxkv_errmsg());
	nodes = dkv_test_nodes_allocated(db);
	if (nodes != keys)
		vfail(cycle, "after gc: %" PRIu64 " nodes allocated for %" PRIu64 " keys (leak)", nodes,
		      keys);
	if (!bad)
		bad += verify_all(db, cycle);
	check_struct(db, cycle, "after gc");
	rc = daxkv_close(db);
	if (rc != DAXKV_OK)
		vfail(cycle, "close: %s", daxkv_strerror(rc));
}

static void run_kill(int nthreads, const char *tag)
{
	long cycles = dkvt_env_long("DAXKV_CRASH_CYCLES", 60);
	uint64_t seed = (uint64_t)dkvt_env_long("DAXKV_CRASH_SEED", (long)time(NULL));
	struct dkvt_rng r;
	dkvt_rng_seed(&r, seed);
	memset(&res, 0, sizeof(res));
	memset(model, 0, sizeof(model));
	dkvt_path(pool_path, sizeof(pool_path), tag);
	dkvt_remove(pool_path);

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
		  -1, 0);
	CU_ASSERT_FATAL(sh != MAP_FAILED);
	sh->nthreads = nthreads;
	sh->seed = seed;

	daxkv_options o = dkvt_opts(POOL, DKVT_MIB, 1, 0);
	daxkv *db = NULL;
	int rc = daxkv_open(pool_path, &o, &db);
	if (rc != DAXKV_OK)
		fprintf(stderr, "create: %s (%s)\n", daxkv_strerror(rc), daxkv_errmsg());
	CU_ASSERT_EQUAL_FATAL(rc, DAXKV_OK);
	CU_ASSERT_EQUAL_FATAL(daxkv_close(db), DAXKV_OK);

	double t0 = dkvt_now();
	uint64_t used[MAXT] = {0};
	int c;
	for (c = 0; c < cycles && res.failures == 0; c++) {
		for (int t = 0; t < nthreads; t++) { /* clear what the last cycle used */
			memset(sh->log[t].e, 0, used[t] * sizeof(struct logent));
			atomic_store(&sh->log[t].count, 0);
		}
		atomic_store(&sh->opened, 0);
		atomic_store(&sh->error, 0);
		sh->errmsg[0] = '\0';
		sh->cycle = (uint32_t)c + 1;
		for (uint32_t k = 0; k < NKEYS; k++)
			sh->present[k] = model[k].present;
		int from_fork = dkvt_below(&r, 8) == 0;
		long delay_us = 500 + (long)dkvt_below(&r, 29501);

		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0)
			child_main();
		CU_ASSERT_FATAL(pid > 0);
		int status = 0, exited = 0;
		if (!from_fork) {
			double deadline = dkvt_now() + 30;
			while (!atomic_load(&sh->opened) && dkvt_now() < deadline) {
				if (waitpid(pid, &status, WNOHANG) == pid) {
					exited = 1;
					break;
				}
				usleep(50);
			}
		} else {
			res.open_kills++;
		}
		if (!exited) {
			struct timespec ts = {delay_us / 1000000, (delay_us % 1000000) * 1000};
			nanosleep(&ts, NULL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		if (atomic_load(&sh->error) || !WIFSIGNALED(status)) {
			vfail(c, "writer child ended by itself (status %#x): %s", status, sh->errmsg);
			break;
		}
		for (int t = 0; t < nthreads; t++)
			used[t] = atomic_load(&sh->log[t].count);
		res.gc_runs += atomic_load(&sh->gc_runs);
		atomic_store(&sh->gc_runs, 0);
		verify_cycle(c, nthreads);
	}
	printf("\n  kill[%d writer%s]: %d cycles in %.1f s, %" PRIu64
	       " acknowledged ops verified; in flight at the kill: %" PRIu64 " applied, %" PRIu64
	       " absent, %" PRIu64 " none; %" PRIu64 " kills timed from fork; %" PRIu64
	       " segments freed by the writers' background GC; seed %" PRIu64 "\n",
	       nthreads, nthreads > 1 ? "s" : "", c, dkvt_now() - t0, res.acked,
	       res.inflight_applied, res.inflight_absent, res.inflight_none, res.open_kills,
	       res.gc_runs, seed);
	CU_ASSERT_EQUAL(res.failures, 0);
	CU_ASSERT_EQUAL(c, cycles);
	CU_ASSERT(res.acked > 0);
	munmap(sh, sizeof(*sh));
	sh = NULL;
	dkvt_remove(pool_path);
}

static void test_kill_one_writer(void)
{
	run_kill(1, "kill-1");
}

static void test_kill_two_writers(void)
{
	run_kill(2, "kill-2");
}

static const struct dkvt_test kill_tests[] = {
	{"one_writer", test_kill_one_writer},
	{"two_writer_threads", test_kill_two_writers},
	{NULL, NULL},
};
static const struct dkvt_suite suites[] = {
	{"kill", kill_tests},
	{NULL, NULL},
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
