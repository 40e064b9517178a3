/*
 * fault.c -- the counters and the -Wl,--wrap wrappers of fault.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"

#define FAULT_MAX_SITES 512

static _Atomic int g_armed;
static _Atomic int g_fired;
static enum fault_kind g_kind;
static unsigned long g_nth;
static _Atomic unsigned long g_calls[FAULT_NKINDS];
static _Atomic long g_live;
static void *g_sites[FAULT_NKINDS][FAULT_MAX_SITES];
static size_t g_nsites[FAULT_NKINDS];

const char *fault_kind_name(enum fault_kind k)
{
	static const char *names[] = { "alloc", "pool", "uring", "uring-cqe" };
	return k < FAULT_NKINDS ? names[k] : "?";
}

void fault_arm(enum fault_kind k, unsigned long n)
{
	for (int i = 0; i < FAULT_NKINDS; i++)
		atomic_store(&g_calls[i], 0);
	atomic_store(&g_live, 0);
	atomic_store(&g_fired, 0);
	g_kind = k;
	g_nth = n;
	atomic_store(&g_armed, 1);
}

void fault_disarm(void)
{
	atomic_store(&g_armed, 0);
}

unsigned long fault_calls(enum fault_kind k)
{
	return atomic_load(&g_calls[k]);
}

size_t fault_sites(enum fault_kind k)
{
	return g_nsites[k];
}

void fault_reset_sites(void)
{
	memset(g_nsites, 0, sizeof(g_nsites));
}

int fault_fired(void)
{
	return atomic_load(&g_fired);
}

long fault_live_allocs(void)
{
	return atomic_load(&g_live);
}

static void note_site(enum fault_kind k, void *site)
{
	for (size_t i = 0; i < g_nsites[k]; i++)
		if (g_sites[k][i] == site)
			return;
	if (g_nsites[k] < FAULT_MAX_SITES)
		g_sites[k][g_nsites[k]++] = site;
}

/* Counts a call of kind k; true when this one must fail. */
static bool hit(enum fault_kind k, void *site)
{
	if (!atomic_load(&g_armed))
		return false;
	unsigned long n = atomic_fetch_add(&g_calls[k], 1) + 1;
	note_site(k, site);
	if (k == g_kind && n == g_nth) {
		atomic_store(&g_fired, 1);
		return true;
	}
	return false;
}

static void live_add(long d)
{
	if (atomic_load(&g_armed))
		atomic_fetch_add(&g_live, d);
}

#define SITE __builtin_return_address(0)

/* ---- allocation ---- */
void *__real_malloc(size_t n);
void *__real_calloc(size_t m, size_t n);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t m, size_t n);
void *__wrap_realloc(void *p, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);
void __wrap_free(void *p);

void *__wrap_malloc(size_t n)
{
	if (hit(FAULT_ALLOC, SITE)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = __real_malloc(n);
	if (p)
		live_add(1);
	return p;
}

void *__wrap_calloc(size_t m, size_t n)
{
	if (hit(FAULT_ALLOC, SITE)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = __real_calloc(m, n);
	if (p)
		live_add(1);
	return p;
}

void *__wrap_realloc(void *old, size_t n)
{
	if (hit(FAULT_ALLOC, SITE)) {
		errno = ENOMEM;
		return NULL; /* old stays allocated, as with the real failure */
	}
	void *p = __real_realloc(old, n);
	if (p && !old)
		live_add(1);
	return p;
}

int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
	if (hit(FAULT_ALLOC, SITE))
		return ENOMEM;
	int rc = __real_posix_memalign(out, align, n);
	if (!rc)
		live_add(1);
	return rc;
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	if (hit(FAULT_ALLOC, SITE)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = __real_aligned_alloc(align, n);
	if (p)
		live_add(1);
	return p;
}

char *__wrap_strdup(const char *s)
{
	if (hit(FAULT_ALLOC, SITE)) {
		errno = ENOMEM;
		return NULL;
	}
	char *p = __real_strdup(s);
	if (p)
		live_add(1);
	return p;
}

void __wrap_free(void *p)
{
	if (p)
		live_add(-1);
	__real_free(p);
}

/* ---- files: pool creation and opening, backup ---- */
int __real_open(const char *path, int flags, ...);
int __real_flock(int fd, int op);
int __real_fstat(int fd, struct stat *st);
int __real_posix_fallocate(int fd, off_t off, off_t len);
int __real_ftruncate(int fd, off_t len);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_open(const char *path, int flags, ...);
int __wrap_flock(int fd, int op);
int __wrap_fstat(int fd, struct stat *st);
int __wrap_posix_fallocate(int fd, off_t off, off_t len);
int __wrap_ftruncate(int fd, off_t len);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

/* The mode argument of open/openat: there with O_CREAT or O_TMPFILE. */
#define OPEN_MODE(flags, mode)                                                             \
	do {                                                                               \
		if ((flags) & (O_CREAT | O_TMPFILE)) {                                     \
			va_list ap;                                                        \
			va_start(ap, flags);                                               \
			(mode) = (mode_t)va_arg(ap, int);                                  \
			va_end(ap);                                                        \
		}                                                                          \
	} while (0)

int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	if (hit(FAULT_POOL, SITE)) {
		errno = EIO;
		return -1;
	}
	return __real_open(path, flags, mode);
}

int __wrap_flock(int fd, int op)
{
	if (hit(FAULT_POOL, SITE)) {
		errno = EIO;
		return -1;
	}
	return __real_flock(fd, op);
}

int __wrap_fstat(int fd, struct stat *st)
{
	if (hit(FAULT_POOL, SITE)) {
		errno = EIO;
		return -1;
	}
	return __real_fstat(fd, st);
}

int __wrap_posix_fallocate(int fd, off_t off, off_t len)
{
	if (hit(FAULT_POOL, SITE))
		return ENOSPC;
	return __real_posix_fallocate(fd, off, len);
}

int __wrap_ftruncate(int fd, off_t len)
{
	if (hit(FAULT_POOL, SITE)) {
		errno = EIO;
		return -1;
	}
	return __real_ftruncate(fd, len);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (hit(FAULT_POOL, SITE)) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return __real_mmap(addr, len, prot, flags, fd, off);
}

/* ---- liburing (the real symbols io/stream.c calls) ---- */
int __real_io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags);
int __real_io_uring_submit(struct io_uring *ring);
int __real_io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned nr,
			      struct __kernel_timespec *ts, sigset_t *sigmask);
