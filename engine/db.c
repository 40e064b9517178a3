/*
 * db.c -- daxkv_open/close/put/get/delete: the write and read paths, top to
 * bottom (put: db.c -> skiplist_write.c -> record.c / segment.c -> pmem/), and
 * the creation, attach and clean close of a pool.
 *
 * Durability invariants:
 *  PERSIST(DB-1): sb->clean is cleared (durably) at open before the engine
 *                 writes anything else (pool.c may first restore a header
 *                 copy; a pool marked damaged keeps its mark until
 *                 dkv_reindex has rebuilt it), and set only after close made
 *                 every DRAM summary (tails, live bytes, key count) durable.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/dindex.h"
#include "engine/internal.h"

int dkv_check_write(daxkv *db, const void *key, size_t klen, const void *val, size_t vlen)
{
	if (!db)
		return dkv_err(DAXKV_EINVAL, "db is NULL");
	int rc = dkv_check_kv(key, klen, val, vlen);
	if (rc)
		return rc;
	if (rec_size(klen, vlen) > seg_max_record(db))
		return dkv_err(DAXKV_ETOOBIG, "record of %llu bytes (48 B header + key + value) "
			       "exceeds the largest this store takes, %llu (segment size %llu)",
			       (unsigned long long)rec_size(klen, vlen),
			       (unsigned long long)seg_max_record(db),
			       (unsigned long long)db->seg_size);
	if (db->read_only)
		return dkv_err(DAXKV_EREADONLY, "store is read-only");
	if (atomic_load(&db->broken))
		return dkv_err(DAXKV_EREADONLY, "store is read-only until reopened: %s (%s)",
			       db->blk ? "a write to its files failed"
				       : "damage found; reopen to rebuild, else `daxkv check "
					 "--repair`",
			       atomic_load(&db->broken) == 1 ? db->broken_why : "");
	return 0;
}

/* ---- put / delete / get ---- */

static int do_put(daxkv *db, const void *key, size_t klen, const void *val, size_t vlen,
		  int is_delete)
{
	int rc = dkv_check_write(db, key, klen, val, vlen);
	if (rc)
		return rc;
	/* A zero-length value may come as NULL: give the codec a valid pointer. */
	struct sl_put op = { .key = { key, (uint32_t)klen }, .val = val ? val : "",
			     .vlen = (uint32_t)vlen, .is_delete = is_delete };
	return dkv_write_one(db, &op);
}

DAXKV_API int daxkv_put(daxkv *db, const void *key, size_t klen, const void *val, size_t vlen)
{
	return do_put(db, key, klen, val, vlen, 0);
}

DAXKV_API int daxkv_delete(daxkv *db, const void *key, size_t klen)
{
	return do_put(db, key, klen, NULL, 0, 1);
}

/* The read path of get and get_meta (inlined in each: the hot path of a get
 * pays for no extra call). */
static inline __attribute__((always_inline)) int read_key(daxkv *db, const void *key,
							  size_t klen, void *buf, size_t cap,
							  size_t *vlen, uint64_t *version,
							  uint64_t *expire_at_ms)
{
	if (!db || !vlen || (!buf && cap))
		return dkv_err(DAXKV_EINVAL, "db or vlen is NULL, or buf is NULL with cap > 0");
	int rc = dkv_check_key(key, klen);
	if (rc)
		return rc;
	epoch_pin();
	bool corrupt = false;
	struct sl_node *n = sl_find_ex(db, (struct sl_key){ key, (uint32_t)klen }, &corrupt);
	uint64_t loc = n ? sl_loc(n) : LOC_TOMB;
	if (loc & LOC_TOMB) {
		rc = corrupt ? DAXKV_ECORRUPT : DAXKV_ENOTFOUND;
		goto out;
	}
	rc = rec_verify(db, loc);
	if (rc)
		goto out;
	const struct rec_hdr *h = rec_at(db, loc);
	/* A sound record of another key (a damaged location) is no answer either. */
	if (DKV_UNLIKELY(h->klen != klen || memcmp(rec_key(h), key, klen) != 0)) {
		rc = dkv_err(DAXKV_ECORRUPT, "the index points at a record of another key "
			     "(offset %llu)", (unsigned long long)loc);
		goto out;
	}
	/* Lazy expiry: absent from its expiry time on; the read writes nothing
	 * (the active cycle deletes it, expire.c). */
	if (DKV_UNLIKELY(h->expire != 0) && h->expire <= daxkv_now_ms()) {
		rc = DAXKV_ENOTFOUND;
		goto out;
	}
	*vlen = h->vlen;
	if (cap)
		memcpy(buf, rec_val(h), cap < h->vlen ? cap : h->vlen);
	if (version)
		*version = h->seq;
	if (expire_at_ms)
		*expire_at_ms = h->expire;
out:
	epoch_unpin();
	return rc;
}

