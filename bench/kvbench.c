/*
 * kvbench.c -- daxkv-kvbench: options, the phase runner (threads, timing,
 * verification) and the engine-by-repetition loop.
 *
 * Thread t owns the slice [t*keys/T, (t+1)*keys/T) of key numbers; a fill walks
 * it in order (the keys are random already), any other phase in a fresh
 * pseudo-random order.  Keys and values: workload.c.
 */
#include "kvbench.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define EXIT_USAGE 2
#define MAX_VERIFY_PRINTS 5

static struct kv_config cfg;
static long inject_every;   /* test-only: corrupt every Nth put of the fill */

/* ---- small helpers ----------------------------------------------------------------- */

/*
 * A full fence around each timed operation.  x86 retires an sfence (the end of a
 * persist) before the flushed lines reach the memory controller: without this,
 * that wait lands on the next store, outside the timed window (measured: the
 * floor's put showed 30 ns timed for 300 ns of real cost).  mfence waits for
 * earlier clwb/clflushopt and stores, so a put's flush cost is charged to it.
 */
static inline void timing_fence(void)
{
	if (!cfg.timing_fence)
		return;
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("mfence" ::: "memory");
#else
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool is_write(enum phase_kind k)
{
	return k == PH_FILL || k == PH_OVERWRITE || k == PH_DELETE;
}

static bool is_read(enum phase_kind k)
{
	return k == PH_READ || k == PH_READMISSING;
}

/* ---- one phase, many threads ---------------------------------------------------------- */

struct phase_run {
	const struct kv_engine_ops *ops;
	void *eng;
	enum phase_kind kind;
	unsigned phase_no;
	uint32_t version; /* the version live keys hold (after a put phase: its own) */
	bool live;        /* whether keys 0..keys-1 are present before this phase */
	pthread_barrier_t barrier;
	atomic_bool stop;        /* an engine error: every thread stops */
	atomic_uint verify_prints;
	atomic_uint engine_prints;
};

struct worker {
	struct phase_run *run;
	pthread_t th;
	unsigned tid;
	uint64_t first, count; /* slice of key numbers */
	uint64_t t_start, t_end;
	uint64_t ops, verify_errors, engine_errors;
	struct hist hist;
};

static void verify_fail(struct worker *w, uint64_t idx, const char *what)
{
	w->verify_errors++;
	if (atomic_fetch_add(&w->run->verify_prints, 1) < MAX_VERIFY_PRINTS)
		fprintf(stderr, "kvbench: %s %s: key #%llu: VERIFY: %s\n", w->run->ops->name,
			phase_name(w->run->kind), (unsigned long long)idx, what);
}

static void engine_fail(struct worker *w, uint64_t idx)
{
	w->engine_errors++;
	atomic_store(&w->run->stop, true);
	if (atomic_fetch_add(&w->run->engine_prints, 1) < MAX_VERIFY_PRINTS)
		fprintf(stderr, "kvbench: %s %s: key #%llu: engine error: %s\n",
			w->run->ops->name, phase_name(w->run->kind), (unsigned long long)idx,
			kv_errmsg());
}

/* Test-only corruption (--inject-bad-values=N): every Nth fill put writes, in
 * turn, the value of another key, a value one byte short, nothing, or the right
 * value with its last byte flipped. */
static int put_injected(struct worker *w, void *tctx, uint64_t j, uint64_t idx, const char *key,
			uint8_t *val)
{
	const struct kv_engine_ops *ops = w->run->ops;
	size_t vlen = cfg.value_size;
	switch ((j / (uint64_t)inject_every) % 4) {
	case 0:
		make_value(val, idx + 1, w->run->version);
		break;
	case 1:
		if (vlen > 0)
			vlen--;
		break;
	case 2:
		return KV_OK;
	default:
		if (vlen > 0)
			val[vlen - 1] ^= 0x5a;
		break;
	}
	return ops->put(w->run->eng, tctx, idx, key, cfg.key_size, val, vlen);
}

static void check_read(struct worker *w, int rc, uint64_t idx, const uint8_t *rbuf, size_t vlen)
{
	const struct phase_run *r = w->run;
	if (r->kind == PH_READMISSING || !r->live) {
		if (rc == KV_OK)
			verify_fail(w, idx, "found a key that should be absent");
		return;
	}
	if (rc == KV_NOTFOUND) {
		verify_fail(w, idx, "key not found");
		return;
	}
	const char *bad = check_value(rbuf, vlen, idx, r->version);
	if (bad)
		verify_fail(w, idx, bad);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct phase_run *r = w->run;
	const struct kv_engine_ops *ops = r->ops;
	void *tctx = NULL;
	size_t cap = cfg.value_size + 64;
	char *key = malloc(cfg.key_size);
	uint8_t *val = malloc(cfg.value_size + 1);
	uint8_t *rbuf = malloc(cap);
	bool ok = key && val && rbuf;
	if (!ok)
		kv_seterr("out of memory");
	else if (ops->thread_init && ops->thread_init(r->eng, &tctx) != KV_OK)
		ok = false;
	if (!ok)
		engine_fail(w, 0);

	/* Walk the slice: in order for a fill (the keys are random already), else in
	 * a fresh pseudo-random order per phase and thread. */
	uint64_t n = w->count;
	struct perm order;
	perm_init(&order, n, mix64(cfg.seed ^ ((uint64_t)r->phase_no << 32) ^ w->tid));
	pthread_barrier_wait(&r->barrier);
	w->t_start = now_ns();
	for (uint64_t j = 0; ok && j < n; j++) {
		if (atomic_load_explicit(&r->stop, memory_order_relaxed))
			break;
		uint64_t idx = w->first + (r->kind == PH_FILL ? j : perm_apply(&order, j));
		if (r->kind == PH_READMISSING)
			idx += cfg.keys;
		make_key(key, idx);
		int rc = KV_OK;
		size_t vlen = 0;
		if (r->kind == PH_FILL || r->kind == PH_OVERWRITE)
			make_value(val, idx, r->version);
		timing_fence();
		uint64_t t0 = now_ns();
		switch (r->kind) {
		case PH_FILL:
		case PH_OVERWRITE:
			if (inject_every > 0 && r->kind == PH_FILL && j % (uint64_t)inject_every == 0)
				rc = put_injected(w, tctx, j, idx, key, val);
			else
				rc = ops->put(r->eng, tctx, idx, key, cfg.key_size, val,
					      cfg.value_size);
			break;
		case PH_READ:
		case PH_READMISSING:
			rc = ops->get(r->eng, tctx, idx, key, cfg.key_size, rbuf, cap, &vlen);
			break;
		case PH_DELETE:
			rc = ops->del(r->eng, tctx, idx, key, cfg.key_size);
			break;
		case PH__COUNT:
			break;
		}
		timing_fence();
		uint64_t t1 = now_ns();
		if (rc == KV_ERR) {
			engine_fail(w, idx);
			break;
		}
		hist_record(&w->hist, t1 - t0);
		w->ops++;
		if (is_read(r->kind))
			check_read(w, rc, idx, rbuf, vlen);
		else if (rc == KV_NOTFOUND)
			verify_fail(w, idx, r->live ? "delete: key not found" : "delete of absent key");
	}
	w->t_end = now_ns();
	if (tctx && ops->thread_fini)
		ops->thread_fini(r->eng, tctx);
	free(key);
	free(val);
	free(rbuf);
	return NULL;
}

static double bytes_per_op(enum phase_kind k)
{
	if (k == PH_DELETE || k == PH_READMISSING)
		return (double)cfg.key_size;
	return (double)(cfg.key_size + cfg.value_size);
}

/* Runs one phase on all threads; fills *res; returns false on an engine error. */
static bool run_phase(struct phase_run *r, struct phase_result *res)
{
	unsigned T = cfg.threads;
	struct worker *ws = calloc(T, sizeof(*ws));
	struct hist *merged = malloc(sizeof(*merged));
	if (!ws || !merged) {
		fprintf(stderr, "kvbench: out of memory\n");
		exit(1);
	}
	hist_init(merged);
	atomic_init(&r->stop, false);
	atomic_init(&r->verify_prints, 0);
	atomic_init(&r->engine_prints, 0);
	pthread_barrier_init(&r->barrier, NULL, T);
	for (unsigned t = 0; t < T; t++) {
		ws[t].run = r;
		ws[t].tid = t;
		ws[t].first = cfg.keys * t / T;
		ws[t].count = cfg.keys * (t + 1) / T - ws[t].first;
		hist_init(&ws[t].hist);
		int e = pthread_create(&ws[t].th, NULL, worker_main, &ws[t]);
		if (e) {
			fprintf(stderr, "kvbench: pthread_create: %s\n", strerror(e));
			exit(1);
		}
	}
	uint64_t t_start = UINT64_MAX, t_end = 0;
	memset(res, 0, sizeof(*res));
	for (unsigned t = 0; t < T; t++) {
		pthread_join(ws[t].th, NULL);
		if (ws[t].t_start < t_start)
			t_start = ws[t].t_start;
		if (ws[t].t_end > t_end)
			t_end = ws[t].t_end;
		hist_merge(merged, &ws[t].hist);
		res->ops += ws[t].ops;
		res->verify_errors += ws[t].verify_errors;
		res->engine_errors += ws[t].engine_errors;
	}
	pthread_barrier_destroy(&r->barrier);
	res->ran = 1;
	res->kind = r->kind;
	res->seconds = t_end > t_start ? (double)(t_end - t_start) / 1e9 : 0.0;
	if (res->seconds > 0) {
		res->ops_per_sec = (double)res->ops / res->seconds;
		res->mb_per_sec = res->ops_per_sec * bytes_per_op(r->kind) / 1e6;
	}
	res->p50_us = (double)hist_quantile(merged, 0.50) / 1000.0;
	res->p99_us = (double)hist_quantile(merged, 0.99) / 1000.0;
	res->p999_us = (double)hist_quantile(merged, 0.999) / 1000.0;
	res->max_us = (double)merged->max_ns / 1000.0;
	res->mean_us = hist_mean(merged) / 1000.0;
	free(merged);
	free(ws);
	return res->engine_errors == 0;
}

/* ---- store directories ------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT) {
		fprintf(stderr, "kvbench: remove %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Removes dir (one engine's subdirectory) and everything below it. */
static int wipe_dir(const char *dir)
{
	struct stat st;
	if (lstat(dir, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof(buf))
		return -1;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* ---- the plan: steps per engine, and one engine's run of them ------------------------- */

/* The rows of one engine, in order: phases, with a prepare step (flush+compact)
 * before a read phase that follows writes when the engine has one. */
static unsigned plan_rows(const struct kv_engine_ops *ops, struct row *rows, unsigned *pidx)
{
	unsigned n = 0;
	bool dirty = false;
	for (unsigned p = 0; p < cfg.nphases; p++) {
		enum phase_kind k = cfg.phases[p];
		bool supported = ops->phase_mask & (1u << k);
		if (supported && is_read(k) && dirty && ops->prepare_read) {
			rows[n].eng = ops;
			rows[n].is_prepare = 1;
			rows[n].kind = k;
			snprintf(rows[n].label, sizeof(rows[n].label), "compact");
			pidx[n++] = p;
			dirty = false;
		}
		rows[n].eng = ops;
		rows[n].is_prepare = 0;
		rows[n].kind = k;
		snprintf(rows[n].label, sizeof(rows[n].label), "%s%s", phase_name(k),
			 is_read(k) && ops->read_note ? "*" : "");
		pidx[n++] = p;
		if (supported && is_write(k))
			dirty = true;
	}
	return n;
}

/* One engine, one repetition: wipe, open, every step, close.  Returns the number
 * of errors (engine and verification). */
static uint64_t run_engine(const struct kv_engine_ops *ops, struct row *rows, unsigned nrows,
			   unsigned rep, char *note, size_t note_len)
{
	char dir[PATH_MAX];
	uint64_t errors = 0;
	snprintf(dir, sizeof(dir), "%s/%s", cfg.dir, ops->name);
	if (wipe_dir(dir) != 0 || mkdir_p(dir) != 0) {
		fprintf(stderr, "kvbench: %s: cannot prepare %s: %s\n", ops->name, dir,
			strerror(errno));
		return 1;
	}
	void *eng = NULL;
	if (ops->open(&cfg, dir, &eng) != KV_OK) {
		fprintf(stderr, "kvbench: %s: open failed: %s\n", ops->name, kv_errmsg());
		return 1;
	}
	struct phase_run r = {.ops = ops, .eng = eng, .version = 0, .live = false};
	uint32_t writes = 0;
	for (unsigned i = 0; i < nrows; i++) {
		struct phase_result *res = &rows[i].reps[rep];
		enum phase_kind k = rows[i].kind;
		memset(res, 0, sizeof(*res));
		res->kind = k;
		res->is_prepare = rows[i].is_prepare;
		if (rows[i].is_prepare) {
			uint64_t t0 = now_ns();
			int rc = ops->prepare_read(eng);
			res->seconds = (double)(now_ns() - t0) / 1e9;
			res->ran = 1;
			if (rc != KV_OK) {
				fprintf(stderr, "kvbench: %s: %s\n", ops->name, kv_errmsg());
				res->engine_errors = 1;
				errors++;
				break;
			}
			continue;
		}
		if (!(ops->phase_mask & (1u << k)))
			continue; /* not supported: reported as skipped */
		r.kind = k;
		r.phase_no = i;
		if (k == PH_FILL || k == PH_OVERWRITE)
			r.version = writes++;
		bool ok = run_phase(&r, res);
		errors += res->verify_errors + res->engine_errors;
		if (!ok) {
			fprintf(stderr, "kvbench: %s: stopping this run after an engine error\n",
				ops->name);
			break;
		}
		if (k == PH_FILL || k == PH_OVERWRITE)
			r.live = true;
		else if (k == PH_DELETE)
			r.live = false;
	}
	if (ops->describe)
		ops->describe(eng, note, note_len);
	if (ops->close(eng) != KV_OK) {
		fprintf(stderr, "kvbench: %s: close failed: %s\n", ops->name, kv_errmsg());
		errors++;
	}
	if (!cfg.keep && wipe_dir(dir) != 0)
		fprintf(stderr, "kvbench: %s: cannot remove %s\n", ops->name, dir);
	return errors;
}

/* ---- options ------------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: daxkv-kvbench [options]\n"
		"  --engine=NAME | --engines=A,B,..  engines to run (built in: %s)\n"
		"  --dir=PATH         store location; each engine uses PATH/<engine> (/dev/shm/kvbench)\n"
		"  --keys=N           number of keys (1000000)\n"
		"  --key-size=B       key bytes, 8..4096 (16; lmdb: at most 511)\n"
		"  --value-size=B     value bytes, 0..64Mi (100)\n"
		"  --threads=N        worker threads, each owns a slice of the keys (1)\n"
		"  --reps=N           repetitions, engines interleaved A B A B (1)\n"
		"  --phases=LIST      fill,read,overwrite,readmissing,delete; starts with fill\n"
		"                     (fill,read)\n"
		"  --pool-size=B      daxkv pool bytes (default: 4x keys*(key+value+64), >= 64 MiB)\n"
		"  --seed=N           key/value seed (42)\n"
		"  --json[=FILE]      JSON to FILE, or to stdout with the table on stderr\n"
		"  --keep             keep the store directories after the run\n"
		"  --timing-fence=0|1 mfence around each timed op so a put's flush wait is charged\n"
		"                     to it, not to the next store (1)\n"
		"  --inject-bad-values=N  test only: corrupt every Nth fill put (checks verification)\n"
		"  --selftest         check the histogram and exit\n"
		"Numbers take k/m/g suffixes (x1024).  Exit: 0 ok, 1 engine or verification errors,\n"
		"2 bad options.\n",
		engine_list());
}

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "daxkv-kvbench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n(try --help)\n");
	va_end(ap);
	exit(EXIT_USAGE);
}

/* A number with an optional k/m/g (x1024) suffix; exits 2 when malformed or out of range. */
static uint64_t parse_num(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
	char *end = NULL;
	errno = 0;
	if (!s || *s == '\0' || *s == '-')
		die_usage("%s: expected a non-negative number", opt);
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		die_usage("%s: not a number", opt);
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0')
		die_usage("%s: trailing characters after the number", opt);
	if (shift && v > (UINT64_MAX >> shift))
		die_usage("%s: too large", opt);
	v <<= shift;
	if (v < lo || v > hi)
		die_usage("%s: %llu is out of range (%llu..%llu)", opt, v, (unsigned long long)lo,
			  (unsigned long long)hi);
	return v;
}

static void parse_phases(const char *list)
{
	char *copy = strdup(list);
	char *save = NULL;
	cfg.nphases = 0;
	cfg.puts_phases = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		enum phase_kind k = PH__COUNT;
		for (int i = 0; i < PH__COUNT; i++)
			if (strcmp(tok, phase_name((enum phase_kind)i)) == 0)
				k = (enum phase_kind)i;
		if (k == PH__COUNT)
			die_usage("--phases: unknown phase '%s' (fill, read, overwrite, readmissing, "
				  "delete)", tok);
		if (cfg.nphases == MAX_PHASES)
			die_usage("--phases: at most %d phases", MAX_PHASES);
		cfg.phases[cfg.nphases++] = k;
		if (k == PH_FILL || k == PH_OVERWRITE)
			cfg.puts_phases++;
	}
	free(copy);
	if (cfg.nphases == 0 || cfg.phases[0] != PH_FILL)
		die_usage("--phases: the first phase must be fill (got '%s')", list);
}

static void add_engines(const char *list, const struct kv_engine_ops **engines, unsigned *n)
{
	char *copy = strdup(list);
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int known = 0;
		const struct kv_engine_ops *ops = engine_find(tok, &known);
		if (!known)
			die_usage("unknown engine '%s' (daxkv, rocksdb, lmdb, leveldb, floor)", tok);
		if (!ops)
			die_usage("engine '%s' is not built into this binary (its library was not "
				  "found when configuring, or KVBENCH_NO_DAXKV)", tok);
		for (unsigned i = 0; i < *n; i++)
			if (engines[i] == ops)
				die_usage("engine '%s' named twice", tok);
		if (*n == MAX_ENGINES)
			die_usage("at most %d engines", MAX_ENGINES);
		engines[(*n)++] = ops;
	}
	free(copy);
	if (*n == 0)
		die_usage("no engine named in '%s'", list);
}

/* The command line, quoted for a shell where needed. */
static char *join_command(int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += 4 * strlen(argv[i]) + 3;
	char *s = malloc(len), *p = s;
	if (!s)
		exit(1);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool plain = *a != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
						     "QRSTUVWXYZ0123456789-_=,./:+%@") == strlen(a);
		if (i)
			*p++ = ' ';
		if (plain) {
			p = stpcpy(p, a);
			continue;
		}
		*p++ = '\'';
		for (; *a; a++) {
			if (*a == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *a;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return s;
}

enum {
	OPT_ENGINE = 256, OPT_ENGINES, OPT_DIR, OPT_KEYS, OPT_KEY_SIZE, OPT_VALUE_SIZE,
	OPT_THREADS, OPT_REPS, OPT_PHASES, OPT_POOL_SIZE, OPT_SEED, OPT_JSON, OPT_KEEP,
	OPT_INJECT, OPT_SELFTEST, OPT_HELP, OPT_FENCE
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"engine", required_argument, NULL, OPT_ENGINE},
		{"engines", required_argument, NULL, OPT_ENGINES},
		{"dir", required_argument, NULL, OPT_DIR},
		{"keys", required_argument, NULL, OPT_KEYS},
		{"key-size", required_argument, NULL, OPT_KEY_SIZE},
		{"value-size", required_argument, NULL, OPT_VALUE_SIZE},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"reps", required_argument, NULL, OPT_REPS},
		{"phases", required_argument, NULL, OPT_PHASES},
		{"pool-size", required_argument, NULL, OPT_POOL_SIZE},
		{"seed", required_argument, NULL, OPT_SEED},
		{"json", optional_argument, NULL, OPT_JSON},
		{"keep", no_argument, NULL, OPT_KEEP},
		{"timing-fence", required_argument, NULL, OPT_FENCE},
		{"inject-bad-values", required_argument, NULL, OPT_INJECT},
		{"selftest", no_argument, NULL, OPT_SELFTEST},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	const struct kv_engine_ops *engines[MAX_ENGINES];
	unsigned nengines = 0;
	const char *json_path = NULL;
	bool json = false;
	cfg = (struct kv_config){.dir = "/dev/shm/kvbench", .keys = 1000000, .key_size = 16,
				 .value_size = 100, .threads = 1, .reps = 1, .seed = 42,
				 .timing_fence = 1};
	parse_phases("fill,read");

	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_ENGINE:
		case OPT_ENGINES: add_engines(optarg, engines, &nengines); break;
		case OPT_DIR:
			if (*optarg == '\0')
				die_usage("--dir: empty path");
			cfg.dir = optarg;
			break;
		case OPT_KEYS: cfg.keys = parse_num("--keys", optarg, 1, 1ull << 40); break;
		case OPT_KEY_SIZE: cfg.key_size = parse_num("--key-size", optarg, 8, 4096); break;
		case OPT_VALUE_SIZE:
			cfg.value_size = parse_num("--value-size", optarg, 0, 64u << 20);
			break;
		case OPT_THREADS: cfg.threads = (unsigned)parse_num("--threads", optarg, 1, 1024); break;
		case OPT_REPS: cfg.reps = (unsigned)parse_num("--reps", optarg, 1, 1000); break;
		case OPT_PHASES: parse_phases(optarg); break;
		case OPT_POOL_SIZE:
			cfg.pool_size = parse_num("--pool-size", optarg, 1u << 20, UINT64_MAX);
			break;
		case OPT_SEED: cfg.seed = parse_num("--seed", optarg, 0, UINT64_MAX); break;
		case OPT_JSON: json = true; json_path = optarg; break;
		case OPT_KEEP: cfg.keep = 1; break;
		case OPT_FENCE: cfg.timing_fence = (int)parse_num("--timing-fence", optarg, 0, 1); break;
		case OPT_INJECT:
			inject_every = (long)parse_num("--inject-bad-values", optarg, 1, 1u << 30);
			break;
		case OPT_SELFTEST: {
			int rc = hist_selftest();
			printf("histogram self-test: %s\n", rc == 0 ? "ok" : "FAILED");
			return rc == 0 ? 0 : 1;
		}
		case OPT_HELP: usage(stdout); return 0;
		case '?':
		default:
			/* getopt_long has named the option. */
			fprintf(stderr, "(try --help)\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	if (nengines == 0)
		die_usage("name an engine with --engine= or --engines= (built in: %s)", engine_list());
	if (cfg.keys < cfg.threads)
		die_usage("--keys must be at least --threads");
	for (unsigned i = 0; i < nengines; i++)
		if (strcmp(engines[i]->name, "lmdb") == 0 && cfg.key_size > 511)
			die_usage("--key-size: lmdb takes keys of at most 511 bytes");
	if (cfg.pool_size == 0) {
		uint64_t data = cfg.keys * (uint64_t)(cfg.key_size + cfg.value_size + 64);
		uint64_t factor = cfg.puts_phases * 2 > 4 ? cfg.puts_phases * 2 : 4;
		uint64_t pool = factor * data, unit = 64ull << 20;
		cfg.pool_size = (pool + unit - 1) / unit * unit;
	}

	FILE *json_file = NULL;
	if (json && json_path) {
		json_file = fopen(json_path, "w");
		if (!json_file) {
			fprintf(stderr, "daxkv-kvbench: --json: cannot write %s: %s\n", json_path,
				strerror(errno));
			return EXIT_USAGE;
		}
	}
	FILE *table = json && !json_path ? stderr : stdout;
	if (mkdir_p(cfg.dir) != 0) {
		fprintf(stderr, "daxkv-kvbench: --dir: cannot create %s: %s\n", cfg.dir,
			strerror(errno));
		return EXIT_USAGE;
	}
	if (workload_init(&cfg) != 0) {
		fprintf(stderr, "daxkv-kvbench: out of memory\n");
		return 1;
	}

	/* Rows: per engine, its plan; stored engine-major. */
	struct report rep = {.cfg = &cfg, .command = join_command(argc, argv),
			     .nengines = nengines};
	unsigned max_rows = 2 * MAX_PHASES;
	rep.rows = calloc((size_t)nengines * max_rows, sizeof(struct row));
	unsigned *pidx = calloc((size_t)nengines * max_rows, sizeof(unsigned));
	unsigned first_row[MAX_ENGINES], nrows[MAX_ENGINES];
	if (!rep.rows || !pidx)
		return 1;
	for (unsigned e = 0; e < nengines; e++) {
		rep.engines[e] = engines[e];
		first_row[e] = rep.nrows;
		nrows[e] = plan_rows(engines[e], rep.rows + rep.nrows, pidx + rep.nrows);
		for (unsigned i = 0; i < nrows[e]; i++) {
			struct row *rw = &rep.rows[rep.nrows + i];
			rw->pidx = pidx[rep.nrows + i];
			rw->nreps = cfg.reps;
			rw->reps = calloc(cfg.reps, sizeof(struct phase_result));
			if (!rw->reps)
				return 1;
		}
		rep.nrows += nrows[e];
	}
	free(pidx);

	report_header(table, &rep);
	fflush(table);
	for (unsigned r = 0; r < cfg.reps; r++) {
		for (unsigned e = 0; e < nengines; e++) {
			if (cfg.reps > 1 || nengines > 1) {
				fflush(table);
				fprintf(stderr, "# rep %u/%u: %s ...\n", r + 1, cfg.reps,
					engines[e]->name);
			}
			rep.total_errors += run_engine(engines[e], rep.rows + first_row[e], nrows[e], r,
						       rep.notes[e], sizeof(rep.notes[e]));
		}
	}
	report_table(table, &rep);
	if (json)
		report_json(json_file ? json_file : stdout, &rep);
	if (json_file && fclose(json_file) != 0) {
		fprintf(stderr, "daxkv-kvbench: writing %s: %s\n", json_path, strerror(errno));
		return 1;
	}
	if (rep.total_errors) {
		fprintf(stderr, "daxkv-kvbench: %llu error(s): see the messages above\n",
			(unsigned long long)rep.total_errors);
		return 1;
	}
	return 0;
}
