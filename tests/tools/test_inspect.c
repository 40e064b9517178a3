/*
 * test_inspect.c -- `daxkv check` and `check --repair` underneath: the
 * inspector (tools/lib/inspect.h) on clean stores and on stores damaged through
 * the pool file (a record's bytes, a node's next pointer, a loop, an upper
 * level, a segment header, a discard count, the whole index), each followed by
 * a repair and a clean re-check.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/mman.h>

#include "common/dkvtest.h"
#include "tools/lib/inspect_int.h"
#include "tests/hooks/testhooks.h"

#define POOL (32 * DKVT_MIB)
#define SEG (256 * 1024ull)
#define NKEYS 2000u

/* ---- helpers ---- */

static void val_for(uint32_t id, uint64_t ver, uint8_t *buf, size_t *len)
{
	*len = DKVT_VHDR + (dkvt_mix64(id ^ ver) % 200);
	dkvt_vmake(buf, *len, id, 0, ver);
}

/* A store with NKEYS keys, some overwritten, every 10th deleted. */
static daxkv *populate(char *path, size_t cap, const char *tag)
{
	daxkv *db = dkvt_fresh_store(path, cap, tag, POOL, SEG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	uint8_t v[512];
	char k[DKVT_KEYBUF];
	size_t vl;
	for (uint32_t i = 0; i < NKEYS; i++) {
		val_for(i, 0, v, &vl);
		CU_ASSERT_EQUAL_FATAL(daxkv_put(db, k, dkvt_key(i, k), v, vl), DAXKV_OK);
	}
	for (uint32_t i = 0; i < NKEYS; i += 3) {
		val_for(i, 1, v, &vl);
		CU_ASSERT_EQUAL_FATAL(daxkv_put(db, k, dkvt_key(i, k), v, vl), DAXKV_OK);
	}
	for (uint32_t i = 0; i < NKEYS; i += 10)
		CU_ASSERT_EQUAL_FATAL(daxkv_delete(db, k, dkvt_key(i, k)), DAXKV_OK);
	return db;
}

static uint64_t ver_of(uint32_t i)
{
	return i % 3 == 0 ? 1 : 0;
}

/* Every key of populate() is there with its value, except those in skip
 * (a key id, or UINT32_MAX none); returns how many were missing. */
static uint32_t verify_keys(const char *path, uint32_t skip, int deleted_back)
{
	daxkv *db = dkvt_open_store(path, 0, 0, 0, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	uint8_t v[512], want[512];
	char k[DKVT_KEYBUF];
	size_t vl, wl;
	uint32_t missing = 0;
	for (uint32_t i = 0; i < NKEYS; i++) {
		int rc = daxkv_get(db, k, dkvt_key(i, k), v, sizeof(v), &vl);
		if (i == skip) {
			CU_ASSERT_EQUAL(rc, DAXKV_ENOTFOUND);
			continue;
		}
		if (i % 10 == 0 && !deleted_back) {
			CU_ASSERT_EQUAL(rc, DAXKV_ENOTFOUND);
			continue;
		}
		if (rc != DAXKV_OK) {
			missing++;
			continue;
		}
		val_for(i, ver_of(i), want, &wl);
		CU_ASSERT(vl == wl && memcmp(v, want, wl) == 0);
	}
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	return missing;
}

static int check_path(const char *path, struct insp_summary *s)
{
	struct insp *in = NULL;
	int rc = insp_open(path, 0, &in);
	if (rc)
		return rc;
	rc = insp_check(in, NULL, NULL, s);
	insp_close(in);
	return rc;
}

static int repair_path(const char *path, int from_log, struct insp_summary *s)
{
	struct insp *in = NULL;
	int rc = insp_open(path, 1, &in);
	return rc ? rc : insp_repair(in, path, from_log, NULL, NULL, s);
}

/* Maps the (closed) pool file to damage it. */
static char *map_pool(const char *path, size_t *len)
{
	int fd = open(path, O_RDWR);
	struct stat st;
	CU_ASSERT_FATAL(fd >= 0 && fstat(fd, &st) == 0);
	char *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	CU_ASSERT_FATAL(p != MAP_FAILED);
	*len = (size_t)st.st_size;
	return p;
}

/* The n-th node of level 0 (0-based), read through the inspector. */
static uint64_t nth_node(const char *path, unsigned n)
{
	struct insp *in = NULL;
	CU_ASSERT_EQUAL_FATAL(insp_open(path, 0, &in), DAXKV_OK);
	uint64_t p = in->db->head->next[0];
	for (unsigned i = 0; i < n && p; i++)
		p = ((const struct sl_node *)dkv_ptr(in->db, p))->next[0];
	insp_close(in);
	return p;
}

static void expect_clean(const char *path)
{
	struct insp_summary s;
	CU_ASSERT_EQUAL(check_path(path, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.problems, 0);
}

static void expect_damaged(const char *path, struct insp_summary *s)
{
	CU_ASSERT_EQUAL(check_path(path, s), DAXKV_OK);
	CU_ASSERT(s->problems > 0);
}

/* ---- suite: clean ---- */

/* Writes the 8-byte v at pool offset off of the closed store at path. */
static void poke8(const char *path, uint64_t off, uint64_t v)
{
	size_t len;
	char *p = map_pool(path, &len);
	memcpy(p + off, &v, 8);
	munmap(p, len);
}

/* After a repair: check finds nothing, every key of populate() is there;
 * then the store is removed. */
static void expect_whole(const char *path)
{
	expect_clean(path);
	CU_ASSERT_EQUAL(verify_keys(path, UINT32_MAX, 0), 0);
	dkvt_remove(path);
}

static void test_clean_store(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-clean");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	struct insp_summary s;
	CU_ASSERT_EQUAL(check_path(path, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.problems, 0);
	CU_ASSERT_EQUAL(s.notes, 0);
	CU_ASSERT(s.records >= NKEYS && s.nodes == NKEYS - NKEYS / 10);
	CU_ASSERT_EQUAL(s.keys, NKEYS - NKEYS / 10);
	struct insp *in = NULL;
	struct insp_info info;
	CU_ASSERT_EQUAL_FATAL(insp_open(path, 0, &in), DAXKV_OK);
	CU_ASSERT_EQUAL(insp_info(in, &info), DAXKV_OK);
	CU_ASSERT_EQUAL(info.keys, s.keys);
	CU_ASSERT_EQUAL(info.clean, 1);
	CU_ASSERT_EQUAL(info.recounted, 0);
	CU_ASSERT_EQUAL(info.format_version, POOL_FORMAT_VERSION);
	CU_ASSERT(info.used_bytes >= info.live_bytes && info.live_bytes > 0);
	insp_close(in);
	CU_ASSERT_EQUAL(verify_keys(path, UINT32_MAX, 0), 0);
	dkvt_remove(path);
}

static void test_clean_after_iter(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-iter");
	daxkv_iter *it = NULL;
	CU_ASSERT_EQUAL(daxkv_iter_new(db, &it), DAXKV_OK);
	char k[DKVT_KEYBUF];
	for (uint32_t i = 1; i < NKEYS; i += 10)
		CU_ASSERT_EQUAL(daxkv_delete(db, k, dkvt_key(i, k)), DAXKV_OK);
	daxkv_iter_free(it);
	CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0);
	CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	expect_clean(path);
	dkvt_remove(path);
}

/* An unclean pool (the writer never closed it): notes, no damage. */
static void test_unclean_store(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-unclean");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	pid_t pid = fork();
	if (pid == 0) {
		daxkv *c = dkvt_open_store(path, 0, 0, 0, 0);
		char k[DKVT_KEYBUF];
		uint8_t v[64] = { 0 };
		daxkv_iter *it = NULL; /* a snapshot: deletes keep tombstone nodes */
		if (c)
			daxkv_iter_new(c, &it);
		for (uint32_t i = 0; c && i < 100; i++)
			daxkv_put(c, k, dkvt_key(NKEYS + i, k), v, sizeof(v));
		for (uint32_t i = 1; c && i < 100; i += 10)
			daxkv_delete(c, k, dkvt_key(i, k));
		_exit(c ? 0 : 1); /* no close: the clean flag stays 0 */
	}
	CU_ASSERT_EQUAL(dkvt_wait(pid), 0);
	struct insp_summary s;
	CU_ASSERT_EQUAL(check_path(path, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.problems, 0);
	CU_ASSERT(s.notes > 0);
	CU_ASSERT_EQUAL(s.keys, NKEYS - NKEYS / 10 + 100 - 10);
	dkvt_remove(path);
}

/* ---- suite: damage and repair ---- */

static const uint32_t victim = 5; /* a live key of populate(), never overwritten */

static void test_record_crc(void)
{
	char path[256], k[DKVT_KEYBUF];
	daxkv *db = populate(path, sizeof(path), "insp-rec");
	uint64_t off = dkv_test_record_offset(db, k, dkvt_key(victim, k));
	CU_ASSERT_FATAL(off != 0);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	size_t len;
	char *p = map_pool(path, &len);
	p[off + sizeof(struct rec_hdr) + strlen(k) + 3] ^= 0x40; /* a value byte */
	munmap(p, len);
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT(s.records_bad >= 1 && s.nodes_bad == 1);
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.lost_keys, 1);
	expect_clean(path);
	CU_ASSERT_EQUAL(verify_keys(path, victim, 0), 0);
	dkvt_remove(path);
}

static void test_node_pointer(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-ptr");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	uint64_t node = nth_node(path, 100);
	CU_ASSERT_FATAL(node != 0);
	/* misaligned, and not in a node segment */
	poke8(path, node + offsetof(struct sl_node, next), 0x123457);
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT_EQUAL(s.nodes, 101); /* level 0 ends at the damage */
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.lost_keys, 0); /* the rest is found through the bitmaps */
	expect_whole(path);
}

static void test_level0_loop(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-loop");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	uint64_t a = nth_node(path, 300), b = nth_node(path, 100);
	poke8(path, a + offsetof(struct sl_node, next), b);
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	expect_whole(path);
}

static void test_upper_level(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-upper");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	/* Inside a node, off its 64-byte grid: never a node.  (Some slot three
	 * lines on could be a sound node of a higher level, which an upper level
	 * may legally point at: that was a flaky test.) */
	uint64_t n = nth_node(path, 50) + 64 + 24;
	poke8(path, DKV_HEAD_OFF + offsetof(struct sl_node, next) + 8, n);
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	expect_whole(path);
}

static void test_segment_header(void)
{
	char path[256], k[DKVT_KEYBUF];
	daxkv *db = populate(path, sizeof(path), "insp-seg");
	uint64_t off = dkv_test_record_offset(db, k, dkvt_key(victim, k));
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	uint64_t seg = DKV_SEG_BASE + (off - DKV_SEG_BASE) / SEG * SEG;
	size_t len;
	char *p = map_pool(path, &len);
	memset(p + seg, 0x5a, 8); /* the magic */
	munmap(p, len);
	daxkv_options o = dkvt_opts(0, 0, 0, 0);
	CU_ASSERT_EQUAL(daxkv_open(path, &o, &db), DAXKV_ECORRUPT);
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.lost_keys, 0);
	expect_whole(path);
}

