/*
 * nodealloc.c -- the slab allocator for skiplist nodes.
 *
 * Node segments hold 64-byte slots and a bitmap with one bit per slot; a node
 * of L levels takes node_slots(L) (1..5) consecutive slots inside one bitmap
 * word.  The media bitmap says which slots hold nodes; a DRAM overlay
 * (resv) marks slots reserved by an insert in flight or quarantined after a
 * free until no reader can hold them.  A slot is allocatable iff both bits
 * are clear.
 *
 * Durability invariants:
 *  PERSIST(NA-1): a node's bits are set in the same fenced group that links it
 *                 at level 0; the lane slot (LANE_OP_ALLOC) is durable one fence
 *                 before, so recovery can settle a crash in between.
 *  PERSIST(NA-2): bits are cleared in the same fenced group that unlinks the node
 *                 (LANE_OP_FREE durable one fence before); the slots stay in
 *                 quarantine until the epoch grace period ends.
 */
#include <stdlib.h>

#include "engine/internal.h"

static _Atomic uint64_t *na_bitmap(const struct daxkv *db, uint32_t id)
{
	return (_Atomic uint64_t *)((char *)dkv_seg_hdr(db, id) + NA_BITMAP_OFF);
}

static int na_add_seg(struct daxkv *db, uint32_t id)
{
	struct dkv_seg *s = &db->segs[id];
	s->nslots = na_nslots(db->seg_size);
	s->resv = calloc((s->nslots + 63) / 64, sizeof(uint64_t));
	uint32_t *ns = realloc(db->node_segs, (db->n_node_segs + 1) * sizeof(*ns));
	if (!s->resv || !ns) {
		free(s->resv);
		s->resv = NULL;
		if (ns)
			db->node_segs = ns;
		return dkv_err(DAXKV_ENOMEM, "node allocator");
	}
	db->node_segs = ns;
	uint32_t used = 0;
	_Atomic uint64_t *bm = na_bitmap(db, id);
	for (uint32_t w = 0; w < (s->nslots + 63) / 64; w++)
		used += (uint32_t)__builtin_popcountll(atomic_load(&bm[w]));
	atomic_store(&s->used, used);
	s->cursor = 0;
	db->node_segs[db->n_node_segs++] = id;
	return 0;
}

int na_init(struct daxkv *db)
{
	for (uint32_t id = 0; id < db->nsegs; id++) {
		if (db->segs[id].state == SEG_NODE) {
			int rc = na_add_seg(db, id);
			if (rc)
				return rc;
		}
	}
	return 0;
}

void na_fini(struct daxkv *db)
{
	for (uint32_t i = 0; i < db->n_node_segs; i++) {
		free(db->segs[db->node_segs[i]].resv);
		db->segs[db->node_segs[i]].resv = NULL;
	}
	free(db->node_segs);
	db->node_segs = NULL;
	db->n_node_segs = 0;
}

/* Start positions of k clear bits in a row within w (bit set = taken). */
static inline uint64_t runs_of_zero(uint64_t w, unsigned k)
{
	uint64_t z = ~w, m = z;
	for (unsigned j = 1; j < k; j++)
		m &= z >> j;
	return m;
}

static bool na_try_seg(struct daxkv *db, uint32_t id, unsigned k, uint64_t *off)
{
	struct dkv_seg *s = &db->segs[id];
	if (s->nslots - atomic_load(&s->used) < k)
		return false;
	uint32_t nw = (s->nslots + 63) / 64;
	_Atomic uint64_t *bm = na_bitmap(db, id);
	for (uint32_t i = 0; i < nw; i++) {
		uint32_t w = (s->cursor + i) % nw;
		/* Overlay, bitmap, overlay again: na_commit sets the bit then drops
		 * the reservation, na_free quarantines then clears the bit; any
		 * single order of two loads can see both clear mid-transition and
		 * hand a live slot out twice (seen with two writers). */
		uint64_t taken = atomic_load(&s->resv[w]);
		taken |= atomic_load(&bm[w]);
		taken |= atomic_load(&s->resv[w]);
		if (w == nw - 1 && s->nslots % 64)
			taken |= ~0ull << (s->nslots % 64);
		uint64_t m = runs_of_zero(taken, k);
		if (!m)
			continue;
		unsigned b = (unsigned)__builtin_ctzll(m);
		uint64_t bits = (k == 64 ? ~0ull : ((1ull << k) - 1)) << b;
		atomic_fetch_or(&s->resv[w], bits);
		s->cursor = w;
		uint64_t slot = (uint64_t)w * 64 + b;
		*off = dkv_seg_start(db, id) + na_data_off(db->seg_size) + slot * DKV_LINE;
		return true;
	}
	return false;
}

