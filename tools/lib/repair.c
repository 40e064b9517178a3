/*
 * repair.c -- `daxkv check --repair [--from-log]`: rebuild what can be rebuilt.
 *
 * Policy (docs/CLI.md says the same to users):
 *  - The index is the truth about which keys exist: a delete usually unlinks
 *    its node and writes no record, so a key found in the log but not in the
 *    index may be deleted.  A default repair therefore keeps every sound index
 *    node -- reachable from any level, or allocated in a node bitmap (a node
 *    whose bit is set was linked and not freed) -- whose node and record pass
 *    their checks, and drops the rest, reporting each dropped key.  An
 *    in-flight insert or delete (unclean pool, the lane table names it) counts
 *    as done only if it is linked at level 0, as recovery decides.  Keys whose
 *    newest record is a put but that have no index entry are reported (count
 *    and first few), not restored.
 *  - --from-log rebuilds the whole index from the newest valid record of each
 *    key (complete batches only): nothing acknowledged is lost to index
 *    damage, but deleted keys whose records GC has not reclaimed come back.
 *  - Then all levels, the level-0 back links and the node bitmaps are rebuilt
 *    from the kept set; damaged log regions are rewritten as dead filler
 *    records (so GC can walk the segment again); damaged segment headers are
 *    fixed (magic) or, when nothing kept points into them, freed.
 *  - Finally the pool is marked unclean and the engine opens it: recovery
 *    redoes committed batches and recounts; its clean close writes the
 *    summaries.  `daxkv check` passes afterwards.
 *
 * Durability: the rebuild is not atomic; every store is flushed and fenced
 * before the engine reopens the pool.  Repair a copy if the original matters
 * (docs/CLI.md).  Persistence goes through pmem/ (pm_*) only.
 */
#include <stdlib.h>

#include "tools/lib/inspect_int.h"

#define REP_SHOW 5                  /* keys listed per kind of loss */
#define REP_FILL_MAX (32u << 20)    /* value bytes per filler record */
static const uint8_t rep_fill_key[1] = { 0xff };

struct cand {
	uint64_t off;  /* node (0: to allocate, from_log) */
	uint64_t rec;
	uint64_t rsize, seq;
	const uint8_t *key;
	uint32_t klen;
	unsigned level;
	int reach0;
};

/* key -> newest record: an open-addressing table over pmem key pointers. */
struct kent {
	const uint8_t *key;
	uint32_t klen;
	uint32_t idx; /* candidate index + 1, 0 none */
	uint64_t rec, seq;
};

struct rep {
	struct insp *in;
	struct insp_out o;
	struct cand *v;
	size_t n, cap;
	uint64_t *seen, *reach0;
	struct kent *t;
	size_t tcap, tn;
	uint64_t shown_lost;
};

/* ---- tables ---- */

static int cand_add(struct rep *r, const struct cand *c)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct cand *v = realloc(r->v, cap * sizeof(*v));
		if (!v)
			return dkv_err(DAXKV_ENOMEM, "out of memory");
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *c;
	return 0;
}

static struct kent *kt_find(struct rep *r, const uint8_t *key, uint32_t klen)
{
	size_t i = dkv_crc(0, key, klen) & (r->tcap - 1);
	while (r->t[i].key && (r->t[i].klen != klen || memcmp(r->t[i].key, key, klen)))
		i = (i + 1) & (r->tcap - 1);
	return &r->t[i];
}

static int kt_grow(struct rep *r)
{
	if (r->tn * 2 < r->tcap)
		return 0;
	struct kent *old = r->t;
	size_t oldcap = r->tcap;
	r->tcap = oldcap ? oldcap * 2 : 4096;
	r->t = calloc(r->tcap, sizeof(*r->t));
	if (!r->t) {
		r->t = old;
		r->tcap = oldcap;
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].key)
			*kt_find(r, old[i].key, old[i].klen) = old[i];
	free(old);
	return 0;
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = insp_keycmp(x->key, x->klen, y->key, y->klen);
	if (c)
		return c;
	return (x->seq < y->seq) - (x->seq > y->seq); /* newest first */
}

/* ---- gathering the sound index nodes ---- */