static void test_discard_count(void)
{
	char path[256], k[DKVT_KEYBUF];
	daxkv *db = populate(path, sizeof(path), "insp-count");
	uint64_t off = dkv_test_record_offset(db, k, dkvt_key(victim, k));
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	uint64_t seg = DKV_SEG_BASE + (off - DKV_SEG_BASE) / SEG * SEG;
	size_t len;
	char *p = map_pool(path, &len);
	((struct seg_hdr *)(p + seg))->live_bytes += 4096;
	munmap(p, len);
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT_EQUAL(s.problems, 1);
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	expect_whole(path);
}

/* The index is gone (head links and node bitmaps zeroed): a default repair
 * keeps nothing and reports the keys found only in the log; --from-log
 * brings every key back, the deleted ones too. */
static void test_from_log(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-fromlog");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	struct insp *in = NULL;
	CU_ASSERT_EQUAL_FATAL(insp_open(path, 0, &in), DAXKV_OK);
	uint32_t nsegs = in->db->nsegs, nwords = (in->na_slots + 63) / 64;
	bool node[4096] = { false };
	for (uint32_t id = 0; id < nsegs && id < 4096; id++)
		node[id] = insp_is_node(in, id);
	insp_close(in);
	size_t len;
	char *p = map_pool(path, &len);
	memset(p + DKV_HEAD_OFF + offsetof(struct sl_node, next), 0, 8 * DKV_MAX_LEVEL);
	for (uint32_t id = 0; id < nsegs && id < 4096; id++)
		if (node[id])
			memset(p + DKV_SEG_BASE + id * SEG + 256, 0, nwords * 8);
	munmap(p, len);
	struct insp_summary s;
	expect_damaged(path, &s); /* the counts no longer match */
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.keys, 0);
	CU_ASSERT_EQUAL(s.log_only_keys, NKEYS);
	expect_clean(path);
	CU_ASSERT_EQUAL(repair_path(path, 1, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.keys, NKEYS);
	expect_clean(path);
	CU_ASSERT_EQUAL(verify_keys(path, UINT32_MAX, 1), 0);
	dkvt_remove(path);
}

