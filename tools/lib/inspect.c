/*
 * inspect.c -- a tolerant, bounds-checked view of a pool, `daxkv info` and
 * `daxkv check` (read-only verification).  Repair is in repair.c.
 *
 * Nothing here trusts the media: an offset is checked against the geometry
 * and the segment's state before it is dereferenced, a record against its
 * CRC, a level count against DKV_MAX_LEVEL; a walk marks what it visited so
 * a loop ends it.  A problem is reported with where it is and the walk goes
 * on where it safely can.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/lib/inspect_int.h"

/* ---- reporting ---- */

void insp_say(struct insp_out *o, int sev, int where, int64_t seg, uint64_t off, int level,
	      const void *key, uint32_t klen, const char *fmt, ...)
{
	struct insp_problem p = { .sev = sev, .where = where, .seg = seg, .off = off,
				  .level = level, .key = key, .klen = klen };
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p.what, sizeof(p.what), fmt, ap);
	va_end(ap);
	if (o->sum) {
		if (sev == INSP_DAMAGE)
			o->sum->problems++;
		else if (sev == INSP_NOTE)
			o->sum->notes++;
		else if (sev == INSP_FIXED)
			o->sum->fixed++;
	}
	if (o->emit)
		o->emit(o->ctx, &p);
}

/* ---- the tolerant view ---- */

static const char *const seg_problem_text[] = {
	[INSP_SEGP_OK] = NULL,
	[INSP_SEGP_MAGIC] = "bad magic",
	[INSP_SEGP_STATE] = "unknown state",
	[INSP_SEGP_TAIL] = "tail outside the segment",
	[INSP_SEGP_OWNER] = "active with a bad or shared owner lane",
};

static enum insp_segp seg_problem(struct insp *in, uint32_t id, bool *owners)
{
	const struct seg_hdr *h = dkv_seg_hdr(in->db, id);
	unsigned st = SW_STATE(h->sw);
	if (h->magic != SEG_MAGIC)
		return INSP_SEGP_MAGIC;
	if (st > SEG_NODE)
		return INSP_SEGP_STATE;
	if ((st == SEG_ACTIVE || st == SEG_SEALED) &&
	    (h->tail < SEG_DATA_OFF || h->tail > in->db->seg_size))
		return INSP_SEGP_TAIL;
	if (st == SEG_ACTIVE) {
		unsigned own = SW_OWNER(h->sw);
		if (own >= DKV_LANES || owners[own])
			return INSP_SEGP_OWNER;
		owners[own] = true;
	}
	return INSP_SEGP_OK;
}

void insp_reload_segs(struct insp *in)
{
	struct daxkv *db = in->db;
	bool owners[DKV_LANES] = { false };
	for (uint32_t id = 0; id < db->nsegs; id++) {
		const struct seg_hdr *h = dkv_seg_hdr(db, id);
		struct dkv_seg *s = &db->segs[id];
		in->segprob[id] = (uint8_t)seg_problem(in, id, owners);
		in->segwhy[id] = seg_problem_text[in->segprob[id]];
		s->state = in->segwhy[id] ? INSP_SEG_BAD : SW_STATE(h->sw);
		s->owner = SW_OWNER(h->sw);
		s->gen = SW_GEN(h->sw);
		if (!insp_is_log(in, id))
			continue;
		uint64_t start = dkv_seg_start(db, id), end = start + db->seg_size, sz;
		uint64_t t = start + h->tail;
		if (s->state == SEG_ACTIVE && !db->was_clean) /* as recovery extends it */
			while (t < end && rec_check(db, t, s->gen, end, &sz) == 0)
				t += sz;
		in->tail[id] = t - start;
		atomic_store(&s->tail, in->tail[id]);
	}
}

