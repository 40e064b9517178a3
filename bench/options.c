/*
 * options.c -- the option table: one list of keys for the command line
 * (--key=value) and job files (key=value), with fio's names where fio has the
 * concept and KV-specific ones where it does not.  Each key is parsed and
 * range-checked here; a bad value is a message and exit code 1 (main.c).
 */
#include "bench.h"

#include <daxkv.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int opt_fail(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, ERR_LEN, fmt, ap);
	va_end(ap);
	return -1;
}

const char *bench_version(void)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "daxkv-bench-%s", daxkv_version());
	return buf;
}

/* ---- value parsers ------------------------------------------------------------------ */

/* fio's sizes: an integer with an optional k/m/g/t/p suffix (x1024, fio's default
 * kb_base), optionally followed by "b", "ib" or "iB": 4k = 4KiB = 4096. */
int parse_size(const char *s, uint64_t *out, char *err)
{
	if (!s || !*s)
		return opt_fail(err, "empty size");
	if (*s == '-' || *s == '+' || *s == ' ')
		return opt_fail(err, "'%s' is not a size (a non-negative integer, e.g. 4k, 1m, 1g)", s);
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return opt_fail(err, "'%s' is not a size (a non-negative integer, e.g. 4k, 1m, 1g)", s);
	unsigned shift = 0;
	const char *units = "kmgtp";
	const char *u = *end ? strchr(units, (char)(*end | 0x20)) : NULL;
	if (u) {
		shift = 10u * (unsigned)(u - units + 1);
		end++;
		if (strcasecmp(end, "ib") == 0 || strcasecmp(end, "b") == 0)
			end += strlen(end);
	} else if (strcasecmp(end, "b") == 0) {
		end++;
	}
	if (*end != '\0')
		return opt_fail(err, "'%s': bad size suffix (k, m, g, t, p; x1024)", s);
	if (shift && v > (UINT64_MAX >> shift))
		return opt_fail(err, "'%s' is too large", s);
	*out = (uint64_t)v << shift;
	return 0;
}

/* Counts (nrkeys, number_ios): an integer with an optional k/m/g/t suffix in
 * powers of 1000, so 1m keys is a million as it is in the default run; sizes
 * (parse_size) are bytes and keep fio's powers of 1024. */
int parse_count(const char *s, uint64_t *out, char *err)
{
	if (!s || !*s)
		return opt_fail(err, "empty count");
	if (*s < '0' || *s > '9')
		return opt_fail(err, "'%s' is not a count (a non-negative integer, e.g. 1000, 10k, 1m)",
				s);
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return opt_fail(err, "'%s' is too large", s);
	uint64_t mult = 1;
	const char *units = "kmgt";
	const char *u = *end ? strchr(units, (char)(*end | 0x20)) : NULL;
	if (u) {
		for (const char *x = units; x <= u; x++)
			mult *= 1000;
		end++;
	}
	if (*end != '\0')
		return opt_fail(err, "'%s': bad count suffix (k, m, g, t; x1000)", s);
	if (v > UINT64_MAX / mult)
		return opt_fail(err, "'%s' is too large", s);
	*out = (uint64_t)v * mult;
	return 0;
}

/* fio's times: seconds by default; suffixes us, ms, s, m, h, d. */
int parse_time(const char *s, double *out_s, char *err)
{
	if (!s || !*s || *s == '-')
		return opt_fail(err, "'%s' is not a time (e.g. 10, 10s, 500ms, 2m)", s ? s : "");
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return opt_fail(err, "'%s' is not a time (e.g. 10, 10s, 500ms, 2m)", s);
	static const struct {
		const char *sfx;
		double mult;
	} units[] = {{"", 1}, {"s", 1}, {"us", 1e-6}, {"ms", 1e-3}, {"m", 60}, {"h", 3600},
		     {"d", 86400}};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].sfx) == 0) {
			*out_s = v * units[i].mult;
			return 0;
		}
	}
	return opt_fail(err, "'%s': bad time suffix (us, ms, s, m, h, d)", s);
}

