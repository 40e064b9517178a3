/*
 * test_bench_hist.c -- the log-linear histogram against exact percentiles of the
 * same samples, sorted: within 1% at every percentile, on several shapes and
 * over the whole range of values; plus merge, snapshot deltas, mean and stddev.
 */
#include "bench.h"

#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>

#define NSAMPLES 200000

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* The nearest-rank percentile of sorted v[n]. */
static uint64_t exact(const uint64_t *v, size_t n, double q)
{
	size_t rank = (size_t)ceil(q * (double)n);
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static double rel_err(uint64_t got, uint64_t want)
{
	return want ? fabs((double)got - (double)want) / (double)want : (double)got;
}

/* Checks every default percentile plus a few more against the sorted samples. */
static void check_against_sorted(uint64_t *v, size_t n)
{
	struct hist *h = malloc(sizeof(*h));
	CU_ASSERT_FATAL(h != NULL);
	hist_init(h);
	double sum = 0, sumsq = 0;
	for (size_t i = 0; i < n; i++) {
		hist_record(h, v[i]);
		sum += (double)v[i];
		sumsq += (double)v[i] * (double)v[i];
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	double worst = 0;
	for (unsigned i = 0; i < pct_default_n; i++) {
		double q = pct_default[i] / 100.0;
		double e = rel_err(hist_quantile(h, q), exact(v, n, q));
		worst = e > worst ? e : worst;
	}
	for (double q = 0.001; q < 1.0; q += 0.0137) {
		double e = rel_err(hist_quantile(h, q), exact(v, n, q));
		worst = e > worst ? e : worst;
	}
	CU_ASSERT(worst <= 0.01);
	if (worst > 0.01)
		fprintf(stderr, "\n  worst relative error %.4f\n", worst);
	CU_ASSERT_EQUAL(h->min_ns, v[0]);
	CU_ASSERT_EQUAL(h->max_ns, v[n - 1]);
	CU_ASSERT_EQUAL(hist_quantile(h, 1.0), v[n - 1]);
	CU_ASSERT_EQUAL(hist_quantile(h, 0.0), v[0]);
	double mean = sum / (double)n;
	CU_ASSERT(fabs(hist_mean(h) - mean) <= 1e-9 * mean + 1e-9);
	double sd = sqrt((sumsq - (double)n * mean * mean) / (double)(n - 1));
	CU_ASSERT(fabs(hist_stddev(h) - sd) <= 1e-6 * sd + 1e-6);
	free(h);
}

static void test_lognormal(void)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	struct rng r;
	rng_seed(&r, 1);
	for (size_t i = 0; i < NSAMPLES; i++) {
		/* Box-Muller: latency-like, median ~3 us, a long tail to ms. */
		double u1 = rng_unit(&r) + 1e-12, u2 = rng_unit(&r);
		double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
		v[i] = (uint64_t)(3000.0 * exp(1.2 * z)) + 1;
	}
	check_against_sorted(v, NSAMPLES);
	free(v);
}

static void test_uniform_and_bimodal(void)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	struct rng r;
	rng_seed(&r, 2);
	for (size_t i = 0; i < NSAMPLES; i++)
		v[i] = 100 + rng_next(&r) % 1000000;
	check_against_sorted(v, NSAMPLES);
	for (size_t i = 0; i < NSAMPLES; i++) /* a fast path and a 1000x slower one */
		v[i] = (rng_next(&r) % 100 < 97) ? 250 + rng_next(&r) % 50
						  : 250000 + rng_next(&r) % 500000;
	check_against_sorted(v, NSAMPLES);
	for (size_t i = 0; i < NSAMPLES; i++) /* small values: exact buckets */
		v[i] = rng_next(&r) % 300;
	check_against_sorted(v, NSAMPLES);
	free(v);
}

/* One value between a smaller and a larger one: the median is that value's bucket,
 * whose midpoint must be within 1% of it, everywhere in the range. */
static void test_every_magnitude(void)
{
	struct hist *h = malloc(sizeof(*h));
	double worst = 0;
	for (double x = 1; x < 1e18; x *= 1.0137) {
		uint64_t v = (uint64_t)x;
		hist_init(h);
		hist_record(h, 0);
		hist_record(h, v);
		hist_record(h, UINT64_MAX / 2);
		double e = rel_err(hist_quantile(h, 0.5), v);
		worst = e > worst ? e : worst;
	}
	CU_ASSERT(worst <= 0.005); /* half a bucket: 1/256 */
	free(h);
}

static void test_merge_and_delta(void)
{
	struct hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b)), *all = malloc(sizeof(*all));
	struct hist *snap1 = malloc(sizeof(*snap1)), *snap2 = malloc(sizeof(*snap2));
	struct hist *d = malloc(sizeof(*d));
	hist_init(a);
	hist_init(b);
	hist_init(all);
	for (uint64_t i = 1; i <= 10000; i++) {
		hist_record(i % 2 ? a : b, i * 7);
		hist_record(all, i * 7);
	}
	hist_merge(a, b);
	CU_ASSERT_EQUAL(a->count, all->count);
	CU_ASSERT_EQUAL(a->min_ns, all->min_ns);
	CU_ASSERT_EQUAL(a->max_ns, all->max_ns);
	for (unsigned i = 0; i < pct_default_n; i++)
		CU_ASSERT_EQUAL(hist_quantile(a, pct_default[i] / 100),
				hist_quantile(all, pct_default[i] / 100));
	/* A snapshot before and after 1000 more values of 1 ms: the delta has only those. */
	hist_init(snap1);
	hist_add_snapshot(snap1, all);
	for (int i = 0; i < 1000; i++)
		hist_record(all, 1000000);
	hist_init(snap2);
	hist_add_snapshot(snap2, all);
	hist_delta(d, snap2, snap1);
	CU_ASSERT_EQUAL(d->count, 1000);
	CU_ASSERT(rel_err(hist_quantile(d, 0.5), 1000000) <= 0.01);
	CU_ASSERT(rel_err(hist_quantile(d, 0.99), 1000000) <= 0.01);
	struct hist *e = malloc(sizeof(*e));
	hist_init(e);
	CU_ASSERT_EQUAL(hist_quantile(e, 0.5), 0);
	CU_ASSERT_EQUAL(hist_mean(e), 0);
	free(a);
	free(b);
	free(all);
	free(snap1);
	free(snap2);
	free(d);
	free(e);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("hist", NULL, NULL);
	CU_add_test(s, "lognormal vs sorted", test_lognormal);
	CU_add_test(s, "uniform, bimodal, small vs sorted", test_uniform_and_bimodal);
	CU_add_test(s, "every magnitude", test_every_magnitude);
	CU_add_test(s, "merge and delta", test_merge_and_delta);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails != 0 ? 1 : 0;
}
