/*
 * report_json.c -- --output-format=json: fio's shape where fio has the field
 * ("jobs"[].jobname, read/write.{iops, bw_bytes, io_bytes, runtime, clat_ns.{min, max,
 * mean, stddev, N, percentile{"99.000000": ns}}}, usr_cpu, sys_cpu, ctx, majf, minf),
 * plus what a KV store adds: engine, rep, delete and scan directions, not_found,
 * preload, daxkv's counters and write/space amplification, and the --compare
 * tables.  Every documented field is always present (0 or null when it does not
 * apply), so scripts need no special cases; docs/BENCHMARKS.md lists them.
 *
 * Built with cJSON: a small, well-kept C library packaged by Debian (libcjson-dev)
 * that escapes strings and formats numbers correctly, which hand-rolled printf
 * JSON tends not to.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

/* 2: "elapsed" in seconds as fio (was ms), job_runtime, elapsed_ns, groupid, trim */
#define JSON_FORMAT_VERSION 2

/* fio's json+ "bins": {"<ns>": count} for each non-empty bucket, keyed by the
 * bucket's midpoint (fio keys its own bins by their value the same way), which
 * fio_jsonplus_clat2csv turns into a latency CSV. */
static void bins_json(cJSON *o, const struct hist *h)
{
	cJSON *b = cJSON_AddObjectToObject(o, "bins");
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		if (!h->buckets[i])
			continue;
		char key[32];
		snprintf(key, sizeof(key), "%llu", (unsigned long long)hist_bucket_value(i));
		cJSON_AddNumberToObject(b, key, (double)h->buckets[i]);
	}
}

static cJSON *clat_json(const struct job *j, const struct hist *h, int plus)
{
	cJSON *o = cJSON_CreateObject();
	struct hist empty;
	if (!h) {
		hist_init(&empty);
		empty.min_ns = 0;
		h = &empty;
	}
	cJSON_AddNumberToObject(o, "min", (double)(h->count ? h->min_ns : 0));
	cJSON_AddNumberToObject(o, "max", (double)h->max_ns);
	cJSON_AddNumberToObject(o, "mean", hist_mean(h));
	cJSON_AddNumberToObject(o, "stddev", hist_stddev(h));
	cJSON_AddNumberToObject(o, "N", (double)h->count);
	cJSON *p = cJSON_AddObjectToObject(o, "percentile");
	for (unsigned i = 0; i < j->npct; i++) {
		char key[32];
		snprintf(key, sizeof(key), "%f", j->pct[i]);
		cJSON_AddNumberToObject(p, key, (double)hist_quantile(h, j->pct[i] / 100.0));
	}
	if (plus && h->count) /* fio leaves empty bins out; its tools expect that */
		bins_json(o, h);
	return o;
}

/* d == DIR__COUNT: fio's "trim", always empty here (fio's tools expect it). */
static cJSON *dir_json(const struct job_result *r, enum dir d, int plus)
{
	static const struct dir_result none;
	const struct dir_result *x = d < DIR__COUNT ? &r->d[d] : &none;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "ops", (double)x->ops);
	cJSON_AddNumberToObject(o, "total_ios", (double)x->ops); /* fio's name */
	cJSON_AddNumberToObject(o, "io_bytes", (double)x->bytes);
	cJSON_AddNumberToObject(o, "io_kbytes", (double)(x->bytes / 1024));
	cJSON_AddNumberToObject(o, "bw_bytes", result_rate(r, x->bytes));
	cJSON_AddNumberToObject(o, "bw", result_rate(r, x->bytes) / 1024.0); /* KiB/s, fio */
	cJSON_AddNumberToObject(o, "iops", result_rate(r, x->ops));
	/* ms, as fio's runtime; the exact window is the job's elapsed_ns */
	cJSON_AddNumberToObject(o, "runtime", x->ops ? (double)r->elapsed_ns / 1e6 : 0);
	cJSON_AddNumberToObject(o, "not_found", (double)x->not_found);
	cJSON_AddNumberToObject(o, "keys", (double)x->keys);
	cJSON_AddItemToObject(o, "clat_ns", clat_json(r->job, x->hist, plus));
	return o;
}

