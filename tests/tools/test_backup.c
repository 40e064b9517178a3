/*
 * test_backup.c -- daxkv_backup() and the dump stream it writes: a round
 * trip (binary keys, empty and large values, O_DIRECT and buffered targets),
 * a backup taken while writers run (a snapshot: every key present before the
 * call, with its value as of one instant), damaged or truncated streams
 * refused, and the error paths (bad arguments, an impossible destination).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <sys/statfs.h>

#include "common/dkvtest.h"
#include "pmem/util.h"
#include "tools/lib/dump_read.h"

#define POOL (64 * DKVT_MIB)
#define SEG (2 * DKVT_MIB)

/* ---- helpers ---- */

/* A backup target: dir is /tmp (a block filesystem here: O_DIRECT) or
 * /dev/shm (tmpfs). */
static void bk_path(char *buf, size_t cap, const char *dir, const char *tag)
{
	dkvt_path_in(buf, cap, dir, tag);
	dkvt_remove(buf);
}

/* Reads a whole stream into a fresh store at path: OK or the reader's error. */
static int restore_into(const char *file, const char *path, uint64_t *entries)
{
	int fd = open(file, O_RDONLY);
	if (fd < 0)
		return DAXKV_EIO;
	daxkv *db = dkvt_open_store(path, POOL, SEG, 1, 0);
	struct dump_r r;
	memset(&r, 0, sizeof(r));
	const void *k, *v;
	uint32_t kl, vl;
	int rc = db ? dump_r_open(&r, fd) : DAXKV_EIO;
	while (!rc && (rc = dump_r_next(&r, &k, &kl, &v, &vl)) == 1)
		rc = daxkv_put_expire(db, k, kl, v, vl, r.expire);
	if (entries)
		*entries = r.entries;
	dump_r_close(&r);
	close(fd);
	daxkv_close(db);
	return rc;
}

/* Whether the stores at a and b hold the same key/values. */
static int same_content(const char *a, const char *b)
{
	daxkv *x = dkvt_open_store(a, 0, 0, 0, 1), *y = dkvt_open_store(b, 0, 0, 0, 1);
	daxkv_iter *i = NULL, *j = NULL;
	int same = x && y && !daxkv_iter_new(x, &i) && !daxkv_iter_new(y, &j);
	if (same) {
		daxkv_iter_seek_first(i);
		daxkv_iter_seek_first(j);
	}
	while (same && daxkv_iter_valid(i) && daxkv_iter_valid(j)) {
		size_t kl1, kl2, vl1, vl2;
		const void *k1 = daxkv_iter_key(i, &kl1), *k2 = daxkv_iter_key(j, &kl2);
		const void *v1 = daxkv_iter_value(i, &vl1), *v2 = daxkv_iter_value(j, &vl2);
		same = kl1 == kl2 && vl1 == vl2 && !memcmp(k1, k2, kl1) && !memcmp(v1, v2, vl1);
		daxkv_iter_next(i);
		daxkv_iter_next(j);
	}
	same = same && !daxkv_iter_valid(i) && !daxkv_iter_valid(j);
	daxkv_iter_free(i);
	daxkv_iter_free(j);
	daxkv_close(x);
	daxkv_close(y);
	return same;
}

