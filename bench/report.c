/*
 * report.c -- the header, the human-readable tables and the JSON document.
 *
 * With --reps > 1 every cell is the median over the repetitions that ran, and a
 * second table gives the spread (min..max) of the same cells.  Rows are grouped
 * by phase so engines sit next to each other; "rel" is ops/s relative to the
 * first engine named, in the same phase of the same run.
 */
#include "kvbench.h"

#include <linux/magic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

enum metric { M_OPS, M_SEC, M_OPS_S, M_MB_S, M_P50, M_P99, M_P999, M_MAX, M_MEAN, M_ERR, M__N };

static const char *const metric_json[M__N] = {
	"ops", "seconds", "ops_per_sec", "mb_per_sec", "p50_us", "p99_us", "p999_us", "max_us",
	"mean_us", "errors",
};

static double metric_of(const struct phase_result *r, enum metric m)
{
	switch (m) {
	case M_OPS: return (double)r->ops;
	case M_SEC: return r->seconds;
	case M_OPS_S: return r->ops_per_sec;
	case M_MB_S: return r->mb_per_sec;
	case M_P50: return r->p50_us;
	case M_P99: return r->p99_us;
	case M_P999: return r->p999_us;
	case M_MAX: return r->max_us;
	case M_MEAN: return r->mean_us;
	case M_ERR: return (double)(r->verify_errors + r->engine_errors);
	case M__N: break;
	}
	return 0.0;
}

struct summary {
	unsigned n; /* repetitions that ran */
	double med, min, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static struct summary summarize(const struct row *rw, enum metric m)
{
	struct summary s = {0};
	double *v = malloc(rw->nreps * sizeof(double));
	if (!v)
		return s;
	for (unsigned i = 0; i < rw->nreps; i++)
		if (rw->reps[i].ran)
			v[s.n++] = metric_of(&rw->reps[i], m);
	if (s.n) {
		qsort(v, s.n, sizeof(double), cmp_double);
		s.min = v[0];
		s.max = v[s.n - 1];
		s.med = s.n % 2 ? v[s.n / 2] : (v[s.n / 2 - 1] + v[s.n / 2]) / 2;
	}
	free(v);
	return s;
}

static const char *fs_name(const char *dir)
{
	struct statfs sf;
	if (statfs(dir, &sf) != 0)
		return "unknown";
	switch ((unsigned long)sf.f_type) {
	case TMPFS_MAGIC: return "tmpfs";
	case EXT4_SUPER_MAGIC: return "ext4";
	case XFS_SUPER_MAGIC: return "xfs";
	case BTRFS_SUPER_MAGIC: return "btrfs";
	default: return "other";
	}
}

static void phases_str(const struct kv_config *cfg, char *buf, size_t n)
{
	buf[0] = '\0';
	for (unsigned p = 0; p < cfg->nphases; p++) {
		size_t len = strlen(buf);
		snprintf(buf + len, n - len, "%s%s", p ? "," : "", phase_name(cfg->phases[p]));
	}
}

void report_header(FILE *f, const struct report *r)
{
	const struct kv_config *c = r->cfg;
	char when[64], phases[256];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	struct utsname u;
	if (uname(&u) != 0)
		memset(&u, 0, sizeof(u));
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	phases_str(c, phases, sizeof(phases));
	fprintf(f, "# daxkv-kvbench\n# command: %s\n", r->command);
	fprintf(f, "# date: %s  host: %s  kernel: %s  cpus: %ld\n", when, u.nodename, u.release,
		sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "# dir: %s (%s)  PMEM_IS_PMEM_FORCE=%s\n", c->dir, fs_name(c->dir),
		force ? force : "unset");
	fprintf(f,
		"# keys=%llu key=%zuB value=%zuB threads=%u reps=%u seed=%llu phases=%s "
		"daxkv-pool=%lluMiB timing-fence=%d\n",
		(unsigned long long)c->keys, c->key_size, c->value_size, c->threads, c->reps,
		(unsigned long long)c->seed, phases, (unsigned long long)(c->pool_size >> 20),
		c->timing_fence);
	if (strcmp(fs_name(c->dir), "tmpfs") == 0)
		fprintf(f, "# NOTE: on tmpfs fsync/fdatasync/msync do nothing: the peers' synced "
			   "writes pay no cache flush here\n#       (daxkv and the floor do): peer "
			   "numbers are upper bounds.\n");
	for (unsigned e = 0; e < r->nengines; e++)
		fprintf(f, "# %-8s %s\n", r->engines[e]->name, r->engines[e]->setup);
}

static void fmt_num(char *buf, size_t n, double v, int prec)
{
	snprintf(buf, n, "%.*f", prec, v);
}

/* Precision per metric column. */
static const int metric_prec[M__N] = {0, 3, 0, 2, 2, 2, 2, 1, 2, 0};

static const struct row *first_engine_row(const struct report *r, unsigned pidx)
{
	for (unsigned i = 0; i < r->nrows; i++)
		if (r->rows[i].eng == r->engines[0] && r->rows[i].pidx == pidx &&
		    !r->rows[i].is_prepare)
			return &r->rows[i];
	return NULL;
}

static void print_row(FILE *f, const struct report *r, const struct row *rw, int spread)
{
	static const enum metric cols[] = {M_OPS, M_SEC, M_OPS_S, M_MB_S, M_P50,
					   M_P99, M_P999, M_MAX, M_ERR};
	static const int width[] = {9, 8, 10, 8, 8, 8, 9, 9, 6};
	struct summary ops_s = summarize(rw, M_OPS_S);
	fprintf(f, "%-8s %-12s", rw->eng->name, rw->label);
	if (ops_s.n == 0) {
		int unsupported = !(rw->eng->phase_mask & (1u << rw->kind));
		fprintf(f, " %s\n", unsupported ? "n/a (not supported by this engine)"
						: "not run (an earlier error)");
		return;
	}
	if (rw->is_prepare) {
		struct summary s = summarize(rw, M_SEC);
		char a[32], b[32];
		fmt_num(a, sizeof(a), s.min, 3);
		fmt_num(b, sizeof(b), s.max, 3);
		if (spread)
			fprintf(f, " %9s %8s..%s   (flush + compaction, not in any phase)\n", "-", a, b);
		else
			fprintf(f, " %9s %8.3f   (flush + compaction, not in any phase)\n", "-", s.med);
		return;
	}
	char cell[80];
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		struct summary s = summarize(rw, cols[i]);
		if (spread) {
			char a[32], b[32];
			fmt_num(a, sizeof(a), s.min, metric_prec[cols[i]]);
			fmt_num(b, sizeof(b), s.max, metric_prec[cols[i]]);
			snprintf(cell, sizeof(cell), "%s..%s", a, b);
			fprintf(f, " %*s", width[i] + 8, cell);
		} else {
			fmt_num(cell, sizeof(cell), cols[i] == M_OPS_S ? s.med / 1000.0 : s.med,
				cols[i] == M_OPS_S ? 1 : metric_prec[cols[i]]);
			fprintf(f, " %*s", width[i], cell);
		}
		if (cols[i] == M_OPS_S && !spread) {
			const struct row *base = first_engine_row(r, rw->pidx);
			struct summary bs = base ? summarize(base, M_OPS_S) : (struct summary){0};
			if (bs.n && bs.med > 0)
				fprintf(f, " %6.2f", s.med / bs.med);
			else
				fprintf(f, " %6s", "-");
		}
	}
	fputc('\n', f);
}

