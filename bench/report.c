/*
 * report.c -- fio-like human output: the run header, one block per job result
 * (IOPS, bandwidth, completion latency and its percentiles, CPU), the terse
 * one-line form, and the --compare table with ratios to the first engine.
 *
 * Terse line (';'-separated, one per result; field 2 is the format version):
 *   daxkv-bench;1;job;engine;rw;rep;error;elapsed_ms;
 *   then for each of read, write, delete, scan:
 *     ops;iops;bw_bytes;min_ns;max_ns;mean_ns;stddev_ns;p50_ns;p99_ns;p99.9_ns;p99.99_ns;
 *   then usr_pct;sys_pct;ctx;majf;minf;write_amp;space_amp  (-1: not available)
 */
#include "bench.h"

#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static const char *fs_name(const char *dir)
{
	struct statfs sf;
	if (statfs(dir, &sf) != 0)
		return "not created yet";
	switch ((unsigned long)sf.f_type) {
	case TMPFS_MAGIC: return "tmpfs";
	case EXT4_SUPER_MAGIC: return "ext4";
	case XFS_SUPER_MAGIC: return "xfs";
	default: return "other";
	}
}

void report_header(FILE *f, const struct bench_cfg *c)
{
	char when[64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	struct utsname u;
	if (uname(&u) != 0)
		memset(&u, 0, sizeof(u));
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	fprintf(f, "# daxkv-bench: %s\n", c->command);
	fprintf(f, "# %s  host %s  kernel %s  cpus %ld  PMEM_IS_PMEM_FORCE=%s  directory %s (%s)\n",
		when, u.nodename, u.release, sysconf(_SC_NPROCESSORS_ONLN), force ? force : "unset",
		c->jobs[0].directory, fs_name(c->jobs[0].directory));
}

/* fio's short numbers: 306k, 1.2M. */
static void human(char *buf, size_t n, double v)
{
	if (v >= 10e6)
		snprintf(buf, n, "%.0fM", v / 1e6);
	else if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 10e3)
		snprintf(buf, n, "%.0fk", v / 1e3);
	else if (v >= 1e3)
		snprintf(buf, n, "%.2fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
}

static void print_percentiles(FILE *f, const struct job *j, const struct hist *h, double div,
			      const char *unit)
{
	fprintf(f, "    clat percentiles (%s):\n", unit);
	for (unsigned i = 0; i < j->npct; i++) {
		double v = (double)hist_quantile(h, j->pct[i] / 100.0) / div;
		fprintf(f, "%s%6.2fth=[%6.0f]%s", i % 4 == 0 ? "     | " : "", j->pct[i], v,
			i + 1 == j->npct ? "\n" : i % 4 == 3 ? ",\n" : ", ");
	}
}

/* fio's unit for run times is the millisecond; below 10 ms the fraction is kept
 * (the window is timed in ns), so a short job does not read "0msec". */
static void msec(char *buf, size_t n, uint64_t ns)
{
	if (ns >= 10000000u)
		snprintf(buf, n, "%.0fmsec", (double)ns / 1e6);
	else
		snprintf(buf, n, "%.3fmsec", (double)ns / 1e6);
}

static void print_dir(FILE *f, const struct job_result *r, enum dir d)
{
	const struct dir_result *x = &r->d[d];
	const struct hist *h = x->hist;
	char iops[32], run[32];
	double bw = result_rate(r, x->bytes);
	human(iops, sizeof(iops), result_rate(r, x->ops));
	msec(run, sizeof(run), r->elapsed_ns);
	fprintf(f, "  %s: IOPS=%s, BW=%.1fMiB/s (%.1fMB/s)(%.1fMiB/%s), ops=%llu", dir_name(d),
		iops, bw / 1048576.0, bw / 1e6, (double)x->bytes / 1048576.0, run,
		(unsigned long long)x->ops);
	if (x->not_found)
		fprintf(f, ", not found=%llu", (unsigned long long)x->not_found);
	if (d == DIR_SCAN)
		fprintf(f, ", keys=%llu (%.0f/s)", (unsigned long long)x->keys,
			result_rate(r, x->keys));
	fputc('\n', f);
	/* fio's choice of unit: the one that keeps the typical value readable. */
	uint64_t mid = hist_quantile(h, 0.5);
	double div = mid < 10000 ? 1 : mid < 10000000 ? 1e3 : 1e6;
	const char *unit = div == 1 ? "nsec" : div == 1e3 ? "usec" : "msec";
	fprintf(f, "    clat (%s): min=%.0f, max=%.0f, avg=%.2f, stdev=%.2f\n", unit,
		(double)h->min_ns / div, (double)h->max_ns / div, hist_mean(h) / div,
		hist_stddev(h) / div);
	print_percentiles(f, r->job, h, div, unit);
}

static void print_daxkv(FILE *f, const struct job_result *r)
{
	const struct kv_stats *s = &r->st_end;
	char wa[32] = "n/a", sa[32] = "n/a";
	if (r->write_amp >= 0)
		snprintf(wa, sizeof(wa), "%.3f", r->write_amp);
	if (r->space_amp >= 0)
		snprintf(sa, sizeof(sa), "%.3f", r->space_amp);
	fprintf(f, "  daxkv        : write_amp=%s, space_amp=%s, bytes_written=%llu (of %llu asked), "
		   "gc_passes=%llu, gc_bytes_moved=%llu\n",
		wa, sa, (unsigned long long)r->bytes_written_delta,
		(unsigned long long)r->bytes_requested, (unsigned long long)s->gc_passes,
		(unsigned long long)s->gc_bytes_moved);
	fprintf(f, "                 segments used=%llu free=%llu (%.1f MiB each), live=%.1fMiB, "
		   "dead=%.1fMiB\n",
		(unsigned long long)s->segments_used, (unsigned long long)s->segments_free,
		(double)s->segment_size / 1048576.0, (double)s->live_bytes / 1048576.0,
		(double)s->dead_bytes / 1048576.0);
}

void report_normal(FILE *f, const struct job_result *r)
{
	const struct job *j = r->job;
	char kd[32];
	fprintf(f, "%s: (groupid=%u, jobs=%u): err=%2d: engine=%s rw=%s ks=%llu bs=%llu nrkeys=%llu "
		   "key_dist=%s rep=%u\n",
		j->name, j->groupid, j->numjobs, r->error, r->eng->name, rw_name(j->rw),
		(unsigned long long)j->ks, (unsigned long long)j->bs, (unsigned long long)j->nrkeys,
		key_dist_name(job_key_dist(j), j->zipf_theta, kd, sizeof(kd)), r->rep + 1);
	if (r->skipped) {
		fprintf(f, "  skipped      : %s\n", r->skip_why);
		return;
	}
	if (r->preload_ops || r->prepare_s > 0)
		fprintf(f, "  preload      : %llu keys in %.2f s; prepare (flush+compact): %.2f s "
			   "(neither measured)\n",
			(unsigned long long)r->preload_ops, r->preload_s, r->prepare_s);
	for (int d = 0; d < DIR__COUNT; d++)
		if (r->d[d].hist)
			print_dir(f, r, (enum dir)d);
	fprintf(f, "  cpu          : usr=%.2f%%, sys=%.2f%%, ctx=%llu, majf=%llu, minf=%llu\n",
		r->usr_pct, r->sys_pct, (unsigned long long)r->ctx, (unsigned long long)r->majf,
		(unsigned long long)r->minf);
	if (r->have_stats)
		print_daxkv(f, r);
	if (r->info[0])
		fprintf(f, "  engine       : %s\n", r->info);
	if (r->verify_errors || r->engine_errors)
		fprintf(f, "  errors       : verify=%llu engine=%llu\n",
			(unsigned long long)r->verify_errors, (unsigned long long)r->engine_errors);
	fputc('\n', f);
}

void report_terse(FILE *f, const struct job_result *r)
{
	fprintf(f, "daxkv-bench;1;%s;%s;%s;%u;%d;%.3f", r->job->name, r->eng->name,
		rw_name(r->job->rw), r->rep + 1, r->error ? 1 : r->skipped ? 2 : 0,
		(double)r->elapsed_ns / 1e6);
	for (int d = 0; d < DIR__COUNT; d++) {
		const struct dir_result *x = &r->d[d];
		const struct hist *h = x->hist;
		if (!h) {
			fprintf(f, ";0;0;0;0;0;0;0;0;0;0;0");
			continue;
		}
		fprintf(f, ";%llu;%.1f;%.0f;%llu;%llu;%.1f;%.1f;%llu;%llu;%llu;%llu",
			(unsigned long long)x->ops, result_rate(r, x->ops), result_rate(r, x->bytes),
			(unsigned long long)h->min_ns, (unsigned long long)h->max_ns, hist_mean(h),
			hist_stddev(h), (unsigned long long)hist_quantile(h, 0.5),
			(unsigned long long)hist_quantile(h, 0.99),
			(unsigned long long)hist_quantile(h, 0.999),
			(unsigned long long)hist_quantile(h, 0.9999));
	}
	fprintf(f, ";%.2f;%.2f;%llu;%llu;%llu;%.4f;%.4f\n", r->usr_pct, r->sys_pct,
		(unsigned long long)r->ctx, (unsigned long long)r->majf, (unsigned long long)r->minf,
		r->write_amp, r->space_amp);
}

/* ---- --compare ------------------------------------------------------------------------------- */

static int usable(const struct job_result *r)
{
	return r && !r->error && !r->skipped && r->elapsed_ns > 0;
}

unsigned median_rep(struct job_result *const *reps_of_one, unsigned reps)
{
	unsigned idx[128], n = 0;
	for (unsigned i = 0; i < reps && n < 128; i++)
		if (usable(reps_of_one[i]))
			idx[n++] = i;
	if (n == 0)
		return 0;
	for (unsigned a = 1; a < n; a++) /* insertion sort by IOPS: n is small */
		for (unsigned b = a; b > 0 && result_iops(reps_of_one[idx[b]]) <
						      result_iops(reps_of_one[idx[b - 1]]);
		     b--) {
			unsigned t = idx[b];
			idx[b] = idx[b - 1];
			idx[b - 1] = t;
		}
	return idx[(n - 1) / 2];
}

/* All directions of a result in one histogram (for the table's latency columns). */
static void merged(const struct job_result *r, struct hist *h)
{
	hist_init(h);
	for (int d = 0; d < DIR__COUNT; d++)
		if (r->d[d].hist)
			hist_merge(h, r->d[d].hist);
}

static void spread(struct job_result *const *reps, unsigned n, double *lo, double *hi)
{
	*lo = 1e300;
	*hi = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!usable(reps[i]))
			continue;
		double v = result_iops(reps[i]);
		*lo = v < *lo ? v : *lo;
		*hi = v > *hi ? v : *hi;
	}
}

