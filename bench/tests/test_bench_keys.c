/*
 * test_bench_keys.c -- key distributions and key formats: the zipf generator's
 * frequencies against theory (rank 1 and 2 exactly as Gray et al. construct them,
 * the head of the curve by ratio and a chi-square), the scrambling permutation,
 * latest, uniform, and keys that sort as their numbers.
 */
#include "bench.h"

#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DRAWS 2000000

static void check_zipf(uint64_t n, double theta)
{
	struct zipf z;
	CU_ASSERT_FATAL(zipf_init(&z, n, theta) == 0);
	uint64_t *cnt = calloc(n, sizeof(*cnt));
	struct rng r;
	rng_seed(&r, 7);
	for (int i = 0; i < DRAWS; i++) {
		uint64_t k = zipf_rank(&z, rng_unit(&r));
		CU_ASSERT_FATAL(k < n);
		cnt[k]++;
	}
	double zn = zeta(n, theta);
	/* Ranks 0 and 1 are exact in the construction: within 2% (>= 50 sigma at 2M draws). */
	for (int k = 0; k < 2; k++) {
		double want = 1.0 / pow(k + 1, theta) / zn, got = (double)cnt[k] / DRAWS;
		CU_ASSERT(fabs(got - want) / want < 0.02);
		if (fabs(got - want) / want >= 0.02)
			fprintf(stderr, "\n  n=%llu theta=%g rank %d: %.5f want %.5f\n",
				(unsigned long long)n, theta, k + 1, got, want);
	}
	/* The head: frequency ratios to rank 1 follow 1/r^theta.  Past rank 2 the inverse
	 * formula is Gray's approximation: rank 3 comes out ~10-20% heavy (measured 1.17
	 * at n=1000, theta=0.99, as in YCSB), later ranks within ~10%. */
	double chi = 0;
	for (int k = 2; k < 10; k++) {
		double ratio = (double)cnt[k] / (double)cnt[0], want = 1.0 / pow(k + 1, theta);
		CU_ASSERT(fabs(ratio - want) / want < (k == 2 ? 0.25 : 0.15));
		double e = DRAWS / pow(k + 1, theta) / zn;
		chi += ((double)cnt[k] - e) * ((double)cnt[k] - e) / e;
	}
	/* A monotone tail: decile counts decrease. */
	uint64_t prev = UINT64_MAX;
	for (int d = 0; d < 10; d++) {
		uint64_t s = 0;
		for (uint64_t k = n * (uint64_t)d / 10; k < n * (uint64_t)(d + 1) / 10; k++)
			s += cnt[k];
		CU_ASSERT(s <= prev);
		prev = s;
	}
	/* chi-square over ranks 3..10 against 1/r^theta: loose, the generator is Gray's
	 * approximation there; this catches a wrong exponent, not its rounding. */
	CU_ASSERT(chi / DRAWS < 0.01);
	free(cnt);
}

static void test_zipf_shape(void)
{
	check_zipf(1000, 0.99);
	check_zipf(100000, 0.99);
	check_zipf(10000, 0.5);
	check_zipf(10000, 0.8);
	struct zipf z;
	CU_ASSERT(zipf_init(&z, 100, 1.0) == -1);
	CU_ASSERT(zipf_init(&z, 100, 0.0) == -1);
	CU_ASSERT(zipf_init(&z, 0, 0.5) == -1);
}

static void test_perm(void)
{
	uint64_t sizes[] = {1, 2, 3, 1000, 4097, 65536};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint64_t n = sizes[s];
		unsigned char *seen = calloc(n, 1);
		struct perm p;
		perm_init(&p, n, 99);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t x = perm_apply(&p, i);
			CU_ASSERT_FATAL(x < n);
			CU_ASSERT(!seen[x]);
			seen[x] = 1;
		}
		free(seen);
	}
}

/* Scrambled zipf: the hottest key carries rank 1's share, and the ten hottest keys
 * are spread over the key space, not bunched at its start. */
