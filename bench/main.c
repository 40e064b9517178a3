/*
 * main.c -- daxkv-bench: what runs in which order.
 *
 * For each repetition (--reps), for each engine (--compare, or each job's own
 * engine), the jobs run one after another (fio's stonewall between sections), each
 * with numjobs threads on one store.  Engines interleave within a repetition
 * (A B A B ...) so that a noisy neighbour hits all of them alike; the --compare
 * table reports the median repetition and the spread.
 *
 * Exit status: 0; 1 for bad input (message on stderr) or no arguments at all (the
 * usage on stderr, as fio), an engine that cannot run the job (e.g. the daxkv block
 * backend: ENOTSUP), an engine error, a value that fails verification, or output
 * that could not be written (a full disk: every write is checked through the
 * stream's error flag and the final flush and close).
 */
#include "bench.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static struct bench_cfg cfg; /* ~1 MiB: static, not on the stack */
static int out_errno;        /* the first failed write of the report */

static int resolve_engine(const char *name, const struct kv_engine **out)
{
	int known = 0;
	const struct kv_engine *e = engine_find(name, &known);
	if (!known) {
		fprintf(stderr, "daxkv-bench: unknown engine '%s' (daxkv, rocksdb, leveldb, lmdb, "
				"pmem-floor)\n", name);
		return -1;
	}
	if (!e) {
		fprintf(stderr, "daxkv-bench: engine '%s' is not built in: its library was not found "
				"when configuring (built in: %s)\n", name, engine_list());
		return -1;
	}
	*out = e;
	return 0;
}

/* Engines of the run: the --compare list, or one slot where each job names its own. */
static int resolve_engines(const struct kv_engine **engines, unsigned *n)
{
	*n = 0;
	if (!cfg.compare[0]) {
		const struct kv_engine *e;
		for (unsigned j = 0; j < cfg.njobs; j++)
			if (resolve_engine(cfg.jobs[j].engine, &e) != 0)
				return -1;
		engines[0] = NULL;
		*n = 1;
		return 0;
	}
	char buf[sizeof(cfg.compare)], *save = NULL;
	memcpy(buf, cfg.compare, sizeof(buf));
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n == MAX_ENGINES) {
			fprintf(stderr, "daxkv-bench: --compare: at most %d engines\n", MAX_ENGINES);
			return -1;
		}
		if (resolve_engine(t, &engines[*n]) != 0)
			return -1;
		for (unsigned i = 0; i < *n; i++)
			if (engines[i] == engines[*n]) {
				fprintf(stderr, "daxkv-bench: --compare: '%s' named twice\n", t);
				return -1;
			}
		(*n)++;
	}
	return *n ? 0 : -1;
}

/* Jobs that share a store must agree on what is in it. */
static int check_share_store(void)
{
	for (unsigned j = 1; j < cfg.njobs && cfg.share_store; j++) {
		const struct job *a = &cfg.jobs[0], *b = &cfg.jobs[j];
		if (a->ks != b->ks || a->bs != b->bs || a->nrkeys != b->nrkeys ||
		    strcmp(a->directory, b->directory) || strcmp(a->filename, b->filename)) {
			fprintf(stderr, "daxkv-bench: share_store=1: job '%s' differs from '%s' in ks, "
					"bs, nrkeys, directory or filename\n", b->name, a->name);
			return -1;
		}
	}
	return 0;
}

/* The log paths of one result (index n in all[], from 0). */
struct log_paths {
	char lat[PATH_MAX + 256], fio_lat[PATH_MAX + 32], fio_bw[PATH_MAX + 32];
};

static void run_opts_for(struct run_opts *ro, struct log_paths *lp, FILE *out,
			 const struct job *j, const struct kv_engine *e, unsigned rep, size_t n)
{
	*ro = (struct run_opts){.eta = cfg.eta, .status_s = cfg.status_interval_s,
				/* status lines join a normal report, else go to stderr */
				.status_out = cfg.fmt == OUT_NORMAL ? out : stderr};
	char r[24] = "";
	if (cfg.reps > 1)
		snprintf(r, sizeof(r), ".rep%u", rep + 1);
	/* fio numbers its per-job logs from 1: PREFIX_bw.1.log, PREFIX_lat.1.log */
	if (j->lat_log[0] &&
	    snprintf(lp->lat, sizeof(lp->lat), "%s.%s.%s%s.log", j->lat_log, j->name, e->name, r) <
		    (int)sizeof(lp->lat) &&
	    snprintf(lp->fio_lat, sizeof(lp->fio_lat), "%s_lat.%zu.log", j->lat_log, n + 1) <
		    (int)sizeof(lp->fio_lat)) {
		ro->lat_log = lp->lat;
		ro->fio_lat_log = lp->fio_lat;
	}
	if (j->bw_log[0] && snprintf(lp->fio_bw, sizeof(lp->fio_bw), "%s_bw.%zu.log", j->bw_log,
				     n + 1) < (int)sizeof(lp->fio_bw))
		ro->fio_bw_log = lp->fio_bw;
}

static void print_result(FILE *out, const struct job_result *r)
{
	if (cfg.fmt == OUT_NORMAL)
		report_normal(out, r);
	else if (cfg.fmt == OUT_TERSE)
		report_terse(out, r);
	/* An error sticks in ferror(out), checked at the end; keep its errno. */
	if (fflush(out) != 0 && !out_errno)
		out_errno = errno;
}

