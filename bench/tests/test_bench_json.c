/*
 * test_bench_json.c -- the JSON output's schema, from real (tiny) runs through the
 * harness's own code: pmem-floor and daxkv, mixed and scan workloads, a --compare
 * of two engines, and the per-second log's columns.  Needs PMEM_IS_PMEM_FORCE=1
 * on tmpfs (ctest sets it); without /dev/shm it is skipped (77).
 */
#include "bench.h"

#include <CUnit/Basic.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct bench_cfg cfg;
static char dir[128];

static int setup(const char **argv, int argc)
{
	char err[ERR_LEN];
	int rc = cfg_parse_args(&cfg, argc, (char **)argv, err);
	if (rc)
		fprintf(stderr, "\n  %s\n", err);
	return rc;
}

/* Runs cfg's jobs on each engine named (once), returns the parsed JSON document. */
static cJSON *run_all(const char *const *names, unsigned n)
{
	const struct kv_engine *e[MAX_ENGINES];
	unsigned nres = n * cfg.njobs;
	struct job_result *res = calloc(nres, sizeof(*res));
	for (unsigned i = 0; i < n; i++) {
		int known = 0;
		e[i] = engine_find(names[i], &known);
		CU_ASSERT_FATAL(e[i] != NULL);
		struct store s;
		CU_ASSERT_FATAL(store_open(&s, e[i], &cfg.jobs[0]) == 0);
		for (unsigned j = 0; j < cfg.njobs; j++) {
			job_run(&s, &cfg.jobs[j], 0, NULL, &res[i * cfg.njobs + j]);
			CU_ASSERT_EQUAL(res[i * cfg.njobs + j].error, 0);
			CU_ASSERT_EQUAL(res[i * cfg.njobs + j].verify_errors, 0);
		}
		CU_ASSERT(store_close(&s, 1) == 0);
	}
	char *doc = report_json(&cfg, res, nres, e, n);
	CU_ASSERT_FATAL(doc != NULL);
	cJSON *root = cJSON_Parse(doc);
	free(doc);
	for (unsigned i = 0; i < nres; i++)
		result_free(&res[i]);
	free(res);
	CU_ASSERT_FATAL(root != NULL);
	return root;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
	CU_ASSERT(cJSON_IsNumber(x));
	if (!cJSON_IsNumber(x))
		fprintf(stderr, "\n  missing number '%s'\n", key);
	return cJSON_IsNumber(x) ? x->valuedouble : -1;
}

static void check_dir(const cJSON *job, const char *name)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(job, name);
	CU_ASSERT_FATAL(cJSON_IsObject(d));
	static const char *const keys[] = {"ops", "io_bytes", "bw_bytes", "iops", "runtime",
					   "not_found", "keys"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		num(d, keys[i]);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "clat_ns");
	CU_ASSERT_FATAL(cJSON_IsObject(c));
	static const char *const ck[] = {"min", "max", "mean", "stddev", "N"};
	for (size_t i = 0; i < 5; i++)
		num(c, ck[i]);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(c, "percentile");
	CU_ASSERT_FATAL(cJSON_IsObject(p));
	static const char *const pk[] = {"1.000000", "50.000000", "99.000000", "99.500000",
					 "99.900000", "99.950000", "99.990000"};
	double prev = 0;
	for (size_t i = 0; i < sizeof(pk) / sizeof(pk[0]); i++) {
		double v = num(p, pk[i]);
		CU_ASSERT(v >= prev); /* percentiles never decrease */
		prev = v;
	}
	CU_ASSERT(num(d, "ops") == num(c, "N"));
}