static void test_keygen_zipf(void)
{
	const uint64_t n = 100000;
	struct zipf z;
	struct perm p;
	zipf_init(&z, n, 0.99);
	perm_init(&p, n, 5);
	struct keygen g = {.kind = KD_ZIPF, .n = n, .z = &z, .scramble = &p};
	rng_seed(&g.rng, 3);
	uint32_t *cnt = calloc(n, sizeof(*cnt));
	for (int i = 0; i < DRAWS; i++)
		cnt[keygen_next(&g)]++;
	uint64_t hot = 0;
	for (uint64_t k = 1; k < n; k++)
		hot = cnt[k] > cnt[hot] ? k : hot;
	CU_ASSERT_EQUAL(hot, perm_apply(&p, 0));
	double want = 1.0 / zeta(n, 0.99);
	CU_ASSERT(fabs((double)cnt[hot] / DRAWS - want) / want < 0.02);
	unsigned low = 0;
	for (int r = 0; r < 10; r++)
		low += perm_apply(&p, (uint64_t)r) < n / 10;
	CU_ASSERT(low < 6);
	free(cnt);
}

static void test_keygen_latest_uniform_seq(void)
{
	const uint64_t n = 1000;
	struct zipf z;
	zipf_init(&z, n, 0.99);
	_Atomic uint64_t inserted = 0;
	struct keygen g = {.kind = KD_LATEST, .n = n, .z = &z, .inserted = &inserted};
	rng_seed(&g.rng, 4);
	unsigned newest = 0;
	for (int i = 0; i < 100000; i++)
		newest += keygen_next(&g) == n - 1;
	CU_ASSERT(fabs(newest / 100000.0 - 1 / zeta(n, 0.99)) < 0.01);
	atomic_store(&inserted, 500);
	uint64_t maxk = 0;
	newest = 0;
	for (int i = 0; i < 100000; i++) {
		uint64_t k = keygen_next(&g);
		maxk = k > maxk ? k : maxk;
		newest += k == n + 499;
	}
	CU_ASSERT_EQUAL(maxk, n + 499);
	CU_ASSERT(newest > 10000);

	struct keygen u = {.kind = KD_UNIFORM, .n = 100};
	rng_seed(&u.rng, 5);
	unsigned cnt[100] = {0};
	for (int i = 0; i < 1000000; i++)
		cnt[keygen_next(&u)]++;
	double chi = 0;
	for (int k = 0; k < 100; k++)
		chi += (cnt[k] - 10000.0) * (cnt[k] - 10000.0) / 10000.0;
	CU_ASSERT(chi < 160); /* 99 degrees of freedom: p < 1e-4 beyond 160 */

	struct keygen s = {.kind = KD_SEQ, .n = 3, .cursor = 1};
	CU_ASSERT_EQUAL(keygen_next(&s), 1);
	CU_ASSERT_EQUAL(keygen_next(&s), 2);
	CU_ASSERT_EQUAL(keygen_next(&s), 0);
}

static void test_keys_sort(void)
{
	size_t sizes[] = {8, 12, 16, 24};
	for (size_t s = 0; s < 4; s++) {
		size_t ks = sizes[s];
		char a[32], m[32], b[32];
		for (uint64_t i = 0; i < 5000; i += 7) {
			make_key(a, ks, i, 0);
			make_key(m, ks, i, 1);
			make_key(b, ks, i + 1, 0);
			CU_ASSERT(memcmp(a, m, ks) < 0);
			CU_ASSERT(memcmp(m, b, ks) < 0);
		}
	}
	uint8_t v[100];
	value_fill(v, sizeof(v), 1);
	value_stamp(v, sizeof(v), 12345);
	CU_ASSERT_PTR_NULL(value_check(v, sizeof(v), sizeof(v), 12345));
	CU_ASSERT_PTR_NOT_NULL(value_check(v, sizeof(v), sizeof(v), 12346));
	CU_ASSERT_PTR_NOT_NULL(value_check(v, 99, sizeof(v), 12345));
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	CU_pSuite s = CU_add_suite("keys", NULL, NULL);
	CU_add_test(s, "zipf shape", test_zipf_shape);
	CU_add_test(s, "permutation", test_perm);
	CU_add_test(s, "scrambled zipf keys", test_keygen_zipf);
	CU_add_test(s, "latest, uniform, seq", test_keygen_latest_uniform_seq);
	CU_add_test(s, "keys sort as numbers", test_keys_sort);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned fails = CU_get_number_of_failures();
	CU_cleanup_registry();
	return fails != 0 ? 1 : 0;
}
