/*
 * bench.h -- daxkv-bench: a fio-style benchmark harness that drives daxkv and its
 * peers (RocksDB, LevelDB, LMDB) and the pmem flush floor with the same jobs.
 *
 * Files (one concept each):
 *   hist.c         log-linear latency histogram (HdrHistogram's idea)
 *   keys.c         keys, values, random numbers, permutations, zipf/latest
 *   options.c      the option table shared by the command line and job files
 *   jobfile.c      command-line walk, INI job files (libinih), ${VAR} expansion
 *   engines.c      engine registry, daxkv adapter, pmem-floor
 *   engines_peers.c RocksDB, LevelDB, LMDB adapters
 *   runner.c       one job on a store: preload, worker threads, operations
 *   monitor.c      the timing thread: ramp, stop, per-second log, progress line
 *   report.c       fio-like normal and terse output, the --compare table
 *   report_json.c  JSON output (cJSON)
 *   main.c         what runs in which order (reps x engines x jobs)
 * Only include/daxkv.h of the engine is used.
 */
#ifndef DKB_BENCH_H
#define DKB_BENCH_H

#include <limits.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- histogram (hist.c) ---------------------------------------------------------- */

/*
 * Values below 2^HIST_SUB_BITS ns have a bucket each; above, each power of two is
 * cut into 2^(HIST_SUB_BITS-1) = 128 equal buckets, so a bucket spans at most 1/128
 * of its lowest value; a quantile is reported as its bucket's midpoint, within
 * 0.4% of the exact sample.
 */
#define HIST_SUB_BITS 8
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_HALF (HIST_SUB_COUNT / 2)
#define HIST_BUCKETS (HIST_SUB_COUNT + (64 - HIST_SUB_BITS) * HIST_HALF)

/* One writer thread.  count and buckets are written with relaxed atomic stores so
 * the monitor may snapshot them while the writer runs; the rest is read after join. */
struct hist {
	uint64_t count;
	uint64_t min_ns;
	uint64_t max_ns;
	uint64_t sum_ns;
	double sumsq_ns2;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t ns);
void hist_merge(struct hist *dst, const struct hist *src);
/* dst += count and buckets of src, read atomically (src may be being written). */
void hist_add_snapshot(struct hist *dst, const struct hist *src);
/* out = now - prev (count and buckets); min/max from the bucket bounds. */
void hist_delta(struct hist *out, const struct hist *now, const struct hist *prev);
/* The value at quantile q in [0, 1]: its bucket's midpoint, clamped to [min, max];
 * 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);
/* Bucket b's midpoint (the value a quantile in it reports), for fio's json+ bins. */
uint64_t hist_bucket_value(unsigned b);
double hist_mean(const struct hist *h);
double hist_stddev(const struct hist *h);

/* fio's default completion-latency percentiles. */
#define PCT_MAX 32
extern const double pct_default[];
extern const unsigned pct_default_n;

/* ---- jobs (options.c, jobfile.c) ------------------------------------------------ */

enum rw_kind {
	RW_RANDWRITE, RW_SEQWRITE, RW_OVERWRITE, RW_RANDREAD, RW_READMISSING, RW_RANDRW,
	RW_SEQREAD, RW_SCAN, RW_DELETE,
	RW_YCSB_A, RW_YCSB_B, RW_YCSB_C, RW_YCSB_D, RW_YCSB_E, RW_YCSB_F,
	RW__COUNT
};

enum key_dist { KD_UNIFORM, KD_ZIPF, KD_SEQ, KD_LATEST };
enum out_fmt { OUT_NORMAL, OUT_JSON, OUT_JSON_PLUS, OUT_TERSE };
enum { ETA_AUTO, ETA_ALWAYS, ETA_NEVER };       /* --eta */
enum { BK_AUTO, BK_DAX, BK_BLOCK };           /* --backend */
enum { GCP_DEFAULT, GCP_COSTBENEFIT, GCP_RATIO }; /* --gc_policy */

#define NAME_LEN 64
#define MAX_JOBS 64
#define MAX_ENGINES 8

