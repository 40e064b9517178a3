/*
 * segfile.c -- the files of a block-backend store: segment files appended
 * through io_uring with group commit, and the backend's other file-system
 * calls (segfile.h).  Nothing here knows about keys or records.
 *
 * A segment file has an image in DRAM (the engine's view of the segment)
 * that appenders fill front to back; iosf_sync makes a prefix of it durable.
 * Group commit (the leader/follower scheme of database logs): the first
 * caller that finds no write in flight becomes the leader and writes every
 * byte filled so far, from the block holding the first byte not yet durable,
 * in one O_DIRECT write made durable by RWF_DSYNC (or a linked fdatasync);
 * callers arriving meanwhile wait, and either the write covered them or one
 * of them leads the next.  So N concurrent appenders pay about one device
 * write between them, and a caller returns only once its bytes are durable.
 * The last, partial block is written again by the next group with more
 * bytes in it: its earlier bytes are the same in both writes, so a torn
 * rewrite cannot lose what an earlier group made durable (sector writes are
 * atomic).
 *
 * O_DIRECT is used where the filesystem accepts it (buffers, offsets and
 * lengths 4096-aligned: the image's pages are the buffers, no copy);
 * elsewhere the same writes go through the page cache with the same
 * durability calls.  Where io_uring is refused (ENOSYS, EPERM: a seccomp
 * profile), pwritev2(RWF_DSYNC) / pwrite + fdatasync do the same.
 *
 * A sealed segment file is never written again: its data range is mapped
 * read-only (MAP_SHARED) over the image, so reads come from the page cache
 * and DRAM holds only what the kernel caches.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daxkv.h"
#include "io/segfile.h"
#include "io/segfile_shadow.h"
#include "pmem/util.h"

#define SF_NAME_MAX 64u
#define SF_DIR_MAX 4096u

struct io_segfile {
	int fd;
	int direct;
	const char *img;
	uint64_t size;
	char dir[SF_DIR_MAX];
	char name[SF_NAME_MAX];

	pthread_mutex_t mu;
	pthread_cond_t cv[2]; /* waiters for write number g wait on cv[g & 1] */
	int nwait[2];
	uint64_t gen;         /* leader writes started */
	uint64_t inflight_to; /* what the write in flight covers */
	_Atomic uint64_t filled; /* bytes of img holding data (one appender at a time) */
	uint64_t durable; /* bytes known durable in the file */
	int leading;      /* a leader's write is in flight */
	int err;          /* sticky: the first failed write's code */
	_Atomic uint64_t syncs, waits; /* read by stats while written */
	const _Atomic int *gather; /* writers about to append (iosf_gather) */
	uint64_t gather_ns;        /* the longest a leader waits for them */

	struct io_uring ring;
	int ring_state; /* 0 not tried, 1 ready, -1 refused: pwritev2 */
};

static int sf_mode = -1;

int iosf_sync_mode(void)
{
	if (sf_mode < 0) {
		const char *m = getenv("DAXKV_IO_SYNC");
		sf_mode = m && strcmp(m, "fsync") == 0 ? IOSF_FSYNC : IOSF_DSYNC;
	}
	return sf_mode;
}

/* The errno of a failed call as a status: a full filesystem is ENOSPC, a
 * refusal of access EACCES, anything else EIO. */
static int sf_err(int err, const char *dir, const char *name, const char *what)
{
	int code = err == ENOSPC || err == EDQUOT ? DAXKV_ENOSPC
		   : err == EACCES || err == EPERM || err == EROFS ? DAXKV_EACCES
								     : DAXKV_EIO;
	return dkv_err(code, "%s/%s: %s: %s", dir, name ? name : "", what, strerror(err));
}

/* Ring setup and teardown, one at a time: a ring's memory is mapped by
 * liburing's own system calls, so a new ring may land where a closed one
 * was, unseen by ThreadSanitizer -- this lock orders the two lifetimes. */
static pthread_mutex_t sf_ring_mu = PTHREAD_MUTEX_INITIALIZER;

