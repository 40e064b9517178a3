/*
 * iter.c -- ordered iterators with snapshot semantics.
 *
 * An iterator registers the sequence number S current at its creation and
 * pins an epoch for its lifetime.  For each level-0 node it shows the newest
 * version with seq <= S, following the records' prev links; a node whose
 * visible version is a delete (or that has none) is skipped.  While a
 * snapshot older than a delete exists, the delete keeps its node (with a
 * tombstone record) instead of unlinking it, so the older versions stay
 * reachable; the pin keeps GC from reusing any segment the snapshot can read.
 */
#include <stdlib.h>

#include "engine/internal.h"

struct daxkv_iter {
	struct daxkv *db;
	struct epoch_pin *pin;
	struct dkv_snap snap;
	struct sl_node *cur;
	uint64_t rec;   /* visible record of cur */
	int checked;    /* rec's CRC verified */
	int status;
};

DAXKV_API int daxkv_iter_new(daxkv *db, daxkv_iter **out)
{
	if (!db || !out)
		return dkv_err(DAXKV_EINVAL, "db or out is NULL");
	daxkv_iter *it = calloc(1, sizeof(*it));
	if (!it)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	it->db = db;
	it->pin = epoch_pin_obj();
	snap_register(db, &it->snap);
	*out = it;
	return 0;
}

DAXKV_API void daxkv_iter_free(daxkv_iter *it)
{
	if (!it)
		return;
	struct daxkv *db = it->db;
	bool last = snap_unregister(db, &it->snap);
	epoch_unpin_obj(it->pin);
	free(it);
	if (last && !db->read_only) {
		dkv_purge_run(db, -1);
		epoch_reclaim(db);
	}
}

/* The record of n visible at the snapshot, or 0. */
static uint64_t visible(daxkv_iter *it, struct sl_node *n)
{
	struct daxkv *db = it->db;
	uint64_t loc = sl_loc(n), off = loc & ~LOC_TOMB;
	if ((loc & LOC_TOMB) && rec_off_ok(db, off) && rec_at(db, off)->type == REC_PUT)
		return 0; /* unlinked by a delete no snapshot needed */
	for (unsigned hops = 0; off; hops++) {
		if (!rec_off_ok(db, off) || hops > (1u << 20)) {
			it->status = dkv_err(DAXKV_ECORRUPT, "bad version chain at %llu",
					     (unsigned long long)off);
			return 0;
		}
		const struct rec_hdr *h = rec_at(db, off);
		if (h->seq > it->snap.seq) {
			off = h->prev;
			continue;
		}
		if (h->type != REC_PUT)
			return 0;
		/* iter_key hands out klen bytes before any CRC check: bound them. */
		uint64_t in = (off - db->seg_base) & (db->seg_size - 1);
		struct sl_key k = sl_node_key(db, n);
		if (!h->klen || h->klen > DAXKV_KEY_MAX || h->vlen > DAXKV_VALUE_MAX ||
		    in + rec_size(h->klen, h->vlen) > db->seg_size || h->klen != k.len ||
		    memcmp(rec_key(h), k.k, k.len) != 0) {
			it->status = dkv_err(DAXKV_ECORRUPT, "record at %llu: out of bounds or another key",
					     (unsigned long long)off);
			return 0;
		}
		return off;
	}
	return 0;
}

/* The level-0 successor of n.  Along level 0 keys strictly increase, also
 * under concurrent writers (the pin keeps n from reuse), so a successor that
 * does not sort after n -- or cannot be read -- is damage on media (a loop
 * among them): the walk ends there with ECORRUPT instead of going round. */
static struct sl_node *next_of(daxkv_iter *it, struct sl_node *n)
{
	struct daxkv *db = it->db;
	uint64_t o = atomic_load_explicit((_Atomic uint64_t *)&n->next[0], memory_order_acquire);
	if (!o)
		return NULL;
	struct sl_node *s = sl_off_ok(db, o) ? dkv_ptr(db, o) : NULL;
	int c = s && n != db->head ? sl_cmp(db, s, sl_node_key(db, n)) : 1;
	if (DKV_UNLIKELY(!s || c <= 0 || c == SL_CMP_DAMAGED)) {
		if (!it->status)
			it->status = dkv_err(DAXKV_ECORRUPT, "level 0 damaged after offset %llu",
					     (unsigned long long)dkv_off(db, n));
		return NULL;
	}
	return s;
}

static struct sl_node *prev_of(daxkv_iter *it, struct sl_node *n)
{
	struct daxkv *db = it->db;
	uint64_t p = atomic_load_explicit((_Atomic uint64_t *)&n->prev, memory_order_relaxed);
	if (p && na_off_ok(db, p, 1)) {
		struct sl_node *pn = dkv_ptr(db, p);
		/* The hint holds when it still links to n (and orders before it). */
		if (sl_next0(db, pn) == n && pn->level >= 1 && pn->level <= DKV_MAX_LEVEL &&
		    na_off_ok(db, p, pn->level) && sl_cmp(db, pn, sl_node_key(db, n)) < 0)
			return pn;
	}
	struct sl_key k = sl_node_key(db, n);
	return sl_seek_before(db, &k);
}

/* visible(), and a key the iterator may hand out: a key of up to DKV_PREFIX
 * bytes is the node's own copy, but a longer one is read from the record,
 * which must then pass its CRC first (a reverted line can hold another key's
 * bytes there).  Such a record is skipped with ECORRUPT; other keys go on. */
static uint64_t visible_trusted(daxkv_iter *it, struct sl_node *n)
{
	uint64_t off = visible(it, n);
	if (!off || n->klen <= DKV_PREFIX)
		return off;
	if (rec_verify(it->db, off)) {
		if (!it->status)
			it->status = DAXKV_ECORRUPT;
		return 0;
	}
	it->checked = 1;
	return off;
}

