/*
 * test_segment.c -- log segments (engine/segment.c) through their internal
 * calls: the free list and its GC reserve, state words on media against the
 * DRAM table, generations across reuse, seg_reserve rolling and sealing, the
 * record size limit, and states/tails across a clean close and reopen.
 */
#define _XOPEN_SOURCE 700
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "common/dkvtest.h"
#include "engine/internal.h"
#include "tests/hooks/testhooks.h"

#define POOL16 (16 * DKVT_MIB)
#define SEG1 (1 * DKVT_MIB)
#define NSEGS ((uint32_t)((POOL16 - DKV_SEG_BASE) / SEG1)) /* 15 */

static char g_path[256];

/* With create, a fresh store for tag; else reopen the last one. */
static struct daxkv *open_store(const char *tag, int create)
{
	if (create)
		return dkvt_fresh_store(g_path, sizeof(g_path), tag, POOL16, SEG1);
	return dkvt_open_store(g_path, POOL16, SEG1, 0, 0);
}

static void done(struct daxkv *db)
{
	dkvt_close_remove(db, g_path);
}

/* The media header of segment id agrees with the DRAM table. */
static void check_sw(struct daxkv *db, uint32_t id, unsigned state, unsigned owner,
		     uint64_t gen)
{
	const struct seg_hdr *h = dkv_seg_hdr(db, id);
	const struct dkv_seg *s = &db->segs[id];
	CU_ASSERT_EQUAL(h->magic, SEG_MAGIC);
	CU_ASSERT_EQUAL(SW_STATE(h->sw), state);
	CU_ASSERT_EQUAL(SW_GEN(h->sw), gen);
	CU_ASSERT_EQUAL(atomic_load(&s->state), state);
	CU_ASSERT_EQUAL(s->gen, gen);
	if (state == SEG_ACTIVE || state == SEG_SEALED) {
		CU_ASSERT_EQUAL(SW_OWNER(h->sw), owner);
		CU_ASSERT_EQUAL(s->owner, owner);
	}
	if (SW_STATE(h->sw) != state || SW_GEN(h->sw) != gen || s->gen != gen)
		fprintf(stderr, "segment %u: media sw state %u owner %u gen %llu, DRAM state %u "
			"gen %llu; want state %u gen %llu\n", id, SW_STATE(h->sw), SW_OWNER(h->sw),
			(unsigned long long)SW_GEN(h->sw), atomic_load(&s->state),
			(unsigned long long)s->gen, state, (unsigned long long)gen);
}

/* ---- seg_take and the GC reserve ------------------------------------------- */

