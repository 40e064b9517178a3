/*
 * dump.c -- the portable dump stream (layout in dump.h and docs/CLI.md):
 * a writer that fills caller-owned buffers, and a reader over a file
 * descriptor that checks every length, the entry count and the CRC32C.
 *
 * The stream is made and read only through the public API (iterators), so it
 * is independent of the pool format: a dump of one format version loads into
 * another, and into either backend.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/dump.h"
#include "pmem/util.h"

#define DUMP_RBUF (1u << 20)

/* ---- writer ---- */

static int w_raw(struct dump_w *w, const void *p, size_t n, int crc)
{
	const char *s = p;
	while (n) {
		if (w->len == w->cap) {
			int rc = w->flush(w);
			if (rc)
				return rc;
		}
		size_t c = w->cap - w->len < n ? w->cap - w->len : n;
		memcpy(w->buf + w->len, s, c);
		if (crc)
			w->crc = dkv_crc(w->crc, s, c);
		w->len += c;
		w->bytes += c;
		s += c;
		n -= c;
	}
	return 0;
}

static int w_u32(struct dump_w *w, uint32_t v, int crc)
{
	uint32_t le = htole32(v);
	return w_raw(w, &le, 4, crc);
}

static int w_u64(struct dump_w *w, uint64_t v, int crc)
{
	uint64_t le = htole64(v);
	return w_raw(w, &le, 8, crc);
}

int dump_w_begin(struct dump_w *w)
{
	w->crc = DUMP_CRC_INIT;
	w->entries = 0;
	w->bytes = 0;
	int rc = w_raw(w, DUMP_MAGIC, 8, 1);
	if (!rc)
		rc = w_u32(w, DUMP_VERSION, 1);
	if (!rc)
		rc = w_u32(w, 0, 1); /* flags */
	if (!rc)
		rc = w_u64(w, 0, 1); /* reserved */
	return rc;
}

int dump_w_entry(struct dump_w *w, const void *key, uint32_t klen, const void *val,
		 uint32_t vlen)
{
	if (klen == 0 || klen > DAXKV_KEY_MAX || vlen > DAXKV_VALUE_MAX)
		return dkv_err(DAXKV_EINVAL, "dump entry: key of %u or value of %u bytes", klen,
			       vlen);
	int rc = w_u32(w, klen, 1);
	if (!rc)
		rc = w_u32(w, vlen, 1);
	if (!rc)
		rc = w_raw(w, key, klen, 1);
	if (!rc && vlen)
		rc = w_raw(w, val, vlen, 1);
	if (!rc)
		w->entries++;
	return rc;
}

int dump_w_end(struct dump_w *w)
{
	int rc = w_u32(w, 0, 1);
	if (!rc)
		rc = w_u32(w, 0, 1);
	if (!rc)
		rc = w_u64(w, w->entries, 1);
	if (!rc)
		rc = w_u32(w, w->crc, 0);
	if (!rc)
		rc = w_u32(w, DUMP_END_MAGIC, 0);
	return rc;
}

int dump_w_db(struct dump_w *w, daxkv *db)
{
	daxkv_iter *it = NULL;
	int rc = daxkv_iter_new(db, &it); /* the snapshot: as of now */
	if (rc)
		return rc;
	rc = dump_w_begin(w);
	for (daxkv_iter_seek_first(it); !rc && daxkv_iter_valid(it); daxkv_iter_next(it)) {
		size_t klen, vlen;
		const void *k = daxkv_iter_key(it, &klen);
		const void *v = daxkv_iter_value(it, &vlen);
		if (!v) {
			rc = dkv_err(DAXKV_ECORRUPT, "dump: the record of a key (%zu bytes) "
				     "fails its CRC; run `daxkv check`", klen);
			break;
		}
		rc = dump_w_entry(w, k, (uint32_t)klen, v, (uint32_t)vlen);
	}
	if (!rc && daxkv_iter_status(it))
		rc = dkv_err(daxkv_iter_status(it), "dump: the iterator failed: %s",
			     daxkv_errmsg());
	if (!rc)
		rc = dump_w_end(w);
	daxkv_iter_free(it);
	return rc;
}

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
	if (r->version != DUMP_VERSION)
		return dkv_err(DAXKV_EVERSION, "dump stream version %u; this build reads %u",
			       r->version, DUMP_VERSION);
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
