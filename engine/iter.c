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

#include "engine/dindex.h"

/* Prefetch distances (nodes ahead of the current one) for a forward walk:
 * the node line NODE_AHEAD keys ahead, the record REC_AHEAD keys ahead (whose
 * node line came NODE_AHEAD - REC_AHEAD steps earlier).  A DRAM miss is
 * ~100 ns and a step without one ~50, so 8 keys cover a miss twice over. */
#define ITER_HINTS 64u
#define NODE_AHEAD 12u
#define REC_AHEAD 6u

struct daxkv_iter {
	struct daxkv *db;
	struct epoch_pin *pin;
	struct dkv_snap snap;
	struct sl_node *cur;
	uint64_t now_ms; /* the snapshot's time: keys expired by then are absent */
	uint64_t rec;   /* visible record of cur */
	int checked;    /* rec's CRC verified */
	int status;
	/* The nodes ahead of cur by the DRAM index (a forward walk's prefetch
	 * schedule, see prefetch_ahead): hint[hpos] is cur, when in step. */
	unsigned hpos, hn;
	unsigned steps; /* since the last seek */
	bool hend;      /* the tree has nothing after hint[hn - 1] */
	uint64_t hint[ITER_HINTS];
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
	it->now_ms = daxkv_now_ms();
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
		if (h->expire && h->expire <= it->now_ms)
			return 0; /* expired at the snapshot's time: absent */
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

/* Software pipelining of a forward walk: the nodes and records ahead are
 * scattered over the pool, one cache miss each, and the level-0 links give
 * them one at a time.  The DRAM index gives them a leaf at a time (dix_scan),
 * so the walk prefetches the node NODE_AHEAD keys ahead and the record
 * REC_AHEAD keys ahead (its node line came NODE_AHEAD - REC_AHEAD steps
 * earlier): their misses overlap instead of following each other.  The
 * schedule is a hint: the walk itself follows the links, a node out of step
 * resynchronises it (a concurrent insert or delete), and whatever is read to
 * compute an address is bounds-checked (prefetches never fault; the
 * iterator's pin keeps nodes from reuse).  A seek starts it from the leaf its
 * search read; the first ITER_SHORT_SCAN steps never descend the tree for more
 * (a short scan would pay more for the descent than it saves) and follow the
 * links past the leaf's end: the successor's record and the node after it. */
#define ITER_SHORT_SCAN 16u

/* Branch-free: GCC 12 drops a __builtin_prefetch under sl_off_ok's test. */
static inline void prefetch_node(struct daxkv *db, uint64_t o)
{
	__builtin_prefetch(dkv_ptr(db, sl_off_ok(db, o) ? o : 0));
}

static inline void prefetch_rec(struct daxkv *db, const struct sl_node *s)
{
	uint64_t loc = sl_loc(s) & ~LOC_TOMB;
	uint64_t size = (uint64_t)__atomic_load_n(&s->rsize8, __ATOMIC_RELAXED) << 3;
	if (loc >= db->pool.size || size > 4 * DKV_LINE || size > db->pool.size - loc)
		size = DKV_LINE; /* a value longer than 4 lines: its header only */
	const char *r = dkv_ptr(db, loc < db->pool.size ? loc : 0);
	for (uint64_t o = 0; o < size; o += DKV_LINE)
		__builtin_prefetch(r + o);
}

/* The next node's record and the node after it, as the links say. */
static void prefetch_next(struct daxkv *db, const struct sl_node *n)
{
	const struct sl_node *s = sl_next0(db, n);
	if (s) {
		prefetch_rec(db, s);
		prefetch_node(db, atomic_load_explicit((_Atomic uint64_t *)&s->next[0],
						       memory_order_acquire));
	}
}

/* A schedule that starts at cur: its first nodes fetched at once. */
static void hint_start(daxkv_iter *it)
{
	struct daxkv *db = it->db;
	it->hpos = 0;
	if (!it->hn || it->hint[0] != dkv_off(db, it->cur)) {
		it->hn = 0;
		return;
	}
	for (unsigned k = 1; k <= NODE_AHEAD && k < it->hn; k++)
		prefetch_node(db, it->hint[k]);
}

/* Appends the nodes after from's key (one leaf: a descent). */
static void hint_fill(daxkv_iter *it, const struct sl_node *from, bool after)
{
	unsigned got = 0;
	if (dix_ready(it->db))
		got = dix_scan(it->db, sl_node_key(it->db, from), after, it->hint + it->hn,
			       ITER_HINTS - it->hn);
	it->hn += got;
	it->hend = got == 0;
	if (got) /* its key starts the next fill, ~a leaf of steps from now */
		prefetch_node(it->db, it->hint[it->hn - 1]);
}

/* After a step: puts cur at hint[hpos] (or resynchronises), then prefetches. */
static void prefetch_ahead(daxkv_iter *it)
{
	struct daxkv *db = it->db;
	uint64_t cur = dkv_off(db, it->cur);
	bool long_scan = ++it->steps >= ITER_SHORT_SCAN;
	unsigned i = it->hpos;
	while (i < it->hn && i < it->hpos + 4 && it->hint[i] != cur)
		i++; /* settle skipped a few (deleted) nodes */
	if (i >= it->hn || it->hint[i] != cur) {
		it->hn = 0;
		if (long_scan) {
			hint_fill(it, it->cur, false);
			hint_start(it);
		}
		if (!it->hn) {
			prefetch_next(db, it->cur);
			return;
		}
		i = 0;
	}
	it->hpos = i;
	if (long_scan && !it->hend && it->hn - i <= NODE_AHEAD) {
		/* Slide the window and append the leaf after its last node. */
		memmove(it->hint, it->hint + i, (it->hn - i) * sizeof(it->hint[0]));
		it->hn -= i;
		it->hpos = i = 0;
		uint64_t last = it->hint[it->hn - 1];
		if (sl_off_ok(db, last))
			hint_fill(it, dkv_ptr(db, last), true);
		else
			it->hend = true;
	}
	if (i + NODE_AHEAD < it->hn)
		prefetch_node(db, it->hint[i + NODE_AHEAD]);
	uint64_t r = i + REC_AHEAD < it->hn ? it->hint[i + REC_AHEAD] : 0;
	if (r && sl_off_ok(db, r))
		prefetch_rec(db, dkv_ptr(db, r));
	else
		prefetch_next(db, it->cur);
}

DAXKV_API void daxkv_iter_seek_first(daxkv_iter *it)
{
	if (!it)
		return;
	it->cur = next_of(it, it->db->head);
	settle(it, true);
	it->hn = it->steps = 0;
	if (it->cur)
		prefetch_next(it->db, it->cur);
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
	struct dix_hit hit;
	it->cur = sl_seek(it->db, (struct sl_key){ key, (uint32_t)klen }, false, &hit);
	settle(it, true);
	it->hn = it->steps = 0;
	it->hend = false;
	if (!it->cur)
		return;
	it->hn = dix_scan_hit(&hit, it->hint, ITER_HINTS); /* the leaf it read */
	hint_start(it);
	prefetch_next(it->db, it->cur);
}

DAXKV_API int daxkv_iter_valid(const daxkv_iter *it)
{
	return it && it->cur != NULL;
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
		prefetch_ahead(it);
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

DAXKV_API uint64_t daxkv_iter_expire(const daxkv_iter *it)
{
	return it && it->cur ? rec_at(it->db, it->rec)->expire : 0;
}

DAXKV_API int daxkv_iter_status(const daxkv_iter *it)
{
	return it ? it->status : DAXKV_EINVAL;
}