static cJSON *options_json(const struct job *j)
{
	char kd[32];
	static const char *const backends[] = {"auto", "dax", "block"};
	static const char *const policies[] = {"default", "costbenefit", "ratio"};
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "rw", rw_name(j->rw));
	cJSON_AddNumberToObject(o, "bs", (double)j->bs);
	cJSON_AddNumberToObject(o, "ks", (double)j->ks);
	cJSON_AddNumberToObject(o, "nrkeys", (double)j->nrkeys);
	cJSON_AddNumberToObject(o, "numjobs", j->numjobs);
	cJSON_AddNumberToObject(o, "runtime", j->runtime_s);
	cJSON_AddNumberToObject(o, "ramp_time", j->ramp_s);
	cJSON_AddBoolToObject(o, "time_based", j->time_based);
	cJSON_AddStringToObject(o, "key_dist", key_dist_name(job_key_dist(j), j->zipf_theta, kd,
							     sizeof(kd)));
	cJSON_AddBoolToObject(o, "key_dist_default", !j->key_dist_set);
	cJSON_AddNumberToObject(o, "rwmixread", j->rwmixread);
	cJSON_AddBoolToObject(o, "sync", j->sync);
	cJSON_AddNumberToObject(o, "scan_len", j->scan_len);
	cJSON_AddNumberToObject(o, "number_ios", (double)j->number_ios);
	cJSON_AddNumberToObject(o, "size", (double)j->size);
	cJSON_AddStringToObject(o, "backend", backends[j->backend]);
	cJSON_AddNumberToObject(o, "pool_size", (double)j->pool_size);
	cJSON_AddNumberToObject(o, "segment_size", (double)j->segment_size);
	cJSON_AddBoolToObject(o, "gc", j->gc);
	cJSON_AddNumberToObject(o, "gc_ratio", j->gc_ratio);
	cJSON_AddStringToObject(o, "gc_policy", policies[j->gc_policy]);
	cJSON_AddNumberToObject(o, "gc_rate", (double)j->gc_rate);
	return o;
}

static void add_amp(cJSON *o, const char *key, double v)
{
	if (v >= 0)
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *daxkv_json(const struct job_result *r)
{
	if (!r->have_stats)
		return cJSON_CreateNull();
	const struct kv_stats *s = &r->st_end;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "backend", s->backend_block ? "block" : "dax");
	add_amp(o, "write_amp", r->write_amp);
	add_amp(o, "space_amp", r->space_amp);
	cJSON_AddNumberToObject(o, "bytes_requested", (double)r->bytes_requested);
	cJSON_AddNumberToObject(o, "bytes_written", (double)r->bytes_written_delta);
	cJSON_AddNumberToObject(o, "gc_passes", (double)s->gc_passes);
	cJSON_AddNumberToObject(o, "gc_bytes_moved", (double)s->gc_bytes_moved);
	cJSON_AddNumberToObject(o, "segments_used", (double)s->segments_used);
	cJSON_AddNumberToObject(o, "segments_free", (double)s->segments_free);
	cJSON_AddNumberToObject(o, "segment_size", (double)s->segment_size);
	cJSON_AddNumberToObject(o, "live_bytes", (double)s->live_bytes);
	cJSON_AddNumberToObject(o, "dead_bytes", (double)s->dead_bytes);
	cJSON_AddNumberToObject(o, "keys", (double)s->keys);
	return o;
}

static cJSON *result_json(const struct job_result *r, int plus)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "jobname", r->job->name);
	cJSON_AddNumberToObject(o, "groupid", r->job->groupid);
	cJSON_AddStringToObject(o, "engine", r->eng->name);
	cJSON_AddNumberToObject(o, "rep", r->rep + 1);
	cJSON_AddNumberToObject(o, "error", r->error);
	cJSON_AddBoolToObject(o, "skipped", r->skipped);
	cJSON_AddStringToObject(o, "skip_reason", r->skip_why);
	cJSON_AddItemToObject(o, "job options", options_json(r->job));
	/* fio's units: elapsed in seconds, job_runtime in ms; elapsed_ns exact */
	cJSON_AddNumberToObject(o, "elapsed", (double)r->elapsed_ns / 1e9);
	cJSON_AddNumberToObject(o, "job_runtime", (double)r->elapsed_ns / 1e6);
	cJSON_AddNumberToObject(o, "elapsed_ns", (double)r->elapsed_ns);
	cJSON *pl = cJSON_AddObjectToObject(o, "preload");
	cJSON_AddNumberToObject(pl, "ops", (double)r->preload_ops);
	cJSON_AddNumberToObject(pl, "seconds", r->preload_s);
	cJSON_AddNumberToObject(o, "prepare_seconds", r->prepare_s);
	for (int d = 0; d < DIR__COUNT; d++)
		cJSON_AddItemToObject(o, dir_name((enum dir)d), dir_json(r, (enum dir)d, plus));
	cJSON_AddItemToObject(o, "trim", dir_json(r, DIR__COUNT, plus));
	cJSON_AddNumberToObject(o, "iops", result_iops(r));
	cJSON_AddNumberToObject(o, "bw_bytes", result_bw(r));
	cJSON_AddNumberToObject(o, "usr_cpu", r->usr_pct);
	cJSON_AddNumberToObject(o, "sys_cpu", r->sys_pct);
	cJSON_AddNumberToObject(o, "ctx", (double)r->ctx);
	cJSON_AddNumberToObject(o, "majf", (double)r->majf);
	cJSON_AddNumberToObject(o, "minf", (double)r->minf);
	cJSON_AddNumberToObject(o, "verify_errors", (double)r->verify_errors);
	cJSON_AddNumberToObject(o, "engine_errors", (double)r->engine_errors);
	cJSON_AddItemToObject(o, "daxkv", daxkv_json(r));
	cJSON_AddStringToObject(o, "engine_setup", r->eng->setup);
	cJSON_AddStringToObject(o, "engine_info", r->info);
	return o;
}

