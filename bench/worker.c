/*
 * worker.c -- one worker thread: picks each operation of its workload, times it
 * and checks what it read.
 *
 * Operations and where they are counted:
 *   insert (unique)  randwrite/seqwrite/preload: key numbers from a shared walk of
 *                    [0, nrkeys) (a permutation, or in order); the walk's end ends
 *                    the job even when time_based                        -> write
 *   update           overwrite, randrw, YCSB A/B, key from key_dist       -> write
 *   read             randread, randrw, YCSB A-D/F: a hit is expected    -> read
 *   readmissing      a key between two loaded ones: a miss is expected   -> read
 *   scan             seek + scan_len nexts (YCSB E: 1..scan_len)         -> scan
 *   full scan        seqread: first key to the end                        -> scan
 *   delete           each loaded key once, in a shared random order       -> delete
 *   insert (new)     YCSB D/E: key numbers after the loaded ones          -> write
 *   read-modify-write YCSB F: a read then an update of the same key: one op in read
 *                    and one in write.
 * Each timed call sits between two mfences: x86 retires an sfence (the end of a
 * persist) before the flushed lines reach memory, and without the fence that wait
 * is charged to the next operation rather than to the put that caused it.
 */
#include "run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void timing_fence(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("mfence" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

enum key_dist job_key_dist(const struct job *j)
{
	if (j->key_dist_set)
		return j->key_dist;
	switch (j->rw) {
	case RW_YCSB_A:
	case RW_YCSB_B:
	case RW_YCSB_C:
	case RW_YCSB_E:
	case RW_YCSB_F: return KD_ZIPF;
	case RW_YCSB_D: return KD_LATEST;
	case RW_RANDWRITE:
	case RW_SEQWRITE:
	case RW_OVERWRITE:
	case RW_RANDREAD:
	case RW_READMISSING:
	case RW_RANDRW:
	case RW_SEQREAD:
	case RW_SCAN:
	case RW_DELETE:
	case RW__COUNT: break;
	}
	return KD_UNIFORM;
}

int rw_reads_existing(enum rw_kind rw)
{
	return rw != RW_RANDWRITE && rw != RW_SEQWRITE;
}

int rw_writes(enum rw_kind rw)
{
	return rw != RW_RANDREAD && rw != RW_READMISSING && rw != RW_SEQREAD && rw != RW_SCAN &&
	       rw != RW_YCSB_C;
}

int rw_needs_scan(enum rw_kind rw)
{
	return rw == RW_SEQREAD || rw == RW_SCAN || rw == RW_YCSB_E;
}

/* ---- per-thread state --------------------------------------------------------------- */

struct wctx {
	struct worker *w;
	struct pass *p;
	const struct job *j;
	void *tctx;
	char *key;
	uint8_t *val, *rbuf;
	size_t cap;
	struct keygen kg;
	struct rng rng;
};

static inline void relaxed_add(uint64_t *p, uint64_t n)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static void record(struct wctx *c, enum dir d, uint64_t ns, uint64_t bytes)
{
	struct worker *w = c->w;
	relaxed_add(&w->ops_all, 1);
	if (!atomic_load_explicit(&c->p->measuring, memory_order_relaxed))
		return;
	hist_record(w->h[d], ns);
	relaxed_add(&w->ops[d], 1);
	relaxed_add(&w->bytes[d], bytes);
}

static int engine_fail(struct wctx *c, const char *what)
{
	c->w->engine_errors++;
	if (!atomic_exchange(&c->p->stop, true))
		fprintf(stderr, "daxkv-bench: %s: %s %s: %s\n", c->p->ops->name, c->j->name, what,
			kv_errmsg());
	return -1;
}

/* A read found nothing, or the wrong thing, where a value was expected. */
static void verify_fail(struct wctx *c, uint64_t idx, const char *what)
{
	if (c->w->verify_errors++ < 3)
		fprintf(stderr, "daxkv-bench: %s: %s: key #%llu: VERIFY: %s\n", c->p->ops->name,
			c->j->name, (unsigned long long)idx, what);
}

/* ---- operations: 0 ok, 1 nothing left to do, -1 engine error ---------------------------- */

