/*
 * fuzz_index.c -- libFuzzer target for structured damage of the index and
 * the segment headers, and a whole session on the damaged pool.
 *
 * fuzz_recovery flips bytes near interesting places; this target damages the
 * structure the way media and bugs do (docs/RELIABILITY.md): one skiplist
 * link cleared or pointed at a later node, an earlier one, the node itself or
 * an arbitrary aligned offset; a 64-byte line of a node or log segment back
 * to what it held earlier (a lost write-back: the pool image is also kept as
 * copied in the middle of the workload); a segment header's state word, tail,
 * live-byte count or magic.
 *
 * The template (built once per process, the same in every process): a pool of
 * 8 x 64 KiB segments, FI_KEYS keys of self-describing values (dkvtest.h),
 * overwrites, deletes, a batch, a GC pass; a copy of the file taken halfway
 * (the "older" image), the final image after a clean close or copied while
 * open (unclean: recovery runs).
 *
 * Then a session, each call of which must come back -- libFuzzer's -timeout
 * (run_fuzz.sh) makes a hang a failure -- with OK or a code the API
 * documents for it, and never with wrong bytes: a value read OK must be a
 * whole value of the key asked (its header names the key) and of a version
 * written for it (a reverted node may give back an older one: that is
 * staleness the engine cannot see, not a wrong answer).  The session: a
 * read-only open (gets of every key, a forward walk), a read-write open
 * (gets, a few puts and deletes, a walk, daxkv_gc, stats, close), a reopen
 * (read-write, else read-only) with gets and a walk.
 *
 * Input: byte 0 = flags (bit 0: unclean final image; bit 1: skip the
 * read-only open), then up to FI_MAX_OPS damages of 6 bytes
 * { kind, a, b, c, d, e }:
 *   kind % 6 = 0  link: node N = (a | b << 8) % (nodes + 1) (the last is the
 *                 head), level c % its levels, set to (d % 6): 0 zero,
 *                 1 a later node (e % 16 + 1 on), 2 an earlier node (the
 *                 head before the first), 3 itself, 4 an 8-aligned offset
 *                 in the segment area, 5 a slot of a node segment
 *              1  revert line (a | b << 8 | c << 16) of a node segment
 *                 (d picks which) to the older image
 *              2  the same for a log segment
 *              3  segment header a % nsegs, field b % 5: 0 state word
 *                 (state c % 5, owner d % 66 when e & 1), 1 tail,
 *                 2 live bytes, 3 magic (bit e % 64 flipped), 4 age_seq;
 *                 values from boundary(c, d, e)
 *              4  a node field: loc (another node's, or boundary), level,
 *                 klen, prev
 *              5  revert any line of the segment area (headers, bitmaps)
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/format.h"
#include "fuzz_common.h"
#include "tests/common/dkvtest.h"

#define FI_KEYS 320u
#define FI_MAX_OPS 8u
#define FI_MAX_NODES 1024u
#define FI_VMAX 512u

struct image {
	uint8_t *bytes;
	size_t len;
	uint64_t node[FI_MAX_NODES]; /* level-0 order, head not included */
	uint8_t level[FI_MAX_NODES];
	unsigned nnodes;
};

static struct image g_tmpl[2];
static uint8_t *g_older; /* the pool copied halfway through the workload */
static uint8_t *g_img;
static char g_path[512];
static uint32_t g_nodesegs[FZ_NSEGS], g_logsegs[FZ_NSEGS];
static unsigned g_nnodesegs, g_nlogsegs;
static uint64_t g_maxver[FI_KEYS + 16]; /* newest version written per key */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the template ---- */

static size_t fi_value(uint32_t id, uint64_t ver, uint8_t *buf)
{
	size_t len = DKVT_VHDR + (size_t)(dkvt_mix64(id * 131u + ver) % 160);
	dkvt_vmake(buf, len, id, 0, ver);
	return len;
}

static void fi_put(daxkv *db, uint32_t id, uint64_t ver)
{
	char k[64];
	uint8_t v[FI_VMAX];
	size_t vl = fi_value(id, ver, v);
	if (ver > g_maxver[id])
		g_maxver[id] = ver;
	(void)daxkv_put(db, k, fz_key(id, k), v, vl);
}