/* A free run of k slots, reserved (node_mu held): 0, or ENOSPC. */
static int na_reserve_locked(struct daxkv *db, unsigned k, uint64_t *off)
{
	for (uint32_t i = 0; i < db->n_node_segs; i++) {
		uint32_t idx = (db->cur_node_seg + i) % db->n_node_segs;
		if (na_try_seg(db, db->node_segs[idx], k, off)) {
			db->cur_node_seg = idx;
			return 0;
		}
	}
	int id = seg_take(db, SEG_NODE, 0, SEG_USE_PUT);
	if (id < 0)
		return id;
	int rc = na_add_seg(db, (uint32_t)id);
	if (rc)
		return rc;
	db->cur_node_seg = db->n_node_segs - 1;
	if (!na_try_seg(db, (uint32_t)id, k, off))
		return dkv_err(DAXKV_ENOSPC, "node segment too small");
	return 0;
}

int na_reserve(struct daxkv *db, unsigned level, uint64_t *off)
{
	pthread_mutex_lock(&db->node_mu);
	int rc = na_reserve_locked(db, node_slots(level), off);
	pthread_mutex_unlock(&db->node_mu);
	return rc;
}

/* One-slot nodes (all but 1 in 256) come from the lane's cache of reserved
 * slots, refilled NA_LANE_CACHE at a time: an insert takes node_mu once in
 * NA_LANE_CACHE.  Reservations are DRAM only, so a crash or a close simply
 * drops the cache (node segments are never released: an entry stays a slot
 * of a node segment). */
int na_reserve_lane(struct daxkv *db, unsigned lane, unsigned level, uint64_t *off)
{
	struct dkv_lane *l = &db->lanes[lane];
	if (node_slots(level) != 1)
		return na_reserve(db, level, off);
	if (!l->ncache_n) {
		int rc = 0;
		pthread_mutex_lock(&db->node_mu);
		while (l->ncache_n < NA_LANE_CACHE &&
		       !(rc = na_reserve_locked(db, 1, &l->ncache[l->ncache_n])))
			l->ncache_n++;
		pthread_mutex_unlock(&db->node_mu);
		if (!l->ncache_n)
			return rc; /* a partial refill is a refill */
	}
	*off = l->ncache[--l->ncache_n];
	return 0;
}

void na_unreserve_lane(struct daxkv *db, unsigned lane, uint64_t off, unsigned level)
{
	struct dkv_lane *l = &db->lanes[lane];
	if (node_slots(level) == 1 && l->ncache_n < NA_LANE_CACHE)
		l->ncache[l->ncache_n++] = off;
	else
		na_unreserve(db, off, level);
}

struct na_pos {
	uint32_t seg;
	uint32_t word;
	uint64_t bits;
};

static struct na_pos na_locate(const struct daxkv *db, uint64_t off, unsigned level)
{
	struct na_pos p;
	p.seg = dkv_seg_of(db, off);
	uint64_t slot = (off - dkv_seg_start(db, p.seg) - na_data_off(db->seg_size)) / DKV_LINE;
	unsigned k = node_slots(level);
	p.word = (uint32_t)(slot / 64);
	p.bits = ((1ull << k) - 1) << (slot % 64);
	return p;
}

