/*
 * workload.c -- keys, values and orders: the same for every engine.
 *
 * Keys: key number i (0..keys-1) maps through a 64-bit bijective mixer to a
 * random-looking 64-bit value, printed as 16 hex digits (binary below 16-byte
 * keys) and padded to --key-size; so a fill is unique random inserts, and key
 * numbers keys..2*keys-1 are keys that were never written (readmissing).
 *
 * Values: --value-size bytes cut from a random pool at an offset chosen by key
 * and version, with (key number, version, magic) stamped into the first 16
 * bytes.  A read checks the length, the stamp and two spots of the content.
 */
#include "kvbench.h"

#include <stdlib.h>
#include <string.h>

#define VALUE_POOL_SLACK 256
#define STAMP_MAGIC 0x6b76626eu /* "kvbn" */

static const struct kv_config *wcfg;
static uint8_t *value_pool; /* value_size + VALUE_POOL_SLACK random bytes */

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

static uint64_t key_hash(uint64_t idx)
{
	return mix64(idx + wcfg->seed * 0x9e3779b97f4a7c15ull);
}

void make_key(char *buf, uint64_t idx)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = key_hash(idx);
	size_t pos = 0;
	if (wcfg->key_size >= 16) {
		for (int i = 15; i >= 0; i--)
			buf[pos++] = hex[(h >> (4 * i)) & 15];
	} else {
		for (int i = 7; i >= 0; i--)
			buf[pos++] = (char)(h >> (8 * i));
	}
	/* Padding: deterministic per key, never consulted for uniqueness. */
	uint64_t pad = mix64(h);
	for (size_t i = 0; pos < wcfg->key_size; pos++, i++)
		buf[pos] = hex[(pad >> (4 * (i % 16))) & 15];
}

struct stamp {
	uint64_t idx;
	uint32_t version;
	uint32_t magic;
};

static size_t value_offset(uint64_t idx, uint32_t version)
{
	return (size_t)(mix64(key_hash(idx) ^ ((uint64_t)version << 32 | version)) %
			VALUE_POOL_SLACK);
}

void make_value(uint8_t *buf, uint64_t idx, uint32_t version)
{
	struct stamp s = {.idx = idx, .version = version, .magic = STAMP_MAGIC};
	memcpy(buf, value_pool + value_offset(idx, version), wcfg->value_size);
	memcpy(buf, &s, wcfg->value_size < sizeof(s) ? wcfg->value_size : sizeof(s));
}

/* NULL when buf/len is the value of (idx, version); else what is wrong. */
const char *check_value(const uint8_t *buf, size_t len, uint64_t idx, uint32_t version)
{
	if (len != wcfg->value_size)
		return "wrong length";
	struct stamp s = {.idx = idx, .version = version, .magic = STAMP_MAGIC};
	size_t n = len < sizeof(s) ? len : sizeof(s);
	if (memcmp(buf, &s, n) != 0)
		return "wrong stamp (another key or version)";
	if (len <= sizeof(s))
		return NULL;
	const uint8_t *want = value_pool + value_offset(idx, version);
	size_t body = len - sizeof(s);
	size_t tail = body < 8 ? body : 8;
	if (memcmp(buf + len - tail, want + len - tail, tail) != 0)
		return "wrong content (tail)";
	size_t mid = sizeof(s) + (size_t)(key_hash(idx) % body);
	size_t m = len - mid < 8 ? len - mid : 8;
	if (memcmp(buf + mid, want + mid, m) != 0)
		return "wrong content (middle)";
	return NULL;
}

/*
 * A pseudo-random permutation of [0, n): a 4-round Feistel network on the
 * smallest even number of bits that covers n, cycle-walking the values >= n
 * (at most ~4 rounds of the network per value on average).  An affine map
 * a*j+b would read a log-structured store in (strided) write order whenever two
 * phases share a, which hands it the hardware prefetcher.
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

const char *phase_name(enum phase_kind k)
{
	switch (k) {
	case PH_FILL:
		return "fill";
	case PH_READ:
		return "read";
	case PH_OVERWRITE:
		return "overwrite";
	case PH_READMISSING:
		return "readmissing";
	case PH_DELETE:
		return "delete";
	case PH__COUNT:
		break;
	}
	return "?";
}

int workload_init(const struct kv_config *cfg)
{
	wcfg = cfg;
	size_t len = cfg->value_size + VALUE_POOL_SLACK;
	value_pool = malloc(len);
	if (!value_pool)
		return -1;
	for (size_t i = 0; i < len; i += 8) {
		uint64_t x = mix64(cfg->seed * 0x2545f4914f6cdd1dull + i);
		memcpy(value_pool + i, &x, len - i < 8 ? len - i : 8);
	}
	return 0;
}