/* res[e * reps + r]: engine e, repetition r, of this job. */
void report_compare(FILE *f, const struct bench_cfg *c, unsigned job,
		    struct job_result *const *res, unsigned nengines, unsigned reps)
{
	const struct job *j = &c->jobs[job];
	struct hist *h = malloc(sizeof(*h));
	if (!h)
		return;
	fprintf(f, "compare %s: rw=%s ks=%llu bs=%llu nrkeys=%llu numjobs=%u; median of %u rep(s) "
		   "by IOPS, all operations\n",
		j->name, rw_name(j->rw), (unsigned long long)j->ks, (unsigned long long)j->bs,
		(unsigned long long)j->nrkeys, j->numjobs, reps);
	fprintf(f, "  %-11s %9s %19s %7s %9s %8s %8s %9s %6s %6s %7s\n", "engine", "kIOPS",
		"min..max", "ratio", "MiB/s", "p50_us", "p99_us", "p99.9_us", "usr%", "sys%",
		"prep_s");
	double base = 0;
	for (unsigned e = 0; e < nengines; e++) {
		struct job_result *const *rr = res + (size_t)e * reps;
		const struct job_result *m = rr[median_rep(rr, reps)];
		if (!usable(m)) {
			fprintf(f, "  %-11s %s\n", m->eng->name,
				m->skipped ? m->skip_why : "failed (see the messages above)");
			continue;
		}
		double iops = result_iops(m), lo, hi;
		spread(rr, reps, &lo, &hi);
		if (e == 0)
			base = iops;
		char ratio[16] = "-";
		if (base > 0)
			snprintf(ratio, sizeof(ratio), "%.2f", iops / base);
		char mm[48];
		snprintf(mm, sizeof(mm), "%.1f..%.1f", lo / 1e3, hi / 1e3);
		merged(m, h);
		fprintf(f, "  %-11s %9.1f %19s %7s %9.1f %8.2f %8.2f %9.2f %6.1f %6.1f %7.2f\n",
			m->eng->name, iops / 1e3, mm, ratio, result_bw(m) / 1048576.0,
			(double)hist_quantile(h, 0.5) / 1e3, (double)hist_quantile(h, 0.99) / 1e3,
			(double)hist_quantile(h, 0.999) / 1e3, m->usr_pct, m->sys_pct, m->prepare_s);
	}
	fputc('\n', f);
	free(h);
}

