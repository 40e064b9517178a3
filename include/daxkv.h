/*
 * daxkv.h -- the public API of daxkv, an embedded key-value store for
 * Linux persistent memory (DAX).  This is the one installed header.
 *
 * Conventions (docs/ARCHITECTURE.md describes the design behind them):
 *  - Fallible functions return DAXKV_OK (0) or a negative DAXKV_E* code;
 *    daxkv_strerror() names a code, daxkv_errmsg() holds the calling
 *    thread's detail of its last error.
 *  - Constructors write through **out only on success; destructors accept NULL.
 *  - Keys and values are byte strings; keys compare with memcmp, a shorter
 *    key that is a prefix of a longer one sorts first.
 *  - Structs that grow (daxkv_options, daxkv_stats) start with a size field;
 *    the library reads and writes only the fields that size covers, so a
 *    program built against an older header keeps working with a newer library.
 *
 * Versioning: DAXKV_VERSION_* name the release this header belongs to.  The
 * shared library's SOVERSION (libdaxkv.so.N) changes only when a program built
 * against the previous one could break: a function removed or changed, or a
 * struct's existing fields moved.  Adding a function, a status code or a field
 * at the end of a sized struct keeps it.  SOVERSION 1 = this layout (size
 * fields first); 0 was the layout before them.
 *
 * The rest of the design (layers, on-media format, durability invariants) is
 * described in docs/ARCHITECTURE.md; the CLI and its exit codes in docs/CLI.md.
 */
#ifndef DAXKV_H
#define DAXKV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DAXKV_VERSION_MAJOR 0
#define DAXKV_VERSION_MINOR 3
#define DAXKV_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define DAXKV_VERSION_NUMBER                                                                \
	(DAXKV_VERSION_MAJOR * 10000 + DAXKV_VERSION_MINOR * 100 + DAXKV_VERSION_PATCH)

#if defined(DAXKV_BUILDING) && defined(__GNUC__)
#define DAXKV_API __attribute__((visibility("default")))
#else
#define DAXKV_API
#endif

typedef struct daxkv daxkv;             /* an open store; thread-safe */
typedef struct daxkv_iter daxkv_iter;   /* one thread at a time */
typedef struct daxkv_batch daxkv_batch; /* one thread at a time */

/* Status codes: 0 or negative, one meaning each.  Codes down to -99 are
 * reserved for the library: new ones are added there, none is renumbered. */
#define DAXKV_OK 0
#define DAXKV_ENOTFOUND (-1) /* key absent (or expired); never about the store itself */
#define DAXKV_EINVAL (-2)    /* bad argument: NULL, zero-length key, bad option */
#define DAXKV_ETOOBIG (-3)   /* key > DAXKV_KEY_MAX, value > DAXKV_VALUE_MAX, or a record or
                                batch larger than this store's segments hold (see below) */
#define DAXKV_ENOSPC (-4)    /* pool full: the store stays usable (reads, deletes, GC).
                                A full filesystem while creating a pool is EIO; on the
                                block backend a full filesystem when a segment file is
                                added is ENOSPC for that write (errmsg names the call) */
#define DAXKV_ECORRUPT (-5)  /* media content fails its checks */
#define DAXKV_EVERSION (-6)  /* a daxkv pool of another format version */
#define DAXKV_EBUSY (-7)     /* pool open in another process; GC already running */
#define DAXKV_EIO (-8)       /* the OS said no (including a full filesystem); errno detail
                                in daxkv_errmsg() */
#define DAXKV_ENOMEM (-9)    /* out of memory */
#define DAXKV_EREADONLY (-10) /* opened read-only, or stopped after a failed durable write
                                 or after damage found at run time in the structure a
                                 writer walks: reads go on, writes wait for a reopen */
#define DAXKV_ENOTSUP (-11)   /* the medium or backend cannot give what was asked: a pool
                                 file off DAX, a backend forced on the other kind of store */
#define DAXKV_ENOSTORE (-12)  /* no store at this path and create not set, or a pool whose
                                 creation never completed */
#define DAXKV_ENOTPOOL (-13)  /* the file is not a daxkv pool at all (EVERSION: a daxkv
                                 pool of another format version) */
#define DAXKV_EACCES (-14)    /* the OS denied access to the path (permissions, a
                                 read-only filesystem) */