int parse_key_dist(const char *s, enum key_dist *kd, double *theta, char *err)
{
	if (strcmp(s, "uniform") == 0 || strcmp(s, "random") == 0) {
		*kd = KD_UNIFORM;
	} else if (strcmp(s, "seq") == 0 || strcmp(s, "sequential") == 0) {
		*kd = KD_SEQ;
	} else if (strcmp(s, "latest") == 0) {
		*kd = KD_LATEST;
		*theta = 0.99;
	} else if (strncmp(s, "zipf", 4) == 0 && (s[4] == '\0' || s[4] == ':')) {
		*kd = KD_ZIPF;
		*theta = 0.99;
		if (s[4] == ':') {
			char *end = NULL;
			errno = 0;
			double t = strtod(s + 5, &end);
			if (errno || end == s + 5 || *end != '\0')
				return opt_fail(err, "'%s': zipf:THETA needs a number", s);
			*theta = t;
		}
		if (!(*theta > 0.0 && *theta < 1.0))
			return opt_fail(err, "'%s': theta must be in (0, 1) (Gray's generator; YCSB: 0.99)",
				    s);
	} else {
		return opt_fail(err, "'%s': expected uniform, zipf:THETA, seq or latest", s);
	}
	return 0;
}

static const char *const rw_names[RW__COUNT] = {
	"randwrite", "seqwrite", "overwrite", "randread", "readmissing", "randrw",
	"seqread",   "scan",     "delete",    "ycsb-a",   "ycsb-b",      "ycsb-c",
	"ycsb-d",    "ycsb-e",   "ycsb-f",
};

const char *rw_name(enum rw_kind rw)
{
	return (unsigned)rw < RW__COUNT ? rw_names[rw] : "?";
}

const char *key_dist_name(enum key_dist kd, double theta, char *buf, size_t n)
{
	switch (kd) {
	case KD_UNIFORM: snprintf(buf, n, "uniform"); break;
	case KD_ZIPF: snprintf(buf, n, "zipf:%g", theta); break;
	case KD_SEQ: snprintf(buf, n, "seq"); break;
	case KD_LATEST: snprintf(buf, n, "latest"); break;
	}
	return buf;
}

/* ---- setters that are more than a number ------------------------------------------- */

static int set_rw(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)c;
	static const struct {
		const char *alias;
		enum rw_kind rw;
	} aliases[] = {{"write", RW_SEQWRITE}, {"read", RW_SEQREAD}, {"fillrandom", RW_RANDWRITE},
		       {"fillseq", RW_SEQWRITE}, {"readrandom", RW_RANDREAD}};
	for (unsigned i = 0; i < RW__COUNT; i++) {
		if (strcmp(v, rw_names[i]) == 0) {
			j->rw = (enum rw_kind)i;
			return 0;
		}
	}
	/* ycsb-a, ycsb_a, ycsba and YCSB-A all name profile A. */
	if (strncasecmp(v, "ycsb", 4) == 0) {
		const char *p = v + 4 + (v[4] == '-' || v[4] == '_');
		char l = (char)(p[0] | 0x20);
		if (l >= 'a' && l <= 'f' && p[1] == '\0') {
			j->rw = (enum rw_kind)(RW_YCSB_A + (l - 'a'));
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcmp(v, aliases[i].alias) == 0) {
			j->rw = aliases[i].rw;
			return 0;
		}
	}
	return opt_fail(err, "'%s': expected randwrite, seqwrite, overwrite, randread, readmissing, "
			 "randrw, seqread, scan, delete or ycsb-a..ycsb-f", v);
}

static int set_key_dist(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)c;
	if (parse_key_dist(v, &j->key_dist, &j->zipf_theta, err) != 0)
		return -1;
	j->key_dist_set = 1;
	return 0;
}

static int set_rwmix(struct job *j, const char *v, int is_read, char *err)
{
	uint64_t x = 0;
	if (parse_size(v, &x, err) != 0 || x > 100)
		return opt_fail(err, "'%s': expected a percentage 0..100", v);
	j->rwmixread = is_read ? (unsigned)x : 100u - (unsigned)x;
	j->rwmixread_set = 1;
	return 0;
}

static int set_rwmixread(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)c;
	return set_rwmix(j, v, 1, err);
}

static int set_rwmixwrite(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)c;
	return set_rwmix(j, v, 0, err);
}

static int set_backend(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)c;
	static const char *const names[] = {"auto", "dax", "block"};
	for (int i = 0; i < 3; i++)
		if (strcmp(v, names[i]) == 0) {
			j->backend = i;
			return 0;
		}
	return opt_fail(err, "'%s': expected dax, block or auto", v);
}

