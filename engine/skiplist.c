/*
 * skiplist.c -- the persistent skiplist index.
 *
 * Level 0 is the truth; upper levels are shortcuts.  Reads are lock-free and
 * write nothing.  Writers follow the lazy skiplist of Herlihy, Lev, Luchangco
 * and Shavit ("A Simple Optimistic Skiplist Algorithm", SIROCCO 2007): per-node
 * locks on the predecessors, validation, bottom-up linking, a MARKED bit for
 * nodes being removed.  The lock/mark/linked bits live in the node's volatile
 * word, tagged with the boot generation, so they mean nothing after a restart
 * and recovery never has to visit nodes to clear them.  32 levels as Redis'
 * zskiplist (t_zset.c), but p = 1/16: the DRAM index (dindex.c) serves the
 * searches once built, and each search here starts from it when it can.
 *
 * The writers (insert, update, unlink, purge, GC repoint, recovery settle)
 * are in skiplist_write.c; what both share is in skiplist_node.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine/dindex.h"
#include "engine/skiplist_node.h"

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

/* ---- keys (the comparisons are in skiplist_node.h) ---- */

struct sl_key sl_node_key(const struct daxkv *db, const struct sl_node *n)
{
	return node_key(db, n);
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
	static __thread uint64_t s DKV_TLS_HOT;
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
	/* Each further level with probability 1/16: four more zero bits.  The
	 * DRAM index serves searches, so the upper levels matter only for the
	 * first moments after an open (docs/ARCHITECTURE.md); a node of one or
	 * two levels takes one 64-byte slot, and only an insert of a taller
	 * node (1 in 16) needs the descent. */
	unsigned lvl = 1 + (unsigned)__builtin_ctzll(s | (1ull << 63)) / 4;
	return lvl > DKV_MAX_LEVEL ? DKV_MAX_LEVEL : lvl;
}

/* ---- searches (caller pinned) ---- */

/* Where the readers' searches start: the levels above hold no link (a writer
 * raises it before linking a taller node; a stale value skips shortcuts
 * only, as every key is on level 0).  Writers start there too (sl_find_full
 * says why that is safe for them). */
static inline int sl_top(const struct daxkv *db)
{
	uint32_t t = atomic_load_explicit(&db->top_level, memory_order_acquire);
	return t >= 1 && t <= DKV_MAX_LEVEL ? (int)t : DKV_MAX_LEVEL;
}

/* Level 0 holds every node: a node found at an upper level (and not being
 * removed: MARKED) is linked at level 0 -- its level-0 link is fenced before
 * any upper link is written (PERSIST(SL-1..3)) -- so a level 0 that ends
 * before the node the walk stopped at on level 1 is damage: a cleared or lost
 * next pointer.  One load, at level 0 only: the upper levels need not nest
 * among themselves after a crash (their links are flushed, not fenced, so any
 * subset of them survives).  An unclean pool's unlink in flight can leave an
 * upper pointer to a node already off level 0 (PERSIST(SL-3)): recovery
 * settles those, and a read-only open of an unclean pool (no recovery) does
 * not count them as damage. */
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

