/*
 * dindex_build.c -- the DRAM index's life: dix_start (at open) and its
 * background build from levels 1 and 0 of the skiplist, dix_stop (at close).
 * The trees and their operations are in dindex.c; docs/ARCHITECTURE.md,
 * "The DRAM index", says how the build and the writers agree.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "engine/dindex_int.h"

/* ---- the build ----
 * Walks level 1, then level 0, in order (pinned: nothing it meets is reused
 * under it) and adds each key not being removed to the tall tree, then to
 * the tree of all keys, unless a writer mapped it already.  A
 * remover that marked the node before the add is seen by the mark check
 * after it (the leaf's lock orders dix_del and the add); one that marks it
 * later unmaps it itself. */
static void build_end(struct daxkv *db, int state)
{
	struct dix *t = db->dix;
	atomic_store_explicit(&db->dix_on, state, memory_order_release);
	pthread_mutex_lock(&t->done_mu);
	t->done = true;
	pthread_cond_broadcast(&t->done_cv);
	pthread_mutex_unlock(&t->done_mu);
}

/* Adds node n (at offset o) to the tree at rootp unless it is being removed:
 * 0, or -1 (out of memory). */
static int build_one(struct daxkv *db, struct dnode *_Atomic *rootp, struct sl_node *n,
		     uint64_t o)
{
	if (vw_flags(db, n) & VW_MARKED)
		return 0;
	struct sl_key k = node_key(db, n);
	if (dtree_put(db, rootp, k, o, false))
		return -1;
	if (vw_flags(db, n) & VW_MARKED)
		dtree_del(db, rootp, k, o);
	return 0;
}

/* The same for the hash of keys, with the key's hash h (its bucket
 * prefetched a round earlier). */
static void build_hash_one(struct daxkv *db, struct sl_node *n, uint64_t o, uint64_t h)
{
	if (vw_flags(db, n) & VW_MARKED)
		return;
	struct sl_key k = node_key(db, n);
	dhash_add(db, k, h, o);
	if (vw_flags(db, n) & VW_MARKED)
		dhash_del(db, k, o);
}

/* Level 1 into the tall tree: 1, or -1 (damage, out of memory, close).
 * *last: its last node; *tall, *ntall: its nodes' offsets (malloc'd, NULL
 * when out of memory: the level-0 walk then runs as one chain). */
static int build_level1(struct daxkv *db, struct sl_node **last, uint64_t **tall, size_t *ntall)
{
	uint64_t hops = db->pool.size >> 5; /* twice what a pool holds */
	size_t cap = 0;
	*tall = NULL;
	*ntall = 0;
	for (struct sl_node *n = db->head;;) {
		uint64_t o = nxt(n, 1);
		*last = n;
		if (!o)
			return 1;
		if (!sl_off_ok(db, o) || !hops--)
			return -1; /* a damaged level: the skiplist reports it */
		n = dkv_ptr(db, o);
		if (!(hops & 4095) && atomic_load_explicit(&db->dix_stop, memory_order_relaxed))
			return -1;
		if (build_one(db, &db->dix->root[1], n, o))
			return -1;
		if (*ntall == cap) {
			uint64_t *a = realloc(*tall, (cap = cap ? 2 * cap : 1024) * sizeof(*a));
			if (!a) {
				free(*tall);
				*tall = NULL;
				cap = SIZE_MAX; /* no more: one chain */
			} else {
				*tall = a;
			}
		}
		if (*tall)
			(*tall)[(*ntall)++] = o;
	}
}

/* Level 0 into the tree of all keys, as BUILD_CHAINS walks at once: chain j
 * covers the keys from level-1 node j*n/BUILD_CHAINS up to (not including)
 * the next chain's first key, and the walks take one step each in turn, the
 * node a walk reads next prefetched a round ahead -- a pointer chase through
 * the pool is a cache and TLB miss a node (~400 ns here), and the chains
 * overlap those misses.  A node's hash entry is added a round after its
 * tree entry, its bucket prefetched meanwhile (a miss a key too).  A chain
 * that starts at a node removed since still goes forward (pinned; a removed
 * node keeps its next pointer) and stops by key, not by node.  1, or -1 (damage, out of memory, close, a cut level:
 * a chain that meets the end of level 0 before the next chain's first node).
 * *last: the last node of level 0. */
#define BUILD_CHAINS 8
struct chain {
	struct sl_node *n;   /* the next node to add, prefetched; NULL: done */
	struct sl_node *end; /* the next chain's first node (NULL: the last chain) */
	struct sl_key end_key;
	struct sl_node *h_n; /* the node whose hash entry is added next round */
	uint64_t h;          /* its key's hash (its bucket prefetched) */
};

