/*
 * runner.c -- one job on one store: the unmeasured preload, the LSM's
 * flush+compaction before reads, the measured pass, and its results.
 *
 * A store is one engine's open instance at DIR/<engine> (or --filename).  With
 * --share_store=0 (the default) each job gets a fresh one; with 1, the jobs of a
 * run share it, db_bench style: a fill job loads what the read jobs after it read.
 * The store remembers whether keys 0..nrkeys-1 are all present (loaded), so a
 * read job preloads only when they are not.
 *
 * numjobs threads run on the same store and are reported together (fio's
 * group_reporting).  An operation budget (number_ios, size, or the workload's
 * natural count) is shared by the group, not per thread as in fio.
 */
#include "run.h"

#include <errno.h>
#include <ftw.h>
#include <libpmem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- store ------------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

static int wipe(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
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

/* daxkv and the floor measure persistent memory: say so when dir is not on it
 * (libpmem's own answer, which PMEM_IS_PMEM_FORCE=1 overrides), once a run. */
static void warn_not_pmem(const char *dir, const struct kv_engine *ops)
{
	static int warned;
	if (warned || (ops != &engine_daxkv && ops != &engine_floor))
		return;
	size_t len = 0;
	int is_pmem = 0;
	void *a = pmem_map_file(dir, 4096, PMEM_FILE_CREATE | PMEM_FILE_TMPFILE, 0600, &len,
				&is_pmem);
	if (!a)
		return; /* the engine's open says what is wrong */
	pmem_unmap(a, len);
	if (is_pmem)
		return;
	warned = 1;
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	fprintf(stderr, "daxkv-bench: warning: %s is not on a DAX file system (persistent memory) "
			"and PMEM_IS_PMEM_FORCE is %s: daxkv will refuse it or run on the block "
			"path, and the numbers are not pmem numbers (set PMEM_IS_PMEM_FORCE=1 to "
			"emulate pmem, e.g. on /dev/shm)\n",
		dir, force ? force : "unset");
}

int store_open(struct store *s, const struct kv_engine *ops, const struct job *j)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->nrkeys = j->nrkeys;
	struct stat st;
	if (j->filename[0]) {
		snprintf(s->dir, sizeof(s->dir), "%s", j->filename);
		if (lstat(s->dir, &st) == 0) {
			fprintf(stderr, "daxkv-bench: --filename=%s exists: remove it first\n", s->dir);
			return -1;
		}
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", s->dir);
		char *slash = strrchr(parent, '/');
		if (!slash)
			snprintf(parent, sizeof(parent), ".");
		else
			slash[slash == parent] = '\0';
		warn_not_pmem(parent, ops);
	} else {
		if (mkdir_p(j->directory) != 0) {
			fprintf(stderr, "daxkv-bench: --directory=%s: %s\n", j->directory,
				strerror(errno));
			return -1;
		}
		warn_not_pmem(j->directory, ops);
		if (snprintf(s->dir, sizeof(s->dir), "%s/%s", j->directory, ops->name) >=
			    (int)sizeof(s->dir) ||
		    wipe(s->dir) != 0) {
			fprintf(stderr, "daxkv-bench: cannot prepare %s/%s\n", j->directory, ops->name);
			return -1;
		}
	}
	int rc = ops->open(j, s->dir, &s->eng);
	if (rc != KV_OK) {
		fprintf(stderr, "daxkv-bench: %s: %s%s\n", ops->name, kv_errmsg(),
			rc == KV_ENOTSUP ? " [not supported]" : "");
		wipe(s->dir);
		s->eng = NULL;
		return -1;
	}
	return 0;
}

int store_close(struct store *s, int remove_files)
{
	int rc = 0;
	if (s->eng && s->ops->close(s->eng) != KV_OK) {
		fprintf(stderr, "daxkv-bench: %s: close: %s\n", s->ops->name, kv_errmsg());
		rc = -1;
	}
	s->eng = NULL;
	if (remove_files && wipe(s->dir) != 0) {
		fprintf(stderr, "daxkv-bench: cannot remove %s\n", s->dir);
		rc = -1;
	}
	return rc;
}

/* ---- a pass: threads over the store -------------------------------------------------------- */

static int64_t pass_budget(const struct job *j, enum rw_kind rw, int preload)
{
	if (preload || rw == RW_RANDWRITE || rw == RW_SEQWRITE || rw == RW_DELETE) {
		if (!preload && j->number_ios)
			return (int64_t)j->number_ios;
		return BUDGET_UNLIMITED; /* the unique walk ends them */
	}
	if (j->number_ios)
		return j->number_ios > INT64_MAX ? BUDGET_UNLIMITED : (int64_t)j->number_ios;
	if (j->size) {
		uint64_t n = j->size / (j->ks + j->bs);
		return n ? (int64_t)n : 1;
	}
	if (j->time_based)
		return BUDGET_UNLIMITED;
	return rw == RW_SEQREAD ? (int64_t)j->numjobs : (int64_t)j->nrkeys;
}