int sl_find_full(struct daxkv *db, struct sl_key key, struct sl_node **preds,
		     struct sl_node **succs, bool relaxed)
{
	int lfound = -1;
	struct sl_node *pred = db->head, *above = NULL;
	struct walk w = walk_start(db);
	bool cut = false;
	/* Above the top level the head links nothing: a writer that links a
	 * taller node there finds out under the predecessor's lock (insert_new
	 * validates pred->next against succ) and searches again.  Recovery
	 * (relaxed) walks every level. */
	int top = relaxed ? DKV_MAX_LEVEL : sl_top(db);
	for (int l = top; l < DKV_MAX_LEVEL; l++) {
		preds[l] = db->head;
		succs[l] = NULL;
	}
	for (int l = top - 1; l >= 0; l--) {
		struct sl_node *cur = hop(db, nxt(pred, (unsigned)l), &w);
		int c = 1;
		while (cur && (c = cmp_node(db, cur, key, &w.damaged)) < 0) {
			pred = cur;
			cur = hop(db, nxt(cur, (unsigned)l), &w);
		}
		if (DKV_UNLIKELY(l == 0 && !relaxed && !w.damaged && level_cut(db, above, cur))) {
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

/* ---- starts from the DRAM index ----
 * The tree (dindex.c) names the key's node, or a node sorting before it: a
 * start for a short walk of level 0 instead of the descent.  A start must be
 * linked at level 0 and not being removed: the tree's own entries are (they
 * are mapped after the level-0 link and unmapped under the remover's lock,
 * MARKED first); the successor's back link is a hint, trusted only for a
 * slot the bitmap holds (so linked, PERSIST(SL-4)) and not MARKED.  The walk
 * then compares as the descent's last level does. */
#define DIX_WALK_MAX 64 /* level-0 steps from a start before giving up on it */

/* The start the tree of level l gives for key: the head, a node of that
 * level sorting before key (for level 0 also the successor's back link), or
 * NULL.  *h: the tree's answer. */
static struct sl_node *tree_start(struct daxkv *db, unsigned l, struct sl_key key,
				  struct dix_hit *h)
{
	dix_find(db, l, key, h);
	/* The nodes the walk reads next, both at once: their misses overlap. */
	if (h->exact)
		__builtin_prefetch(dkv_ptr(db, h->exact));
	if (h->floor)
		__builtin_prefetch(dkv_ptr(db, h->floor));
	if (h->succ)
		__builtin_prefetch(dkv_ptr(db, h->succ));
	if (h->first)
		return db->head;
	uint64_t o = h->floor;
	if (!o && l == 0 && h->succ) {
		o = atomic_load_explicit((_Atomic uint64_t *)&((struct sl_node *)dkv_ptr(db, h->succ))->prev,
					 memory_order_acquire);
		if (!o || !na_off_ok(db, o, 1) || !na_is_set(db, o))
			return NULL;
	}
	if (!o || !sl_off_ok(db, o))
		return NULL;
	struct sl_node *p = dkv_ptr(db, o);
	bool bad = false;
	if ((vw_flags(db, p) & VW_MARKED) || p->level <= l || cmp_node(db, p, key, &bad) >= 0 ||
	    bad)
		return NULL;
	return p;
}

/* Walks level l from start (a node sorting before key) to the first node
 * >= key (> key when strict): *pred gets the node before it.  false when the
 * walk is long or meets damage (the descent then decides). */
static bool walk(struct daxkv *db, struct sl_node *start, unsigned l, struct sl_key key,
		 bool strict, struct sl_node **pred, struct sl_node **cur, int *c)
{
	struct sl_node *p = start;
	for (unsigned steps = 0; steps < DIX_WALK_MAX; steps++) {
		uint64_t o = nxt(p, l);
		if (!o) {
			*pred = p;
			*cur = NULL;
			*c = 1;
			return true;
		}
		if (!sl_off_ok(db, o))
			return false;
		struct sl_node *n = dkv_ptr(db, o);
		bool bad = false;
		int d = cmp_node(db, n, key, &bad);
		if (bad)
			return false;
		if (d > 0 || (d == 0 && !strict)) {
			*pred = p;
			*cur = n;
			*c = d;
			return true;
		}
		p = n;
	}
	return false;
}

int sl_find_tree(struct daxkv *db, unsigned l, struct sl_key key, struct sl_node **preds,
		 struct sl_node **succs, struct dix_hit *h)
{
	struct sl_node *start = tree_start(db, l, key, h), *cur;
	if (h->exact) {
		succs[l] = dkv_ptr(db, h->exact);
		return 0;
	}
	int c;
	if (!start || !walk(db, start, l, key, false, &preds[l], &cur, &c))
		return SL_NO_HINT;
	succs[l] = cur;
	return cur && c == 0 ? 0 : -1;
}

struct sl_node *sl_find_ex(struct daxkv *db, struct sl_key key, bool *corrupt)
{
	if (dhash_on(db)) {
		uint64_t at = dhash_get(db, key, 0);
		*corrupt = false;
		return at ? dkv_ptr(db, at) : NULL;
	}
	if (dix_ready(db)) {
		struct dix_hit h;
		dix_find(db, 0, key, &h);
		*corrupt = false;
		return h.exact ? dkv_ptr(db, h.exact) : NULL;
	}
	struct sl_node *pred = db->head, *above = NULL;
	struct walk w = walk_start(db);
	bool cut = false;
	for (int l = sl_top(db) - 1; l >= 0; l--) {
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
		if (DKV_UNLIKELY(l == 0 && !w.damaged && level_cut(db, above, cur))) {
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

struct sl_node *sl_seek(struct daxkv *db, struct sl_key key, bool strict, struct dix_hit *hit)
{
	struct dix_hit own;
	if (!hit)
		hit = &own;
	hit->leaf = NULL;
	if (dix_ready(db)) {
		struct sl_node *start = tree_start(db, 0, key, hit), *p, *cur;
		int c;
		if (hit->exact && !strict)
			return dkv_ptr(db, hit->exact);
		if (hit->exact)
			start = dkv_ptr(db, hit->exact);
		if (start && !(vw_flags(db, start) & VW_MARKED) &&
		    walk(db, start, 0, key, strict, &p, &cur, &c))
			return cur;
	}
	struct sl_node *pred = db->head;
	struct walk w = walk_start(db);
	for (int l = sl_top(db) - 1; l >= 0; l--) {
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
	for (int l = sl_top(db) - 1; l >= 0; l--) {
		struct sl_node *cur = hop(db, nxt(pred, (unsigned)l), &w);
		while (cur && (!key || cmp_node(db, cur, *key, &w.damaged) < 0)) {
			pred = cur;
			cur = hop(db, nxt(cur, (unsigned)l), &w);
		}
	}
	return pred == db->head ? NULL : pred;
}

/* ---- node content ---- */

void sl_top_init(struct daxkv *db)
{
	unsigned top = DKV_MAX_LEVEL;
	while (top > 1 && !nxt(db->head, top - 1))
		top--;
	atomic_store(&db->top_level, top);
}

void sl_top_raise(struct daxkv *db, unsigned levels)
{
	uint32_t cur = atomic_load(&db->top_level);
	while (cur < levels && !atomic_compare_exchange_weak(&db->top_level, &cur, levels))
		;
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
