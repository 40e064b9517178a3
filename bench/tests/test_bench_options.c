/*
 * test_bench_options.c -- daxkv-bench's option and job-file parsing: sizes, times,
 * distributions, the command line (globals, --name= jobs, flags), INI job files
 * ([global], sections, ${VAR}, bare flags, empty sections) and bad input of each
 * kind, which must fail with a message naming what is wrong.
 */
#include "bench.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct bench_cfg cfg;
static char err[ERR_LEN];

static int parse(int argc, const char **argv)
{
	err[0] = '\0';
	return cfg_parse_args(&cfg, argc, (char **)argv, err);
}

#define PARSE(...)                                                                      \
	parse((int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),       \
	      (const char *[]){__VA_ARGS__})

static void test_sizes(void)
{
	uint64_t v = 0;
	CU_ASSERT(parse_size("4k", &v, err) == 0 && v == 4096);
	CU_ASSERT(parse_size("4K", &v, err) == 0 && v == 4096);
	CU_ASSERT(parse_size("4KiB", &v, err) == 0 && v == 4096);
	CU_ASSERT(parse_size("4kb", &v, err) == 0 && v == 4096);
	CU_ASSERT(parse_size("1m", &v, err) == 0 && v == 1048576);
	CU_ASSERT(parse_size("1g", &v, err) == 0 && v == 1073741824ull);
	CU_ASSERT(parse_size("2t", &v, err) == 0 && v == 2ull << 40);
	CU_ASSERT(parse_size("100", &v, err) == 0 && v == 100);
	CU_ASSERT(parse_size("0", &v, err) == 0 && v == 0);
	CU_ASSERT(parse_size("100b", &v, err) == 0 && v == 100);
	const char *bad[] = {"", "abc", "12q", "-1", "4kk", "k", "1.5k", " 4", "+4",
			     "99999999999999999999", "20000p"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CU_ASSERT(parse_size(bad[i], &v, err) == -1);
		CU_ASSERT(err[0] != '\0');
	}
}

static void test_times(void)
{
	double s = 0;
	CU_ASSERT(parse_time("10", &s, err) == 0 && s == 10);
	CU_ASSERT(parse_time("10s", &s, err) == 0 && s == 10);
	CU_ASSERT(parse_time("500ms", &s, err) == 0 && s == 0.5);
	CU_ASSERT(parse_time("2m", &s, err) == 0 && s == 120);
	CU_ASSERT(parse_time("1h", &s, err) == 0 && s == 3600);
	CU_ASSERT(parse_time("10x", &s, err) == -1);
	CU_ASSERT(parse_time("-1", &s, err) == -1);
	CU_ASSERT(parse_time("", &s, err) == -1);
}

static void test_key_dist(void)
{
	enum key_dist kd;
	double t = 0;
	CU_ASSERT(parse_key_dist("uniform", &kd, &t, err) == 0 && kd == KD_UNIFORM);
	CU_ASSERT(parse_key_dist("zipf:0.8", &kd, &t, err) == 0 && kd == KD_ZIPF && t == 0.8);
	CU_ASSERT(parse_key_dist("zipf", &kd, &t, err) == 0 && kd == KD_ZIPF && t == 0.99);
	CU_ASSERT(parse_key_dist("seq", &kd, &t, err) == 0 && kd == KD_SEQ);
	CU_ASSERT(parse_key_dist("latest", &kd, &t, err) == 0 && kd == KD_LATEST);
	CU_ASSERT(parse_key_dist("zipf:1.5", &kd, &t, err) == -1);
	CU_ASSERT(parse_key_dist("zipf:0", &kd, &t, err) == -1);
	CU_ASSERT(parse_key_dist("zipf:abc", &kd, &t, err) == -1);
	CU_ASSERT(parse_key_dist("pareto", &kd, &t, err) == -1);
}

