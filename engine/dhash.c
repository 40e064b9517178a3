/*
 * dhash.c -- the DRAM index's hash of keys: every key linked at level 0 to
 * its node, for the point operations (gets, overwrites, GC's lookups), which
 * then read one bucket instead of descending the tree (docs/ARCHITECTURE.md,
 * "The DRAM index").  It is kept exact exactly as the tree of level 0 is --
 * mapped where the tree is and unmapped where the tree is -- and built in
 * the same background walk.
 *
 * Open addressing over buckets of one cache line (8 slots of 8 bytes, the
 * layout of the hash tables of Dash and of bucketized cuckoo hashing; here
 * probed linearly, bucket after bucket).  A slot holds the top 24 bits of
 * the key's XXH3 hash and the node's slot number (offset / 64, 40 bits), so
 * a lookup reads one line and, for a tag that matches, the node (whose key
 * it compares: a tag is no proof).  0 is an empty slot (it ends a probe),
 * DH_TOMB a removed one (it does not; a later insert reuses it).  Each slot
 * changes by compare-and-swap: readers take no lock.
 *
 * Its size is fixed at open (from the pool's size and its keys); a table
 * too full to place an entry within DH_PROBE buckets of its home gives up
 * for the rest of the session, and gets go back to the tree: it saves the
 * tree's descent, it is never needed for an answer.
 */
#include <stdlib.h>
#include <sys/mman.h>

#define XXH_INLINE_ALL /* header-only: no library to link, for us or for users */
#include <xxhash.h>

#include "engine/dindex_int.h"

#define DH_SLOTS 8u       /* per bucket (one line) */
/* Buckets a probe reads at most: an entry is placed within them or not at
 * all (the hash then gives up), so a lookup never reads more.  At the load
 * the size aims at (a quarter to a half) nearly every probe ends in its
 * first bucket. */
#define DH_PROBE 4u
#define DH_TOMB 1ull      /* a removed entry (no node is at slot 1) */
#define DH_IDX_BITS 40
#define DH_IDX_MASK ((1ull << DH_IDX_BITS) - 1)

struct dh_bucket {
	_Atomic uint64_t s[DH_SLOTS];
};
_Static_assert(sizeof(struct dh_bucket) == DKV_LINE, "a bucket is one line");

static inline uint64_t dh_hash(struct sl_key k)
{
	return XXH3_64bits(k.k, k.len);
}
static inline uint64_t dh_entry(uint64_t h, uint64_t off)
{
	return (h >> DH_IDX_BITS) << DH_IDX_BITS | off / DKV_LINE;
}
static inline bool dh_tag_is(uint64_t e, uint64_t h)
{
	return e > DH_TOMB && (e >> DH_IDX_BITS) == (h >> DH_IDX_BITS);
}
static inline uint64_t dh_off(uint64_t e)
{
	return (e & DH_IDX_MASK) * DKV_LINE;
}
static inline struct dh_bucket *dh_at(struct dhash *d, uint64_t h, unsigned i)
{
	return (struct dh_bucket *)d->tab + ((h + i) & d->mask);
}

static void dh_off_for_good(struct daxkv *db)
{
	atomic_store_explicit(&db->dix->hash.on, false, memory_order_relaxed);
}

bool dhash_on(const struct daxkv *db)
{
	return dix_ready(db) && atomic_load_explicit(&db->dix->hash.on, memory_order_relaxed);
}

