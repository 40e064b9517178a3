/*
 * fuzz_recovery.c -- libFuzzer target for open + recovery + reads on damaged
 * pool images.
 *
 * Two valid images of a small pool (8 segments of 64 KiB; puts, overwrites,
 * deletes, an atomic batch, a GC pass) are built once: one after a clean
 * close, one copied while the store was open (unclean: recovery runs).  An
 * input is a list of mutations applied to a copy, which is then opened (read-
 * write, or read-only), read whole -- a forward and a backward walk, a get of
 * every key seen and of every key the workload wrote, seeks, stats -- and
 * closed.  Recovery must answer an error code or give a store whose reads
 * keep the API's promises; never crash, hang or trip a sanitizer.
 *
 * Input: byte 0 = flags (bit 0: unclean image, bit 1: read-only), then
 * mutations of 5 bytes { op, anchor, delta lo, delta hi, val }.  The target
 * is anchor + delta, where the anchors are the places worth hitting: the pool
 * header, superblock state, skiplist head, lane slots, every segment header
 * and first record, and a spread of live nodes and their records (found by
 * walking the valid image).  op & 7:
 *   0 flip bit (val & 7)       1 zero the aligned 8 bytes
 *   2 set the byte to val      3 set the aligned 8 bytes to anchor[val]
 *                                (a forged but plausible pointer: cycles,
 *                                 nodes that point at records, ...)
 *   4 set the aligned 8 bytes to a boundary value (0, 1, ~0, 2^63, sizes)
 *   5 copy 64 bytes from anchor[val] (a cloned node or header)
 *   6 truncate the file at the target   7 re-seal the pool header CRC
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/format.h"
#include "fuzz_common.h"
#include "pmem/util.h"

#define FR_MAX_ANCHORS 256u
#define FR_MAX_MUTATIONS 64u

struct image {
	uint8_t *bytes;
	size_t len;
	uint64_t anchor[FR_MAX_ANCHORS];
	unsigned nanchors;
};

static struct image g_tmpl[2];
static uint8_t *g_img;
static char g_path[512];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rd64(const uint8_t *img, uint64_t off)
{
	uint64_t v;
	memcpy(&v, img + off, 8);
	return v;
}

static void add_anchor(struct image *im, uint64_t off)
{
	if (im->nanchors < FR_MAX_ANCHORS && off + 8 <= im->len)
		im->anchor[im->nanchors++] = off;
}

/* Anchors of a valid image: fixed metadata, then every 2nd node of level 0
 * and its record (the image is trusted: it is the one the workload made). */
static void find_anchors(struct image *im)
{
	add_anchor(im, 0);
	add_anchor(im, DKV_SB_STATE_OFF);
	add_anchor(im, DKV_HEAD_OFF);
	add_anchor(im, DKV_LANES_OFF);
	for (unsigned s = 0; s < FZ_NSEGS; s++) {
		add_anchor(im, DKV_SEG_BASE + (uint64_t)s * FZ_SEG);
		add_anchor(im, DKV_SEG_BASE + (uint64_t)s * FZ_SEG + SEG_DATA_OFF);
	}
	uint64_t n = rd64(im->bytes, DKV_HEAD_OFF + offsetof(struct sl_node, next));
	for (unsigned i = 0; n && n + 64 <= im->len && i < 4 * FZ_KEYS; i++) {
		if (i % 2 == 0) {
			add_anchor(im, n);
			add_anchor(im, rd64(im->bytes, n) & ~LOC_TOMB);
		}
		n = rd64(im->bytes, n + offsetof(struct sl_node, next));
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int u = 0; u < 2; u++) {
		g_tmpl[u].bytes = fz_template(u, &g_tmpl[u].len);
		if (!g_tmpl[u].bytes || g_tmpl[u].len != FZ_POOL)
			abort();
		find_anchors(&g_tmpl[u]);
	}
	g_img = malloc(FZ_POOL);
	if (!g_img)
		abort();
	fz_path(g_path, sizeof(g_path), "rec");
	return 0;
}

static uint64_t boundary(uint8_t v)
{
	static const uint64_t vals[] = { 0, 1, 7, 64, ~0ull, 1ull << 63, FZ_POOL, FZ_POOL - 8,
					 FZ_SEG, DKV_SEG_BASE, 0xffffffffull, 255, 33, 48 };
	return vals[v % (sizeof(vals) / sizeof(vals[0]))];
}

/* Applies the mutations; returns the file length to write. */
static size_t mutate(const struct image *im, const uint8_t *p, size_t n, bool *reseal)
{
	size_t len = im->len;
	for (unsigned m = 0; m < FR_MAX_MUTATIONS && n >= 5; m++, p += 5, n -= 5) {
		uint8_t op = p[0] & 7, val = p[4];
		uint64_t t = im->anchor[p[1] % im->nanchors] + (uint64_t)(p[2] | p[3] << 8);
		if (t + 64 > im->len)
			t = im->len - 64;
		uint64_t a = t & ~7ull, v;
		switch (op) {
		case 0: g_img[t] ^= (uint8_t)(1u << (val & 7)); break;
		case 1: memset(g_img + a, 0, 8); break;
		case 2: g_img[t] = val; break;
		case 3:
			v = im->anchor[val % im->nanchors];
			memcpy(g_img + a, &v, 8);
			break;
		case 4:
			v = boundary(val);
			memcpy(g_img + a, &v, 8);
			break;
		case 5:
			v = im->anchor[val % im->nanchors];
			memmove(g_img + t, g_img + (v + 64 > im->len ? im->len - 64 : v), 64);
			break;
		case 6: len = t < len ? t : len; break;
		default: *reseal = true; break;
		}
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct image *im = &g_tmpl[data[0] & 1];
	int read_only = (data[0] >> 1) & 1;
	bool reseal = false;
	memcpy(g_img, im->bytes, im->len);
	size_t len = mutate(im, data + 1, size - 1, &reseal);
	if (reseal) {
		struct pool_hdr *h = (struct pool_hdr *)g_img;
		h->crc = dkv_crc(0, h, offsetof(struct pool_hdr, crc));
	}
	if (fz_write_file(g_path, g_img, len) != 0)
		abort();
	fz_exercise(g_path, read_only);
	unlink(g_path);
	return 0;
}