static void print_table(FILE *f, const struct report *r, int spread)
{
	if (spread)
		fprintf(f, "\n%-8s %-12s %17s %16s %18s %16s %16s %16s %17s %17s %14s\n", "engine",
			"step", "ops", "sec", "ops/s", "MB/s", "p50_us", "p99_us", "p99.9_us",
			"max_us", "errors");
	else
		fprintf(f, "\n%-8s %-12s %9s %8s %10s %6s %8s %8s %8s %9s %9s %6s\n", "engine",
			"step", "ops", "sec", "kops/s", "rel", "MB/s", "p50_us", "p99_us",
			"p99.9_us", "max_us", "errors");
	for (unsigned p = 0; p < r->cfg->nphases; p++) {
		for (unsigned e = 0; e < r->nengines; e++)
			for (unsigned i = 0; i < r->nrows; i++)
				if (r->rows[i].eng == r->engines[e] && r->rows[i].pidx == p)
					print_row(f, r, &r->rows[i], spread);
		if (p + 1 < r->cfg->nphases && r->nengines > 1)
			fputc('\n', f);
	}
}

void report_table(FILE *f, const struct report *r)
{
	const struct kv_config *c = r->cfg;
	if (c->reps > 1)
		fprintf(f, "\n## medians of %u repetitions (engines interleaved)", c->reps);
	print_table(f, r, 0);
	if (c->reps > 1) {
		fprintf(f, "\n## spread: min..max over the %u repetitions", c->reps);
		print_table(f, r, 1);
	}
	fprintf(f, "\n# latency: per operation, CLOCK_MONOTONIC, log-linear histogram (<0.8%% "
		   "bucket error), all threads merged\n");
	fprintf(f, "# ops/s = total ops / phase wall time; MB/s counts key+value (key only for "
		   "delete, readmissing); rel = ops/s / %s's\n", r->engines[0]->name);
	for (unsigned e = 0; e < r->nengines; e++) {
		if (r->engines[e]->read_note)
			fprintf(f, "# * %s\n", r->engines[e]->read_note);
	}
	for (unsigned e = 0; e < r->nengines; e++)
		if (r->notes[e][0])
			fprintf(f, "# at close (last rep), %s: %s\n", r->engines[e]->name, r->notes[e]);
	fprintf(f, "# errors: %llu\n", (unsigned long long)r->total_errors);
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.4f", v);
}

