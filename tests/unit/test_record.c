/*
 * test_record.c -- the on-media record (engine/record.c) through its internal
 * calls on a small open store: rec_size, rec_write at a reserved offset,
 * rec_check (bounds, type, key length, CRC seeded by the segment generation),
 * rec_verify (offset plausibility) and rec_copy (re-sealed for a new gen).
 */
#define _XOPEN_SOURCE 700
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "common/dkvtest.h"
#include "engine/internal.h"
#include "tests/hooks/testhooks.h"

#define POOL16 (16 * DKVT_MIB)
#define SEG1 (1 * DKVT_MIB)

static char g_path[256];

/* A fresh 16 MiB store with 1 MiB segments, no background GC. */
static struct daxkv *fresh(const char *tag)
{
	return dkvt_fresh_store(g_path, sizeof(g_path), tag, POOL16, SEG1);
}

static void done(struct daxkv *db)
{
	dkvt_close_remove(db, g_path);
}

/* Reserves len bytes in the calling thread's lane; 0 on failure. */
static uint64_t reserve(struct daxkv *db, uint64_t len, uint64_t *gen)
{
	uint64_t off = 0;
	unsigned lane = dkv_lane_enter(db);
	int rc = seg_reserve(db, lane, len, SEG_USE_PUT, &off, gen);
	dkv_lane_exit(db, lane);
	CU_ASSERT_EQUAL(rc, 0);
	return rc ? 0 : off;
}

/* Reserves space for r and writes it there (fenced); returns its offset. */
static uint64_t put_rec(struct daxkv *db, const struct rec_in *r, uint64_t *gen)
{
	uint64_t off = reserve(db, rec_size(r->klen, r->vlen), gen);
	if (off) {
		rec_write(db, off, *gen, r);
		pm_fence();
	}
	return off;
}

static uint64_t seg_end_of(const struct daxkv *db, uint64_t off)
{
	return dkv_seg_start(db, dkv_seg_of(db, off)) + db->seg_size;
}

/* ---- rec_size ------------------------------------------------------------- */