static void pass_free(struct pass *p)
{
	if (!p)
		return;
	for (unsigned t = 0; p->w && t < p->nw; t++)
		for (int d = 0; d < DIR__COUNT; d++)
			free(p->w[t].h[d]);
	free(p->w);
	free(p);
}

static struct pass *pass_new(struct store *s, const struct job *j, unsigned rep, int preload,
			     const struct run_opts *ro)
{
	struct pass *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ro = ro;
	p->j = j;
	p->s = s;
	p->ops = s->ops;
	p->rw = preload ? RW_RANDWRITE : j->rw;
	p->preload = preload;
	p->rep = rep;
	p->kd = preload ? KD_UNIFORM : job_key_dist(j);
	if ((p->kd == KD_ZIPF || p->kd == KD_LATEST) && zipf_init(&p->zipf, s->nrkeys, j->zipf_theta))
		goto fail;
	perm_init(&p->scramble, s->nrkeys, j->seed ^ 0x5eed5eedull);
	perm_init(&p->order, s->nrkeys, mix64(j->seed + rep * 31 + (uint64_t)p->rw));
	p->budget_total = pass_budget(j, p->rw, preload);
	atomic_init(&p->budget, p->budget_total);
	p->nw = j->numjobs;
	p->w = calloc(p->nw, sizeof(*p->w));
	if (!p->w)
		goto fail;
	for (unsigned t = 0; t < p->nw; t++) {
		p->w[t].p = p;
		p->w[t].tid = t;
		for (int d = 0; d < DIR__COUNT; d++) {
			p->w[t].h[d] = malloc(sizeof(struct hist));
			if (!p->w[t].h[d])
				goto fail;
			hist_init(p->w[t].h[d]);
		}
	}
	return p;
fail:
	pass_free(p);
	return NULL;
}

/* Starts the workers, runs the monitor, joins.  0 or -1 (an engine error). */
static int pass_run(struct pass *p, const struct pass_logs *logs, const char *label)
{
	pthread_barrier_init(&p->barrier, NULL, p->nw + 1);
	for (unsigned t = 0; t < p->nw; t++) {
		int e = pthread_create(&p->w[t].th, NULL, worker_main, &p->w[t]);
		if (e) {
			fprintf(stderr, "daxkv-bench: pthread_create: %s\n", strerror(e));
			exit(1); /* the barrier waits for it: nothing sane to unwind */
		}
	}
	monitor_run(p, logs, label);
	uint64_t errors = 0;
	for (unsigned t = 0; t < p->nw; t++) {
		pthread_join(p->w[t].th, NULL);
		errors += p->w[t].engine_errors;
	}
	pthread_barrier_destroy(&p->barrier);
	return errors ? -1 : 0;
}

/* ---- results --------------------------------------------------------------------------------- */

static double tv_s(struct timeval a, struct timeval b)
{
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_usec - a.tv_usec) / 1e6;
}

/* fio's usr/sys: each worker thread's own CPU time over its own measured window,
 * averaged over the threads, so one thread is at most 100%.  (The process's
 * rusage, used before, also counted the monitor and daxkv's GC thread and ticked
 * in 4 ms steps: sys=124% on a 3 ms job.)  The kernel's per-thread utime + stime
 * add up to its exact run time, which cannot exceed the window; the min() only
 * absorbs the rounding of the two clocks. */
static void collect_cpu(const struct pass *p, struct job_result *res)
{
	double usr = 0, sys = 0, wall = 0;
	for (unsigned t = 0; t < p->nw; t++) {
		const struct worker *w = &p->w[t];
		if (!w->cpu_started || w->t_end_ns <= w->t_cpu0_ns)
			continue;
		double u = tv_s(w->ru0.ru_utime, w->ru1.ru_utime);
		double s = tv_s(w->ru0.ru_stime, w->ru1.ru_stime);
		double el = (double)(w->t_end_ns - w->t_cpu0_ns) / 1e9;
		if (u + s > el) {
			u = u * el / (u + s);
			s = el - u;
		}
		usr += u;
		sys += s;
		wall += el;
		res->ctx += (uint64_t)((w->ru1.ru_nvcsw + w->ru1.ru_nivcsw) -
				       (w->ru0.ru_nvcsw + w->ru0.ru_nivcsw));
		res->majf += (uint64_t)(w->ru1.ru_majflt - w->ru0.ru_majflt);
		res->minf += (uint64_t)(w->ru1.ru_minflt - w->ru0.ru_minflt);
	}
	if (wall > 0) {
		res->usr_pct = 100.0 * usr / wall;
		res->sys_pct = 100.0 * sys / wall;
	}
}