static void check_job(const cJSON *job, const char *engine, int expect_daxkv)
{
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(job, "engine")), engine);
	CU_ASSERT(cJSON_IsString(cJSON_GetObjectItem(job, "jobname")));
	CU_ASSERT(cJSON_IsObject(cJSON_GetObjectItem(job, "job options")));
	CU_ASSERT(cJSON_IsObject(cJSON_GetObjectItem(job, "preload")));
	static const char *const keys[] = {"rep", "error", "elapsed", "prepare_seconds", "iops",
					   "bw_bytes", "usr_cpu", "sys_cpu", "ctx", "majf", "minf",
					   "verify_errors", "engine_errors"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		num(job, keys[i]);
	check_dir(job, "read");
	check_dir(job, "write");
	check_dir(job, "delete");
	check_dir(job, "scan");
	const cJSON *dx = cJSON_GetObjectItem(job, "daxkv");
	if (!expect_daxkv) {
		CU_ASSERT(cJSON_IsNull(dx));
		return;
	}
	CU_ASSERT_FATAL(cJSON_IsObject(dx));
	static const char *const dk[] = {"bytes_requested", "bytes_written", "gc_passes",
					 "gc_bytes_moved", "segments_used", "segments_free",
					 "segment_size", "live_bytes", "dead_bytes"};
	for (size_t i = 0; i < sizeof(dk) / sizeof(dk[0]); i++)
		num(dx, dk[i]);
	const cJSON *wa = cJSON_GetObjectItem(dx, "write_amp");
	CU_ASSERT(cJSON_IsNumber(wa) || cJSON_IsNull(wa));
	CU_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(dx, "space_amp")));
}

static void test_floor_randrw(void)
{
	char d[200];
	snprintf(d, sizeof(d), "--directory=%s", dir);
	const char *argv[] = {"t", "--rw=randrw", "--nrkeys=3000", "--numjobs=2",
			      "--engine=pmem-floor", d};
	CU_ASSERT_FATAL(setup(argv, 6) == 0);
	const char *names[] = {"pmem-floor"};
	cJSON *root = run_all(names, 1);
	CU_ASSERT(cJSON_IsNumber(cJSON_GetObjectItem(root, "daxkv-bench version")));
	CU_ASSERT(cJSON_IsString(cJSON_GetObjectItem(root, "command")));
	CU_ASSERT(cJSON_IsObject(cJSON_GetObjectItem(root, "global options")));
	CU_ASSERT(cJSON_IsArray(cJSON_GetObjectItem(root, "compare")));
	const cJSON *jobs = cJSON_GetObjectItem(root, "jobs");
	CU_ASSERT_FATAL(cJSON_GetArraySize(jobs) == 1);
	const cJSON *job = cJSON_GetArrayItem(jobs, 0);
	check_job(job, "pmem-floor", 0);
	double r = num(cJSON_GetObjectItem(job, "read"), "ops");
	double w = num(cJSON_GetObjectItem(job, "write"), "ops");
	CU_ASSERT_EQUAL(r + w, 3000); /* the budget: nrkeys operations for the group */
	CU_ASSERT(r > 1000 && w > 1000);
	CU_ASSERT_EQUAL(num(cJSON_GetObjectItem(job, "preload"), "ops"), 3000);
	cJSON_Delete(root);
}