/* The node layout (format.h), cross-checked against na_off_ok. */
static int node_geometry(struct insp *in)
{
	struct daxkv *db = in->db;
	in->na_data = na_data_off(db->seg_size);
	in->na_slots = na_nslots(db->seg_size);
	for (uint32_t id = 0; id < db->nsegs; id++) {
		if (!insp_is_node(in, id))
			continue;
		uint64_t first = dkv_seg_start(db, id) + in->na_data;
		if (!na_off_ok(db, first, 1) || na_off_ok(db, first - DKV_LINE, 1))
			return dkv_err(DAXKV_EINVAL, "inspect: node slot layout disagrees with "
				       "the node allocator (rebuild the tool)");
		break;
	}
	return 0;
}

/* Which header copy pool_open chose, and what the backup holds.  A read-only
 * open reads through a sound backup when the primary fails (pool.c); a
 * read-write one has already rewritten the primary (and a stale backup). */
static void hdr_copies(struct insp *in)
{
	const struct pool *p = &in->db->pool;
	const struct pool_hdr *bak = (const void *)(p->base + POOL_HDR_BACKUP_OFF);
	in->hdr_primary_bad = p->hdr == bak || p->hdr_restored;
	if (p->hdr == bak)
		in->hdr_backup = INSP_HDR_BACKUP_OK;
	else if (dkv_all_zero(bak, sizeof(*bak)))
		in->hdr_backup = INSP_HDR_BACKUP_MISSING;
	else if (pool_hdr_check(bak, p->size) || memcmp(bak, p->hdr, sizeof(*bak)))
		in->hdr_backup = INSP_HDR_BACKUP_BAD;
	else
		in->hdr_backup = INSP_HDR_BACKUP_OK;
	dkv_clear_err(); /* pool_hdr_check's verdict is not the caller's error */
}

int insp_open(const char *path, int rw, struct insp **out)
{
	struct insp *in = calloc(1, sizeof(*in));
	struct daxkv *db = NULL;
	int rc = 0;
	if (!in || posix_memalign((void **)&db, 64, sizeof(*db))) {
		free(in);
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	}
	memset(db, 0, sizeof(*db));
	db->pool.fd = -1;
	in->db = db;
	in->rw = rw;
	rc = pool_open(path, !rw, !rw, &db->pool); /* one status per meaning */
	if (rc)
		goto out;
	hdr_copies(in);
	dkv_map_layout(db);
	db->read_only = !rw;
	db->was_clean = db->sb->clean == 1;
	db->boot_gen = (uint32_t)db->sb->boot_gen;
	in->nlines = (uint64_t)db->nsegs * db->seg_size / DKV_LINE;
	db->segs = calloc(db->nsegs, sizeof(*db->segs));
	in->segwhy = calloc(db->nsegs, sizeof(*in->segwhy));
	in->segprob = calloc(db->nsegs, sizeof(*in->segprob));
	in->tail = calloc(db->nsegs, sizeof(*in->tail));
	if (!db->segs || !in->segwhy || !in->segprob || !in->tail) {
		rc = dkv_err(DAXKV_ENOMEM, "out of memory");
		goto out;
	}
	insp_reload_segs(in);
	rc = node_geometry(in);
out:
	if (rc) {
		insp_close(in);
		return rc;
	}
	*out = in;
	return 0;
}

void insp_close(struct insp *in)
{
	if (!in)
		return;
	pool_close(&in->db->pool);
	free(in->db->segs);
	free(in->db);
	free(in->segwhy);
	free(in->segprob);
	free(in->tail);
	free(in);
}

int insp_db_was_clean(const daxkv *db)
{
	return db->was_clean;
}

/* ---- node and record reads ---- */

int insp_rec_ok(const struct insp *in, uint64_t off, uint64_t *size)
{
	const struct daxkv *db = in->db;
	if (off < db->seg_base || (off & 7))
		return -1;
	uint32_t id = dkv_seg_of(db, off);
	if (id >= db->nsegs || !insp_is_log(in, id))
		return -1;
	uint64_t start = dkv_seg_start(db, id), rel = off - start;
	if (rel < SEG_DATA_OFF || rel >= in->tail[id])
		return -1;
	return rec_check(db, off, db->segs[id].gen, start + in->tail[id], size) ? -1 : 0;
}

