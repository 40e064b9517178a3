/*
 * pool.h -- create, lock, map and validate a pool file.
 *
 * A pool is one file mapped whole.  Its first 4 KiB hold struct pool_hdr:
 * magic, format version and the immutable geometry, sealed by a CRC32C.
 * Everything after the header belongs to the engine.  Nothing here knows
 * about keys.
 */
#ifndef DAXKV_POOL_H
#define DAXKV_POOL_H

#include <stddef.h>
#include <stdint.h>

#define POOL_MAGIC "DAXKVPL\0"
#define POOL_FORMAT_VERSION 1u
#define POOL_HDR_SIZE 4096u

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
};

/* Result codes are DAXKV_E* (daxkv.h); details go to the thread's errmsg. */

/* Creates path with size bytes (O_EXCL), locks it, maps it; the header is
 * left zeroed: the caller formats and then calls pool_hdr_seal(). */
int pool_create(const char *path, uint64_t size, struct pool *p);
/* Opens an existing pool: lock (EBUSY), map, DAX check (ENOTSUP unless
 * allow_nonpmem), header check (EVERSION).  A header of all zeroes (an
 * interrupted create) answers ENOTFOUND so that create may reformat. */
int pool_open(const char *path, int read_only, int allow_nonpmem, struct pool *p);
void pool_close(struct pool *p);
/* Fills in magic/version/crc of a formatted header and persists it. */
void pool_hdr_seal(struct pool_hdr *h);
/* 0 when the header is a daxkv header of this version, else DAXKV_EVERSION. */
int pool_hdr_check(const struct pool_hdr *h, uint64_t file_size);

#endif