static cJSON *compare_row(struct job_result *const *rr, unsigned reps, double *base, int first)
{
	const struct job_result *m = rr[median_rep(rr, reps)];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "engine", m->eng->name);
	int ok = !m->error && !m->skipped && m->elapsed_ns > 0;
	cJSON_AddBoolToObject(o, "ok", ok);
	double iops = ok ? result_iops(m) : 0, lo = 0, hi = 0;
	for (unsigned i = 0; i < reps; i++) {
		if (rr[i]->error || rr[i]->skipped || rr[i]->elapsed_ns == 0)
			continue;
		double v = result_iops(rr[i]);
		lo = lo == 0 || v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	if (first)
		*base = iops;
	cJSON_AddNumberToObject(o, "iops", iops);
	cJSON_AddNumberToObject(o, "iops_min", lo);
	cJSON_AddNumberToObject(o, "iops_max", hi);
	add_amp(o, "ratio", *base > 0 && ok ? iops / *base : -1);
	cJSON_AddNumberToObject(o, "bw_bytes", ok ? result_bw(m) : 0);
	cJSON_AddNumberToObject(o, "median_rep", m->rep + 1);
	/* Latency of every operation of the median repetition, all directions together. */
	struct hist *h = malloc(sizeof(*h));
	cJSON *lat = cJSON_AddObjectToObject(o, "lat_ns");
	if (h) {
		hist_init(h);
		for (int d = 0; d < DIR__COUNT && ok; d++)
			if (m->d[d].hist)
				hist_merge(h, m->d[d].hist);
		cJSON_AddNumberToObject(lat, "p50", (double)hist_quantile(h, 0.50));
		cJSON_AddNumberToObject(lat, "p99", (double)hist_quantile(h, 0.99));
		cJSON_AddNumberToObject(lat, "p99.9", (double)hist_quantile(h, 0.999));
		cJSON_AddNumberToObject(lat, "mean", hist_mean(h));
		free(h);
	}
	cJSON_AddNumberToObject(o, "prepare_seconds", m->prepare_s);
	cJSON_AddNumberToObject(o, "usr_cpu", m->usr_pct);
	cJSON_AddNumberToObject(o, "sys_cpu", m->sys_pct);
	if (m->skipped)
		cJSON_AddStringToObject(o, "skip_reason", m->skip_why);
	return o;
}

static cJSON *compare_json(const struct bench_cfg *c, struct job_result *all, unsigned nengines)
{
	cJSON *arr = cJSON_CreateArray();
	struct job_result **rr = calloc((size_t)nengines * c->reps, sizeof(*rr));
	if (!rr)
		return arr;
	for (unsigned job = 0; job < c->njobs; job++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "jobname", c->jobs[job].name);
		cJSON *rows = cJSON_AddArrayToObject(t, "rows");
		double base = 0;
		for (unsigned e = 0; e < nengines; e++) {
			for (unsigned r = 0; r < c->reps; r++)
				rr[r] = &all[((size_t)r * nengines + e) * c->njobs + job];
			cJSON_AddItemToArray(rows, compare_row(rr, c->reps, &base, e == 0));
		}
		cJSON_AddItemToArray(arr, t);
	}
	free(rr);
	return arr;
}

char *report_json(const struct bench_cfg *c, struct job_result *all, unsigned nres,
		  const struct kv_engine *const *engines, unsigned nengines)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	cJSON_AddNumberToObject(root, "daxkv-bench version", JSON_FORMAT_VERSION);
	cJSON_AddStringToObject(root, "fio version", bench_version());
	cJSON_AddStringToObject(root, "command", c->command);
	cJSON_AddNumberToObject(root, "timestamp", (double)time(NULL));
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	cJSON_AddStringToObject(root, "pmem_is_pmem_force", force ? force : "");
	cJSON *g = cJSON_AddObjectToObject(root, "global options");
	cJSON_AddNumberToObject(g, "reps", c->reps);
	cJSON_AddBoolToObject(g, "share_store", c->share_store);
	cJSON_AddStringToObject(g, "compare", c->compare);
	cJSON *eng = cJSON_AddArrayToObject(g, "engines");
	for (unsigned e = 0; e < nengines; e++)
		cJSON_AddItemToArray(eng, cJSON_CreateString(engines[e] ? engines[e]->name : ""));
	cJSON *jobs = cJSON_AddArrayToObject(root, "jobs");
	for (unsigned i = 0; i < nres; i++)
		if (all[i].job)
			cJSON_AddItemToArray(jobs, result_json(&all[i], c->fmt == OUT_JSON_PLUS));
	if (c->compare[0])
		cJSON_AddItemToObject(root, "compare", compare_json(c, all, nengines));
	else
		cJSON_AddItemToObject(root, "compare", cJSON_CreateArray());
	char *s = cJSON_Print(root);
	cJSON_Delete(root);
	return s;
}
