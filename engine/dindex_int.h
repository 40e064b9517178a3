/*
 * dindex_int.h -- the DRAM index's node layout, private to dindex.c and the
 * test hooks' check of it (tests/hooks).
 */
#ifndef DAXKV_DINDEX_INT_H
#define DAXKV_DINDEX_INT_H

#include "engine/dindex.h"
#include "engine/skiplist_node.h"

#define DIX_CAP 30 /* entries of a leaf, separators of an inner node */

/* A separator: a copy of the greatest key of the left part of a split. */
struct dsep {
	uint32_t len;
	uint8_t k[];
};

struct dnode {
	_Atomic uint64_t ver; /* V_LOCKED while a writer changes it; +4 per change */
	uint32_t count;       /* entries (leaf) or separators (inner) */
	uint16_t leaf;        /* set at allocation, never changed */
	uint16_t kids_leaf;   /* inner: its children are leaves (never changes) */
	uint64_t hi[DIX_CAP]; /* big-endian key bytes 0..7, zero-padded */
	uint64_t lo[DIX_CAP]; /* bytes 8..15 */
	union {
		uint64_t off[DIX_CAP]; /* leaf: node offsets */
		struct {
			struct dsep *sep[DIX_CAP];
			struct dnode *child[DIX_CAP + 1]; /* child[i]: keys <= sep[i] */
		};
	};
};

/* Tree memory comes from chunks asked to be huge pages: the leaves of a
 * 1M-key tree span ~30 MiB, and with 4 KiB pages nearly every leaf a lookup
 * reads is a TLB miss as well as a cache miss.  Nothing is freed before the
 * tree is, so a bump allocator serves. */
#define ARENA_CHUNK (32ull << 20)
struct chunk {
	struct chunk *next;
	size_t used;
};

/* The hash of keys (dhash.c): a table of 64-byte buckets, fixed at open. */
struct dhash {
	void *tab;       /* NULL: no hash this session (the tree serves) */
	size_t size;     /* bytes mapped */
	uint64_t mask;   /* buckets - 1 */
	_Atomic bool on; /* false for good once too full */
};

/* Two trees share the arena: every key linked at level 0 (all), and the
 * nodes linked at level 1 (tall: 1 in 16), which give a two-level insert its
 * level-1 predecessor. */
struct dix {
	struct dnode *_Atomic root[2]; /* [l]: the tree of skiplist level l */
	struct dhash hash;             /* the keys of root[0], hashed */
	pthread_mutex_t mem_mu;
	struct chunk *chunks; /* newest first */
	pthread_mutex_t done_mu;
	pthread_cond_t done_cv;
	bool done; /* the build ended (either way) */
	/* The first root of each tree (a leaf), here rather than in the arena:
	 * an open touches no arena page (its first fault of a huge page costs
	 * ~1.5 ms); the first split takes the first chunk. */
	struct dnode first[2] __attribute__((aligned(64)));
};

/* A key as the tree orders it: its first 16 bytes, zero-padded, as two
 * big-endian words, then (on a tie) the whole key. */
struct dkey {
	uint64_t hi, lo;
	struct sl_key k;
};
static inline struct dkey dkey_of(struct sl_key k)
{
	uint8_t b[16] = { 0 };
	memcpy(b, k.k, k.len < 16 ? k.len : 16);
	return (struct dkey){ be64(b), be64(b + 8), k };
}
/* dindex.c, for dindex_build.c: the trees' insert (replace: over an existing
 * mapping, else leave it; 0 or ENOMEM), remove (only a mapping to off), and
 * the arena's release. */
int dtree_put(struct daxkv *db, struct dnode *_Atomic *rootp, struct sl_key key, uint64_t off,
	      bool replace);
void dtree_del(struct daxkv *db, struct dnode *_Atomic *rootp, struct sl_key key, uint64_t off);
void dtree_arena_free(struct dix *t);

#endif