struct job {
	char name[NAME_LEN];
	char engine[NAME_LEN];
	enum rw_kind rw;
	uint64_t bs, ks, nrkeys, size, number_ios;
	unsigned numjobs;
	int stonewall, new_group; /* fio's: both start a new reporting group */
	unsigned groupid;         /* set when the jobs are read (cfg_parse_args) */
	double runtime_s, ramp_s; /* 0 = none */
	int time_based;
	enum key_dist key_dist;
	int key_dist_set; /* else the workload's default (zipf 0.99 for YCSB) */
	double zipf_theta;
	unsigned rwmixread;
	int rwmixread_set;
	int sync;
	int preload; /* -1 = default: on for workloads that read existing keys */
	unsigned scan_len;
	uint64_t seed;
	int verify;
	char directory[PATH_MAX];
	char filename[PATH_MAX];
	char lat_log[PATH_MAX]; /* --write_lat_log prefix; "" = none */
	char bw_log[PATH_MAX];  /* --write_bw_log prefix; "" = none */
	double pct[PCT_MAX];
	unsigned npct;
	/* daxkv only */
	int backend;
	uint64_t pool_size, segment_size, gc_rate;
	int gc; /* gc_background */
	double gc_ratio;
	int gc_policy;
};

struct bench_cfg {
	struct job global;
	struct job jobs[MAX_JOBS];
	unsigned njobs;
	enum out_fmt fmt;
	char output[PATH_MAX]; /* "" = stdout */
	char compare[256];     /* engines, comma-separated; "" = each job's engine */
	unsigned reps;
	int share_store;
	char sections[256]; /* --section=NAME[,NAME]: run only these jobs ("" = all) */
	double status_interval_s; /* 0 = none */
	int eta;                  /* ETA_* */
	int help;
	int version;
	int list_engines;
	int no_args; /* argv had nothing: usage, exit 1 */
	char command[4096];
};

/* The option table (options.c).  Each setter returns 0, or -1 with a message in err. */
#define ERR_LEN 512
/* Writes the message into err (ERR_LEN bytes) and returns -1: the parsers'
 * error path. */
int opt_fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int opt_set(struct bench_cfg *c, struct job *j, const char *key, const char *val, char *err);
/* Whether key is a boolean flag that may appear without a value (--time_based). */
int opt_is_flag(const char *key);
int opt_is_run_level(const char *key);
int opt_is_known(const char *key);
void job_defaults(struct job *j);
/* Checks one finished job; 0 or -1 with err. */
int job_validate(const struct job *j, char *err);
void opt_usage(FILE *f);
/* "daxkv-bench-X.Y.Z", as fio's "fio-3.33": X.Y.Z is daxkv_version(). */
const char *bench_version(void);

/* Parsers (options.c), exposed for tests: 0, or -1 with err. */
int parse_size(const char *s, uint64_t *out, char *err);   /* bytes: k = 1024 */
int parse_count(const char *s, uint64_t *out, char *err);  /* counts: k = 1000 */
int parse_time(const char *s, double *out_s, char *err);
int parse_key_dist(const char *s, enum key_dist *kd, double *theta, char *err);
const char *rw_name(enum rw_kind rw);
/* The key distribution a job uses: its key_dist=, else its workload's default
 * (uniform; YCSB A/B/C/E/F zipf, D latest). */
enum key_dist job_key_dist(const struct job *j);
const char *key_dist_name(enum key_dist kd, double theta, char *buf, size_t n);

/* Builds cfg from argv (and the job file it names); 0, or -1 with err (bad input). */
int cfg_parse_args(struct bench_cfg *c, int argc, char **argv, char *err);
/* Reads an INI job file into cfg (after the command-line globals); 0 or -1. */
int cfg_parse_jobfile(struct bench_cfg *c, const char *path, char *err);
int cfg_parse_jobstring(struct bench_cfg *c, const char *text, char *err);

/* ---- keys, values, distributions (keys.c) ---------------------------------------- */

struct rng {
	uint64_t s;
};
void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
double rng_unit(struct rng *r); /* [0, 1) */
uint64_t mix64(uint64_t x);