/* The workload; the older image is copied after the first overwrites. */
static daxkv *fi_workload(const char *path)
{
	char k[64];
	daxkv *db = fz_create(path);
	if (!db)
		return NULL;
	for (uint32_t i = 0; i < FI_KEYS; i++)
		fi_put(db, i, 1);
	for (uint32_t i = 0; i < FI_KEYS; i += 4)
		fi_put(db, i, 2);
	size_t len = 0;
	g_older = fz_read_file(path, &len);
	if (!g_older || len != FZ_POOL)
		abort();
	for (uint32_t i = 0; i < FI_KEYS; i += 3)
		fi_put(db, i, 3);
	for (uint32_t i = 1; i < FI_KEYS; i += 9)
		(void)daxkv_delete(db, k, fz_key(i, k));
	daxkv_batch *b = NULL;
	if (daxkv_batch_new(&b) == DAXKV_OK) {
		uint8_t v[FI_VMAX];
		for (uint32_t i = FI_KEYS; i < FI_KEYS + 16; i++) {
			size_t vl = fi_value(i, 1, v);
			g_maxver[i] = 1;
			daxkv_batch_put(b, k, fz_key(i, k), v, vl);
		}
		for (uint32_t i = 2; i < 60; i += 7)
			daxkv_batch_delete(b, k, fz_key(i, k));
		daxkv_write(db, b);
		daxkv_batch_free(b);
	}
	dkv_test_seal_all(db);
	daxkv_gc(db);
	for (uint32_t i = 0; i < FI_KEYS; i += 10)
		fi_put(db, i, 4);
	return db;
}

static uint64_t rd64(const uint8_t *img, uint64_t off)
{
	uint64_t v;
	memcpy(&v, img + off, 8);
	return v;
}

/* Level 0 of a valid image (it is the one the workload made). */
static void find_nodes(struct image *im)
{
	uint64_t n = rd64(im->bytes, DKV_HEAD_OFF + offsetof(struct sl_node, next));
	while (n && n + 64 <= im->len && im->nnodes < FI_MAX_NODES) {
		im->node[im->nnodes] = n;
		im->level[im->nnodes++] = im->bytes[n + offsetof(struct sl_node, level)];
		n = rd64(im->bytes, n + offsetof(struct sl_node, next));
	}
}

