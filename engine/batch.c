/*
 * batch.c -- atomic batches.
 *
 * A batch runs with every lane held (no other writer), so what it reads in
 * phase A is what it applies in phase B.
 *  phase A: collapse the operations to the last one per key, reserve a node
 *           for each new key (ENOSPC is answered here, before anything is
 *           durable) and write all records contiguously in one segment.
 *  commit:  lane slot `batch` = first record; one fence.  PERSIST(BAT-1): from
 *           here recovery redoes the whole batch (records flagged BATCH, the
 *           last BATCH_LAST: an incomplete run means it never committed).
 *  phase B: apply each record through the single-operation path (sl_put with
 *           pre_off), whose own fences order each index change.
 *  done:    slot `batch` = 0, fenced before the lanes are released
 *           (PERSIST(BAT-2)): a later crash must not redo it over newer writes.
 * Iterators (snapshots) see a batch whole or not at all: no snapshot is taken
 * while one applies.  A concurrent point get may see it half applied.  After
 * a crash it is all or nothing.
 */
#include <stdlib.h>

#include "engine/internal.h"

struct bop {
	uint8_t del;
	uint32_t klen, vlen;
	size_t koff, voff; /* into buf */
	uint64_t expire;   /* put: expiry time (Unix ms), 0 none */
};

/* A condition (daxkv_batch_expect): the key at koff has version expect. */
struct bexp {
	uint32_t klen;
	size_t koff;
	uint64_t expect;
};

struct daxkv_batch {
	struct bop *ops;
	size_t n, cap;
	char *buf;
	size_t blen, bcap;
	struct bexp *exps;
	size_t nexp, capexp;
};

DAXKV_API int daxkv_batch_new(daxkv_batch **out)
{
	if (!out)
		return dkv_err(DAXKV_EINVAL, "out is NULL");
	daxkv_batch *b = calloc(1, sizeof(*b));
	if (!b)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	*out = b;
	return 0;
}

static int buf_add(daxkv_batch *b, const void *p, size_t len, size_t *off)
{
	if (b->blen + len > b->bcap) {
		size_t cap = b->bcap ? b->bcap : 4096;
		while (cap < b->blen + len)
			cap *= 2;
		char *nb = realloc(b->buf, cap);
		if (!nb)
			return dkv_err(DAXKV_ENOMEM, "out of memory");
		b->buf = nb;
		b->bcap = cap;
	}
	*off = b->blen;
	if (len)
		memcpy(b->buf + b->blen, p, len);
	b->blen += len;
	return 0;
}

static int batch_add(daxkv_batch *b, int del, const void *key, size_t klen, const void *val,
		     size_t vlen, uint64_t expire)
{
	if (!b)
		return dkv_err(DAXKV_EINVAL, "batch is NULL");
	int rc = dkv_check_kv(key, klen, val, vlen);
	if (rc)
		return rc;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct bop *o = realloc(b->ops, cap * sizeof(*o));
		if (!o)
			return dkv_err(DAXKV_ENOMEM, "out of memory");
		b->ops = o;
		b->cap = cap;
	}
	struct bop *op = &b->ops[b->n];
	size_t saved = b->blen;
	if (buf_add(b, key, klen, &op->koff) || buf_add(b, val, vlen, &op->voff)) {
		b->blen = saved;
		return DAXKV_ENOMEM;
	}
	op->del = (uint8_t)del;
	op->klen = (uint32_t)klen;
	op->vlen = (uint32_t)vlen;
	op->expire = expire;
	b->n++;
	return 0;
}

DAXKV_API int daxkv_batch_put(daxkv_batch *b, const void *key, size_t klen, const void *val,
			      size_t vlen)
{
	return batch_add(b, 0, key, klen, val, vlen, 0);
}

DAXKV_API int daxkv_batch_put_expire(daxkv_batch *b, const void *key, size_t klen,
				     const void *val, size_t vlen, uint64_t expire_at_ms)
{
	int rc = dkv_check_expire(expire_at_ms);
	if (rc)
		return rc;
	/* A time already past: the key is deleted (as daxkv_put_expire). */
	if (expire_at_ms && expire_at_ms <= daxkv_now_ms())
		return batch_add(b, 1, key, klen, NULL, 0, 0);
	return batch_add(b, 0, key, klen, val, vlen, expire_at_ms);
}

DAXKV_API int daxkv_batch_delete(daxkv_batch *b, const void *key, size_t klen)
{
	return batch_add(b, 1, key, klen, NULL, 0, 0);
}

DAXKV_API int daxkv_batch_expect(daxkv_batch *b, const void *key, size_t klen, uint64_t expect)
{
	if (!b)
		return dkv_err(DAXKV_EINVAL, "batch is NULL");
	int rc = dkv_check_key(key, klen);
	if (rc)
		return rc;
	if (b->nexp == b->capexp) {
		size_t cap = b->capexp ? b->capexp * 2 : 8;
		struct bexp *e = realloc(b->exps, cap * sizeof(*e));
		if (!e)
			return dkv_err(DAXKV_ENOMEM, "out of memory");
		b->exps = e;
		b->capexp = cap;
	}
	struct bexp *e = &b->exps[b->nexp];
	if (buf_add(b, key, klen, &e->koff))
		return DAXKV_ENOMEM;
	e->klen = (uint32_t)klen;
	e->expect = expect;
	b->nexp++;
	return 0;
}