static int set_gc_policy(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)c;
	if (strcmp(v, "costbenefit") == 0 || strcmp(v, "cost-benefit") == 0)
		j->gc_policy = GCP_COSTBENEFIT;
	else if (strcmp(v, "ratio") == 0)
		j->gc_policy = GCP_RATIO;
	else if (strcmp(v, "default") == 0)
		j->gc_policy = GCP_DEFAULT;
	else
		return opt_fail(err, "'%s': expected ratio or costbenefit", v);
	return 0;
}

static int set_gc_rate(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)c;
	if (strcmp(v, "unlimited") == 0 || strcmp(v, "max") == 0) {
		j->gc_rate = UINT64_MAX;
		return 0;
	}
	return parse_size(v, &j->gc_rate, err);
}

static int set_pct_list(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)c;
	char buf[512];
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		return opt_fail(err, "percentile list too long");
	unsigned n = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, ":,", &save); t; t = strtok_r(NULL, ":,", &save)) {
		char *end = NULL;
		double p = strtod(t, &end);
		if (end == t || *end != '\0' || !(p > 0.0 && p <= 100.0))
			return opt_fail(err, "'%s': percentiles are numbers in (0, 100]", t);
		if (n == PCT_MAX)
			return opt_fail(err, "at most %d percentiles", PCT_MAX);
		j->pct[n++] = p;
	}
	if (n == 0)
		return opt_fail(err, "empty percentile list");
	j->npct = n;
	return 0;
}

static int set_output_format(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)j;
	if (strcmp(v, "normal") == 0)
		c->fmt = OUT_NORMAL;
	else if (strcmp(v, "json") == 0)
		c->fmt = OUT_JSON;
	else if (strcmp(v, "json+") == 0)
		c->fmt = OUT_JSON_PLUS;
	else if (strcmp(v, "terse") == 0)
		c->fmt = OUT_TERSE;
	else
		return opt_fail(err, "'%s': expected normal, json, json+ or terse", v);
	return 0;
}

static int set_status_interval(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)j;
	if (parse_time(v, &c->status_interval_s, err) != 0)
		return -1;
	if (c->status_interval_s < 0.1)
		return opt_fail(err, "'%s': at least 100ms (the monitor's tick)", v);
	return 0;
}

static int set_eta(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)j;
	if (strcmp(v, "auto") == 0)
		c->eta = ETA_AUTO;
	else if (strcmp(v, "always") == 0)
		c->eta = ETA_ALWAYS;
	else if (strcmp(v, "never") == 0)
		c->eta = ETA_NEVER;
	else
		return opt_fail(err, "'%s': expected auto, always or never", v);
	return 0;
}

static int set_compare(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)j;
	if (!*v || snprintf(c->compare, sizeof(c->compare), "%s", v) >= (int)sizeof(c->compare))
		return opt_fail(err, "expected a list of engines (e.g. daxkv,rocksdb)");
	return 0;
}

static int set_section(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)j;
	size_t len = strlen(c->sections);
	if (!*v || len + strlen(v) + 2 > sizeof(c->sections))
		return opt_fail(err, "expected a job name");
	snprintf(c->sections + len, sizeof(c->sections) - len, "%s%s", len ? "," : "", v);
	return 0;
}

static int set_output(struct bench_cfg *c, struct job *j, const char *v, char *err)
{
	(void)j;
	if (!*v || snprintf(c->output, sizeof(c->output), "%s", v) >= (int)sizeof(c->output))
		return opt_fail(err, "expected a file name");
	return 0;
}

/* ---- the table ------------------------------------------------------------------------ */

enum otype { OT_SIZE, OT_COUNT, OT_UINT, OT_BOOL, OT_TIME, OT_STR, OT_DOUBLE, OT_FN, OT_RUN_UINT,
	     OT_RUN_BOOL };

struct optdef {
	const char *name;
	enum otype type;
	size_t off, len; /* into struct job (OT_RUN_*: struct bench_cfg) */
	double lo, hi;
	int (*fn)(struct bench_cfg *c, struct job *j, const char *v, char *err);
	int run_level; /* only on the command line or in [global] */
	const char *help;
};

