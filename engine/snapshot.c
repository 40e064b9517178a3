/*
 * snapshot.c -- the registry of snapshots (each iterator holds one) and the
 * tombstones they keep.
 *
 * A snapshot reads the store as of a seq.  A delete under a snapshot older
 * than it keeps its node, pointing at a tombstone record whose prev is the
 * version the snapshot still sees; the node waits in the purge queue here
 * until no snapshot needs it, and the writers drain the queue
 * (dkv_purge_run, skiplist_write.c).
 */
#include <stdlib.h>

#include "engine/internal.h"

static void snap_min_update(struct daxkv *db)
{
	uint64_t m = UINT64_MAX;
	for (struct dkv_snap *s = db->snaps; s; s = s->next)
		if (s->seq < m)
			m = s->seq;
	atomic_store(&db->min_snap, m);
}

void snap_register(struct daxkv *db, struct dkv_snap *snap)
{
	/* seq_cst handshake with dkv_snap_allows_unlink: a delete that does not
	 * see us registering took its seq before our S was read. */
	atomic_fetch_add(&db->snap_creating, 1);
	pthread_mutex_lock(&db->snap_mu);
	snap->seq = atomic_load(&db->seq);
	snap->prev = NULL;
	snap->next = db->snaps;
	if (db->snaps)
		db->snaps->prev = snap;
	db->snaps = snap;
	snap_min_update(db);
	pthread_mutex_unlock(&db->snap_mu);
	atomic_fetch_sub(&db->snap_creating, 1);
}

bool snap_unregister(struct daxkv *db, struct dkv_snap *snap)
{
	pthread_mutex_lock(&db->snap_mu);
	if (snap->prev)
		snap->prev->next = snap->next;
	else
		db->snaps = snap->next;
	if (snap->next)
		snap->next->prev = snap->prev;
	snap_min_update(db);
	bool last = db->snaps == NULL;
	pthread_mutex_unlock(&db->snap_mu);
	return last;
}


bool dkv_snap_allows_unlink(struct daxkv *db, uint64_t seq)
{
	/* seq_cst: pairs with daxkv_iter_new's registration (iter.c). */
	if (atomic_load(&db->snap_creating))
		return false;
	return atomic_load(&db->min_snap) >= seq;
}

void dkv_purge_later(struct daxkv *db, uint64_t node_off)
{
	pthread_mutex_lock(&db->purge_mu);
	if (db->npurge == db->cap_purge) {
		size_t cap = db->cap_purge ? db->cap_purge * 2 : 64;
		uint64_t *p = realloc(db->purge, cap * sizeof(*p));
		if (!p) { /* GC finds the tombstone later */
			pthread_mutex_unlock(&db->purge_mu);
			return;
		}
		db->purge = p;
		db->cap_purge = cap;
	}
	db->purge[db->npurge++] = node_off;
	pthread_mutex_unlock(&db->purge_mu);
}

/* Takes the whole purge queue (the caller frees it). */
uint64_t *dkv_purge_take(struct daxkv *db, size_t *n)
{
	pthread_mutex_lock(&db->purge_mu);
	uint64_t *list = db->purge;
	*n = db->npurge;
	db->purge = NULL;
	db->npurge = db->cap_purge = 0;
	pthread_mutex_unlock(&db->purge_mu);
	return list;
}
