/*
 * kv.c -- the API's writes with an expiry time and its conditional writes
 * (include/daxkv.h, "Time to live" and "Read-modify-write"; the design in
 * docs/ARCHITECTURE.md, "Time to live").
 *
 * The expiry time is a field of the record (format.h), so it is written,
 * made durable, copied by GC and replayed exactly as the value is.  A key's
 * version is its record's seq: unique, new at every write, kept by GC's
 * copies.  A condition is checked under the key's node lock in the same
 * critical section as the write (skiplist_write.c, update_locked), so
 * compare-and-put is atomic against every other writer.
 */

#include "engine/internal.h"

/* put (or, for a time already past, delete) with a condition. */
static int put_cond(daxkv *db, const void *key, size_t klen, const void *val, size_t vlen,
		    uint64_t expire_at_ms, int cond, uint64_t expect)
{
	int rc = dkv_check_write(db, key, klen, val, vlen);
	if (!rc)
		rc = dkv_check_expire(expire_at_ms);
	if (rc)
		return rc;
	uint64_t now = expire_at_ms || cond ? daxkv_now_ms() : 0;
	bool past = expire_at_ms && expire_at_ms <= now;
	struct sl_put op = { .key = { key, (uint32_t)klen }, .val = val ? val : "",
			     .vlen = (uint32_t)vlen, .is_delete = past,
			     .expire = past ? 0 : expire_at_ms, .cond = cond, .expect = expect,
			     .now_ms = now };
	rc = dkv_write_one(db, &op);
	/* Written already expired: the key is gone either way. */
	return past && rc == DAXKV_ENOTFOUND ? 0 : rc;
}

DAXKV_API int daxkv_put_expire(daxkv *db, const void *key, size_t klen, const void *val,
			       size_t vlen, uint64_t expire_at_ms)
{
	return put_cond(db, key, klen, val, vlen, expire_at_ms, SL_COND_NONE, 0);
}

DAXKV_API int daxkv_put_ttl(daxkv *db, const void *key, size_t klen, const void *val,
			    size_t vlen, uint64_t ttl_ms)
{
	if (ttl_ms > DKV_EXPIRE_MAX / 2)
		return dkv_err(DAXKV_EINVAL, "ttl of %llu ms is beyond 2^62",
			       (unsigned long long)ttl_ms);
	return put_cond(db, key, klen, val, vlen, ttl_ms ? daxkv_now_ms() + ttl_ms : 0,
			SL_COND_NONE, 0);
}

DAXKV_API int daxkv_put_if(daxkv *db, const void *key, size_t klen, const void *val,
			   size_t vlen, uint64_t expire_at_ms, uint64_t expect)
{
	return put_cond(db, key, klen, val, vlen, expire_at_ms, SL_COND_VERSION, expect);
}

DAXKV_API int daxkv_delete_if(daxkv *db, const void *key, size_t klen, uint64_t expect)
{
	int rc = dkv_check_write(db, key, klen, NULL, 0);
	if (rc)
		return rc;
	struct sl_put op = { .key = { key, (uint32_t)klen }, .val = "", .is_delete = 1,
			     .cond = SL_COND_VERSION, .expect = expect };
	return dkv_write_one(db, &op);
}

DAXKV_API int daxkv_ttl(daxkv *db, const void *key, size_t klen, int64_t *ttl_ms)
{
	if (!ttl_ms)
		return dkv_err(DAXKV_EINVAL, "ttl_ms is NULL");
	size_t vlen;
	uint64_t exp = 0;
	int rc = daxkv_get_meta(db, key, klen, NULL, 0, &vlen, NULL, &exp);
	if (rc)
		return rc;
	if (!exp) {
		*ttl_ms = DAXKV_TTL_NONE;
		return 0;
	}
	uint64_t now = daxkv_now_ms();
	*ttl_ms = exp > now ? (int64_t)(exp - now) : 0;
	return 0;
}

/* expire_at / persist: the key's record rewritten with a new expiry, its
 * value as it is -- an update (daxkv_update), so under the key's lock. */
struct exp_ctx {
	uint64_t at;      /* the new expiry time, 0 none */
	bool only_if_had; /* persist: leave a key without an expiry alone */
	int had;          /* out: the key had an expiry */
};

