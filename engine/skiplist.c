/*
 * skiplist.c -- the persistent skiplist index.
 *
 * Level 0 is the truth; upper levels are shortcuts.  Reads are lock-free and
 * write nothing.  Writers follow the lazy skiplist of Herlihy, Lev, Luchangco
 * and Shavit ("A Simple Optimistic Skiplist Algorithm", SIROCCO 2007): per-node
 * locks on the predecessors, validation, bottom-up linking, a MARKED bit for
 * nodes being removed.  The lock/mark/linked bits live in the node's volatile
 * word, tagged with the boot generation, so they mean nothing after a restart
 * and recovery never has to visit nodes to clear them.  p = 1/4 and 32 levels
 * follow Redis' zskiplist (seed 003).
 *
 * Durability invariants (DESIGN.md §4):
 *  PERSIST(1): the record, the new node's content and the lane slot are
 *              durable (one fence) before anything points at the node.
 *  PERSIST(2): the operation is published with one 8-byte store (level-0 link,
 *              or the node's record location) + flush + fence: durable.
 *  PERSIST(3): upper-level links are flushed but not fenced: after a crash
 *              every pointer still goes forward to a node linked at level 0,
 *              except pointers to a node whose unlink was in flight, which
 *              recovery removes (sl_settle).
 *  PERSIST(4): a node's bitmap bits change in the same fenced group as its
 *              level-0 link/unlink; the lane slot names it one fence earlier.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/internal.h"

#define VW_LOCKED 1u
#define VW_MARKED 2u
#define VW_LINKED 4u
#define SL_RETRY 1

static inline uint32_t vw_gen(const struct daxkv *db)
{
	return (db->boot_gen & 0x0fffffffu) << 4;
}
static inline _Atomic uint32_t *vwp(struct sl_node *n)
{
	return (_Atomic uint32_t *)&n->vw;
}
static inline uint32_t vw_flags(const struct daxkv *db, struct sl_node *n)
{
	uint32_t v = atomic_load_explicit(vwp(n), memory_order_acquire);
	return (v & ~15u) == vw_gen(db) ? (v & 15u) : VW_LINKED;
}
static inline void relax(unsigned *spins)
{
	if (++*spins % 64 == 0)
		sched_yield();
	else
		__builtin_ia32_pause();
}
static void node_lock(const struct daxkv *db, struct sl_node *n)
{
	unsigned spins = 0;
	for (;;) {
		uint32_t v = atomic_load_explicit(vwp(n), memory_order_relaxed);
		uint32_t cur = (v & ~15u) == vw_gen(db) ? v : (vw_gen(db) | VW_LINKED);
		if (!(cur & VW_LOCKED) &&
		    atomic_compare_exchange_weak_explicit(vwp(n), &v, cur | VW_LOCKED,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
		relax(&spins);
	}
}
static inline void node_unlock(struct sl_node *n)
{
	atomic_fetch_and_explicit(vwp(n), ~VW_LOCKED, memory_order_release);
}
static inline uint64_t nxt(const struct sl_node *n, unsigned l)
{
	return atomic_load_explicit((_Atomic uint64_t *)&n->next[l], memory_order_acquire);
}
static inline void set_next(struct sl_node *n, unsigned l, uint64_t v)
{
	atomic_store_explicit((_Atomic uint64_t *)&n->next[l], v, memory_order_release);
	pm_flush(&n->next[l], 8);
}
static inline struct sl_node *node_at(struct daxkv *db, uint64_t off)
{
	return off && sl_off_ok(db, off) ? dkv_ptr(db, off) : NULL;
}

/* ---- damaged media on the read paths ----
 * Pointers, key lengths and record locations come from media, which may be
 * damaged.  A search follows a pointer only when it is a slot whose whole
 * node lies inside the mapping, and makes at most pool_size/32 hops -- twice
 * the nodes a pool can hold; a search of a sound list visits each node once
 * (Pugh), so more is a loop.  On damage a search stops as at the end of the
 * list; sl_find_ex reports it.  Cost on the get path: a rotate, a compare
 * and a count per hop.  (A slot below seg_base is metadata: garbage as a
 * node, but inside the mapping; sl_off_ok is the stricter check.) */