static void sf_ring_exit(struct io_segfile *f)
{
	if (f->ring_state > 0) {
		pthread_mutex_lock(&sf_ring_mu);
		io_uring_queue_exit(&f->ring);
		pthread_mutex_unlock(&sf_ring_mu);
	}
	f->ring_state = 0;
}

static int sf_ring(struct io_segfile *f)
{
	if (f->ring_state == 0) {
		pthread_mutex_lock(&sf_ring_mu);
		int rc = io_uring_queue_init(4, &f->ring, 0);
		pthread_mutex_unlock(&sf_ring_mu);
		f->ring_state = rc == 0 ? 1 : -1;
		if (rc < 0 && rc != -ENOSYS && rc != -EPERM)
			return sf_err(-rc, f->dir, f->name, "io_uring_queue_init");
	}
	return 0;
}

/* One durable write of [off, off+len) of the image; short writes go on. */
static int sf_write_durable(struct io_segfile *f, uint64_t off, uint64_t len)
{
	int rc = sf_ring(f);
	if (rc)
		return rc;
	bool fsync_mode = iosf_sync_mode() == IOSF_FSYNC;
	const uint64_t off0 = off, len0 = len;
	while (len) {
		ssize_t n;
		if (f->ring_state > 0) {
			struct io_uring_sqe *w = io_uring_get_sqe(&f->ring);
			io_uring_prep_write(w, f->fd, f->img + off, (unsigned)len, off);
			unsigned want = 1;
			if (fsync_mode) {
				w->flags |= IOSQE_IO_LINK;
				struct io_uring_sqe *s = io_uring_get_sqe(&f->ring);
				io_uring_prep_fsync(s, f->fd, IORING_FSYNC_DATASYNC);
				want = 2;
			} else {
				w->rw_flags = RWF_DSYNC;
			}
			int sub = io_uring_submit_and_wait(&f->ring, want);
			if (sub < 0)
				return sf_err(-sub, f->dir, f->name, "io_uring_submit");
			n = 0;
			int fs = 0;
			for (unsigned i = 0; i < want; i++) {
				struct io_uring_cqe *cqe = NULL;
				int wr = io_uring_wait_cqes(&f->ring, &cqe, 1, NULL, NULL);
				if (wr < 0)
					return sf_err(-wr, f->dir, f->name, "io_uring_wait_cqes");
				if (i == 0)
					n = cqe->res;
				else
					fs = cqe->res;
				io_uring_cqe_seen(&f->ring, cqe);
			}
			if (n < 0)
				return sf_err((int)-n, f->dir, f->name, "write");
			if (fs < 0 && (uint64_t)n == len)
				return sf_err(-fs, f->dir, f->name, "fdatasync");
			if ((uint64_t)n < len && fs < 0)
				fs = 0; /* the link broke on the short write: redone below */
		} else {
			struct iovec iov = { (void *)(f->img + off), len };
			n = pwritev2(f->fd, &iov, 1, (off_t)off, fsync_mode ? 0 : RWF_DSYNC);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return sf_err(errno, f->dir, f->name, "pwritev2");
			if (fsync_mode && (uint64_t)n == len && fdatasync(f->fd) != 0)
				return sf_err(errno, f->dir, f->name, "fdatasync");
		}
		if (n == 0)
			return dkv_err(DAXKV_EIO, "%s/%s: write made no progress", f->dir, f->name);
		if (f->direct && (n % IOSF_BLOCK))
			return dkv_err(DAXKV_EIO, "%s/%s: unaligned short direct write", f->dir,
				       f->name);
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	atomic_fetch_add_explicit(&f->syncs, 1, memory_order_relaxed);
	sf_sh_write(f->dir, f->name, f->img + off0, off0, len0); /* durable now */
	return 0;
}

int iosf_create(int dirfd, const char *dir, const char *name, uint64_t size, const void *img,
		struct io_segfile **out)
{
	struct io_segfile *f = calloc(1, sizeof(*f));
	if (!f)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->img = img;
	f->size = size;
	pthread_mutexattr_t ma; /* short sections, many threads: spin before sleeping */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&f->mu, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_cond_init(&f->cv[0], NULL);
	pthread_cond_init(&f->cv[1], NULL);
	f->direct = 1;
	f->fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0644);
	if (f->fd < 0 && errno == EINVAL) {
		f->direct = 0; /* no O_DIRECT here: the page cache, same syncs */
		f->fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	}
	int rc = 0;
	if (f->fd < 0) {
		rc = sf_err(errno, dir, name, "create");
		goto fail;
	}
	int e = posix_fallocate(f->fd, 0, (off_t)size);
	if (e) {
		rc = sf_err(e, dir, name, "fallocate");
		goto fail;
	}
	sf_sh_create(dir, name, size);
	rc = sf_write_durable(f, 0, IOSF_BLOCK);
	if (!rc)
		rc = iosf_dir_sync(dirfd, dir);
	if (rc)
		goto fail;
	*out = f;
	return 0;
fail:
	if (f->fd >= 0) {
		close(f->fd);
		unlinkat(dirfd, name, 0);
		sf_sh_remove(dir, name);
	}
	sf_ring_exit(f);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv[0]);
	pthread_cond_destroy(&f->cv[1]);
	free(f);
	return rc;
}

