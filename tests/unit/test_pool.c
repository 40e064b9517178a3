/*
 * test_pool.c -- the pool file (pmem/pool.c): create, header seal and check,
 * every way a header is refused (EVERSION), the backup header copy, an interrupted create (ENOTFOUND,
 * and daxkv_open's reformat of it), and the flock discipline: one read-write
 * opener, or any number of read-only ones (EBUSY otherwise).
 */
#define _XOPEN_SOURCE 700
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "common/dkvtest.h"
#include "engine/internal.h"
#include "tests/hooks/testhooks.h"
#include "pmem/pool.h"

#define PSIZE (DKV_SEG_BASE + 16 * 65536ull) /* 16 segments of 64 KiB */

static char g_path[256];

static void fresh_path(const char *tag)
{
	dkvt_path(g_path, sizeof(g_path), tag);
	dkvt_remove(g_path);
}

/* Fills a sealable geometry for a pool of size bytes (64 KiB segments). */
static void fill_geometry(struct pool_hdr *h, uint64_t size)
{
	memset(h, 0, sizeof(*h));
	h->pool_size = size;
	h->seg_size = 65536;
	h->seg_base = DKV_SEG_BASE;
	h->nsegs = (uint32_t)((size - DKV_SEG_BASE) / 65536);
	h->nlanes = DKV_LANES;
	h->uuid_lo = 0x1122334455667788ull;
	h->uuid_hi = 0x99aabbccddeeff00ull;
	h->create_time_ns = 12345;
}

/* Re-seals h's CRC over its current fields (pool_hdr_seal would also reset
 * magic and version). */
static void recrc(struct pool_hdr *h)
{
	h->crc = dkv_crc(0, h, offsetof(struct pool_hdr, crc));
}

/* Creates g_path as a pool with a sealed header; 0 or the error. */
static int make_pool(uint64_t size)
{
	struct pool p;
	int rc = pool_create(g_path, size, &p);
	if (rc)
		return rc;
	fill_geometry((struct pool_hdr *)p.base, size);
	pool_hdr_seal((struct pool_hdr *)p.base);
	pool_close(&p);
	return 0;
}

static int file_pwrite(const void *buf, size_t len, off_t at)
{
	int fd = open(g_path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = pwrite(fd, buf, len, at);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static int file_pread(void *buf, size_t len, off_t at)
{
	int fd = open(g_path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = pread(fd, buf, len, at);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* pool_open's answer for g_path (closing it when it succeeded). */
static int try_open(int read_only)
{
	struct pool p;
	int rc = pool_open(g_path, read_only, 0, &p);
	if (rc == 0) {
		CU_ASSERT_PTR_NOT_NULL(p.base);
		pool_close(&p);
	} else {
		CU_ASSERT_PTR_NULL(p.base);
		CU_ASSERT_EQUAL(p.fd, -1);
	}
	return rc;
}

/* ---- create, seal, check --------------------------------------------------------- */

static void test_create_seal(void)
{
	fresh_path("pool-create");
	struct pool p;
	CU_ASSERT_EQUAL_FATAL(pool_create(g_path, PSIZE, &p), 0);
	CU_ASSERT_PTR_NOT_NULL(p.base);
	CU_ASSERT_EQUAL(p.size, PSIZE);
	CU_ASSERT(p.fd >= 0);
	CU_ASSERT_EQUAL(p.is_pmem, 1); /* PMEM_IS_PMEM_FORCE=1 */
	CU_ASSERT_EQUAL(p.read_only, 0);
	struct stat st;
	CU_ASSERT_EQUAL(stat(g_path, &st), 0);
	CU_ASSERT_EQUAL((uint64_t)st.st_size, PSIZE);
	/* the header is left zeroed for the caller to format */
	struct pool_hdr *h = (struct pool_hdr *)p.base;
	const uint8_t *b = (const uint8_t *)p.base;
	size_t nz = 0;
	for (size_t i = 0; i < POOL_HDR_SIZE; i++)
		nz += b[i] != 0;
	CU_ASSERT_EQUAL(nz, 0);
	CU_ASSERT_EQUAL(pool_hdr_check(h, PSIZE), DAXKV_ENOTPOOL);
	/* a second create of the same path is refused, and leaves it alone */
	struct pool q;
	CU_ASSERT_EQUAL(pool_create(g_path, PSIZE, &q), DAXKV_EBUSY);
	CU_ASSERT_EQUAL(access(g_path, F_OK), 0);

	fill_geometry(h, PSIZE);
	pool_hdr_seal(h);
	CU_ASSERT_EQUAL(memcmp(h->magic, POOL_MAGIC, 8), 0);
	CU_ASSERT_EQUAL(h->version, POOL_FORMAT_VERSION);
	CU_ASSERT_EQUAL(h->hdr_size, POOL_HDR_SIZE);
	CU_ASSERT_EQUAL(h->crc, dkv_crc(0, h, offsetof(struct pool_hdr, crc)));
	CU_ASSERT_EQUAL(pool_hdr_check(h, PSIZE), 0);
	CU_ASSERT_EQUAL(pool_hdr_check(h, PSIZE + 4096), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(pool_hdr_check(h, PSIZE - 4096), DAXKV_ECORRUPT);
	pool_close(&p);
	CU_ASSERT_PTR_NULL(p.base);
	CU_ASSERT_EQUAL(p.fd, -1);

	/* it opens, read-write and read-only, with the same header */
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 0, 0, &p), 0);
	CU_ASSERT_EQUAL(p.size, PSIZE);
	CU_ASSERT_EQUAL(p.read_only, 0);
	h = (struct pool_hdr *)p.base;
	CU_ASSERT_EQUAL(h->nsegs, 16);
	CU_ASSERT_EQUAL(h->uuid_hi, 0x99aabbccddeeff00ull);
	pool_close(&p);
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 1, 0, &p), 0);
	CU_ASSERT_EQUAL(p.read_only, 1);
	CU_ASSERT_EQUAL(pool_hdr_check((struct pool_hdr *)p.base, PSIZE), 0);
	pool_close(&p);
	/* a missing file */
	dkvt_remove(g_path);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ENOSTORE);
	CU_ASSERT_EQUAL(try_open(1), DAXKV_ENOSTORE);
}

