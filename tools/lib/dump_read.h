/*
 * dump_read.h -- the reader of the dump stream (format: engine/dump.h).
 * Part of the offline tools' library, not of libdaxkv.
 */
#ifndef DAXKV_DUMP_READ_H
#define DAXKV_DUMP_READ_H

#include "engine/dump.h"

/* Reader over a file descriptor (a pipe is fine). */
struct dump_r {
	int fd;
	char *buf;
	size_t pos, len, cap;
	uint32_t crc;        /* over the bytes consumed so far */
	uint64_t offset;     /* stream bytes consumed */
	uint64_t entries;
	uint64_t data_bytes; /* sum of klen + vlen */
	uint32_t max_klen, max_vlen;
	uint32_t version, flags;
	uint64_t expire;     /* the current entry's expiry time (Unix ms; 0 none, and
	                        always 0 in a version 1 stream) */
	char *kv;            /* key + value of the current entry */
	size_t kv_cap;
	int done;
};

/* Reads and checks the header.  OK, ECORRUPT (not a dump stream, or
 * truncated), EVERSION (a newer stream version), EIO, ENOMEM.  Versions 1 and 2
 * are read (1: entries without expiry times). */
int dump_r_open(struct dump_r *r, int fd);
/* The next entry: 1, with *key and *val valid until the next call (and its
 * expiry time in r->expire); 0 at the end,
 * the trailer checked (count and CRC); or ECORRUPT (truncated, damaged, bad
 * CRC: errmsg says at which byte), EIO, ENOMEM. */
int dump_r_next(struct dump_r *r, const void **key, uint32_t *klen, const void **val,
		uint32_t *vlen);
void dump_r_close(struct dump_r *r);

#endif