static int build_level0(struct daxkv *db, const uint64_t *tall, size_t ntall,
			struct sl_node **last)
{
	struct chain c[BUILD_CHAINS];
	unsigned nc = tall && ntall >= 4 * BUILD_CHAINS ? BUILD_CHAINS : 1, active = nc;
	uint64_t hops = db->pool.size >> 5, o0 = nxt(db->head, 0);
	for (unsigned j = 0; j < nc; j++) {
		c[j].h_n = NULL;
		c[j].n = j ? dkv_ptr(db, tall[j * ntall / nc]) : NULL;
		c[j].end = j + 1 < nc ? dkv_ptr(db, tall[(j + 1) * ntall / nc]) : NULL;
		if (c[j].end)
			c[j].end_key = node_key(db, c[j].end);
	}
	if (o0 && !sl_off_ok(db, o0))
		return -1;
	c[0].n = o0 ? dkv_ptr(db, o0) : NULL;
	*last = db->head;
	while (active) {
		for (unsigned j = 0; j < nc; j++) {
			struct sl_node *n = c[j].n;
			if (c[j].h_n) { /* last round's node: its bucket is here now */
				build_hash_one(db, c[j].h_n, dkv_off(db, c[j].h_n), c[j].h);
				c[j].h_n = NULL;
			}
			if (!n)
				continue;
			bool bad = false;
			if (c[j].end && cmp_node(db, n, c[j].end_key, &bad) >= 0) {
				c[j].n = NULL; /* the next chain's range */
				active--;
				continue;
			}
			if (bad || !hops--)
				return -1;
			if (!(hops & 4095) &&
			    atomic_load_explicit(&db->dix_stop, memory_order_relaxed))
				return -1;
			uint64_t o = dkv_off(db, n);
			if (build_one(db, &db->dix->root[0], n, o))
				return -1;
			c[j].h = dhash_prefetch(db, node_key(db, n));
			c[j].h_n = c[j].h ? n : NULL;
			uint64_t nx = nxt(n, 0);
			if (nx && !sl_off_ok(db, nx))
				return -1; /* a damaged level: the skiplist reports it */
			if (!nx) {
				/* Level 0 ends before the next chain's first node: a cut
				 * (or that node and all after it went meanwhile: rare,
				 * and the skiplist serves as well). */
				if (c[j].end)
					return -1;
				*last = n;
				c[j].n = NULL;
				active--;
				continue;
			}
			c[j].n = dkv_ptr(db, nx);
			__builtin_prefetch(c[j].n);
		}
	}
	for (unsigned j = 0; j < nc; j++) /* the last round's hash entries */
		if (c[j].h_n)
			build_hash_one(db, c[j].h_n, dkv_off(db, c[j].h_n), c[j].h);
	return 1;
}

/* The node segments' pages, faulted in with one call per segment: on a fresh
 * mapping the walks below would otherwise take a page fault at most of the
 * nodes they meet first (several us each on this VM: half the build's time
 * at 2M keys).  Not the data path: the build's own thread, after the open. */
static void build_prefault(struct daxkv *db)
{
	pthread_mutex_lock(&db->node_mu);
	uint32_t n = db->n_node_segs;
	uint32_t *ids = n ? malloc(n * sizeof(*ids)) : NULL;
	if (ids)
		memcpy(ids, db->node_segs, n * sizeof(*ids));
	pthread_mutex_unlock(&db->node_mu);
	for (uint32_t i = 0; ids && i < n; i++)
		(void)madvise(dkv_ptr(db, dkv_seg_start(db, ids[i])), db->seg_size,
			      db->read_only ? MADV_POPULATE_READ : MADV_POPULATE_WRITE);
	free(ids);
}

static void *build_main(void *arg)
{
	struct daxkv *db = arg;
	struct sl_node *last1 = db->head, *last0 = db->head;
	uint64_t *tall = NULL;
	size_t ntall = 0;
	dhash_populate(db);
	if (atomic_load(&db->dix_on) == 1)
		return NULL; /* an empty store: the trees were complete at once */
	build_prefault(db);
	epoch_pin();
	int state = build_level1(db, &last1, &tall, &ntall);
	if (state > 0)
		state = build_level0(db, tall, ntall, &last0);
	free(tall);
	/* A level 0 that ends before the last node of level 1 was cut (a cleared
	 * or lost next pointer): that node was linked at level 0 before level 1
	 * (PERSIST(SL-1..3)) and, unless it is being removed, is still there.
	 * The descent reports such a cut (level_cut, skiplist.c); a tree built
	 * from the cut level would answer "absent" instead, and let inserts
	 * link after the cut.  So the skiplist answers alone. */
	if (state > 0 && last1 != db->head && !(vw_flags(db, last1) & VW_MARKED)) {
		bool bad = false;
		if (last0 == db->head || cmp_node(db, last0, node_key(db, last1), &bad) < 0 || bad)
			state = -1;
	}
	epoch_unpin();
	/* The writers gave up on the tree first (out of memory): stay given up. */
	if (atomic_load(&db->dix_on) < 0)
		state = -1;
	build_end(db, state);
	return NULL;
}

int dix_start(struct daxkv *db)
{
	struct dix *t = NULL;
	if (posix_memalign((void **)&t, 64, sizeof(*t)))
		return dkv_err(DAXKV_ENOMEM, "out of memory for the DRAM index");
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->done_mu, NULL);
	pthread_cond_init(&t->done_cv, NULL);
	pthread_mutex_init(&t->mem_mu, NULL);
	t->first[0].leaf = t->first[1].leaf = 1;
	atomic_store(&t->root[0], &t->first[0]);
	atomic_store(&t->root[1], &t->first[1]);
	db->dix = t;
	dhash_init(db, na_count(db)); /* without it the tree serves alone */
	atomic_store(&db->dix_on, 0);
	atomic_store(&db->dix_stop, 0);
	bool empty = !nxt(db->head, 0);
	if (empty) /* a create: complete already; the thread maps the hash's pages */
		build_end(db, 1);
	if (pthread_create(&db->dix_thread, NULL, build_main, db) != 0) {
		if (!empty)
			build_end(db, -1); /* serve from the skiplist alone */
		return 0;
	}
	db->dix_thread_on = true;
	return 0;
}

void dix_stop(struct daxkv *db)
{
	struct dix *t = db->dix;
	if (!t)
		return;
	if (db->dix_thread_on) {
		atomic_store(&db->dix_stop, 1);
		pthread_join(db->dix_thread, NULL);
		db->dix_thread_on = false;
	}
	atomic_store(&db->dix_on, -1);
	dhash_free(db);
	dtree_arena_free(t);
	pthread_mutex_destroy(&t->mem_mu);
	pthread_mutex_destroy(&t->done_mu);
	pthread_cond_destroy(&t->done_cv);
	free(t);
	db->dix = NULL;
}