/* ---- fio's "Run status group" summary ------------------------------------------------------ */

static void group_dir(FILE *f, struct job_result *const *rs, unsigned n, enum dir d)
{
	uint64_t bytes = 0, run_min = UINT64_MAX, run_max = 0;
	double bw_min = 1e300, bw_max = 0;
	unsigned used = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct job_result *r = rs[i];
		if (!usable(r) || !r->d[d].ops)
			continue;
		double bw = result_rate(r, r->d[d].bytes);
		bytes += r->d[d].bytes;
		bw_min = bw < bw_min ? bw : bw_min;
		bw_max = bw > bw_max ? bw : bw_max;
		run_min = r->elapsed_ns < run_min ? r->elapsed_ns : run_min;
		run_max = r->elapsed_ns > run_max ? r->elapsed_ns : run_max;
		used++;
	}
	if (!used)
		return;
	/* As fio: the group's bandwidth is its bytes over its longest run. */
	double agg = run_max ? (double)bytes * 1e9 / (double)run_max : 0;
	char lo[32], hi[32], name[16];
	msec(lo, sizeof(lo), run_min);
	msec(hi, sizeof(hi), run_max);
	size_t k = 0;
	for (const char *p = dir_name(d); *p && k + 1 < sizeof(name); p++)
		name[k++] = (char)(*p - 32 * (*p >= 'a' && *p <= 'z'));
	name[k] = '\0';
	fprintf(f, "  %6s: bw=%.1fMiB/s (%.1fMB/s), %.1fMiB/s-%.1fMiB/s (%.1fMB/s-%.1fMB/s), "
		   "io=%.1fMiB (%.1fMB), run=%.*s-%s\n",
		name, agg / 1048576.0, agg / 1e6, bw_min / 1048576.0, bw_max / 1048576.0,
		bw_min / 1e6, bw_max / 1e6, (double)bytes / 1048576.0, (double)bytes / 1e6,
		(int)(strlen(lo) - 4), lo, hi);
}

void report_groups(FILE *f, const struct bench_cfg *c, struct job_result *all, unsigned nengines)
{
	unsigned ngroups = c->njobs ? c->jobs[c->njobs - 1].groupid + 1 : 0;
	struct job_result **rs = calloc(c->njobs ? c->njobs : 1, sizeof(*rs));
	unsigned printed = 0;
	if (!rs)
		return;
	for (unsigned r = 0; r < c->reps; r++)
		for (unsigned e = 0; e < nengines; e++)
			for (unsigned g = 0; g < ngroups; g++) {
				struct job_result *res = &all[((size_t)r * nengines + e) * c->njobs];
				unsigned n = 0;
				for (unsigned j = 0; j < c->njobs; j++)
					if (res[j].job && res[j].job->groupid == g)
						rs[n++] = &res[j];
				if (!n)
					continue;
				fprintf(f, "%sRun status group %u (all jobs):", printed++ ? "\n" : "", g);
				if (nengines > 1 || c->reps > 1)
					fprintf(f, " engine=%s rep=%u", rs[0]->eng->name, r + 1);
				fputc('\n', f);
				for (int d = 0; d < DIR__COUNT; d++)
					group_dir(f, rs, n, (enum dir)d);
			}
	free(rs);
}