struct walk {
	uint64_t last; /* the last slot a node may start at */
	uint64_t hops;
	bool damaged;
};
static inline struct walk walk_start(const struct daxkv *db)
{
	return (struct walk){ (db->pool.size - (48 + 8 * DKV_MAX_LEVEL)) / DKV_LINE,
			      db->pool.size >> 5, false };
}
static __attribute__((noinline, cold)) void walk_report(uint64_t off, bool loop)
{
	dkv_err(DAXKV_ECORRUPT, "skiplist damaged: %s at offset %llu",
		loop ? "a loop" : "a pointer out of bounds", (unsigned long long)off);
}
/* (Not given w's address: the walk must stay in registers.) */
static inline void walk_damage(struct walk *w, uint64_t off)
{
	if (!w->damaged)
		walk_report(off, w->hops == 0);
	w->damaged = true;
	w->hops = 0;
	w->last = 0; /* every later hop ends at once */
}
/* The node at off (a next pointer), or NULL at the end of a level or on damage. */
static inline struct sl_node *hop(struct daxkv *db, uint64_t off, struct walk *w)
{
	if (!off)
		return NULL;
	/* Rotating the 6 bits below a slot to the top makes a misaligned offset
	 * huge: one compare checks alignment and the bound. */
	uint64_t slot = (off >> 6) | (off << 58);
	if (DKV_UNLIKELY(slot > w->last || w->hops == 0)) {
		walk_damage(w, off);
		return NULL;
	}
	w->hops--;
	return dkv_ptr(db, off);
}

/* ---- keys ---- */

/* The record's copy of a long key (klen > DKV_PREFIX) of n, or NULL when the
 * location or length would read outside the record's segment (damage).
 * Bounds only, no CRC: the key may still be wrong, never out of bounds. */
static const uint8_t *node_full_key(const struct daxkv *db, const struct sl_node *n)
{
	uint64_t loc = sl_loc(n) & ~LOC_TOMB, in = (loc - db->seg_base) & (db->seg_size - 1);
	if (DKV_UNLIKELY(loc < db->seg_base || (loc & 7) || in < SEG_DATA_OFF ||
			 n->klen > DAXKV_KEY_MAX ||
			 in + sizeof(struct rec_hdr) + n->klen > db->seg_size ||
			 loc + sizeof(struct rec_hdr) + n->klen > db->pool.size))
		return NULL;
	return rec_key(rec_at(db, loc));
}

struct sl_key sl_node_key(const struct daxkv *db, const struct sl_node *n)
{
	struct sl_key k = { n->prefix, n->klen };
	if (n->klen > DKV_PREFIX) {
		/* sl_cmp orders n by its prefix, then the record's bytes after it:
		 * a record that disagrees with the prefix, or cannot be read, is
		 * damage, and the prefix (which sorts just before n) is its key. */
		k.k = node_full_key(db, n);
		if (DKV_UNLIKELY(!k.k || memcmp(k.k, n->prefix, DKV_PREFIX) != 0))
			k = (struct sl_key){ n->prefix, DKV_PREFIX };
	}
	return k;
}

static inline uint64_t be64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

/* sl_cmp, inlined into the searches: the sign is what counts; a key that
 * cannot be read sets *bad and sorts n last. */
static inline int cmp_node(const struct daxkv *db, const struct sl_node *n, struct sl_key key,
			   bool *bad)
{
	uint32_t nk = n->klen;
	if (nk >= DKV_PREFIX && key.len >= DKV_PREFIX) {
		/* The common case (keys of 16+ bytes): two word compares. */
		uint64_t a = be64(n->prefix), b = be64(key.k);
		if (a == b) {
			a = be64(n->prefix + 8);
			b = be64(key.k + 8);
		}
		if (a != b)
			return a < b ? -1 : 1;
	}
	uint32_t m = nk < key.len ? nk : key.len;
	int c = memcmp(n->prefix, key.k, m < DKV_PREFIX ? m : DKV_PREFIX);
	if (c)
		return c;
	if (m > DKV_PREFIX) {
		const uint8_t *full = node_full_key(db, n);
		if (DKV_UNLIKELY(!full)) {
			*bad = true;
			return 1;
		}
		c = memcmp(full + DKV_PREFIX, key.k + DKV_PREFIX, m - DKV_PREFIX);
		if (c)
			return c;
	}
	return (nk > key.len) - (nk < key.len);
}

int sl_cmp(const struct daxkv *db, const struct sl_node *n, struct sl_key key)
{
	bool bad = false;
	int c = cmp_node(db, n, key, &bad);
	/* memcmp's sign only: its value may be anything, SL_CMP_DAMAGED too. */
	return bad ? SL_CMP_DAMAGED : (c > 0) - (c < 0);
}