static void lost(struct rep *r, const void *key, uint32_t klen, uint64_t off, const char *why)
{
	r->o.sum->lost_keys++;
	if (r->shown_lost++ < REP_SHOW)
		insp_say(&r->o, INSP_LOST, INSP_AT_NODE, -1, off, -1, key, klen,
			 "index entry dropped: %s", why);
}

static int consider(struct rep *r, uint64_t p, struct insp_node *n)
{
	struct insp *in = r->in;
	int st = insp_node_read(in, p, n);
	if (st == NODE_BADPTR || bm_get(r->seen, insp_line(in, p)))
		return st;
	bm_set(r->seen, insp_line(in, p));
	if (st == NODE_BADHDR) {
		lost(r, NULL, 0, p, "the node is damaged (its key is unknown)");
		return st;
	}
	if (st == NODE_BADREC) {
		lost(r, n->key, n->keylen, p, "its record is damaged (the value is lost)");
		return st;
	}
	int reach0 = bm_get(r->reach0, insp_line(in, p));
	if (n->loc & LOC_TOMB)
		return st; /* a tombstone: no snapshot survives a restart */
	if (insp_in_flight(in, p) && !reach0)
		return st; /* an insert that never linked: not done */
	struct cand c = { .off = p, .rec = n->rec, .rsize = n->rsize,
			  .seq = rec_at(in->db, n->rec)->seq, .key = n->key, .klen = n->klen,
			  .level = n->level, .reach0 = reach0 };
	return cand_add(r, &c) ? -1 : st;
}

static int gather_levels(struct rep *r)
{
	struct daxkv *db = r->in->db;
	struct insp_node n;
	for (uint64_t p = db->head->next[0], steps = 0; p && steps++ < r->in->nlines;) {
		if (insp_node_read(r->in, p, &n) == NODE_BADPTR ||
		    bm_get(r->reach0, insp_line(r->in, p)))
			break;
		bm_set(r->reach0, insp_line(r->in, p));
		p = ((const struct sl_node *)dkv_ptr(db, p))->next[0];
	}
	for (unsigned l = 0; l < DKV_MAX_LEVEL; l++) {
		uint64_t steps = 0;
		for (uint64_t p = db->head->next[l]; p && steps++ < r->in->nlines;) {
			int st = consider(r, p, &n);
			if (st < 0)
				return DAXKV_ENOMEM;
			if (st == NODE_BADPTR || st == NODE_BADHDR || n.level <= l)
				break;
			p = ((const struct sl_node *)dkv_ptr(db, p))->next[l];
		}
	}
	return 0;
}

static int gather_bitmaps(struct rep *r)
{
	struct insp *in = r->in;
	struct insp_node n;
	for (uint32_t id = 0; id < in->db->nsegs; id++) {
		if (!insp_is_node(in, id))
			continue;
		const uint64_t *bm = insp_bitmap(in, id);
		uint64_t base = dkv_seg_start(in->db, id) + in->na_data;
		for (uint32_t s = 0; s < in->na_slots;) {
			if (!bm_get(bm, s)) {
				s++;
				continue;
			}
			int st = consider(r, base + (uint64_t)s * DKV_LINE, &n);
			if (st < 0)
				return DAXKV_ENOMEM;
			s += (st == NODE_OK || st == NODE_BADREC) ? node_slots(n.level) : 1;
		}
	}
	return 0;
}

/* Sorts by key and keeps the newest node of each key. */
static void dedupe(struct rep *r)
{
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), cand_cmp);
	size_t k = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (k && !insp_keycmp(r->v[k - 1].key, r->v[k - 1].klen, r->v[i].key,
				      r->v[i].klen)) {
			insp_say(&r->o, INSP_FIXED, INSP_AT_NODE, -1, r->v[i].off, -1, r->v[i].key,
				 r->v[i].klen, "a second node of this key dropped (older record)");
			continue;
		}
		r->v[k++] = r->v[i];
	}
	r->n = k;
}

/* ---- the log ---- */

/* Every valid record of the good log segments, newest per key into r->t.
 * Records of a batch count only when the batch's run is complete. */