static int op_put(struct wctx *c, uint64_t idx)
{
	make_key(c->key, c->j->ks, idx, 0);
	value_stamp(c->val, c->j->bs, idx);
	timing_fence();
	uint64_t t0 = now_ns();
	int rc = c->p->ops->put(c->p->s->eng, c->tctx, idx, c->key, c->j->ks, c->val, c->j->bs);
	timing_fence();
	uint64_t t1 = now_ns();
	if (rc != KV_OK)
		return engine_fail(c, "put");
	record(c, DIR_WRITE, t1 - t0, c->j->ks + c->j->bs);
	return 0;
}

static int op_get(struct wctx *c, uint64_t idx, int missing)
{
	size_t vl = 0;
	make_key(c->key, c->j->ks, idx, missing);
	timing_fence();
	uint64_t t0 = now_ns();
	/* idx is a hint for the floor's DRAM index: a missing key has none. */
	int rc = c->p->ops->get(c->p->s->eng, c->tctx, missing ? UINT64_MAX : idx, c->key,
				c->j->ks, c->rbuf, c->cap, &vl);
	timing_fence();
	uint64_t t1 = now_ns();
	if (rc == KV_ERR)
		return engine_fail(c, "get");
	int hit = rc == KV_OK;
	record(c, DIR_READ, t1 - t0, c->j->ks + (hit ? vl : 0));
	if (!hit)
		relaxed_add(&c->w->not_found[DIR_READ], 1);
	if (missing) {
		if (hit)
			verify_fail(c, idx, "found a key that was never written");
		return 0;
	}
	/* Only keys of a complete load must be there (YCSB's newest inserts may be racing). */
	int must = c->p->s->loaded && idx < c->p->s->nrkeys && !(c->p->ops->caps & CAP_NOVERIFY);
	if (!hit && must)
		verify_fail(c, idx, "key not found");
	else if (hit && must && c->j->verify) {
		const char *bad = value_check(c->rbuf, vl, c->j->bs, idx);
		if (bad)
			verify_fail(c, idx, bad);
	}
	return 0;
}

static int op_scan(struct wctx *c, int have_start, uint64_t idx, uint64_t n)
{
	uint64_t got = 0;
	if (have_start)
		make_key(c->key, c->j->ks, idx, 0);
	timing_fence();
	uint64_t t0 = now_ns();
	int rc = c->p->ops->scan(c->p->s->eng, c->tctx, have_start ? c->key : NULL, c->j->ks, n,
				 &got);
	uint64_t t1 = now_ns();
	if (rc != KV_OK)
		return engine_fail(c, "scan");
	record(c, DIR_SCAN, t1 - t0, got * (c->j->ks + c->j->bs));
	if (atomic_load_explicit(&c->p->measuring, memory_order_relaxed))
		relaxed_add(&c->w->keys_scanned, got);
	return 0;
}

static int op_del(struct wctx *c, uint64_t idx)
{
	make_key(c->key, c->j->ks, idx, 0);
	timing_fence();
	uint64_t t0 = now_ns();
	int rc = c->p->ops->del(c->p->s->eng, c->tctx, c->key, c->j->ks);
	timing_fence();
	uint64_t t1 = now_ns();
	if (rc == KV_ERR)
		return engine_fail(c, "delete");
	record(c, DIR_DELETE, t1 - t0, c->j->ks);
	if (rc == KV_NOTFOUND) {
		relaxed_add(&c->w->not_found[DIR_DELETE], 1);
		if (c->p->s->loaded)
			verify_fail(c, idx, "delete: key not found");
	}
	return 0;
}

/* The next position of the shared unique walk, or 1 when it is over. */
static int walk_next(struct pass *p, uint64_t *idx, int in_order)
{
	uint64_t pos = atomic_fetch_add_explicit(&p->cursor, 1, memory_order_relaxed);
	if (pos >= p->s->nrkeys)
		return 1;
	*idx = in_order ? pos : perm_apply(&p->order, pos);
	return 0;
}

static int op_insert_new(struct wctx *c)
{
	uint64_t n = atomic_fetch_add_explicit(&c->p->s->inserted, 1, memory_order_relaxed);
	return op_put(c, c->p->s->nrkeys + n);
}

/* One operation of a mixed workload: reads (or scans) with probability pct_read. */
static int op_mixed(struct wctx *c, unsigned pct_read, int kind_other)
{
	int is_read = rng_next(&c->rng) % 100 < pct_read;
	uint64_t idx = keygen_next(&c->kg);
	if (c->p->rw == RW_YCSB_E) {
		if (!is_read)
			return op_insert_new(c);
		uint64_t len = 1 + rng_next(&c->rng) % c->j->scan_len;
		return op_scan(c, 1, idx, len);
	}
	if (is_read)
		return op_get(c, idx, 0);
	if (kind_other == 'i')
		return op_insert_new(c);
	if (kind_other == 'm') { /* read-modify-write */
		int rc = op_get(c, idx, 0);
		return rc ? rc : op_put(c, idx);
	}
	return op_put(c, idx);
}

