/*
 * main.c -- daxkv-bench: what runs in which order.
 *
 * For each repetition (--reps), for each engine (--compare, or each job's own
 * engine), the jobs run one after another (fio's stonewall between sections), each
 * with numjobs threads on one store.  Engines interleave within a repetition
 * (A B A B ...) so that a noisy neighbour hits all of them alike; the --compare
 * table reports the median repetition and the spread.
 *
 * Exit status: 0; 1 for bad input (message on stderr), an engine that cannot run
 * the job (e.g. the daxkv block backend: ENOTSUP), an engine error or a value that
 * fails verification.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct bench_cfg cfg; /* ~1 MiB: static, not on the stack */

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

static const char *lat_log_path(char *buf, size_t n, const struct job *j,
				const struct kv_engine *e, unsigned rep)
{
	if (!j->lat_log[0])
		return NULL;
	char r[24] = "";
	if (cfg.reps > 1)
		snprintf(r, sizeof(r), ".rep%u", rep + 1);
	if (snprintf(buf, n, "%s.%s.%s%s.log", j->lat_log, j->name, e->name, r) >= (int)n)
		return NULL;
	return buf;
}

static void print_result(FILE *out, const struct job_result *r)
{
	if (cfg.fmt == OUT_NORMAL)
		report_normal(out, r);
	else if (cfg.fmt == OUT_TERSE)
		report_terse(out, r);
	fflush(out);
}

/* One engine's jobs, in order, in one repetition.  Returns the number of failures. */
static unsigned run_sequence(FILE *out, const struct kv_engine *slot_eng, unsigned rep,
			     struct job_result *res)
{
	struct store s;
	int open = 0;
	unsigned failures = 0;
	char logbuf[PATH_MAX + 256];
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
		job_run(&s, job, rep, lat_log_path(logbuf, sizeof(logbuf), job, e, rep), &res[j]);
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
	fprintf(out, "%s\n", doc);
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

int main(int argc, char **argv)
{
	char err[ERR_LEN];
	if (cfg_parse_args(&cfg, argc, argv, err) != 0) {
		fprintf(stderr, "daxkv-bench: %s\n", err);
		return 1;
	}
	if (cfg.help) {
		opt_usage(stdout);
		return 0;
	}
	if (cfg.list_engines) {
		printf("%s\n", engine_list());
		return 0;
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
		for (unsigned e = 0; e < nengines; e++)
			failures += run_sequence(out, engines[e], r,
						 &all[((size_t)r * nengines + e) * cfg.njobs]);
	if (cfg.compare[0] && cfg.fmt == OUT_NORMAL)
		print_compare(out, all, nengines);
	if (cfg.fmt == OUT_JSON && write_json(out, all, nres, engines, nengines) != 0)
		failures++;
	for (unsigned i = 0; i < nres; i++)
		result_free(&all[i]);
	free(all);
	if (out != stdout && fclose(out) != 0) {
		fprintf(stderr, "daxkv-bench: writing %s: %s\n", cfg.output, strerror(errno));
		failures++;
	}
	if (failures)
		fprintf(stderr, "daxkv-bench: %u job(s) failed: see the messages above\n", failures);
	return failures ? 1 : 0;
}