DAXKV_API void daxkv_batch_clear(daxkv_batch *b)
{
	if (b)
		b->n = b->blen = b->nexp = 0;
}

DAXKV_API void daxkv_batch_free(daxkv_batch *b)
{
	if (!b)
		return;
	free(b->ops);
	free(b->exps);
	free(b->buf);
	free(b);
}

/* ---- applying ---- */

struct pend {
	size_t op;        /* index into b->ops */
	uint64_t prev;    /* location replaced, 0 for a new key */
	uint64_t node;    /* reserved node for a new key */
	unsigned level;
	uint64_t off;     /* where its record went */
	uint64_t seq;
};

static __thread const daxkv_batch *tl_sort_batch;

static int cmp_ops(const void *a, const void *b)
{
	const daxkv_batch *bt = tl_sort_batch;
	const struct bop *x = &bt->ops[*(const size_t *)a], *y = &bt->ops[*(const size_t *)b];
	uint32_t m = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(bt->buf + x->koff, bt->buf + y->koff, m);
	if (!c)
		c = (x->klen > y->klen) - (x->klen < y->klen);
	if (!c) /* same key: later operation last */
		c = (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
	return c;
}

/* Indexes of the last operation on each key, in key order. */
static size_t collapse(const daxkv_batch *b, size_t *idx)
{
	for (size_t i = 0; i < b->n; i++)
		idx[i] = i;
	tl_sort_batch = b;
	qsort(idx, b->n, sizeof(*idx), cmp_ops);
	size_t k = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct bop *x = &b->ops[idx[i]];
		if (i + 1 < b->n) {
			const struct bop *y = &b->ops[idx[i + 1]];
			if (x->klen == y->klen &&
			    !memcmp(b->buf + x->koff, b->buf + y->koff, x->klen))
				continue;
		}
		idx[k++] = idx[i];
	}
	return k;
}

static void release_nodes(struct daxkv *db, struct pend *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].node)
			na_unreserve(db, p[i].node, p[i].level);
}

/* Phase A: decide, reserve and write. Returns the records' total size. */
static int phase_a(struct daxkv *db, unsigned lane, const daxkv_batch *b, size_t *idx,
		   size_t n, struct pend *p, size_t *np)
{
	uint64_t total = 0;
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		const struct bop *o = &b->ops[idx[i]];
		struct sl_node *nd = sl_find(db, (struct sl_key){ (const uint8_t *)b->buf + o->koff,
								 o->klen });
		uint64_t loc = nd ? sl_loc(nd) : LOC_TOMB;
		if (o->del && (loc & LOC_TOMB))
			continue; /* deleting an absent key: nothing to do */
		p[k] = (struct pend){ .op = idx[i], .prev = nd ? loc & ~LOC_TOMB : 0 };
		if (!nd) {
			p[k].level = sl_random_level();
			rc = na_reserve(db, p[k].level, &p[k].node);
			if (rc) {
				release_nodes(db, p, k);
				return rc;
			}
		}
		total += rec_size(o->klen, o->del ? 0 : o->vlen);
		k++;
	}
	*np = k;
	if (!k)
		return 0;
	uint64_t off, gen;
	seg_append_begin(db, lane);
	rc = seg_reserve(db, lane, total, SEG_USE_PUT, &off, &gen);
	if (rc) {
		seg_append_end(db, lane, 0);
		if (rc == DAXKV_ETOOBIG)
			dkv_err(rc, "batch of %llu bytes of records exceeds the largest this "
				"store takes in one segment, %llu", (unsigned long long)total,
				(unsigned long long)seg_max_record(db));
		release_nodes(db, p, k);
		return rc;
	}
	uint64_t seq = dkv_next_seq(db, k);
	for (size_t i = 0; i < k; i++) {
		const struct bop *o = &b->ops[p[i].op];
		struct rec_in r = { .type = o->del ? REC_DEL : REC_PUT,
				    .flags = REC_F_BATCH | (i + 1 == k ? REC_F_BATCH_LAST : 0),
				    .key = b->buf + o->koff, .klen = o->klen,
				    .val = b->buf + o->voff, .vlen = o->del ? 0 : o->vlen,
				    .seq = seq + i, .prev = p[i].prev, .aux = p[i].node,
				    .expire = o->del ? 0 : o->expire };
		p[i].off = off;
		p[i].seq = r.seq;
		rec_write(db, off, gen, &r);
		off += rec_size(o->klen, r.vlen);
	}
	seg_append_end(db, lane, off);
	/* Block: the records durable in their file before the commit (BLK-1);
	 * a failure leaves nothing applied (the handle breaks). */
	rc = db->blk ? seg_durable(db, off) : 0; /* DAX: slot_batch's fence commits */
	if (rc)
		release_nodes(db, p, k);
	return rc;
}

