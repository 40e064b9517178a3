/*
 * fuzz_header.c -- libFuzzer target for the open path's validation: the pool
 * header (pmem/pool.c pool_hdr_check), the superblock state, the skiplist
 * head, the lane slots, the segment headers (segment.c seg_table_load) and the
 * node bitmaps (nodealloc.c na_init), then recovery and reads.
 *
 * Input: byte 0 = flags, then bytes XORed, in order, onto those metadata
 * regions of a valid small pool (so an all-zero input is the valid pool):
 *   flags bit 0: re-seal the pool header's CRC after the XOR, so geometry
 *                fields reach the checks behind the checksum;
 *         bit 1: the template is the unclean image (recovery runs);
 *         bit 2: open read-only;
 *         bit 3: resize the file to the 4-byte size after the flags (mod 2x).
 * Any result code is fine; a crash, a hang or a sanitizer report is not.
 */
#include <stddef.h>
#include <stdint.h>

#include "engine/format.h"
#include "fuzz_common.h"
#include "pmem/util.h"

static uint8_t *g_tmpl[2];
static size_t g_len[2];
static uint8_t *g_img;
static char g_path[512];

struct region {
	uint64_t off, len;
};
static struct region g_regions[8 + 2 * FZ_NSEGS];
static unsigned g_nregions;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int u = 0; u < 2; u++) {
		g_tmpl[u] = fz_template(u, &g_len[u]);
		if (!g_tmpl[u] || g_len[u] != FZ_POOL)
			abort();
	}
	g_img = malloc(2 * FZ_POOL);
	if (!g_img)
		abort();
	fz_path(g_path, sizeof(g_path), "hdr");
	unsigned r = 0;
	g_regions[r++] = (struct region){ 0, sizeof(struct pool_hdr) };
	g_regions[r++] = (struct region){ DKV_SB_STATE_OFF, sizeof(struct sb_state) };
	g_regions[r++] = (struct region){ DKV_HEAD_OFF, 48 + 8 * DKV_MAX_LEVEL };
	g_regions[r++] = (struct region){ DKV_LANES_OFF, 8 * sizeof(struct lane_slot) };
	for (unsigned s = 0; s < FZ_NSEGS; s++) {
		uint64_t start = DKV_SEG_BASE + (uint64_t)s * FZ_SEG;
		g_regions[r++] = (struct region){ start, sizeof(struct seg_hdr) };
		/* a log segment's first record, or a node segment's bitmap */
		g_regions[r++] = (struct region){ start + 256, 128 };
	}
	g_nregions = r;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	int u = (flags >> 1) & 1;
	size_t len = g_len[u];
	data++, size--;
	if (flags & 8) {
		uint64_t want = 0;
		for (unsigned i = 0; i < 4 && size; i++, data++, size--)
			want |= (uint64_t)*data << (8 * i);
		len = want % (2 * FZ_POOL);
	}
	memset(g_img, 0, 2 * FZ_POOL);
	memcpy(g_img, g_tmpl[u], g_len[u]);
	for (unsigned r = 0; r < g_nregions && size; r++)
		for (uint64_t i = 0; i < g_regions[r].len && size; i++, data++, size--)
			g_img[g_regions[r].off + i] ^= *data;
	if (flags & 1) {
		struct pool_hdr *h = (struct pool_hdr *)g_img;
		h->crc = dkv_crc(0, h, offsetof(struct pool_hdr, crc));
	}
	if (fz_write_file(g_path, g_img, len) != 0)
		abort();
	fz_exercise(g_path, (flags >> 2) & 1);
	unlink(g_path);
	return 0;
}
