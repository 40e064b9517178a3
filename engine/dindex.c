/*
 * dindex.c -- the DRAM index: a volatile B+-tree from every key linked at
 * level 0 of the persistent skiplist to its node's offset, and a second one
 * (the tall tree) of the nodes linked at level 1, for two-level inserts.
 *
 * Why (docs/ARCHITECTURE.md, "The DRAM index"; docs/BENCHMARKS.md): at 1M
 * keys a descent of the skiplist compares ~36 nodes scattered over the pool,
 * ~20 of them cache and TLB misses; it was 74-88% of every operation.  This
 * tree finds a key in 3-4 nodes of 30 entries whose upper levels stay in the
 * cache, so a get, an overwrite or a delete goes straight to its node, and an
 * insert gets its level-0 predecessor (and, for a two-level node, its level-1
 * one from the tall tree) without the descent.  It is KVDK's split (a DRAM index beside the persistent data)
 * with the persistent skiplist kept as the index of record: nothing here is
 * on media, the build at open runs beside the traffic, and until it ends the
 * skiplist answers alone -- restart stays as fast as before.
 *
 * Exactness.  Level 0 is the truth; the tree mirrors its live keys:
 *  - an insert maps its key (dix_set) after linking it at level 0 and before
 *    it publishes the node LINKED and unlocks it (skiplist_write.c), so no
 *    writer can remove the node before it is in the tree;
 *  - a remover marks the node, unlinks it and unmaps it (dix_del) under the
 *    node's lock; dix_del removes the key only if it still maps to that node,
 *    and dix_set replaces a mapping, so a remover late to unmap cannot take a
 *    newer node of the same key out;
 *  - the build adds a key only when absent, then re-reads the node's mark and
 *    unmaps it if a remover got there first (the leaf lock orders the two).
 * Nodes a lookup returns are checked by their users as before (MARKED, the
 * tombstone bit, the record's CRC and key); callers are pinned, so a node the
 * tree named is not reused under them.
 *
 * Concurrency: optimistic lock coupling (Leis, Haubenschild, Kemper, Neumann,
 * "The ART of Practical Synchronization", DaMoN 2016; their B+-tree variant
 * "btreeolc").  Each node has a version word; a reader reads it, then the
 * node, then checks the word is unchanged (restarting from the root if not);
 * a writer takes the word with a compare-and-swap and bumps it when done.
 * Full nodes split on the way down, so a split locks one parent and one child
 * with try-locks only: nobody waits holding a lock, so nothing deadlocks.
 * Every word a reader may see mid-change is an atomic load, checked
 * afterwards; a torn read can only name memory the tree or the pool owns:
 * tree nodes and separator copies live in an arena freed with the tree, and
 * an offset is bounds-checked before it is followed.  Deletes empty leaves but
 * never merge them (memory is bounded by the peak key count).
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "engine/dindex_int.h"

#define V_LOCKED 2ull
/* Words a reader may see mid-change: loads acquire and stores release (plain
 * moves on x86), so a reader that saw any store of a writer also sees the
 * version that writer locked, when it checks it after (a seqlock without
 * standalone fences, which ThreadSanitizer cannot follow). */
#define LD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* ---- versions ---- */

static inline bool rd(struct dnode *n, uint64_t *v)
{
	*v = atomic_load_explicit(&n->ver, memory_order_acquire);
	return !(*v & V_LOCKED);
}
static inline bool still(struct dnode *n, uint64_t v)
{
	return atomic_load_explicit(&n->ver, memory_order_acquire) == v;
}
static inline bool upgrade(struct dnode *n, uint64_t v)
{
	return atomic_compare_exchange_strong_explicit(&n->ver, &v, v | V_LOCKED,
						       memory_order_acquire, memory_order_relaxed);
}
static inline void unlock(struct dnode *n)
{
	atomic_fetch_add_explicit(&n->ver, V_LOCKED, memory_order_release);
}

