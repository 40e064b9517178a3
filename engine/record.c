/*
 * record.c -- the on-media record: encode, validate, copy.
 *
 * Durability invariants of this module:
 *  PERSIST(REC-1): a record is written with NT stores and fenced by its caller
 *                  before anything points at it.
 *  PERSIST(REC-2): the CRC covers header (after the crc field), key and value and
 *                  is seeded with the segment's generation, so a record left from
 *                  an earlier use of the segment never validates.
 */
#include "engine/internal.h"

#define REC_STAGE 4096u

static uint32_t rec_crc(uint64_t gen, const struct rec_hdr *h, const void *key,
			const void *val)
{
	uint32_t c = dkv_crc((uint32_t)(gen ^ (gen >> 32)), (const char *)h + 4,
			     sizeof(*h) - 4);
	c = dkv_crc(c, key, h->klen);
	return dkv_crc(c, val, h->vlen);
}

/* The paired check of the write: the bytes at off read back as what was
 * written, CRC and all (recovery checks the same CRC after a crash).  The
 * fields are the caller's (the tests write bad ones on purpose). */
static __attribute__((unused)) bool rec_written_ok(const struct daxkv *db, uint64_t off,
						  uint64_t gen, uint32_t crc)
{
	const struct rec_hdr *h = rec_at(db, off);
	return h->crc == crc && rec_crc(gen, h, rec_key(h), rec_val(h)) == crc;
}

void rec_write(struct daxkv *db, uint64_t off, uint64_t gen, const struct rec_in *r)
{
	static __thread uint64_t stage[REC_STAGE / 8];
	struct rec_hdr h = {
		.type = r->type, .flags = r->flags, .klen = r->klen, .vlen = r->vlen,
		.seq = r->seq, .expire = r->expire, .prev = r->prev, .aux = r->aux,
	};
	uint64_t total = rec_size(r->klen, r->vlen);
	char *dst = dkv_ptr(db, off);
	/* REC: a whole record, 8-aligned, inside the data area of one segment. */
	DAXKV_ASSERT(rec_off_ok(db, off) &&
		     off - dkv_seg_start(db, dkv_seg_of(db, off)) + total <= db->seg_size);

	h.crc = rec_crc(gen, &h, r->key, r->val);
	if (DKV_UNLIKELY(db->blk != NULL)) { /* GC's tombstone rule (gc.c) */
		_Atomic uint64_t *m = &db->segs[dkv_seg_of(db, off)].min_seq;
		uint64_t cur = atomic_load_explicit(m, memory_order_relaxed);
		while (r->seq < cur && !atomic_compare_exchange_weak(m, &cur, r->seq))
			;
	}
	if (total <= REC_STAGE) {
		/* One NT copy of the whole record: fewest partial lines. */
		char *s = (char *)stage;
		memcpy(s, &h, sizeof(h));
		memcpy(s + sizeof(h), r->key, r->klen);
		if (r->vlen)
			memcpy(s + sizeof(h) + r->klen, r->val, r->vlen);
		memset(s + sizeof(h) + r->klen + r->vlen, 0,
		       total - sizeof(h) - r->klen - r->vlen);
		pm_copy_nodrain(dst, s, total);
		DAXKV_ASSERT(rec_written_ok(db, off, gen, h.crc));
		return;
	}
	pm_copy_nodrain(dst, &h, sizeof(h));
	pm_copy_nodrain(dst + sizeof(h), r->key, r->klen);
	if (r->vlen)
		pm_copy_nodrain(dst + sizeof(h) + r->klen, r->val, r->vlen);
	uint64_t pad = total - sizeof(h) - r->klen - r->vlen;
	if (pad)
		pm_set_nodrain(dst + total - pad, 0, pad);
	DAXKV_ASSERT(rec_written_ok(db, off, gen, h.crc));
}

bool rec_off_ok(const struct daxkv *db, uint64_t off)
{
	if (off < db->seg_base || (off & 7))
		return false;
	uint32_t id = dkv_seg_of(db, off);
	if (id >= db->nsegs)
		return false;
	uint64_t in = off - dkv_seg_start(db, id);
	return in >= SEG_DATA_OFF && in + sizeof(struct rec_hdr) <= db->seg_size;
}

int rec_check(const struct daxkv *db, uint64_t off, uint64_t gen, uint64_t end, uint64_t *size)
{
	const struct rec_hdr *h = rec_at(db, off);
	if (off + sizeof(*h) > end)
		return DAXKV_ECORRUPT;
	if ((h->type != REC_PUT && h->type != REC_DEL) || h->klen == 0 ||
	    h->klen > DAXKV_KEY_MAX || h->vlen > DAXKV_VALUE_MAX)
		return DAXKV_ECORRUPT;
	uint64_t sz = rec_size(h->klen, h->vlen);
	if (off + sz > end)
		return DAXKV_ECORRUPT;
	if (rec_crc(gen, h, rec_key(h), rec_val(h)) != h->crc)
		return DAXKV_ECORRUPT;
	*size = sz;
	return 0;
}

int rec_verify(const struct daxkv *db, uint64_t off)
{
	uint64_t sz;
	if (!rec_off_ok(db, off))
		return dkv_err(DAXKV_ECORRUPT, "index points outside the log (offset %llu)",
			       (unsigned long long)off);
	uint32_t id = dkv_seg_of(db, off);
	uint64_t end = dkv_seg_start(db, id) + db->seg_size;
	if (rec_check(db, off, db->segs[id].gen, end, &sz))
		return dkv_err(DAXKV_ECORRUPT, "record at offset %llu fails its CRC",
			       (unsigned long long)off);
	return 0;
}

void rec_copy(struct daxkv *db, uint64_t dst, uint64_t dst_gen, uint64_t src)
{
	const struct rec_hdr *h = rec_at(db, src);
	struct rec_in r = {
		.type = h->type, .flags = 0, .key = rec_key(h), .klen = h->klen,
		.val = rec_val(h), .vlen = h->vlen, .seq = h->seq, .prev = h->prev, .aux = 0,
		.expire = h->expire,
	};
	rec_write(db, dst, dst_gen, &r);
}

/* ---- argument checks: the keys and values a record can hold ---- */

int dkv_check_key(const void *key, size_t klen)
{
	if (!key || klen == 0)
		return dkv_err(DAXKV_EINVAL, "key is NULL or empty");
	if (klen > DAXKV_KEY_MAX)
		return dkv_err(DAXKV_ETOOBIG, "key of %zu bytes exceeds DAXKV_KEY_MAX (%u)", klen,
			       DAXKV_KEY_MAX);
	return 0;
}

int dkv_check_kv(const void *key, size_t klen, const void *val, size_t vlen)
{
	int rc = dkv_check_key(key, klen);
	if (rc)
		return rc;
	if (!val && vlen)
		return dkv_err(DAXKV_EINVAL, "value is NULL with length %zu", vlen);
	if (vlen > DAXKV_VALUE_MAX)
		return dkv_err(DAXKV_ETOOBIG, "value of %zu bytes exceeds DAXKV_VALUE_MAX", vlen);
	return 0;
}
