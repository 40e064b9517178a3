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
	/* Where the key would go: dix_set_at inserts there if the leaf has not
	 * changed since (a put's one descent serves both). */
	void *leaf;
	uint64_t ver;
	unsigned pos;
};
/* Looks key up (caller pinned; dix_ready). */
void dix_find(struct daxkv *db, struct sl_key key, struct dix_hit *hit);
/* Maps key to node off, replacing another node of the key: 0 or ENOMEM
 * (the tree then stops being used: dix_ready turns false for good). */
int dix_set(struct daxkv *db, struct sl_key key, uint64_t off);
/* dix_set, into the leaf hit found key absent in when it is unchanged. */
int dix_set_at(struct daxkv *db, struct sl_key key, uint64_t off, const struct dix_hit *hit);
/* Removes key when it maps to off (a newer node of the key stays). */
void dix_del(struct daxkv *db, struct sl_key key, uint64_t off);

/* The same for the tree of the nodes linked at level 1 (the tall tree). */
void dix_find1(struct daxkv *db, struct sl_key key, struct dix_hit *hit);
int dix_set1(struct daxkv *db, struct sl_key key, uint64_t off);
void dix_del1(struct daxkv *db, struct sl_key key, uint64_t off);

/* Open: allocates the tree and starts its build from level 0 (0 or ENOMEM). */
int dix_start(struct daxkv *db);
/* Close: stops the build and frees the tree. */
void dix_stop(struct daxkv *db);
/* DRAM bytes the tree holds (stats). */
uint64_t dix_bytes(const struct daxkv *db);

#endif