/* ---- bad headers (in memory) --------------------------------------------------------- */

static void test_hdr_check(void)
{
	struct pool_hdr good, h;
	fill_geometry(&good, PSIZE);
	memcpy(good.magic, POOL_MAGIC, 8);
	good.version = POOL_FORMAT_VERSION;
	good.hdr_size = POOL_HDR_SIZE;
	recrc(&good);
	CU_ASSERT_EQUAL_FATAL(pool_hdr_check(&good, PSIZE), 0);

	/* bad magic (with a matching CRC, and without) */
	h = good;
	h.magic[0] = 'X';
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ENOTPOOL);
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ENOTPOOL);
	h = good;
	h.magic[7] = 'Z'; /* the trailing NUL is part of the magic */
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ENOTPOOL);
	/* bad version: a newer and an older format, CRC valid */
	const uint32_t versions[] = { 0, POOL_FORMAT_VERSION + 1, 0xffffffffu };
	for (size_t i = 0; i < 3; i++) {
		h = good;
		h.version = versions[i];
		recrc(&h);
		CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_EVERSION);
	}
	/* a flipped byte in the CRC, and in each covered field */
	for (size_t i = 0; i < 4; i++) {
		h = good;
		((uint8_t *)&h.crc)[i] ^= 0x01;
		CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ECORRUPT);
	}
	for (size_t off = 8; off < offsetof(struct pool_hdr, crc); off += 4) {
		h = good;
		((uint8_t *)&h)[off] ^= 0x40;
		CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ECORRUPT);
	}
	/* geometry that does not match the file (CRC valid) */
	CU_ASSERT_EQUAL(pool_hdr_check(&good, PSIZE + 65536), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(pool_hdr_check(&good, PSIZE - 1), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(pool_hdr_check(&good, 0), DAXKV_ECORRUPT);
	h = good;
	h.nsegs += 1; /* one segment past the end */
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ECORRUPT);
	h = good;
	h.nsegs = 0;
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ECORRUPT);
	h = good;
	h.seg_size = 0;
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ECORRUPT);
	h = good;
	h.seg_size *= 2;
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ECORRUPT);
	h = good;
	h.seg_base += 65536;
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ECORRUPT);
	h = good;
	h.hdr_size = 8192;
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ECORRUPT);
	h = good;
	h.pool_size = PSIZE + 65536;
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE + 65536), 0); /* fits the bigger file */
	/* fewer segments than the file holds is a valid geometry */
	h = good;
	h.nsegs -= 1;
	recrc(&h);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), 0);
	/* all zeroes */
	memset(&h, 0, sizeof(h));
	CU_ASSERT_EQUAL(pool_hdr_check(&h, PSIZE), DAXKV_ENOTPOOL);
	/* the good one is still good */
	CU_ASSERT_EQUAL(pool_hdr_check(&good, PSIZE), 0);
}