/* daxkv: a fill, reads, scans, YCSB-E and deletes on one store, and a compare. */
static void test_daxkv_sequence_and_compare(void)
{
	char d[200];
	snprintf(d, sizeof(d), "--directory=%s", dir);
	const char *argv[] = {"t", d, "--nrkeys=4000", "--share_store=1", "--compare=daxkv,pmem-floor",
			      "--name=fill", "--rw=randwrite", "--name=read", "--rw=randread",
			      "--name=scan", "--rw=scan", "--scan_len=10", "--name=e", "--rw=ycsb-e",
			      "--number_ios=500", "--name=full", "--rw=seqread", "--name=del",
			      "--rw=delete"};
	CU_ASSERT_FATAL(setup(argv, sizeof(argv) / sizeof(argv[0])) == 0);
	const char *names[] = {"daxkv"};
	cJSON *root = run_all(names, 1);
	const cJSON *jobs = cJSON_GetObjectItem(root, "jobs");
	CU_ASSERT_FATAL(cJSON_GetArraySize(jobs) == 6);
	for (int i = 0; i < 6; i++)
		check_job(cJSON_GetArrayItem(jobs, i), "daxkv", 1);
	const cJSON *read = cJSON_GetArrayItem(jobs, 1);
	CU_ASSERT_EQUAL(num(cJSON_GetObjectItem(read, "preload"), "ops"), 0); /* the fill loaded */
	CU_ASSERT_EQUAL(num(cJSON_GetObjectItem(read, "read"), "not_found"), 0);
	const cJSON *scan = cJSON_GetObjectItem(cJSON_GetArrayItem(jobs, 2), "scan");
	/* Ten keys a scan, fewer for the scans that start near the end. */
	CU_ASSERT(num(scan, "keys") <= 10 * num(scan, "ops"));
	CU_ASSERT(num(scan, "keys") >= 9 * num(scan, "ops"));
	const cJSON *full = cJSON_GetObjectItem(cJSON_GetArrayItem(jobs, 4), "scan");
	CU_ASSERT(num(full, "keys") >= 4000); /* YCSB-E inserted a few more */
	const cJSON *del = cJSON_GetObjectItem(cJSON_GetArrayItem(jobs, 5), "delete");
	CU_ASSERT_EQUAL(num(del, "ops"), 4000);
	CU_ASSERT_EQUAL(num(del, "not_found"), 0);
	const cJSON *cmp = cJSON_GetObjectItem(root, "compare");
	CU_ASSERT_FATAL(cJSON_GetArraySize(cmp) == 6);
	const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cmp, 0), "rows"), 0);
	CU_ASSERT_EQUAL(num(row, "ratio"), 1.0);
	CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(row, "engine")), "daxkv");
	cJSON_Delete(root);
}

/* --write_lat_log: one line a second, 13 columns for daxkv. */
static void test_lat_log(void)
{
	char d[200], log[256];
	snprintf(d, sizeof(d), "--directory=%s", dir);
	const char *argv[] = {"t", d, "--rw=overwrite", "--nrkeys=2000", "--time_based",
			      "--runtime=2500ms"};
	CU_ASSERT_FATAL(setup(argv, 6) == 0);
	int known;
	const struct kv_engine *e = engine_find("daxkv", &known);
	struct store s;
	CU_ASSERT_FATAL(store_open(&s, e, &cfg.jobs[0]) == 0);
	snprintf(log, sizeof(log), "%s/lat.log", dir);
	struct job_result res;
	struct run_opts ro = {.lat_log = log, .eta = ETA_NEVER};
	job_run(&s, &cfg.jobs[0], 0, &ro, &res);
	CU_ASSERT_EQUAL(res.error, 0);
	CU_ASSERT(res.elapsed_s >= 2.4 && res.elapsed_s < 4);
	result_free(&res);
	store_close(&s, 1);
	FILE *f = fopen(log, "r");
	CU_ASSERT_FATAL(f != NULL);
	char line[1024];
	int lines = 0;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		int cols = 0;
		for (char *t = strtok(line, " \n"); t; t = strtok(NULL, " \n"))
			cols++;
		CU_ASSERT_EQUAL(cols, 13);
		lines++;
	}
	fclose(f);
	CU_ASSERT(lines >= 2 && lines <= 4);
	unlink(log);
}

/* One operation, far shorter than a millisecond: its window is timed in ns, so
 * IOPS is ops over that window (it was ops / 1 s when the window read 0), and the
 * CPU of one thread is at most 100% (it read sys=124% on a 3 ms job). */