bool insp_node_ptr_ok(const struct insp *in, uint64_t off)
{
	const struct daxkv *db = in->db;
	if (off < db->seg_base || (off - db->seg_base) % DKV_LINE ||
	    (off - db->seg_base) / DKV_LINE >= in->nlines)
		return false;
	uint32_t id = dkv_seg_of(db, off);
	uint64_t rel = off - dkv_seg_start(db, id);
	return insp_is_node(in, id) && rel >= in->na_data &&
	       (rel - in->na_data) / DKV_LINE < in->na_slots;
}

int insp_node_read(const struct insp *in, uint64_t off, struct insp_node *n)
{
	const struct daxkv *db = in->db;
	memset(n, 0, sizeof(*n));
	n->off = off;
	if (!insp_node_ptr_ok(in, off)) {
		n->why = "not a node slot (outside the pool, misaligned, or not in a node segment)";
		return NODE_BADPTR;
	}
	const struct sl_node *node = dkv_ptr(db, off);
	n->level = node->level;
	n->klen = node->klen;
	n->loc = node->loc;
	n->rec = n->loc & ~LOC_TOMB;
	if (n->level < 1 || n->level > DKV_MAX_LEVEL || !na_off_ok(db, off, n->level)) {
		n->why = "bad level count";
		return NODE_BADHDR;
	}
	if (n->klen == 0 || n->klen > DAXKV_KEY_MAX) {
		n->why = "bad key length";
		return NODE_BADHDR;
	}
	n->key = node->prefix;
	n->keylen = n->klen < DKV_PREFIX ? n->klen : DKV_PREFIX;
	if (insp_rec_ok(in, n->rec, &n->rsize)) {
		n->why = "its record is damaged or outside the log";
		return NODE_BADREC;
	}
	const struct rec_hdr *r = rec_at(db, n->rec);
	if (r->klen != n->klen || memcmp(rec_key(r), node->prefix, n->keylen) != 0) {
		n->why = "its record holds another key";
		return NODE_BADREC;
	}
	n->key = rec_key(r);
	n->keylen = n->klen;
	return NODE_OK;
}

int insp_keycmp(const void *a, uint32_t alen, const void *b, uint32_t blen)
{
	uint32_t m = alen < blen ? alen : blen;
	int c = m ? memcmp(a, b, m) : 0;
	return c ? c : (alen > blen) - (alen < blen);
}

bool insp_in_flight(const struct insp *in, uint64_t node_off)
{
	if (in->db->was_clean)
		return false;
	const struct lane_slot *ls = (const void *)(in->db->base + DKV_LANES_OFF);
	for (unsigned l = 0; l < DKV_LANES; l++) {
		unsigned kind = (unsigned)(ls[l].op & LANE_OP_MASK);
		if ((kind == LANE_OP_ALLOC || kind == LANE_OP_FREE) &&
		    (ls[l].op & ~LANE_OP_MASK) == node_off)
			return true;
	}
	return false;
}

/* ---- info ---- */

/* Keys and live bytes per log segment from a checked level-0 walk. */
static int recount(struct insp *in, uint64_t *keys, uint64_t *live)
{
	uint64_t *seen = calloc((in->nlines + 63) / 64, 8);
	if (!seen)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	*keys = *live = 0;
	for (uint64_t p = in->db->head->next[0]; p;) {
		struct insp_node n;
		int st = insp_node_read(in, p, &n);
		if (st == NODE_BADPTR || bm_get(seen, insp_line(in, p)))
			break;
		bm_set(seen, insp_line(in, p));
		if (st == NODE_OK) {
			*live += n.rsize;
			*keys += !(n.loc & LOC_TOMB);
		}
		p = ((const struct sl_node *)dkv_ptr(in->db, p))->next[0];
	}
	free(seen);
	return 0;
}