/* ---- bad headers on file: pool_open refuses them ----------------------------------- */

/* Zeroes the backup header copy: the refusals below are those of a pool
 * whose only header is the primary (test_backup_hdr covers the copy). */
static void kill_backup(void)
{
	struct pool_hdr zero;
	memset(&zero, 0, sizeof(zero));
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&zero, sizeof(zero), POOL_HDR_BACKUP_OFF), 0);
}

static void test_open_bad(void)
{
	fresh_path("pool-bad");
	CU_ASSERT_EQUAL_FATAL(make_pool(PSIZE), 0);
	CU_ASSERT_EQUAL(try_open(0), 0);
	struct pool_hdr good, h;
	CU_ASSERT_EQUAL_FATAL(file_pread(&good, sizeof(good), 0), 0);
	kill_backup();

	/* bad magic */
	h = good;
	memcpy(h.magic, "DAXKVPX\0", 8);
	recrc(&h);
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), 0), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ENOTPOOL);
	CU_ASSERT_EQUAL(try_open(1), DAXKV_ENOTPOOL);
	/* bad version */
	h = good;
	h.version = POOL_FORMAT_VERSION + 1;
	recrc(&h);
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), 0), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_EVERSION);
	/* a flipped CRC byte */
	h = good;
	h.crc ^= 0x00010000u;
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), 0), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(try_open(1), DAXKV_ECORRUPT);
	/* a flipped byte of the geometry */
	h = good;
	((uint8_t *)&h.seg_size)[2] ^= 1;
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), 0), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ECORRUPT);
	/* the good header again opens */
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&good, sizeof(good), 0), 0);
	CU_ASSERT_EQUAL(try_open(0), 0);
	/* the file grew: its size no longer matches the geometry */
	CU_ASSERT_EQUAL_FATAL(truncate(g_path, (off_t)PSIZE + 65536), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(try_open(1), DAXKV_ECORRUPT);
	/* and shrank */
	CU_ASSERT_EQUAL_FATAL(truncate(g_path, (off_t)PSIZE - 65536), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL_FATAL(truncate(g_path, (off_t)PSIZE), 0);
	CU_ASSERT_EQUAL(try_open(0), 0);

	/* an all-zero header: an interrupted create */
	kill_backup(); /* the read-write opens above restored it */
	struct pool_hdr zero;
	memset(&zero, 0, sizeof(zero));
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&zero, sizeof(zero), 0), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ENOSTORE);
	CU_ASSERT_EQUAL(try_open(1), DAXKV_ENOSTORE);
	/* one non-zero byte anywhere in it is a damaged header, not an unfinished one */
	zero.pad[10] = 1;
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&zero, sizeof(zero), 0), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ENOTPOOL);
	zero.pad[10] = 0;
	zero.crc = 1;
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&zero, sizeof(zero), 0), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ENOTPOOL);
	dkvt_remove(g_path);

	/* pool_create left alone (the process died before the seal) */
	fresh_path("pool-unsealed");
	struct pool p;
	CU_ASSERT_EQUAL_FATAL(pool_create(g_path, PSIZE, &p), 0);
	pool_close(&p);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ENOSTORE);
	dkvt_remove(g_path);

	/* files too small to hold a header (and the fixed area after it) */
	const off_t small[] = { 0, 100, POOL_HDR_SIZE - 1, POOL_HDR_SIZE,
				POOL_HDR_SIZE + DKV_SEG_BASE - 1 };
	fresh_path("pool-small");
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		int fd = open(g_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT_EQUAL(ftruncate(fd, small[i]), 0);
		if (small[i] >= (off_t)sizeof(good)) /* even with a good-looking header */
			CU_ASSERT_EQUAL(pwrite(fd, &good, sizeof(good), 0), (ssize_t)sizeof(good));
		close(fd);
		/* no room for a header: not a pool; a header whose pool is cut short:
		 * a damaged pool */
		int want = small[i] < POOL_HDR_SIZE ? DAXKV_ENOTPOOL : DAXKV_ECORRUPT;
		int rc = try_open(0);
		if (rc != want)
			fprintf(stderr, "file of %lld bytes: rc %d\n", (long long)small[i], rc);
		CU_ASSERT_EQUAL(rc, want);
		CU_ASSERT_EQUAL(try_open(1), want);
	}
	dkvt_remove(g_path);
	/* not a regular file */
	CU_ASSERT_EQUAL(mkdir(g_path, 0700), 0);
	CU_ASSERT_NOT_EQUAL(try_open(1), 0);
	rmdir(g_path);
}