/* ---- keys ---- */

/* Keys whose 16 padded bytes agree compare the rest (and their lengths). */
static inline int tail_cmp(struct sl_key a, const uint8_t *b, uint32_t blen)
{
	uint32_t m = a.len < blen ? a.len : blen;
	if (m > 16) {
		int c = memcmp(a.k + 16, b + 16, m - 16);
		if (c)
			return c;
	}
	return (a.len > blen) - (a.len < blen);
}
/* Sign of K - entry i by the two prefix words; 0: they tie. */
static inline int cmp_words(const struct dkey *K, const struct dnode *n, unsigned i)
{
	uint64_t h = LD(n->hi[i]);
	if (K->hi != h)
		return K->hi < h ? -1 : 1;
	uint64_t l = LD(n->lo[i]);
	return K->lo == l ? 0 : K->lo < l ? -1 : 1;
}
/* Sign of K - leaf entry i. */
static inline int cmp_ent(const struct daxkv *db, const struct dkey *K, const struct dnode *n,
			  unsigned i)
{
	int w = cmp_words(K, n, i);
	if (w)
		return w;
	uint64_t off = LD(n->off[i]);
	if (DKV_UNLIKELY(!sl_off_ok(db, off)))
		return 1; /* a torn read: the version check discards the answer */
	bool bad = false;
	int c = cmp_node(db, dkv_ptr(db, off), K->k, &bad);
	return bad ? 1 : (c < 0) - (c > 0);
}
/* Sign of K - separator i. */
static inline int cmp_sep(const struct dkey *K, const struct dnode *n, unsigned i)
{
	int w = cmp_words(K, n, i);
	if (w)
		return w;
	const struct dsep *s = LD(n->sep[i]);
	return DKV_LIKELY(s) ? tail_cmp(K->k, s->k, s->len) : 1;
}
static inline unsigned cnt_of(const struct dnode *n)
{
	unsigned c = LD(n->count);
	return c > DIX_CAP ? DIX_CAP : c;
}
/* First entry >= K; *eq when it equals K. */
static unsigned leaf_pos(const struct daxkv *db, const struct dkey *K, const struct dnode *n,
			 unsigned cnt, bool *eq)
{
	unsigned a = 0, b = cnt;
	*eq = false;
	while (a < b) {
		unsigned m = (a + b) / 2;
		int c = cmp_ent(db, K, n, m);
		if (c > 0) {
			a = m + 1;
		} else {
			b = m;
			if (c == 0)
				*eq = true;
		}
	}
	/* The last probe that answered 0 was at a (the bound only moves down). */
	return a;
}
/* The child that holds K: first separator >= K (after: > K, the child that
 * holds K's successors). */
