/*
 * fuzz_common.h -- what the libFuzzer targets share: scratch paths, a valid
 * small pool built once per process (the template the inputs mutate), and
 * "read everything" over an opened store.
 *
 * A target may see any result code from the engine; what it may not see is a
 * crash, a hang, a sanitizer report, or an answer that breaks the API's own
 * promises (an iterator going backwards in key order, a value of the wrong
 * length).  Those are reported with __builtin_trap(), which libFuzzer records
 * as a crash with its reproducer.
 */
#ifndef DAXKV_FUZZ_COMMON_H
#define DAXKV_FUZZ_COMMON_H

#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daxkv.h"
#include "tests/hooks/testhooks.h"

#define FZ_SEG (64u << 10)
#define FZ_NSEGS 8u
#define FZ_POOL (16384u + FZ_NSEGS * FZ_SEG)
#define FZ_KEYS 300u    /* keys of the template workload */
#define FZ_ITER_MAX 100000u /* more iterator steps than the pool has nodes: a hang */

/* A broken promise: say which, then crash so libFuzzer keeps the input. */
#define FZ_FAIL(...)                                                                       \
	do {                                                                               \
		fprintf(stderr, "fuzz: " __VA_ARGS__);                                     \
		fputc('\n', stderr);                                                       \
		__builtin_trap();                                                          \
	} while (0)

static inline void fz_path(char *buf, size_t cap, const char *tag)
{
	const char *dir = getenv("DAXKV_FUZZ_TMP");
	snprintf(buf, cap, "%s/daxkv-fuzz-%d-%s", dir && *dir ? dir : "/dev/shm", (int)getpid(),
		 tag);
}

static inline int fz_write_file(const char *path, const void *data, size_t len)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	const char *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return close(fd);
}

/* The whole file (malloc'd) and its length, or NULL. */
static inline void *fz_read_file(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size);
	size_t done = 0;
	while (buf && done < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
		if (n <= 0) {
			free(buf);
			buf = NULL;
		} else {
			done += (size_t)n;
		}
	}
	close(fd);
	*len = done;
	return buf;
}

/* Keys of three shapes: short, 16+ bytes sharing a 16-byte prefix (the
 * comparisons then read the record's key), and medium.  Returns the length. */
static inline size_t fz_key(unsigned i, char *buf)
{
	switch (i % 3) {
	case 0:
		return (size_t)sprintf(buf, "k%u", i);
	case 1:
		return (size_t)sprintf(buf, "shared-prefix-16-key-%05u", i);
	default:
		return (size_t)sprintf(buf, "key-%06u", i);
	}
}

static inline size_t fz_val(unsigned i, unsigned ver, char *buf)
{
	size_t len = 8 + (i * 37 + ver * 11) % 180;
	for (size_t j = 0; j < len; j++)
		buf[j] = (char)('a' + (i + ver + j) % 26);
	return len;
}

/* The backend the target's stores use (fuzz_blkopen: block). */
static int fz_backend = DAXKV_BACKEND_AUTO;

static inline int fz_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

