/*
 * backup.c -- daxkv_backup(): a consistent online backup written through
 * io_uring to a file on a block filesystem.
 *
 * The content is the dump stream (dump.h) of an iterator snapshot, so writers
 * go on while it runs and `daxkv load`/`daxkv restore` read it.  The stream is
 * produced into BK_QD buffers of BK_BUF bytes; a full buffer is queued as one
 * IORING_OP_WRITE and the producer moves on to the next free buffer, waiting
 * for a completion only when all are in flight.  The file is opened O_DIRECT
 * when the filesystem accepts it (buffers and offsets 4096-aligned; the last
 * block is padded and the file truncated to the stream length afterwards),
 * buffered otherwise.  Short writes are resubmitted for the rest; a negative
 * completion fails the backup with the errno text.
 *
 * Durability (what a crash may leave): the stream goes to DEST.tmp; the data
 * is fsynced (IORING_OP_FSYNC) before DEST.tmp is renamed over DEST, and the
 * directory is fsynced after the rename.  So DEST is either the previous file
 * or a complete backup, never a torn one.  This is file I/O, not pmem: the
 * pmem rules of STYLE.md (pm_* only) do not apply here; it lives in io/, with
 * the file I/O, and not in engine/.
 *
 * liburing calls made here that are real link-time symbols (a fault-injection
 * build can -Wl,--wrap them): io_uring_queue_init, io_uring_submit,
 * io_uring_wait_cqes, io_uring_queue_exit.  io_uring_get_sqe, io_uring_wait_cqe,
 * io_uring_cqe_seen and io_uring_prep_* are static inline in liburing 2.3; we
 * wait with io_uring_wait_cqes(ring, &cqe, 1, NULL, NULL) so that every wait
 * goes through a wrappable symbol.  Where io_uring is refused outright
 * (ENOSYS, EPERM: a seccomp profile), the same pipeline runs with pwrite/fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/dump.h"
#include "pmem/util.h"

#define BK_QD 4u
#define BK_BUF (1u << 20)
#define BK_ALIGN 4096u
#define BK_TAG_FSYNC 0xffffu
#define BK_PATH_MAX 4096u

struct bk_slot {
	char *buf;
	uint64_t foff;
	uint32_t len, done;
	int busy;
};

struct bk {
	struct io_uring ring;
	int ring_ok; /* ring initialised */
	int sync;    /* io_uring refused: pwrite/fsync */
	int fd, direct;
	const char *path;
	struct bk_slot s[BK_QD];
	unsigned cur, inflight;
	uint64_t foff; /* file offset of the buffer being filled */
	int fsync_res, fsync_done;
	struct dump_w w;
};

static int bk_errno(const struct bk *b, const char *what, int err)
{
	return dkv_err(DAXKV_EIO, "backup %s: %s: %s", b->path, what, strerror(err));
}

