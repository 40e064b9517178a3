/*
 * internal.h -- the engine's DRAM state and the calls between its modules.
 *
 * Ownership: struct daxkv owns the mapping (pool), the segment table, the
 * lanes (one per writer slot: an active log segment and an in-flight slot),
 * the node allocator and the retire list.
 *
 * Layers: a module calls only modules of lower layers, or modules of its own
 * layer named before it on its line.  scripts/check-layers.sh reads this
 * table and checks it over the symbol references of the library's objects
 * (calls, not #include lines); docs/ARCHITECTURE.md walks it.
 *
 * LAYERS
 *   8  engine/db.c engine/kv.c                      open/close, put/get/delete; TTL, CAS
 *   7  engine/recovery.c engine/blkopen.c engine/dump.c engine/backup.c   after a crash; block open; backups
 *   6  engine/write.c engine/stats.c engine/gc.c engine/batch.c engine/iter.c engine/expire.c
 *   5  engine/dindex.c engine/dhash.c engine/dindex_build.c engine/skiplist.c engine/skiplist_write.c
 *   4  engine/nodealloc.c                           node slots
 *   3  engine/blk.c engine/segment.c                segment files (block); segments, space
 *   2  engine/lane.c engine/snapshot.c              writer lanes, seqs; snapshots
 *   1  engine/status.c engine/record.c engine/epoch.c engine/ttl.c  codes; records; epochs; expiry index
 *   0  pmem/util.c pmem/persist.c pmem/pool.c io/stream.c io/segfile_shadow.c io/segfile.c  no keys, no engine
 * END
 */
#ifndef DAXKV_INTERNAL_H
#define DAXKV_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "daxkv.h"
#include "engine/format.h"
#include "pmem/persist.h"
#include "pmem/pool.h"
#include "pmem/util.h"