#define DAXKV_ECONFLICT (-15) /* a conditional write found the key changed since the
                                 caller read it (its version is not the one expected):
                                 nothing was written; read again and retry */
/* -16 .. -99: reserved for the library. */

/* Limits.  Every record (a put, or a delete under an open iterator) is
 * written whole into one log segment, and a batch's records go into one
 * segment together, so the real limit of a store is its segment size:
 *   one record  = 48 B header + key + value, rounded up to 8 B,
 *                 <= segment_size - 256 B (the segment header);
 *   one batch   = the sum of its records (the last one per key), same bound.
 * A write past either answers DAXKV_ETOOBIG with the numbers in daxkv_errmsg();
 * daxkv_stats reports the bound (record_max_bytes), and `daxkv info` shows
 * it with the largest key and value it allows.  The defaults give 1 MiB segments to a 32 MiB pool, 32 MiB segments
 * to a 1 GiB one. */
#define DAXKV_KEY_MAX (64u * 1024)           /* bytes */
#define DAXKV_VALUE_MAX (64u * 1024 * 1024)  /* bytes; a store whose segments are too
                                                small for a value answers DAXKV_ETOOBIG */

/* Backends.  DAX: the store is one pool file on (emulated) persistent memory,
 * mapped; durability by cache-line flushes and fences.  BLOCK: the store is a
 * directory of segment files written through io_uring (O_DIRECT, durable
 * writes shared by concurrent puts: group commit), its index in DRAM rebuilt
 * at open; same API, same guarantees.  AUTO: an existing file is a pool, an
 * existing directory a block store; a new store is DAX where the filesystem
 * maps persistent memory (or PMEM_IS_PMEM_FORCE=1 says so), BLOCK elsewhere.
 * daxkv_stats says which open chose, and whether the media is volatile. */
enum { DAXKV_BACKEND_AUTO = 0, DAXKV_BACKEND_DAX = 1, DAXKV_BACKEND_BLOCK = 2 };

typedef struct daxkv_options {
	uint32_t size;         /* sizeof(daxkv_options) as the caller was compiled: set by
	                          daxkv_options_init; 0 = the first sized layout (SOVERSION 1) */
	uint64_t pool_size;    /* bytes for a new store; 0 = default (1 GiB) */
	uint64_t segment_size; /* bytes per log segment; 0 = a default that suits pool_size
	                          (pool_size / 32 rounded down to a power of two,
	                          between 1 MiB and 64 MiB) */
	int create;            /* create if missing */
	int read_only;
	int backend;      /* DAXKV_BACKEND_* */
	double gc_ratio;  /* dead/total ratio that makes a segment a GC victim; 0 = default 0.5 */
	int gc_background; /* 1 = a background thread compacts online (default) */
	/* Added after the fields above (0 keeps each default): */
	int gc_policy;     /* DAXKV_GC_*: how victims are ranked; 0 = default (cost-benefit) */
	uint64_t gc_rate;  /* bytes/s the background thread may copy; 0 = default, ~0 = unlimited */
	/* Added in 0.3: */
	int expire_hz;     /* active expiry cycles per second (see "Time to live"): 0 = default
	                      (10), -1 = no background expiry (daxkv_expire_run() on demand) */
} daxkv_options;

/* Victim selection (sealed segments only).  RATIO: rosedb's rule, every segment
 * whose dead share is >= gc_ratio, oldest first, as soon as there is one.
 * COST_BENEFIT: a cost-benefit rank after LFS, dead share x age / live share;
 * the background thread waits until free segments run low, then takes the best
 * ranked until they are back above a target (an eighth of the pool, and half
 * as much again).
 * daxkv_gc() takes every segment past gc_ratio, in the policy's order.
 * Either way a segment with nothing live is freed without copying. */
enum { DAXKV_GC_DEFAULT = 0, DAXKV_GC_COST_BENEFIT = 1, DAXKV_GC_RATIO = 2 };

/* Fills *opt with the defaults (create = 0, backend = AUTO, gc_background = 1)
 * and sets opt->size.  In C the call is a macro that passes sizeof(*opt) as the
 * caller's header knows it; the function daxkv_options_init() itself (for
 * bindings that cannot use the macro) assumes this header's size.
 * daxkv_options_init_sized() fills size bytes only; size below the first sized
 * layout is ignored (nothing written). */