static void test_short_job(void)
{
	char d[200];
	snprintf(d, sizeof(d), "--directory=%s", dir);
	const char *argv[] = {"t", d, "--rw=randread", "--nrkeys=1", "--number_ios=1"};
	for (int i = 0; i < 20; i++) {
		CU_ASSERT_FATAL(setup(argv, 5) == 0);
		int known;
		const struct kv_engine *e = engine_find(i % 2 ? "daxkv" : "pmem-floor", &known);
		struct store s;
		CU_ASSERT_FATAL(store_open(&s, e, &cfg.jobs[0]) == 0);
		struct job_result res;
		job_run(&s, &cfg.jobs[0], 0, NULL, &res);
		CU_ASSERT_EQUAL(res.error, 0);
		CU_ASSERT_EQUAL(res.d[DIR_READ].ops, 1);
		CU_ASSERT(res.elapsed_ns > 0);
		CU_ASSERT(result_iops(&res) > 1.0); /* 1 op in under a second */
		CU_ASSERT_DOUBLE_EQUAL(result_iops(&res), 1e9 / (double)res.elapsed_ns, 1e-6);
		CU_ASSERT(res.usr_pct + res.sys_pct <= 100.0 + 1e-9);
		result_free(&res);
		store_close(&s, 1);
	}
	/* Nothing measured: a rate of 0, never ops / 1 s. */
	struct job_result z = {.d[DIR_READ].ops = 5};
	CU_ASSERT_EQUAL(result_iops(&z), 0.0);
}

/* json+: fio's latency bins (count per bucket, keyed by ns) that add up to N, only
 * for directions that ran; groupid and fio's "trim" in every job. */
static void test_json_plus(void)
{
	char d[200];
	snprintf(d, sizeof(d), "--directory=%s", dir);
	const char *argv[] = {"t", d, "--nrkeys=3000", "--output-format=json+", "--name=a",
			      "--rw=randrw", "--name=b", "--new_group", "--rw=randread"};
	CU_ASSERT_FATAL(setup(argv, 9) == 0);
	CU_ASSERT_EQUAL(cfg.fmt, OUT_JSON_PLUS);
	const char *names[] = {"pmem-floor"};
	cJSON *root = run_all(names, 1);
	const cJSON *jobs = cJSON_GetObjectItem(root, "jobs");
	CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(jobs), 2);
	for (int i = 0; i < 2; i++) {
		const cJSON *j = cJSON_GetArrayItem(jobs, i);
		CU_ASSERT_EQUAL(num(j, "groupid"), i);
		CU_ASSERT(cJSON_IsObject(cJSON_GetObjectItem(j, "trim")));
		const cJSON *clat = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "read"), "clat_ns");
		const cJSON *bins = cJSON_GetObjectItem(clat, "bins");
		CU_ASSERT_FATAL(cJSON_IsObject(bins));
		double n = 0;
		const cJSON *b;
		cJSON_ArrayForEach(b, bins) {
			char *end;
			CU_ASSERT(strtoull(b->string, &end, 10) > 0 && *end == '\0');
			n += b->valuedouble;
		}
		CU_ASSERT_EQUAL(n, num(clat, "N"));
		const cJSON *tclat = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "trim"), "clat_ns");
		CU_ASSERT(cJSON_GetObjectItem(tclat, "bins") == NULL);
	}
	cJSON_Delete(root);
}

int main(void)
{
	struct stat st;
	if (stat("/dev/shm", &st) != 0)
		return 77;
	snprintf(dir, sizeof(dir), "/dev/shm/dkb-test-json-%d", (int)getpid());
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("json", NULL, NULL);
	CU_add_test(s, "floor randrw schema", test_floor_randrw);
	CU_add_test(s, "daxkv sequence and compare", test_daxkv_sequence_and_compare);
	CU_add_test(s, "per-second log", test_lat_log);
	CU_add_test(s, "short job: ns window, cpu", test_short_job);
	CU_add_test(s, "json+ bins and groups", test_json_plus);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	rmdir(dir);
	return fails != 0 ? 1 : 0;
}
