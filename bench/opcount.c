/*
 * opcount.c -- daxkv-opcount: the fixed workload scripts/opcount.sh runs under
 * callgrind to count instructions per operation.
 *
 *   daxkv-opcount STORE NKEYS
 *
 * Creates STORE (64 MiB, 1 MiB segments, no background GC: nothing runs but
 * the calls measured), then NKEYS puts of uniformly random 16-byte keys with
 * 100-byte values, NKEYS gets of them in another random order, and NKEYS/10
 * scans of 10 keys (a seek and ten steps, reading each key and value).  Each
 * kind of operation goes through one function of its own (op_put, op_get,
 * op_scan), so that callgrind's --toggle-collect can count it alone.  Keys,
 * values and node levels come from fixed seeds: the same build makes the same
 * store and runs the same instructions.  Public API only (include/daxkv.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daxkv.h"

#define KLEN 16
#define VLEN 100
#define SCAN_LEN 10

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Key i: 16 bytes of a random-looking permutation of i (distinct keys). */
static void key_of(uint64_t i, char *k)
{
	uint64_t a = mix64(i + 1), b = mix64(a ^ 0x9e3779b97f4a7c15ull);
	memcpy(k, &a, 8);
	memcpy(k + 8, &b, 8);
}

static __attribute__((noinline)) int op_put(daxkv *db, const char *k, const char *v)
{
	return daxkv_put(db, k, KLEN, v, VLEN);
}

static __attribute__((noinline)) int op_get(daxkv *db, const char *k, char *v)
{
	size_t vl;
	return daxkv_get(db, k, KLEN, v, VLEN, &vl);
}

static __attribute__((noinline)) int op_scan(daxkv_iter *it, const char *k, uint64_t *sum)
{
	int n = 0;
	for (daxkv_iter_seek(it, k, KLEN); daxkv_iter_valid(it) && n < SCAN_LEN;
	     daxkv_iter_next(it), n++) {
		size_t kl, vl;
		const unsigned char *kp = daxkv_iter_key(it, &kl);
		const unsigned char *vp = daxkv_iter_value(it, &vl);
		*sum += (kp ? kp[0] : 0) + (vp ? vp[0] : 0);
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: daxkv-opcount STORE NKEYS\n");
		return 2;
	}
	const char *path = argv[1];
	long n = strtol(argv[2], NULL, 10);
	if (n < 10 || n > 10000000) {
		fprintf(stderr, "daxkv-opcount: NKEYS must be 10..10000000\n");
		return 2;
	}
	unlink(path);
	daxkv_options o;
	daxkv_options_init(&o);
	o.create = 1;
	o.pool_size = 64ull << 20;
	o.segment_size = 1ull << 20;
	o.gc_background = 0;
	daxkv *db = NULL;
	int rc = daxkv_open(path, &o, &db);
	if (rc) {
		fprintf(stderr, "daxkv-opcount: open %s: %s (%s)\n", path, daxkv_strerror(rc),
			daxkv_errmsg());
		return 1;
	}
	char k[KLEN], v[VLEN];
	memset(v, 'v', sizeof(v));
	uint64_t sum = 0;
	for (long i = 0; i < n && !rc; i++) {
		key_of((uint64_t)i, k);
		memcpy(v, &i, sizeof(i));
		rc = op_put(db, k, v);
	}
	for (long i = 0; i < n && !rc; i++) {
		key_of(mix64((uint64_t)i) % (uint64_t)n, k);
		rc = op_get(db, k, v);
	}
	daxkv_iter *it = NULL;
	if (!rc)
		rc = daxkv_iter_new(db, &it);
	for (long i = 0; i < n / 10 && !rc; i++) {
		key_of(mix64((uint64_t)i + 7) % (uint64_t)n, k);
		if (op_scan(it, k, &sum) < 1)
			rc = DAXKV_ENOTFOUND;
	}
	if (it && !rc)
		rc = daxkv_iter_status(it);
	daxkv_iter_free(it);
	if (rc)
		fprintf(stderr, "daxkv-opcount: %s (%s)\n", daxkv_strerror(rc), daxkv_errmsg());
	daxkv_close(db);
	unlink(path);
	printf("daxkv-opcount: %ld puts, %ld gets, %ld scans of %d (checksum %" PRIu64 ")\n", n,
	       n, n / 10, SCAN_LEN, sum);
	return rc ? 1 : 0;
}
