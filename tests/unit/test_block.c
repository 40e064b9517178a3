/*
 * test_block.c -- what only the block backend has: segment files on a disk
 * (/tmp, O_DIRECT), group commit across threads, a torn tail cut at open,
 * tombstones GC must carry while older versions remain, hint files (used,
 * refused when damaged, not needed), the volatile-media flag.  Every API-level suite also runs on this backend (ctest's *_block
 * variants); these are the cases those suites cannot see.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>

#include "common/apitest.h"

#define SEG1 (1ull << 20)

/* A block store under dir (a disk: /tmp, or tmpfs: /dev/shm). */
static daxkv *blk_store(const char *dir, const char *tag, char *path, size_t cap, int create)
{
	daxkv_options o = dkvt_opts(32 * DKVT_MIB, SEG1, create, 0);
	o.backend = DAXKV_BACKEND_BLOCK;
	if (create) {
		dkvt_path_in(path, cap, dir, tag);
		dkvt_remove(path);
	}
	daxkv *db = NULL;
	int rc = daxkv_open(path, &o, &db);
	if (rc)
		fprintf(stderr, "open %s: %s (%s)\n", path, daxkv_strerror(rc), daxkv_errmsg());
	return rc ? NULL : db;
}

static daxkv_stats stats_of(daxkv *db)
{
	daxkv_stats st;
	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &st), DAXKV_OK);
	return st;
}

/* ---- group commit: threads share device writes; all acked survive ---- */

#define GC_THREADS 8
#define GC_PUTS 300

struct gc_arg {
	daxkv *db;
	unsigned t;
	int fails;
};

static void *gc_writer(void *p)
{
	struct gc_arg *a = p;
	char k[DKVT_KEYBUF], v[100];
	for (unsigned i = 0; i < GC_PUTS; i++) {
		uint32_t id = a->t * GC_PUTS + i;
		dkvt_vmake(v, sizeof(v), id, a->t, 1);
		if (daxkv_put(a->db, k, dkvt_key(id, k), v, sizeof(v)) != DAXKV_OK)
			a->fails++;
	}
	return NULL;
}

