/*
 * stream.c -- a file written front to back through io_uring, published
 * whole or not at all.
 *
 * The bytes are produced into IOS_QD buffers of IOS_BUF bytes; a full buffer
 * is queued as one IORING_OP_WRITE and the producer moves on to the next free
 * buffer, waiting for a completion only when all are in flight.  The file is
 * opened O_DIRECT when the filesystem accepts it (buffers and offsets
 * 4096-aligned; the last block is padded and the file truncated to the stream
 * length afterwards), buffered otherwise.  Short writes are resubmitted for
 * the rest; a negative completion fails the stream with the errno text.
 *
 * Durability (what a crash may leave): the bytes go to DEST.tmp; the data is
 * fsynced (IORING_OP_FSYNC) before DEST.tmp is renamed over DEST, and the
 * directory is fsynced after the rename.  So DEST is either the previous file
 * or a complete one, never a torn one.  This is file I/O, not pmem: the pm_*
 * rules do not apply here.  Nothing here knows about keys or stores.
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

#include "daxkv.h"
#include "io/stream.h"
#include "pmem/util.h"

#define IOS_QD 4u
#define IOS_BUF (1u << 20)
#define IOS_ALIGN 4096u
#define IOS_TAG_FSYNC 0xffffu
#define IOS_PATH_MAX 4096u

struct ios_slot {
	char *buf;
	uint64_t foff;
	uint32_t len, done;
	int busy;
};

struct io_stream {
	struct io_uring ring;
	int ring_ok; /* ring initialised */
	int sync;    /* io_uring refused: pwrite/fsync */
	int fd, direct;
	const char *path; /* the destination */
	struct ios_slot s[IOS_QD];
	unsigned cur, inflight;
	uint64_t foff; /* file offset of the buffer being filled */
	int fsync_res, fsync_done;
	int committed;  /* renamed into place */
	char tmp[IOS_PATH_MAX];
	size_t len;   /* bytes filled in the current buffer */
};

static int ios_errno(const struct io_stream *b, const char *what, int err)
{
	return dkv_err(DAXKV_EIO, "%s: %s: %s", b->path, what, strerror(err));
}

