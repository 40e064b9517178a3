/*
 * hist.c -- a log-linear latency histogram (the HdrHistogram idea, written here).
 *
 * Values v < 256 ns have a bucket each.  Above, the power of two [2^m, 2^(m+1))
 * is cut into 128 equal buckets of width 2^(m-7), so a bucket spans at most
 * 1/128 of its smallest value: every reported quantile is within 0.78% of the
 * true one (we report the bucket's upper bound, clamped to the exact max).
 * 7424 counters (58 KiB) cover the whole uint64 range; recording is a clz, a
 * shift and an increment.
 */
#include "kvbench.h"

#include <math.h>
#include <string.h>

static unsigned bucket_of(uint64_t v)
{
	if (v < HIST_SUB_COUNT)
		return (unsigned)v;
	unsigned m = 63u - (unsigned)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	unsigned shift = m - (HIST_SUB_BITS - 1);
	unsigned sub = (unsigned)(v >> shift); /* in [HIST_HALF, HIST_SUB_COUNT) */
	return HIST_SUB_COUNT + (m - HIST_SUB_BITS) * HIST_HALF + (sub - HIST_HALF);
}

static uint64_t bucket_low(unsigned b)
{
	if (b < HIST_SUB_COUNT)
		return b;
	unsigned j = b - HIST_SUB_COUNT;
	unsigned m = j / HIST_HALF + HIST_SUB_BITS;
	uint64_t sub = j % HIST_HALF + HIST_HALF;
	return sub << (m - (HIST_SUB_BITS - 1));
}

static uint64_t bucket_high(unsigned b)
{
	if (b < HIST_SUB_COUNT)
		return b;
	unsigned m = (b - HIST_SUB_COUNT) / HIST_HALF + HIST_SUB_BITS;
	return bucket_low(b) + ((uint64_t)1 << (m - (HIST_SUB_BITS - 1))) - 1;
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min_ns = UINT64_MAX;
}

void hist_record(struct hist *h, uint64_t ns)
{
	h->buckets[bucket_of(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
	dst->count += src->count;
	dst->sum_ns += src->sum_ns;
	if (src->min_ns < dst->min_ns)
		dst->min_ns = src->min_ns;
	if (src->max_ns > dst->max_ns)
		dst->max_ns = src->max_ns;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	if (h->count == 0)
		return 0;
	if (q >= 1.0)
		return h->max_ns;
	/* The rank of the value: ceil(q * count), at least 1. */
	uint64_t rank = (uint64_t)ceil(q * (double)h->count);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank) {
			uint64_t v = bucket_high(i);
			if (v > h->max_ns)
				v = h->max_ns;
			if (v < h->min_ns)
				v = h->min_ns;
			return v;
		}
	}
	return h->max_ns;
}

double hist_mean(const struct hist *h)
{
	return h->count ? (double)h->sum_ns / (double)h->count : 0.0;
}

int hist_selftest(void)
{
	/* Every bucket's bounds map back to it, buckets tile the range without gaps,
	 * and widths respect the relative-error bound. */
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		uint64_t lo = bucket_low(b), hi = bucket_high(b);
		if (bucket_of(lo) != b || bucket_of(hi) != b)
			return -1;
		if (b + 1 < HIST_BUCKETS && bucket_low(b + 1) != hi + 1)
			return -1;
		if (lo >= HIST_SUB_COUNT && (double)(hi - lo + 1) / (double)lo > 1.0 / 128 + 1e-12)
			return -1;
	}
	if (bucket_high(HIST_BUCKETS - 1) != UINT64_MAX)
		return -1;
	struct hist h;
	hist_init(&h);
	for (uint64_t v = 1; v <= 100000; v++)
		hist_record(&h, v * 10);
	double p50 = (double)hist_quantile(&h, 0.5), p99 = (double)hist_quantile(&h, 0.99);
	if (fabs(p50 - 500000.0) / 500000.0 > 0.01 || fabs(p99 - 990000.0) / 990000.0 > 0.01)
		return -1;
	if (hist_quantile(&h, 1.0) != 1000000 || hist_quantile(&h, 0.0) != 10)
		return -1;
	return 0;
}
