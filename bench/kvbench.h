/*
 * kvbench.h -- daxkv-kvbench: a key-value benchmark that drives daxkv and its
 * peers (RocksDB, LMDB, LevelDB) and the flush floor with the same keys, values
 * and phases, timing every operation into a log-linear histogram.
 *
 * Files: kvbench.c (options, phase runner), workload.c (keys, values, orders),
 * hist.c (histogram), engines.c (registry, daxkv, floor), engines_peers.c
 * (RocksDB, LMDB, LevelDB), report.c (table and JSON output).
 */
#ifndef KVBENCH_H
#define KVBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- histogram (hist.c) ---------------------------------------------------- */

/*
 * Log-linear: values below 2^HIST_SUB_BITS are exact; above, every power of two
 * is split into 2^(HIST_SUB_BITS-1) equal buckets, so a bucket's width is at most
 * 1/128 (0.78%) of its values.  Units: nanoseconds.
 */
#define HIST_SUB_BITS 8
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_HALF (HIST_SUB_COUNT / 2)
#define HIST_BUCKETS (HIST_SUB_COUNT + (64 - HIST_SUB_BITS) * HIST_HALF)

struct hist {
	uint64_t count;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t sum_ns;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t ns);
void hist_merge(struct hist *dst, const struct hist *src);
/* The value at quantile q (0..1]: the upper bound of the bucket holding it,
 * clamped to [min, max]; 0 for an empty histogram. */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);
/* Self-check of the bucket mapping; 0 when it holds. */
int hist_selftest(void);

/* ---- configuration --------------------------------------------------------- */

enum phase_kind { PH_FILL, PH_READ, PH_OVERWRITE, PH_READMISSING, PH_DELETE, PH__COUNT };

#define MAX_PHASES 16
#define MAX_ENGINES 8

struct kv_config {
	const char *dir;
	uint64_t keys;
	size_t key_size;
	size_t value_size;
	unsigned threads;
	unsigned reps;
	uint64_t seed;
	uint64_t pool_size; /* daxkv pool bytes, after defaulting */
	unsigned nphases;
	enum phase_kind phases[MAX_PHASES];
	unsigned puts_phases; /* how many phases write values (fill/overwrite) */
	int keep;             /* keep the store directories after the run */
	int timing_fence;     /* mfence around each timed operation */
};

const char *phase_name(enum phase_kind k);

/* ---- keys, values, orders (workload.c) ------------------------------------- */

/* Builds the value pool; keeps cfg for the calls below.  0 or -1 (no memory). */
int workload_init(const struct kv_config *cfg);
/* splitmix64's finaliser: a bijection on 64-bit values. */
uint64_t mix64(uint64_t x);
/* The key of key number idx: cfg->key_size bytes. */
void make_key(char *buf, uint64_t idx);
/* The value of key number idx at a version: cfg->value_size bytes. */
void make_value(uint8_t *buf, uint64_t idx, uint32_t version);
/* NULL when buf/len is the value of (idx, version); else what is wrong. */
const char *check_value(const uint8_t *buf, size_t len, uint64_t idx, uint32_t version);

/* A pseudo-random permutation of [0, n) (see workload.c). */
struct perm {
	uint64_t n;
	unsigned half_bits;
	uint64_t mask;
	uint64_t keys[4];
};

void perm_init(struct perm *p, uint64_t n, uint64_t salt);
uint64_t perm_apply(const struct perm *p, uint64_t x);

/* ---- engines (engines.c, engines_peers.c) ---------------------------------- */

/* Engine call results. */
#define KV_OK 0
#define KV_NOTFOUND 1
#define KV_ERR (-1)

/* The calling thread's message for its last KV_ERR ("" when none). */
const char *kv_errmsg(void);
void kv_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct kv_engine_ops {
	const char *name;
	unsigned phase_mask; /* 1u << PH_* that the engine supports */
	const char *setup;   /* the durable set-up, in words, for the report */
	const char *read_note; /* non-NULL: reads are not a real lookup; the footnote */
	/* Creates a fresh store in dir (an existing empty directory). */
	int (*open)(const struct kv_config *cfg, const char *dir, void **eng);
	int (*close)(void *eng);
	/* Optional per-thread state, created on the thread that uses it. */
	int (*thread_init)(void *eng, void **tctx);
	void (*thread_fini)(void *eng, void *tctx);
	/* idx is the key's index (the floor's DRAM index uses it; others ignore it). */
	int (*put)(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, const void *v,
		   size_t vlen);
	/* Copies at most cap bytes into buf, sets *vlen to the stored length. */
	int (*get)(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, void *buf,
		   size_t cap, size_t *vlen);
	/* KV_NOTFOUND only where the engine can tell (LSMs write a tombstone). */
	int (*del)(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen);
	/* Optional: work before a read phase that follows writes (LSM flush + compact). */
	int (*prepare_read)(void *eng);
	/* Optional: facts learned at open (chosen backend, is_pmem), for the report. */
	void (*describe)(void *eng, char *buf, size_t n);
};

/* NULL when the name is unknown (*known = 0) or known but not built in (*known = 1). */
const struct kv_engine_ops *engine_find(const char *name, int *known);
/* Comma-separated names of the engines built in. */
const char *engine_list(void);

extern const struct kv_engine_ops engine_rocksdb, engine_lmdb, engine_leveldb;
extern const struct kv_engine_ops engine_daxkv, engine_floor;

/* ---- results and report (report.c) ----------------------------------------- */

struct phase_result {
	int ran;              /* 0: skipped (unsupported) or aborted before it */
	int is_prepare;       /* a flush+compact row, not a phase of operations */
	enum phase_kind kind; /* for operation rows */
	uint64_t ops;
	double seconds;
	double ops_per_sec;
	double mb_per_sec;
	double p50_us, p99_us, p999_us, max_us, mean_us;
	uint64_t verify_errors;
	uint64_t engine_errors;
};

/* One row of the report: an engine x a step, over the repetitions. */
struct row {
	const struct kv_engine_ops *eng;
	char label[32];
	unsigned pidx; /* index of the phase in cfg->phases this row belongs to */
	int is_prepare;
	enum phase_kind kind;
	unsigned nreps;
	struct phase_result *reps; /* [cfg->reps] */
};

struct report {
	const struct kv_config *cfg;
	const char *command;
	unsigned nrows;
	struct row *rows;
	char notes[MAX_ENGINES][256]; /* per engine: describe() output of the last rep */
	const struct kv_engine_ops *engines[MAX_ENGINES];
	unsigned nengines;
	uint64_t total_errors;
};

void report_table(FILE *f, const struct report *r);
void report_json(FILE *f, const struct report *r);
void report_header(FILE *f, const struct report *r);

#endif