static void test_group_commit(void)
{
	char path[256];
	daxkv *db = blk_store("/tmp", "blk-group", path, sizeof(path), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	daxkv_stats st = stats_of(db);
	CU_ASSERT_EQUAL(st.backend, DAXKV_BACKEND_BLOCK);
	CU_ASSERT_EQUAL(st.volatile_media, 0);
	pthread_t th[GC_THREADS];
	struct gc_arg a[GC_THREADS];
	for (unsigned t = 0; t < GC_THREADS; t++) {
		a[t] = (struct gc_arg){ db, t, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, gc_writer, &a[t]), 0);
	}
	for (unsigned t = 0; t < GC_THREADS; t++) {
		pthread_join(th[t], NULL);
		CU_ASSERT_EQUAL(a[t].fails, 0);
	}
	st = stats_of(db);
	CU_ASSERT_EQUAL(st.keys, GC_THREADS * GC_PUTS);
	/* Every put is one durable record; concurrent ones share device writes.
	 * Not a speed assertion: only that the writes counted are at most one
	 * per put and that some waiting was covered by another's write. */
	printf("\n  %u puts from %u threads: %llu device writes, %llu covered waits\n",
	       GC_THREADS * GC_PUTS, GC_THREADS, (unsigned long long)st.device_writes,
	       (unsigned long long)st.sync_waits);
	CU_ASSERT(st.device_writes > 0 && st.device_writes <= GC_THREADS * GC_PUTS + 64);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	db = blk_store("/tmp", "blk-group", path, sizeof(path), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(dkv_test_was_clean(db), 1);
	CU_ASSERT(check_ok(db));
	char k[DKVT_KEYBUF], v[100];
	for (unsigned t = 0; t < GC_THREADS; t++)
		for (unsigned i = 0; i < GC_PUTS; i++) {
			uint32_t id = t * GC_PUTS + i;
			dkvt_vmake(v, sizeof(v), id, t, 1);
			CU_ASSERT(has_value(db, k, dkvt_key(id, k), v, sizeof(v)));
		}
	dkvt_close_remove(db, path);
}

/* ---- a torn tail is cut at open ---- */

/* The segment file with the highest id holding data: the active one. */
static int last_seg_file(const char *dir, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *e;
	char best[64] = "";
	while ((e = readdir(d)) != NULL)
		if (strlen(e->d_name) == 12 && strcmp(e->d_name + 8, ".seg") == 0 &&
		    strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", e->d_name);
	closedir(d);
	snprintf(out, cap, "%s/%s", dir, best);
	return best[0] ? 0 : -1;
}

static void test_torn_tail(void)
{
	char path[256], seg[400];
	daxkv *db = blk_store("/tmp", "blk-torn", path, sizeof(path), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (unsigned i = 0; i < 50; i++) {
		char k[DKVT_KEYBUF], v[200];
		dkvt_vmake(v, sizeof(v), i, 0, 1);
		CU_ASSERT_EQUAL(daxkv_put(db, k, dkvt_key(i, k), v, sizeof(v)), DAXKV_OK);
	}
	/* a crash: the files as they are, no close (the copy is what a kill
	 * leaves); then a half-written record after the last one */
	/* where the next record would go: after the last one */
	char lk[DKVT_KEYBUF];
	size_t lkl = dkvt_key(49, lk);
	uint64_t loff = dkv_test_record_offset(db, lk, lkl);
	CU_ASSERT_FATAL(loff != 0);
	uint64_t next = (loff - 16384) % SEG1 + ((48 + lkl + 200 + 7) & ~7ull);
	char copy[300];
	snprintf(copy, sizeof(copy), "%s-copy", path);
	dkvt_remove(copy);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "cp -r %s %s", path, copy);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	CU_ASSERT_EQUAL_FATAL(remove(strcat(strcpy(cmd, copy), "/STATE")) == 0 || errno == ENOENT,
			      1);
	CU_ASSERT_EQUAL_FATAL(last_seg_file(copy, seg, sizeof(seg)), 0);
	int fd = open(seg, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	/* at the first free byte: a plausible header with a bad CRC and then
	 * garbage, as a torn write leaves */
	uint8_t junk[600];
	memset(junk, 0x5a, sizeof(junk));
	junk[4] = 1;    /* type PUT */
	junk[8] = 9;    /* klen */
	junk[12] = 200; /* vlen */
	CU_ASSERT_EQUAL(pwrite(fd, junk, sizeof(junk), (off_t)next), (ssize_t)sizeof(junk));
	close(fd);
	db = blk_store("/tmp", "", copy, sizeof(copy), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(dkv_test_was_clean(db), 0);
	CU_ASSERT_EQUAL(stat_keys(db), 50);
	for (unsigned i = 0; i < 50; i++) {
		char k[DKVT_KEYBUF], v[200];
		dkvt_vmake(v, sizeof(v), i, 0, 1);
		CU_ASSERT(has_value(db, k, dkvt_key(i, k), v, sizeof(v)));
	}
	/* writes go on after the cut, and survive another reopen */
	CU_ASSERT_EQUAL(put_s(db, "after", "the cut"), DAXKV_OK);
	CU_ASSERT(check_ok(db));
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	db = blk_store("/tmp", "", copy, sizeof(copy), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT(has_str(db, "after", "the cut"));
	CU_ASSERT_EQUAL(stat_keys(db), 51);
	dkvt_close_remove(db, copy);
	dkvt_remove(path);
}

/* ---- a delete survives GC of its tombstone's segment ---- */

static void test_tombstone_gc(void)
{
	char path[256];
	daxkv *db = blk_store(DKVT_SHM_DIR, "blk-tomb", path, sizeof(path), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	/* segment A: the keys' puts and as many anchors (A stays mostly live:
	 * no GC victim), then sealed */
	static char v[2000];
	memset(v, 'a', sizeof(v));
	char k[DKVT_KEYBUF];
	for (unsigned i = 0; i < 200; i++) {
		CU_ASSERT_EQUAL(daxkv_put(db, k, dkvt_key(i, k), v, sizeof(v)), DAXKV_OK);
		CU_ASSERT_EQUAL(daxkv_put(db, k, dkvt_key(1000 + i, k), v, sizeof(v)), DAXKV_OK);
	}
	CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0);
	/* segment B: deletes of the even keys (tombstones no node points at),
	 * then overwrites of one key: B is dead but for the tombstones */
	for (unsigned i = 0; i < 200; i += 2)
		CU_ASSERT_EQUAL(daxkv_delete(db, k, dkvt_key(i, k)), DAXKV_OK);
	for (unsigned i = 0; i < 1200; i++)
		CU_ASSERT_EQUAL(daxkv_put(db, "churn", 5, v, sizeof(v)), DAXKV_OK);
	CU_ASSERT_EQUAL(dkv_test_seal_all(db), 0);
	CU_ASSERT_EQUAL(daxkv_gc(db), DAXKV_OK);
	daxkv_stats st = stats_of(db);
	CU_ASSERT(st.gc_runs >= 2); /* B and its like, not A */
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	db = blk_store(DKVT_SHM_DIR, "", path, sizeof(path), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	for (unsigned i = 0; i < 200; i++) {
		size_t kl = dkvt_key(i, k);
		if (i % 2 == 0) {
			CU_ASSERT(absent(db, k, kl)); /* not resurrected by A's put */
		} else {
			CU_ASSERT(has_value(db, k, kl, v, sizeof(v)));
		}
	}
	CU_ASSERT_EQUAL(stat_keys(db), 100 + 200 + 1);
	CU_ASSERT(check_ok(db));
	dkvt_close_remove(db, path);
}

/* ---- hint files: a sealed segment's records listed without a scan ---- */

static void check_hint_store(daxkv *db, unsigned n)
{
	char k[DKVT_KEYBUF], v[200];
	unsigned bad = 0;
	for (unsigned i = 0; i < n; i++) {
		dkvt_vmake(v, sizeof(v), i, 0, i % 7 == 0 ? 2 : 1);
		size_t kl = dkvt_key(i, k);
		if (i % 11 == 0 ? !absent(db, k, kl) : !has_value(db, k, kl, v, sizeof(v)))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(stat_keys(db), n - (n + 10) / 11);
	CU_ASSERT(check_ok(db));
}

static void test_hints(void)
{
	char path[256], cmd[600];
	const unsigned n = 12000;
	daxkv *db = blk_store(DKVT_SHM_DIR, "blk-hints", path, sizeof(path), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	char k[DKVT_KEYBUF], v[200];
	for (unsigned i = 0; i < n; i++) { /* ~3 MiB: several sealed segments */
		dkvt_vmake(v, sizeof(v), i, 0, 1);
		CU_ASSERT_EQUAL(daxkv_put(db, k, dkvt_key(i, k), v, sizeof(v)), DAXKV_OK);
	}
	for (unsigned i = 0; i < n; i += 7) { /* overwrites and deletes across them */
		dkvt_vmake(v, sizeof(v), i, 0, 2);
		CU_ASSERT_EQUAL(daxkv_put(db, k, dkvt_key(i, k), v, sizeof(v)), DAXKV_OK);
	}
	for (unsigned i = 0; i < n; i += 11)
		CU_ASSERT_EQUAL(daxkv_delete(db, k, dkvt_key(i, k)), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);

	/* every segment was sealed (the last by close): all from hints */
	uint32_t hinted = 0, scanned = 0;
	db = blk_store(DKVT_SHM_DIR, "", path, sizeof(path), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(dkv_test_blk_loads(db, &hinted, &scanned), 0);
	CU_ASSERT(hinted >= 3);
	CU_ASSERT_EQUAL(scanned, 0);
	uint32_t nseg = hinted;
	check_hint_store(db, n);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);

	/* a damaged hint is refused: that segment is scanned, nothing changes */
	snprintf(cmd, sizeof(cmd), "f=$(ls %s/*.hint | head -1) && printf X | "
		 "dd of=$f bs=1 seek=100 conv=notrunc status=none", path);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	db = blk_store(DKVT_SHM_DIR, "", path, sizeof(path), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(dkv_test_blk_loads(db, &hinted, &scanned), 0);
	CU_ASSERT_EQUAL(scanned, 1);
	CU_ASSERT_EQUAL(hinted, nseg - 1);
	check_hint_store(db, n);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);

	/* no hints at all: every segment scanned, the same store */
	snprintf(cmd, sizeof(cmd), "rm -f %s/*.hint", path);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	db = blk_store(DKVT_SHM_DIR, "", path, sizeof(path), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(dkv_test_blk_loads(db, &hinted, &scanned), 0);
	CU_ASSERT_EQUAL(hinted, 0);
	CU_ASSERT_EQUAL(scanned, nseg);
	check_hint_store(db, n);
	dkvt_close_remove(db, path);
}

/* ---- tmpfs is flagged: nothing there survives a reboot ---- */

static void test_volatile_media(void)
{
	char path[256];
	daxkv *db = blk_store(DKVT_SHM_DIR, "blk-volatile", path, sizeof(path), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	daxkv_stats st = stats_of(db);
	CU_ASSERT_EQUAL(st.backend, DAXKV_BACKEND_BLOCK);
	CU_ASSERT_EQUAL(st.volatile_media, 1);
	dkvt_close_remove(db, path);
}

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	if (access("/tmp", W_OK) != 0) {
		fprintf(stderr, "SKIP: /tmp is not writable\n");
		return DKVT_SKIP;
	}
	static const struct dkvt_test tests[] = {
		{ "group_commit", test_group_commit },
		{ "torn_tail", test_torn_tail },
		{ "tombstone_gc", test_tombstone_gc },
		{ "hints", test_hints },
		{ "volatile_media", test_volatile_media },
		{ NULL, NULL },
	};
	static const struct dkvt_suite suites[] = {
		{ "block", tests },
		{ NULL, NULL },
	};
	return dkvt_run(suites);
}
