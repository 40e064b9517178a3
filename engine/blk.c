/*
 * blk.c -- the block backend's log segments: each log segment of a block
 * store is a file of its directory, its records the same bytes (format,
 * CRCs) as a DAX segment's (docs/ARCHITECTURE.md, "The block backend").
 *
 * The engine runs unchanged over a volatile pool: an anonymous DRAM mapping
 * with the DAX layout, where the superblock, lanes, skiplist nodes and DRAM
 * indexes live (rebuilt at every open, blkopen.c).  A log segment's range in
 * that mapping is the segment file's image: while the segment is active,
 * appenders write records into the image (DRAM) and iosf_sync makes them
 * durable in the file (group commit, io/segfile.c); once sealed, its data
 * range is the file mapped read-only, so reads come from the page cache.
 *
 * All writer lanes append to one shared active segment (lane 0's), under
 * log_mu: one file, so that concurrent puts share one device write.  The GC
 * lane has its own (its lane's mutex serialises it).
 *
 * Durability invariants:
 *  PERSIST(BLK-1): a record is durable in its segment file before any index
 *                  entry points at it (seg_durable at the SL-1/GC-1/BAT-1
 *                  points) -- so before its put returns.
 *  PERSIST(BLK-2): a segment file exists durably (directory synced, first
 *                  block written) before a record goes into it; a sealed
 *                  file's data is durable before its range is mapped.
 *  PERSIST(BLK-3): after a failed durable write the store takes no more
 *                  writes (the handle breaks, EREADONLY) until reopened:
 *                  nothing not durable is ever acknowledged.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/internal.h"
#include "io/segfile.h"

/* The longest a group-commit leader waits for writers still on their way to
 * append (about one device write here: docs/BENCHMARKS.md). */
#define BLK_GATHER_NS (100ull * 1000)

void blk_seg_name(uint32_t id, char *buf, size_t cap)
{
	snprintf(buf, cap, "%08x.seg", id);
}

void blk_hint_name(uint32_t id, char *buf, size_t cap)
{
	snprintf(buf, cap, "%08x.hint", id);
}

/* The hint file of a segment being sealed (bitcask's): every record's seq
 * and offset, so that an open lists them without reading and checking the
 * records (blkopen.c).  Written whole (tmp, fsync, rename, directory sync)
 * before the segment's header says SEALED: a header that says so has its
 * hint, or a damaged one that the open refuses and scans instead. */
static int blk_write_hint(struct daxkv *db, uint32_t id)
{
	uint64_t start = dkv_seg_start(db, id), tail = atomic_load(&db->segs[id].tail);
	uint64_t n = 0, cap = 1024;
	struct blk_hint_ent *e = malloc(sizeof(struct blk_hint_hdr) + cap * sizeof(*e));
	if (!e)
		return dkv_err(DAXKV_ENOMEM, "out of memory (hint file)");
	for (uint64_t off = SEG_DATA_OFF; off < tail;) {
		const struct rec_hdr *h = rec_at(db, start + off);
		if (n == cap) {
			cap *= 2;
			void *ne = realloc(e, sizeof(struct blk_hint_hdr) + cap * sizeof(*e));
			if (!ne) {
				free(e);
				return dkv_err(DAXKV_ENOMEM, "out of memory (hint file)");
			}
			e = ne;
		}
		struct blk_hint_ent *x = (struct blk_hint_ent *)((char *)e +
							       sizeof(struct blk_hint_hdr)) + n++;
		x->seq = h->seq;
		x->off = (uint32_t)off;
		x->rsv = 0;
		off += rec_size(h->klen, h->vlen);
	}
	struct blk_hint_hdr *hh = (struct blk_hint_hdr *)e;
	memset(hh, 0, sizeof(*hh));
	hh->magic = BLK_HINT_MAGIC;
	hh->gen = db->segs[id].gen;
	hh->tail = tail;
	hh->n = n;
	size_t len = sizeof(*hh) + n * sizeof(struct blk_hint_ent);
	hh->crc = dkv_crc(0, (char *)hh + sizeof(*hh), len - sizeof(*hh));
	hh->crc = dkv_crc(hh->crc, hh, offsetof(struct blk_hint_hdr, crc));
	char name[32];
	blk_hint_name(id, name, sizeof(name));
	int rc = iosf_put_file(db->blk->dirfd, db->blk->dir, name, hh, len);
	free(e);
	return rc;
}

static struct io_segfile *blk_file(struct daxkv *db, uint32_t id)
{
	return atomic_load_explicit(&db->blk->files[id], memory_order_acquire);
}

/* A failed durable write or file operation: no more writes (BLK-3). */
static int blk_fail(struct daxkv *db, int rc)
{
	dkv_break(db);
	return rc;
}