#ifdef DAXKV_TEST_HOOKS
uint64_t dkv_test_level_seed; /* testhooks.h */
#endif

unsigned sl_random_level(void)
{
	static __thread uint64_t s;
	if (DKV_UNLIKELY(!s)) {
		s = dkv_now_ns() ^ (uint64_t)(uintptr_t)&s ^ 0x9e3779b97f4a7c15ull;
#ifdef DAXKV_TEST_HOOKS
		if (dkv_test_level_seed)
			s = dkv_test_level_seed;
#endif
	}
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	/* Each further level with probability 1/4: two more zero bits. */
	unsigned lvl = 1 + (unsigned)__builtin_ctzll(s | (1ull << 62)) / 2;
	return lvl > DKV_MAX_LEVEL ? DKV_MAX_LEVEL : lvl;
}

/* ---- searches (caller pinned) ---- */

/* Levels nest: a node found at level l (and not being removed: MARKED) is
 * linked at every level below it (links go in bottom-up, removals mark
 * first), so a level that ends before the node found above it is damage --
 * a cleared or lost next pointer.  One load per level.  An unclean pool's
 * unlink in flight can leave an upper pointer to a node already off level 0
 * (PERSIST(3)): recovery settles those, and a read-only open of an unclean
 * pool (no recovery) does not count them as damage. */
static inline bool level_cut(struct daxkv *db, struct sl_node *above, struct sl_node *cur)
{
	return !cur && above && !(db->read_only && !db->was_clean) &&
	       !(vw_flags(db, above) & VW_MARKED);
}
static __attribute__((noinline, cold)) void cut_report(const struct daxkv *db,
						       const struct sl_node *above, int l)
{
	dkv_err(DAXKV_ECORRUPT, "skiplist damaged: level %d ends before node %llu of level %d",
		l, (unsigned long long)dkv_off(db, above), l + 1);
}

/* The level where key was found (its node is succs[l]), -1 when absent, or
 * SL_DAMAGED when the walk met damage (errmsg says what).  relaxed: no level
 * nesting check (recovery, before the in-flight unlinks are settled). */
#define SL_DAMAGED (-2)
static int find_full(struct daxkv *db, struct sl_key key, struct sl_node **preds,
		     struct sl_node **succs, bool relaxed)
{
	int lfound = -1;
	struct sl_node *pred = db->head, *above = NULL;
	struct walk w = walk_start(db);
	bool cut = false;
	for (int l = DKV_MAX_LEVEL - 1; l >= 0; l--) {
		struct sl_node *cur = hop(db, nxt(pred, (unsigned)l), &w);
		int c = 1;
		while (cur && (c = cmp_node(db, cur, key, &w.damaged)) < 0) {
			pred = cur;
			cur = hop(db, nxt(cur, (unsigned)l), &w);
		}
		if (DKV_UNLIKELY(!relaxed && !w.damaged && level_cut(db, above, cur))) {
			cut_report(db, above, l);
			w.damaged = cut = true;
		}
		if (lfound < 0 && cur && c == 0)
			lfound = l;
		preds[l] = pred;
		succs[l] = cur;
		above = cur;
	}
	if (DKV_UNLIKELY(w.damaged) && w.last && !cut)
		dkv_err(DAXKV_ECORRUPT, "skiplist damaged: a node's key cannot be read");
	return w.damaged ? SL_DAMAGED : lfound;
}

struct sl_node *sl_find_ex(struct daxkv *db, struct sl_key key, bool *corrupt)
{
	struct sl_node *pred = db->head, *above = NULL;
	struct walk w = walk_start(db);
	bool cut = false;
	for (int l = DKV_MAX_LEVEL - 1; l >= 0; l--) {
		struct sl_node *cur = hop(db, nxt(pred, (unsigned)l), &w);
		while (cur) {
			int c = cmp_node(db, cur, key, &w.damaged);
			if (c == 0)
				return cur;
			if (c > 0)
				break;
			pred = cur;
			cur = hop(db, nxt(cur, (unsigned)l), &w);
		}
		if (DKV_UNLIKELY(!w.damaged && level_cut(db, above, cur))) {
			cut_report(db, above, l);
			w.damaged = cut = true;
		}
		above = cur;
	}
	if (DKV_UNLIKELY(w.damaged) && w.last && !cut) /* a key, not a pointer (walk_damage) */
		dkv_err(DAXKV_ECORRUPT, "skiplist damaged: a node's key cannot be read");
	*corrupt = w.damaged;
	return NULL;
}