/* Random words of the segment area overwritten: check and repair must not
 * crash, and whatever repair keeps must check clean. */
static void test_random_damage(void)
{
	struct dkvt_rng rng;
	dkvt_rng_seed(&rng, (uint64_t)dkvt_env_long("DKVT_SEED", 42));
	for (int round = 0; round < 4; round++) {
		char path[256];
		daxkv *db = populate(path, sizeof(path), "insp-random");
		CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
		size_t len;
		char *p = map_pool(path, &len);
		for (int i = 0; i < 40 * (round + 1); i++) {
			uint64_t off = DKV_SEG_BASE + dkvt_below(&rng, (len - DKV_SEG_BASE) / 8) * 8;
			uint64_t junk = dkvt_next(&rng);
			memcpy(p + off, &junk, 8);
		}
		munmap(p, len);
		struct insp_summary s;
		CU_ASSERT_EQUAL(check_path(path, &s), DAXKV_OK);
		int rc = repair_path(path, round & 1, &s);
		CU_ASSERT(rc == DAXKV_OK || rc == DAXKV_ECORRUPT);
		if (rc == DAXKV_OK)
			expect_clean(path);
		dkvt_remove(path);
	}
}

/* ---- suite: pool header copies and the damage mark ---- */

static void info_of(const char *path, struct insp_info *info)
{
	struct insp *in = NULL;
	CU_ASSERT_EQUAL_FATAL(insp_open(path, 0, &in), DAXKV_OK);
	CU_ASSERT_EQUAL(insp_info(in, info), DAXKV_OK);
	insp_close(in);
}

