/*
 * dump_read.c -- the reader of the portable dump stream (layout in
 * engine/dump.h and docs/CLI.md) over a file descriptor: it checks every
 * length, the entry count and the CRC32C.  `daxkv load` and `daxkv restore`
 * use it; the library itself only writes streams (daxkv_backup).
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmem/util.h"
#include "tools/lib/dump_read.h"

#define DUMP_RBUF (1u << 20)

/* ---- reader ---- */

static int r_fill(struct dump_r *r)
{
	if (r->pos < r->len)
		return 0;
	r->pos = r->len = 0;
	for (;;) {
		ssize_t n = read(r->fd, r->buf, r->cap);
		if (n > 0) {
			r->len = (size_t)n;
			return 0;
		}
		if (n == 0)
			return dkv_err(DAXKV_ECORRUPT, "dump stream truncated at byte %llu",
				       (unsigned long long)r->offset);
		if (errno != EINTR)
			return dkv_err(DAXKV_EIO, "read dump stream: %s", strerror(errno));
	}
}

/* Consumes n bytes into dst (or only checksums them when dst is NULL). */
static int r_take(struct dump_r *r, void *dst, size_t n, int crc)
{
	char *d = dst;
	while (n) {
		int rc = r_fill(r);
		if (rc)
			return rc;
		size_t c = r->len - r->pos < n ? r->len - r->pos : n;
		if (crc)
			r->crc = dkv_crc(r->crc, r->buf + r->pos, c);
		if (d) {
			memcpy(d, r->buf + r->pos, c);
			d += c;
		}
		r->pos += c;
		r->offset += c;
		n -= c;
	}
	return 0;
}

static int r_u32(struct dump_r *r, uint32_t *v, int crc)
{
	uint32_t le;
	int rc = r_take(r, &le, 4, crc);
	*v = le32toh(le);
	return rc;
}

static int r_u64(struct dump_r *r, uint64_t *v, int crc)
{
	uint64_t le;
	int rc = r_take(r, &le, 8, crc);
	*v = le64toh(le);
	return rc;
}

int dump_r_open(struct dump_r *r, int fd)
{
	char magic[8];
	uint64_t rsv;
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->crc = DUMP_CRC_INIT;
	r->cap = DUMP_RBUF;
	r->buf = malloc(r->cap);
	if (!r->buf)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	int rc = r_take(r, magic, 8, 1);
	if (rc == DAXKV_ECORRUPT || (!rc && memcmp(magic, DUMP_MAGIC, 8) != 0))
		return dkv_err(DAXKV_ECORRUPT, "not a daxkv dump stream (bad or missing magic)");
	if (!rc)
		rc = r_u32(r, &r->version, 1);
	if (!rc)
		rc = r_u32(r, &r->flags, 1);
	if (!rc)
		rc = r_u64(r, &rsv, 1);
	if (rc)
		return rc;
	if (r->version < DUMP_VERSION_MIN || r->version > DUMP_VERSION)
		return dkv_err(DAXKV_EVERSION, "dump stream version %u; this build reads %u..%u",
			       r->version, DUMP_VERSION_MIN, DUMP_VERSION);
	if (r->flags != 0)
		return dkv_err(DAXKV_EVERSION, "dump stream flags 0x%x are unknown to this build",
			       r->flags);
	return 0;
}

static int r_trailer(struct dump_r *r)
{
	uint32_t zero, crc, end;
	uint64_t count;
	int rc = r_u32(r, &zero, 1);
	if (!rc)
		rc = r_u64(r, &count, 1);
	uint32_t want = r->crc;
	if (!rc)
		rc = r_u32(r, &crc, 0);
	if (!rc)
		rc = r_u32(r, &end, 0);
	if (rc)
		return rc;
	if (zero != 0 || end != DUMP_END_MAGIC)
		return dkv_err(DAXKV_ECORRUPT, "dump trailer damaged (byte %llu)",
			       (unsigned long long)r->offset);
	if (count != r->entries)
		return dkv_err(DAXKV_ECORRUPT, "dump trailer counts %llu entries, the stream "
			       "holds %llu", (unsigned long long)count,
			       (unsigned long long)r->entries);
	if (crc != want)
		return dkv_err(DAXKV_ECORRUPT, "dump stream CRC32C mismatch (trailer 0x%08x, "
			       "computed 0x%08x)", crc, want);
	r->done = 1;
	return 0;
}

int dump_r_next(struct dump_r *r, const void **key, uint32_t *klen, const void **val,
		uint32_t *vlen)
{
	uint32_t kl, vl;
	if (r->done)
		return 0;
	uint64_t at = r->offset;
	int rc = r_u32(r, &kl, 1);
	if (rc)
		return rc;
	if (kl == 0) {
		rc = r_trailer(r);
		return rc ? rc : 0;
	}
	rc = r_u32(r, &vl, 1);
	r->expire = 0;
	if (!rc && r->version >= 2)
		rc = r_u64(r, &r->expire, 1);
	if (rc)
		return rc;
	if (kl > DAXKV_KEY_MAX || vl > DAXKV_VALUE_MAX)
		return dkv_err(DAXKV_ECORRUPT, "dump entry at byte %llu: key of %u or value of "
			       "%u bytes is beyond the limits", (unsigned long long)at, kl, vl);
	size_t need = (size_t)kl + vl;
	if (need > r->kv_cap) {
		char *p = realloc(r->kv, need);
		if (!p)
			return dkv_err(DAXKV_ENOMEM, "out of memory (entry of %zu bytes)", need);
		r->kv = p;
		r->kv_cap = need;
	}
	rc = r_take(r, r->kv, need, 1);
	if (rc)
		return rc;
	r->entries++;
	r->data_bytes += need;
	if (kl > r->max_klen)
		r->max_klen = kl;
	if (vl > r->max_vlen)
		r->max_vlen = vl;
	*key = r->kv;
	*klen = kl;
	*val = r->kv + kl;
	*vlen = vl;
	return 1;
}

void dump_r_close(struct dump_r *r)
{
	free(r->buf);
	free(r->kv);
	r->buf = r->kv = NULL;
}