struct sl_node *sl_find(struct daxkv *db, struct sl_key key)
{
	bool corrupt;
	return sl_find_ex(db, key, &corrupt);
}

struct sl_node *sl_seek(struct daxkv *db, struct sl_key key, bool strict)
{
	struct sl_node *pred = db->head;
	struct walk w = walk_start(db);
	for (int l = DKV_MAX_LEVEL - 1; l >= 0; l--) {
		struct sl_node *cur = hop(db, nxt(pred, (unsigned)l), &w);
		while (cur) {
			int c = cmp_node(db, cur, key, &w.damaged);
			if (c > 0 || (c == 0 && !strict))
				break;
			pred = cur;
			cur = hop(db, nxt(cur, (unsigned)l), &w);
		}
	}
	return node_at(db, nxt(pred, 0));
}

struct sl_node *sl_seek_before(struct daxkv *db, const struct sl_key *key)
{
	struct sl_node *pred = db->head;
	struct walk w = walk_start(db);
	for (int l = DKV_MAX_LEVEL - 1; l >= 0; l--) {
		struct sl_node *cur = hop(db, nxt(pred, (unsigned)l), &w);
		while (cur && (!key || cmp_node(db, cur, *key, &w.damaged) < 0)) {
			pred = cur;
			cur = hop(db, nxt(cur, (unsigned)l), &w);
		}
	}
	return pred == db->head ? NULL : pred;
}

/* ---- node content ---- */

static void node_init(struct daxkv *db, struct sl_node *n, unsigned level, struct sl_key key,
		      uint64_t loc, uint64_t size)
{
	memset(n, 0, sizeof(*n) + 8 * level);
	n->loc = loc;
	n->vw = vw_gen(db) | VW_LOCKED; /* nobody builds on it until fully linked */
	n->level = (uint8_t)level;
	n->klen = key.len;
	n->rsize8 = (uint32_t)(size >> 3);
	memcpy(n->prefix, key.k, key.len < DKV_PREFIX ? key.len : DKV_PREFIX);
}

void sl_format_head(struct daxkv *db)
{
	struct sl_node *h = dkv_ptr(db, DKV_HEAD_OFF);
	memset(h, 0, sizeof(*h) + 8 * DKV_MAX_LEVEL);
	h->level = DKV_MAX_LEVEL;
	pm_flush(h, sizeof(*h) + 8 * DKV_MAX_LEVEL);
}

bool sl_node_sane(struct daxkv *db, uint64_t off)
{
	struct sl_node *n = dkv_ptr(db, off);
	if (!na_off_ok(db, off, n->level) || n->klen == 0 || n->klen > DAXKV_KEY_MAX)
		return false;
	uint64_t loc = n->loc & ~LOC_TOMB;
	if (!rec_off_ok(db, loc) || rec_verify(db, loc) != 0)
		return false;
	const struct rec_hdr *r = rec_at(db, loc);
	uint32_t p = n->klen < DKV_PREFIX ? n->klen : DKV_PREFIX;
	return r->klen == n->klen && memcmp(rec_key(r), n->prefix, p) == 0;
}

/* ---- writers ---- */

/* Appends op's record (or takes the batch's pre-written one); *size is its
 * size, computed, not read back: an NT-written line is not in the cache. */
static int write_rec(struct daxkv *db, unsigned lane, const struct sl_put *op, uint8_t type,
		     uint64_t prev, uint64_t seq, uint64_t *off, uint64_t *size)
{
	uint32_t vlen = type == REC_DEL ? 0 : op->vlen;
	*size = rec_size(op->key.len, vlen);
	if (op->pre_off) {
		*off = op->pre_off;
		return 0;
	}
	uint64_t gen;
	int rc = seg_reserve(db, lane, *size, type == REC_DEL ? SEG_USE_DELETE : SEG_USE_PUT, off,
			     &gen);
	if (rc)
		return rc;
	struct rec_in r = { .type = type, .key = op->key.k, .klen = op->key.len,
			    .val = op->val, .vlen = vlen, .seq = seq ? seq : dkv_next_seq(db, 1),
			    .prev = prev };
	rec_write(db, *off, gen, &r);
	return 0;
}