/* ---- the backup header copy ------------------------------------------------------ */

static int backup_is(const struct pool_hdr *want)
{
	struct pool_hdr b;
	return file_pread(&b, sizeof(b), POOL_HDR_BACKUP_OFF) == 0 &&
	       memcmp(&b, want, sizeof(b)) == 0;
}

static void test_backup_hdr(void)
{
	fresh_path("pool-backup");
	CU_ASSERT_EQUAL_FATAL(make_pool(PSIZE), 0);
	struct pool_hdr good, h, zero;
	memset(&zero, 0, sizeof(zero));
	CU_ASSERT_EQUAL_FATAL(file_pread(&good, sizeof(good), 0), 0);
	CU_ASSERT(backup_is(&good)); /* create wrote the copy */

	/* one flipped byte of the primary: both opens work, through the copy;
	 * read-only writes nothing, read-write restores the primary */
	h = good;
	((uint8_t *)&h.nsegs)[0] ^= 0x10;
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), 0), 0);
	struct pool p;
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 1, 0, &p), 0);
	CU_ASSERT_EQUAL(p.hdr->nsegs, good.nsegs);
	CU_ASSERT_EQUAL(p.hdr_restored, 0);
	pool_close(&p);
	struct pool_hdr cur;
	CU_ASSERT_EQUAL(file_pread(&cur, sizeof(cur), 0), 0);
	CU_ASSERT_EQUAL(memcmp(&cur, &h, sizeof(h)), 0);
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 0, 0, &p), 0);
	CU_ASSERT_EQUAL(p.hdr_restored, 1);
	CU_ASSERT_EQUAL(pool_hdr_check(p.hdr, PSIZE), 0);
	pool_close(&p);
	CU_ASSERT_EQUAL(file_pread(&cur, sizeof(cur), 0), 0);
	CU_ASSERT_EQUAL(memcmp(&cur, &good, sizeof(good)), 0);

	/* both copies damaged: ECORRUPT */
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), 0), 0);
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), POOL_HDR_BACKUP_OFF), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_ECORRUPT);
	CU_ASSERT_EQUAL(try_open(1), DAXKV_ECORRUPT);

	/* a zeroed primary with a sound copy is a damaged pool, not an
	 * interrupted create: it opens */
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&good, sizeof(good), POOL_HDR_BACKUP_OFF), 0);
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&zero, sizeof(zero), 0), 0);
	CU_ASSERT_EQUAL(try_open(1), 0);
	CU_ASSERT_EQUAL(try_open(0), 0);
	CU_ASSERT_EQUAL(file_pread(&cur, sizeof(cur), 0), 0);
	CU_ASSERT_EQUAL(memcmp(&cur, &good, sizeof(good)), 0);

	/* a pool from before the copy (zero there): the first read-write open
	 * adds it, a read-only one does not */
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&zero, sizeof(zero), POOL_HDR_BACKUP_OFF), 0);
	CU_ASSERT_EQUAL(try_open(1), 0);
	CU_ASSERT(backup_is(&zero));
	CU_ASSERT_EQUAL(try_open(0), 0);
	CU_ASSERT(backup_is(&good));

	/* a sound primary of another version does not fall back to the copy */
	h = good;
	h.version = POOL_FORMAT_VERSION + 1;
	recrc(&h);
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), 0), 0);
	CU_ASSERT_EQUAL(try_open(0), DAXKV_EVERSION);
	dkvt_remove(g_path);

	/* through the API: a store whose primary header lost a byte keeps its data */
	fresh_path("pool-backup-db");
	daxkv_options oc = dkvt_opts(16 * DKVT_MIB, DKVT_MIB, 1, 0);
	daxkv *db = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &oc, &db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put(db, "k", 1, "v1", 2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	CU_ASSERT_EQUAL_FATAL(file_pread(&good, sizeof(good), 0), 0);
	uint8_t bad = good.magic[3] ^ 0x20;
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&bad, 1, 3), 0);
	daxkv_options ro = dkvt_opts(0, 0, 0, 1);
	char buf[8];
	size_t vl = 0;
	CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &ro, &db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_get(db, "k", 1, buf, sizeof(buf), &vl), DAXKV_OK);
	CU_ASSERT(vl == 2 && memcmp(buf, "v1", 2) == 0);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	daxkv_options rw = dkvt_opts(0, 0, 0, 0);
	CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &rw, &db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_get(db, "k", 1, buf, sizeof(buf), &vl), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put(db, "k2", 2, "v2", 2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	CU_ASSERT_EQUAL(file_pread(&cur, sizeof(cur), 0), 0);
	CU_ASSERT_EQUAL(memcmp(&cur, &good, sizeof(good)), 0);
	dkvt_remove(g_path);
}