static void test_cli_jobs(void)
{
	CU_ASSERT_EQUAL_FATAL(PARSE("b", "--bs=1k", "--numjobs=2", "--name=a", "--rw=randread",
				    "--name=b", "--rw=ycsb-a", "--ks=32", "--output-format=json"),
			      0);
	CU_ASSERT_EQUAL(cfg.njobs, 2);
	CU_ASSERT_STRING_EQUAL(cfg.jobs[0].name, "a");
	CU_ASSERT_EQUAL(cfg.jobs[0].rw, RW_RANDREAD);
	CU_ASSERT_EQUAL(cfg.jobs[0].bs, 1024);
	CU_ASSERT_EQUAL(cfg.jobs[0].numjobs, 2);
	CU_ASSERT_EQUAL(cfg.jobs[0].ks, 16);
	CU_ASSERT_EQUAL(cfg.jobs[1].rw, RW_YCSB_A);
	CU_ASSERT_EQUAL(cfg.jobs[1].ks, 32);
	CU_ASSERT_EQUAL(cfg.fmt, OUT_JSON); /* run-wide, even after --name= */
	CU_ASSERT_EQUAL(job_key_dist(&cfg.jobs[1]), KD_ZIPF);

	CU_ASSERT_EQUAL_FATAL(PARSE("b", "--rw=overwrite", "--time_based", "--runtime=5s",
				    "--ramp_time=500ms", "--key_dist=zipf:0.9", "--gc_policy=ratio",
				    "--backend=block", "--gc_rate=unlimited", "--compare=daxkv,lmdb"),
			      0);
	CU_ASSERT_EQUAL(cfg.njobs, 1); /* no --name: one job named after its workload */
	CU_ASSERT_STRING_EQUAL(cfg.jobs[0].name, "overwrite");
	CU_ASSERT_EQUAL(cfg.jobs[0].time_based, 1);
	CU_ASSERT_EQUAL(cfg.jobs[0].runtime_s, 5);
	CU_ASSERT_EQUAL(cfg.jobs[0].ramp_s, 0.5);
	CU_ASSERT_EQUAL(cfg.jobs[0].key_dist, KD_ZIPF);
	CU_ASSERT_EQUAL(cfg.jobs[0].gc_policy, GCP_RATIO);
	CU_ASSERT_EQUAL(cfg.jobs[0].backend, BK_BLOCK);
	CU_ASSERT_EQUAL(cfg.jobs[0].gc_rate, UINT64_MAX);
	CU_ASSERT_STRING_EQUAL(cfg.compare, "daxkv,lmdb");

	CU_ASSERT_EQUAL(PARSE("b", "--rw=ycsba"), 0);
	CU_ASSERT_EQUAL(cfg.jobs[0].rw, RW_YCSB_A);
	CU_ASSERT_EQUAL(PARSE("b", "--rw=YCSB_F", "--rwmixwrite=30"), 0);
	CU_ASSERT_EQUAL(cfg.jobs[0].rw, RW_YCSB_F);
	CU_ASSERT_EQUAL(cfg.jobs[0].rwmixread, 70);
}