static int scan_log(struct rep *r)
{
	struct daxkv *db = r->in->db;
	for (uint32_t id = 0; id < db->nsegs; id++) {
		if (!insp_is_log(r->in, id))
			continue;
		uint64_t start = dkv_seg_start(db, id), end = start + r->in->tail[id], sz;
		for (uint64_t off = start + SEG_DATA_OFF; off < end; off += sz) {
			if (insp_rec_ok(r->in, off, &sz)) {
				sz = 8;
				continue;
			}
			const struct rec_hdr *h = rec_at(db, off);
			if (h->flags & REC_F_BATCH) {
				uint64_t o = off, s2 = sz;
				while (!(rec_at(db, o)->flags & REC_F_BATCH_LAST) && o + s2 < end &&
				       !insp_rec_ok(r->in, o + s2, &s2) &&
				       (rec_at(db, o + s2)->flags & REC_F_BATCH))
					o += s2;
				if (!(rec_at(db, o)->flags & REC_F_BATCH_LAST))
					continue; /* an uncommitted batch */
			}
			if (kt_grow(r))
				return DAXKV_ENOMEM;
			struct kent *e = kt_find(r, rec_key(h), h->klen);
			if (!e->key) {
				*e = (struct kent){ rec_key(h), h->klen, 0, off, h->seq };
				r->tn++;
			} else if (h->seq >= e->seq) {
				e->rec = off;
				e->seq = h->seq;
			}
		}
	}
	return 0;
}

/* Default mode: report keys whose newest record is a put and that the
 * rebuilt index does not hold. */
static void report_log_only(struct rep *r)
{
	uint64_t shown = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct kent *e = kt_find(r, r->v[i].key, r->v[i].klen);
		if (e->key)
			e->idx = (uint32_t)i + 1;
	}
	for (size_t i = 0; i < r->tcap; i++) {
		struct kent *e = &r->t[i];
		if (!e->key || e->idx || rec_at(r->in->db, e->rec)->type != REC_PUT)
			continue;
		r->o.sum->log_only_keys++;
		if (shown++ < REP_SHOW)
			insp_say(&r->o, INSP_LOST, INSP_AT_KEY, dkv_seg_of(r->in->db, e->rec), e->rec,
				 -1, e->key, e->klen, "found only in the log: not restored");
	}
	if (r->o.sum->log_only_keys)
		insp_say(&r->o, INSP_NOTE, INSP_AT_KEY, -1, 0, -1, NULL, 0,
			 "%llu keys have a put as their newest record but no index entry: "
			 "deleted keys, or entries lost to the damage (a delete leaves no "
			 "record, so they cannot be told apart); `check --repair --from-log` "
			 "restores them all, deleted ones included",
			 (unsigned long long)r->o.sum->log_only_keys);
}

/* Rewrites [off, off+gap) of log segment id as dead filler records. */
static int fill_gap(struct rep *r, uint32_t id, uint64_t off, uint64_t gap, const void *zero)
{
	struct daxkv *db = r->in->db;
	while (gap) {
		uint64_t sz = gap > REP_FILL_MAX + 4096 ? REP_FILL_MAX : gap;
		if (sz < rec_size(1, 0))
			return -1;
		struct rec_in ri = { .type = REC_DEL, .key = rep_fill_key, .klen = 1,
				     .val = zero, .vlen = (uint32_t)(sz - sizeof(struct rec_hdr) - 1) };
		rec_write(db, off, db->segs[id].gen, &ri);
		off += sz;
		gap -= sz;
	}
	return 0;
}

static int fix_log_regions(struct rep *r)
{
	struct daxkv *db = r->in->db;
	void *zero = calloc(1, REP_FILL_MAX + 4096);
	if (!zero)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	for (uint32_t id = 0; id < db->nsegs; id++) {
		if (!insp_is_log(r->in, id))
			continue;
		uint64_t start = dkv_seg_start(db, id), end = start + r->in->tail[id], sz;
		for (uint64_t off = start + SEG_DATA_OFF; off < end;) {
			if (insp_rec_ok(r->in, off, &sz) == 0) {
				off += sz;
				continue;
			}
			uint64_t nx = off + 8;
			while (nx < end && insp_rec_ok(r->in, nx, &sz))
				nx += 8;
			if (fill_gap(r, id, off, nx - off, zero) == 0) {
				insp_say(&r->o, INSP_FIXED, INSP_AT_RECORD, id, off, -1, NULL, 0,
					 "damaged log region of %llu bytes rewritten as dead filler",
					 (unsigned long long)(nx - off));
			} else if (nx == end) {
				r->in->tail[id] = off - start; /* a short torn end: cut it */
				insp_say(&r->o, INSP_FIXED, INSP_AT_SEGMENT, id, off, -1, NULL, 0,
					 "segment tail cut before a damaged end");
			}
			off = nx;
		}
		struct seg_hdr *h = dkv_seg_hdr(db, id);
		h->tail = r->in->tail[id];
		pm_flush(&h->tail, 8);
	}
	pm_fence();
	free(zero);
	return 0;
}

