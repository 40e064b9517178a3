/*
 * keys.c -- keys, values, random numbers and key distributions: the same for every
 * engine.
 *
 * Keys: key number i is written as 16 hex digits of 2i (binary big-endian below
 * 16-byte keys) padded to --ks, so keys sort as their numbers do (scan and seqwrite
 * mean something), and 2i+1 gives a never-written key between two live ones
 * (readmissing probes land inside the key space, not past its end).
 *
 * Distributions: uniform; zipf:theta with Gray et al.'s generator (as YCSB's
 * ZipfianGenerator) whose ranks are scrambled through a Feistel permutation of the
 * key space, so the hot keys are spread over it (YCSB's ScrambledZipfian hashes the
 * rank instead; a permutation keeps each key's frequency exact); seq; latest
 * (YCSB's SkewedLatest: zipf ranks counted back from the newest insert).
 */
#include "bench.h"

#include <math.h>
#include <string.h>

/* splitmix64's finaliser: a bijection on 64-bit values. */
uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

void rng_seed(struct rng *r, uint64_t seed)
{
	r->s = mix64(seed ^ 0x5851f42d4c957f2dull);
}

/* splitmix64: one add and the finaliser; passes BigCrush, enough here. */
uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return mix64(r->s);
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rng_next(r) * n) >> 64);
}

/*
 * A pseudo-random permutation of [0, n): a 4-round Feistel network on the
 * smallest even number of bits that covers n, cycle-walking the values >= n.
 */
void perm_init(struct perm *p, uint64_t n, uint64_t salt)
{
	unsigned bits = 2;
	while (bits < 64 && (1ull << bits) < n)
		bits += 2;
	p->n = n;
	p->half_bits = bits / 2;
	p->mask = (1ull << p->half_bits) - 1;
	for (int i = 0; i < 4; i++)
		p->keys[i] = mix64(salt * 4 + (uint64_t)i + 1);
}

uint64_t perm_apply(const struct perm *p, uint64_t x)
{
	if (p->n <= 1)
		return 0;
	do {
		uint64_t l = x >> p->half_bits, r = x & p->mask;
		for (int i = 0; i < 4; i++) {
			uint64_t f = mix64(r ^ p->keys[i]) & p->mask;
			uint64_t nl = r;
			r = l ^ f;
			l = nl;
		}
		x = (l << p->half_bits) | r;
	} while (x >= p->n);
	return x;
}

/* ---- zipf (Gray et al. 1994, section 4; YCSB's ZipfianGenerator) ----------------- */

double zeta(uint64_t n, double theta)
{
	double sum = 0;
	for (uint64_t i = 1; i <= n; i++)
		sum += 1.0 / pow((double)i, theta);
	return sum;
}

int zipf_init(struct zipf *z, uint64_t n, double theta)
{
	if (n < 1 || !(theta > 0.0 && theta < 1.0))
		return -1;
	z->n = n;
	z->theta = theta;
	z->alpha = 1.0 / (1.0 - theta);
	z->zetan = zeta(n, theta);
	double zeta2 = zeta(2, theta);
	z->eta = n > 2 ? (1.0 - pow(2.0 / (double)n, 1.0 - theta)) / (1.0 - zeta2 / z->zetan) : 0;
	z->half_pow = 1.0 + pow(0.5, theta);
	return 0;
}

/* u uniform in [0, 1) -> a rank in [0, n), P(rank = r) ~ 1 / (r+1)^theta. */
uint64_t zipf_rank(const struct zipf *z, double u)
{
	double uz = u * z->zetan;
	if (uz < 1.0 || z->n == 1)
		return 0;
	if (uz < z->half_pow || z->n == 2)
		return 1;
	uint64_t r = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0, z->alpha));
	return r < z->n ? r : z->n - 1;
}

uint64_t keygen_next(struct keygen *g)
{
	switch (g->kind) {
	case KD_UNIFORM:
		return rng_below(&g->rng, g->n);
	case KD_ZIPF:
		return perm_apply(g->scramble, zipf_rank(g->z, rng_unit(&g->rng)));
	case KD_SEQ: {
		uint64_t i = g->cursor++;
		if (g->cursor >= g->n)
			g->cursor = 0;
		return i;
	}
	case KD_LATEST: {
		uint64_t count = g->n + atomic_load_explicit(g->inserted, memory_order_relaxed);
		uint64_t r = zipf_rank(g->z, rng_unit(&g->rng));
		if (r >= count)
			r %= count;
		return count - 1 - r;
	}
	}
	return 0;
}

/* ---- keys and values --------------------------------------------------------------- */

void make_key(char *buf, size_t ks, uint64_t i, int missing)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t v = 2 * i + (missing ? 1 : 0);
	size_t pos = 0;
	if (ks >= 16) {
		for (int s = 60; s >= 0; s -= 4)
			buf[pos++] = hex[(v >> s) & 15];
		memset(buf + pos, 'x', ks - pos);
	} else {
		for (int s = 56; s >= 0; s -= 8)
			buf[pos++] = (char)(v >> s);
		memset(buf + pos, 0, ks - pos);
	}
}

void value_fill(uint8_t *buf, size_t bs, uint64_t seed)
{
	struct rng r;
	rng_seed(&r, seed);
	for (size_t i = 0; i < bs; i += 8) {
		uint64_t x = rng_next(&r);
		memcpy(buf + i, &x, bs - i < 8 ? bs - i : 8);
	}
}

void value_stamp(uint8_t *buf, size_t bs, uint64_t i)
{
	memcpy(buf, &i, bs < 8 ? bs : 8);
}

const char *value_check(const uint8_t *buf, size_t len, size_t bs, uint64_t i)
{
	if (len != bs)
		return "wrong value length";
	if (memcmp(buf, &i, bs < 8 ? bs : 8) != 0)
		return "value holds another key's stamp";
	return NULL;
}