/* ---- locks --------------------------------------------------------------------------- */

static void test_locks(void)
{
	fresh_path("pool-lock");
	CU_ASSERT_EQUAL_FATAL(make_pool(PSIZE), 0);
	struct pool a, b, c;

	/* read-write is exclusive: a second open file description conflicts
	 * even in the same process */
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 0, 0, &a), 0);
	CU_ASSERT_EQUAL(pool_open(g_path, 0, 0, &b), DAXKV_EBUSY);
	CU_ASSERT_PTR_NULL(b.base);
	CU_ASSERT_EQUAL(b.fd, -1);
	CU_ASSERT_EQUAL(pool_open(g_path, 1, 0, &b), DAXKV_EBUSY);
	/* the holder is unaffected */
	CU_ASSERT_EQUAL(pool_hdr_check((struct pool_hdr *)a.base, PSIZE), 0);
	pool_close(&a);
	/* closing drops the lock */
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 0, 0, &a), 0);
	pool_close(&a);

	/* read-only is shared: two readers, then a writer is refused */
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 1, 0, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 1, 0, &b), 0);
	CU_ASSERT_EQUAL(a.read_only, 1);
	CU_ASSERT_EQUAL(b.read_only, 1);
	CU_ASSERT_NOT_EQUAL(a.fd, b.fd);
	CU_ASSERT_EQUAL(pool_open(g_path, 0, 0, &c), DAXKV_EBUSY);
	pool_close(&a);
	CU_ASSERT_EQUAL(pool_open(g_path, 0, 0, &c), DAXKV_EBUSY); /* b still reads */
	pool_close(&b);
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 0, 0, &c), 0);
	pool_close(&c);

	/* the same through the API */
	daxkv_options o = dkvt_opts(0, 0, 0, 0);
	CU_ASSERT_EQUAL_FATAL(pool_open(g_path, 0, 0, &a), 0);
	daxkv *db = NULL;
	/* (the pool is not a formatted store, but the lock is checked first) */
	CU_ASSERT_EQUAL(daxkv_open(g_path, &o, &db), DAXKV_EBUSY);
	CU_ASSERT_PTR_NULL(db);
	pool_close(&a);
	dkvt_remove(g_path);

	/* a real store: held by daxkv_open, refused to pool_open */
	fresh_path("pool-lock-db");
	daxkv_options oc = dkvt_opts(16 * DKVT_MIB, DKVT_MIB, 1, 0);
	CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &oc, &db), DAXKV_OK);
	CU_ASSERT_EQUAL(pool_open(g_path, 0, 0, &a), DAXKV_EBUSY);
	CU_ASSERT_EQUAL(pool_open(g_path, 1, 0, &a), DAXKV_EBUSY);
	daxkv *db2 = NULL;
	CU_ASSERT_EQUAL(daxkv_open(g_path, &oc, &db2), DAXKV_EBUSY);
	CU_ASSERT_PTR_NULL(db2);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	/* two read-only stores at once */
	daxkv_options ro = dkvt_opts(0, 0, 0, 0);
	ro.read_only = 1;
	daxkv *r1 = NULL, *r2 = NULL;
	CU_ASSERT_EQUAL(daxkv_open(g_path, &ro, &r1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_open(g_path, &ro, &r2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_open(g_path, &o, &db2), DAXKV_EBUSY);
	CU_ASSERT_EQUAL(daxkv_close(r1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(r2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_open(g_path, &o, &db2), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db2), DAXKV_OK);
	dkvt_remove(g_path);
}

/* ---- daxkv_open reformats an interrupted create --------------------------------- */

static void test_reformat(void)
{
	fresh_path("pool-reformat");
	daxkv_options oc = dkvt_opts(16 * DKVT_MIB, DKVT_MIB, 1, 0);
	daxkv_options on = dkvt_opts(16 * DKVT_MIB, DKVT_MIB, 0, 0);
	daxkv *db = NULL;
	CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &oc, &db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_put(db, "old", 3, "data", 4), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	struct pool_hdr before;
	CU_ASSERT_EQUAL_FATAL(file_pread(&before, sizeof(before), 0), 0);

	/* zero the header and its copy: an interrupted create (a zeroed primary
	 * alone is damage the copy covers: test_backup_hdr) */
	struct pool_hdr zero;
	memset(&zero, 0, sizeof(zero));
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&zero, sizeof(zero), 0), 0);
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&zero, sizeof(zero), POOL_HDR_BACKUP_OFF), 0);
	db = NULL;
	CU_ASSERT_EQUAL(daxkv_open(g_path, &on, &db), DAXKV_ENOSTORE); /* not without create */
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_EQUAL(access(g_path, F_OK), 0); /* and it is left in place */

	/* a different geometry this time, to see the new format */
	daxkv_options o2 = dkvt_opts(8 * DKVT_MIB, 512 * 1024, 1, 0);
	CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &o2, &db), DAXKV_OK);
	CU_ASSERT_EQUAL(dkv_test_was_clean(db), 1); /* a fresh store */
	struct stat st;
	CU_ASSERT_EQUAL(stat(g_path, &st), 0);
	CU_ASSERT_EQUAL((uint64_t)st.st_size, 8 * DKVT_MIB);
	CU_ASSERT_EQUAL(db->hdr->pool_size, 8 * DKVT_MIB);
	CU_ASSERT_EQUAL(db->hdr->seg_size, 512 * 1024);
	CU_ASSERT_EQUAL(pool_hdr_check(db->hdr, 8 * DKVT_MIB), 0);
	size_t vl = 0;
	char v[8];
	CU_ASSERT_EQUAL(daxkv_get(db, "old", 3, v, sizeof(v), &vl), DAXKV_ENOTFOUND);
	daxkv_stats s;
	CU_ASSERT_EQUAL(daxkv_stats_get(db, &s), DAXKV_OK);
	CU_ASSERT_EQUAL(s.keys, 0);
	CU_ASSERT_EQUAL(daxkv_put(db, "new", 3, "x", 1), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	/* a sealed header now: a plain open works and sees the new key */
	CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &on, &db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_get(db, "new", 3, v, sizeof(v), &vl), DAXKV_OK);
	CU_ASSERT_EQUAL(vl, 1);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);

	/* a damaged (not zero) header is never reformatted: create answers
	 * ECORRUPT (both copies damaged) */
	struct pool_hdr h;
	CU_ASSERT_EQUAL_FATAL(file_pread(&h, sizeof(h), 0), 0);
	h.crc ^= 1;
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), 0), 0);
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), POOL_HDR_BACKUP_OFF), 0);
	db = NULL;
	CU_ASSERT_EQUAL(daxkv_open(g_path, &oc, &db), DAXKV_ECORRUPT);
	CU_ASSERT_PTR_NULL(db);
	h.crc ^= 1;
	CU_ASSERT_EQUAL_FATAL(file_pwrite(&h, sizeof(h), 0), 0);
	CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &on, &db), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_get(db, "new", 3, v, sizeof(v), &vl), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(g_path);

	/* pool_create's bare file (never formatted) is taken over by create */
	fresh_path("pool-reformat-bare");
	struct pool p;
	CU_ASSERT_EQUAL_FATAL(pool_create(g_path, PSIZE, &p), 0);
	pool_close(&p);
	CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &oc, &db), DAXKV_OK);
	CU_ASSERT_EQUAL(db->hdr->pool_size, 16 * DKVT_MIB);
	CU_ASSERT_EQUAL(daxkv_put(db, "k", 1, "v", 1), DAXKV_OK);
	char msg[256] = "";
	CU_ASSERT_EQUAL(dkv_test_check(db, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(g_path);
}

static const struct dkvt_test tests[] = {
	{ "create_seal", test_create_seal },
	{ "hdr_check", test_hdr_check },
	{ "open_bad", test_open_bad },
	{ "backup_hdr", test_backup_hdr },
	{ "locks", test_locks },
	{ "reformat", test_reformat },
	{ NULL, NULL },
};
static const struct dkvt_suite suites[] = {
	{ "pool", tests },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