/* Removes a pool file or a block store's directory. */
static inline void fz_remove(const char *path)
{
	nftw(path, fz_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh template-sized store at path (no background GC), or NULL. */
static inline daxkv *fz_create(const char *path)
{
	daxkv_options o;
	daxkv_options_init(&o);
	o.pool_size = FZ_POOL;
	o.segment_size = FZ_SEG;
	o.create = 1;
	o.gc_background = 0;
	o.backend = fz_backend;
	daxkv *db = NULL;
	fz_remove(path);
	return daxkv_open(path, &o, &db) == DAXKV_OK ? db : NULL;
}

/* Runs the template workload on a fresh store at path: puts, overwrites,
 * deletes, a batch, sealed segments and a GC pass, then more puts into the
 * active segment.  Returns the open store (NULL on failure). */
static inline daxkv *fz_template_workload(const char *path)
{
	char k[64], v[256];
	daxkv *db = fz_create(path);
	if (!db)
		return NULL;
	for (unsigned i = 0; i < FZ_KEYS; i++)
		daxkv_put(db, k, fz_key(i, k), v, fz_val(i, 0, v));
	for (unsigned i = 0; i < FZ_KEYS; i += 3)
		daxkv_put(db, k, fz_key(i, k), v, fz_val(i, 1, v));
	for (unsigned i = 0; i < FZ_KEYS; i += 7)
		daxkv_delete(db, k, fz_key(i, k));
	daxkv_batch *b = NULL;
	if (daxkv_batch_new(&b) == DAXKV_OK) {
		for (unsigned i = FZ_KEYS; i < FZ_KEYS + 16; i++)
			daxkv_batch_put(b, k, fz_key(i, k), v, fz_val(i, 0, v));
		for (unsigned i = 1; i < 40; i += 5)
			daxkv_batch_delete(b, k, fz_key(i, k));
		daxkv_batch_put(b, k, fz_key(2, k), v, fz_val(2, 2, v));
		daxkv_write(db, b);
		daxkv_batch_free(b);
	}
	dkv_test_seal_all(db);
	daxkv_gc(db);
	for (unsigned i = 0; i < FZ_KEYS; i += 11)
		daxkv_put(db, k, fz_key(i, k), v, fz_val(i, 3, v));
	return db;
}

/* The template image: clean (after close) or unclean (copied while open:
 * clean flag 0, active tails behind, stale lane slots).  NULL on failure. */
static inline void *fz_template(int unclean, size_t *len)
{
	char path[512];
	dkv_test_level_seed = 0x5eed5eed5eed5eedull; /* the same pool in every process */
	fz_path(path, sizeof(path), unclean ? "tmpl-unclean" : "tmpl-clean");
	daxkv *db = fz_template_workload(path);
	if (!db)
		return NULL;
	void *img = NULL;
	if (unclean)
		img = fz_read_file(path, len);
	daxkv_close(db);
	if (!unclean)
		img = fz_read_file(path, len);
	unlink(path);
	return img;
}

/* Opens path and reads everything: stats, a forward and a backward walk
 * (getting each key seen), seeks, gets of the template's keys, close.  Any
 * result code is fine; a broken API promise traps. */
static inline void fz_exercise(const char *path, int read_only)
{
	daxkv_options o;
	daxkv_options_init(&o);
	o.read_only = read_only;
	o.gc_background = 0;
	o.backend = fz_backend;
	daxkv *db = NULL;
	if (daxkv_open(path, &o, &db) != DAXKV_OK)
		return;
	daxkv_stats st;
	(void)daxkv_stats_get(db, &st);
	char key[DAXKV_KEY_MAX > 256 ? 256 : DAXKV_KEY_MAX], prev[256], val[256];
	size_t plen = 0, vlen = 0;
	daxkv_iter *it = NULL;
	if (daxkv_iter_new(db, &it) == DAXKV_OK) {
		unsigned steps = 0;
		for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it)) {
			size_t klen = 0;
			const void *kp = daxkv_iter_key(it, &klen);
			if (++steps > FZ_ITER_MAX)
				FZ_FAIL("forward walk does not end");
			if (!kp || klen == 0 || klen > DAXKV_KEY_MAX)
				FZ_FAIL("iter_key gave %p, %zu bytes", kp, klen);
			const void *vp = daxkv_iter_value(it, &vlen);
			if (vp && vlen) /* touch every byte the API hands out */
				memcpy(val, vp, vlen < sizeof(val) ? vlen : sizeof(val));
			size_t n = klen < sizeof(key) ? klen : sizeof(key);
			memcpy(key, kp, n);
			/* keys come in strictly increasing order */
			if (plen && n == klen && plen <= sizeof(prev)) {
				size_t m = plen < n ? plen : n;
				int c = memcmp(prev, key, m);
				if (c > 0 || (c == 0 && plen >= n))
					FZ_FAIL("forward walk out of order: %.*s after %.*s", (int)n,
						key, (int)plen, prev);
			}
			memcpy(prev, key, n);
			plen = n == klen ? n : 0;
			if (n == klen)
				(void)daxkv_get(db, key, klen, val, sizeof(val), &vlen);
		}
		(void)daxkv_iter_status(it);
		steps = 0;
		for (daxkv_iter_seek_last(it); daxkv_iter_valid(it) && steps < FZ_ITER_MAX;
		     daxkv_iter_prev(it))
			if (++steps == FZ_ITER_MAX)
				FZ_FAIL("backward walk does not end");
		for (unsigned i = 0; i < FZ_KEYS + 16; i += 13) {
			size_t klen = fz_key(i, key);
			daxkv_iter_seek(it, key, klen);
			if (daxkv_iter_valid(it))
				(void)daxkv_iter_value(it, &vlen);
		}
		daxkv_iter_free(it);
	}
	for (unsigned i = 0; i < FZ_KEYS + 16; i++) {
		size_t klen = fz_key(i, key);
		int rc = daxkv_get(db, key, klen, val, sizeof(val), &vlen);
		if (rc == DAXKV_OK && vlen > DAXKV_VALUE_MAX)
			FZ_FAIL("get answered a value of %zu bytes", vlen);
	}
	(void)daxkv_stats_get(db, &st);
	daxkv_close(db);
}

#endif