#define J(f) offsetof(struct job, f), sizeof(((struct job *)0)->f)
#define C(f) offsetof(struct bench_cfg, f), sizeof(((struct bench_cfg *)0)->f)
#define U64MAX 18446744073709551615.0
static const struct optdef opts[] = {
	{"name", OT_STR, J(name), 0, 0, NULL, 0, "job name; on the command line it starts a job"},
	{"rw", OT_FN, 0, 0, 0, 0, set_rw, 0, "workload (see WORKLOADS)"},
	{"readwrite", OT_FN, 0, 0, 0, 0, set_rw, 0, "same as rw"},
	{"engine", OT_STR, J(engine), 0, 0, NULL, 0, "daxkv, rocksdb, leveldb, lmdb, pmem-floor"},
	{"ioengine", OT_STR, J(engine), 0, 0, NULL, 0, "same as engine"},
	{"bs", OT_SIZE, J(bs), 0, 64.0 * 1048576, NULL, 0, "value size in bytes (100); fio: the block size"},
	{"ks", OT_SIZE, J(ks), 8, 65536, NULL, 0, "key size, >= 8 (16)"},
	{"nrkeys", OT_COUNT, J(nrkeys), 1, 1e12, NULL, 0, "keys in the store, a count (1m = 10^6)"},
	{"size", OT_SIZE, J(size), 1, U64MAX, NULL, 0,
	 "bytes (key+value) of I/O for the job group: number_ios = size / (ks + bs)"},
	{"number_ios", OT_COUNT, J(number_ios), 1, U64MAX, NULL, 0,
	 "operations for the job group, a count"},
	{"numjobs", OT_UINT, J(numjobs), 1, 256, NULL, 0, "threads on the same store (1)"},
	{"stonewall", OT_BOOL, J(stonewall), 0, 1, NULL, 0,
	 "start a new reporting group (jobs always run one after another)"},
	{"new_group", OT_BOOL, J(new_group), 0, 1, NULL, 0, "start a new reporting group"},
	{"runtime", OT_TIME, J(runtime_s), 0, 0, NULL, 0, "stop after this long (s; ms/m/h)"},
	{"time_based", OT_BOOL, J(time_based), 0, 1, NULL, 0, "run for runtime even when done"},
	{"ramp_time", OT_TIME, J(ramp_s), 0, 0, NULL, 0, "run this long before measuring"},
	{"key_dist", OT_FN, 0, 0, 0, 0, set_key_dist, 0, "uniform | zipf:THETA | seq | latest"},
	{"rwmixread", OT_FN, 0, 0, 0, 0, set_rwmixread, 0, "randrw: % reads (50)"},
	{"rwmixwrite", OT_FN, 0, 0, 0, 0, set_rwmixwrite, 0, "randrw: % writes"},
	{"sync", OT_BOOL, J(sync), 0, 1, NULL, 0, "peers: synced writes (1); daxkv is always durable"},
	{"directory", OT_STR, J(directory), 0, 0, NULL, 0, "stores go in DIR/<engine>"},
	{"filename", OT_STR, J(filename), 0, 0, NULL, 0, "the store's exact path (must not exist)"},
	{"preload", OT_BOOL, J(preload), 0, 1, NULL, 0, "load nrkeys keys first, unmeasured"},
	{"scan_len", OT_UINT, J(scan_len), 1, 1000000, NULL, 0, "scan: nexts after a seek (100)"},
	{"randseed", OT_SIZE, J(seed), 0, U64MAX, NULL, 0, "seed of keys and values (42)"},
	{"seed", OT_SIZE, J(seed), 0, U64MAX, NULL, 0, "same as randseed"},
	{"verify", OT_BOOL, J(verify), 0, 1, NULL, 0, "check each value read (1)"},
	{"write_lat_log", OT_STR, J(lat_log), 0, 0, NULL, 0,
	 "per-second log PREFIX.<job>.<engine>.log and fio's PREFIX_lat.N.log"},
	{"write_bw_log", OT_STR, J(bw_log), 0, 0, NULL, 0, "fio's per-second PREFIX_bw.N.log"},
	{"percentile_list", OT_FN, 0, 0, 0, 0, set_pct_list, 0, "e.g. 50:99:99.9"},
	{"backend", OT_FN, 0, 0, 0, 0, set_backend, 0, "daxkv: dax | block | auto"},
	{"pool_size", OT_SIZE, J(pool_size), 1, U64MAX, NULL, 0, "daxkv: pool bytes (auto)"},
	{"segment_size", OT_SIZE, J(segment_size), 1, U64MAX, NULL, 0, "daxkv: segment bytes"},
	{"gc", OT_BOOL, J(gc), 0, 1, NULL, 0, "daxkv: background GC (1)"},
	{"gc_ratio", OT_DOUBLE, J(gc_ratio), 0, 1, NULL, 0, "daxkv: victim dead ratio"},
	{"gc_policy", OT_FN, 0, 0, 0, 0, set_gc_policy, 0, "daxkv: ratio | costbenefit"},
	{"gc_rate", OT_FN, 0, 0, 0, 0, set_gc_rate, 0, "daxkv: GC bytes/s (unlimited)"},
	{"output-format", OT_FN, 0, 0, 0, 0, set_output_format, 1,
	 "normal | json | json+ (with latency bins) | terse"},
	{"status-interval", OT_FN, 0, 0, 0, 0, set_status_interval, 1,
	 "a status line per running job every TIME"},
	{"eta", OT_FN, 0, 0, 0, 0, set_eta, 1, "progress line on stderr: auto (a tty) | always | never"},
	{"output", OT_FN, 0, 0, 0, 0, set_output, 1, "write the report to FILE"},
	{"compare", OT_FN, 0, 0, 0, 0, set_compare, 1, "run each job on each engine, in turn"},
	{"section", OT_FN, 0, 0, 0, 0, set_section, 1, "run only this job (repeatable)"},
	{"reps", OT_RUN_UINT, C(reps), 1, 100, NULL, 1, "repetitions, engines interleaved (1)"},
	{"share_store", OT_RUN_BOOL, C(share_store), 0, 1, NULL, 1,
	 "jobs run one after another on one store per engine (0)"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* fio spells some keys with '-', most with '_': both are accepted. */
static int key_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

static const struct optdef *opt_find(const char *key)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (key_eq(opts[i].name, key))
			return &opts[i];
	return NULL;
}

int opt_is_run_level(const char *key)
{
	const struct optdef *o = opt_find(key);
	return o && o->run_level;
}

int opt_is_known(const char *key)
{
	return opt_find(key) != NULL;
}

int opt_is_flag(const char *key)
{
	const struct optdef *o = opt_find(key);
	return o && (o->type == OT_BOOL || o->type == OT_RUN_BOOL);
}

static int set_number(const struct optdef *o, void *base, const char *val, char *err)
{
	uint64_t v = 0;
	double d = 0;
	if (o->type == OT_DOUBLE || o->type == OT_TIME) {
		char *end = NULL;
		if (o->type == OT_TIME) {
			if (parse_time(val, &d, err) != 0)
				return -1;
		} else if ((d = strtod(val, &end)), end == val || *end != '\0') {
			return opt_fail(err, "'%s' is not a number", val);
		}
		if (o->type == OT_DOUBLE && (d < o->lo || d > o->hi))
			return opt_fail(err, "%s is out of range (%g..%g)", val, o->lo, o->hi);
		memcpy((char *)base + o->off, &d, sizeof(d));
		return 0;
	}
	if ((o->type == OT_COUNT || o->type == OT_UINT || o->type == OT_RUN_UINT ? parse_count(val, &v, err) : parse_size(val, &v, err)) != 0)
		return -1;
	if (v == 0 && o->lo >= 1)
		return opt_fail(err, "0 makes no sense here (leave the option out for its default)");
	if ((double)v < o->lo || (double)v > o->hi)
		return opt_fail(err, "%s is out of range (%.0f..%.0f)", val, o->lo, o->hi);
	if (o->len == sizeof(uint64_t)) {
		memcpy((char *)base + o->off, &v, sizeof(v));
	} else {
		unsigned u = (unsigned)v;
		int i = (int)v;
		if (o->type == OT_BOOL || o->type == OT_RUN_BOOL)
			memcpy((char *)base + o->off, &i, sizeof(i));
		else
			memcpy((char *)base + o->off, &u, sizeof(u));
	}
	return 0;
}

int opt_set(struct bench_cfg *c, struct job *j, const char *key, const char *val, char *err)
{
	char sub[ERR_LEN];
	const struct optdef *o = opt_find(key);
	if (!o)
		return opt_fail(err, "unknown option '%s' (see --help)", key);
	if (o->run_level && j != &c->global)
		return opt_fail(err, "'%s' applies to the whole run: put it in [global] or on the "
				 "command line", key);
	int rc = 0;
	switch (o->type) {
	case OT_STR:
		if (!*val || strlen(val) >= o->len)
			rc = opt_fail(sub, "'%s': empty or too long", val);
		else
			memcpy((char *)j + o->off, val, strlen(val) + 1);
		break;
	case OT_FN: rc = o->fn(c, j, val, sub); break;
	case OT_RUN_UINT:
	case OT_RUN_BOOL: rc = set_number(o, c, val, sub); break;
	case OT_SIZE:
	case OT_COUNT:
	case OT_UINT:
	case OT_BOOL:
	case OT_TIME:
	case OT_DOUBLE: rc = set_number(o, j, val, sub); break;
	}
	if (rc != 0)
		return opt_fail(err, "%s: %s", o->name, sub);
	return 0;
}

void job_defaults(struct job *j)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->name, sizeof(j->name), "job");
	snprintf(j->engine, sizeof(j->engine), "daxkv");
	snprintf(j->directory, sizeof(j->directory), "/dev/shm/daxkv-bench");
	j->rw = RW_RANDWRITE;
	j->bs = 100;
	j->ks = 16;
	j->nrkeys = 1000000;
	j->numjobs = 1;
	j->key_dist = KD_UNIFORM;
	j->zipf_theta = 0.99;
	j->rwmixread = 50;
	j->sync = 1;
	j->preload = -1;
	j->scan_len = 100;
	j->seed = 42;
	j->verify = 1;
	memcpy(j->pct, pct_default, pct_default_n * sizeof(double));
	j->npct = pct_default_n;
	j->gc = 1;
}