/* Whether the primary pool header and its backup copy are byte-equal. */
static bool hdr_copies_equal(const char *path)
{
	size_t len;
	char *p = map_pool(path, &len);
	bool eq = memcmp(p, p + POOL_HDR_BACKUP_OFF, sizeof(struct pool_hdr)) == 0;
	munmap(p, len);
	return eq;
}

/* A handle that met damage marks the pool (sb->clean = DKV_SB_DAMAGED): check
 * says so (it was a note about an unclean shutdown before), repair clears it. */
static void test_marked_damaged(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-marked");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	poke8(path, DKV_SB_STATE_OFF + offsetof(struct sb_state, clean), DKV_SB_DAMAGED);
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT_EQUAL(s.problems, 1);
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.lost_keys, 0);
	struct insp_info info;
	info_of(path, &info);
	CU_ASSERT_EQUAL(info.clean, 1);
	expect_whole(path);
}

/* The mark left by a real handle: an index node's level-0 link cleared makes
 * a writer meet damage (ECORRUPT, then EREADONLY); check reports the mark and
 * the damage, repair (its default, from the sound nodes) leaves a clean pool
 * with every key. */
static void test_marked_by_handle(void)
{
	char path[256], k[DKVT_KEYBUF];
	daxkv *db = populate(path, sizeof(path), "insp-handle");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	uint64_t node = nth_node(path, 100);
	CU_ASSERT_FATAL(node != 0);
	/* a backward link: level 0 loops; a writer inserting past it meets it */
	poke8(path, node + offsetof(struct sl_node, next), nth_node(path, 90));
	db = dkvt_open_store(path, 0, 0, 0, 0); /* a clean pool: open walks nothing */
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	uint8_t v[512];
	size_t vl;
	int rc = DAXKV_OK;
	for (uint32_t i = 0; i < NKEYS && rc == DAXKV_OK; i++) {
		val_for(i, 7, v, &vl);
		rc = daxkv_put(db, k, dkvt_key(i, k), v, vl);
	}
	CU_ASSERT(rc == DAXKV_ECORRUPT || rc == DAXKV_EREADONLY);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	struct insp_info info;
	info_of(path, &info);
	CU_ASSERT_EQUAL(info.clean, 0);
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT(s.problems >= 2); /* the mark and the loop */
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	expect_clean(path);
	info_of(path, &info);
	CU_ASSERT_EQUAL(info.clean, 1);
	dkvt_remove(path);
}