static int do_op(struct wctx *c)
{
	uint64_t idx = 0;
	switch (c->p->rw) {
	case RW_RANDWRITE:
	case RW_SEQWRITE:
		if (walk_next(c->p, &idx, c->p->rw == RW_SEQWRITE))
			return 1;
		return op_put(c, idx);
	case RW_DELETE:
		if (walk_next(c->p, &idx, 0))
			return 1;
		return op_del(c, idx);
	case RW_OVERWRITE: return op_put(c, keygen_next(&c->kg));
	case RW_RANDREAD: return op_get(c, keygen_next(&c->kg), 0);
	case RW_READMISSING: return op_get(c, keygen_next(&c->kg), 1);
	case RW_SCAN: return op_scan(c, 1, keygen_next(&c->kg), c->j->scan_len);
	case RW_SEQREAD: return op_scan(c, 0, 0, 0);
	case RW_RANDRW: return op_mixed(c, c->j->rwmixread, 'u');
	case RW_YCSB_A: return op_mixed(c, 50, 'u');
	case RW_YCSB_B: return op_mixed(c, 95, 'u');
	case RW_YCSB_C: return op_mixed(c, 100, 'u');
	case RW_YCSB_D: return op_mixed(c, 95, 'i');
	case RW_YCSB_E: return op_mixed(c, 95, 'i');
	case RW_YCSB_F: return op_mixed(c, 50, 'm');
	case RW__COUNT: break;
	}
	return 1;
}

/* ---- the thread ------------------------------------------------------------------------- */

static int wctx_init(struct wctx *c, struct worker *w)
{
	struct pass *p = w->p;
	memset(c, 0, sizeof(*c));
	c->w = w;
	c->p = p;
	c->j = p->j;
	c->cap = c->j->bs + 64;
	c->key = malloc(c->j->ks);
	c->val = malloc(c->j->bs + 8);
	c->rbuf = malloc(c->cap);
	if (!c->key || !c->val || !c->rbuf) {
		kv_seterr("out of memory");
		return -1;
	}
	value_fill(c->val, c->j->bs, c->j->seed ^ mix64(w->tid + 1));
	uint64_t salt = mix64(c->j->seed ^ ((uint64_t)p->rep << 40) ^ ((uint64_t)w->tid << 20) ^
			      (uint64_t)p->rw);
	rng_seed(&c->rng, salt);
	c->kg = (struct keygen){.kind = p->kd, .n = p->s->nrkeys, .z = &p->zipf,
				.scramble = &p->scramble, .inserted = &p->s->inserted};
	rng_seed(&c->kg.rng, salt ^ 0x1234567);
	/* seq: each thread starts at its own slice of the key space. */
	c->kg.cursor = p->s->nrkeys * w->tid / p->nw;
	if (p->ops->thread_init && p->ops->thread_init(p->s->eng, &c->tctx) != KV_OK)
		return -1;
	return 0;
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct pass *p = w->p;
	struct wctx c;
	int ok = wctx_init(&c, w) == 0;
	if (!ok)
		engine_fail(&c, "thread set-up");
	pthread_barrier_wait(&p->barrier);
	while (ok && !atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		if (!w->cpu_started && atomic_load_explicit(&p->measuring, memory_order_relaxed)) {
			w->t_cpu0_ns = now_ns();
			getrusage(RUSAGE_THREAD, &w->ru0);
			w->cpu_started = 1;
		}
		if (p->budget_total != BUDGET_UNLIMITED &&
		    atomic_fetch_sub_explicit(&p->budget, 1, memory_order_relaxed) <= 0)
			break;
		if (do_op(&c) != 0)
			break;
	}
	if (w->cpu_started)
		getrusage(RUSAGE_THREAD, &w->ru1);
	w->t_end_ns = now_ns();
	if (c.tctx && p->ops->thread_fini)
		p->ops->thread_fini(p->s->eng, c.tctx);
	free(c.key);
	free(c.val);
	free(c.rbuf);
	atomic_fetch_add(&p->done, 1);
	return NULL;
}