/* Each bad command line fails, and the message names the culprit. */
static void test_cli_bad(void)
{
	static const struct {
		const char *arg, *needle;
	} bad[] = {
		{"--frobnicate=1", "frobnicate"}, {"--bs=12q", "bs"},       {"--bs", "needs a value"},
		{"--rw=randomwrite", "rw"},       {"--numjobs=0", "numjobs"}, {"--ks=4", "ks"},
		{"--runtime=abc", "runtime"},     {"--rwmixread=101", "rwmixread"},
		{"--key_dist=zipf:2", "key_dist"}, {"--time_based", "runtime"},
		{"--backend=nvme", "backend"},    {"--output-format=xml", "output-format"},
		{"-x", "-x"},                     {"--gc_ratio=2", "gc_ratio"},
		{"--reps=0", "reps"},             {"--percentile_list=50:101", "percentile"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = PARSE("b", bad[i].arg);
		CU_ASSERT_EQUAL(rc, -1);
		if (rc != -1 || !strstr(err, bad[i].needle))
			fprintf(stderr, "\n  %s -> rc %d, '%s'\n", bad[i].arg, rc, err);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].needle));
	}
	CU_ASSERT_EQUAL(PARSE("b", "--nrkeys=1", "--numjobs=2"), -1);
	CU_ASSERT_EQUAL(PARSE("b", "/nonexistent/job.ini"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/job.ini"));
}

static int parse_text(const char *text)
{
	memset(&cfg, 0, sizeof(cfg));
	job_defaults(&cfg.global);
	cfg.reps = 1;
	err[0] = '\0';
	return cfg_parse_jobstring(&cfg, text, err);
}

static void test_jobfile(void)
{
	const char *text = "; a comment\n"
			   "[global]\n"
			   "bs=4k\n"
			   "ks=32\n"
			   "engine=pmem-floor\n"
			   "\n"
			   "[j1]\n"
			   "rw=randread\n"
			   "[j2]\n"
			   "rw=overwrite\n"
			   "bs=1k\n"
			   "time_based\n"
			   "runtime=3\n"
			   "[j3]\n";
	CU_ASSERT_EQUAL_FATAL(parse_text(text), 0);
	CU_ASSERT_EQUAL_FATAL(cfg.njobs, 3);
	CU_ASSERT_STRING_EQUAL(cfg.jobs[0].name, "j1");
	CU_ASSERT_EQUAL(cfg.jobs[0].bs, 4096);
	CU_ASSERT_EQUAL(cfg.jobs[0].ks, 32);
	CU_ASSERT_STRING_EQUAL(cfg.jobs[0].engine, "pmem-floor");
	CU_ASSERT_EQUAL(cfg.jobs[1].bs, 1024);
	CU_ASSERT_EQUAL(cfg.jobs[1].time_based, 1);
	CU_ASSERT_EQUAL(cfg.jobs[1].runtime_s, 3);
	CU_ASSERT_STRING_EQUAL(cfg.jobs[2].name, "j3"); /* an empty section is a job */
	CU_ASSERT_EQUAL(cfg.jobs[2].bs, 4096);
	CU_ASSERT_EQUAL(cfg.jobs[2].rw, RW_RANDWRITE);

	/* A [global] after a job applies to the jobs after it only, as in fio. */
	CU_ASSERT_EQUAL_FATAL(parse_text("[a]\n[global]\nbs=2k\n[b]\n"), 0);
	CU_ASSERT_EQUAL(cfg.jobs[0].bs, 100);
	CU_ASSERT_EQUAL(cfg.jobs[1].bs, 2048);

	setenv("DKB_TEST_BS", "2k", 1);
	CU_ASSERT_EQUAL(parse_text("[a]\nbs=${DKB_TEST_BS}\n"), 0);
	CU_ASSERT_EQUAL(cfg.jobs[0].bs, 2048);
	unsetenv("DKB_TEST_UNSET");
	CU_ASSERT_EQUAL(parse_text("[a]\nbs=${DKB_TEST_UNSET}\n"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "DKB_TEST_UNSET"));
}

static void test_jobfile_bad(void)
{
	CU_ASSERT_EQUAL(parse_text("[global]\nbs=4k\nfrob=1\n"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "frob"));
	CU_ASSERT_EQUAL(parse_text("[a]\nbs=4q\n"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
	CU_ASSERT_EQUAL(parse_text("[a]\nnrkeys\n"), -1); /* not a flag: needs a value */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
	CU_ASSERT_EQUAL(parse_text("[a\nrw=randread\n"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 1"));
	CU_ASSERT_EQUAL(parse_text("[a]\nreps=3\n"), -1); /* run-wide: [global] only */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "reps"));
	CU_ASSERT_EQUAL(parse_text("[global]\nreps=3\ncompare=daxkv,lmdb\n[a]\n"), 0);
	CU_ASSERT_EQUAL(cfg.reps, 3);
}

/* Options before any --name= beat the job file's values. */
static void test_cli_overrides_file(void)
{
	char path[] = "/tmp/dkb-test-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	const char *text = "[global]\nbs=1k\n[a]\nrw=randread\n[b]\nbs=2k\n";
	CU_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	CU_ASSERT_EQUAL(PARSE("b", "--bs=8k", path, "--name=c"), 0);
	CU_ASSERT_EQUAL_FATAL(cfg.njobs, 3);
	CU_ASSERT_EQUAL(cfg.jobs[0].bs, 8192);
	CU_ASSERT_EQUAL(cfg.jobs[1].bs, 8192);
	CU_ASSERT_EQUAL(cfg.jobs[2].bs, 8192);
	CU_ASSERT_STRING_EQUAL(cfg.jobs[2].name, "c");
	CU_ASSERT_EQUAL(PARSE("b", path, "--section=b"), 0); /* fio's --section */
	CU_ASSERT_EQUAL(cfg.njobs, 1);
	CU_ASSERT_STRING_EQUAL(cfg.jobs[0].name, "b");
	CU_ASSERT_EQUAL(PARSE("b", path, "--section=nosuch"), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nosuch"));
	/* Several job files, as fio: read in turn, each after the first a new group. */
	CU_ASSERT_EQUAL(PARSE("b", path, path), 0);
	CU_ASSERT_EQUAL_FATAL(cfg.njobs, 4);
	CU_ASSERT_EQUAL(cfg.jobs[1].groupid, 0);
	CU_ASSERT_EQUAL(cfg.jobs[2].groupid, 1);
	CU_ASSERT_EQUAL(cfg.jobs[3].groupid, 1);
	unlink(path);
}

/* Counts are decimal (1m keys = 10^6, as the default run), sizes binary; a 0
 * that would silently mean "the default" is refused. */
static void test_counts(void)
{
	uint64_t v = 0;
	CU_ASSERT(parse_count("1m", &v, err) == 0 && v == 1000000);
	CU_ASSERT(parse_count("10k", &v, err) == 0 && v == 10000);
	CU_ASSERT(parse_count("2G", &v, err) == 0 && v == 2000000000ull);
	CU_ASSERT(parse_count("123", &v, err) == 0 && v == 123);
	CU_ASSERT(parse_count("1kib", &v, err) == -1);
	CU_ASSERT(parse_count("-1", &v, err) == -1);
	CU_ASSERT(parse_count("99999999999999999999", &v, err) == -1);
	CU_ASSERT_EQUAL_FATAL(PARSE("b", "--nrkeys=1m", "--number_ios=2k", "--bs=1k"), 0);
	CU_ASSERT_EQUAL(cfg.jobs[0].nrkeys, 1000000);
	CU_ASSERT_EQUAL(cfg.jobs[0].nrkeys, cfg.global.nrkeys);
	CU_ASSERT_EQUAL(cfg.jobs[0].number_ios, 2000);
	CU_ASSERT_EQUAL(cfg.jobs[0].bs, 1024);
	job_defaults(&cfg.global);
	CU_ASSERT_EQUAL(cfg.global.nrkeys, 1000000); /* the default is the same 1m */
	const char *zero[] = {"--size=0", "--number_ios=0", "--nrkeys=0", "--pool_size=0",
			      "--segment_size=0", "--numjobs=0", "--scan_len=0"};
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		CU_ASSERT_EQUAL(PARSE("b", zero[i]), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "0 makes no sense"));
	}
	CU_ASSERT_EQUAL(PARSE("b", "--size", "4k"), 0); /* fio's --key value */
	CU_ASSERT_EQUAL(cfg.jobs[0].size, 4096);
	CU_ASSERT_EQUAL(PARSE("b", "--version"), 0);
	CU_ASSERT_EQUAL(cfg.version, 1);
	CU_ASSERT_EQUAL(PARSE("b"), 0); /* no arguments: main prints the usage, exit 1 */
	CU_ASSERT_EQUAL(cfg.no_args, 1);
	CU_ASSERT_EQUAL(strncmp(bench_version(), "daxkv-bench-", 12), 0);
}

/* fio's structure: bare stonewall and new_group (reporting groups), include,
 * and daxkv's ${VAR:-default}. */
static void test_jobfile_fio(void)
{
	CU_ASSERT_EQUAL_FATAL(parse_text("[a]\n[b]\nstonewall\n[c]\n[d]\nnew_group\n"), 0);
	CU_ASSERT_EQUAL_FATAL(cfg.njobs, 4);
	CU_ASSERT_EQUAL(cfg.jobs[1].stonewall, 1);
	CU_ASSERT_EQUAL(cfg.jobs[3].new_group, 1);
	CU_ASSERT_EQUAL(PARSE("b", "--name=a", "--name=b", "--stonewall", "--name=c", "--new_group",
			      "--name=d"), 0);
	unsigned want[] = {0, 1, 2, 2};
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(cfg.jobs[i].groupid, want[i]);

	unsetenv("DKB_TEST_UNSET");
	CU_ASSERT_EQUAL(parse_text("[a]\nbs=${DKB_TEST_UNSET:-3k}\n"), 0);
	CU_ASSERT_EQUAL(cfg.jobs[0].bs, 3072);
	setenv("DKB_TEST_SET", "5", 1);
	CU_ASSERT_EQUAL(parse_text("[a]\nbs=${DKB_TEST_SET:-3k}\n"), 0);
	CU_ASSERT_EQUAL(cfg.jobs[0].bs, 5);

	char d[] = "/tmp/dkb-test-inc-XXXXXX", inc[64], top[64];
	CU_ASSERT_FATAL(mkdtemp(d) != NULL);
	snprintf(inc, sizeof(inc), "%s/inc.fio", d);
	snprintf(top, sizeof(top), "%s/top.fio", d);
	FILE *f = fopen(inc, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("bs=2k\nks=24\n", f);
	CU_ASSERT(fclose(f) == 0);
	f = fopen(top, "w");
	CU_ASSERT_FATAL(f != NULL);
	fputs("[global]\ninclude inc.fio\n[a]\nrw=randread\n", f); /* relative: top's dir */
	CU_ASSERT(fclose(f) == 0);
	CU_ASSERT_EQUAL(PARSE("b", top), 0);
	CU_ASSERT_EQUAL(cfg.jobs[0].bs, 2048);
	CU_ASSERT_EQUAL(cfg.jobs[0].ks, 24);
	f = fopen(inc, "w"); /* includes itself: refused, not a stack overflow */
	CU_ASSERT_FATAL(f != NULL);
	fputs("include inc.fio\n", f);
	CU_ASSERT(fclose(f) == 0);
	CU_ASSERT_EQUAL(PARSE("b", top), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "levels"));
	unlink(inc);
	unlink(top);
	rmdir(d);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("options", NULL, NULL);
	CU_add_test(s, "sizes", test_sizes);
	CU_add_test(s, "times", test_times);
	CU_add_test(s, "key_dist", test_key_dist);
	CU_add_test(s, "cli_jobs", test_cli_jobs);
	CU_add_test(s, "cli_bad", test_cli_bad);
	CU_pSuite f = CU_add_suite("jobfile", NULL, NULL);
	CU_add_test(f, "jobfile", test_jobfile);
	CU_add_test(f, "jobfile_bad", test_jobfile_bad);
	CU_add_test(f, "cli_overrides_file", test_cli_overrides_file);
	CU_add_test(f, "counts", test_counts);
	CU_add_test(f, "jobfile_fio", test_jobfile_fio);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails != 0 ? 1 : 0;
}