/* The primary pool header damaged, the backup sound: a read-only check reads
 * through the backup and reports damage; repair restores the primary. */
static void test_header_primary(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-hdr1");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	size_t len;
	char *p = map_pool(path, &len);
	p[offsetof(struct pool_hdr, uuid_lo)] ^= 1; /* fails the CRC */
	munmap(p, len);
	struct insp_info info;
	info_of(path, &info);
	CU_ASSERT_EQUAL(info.hdr_primary_ok, 0);
	CU_ASSERT_EQUAL(info.hdr_backup, INSP_HDR_BACKUP_OK);
	CU_ASSERT_FALSE(hdr_copies_equal(path)); /* a read-only look writes nothing */
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT_EQUAL(s.problems, 1);
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	CU_ASSERT(hdr_copies_equal(path));
	info_of(path, &info);
	CU_ASSERT_EQUAL(info.hdr_primary_ok, 1);
	expect_whole(path);
}

/* The backup copy damaged (primary sound): damage that repair rewrites; an
 * absent backup (an older pool) is only a note, and the next read-write
 * open adds it. */
static void test_header_backup(void)
{
	char path[256];
	daxkv *db = populate(path, sizeof(path), "insp-hdr2");
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	struct insp_info info;
	info_of(path, &info);
	CU_ASSERT(info.hdr_primary_ok == 1 && info.hdr_backup == INSP_HDR_BACKUP_OK);
	size_t len;
	char *p = map_pool(path, &len);
	p[POOL_HDR_BACKUP_OFF + offsetof(struct pool_hdr, nsegs)] ^= 4;
	munmap(p, len);
	info_of(path, &info);
	CU_ASSERT(info.hdr_primary_ok == 1 && info.hdr_backup == INSP_HDR_BACKUP_BAD);
	struct insp_summary s;
	expect_damaged(path, &s);
	CU_ASSERT_EQUAL(s.problems, 1);
	CU_ASSERT_EQUAL(repair_path(path, 0, &s), DAXKV_OK);
	CU_ASSERT(hdr_copies_equal(path));
	expect_clean(path);
	p = map_pool(path, &len);
	memset(p + POOL_HDR_BACKUP_OFF, 0, sizeof(struct pool_hdr));
	munmap(p, len);
	info_of(path, &info);
	CU_ASSERT_EQUAL(info.hdr_backup, INSP_HDR_BACKUP_MISSING);
	CU_ASSERT_EQUAL(check_path(path, &s), DAXKV_OK);
	CU_ASSERT(s.problems == 0 && s.notes == 1);
	CU_ASSERT_EQUAL(verify_keys(path, UINT32_MAX, 0), 0); /* a read-write open */
	CU_ASSERT(hdr_copies_equal(path));
	dkvt_remove(path);
}

/* ---- main ---- */

static const struct dkvt_test clean_tests[] = {
	{ "clean_store", test_clean_store },
	{ "clean_after_iter", test_clean_after_iter },
	{ "unclean_store", test_unclean_store },
	{ NULL, NULL },
};

static const struct dkvt_test damage_tests[] = {
	{ "record_crc", test_record_crc },
	{ "node_pointer", test_node_pointer },
	{ "level0_loop", test_level0_loop },
	{ "upper_level", test_upper_level },
	{ "segment_header", test_segment_header },
	{ "discard_count", test_discard_count },
	{ "from_log", test_from_log },
	{ "random_damage", test_random_damage },
	{ NULL, NULL },
};

static const struct dkvt_test header_tests[] = {
	{ "marked_damaged", test_marked_damaged },
	{ "marked_by_handle", test_marked_by_handle },
	{ "header_primary", test_header_primary },
	{ "header_backup", test_header_backup },
	{ NULL, NULL },
};

static const struct dkvt_suite suites[] = {
	{ "clean", clean_tests },
	{ "damage", damage_tests },
	{ "header", header_tests },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