DAXKV_API int daxkv_get_meta(daxkv *db, const void *key, size_t klen, void *buf, size_t cap,
			     size_t *vlen, uint64_t *version, uint64_t *expire_at_ms)
{
	return read_key(db, key, klen, buf, cap, vlen, version, expire_at_ms);
}

DAXKV_API int daxkv_get(daxkv *db, const void *key, size_t klen, void *buf, size_t cap,
			size_t *vlen)
{
	return read_key(db, key, klen, buf, cap, vlen, NULL, NULL);
}

/* ---- open / create / close ---- */

static int format_new(struct daxkv *db, const char *path, const daxkv_options *o)
{
	uint64_t psz, ssz, nsegs;
	int rc = dkv_geometry(o, &psz, &ssz, &nsegs);
	if (rc)
		return rc;
	rc = pool_create(path, psz, &db->pool);
	if (rc)
		return rc;
	db->base = db->pool.base;
	dkv_format_layout(db, ssz, nsegs);
	struct pool_hdr *ph = (struct pool_hdr *)db->base;
	dkv_fill_hdr(ph, psz, ssz, nsegs);
	pool_hdr_seal(ph); /* last: a pool without it is an unfinished create */
	return 0;
}

void dkv_map_layout(struct daxkv *db)
{
	db->base = db->pool.base;
	db->hdr = (struct pool_hdr *)(uintptr_t)db->pool.hdr; /* primary or backup */
	db->sb = (struct sb_state *)(db->base + DKV_SB_STATE_OFF);
	db->head = (struct sl_node *)(db->base + DKV_HEAD_OFF);
	db->seg_size = db->hdr->seg_size;
	db->seg_base = db->hdr->seg_base;
	db->nsegs = db->hdr->nsegs;
}

static int attach(struct daxkv *db)
{
	dkv_map_layout(db);
	db->was_clean = db->sb->clean == 1;
	bool marked = db->sb->clean == DKV_SB_DAMAGED; /* a handle met damage (recovery.c) */
	db->boot_gen = (uint32_t)db->sb->boot_gen + 1;
	if (!db->read_only) {
		db->sb->boot_gen = db->boot_gen;
		/* A marked pool keeps its mark until dkv_reindex has rebuilt it:
		 * a crash during the rebuild must not forget the damage. */
		db->sb->clean = marked ? DKV_SB_DAMAGED : 0;
		pm_persist(db->sb, sizeof(*db->sb)); /* PERSIST(DB-1) */
	}
	atomic_store(&db->seq, db->sb->seq_lease);
	atomic_store(&db->lease, db->sb->seq_lease);
	if (!db->read_only)
		dkv_lease_extend(db, db->sb->seq_lease);
	for (unsigned l = 0; l < DKV_LANES; l++)
		db->lanes[l].slot =
			(struct lane_slot *)(db->base + DKV_LANES_OFF) + l;
	int rc = seg_table_load(db);
	if (!rc)
		rc = na_init(db);
	if (!rc && marked && !db->read_only)
		rc = dkv_reindex(db);
	if (rc)
		return rc;
	sl_top_init(db);
	uint32_t lanes = (db->nsegs - 2) / 4;
	db->nlanes = lanes < 1 ? 1 : lanes > 16 ? 16 : lanes;
	seg_reserves_init(db);
	atomic_store(&db->gc_runs, db->sb->gc_runs);
	atomic_store(&db->gc_bytes_moved, db->sb->gc_bytes_moved);
	atomic_store(&db->gc_passes, db->sb->gc_passes);
	db->written_base = db->sb->bytes_written;
	if (db->was_clean) {
		atomic_store(&db->lanes[0].keys, (int64_t)db->sb->keys);
		return 0;
	}
	atomic_store(&db->needs_recount, 1);
	return db->read_only ? 0 : dkv_recover(db);
}

