/*
 * fuzz_record.c -- libFuzzer target for the record decoder (engine/record.c).
 *
 * The engine is given a segment-like buffer (a fake pool of two 64 KiB
 * segments; only the fields record.c reads are set).  Two modes, chosen by the
 * first input byte:
 *  0: raw -- the input lands in segment 0 after its header and is scanned the
 *     way recovery scans a tail: rec_check from record to record up to a
 *     fuzzer-chosen end; every record accepted must lie inside [start, end)
 *     and agree with rec_verify; rec_verify at a fuzzer-chosen offset
 *     (anywhere, also outside the pool) must not read out of bounds.  With
 *     bit 1 of the mode byte set, the harness first seals each record's CRC
 *     in place, so the fuzzer gets past the checksum to lengths, types and
 *     record boundaries.
 *  1: round trip -- a record built from the input with rec_write must pass
 *     rec_check with its computed size and give back its key and value; a
 *     single bit flipped in a byte the CRC covers must make it fail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

#define FR_SEG (64u << 10)
#define FR_NSEGS 2u

static struct daxkv *g_db;
static size_t g_dirty; /* bytes of segment 0's data area written by the last input */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	size_t len = DKV_SEG_BASE + (size_t)FR_NSEGS * FR_SEG;
	g_db = calloc(1, sizeof(*g_db));
	char *base = aligned_alloc(4096, len);
	if (!g_db || !base)
		abort();
	memset(base, 0, len);
	g_db->base = base;
	g_db->pool.base = base;
	g_db->pool.size = len;
	g_db->seg_base = DKV_SEG_BASE;
	g_db->seg_size = FR_SEG;
	g_db->nsegs = FR_NSEGS;
	g_db->segs = calloc(FR_NSEGS, sizeof(*g_db->segs));
	if (!g_db->segs)
		abort();
	return 0;
}

static uint64_t take(const uint8_t **p, size_t *n, unsigned bytes)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

static void touch(const void *p, size_t n)
{
	volatile uint8_t sink = 0;
	const uint8_t *c = p;
	for (size_t i = 0; i < n; i += 64)
		sink ^= c[i];
	if (n)
		sink ^= c[n - 1];
	(void)sink;
}

/* Seals the CRC of each record the bytes frame, as rec_write would, for as
 * long as the framing stays inside [t, end). */
static void seal_all(struct daxkv *db, uint64_t t, uint64_t end, uint64_t gen)
{
	while (t + sizeof(struct rec_hdr) <= end) {
		struct rec_hdr *h = (struct rec_hdr *)(db->base + t);
		uint64_t sz = rec_size(h->klen, h->vlen);
		if (h->klen > DAXKV_KEY_MAX || h->vlen > DAXKV_VALUE_MAX || t + sz > end)
			return;
		uint32_t c = dkv_crc((uint32_t)(gen ^ (gen >> 32)), (const char *)h + 4,
				     sizeof(*h) - 4);
		c = dkv_crc(c, rec_key(h), h->klen);
		h->crc = dkv_crc(c, rec_val(h), h->vlen);
		t += sz;
	}
}