/* daxkv: write amplification over the measured window, space amplification at its end. */
static void collect_stats(const struct pass *p, struct job_result *res)
{
	if (!p->ops->stats || !p->have_st0 || p->ops->stats(p->s->eng, &res->st_end) != KV_OK)
		return;
	res->have_stats = 1;
	const struct kv_stats *a = &p->st0, *b = &res->st_end;
	res->bytes_requested = res->d[DIR_WRITE].bytes + res->d[DIR_DELETE].bytes;
	res->bytes_written_delta = b->bytes_written - a->bytes_written;
	if (res->bytes_requested && res->bytes_written_delta)
		res->write_amp = (double)res->bytes_written_delta / (double)res->bytes_requested;
	if (b->live_bytes && b->segment_size)
		res->space_amp = (double)(b->segments_used * b->segment_size) / (double)b->live_bytes;
}

static int collect(const struct pass *p, struct job_result *res)
{
	uint64_t t_end = 0;
	for (unsigned t = 0; t < p->nw; t++) {
		const struct worker *w = &p->w[t];
		t_end = w->t_end_ns > t_end ? w->t_end_ns : t_end;
		res->verify_errors += w->verify_errors;
		res->engine_errors += w->engine_errors;
		for (int d = 0; d < DIR__COUNT; d++) {
			struct dir_result *r = &res->d[d];
			if (!w->ops[d])
				continue;
			if (!r->hist) {
				r->hist = malloc(sizeof(struct hist));
				if (!r->hist)
					return -1;
				hist_init(r->hist);
			}
			hist_merge(r->hist, w->h[d]);
			r->ops += w->ops[d];
			r->bytes += w->bytes[d];
			r->not_found += w->not_found[d];
		}
		res->d[DIR_SCAN].keys += w->keys_scanned;
	}
	/* Nanoseconds, as the latencies: a job shorter than a millisecond still has a
	 * rate (t_measure_ns is taken before the workers start). */
	uint64_t t0 = p->t_measure_ns;
	for (unsigned t = 0; t < p->nw && !p->preload && p->j->ramp_s <= 0; t++)
		if (p->w[t].cpu_started && p->w[t].t_cpu0_ns > t0 &&
		    (t0 == p->t_measure_ns || p->w[t].t_cpu0_ns < t0))
			t0 = p->w[t].t_cpu0_ns; /* no ramp: from the first worker's start */
	if (atomic_load(&p->measuring) && t_end > t0)
		res->elapsed_ns = t_end - t0;
	res->elapsed_s = (double)res->elapsed_ns / 1e9;
	if (atomic_load(&p->measuring))
		collect_cpu(p, res);
	else if (!p->preload)
		res->ramp_unfinished = 1;
	collect_stats(p, res);
	return 0;
}

/* ---- a job ------------------------------------------------------------------------------------ */

static int job_reads(enum rw_kind rw)
{
	return rw != RW_RANDWRITE && rw != RW_SEQWRITE && rw != RW_OVERWRITE && rw != RW_DELETE;
}

static int preload(struct store *s, const struct job *j, unsigned rep, const struct run_opts *ro,
		   struct job_result *res)
{
	struct run_opts pro = {.eta = ro->eta}; /* the progress line only */
	struct pass *p = pass_new(s, j, rep, 1, &pro);
	if (!p) {
		fprintf(stderr, "daxkv-bench: out of memory\n");
		return -1;
	}
	char label[NAME_LEN * 2 + 16];
	snprintf(label, sizeof(label), "%s/%s preload", j->name, s->ops->name);
	uint64_t t0 = now_ns();
	int rc = pass_run(p, &(struct pass_logs){0}, label);
	res->preload_s = (double)(now_ns() - t0) / 1e9;
	for (unsigned t = 0; t < p->nw; t++)
		res->preload_ops += p->w[t].ops_all;
	pass_free(p);
	if (rc == 0) {
		s->loaded = 1;
		s->dirty = 1;
	}
	return rc;
}

static int skip_reason(const struct store *s, const struct job *j, struct job_result *res)
{
	const char *why = NULL;
	if (rw_needs_scan(j->rw) && !(s->ops->caps & CAP_SCAN))
		why = "no scans";
	else if (j->rw == RW_DELETE && !(s->ops->caps & CAP_DELETE))
		why = "no deletes";
	if (!why)
		return 0;
	res->skipped = 1;
	snprintf(res->skip_why, sizeof(res->skip_why), "%s: %s", s->ops->name, why);
	return 1;
}