static void db_free(struct daxkv *db)
{
	dix_stop(db);
	na_fini(db);
	seg_table_free(db);
	blk_free(db);
	pool_close(&db->pool);
	for (unsigned l = 0; l < DKV_LANES; l++)
		pthread_mutex_destroy(&db->lanes[l].mu);
	pthread_mutex_destroy(&db->seg_mu);
	pthread_mutex_destroy(&db->lease_mu);
	pthread_mutex_destroy(&db->node_mu);
	pthread_mutex_destroy(&db->retire_mu);
	pthread_mutex_destroy(&db->snap_mu);
	pthread_mutex_destroy(&db->purge_mu);
	pthread_mutex_destroy(&db->gc_mu);
	pthread_cond_destroy(&db->gc_cv);
	pthread_cond_destroy(&db->gc_done_cv);
	pthread_mutex_destroy(&db->exp_mu);
	pthread_cond_destroy(&db->exp_cv);
	ttl_fini(db);
	free(db->retired);
	free(db->purge);
	free(db);
}

static struct daxkv *db_alloc(void)
{
	struct daxkv *db = NULL;
	if (posix_memalign((void **)&db, 64, sizeof(*db)))
		return NULL;
	memset(db, 0, sizeof(*db));
	for (unsigned l = 0; l < DKV_LANES; l++)
		pthread_mutex_init(&db->lanes[l].mu, NULL);
	pthread_mutex_init(&db->seg_mu, NULL);
	pthread_mutex_init(&db->lease_mu, NULL);
	pthread_mutex_init(&db->node_mu, NULL);
	pthread_mutex_init(&db->retire_mu, NULL);
	pthread_mutex_init(&db->snap_mu, NULL);
	pthread_mutex_init(&db->purge_mu, NULL);
	pthread_mutex_init(&db->gc_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* GC's timed waits */
	pthread_cond_init(&db->gc_cv, &ca);
	pthread_cond_init(&db->gc_done_cv, &ca);
	pthread_mutex_init(&db->exp_mu, NULL);
	pthread_cond_init(&db->exp_cv, &ca);
	pthread_condattr_destroy(&ca);
	ttl_init(db);
	db->pool.fd = -1;
	atomic_store(&db->min_snap, UINT64_MAX);
	return db;
}

/* Which backend opens path: an existing directory is a block store, an
 * existing file a DAX pool; a new store is DAX where the filesystem maps
 * persistent memory (or PMEM_IS_PMEM_FORCE says so), block elsewhere.
 * DAXKV_BACKEND_* or a negative status. */
static int choose_backend(const char *path, const daxkv_options *opt)
{
	struct stat st;
	bool exists = stat(path, &st) == 0, dir = exists && S_ISDIR(st.st_mode);
	if (opt->backend == DAXKV_BACKEND_DAX && dir)
		return dkv_err(DAXKV_ENOTSUP, "%s is a block-backend store (a directory), not a "
			       "DAX pool", path);
	if (opt->backend == DAXKV_BACKEND_BLOCK && exists && !dir)
		return dkv_err(DAXKV_ENOTSUP, "%s is a DAX pool file, not a block-backend store",
			       path);
	if (opt->backend != DAXKV_BACKEND_AUTO)
		return opt->backend;
	if (exists || !opt->create)
		return dir ? DAXKV_BACKEND_BLOCK : DAXKV_BACKEND_DAX;
	return pool_probe_dax(path) == 1 ? DAXKV_BACKEND_DAX : DAXKV_BACKEND_BLOCK;
}

DAXKV_API int daxkv_open(const char *path, const daxkv_options *caller_opt, daxkv **out)
{
	daxkv_options full;
	const daxkv_options *opt = &full;
	dkv_clear_err();
	if (!path || !*path || !out)
		return dkv_err(DAXKV_EINVAL, "path or out is NULL");
	int rc = dkv_options_read(caller_opt, &full);
	if (rc)
		return rc;
	if (opt->backend != DAXKV_BACKEND_AUTO && opt->backend != DAXKV_BACKEND_DAX &&
	    opt->backend != DAXKV_BACKEND_BLOCK)
		return dkv_err(DAXKV_EINVAL, "unknown backend %d", opt->backend);
	if (opt->gc_ratio < 0 || opt->gc_ratio > 1)
		return dkv_err(DAXKV_EINVAL, "gc_ratio %g outside [0, 1]", opt->gc_ratio);
	if (opt->create && opt->read_only)
		return dkv_err(DAXKV_EINVAL, "create and read_only together");
	if (opt->gc_policy < DAXKV_GC_DEFAULT || opt->gc_policy > DAXKV_GC_RATIO)
		return dkv_err(DAXKV_EINVAL, "unknown gc_policy %d", opt->gc_policy);
	if (opt->expire_hz < -1 || opt->expire_hz > 1000)
		return dkv_err(DAXKV_EINVAL, "expire_hz %d outside -1..1000", opt->expire_hz);
	struct daxkv *db = db_alloc();
	if (!db)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	db->read_only = opt->read_only != 0;
	db->gc_ratio = opt->gc_ratio > 0 ? opt->gc_ratio : 0.5;
	db->gc_policy = opt->gc_policy ? opt->gc_policy : DAXKV_GC_COST_BENEFIT;
	db->gc_rate = opt->gc_rate ? opt->gc_rate : DKV_GC_RATE_DEFAULT;
	db->expire_hz = opt->expire_hz == 0 ? 10 : opt->expire_hz < 0 ? 0 : opt->expire_hz;
	int backend = choose_backend(path, opt);
	if (backend < 0) {
		db_free(db);
		return backend;
	}
	if (backend == DAXKV_BACKEND_BLOCK) {
		rc = blk_open(db, path, opt);
		if (!rc)
			rc = attach(db);
		/* The DRAM index first: built at once over the empty skiplist, it
		 * serves the replay's inserts (the skiplist's descents would not). */
		if (!rc)
			rc = dix_start(db);
		if (!rc)
			rc = blk_replay(db);
		/* Lanes own no segment here (one shared file): 32, so that writer
		 * threads rarely share one (a batch locks them all: ThreadSanitizer
		 * follows at most 64 locks held at once). */
		db->nlanes = 32;
	} else {
		rc = pool_open(path, db->read_only, 0, &db->pool);
		if (rc == DAXKV_ENOSTORE && opt->create) {
			if (access(path, F_OK) == 0)
				unlink(path); /* an interrupted create: its header was never sealed */
			rc = format_new(db, path, opt);
		}
		if (!rc)
			rc = attach(db);
	}
	if (!rc && !db->blk)
		rc = dix_start(db); /* builds beside the traffic: the skiplist serves meanwhile */
	if (!rc && !db->read_only && opt->gc_background)
		rc = gc_start(db);
	if (!rc && !db->read_only && db->expire_hz)
		rc = exp_start(db); /* walks the index for keys with an expiry first */
	if (rc) {
		exp_stop(db);
		gc_stop(db);
		db_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

/* The superblock's counters from DRAM (close). */
static void fill_counters(struct daxkv *db)
{
	int64_t keys = 0;
	for (unsigned l = 0; l < DKV_LANES; l++)
		keys += atomic_load(&db->lanes[l].keys);
	db->sb->keys = keys > 0 ? (uint64_t)keys : 0;
	db->sb->gc_runs = atomic_load(&db->gc_runs);
	db->sb->gc_bytes_moved = atomic_load(&db->gc_bytes_moved);
	db->sb->gc_passes = atomic_load(&db->gc_passes);
	uint64_t w = db->written_base;
	for (unsigned l = 0; l < DKV_LANES; l++)
		w += atomic_load(&db->lanes[l].written);
	db->sb->bytes_written = w;
}

static void persist_summaries(struct daxkv *db)
{
	if (atomic_load(&db->needs_recount))
		dkv_recount(db);
	for (uint32_t i = 0; i < db->nsegs; i++) {
		struct dkv_seg *s = &db->segs[i];
		if (s->state != SEG_ACTIVE && s->state != SEG_SEALED)
			continue;
		struct seg_hdr *h = dkv_seg_hdr(db, i);
		int64_t live = atomic_load(&s->live);
		h->tail = atomic_load(&s->tail);
		h->live_bytes = live > 0 ? (uint64_t)live : 0;
		pm_flush(h, sizeof(*h));
	}
	fill_counters(db);
	pm_persist(db->sb, sizeof(*db->sb));
	db->sb->clean = 1; /* PERSIST(DB-1): after every summary above is durable */
	pm_persist(&db->sb->clean, 8);
}

DAXKV_API int daxkv_close(daxkv *db)
{
	if (!db)
		return 0;
	exp_stop(db); /* no expiry delete from here on */
	gc_stop(db); /* no pass runs from here on */
	dix_stop(db); /* the DRAM index: the skiplist answers from here on */
	int rc = 0;
	if (!db->read_only && !atomic_load(&db->broken)) {
		dkv_purge_run(db, -1);
		if (db->blk) {
			fill_counters(db);
			rc = blk_close(db); /* segment files sealed, counters in STATE */
		}
		else
			persist_summaries(db); /* flushes and fences cannot fail on DAX */
	}
	epoch_drain(db); /* DRAM only: quarantined slots and segments */
	db_free(db);
	return rc;
}