static daxkv *filled(char *path, size_t cap, const char *tag, uint32_t n)
{
	daxkv *db = dkvt_fresh_store(path, cap, tag, POOL, SEG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	uint8_t v[600];
	char k[DKVT_KEYBUF];
	for (uint32_t i = 0; i < n; i++) {
		size_t vl = DKVT_VHDR + i % 500;
		dkvt_vmake(v, vl, i, 0, 0);
		CU_ASSERT_EQUAL_FATAL(daxkv_put(db, k, dkvt_key(i, k), v, vl), DAXKV_OK);
	}
	return db;
}

/* ---- suite: round trip ---- */

static void round_trip_in(const char *dir)
{
	char path[256], copy[256], file[256];
	daxkv *db = filled(path, sizeof(path), "bk-src", 3000);
	static const uint8_t bin[] = { 0, 1, 0xff, '\t', '\n', 0 };
	CU_ASSERT_EQUAL(daxkv_put(db, bin, sizeof(bin), bin, sizeof(bin)), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put(db, "empty", 5, NULL, 0), DAXKV_OK);
	size_t big = 1536 * 1024; /* spans buffers of the pipeline */
	uint8_t *bv = malloc(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bv);
	dkvt_fill(bv, big, 7);
	CU_ASSERT_EQUAL(daxkv_put(db, "big", 3, bv, big), DAXKV_OK);
	free(bv);
	bk_path(file, sizeof(file), dir, "bk-file");
	CU_ASSERT_EQUAL(daxkv_backup(db, file), DAXKV_OK);
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	CU_ASSERT_NOT_EQUAL(access(tmp, F_OK), 0); /* renamed away */
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_path(copy, sizeof(copy), "bk-copy");
	dkvt_remove(copy);
	uint64_t n = 0;
	CU_ASSERT_EQUAL(restore_into(file, copy, &n), 0);
	CU_ASSERT_EQUAL(n, 3003);
	CU_ASSERT(same_content(path, copy));
	dkvt_remove(path);
	dkvt_remove(copy);
	dkvt_remove(file);
}

static void test_round_trip_block(void)
{
	struct statfs sf;
	if (statfs("/tmp", &sf) != 0 || access("/tmp", W_OK) != 0)
		return; /* no /tmp: the tmpfs case below still runs */
	round_trip_in("/tmp");
}

static void test_round_trip_tmpfs(void)
{
	round_trip_in(DKVT_SHM_DIR);
}

static void test_empty_store(void)
{
	char path[256], copy[256], file[256];
	daxkv *db = dkvt_fresh_store(path, sizeof(path), "bk-empty", POOL, SEG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	bk_path(file, sizeof(file), DKVT_SHM_DIR, "bk-empty-file");
	CU_ASSERT_EQUAL(daxkv_backup(db, file), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	struct stat st;
	CU_ASSERT_EQUAL(stat(file, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, DUMP_HDR_SIZE + DUMP_TRAILER_SIZE);
	dkvt_path(copy, sizeof(copy), "bk-empty-copy");
	uint64_t n = 1;
	CU_ASSERT_EQUAL(restore_into(file, copy, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
	dkvt_remove(path);
	dkvt_remove(copy);
	dkvt_remove(file);
}

/* ---- suite: errors ---- */

static void test_bad_args(void)
{
	char path[256];
	daxkv *db = dkvt_fresh_store(path, sizeof(path), "bk-args", POOL, SEG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(daxkv_backup(NULL, "/tmp/x"), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_backup(db, NULL), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_backup(db, ""), DAXKV_EINVAL);
	CU_ASSERT_EQUAL(daxkv_backup(db, "/nonexistent-dir-daxkv/backup"), DAXKV_EIO);
	CU_ASSERT(strstr(daxkv_errmsg(), "No such file") != NULL);
	CU_ASSERT_EQUAL(access("/nonexistent-dir-daxkv/backup.tmp", F_OK), -1);
	dkvt_close_remove(db, path);
}

/* Copies src to dst with byte at (flip) xored, or cut to keep bytes. */
static void mangle(const char *src, const char *dst, long flip, long keep)
{
	CU_ASSERT_EQUAL_FATAL(dkvt_copy_file(src, dst), 0);
	int fd = open(dst, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	if (flip >= 0) {
		uint8_t b;
		CU_ASSERT_EQUAL(pread(fd, &b, 1, flip), 1);
		b ^= 0x10;
		CU_ASSERT_EQUAL(pwrite(fd, &b, 1, flip), 1);
	}
	if (keep >= 0)
		CU_ASSERT_EQUAL(ftruncate(fd, keep), 0);
	close(fd);
}

static void test_damaged_stream(void)
{
	char path[256], file[256], bad[256], copy[256];
	daxkv *db = filled(path, sizeof(path), "bk-dmg", 500);
	bk_path(file, sizeof(file), DKVT_SHM_DIR, "bk-dmg-file");
	bk_path(bad, sizeof(bad), DKVT_SHM_DIR, "bk-dmg-bad");
	dkvt_path(copy, sizeof(copy), "bk-dmg-copy");
	CU_ASSERT_EQUAL(daxkv_backup(db, file), DAXKV_OK);
	dkvt_close_remove(db, path);
	struct stat st;
	CU_ASSERT_EQUAL_FATAL(stat(file, &st), 0);
	const long cases[][2] = {
		{ 0, -1 },                                  /* magic */
		{ 8, -1 },                                  /* version: EVERSION */
		{ (long)st.st_size / 2, -1 },               /* an entry's bytes: CRC */
		{ (long)st.st_size - 9, -1 },               /* the trailer's CRC */
		{ (long)st.st_size - 20, -1 },              /* the trailer's count */
		{ -1, (long)st.st_size - 1 },               /* truncated */
		{ -1, (long)st.st_size / 3 },               /* truncated mid-entry */
		{ -1, 10 },                                 /* truncated header */
		{ -1, 0 },                                  /* empty */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mangle(file, bad, cases[i][0], cases[i][1]);
		dkvt_remove(copy);
		int rc = restore_into(bad, copy, NULL);
		CU_ASSERT(rc == (i == 1 ? DAXKV_EVERSION : DAXKV_ECORRUPT));
		if (rc != (i == 1 ? DAXKV_EVERSION : DAXKV_ECORRUPT))
			fprintf(stderr, "case %zu: %d %s\n", i, rc, daxkv_errmsg());
	}
	dkvt_remove(copy);
	dkvt_remove(bad);
	dkvt_remove(file);
}

/* Expiry times go into the stream (version 2) and come back; keys expired
 * at the snapshot are left out. */
static void test_expiry_round_trip(void)
{
	char path[256], file[256], copy[256];
	daxkv *db = dkvt_fresh_store(path, sizeof(path), "bk-ttl", POOL, SEG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	bk_path(file, sizeof(file), DKVT_SHM_DIR, "bk-ttl-file");
	dkvt_path(copy, sizeof(copy), "bk-ttl-copy");
	dkvt_remove(copy);
	uint64_t far = daxkv_now_ms() + 3600 * 1000;
	CU_ASSERT_EQUAL(daxkv_put(db, "plain", 5, "p", 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put_expire(db, "later", 5, "l", 1, far), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put_ttl(db, "soon", 4, "s", 1, 1), DAXKV_OK);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	CU_ASSERT_EQUAL(daxkv_backup(db, file), DAXKV_OK);
	dkvt_close_remove(db, path);
	/* The stream itself: version 2, two entries, the expiry time exact. */
	int fd = open(file, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	struct dump_r r;
	memset(&r, 0, sizeof(r));
	const void *k, *v;
	uint32_t kl, vl;
	int rc = dump_r_open(&r, fd), n = 0;
	CU_ASSERT_EQUAL(r.version, 2);
	while (!rc && (rc = dump_r_next(&r, &k, &kl, &v, &vl)) == 1) {
		rc = 0;
		n++;
		CU_ASSERT_EQUAL(r.expire, kl == 5 && !memcmp(k, "later", 5) ? far : 0);
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(n, 2);
	dump_r_close(&r);
	close(fd);
	CU_ASSERT_EQUAL(restore_into(file, copy, NULL), DAXKV_OK);
	db = dkvt_open_store(copy, 0, 0, 0, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	size_t len;
	uint64_t exp = 0;
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "later", 5, NULL, 0, &len, NULL, &exp), DAXKV_OK);
	CU_ASSERT_EQUAL(exp, far);
	CU_ASSERT_EQUAL(daxkv_get_meta(db, "plain", 5, NULL, 0, &len, NULL, &exp), DAXKV_OK);
	CU_ASSERT_EQUAL(exp, 0);
	CU_ASSERT_EQUAL(daxkv_get(db, "soon", 4, NULL, 0, &len), DAXKV_ENOTFOUND);
	dkvt_close_remove(db, copy);
	dkvt_remove(file);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A version 1 stream (daxkv 0.2: entries without expiry times) still loads. */
static void test_v1_stream(void)
{
	char file[256];
	uint8_t s[128];
	size_t n = 0;
	memcpy(s, "DAXKVDMP", 8);
	put_le(s + 8, 1, 4);  /* version 1 */
	put_le(s + 12, 0, 4); /* flags */
	put_le(s + 16, 0, 8);
	n = 24;
	put_le(s + n, 2, 4);
	put_le(s + n + 4, 3, 4);
	memcpy(s + n + 8, "k1val", 5);
	n += 13;
	put_le(s + n, 0, 8);     /* end mark */
	put_le(s + n + 8, 1, 8); /* entries */
	n += 16;
	put_le(s + n, dkv_crc(DUMP_CRC_INIT, s, n), 4);
	put_le(s + n + 4, DUMP_END_MAGIC, 4);
	n += 8;
	bk_path(file, sizeof(file), DKVT_SHM_DIR, "bk-v1");
	FILE *f = fopen(file, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(fwrite(s, 1, n, f), n);
	fclose(f);
	int fd = open(file, O_RDONLY);
	struct dump_r r;
	memset(&r, 0, sizeof(r));
	const void *k, *v;
	uint32_t kl, vl;
	CU_ASSERT_EQUAL(dump_r_open(&r, fd), 0);
	CU_ASSERT_EQUAL(r.version, 1);
	CU_ASSERT_EQUAL(dump_r_next(&r, &k, &kl, &v, &vl), 1);
	CU_ASSERT(kl == 2 && vl == 3 && !memcmp(k, "k1", 2) && !memcmp(v, "val", 3));
	CU_ASSERT_EQUAL(r.expire, 0);
	CU_ASSERT_EQUAL(dump_r_next(&r, &k, &kl, &v, &vl), 0);
	dump_r_close(&r);
	close(fd);
	/* Version 3 (not yet written by anyone): refused, not guessed. */
	put_le(s + 8, 3, 4);
	f = fopen(file, "wb");
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_EQUAL(fwrite(s, 1, n, f), n);
	fclose(f);
	fd = open(file, O_RDONLY);
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL(dump_r_open(&r, fd), DAXKV_EVERSION);
	dump_r_close(&r);
	close(fd);
	dkvt_remove(file);
}

/* ---- suite: online (writers running) ---- */

#define ON_KEYS 4000u
#define ON_WRITERS 2u

struct writer {
	daxkv *db;
	uint32_t id;
	_Atomic int *stop;
	uint64_t rounds;
};

/* Round r rewrites each key of the writer's range in key order with version
 * r, so any instant shows versions r..r then r-1..r-1 along the range. */
static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char k[DKVT_KEYBUF];
	uint8_t v[64];
	uint32_t per = ON_KEYS / ON_WRITERS;
	for (uint64_t r = 1; !atomic_load(w->stop); r++) {
		for (uint32_t i = w->id * per; i < (w->id + 1) * per; i++) {
			dkvt_vmake(v, sizeof(v), i, w->id, r);
			if (daxkv_put(w->db, k, dkvt_key(i, k), v, sizeof(v)) != DAXKV_OK)
				return NULL;
		}
		/* a new key per round too: keys added during the backup */
		dkvt_vmake(v, sizeof(v), 90000 + (uint32_t)r, w->id, r);
		daxkv_put(w->db, k, dkvt_key(90000 + (uint32_t)r * ON_WRITERS + w->id, k), v,
			  sizeof(v));
		w->rounds = r;
	}
	return NULL;
}

/* Checks the snapshot property over the restored copy. */
static void check_snapshot(const char *copy)
{
	daxkv *db = dkvt_open_store(copy, 0, 0, 0, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	char k[DKVT_KEYBUF];
	uint8_t v[64];
	uint32_t per = ON_KEYS / ON_WRITERS;
	for (uint32_t w = 0; w < ON_WRITERS; w++) {
		uint64_t first = 0, prev = 0;
		unsigned steps = 0;
		for (uint32_t i = w * per; i < (w + 1) * per; i++) {
			size_t vl = 0;
			uint32_t key, wr;
			uint64_t ver = 0;
			int rc = daxkv_get(db, k, dkvt_key(i, k), v, sizeof(v), &vl);
			CU_ASSERT_EQUAL_FATAL(rc, DAXKV_OK); /* present before the call */
			CU_ASSERT_EQUAL_FATAL(dkvt_vcheck(v, vl, &key, &wr, &ver), 0);
			CU_ASSERT_EQUAL(key, i);
			if (i == w * per)
				first = prev = ver;
			CU_ASSERT(ver <= first && ver + 1 >= first);
			steps += ver != prev;
			prev = ver;
		}
		CU_ASSERT(steps <= 1); /* one instant: a single step down along the range */
	}
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
}

static void test_backup_while_writing(void)
{
	char path[256], copy[256], file[256];
	daxkv *db = dkvt_fresh_store(path, sizeof(path), "bk-online", 256 * DKVT_MIB, SEG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	char k[DKVT_KEYBUF];
	uint8_t v[64];
	for (uint32_t i = 0; i < ON_KEYS; i++) {
		dkvt_vmake(v, sizeof(v), i, i / (ON_KEYS / ON_WRITERS), 0);
		CU_ASSERT_EQUAL_FATAL(daxkv_put(db, k, dkvt_key(i, k), v, sizeof(v)), DAXKV_OK);
	}
	_Atomic int stop = 0;
	struct writer w[ON_WRITERS];
	pthread_t t[ON_WRITERS];
	for (uint32_t i = 0; i < ON_WRITERS; i++) {
		w[i] = (struct writer){ db, i, &stop, 0 };
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
	}
	usleep(20000);
	for (int b = 0; b < 3; b++) {
		bk_path(file, sizeof(file), DKVT_SHM_DIR, "bk-online-file");
		CU_ASSERT_EQUAL(daxkv_backup(db, file), DAXKV_OK);
		dkvt_path(copy, sizeof(copy), "bk-online-copy");
		dkvt_remove(copy);
		CU_ASSERT_EQUAL(restore_into(file, copy, NULL), 0);
		check_snapshot(copy);
		dkvt_remove(copy);
		dkvt_remove(file);
	}
	atomic_store(&stop, 1);
	for (uint32_t i = 0; i < ON_WRITERS; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT(w[0].rounds > 0);
	dkvt_close_remove(db, path);
}

/* ---- main ---- */

static const struct dkvt_test trip_tests[] = {
	{ "round_trip_block", test_round_trip_block },
	{ "round_trip_tmpfs", test_round_trip_tmpfs },
	{ "empty_store", test_empty_store },
	{ "expiry_round_trip", test_expiry_round_trip },
	{ "v1_stream", test_v1_stream },
	{ NULL, NULL },
};

static const struct dkvt_test error_tests[] = {
	{ "bad_args", test_bad_args },
	{ "damaged_stream", test_damaged_stream },
	{ NULL, NULL },
};

static const struct dkvt_test online_tests[] = {
	{ "backup_while_writing", test_backup_while_writing },
	{ NULL, NULL },
};

static const struct dkvt_suite suites[] = {
	{ "round_trip", trip_tests },
	{ "errors", error_tests },
	{ "online", online_tests },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