int insp_info(struct insp *in, struct insp_info *o)
{
	struct daxkv *db = in->db;
	memset(o, 0, sizeof(*o));
	o->format_version = db->hdr->version;
	o->hdr_primary_ok = !in->hdr_primary_bad;
	o->hdr_backup = in->hdr_backup;
	o->is_pmem = db->pool.is_pmem;
	o->clean = db->was_clean;
	o->pool_size = db->hdr->pool_size;
	o->seg_size = db->seg_size;
	o->nsegs = db->nsegs;
	o->uuid_lo = db->hdr->uuid_lo;
	o->uuid_hi = db->hdr->uuid_hi;
	o->create_time_ns = db->hdr->create_time_ns;
	o->boot_gen = db->sb->boot_gen;
	o->seq_lease = db->sb->seq_lease;
	o->gc_runs = db->sb->gc_runs;
	o->gc_bytes_moved = db->sb->gc_bytes_moved;
	o->capacity_bytes = (uint64_t)db->nsegs * (db->seg_size - SEG_DATA_OFF);
	o->record_max_bytes = seg_max_record(db);
	for (uint32_t id = 0; id < db->nsegs; id++) {
		unsigned st = db->segs[id].state;
		o->segs_bad += st == INSP_SEG_BAD;
		o->segs_free += st == SEG_FREE;
		o->segs_active += st == SEG_ACTIVE;
		o->segs_sealed += st == SEG_SEALED;
		o->segs_node += st == SEG_NODE;
		if (insp_is_node(in, id))
			for (uint32_t w = 0; w < (in->na_slots + 63) / 64; w++)
				o->node_slots_used +=
					(uint64_t)__builtin_popcountll(insp_bitmap(in, id)[w]);
		if (!insp_is_log(in, id))
			continue;
		o->used_bytes += in->tail[id] - SEG_DATA_OFF;
		o->live_bytes += dkv_seg_hdr(db, id)->live_bytes;
	}
	o->keys = db->sb->keys;
	if (!db->was_clean) {
		int rc = recount(in, &o->keys, &o->live_bytes);
		if (rc)
			return rc;
		o->recounted = 1;
	}
	o->dead_bytes = o->used_bytes > o->live_bytes ? o->used_bytes - o->live_bytes : 0;
	return 0;
}

/* ---- check ---- */

struct chk {
	struct insp *in;
	struct insp_out o;
	uint64_t *in0;   /* per line: a node linked at level 0 starts here */
	uint64_t *exp;   /* per line: a slot that level 0's nodes occupy */
	uint64_t *live;  /* per segment: record bytes the index accounts for */
	uint64_t keys, n0;
};

static int damage_or_note(const struct insp *in, uint64_t node_off)
{
	return insp_in_flight(in, node_off) ? INSP_NOTE : INSP_DAMAGE;
}

static void check_log(struct chk *c)
{
	struct daxkv *db = c->in->db;
	for (uint32_t id = 0; id < db->nsegs; id++) {
		if (c->in->segwhy[id]) {
			insp_say(&c->o, INSP_DAMAGE, INSP_AT_SEGMENT, id, dkv_seg_start(db, id), -1,
				 NULL, 0, "segment header damaged: %s", c->in->segwhy[id]);
			continue;
		}
		if (!insp_is_log(c->in, id))
			continue;
		uint64_t start = dkv_seg_start(db, id), off = start + SEG_DATA_OFF, sz;
		uint64_t end = start + c->in->tail[id];
		unsigned bad = 0;
		while (off < end) {
			if (insp_rec_ok(c->in, off, &sz) == 0) {
				c->o.sum->records++;
				off += sz;
				continue;
			}
			c->o.sum->records_bad++;
			if (bad++ < INSP_REPORT_PER_SEG)
				insp_say(&c->o, INSP_DAMAGE, INSP_AT_RECORD, id, off, -1, NULL, 0,
					 "record at segment offset %llu fails its check (CRC, "
					 "type or lengths)", (unsigned long long)(off - start));
			for (off += 8; off < end && insp_rec_ok(c->in, off, &sz); off += 8)
				; /* resynchronise on the next valid record */
		}
		if (bad > INSP_REPORT_PER_SEG)
			insp_say(&c->o, INSP_DAMAGE, INSP_AT_SEGMENT, id, start, -1, NULL, 0,
				 "%u damaged records in this segment (first %d listed)", bad,
				 INSP_REPORT_PER_SEG);
	}
}

