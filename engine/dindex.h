/*
 * dindex.h -- the DRAM index (dindex.c): a volatile B+-tree from every key
 * linked at level 0 to its node (and one of the nodes linked at level 1),
 * rebuilt by a background thread at open.
 * The skiplist (skiplist.c, skiplist_write.c) keeps it exact and asks it
 * first; docs/ARCHITECTURE.md, "The DRAM index", says why and how.
 */
#ifndef DAXKV_DINDEX_H
#define DAXKV_DINDEX_H

#include "engine/internal.h"

/* Whether the tree holds every linked key: until its build ends (and after
 * it failed: out of memory, a damaged level 0) the skiplist answers alone. */
static inline bool dix_ready(const struct daxkv *db)
{
	return atomic_load_explicit(&db->dix_on, memory_order_acquire) == 1;
}

struct dix_hit {
	uint64_t exact; /* the node of the key, 0 when absent */
	uint64_t floor; /* a node with a smaller key (the greatest in its leaf), 0: unknown */
	uint64_t succ;  /* the first node of a greater key in the leaf, 0: unknown */
	bool first;     /* no key is smaller: the head is the predecessor */
	/* Where the key would go (dix_set_at). */
	void *leaf;
	uint64_t ver;
	unsigned pos;
};
/* The tree of level l (0: every key; 1: the nodes linked at level 1, the
 * tall tree).  Looks key up (caller pinned; dix_ready). */
void dix_find(struct daxkv *db, unsigned l, struct sl_key key, struct dix_hit *hit);
/* Maps key to node off, replacing another node of the key: 0 or ENOMEM
 * (the trees then stop being used: dix_ready turns false for good). */
int dix_set(struct daxkv *db, unsigned l, struct sl_key key, uint64_t off);
/* dix_set, into the leaf where hit (dix_find's, same l) found key absent,
 * when that leaf has not changed since (a put's one descent serves both). */
int dix_set_at(struct daxkv *db, unsigned l, struct sl_key key, uint64_t off,
	       const struct dix_hit *hit);
/* Up to max nodes of the level-0 tree in key order, from the first key >= key
 * (> key when after) to the end of the leaf that holds it: 0 past the last
 * key.  A hint for a scan's prefetches, true when read (caller pinned;
 * dix_ready). */
unsigned dix_scan(struct daxkv *db, struct sl_key key, bool after, uint64_t *out, unsigned max);
/* dix_scan from where dix_find left hit (its leaf, from the key's position),
 * without a descent: 0 when that leaf has changed since. */
unsigned dix_scan_hit(const struct dix_hit *hit, uint64_t *out, unsigned max);
/* Removes key when it maps to off (a newer node of the key stays). */
void dix_del(struct daxkv *db, unsigned l, struct sl_key key, uint64_t off);

/* The hash of the same keys (dhash.c), for point lookups.  dhash_on: it
 * holds every key linked at level 0 (the build ended, and it never got too
 * full).  dhash_get: key's node, 0 when absent (h: key's hash from
 * dhash_prefetch, or 0; caller pinned; dhash_on).
 * dhash_set maps key (h: its hash from dhash_prefetch, or 0) to off
 * (replacing), dhash_add unless mapped (the build; h as for set),
 * dhash_del unmaps key when it maps to off: called where the tree of level 0
 * is changed.  dhash_init (keys: an estimate of the keys at open) and
 * dhash_free: by dix_start and dix_stop. */
bool dhash_on(const struct daxkv *db);
uint64_t dhash_get(struct daxkv *db, struct sl_key key, uint64_t h);
/* Fetches key's first bucket into the cache: key's hash, or 0 when the hash
 * is not kept (not made, or given up). */
uint64_t dhash_prefetch(struct daxkv *db, struct sl_key key);
void dhash_set(struct daxkv *db, struct sl_key key, uint64_t h, uint64_t off);
void dhash_add(struct daxkv *db, struct sl_key key, uint64_t h, uint64_t off);
void dhash_del(struct daxkv *db, struct sl_key key, uint64_t off);
void dhash_init(struct daxkv *db, uint64_t keys);
/* Maps the table's memory (the build thread, first). */
void dhash_populate(struct daxkv *db);
void dhash_free(struct daxkv *db);

/* Open: allocates the trees and starts their build (0 or ENOMEM). */
int dix_start(struct daxkv *db);
/* Close: stops the build and frees the trees. */
void dix_stop(struct daxkv *db);

#endif
