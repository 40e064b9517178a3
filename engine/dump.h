/*
 * dump.h -- the portable dump stream: what `daxkv dump` writes, `daxkv load`
 * and `daxkv restore` read, and daxkv_backup() writes to a file.
 *
 * It does not depend on the pool format or the backend.  All integers are
 * little-endian.  docs/CLI.md is the reference; the layout:
 *
 *   header   "DAXKVDMP" | u32 version (2) | u32 flags (0) | u64 reserved (0)
 *   entry    u32 klen (1..DAXKV_KEY_MAX) | u32 vlen (..DAXKV_VALUE_MAX)
 *            | u64 expire (Unix ms, 0 = none; version 2 only) | key | value
 *   trailer  u32 0 (end mark: no key is empty) | u32 0 | u64 entries
 *            | u32 crc | u32 "DEND"
 *
 * crc is CRC32C (ISA-L crc32_iscsi) chained over every byte from the start of
 * the header to the end of the entry count, starting from 0xFFFFFFFF.
 * Entries come in key order (memcmp, shorter prefix first); readers do not
 * rely on it.  Not installed.  The writer is here (the library writes
 * streams: daxkv_backup); the reader is tools/lib/dump_read.h.
 */
#ifndef DAXKV_DUMP_H
#define DAXKV_DUMP_H

#include <stddef.h>
#include <stdint.h>

#include "daxkv.h"

#define DUMP_MAGIC "DAXKVDMP"
#define DUMP_VERSION 2u    /* written; readers take 1 (no expiry times) too */
#define DUMP_VERSION_MIN 1u
#define DUMP_END_MAGIC 0x444e4544u /* "DEND" */
#define DUMP_HDR_SIZE 24u
#define DUMP_TRAILER_SIZE 24u
#define DUMP_CRC_INIT 0xffffffffu

/*
 * Writer.  The producer appends into buf; when it is full flush() hands the
 * bytes on and must leave an empty buffer (buf, cap; len = 0) behind.  The
 * final partial buffer is the caller's to hand on after dump_w_db().
 */
struct dump_w {
	char *buf;
	size_t len, cap;
	int (*flush)(struct dump_w *w); /* 0 or a DAXKV_E* code */
	void *ctx;
	uint32_t crc;
	uint64_t entries;
	uint64_t bytes; /* stream bytes produced so far */
};

/* begin + every live key/value of a snapshot of db + end.  ECORRUPT when a
 * record fails its CRC; otherwise what flush() answers. */
int dump_w_db(struct dump_w *w, daxkv *db);

#endif