/* A pseudo-random permutation of [0, n): a Feistel network with cycle walking. */
struct perm {
	uint64_t n;
	unsigned half_bits;
	uint64_t mask;
	uint64_t keys[4];
};
void perm_init(struct perm *p, uint64_t n, uint64_t salt);
uint64_t perm_apply(const struct perm *p, uint64_t x);

/* Gray et al., "Quickly generating billion-record synthetic databases" (SIGMOD
 * 1994), as YCSB's ZipfianGenerator: rank 0 is the most frequent. */
struct zipf {
	uint64_t n;
	double theta, alpha, zetan, eta, half_pow;
};
int zipf_init(struct zipf *z, uint64_t n, double theta);
uint64_t zipf_rank(const struct zipf *z, double u);
double zeta(uint64_t n, double theta);

/* Key numbers for one thread. */
struct keygen {
	enum key_dist kind;
	uint64_t n;             /* keys 0..n-1 were loaded */
	const struct zipf *z;   /* zipf, latest */
	const struct perm *scramble; /* zipf: rank -> key number (hot keys spread) */
	_Atomic uint64_t *inserted; /* latest: keys inserted after the load */
	uint64_t cursor;        /* seq */
	struct rng rng;
};
uint64_t keygen_next(struct keygen *g);

/* Key number i as ks bytes: keys sort as their numbers do; missing=1 gives a key
 * between i and i+1 that is never written (readmissing). */
void make_key(char *buf, size_t ks, uint64_t i, int missing);
/* Fills a value buffer of bs bytes with random content (once per thread). */
void value_fill(uint8_t *buf, size_t bs, uint64_t seed);
/* Stamps key number i into the first 8 bytes; check: NULL when it matches. */
void value_stamp(uint8_t *buf, size_t bs, uint64_t i);
const char *value_check(const uint8_t *buf, size_t len, size_t bs, uint64_t i);

/* ---- engines (engines.c, engines_peers.c) -------------------------------------- */

#define KV_OK 0
#define KV_NOTFOUND 1
#define KV_ERR (-1)
#define KV_ENOTSUP (-2) /* open: the engine cannot do what the job asks */

const char *kv_errmsg(void);
void kv_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* daxkv's counters, for the per-second log and write/space amplification. */
struct kv_stats {
	uint64_t segments_free, segments_used, segment_size, live_bytes, dead_bytes;
	uint64_t bytes_written, gc_bytes_moved, gc_passes, keys;
	int backend_block;
};

#define CAP_SCAN 1u      /* scan (seek + nexts) and full scans */
#define CAP_DELETE 2u
#define CAP_NOVERIFY 4u  /* reads are not real lookups (the floor): no value check */

struct kv_engine {
	const char *name;
	unsigned caps;
	const char *setup; /* durable set-up, in words */
	int (*open)(const struct job *j, const char *dir, void **eng);
	int (*close)(void *eng);
	int (*thread_init)(void *eng, void **tctx); /* optional */
	void (*thread_fini)(void *eng, void *tctx);
	/* idx: the key's number (only the floor's DRAM index uses it). */
	int (*put)(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, const void *v,
		   size_t vl);
	int (*get)(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, void *buf,
		   size_t cap, size_t *vl);
	int (*del)(void *eng, void *tctx, const void *k, size_t kl);
	/* Seek to the first key >= k (k NULL: the first key) and step n keys (n 0: to the
	 * end); *got = keys visited. */
	int (*scan)(void *eng, void *tctx, const void *k, size_t kl, uint64_t n, uint64_t *got);
	int (*prepare_read)(void *eng); /* optional: LSM flush + compaction */
	int (*stats)(void *eng, struct kv_stats *st); /* optional (daxkv) */
	void (*describe)(void *eng, char *buf, size_t n); /* optional */
};

/* NULL when unknown (*known 0) or not built in (*known 1). */
const struct kv_engine *engine_find(const char *name, int *known);
const char *engine_list(void); /* the names built in, comma-separated */

