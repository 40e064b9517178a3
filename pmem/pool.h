/*
 * pool.h -- create, lock, map and validate a pool file.
 *
 * A pool is one file mapped whole.  Its first 4 KiB hold struct pool_hdr:
 * magic, format version and the immutable geometry, sealed by a CRC32C.
 * Everything after the header belongs to the engine.  Nothing here knows
 * about keys.
 *
 * The header is kept twice (as ext4 keeps backup superblocks): the primary at
 * offset 0 and a backup copy at POOL_HDR_BACKUP_OFF, in another cache line
 * and the other half of the header page (bytes 128..4095 were never used, so
 * older pools read the same: no format-version change).  Create writes both;
 * the first read-write open of a pool that lacks the backup adds it.  When
 * the primary fails its magic or checksum (or is all zeroes) and the backup
 * is sound, open uses the backup: a read-write open rewrites the primary from
 * it on the spot (the backup was validated, and it is what create wrote),
 * a read-only open reads through it and writes nothing; `daxkv check
 * --repair` therefore restores the primary too (it opens read-write).
 */
#ifndef DAXKV_POOL_H
#define DAXKV_POOL_H

#include <stddef.h>
#include <stdint.h>

#define POOL_MAGIC "DAXKVPL\0"
#define POOL_FORMAT_VERSION 1u
#define POOL_HDR_SIZE 4096u
#define POOL_HDR_BACKUP_OFF 2048u /* the backup copy of struct pool_hdr */

struct pool_hdr {
	char magic[8];
	uint32_t version;
	uint32_t hdr_size;
	uint64_t pool_size;
	uint64_t seg_size;
	uint64_t seg_base; /* offset of segment 0 */
	uint32_t nsegs;
	uint32_t nlanes;
	uint64_t uuid_lo, uuid_hi;
	uint64_t create_time_ns;
	uint8_t pad[52];
	uint32_t crc; /* CRC32C of the bytes above it */
};
_Static_assert(sizeof(struct pool_hdr) == 128, "pool_hdr is 128 bytes");
_Static_assert(offsetof(struct pool_hdr, crc) == 124, "crc last");

struct pool {
	char *base;     /* the mapping */
	size_t size;    /* mapped bytes */
	int fd;         /* holds the flock */
	int is_pmem;    /* libpmem says the mapping is (emulated) pmem */
	int read_only;
	const struct pool_hdr *hdr; /* the header in use: primary, or the backup */
	int hdr_restored; /* open rewrote the primary from the backup */
};

/* Result codes are DAXKV_E* (daxkv.h); details go to the thread's errmsg. */

/* Creates path with size bytes (O_EXCL), locks it, maps it; the header is
 * left zeroed: the caller formats and then calls pool_hdr_seal(). */
int pool_create(const char *path, uint64_t size, struct pool *p);
/* Opens an existing pool: lock (EBUSY), map, DAX check (ENOTSUP unless
 * allow_nonpmem), header check (ENOTPOOL, ECORRUPT, EVERSION), falling back
 * to the backup copy when the primary fails its magic or checksum.  A primary
 * of all zeroes without a sound backup (an interrupted create) answers
 * ENOSTORE so that create may reformat. */
int pool_open(const char *path, int read_only, int allow_nonpmem, struct pool *p);
void pool_close(struct pool *p);
/* Whether a pool file created at path would be (emulated) pmem: a probe file
 * beside it, mapped and asked.  1 yes, 0 no, -1 the probe failed. */
int pool_probe_dax(const char *path);
/* The status for errno e of the OS call what on path, with the detail in
 * the thread's errmsg: EACCES, ENOMEM, ENOTPOOL (a directory) or EIO (a full
 * filesystem named as such). */
int pool_os_err(int e, const char *what, const char *path);
/* Fills in magic/version/crc of a formatted header and persists it, then
 * its backup copy.  h is the header at offset 0 of a mapped pool. */
void pool_hdr_seal(struct pool_hdr *h);
/* 0 when the header is a daxkv header of this version with a geometry that
 * fits the file; else ENOTPOOL (no magic), ECORRUPT, EVERSION. */
int pool_hdr_check(const struct pool_hdr *h, uint64_t file_size);

#endif