int job_validate(const struct job *j, char *err)
{
	if (j->nrkeys < j->numjobs)
		return opt_fail(err, "job '%s': nrkeys (%llu) must be at least numjobs (%u)", j->name,
			    (unsigned long long)j->nrkeys, j->numjobs);
	if (j->time_based && j->runtime_s <= 0)
		return opt_fail(err, "job '%s': time_based needs runtime=", j->name);
	if (j->ks < 8)
		return opt_fail(err, "job '%s': ks must be at least 8", j->name);
	if (j->pool_size && j->pool_size < (1u << 20))
		return opt_fail(err, "job '%s': pool_size must be at least 1m", j->name);
	return 0;
}

void opt_usage(FILE *f)
{
	fprintf(f, "usage: daxkv-bench [--option=value ...] [--name=JOB --option=value ...] "
		   "[jobfile ...]\n\nOptions (the same keys work in a job file; --key value works "
		   "too):\n");
	for (size_t i = 0; i < NOPTS; i++)
		fprintf(f, "  --%-16s %s\n", opts[i].name, opts[i].help);
	fprintf(f,
		"  --help            this text\n"
		"  --version         daxkv-bench-X.Y.Z (the daxkv library's version)\n"
		"  --list-engines    the engines built into this binary\n\n"
		"WORKLOADS (--rw=): randwrite (unique inserts), seqwrite, overwrite, randread\n"
		"  (hits), readmissing, randrw, seqread (full scans), scan (seek + scan_len\n"
		"  nexts), delete, ycsb-a (50%% read/50%% update), ycsb-b (95/5), ycsb-c (reads),\n"
		"  ycsb-d (95%% read latest/5%% insert), ycsb-e (95%% scans of 1..scan_len/5%%\n"
		"  insert), ycsb-f (50%% read/50%% read-modify-write); YCSB keys are zipf:0.99.\n"
		"Sizes in bytes (bs, ks, size, pool_size, segment_size, gc_rate) take fio's\n"
		"binary suffixes: 4k = 4096, 1m = 1048576.  Counts (nrkeys, number_ios,\n"
		"numjobs, scan_len, reps) take decimal ones: 1k = 1000, 1m = 1000000.  Times:\n"
		"s (default), us, ms, m, h, d.  A size or count of 0 where it makes no sense is\n"
		"an error.  Job files: fio's INI ([global], sections, stonewall, new_group,\n"
		"include FILE, ${VAR} and daxkv's ${VAR:-default}).  Bad input, and no\n"
		"arguments at all: a message (or this text) on stderr and exit code 1.\n");
}