/* Headers: a bad magic alone is rewritten; any other damage frees the segment
 * (nothing kept can point into it: its records and nodes failed their checks). */
static void fix_seg_headers(struct rep *r, bool magic_only)
{
	struct daxkv *db = r->in->db;
	uint64_t maxgen = 0;
	for (uint32_t id = 0; id < db->nsegs; id++)
		maxgen = SW_GEN(dkv_seg_hdr(db, id)->sw) > maxgen ? SW_GEN(dkv_seg_hdr(db, id)->sw)
								     : maxgen;
	for (uint32_t id = 0; id < db->nsegs; id++) {
		const char *why = r->in->segwhy[id];
		enum insp_segp prob = r->in->segprob[id];
		struct seg_hdr *h = dkv_seg_hdr(db, id);
		if (prob == INSP_SEGP_OK)
			continue;
		if (magic_only) {
			if (prob == INSP_SEGP_MAGIC) {
				h->magic = SEG_MAGIC;
				pm_persist(&h->magic, 8);
			}
			continue;
		}
		if (prob == INSP_SEGP_OWNER) {
			h->sw = SW_MAKE(SEG_SEALED, 0, SW_GEN(h->sw));
			pm_persist(&h->sw, 8);
			insp_say(&r->o, INSP_FIXED, INSP_AT_SEGMENT, id, dkv_seg_start(db, id), -1,
				 NULL, 0, "segment sealed (%s)", why);
			continue;
		}
		memset(h, 0, sizeof(*h));
		h->magic = SEG_MAGIC;
		h->tail = SEG_DATA_OFF;
		h->sw = SW_MAKE(SEG_FREE, 0, ++maxgen);
		pm_persist(h, sizeof(*h));
		insp_say(&r->o, INSP_FIXED, INSP_AT_SEGMENT, id, dkv_seg_start(db, id), -1, NULL, 0,
			 "segment freed (header damaged: %s)", why);
	}
	insp_reload_segs(r->in);
}

/* ---- from the log: new nodes for every key whose newest record is a put ---- */

struct na_cursor {
	uint32_t seg_i; /* index into the node segment list */
	uint32_t slot;
};

/* Plans a slot for a node of k slots (within one bitmap word); 0 or -1. */
static int plan_slot(const struct insp *in, const uint32_t *segs, uint32_t nseg,
		     struct na_cursor *c, unsigned k, uint64_t *off)
{
	while (c->seg_i < nseg) {
		if (c->slot % 64 + k > 64)
			c->slot = (c->slot / 64 + 1) * 64;
		if (c->slot + k <= in->na_slots) {
			*off = dkv_seg_start(in->db, segs[c->seg_i]) + in->na_data +
			       (uint64_t)c->slot * DKV_LINE;
			c->slot += k;
			return 0;
		}
		c->seg_i++;
		c->slot = 0;
	}
	return -1;
}

/* Node segments to build into: the good node segments, then free ones as
 * needed (two stay free for the engine's log).  Assigns every candidate a
 * node offset; ENOSPC when they do not fit (nothing written yet). */