static void test_rec_size(void)
{
	CU_ASSERT_EQUAL(sizeof(struct rec_hdr), 48);
	CU_ASSERT_EQUAL(rec_size(0, 0), 48);
	CU_ASSERT_EQUAL(rec_size(1, 0), 56);
	CU_ASSERT_EQUAL(rec_size(8, 0), 56);
	CU_ASSERT_EQUAL(rec_size(9, 0), 64);
	CU_ASSERT_EQUAL(rec_size(1, 1), 56);
	CU_ASSERT_EQUAL(rec_size(4, 4), 56);
	CU_ASSERT_EQUAL(rec_size(4, 5), 64);
	CU_ASSERT_EQUAL(rec_size(16, 100), 168);
	CU_ASSERT_EQUAL(rec_size(DAXKV_KEY_MAX, 0), 48 + DAXKV_KEY_MAX);
	CU_ASSERT_EQUAL(rec_size(DAXKV_KEY_MAX, 200 * 1024), 48 + DAXKV_KEY_MAX + 200 * 1024);
	CU_ASSERT_EQUAL(rec_size(DAXKV_KEY_MAX, DAXKV_VALUE_MAX),
			48ull + DAXKV_KEY_MAX + DAXKV_VALUE_MAX);
	int bad = 0;
	for (size_t k = 0; k < 70; k++) {
		for (size_t v = 0; v < 70; v++) {
			uint64_t s = rec_size(k, v), raw = 48 + k + v;
			if (s % 8 || s < raw || s >= raw + 8)
				bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* ---- write then check ------------------------------------------------------ */

static void test_write_check(void)
{
	struct daxkv *db = fresh("rec-write");
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	uint8_t val[100];
	dkvt_fill(val, sizeof(val), 42);
	struct rec_in r = { .type = REC_PUT, .flags = REC_F_BATCH, .key = "hello-key", .klen = 9,
			    .val = val, .vlen = sizeof(val), .seq = 1234,
			    .prev = 0x123456789abcull, .aux = 77 };
	uint64_t gen = 0;
	uint64_t off = put_rec(db, &r, &gen);
	CU_ASSERT_FATAL(off != 0);
	uint32_t id = dkv_seg_of(db, off);
	CU_ASSERT_EQUAL(off, dkv_seg_start(db, id) + SEG_DATA_OFF); /* first of its segment */
	CU_ASSERT_EQUAL(gen, db->segs[id].gen);
	CU_ASSERT_EQUAL(gen, 1); /* a fresh segment's first use */
	CU_ASSERT_TRUE(rec_off_ok(db, off));

	uint64_t size = 0;
	CU_ASSERT_EQUAL(rec_check(db, off, gen, seg_end_of(db, off), &size), 0);
	CU_ASSERT_EQUAL(size, rec_size(9, sizeof(val)));
	CU_ASSERT_EQUAL(size, 160);
	size = 0;
	CU_ASSERT_EQUAL(rec_check(db, off, gen, off + rec_size(9, sizeof(val)), &size), 0);
	CU_ASSERT_EQUAL(size, 160);
	const struct rec_hdr *h = rec_at(db, off);
	CU_ASSERT_EQUAL(h->type, REC_PUT);
	CU_ASSERT_EQUAL(h->flags, REC_F_BATCH);
	CU_ASSERT_EQUAL(h->rsv, 0);
	CU_ASSERT_EQUAL(h->klen, 9);
	CU_ASSERT_EQUAL(h->vlen, sizeof(val));
	CU_ASSERT_EQUAL(h->seq, 1234);
	CU_ASSERT_EQUAL(h->expire, 0);
	CU_ASSERT_EQUAL(h->prev, 0x123456789abcull);
	CU_ASSERT_EQUAL(h->aux, 77);
	CU_ASSERT_EQUAL(memcmp(rec_key(h), "hello-key", 9), 0);
	CU_ASSERT_EQUAL(memcmp(rec_val(h), val, sizeof(val)), 0);
	/* zero padding up to the 8-byte boundary */
	const uint8_t *p = (const uint8_t *)h;
	for (uint64_t i = 48 + 9 + sizeof(val); i < size; i++)
		CU_ASSERT_EQUAL(p[i], 0);
	CU_ASSERT_EQUAL(rec_verify(db, off), 0);

	/* the next reservation follows it; a delete record (no value) */
	struct rec_in d = { .type = REC_DEL, .key = "k", .klen = 1, .val = NULL, .vlen = 0,
			    .seq = 99, .prev = off };
	uint64_t gen2 = 0;
	uint64_t off2 = put_rec(db, &d, &gen2);
	CU_ASSERT_EQUAL(off2, off + size);
	CU_ASSERT_EQUAL(gen2, gen);
	CU_ASSERT_EQUAL(rec_check(db, off2, gen2, seg_end_of(db, off2), &size), 0);
	CU_ASSERT_EQUAL(size, 56);
	h = rec_at(db, off2);
	CU_ASSERT_EQUAL(h->type, REC_DEL);
	CU_ASSERT_EQUAL(h->flags, 0);
	CU_ASSERT_EQUAL(h->klen, 1);
	CU_ASSERT_EQUAL(h->vlen, 0);
	CU_ASSERT_EQUAL(h->seq, 99);
	CU_ASSERT_EQUAL(h->prev, off);
	CU_ASSERT_EQUAL(h->aux, 0);
	CU_ASSERT_EQUAL(rec_key(h)[0], 'k');
	CU_ASSERT_EQUAL(rec_verify(db, off2), 0);
	done(db);
}

/* ---- corruption ------------------------------------------------------------ */

/* Flips byte i of the record at off: the check must fail, then pass again. */
static void flip_and_check(struct daxkv *db, uint64_t off, uint64_t gen, uint64_t i)
{
	uint8_t *b = dkv_ptr(db, off + i);
	uint64_t size = 0, end = seg_end_of(db, off);
	*b ^= 0x10;
	int rc = rec_check(db, off, gen, end, &size);
	if (rc != DAXKV_ECORRUPT)
		fprintf(stderr, "flip of byte %llu not detected (rc %d)\n", (unsigned long long)i,
			rc);
	CU_ASSERT_EQUAL(rc, DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_verify(db, off), DAXKV_ECORRUPT);
	*b ^= 0x10;
	CU_ASSERT_EQUAL(rec_check(db, off, gen, end, &size), 0);
	CU_ASSERT_EQUAL(rec_verify(db, off), 0);
}

static void test_corrupt(void)
{
	struct daxkv *db = fresh("rec-corrupt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	char key[24];
	uint8_t val[200];
	memcpy(key, "corruption-test-key-0123", sizeof(key));
	dkvt_fill(val, sizeof(val), 7);
	struct rec_in r = { .type = REC_PUT, .key = key, .klen = sizeof(key), .val = val,
			    .vlen = sizeof(val), .seq = 5, .prev = 0, .aux = 0 };
	uint64_t gen = 0;
	uint64_t off = put_rec(db, &r, &gen);
	CU_ASSERT_FATAL(off != 0);
	uint64_t size = 0, end = seg_end_of(db, off);
	CU_ASSERT_EQUAL_FATAL(rec_check(db, off, gen, end, &size), 0);

	/* the CRC itself, each header field covered by it, key, value */
	const uint64_t at[] = {
		0, 3,                               /* crc */
		5,                                  /* flags */
		6,                                  /* rsv */
		16, 23,                             /* seq */
		24,                                 /* expire */
		32, 40,                             /* prev, aux */
		48, 48 + sizeof(key) - 1,           /* key: first and last byte */
		48 + sizeof(key),                   /* value: first byte */
		48 + sizeof(key) + 100,             /* value: middle */
		48 + sizeof(key) + sizeof(val) - 1, /* value: last byte */
	};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		flip_and_check(db, off, gen, at[i]);
	/* klen/vlen changed by a small amount: still inside the segment, so only
	 * the CRC can tell */
	struct rec_hdr *h = dkv_ptr(db, off);
	h->vlen -= 1;
	CU_ASSERT_EQUAL(rec_check(db, off, gen, end, &size), DAXKV_ECORRUPT);
	h->vlen += 1;
	h->klen += 8;
	CU_ASSERT_EQUAL(rec_check(db, off, gen, end, &size), DAXKV_ECORRUPT);
	h->klen -= 8;
	CU_ASSERT_EQUAL(rec_check(db, off, gen, end, &size), 0);

	/* the wrong generation: a record of an earlier use of the segment */
	CU_ASSERT_EQUAL(rec_check(db, off, gen + 1, end, &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_check(db, off, gen - 1, end, &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_check(db, off, gen + 2, end, &size), DAXKV_ECORRUPT);
	db->segs[dkv_seg_of(db, off)].gen = gen + 1; /* rec_verify uses the DRAM gen */
	CU_ASSERT_EQUAL(rec_verify(db, off), DAXKV_ECORRUPT);
	db->segs[dkv_seg_of(db, off)].gen = gen;
	CU_ASSERT_EQUAL(rec_verify(db, off), 0);

	/* a truncated end */
	uint64_t sz = rec_size(sizeof(key), sizeof(val));
	size = 12345;
	CU_ASSERT_EQUAL(rec_check(db, off, gen, off + sz - 1, &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_check(db, off, gen, off + sz - 8, &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_check(db, off, gen, off + 48 + sizeof(key), &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_check(db, off, gen, off + 47, &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_check(db, off, gen, off, &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(size, 12345); /* untouched on failure */
	CU_ASSERT_EQUAL(rec_check(db, off, gen, off + sz, &size), 0);
	CU_ASSERT_EQUAL(size, sz);
	done(db);
}

/* Records with a valid CRC but fields the format rejects. */
static void test_bad_fields(void)
{
	struct daxkv *db = fresh("rec-fields");
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	uint64_t gen = 0, size = 0, off;
	const uint8_t types[] = { 0, 3, 4, 0x81, 0xff };
	for (size_t i = 0; i < sizeof(types); i++) {
		struct rec_in r = { .type = types[i], .key = "key", .klen = 3, .val = "v",
				    .vlen = 1, .seq = 1 };
		off = put_rec(db, &r, &gen);
		CU_ASSERT_FATAL(off != 0);
		CU_ASSERT_EQUAL(rec_check(db, off, gen, seg_end_of(db, off), &size),
				DAXKV_ECORRUPT);
		CU_ASSERT_EQUAL(rec_verify(db, off), DAXKV_ECORRUPT);
		/* the same record with a good type passes: the type alone failed it */
		struct rec_hdr *h = dkv_ptr(db, off);
		struct rec_in g = r;
		g.type = REC_PUT;
		rec_write(db, off, gen, &g);
		CU_ASSERT_EQUAL(h->type, REC_PUT);
		CU_ASSERT_EQUAL(rec_check(db, off, gen, seg_end_of(db, off), &size), 0);
		/* a valid record whose type byte is changed afterwards */
		h->type = types[i];
		CU_ASSERT_EQUAL(rec_check(db, off, gen, seg_end_of(db, off), &size),
				DAXKV_ECORRUPT);
	}
	/* klen 0 */
	struct rec_in z = { .type = REC_PUT, .key = "", .klen = 0, .val = "value", .vlen = 5,
			    .seq = 2 };
	off = put_rec(db, &z, &gen);
	CU_ASSERT_FATAL(off != 0);
	CU_ASSERT_EQUAL(rec_check(db, off, gen, seg_end_of(db, off), &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_verify(db, off), DAXKV_ECORRUPT);
	/* klen DAXKV_KEY_MAX + 1 (CRC valid) */
	uint8_t *big = malloc(DAXKV_KEY_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	dkvt_fill(big, DAXKV_KEY_MAX + 1, 3);
	struct rec_in k = { .type = REC_PUT, .key = big, .klen = DAXKV_KEY_MAX + 1, .val = "",
			    .vlen = 0, .seq = 3 };
	off = put_rec(db, &k, &gen);
	CU_ASSERT_FATAL(off != 0);
	CU_ASSERT_EQUAL(rec_check(db, off, gen, seg_end_of(db, off), &size), DAXKV_ECORRUPT);
	/* klen DAXKV_KEY_MAX exactly is fine */
	k.klen = DAXKV_KEY_MAX;
	off = put_rec(db, &k, &gen);
	CU_ASSERT_FATAL(off != 0);
	CU_ASSERT_EQUAL(rec_check(db, off, gen, seg_end_of(db, off), &size), 0);
	CU_ASSERT_EQUAL(size, rec_size(DAXKV_KEY_MAX, 0));
	free(big);
	done(db);
}

/* ---- rec_verify on implausible offsets ------------------------------------- */

static void test_verify_offsets(void)
{
	struct daxkv *db = fresh("rec-verify");
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	struct rec_in r = { .type = REC_PUT, .key = "abc", .klen = 3, .val = "12345678",
			    .vlen = 8, .seq = 1 };
	uint64_t gen = 0;
	uint64_t off = put_rec(db, &r, &gen);
	CU_ASSERT_FATAL(off != 0);
	CU_ASSERT_EQUAL(rec_verify(db, off), 0);
	uint32_t id = dkv_seg_of(db, off);
	uint64_t start = dkv_seg_start(db, id);
	uint64_t pool_end = db->seg_base + (uint64_t)db->nsegs * db->seg_size;

	/* outside the log */
	CU_ASSERT_FALSE(rec_off_ok(db, 0));
	CU_ASSERT_EQUAL(rec_verify(db, 0), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_verify(db, DKV_HEAD_OFF), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_verify(db, DKV_SEG_BASE - 8), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_verify(db, pool_end + SEG_DATA_OFF), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_verify(db, db->pool.size + 4096), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_verify(db, 1ull << 60), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_verify(db, UINT64_MAX & ~7ull), DAXKV_ECORRUPT);
	/* misaligned */
	for (unsigned d = 1; d < 8; d++) {
		CU_ASSERT_FALSE(rec_off_ok(db, off + d));
		CU_ASSERT_EQUAL(rec_verify(db, off + d), DAXKV_ECORRUPT);
	}
	/* inside the segment header area (before SEG_DATA_OFF) */
	const uint64_t in_hdr[] = { 0, 8, 64, SEG_DATA_OFF - 8 };
	for (size_t i = 0; i < sizeof(in_hdr) / sizeof(in_hdr[0]); i++) {
		CU_ASSERT_FALSE(rec_off_ok(db, start + in_hdr[i]));
		CU_ASSERT_EQUAL(rec_verify(db, start + in_hdr[i]), DAXKV_ECORRUPT);
	}
	/* a header that would end past the segment */
	CU_ASSERT_FALSE(rec_off_ok(db, start + db->seg_size - 40));
	CU_ASSERT_EQUAL(rec_verify(db, start + db->seg_size - 40), DAXKV_ECORRUPT);
	CU_ASSERT_TRUE(rec_off_ok(db, start + db->seg_size - 48));
	/* plausible place, no record there (zeroes) */
	CU_ASSERT_TRUE(rec_off_ok(db, start + SEG_DATA_OFF + 4096));
	CU_ASSERT_EQUAL(rec_verify(db, start + SEG_DATA_OFF + 4096), DAXKV_ECORRUPT);
	/* the first and last segments' data starts are plausible */
	CU_ASSERT_TRUE(rec_off_ok(db, db->seg_base + SEG_DATA_OFF));
	CU_ASSERT_TRUE(rec_off_ok(db, dkv_seg_start(db, db->nsegs - 1) + SEG_DATA_OFF));
	CU_ASSERT_EQUAL(rec_verify(db, off), 0);
	done(db);
}

/* ---- rec_copy ---------------------------------------------------------------- */

static void test_copy(void)
{
	struct daxkv *db = fresh("rec-copy");
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	uint8_t val[3000];
	dkvt_fill(val, sizeof(val), 11);
	struct rec_in r = { .type = REC_PUT, .flags = REC_F_BATCH | REC_F_BATCH_LAST,
			    .key = "copy-me-please-a-long-key", .klen = 25, .val = val,
			    .vlen = sizeof(val), .seq = 777, .prev = 0xabcdef00ull, .aux = 4242 };
	uint64_t gen = 0, dgen = 0, size = 0;
	uint64_t src = put_rec(db, &r, &gen);
	CU_ASSERT_FATAL(src != 0);
	uint64_t sz = rec_size(r.klen, r.vlen);
	uint64_t dst = reserve(db, sz, &dgen);
	CU_ASSERT_FATAL(dst != 0);
	CU_ASSERT_EQUAL(dst, src + sz);
	uint64_t ngen = gen + 3;
	rec_copy(db, dst, ngen, src);
	pm_fence();
	uint64_t end = seg_end_of(db, dst);
	CU_ASSERT_EQUAL(rec_check(db, dst, ngen, end, &size), 0);
	CU_ASSERT_EQUAL(size, sz);
	CU_ASSERT_EQUAL(rec_check(db, dst, gen, end, &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_check(db, dst, gen + 1, end, &size), DAXKV_ECORRUPT);
	/* rec_verify reads the segment's DRAM gen, which is not ngen */
	CU_ASSERT_EQUAL(rec_verify(db, dst), DAXKV_ECORRUPT);
	/* the source is untouched and still valid under its own gen only */
	CU_ASSERT_EQUAL(rec_check(db, src, gen, end, &size), 0);
	CU_ASSERT_EQUAL(rec_check(db, src, ngen, end, &size), DAXKV_ECORRUPT);
	const struct rec_hdr *s = rec_at(db, src), *d = rec_at(db, dst);
	CU_ASSERT_EQUAL(d->type, REC_PUT);
	CU_ASSERT_EQUAL(d->klen, 25);
	CU_ASSERT_EQUAL(d->vlen, sizeof(val));
	CU_ASSERT_EQUAL(d->seq, 777);
	CU_ASSERT_EQUAL(d->prev, 0xabcdef00ull);
	CU_ASSERT_EQUAL(d->flags, 0); /* batch flags and aux do not travel */
	CU_ASSERT_EQUAL(d->aux, 0);
	CU_ASSERT_EQUAL(s->flags, REC_F_BATCH | REC_F_BATCH_LAST);
	CU_ASSERT_EQUAL(s->aux, 4242);
	CU_ASSERT_EQUAL(memcmp(rec_key(d), r.key, 25), 0);
	CU_ASSERT_EQUAL(memcmp(rec_val(d), val, sizeof(val)), 0);

	/* a copy into a real second segment with its own (different) gen */
	unsigned lane = dkv_lane_enter(db);
	int id = seg_take(db, SEG_ACTIVE, DKV_GC_LANE, SEG_USE_GC);
	dkv_lane_exit(db, lane);
	CU_ASSERT_FATAL(id >= 0);
	db->segs[id].gen += 10; /* DRAM gen only: the copy must follow it */
	uint64_t dst2 = dkv_seg_start(db, (uint32_t)id) + SEG_DATA_OFF;
	rec_copy(db, dst2, db->segs[id].gen, src);
	pm_fence();
	CU_ASSERT_EQUAL(rec_verify(db, dst2), 0);
	CU_ASSERT_EQUAL(rec_check(db, dst2, gen, seg_end_of(db, dst2), &size), DAXKV_ECORRUPT);
	db->segs[id].gen -= 10;
	CU_ASSERT_EQUAL(rec_verify(db, dst2), DAXKV_ECORRUPT);
	seg_seal(db, (uint32_t)id);
	done(db);
}

/* ---- a large record ---------------------------------------------------------- */

static void test_large(void)
{
	struct daxkv *db = fresh("rec-large");
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	const uint32_t klen = 64 * 1024, vlen = 200 * 1024;
	uint8_t *key = malloc(klen), *val = malloc(vlen), *buf = malloc(SEG1);
	CU_ASSERT_FATAL(key && val && buf);
	dkvt_fill(key, klen, 100);
	dkvt_fill(val, vlen, 200);
	struct rec_in r = { .type = REC_PUT, .key = key, .klen = klen, .val = val, .vlen = vlen,
			    .seq = 31337, .prev = 0, .aux = 0 };
	uint64_t gen = 0, size = 0;
	uint64_t sz = rec_size(klen, vlen);
	CU_ASSERT_EQUAL(sz, 48 + klen + vlen);
	CU_ASSERT_TRUE(sz <= seg_max_record(db));
	uint64_t off = put_rec(db, &r, &gen);
	CU_ASSERT_FATAL(off != 0);
	CU_ASSERT_EQUAL(rec_check(db, off, gen, seg_end_of(db, off), &size), 0);
	CU_ASSERT_EQUAL(size, sz);
	CU_ASSERT_EQUAL(rec_check(db, off, gen, off + sz - 1, &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_check(db, off, gen + 1, seg_end_of(db, off), &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(rec_verify(db, off), 0);
	const struct rec_hdr *h = rec_at(db, off);
	CU_ASSERT_EQUAL(h->klen, klen);
	CU_ASSERT_EQUAL(h->vlen, vlen);
	CU_ASSERT_EQUAL(h->seq, 31337);
	CU_ASSERT_EQUAL(memcmp(rec_key(h), key, klen), 0);
	CU_ASSERT_EQUAL(memcmp(rec_val(h), val, vlen), 0);
	flip_and_check(db, off, gen, 48 + klen / 2);
	flip_and_check(db, off, gen, 48 + klen + vlen - 1);

	/* copied (GC path) into the same segment under another gen */
	uint64_t g2 = 0;
	uint64_t dst = reserve(db, sz, &g2);
	CU_ASSERT_FATAL(dst != 0);
	rec_copy(db, dst, gen + 1, off);
	pm_fence();
	CU_ASSERT_EQUAL(rec_check(db, dst, gen + 1, seg_end_of(db, dst), &size), 0);
	CU_ASSERT_EQUAL(size, sz);
	CU_ASSERT_EQUAL(rec_check(db, dst, gen, seg_end_of(db, dst), &size), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(memcmp(rec_val(rec_at(db, dst)), val, vlen), 0);

	/* and through the API: the record the index points at is the same bytes */
	CU_ASSERT_EQUAL(daxkv_put(db, key, klen, val, vlen), DAXKV_OK);
	size_t got = 0;
	memset(buf, 0, vlen);
	CU_ASSERT_EQUAL(daxkv_get(db, key, klen, buf, vlen, &got), DAXKV_OK);
	CU_ASSERT_EQUAL(got, vlen);
	CU_ASSERT_EQUAL(memcmp(buf, val, vlen), 0);
	uint64_t loc = dkv_test_record_offset(db, key, klen);
	CU_ASSERT_FATAL(loc != 0);
	CU_ASSERT_EQUAL(rec_verify(db, loc), 0);
	CU_ASSERT_EQUAL(rec_check(db, loc, db->segs[dkv_seg_of(db, loc)].gen,
				  seg_end_of(db, loc), &size), 0);
	CU_ASSERT_EQUAL(size, sz);
	CU_ASSERT_EQUAL(rec_at(db, loc)->type, REC_PUT);
	/* a record that cannot fit a segment is refused */
	CU_ASSERT_EQUAL(daxkv_put(db, key, klen, buf, seg_max_record(db) - 48 - klen + 1),
			DAXKV_ETOOBIG);
	free(key);
	free(val);
	free(buf);
	done(db);
}

static const struct dkvt_test tests[] = {
	{ "rec_size", test_rec_size },
	{ "write_check", test_write_check },
	{ "corrupt", test_corrupt },
	{ "bad_fields", test_bad_fields },
	{ "verify_offsets", test_verify_offsets },
	{ "copy", test_copy },
	{ "large", test_large },
	{ NULL, NULL },
};
static const struct dkvt_suite suites[] = {
	{ "record", tests },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