static int ios_sync_write(struct io_stream *b, struct ios_slot *s)
{
	while (s->done < s->len) {
		ssize_t n = pwrite(b->fd, s->buf + s->done, s->len - s->done,
				   (off_t)(s->foff + s->done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ios_errno(b, "write", n < 0 ? errno : EIO);
		s->done += (uint32_t)n;
	}
	return 0;
}

/* Queues the rest of slot i (from s->done). */
static int ios_submit(struct io_stream *b, unsigned i)
{
	struct ios_slot *s = &b->s[i];
	s->busy = 1;
	if (b->sync) {
		s->busy = 0;
		return ios_sync_write(b, s);
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	if (!sqe) /* the ring holds 2 x IOS_QD entries: cannot happen; be safe */
		return dkv_err(DAXKV_EIO, "%s: io_uring submission queue full", b->path);
	io_uring_prep_write(sqe, b->fd, s->buf + s->done, s->len - s->done, s->foff + s->done);
	io_uring_sqe_set_data64(sqe, i);
	b->inflight++;
	int rc = io_uring_submit(&b->ring);
	if (rc < 0) {
		b->inflight--; /* not submitted: no completion will come */
		s->busy = 0;
		return ios_errno(b, "io_uring_submit", -rc);
	}
	return 0;
}

/* Waits for one completion and accounts for it. */
static int ios_reap(struct io_stream *b)
{
	struct io_uring_cqe *cqe = NULL;
	int rc = io_uring_wait_cqes(&b->ring, &cqe, 1, NULL, NULL);
	if (rc < 0)
		return ios_errno(b, "io_uring_wait_cqes", -rc);
	uint64_t tag = io_uring_cqe_get_data64(cqe);
	int res = cqe->res;
	io_uring_cqe_seen(&b->ring, cqe);
	b->inflight--;
	if (tag == IOS_TAG_FSYNC) {
		b->fsync_done = 1;
		b->fsync_res = res;
		return res < 0 ? ios_errno(b, "fsync", -res) : 0;
	}
	if (tag >= IOS_QD)
		return dkv_err(DAXKV_EIO, "%s: unexpected completion", b->path);
	struct ios_slot *s = &b->s[tag];
	s->busy = 0;
	if (res < 0)
		return ios_errno(b, "write", -res);
	if (res == 0)
		return dkv_err(DAXKV_EIO, "%s: write made no progress", b->path);
	s->done += (uint32_t)res;
	if (s->done < s->len) { /* short write: queue the rest */
		if (b->direct && s->done % IOS_ALIGN)
			return dkv_err(DAXKV_EIO, "%s: unaligned short direct write",
				       b->path);
		return ios_submit(b, (unsigned)tag);
	}
	return 0;
}

/* Queues the current buffer (len bytes) and moves on to a free one. */
static int ios_push(struct io_stream *b, size_t len)
{
	struct ios_slot *s = &b->s[b->cur];
	s->foff = b->foff;
	s->len = (uint32_t)len;
	s->done = 0;
	b->foff += len;
	int rc = ios_submit(b, b->cur);
	for (;;) {
		for (unsigned i = 0; !rc && i < IOS_QD; i++) {
			if (!b->s[i].busy) {
				b->cur = i;
				b->len = 0;
				return 0;
			}
		}
		if (rc)
			return rc;
		rc = ios_reap(b);
	}
}

/* After a failure: wait for what is in flight, so no buffer is freed under
 * the kernel.  Gives up if waiting itself fails twice in a row. */
static void ios_drain(struct io_stream *b)
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

static int ios_fsync_fd(struct io_stream *b, int fd)
{
	if (b->sync)
		return fsync(fd) ? ios_errno(b, "fsync", errno) : 0;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);
	if (!sqe)
		return dkv_err(DAXKV_EIO, "%s: io_uring submission queue full", b->path);
	io_uring_prep_fsync(sqe, fd, 0);
	io_uring_sqe_set_data64(sqe, IOS_TAG_FSYNC);
	b->fsync_done = 0;
	b->inflight++;
	int rc = io_uring_submit(&b->ring);
	if (rc < 0) {
		b->inflight--;
		return ios_errno(b, "io_uring_submit", -rc);
	}
	rc = 0;
	while (!rc && !b->fsync_done)
		rc = ios_reap(b);
	return rc;
}

/* Hands on the last partial buffer, waits for every write, fixes the length
 * of a direct file and makes the data durable. */
static int ios_finish(struct io_stream *b)
{
	uint64_t total = b->foff + b->len;
	int rc = 0;
	if (b->len) {
		struct ios_slot *s = &b->s[b->cur];
		size_t len = b->len;
		if (b->direct) {
			size_t pad = (len + IOS_ALIGN - 1) / IOS_ALIGN * IOS_ALIGN;
			memset(s->buf + len, 0, pad - len);
			len = pad;
		}
		s->foff = b->foff;
		s->len = (uint32_t)len;
		s->done = 0;
		rc = ios_submit(b, b->cur);
	}
	while (!rc && b->inflight)
		rc = ios_reap(b);
	if (!rc && b->direct && ftruncate(b->fd, (off_t)total) != 0)
		rc = ios_errno(b, "truncate", errno);
	if (!rc)
		rc = ios_fsync_fd(b, b->fd); /* the data, before the rename publishes it */
	return rc;
}

static int ios_open(struct io_stream *b, const char *tmp)
{
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
	b->fd = open(tmp, flags | O_DIRECT, 0644);
	b->direct = b->fd >= 0;
	if (b->fd < 0 && errno == EINVAL) /* the filesystem has no O_DIRECT (tmpfs) */
		b->fd = open(tmp, flags, 0644);
	if (b->fd < 0)
		return ios_errno(b, "create", errno);
	int rc = io_uring_queue_init(2 * IOS_QD, &b->ring, 0);
	if (rc == -ENOSYS || rc == -EPERM) {
		b->sync = 1; /* io_uring disabled here (kernel or seccomp) */
		return 0;
	}
	if (rc < 0)
		return ios_errno(b, "io_uring_queue_init", -rc);
	b->ring_ok = 1;
	return 0;
}

static int ios_alloc(struct io_stream *b)
{
	for (unsigned i = 0; i < IOS_QD; i++)
		if (posix_memalign((void **)&b->s[i].buf, IOS_ALIGN, IOS_BUF))
			return dkv_err(DAXKV_ENOMEM, "out of memory for I/O buffers");
	return 0;
}

/* rename + fsync of the directory that holds dest. */
static int ios_publish(struct io_stream *b, const char *tmp, const char *dest)
{
	char dir[IOS_PATH_MAX];
	if (rename(tmp, dest) != 0)
		return ios_errno(b, "rename", errno);
	snprintf(dir, sizeof(dir), "%s", dest);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ios_errno(b, "open directory", errno);
	int rc = ios_fsync_fd(b, dfd);
	close(dfd);
	return rc;
}

/* ---- the stream ---- */

static void ios_free(struct io_stream *b)
{
	if (b->ring_ok) {
		ios_drain(b);
		io_uring_queue_exit(&b->ring);
	}
	if (b->fd >= 0)
		close(b->fd);
	for (unsigned i = 0; i < IOS_QD; i++)
		free(b->s[i].buf);
	free(b);
}

int io_stream_open(const char *dest_path, struct io_stream **out)
{
	if (!dest_path || !*dest_path)
		return dkv_err(DAXKV_EINVAL, "destination path is NULL or empty");
	if (strlen(dest_path) + 5 > IOS_PATH_MAX)
		return dkv_err(DAXKV_EINVAL, "destination path is too long");
	struct io_stream *b = calloc(1, sizeof(*b));
	if (!b)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	b->fd = -1;
	b->path = dest_path;
	snprintf(b->tmp, sizeof(b->tmp), "%s.tmp", dest_path);
	int rc = ios_alloc(b);
	if (!rc)
		rc = ios_open(b, b->tmp);
	if (rc) {
		if (b->fd >= 0)
			unlink(b->tmp);
		ios_free(b);
		return rc;
	}
	*out = b;
	return 0;
}

char *io_stream_buf(struct io_stream *s, size_t *cap)
{
	*cap = IOS_BUF;
	return s->s[s->cur].buf;
}

int io_stream_write(struct io_stream *s, size_t len)
{
	return ios_push(s, len);
}

int io_stream_commit(struct io_stream *b, size_t len)
{
	b->len = len;
	int rc = ios_finish(b);
	if (!rc) {
		int fd = b->fd;
		b->fd = -1;
		if (close(fd) != 0)
			rc = ios_errno(b, "close", errno);
	}
	if (!rc)
		rc = ios_publish(b, b->tmp, b->path);
	if (!rc)
		b->committed = 1;
	return rc;
}

void io_stream_close(struct io_stream *b)
{
	if (!b)
		return;
	int committed = b->committed;
	char tmp[IOS_PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", b->tmp);
	ios_free(b);
	if (!committed)
		unlink(tmp); /* never leave a partial file behind */
}