struct locked {
	struct sl_node *n[DKV_MAX_LEVEL];
	unsigned cnt;
};
static void lock_add(const struct daxkv *db, struct locked *lk, struct sl_node *p)
{
	if (lk->cnt && lk->n[lk->cnt - 1] == p)
		return;
	node_lock(db, p);
	lk->n[lk->cnt++] = p;
}
static void unlock_all(struct locked *lk)
{
	while (lk->cnt)
		node_unlock(lk->n[--lk->cnt]);
}

/* ---- bounded retries ----
 * A writer retries while another one is inside a node (inserting: LOCKED and
 * not yet LINKED; removing: MARKED and LOCKED); both end.  Damaged media can
 * make a retry's reason permanent, so each retry loop tells the two apart:
 *  - a node of this boot that is neither LINKED nor LOCKED was never made by
 *    a finished or running insert (node_init locks, the link publishes
 *    LINKED and unlocks in one store): damage at once;
 *  - a MARKED node whose lock is free (or held by us) was unlinked by its
 *    remover before the release, and a search that starts after seeing that
 *    cannot reach it (we are pinned: its slot is not reused): meeting the
 *    same "gone" node again on the next try is damage -- it is linked from
 *    somewhere its remover could not see.
 * Every other retry waits on a remover or inserter that finishes.  The lock
 * spins (node_lock) wait on this boot's lock bits only (a word of an earlier
 * boot reads unlocked), held for bounded critical sections. */
static inline bool vw_gone(const struct daxkv *db, struct sl_node *n, bool we_lock)
{
	uint32_t f = vw_flags(db, n);
	return (f & VW_MARKED) && (we_lock || !(f & VW_LOCKED));
}
static int retry_damaged(struct sl_node **last_gone, struct sl_node *gone)
{
	if (gone && gone == *last_gone)
		return dkv_err(DAXKV_ECORRUPT, "skiplist damaged: a removed node is still "
			       "linked (its slot is shared, or a pointer was restored)");
	*last_gone = gone;
	return 0;
}

static int insert_new(struct daxkv *db, unsigned lane, const struct sl_put *op,
		      struct sl_node **preds, struct sl_node **succs, uint64_t noff,
		      unsigned level, struct sl_node **gone)
{
	struct locked lk = { .cnt = 0 };
	*gone = NULL;
	for (unsigned l = 0; l < level; l++) {
		struct sl_node *p = preds[l], *s = succs[l];
		lock_add(db, &lk, p);
		if ((vw_flags(db, p) & VW_MARKED) || (s && (vw_flags(db, s) & VW_MARKED)) ||
		    nxt(p, l) != (s ? dkv_off(db, s) : 0)) {
			if (vw_gone(db, p, true))
				*gone = p;
			else if (s && vw_gone(db, s, false))
				*gone = s;
			unlock_all(&lk);
			return SL_RETRY;
		}
	}
	uint64_t roff, size;
	int rc = write_rec(db, lane, op, REC_PUT, 0, 0, &roff, &size);
	if (rc) {
		unlock_all(&lk);
		return rc;
	}
	struct sl_node *n = dkv_ptr(db, noff);
	node_init(db, n, level, op->key, roff, size);
	for (unsigned l = 0; l < level; l++)
		n->next[l] = succs[l] ? dkv_off(db, succs[l]) : 0;
	n->prev = preds[0] == db->head ? 0 : dkv_off(db, preds[0]);
	pm_flush(n, sizeof(*n) + 8 * level);
	dkv_slot_set(db, lane, noff | LANE_OP_ALLOC);
	pm_fence(); /* PERSIST(1): record, node and slot durable before the link. */
	set_next(preds[0], 0, noff);
	na_commit(db, noff, level);
	if (succs[0]) {
		succs[0]->prev = noff;
		pm_flush(&succs[0]->prev, 8);
	}
	pm_fence(); /* PERSIST(2): linked at level 0 -- durable. */
	for (unsigned l = 1; l < level; l++)
		set_next(preds[l], l, noff); /* PERSIST(3) */
	atomic_store_explicit(vwp(n), vw_gen(db) | VW_LINKED, memory_order_release);
	unlock_all(&lk);
	atomic_fetch_add_explicit(&db->lanes[lane].keys, 1, memory_order_relaxed);
	seg_live_add(db, roff, (int64_t)size);
	return 0;
}

/* Removes marked+locked node n from every level; tomb is its new location.
 * 0, or ECORRUPT (nothing written) when the index around n is damaged. */