/* The checks of one level-0 node that can be read as a node. */
static void check_node0(struct chk *c, const struct insp_node *n, int st)
{
	struct insp *in = c->in;
	struct daxkv *db = in->db;
	uint32_t seg = dkv_seg_of(db, n->off);
	uint64_t slot = (n->off - dkv_seg_start(db, seg) - in->na_data) / DKV_LINE;
	for (unsigned k = 0; k < node_slots(n->level); k++)
		bm_set(c->exp, insp_line(in, n->off) + k);
	if (!bm_get(insp_bitmap(in, seg), slot))
		insp_say(&c->o, damage_or_note(in, n->off), INSP_AT_BITMAP, seg, n->off, 0, n->key,
			 n->keylen, "node linked at level 0 is free in the node bitmap");
	if (st != NODE_OK) {
		c->o.sum->nodes_bad++;
		insp_say(&c->o, INSP_DAMAGE, INSP_AT_NODE, seg, n->off, 0, n->key, n->keylen,
			 "node: %s (record offset %llu)", n->why, (unsigned long long)n->rec);
		return;
	}
	const struct rec_hdr *r = rec_at(db, n->rec);
	bool tomb = n->loc & LOC_TOMB;
	if (tomb && r->type == REC_PUT)
		insp_say(&c->o, damage_or_note(in, n->off), INSP_AT_NODE, seg, n->off, 0, n->key,
			 n->keylen, "deleted node still linked at level 0");
	if (!tomb && r->type == REC_DEL)
		insp_say(&c->o, INSP_DAMAGE, INSP_AT_NODE, seg, n->off, 0, n->key, n->keylen,
			 "node points at a delete record without the tombstone bit");
	const struct sl_node *node = dkv_ptr(db, n->off);
	if ((uint64_t)node->rsize8 << 3 != n->rsize)
		insp_say(&c->o, INSP_DAMAGE, INSP_AT_COUNT, seg, n->off, 0, n->key, n->keylen,
			 "node's record size %llu differs from its record's %llu",
			 (unsigned long long)node->rsize8 << 3, (unsigned long long)n->rsize);
	c->live[dkv_seg_of(db, n->rec)] += n->rsize;
	c->keys += !tomb;
}

static void check_level0(struct chk *c)
{
	struct insp *in = c->in;
	struct daxkv *db = in->db;
	uint64_t from = DKV_HEAD_OFF;
	struct insp_node prev = { .off = 0 };
	int prev_st = NODE_BADHDR;
	for (uint64_t p = db->head->next[0]; p;) {
		struct insp_node n;
		int st = insp_node_read(in, p, &n);
		int64_t seg = p >= db->seg_base ? (int64_t)dkv_seg_of(db, p) : -1;
		if (st == NODE_BADPTR) {
			insp_say(&c->o, INSP_DAMAGE, INSP_AT_LEVEL, seg, from, 0, NULL, 0,
				 "the link at %llu points at %llu, %s; the rest of level 0 "
				 "is unreachable", (unsigned long long)from,
				 (unsigned long long)p, n.why);
			break;
		}
		if (bm_get(c->in0, insp_line(in, p))) {
			insp_say(&c->o, INSP_DAMAGE, INSP_AT_LEVEL, seg, from, 0, NULL, 0,
				 "level 0 loops: the link at %llu points back at node %llu",
				 (unsigned long long)from, (unsigned long long)p);
			break;
		}
		bm_set(c->in0, insp_line(in, p));
		c->n0++;
		c->o.sum->nodes++;
		if (st == NODE_BADHDR) {
			c->o.sum->nodes_bad++;
			insp_say(&c->o, INSP_DAMAGE, INSP_AT_NODE, seg, p, 0, NULL, 0, "node: %s",
				 n.why);
		} else {
			check_node0(c, &n, st);
		}
		if (st == NODE_OK && prev_st == NODE_OK &&
		    insp_keycmp(prev.key, prev.keylen, n.key, n.keylen) >= 0)
			insp_say(&c->o, INSP_DAMAGE, INSP_AT_LEVEL, seg, p, 0, n.key, n.keylen,
				 "level 0 out of order: this key does not follow the key of node "
				 "%llu", (unsigned long long)prev.off);
		prev = n;
		prev_st = st;
		from = p;
		p = ((const struct sl_node *)dkv_ptr(db, p))->next[0];
	}
}