#ifdef DAXKV_DEBUG
#define DAXKV_ASSERT(x) DAXKV_VERIFY(x)
#else
#define DAXKV_ASSERT(x) ((void)sizeof(!(x)))
#endif
/* Always on: a wrong value here would corrupt media. */
#define DAXKV_VERIFY(x)                                                                    \
	do {                                                                               \
		if (!(x))                                                                  \
			dkv_verify_fail(#x, __FILE__, __LINE__);                           \
	} while (0)

#define DKV_LIKELY(x) __builtin_expect(!!(x), 1)
#define DKV_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define DKV_CACHE_ALIGNED __attribute__((aligned(64)))


/* ---- DRAM state ---- */
struct dkv_seg {
	_Atomic uint32_t state; /* SEG_* */
	uint32_t owner;         /* lane of an active segment */
	uint64_t gen;           /* CRC seed of its records */
	_Atomic uint64_t tail;  /* log: next append offset within the segment */
	_Atomic int64_t live;   /* log: bytes of records the index points at */
	_Atomic uint64_t age_seq; /* sealed: newest seq it holds (GC's age); GC lane:
	                             newest seq copied so far */
	_Atomic int gc_skip;    /* GC found damage in it: leave it alone */
	_Atomic uint64_t min_seq; /* block, log: the oldest seq it holds (UINT64_MAX none) */
	bool headroom;          /* active, taken from the delete headroom: puts may not
	                           append to it while free segments are short */
	/* node segments */
	_Atomic uint64_t *resv; /* DRAM overlay: reserved or quarantined slots */
	uint32_t nslots;
	uint32_t cursor;        /* next bitmap word to look at */
	_Atomic uint32_t used;  /* slots allocated (pmem bits set) */
};

#define NA_LANE_CACHE 16 /* node slots a lane keeps reserved (nodealloc.c) */
struct dkv_lane {
	pthread_mutex_t mu;
	int seg;                   /* active log segment, -1 none */
	struct lane_slot *slot;    /* in pmem */
	_Atomic int64_t keys;      /* keys added - removed through this lane */
	_Atomic uint64_t written;  /* record bytes appended through this lane */
	unsigned ncache_n;         /* reserved one-slot node slots (nodealloc.c) */
	uint64_t ncache[NA_LANE_CACHE];
} DKV_CACHE_ALIGNED;

struct retired {
	uint64_t epoch;
	void (*fn)(struct daxkv *, uint64_t);
	uint64_t arg;
};

struct dkv_snap; /* snapshot.c: a registered snapshot */

/* The block backend (blk.c, blkopen.c); db->blk is NULL on DAX. */
#define DKV_DIR_MAX 4096u
struct io_segfile;
struct dkv_blk {
	char dir[DKV_DIR_MAX];
	int dirfd;
	int lockfd;           /* holds the store's flock */
	int volatile_fs;      /* tmpfs/ramfs: nothing survives a reboot */
	pthread_mutex_t log_mu; /* writer lanes' appends to the shared segment */
	_Atomic(struct io_segfile *) *files; /* per segment: the file being appended */
	_Atomic uint64_t next_gen; /* CRC seeds: above every file's ever seen */
	_Atomic uint64_t syncs_closed, waits_closed;
	_Atomic int pending; /* writers in a put that have not appended yet (group commit) */
	struct rp_list *replay; /* open: the records blk_replay applies */
	uint32_t hinted, scanned; /* open: segments listed from hints / by a scan */
	uint64_t cut_bytes;       /* open: bytes a repair cut off sealed segments */
	uint64_t *min_seq0;     /* open: each segment file's oldest seq */
};

/* ttl.c: the expiry index (nodes of keys with an expiry; hints, not truth). */
struct dkv_ttl {
	pthread_mutex_t mu;
	uint64_t *arr;   /* node offsets, dense (hcap / 2 of room) */
	size_t n;
	uint64_t *hkey;  /* open addressing: offset (0 = empty) */
	uint32_t *hval;  /* -> its index in arr */
	size_t hcap;     /* power of two */
	bool lost;       /* an add failed (out of memory): walk the index again */
	_Atomic size_t count; /* n, readable without the lock */
};

struct daxkv {
	struct pool pool;
	struct dkv_blk *blk; /* block backend state, NULL on DAX */
	char *base;
	struct pool_hdr *hdr;
	struct sb_state *sb;
	struct sl_node *head;
	_Atomic uint32_t top_level; /* head->next[l] is 0 for every l >= this (DRAM only).
	                               Searches start there; it only grows, and a stale
	                               lower value costs shortcuts, never a key. */
	uint64_t seg_size;
	uint64_t seg_base;
	uint32_t nsegs;
	uint32_t nlanes; /* writer lanes in use (< DKV_GC_LANE) */
	uint32_t boot_gen;
	int read_only;
	int was_clean;
	double gc_ratio;
	int gc_policy;     /* DAXKV_GC_COST_BENEFIT or DAXKV_GC_RATIO */
	uint64_t gc_rate;  /* background copy budget, bytes/s (UINT64_MAX: none) */

	struct dkv_seg *segs;
	pthread_mutex_t seg_mu; /* free list */
	uint32_t *free_ids;
	uint32_t nfree;
	uint32_t reserve;     /* free segments only GC (and deletes) may take */
	uint32_t reserve_del; /* above reserve: headroom for deletes' tombstones */
	_Atomic uint32_t npending; /* released, waiting out readers before reuse */

	struct dkv_lane lanes[DKV_LANES];

	_Atomic uint64_t seq; /* last seq handed out */
	pthread_mutex_t lease_mu;
	_Atomic uint64_t lease;

	pthread_mutex_t node_mu; /* node allocator */
	uint32_t *node_segs;
	uint32_t n_node_segs;
	uint32_t cur_node_seg;

	pthread_mutex_t retire_mu;
	struct retired *retired;
	size_t nretired, cap_retired;

	pthread_mutex_t snap_mu; /* registered snapshots (iterators) */
	struct dkv_snap *snaps;
	_Atomic uint64_t min_snap;     /* lowest registered snapshot seq, UINT64_MAX none */
	_Atomic int snap_creating;
	pthread_mutex_t purge_mu;      /* tombstoned nodes to unlink later */
	uint64_t *purge;
	size_t npurge, cap_purge;

	_Atomic int gc_running;
	_Atomic int needs_recount;
	_Atomic int broken;
	char broken_why[160]; /* dkv_break's reason, set before broken */
	_Atomic uint64_t gc_runs, gc_bytes_moved, gc_passes;
	uint64_t written_base; /* bytes_written at open (from the superblock) */

	/* gc.c: the background thread, and writers waiting for space. */
	pthread_t gc_thread;
	bool gc_thread_on;
	pthread_mutex_t gc_mu;
	pthread_cond_t gc_cv;      /* wakes the thread: a kick or stop */
	pthread_cond_t gc_done_cv; /* a pass ended */
	_Atomic int gc_stop;       /* close: the thread ends */
	int gc_kick;               /* under gc_mu */
	uint64_t gc_ended;         /* passes ended (under gc_mu) */
	_Atomic int gc_waiters;    /* writers waiting for space: GC runs flat out */

	/* ttl.c, expire.c: the expiry index and the active expiry cycle. */
	struct dkv_ttl ttl;
	_Atomic int ttl_any;          /* a key with an expiry was seen: deletes check it */
	_Atomic uint64_t expired_keys;
	_Atomic int exp_walked;       /* the index holds every key with an expiry at open */
	int expire_hz;                /* cycles per second, 0: no thread */
	pthread_t exp_thread;
	bool exp_thread_on;
	pthread_mutex_t exp_mu;
	pthread_cond_t exp_cv;
	_Atomic int exp_stop;

	/* dindex.c: the DRAM index and the thread that builds it at open. */
	struct dix *dix;
	_Atomic int dix_on;   /* 1: complete and in use; 0: building; -1: given up */
	_Atomic int dix_stop; /* close: the build ends */
	pthread_t dix_thread;
	bool dix_thread_on;
};

static inline void *dkv_ptr(const struct daxkv *db, uint64_t off)
{
	return db->base + off;
}
static inline uint64_t dkv_off(const struct daxkv *db, const void *p)
{
	return (uint64_t)((const char *)p - db->base);
}
static inline uint32_t dkv_seg_of(const struct daxkv *db, uint64_t off)
{
	return (uint32_t)((off - db->seg_base) / db->seg_size);
}
static inline uint64_t dkv_seg_start(const struct daxkv *db, uint32_t id)
{
	return db->seg_base + (uint64_t)id * db->seg_size;
}
static inline struct seg_hdr *dkv_seg_hdr(const struct daxkv *db, uint32_t id)
{
	return dkv_ptr(db, dkv_seg_start(db, id));
}

/* ---- record.c ---- */
static inline uint64_t rec_size(size_t klen, size_t vlen)
{
	return (sizeof(struct rec_hdr) + klen + vlen + 7) & ~7ull;
}
struct rec_in {
	uint8_t type, flags;
	const void *key;
	uint32_t klen;
	const void *val;
	uint32_t vlen;
	uint64_t seq, prev, aux;
	uint64_t expire; /* Unix ms, 0 none */
};
/* Writes the record at pool offset off (segment gen) with NT stores, no fence. */
void rec_write(struct daxkv *db, uint64_t off, uint64_t gen, const struct rec_in *r);
/* Validates the record at off against its segment's gen and bounds:
 * 0, or DAXKV_ECORRUPT.  *size gets its aligned size. */
int rec_check(const struct daxkv *db, uint64_t off, uint64_t gen, uint64_t end, uint64_t *size);
/* Verifies the record the index points at (checks bounds and CRC). */
int rec_verify(const struct daxkv *db, uint64_t off);
static inline const struct rec_hdr *rec_at(const struct daxkv *db, uint64_t off)
{
	return dkv_ptr(db, off);
}
static inline const uint8_t *rec_key(const struct rec_hdr *h)
{
	return (const uint8_t *)(h + 1);
}
static inline const uint8_t *rec_val(const struct rec_hdr *h)
{
	return (const uint8_t *)(h + 1) + h->klen;
}
/* Copies a record to a new place (GC), re-sealing its CRC for gen. No fence. */
void rec_copy(struct daxkv *db, uint64_t dst, uint64_t dst_gen, uint64_t src);
/* Whether off is a plausible record offset of a log segment. */
bool rec_off_ok(const struct daxkv *db, uint64_t off);

int dkv_check_key(const void *key, size_t klen);
/* Key and value arguments of a write: OK, EINVAL or ETOOBIG (with errmsg). */
int dkv_check_kv(const void *key, size_t klen, const void *val, size_t vlen);

/* ---- status.c ---- */
/* Reads the caller's options (any sized layout) into a full struct with
 * defaults for what it does not cover: 0 or EINVAL. */
int dkv_options_read(const daxkv_options *opt, daxkv_options *out);
/* Copies a full stats struct into the caller's of size bytes: 0 or EINVAL. */
int dkv_stats_copy_out(const daxkv_stats *full, daxkv_stats *st, size_t size);
/* The size the caller set in st (0 = the first sized layout). */
size_t dkv_stats_size(const daxkv_stats *st);
/* Damage in a structure writers walk: the handle refuses writes from now on
 * (EREADONLY, with why = the thread's errmsg) and the pool is marked
 * (sb->clean = DKV_SB_DAMAGED) so that the next read-write open checks it. */
void dkv_break(struct daxkv *db);

/* ---- ttl.c: the expiry index ---- */
/* The largest expiry time (Unix ms) the API takes. */
#define DKV_EXPIRE_MAX ((uint64_t)INT64_MAX)
void ttl_init(struct daxkv *db);
void ttl_fini(struct daxkv *db);
/* An expiry time the API takes: 0 or EINVAL (errmsg). */
int dkv_check_expire(uint64_t expire_at_ms);
/* Adds a node whose key has an expiry (no-op when there). */
void ttl_add(struct daxkv *db, uint64_t node);
void ttl_del(struct daxkv *db, uint64_t node);
/* Up to max entries drawn at random (rng: the caller's xorshift state). */
size_t ttl_sample(struct daxkv *db, uint64_t *out, size_t max, uint64_t *rng);
/* A copy of every entry (*out malloc'd, the caller frees): 0 or ENOMEM. */
int ttl_take_all(struct daxkv *db, uint64_t **out, size_t *n);
/* Whether an add failed since the last call (the index needs a walk). */
bool ttl_lost_take(struct daxkv *db);

/* ---- epoch.c ---- */
void epoch_pin(void);
void epoch_unpin(void);
/* A pin that belongs to an object (an iterator), not a thread. */
struct epoch_pin *epoch_pin_obj(void);
void epoch_unpin_obj(struct epoch_pin *p);
void epoch_retire(struct daxkv *db, void (*fn)(struct daxkv *, uint64_t), uint64_t arg);
/* Runs the callbacks no reader can be affected by any more; returns how many. */
size_t epoch_reclaim(struct daxkv *db);
/* Runs every pending callback (close: no readers left). */
void epoch_drain(struct daxkv *db);

/* ---- lane.c ---- */
unsigned dkv_lane_enter(struct daxkv *db);
void dkv_lane_exit(struct daxkv *db, unsigned lane);
void dkv_lanes_lock_all(struct daxkv *db);
void dkv_lanes_unlock_all(struct daxkv *db);
uint64_t dkv_next_seq(struct daxkv *db, uint64_t n);
/* Makes the seq lease durable past upto (PERSIST(LANE-1)). */
void dkv_lease_extend(struct daxkv *db, uint64_t upto);
void dkv_slot_set(struct daxkv *db, unsigned lane, uint64_t op);

/* ---- snapshot.c ---- */
struct dkv_snap {
	uint64_t seq;
	struct dkv_snap *prev, *next;
};
/* Registers snap at the current seq; unregister answers whether it was the last. */
void snap_register(struct daxkv *db, struct dkv_snap *snap);
bool snap_unregister(struct daxkv *db, struct dkv_snap *snap);
/* Whether a delete/purge at seq may unlink its node now (no older snapshot). */
bool dkv_snap_allows_unlink(struct daxkv *db, uint64_t seq);
/* Queues a tombstoned node for a later purge (dkv_purge_run). */
void dkv_purge_later(struct daxkv *db, uint64_t node_off);
/* Takes the whole queue (*n entries; the caller frees it). */
uint64_t *dkv_purge_take(struct daxkv *db, size_t *n);

/* ---- blk.c: the block backend's segment files (db->blk set) ---- */
void blk_seg_name(uint32_t id, char *buf, size_t cap);
void blk_hint_name(uint32_t id, char *buf, size_t cap);
/* A hint file (%08x.hint, written at seal): this header, then n entries. */
#define BLK_HINT_MAGIC 0x544e48564b584144ull /* "DAXKVHNT" */
struct blk_hint_hdr {
	uint64_t magic;
	uint64_t gen;  /* the segment's CRC seed */
	uint64_t tail; /* its sealed tail */
	uint64_t n;
	uint32_t crc;  /* CRC32C of the entries, then of the fields above */
	uint32_t pad;
};
struct blk_hint_ent {
	uint64_t seq;
	uint32_t off; /* within the segment */
	uint32_t rsv;
};
/* Creates segment id's file from its image's first block (BLK-2). */
int blk_seg_create(struct daxkv *db, uint32_t id);
/* Seals id's file: records durable, header block written, reads mapped. */
int blk_seg_seal(struct daxkv *db, uint32_t id);
/* After the grace period of a released segment: its file removed, its
 * range zero DRAM again. */
void blk_seg_drop(struct daxkv *db, uint32_t id);
/* Around reserve + copy of records: writer lanes hold log_mu (one shared
 * segment); end is the end offset of what was appended. */
void blk_append_begin(struct daxkv *db, unsigned lane);
void blk_append_end(struct daxkv *db, unsigned lane, uint64_t end);
/* A writer's put or batch starts / ends (group commit waits for the
 * writers that have not appended yet: iosf_gather). */
void blk_enter(struct daxkv *db);
void blk_leave(struct daxkv *db);
/* Returns when the records of the segment holding end - 1 are durable up to
 * end (group commit): OK, or EIO/ENOSPC (the handle breaks: BLK-3). */
int blk_sync(struct daxkv *db, uint64_t end);
/* blk_sync of everything the lane's active segment holds. */
int blk_sync_lane(struct daxkv *db, unsigned lane);
/* Durable writes made, and callers that waited for another's write. */
void blk_stats(struct daxkv *db, uint64_t *syncs, uint64_t *waits);

/* ---- segment.c ---- */
/* Who asks for space, from the least to the most entitled: puts (and new
 * nodes, batches) stop while reserve + reserve_del segments are left, deletes
 * (their tombstones) at reserve, GC's copies at none -- but at reserve +
 * reserve_del while an iterator is open, since nothing GC frees is reusable
 * before it closes and its copies would only eat the deletes' headroom. */
enum seg_use { SEG_USE_PUT, SEG_USE_DELETE, SEG_USE_GC };
int seg_table_load(struct daxkv *db);
void seg_table_free(struct daxkv *db);
/* Sizes the GC reserve and the delete headroom for db->nsegs. */
void seg_reserves_init(struct daxkv *db);
/* Takes a free segment and makes it state (ACTIVE for lane, or NODE), if use
 * is entitled to one now.  Returns the id or DAXKV_ENOSPC. */
int seg_take(struct daxkv *db, unsigned state, unsigned lane, enum seg_use use);
/* Reserves len bytes in the lane's active segment, rolling to a new segment
 * when full.  Sets *off (pool offset) and *gen.  Caller holds the lane. */
int seg_reserve(struct daxkv *db, unsigned lane, uint64_t len, enum seg_use use, uint64_t *off,
		uint64_t *gen);
/* Seals a log segment: OK, or (block) the error of its file (handle broken). */
int seg_seal(struct daxkv *db, uint32_t id);
/* Marks a log segment free on media; the DRAM free list gets it after the
 * epoch grace period. */
void seg_release(struct daxkv *db, uint32_t id);
void seg_live_add(struct daxkv *db, uint64_t off, int64_t bytes);
/* Free segments under which GC should run (cost-benefit), about an eighth of
 * the pool; it stops at one and a half times as many. */
uint32_t seg_free_target(const struct daxkv *db);
/* A writer that got ENOSPC (holding no lane, not pinned) waits for space for
 * use: kicks GC, and waits while a pass may still free some or segments freed
 * already wait for readers (an open iterator) to let go -- until *until_ns
 * (dkv_now_ns clock; 0 on the first call of an operation, which sets it
 * DKV_SPACE_WAIT_NS ahead).  true when there is room and the write is worth
 * retrying; false at once when the pool is full of live data. */
bool seg_wait_space(struct daxkv *db, enum seg_use use, uint64_t *until_ns);
/* How long a writer waits for space before it answers ENOSPC. */
#define DKV_SPACE_WAIT_NS (2ull * 1000 * 1000 * 1000)
uint32_t seg_free_count(struct daxkv *db);
uint64_t seg_max_record(const struct daxkv *db);
/* Records appended through lane up to end are durable: a fence on DAX, the
 * group commit of the segment file on block (OK, EIO, ENOSPC). */
static inline int seg_durable(struct daxkv *db, uint64_t end)
{
	pm_fence();
	return DKV_UNLIKELY(db->blk != NULL) ? blk_sync(db, end) : 0;
}
/* Around seg_reserve + rec_write (block: one shared segment, in seq order). */
static inline void seg_append_begin(struct daxkv *db, unsigned lane)
{
	if (DKV_UNLIKELY(db->blk != NULL))
		blk_append_begin(db, lane);
}
static inline void seg_append_end(struct daxkv *db, unsigned lane, uint64_t end)
{
	if (DKV_UNLIKELY(db->blk != NULL))
		blk_append_end(db, lane, end);
}

/* ---- nodealloc.c ---- */
int na_init(struct daxkv *db);
void na_fini(struct daxkv *db);
/* Reserves slots for a node of level levels (DRAM only).  0 or ENOSPC. */
int na_reserve(struct daxkv *db, unsigned level, uint64_t *off);
/* na_reserve / na_unreserve through the lane's cache (the lane held). */
int na_reserve_lane(struct daxkv *db, unsigned lane, unsigned level, uint64_t *off);
void na_unreserve_lane(struct daxkv *db, unsigned lane, uint64_t off, unsigned level);
/* Drops a reservation that was never committed. */
void na_unreserve(struct daxkv *db, uint64_t off, unsigned level);
/* Sets the node's bits on media (flush, no fence) and drops the reservation. */
void na_commit(struct daxkv *db, uint64_t off, unsigned level);
/* Clears the node's bits (flush, no fence); the slots stay quarantined until
 * the epoch grace period ends. */
void na_free(struct daxkv *db, uint64_t off, unsigned level);
/* Recovery: set or clear the node's bits to match allocated (flush, no fence). */
void na_set(struct daxkv *db, uint64_t off, unsigned level, bool allocated);
bool na_is_set(const struct daxkv *db, uint64_t off);
bool na_off_ok(const struct daxkv *db, uint64_t off, unsigned level);
uint64_t na_count(const struct daxkv *db);

/* ---- skiplist.c (search) and skiplist_write.c (writers) ---- */
struct sl_key {
	const uint8_t *k;
	uint32_t len;
};
/* Head node and volatile-word helpers. */
/* Lock-free search: the node holding key, or NULL.  Caller is pinned. */
struct sl_node *sl_find(struct daxkv *db, struct sl_key key);
/* sl_find that tells damage from absence: NULL with *corrupt set when the
 * search met a pointer or a loop no sound index has (errmsg says where). */
struct sl_node *sl_find_ex(struct daxkv *db, struct sl_key key, bool *corrupt);
/* First node with key >= key (or > when strict); NULL at the end.  Pinned.
 * hit (may be NULL): the DRAM index's answer the search started from
 * (dindex.h; hit->leaf NULL when it did not use the index). */
struct dix_hit;
struct sl_node *sl_seek(struct daxkv *db, struct sl_key key, bool strict, struct dix_hit *hit);
/* Last node with key < key (NULL when none); key NULL = the last node. Pinned. */
struct sl_node *sl_seek_before(struct daxkv *db, const struct sl_key *key);
/* Whether a node pointer read from media can be followed: slot-aligned, past
 * the metadata, and a whole node (all levels) inside the mapping.  The cheap
 * bound of the read paths; na_off_ok is the full check. */
static inline bool sl_off_ok(const struct daxkv *db, uint64_t off)
{
	return off >= db->seg_base && !(off & (DKV_LINE - 1)) &&
	       off <= db->pool.size - (48 + 8 * DKV_MAX_LEVEL);
}
/* The level-0 successor, or NULL at the end -- or on a pointer sl_off_ok
 * refuses (damaged media: callers that must tell check sl_off_ok). */
static inline struct sl_node *sl_next0(struct daxkv *db, const struct sl_node *n)
{
	uint64_t o = atomic_load_explicit((_Atomic uint64_t *)&n->next[0], memory_order_acquire);
	return o && sl_off_ok(db, o) ? dkv_ptr(db, o) : NULL;
}
/* The full key of a node (prefix, or the record's key for long keys). */
struct sl_key sl_node_key(const struct daxkv *db, const struct sl_node *n);
/* <0, 0, >0 as n's key sorts before, equal to, after key; SL_CMP_DAMAGED (> 0)
 * when n's key cannot be read (its record location or length is damaged). */
int sl_cmp(const struct daxkv *db, const struct sl_node *n, struct sl_key key);
#define SL_CMP_DAMAGED 2
static inline uint64_t sl_loc(const struct sl_node *n)
{
	return atomic_load_explicit((_Atomic uint64_t *)&n->loc, memory_order_acquire);
}

/* Write-side operations; the caller holds its lane (and is not pinned). */
struct sl_put {
	struct sl_key key;
	const void *val;
	uint32_t vlen;
	int is_delete;
	uint64_t pre_off;  /* a record already written and fenced (batch), or 0;
	                      then vlen and pre_seq describe it */
	uint64_t pre_seq;
	uint64_t pre_node; /* a node reserved for a new key (batch), or 0 */
	unsigned pre_level;
	uint64_t expire;   /* the new record's expiry time (Unix ms), 0 none */
	int cond;          /* SL_COND_*: applied only when it holds (else ECONFLICT) */
	uint64_t expect;   /* the version (record seq) cond compares with */
	uint64_t now_ms;   /* cond's clock (expiry checks) */
	uint64_t *node_out; /* may be NULL: gets the key's node when the put succeeds */
	bool *was_expired; /* may be NULL: set when a delete met an expired record */
	/* An update (daxkv_update): called under the key's lock (or, for an
	 * absent key, before the insert; again after any retry) with the
	 * current record (NULL: absent or expired) and a copy of this op to
	 * fill (val, vlen, expire, is_delete); answers SL_UPD_WRITE,
	 * SL_UPD_KEEP (write nothing, OK) or a status.  now_ms must be set. */
	int (*update)(void *ctx, const struct rec_hdr *h, struct sl_put *op);
	void *update_ctx;
};
enum { SL_UPD_KEEP = 1, SL_UPD_WRITE = 2 };
/* Conditions of a write, checked under the key's node lock:
 *  VERSION: the key's live version is expect (0: absent, deleted or expired);
 *  EXPIRED: (a delete) the key's record has seq expect and is expired at now_ms. */
enum { SL_COND_NONE = 0, SL_COND_VERSION = 1, SL_COND_EXPIRED = 2 };
/* The live version of a key whose node's location is loc: the record's seq,
 * or 0 when deleted or expired at now_ms. */
static inline uint64_t sl_live_version(const struct daxkv *db, uint64_t loc, uint64_t now_ms)
{
	if (loc & LOC_TOMB)
		return 0;
	const struct rec_hdr *h = (const struct rec_hdr *)((const char *)db->base + loc);
	return h->expire && h->expire <= now_ms ? 0 : h->seq;
}
unsigned sl_random_level(void);
/* put or delete: OK, ENOTFOUND (delete of an absent key), ENOSPC, ETOOBIG. */
int sl_put(struct daxkv *db, unsigned lane, const struct sl_put *op);
/* Unlinks a tombstoned node if no snapshot needs it (2 fences): OK or EBUSY. */
int sl_purge(struct daxkv *db, unsigned lane, uint64_t node_off);
/* GC, online: swings n from the record at old to its copy at new_loc under the
 * node's lock, when n still points at old (store + flush; the caller fences).
 * false when a writer changed n first: it wins and the copy is garbage.
 * Caller pinned. */
bool sl_repoint(struct daxkv *db, struct sl_node *n, uint64_t old, uint64_t new_loc);
void sl_format_head(struct daxkv *db);
/* Sets db->top_level from the head node (open); sl_top_raise before linking a
 * node of level levels above it. */
void sl_top_init(struct daxkv *db);
void sl_top_raise(struct daxkv *db, unsigned levels);
/* Recovery: settle a lane's in-flight ALLOC/FREE of node off (flushes only):
 * 0, or ECORRUPT when the index around it is damaged. */
int sl_settle(struct daxkv *db, unsigned lane, uint64_t off, bool was_alloc);
/* Structural check (dkv_test_check); counts reachable nodes and their slots. */
int sl_check(struct daxkv *db, char *msg, size_t cap, uint64_t *nodes, uint64_t *slots);
/* Whether a node's content can be trusted as a node (bounds, level, record). */
bool sl_node_sane(struct daxkv *db, uint64_t off);
/* Purges the deferred tombstones through lane (or the caller's own lane when
 * lane < 0). */
void dkv_purge_run(struct daxkv *db, int lane);

/* ---- batch.c ---- */
void dkv_batch_redo(struct daxkv *db, unsigned lane, uint64_t off);

/* ---- write.c ---- */
/* One put or delete through a lane, waiting for space as every write does
 * (seg_wait_space); keeps the expiry index and the expired count.  A delete
 * that met an expired key deletes it and answers ENOTFOUND (SL_COND_EXPIRED:
 * OK).  op->node_out is used. */
int dkv_write_one(struct daxkv *db, struct sl_put *op);

/* ---- expire.c ---- */
/* The active expiry cycle's thread (db->expire_hz > 0): start, stop. */
int exp_start(struct daxkv *db);
void exp_stop(struct daxkv *db);

/* ---- stats.c ---- */
/* Recounts keys and live bytes from the index (writers paused). */
int dkv_recount(struct daxkv *db);

/* ---- gc.c ---- */
#define DKV_GC_RATE_DEFAULT (256ull << 20) /* bytes/s copied while not urgent */
/* The background thread: start at open (when enabled), stop before close. */
int gc_start(struct daxkv *db);
void gc_stop(struct daxkv *db);


/* ---- recovery.c ---- */
int dkv_recover(struct daxkv *db);
/* Open of a marked (or damaged) pool: checks level 0 whole and rebuilds the
 * upper levels, back links and node bitmaps from it; ECORRUPT (the pool stays
 * marked) when level 0 itself is damaged: `daxkv check --repair`. */
int dkv_reindex(struct daxkv *db);

/* ---- blkopen.c ---- */
/* The geometry options ask for (pool, segment size, segments): 0 or EINVAL. */
int dkv_geometry(const daxkv_options *o, uint64_t *psz, uint64_t *ssz, uint64_t *nsegs);
/* A new pool's layout at db->base: superblock, head, lanes, segment headers. */
void dkv_format_layout(struct daxkv *db, uint64_t ssz, uint64_t nsegs);
void dkv_fill_hdr(struct pool_hdr *ph, uint64_t psz, uint64_t ssz, uint64_t nsegs);
/* Block: the directory (created with o->create), its lock and STORE, the
 * volatile pool formatted, the segment files mapped and their records listed. */
int blk_open(struct daxkv *db, const char *path, const daxkv_options *o);
/* After attach: the listed records applied in seq order (the index rebuilt). */
int blk_replay(struct daxkv *db);
/* `daxkv check --repair` (tools): this thread's next open of a block store
 * scans every segment and cuts a damaged sealed one at the damage;
 * blk_cut_bytes tells how much that open cut. */
void blk_repair_next_open(bool on);
uint64_t blk_cut_bytes(const struct daxkv *db);
/* Close: the active segments sealed.  OK or the first file error. */
int blk_close(struct daxkv *db);
void blk_free(struct daxkv *db);

/* ---- db.c ---- */
/* Points db's layout fields (base, hdr, sb, head, geometry) into the mapped
 * pool of db->pool, whose header was validated. */
void dkv_map_layout(struct daxkv *db);
/* The checks of a write's arguments and of the handle: 0 or the status. */
int dkv_check_write(daxkv *db, const void *key, size_t klen, const void *val, size_t vlen);

#endif