static void raw_mode(const uint8_t *p, size_t n, bool seal)
{
	struct daxkv *db = g_db;
	uint64_t start = dkv_seg_start(db, 0);
	db->segs[0].gen = take(&p, &n, 2);
	uint64_t end = start + take(&p, &n, 2) % (FR_SEG + 1);
	uint64_t probe = take(&p, &n, 4);
	size_t room = FR_SEG - SEG_DATA_OFF;
	size_t len = n < room ? n : room;
	memcpy(db->base + start + SEG_DATA_OFF, p, len);
	g_dirty = len;
	if (seal)
		seal_all(db, start + SEG_DATA_OFF, end, db->segs[0].gen);

	uint64_t t = start + SEG_DATA_OFF, sz;
	unsigned recs = 0;
	while (t < end && rec_check(db, t, db->segs[0].gen, end, &sz) == 0) {
		const struct rec_hdr *h = rec_at(db, t);
		if (sz < sizeof(*h) || (sz & 7) || t + sz > end ||
		    sz != rec_size(h->klen, h->vlen))
			__builtin_trap();
		touch(rec_key(h), h->klen);
		touch(rec_val(h), h->vlen);
		/* rec_verify bounds by the segment, not by end: it must agree. */
		if (rec_verify(db, t) != 0)
			__builtin_trap();
		t += sz;
		recs++;
	}
	(void)recs;
	/* Any offset at all: inside, misaligned, in the header area, past the end. */
	if (rec_verify(db, probe) == 0) {
		const struct rec_hdr *h = rec_at(db, probe);
		touch(rec_key(h), (size_t)h->klen + h->vlen);
	}
	(void)rec_off_ok(db, probe);
}

static void roundtrip_mode(const uint8_t *p, size_t n)
{
	struct daxkv *db = g_db;
	uint64_t gen = take(&p, &n, 2);
	uint8_t type = (take(&p, &n, 1) & 1) ? REC_DEL : REC_PUT;
	uint32_t klen = (uint32_t)take(&p, &n, 2) % 600 + 1;
	uint32_t vlen = (uint32_t)take(&p, &n, 2) % 4000;
	uint64_t seq = take(&p, &n, 8), prev = take(&p, &n, 8);
	uint32_t flip = (uint32_t)take(&p, &n, 4);
	uint64_t at = dkv_seg_start(db, 0) + SEG_DATA_OFF + 8 * (take(&p, &n, 1) % 16);
	static uint8_t key[600], val[4000];
	for (uint32_t i = 0; i < klen; i++)
		key[i] = n ? p[i % n] : (uint8_t)i;
	for (uint32_t i = 0; i < vlen; i++)
		val[i] = n ? p[(i * 7 + 3) % n] : (uint8_t)(i * 13);
	struct rec_in r = { .type = type, .flags = 0, .key = key, .klen = klen, .val = val,
			    .vlen = vlen, .seq = seq, .prev = prev, .aux = 0 };
	db->segs[0].gen = gen;
	rec_write(db, at, gen, &r);
	pm_fence();
	g_dirty = FR_SEG - SEG_DATA_OFF;

	uint64_t end = dkv_seg_start(db, 0) + FR_SEG, sz = 0;
	if (rec_check(db, at, gen, end, &sz) != 0 || sz != rec_size(klen, vlen) ||
	    rec_verify(db, at) != 0)
		__builtin_trap();
	const struct rec_hdr *h = rec_at(db, at);
	if (h->type != type || h->klen != klen || h->vlen != vlen || h->seq != seq ||
	    h->prev != prev || memcmp(rec_key(h), key, klen) || memcmp(rec_val(h), val, vlen))
		__builtin_trap();
	/* One flipped bit in a covered byte of the same length: crc, seq,
	 * expire, prev, aux, key or value (the CRC catches every such error). */
	uint64_t covered = 36 + (uint64_t)klen + vlen;
	uint64_t pos = flip % covered;
	pos = pos < 4 ? pos : pos + 12; /* skip type/flags/rsv/klen/vlen (bytes 4..15) */
	uint8_t *b = (uint8_t *)db->base + at + pos;
	*b ^= (uint8_t)(1u << ((flip >> 24) & 7));
	if (rec_check(db, at, gen, end, &sz) == 0)
		__builtin_trap();
	*b ^= (uint8_t)(1u << ((flip >> 24) & 7));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* Forget the previous input: a stale record must not be read as this one's. */
	memset(g_db->base + dkv_seg_start(g_db, 0) + SEG_DATA_OFF, 0, g_dirty);
	if (data[0] & 1)
		roundtrip_mode(data + 1, size - 1);
	else
		raw_mode(data + 1, size - 1, data[0] & 2);
	return 0;
}