static void test_take_reserve(void)
{
	struct daxkv *db = open_store("seg-take", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL_FATAL(db->nsegs, NSEGS);
	CU_ASSERT_EQUAL_FATAL(db->nfree, NSEGS); /* a fresh store uses none */
	CU_ASSERT_EQUAL_FATAL(db->reserve, 1);
	for (uint32_t id = 0; id < db->nsegs; id++)
		check_sw(db, id, SEG_FREE, 0, 0);

	int seen[NSEGS] = { 0 };
	uint32_t taken = 0;
	uint32_t kept = db->reserve + db->reserve_del;
	CU_ASSERT_EQUAL(db->reserve_del, 1); /* 15 segments: one for deletes */
	/* puts: everything above the GC reserve and the delete headroom */
	while (taken < NSEGS - kept) {
		uint32_t before = db->nfree;
		int id = seg_take(db, SEG_ACTIVE, taken, SEG_USE_PUT);
		CU_ASSERT_FATAL(id >= 0 && (uint32_t)id < NSEGS);
		CU_ASSERT_EQUAL(seen[id], 0);
		seen[id] = 1;
		CU_ASSERT_EQUAL(db->nfree, before - 1);
		check_sw(db, (uint32_t)id, SEG_ACTIVE, taken, 1);
		CU_ASSERT_EQUAL(dkv_seg_hdr(db, (uint32_t)id)->tail, SEG_DATA_OFF);
		CU_ASSERT_EQUAL(dkv_seg_hdr(db, (uint32_t)id)->live_bytes, 0);
		CU_ASSERT_EQUAL(atomic_load(&db->segs[id].tail), SEG_DATA_OFF);
		CU_ASSERT_EQUAL(db->segs[id].headroom, false);
		taken++;
	}
	CU_ASSERT_EQUAL(db->nfree, kept);
	/* the rest is the deletes' and GC's */
	CU_ASSERT_EQUAL(seg_take(db, SEG_ACTIVE, 20, SEG_USE_PUT), DAXKV_ENOSPC);
	CU_ASSERT_EQUAL(seg_take(db, SEG_NODE, 0, SEG_USE_PUT), DAXKV_ENOSPC);
	CU_ASSERT_EQUAL(db->nfree, kept);
	/* a writer lane without a segment cannot roll into it either */
	unsigned lane = dkv_lane_enter(db);
	uint64_t off = 0, gen = 0;
	CU_ASSERT_EQUAL(db->lanes[lane].seg, -1);
	CU_ASSERT_EQUAL(seg_reserve(db, lane, 64, SEG_USE_PUT, &off, &gen), DAXKV_ENOSPC);
	CU_ASSERT_EQUAL(db->lanes[lane].seg, -1);
	/* a delete's tombstone may take the headroom; then puts may not append
	 * to that segment while the pool is short */
	CU_ASSERT_EQUAL(seg_reserve(db, lane, 64, SEG_USE_DELETE, &off, &gen), 0);
	CU_ASSERT_FATAL(db->lanes[lane].seg >= 0);
	CU_ASSERT_EQUAL(db->segs[db->lanes[lane].seg].headroom, true);
	seen[db->lanes[lane].seg] = 1;
	CU_ASSERT_EQUAL(seg_reserve(db, lane, 64, SEG_USE_PUT, &off, &gen), DAXKV_ENOSPC);
	CU_ASSERT_EQUAL(seg_reserve(db, lane, 64, SEG_USE_DELETE, &off, &gen), 0);
	CU_ASSERT_EQUAL(db->nfree, db->reserve);
	/* and the GC reserve is not a delete's */
	CU_ASSERT_EQUAL(seg_take(db, SEG_ACTIVE, 21, SEG_USE_DELETE), DAXKV_ENOSPC);
	dkv_lane_exit(db, lane);
	/* the API reports the full pool: no GC thread, nothing pending, at once */
	CU_ASSERT_EQUAL(daxkv_put(db, "k", 1, "v", 1), DAXKV_ENOSPC);
	CU_ASSERT_EQUAL(db->nfree, db->reserve);
	/* for_gc gets the last one */
	int id = seg_take(db, SEG_ACTIVE, DKV_GC_LANE, SEG_USE_GC);
	CU_ASSERT_FATAL(id >= 0 && (uint32_t)id < NSEGS);
	CU_ASSERT_EQUAL(seen[id], 0);
	seen[id] = 1;
	check_sw(db, (uint32_t)id, SEG_ACTIVE, DKV_GC_LANE, 1);
	CU_ASSERT_EQUAL(db->nfree, 0);
	CU_ASSERT_EQUAL(seg_take(db, SEG_ACTIVE, DKV_GC_LANE, SEG_USE_GC), DAXKV_ENOSPC);
	CU_ASSERT_EQUAL(seg_take(db, SEG_ACTIVE, 0, SEG_USE_PUT), DAXKV_ENOSPC);
	int all = 0;
	for (uint32_t i = 0; i < NSEGS; i++)
		all += seen[i];
	CU_ASSERT_EQUAL(all, NSEGS);
	done(db);
}

/* ---- generations across reuse ---------------------------------------------- */

static void test_gen_reuse(void)
{
	struct daxkv *db = open_store("seg-gen", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	int id = seg_take(db, SEG_ACTIVE, 5, SEG_USE_PUT);
	CU_ASSERT_FATAL(id >= 0);
	uint32_t u = (uint32_t)id;
	check_sw(db, u, SEG_ACTIVE, 5, 1);
	for (uint64_t round = 1; round <= 4; round++) {
		/* dirty the data so the next NODE take must clear the bitmap */
		memset((char *)dkv_seg_hdr(db, u) + sizeof(struct seg_hdr), 0xa5,
		       SEG_DATA_OFF + 8192 - sizeof(struct seg_hdr));
		atomic_store(&db->segs[u].tail, SEG_DATA_OFF + 1000);
		seg_seal(db, u);
		check_sw(db, u, SEG_SEALED, 5, round);
		CU_ASSERT_EQUAL(dkv_seg_hdr(db, u)->tail, SEG_DATA_OFF + 1000);
		uint32_t nfree = db->nfree;
		seg_release(db, u);
		check_sw(db, u, SEG_FREE, 0, round);
		/* not reusable before the grace period */
		CU_ASSERT_EQUAL(db->nfree, nfree);
		for (uint32_t i = 0; i < db->nfree; i++)
			CU_ASSERT_NOT_EQUAL(db->free_ids[i], u);
		epoch_reclaim(db);
		CU_ASSERT_EQUAL(db->nfree, nfree + 1);
		CU_ASSERT_EQUAL(db->free_ids[db->nfree - 1], u);
		/* the free list is a stack: the next take reuses it, one gen later */
		unsigned state = round == 4 ? SEG_NODE : SEG_ACTIVE;
		id = seg_take(db, state, 5, SEG_USE_PUT);
		CU_ASSERT_EQUAL_FATAL(id, (int)u);
		check_sw(db, u, state, 5, round + 1);
		CU_ASSERT_EQUAL(dkv_seg_hdr(db, u)->tail, SEG_DATA_OFF);
		CU_ASSERT_EQUAL(atomic_load(&db->segs[u].tail), SEG_DATA_OFF);
	}
	/* a node segment's bitmap (1 bit per 64-byte line) starts zeroed */
	const uint8_t *bm = (const uint8_t *)dkv_seg_hdr(db, u) + sizeof(struct seg_hdr);
	size_t nz = 0;
	for (size_t i = 0; i < SEG_DATA_OFF - sizeof(struct seg_hdr) + SEG1 / DKV_LINE / 8; i++)
		nz += bm[i] != 0;
	CU_ASSERT_EQUAL(nz, 0);
	/* other segments keep gen 0 */
	for (uint32_t i = 0; i < db->nsegs; i++)
		if (i != u)
			check_sw(db, i, SEG_FREE, 0, 0);
	/* a node segment out of the allocator's sight is released before close */
	atomic_store(&db->segs[u].state, SEG_SEALED);
	seg_release(db, u);
	check_sw(db, u, SEG_FREE, 0, 5);
	done(db);
}

/* ---- seg_reserve: rolling, sealing, the size limit -------------------------- */

static void test_reserve_roll(void)
{
	struct daxkv *db = open_store("seg-roll", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	const uint64_t chunk = 300 * 1024;
	uint64_t off, gen;
	unsigned lane = dkv_lane_enter(db);
	struct dkv_lane *L = &db->lanes[lane];
	CU_ASSERT_EQUAL(L->seg, -1);
	CU_ASSERT_EQUAL(seg_reserve(db, lane, chunk, SEG_USE_PUT, &off, &gen), 0);
	CU_ASSERT_FATAL(L->seg >= 0);
	uint32_t a = (uint32_t)L->seg;
	CU_ASSERT_EQUAL(off, dkv_seg_start(db, a) + SEG_DATA_OFF);
	CU_ASSERT_EQUAL(gen, 1);
	check_sw(db, a, SEG_ACTIVE, lane, 1);
	for (uint64_t i = 1; i < 3; i++) {
		CU_ASSERT_EQUAL(seg_reserve(db, lane, chunk, SEG_USE_PUT, &off, &gen), 0);
		CU_ASSERT_EQUAL(L->seg, (int)a);
		CU_ASSERT_EQUAL(off, dkv_seg_start(db, a) + SEG_DATA_OFF + i * chunk);
	}
	uint64_t tail_a = SEG_DATA_OFF + 3 * chunk;
	CU_ASSERT_EQUAL(atomic_load(&db->segs[a].tail), tail_a);
	/* media tail is a lower bound while active */
	CU_ASSERT_EQUAL(dkv_seg_hdr(db, a)->tail, SEG_DATA_OFF);

	/* the fourth does not fit: roll, sealing a with its exact tail */
	CU_ASSERT_EQUAL(seg_reserve(db, lane, chunk, SEG_USE_PUT, &off, &gen), 0);
	CU_ASSERT_FATAL(L->seg >= 0 && L->seg != (int)a);
	uint32_t b = (uint32_t)L->seg;
	CU_ASSERT_EQUAL(off, dkv_seg_start(db, b) + SEG_DATA_OFF);
	CU_ASSERT_EQUAL(gen, 1);
	check_sw(db, a, SEG_SEALED, lane, 1);
	CU_ASSERT_EQUAL(dkv_seg_hdr(db, a)->tail, tail_a);
	CU_ASSERT_EQUAL(atomic_load(&db->segs[a].tail), tail_a);
	check_sw(db, b, SEG_ACTIVE, lane, 1);
	CU_ASSERT_EQUAL(atomic_load(&db->segs[b].tail), SEG_DATA_OFF + chunk);

	/* exactly full fits; one more byte rolls */
	uint64_t rest = db->seg_size - (SEG_DATA_OFF + chunk);
	CU_ASSERT_EQUAL(seg_reserve(db, lane, rest, SEG_USE_PUT, &off, &gen), 0);
	CU_ASSERT_EQUAL(L->seg, (int)b);
	CU_ASSERT_EQUAL(off, dkv_seg_start(db, b) + SEG_DATA_OFF + chunk);
	CU_ASSERT_EQUAL(atomic_load(&db->segs[b].tail), db->seg_size);
	CU_ASSERT_EQUAL(seg_reserve(db, lane, 8, SEG_USE_PUT, &off, &gen), 0);
	CU_ASSERT_FATAL(L->seg >= 0 && L->seg != (int)b && L->seg != (int)a);
	uint32_t c = (uint32_t)L->seg;
	check_sw(db, b, SEG_SEALED, lane, 1);
	CU_ASSERT_EQUAL(dkv_seg_hdr(db, b)->tail, db->seg_size);
	CU_ASSERT_EQUAL(off, dkv_seg_start(db, c) + SEG_DATA_OFF);
	check_sw(db, c, SEG_ACTIVE, lane, 1);

	/* the largest record a segment takes, and one byte more */
	CU_ASSERT_EQUAL(seg_max_record(db), db->seg_size - SEG_DATA_OFF);
	off = gen = 0xdead;
	CU_ASSERT_EQUAL(seg_reserve(db, lane, seg_max_record(db) + 1, SEG_USE_PUT, &off, &gen),
			DAXKV_ETOOBIG);
	CU_ASSERT_EQUAL(seg_reserve(db, lane, seg_max_record(db) + 1, SEG_USE_GC, &off, &gen),
			DAXKV_ETOOBIG);
	CU_ASSERT_EQUAL(off, 0xdead);
	CU_ASSERT_EQUAL(L->seg, (int)c); /* no roll for a refused record */
	CU_ASSERT_EQUAL(atomic_load(&db->segs[c].tail), SEG_DATA_OFF + 8);
	check_sw(db, c, SEG_ACTIVE, lane, 1);
	CU_ASSERT_EQUAL(seg_reserve(db, lane, seg_max_record(db), SEG_USE_PUT, &off, &gen), 0);
	CU_ASSERT_FATAL(L->seg >= 0);
	uint32_t d = (uint32_t)L->seg;
	CU_ASSERT_NOT_EQUAL(d, c);
	CU_ASSERT_EQUAL(off, dkv_seg_start(db, d) + SEG_DATA_OFF);
	CU_ASSERT_EQUAL(atomic_load(&db->segs[d].tail), db->seg_size);
	check_sw(db, c, SEG_SEALED, lane, 1);
	CU_ASSERT_EQUAL(dkv_seg_hdr(db, c)->tail, SEG_DATA_OFF + 8);
	dkv_lane_exit(db, lane);
	CU_ASSERT_EQUAL(db->nfree, NSEGS - 4);

	/* the API refuses a record over seg_max_record as ETOOBIG */
	static uint8_t big[SEG1];
	CU_ASSERT_EQUAL(daxkv_put(db, "k", 1, big, seg_max_record(db) - 48), DAXKV_ETOOBIG);
	CU_ASSERT_EQUAL(daxkv_put(db, "k", 1, big, seg_max_record(db) - 56), DAXKV_OK);
	done(db);
}

/* ---- states and tails across close and reopen ------------------------------- */

static void test_reopen(void)
{
	struct daxkv *db = open_store("seg-reopen", 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	const uint64_t chunk = 300 * 1024;
	uint64_t off, gen;
	unsigned lane = dkv_lane_enter(db);
	CU_ASSERT_EQUAL(seg_reserve(db, lane, chunk, SEG_USE_PUT, &off, &gen), 0);
	uint32_t a = (uint32_t)db->lanes[lane].seg;
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(seg_reserve(db, lane, chunk, SEG_USE_PUT, &off, &gen), 0);
	CU_ASSERT_EQUAL(seg_reserve(db, lane, 4096, SEG_USE_PUT, &off, &gen), 0);
	uint32_t b = (uint32_t)db->lanes[lane].seg;
	dkv_lane_exit(db, lane);
	CU_ASSERT_NOT_EQUAL(a, b);
	/* a segment used and given back: free, but with gen 1 */
	int f = seg_take(db, SEG_ACTIVE, 7, SEG_USE_PUT);
	CU_ASSERT_FATAL(f >= 0);
	seg_seal(db, (uint32_t)f);
	seg_release(db, (uint32_t)f);
	epoch_reclaim(db);
	uint64_t tail_a = SEG_DATA_OFF + 3 * chunk, tail_b = SEG_DATA_OFF + chunk + 4096;
	CU_ASSERT_EQUAL(atomic_load(&db->segs[a].tail), tail_a);
	CU_ASSERT_EQUAL(atomic_load(&db->segs[b].tail), tail_b);
	CU_ASSERT_EQUAL(dkv_test_was_clean(db), 1); /* a fresh store starts clean */
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);

	db = open_store("seg-reopen", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(dkv_test_was_clean(db), 1);
	check_sw(db, a, SEG_SEALED, lane, 1);
	CU_ASSERT_EQUAL(dkv_seg_hdr(db, a)->tail, tail_a);
	CU_ASSERT_EQUAL(atomic_load(&db->segs[a].tail), tail_a);
	check_sw(db, b, SEG_ACTIVE, lane, 1);
	CU_ASSERT_EQUAL(dkv_seg_hdr(db, b)->tail, tail_b); /* exact after a clean close */
	CU_ASSERT_EQUAL(atomic_load(&db->segs[b].tail), tail_b);
	CU_ASSERT_EQUAL(db->lanes[lane].seg, (int)b); /* the lane owns it again */
	check_sw(db, (uint32_t)f, SEG_FREE, 0, 1);
	CU_ASSERT_EQUAL(db->nfree, NSEGS - 2);
	for (uint32_t i = 0; i < db->nsegs; i++) {
		if (i == a || i == b)
			continue;
		check_sw(db, i, SEG_FREE, 0, i == (uint32_t)f ? 1 : 0);
	}
	/* the next record of this lane goes at b's tail */
	CU_ASSERT_EQUAL(daxkv_put(db, "key", 3, "value", 5), DAXKV_OK);
	CU_ASSERT_EQUAL(dkv_test_record_offset(db, "key", 3), dkv_seg_start(db, b) + tail_b);
	CU_ASSERT_EQUAL(atomic_load(&db->segs[b].tail), tail_b + rec_size(3, 5));
	/* one free segment became the node segment, one gen later than before */
	CU_ASSERT_EQUAL_FATAL(db->n_node_segs, 1);
	uint32_t ns = db->node_segs[0];
	CU_ASSERT(ns != a && ns != b);
	check_sw(db, ns, SEG_NODE, 0, ns == (uint32_t)f ? 2 : 1);
	char msg[256] = "";
	CU_ASSERT_EQUAL(dkv_test_check(db, msg, sizeof(msg)), 0);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);

	/* once more: the node segment and the grown tail survive */
	db = open_store("seg-reopen", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	CU_ASSERT_EQUAL(dkv_test_was_clean(db), 1);
	CU_ASSERT_EQUAL(db->n_node_segs, 1);
	CU_ASSERT_EQUAL(db->node_segs[0], ns);
	check_sw(db, ns, SEG_NODE, 0, ns == (uint32_t)f ? 2 : 1);
	epoch_pin();
	struct sl_node *n = sl_find(db, (struct sl_key){ (const uint8_t *)"key", 3 });
	CU_ASSERT_PTR_NOT_NULL(n);
	if (n) {
		CU_ASSERT_EQUAL(dkv_seg_of(db, dkv_off(db, n)), ns);
		CU_ASSERT_EQUAL(na_count(db), node_slots(n->level));
	}
	epoch_unpin();
	check_sw(db, b, SEG_ACTIVE, lane, 1);
	CU_ASSERT_EQUAL(atomic_load(&db->segs[b].tail), tail_b + rec_size(3, 5));
	check_sw(db, a, SEG_SEALED, lane, 1);
	CU_ASSERT_EQUAL(atomic_load(&db->segs[a].tail), tail_a);
	CU_ASSERT_EQUAL(db->nfree, NSEGS - 3);
	size_t vl = 0;
	char v[8];
	CU_ASSERT_EQUAL(daxkv_get(db, "key", 3, v, sizeof(v), &vl), DAXKV_OK);
	CU_ASSERT_EQUAL(vl, 5);
	CU_ASSERT_EQUAL(memcmp(v, "value", 5), 0);
	done(db);
}

static const struct dkvt_test tests[] = {
	{ "take_reserve", test_take_reserve },
	{ "gen_reuse", test_gen_reuse },
	{ "reserve_roll", test_reserve_roll },
	{ "reopen", test_reopen },
	{ NULL, NULL },
};
static const struct dkvt_suite suites[] = {
	{ "segment", tests },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	return dkvt_run(suites);
}