void iosf_filled(struct io_segfile *f, uint64_t end)
{
	/* Appenders are serialised by their caller (blk.c's log_mu, or the GC
	 * lane): a release store publishes the bytes to the next leader. */
	if (end > atomic_load_explicit(&f->filled, memory_order_relaxed))
		atomic_store_explicit(&f->filled, end, memory_order_release);
}

void iosf_gather(struct io_segfile *f, const _Atomic int *pending, uint64_t max_ns)
{
	f->gather = pending;
	f->gather_ns = max_ns;
}

/* The leader, f->mu held: while writers that will append are still on their
 * way (and at most gather_ns), lets them run, so that one device write takes
 * them all (a commit delay that costs nothing to a lone writer). */
static void sf_gather(struct io_segfile *f)
{
	uint64_t until = dkv_now_ns() + f->gather_ns;
	do {
		pthread_mutex_unlock(&f->mu);
		sched_yield();
		pthread_mutex_lock(&f->mu);
	} while (atomic_load_explicit(f->gather, memory_order_relaxed) > 0 &&
		 dkv_now_ns() < until);
}

int iosf_sync(struct io_segfile *f, uint64_t end)
{
	pthread_mutex_lock(&f->mu);
	bool waited = false;
	if (end > atomic_load(&f->filled)) { /* a caller's bug: no write could ever cover it */
		pthread_mutex_unlock(&f->mu);
		return dkv_err(DAXKV_EIO, "%s/%s: sync to %llu past the %llu bytes appended",
			       f->dir, f->name, (unsigned long long)end,
			       (unsigned long long)atomic_load(&f->filled));
	}
	while (f->durable < end && !f->err) {
		if (f->leading) {
			/* Covered by the write in flight, or by the next one: each
			 * group is woken by its own write only. */
			unsigned slot = (unsigned)((end <= f->inflight_to ? f->gen : f->gen + 1) & 1);
			waited = true;
			f->nwait[slot]++;
			pthread_cond_wait(&f->cv[slot], &f->mu);
			f->nwait[slot]--;
			continue;
		}
		f->leading = 1;
		if (f->gather && atomic_load_explicit(f->gather, memory_order_relaxed) > 0)
			sf_gather(f);
		uint64_t to = atomic_load_explicit(&f->filled, memory_order_acquire);
		uint64_t from = f->durable & ~(uint64_t)(IOSF_BLOCK - 1);
		uint64_t wend = (to + IOSF_BLOCK - 1) & ~(uint64_t)(IOSF_BLOCK - 1);
		if (wend > f->size)
			wend = f->size;
		uint64_t g = ++f->gen;
		f->inflight_to = to;
		pthread_mutex_unlock(&f->mu);
		int rc = sf_write_durable(f, from, wend - from);
		pthread_mutex_lock(&f->mu);
		f->leading = 0;
		if (rc)
			f->err = rc;
		else if (to > f->durable)
			f->durable = to;
		pthread_cond_broadcast(&f->cv[g & 1]); /* the group it covered */
		if (f->err) /* every waiter answers the error */
			pthread_cond_broadcast(&f->cv[(g + 1) & 1]);
		else if (f->nwait[(g + 1) & 1]) /* one of the next group leads it */
			pthread_cond_signal(&f->cv[(g + 1) & 1]);
	}
	if (waited)
		atomic_fetch_add_explicit(&f->waits, 1, memory_order_relaxed);
	int rc = f->durable >= end ? 0 : f->err;
	pthread_mutex_unlock(&f->mu);
	if (rc) /* the detail went to the leader's errmsg: say it here too */
		dkv_err(rc, "%s/%s: an earlier durable write failed; this store takes no "
			"more writes until it is reopened", f->dir, f->name);
	return rc;
}