static int unlink_marked(struct daxkv *db, unsigned lane, struct sl_node *n, uint64_t tomb,
			 bool relaxed)
{
	struct sl_node *preds[DKV_MAX_LEVEL], *succs[DKV_MAX_LEVEL], *last_gone = NULL;
	struct locked lk;
	unsigned spins = 0;
	if (n->level < 1 || n->level > DKV_MAX_LEVEL)
		return dkv_err(DAXKV_ECORRUPT, "skiplist damaged: node %llu has level %u",
			       (unsigned long long)dkv_off(db, n), n->level);
	for (;;) {
		bool ok = true;
		struct sl_node *gone = NULL;
		lk.cnt = 0;
		if (find_full(db, sl_node_key(db, n), preds, succs, relaxed) == SL_DAMAGED)
			return DAXKV_ECORRUPT;
		for (unsigned l = 0; ok && l < n->level; l++) {
			if (succs[l] != n)
				continue; /* not linked at l (a crash left it out) */
			lock_add(db, &lk, preds[l]);
			ok = !(vw_flags(db, preds[l]) & VW_MARKED) &&
			     nxt(preds[l], l) == dkv_off(db, n);
			if (!ok && vw_gone(db, preds[l], true))
				gone = preds[l];
		}
		if (ok)
			break;
		unlock_all(&lk);
		if (retry_damaged(&last_gone, gone))
			return DAXKV_ECORRUPT;
		relax(&spins);
	}
	uint64_t noff = dkv_off(db, n);
	dkv_slot_set(db, lane, noff | LANE_OP_FREE);
	pm_fence(); /* PERSIST(1): tomb record and slot durable before the unlink. */
	atomic_store_explicit((_Atomic uint64_t *)&n->loc, tomb, memory_order_release);
	pm_flush(&n->loc, 8);
	for (int l = n->level - 1; l >= 0; l--)
		if (succs[l] == n)
			set_next(preds[l], (unsigned)l, nxt(n, (unsigned)l));
	struct sl_node *s = node_at(db, nxt(n, 0));
	if (s) {
		s->prev = preds[0] == db->head ? 0 : dkv_off(db, preds[0]);
		pm_flush(&s->prev, 8);
	}
	na_free(db, noff, n->level);
	pm_fence(); /* PERSIST(2), PERSIST(4): unlinked and freed -- durable. */
	unlock_all(&lk);
	return 0;
}

static int update_locked(struct daxkv *db, unsigned lane, const struct sl_put *op,
			 struct sl_node *n)
{
	uint64_t old = sl_loc(n), roff, seq = 0;
	uint64_t oldsz = (uint64_t)n->rsize8 << 3;
	bool was_tomb = old & LOC_TOMB;
	int rc = 0;
	if (op->pre_off && old == (op->pre_off | (op->is_delete ? LOC_TOMB : 0)))
		goto out; /* batch redo: already applied */
	if (op->is_delete && was_tomb) {
		rc = op->pre_off ? 0 : DAXKV_ENOTFOUND;
		goto out;
	}
	if (op->is_delete) {
		seq = op->pre_off ? op->pre_seq : dkv_next_seq(db, 1);
		if (dkv_snap_allows_unlink(db, seq)) {
			/* No snapshot needs the old version: unlink now.  The index is
			 * the truth, so no record is needed (and a full pool still
			 * accepts deletes).  TOMB on a put record = deleted, no record. */
			/* Accounting moves before the change is visible: GC must not
			 * see the record dead, free its segment, and then get the
			 * subtraction into the segment's next life. */
			seg_live_add(db, old & ~LOC_TOMB, -(int64_t)oldsz);
			atomic_fetch_or(vwp(n), VW_MARKED);
			rc = unlink_marked(db, lane, n, old | LOC_TOMB, false);
			if (!rc)
				atomic_fetch_sub_explicit(&db->lanes[lane].keys, 1,
							  memory_order_relaxed);
			goto out; /* stays MARKED: it is gone (or the handle is broken) */
		}
	}
	uint64_t size;
	rc = write_rec(db, lane, op, op->is_delete ? REC_DEL : REC_PUT, old & ~LOC_TOMB, seq,
		       &roff, &size);
	if (rc)
		goto out;
	pm_fence(); /* PERSIST(1): the record is durable before the node points at it. */
	n->rsize8 = (uint32_t)(size >> 3);
	seg_live_add(db, old & ~LOC_TOMB, -(int64_t)oldsz); /* before: see above */
	atomic_store_explicit((_Atomic uint64_t *)&n->loc, roff | (op->is_delete ? LOC_TOMB : 0),
			      memory_order_release);
	pm_flush(&n->loc, 8);
	pm_fence(); /* PERSIST(2): published -- durable. */
	seg_live_add(db, roff, (int64_t)size);
	if (op->is_delete) {
		atomic_fetch_sub_explicit(&db->lanes[lane].keys, 1, memory_order_relaxed);
		dkv_purge_later(db, dkv_off(db, n));
	} else if (was_tomb) {
		atomic_fetch_add_explicit(&db->lanes[lane].keys, 1, memory_order_relaxed);
	}
out:
	node_unlock(n);
	return rc;
}

