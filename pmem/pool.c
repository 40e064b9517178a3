/*
 * pool.c -- create, lock, map and validate a pool file.
 *
 * One process at a time: flock(LOCK_EX) for read-write, LOCK_SH for
 * read-only, taken before anything is read or written (EBUSY otherwise).
 * A mapping libpmem does not call pmem (no DAX, no PMEM_IS_PMEM_FORCE) is
 * refused: flushes there would not make data durable (docs/ARCHITECTURE.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libpmem.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daxkv.h"
#include "pmem/persist.h"
#include "pmem/pool.h"
#include "pmem/util.h"

/* One status per meaning for what the OS answered about path (errno e). */
int pool_os_err(int e, const char *what, const char *path)
{
	switch (e) {
	case EACCES:
	case EPERM:
	case EROFS:
		return dkv_err(DAXKV_EACCES, "%s %s: %s", what, path, strerror(e));
	case ENOSPC:
	case EDQUOT:
		return dkv_err(DAXKV_EIO, "%s %s: %s (the filesystem is full, not the pool)",
			       what, path, strerror(e));
	case ENOMEM:
		return dkv_err(DAXKV_ENOMEM, "%s %s: %s", what, path, strerror(e));
	case EISDIR:
		return dkv_err(DAXKV_ENOTPOOL, "%s is not a daxkv pool (a directory)", path);
	default:
		return dkv_err(DAXKV_EIO, "%s %s: %s", what, path, strerror(e));
	}
}

static int lock_fd(int fd, int read_only, const char *path)
{
	if (flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		return dkv_err(DAXKV_EBUSY, "%s is open in another process", path);
	return pool_os_err(errno, "lock", path);
}

static int map_fd(int fd, size_t size, int read_only, int allow_nonpmem, const char *path,
		  struct pool *p)
{
	void *a = mmap(NULL, size, PROT_READ | (read_only ? 0 : PROT_WRITE), MAP_SHARED, fd, 0);
	if (a == MAP_FAILED)
		return pool_os_err(errno, "map", path);
	p->base = a;
	p->size = size;
	p->is_pmem = pmem_is_pmem(a, size);
	if (!p->is_pmem && !allow_nonpmem) {
		munmap(a, size);
		p->base = NULL;
		return dkv_err(DAXKV_ENOTSUP,
			       "%s is not on persistent memory (no DAX mapping); mount a DAX "
			       "filesystem, or for tests use /dev/shm with PMEM_IS_PMEM_FORCE=1 "
			       "(a new store here gets the block backend)",
			       path);
	}
	return 0;
}

int pool_probe_dax(const char *path)
{
	char probe[4200];
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path) : 1;
	snprintf(probe, sizeof(probe), "%.*s/.daxkv-probe-%d", dl,
		 slash ? (slash == path ? "/" : path) : ".", (int)getpid());
	int fd = open(probe, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int r = -1;
	if (posix_fallocate(fd, 0, POOL_HDR_SIZE) == 0) {
		void *a = mmap(NULL, POOL_HDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (a != MAP_FAILED) {
			r = pmem_is_pmem(a, POOL_HDR_SIZE) ? 1 : 0;
			munmap(a, POOL_HDR_SIZE);
		}
	}
	close(fd);
	unlink(probe);
	return r;
}

int pool_create(const char *path, uint64_t size, struct pool *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST) /* another process created it since our open */
			return dkv_err(DAXKV_EBUSY, "%s was created by another process", path);
		return pool_os_err(errno, "create", path);
	}
	int rc = lock_fd(fd, 0, path);
	if (rc)
		goto out;
	/* Allocate every block now: a store must not fault with SIGBUS later. */
	rc = posix_fallocate(fd, 0, (off_t)size);
	if (rc) {
		rc = pool_os_err(rc, "allocate", path);
		goto out;
	}
	rc = map_fd(fd, size, 0, 0, path, p);
	if (!rc) { /* fault every page in now, not on the first puts */
		(void)madvise(p->base, size, MADV_POPULATE_WRITE);
		p->hdr = (const struct pool_hdr *)p->base;
	}
out:
	if (rc) {
		close(fd);
		unlink(path);
		return rc;
	}
	p->fd = fd;
	return 0;
}

/* Whether h is a header daxkv wrote whole: its magic, and a CRC that holds. */
static bool hdr_sealed(const struct pool_hdr *h)
{
	return memcmp(h->magic, POOL_MAGIC, 8) == 0 &&
	       dkv_crc(0, h, offsetof(struct pool_hdr, crc)) == h->crc;
}