bool na_off_ok(const struct daxkv *db, uint64_t off, unsigned level)
{
	if (off < db->seg_base || level < 1 || level > DKV_MAX_LEVEL)
		return false;
	uint32_t id = dkv_seg_of(db, off);
	if (id >= db->nsegs || db->segs[id].state != SEG_NODE)
		return false;
	uint64_t in = off - dkv_seg_start(db, id);
	uint64_t d = na_data_off(db->seg_size);
	if (in < d || (in - d) % DKV_LINE)
		return false;
	uint64_t slot = (in - d) / DKV_LINE;
	return slot + node_slots(level) <= na_nslots(db->seg_size) &&
	       slot % 64 + node_slots(level) <= 64;
}

void na_unreserve(struct daxkv *db, uint64_t off, unsigned level)
{
	struct na_pos p = na_locate(db, off, level);
	atomic_fetch_and(&db->segs[p.seg].resv[p.word], ~p.bits);
}

void na_commit(struct daxkv *db, uint64_t off, unsigned level)
{
	struct na_pos p = na_locate(db, off, level);
	_Atomic uint64_t *w = &na_bitmap(db, p.seg)[p.word];
	/* Only a slot this writer reserved (DRAM) is committed. */
	DAXKV_ASSERT((atomic_load(&db->segs[p.seg].resv[p.word]) & p.bits) == p.bits);
	atomic_fetch_or(w, p.bits);
	atomic_fetch_add(&db->segs[p.seg].used, (uint32_t)__builtin_popcountll(p.bits));
	atomic_fetch_and(&db->segs[p.seg].resv[p.word], ~p.bits);
	/* The flush last: a LOCK-prefixed instruction waits for the write-back
	 * of every line flushed before it (it orders CLWB as SFENCE does), so
	 * each atomic after a flush would be one more fence. */
	pm_flush((const void *)w, 8); /* PERSIST(NA-1) */
}

static void na_unquarantine(struct daxkv *db, uint64_t arg)
{
	na_unreserve(db, arg & ~63ull, (unsigned)(arg & 63));
}

void na_free(struct daxkv *db, uint64_t off, unsigned level)
{
	struct na_pos p = na_locate(db, off, level);
	/* A live node is neither reserved nor quarantined: freed once. */
	uint64_t q = atomic_fetch_or(&db->segs[p.seg].resv[p.word], p.bits);
	DAXKV_ASSERT(!(q & p.bits));
	(void)q;
	_Atomic uint64_t *w = &na_bitmap(db, p.seg)[p.word];
	atomic_fetch_and(w, ~p.bits);
	pm_flush((const void *)w, 8); /* PERSIST(NA-2) */
	atomic_fetch_sub(&db->segs[p.seg].used, (uint32_t)__builtin_popcountll(p.bits));
	epoch_retire(db, na_unquarantine, off | level);
}

void na_set(struct daxkv *db, uint64_t off, unsigned level, bool allocated)
{
	struct na_pos p = na_locate(db, off, level);
	_Atomic uint64_t *w = &na_bitmap(db, p.seg)[p.word];
	uint64_t old = allocated ? atomic_fetch_or(w, p.bits) : atomic_fetch_and(w, ~p.bits);
	if ((old & p.bits) != (allocated ? p.bits : 0)) {
		pm_flush((const void *)w, 8);
		int64_t n = __builtin_popcountll(allocated ? p.bits & ~old : old & p.bits);
		if (allocated)
			atomic_fetch_add(&db->segs[p.seg].used, (uint32_t)n);
		else
			atomic_fetch_sub(&db->segs[p.seg].used, (uint32_t)n);
	}
}

bool na_is_set(const struct daxkv *db, uint64_t off)
{
	struct na_pos p = na_locate(db, off, 1);
	return (atomic_load(&na_bitmap(db, p.seg)[p.word]) & p.bits) != 0;
}

uint64_t na_count(const struct daxkv *db)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < db->n_node_segs; i++)
		n += atomic_load(&db->segs[db->node_segs[i]].used);
	return n;
}