static void json_metrics(FILE *f, const struct row *rw, int which)
{
	fputc('{', f);
	for (int m = 0; m < M__N; m++) {
		struct summary s = summarize(rw, (enum metric)m);
		fprintf(f, "%s\"%s\": ", m ? ", " : "", metric_json[m]);
		json_num(f, which == 0 ? s.med : which == 1 ? s.min : s.max);
	}
	fputc('}', f);
}

static void json_rep(FILE *f, const struct phase_result *p)
{
	fprintf(f, "{\"ran\": %s", p->ran ? "true" : "false");
	for (int m = 0; m < M__N; m++) {
		fprintf(f, ", \"%s\": ", metric_json[m]);
		json_num(f, metric_of(p, (enum metric)m));
	}
	fprintf(f, ", \"verify_errors\": %llu, \"engine_errors\": %llu}",
		(unsigned long long)p->verify_errors, (unsigned long long)p->engine_errors);
}

void report_json(FILE *f, const struct report *r)
{
	const struct kv_config *c = r->cfg;
	struct utsname u;
	if (uname(&u) != 0)
		memset(&u, 0, sizeof(u));
	fprintf(f, "{\n  \"tool\": \"daxkv-kvbench\",\n  \"command\": ");
	json_str(f, r->command);
	fprintf(f, ",\n  \"time\": %lld,\n  \"environment\": {\"host\": ", (long long)time(NULL));
	json_str(f, u.nodename);
	fprintf(f, ", \"kernel\": ");
	json_str(f, u.release);
	fprintf(f, ", \"cpus\": %ld, \"fs\": ", sysconf(_SC_NPROCESSORS_ONLN));
	json_str(f, fs_name(c->dir));
	fprintf(f, ", \"pmem_is_pmem_force\": ");
	if (getenv("PMEM_IS_PMEM_FORCE"))
		json_str(f, getenv("PMEM_IS_PMEM_FORCE"));
	else
		fprintf(f, "null");
	fprintf(f, "},\n  \"config\": {\"dir\": ");
	json_str(f, c->dir);
	fprintf(f,
		", \"keys\": %llu, \"key_size\": %zu, \"value_size\": %zu, \"threads\": %u, "
		"\"reps\": %u, \"seed\": %llu, \"pool_size\": %llu, \"timing_fence\": %s, "
		"\"phases\": [",
		(unsigned long long)c->keys, c->key_size, c->value_size, c->threads, c->reps,
		(unsigned long long)c->seed, (unsigned long long)c->pool_size,
		c->timing_fence ? "true" : "false");
	for (unsigned p = 0; p < c->nphases; p++) {
		if (p)
			fprintf(f, ", ");
		json_str(f, phase_name(c->phases[p]));
	}
	fprintf(f, "]},\n  \"engines\": [");
	for (unsigned e = 0; e < r->nengines; e++) {
		fprintf(f, "%s\n    {\"name\": ", e ? "," : "");
		json_str(f, r->engines[e]->name);
		fprintf(f, ", \"setup\": ");
		json_str(f, r->engines[e]->setup);
		fprintf(f, ", \"read_note\": ");
		if (r->engines[e]->read_note)
			json_str(f, r->engines[e]->read_note);
		else
			fprintf(f, "null");
		fprintf(f, ", \"at_close\": ");
		json_str(f, r->notes[e]);
		fputc('}', f);
	}
	fprintf(f, "\n  ],\n  \"results\": [");
	for (unsigned i = 0; i < r->nrows; i++) {
		const struct row *rw = &r->rows[i];
		fprintf(f, "%s\n    {\"engine\": ", i ? "," : "");
		json_str(f, rw->eng->name);
		fprintf(f, ", \"step\": ");
		json_str(f, rw->is_prepare ? "compact" : phase_name(rw->kind));
		fprintf(f, ", \"phase_index\": %u, \"supported\": %s,\n     \"median\": ", rw->pidx,
			rw->is_prepare || (rw->eng->phase_mask & (1u << rw->kind)) ? "true"
										 : "false");
		json_metrics(f, rw, 0);
		fprintf(f, ",\n     \"min\": ");
		json_metrics(f, rw, 1);
		fprintf(f, ",\n     \"max\": ");
		json_metrics(f, rw, 2);
		fprintf(f, ",\n     \"reps\": [");
		for (unsigned k = 0; k < rw->nreps; k++) {
			fprintf(f, "%s\n       ", k ? "," : "");
			json_rep(f, &rw->reps[k]);
		}
		fprintf(f, "]}");
	}
	fprintf(f, "\n  ],\n  \"errors\": %llu\n}\n", (unsigned long long)r->total_errors);
}