DAXKV_API void daxkv_options_init_sized(daxkv_options *opt, size_t size);
DAXKV_API void(daxkv_options_init)(daxkv_options *opt);
#define daxkv_options_init(opt) daxkv_options_init_sized((opt), sizeof(*(opt)))

/*
 * Opens (or with opt->create, creates) the store at path; opt NULL = defaults.
 * Fields past opt->size take their defaults; fields this library does not know
 * (a program built against a newer header) must be 0, their default.
 * Returns DAXKV_OK and sets *out; or EINVAL (bad option, or a field this
 * library does not know set to non-zero), ENOSTORE (missing and not create, or a
 * creation that never completed), ENOTPOOL (the file is not a daxkv pool),
 * EVERSION (a daxkv pool of another format version), EBUSY (open in another
 * process), EACCES (permission denied), ENOTSUP (a pool file off DAX, or the
 * backend asked is not the existing store's), ECORRUPT (damage open cannot repair; a read-only open may still
 * work), EIO (the OS failed a call; a full filesystem while creating), ENOMEM.
 * *out is untouched on failure.
 */
DAXKV_API int daxkv_open(const char *path, const daxkv_options *opt, daxkv **out);

/* Closes the store, marking a clean shutdown.  NULL is a no-op.  Returns DAXKV_OK
 * (flushes on DAX cannot fail), or on the block backend EIO/ENOSPC when sealing
 * its files failed (every acknowledged write is durable all the same).
 * No other thread may use db, its iterators or batches during or after the call. */
DAXKV_API int daxkv_close(daxkv *db);

/* Durable when they return DAXKV_OK.
 * put: EINVAL (NULL db/key, zero-length key, NULL val with vlen > 0), ETOOBIG,
 *      ENOSPC, EREADONLY.
 * delete: ENOTFOUND if absent; otherwise as put. */
DAXKV_API int daxkv_put(daxkv *db, const void *key, size_t klen, const void *val, size_t vlen);
DAXKV_API int daxkv_delete(daxkv *db, const void *key, size_t klen);

/* Copies min(cap, value length) bytes into buf and sets *vlen to the full length.
 * buf may be NULL when cap is 0 (a length query).  vlen may not be NULL.
 * Returns OK, ENOTFOUND, EINVAL, ECORRUPT (the record fails its CRC: no bytes
 * are copied). */
DAXKV_API int daxkv_get(daxkv *db, const void *key, size_t klen, void *buf, size_t cap,
			size_t *vlen);

/*
 * Time to live.  A key may carry an expiry time: absolute, in milliseconds
 * since the Unix epoch (CLOCK_REALTIME), written in its record -- so it
 * survives restart, GC, backup and dump/load.  From that time on the key is
 * absent to every read (get, get_meta, ttl, iterators, backups), and a read
 * never writes: the active expiry cycle (a background thread,
 * options.expire_hz times a second; Redis' sampling over the keys that have
 * an expiry) deletes expired keys, and GC reclaims their space.  Until it
 * does, stats count them in keys.  A put without an expiry clears the key's
 * (as Redis' SET); a write of an expired key treats it as absent.
 *
 * put_ttl: expiry ttl_ms from now (0 = none).  put_expire: at expire_at_ms
 * (0 = none); a time already past deletes the key instead (OK).  Both: as put,
 * and EINVAL when the time is beyond year 2^63 ms.
 * ttl: *ttl_ms = milliseconds left (>= 0; 0: expires within the millisecond),
 *      or DAXKV_TTL_NONE when the key has no expiry.  OK, ENOTFOUND, EINVAL,
 *      ECORRUPT.
 * expire_at: gives an existing key the expiry expire_at_ms (0 = none; a time
 *      past deletes it), rewriting its record.  OK, ENOTFOUND, or as put.
 * persist: removes a key's expiry: OK and *had_ttl = 1 (record rewritten), or
 *      OK and *had_ttl = 0 when it had none (nothing written); had_ttl may be
 *      NULL.  ENOTFOUND (absent), or as put.
 */
#define DAXKV_TTL_NONE (-1)
DAXKV_API int daxkv_put_ttl(daxkv *db, const void *key, size_t klen, const void *val,
			    size_t vlen, uint64_t ttl_ms);
