/*
 * recovery.c -- what open does after a crash (docs/ARCHITECTURE.md, "Open and
 * recovery").
 *
 * Cost is bounded by the pool geometry, never by the number of keys:
 *  1. each active segment: extend its tail over the records past the
 *     persisted tail that pass their CRC (at most one segment per lane);
 *  2. each lane's in-flight node: settle its bitmap bits from whether it is
 *     linked at level 0, and drop upper-level pointers to an unlinked one
 *     (a search per lane);
 *  3. each lane's committed batch: redo it (idempotent).
 * Keys and live-byte counts are recounted lazily (stats/GC/close).
 *
 * Damage (dkv_break, dkv_reindex): a handle that meets damage in the index
 * stops writing and marks the pool (sb->clean = DKV_SB_DAMAGED).  The next
 * read-write open of a marked pool -- or of an unclean one whose settle step
 * met damage -- checks level 0 whole (O(keys), only then): when it is sound
 * the upper levels, back links and node bitmaps are rebuilt from it (they are
 * derived data); when it is not, the open answers ECORRUPT and names
 * `daxkv check --repair`, and read-only opens still work.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine/internal.h"

/* ---- level 0 as the truth: check it, rebuild the rest ---- */

/* Whether the node at off (read from level 0) is a node: a slot of a node
 * segment with a sane level and key, whose record location holds a record
 * of the same key (bounds and key only: a damaged value is not structural). */
static bool l0_node_ok(const struct daxkv *db, uint64_t off)
{
	if (!sl_off_ok(db, off) || !na_off_ok(db, off, 1))
		return false;
	const struct sl_node *n = dkv_ptr(db, off);
	if (!na_off_ok(db, off, n->level) || n->klen == 0 || n->klen > DAXKV_KEY_MAX)
		return false;
	uint64_t loc = n->loc & ~LOC_TOMB;
	if (!rec_off_ok(db, loc))
		return false;
	const struct rec_hdr *h = rec_at(db, loc);
	uint64_t in = (loc - db->seg_base) & (db->seg_size - 1);
	if (h->klen != n->klen || in + sizeof(*h) + h->klen > db->seg_size)
		return false;
	return memcmp(rec_key(h), n->prefix, n->klen < DKV_PREFIX ? n->klen : DKV_PREFIX) == 0;
}

static inline uint64_t l0_line(const struct daxkv *db, uint64_t off)
{
	return (off - db->seg_base) / DKV_LINE;
}
static void mark_lines(uint64_t *bm, uint64_t line, unsigned k)
{
	for (unsigned i = 0; i < k; i++)
		bm[(line + i) / 64] |= 1ull << ((line + i) % 64);
}
static bool line_set(const uint64_t *bm, uint64_t line)
{
	return bm[line / 64] >> (line % 64) & 1;
}

/* Walks level 0 and marks every slot of its nodes in on0: 0, or ECORRUPT
 * (errmsg says where). */
static int l0_walk(struct daxkv *db, uint64_t *on0)
{
	const struct sl_node *prev = NULL;
	for (uint64_t o = db->head->next[0]; o; o = prev->next[0]) {
		if (!l0_node_ok(db, o))
			return dkv_err(DAXKV_ECORRUPT, "level 0 of the index is damaged at node "
				       "%llu", (unsigned long long)o);
		const struct sl_node *n = dkv_ptr(db, o);
		if (line_set(on0, l0_line(db, o)))
			return dkv_err(DAXKV_ECORRUPT, "level 0 of the index loops at node %llu",
				       (unsigned long long)o);
		if (prev && sl_cmp(db, prev, sl_node_key(db, n)) >= 0)
			return dkv_err(DAXKV_ECORRUPT, "level 0 of the index is out of order at "
				       "node %llu", (unsigned long long)o);
		mark_lines(on0, l0_line(db, o), node_slots(n->level));
		prev = n;
	}
	return 0;
}

/* Every allocated slot must belong to a node of level 0, or to the node a
 * lane's in-flight operation names: else level 0 lost a link (the nodes
 * after it are cut off) and only `check --repair` can find them again. */
static int l0_covers_bitmaps(struct daxkv *db, uint64_t *on0)
{
	for (unsigned l = 0; l < DKV_LANES; l++) {
		uint64_t op = db->lanes[l].slot->op, off = op & ~LANE_OP_MASK;
		unsigned kind = (unsigned)(op & LANE_OP_MASK);
		if ((kind == LANE_OP_ALLOC || kind == LANE_OP_FREE) && na_off_ok(db, off, 1)) {
			const struct sl_node *n = dkv_ptr(db, off);
			unsigned lv = na_off_ok(db, off, n->level) ? n->level : 1;
			mark_lines(on0, l0_line(db, off), node_slots(lv));
		}
	}
	uint64_t data = na_data_off(db->seg_size);
	uint32_t nslots = na_nslots(db->seg_size);
	for (uint32_t i = 0; i < db->n_node_segs; i++) {
		uint32_t id = db->node_segs[i];
		const uint64_t *bm = (const uint64_t *)((char *)dkv_seg_hdr(db, id) + NA_BITMAP_OFF);
		uint64_t base = dkv_seg_start(db, id) + data;
		for (uint32_t sl = 0; sl < nslots; sl++) {
			uint64_t off = base + (uint64_t)sl * DKV_LINE;
			if ((bm[sl / 64] >> (sl % 64) & 1) && !line_set(on0, l0_line(db, off)))
				return dkv_err(DAXKV_ECORRUPT, "the index lost nodes: slot %llu is "
					       "allocated but not on level 0", (unsigned long long)off);
		}
	}
	return 0;
}