static void after_pass(struct store *s, const struct pass *p, const struct job_result *res)
{
	if (rw_writes(p->rw))
		s->dirty = 1;
	if ((p->rw == RW_RANDWRITE || p->rw == RW_SEQWRITE) && !res->error &&
	    atomic_load(&p->cursor) >= s->nrkeys)
		s->loaded = 1;
	if (p->rw == RW_DELETE && res->d[DIR_DELETE].ops)
		s->loaded = 0;
}

static FILE *open_log(const char *path, const char *opt)
{
	if (!path)
		return NULL;
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "daxkv-bench: --%s: %s: %s\n", opt, path, strerror(errno));
	return f;
}

/* 0, or -1 with a message when the log could not be written in full. */
static int close_log(FILE *f, const char *path)
{
	if (!f)
		return 0;
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		fprintf(stderr, "daxkv-bench: writing %s failed\n", path);
		return -1;
	}
	return 0;
}

void job_run(struct store *s, const struct job *j, unsigned rep, const struct run_opts *ro,
	     struct job_result *res)
{
	memset(res, 0, sizeof(*res));
	res->job = j;
	res->eng = s->ops;
	res->rep = rep;
	res->write_amp = res->space_amp = -1;
	if (skip_reason(s, j, res))
		return;
	int want = j->preload < 0 ? rw_reads_existing(j->rw) : j->preload;
	static const struct run_opts none = {.eta = ETA_AUTO};
	if (!ro)
		ro = &none;
	if (want && !s->loaded && preload(s, j, rep, ro, res) != 0) {
		res->error = 1;
		return;
	}
	if (job_reads(j->rw) && s->dirty && s->ops->prepare_read) {
		uint64_t t0 = now_ns();
		int rc = s->ops->prepare_read(s->eng);
		res->prepare_s = (double)(now_ns() - t0) / 1e9;
		if (rc != KV_OK) {
			fprintf(stderr, "daxkv-bench: %s: %s\n", s->ops->name, kv_errmsg());
			res->error = 1;
			return;
		}
		s->dirty = 0;
	}
	struct pass_logs logs = {.lat = open_log(ro->lat_log, "write_lat_log"),
				 .fio_lat = open_log(ro->fio_lat_log, "write_lat_log"),
				 .fio_bw = open_log(ro->fio_bw_log, "write_bw_log")};
	struct pass *p = pass_new(s, j, rep, 0, ro);
	char label[NAME_LEN * 2 + 8];
	snprintf(label, sizeof(label), "%s/%s", j->name, s->ops->name);
	if (!p || pass_run(p, &logs, label) != 0 || collect(p, res) != 0)
		res->error = 1;
	if (p)
		after_pass(s, p, res);
	if (res->ramp_unfinished) {
		fprintf(stderr, "daxkv-bench: %s: the job's work ended before ramp_time=%gs did: "
				"nothing was measured (use a shorter ramp_time, time_based, or more "
				"work: number_ios, nrkeys)\n", label, j->ramp_s);
		res->error = 1;
	}
	int bad = close_log(logs.lat, ro->lat_log);
	bad |= close_log(logs.fio_lat, ro->fio_lat_log);
	bad |= close_log(logs.fio_bw, ro->fio_bw_log);
	if (bad)
		res->error = 1;
	if (s->ops->describe)
		s->ops->describe(s->eng, res->info, sizeof(res->info));
	pass_free(p);
}

double result_rate(const struct job_result *r, uint64_t n)
{
	return r->elapsed_ns ? (double)n * 1e9 / (double)r->elapsed_ns : 0;
}

double result_iops(const struct job_result *r)
{
	uint64_t ops = 0;
	for (int d = 0; d < DIR__COUNT; d++)
		ops += r->d[d].ops;
	return result_rate(r, ops);
}

double result_bw(const struct job_result *r)
{
	uint64_t b = 0;
	for (int d = 0; d < DIR__COUNT; d++)
		b += r->d[d].bytes;
	return result_rate(r, b);
}

void result_free(struct job_result *r)
{
	for (int d = 0; d < DIR__COUNT; d++) {
		free(r->d[d].hist);
		r->d[d].hist = NULL;
	}
}

const char *dir_name(enum dir d)
{
	static const char *const names[DIR__COUNT] = {"read", "write", "delete", "scan"};
	return (unsigned)d < DIR__COUNT ? names[d] : "?";
}