static void find_segs(const uint8_t *img)
{
	for (uint32_t s = 0; s < FZ_NSEGS; s++) {
		uint64_t sw = rd64(img, DKV_SEG_BASE + (uint64_t)s * FZ_SEG +
				   offsetof(struct seg_hdr, sw));
		if (SW_STATE(sw) == SEG_NODE)
			g_nodesegs[g_nnodesegs++] = s;
		else if (SW_STATE(sw) == SEG_ACTIVE || SW_STATE(sw) == SEG_SEALED)
			g_logsegs[g_nlogsegs++] = s;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (int u = 0; u < 2; u++) {
		char path[512];
		dkv_test_level_seed = 0x5eed5eed5eed5eedull; /* the same pool every time */
		fz_path(path, sizeof(path), u ? "idx-unclean" : "idx-clean");
		free(g_older); /* both runs make the same one */
		daxkv *db = fi_workload(path);
		if (!db)
			abort();
		if (u)
			g_tmpl[u].bytes = fz_read_file(path, &g_tmpl[u].len);
		daxkv_close(db);
		if (!u)
			g_tmpl[u].bytes = fz_read_file(path, &g_tmpl[u].len);
		unlink(path);
		if (!g_tmpl[u].bytes || g_tmpl[u].len != FZ_POOL)
			abort();
		find_nodes(&g_tmpl[u]);
		if (g_tmpl[u].nnodes < FI_KEYS / 2)
			abort();
	}
	find_segs(g_tmpl[0].bytes);
	if (!g_nnodesegs || !g_nlogsegs)
		abort();
	g_img = malloc(FZ_POOL);
	if (!g_img)
		abort();
	fz_path(g_path, sizeof(g_path), "idx");
	return 0;
}

/* ---- damage ---- */

static void wr64(uint64_t off, uint64_t v)
{
	if (off + 8 <= FZ_POOL)
		memcpy(g_img + off, &v, 8);
}

static void revert_line(uint64_t off)
{
	off &= ~(uint64_t)(DKV_LINE - 1);
	if (off + DKV_LINE <= FZ_POOL)
		memcpy(g_img + off, g_older + off, DKV_LINE);
}

static uint64_t seg_start(uint32_t s)
{
	return DKV_SEG_BASE + (uint64_t)s * FZ_SEG;
}

static uint64_t boundary(uint8_t c, uint8_t d, uint8_t e)
{
	static const uint64_t vals[] = { 0, 1, 8, SEG_DATA_OFF, SEG_DATA_OFF + 8, FZ_SEG - 8,
					 FZ_SEG, FZ_SEG + 8, FZ_POOL, 1ull << 32, ~0ull,
					 1ull << 63 };
	if (c & 0x80) /* an arbitrary small value, 8-aligned or not */
		return (uint64_t)d << 8 | e;
	return vals[c % (sizeof(vals) / sizeof(vals[0]))];
}

static void damage_link(const struct image *im, const uint8_t *p)
{
	unsigned n = (unsigned)(p[1] | p[2] << 8) % (im->nnodes + 1);
	bool head = n == im->nnodes;
	uint64_t at = head ? DKV_HEAD_OFF : im->node[n];
	unsigned levels = head ? DKV_MAX_LEVEL : im->level[n];
	unsigned lv = levels ? p[3] % levels : 0;
	unsigned step = p[5] % 16u + 1;
	uint64_t to = 0;
	switch (p[4] % 6) {
	case 0: to = 0; break;
	case 1:
		to = head ? im->node[step % im->nnodes]
			  : im->node[n + step < im->nnodes ? n + step : im->nnodes - 1];
		break;
	case 2:
		to = head || n < step ? DKV_HEAD_OFF : im->node[n - step];
		break;
	case 3: to = at; break;
	case 4:
		to = DKV_SEG_BASE + ((uint64_t)(p[3] << 8 | p[5]) * 8 * 97) %
					    (FZ_POOL - DKV_SEG_BASE);
		break;
	default: {
		uint32_t s = g_nodesegs[p[3] % g_nnodesegs];
		to = seg_start(s) + na_data_off(FZ_SEG) + (uint64_t)p[5] * DKV_LINE;
		break;
	}
	}
	wr64(at + offsetof(struct sl_node, next) + 8ull * lv, to);
}

static void damage_seg_hdr(const uint8_t *p)
{
	uint64_t h = seg_start(p[1] % FZ_NSEGS);
	uint64_t sw = rd64(g_img, h + offsetof(struct seg_hdr, sw));
	switch (p[2] % 5) {
	case 0:
		sw = SW_MAKE(p[3] % 5, (p[5] & 1) ? p[4] % 66u : SW_OWNER(sw),
			     (p[5] & 2) ? SW_GEN(sw) + 1 : SW_GEN(sw));
		wr64(h + offsetof(struct seg_hdr, sw), sw);
		break;
	case 1: wr64(h + offsetof(struct seg_hdr, tail), boundary(p[3], p[4], p[5])); break;
	case 2: wr64(h + offsetof(struct seg_hdr, live_bytes), boundary(p[3], p[4], p[5])); break;
	case 3:
		wr64(h + offsetof(struct seg_hdr, magic),
		     rd64(g_img, h + offsetof(struct seg_hdr, magic)) ^ 1ull << (p[5] % 64));
		break;
	default: wr64(h + offsetof(struct seg_hdr, age_seq), boundary(p[3], p[4], p[5])); break;
	}
}

static void damage_node_field(const struct image *im, const uint8_t *p)
{
	uint64_t at = im->node[(unsigned)(p[1] | p[2] << 8) % im->nnodes];
	switch (p[3] % 4) {
	case 0: /* another key's record, or a boundary value */
		wr64(at + offsetof(struct sl_node, loc),
		     (p[4] & 1) ? rd64(g_img, im->node[p[5] % im->nnodes]) :
				  boundary(p[4] >> 1, p[5], p[4]));
		break;
	case 1: g_img[at + offsetof(struct sl_node, level)] = p[5]; break;
	case 2: {
		uint32_t kl = (p[4] & 1) ? p[5] : (uint32_t)boundary(p[4] >> 1, p[5], 0);
		memcpy(g_img + at + offsetof(struct sl_node, klen), &kl, 4);
		break;
	}
	default:
		wr64(at + offsetof(struct sl_node, prev),
		     (p[4] & 1) ? im->node[p[5] % im->nnodes] : boundary(p[4] >> 1, p[5], 0));
		break;
	}
}

static void damage(const struct image *im, const uint8_t *data, size_t size)
{
	for (unsigned m = 0; m < FI_MAX_OPS && size >= 6; m++, data += 6, size -= 6) {
		const uint8_t *p = data;
		uint64_t line = (uint64_t)(p[1] | p[2] << 8 | p[3] << 16);
		switch (p[0] % 6) {
		case 0: damage_link(im, p); break;
		case 1:
			revert_line(seg_start(g_nodesegs[p[4] % g_nnodesegs]) +
				    line % (FZ_SEG / DKV_LINE) * DKV_LINE);
			break;
		case 2:
			revert_line(seg_start(g_logsegs[p[4] % g_nlogsegs]) +
				    line % (FZ_SEG / DKV_LINE) * DKV_LINE);
			break;
		case 3: damage_seg_hdr(p); break;
		case 4: damage_node_field(im, p); break;
		default:
			revert_line(DKV_SEG_BASE +
				    line % ((FZ_POOL - DKV_SEG_BASE) / DKV_LINE) * DKV_LINE);
			break;
		}
	}
}

/* ---- the session ---- */

static bool rc_in(int rc, const int *ok, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rc == ok[i])
			return true;
	return false;
}