static void check_upper(struct chk *c)
{
	struct insp *in = c->in;
	struct daxkv *db = in->db;
	for (unsigned l = 1; l < DKV_MAX_LEVEL; l++) {
		uint64_t from = DKV_HEAD_OFF, steps = 0;
		struct insp_node prev = { .off = 0 };
		int prev_st = NODE_BADHDR;
		for (uint64_t p = db->head->next[l]; p;) {
			if (!insp_node_ptr_ok(in, p) || !bm_get(c->in0, insp_line(in, p))) {
				insp_say(&c->o, damage_or_note(in, p), INSP_AT_LEVEL, -1, from, (int)l,
					 NULL, 0, "the link at %llu points at %llu, not a node "
					 "linked at level 0", (unsigned long long)from,
					 (unsigned long long)p);
				break;
			}
			if (++steps > c->n0) {
				insp_say(&c->o, INSP_DAMAGE, INSP_AT_LEVEL, -1, from, (int)l, NULL, 0,
					 "level %u is longer than level 0 (a loop)", l);
				break;
			}
			const struct sl_node *node = dkv_ptr(db, p);
			if (node->level <= l || node->level > DKV_MAX_LEVEL ||
			    !na_off_ok(db, p, node->level)) {
				insp_say(&c->o, INSP_DAMAGE, INSP_AT_LEVEL, dkv_seg_of(db, p), p, (int)l,
					 NULL, 0, "node of %u levels linked at level %u", node->level,
					 l);
				break;
			}
			struct insp_node n;
			int st = insp_node_read(in, p, &n);
			if (st == NODE_OK && prev_st == NODE_OK &&
			    insp_keycmp(prev.key, prev.keylen, n.key, n.keylen) >= 0)
				insp_say(&c->o, INSP_DAMAGE, INSP_AT_LEVEL, dkv_seg_of(db, p), p,
					 (int)l, n.key, n.keylen, "level %u out of order", l);
			prev = n;
			prev_st = st;
			from = p;
			p = node->next[l];
		}
	}
}

static void check_bitmaps(struct chk *c)
{
	struct insp *in = c->in;
	struct daxkv *db = in->db;
	for (uint32_t id = 0; id < db->nsegs; id++) {
		if (!insp_is_node(in, id))
			continue;
		const uint64_t *bm = insp_bitmap(in, id);
		uint64_t base = dkv_seg_start(db, id) + in->na_data, leaked = 0, first = 0;
		for (uint32_t s = 0; s < in->na_slots; s++) {
			uint64_t off = base + (uint64_t)s * DKV_LINE;
			if (!bm_get(bm, s) || bm_get(c->exp, insp_line(in, off)))
				continue;
			if (!leaked++)
				first = off;
		}
		if (leaked)
			insp_say(&c->o, damage_or_note(in, first), INSP_AT_BITMAP, id, first, -1,
				 NULL, 0, "%llu node slots allocated that no linked node uses "
				 "(first at %llu)", (unsigned long long)leaked,
				 (unsigned long long)first);
	}
}

/* The pool header's copies and the damage mark: each is damage that
 * `check --repair` clears (its read-write open restores the header copies;
 * its rebuild and the engine's clean close replace the mark). */