extern const struct kv_engine engine_daxkv, engine_floor, engine_rocksdb, engine_leveldb,
	engine_lmdb;

/* ---- results (runner.c, monitor.c) --------------------------------------------- */

enum dir { DIR_READ, DIR_WRITE, DIR_DELETE, DIR_SCAN, DIR__COUNT };
const char *dir_name(enum dir d);

struct dir_result {
	uint64_t ops, bytes, not_found;
	uint64_t keys; /* scan: keys visited */
	struct hist *hist; /* merged over threads; NULL when no op ran */
};

struct job_result {
	const struct job *job;
	const struct kv_engine *eng;
	unsigned rep;
	int error;        /* 0, or 1: the job failed (message printed) */
	int skipped;      /* the engine cannot run this workload */
	char skip_why[128];
	uint64_t elapsed_ns; /* measured window: after ramp to the last op */
	double elapsed_s;    /* the same in seconds */
	int ramp_unfinished; /* the work ended before ramp_time did: nothing measured */
	uint64_t preload_ops;
	double preload_s, prepare_s;
	struct dir_result d[DIR__COUNT];
	double usr_pct, sys_pct;
	uint64_t ctx, majf, minf;
	uint64_t verify_errors, engine_errors;
	int have_stats;   /* daxkv: the block below is valid */
	struct kv_stats st_end;
	uint64_t bytes_written_delta, bytes_requested;
	double write_amp, space_amp; /* < 0: not available */
	char info[256];   /* describe() */
};

double result_iops(const struct job_result *r); /* all directions */
double result_bw(const struct job_result *r);   /* bytes/s, all directions */
void result_free(struct job_result *r);

/* A store: one engine's open instance, kept across jobs with --share_store=1. */
struct store {
	const struct kv_engine *ops;
	void *eng;
	char dir[PATH_MAX];
	int loaded;  /* keys 0..nrkeys-1 are present */
	int dirty;   /* written since the last prepare_read */
	uint64_t nrkeys;
	_Atomic uint64_t inserted; /* YCSB inserts after the load */
};

int store_open(struct store *s, const struct kv_engine *ops, const struct job *j);
int store_close(struct store *s, int remove_files);
/* What a job writes while it runs, besides its result. */
struct run_opts {
	const char *lat_log;     /* daxkv's per-second log, or NULL */
	const char *fio_lat_log; /* fio's log format (PREFIX_lat.N.log), or NULL */
	const char *fio_bw_log;  /* fio's PREFIX_bw.N.log, or NULL */
	int eta;                 /* ETA_*: the progress line on stderr */
	double status_s;         /* --status-interval: 0 = none */
	FILE *status_out;        /* where the status lines go */
};

/* Runs j on s; fills res (res->error on failure).  o may be NULL (no logs). */
void job_run(struct store *s, const struct job *j, unsigned rep, const struct run_opts *o,
	     struct job_result *res);
/* Operations per second over the measured window; 0 when nothing was measured
 * (never ops / 1 s). */
double result_rate(const struct job_result *r, uint64_t n);

/* ---- output (report.c, report_json.c) ------------------------------------------ */

void report_normal(FILE *f, const struct job_result *r);
void report_terse(FILE *f, const struct job_result *r);
/* The --compare table of one job: results[e] for each engine, over reps. */
void report_compare(FILE *f, const struct bench_cfg *c, unsigned job,
		    struct job_result *const *res, unsigned nengines, unsigned reps);
/* Index of the median repetition by IOPS among reps (skipping failed ones). */
unsigned median_rep(struct job_result *const *reps_of_one, unsigned reps);
void report_header(FILE *f, const struct bench_cfg *c);
/* fio's "Run status group N (all jobs):" summaries (all[] as main.c lays it out:
 * rep-major, then engine, then job). */
void report_groups(FILE *f, const struct bench_cfg *c, struct job_result *all, unsigned nengines);
/* Returns a malloc'd JSON document of every result (cJSON_Print), or NULL. */
char *report_json(const struct bench_cfg *c, struct job_result *all, unsigned nres,
		  const struct kv_engine *const *engines, unsigned nengines);

#endif