#define FI_EXPECT(call, rc, ...)                                                           \
	do {                                                                               \
		static const int ok_[] = { __VA_ARGS__ };                                  \
		if (!rc_in((rc), ok_, sizeof(ok_) / sizeof(ok_[0])))                       \
			FZ_FAIL("%s answered %d (%s): %s", call, (rc), daxkv_strerror(rc), \
				daxkv_errmsg());                                           \
	} while (0)

/* The key id of one of fz_key()'s keys, or -1 for bytes no one wrote. */
static long key_id(const void *key, size_t klen)
{
	const char *k = key;
	size_t d = klen;
	while (d > 0 && k[d - 1] >= '0' && k[d - 1] <= '9')
		d--;
	if (d == klen || klen - d > 6)
		return -1;
	long id = 0;
	for (size_t i = d; i < klen; i++)
		id = id * 10 + (k[i] - '0');
	char want[64];
	if (id >= (long)(FI_KEYS + 16) || fz_key((unsigned)id, want) != klen ||
	    memcmp(want, key, klen) != 0)
		return -1;
	return id;
}

/* A value read OK for key id: whole, of this key, of a version written. */
static void check_value(long id, const void *v, size_t vlen, const char *how)
{
	uint32_t key = 0, writer = 0;
	uint64_t ver = 0;
	if (dkvt_vcheck(v, vlen, &key, &writer, &ver) != 0)
		FZ_FAIL("%s of key %ld: %zu bytes that are not a whole value", how, id, vlen);
	if (key != (uint32_t)id || ver == 0 || ver > g_maxver[id])
		FZ_FAIL("%s of key %ld: the value of key %u version %llu (newest written %llu)",
			how, id, key, (unsigned long long)ver, (unsigned long long)g_maxver[id]);
}

static void get_all(daxkv *db)
{
	char k[64];
	uint8_t v[FI_VMAX];
	for (uint32_t i = 0; i < FI_KEYS + 16; i++) {
		size_t vlen = 0, klen = fz_key(i, k);
		int rc = daxkv_get(db, k, klen, v, sizeof(v), &vlen);
		FI_EXPECT("get", rc, DAXKV_OK, DAXKV_ENOTFOUND, DAXKV_ECORRUPT);
		if (rc == DAXKV_OK)
			check_value(i, v, vlen < sizeof(v) ? vlen : sizeof(v), "get");
	}
}