static int plan_nodes(struct rep *r, uint32_t *segs, uint32_t *nseg, uint32_t *nconv)
{
	struct insp *in = r->in;
	uint32_t n = 0, nfree = 0;
	for (uint32_t id = 0; id < in->db->nsegs; id++) {
		if (insp_is_node(in, id))
			segs[n++] = id;
		nfree += !in->segwhy[id] && in->db->segs[id].state == SEG_FREE;
	}
	uint32_t base = n;
	for (uint32_t id = 0; id < in->db->nsegs && nfree > 2; id++)
		if (!in->segwhy[id] && in->db->segs[id].state == SEG_FREE) {
			segs[n++] = id;
			nfree--;
		}
	struct na_cursor c = { 0, 0 };
	for (size_t i = 0; i < r->n; i++) {
		if (plan_slot(in, segs, n, &c, node_slots(r->v[i].level), &r->v[i].off))
			return dkv_err(DAXKV_ENOSPC, "repair --from-log: no room for %zu index "
				       "nodes", r->n);
	}
	*nseg = c.seg_i < n ? c.seg_i + 1 : n;
	*nconv = *nseg > base ? *nseg - base : 0;
	return 0;
}

static void make_node_segs(struct rep *r, const uint32_t *segs, uint32_t nseg, uint32_t nconv)
{
	struct daxkv *db = r->in->db;
	for (uint32_t i = nseg - nconv; i < nseg; i++) {
		uint32_t id = segs[i];
		struct seg_hdr *h = dkv_seg_hdr(db, id);
		h->tail = SEG_DATA_OFF;
		h->live_bytes = 0;
		pm_flush(h, sizeof(*h));
		pm_fence();
		h->sw = SW_MAKE(SEG_NODE, 0, SW_GEN(h->sw) + 1);
		pm_persist(&h->sw, 8); /* as seg_take: state last */
		insp_say(&r->o, INSP_FIXED, INSP_AT_SEGMENT, id, dkv_seg_start(db, id), -1, NULL, 0,
			 "free segment turned into a node segment");
	}
	insp_reload_segs(r->in);
}

static int from_log(struct rep *r)
{
	struct insp *in = r->in;
	for (size_t i = 0; i < r->tcap; i++) {
		struct kent *e = &r->t[i];
		if (!e->key || rec_at(in->db, e->rec)->type != REC_PUT)
			continue;
		const struct rec_hdr *h = rec_at(in->db, e->rec);
		struct cand c = { .rec = e->rec, .rsize = rec_size(h->klen, h->vlen),
				  .seq = e->seq, .key = e->key, .klen = e->klen,
				  .level = sl_random_level() };
		if (cand_add(r, &c))
			return DAXKV_ENOMEM;
	}
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(*r->v), cand_cmp);
	uint32_t *segs = malloc(in->db->nsegs * sizeof(*segs)), nseg = 0, nconv = 0;
	if (!segs)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	int rc = plan_nodes(r, segs, &nseg, &nconv);
	if (!rc && nconv)
		make_node_segs(r, segs, nseg, nconv);
	for (size_t i = 0; !rc && i < r->n; i++) {
		struct cand *c = &r->v[i];
		struct sl_node *n = dkv_ptr(in->db, c->off);
		memset(n, 0, sizeof(*n) + 8 * c->level);
		n->loc = c->rec;
		n->level = (uint8_t)c->level;
		n->klen = c->klen;
		n->rsize8 = (uint32_t)(c->rsize >> 3);
		memcpy(n->prefix, c->key, c->klen < DKV_PREFIX ? c->klen : DKV_PREFIX);
	}
	free(segs);
	if (!rc)
		insp_say(&r->o, INSP_FIXED, INSP_AT_POOL, -1, 0, -1, NULL, 0,
			 "index rebuilt from the log: %zu keys (deleted keys may have come back)",
			 r->n);
	return rc;
}

/* ---- writing the index ---- */

static void link_all(struct rep *r)
{
	struct daxkv *db = r->in->db;
	struct sl_node *last[DKV_MAX_LEVEL];
	for (unsigned l = 0; l < DKV_MAX_LEVEL; l++)
		last[l] = db->head;
	uint64_t prev = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct cand *c = &r->v[i];
		struct sl_node *n = dkv_ptr(db, c->off);
		for (unsigned l = 0; l < c->level; l++) {
			last[l]->next[l] = c->off;
			pm_flush(&last[l]->next[l], 8);
			last[l] = n;
		}
		n->prev = prev;
		n->rsize8 = (uint32_t)(c->rsize >> 3);
		pm_flush(n, sizeof(*n));
		prev = c->off;
	}
	for (unsigned l = 0; l < DKV_MAX_LEVEL; l++) {
		last[l]->next[l] = 0;
		pm_flush(&last[l]->next[l], 8);
	}
}