static int bk_sync_write(struct bk *b, struct bk_slot *s)
{
	while (s->done < s->len) {
		ssize_t n = pwrite(b->fd, s->buf + s->done, s->len - s->done,
				   (off_t)(s->foff + s->done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return bk_errno(b, "write", n < 0 ? errno : EIO);
		s->done += (uint32_t)n;
	}
	return 0;
}

/* Queues the rest of slot i (from s->done). */
static int bk_submit(struct bk *b, unsigned i)
{
	struct bk_slot *s = &b->s[i];
	s->busy = 1;
	if (b->sync) {
		s->busy = 0;
		return bk_sync_write(b, s);
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	if (!sqe) /* the ring holds 2 x BK_QD entries: cannot happen; be safe */
		return dkv_err(DAXKV_EIO, "backup %s: io_uring submission queue full", b->path);
	io_uring_prep_write(sqe, b->fd, s->buf + s->done, s->len - s->done, s->foff + s->done);
	io_uring_sqe_set_data64(sqe, i);
	b->inflight++;
	int rc = io_uring_submit(&b->ring);
	if (rc < 0) {
		b->inflight--; /* not submitted: no completion will come */
		s->busy = 0;
		return bk_errno(b, "io_uring_submit", -rc);
	}
	return 0;
}

/* Waits for one completion and accounts for it. */
static int bk_reap(struct bk *b)
{
	struct io_uring_cqe *cqe = NULL;
	int rc = io_uring_wait_cqes(&b->ring, &cqe, 1, NULL, NULL);
	if (rc < 0)
		return bk_errno(b, "io_uring_wait_cqes", -rc);
	uint64_t tag = io_uring_cqe_get_data64(cqe);
	int res = cqe->res;
	io_uring_cqe_seen(&b->ring, cqe);
	b->inflight--;
	if (tag == BK_TAG_FSYNC) {
		b->fsync_done = 1;
		b->fsync_res = res;
		return res < 0 ? bk_errno(b, "fsync", -res) : 0;
	}
	if (tag >= BK_QD)
		return dkv_err(DAXKV_EIO, "backup %s: unexpected completion", b->path);
	struct bk_slot *s = &b->s[tag];
	s->busy = 0;
	if (res < 0)
		return bk_errno(b, "write", -res);
	if (res == 0)
		return dkv_err(DAXKV_EIO, "backup %s: write made no progress", b->path);
	s->done += (uint32_t)res;
	if (s->done < s->len) { /* short write: queue the rest */
		if (b->direct && s->done % BK_ALIGN)
			return dkv_err(DAXKV_EIO, "backup %s: unaligned short direct write",
				       b->path);
		return bk_submit(b, (unsigned)tag);
	}
	return 0;
}

/* dump_w flush: queue the full buffer, continue in a free one. */
static int bk_flush(struct dump_w *w)
{
	struct bk *b = w->ctx;
	struct bk_slot *s = &b->s[b->cur];
	s->foff = b->foff;
	s->len = (uint32_t)w->len;
	s->done = 0;
	b->foff += w->len;
	int rc = bk_submit(b, b->cur);
	for (;;) {
		for (unsigned i = 0; !rc && i < BK_QD; i++) {
			if (!b->s[i].busy) {
				b->cur = i;
				w->buf = b->s[i].buf;
				w->len = 0;
				w->cap = BK_BUF;
				return 0;
			}
		}
		if (rc)
			return rc;
		rc = bk_reap(b);
	}
}

/* After a failure: wait for what is in flight, so no buffer is freed under
 * the kernel.  Gives up if waiting itself fails twice in a row. */
static void bk_drain(struct bk *b)
{
	int fails = 0;
	while (b->inflight && fails < 2) {
		struct io_uring_cqe *cqe = NULL;
		if (io_uring_wait_cqes(&b->ring, &cqe, 1, NULL, NULL) < 0) {
			fails++;
			continue;
		}
		fails = 0;
		io_uring_cqe_seen(&b->ring, cqe);
		b->inflight--;
	}
}

static int bk_fsync_fd(struct bk *b, int fd)
{
	if (b->sync)
		return fsync(fd) ? bk_errno(b, "fsync", errno) : 0;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	if (!sqe)
		return dkv_err(DAXKV_EIO, "backup %s: io_uring submission queue full", b->path);
	io_uring_prep_fsync(sqe, fd, 0);
	io_uring_sqe_set_data64(sqe, BK_TAG_FSYNC);
	b->fsync_done = 0;
	b->inflight++;
	int rc = io_uring_submit(&b->ring);
	if (rc < 0) {
		b->inflight--;
		return bk_errno(b, "io_uring_submit", -rc);
	}
	rc = 0;
	while (!rc && !b->fsync_done)
		rc = bk_reap(b);
	return rc;
}

/* Hands on the last partial buffer, waits for every write, fixes the length
 * of a direct file and makes the data durable. */
static int bk_finish(struct bk *b)
{
	struct dump_w *w = &b->w;
	uint64_t total = b->foff + w->len;
	int rc = 0;
	if (w->len) {
		struct bk_slot *s = &b->s[b->cur];
		size_t len = w->len;
		if (b->direct) {
			size_t pad = (len + BK_ALIGN - 1) / BK_ALIGN * BK_ALIGN;
			memset(w->buf + len, 0, pad - len);
			len = pad;
		}
		s->foff = b->foff;
		s->len = (uint32_t)len;
		s->done = 0;
		rc = bk_submit(b, b->cur);
	}
	while (!rc && b->inflight)
		rc = bk_reap(b);
	if (!rc && b->direct && ftruncate(b->fd, (off_t)total) != 0)
		rc = bk_errno(b, "truncate", errno);
	if (!rc)
		rc = bk_fsync_fd(b, b->fd); /* the data, before the rename publishes it */
	return rc;
}

static int bk_open(struct bk *b, const char *tmp)
{
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
	b->fd = open(tmp, flags | O_DIRECT, 0644);
	b->direct = b->fd >= 0;
	if (b->fd < 0 && errno == EINVAL) /* the filesystem has no O_DIRECT (tmpfs) */
		b->fd = open(tmp, flags, 0644);
	if (b->fd < 0)
		return bk_errno(b, "create", errno);
	int rc = io_uring_queue_init(2 * BK_QD, &b->ring, 0);
	if (rc == -ENOSYS || rc == -EPERM) {
		b->sync = 1; /* io_uring disabled here (kernel or seccomp) */
		return 0;
	}
	if (rc < 0)
		return bk_errno(b, "io_uring_queue_init", -rc);
	b->ring_ok = 1;
	return 0;
}

static int bk_alloc(struct bk *b)
{
	for (unsigned i = 0; i < BK_QD; i++)
		if (posix_memalign((void **)&b->s[i].buf, BK_ALIGN, BK_BUF))
			return dkv_err(DAXKV_ENOMEM, "backup: out of memory for buffers");
	b->w.buf = b->s[0].buf;
	b->w.cap = BK_BUF;
	b->w.flush = bk_flush;
	b->w.ctx = b;
	return 0;
}

/* rename + fsync of the directory that holds dest. */
static int bk_publish(struct bk *b, const char *tmp, const char *dest)
{
	char dir[BK_PATH_MAX];
	if (rename(tmp, dest) != 0)
		return bk_errno(b, "rename", errno);
	snprintf(dir, sizeof(dir), "%s", dest);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return bk_errno(b, "open directory", errno);
	int rc = bk_fsync_fd(b, dfd);
	close(dfd);
	return rc;
}

DAXKV_API int daxkv_backup(daxkv *db, const char *dest_path)
{
	char tmp[BK_PATH_MAX];
	struct bk *b = NULL;
	int rc = 0;
	dkv_clear_err();
	if (!db || !dest_path || !*dest_path)
		return dkv_err(DAXKV_EINVAL, "db or dest_path is NULL or empty");
	if (strlen(dest_path) + 5 > sizeof(tmp))
		return dkv_err(DAXKV_EINVAL, "dest_path is too long");
	snprintf(tmp, sizeof(tmp), "%s.tmp", dest_path);
	b = calloc(1, sizeof(*b));
	if (!b)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	b->fd = -1;
	b->path = dest_path;
	rc = bk_alloc(b);
	if (!rc)
		rc = bk_open(b, tmp);
	if (!rc)
		rc = dump_w_db(&b->w, db);
	if (!rc)
		rc = bk_finish(b);
	if (!rc) {
		int fd = b->fd;
		b->fd = -1;
		if (close(fd) != 0)
			rc = bk_errno(b, "close", errno);
	}
	if (!rc)
		rc = bk_publish(b, tmp, dest_path);
	if (b->ring_ok) {
		bk_drain(b);
		io_uring_queue_exit(&b->ring);
	}
	if (b->fd >= 0)
		close(b->fd);
	if (rc)
		unlink(tmp); /* never leave a partial backup behind */
	for (unsigned i = 0; i < BK_QD; i++)
		free(b->s[i].buf);
	free(b);
	return rc;
}