static void settle(daxkv_iter *it, bool fwd)
{
	/* Order checks stop a damaged list's loops, but keys read from damaged
	 * nodes need not compare consistently: bound the walk as searches are
	 * bounded (twice the nodes a pool can hold). */
	uint64_t budget = it->db->pool.size >> 5;
	it->checked = 0;
	while (it->cur && !(it->rec = visible_trusted(it, it->cur))) {
		if (DKV_UNLIKELY(!budget--)) {
			if (!it->status)
				it->status = dkv_err(DAXKV_ECORRUPT, "level 0 loops (damaged)");
			it->cur = NULL;
			return;
		}
		it->cur = fwd ? next_of(it, it->cur) : prev_of(it, it->cur);
	}
}

DAXKV_API void daxkv_iter_seek_first(daxkv_iter *it)
{
	if (!it)
		return;
	it->cur = next_of(it, it->db->head);
	settle(it, true);
}

DAXKV_API void daxkv_iter_seek_last(daxkv_iter *it)
{
	if (!it)
		return;
	it->cur = sl_seek_before(it->db, NULL);
	settle(it, false);
}

DAXKV_API void daxkv_iter_seek(daxkv_iter *it, const void *key, size_t klen)
{
	if (!it)
		return;
	if (!key || !klen) {
		daxkv_iter_seek_first(it);
		return;
	}
	if (klen > DAXKV_KEY_MAX)
		klen = DAXKV_KEY_MAX; /* no stored key is longer */
	it->cur = sl_seek(it->db, (struct sl_key){ key, (uint32_t)klen }, false);
	settle(it, true);
}

DAXKV_API int daxkv_iter_valid(const daxkv_iter *it)
{
	return it && it->cur != NULL;
}

/* Software pipelining of a forward walk: the nodes and records ahead are
 * scattered over the pool, one cache miss each.  At node n, n's successor
 * (prefetched one step ago) gives its record's address, and the successor's
 * successor is fetched for the next step, so the misses of the keys ahead
 * overlap with the work on this one.  Prefetches never fault; what is read
 * to compute them is bounds-checked (the iterator's pin keeps nodes alive). */
static inline void prefetch_ahead(struct daxkv *db, const struct sl_node *n)
{
	/* acquire, as next_of: what s holds was published by the link's release */
	uint64_t o = atomic_load_explicit((_Atomic uint64_t *)&n->next[0], memory_order_acquire);
	if (!o || !sl_off_ok(db, o))
		return;
	const struct sl_node *s = dkv_ptr(db, o);
	uint64_t loc = sl_loc(s) & ~LOC_TOMB;
	if (loc < db->pool.size)
		__builtin_prefetch(dkv_ptr(db, loc));
	uint64_t o2 = atomic_load_explicit((_Atomic uint64_t *)&s->next[0], memory_order_acquire);
	if (o2 && sl_off_ok(db, o2))
		__builtin_prefetch(dkv_ptr(db, o2));
}

/* The keys an iterator hands out move strictly one way.  next_of orders the
 * nodes, but a damaged record (a reverted line) can name another key than
 * its node's; the key handed out is the record's, so it is checked too. */
static void check_order(daxkv_iter *it, uint64_t last, bool fwd)
{
	if (!it->cur || !last)
		return;
	const struct rec_hdr *a = rec_at(it->db, last), *b = rec_at(it->db, it->rec);
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(rec_key(a), rec_key(b), n);
	c = c ? c : (a->klen > b->klen) - (a->klen < b->klen);
	if (DKV_UNLIKELY(fwd ? c >= 0 : c <= 0)) {
		if (!it->status)
			it->status = dkv_err(DAXKV_ECORRUPT, "record at %llu is out of key order "
					     "(damaged)", (unsigned long long)it->rec);
		it->cur = NULL;
	}
}

DAXKV_API void daxkv_iter_next(daxkv_iter *it)
{
	if (!it || !it->cur)
		return;
	uint64_t last = it->rec;
	it->cur = next_of(it, it->cur);
	settle(it, true);
	check_order(it, last, true);
	if (it->cur)
		prefetch_ahead(it->db, it->cur);
}

DAXKV_API void daxkv_iter_prev(daxkv_iter *it)
{
	if (!it || !it->cur)
		return;
	uint64_t last = it->rec;
	it->cur = prev_of(it, it->cur);
	settle(it, false);
	check_order(it, last, false);
}

DAXKV_API const void *daxkv_iter_key(const daxkv_iter *it, size_t *klen)
{
	if (!it || !it->cur) {
		if (klen)
			*klen = 0;
		return NULL;
	}
	const struct rec_hdr *h = rec_at(it->db, it->rec);
	if (klen)
		*klen = h->klen;
	return rec_key(h);
}

DAXKV_API const void *daxkv_iter_value(const daxkv_iter *it, size_t *vlen)
{
	daxkv_iter *w = (daxkv_iter *)(uintptr_t)it; /* caches the CRC verdict */
	if (vlen)
		*vlen = 0;
	if (!it || !it->cur)
		return NULL;
	if (!w->checked) {
		if (rec_verify(it->db, it->rec)) {
			w->status = DAXKV_ECORRUPT;
			return NULL;
		}
		w->checked = 1;
	}
	const struct rec_hdr *h = rec_at(it->db, it->rec);
	if (vlen)
		*vlen = h->vlen;
	return rec_val(h);
}

DAXKV_API int daxkv_iter_status(const daxkv_iter *it)
{
	return it ? it->status : DAXKV_EINVAL;
}