int sl_put(struct daxkv *db, unsigned lane, const struct sl_put *op)
{
	struct sl_node *preds[DKV_MAX_LEVEL], *succs[DKV_MAX_LEVEL], *last_gone = NULL, *gone;
	uint64_t noff = op->pre_node;
	unsigned level = op->pre_level, spins = 0;
	int rc;
	epoch_pin();
	for (;;) { /* bounded: see "bounded retries" */
		int lf = find_full(db, op->key, preds, succs, false);
		if (lf == SL_DAMAGED) {
			rc = DAXKV_ECORRUPT;
			break;
		}
		if (lf >= 0) {
			struct sl_node *n = succs[lf];
			uint32_t f = vw_flags(db, n);
			if (!(f & VW_LINKED) || (f & VW_MARKED)) {
				if (!(f & (VW_LINKED | VW_LOCKED))) {
					rc = dkv_err(DAXKV_ECORRUPT, "skiplist damaged: node %llu "
						     "was never linked",
						     (unsigned long long)dkv_off(db, n));
					break;
				}
				rc = retry_damaged(&last_gone, vw_gone(db, n, false) ? n : NULL);
				if (rc)
					break;
				relax(&spins); /* being inserted or removed: wait */
				continue;
			}
			node_lock(db, n);
			if (vw_flags(db, n) & VW_MARKED) {
				node_unlock(n);
				rc = retry_damaged(&last_gone, n); /* we held its lock: gone */
				if (rc)
					break;
				continue;
			}
			rc = update_locked(db, lane, op, n);
			break;
		}
		if (op->is_delete) {
			rc = op->pre_off ? 0 : DAXKV_ENOTFOUND;
			break;
		}
		if (!noff) {
			level = sl_random_level();
			rc = na_reserve(db, level, &noff);
			if (rc)
				break;
		}
		rc = insert_new(db, lane, op, preds, succs, noff, level, &gone);
		if (rc == SL_RETRY) {
			rc = retry_damaged(&last_gone, gone);
			if (rc)
				break;
			continue;
		}
		if (rc == 0)
			noff = 0; /* consumed */
		break;
	}
	if (noff)
		na_unreserve(db, noff, level);
	epoch_unpin();
	if (DKV_UNLIKELY(rc == DAXKV_ECORRUPT))
		dkv_break(db); /* the index a writer walks is damaged */
	return rc;
}

int sl_purge(struct daxkv *db, unsigned lane, uint64_t off)
{
	int rc = 0;
	/* off comes from the purge list, refilled from media after a crash:
	 * purge only what is plainly an allocated node. */
	if (!na_off_ok(db, off, 1) || !na_is_set(db, off))
		return 0;
	struct sl_node *n = dkv_ptr(db, off);
	if (!na_off_ok(db, off, n->level))
		return 0;
	epoch_pin();
	node_lock(db, n);
	uint64_t loc = sl_loc(n);
	if ((vw_flags(db, n) & VW_MARKED) || !(loc & LOC_TOMB)) {
		node_unlock(n);
		goto out;
	}
	if (!dkv_snap_allows_unlink(db, rec_at(db, loc & ~LOC_TOMB)->seq)) {
		node_unlock(n);
		rc = DAXKV_EBUSY;
		goto out;
	}
	uint64_t sz = (uint64_t)n->rsize8 << 3;
	seg_live_add(db, loc & ~LOC_TOMB, -(int64_t)sz); /* before the unlink: see update */
	atomic_fetch_or(vwp(n), VW_MARKED);
	rc = unlink_marked(db, lane, n, loc, false);
	node_unlock(n);
out:
	epoch_unpin();
	if (DKV_UNLIKELY(rc == DAXKV_ECORRUPT))
		dkv_break(db);
	return rc;
}