static void slot_batch(struct daxkv *db, unsigned lane, uint64_t v)
{
	struct lane_slot *s = db->lanes[lane].slot;
	atomic_store_explicit((_Atomic uint64_t *)&s->batch, v, memory_order_release);
	pm_persist(&s->batch, 8);
}

/* The batch's conditions, every writer held off: 0 or ECONFLICT. */
static int check_expects(struct daxkv *db, const daxkv_batch *b)
{
	uint64_t now = b->nexp ? daxkv_now_ms() : 0;
	for (size_t i = 0; i < b->nexp; i++) {
		const struct bexp *e = &b->exps[i];
		struct sl_node *nd = sl_find(db, (struct sl_key){ (const uint8_t *)b->buf + e->koff,
								 e->klen });
		uint64_t v = nd ? sl_live_version(db, sl_loc(nd), now) : 0;
		if (v != e->expect)
			return dkv_err(DAXKV_ECONFLICT, "batch condition %zu: the key's version "
				       "is %llu, not %llu", i, (unsigned long long)v,
				       (unsigned long long)e->expect);
	}
	return 0;
}

DAXKV_API int daxkv_write(daxkv *db, daxkv_batch *b)
{
	if (!db || !b)
		return dkv_err(DAXKV_EINVAL, "db or batch is NULL");
	if (db->read_only || atomic_load(&db->broken))
		return dkv_err(DAXKV_EREADONLY, "store is read-only");
	if (!b->n && !b->nexp)
		return 0;
	size_t *idx = malloc((b->n + 1) * sizeof(*idx));
	struct pend *p = malloc((b->n + 1) * sizeof(*p));
	int rc = 0;
	if (!idx || !p) {
		rc = dkv_err(DAXKV_ENOMEM, "out of memory");
		goto out;
	}
	size_t n = collapse(b, idx), np = 0;
	uint64_t deadline = 0;
again:
	dkv_lanes_lock_all(db);
	/* No snapshot may be taken mid-batch: an iterator created now would
	 * see some of its keys new and others old (lock order: lanes, snap_mu). */
	pthread_mutex_lock(&db->snap_mu);
	unsigned lane = 0;
	epoch_pin();
	rc = check_expects(db, b);
	if (!rc)
		rc = phase_a(db, lane, b, idx, n, p, &np);
	if (rc || !np)
		goto unlock;
	slot_batch(db, lane, p[0].off); /* PERSIST(BAT-1): committed */
	for (size_t i = 0; i < np; i++) {
		const struct bop *o = &b->ops[p[i].op];
		uint64_t node = 0;
		struct sl_put op = { .key = { (const uint8_t *)b->buf + o->koff, o->klen },
				     .vlen = o->del ? 0 : o->vlen, .is_delete = o->del,
				     .pre_off = p[i].off, .pre_seq = p[i].seq,
				     .pre_node = p[i].node, .pre_level = p[i].level,
				     .node_out = &node };
		int r = sl_put(db, lane, &op);
		DAXKV_VERIFY(r == 0); /* phase A made room for everything */
		if (o->expire && !o->del && node)
			ttl_add(db, node); /* the active expiry cycle samples it */
	}
	slot_batch(db, lane, 0); /* PERSIST(BAT-2) */
unlock:
	epoch_unpin();
	pthread_mutex_unlock(&db->snap_mu);
	dkv_lanes_unlock_all(db);
	/* Full before anything was written: wait for background GC, as puts do. */
	if (rc == DAXKV_ENOSPC && seg_wait_space(db, SEG_USE_PUT, &deadline))
		goto again;
out:
	free(idx);
	free(p);
	return rc;
}

/* Recovery: redo a committed batch starting at off (every lane is idle). */
void dkv_batch_redo(struct daxkv *db, unsigned lane, uint64_t off)
{
	if (!rec_off_ok(db, off))
		return;
	uint32_t id = dkv_seg_of(db, off);
	uint64_t end = dkv_seg_start(db, id) + atomic_load(&db->segs[id].tail), sz, o = off;
	bool complete = false;
	while (!complete && o < end && rec_check(db, o, db->segs[id].gen, end, &sz) == 0 &&
	       (rec_at(db, o)->flags & REC_F_BATCH)) {
		complete = rec_at(db, o)->flags & REC_F_BATCH_LAST;
		o += sz;
	}
	if (!complete)
		return; /* never committed: nothing of it was applied */
	for (o = off; o < end; o += sz) {
		const struct rec_hdr *h = rec_at(db, o);
		sz = rec_size(h->klen, h->vlen);
		struct sl_put op = { .key = { rec_key(h), h->klen }, .vlen = h->vlen,
				     .is_delete = h->type == REC_DEL, .pre_off = o,
				     .pre_seq = h->seq };
		(void)sl_put(db, lane, &op);
		if (h->flags & REC_F_BATCH_LAST)
			break;
	}
}