static void walk(daxkv *db)
{
	daxkv_iter *it = NULL;
	int rc = daxkv_iter_new(db, &it);
	FI_EXPECT("iter_new", rc, DAXKV_OK, DAXKV_ENOMEM);
	if (rc)
		return;
	char prev[64];
	size_t plen = 0;
	unsigned steps = 0;
	for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it)) {
		if (++steps > FZ_ITER_MAX)
			FZ_FAIL("forward walk does not end");
		size_t klen = 0, vlen = 0;
		const void *kp = daxkv_iter_key(it, &klen);
		long id = kp ? key_id(kp, klen) : -1;
		if (id < 0)
			FZ_FAIL("the walk gave a key no one wrote (%zu bytes)", klen);
		if (plen && dkvt_keycmp(prev, plen, kp, klen) >= 0)
			FZ_FAIL("forward walk out of order: %.*s after %.*s", (int)klen,
				(const char *)kp, (int)plen, prev);
		memcpy(prev, kp, klen);
		plen = klen;
		const void *vp = daxkv_iter_value(it, &vlen);
		if (vp)
			check_value(id, vp, vlen, "iter_value");
	}
	FI_EXPECT("iter_status", daxkv_iter_status(it), DAXKV_OK, DAXKV_ECORRUPT);
	daxkv_iter_free(it);
}

/* Puts and deletes on a read-write handle; then GC. */
static void write_some(daxkv *db)
{
	char k[64];
	uint8_t v[FI_VMAX];
	for (uint32_t i = 5; i < FI_KEYS; i += 23) {
		uint64_t ver = g_maxver[i] + 1;
		size_t vl = fi_value(i, ver, v);
		g_maxver[i] = ver; /* before the call: a failed put may still land */
		int rc = daxkv_put(db, k, fz_key(i, k), v, vl);
		FI_EXPECT("put", rc, DAXKV_OK, DAXKV_ECORRUPT, DAXKV_EREADONLY, DAXKV_ENOSPC);
	}
	for (uint32_t i = 7; i < FI_KEYS; i += 29) {
		int rc = daxkv_delete(db, k, fz_key(i, k));
		FI_EXPECT("delete", rc, DAXKV_OK, DAXKV_ENOTFOUND, DAXKV_ECORRUPT,
			  DAXKV_EREADONLY, DAXKV_ENOSPC);
	}
	FI_EXPECT("gc", daxkv_gc(db), DAXKV_OK, DAXKV_ECORRUPT, DAXKV_EREADONLY,
		  DAXKV_ENOSPC);
	daxkv_stats st;
	FI_EXPECT("stats", daxkv_stats_get(db, &st), DAXKV_OK);
}

/* Opens path (ECORRUPT is the only refusal damage may give); NULL when refused. */
static daxkv *fi_open(int read_only)
{
	daxkv_options o;
	daxkv_options_init(&o);
	o.read_only = read_only;
	o.gc_background = 0;
	daxkv *db = NULL;
	int rc = daxkv_open(g_path, &o, &db);
	FI_EXPECT(read_only ? "read-only open" : "read-write open", rc, DAXKV_OK,
		  DAXKV_ECORRUPT);
	return rc ? NULL : db;
}

static void session(bool skip_ro)
{
	daxkv *db;
	if (!skip_ro && (db = fi_open(1))) {
		get_all(db);
		walk(db);
		FI_EXPECT("close", daxkv_close(db), DAXKV_OK);
	}
	if ((db = fi_open(0))) {
		get_all(db);
		write_some(db);
		walk(db);
		get_all(db);
		FI_EXPECT("close", daxkv_close(db), DAXKV_OK);
	}
	db = fi_open(0);
	if (!db)
		db = fi_open(1);
	if (db) {
		get_all(db);
		walk(db);
		FI_EXPECT("close", daxkv_close(db), DAXKV_OK);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct image *im = &g_tmpl[data[0] & 1];
	uint64_t maxver[FI_KEYS + 16];
	memcpy(maxver, g_maxver, sizeof(maxver)); /* the session adds versions */
	memcpy(g_img, im->bytes, im->len);
	damage(im, data + 1, size - 1);
	if (fz_write_file(g_path, g_img, im->len) != 0)
		abort();
	session(data[0] & 2);
	memcpy(g_maxver, maxver, sizeof(maxver));
	unlink(g_path);
	return 0;
}