static int expiry_fn(void *ctx, const void *old, size_t old_len, int exists, const void **val,
		     size_t *vlen, uint64_t *expire_at_ms)
{
	struct exp_ctx *x = ctx;
	if (!exists)
		return DAXKV_ENOTFOUND;
	x->had = *expire_at_ms != 0;
	if (x->only_if_had && !x->had)
		return DAXKV_UPDATE_KEEP;
	*val = old; /* the old record stays mapped through the write (sl_put is pinned) */
	*vlen = old_len;
	*expire_at_ms = x->at; /* a time past: the update deletes */
	return DAXKV_UPDATE_PUT;
}

DAXKV_API int daxkv_expire_at(daxkv *db, const void *key, size_t klen, uint64_t expire_at_ms)
{
	struct exp_ctx x = { .at = expire_at_ms };
	return daxkv_update(db, key, klen, expiry_fn, &x);
}

DAXKV_API int daxkv_persist(daxkv *db, const void *key, size_t klen, int *had_ttl)
{
	struct exp_ctx x = { .only_if_had = true };
	int rc = daxkv_update(db, key, klen, expiry_fn, &x);
	if (!rc && had_ttl)
		*had_ttl = x.had;
	return rc;
}

/* ---- daxkv_update: the caller's decision under the key's lock ---- */

struct upd_ctx {
	daxkv *db;
	daxkv_update_fn fn;
	void *ctx;
	uint64_t expire; /* the last decision's expiry time */
};

static int upd_adapt(void *arg, const struct rec_hdr *h, struct sl_put *op)
{
	struct upd_ctx *u = arg;
	const void *val = NULL;
	size_t vlen = 0;
	uint64_t exp = h ? h->expire : 0;
	int r = u->fn(u->ctx, h ? rec_val(h) : NULL, h ? h->vlen : 0, h != NULL, &val, &vlen,
		      &exp);
	u->expire = 0;
	if (r < 0)
		return r;
	if (r == DAXKV_UPDATE_KEEP)
		return SL_UPD_KEEP;
	if (r == DAXKV_UPDATE_DELETE) {
		op->is_delete = 1;
		op->val = "";
		op->vlen = 0;
		op->expire = 0;
		return SL_UPD_WRITE;
	}
	if (r != DAXKV_UPDATE_PUT)
		return dkv_err(DAXKV_EINVAL, "update function answered %d", r);
	int rc = dkv_check_kv(op->key.k, op->key.len, val, vlen);
	if (!rc && rec_size(op->key.len, vlen) > seg_max_record(u->db))
		rc = dkv_err(DAXKV_ETOOBIG, "record of %llu bytes exceeds the largest this store "
			     "takes, %llu", (unsigned long long)rec_size(op->key.len, vlen),
			     (unsigned long long)seg_max_record(u->db));
	if (!rc)
		rc = dkv_check_expire(exp);
	if (rc)
		return rc;
	if (exp && exp <= op->now_ms) { /* expired as written: a delete */
		op->is_delete = 1;
		op->val = "";
		op->vlen = 0;
		op->expire = 0;
		return SL_UPD_WRITE;
	}
	op->val = val ? val : "";
	op->vlen = (uint32_t)vlen;
	op->expire = exp;
	u->expire = exp;
	return SL_UPD_WRITE;
}

DAXKV_API int daxkv_update(daxkv *db, const void *key, size_t klen, daxkv_update_fn fn,
			   void *ctx)
{
	int rc = dkv_check_write(db, key, klen, NULL, 0);
	if (!rc && !fn)
		rc = dkv_err(DAXKV_EINVAL, "fn is NULL");
	if (rc)
		return rc;
	struct upd_ctx u = { .db = db, .fn = fn, .ctx = ctx };
	uint64_t node = 0;
	struct sl_put op = { .key = { key, (uint32_t)klen }, .val = "", .now_ms = daxkv_now_ms(),
			     .update = upd_adapt, .update_ctx = &u, .node_out = &node };
	rc = dkv_write_one(db, &op);
	if (!rc && u.expire && node)
		ttl_add(db, node); /* the active expiry cycle samples it */
	return rc;
}
