/*
 * dump.c -- the writer of the portable dump stream (layout in dump.h and
 * docs/CLI.md): it fills caller-owned buffers.  daxkv_backup() and
 * `daxkv dump` use it; the reader is the offline tools' (tools/lib/dump_read.c).
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

static int dump_w_begin(struct dump_w *w)
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

static int dump_w_entry(struct dump_w *w, const void *key, uint32_t klen, const void *val,
			uint32_t vlen, uint64_t expire)
{
	if (klen == 0 || klen > DAXKV_KEY_MAX || vlen > DAXKV_VALUE_MAX)
		return dkv_err(DAXKV_EINVAL, "dump entry: key of %u or value of %u bytes", klen,
			       vlen);
	int rc = w_u32(w, klen, 1);
	if (!rc)
		rc = w_u32(w, vlen, 1);
	if (!rc)
		rc = w_u64(w, expire, 1);
	if (!rc)
		rc = w_raw(w, key, klen, 1);
	if (!rc && vlen)
		rc = w_raw(w, val, vlen, 1);
	if (!rc)
		w->entries++;
	return rc;
}

static int dump_w_end(struct dump_w *w)
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
		rc = dump_w_entry(w, k, (uint32_t)klen, v, (uint32_t)vlen, daxkv_iter_expire(it));
	}
	if (!rc && daxkv_iter_status(it))
		rc = dkv_err(daxkv_iter_status(it), "dump: the iterator failed: %s",
			     daxkv_errmsg());
	if (!rc)
		rc = dump_w_end(w);
	daxkv_iter_free(it);
	return rc;
}