DAXKV_API int daxkv_put_expire(daxkv *db, const void *key, size_t klen, const void *val,
			       size_t vlen, uint64_t expire_at_ms);
DAXKV_API int daxkv_ttl(daxkv *db, const void *key, size_t klen, int64_t *ttl_ms);
DAXKV_API int daxkv_expire_at(daxkv *db, const void *key, size_t klen, uint64_t expire_at_ms);
DAXKV_API int daxkv_persist(daxkv *db, const void *key, size_t klen, int *had_ttl);
/* The current time in the clock expiry times use (Unix epoch, ms). */
DAXKV_API uint64_t daxkv_now_ms(void);
/* Deletes every key expired now (a full pass over the keys with an expiry,
 * not a sample); *expired (may be NULL) gets how many.  OK, EREADONLY, or
 * what a delete answers (ENOSPC). */
DAXKV_API int daxkv_expire_run(daxkv *db, uint64_t *expired);

/*
 * Read-modify-write (compare-and-put).  Every write of a key gives it a new
 * version: a non-zero number, unique in the store, that GC's moves keep.
 * get_meta: as get, plus the key's version and expiry time (0 = none); either
 *      pointer may be NULL.
 * put_if / delete_if: write only when the key's version is still expect --
 *      0 meaning "the key must be absent (or expired)" -- checked and written
 *      atomically under the key's lock.  put_if: OK, ECONFLICT (nothing
 *      written), or as put_expire (expire_at_ms as there).  delete_if: OK,
 *      ENOTFOUND (absent or expired, expect 0 or not), ECONFLICT, or as delete.
 * A read-modify-write loops: get_meta, compute, put_if(..., version); on
 * ECONFLICT read again.  Keys written by many threads at once contend in
 * that loop only for the same key.
 */
DAXKV_API int daxkv_get_meta(daxkv *db, const void *key, size_t klen, void *buf, size_t cap,
			     size_t *vlen, uint64_t *version, uint64_t *expire_at_ms);
DAXKV_API int daxkv_put_if(daxkv *db, const void *key, size_t klen, const void *val,
			   size_t vlen, uint64_t expire_at_ms, uint64_t expect);
DAXKV_API int daxkv_delete_if(daxkv *db, const void *key, size_t klen, uint64_t expect);

/*
 * daxkv_update: read-modify-write of one key in one call, under the key's
 * lock -- no version to carry, no retry loop for the caller, one lookup.
 * fn gets the current value (old, old_len; old NULL and exists 0 when the
 * key is absent or expired) and its expiry time, and answers:
 *   DAXKV_UPDATE_PUT     write *val, *vlen bytes (NULL with 0 allowed), expiry
 *                        *expire_at_ms (0 none; preset to the old one, so
 *                        leaving it keeps it); the bytes must stay valid
 *                        until daxkv_update returns (a buffer in ctx);
 *   DAXKV_UPDATE_DELETE  delete the key (nothing to do when absent);
 *   DAXKV_UPDATE_KEEP    write nothing;
 *   a negative status    write nothing; daxkv_update returns it.
 * fn runs while other writers of the key wait: keep it short, and do not
 * call daxkv on db from it.  It may be called more than once (a concurrent
 * insert of the same key, a wait for space): decide from its arguments
 * only.  old points into the store and is valid only during the call.
 * Returns OK (also for KEEP), fn's status, or as put/delete (ETOOBIG
 * for a value past the limits, EINVAL for an expiry time beyond 2^63).
 */
enum { DAXKV_UPDATE_KEEP = 0, DAXKV_UPDATE_PUT = 1, DAXKV_UPDATE_DELETE = 2 };
typedef int (*daxkv_update_fn)(void *ctx, const void *old, size_t old_len, int exists,
			       const void **val, size_t *vlen, uint64_t *expire_at_ms);
DAXKV_API int daxkv_update(daxkv *db, const void *key, size_t klen, daxkv_update_fn fn,
			   void *ctx);

/* Atomic batch: after a crash either all of its operations are there or none.
 * A batch is a private list of operations, applied in order by daxkv_write().
 * batch_put/batch_delete: EINVAL, ETOOBIG, ENOMEM.  daxkv_write: as put; a
 * delete of an absent key inside a batch is not an error. */