static void write_bitmaps(struct rep *r)
{
	struct insp *in = r->in;
	for (uint32_t id = 0; id < in->db->nsegs; id++)
		if (insp_is_node(in, id))
			pm_set_nodrain(insp_bitmap(in, id), 0, (in->na_slots + 63) / 64 * 8);
	pm_fence(); /* zeroed before any bit is set again */
	for (size_t i = 0; i < r->n; i++) {
		uint64_t off = r->v[i].off;
		uint32_t id = dkv_seg_of(in->db, off);
		uint64_t slot = (off - dkv_seg_start(in->db, id) - in->na_data) / DKV_LINE;
		uint64_t *w = &insp_bitmap(in, id)[slot / 64];
		*w |= ((1ull << node_slots(r->v[i].level)) - 1) << (slot % 64);
		pm_flush(w, 8);
	}
}

/* The lane table: in-flight node operations were settled by the level-0 rule;
 * committed batches stay for the engine's recovery to redo. */
static void hand_over(struct rep *r)
{
	struct daxkv *db = r->in->db;
	struct lane_slot *ls = (struct lane_slot *)(db->base + DKV_LANES_OFF);
	for (unsigned l = 0; l < DKV_LANES; l++) {
		ls[l].op = 0; /* settled by the level-0 rule above */
		pm_flush(&ls[l].op, 8);
	}
	pm_fence();
}

static int rebuild(struct rep *r, int from_log_mode)
{
	size_t words = (r->in->nlines + 63) / 64;
	r->seen = calloc(words, 8);
	r->reach0 = calloc(words, 8);
	if (!r->seen || !r->reach0)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	/* Unclean from the first write on: a crash mid-repair must not leave a
	 * half-rebuilt index behind a clean flag (run the repair again). */
	r->in->db->sb->clean = 0;
	pm_persist(&r->in->db->sb->clean, 8);
	fix_seg_headers(r, true);
	int rc = scan_log(r);
	if (!rc && from_log_mode)
		rc = from_log(r);
	if (!rc && !from_log_mode)
		rc = gather_levels(r);
	if (!rc && !from_log_mode)
		rc = gather_bitmaps(r);
	if (rc)
		return rc;
	if (!from_log_mode) {
		dedupe(r);
		report_log_only(r);
	}
	fix_seg_headers(r, false);
	rc = fix_log_regions(r);
	if (rc)
		return rc;
	if (r->o.sum->lost_keys > REP_SHOW)
		insp_say(&r->o, INSP_LOST, INSP_AT_NODE, -1, 0, -1, NULL, 0,
			 "%llu damaged index entries dropped in all (first %d listed)",
			 (unsigned long long)r->o.sum->lost_keys, REP_SHOW);
	link_all(r);
	write_bitmaps(r);
	pm_fence(); /* the rebuilt index is durable before the pool is handed over */
	hand_over(r);
	insp_say(&r->o, INSP_FIXED, INSP_AT_POOL, -1, 0, -1, NULL, 0,
		 "index rebuilt: %zu keys, all levels and node bitmaps", r->n);
	return 0;
}

int insp_repair(struct insp *in, const char *path, int from_log_mode, insp_emit_fn emit,
		void *ctx, struct insp_summary *sum)
{
	struct insp_summary local;
	struct rep r = { .in = in, .o = { emit, ctx, sum ? sum : &local } };
	memset(r.o.sum, 0, sizeof(*r.o.sum));
	int rc = in->rw ? 0 : dkv_err(DAXKV_EINVAL, "repair needs a read-write inspection");
	if (!rc)
		rc = rebuild(&r, from_log_mode);
	r.o.sum->keys = r.n;
	free(r.v);
	free(r.t);
	free(r.seen);
	free(r.reach0);
	insp_close(in);
	if (rc)
		return rc;
	daxkv_options o;
	daxkv_options_init(&o);
	o.gc_background = 0;
	daxkv *db = NULL;
	rc = daxkv_open(path, &o, &db); /* recovery: batches, tails, recount */
	if (rc)
		return rc;
	return daxkv_close(db);
}