int __wrap_io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags);
int __wrap_io_uring_submit(struct io_uring *ring);
int __wrap_io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned nr,
			      struct __kernel_timespec *ts, sigset_t *sigmask);

/* The block backend's file calls (io/segfile.c): a failed openat is EIO,
 * a failed sync or rename EIO, as a dying disk answers. */
int __real_openat(int dirfd, const char *path, int flags, ...);
int __real_fsync(int fd);
int __real_fdatasync(int fd);
int __real_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
ssize_t __real_pread(int fd, void *buf, size_t n, off_t off);
int __wrap_openat(int dirfd, const char *path, int flags, ...);
int __wrap_fsync(int fd);
int __wrap_fdatasync(int fd);
int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off);

int __wrap_openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	OPEN_MODE(flags, mode);
	if (hit(FAULT_POOL, SITE)) {
		errno = EIO;
		return -1;
	}
	return __real_openat(dirfd, path, flags, mode);
}

int __wrap_fsync(int fd)
{
	if (hit(FAULT_POOL, SITE)) {
		errno = EIO;
		return -1;
	}
	return __real_fsync(fd);
}

int __wrap_fdatasync(int fd)
{
	if (hit(FAULT_POOL, SITE)) {
		errno = EIO;
		return -1;
	}
	return __real_fdatasync(fd);
}

int __wrap_renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	if (hit(FAULT_POOL, SITE)) {
		errno = EIO;
		return -1;
	}
	return __real_renameat(olddirfd, oldpath, newdirfd, newpath);
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off)
{
	if (hit(FAULT_POOL, SITE)) {
		errno = EIO;
		return -1;
	}
	return __real_pread(fd, buf, n, off);
}

int __real_io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);
int __wrap_io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);
int __wrap_io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	if (hit(FAULT_URING, SITE))
		return -EIO; /* nothing was submitted */
	return __real_io_uring_submit_and_wait(ring, wait_nr);
}

int __wrap_io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags)
{
	if (hit(FAULT_URING, SITE))
		return -ENOMEM;
	return __real_io_uring_queue_init(entries, ring, flags);
}

int __wrap_io_uring_submit(struct io_uring *ring)
{
	if (hit(FAULT_URING, SITE))
		return -EIO; /* nothing was submitted */
	return __real_io_uring_submit(ring);
}

int __wrap_io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned nr,
			      struct __kernel_timespec *ts, sigset_t *sigmask)
{
	if (hit(FAULT_URING, SITE))
		return -EIO; /* the wait failed; the completion stays queued */
	int rc = __real_io_uring_wait_cqes(ring, cqe, nr, ts, sigmask);
	/* The completion ring is mapped writable: a failed I/O is res < 0. */
	if (rc == 0 && *cqe && hit(FAULT_URING_CQE, SITE))
		(*cqe)->res = -EIO;
	return rc;
}