DAXKV_API int daxkv_batch_new(daxkv_batch **out);
DAXKV_API int daxkv_batch_put(daxkv_batch *b, const void *key, size_t klen, const void *val,
			      size_t vlen);
DAXKV_API int daxkv_batch_delete(daxkv_batch *b, const void *key, size_t klen);
DAXKV_API void daxkv_batch_clear(daxkv_batch *b);
DAXKV_API void daxkv_batch_free(daxkv_batch *b);
DAXKV_API int daxkv_write(daxkv *db, daxkv_batch *b);
/* batch_put_expire: a put with an expiry time (as daxkv_put_expire; a time
 * already past makes it a delete).  batch_expect: a condition of the whole
 * batch -- key's version is expect (0: absent or expired) when daxkv_write
 * applies it, checked with every other writer held off; when any condition
 * fails daxkv_write answers ECONFLICT and writes nothing.  A condition is not
 * an operation: the last put/delete of a key still decides its value. */
DAXKV_API int daxkv_batch_put_expire(daxkv_batch *b, const void *key, size_t klen,
				     const void *val, size_t vlen, uint64_t expire_at_ms);
DAXKV_API int daxkv_batch_expect(daxkv_batch *b, const void *key, size_t klen, uint64_t expect);

/* Ordered iteration.  An iterator sees the store as of its creation (a snapshot).
 * While an iterator is open, the space of records it may still read is not reused
 * (GC defers the reclamation): free iterators promptly.
 * Pointers from iter_key/iter_value stay valid until the iterator moves or is freed.
 * iter_value returns NULL (and *vlen = 0) when the record fails its CRC; the
 * iterator's status is then DAXKV_ECORRUPT (daxkv_iter_status).  A key longer
 * than 16 bytes is read from its record, so such a record that fails its CRC
 * is skipped instead (its key bytes cannot be trusted), with the same status;
 * keys are handed out strictly in order, and a walk that meets damage in the
 * order ends there with ECORRUPT. */
DAXKV_API int daxkv_iter_new(daxkv *db, daxkv_iter **out);
DAXKV_API void daxkv_iter_free(daxkv_iter *it);
DAXKV_API void daxkv_iter_seek_first(daxkv_iter *it);
DAXKV_API void daxkv_iter_seek_last(daxkv_iter *it);
DAXKV_API void daxkv_iter_seek(daxkv_iter *it, const void *key, size_t klen); /* first key >= key */
DAXKV_API int daxkv_iter_valid(const daxkv_iter *it);
DAXKV_API void daxkv_iter_next(daxkv_iter *it);
DAXKV_API void daxkv_iter_prev(daxkv_iter *it);
DAXKV_API const void *daxkv_iter_key(const daxkv_iter *it, size_t *klen);
DAXKV_API const void *daxkv_iter_value(const daxkv_iter *it, size_t *vlen);
/* The current key's expiry time (Unix ms, 0 = none).  An iterator shows no key
 * expired at its creation (its snapshot's time). */
DAXKV_API uint64_t daxkv_iter_expire(const daxkv_iter *it);
/* DAXKV_OK, or the first error the iterator met (ECORRUPT). */
DAXKV_API int daxkv_iter_status(const daxkv_iter *it);

