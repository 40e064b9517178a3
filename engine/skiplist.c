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
 * follow Redis' zskiplist (t_zset.c).
 *
 * The writers (insert, update, unlink, purge, GC repoint, recovery settle)
 * are in skiplist_write.c; what both share is in skiplist_node.h.
 */
#include <stdio.h>
#include <stdlib.h>

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
	const struct rec_hdr *h = rec_at(db, loc);
	/* A location that points at a record of another key length is damage:
	 * its bytes past the key would order the node at random. */
	return DKV_UNLIKELY(h->klen != n->klen) ? NULL : rec_key(h);
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

struct sl_node *sl_find_ex(struct daxkv *db, struct sl_key key, bool *corrupt)
{
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

struct sl_node *sl_seek(struct daxkv *db, struct sl_key key, bool strict)
{
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