bool sl_repoint(struct daxkv *db, struct sl_node *n, uint64_t old, uint64_t new_loc)
{
	DAXKV_ASSERT(rec_off_ok(db, new_loc));
	/* The node lock is the compare-and-swap's guard: writers read loc, write
	 * the record that names it as prev and store the new loc all under it,
	 * so a swing can never fall between their read and their store. */
	node_lock(db, n);
	uint64_t loc = sl_loc(n);
	bool ok = !(vw_flags(db, n) & VW_MARKED) && (loc & ~LOC_TOMB) == old;
	if (ok) {
		atomic_store_explicit((_Atomic uint64_t *)&n->loc, new_loc | (loc & LOC_TOMB),
				      memory_order_release);
		pm_flush(&n->loc, 8);
	}
	node_unlock(n);
	return ok;
}

/* ---- recovery ---- */

int sl_settle(struct daxkv *db, unsigned lane, uint64_t off, bool was_alloc)
{
	if (!sl_node_sane(db, off))
		return 0; /* never initialised durably, so never linked nor committed */
	struct sl_node *n = dkv_ptr(db, off);
	struct sl_node *preds[DKV_MAX_LEVEL], *succs[DKV_MAX_LEVEL];
	if (find_full(db, sl_node_key(db, n), preds, succs, true) == SL_DAMAGED)
		return DAXKV_ECORRUPT; /* decided from level 0 by dkv_reindex instead */
	bool linked = succs[0] == n;
	na_set(db, off, n->level, linked);
	if (linked) {
		if (!was_alloc && (sl_loc(n) & LOC_TOMB)) {
			/* A delete whose unlink did not reach the media: finish it
			 * (no snapshot survives a restart), or the node would linger. */
			node_lock(db, n);
			atomic_fetch_or(vwp(n), VW_MARKED);
			int rc = unlink_marked(db, lane, n, sl_loc(n), true);
			node_unlock(n);
			return rc;
		}
		return 0;
	}
	/* An unlink (or a link) in flight left upper-level pointers to n. */
	for (unsigned l = 1; l < n->level; l++)
		if (succs[l] == n)
			set_next(preds[l], l, nxt(n, l));
	return 0;
}

/* ---- invariant checker ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			snprintf(msg, cap, __VA_ARGS__);                                   \
			rc = -1;                                                           \
			goto out;                                                          \
		}                                                                          \
	} while (0)

int sl_check(struct daxkv *db, char *msg, size_t cap, uint64_t *nodes, uint64_t *slots)
{
	int rc = 0;
	size_t n = 0, capn = 1024;
	uint64_t *offs = malloc(capn * sizeof(*offs)), nslots = 0;
	CHECK(offs, "out of memory");
	epoch_pin();
	struct sl_node *prev = NULL;
	for (struct sl_node *c = node_at(db, nxt(db->head, 0)); c; c = node_at(db, nxt(c, 0))) {
		uint64_t off = dkv_off(db, c);
		CHECK(sl_node_sane(db, off), "node at %llu is not a valid node",
		      (unsigned long long)off);
		CHECK(na_is_set(db, off), "linked node at %llu is free in the bitmap",
		      (unsigned long long)off);
		CHECK(!prev || sl_cmp(db, prev, sl_node_key(db, c)) < 0,
		      "level 0 out of order at %llu", (unsigned long long)off);
		if (n == capn) {
			uint64_t *o = realloc(offs, (capn *= 2) * sizeof(*offs));
			CHECK(o, "out of memory");
			offs = o;
		}
		offs[n++] = off;
		nslots += node_slots(c->level);
		prev = c;
	}
	qsort(offs, n, sizeof(*offs), cmp_u64);
	for (unsigned l = 1; l < DKV_MAX_LEVEL; l++) {
		prev = NULL;
		for (struct sl_node *c = node_at(db, nxt(db->head, l)); c;
		     c = node_at(db, nxt(c, l))) {
			uint64_t off = dkv_off(db, c);
			CHECK(bsearch(&off, offs, n, sizeof(*offs), cmp_u64),
			      "level %u points at %llu, not linked at level 0", l,
			      (unsigned long long)off);
			CHECK(c->level > l, "node with %u levels linked at level %u", c->level, l);
			CHECK(!prev || sl_cmp(db, prev, sl_node_key(db, c)) < 0,
			      "level %u out of order", l);
			prev = c;
		}
	}
	if (nodes)
		*nodes = n;
	if (slots)
		*slots = nslots;
out:
	if (offs)
		epoch_unpin();
	free(offs);
	return rc;
}