int iosf_write_at(struct io_segfile *f, uint64_t off, uint64_t len)
{
	pthread_mutex_lock(&f->mu);
	int rc = f->err ? f->err : sf_write_durable(f, off, len);
	if (rc && !f->err)
		f->err = rc;
	pthread_mutex_unlock(&f->mu);
	return rc;
}

/* ThreadSanitizer models an mmap over memory as a write of the whole range,
 * racing with every reader of the sealed segment, though each byte the file
 * brings equals the one it replaces (all of it was made durable from that
 * image) and the kernel swaps pages atomically.  Its builds keep the image
 * instead: the same bytes, the memory not given back. */
#if defined(__SANITIZE_THREAD__)
#define SF_KEEP_IMAGE 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SF_KEEP_IMAGE 1
#endif
#endif

int iosf_map_sealed(struct io_segfile *f, void *addr, uint64_t off)
{
#ifdef SF_KEEP_IMAGE
	(void)f;
	(void)addr;
	(void)off;
	return 0;
#endif
	void *p = mmap((char *)addr + off, f->size - off, PROT_READ, MAP_SHARED | MAP_FIXED,
		       f->fd, (off_t)off);
	if (p == MAP_FAILED)
		return sf_err(errno, f->dir, f->name, "mmap");
	return 0;
}

void iosf_retire(struct io_segfile *f)
{
	pthread_mutex_lock(&f->mu);
	sf_ring_exit(f);
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (!f->err) {
		f->durable = f->size; /* nothing more is written: every sync is answered */
		atomic_store(&f->filled, f->size);
	}
	pthread_mutex_unlock(&f->mu);
}

void iosf_close(struct io_segfile *f)
{
	if (!f)
		return;
	sf_ring_exit(f);
	if (f->fd >= 0)
		close(f->fd);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv[0]);
	pthread_cond_destroy(&f->cv[1]);
	free(f);
}

uint64_t iosf_syncs(const struct io_segfile *f)
{
	return atomic_load_explicit(&f->syncs, memory_order_relaxed);
}

uint64_t iosf_waits(const struct io_segfile *f)
{
	return atomic_load_explicit(&f->waits, memory_order_relaxed);
}

int iosf_open_sealed(int dirfd, const char *name, uint64_t size, void *buf, size_t len,
		     void *addr, uint64_t off)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sf_err(errno, "", name, "open");
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0) {
		rc = sf_err(errno, "", name, "fstat");
	} else if ((uint64_t)st.st_size < size) {
		rc = dkv_err(DAXKV_ENOSTORE, "%s: %llu bytes, a segment file has %llu", name,
			     (unsigned long long)st.st_size, (unsigned long long)size);
	} else {
		ssize_t n = pread(fd, buf, len, 0);
		if (n != (ssize_t)len)
			rc = sf_err(n < 0 ? errno : EIO, "", name, "read");
		else if (mmap((char *)addr + off, size - off, PROT_READ, MAP_SHARED | MAP_FIXED,
			      fd, (off_t)off) == MAP_FAILED)
			rc = sf_err(errno, "", name, "mmap");
	}
	close(fd);
	return rc;
}