static void check_pool(struct chk *c)
{
	struct insp *in = c->in;
	if (in->hdr_primary_bad)
		insp_say(&c->o, INSP_DAMAGE, INSP_AT_POOL, -1, 0, -1, NULL, 0,
			 "the pool header fails its checks; its backup copy (offset %u) is "
			 "sound and was used: check --repair restores the primary",
			 POOL_HDR_BACKUP_OFF);
	if (in->hdr_backup == INSP_HDR_BACKUP_BAD)
		insp_say(&c->o, INSP_DAMAGE, INSP_AT_POOL, -1, POOL_HDR_BACKUP_OFF, -1, NULL, 0,
			 "the backup copy of the pool header is damaged or differs from the "
			 "primary: check --repair rewrites it");
	else if (in->hdr_backup == INSP_HDR_BACKUP_MISSING)
		insp_say(&c->o, INSP_NOTE, INSP_AT_POOL, -1, POOL_HDR_BACKUP_OFF, -1, NULL, 0,
			 "the pool header has no backup copy (a pool from an older build): "
			 "the next read-write open adds it");
	if (in->db->sb->clean == DKV_SB_DAMAGED)
		insp_say(&c->o, INSP_DAMAGE, INSP_AT_POOL, -1, DKV_SB_STATE_OFF, -1, NULL, 0,
			 "the pool is marked damaged: a writer met damage in the index and "
			 "stopped; run check --repair");
}

static void check_counts(struct chk *c)
{
	struct daxkv *db = c->in->db;
	c->o.sum->keys = c->keys;
	if (db->sb->clean == DKV_SB_DAMAGED) /* check_pool said it */
		return;
	if (!db->was_clean) {
		insp_say(&c->o, INSP_NOTE, INSP_AT_POOL, -1, 0, -1, NULL, 0,
			 "unclean shutdown: the next read-write open recovers the pool and "
			 "recounts; discard counts and the key count are not compared");
		return;
	}
	for (uint32_t id = 0; id < db->nsegs; id++) {
		if (!insp_is_log(c->in, id))
			continue;
		uint64_t hv = dkv_seg_hdr(db, id)->live_bytes;
		if (hv != c->live[id])
			insp_say(&c->o, INSP_DAMAGE, INSP_AT_COUNT, id, dkv_seg_start(db, id), -1,
				 NULL, 0, "discard count: the header says %llu live bytes, the "
				 "index accounts for %llu", (unsigned long long)hv,
				 (unsigned long long)c->live[id]);
	}
	if (db->sb->keys != c->keys)
		insp_say(&c->o, INSP_DAMAGE, INSP_AT_COUNT, -1, DKV_SB_STATE_OFF, -1, NULL, 0,
			 "key count: the superblock says %llu, the index holds %llu",
			 (unsigned long long)db->sb->keys, (unsigned long long)c->keys);
}

static void check_lanes(struct chk *c)
{
	const struct lane_slot *ls = (const void *)(c->in->db->base + DKV_LANES_OFF);
	if (c->in->db->was_clean)
		return;
	for (unsigned l = 0; l < DKV_LANES; l++)
		if (ls[l].batch)
			insp_say(&c->o, INSP_NOTE, INSP_AT_POOL, -1, ls[l].batch, -1, NULL, 0,
				 "lane %u: a committed batch awaits its redo (the next "
				 "read-write open applies it)", l);
}

int insp_check(struct insp *in, insp_emit_fn emit, void *ctx, struct insp_summary *sum)
{
	struct insp_summary local;
	struct chk c = { .in = in, .o = { emit, ctx, sum ? sum : &local } };
	memset(c.o.sum, 0, sizeof(*c.o.sum));
	size_t words = (in->nlines + 63) / 64;
	c.in0 = calloc(words, 8);
	c.exp = calloc(words, 8);
	c.live = calloc(in->db->nsegs, 8);
	int rc = 0;
	if (!c.in0 || !c.exp || !c.live) {
		rc = dkv_err(DAXKV_ENOMEM, "out of memory");
		goto out;
	}
	check_pool(&c);
	check_log(&c);
	check_level0(&c);
	check_upper(&c);
	check_bitmaps(&c);
	check_counts(&c);
	check_lanes(&c);
out:
	free(c.in0);
	free(c.exp);
	free(c.live);
	return rc;
}