int pool_hdr_check(const struct pool_hdr *h, uint64_t file_size)
{
	if (memcmp(h->magic, POOL_MAGIC, 8) != 0)
		return dkv_err(DAXKV_ENOTPOOL, "not a daxkv pool (no daxkv magic in its header)");
	if (dkv_crc(0, h, offsetof(struct pool_hdr, crc)) != h->crc)
		return dkv_err(DAXKV_ECORRUPT, "pool header fails its checksum");
	if (h->version != POOL_FORMAT_VERSION)
		return dkv_err(DAXKV_EVERSION, "pool format version %u, this build reads %u",
			       h->version, POOL_FORMAT_VERSION);
	/* Geometry: segments page-aligned, a power of two in size, inside the file
	 * (no overflow in seg_base + nsegs * seg_size). */
	if (h->hdr_size != POOL_HDR_SIZE || h->pool_size != file_size ||
	    h->seg_size < POOL_HDR_SIZE || (h->seg_size & (h->seg_size - 1)) ||
	    h->seg_base < POOL_HDR_SIZE || h->seg_base % POOL_HDR_SIZE || h->nsegs == 0 ||
	    h->seg_base > h->pool_size || h->nsegs > (h->pool_size - h->seg_base) / h->seg_size)
		return dkv_err(DAXKV_ECORRUPT, "pool header geometry does not match the file");
	return 0;
}

static struct pool_hdr *backup_of(const struct pool *p)
{
	return (struct pool_hdr *)(p->base + POOL_HDR_BACKUP_OFF);
}

/* Chooses the header to trust (pool.h): the primary when sound, else a sound
 * backup; keeps the two copies equal on a read-write open. */
static int pick_hdr(struct pool *p, const char *path, uint64_t file_size)
{
	struct pool_hdr *prim = (struct pool_hdr *)p->base, *bak = backup_of(p);
	int rc = pool_hdr_check(prim, file_size);
	if (rc == 0) {
		p->hdr = prim;
		if (!p->read_only && memcmp(bak, prim, sizeof(*prim)) != 0) {
			memcpy(bak, prim, sizeof(*prim)); /* a pool from before the backup */
			pm_persist(bak, sizeof(*bak));
		}
		return 0;
	}
	/* Only damage falls back: a sound header of another version (or whose
	 * geometry does not fit the file) is no reason to read the copy. */
	if (!hdr_sealed(prim) && pool_hdr_check(bak, file_size) == 0) {
		dkv_clear_err();
		p->hdr = bak;
		if (!p->read_only) {
			memcpy(prim, bak, sizeof(*prim));
			pm_persist(prim, sizeof(*prim));
			p->hdr = prim;
			p->hdr_restored = 1;
		}
		return 0;
	}
	if (dkv_all_zero(prim, sizeof(*prim)))
		return dkv_err(DAXKV_ENOSTORE, "%s: pool creation never finished", path);
	return pool_hdr_check(prim, file_size); /* the primary's own verdict */
}

int pool_open(const char *path, int read_only, int allow_nonpmem, struct pool *p)
{
	struct stat st;
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return dkv_err(DAXKV_ENOSTORE, "no store at %s (open with create set to "
				       "make one)", path);
		return pool_os_err(errno, "open", path);
	}
	int rc = lock_fd(fd, read_only, path);
	if (rc)
		goto out;
	if (fstat(fd, &st) < 0) {
		rc = pool_os_err(errno, "stat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < POOL_HDR_SIZE) {
		rc = dkv_err(DAXKV_ENOTPOOL, "%s is not a daxkv pool (%s)", path,
			     S_ISREG(st.st_mode) ? "smaller than a pool header" : "not a file");
		goto out;
	}
	rc = map_fd(fd, (size_t)st.st_size, read_only, allow_nonpmem, path, p);
	if (rc)
		goto out;
	p->read_only = read_only;
	rc = pick_hdr(p, path, (uint64_t)st.st_size);
out:
	if (rc) {
		if (p->base)
			munmap(p->base, p->size);
		p->base = NULL;
		close(fd);
		return rc;
	}
	p->fd = fd;
	return 0;
}

void pool_hdr_seal(struct pool_hdr *h)
{
	memcpy(h->magic, POOL_MAGIC, 8);
	h->version = POOL_FORMAT_VERSION;
	h->hdr_size = POOL_HDR_SIZE;
	h->crc = dkv_crc(0, h, offsetof(struct pool_hdr, crc));
	pm_persist(h, sizeof(*h));
	/* The copy second: a crash between leaves a sound primary, and the next
	 * read-write open adds the copy. */
	struct pool_hdr *bak = (struct pool_hdr *)((char *)h + POOL_HDR_BACKUP_OFF);
	memcpy(bak, h, sizeof(*h));
	pm_persist(bak, sizeof(*bak));
}

void pool_close(struct pool *p)
{
	if (p->base)
		munmap(p->base, p->size);
	if (p->fd >= 0)
		close(p->fd); /* drops the flock */
	p->base = NULL;
	p->fd = -1;
}