typedef struct daxkv_stats {
	uint32_t size;           /* sizeof(daxkv_stats) as the caller was compiled (the
	                            daxkv_stats_get macro passes it); 0 = the first sized
	                            layout.  The library writes only what it covers. */
	uint64_t keys;           /* live keys */
	uint64_t live_bytes;     /* bytes of live records */
	uint64_t dead_bytes;     /* bytes of overwritten/deleted/expired records not yet reclaimed */
	uint64_t capacity_bytes; /* bytes the store may use for records */
	uint64_t segments_used;  /* segments in use, or freed by GC but still visible to a reader */
	uint64_t segments_free;  /* segments free to reuse now */
	uint64_t gc_runs;        /* segments reclaimed by GC (moved-out or wholly dead) */
	uint64_t gc_bytes_moved;
	int backend;             /* DAXKV_BACKEND_DAX or _BLOCK: what open chose */
	/* Added after the fields above: */
	uint64_t segment_size;   /* bytes per log segment */
	uint64_t bytes_written;  /* record bytes appended to the log since creation: writes
	                            + GC copies (write amplification = this / bytes asked) */
	uint64_t gc_passes;      /* GC passes run (background and daxkv_gc) */
	/* Added in 0.2 (SOVERSION 1): */
	uint64_t record_max_bytes; /* largest record, and largest batch, this store takes:
	                              48 B header + key + value (8 B aligned) must fit */
	uint64_t pool_bytes;     /* size of the pool file (block: the store's capacity, segment
	                            files included, as pool_size made it) */
	/* Added in 0.3: */
	int volatile_media;      /* 1: the store is on a filesystem whose content does not
	                            survive a reboot (tmpfs, ramfs: /dev/shm without
	                            PMEM_IS_PMEM_FORCE): a reboot loses everything */
	uint64_t device_writes;  /* block: durable writes to segment files so far (one per
	                            group commit: puts / this = puts per device write) */
	uint64_t sync_waits;     /* block: writes that waited for another's device write and
	                            were covered by it (group commit at work) */
	uint64_t expired_keys;   /* keys deleted because their expiry time passed (the
	                            active cycle, daxkv_expire_run, writes over them),
	                            since open */
	uint64_t ttl_keys;       /* keys with an expiry time, as the expiry index counts
	                            them (a key whose expiry was removed may stay counted
	                            until the next cycle samples it) */
} daxkv_stats;

/* Fills *st.  daxkv_stats_get_sized() fills the first size bytes (the fields
 * they cover; bytes past this library's struct are zeroed) and sets st->size
 * to what it filled.  In C, daxkv_stats_get is a macro that passes the
 * caller's sizeof; the function (daxkv_stats_get)(db, st) reads st->size as
 * the caller set it (0 = the first sized layout).  Returns OK or EINVAL
 * (NULL, or a size below the first sized layout).  After an unclean shutdown
 * the first call recounts keys and live bytes (a walk of the index, pausing
 * writers once). */
DAXKV_API int daxkv_stats_get_sized(daxkv *db, daxkv_stats *st, size_t size);
DAXKV_API int(daxkv_stats_get)(daxkv *db, daxkv_stats *st);
#define daxkv_stats_get(db, st) daxkv_stats_get_sized((db), (st), sizeof(*(st)))

/* One compaction pass now; returns when done.  OK, EBUSY (a pass is running),
 * EREADONLY, ENOSPC (no segment to relocate into). */
DAXKV_API int daxkv_gc(daxkv *db);

/*
 * Writes a consistent online backup of db to dest_path: every live key/value
 * as of the call (an iterator snapshot; writers keep going meanwhile), in the
 * portable, versioned, CRC32C-checksummed dump stream of docs/CLI.md, which
 * `daxkv load` and `daxkv restore` read.  The stream goes through io_uring,
 * with O_DIRECT where the destination filesystem accepts it (buffered
 * otherwise), into dest_path.tmp, which is fsynced, renamed over dest_path and
 * followed by an fsync of the directory: a crash never leaves a partial file
 * under dest_path (an existing dest_path is replaced only by a complete one).
 * Returns OK; EINVAL (NULL argument, empty path); EIO (open/write/fsync/rename
 * failed, or io_uring failed: daxkv_errmsg() has the errno detail; the .tmp
 * file is removed; if only the directory fsync after the rename failed,
 * dest_path holds the complete backup but its name may not survive a crash);
 * ENOMEM; ECORRUPT (a record of the snapshot fails its CRC: no backup is
 * written).  Other threads may go on using db throughout.
 */
DAXKV_API int daxkv_backup(daxkv *db, const char *dest_path);

/* The library's version as "MAJOR.MINOR.PATCH" (a static string), and as
 * DAXKV_VERSION_NUMBER counts it: compare with the header's to catch a
 * program running against another library than it was built with. */
DAXKV_API const char *daxkv_version(void);
DAXKV_API int daxkv_version_number(void);

/* A static string naming code ("unknown status" for other values). */
DAXKV_API const char *daxkv_strerror(int code);
/* The calling thread's detail of its last error ("" when none); valid until the
 * thread's next daxkv call. */
DAXKV_API const char *daxkv_errmsg(void);

#ifdef __cplusplus
}
#endif
#endif /* DAXKV_H */