int iosf_rewrite(int dirfd, const char *dir, const char *name, const void *buf, size_t len,
		 uint64_t off)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return sf_err(errno, "", name, "open");
	ssize_t n = pwrite(fd, buf, len, (off_t)off);
	int rc = n == (ssize_t)len ? 0 : sf_err(n < 0 ? errno : EIO, "", name, "write");
	if (!rc && fdatasync(fd) != 0)
		rc = sf_err(errno, "", name, "fdatasync");
	close(fd);
	if (!rc)
		sf_sh_write(dir, name, buf, off, len);
	return rc;
}

int iosf_remove(int dirfd, const char *dir, const char *name)
{
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		return sf_err(errno, dir, name, "unlink");
	sf_sh_remove(dir, name);
	return 0;
}

int iosf_dir_sync(int dirfd, const char *dir)
{
	if (fsync(dirfd) != 0)
		return sf_err(errno, dir, NULL, "fsync of the directory");
	sf_sh_dirsync(dir);
	return 0;
}

int iosf_put_file(int dirfd, const char *dir, const char *name, const void *buf, size_t len)
{
	char tmp[SF_NAME_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sf_err(errno, dir, tmp, "create");
	ssize_t n = write(fd, buf, len);
	int rc = n == (ssize_t)len ? 0 : sf_err(n < 0 ? errno : ENOSPC, dir, tmp, "write");
	if (!rc && fsync(fd) != 0)
		rc = sf_err(errno, dir, tmp, "fsync");
	close(fd);
	if (!rc) {
		sf_sh_create(dir, tmp, 0);
		sf_sh_write(dir, tmp, buf, 0, len);
	}
	if (!rc && renameat(dirfd, tmp, dirfd, name) != 0)
		rc = sf_err(errno, dir, name, "rename");
	if (!rc)
		sf_sh_rename(dir, tmp, name);
	if (rc)
		unlinkat(dirfd, tmp, 0);
	return rc ? rc : iosf_dir_sync(dirfd, dir);
}

int iosf_get_file(int dirfd, const char *name, void *buf, size_t cap, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? DAXKV_ENOSTORE : sf_err(errno, "", name, "open");
	ssize_t n = read(fd, buf, cap);
	int rc = n < 0 ? sf_err(errno, "", name, "read") : 0;
	close(fd);
	*len = n < 0 ? 0 : (size_t)n;
	return rc;
}

int iosf_get_whole(int dirfd, const char *name, void **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? DAXKV_ENOSTORE : sf_err(errno, "", name, "open");
	struct stat st;
	int rc = 0;
	char *b = NULL;
	if (fstat(fd, &st) != 0) {
		rc = sf_err(errno, "", name, "fstat");
	} else if (!(b = malloc(st.st_size ? (size_t)st.st_size : 1))) {
		rc = dkv_err(DAXKV_ENOMEM, "out of memory (%s)", name);
	} else {
		size_t got = 0;
		while (got < (size_t)st.st_size) {
			ssize_t n = pread(fd, b + got, (size_t)st.st_size - got, (off_t)got);
			if (n <= 0) {
				rc = sf_err(n < 0 ? errno : EIO, "", name, "read");
				break;
			}
			got += (size_t)n;
		}
	}
	close(fd);
	if (rc) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = (size_t)st.st_size;
	return 0;
}

int iosf_unmap(void *addr, size_t len)
{
	void *p = mmap(addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? dkv_err(DAXKV_ENOMEM, "mmap: %s", strerror(errno)) : 0;
}

int iosf_volatile_fs(int dirfd)
{
	struct statfs sf;
	if (fstatfs(dirfd, &sf) != 0)
		return 0;
	return sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
}