void dhash_init(struct daxkv *db, uint64_t keys)
{
	struct dhash *d = &db->dix->hash;
	/* Room for twice the keys at open, and at least for a pool full of
	 * 128-byte keys (a 64-byte node and a record of the smallest values), up
	 * to 32 MiB: a big pool with few keys would otherwise touch a huge page
	 * per key.  Past that the table fills and gives up until an open sizes
	 * it by its keys. */
	uint64_t want = db->pool.size / 128, slots = 4096;
	if (want > (1ull << 22))
		want = 1ull << 22;
	if (want < keys * 2)
		want = keys * 2;
	while (slots < want && slots < (1ull << 28))
		slots <<= 1;
	d->size = slots * sizeof(uint64_t);
	if ((db->pool.size / DKV_LINE) >> DH_IDX_BITS)
		return; /* a pool past 64 TiB: node numbers do not fit; tree only */
	void *p = mmap(NULL, d->size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return; /* the tree serves alone */
	(void)madvise(p, d->size, MADV_HUGEPAGE); /* a lookup is then no TLB miss */
	d->tab = p;
	d->mask = slots / DH_SLOTS - 1;
	atomic_store(&d->on, true);
}

/* Maps the table's pages ahead of the writers, a huge page at a time (by the
 * build thread): a first touch of one costs ~6 ms here (zeroing, and the
 * compaction THP's "madvise" defrag does), ~100 ms for 32 MiB, which a fill
 * from empty would otherwise pay in its puts.  Writers may already use the
 * table: populating leaves mapped pages as they are. */
void dhash_populate(struct daxkv *db)
{
	struct dhash *d = &db->dix->hash;
	const size_t step = 2u << 20;
	for (size_t o = 0; d->tab && o < d->size; o += step) {
		if (atomic_load_explicit(&db->dix_stop, memory_order_relaxed))
			return;
		if (madvise((char *)d->tab + o, d->size - o < step ? d->size - o : step,
			    MADV_POPULATE_WRITE) != 0)
			return; /* a kernel without it: the writers fault them in */
	}
}

void dhash_free(struct daxkv *db)
{
	struct dhash *d = &db->dix->hash;
	if (d->tab)
		munmap(d->tab, d->size);
	d->tab = NULL;
}

/* Whether the node of entry e holds key (a torn or stale entry does not). */
static bool dh_names(struct daxkv *db, uint64_t e, struct sl_key key)
{
	uint64_t off = dh_off(e);
	if (!sl_off_ok(db, off))
		return false;
	bool bad = false;
	return cmp_node(db, dkv_ptr(db, off), key, &bad) == 0 && !bad;
}

/* A key has one entry, but for a moment two: when the build adds a node
 * that is being removed while a writer maps the key's new node, each not
 * seeing the other's entry, until the build's mark check takes its own out.
 * So a node being removed (MARKED) is the answer only when no other is. */
uint64_t dhash_get(struct daxkv *db, struct sl_key key, uint64_t h)
{
	struct dhash *d = &db->dix->hash;
	uint64_t marked = 0;
	if (!h)
		h = dh_hash(key);
	for (unsigned i = 0; i < DH_PROBE; i++) {
		struct dh_bucket *b = dh_at(d, h, i);
		for (unsigned j = 0; j < DH_SLOTS; j++) {
			uint64_t e = atomic_load_explicit(&b->s[j], memory_order_acquire);
			if (!e)
				return marked;
			if (dh_tag_is(e, h) && dh_names(db, e, key)) {
				if (!(vw_flags(db, dkv_ptr(db, dh_off(e))) & VW_MARKED))
					return dh_off(e);
				marked = dh_off(e);
			}
		}
	}
	return marked;
}

/* The hash writers keep up, or NULL: none (recovery runs before the DRAM
 * index exists; a hash too full is left as it is). */
static struct dhash *dh_kept(struct daxkv *db)
{
	struct dhash *d = db->dix ? &db->dix->hash : NULL;
	return d && d->tab && atomic_load_explicit(&d->on, memory_order_relaxed) ? d : NULL;
}

uint64_t dhash_prefetch(struct daxkv *db, struct sl_key key)
{
	struct dhash *d = dh_kept(db);
	if (!d)
		return 0;
	uint64_t h = dh_hash(key);
	__builtin_prefetch(dh_at(d, h, 0));
	return h;
}

/* key -> off: over the entry of key when there is one (replace; else it is
 * left), else in the first free or removed slot of its probe. */
static void dh_put(struct daxkv *db, struct sl_key key, uint64_t h, uint64_t off, bool replace)
{
	struct dhash *d = &db->dix->hash;
	uint64_t e_new = dh_entry(h, off);
	for (;;) {
		_Atomic uint64_t *free_slot = NULL;
		uint64_t free_was = 0;
		for (unsigned i = 0; i < DH_PROBE; i++) {
			struct dh_bucket *b = dh_at(d, h, i);
			for (unsigned j = 0; j < DH_SLOTS; j++) {
				uint64_t e = atomic_load(&b->s[j]);
				if (e == DH_TOMB || !e) {
					if (!free_slot) {
						free_slot = &b->s[j];
						free_was = e;
					}
					if (!e)
						goto end_of_probe;
					continue;
				}
				if (dh_tag_is(e, h) && dh_names(db, e, key)) {
					if (!replace || e == e_new)
						return;
					if (atomic_compare_exchange_strong(&b->s[j], &e, e_new))
						return;
					goto again; /* removed or replaced under us */
				}
			}
		}
	end_of_probe:
		if (!free_slot) {
			dh_off_for_good(db); /* no free slot within the probe: too full */
			return;
		}
		if (atomic_compare_exchange_strong(free_slot, &free_was, e_new))
			return;
	again:;
	}
}

void dhash_set(struct daxkv *db, struct sl_key key, uint64_t h, uint64_t off)
{
	if (dh_kept(db))
		dh_put(db, key, h ? h : dh_hash(key), off, true);
}

void dhash_add(struct daxkv *db, struct sl_key key, uint64_t h, uint64_t off)
{
	if (dh_kept(db))
		dh_put(db, key, h ? h : dh_hash(key), off, false);
}

void dhash_del(struct daxkv *db, struct sl_key key, uint64_t off)
{
	struct dhash *d = dh_kept(db);
	if (!d)
		return;
	uint64_t h = dh_hash(key), e_old = dh_entry(h, off);
	for (unsigned i = 0; i < DH_PROBE; i++) {
		struct dh_bucket *b = dh_at(d, h, i);
		for (unsigned j = 0; j < DH_SLOTS; j++) {
			uint64_t e = atomic_load(&b->s[j]);
			if (!e)
				return;
			if (e == e_old) {
				/* Only this node's entry goes (a newer node's stays). */
				atomic_compare_exchange_strong(&b->s[j], &e, DH_TOMB);
				return;
			}
		}
	}
}