static inline __attribute__((always_inline)) unsigned
inner_pos(const struct dkey *K, const struct dnode *n, unsigned cnt, bool after)
{
	unsigned a = 0, b = cnt;
	while (a < b) {
		unsigned m = (a + b) / 2;
		int c = cmp_sep(K, n, m);
		if (c > 0 || (after && c == 0))
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* ---- nodes ---- */

/* size bytes, 64-aligned, zeroed (fresh mmap pages); NULL when out of memory. */
static void *arena_alloc(struct dix *t, size_t size)
{
	size = (size + DKV_LINE - 1) & ~(size_t)(DKV_LINE - 1);
	void *p = NULL;
	pthread_mutex_lock(&t->mem_mu);
	struct chunk *c = t->chunks;
	if (!c || c->used + size > ARENA_CHUNK) {
		c = mmap(NULL, ARENA_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (c == MAP_FAILED)
			goto out;
		(void)madvise(c, ARENA_CHUNK, MADV_HUGEPAGE); /* a hint: 4 KiB pages work */
		c->next = t->chunks;
		c->used = DKV_LINE;
		t->chunks = c;
	}
	p = (char *)c + c->used;
	c->used += size;
out:
	pthread_mutex_unlock(&t->mem_mu);
	return p;
}
void dtree_arena_free(struct dix *t)
{
	for (struct chunk *c = t->chunks, *n; c; c = n) {
		n = c->next;
		munmap(c, ARENA_CHUNK);
	}
	t->chunks = NULL;
}

static struct dnode *node_new(struct dix *t, bool leaf)
{
	struct dnode *n = arena_alloc(t, sizeof(*n));
	if (n)
		n->leaf = leaf;
	return n;
}
static struct dsep *sep_new(struct dix *t, struct sl_key k)
{
	struct dsep *s = arena_alloc(t, sizeof(*s) + k.len);
	if (!s)
		return NULL;
	s->len = k.len;
	memcpy(s->k, k.k, k.len);
	return s;
}

/* Under the node's lock.  Inserts separator (hi, lo, s) at i with right
 * child r after it. */
static void inner_ins(struct dnode *n, unsigned i, uint64_t hi, uint64_t lo, struct dsep *s,
		      struct dnode *r)
{
	unsigned c = n->count;
	for (unsigned j = c; j > i; j--) {
		ST(n->hi[j], n->hi[j - 1]);
		ST(n->lo[j], n->lo[j - 1]);
		ST(n->sep[j], n->sep[j - 1]);
		ST(n->child[j + 1], n->child[j]);
	}
	ST(n->hi[i], hi);
	ST(n->lo[i], lo);
	ST(n->sep[i], s);
	__atomic_store_n(&n->child[i + 1], r, __ATOMIC_RELEASE);
	ST(n->count, c + 1);
}

/* Hangs right sibling r (separated by sep) under parent p (locked), or under a
 * new root above n when n is the root.  0 or ENOMEM. */
static int hang(struct dix *t, struct dnode *_Atomic *rootp, struct dnode *p, struct dnode *n,
		uint64_t hi, uint64_t lo, struct dsep *s, struct dnode *r)
{
	if (p) {
		struct dkey K = { hi, lo, { s->k, s->len } };
		inner_ins(p, inner_pos(&K, p, p->count, false), hi, lo, s, r);
		return 0;
	}
	struct dnode *root = node_new(t, false);
	if (!root)
		return DAXKV_ENOMEM;
	root->hi[0] = hi;
	root->lo[0] = lo;
	root->sep[0] = s;
	root->child[0] = n;
	root->child[1] = r;
	root->kids_leaf = n->leaf;
	root->count = 1;
	atomic_store_explicit(rootp, root, memory_order_release);
	return 0;
}

/* Splits full inner node n (locked, as is its parent p, or n is the root). */
static int split_inner(struct dix *t, struct dnode *_Atomic *rootp, struct dnode *p,
		       struct dnode *n)
{
	struct dnode *r = node_new(t, false);
	if (!r)
		return DAXKV_ENOMEM;
	unsigned mid = DIX_CAP / 2;
	for (unsigned j = mid + 1; j < DIX_CAP; j++) {
		r->hi[j - mid - 1] = n->hi[j];
		r->lo[j - mid - 1] = n->lo[j];
		r->sep[j - mid - 1] = n->sep[j];
	}
	for (unsigned j = mid + 1; j <= DIX_CAP; j++)
		r->child[j - mid - 1] = n->child[j];
	r->count = DIX_CAP - mid - 1;
	r->kids_leaf = n->kids_leaf;
	int rc = hang(t, rootp, p, n, n->hi[mid], n->lo[mid], n->sep[mid], r);
	if (rc)
		return rc; /* r stays in the arena until the tree goes */
	ST(n->count, mid); /* sep[mid] moved up; the slots above are r's now */
	return 0;
}

/* Splits full leaf n (locked, as is its parent p, or n is the root): the
 * upper part from s moves to a new right sibling.  An insert at the end
 * (pos == DIX_CAP: keys arriving in order, as the build's) moves nothing,
 * so leaves filled in order stay full. */
static int split_leaf(struct daxkv *db, struct dnode *_Atomic *rootp, struct dnode *p,
		      struct dnode *n, unsigned pos)
{
	struct dix *t = db->dix;
	unsigned s = pos == DIX_CAP ? DIX_CAP : DIX_CAP / 2;
	struct sl_node *last = dkv_ptr(db, n->off[s - 1]);
	struct dsep *sep = sep_new(t, node_key(db, last));
	struct dnode *r = node_new(t, true);
	if (!sep || !r)
		return DAXKV_ENOMEM; /* what was taken stays in the arena */
	for (unsigned j = s; j < DIX_CAP; j++) {
		r->hi[j - s] = n->hi[j];
		r->lo[j - s] = n->lo[j];
		r->off[j - s] = n->off[j];
	}
	r->count = DIX_CAP - s;
	int rc = hang(t, rootp, p, n, n->hi[s - 1], n->lo[s - 1], sep, r);
	if (rc)
		return rc;
	ST(n->count, s);
	return 0;
}

/* ---- operations ---- */

/* The lines of a node its binary search reads, in parallel: the search would
 * otherwise wait for them one after the other.  An inner node: the version,
 * the count and hi[] (lo[] is read on a tie of hi only; child[] once, at the
 * answer, and the upper levels stay cached).  A leaf, mostly a miss: all of
 * it, so off[] (the answer) arrives with hi[]. */
static inline void node_prefetch(const struct dnode *n, bool leaf)
{
	_Static_assert(offsetof(struct dnode, lo) <= 4 * DKV_LINE, "hi[] in 4 lines");
	const char *b = (const char *)n;
	size_t end = leaf ? offsetof(struct dnode, off) + sizeof(n->off) : 4 * DKV_LINE;
	for (size_t o = 0; o < end; o += DKV_LINE)
		__builtin_prefetch(b + o);
}

/* The root, read-locked (*v). */
static struct dnode *root_rd(struct dnode *_Atomic *rootp, uint64_t *v)
{
	for (unsigned spins = 0;; relax(&spins)) {
		struct dnode *n = atomic_load_explicit(rootp, memory_order_acquire);
		if (rd(n, v) && n == atomic_load_explicit(rootp, memory_order_acquire))
			return n;
	}
}

/* The optimistic descent of a reader (find, del, scan): K's leaf *leaf (after:
 * the leaf of K's successors), read-locked at version *v; *leftmost when every
 * step took the first child; *upper (when asked): the separator bounding the
 * leaf's keys from above, NULL for the last leaf.  false: a node changed
 * under it, start again. */
static inline __attribute__((always_inline)) bool
to_leaf(struct dnode *_Atomic *rootp, const struct dkey *K, bool after, struct dnode **leaf,
	uint64_t *v, bool *leftmost, const struct dsep **upper)
{
	uint64_t nv, pv = 0, cv;
	struct dnode *n = root_rd(rootp, &nv), *p = NULL;
	*leftmost = true;
	if (upper)
		*upper = NULL;
	while (!n->leaf) {
		unsigned cnt = cnt_of(n), i = inner_pos(K, n, cnt, after);
		if (upper && i < cnt) /* validated with the child below */
			*upper = LD(n->sep[i]);
		struct dnode *c = __atomic_load_n(&n->child[i], __ATOMIC_ACQUIRE);
		if (!c || !still(n, nv) || (p && !still(p, pv)))
			return false;
		node_prefetch(c, n->kids_leaf);
		if (!rd(c, &cv) || !still(n, nv)) /* n unchanged: c is still K's child */
			return false;
		*leftmost &= i == 0;
		p = n;
		pv = nv;
		n = c;
		nv = cv;
	}
	*leaf = n;
	*v = nv;
	return true;
}

static void find(struct daxkv *db, struct dnode *_Atomic *rootp, struct sl_key key,
		 struct dix_hit *hit)
{
	struct dkey K = dkey_of(key);
	for (unsigned spins = 0;; relax(&spins)) {
		uint64_t v;
		struct dnode *n;
		bool leftmost;
		if (!to_leaf(rootp, &K, false, &n, &v, &leftmost, NULL))
			continue;
		unsigned cnt = cnt_of(n);
		bool eq;
		unsigned pos = leaf_pos(db, &K, n, cnt, &eq);
		hit->exact = eq ? LD(n->off[pos]) : 0;
		hit->floor = pos ? LD(n->off[pos - 1]) : 0;
		hit->succ = pos + eq < cnt ? LD(n->off[pos + eq]) : 0;
		hit->first = leftmost && pos == 0;
		hit->leaf = n;
		hit->ver = v;
		hit->pos = pos;
		if (still(n, v))
			return;
	}
}

/* Under the leaf's lock: K -> off as entry pos (the leaf has room). */
static void leaf_ins(struct dnode *n, unsigned pos, const struct dkey *K, uint64_t off)
{
	unsigned cnt = n->count;
	for (unsigned j = cnt; j > pos; j--) {
		ST(n->hi[j], n->hi[j - 1]);
		ST(n->lo[j], n->lo[j - 1]);
		ST(n->off[j], n->off[j - 1]);
	}
	ST(n->hi[pos], K->hi);
	ST(n->lo[pos], K->lo);
	ST(n->off[pos], off);
	ST(n->count, cnt + 1);
}

/* After a split under n's lock and its parent p's (NULL: n was the root):
 * releases both; rc passes through. */
static int split_done(struct dnode *n, struct dnode *p, int rc)
{
	unlock(n);
	if (p)
		unlock(p);
	return rc;
}

/* Inserts K -> off; replace: over an existing mapping (else leave it). */
int dtree_put(struct daxkv *db, struct dnode *_Atomic *rootp, struct sl_key key, uint64_t off,
	      bool replace)
{
	struct dix *t = db->dix;
	struct dkey K = dkey_of(key);
	unsigned tries = 0;
	int rc;
restart:
	if (tries++)
		relax(&tries);
	uint64_t v, pv = 0, cv;
	struct dnode *n = root_rd(rootp, &v), *p = NULL;
	while (!n->leaf) {
		if (cnt_of(n) == DIX_CAP) { /* split on the way down */
			if (p && !upgrade(p, pv))
				goto restart;
			if (!upgrade(n, v)) {
				if (p)
					unlock(p);
				goto restart;
			}
			if (!p && n != atomic_load(rootp)) { /* a new root above it */
				unlock(n);
				goto restart;
			}
			if ((rc = split_done(n, p, split_inner(t, rootp, p, n))))
				return rc;
			goto restart;
		}
		unsigned i = inner_pos(&K, n, cnt_of(n), false);
		struct dnode *c = __atomic_load_n(&n->child[i], __ATOMIC_ACQUIRE);
		if (!c || !still(n, v) || (p && !still(p, pv)))
			goto restart;
		if (!rd(c, &cv) || !still(n, v))
			goto restart;
		p = n;
		pv = v;
		n = c;
		v = cv;
	}
	if (!upgrade(n, v))
		goto restart;
	/* Locked: plain reads from here. */
	bool eq;
	unsigned cnt = n->count, pos = leaf_pos(db, &K, n, cnt, &eq);
	if (eq) {
		if (replace)
			ST(n->off[pos], off);
		unlock(n);
		return 0;
	}
	if (cnt == DIX_CAP) {
		if ((p && !upgrade(p, pv)) || (!p && n != atomic_load(rootp))) {
			unlock(n);
			goto restart;
		}
		if ((rc = split_done(n, p, split_leaf(db, rootp, p, n, pos))))
			return rc;
		goto restart;
	}
	leaf_ins(n, pos, &K, off);
	unlock(n);
	return 0;
}

static bool usable(const struct daxkv *db)
{
	return db->dix && atomic_load_explicit(&db->dix_on, memory_order_relaxed) >= 0;
}

int dix_set(struct daxkv *db, unsigned l, struct sl_key key, uint64_t off)
{
	if (!usable(db))
		return 0;
	int rc = dtree_put(db, &db->dix->root[l], key, off, true);
	if (rc) /* out of memory: stop using the trees, for good */
		atomic_store_explicit(&db->dix_on, -1, memory_order_release);
	return rc;
}

int dix_set_at(struct daxkv *db, unsigned l, struct sl_key key, uint64_t off,
	       const struct dix_hit *hit)
{
	struct dnode *n = hit->leaf;
	/* Unchanged since the lookup (same version): K is absent and goes at pos. */
	if (usable(db) && n && !hit->exact && upgrade(n, hit->ver)) {
		if (n->count < DIX_CAP) {
			struct dkey K = dkey_of(key);
			leaf_ins(n, hit->pos, &K, off);
			unlock(n);
			return 0;
		}
		unlock(n);
	}
	return dix_set(db, l, key, off);
}

void dtree_del(struct daxkv *db, struct dnode *_Atomic *rootp, struct sl_key key, uint64_t off)
{
	struct dkey K = dkey_of(key);
	uint64_t v;
	struct dnode *n;
	bool leftmost;
	for (unsigned spins = 0; !to_leaf(rootp, &K, false, &n, &v, &leftmost, NULL) || !upgrade(n, v);
	     relax(&spins))
		;
	bool eq;
	unsigned cnt = n->count, pos = leaf_pos(db, &K, n, cnt, &eq);
	if (eq && n->off[pos] == off) {
		for (unsigned j = pos; j + 1 < cnt; j++) {
			ST(n->hi[j], n->hi[j + 1]);
			ST(n->lo[j], n->lo[j + 1]);
			ST(n->off[j], n->off[j + 1]);
		}
		ST(n->count, cnt - 1);
	}
	unlock(n);
}

void dix_find(struct daxkv *db, unsigned l, struct sl_key key, struct dix_hit *hit)
{
	find(db, &db->dix->root[l], key, hit);
}

/* Leaves emptied of their tail by deletes (they are not merged) are passed
 * by their upper separator, this many at most per call. */
#define DIX_SCAN_HOPS 1024u

unsigned dix_scan(struct daxkv *db, struct sl_key key, bool after, uint64_t *out, unsigned max)
{
	struct dkey K = dkey_of(key);
	for (unsigned hops = 0;; hops++) {
		struct dnode *n;
		const struct dsep *up;
		unsigned got;
		for (unsigned spins = 0;; relax(&spins)) {
			uint64_t v;
			bool leftmost, eq;
			if (!to_leaf(&db->dix->root[0], &K, after, &n, &v, &leftmost, &up))
				continue;
			unsigned cnt = cnt_of(n), pos = leaf_pos(db, &K, n, cnt, &eq);
			got = 0;
			for (pos += after && eq; pos < cnt && got < max; pos++)
				out[got++] = LD(n->off[pos]);
			if (still(n, v))
				break;
		}
		if (got || !up || hops == DIX_SCAN_HOPS)
			return got;
		/* Nothing from K on in K's leaf: the next leaf, past its bound. */
		K = dkey_of((struct sl_key){ up->k, up->len });
		after = true;
	}
}

unsigned dix_scan_hit(const struct dix_hit *hit, uint64_t *out, unsigned max)
{
	struct dnode *n = hit->leaf;
	if (!n)
		return 0;
	unsigned cnt = cnt_of(n), got = 0;
	for (unsigned pos = hit->pos; pos < cnt && got < max; pos++)
		out[got++] = LD(n->off[pos]);
	return still(n, hit->ver) ? got : 0;
}

void dix_del(struct daxkv *db, unsigned l, struct sl_key key, uint64_t off)
{
	if (usable(db))
		dtree_del(db, &db->dix->root[l], key, off);
}