/* One engine's jobs, in order, in one repetition.  Returns the number of failures. */
static unsigned run_sequence(FILE *out, const struct kv_engine *slot_eng, unsigned rep,
			     struct job_result *res, size_t first)
{
	struct store s;
	int open = 0;
	unsigned failures = 0;
	static struct log_paths lp;
	struct run_opts ro;
	for (unsigned j = 0; j < cfg.njobs; j++) {
		const struct job *job = &cfg.jobs[j];
		const struct kv_engine *e = slot_eng;
		if (!e)
			resolve_engine(job->engine, &e); /* checked before the run */
		if (open && (!cfg.share_store || s.ops != e)) {
			failures += store_close(&s, 1) != 0;
			open = 0;
		}
		if (!open && store_open(&s, e, job) != 0) {
			res[j] = (struct job_result){.job = job, .eng = e, .rep = rep, .error = 1,
						     .write_amp = -1, .space_amp = -1};
			print_result(out, &res[j]);
			failures++;
			continue;
		}
		open = 1;
		run_opts_for(&ro, &lp, out, job, e, rep, first + j);
		job_run(&s, job, rep, &ro, &res[j]);
		print_result(out, &res[j]);
		failures += res[j].error || res[j].verify_errors || res[j].engine_errors;
	}
	if (open)
		failures += store_close(&s, 1) != 0;
	return failures;
}

static int write_json(FILE *out, struct job_result *all, unsigned nres,
		      const struct kv_engine *const *engines, unsigned nengines)
{
	char *doc = report_json(&cfg, all, nres, engines, nengines);
	if (!doc) {
		fprintf(stderr, "daxkv-bench: out of memory for the JSON output\n");
		return -1;
	}
	fputs(doc, out);
	fputc('\n', out);
	free(doc);
	return 0;
}

static void print_compare(FILE *out, struct job_result *all, unsigned nengines)
{
	struct job_result **rr = calloc((size_t)nengines * cfg.reps, sizeof(*rr));
	if (!rr)
		return;
	for (unsigned job = 0; job < cfg.njobs; job++) {
		for (unsigned e = 0; e < nengines; e++)
			for (unsigned r = 0; r < cfg.reps; r++)
				rr[(size_t)e * cfg.reps + r] =
					&all[((size_t)r * nengines + e) * cfg.njobs + job];
		report_compare(out, &cfg, job, rr, nengines, cfg.reps);
	}
	free(rr);
}

/* The end of a stream: any write that failed (ferror sticks), the flush and the
 * close; -1 with a message when the report did not get out in full. */
static int finish_output(FILE *f, const char *what)
{
	errno = 0;
	int bad = fflush(f) != 0 || ferror(f);
	int e = errno ? errno : out_errno;
	if (fclose(f) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad)
		fprintf(stderr, "daxkv-bench: writing %s: %s\n", what,
			e ? strerror(e) : "write error");
	return bad ? -1 : 0;
}

static int finish_stdout(void)
{
	return finish_output(stdout, "standard output") ? 1 : 0;
}

int main(int argc, char **argv)
{
	char err[ERR_LEN];
	if (cfg_parse_args(&cfg, argc, argv, err) != 0) {
		fprintf(stderr, "daxkv-bench: %s\n", err);
		return 1;
	}
	if (cfg.no_args) { /* as fio: the usage, and a failure */
		opt_usage(stderr);
		return 1;
	}
	if (cfg.help) {
		opt_usage(stdout);
		return finish_stdout();
	}
	if (cfg.version) {
		printf("%s\n", bench_version());
		return finish_stdout();
	}
	if (cfg.list_engines) {
		printf("%s\n", engine_list());
		return finish_stdout();
	}
	const struct kv_engine *engines[MAX_ENGINES];
	unsigned nengines = 0;
	if (resolve_engines(engines, &nengines) != 0 || check_share_store() != 0)
		return 1;
	FILE *out = stdout;
	if (cfg.output[0] && !(out = fopen(cfg.output, "w"))) {
		fprintf(stderr, "daxkv-bench: --output=%s: %s\n", cfg.output, strerror(errno));
		return 1;
	}
	unsigned nres = cfg.reps * nengines * cfg.njobs;
	struct job_result *all = calloc(nres, sizeof(*all));
	if (!all) {
		fprintf(stderr, "daxkv-bench: out of memory\n");
		return 1;
	}
	if (cfg.fmt == OUT_NORMAL)
		report_header(out, &cfg);
	unsigned failures = 0;
	for (unsigned r = 0; r < cfg.reps; r++)
		for (unsigned e = 0; e < nengines; e++) {
			size_t first = ((size_t)r * nengines + e) * cfg.njobs;
			failures += run_sequence(out, engines[e], r, &all[first], first);
		}
	if (cfg.fmt == OUT_NORMAL)
		report_groups(out, &cfg, all, nengines);
	if (cfg.compare[0] && cfg.fmt == OUT_NORMAL) {
		fputc('\n', out);
		print_compare(out, all, nengines);
	}
	if ((cfg.fmt == OUT_JSON || cfg.fmt == OUT_JSON_PLUS) &&
	    write_json(out, all, nres, engines, nengines) != 0)
		failures++;
	for (unsigned i = 0; i < nres; i++)
		result_free(&all[i]);
	free(all);
	int out_bad = finish_output(out, cfg.output[0] ? cfg.output : "standard output") != 0;
	if (failures)
		fprintf(stderr, "daxkv-bench: %u job(s) failed: see the messages above\n", failures);
	return failures || out_bad ? 1 : 0;
}