int blk_seg_create(struct daxkv *db, uint32_t id)
{
	struct dkv_blk *b = db->blk;
	char name[32];
	blk_seg_name(id, name, sizeof(name));
	struct io_segfile *f = NULL;
	int rc = iosf_create(b->dirfd, b->dir, name, db->seg_size, dkv_seg_hdr(db, id), &f);
	if (rc)
		return rc;
	iosf_filled(f, SEG_DATA_OFF);
	iosf_gather(f, &b->pending, BLK_GATHER_NS);
	atomic_store_explicit(&b->files[id], f, memory_order_release);
	return 0;
}

static void blk_file_close(struct daxkv *db, struct io_segfile *f)
{
	atomic_fetch_add(&db->blk->syncs_closed, iosf_syncs(f));
	atomic_fetch_add(&db->blk->waits_closed, iosf_waits(f));
	iosf_close(f);
}

int blk_seg_seal(struct daxkv *db, uint32_t id)
{
	struct io_segfile *f = blk_file(db, id);
	if (!f)
		return 0;
	/* BLK-2: every record durable, then the header block (SEALED, the
	 * exact tail), then reads move to the file. */
	int rc = iosf_sync(f, atomic_load(&db->segs[id].tail));
	if (!rc)
		rc = blk_write_hint(db, id);
	if (!rc)
		rc = iosf_write_at(f, 0, IOSF_BLOCK);
	if (!rc)
		rc = iosf_map_sealed(f, dkv_seg_hdr(db, id), IOSF_BLOCK);
	if (rc)
		return blk_fail(db, rc); /* f stays: its syncs answer the error */
	/* The file is closed; f answers the syncs of writers that loaded it
	 * (all durable) until the segment is dropped, after its grace period. */
	iosf_retire(f);
	return 0;
}

void blk_seg_drop(struct daxkv *db, uint32_t id)
{
	struct dkv_blk *b = db->blk;
	char name[32];
	blk_seg_name(id, name, sizeof(name));
	struct io_segfile *f = blk_file(db, id);
	if (f) { /* its grace period is over: no writer holds f */
		atomic_store(&b->files[id], NULL);
		blk_file_close(db, f);
	}
	/* Not synced here: a file that comes back after a crash holds records
	 * that are older copies of what GC moved, or dead (blkopen.c replays by
	 * seq); the next creation's directory sync makes the removal durable. */
	(void)iosf_remove(b->dirfd, b->dir, name);
	blk_hint_name(id, name, sizeof(name));
	(void)iosf_remove(b->dirfd, b->dir, name);
	struct seg_hdr *h = dkv_seg_hdr(db, id), keep = *h;
	if (iosf_unmap(h, db->seg_size) == 0)
		*h = keep; /* the free segment's header, as the pool's format left it */
}

static __thread bool tl_pending; /* counted in blk->pending */

void blk_enter(struct daxkv *db)
{
	if (!tl_pending) {
		tl_pending = true;
		atomic_fetch_add_explicit(&db->blk->pending, 1, memory_order_relaxed);
	}
}

void blk_leave(struct daxkv *db)
{
	if (tl_pending) {
		tl_pending = false;
		atomic_fetch_sub_explicit(&db->blk->pending, 1, memory_order_relaxed);
	}
}

void blk_append_begin(struct daxkv *db, unsigned lane)
{
	if (lane != DKV_GC_LANE)
		pthread_mutex_lock(&db->blk->log_mu);
}

void blk_append_end(struct daxkv *db, unsigned lane, uint64_t end)
{
	if (end) { /* 0: nothing was appended */
		uint32_t id = dkv_seg_of(db, end - 1);
		struct io_segfile *f = blk_file(db, id);
		if (f)
			iosf_filled(f, end - dkv_seg_start(db, id));
	}
	if (lane != DKV_GC_LANE) {
		pthread_mutex_unlock(&db->blk->log_mu);
		blk_leave(db); /* appended: a leader need not wait for it */
	}
}

int blk_sync(struct daxkv *db, uint64_t end)
{
	uint32_t id = dkv_seg_of(db, end - 1);
	struct io_segfile *f = blk_file(db, id);
	if (!f)
		return 0; /* a replayed segment: every record of it is durable */
	int rc = iosf_sync(f, end - dkv_seg_start(db, id));
	return rc ? blk_fail(db, rc) : 0;
}

int blk_sync_lane(struct daxkv *db, unsigned lane)
{
	int id = db->lanes[lane].seg;
	if (id < 0)
		return 0;
	return blk_sync(db, dkv_seg_start(db, (uint32_t)id) + atomic_load(&db->segs[id].tail));
}

void blk_stats(struct daxkv *db, uint64_t *syncs, uint64_t *waits)
{
	*syncs = atomic_load(&db->blk->syncs_closed);
	*waits = atomic_load(&db->blk->waits_closed);
	for (uint32_t id = 0; id < db->nsegs; id++) {
		struct io_segfile *f = blk_file(db, id);
		if (f) {
			*syncs += iosf_syncs(f);
			*waits += iosf_waits(f);
		}
	}
}