/* Rebuilds the upper levels, the back links and the node bitmaps from the
 * (checked) level 0; the lanes' in-flight node operations are settled by the
 * same rule as recovery's: linked at level 0 = done. */
static void l0_rebuild(struct daxkv *db)
{
	for (uint32_t i = 0; i < db->n_node_segs; i++) {
		uint32_t id = db->node_segs[i];
		pm_set_nodrain((char *)dkv_seg_hdr(db, id) + NA_BITMAP_OFF, 0,
			       (na_nslots(db->seg_size) + 63) / 64 * 8);
		atomic_store(&db->segs[id].used, 0);
	}
	pm_fence(); /* zeroed before any bit is set again */
	struct sl_node *last[DKV_MAX_LEVEL];
	for (unsigned l = 0; l < DKV_MAX_LEVEL; l++)
		last[l] = db->head;
	uint64_t prev = 0;
	for (uint64_t o = db->head->next[0]; o;) {
		struct sl_node *n = dkv_ptr(db, o);
		for (unsigned l = 1; l < n->level; l++) {
			last[l]->next[l] = o;
			pm_flush(&last[l]->next[l], 8);
			last[l] = n;
		}
		n->prev = prev;
		pm_flush(&n->prev, 8);
		na_set(db, o, n->level, true);
		prev = o;
		o = n->next[0];
	}
	for (unsigned l = 1; l < DKV_MAX_LEVEL; l++) {
		last[l]->next[l] = 0;
		pm_flush(&last[l]->next[l], 8);
	}
	for (unsigned l = 0; l < DKV_LANES; l++) {
		db->lanes[l].slot->op = 0;
		pm_flush(&db->lanes[l].slot->op, 8);
	}
	pm_fence();
}

int dkv_reindex(struct daxkv *db)
{
	uint64_t lines = (db->pool.size - db->seg_base) / DKV_LINE;
	uint64_t *on0 = calloc((lines + 63) / 64, 8);
	if (!on0)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	int rc = l0_walk(db, on0);
	if (!rc)
		rc = l0_covers_bitmaps(db, on0);
	free(on0);
	if (rc) {
		char why[200];
		snprintf(why, sizeof(why), "%s", daxkv_errmsg());
		db->sb->clean = DKV_SB_DAMAGED; /* stays marked until the repair */
		pm_persist(&db->sb->clean, 8);
		return dkv_err(DAXKV_ECORRUPT, "%s: open it read-only to read what is left, or "
			       "run `daxkv check --repair` to rebuild the index", why);
	}
	l0_rebuild(db); /* fenced */
	db->sb->clean = 0; /* rebuilt: an ordinary unclean pool from here on */
	pm_persist(&db->sb->clean, 8);
	return 0;
}

static void recover_tail(struct daxkv *db, uint32_t id)
{
	struct dkv_seg *s = &db->segs[id];
	uint64_t start = dkv_seg_start(db, id), end = start + db->seg_size, sz;
	uint64_t t = start + atomic_load(&s->tail);
	while (t < end && rec_check(db, t, s->gen, end, &sz) == 0)
		t += sz;
	atomic_store(&s->tail, t - start);
	struct seg_hdr *h = dkv_seg_hdr(db, id);
	h->tail = t - start;
	pm_flush(&h->tail, 8);
}

int dkv_recover(struct daxkv *db)
{
	for (uint32_t id = 0; id < db->nsegs; id++)
		if (db->segs[id].state == SEG_ACTIVE)
			recover_tail(db, id);
	bool damaged = false;
	for (unsigned l = 0; l < DKV_LANES && !damaged; l++) {
		uint64_t op = db->lanes[l].slot->op;
		unsigned kind = (unsigned)(op & LANE_OP_MASK);
		uint64_t off = op & ~LANE_OP_MASK;
		if ((kind == LANE_OP_ALLOC || kind == LANE_OP_FREE) && off &&
		    na_off_ok(db, off, 1))
			damaged = sl_settle(db, l, off, kind == LANE_OP_ALLOC) != 0;
	}
	pm_fence();
	if (damaged) { /* the settle's search met damage: decide from level 0 */
		int rc = dkv_reindex(db);
		if (rc)
			return rc;
	}
	for (unsigned l = 0; l < DKV_LANES; l++) {
		struct lane_slot *s = db->lanes[l].slot;
		if (!s->batch)
			continue;
		dkv_batch_redo(db, l, s->batch);
		s->batch = 0;
		pm_persist(&s->batch, 8);
	}
	epoch_drain(db);
	return 0;
}
