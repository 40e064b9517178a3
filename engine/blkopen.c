/*
 * blkopen.c -- a block-backend store's directory: create, open (the
 * volatile pool formatted, the segment files mapped, the index rebuilt by a
 * replay of their records) and close (docs/ARCHITECTURE.md, "The block
 * backend").  Also the pool layout every new pool starts from, DAX or
 * volatile (dkv_format_layout).
 *
 * The directory holds:
 *   STORE          the geometry: struct pool_hdr and its copy, CRC-sealed,
 *                  written once at create (tmp + rename + directory sync)
 *   LOCK           flock'd: one read-write process, or readers
 *   STATE          written by a clean close, removed by the next read-write
 *                  open: the superblock's counters (struct sb_state) and its
 *                  CRC; its absence after a session means it did not close
 *   %08x.seg       one file per log segment of the pool (its id), the
 *                  segment's bytes: struct seg_hdr at 0, records from 256
 *   %08x.hint      a sealed segment's hint: each record's seq and offset
 *                  (struct blk_hint_hdr, entries), written before SEALED
 *
 * Open lists every record of every segment file -- a sealed one's from its
 * hint file when that is sound, else by a scan -- and replays them in seq
 * order into the
 * index (puts insert or replace, deletes remove): seqs grow across the
 * shared segment's files and a key's versions get their seqs under its
 * node's lock, so seq order is the order the running store applied them
 * in; GC's copies keep their seq (the same record twice is applied twice,
 * harmlessly).  A segment file's scan stops at its first record that fails
 * its checks: a torn tail is cut there (its header rewritten SEALED with
 * that tail); a batch whose last record is missing at the end of the log is
 * dropped whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/internal.h"
#include "io/segfile.h"

#define BLK_STORE "STORE"
#define BLK_LOCK "LOCK"
#define BLK_STATE "STATE"
#define DEFAULT_POOL (1ull << 30)

/* ---- the layout of a new pool (DAX and block) ---- */

static uint64_t default_seg_size(uint64_t pool)
{
	uint64_t s = 1ull << 26;
	while (s > (1ull << 20) && s > pool / 32)
		s >>= 1;
	return s;
}

int dkv_geometry(const daxkv_options *o, uint64_t *psz, uint64_t *ssz, uint64_t *nsegs)
{
	*psz = o->pool_size ? o->pool_size : DEFAULT_POOL;
	*ssz = o->segment_size ? o->segment_size : default_seg_size(*psz);
	if (*ssz < (64u << 10) || (*ssz & (*ssz - 1)) || *ssz > (1ull << 32))
		return dkv_err(DAXKV_EINVAL, "segment_size %llu: a power of two from 64 KiB to "
			       "4 GiB", (unsigned long long)*ssz);
	*psz &= ~4095ull;
	if (*psz < DKV_SEG_BASE + 4 * *ssz)
		return dkv_err(DAXKV_EINVAL, "pool_size %llu too small: at least 4 segments of "
			       "%llu bytes", (unsigned long long)*psz, (unsigned long long)*ssz);
	*nsegs = (*psz - DKV_SEG_BASE) / *ssz;
	if (*nsegs > (1u << 24))
		return dkv_err(DAXKV_EINVAL, "too many segments: raise segment_size");
	return 0;
}

void dkv_format_layout(struct daxkv *db, uint64_t ssz, uint64_t nsegs)
{
	char *base = db->base;
	struct sb_state *sb = (struct sb_state *)(base + DKV_SB_STATE_OFF);
	memset(sb, 0, sizeof(*sb));
	sb->clean = 1;
	pm_flush(sb, sizeof(*sb));
	sl_format_head(db);
	pm_set_nodrain(base + DKV_LANES_OFF, 0, DKV_LANES * sizeof(struct lane_slot));
	for (uint64_t i = 0; i < nsegs; i++) {
		struct seg_hdr *h = (struct seg_hdr *)(base + DKV_SEG_BASE + i * ssz);
		memset(h, 0, sizeof(*h));
		h->magic = SEG_MAGIC;
		h->tail = SEG_DATA_OFF;
		pm_flush(h, sizeof(*h));
	}
	pm_fence();
}

void dkv_fill_hdr(struct pool_hdr *ph, uint64_t psz, uint64_t ssz, uint64_t nsegs)
{
	memset(ph, 0, sizeof(*ph));
	ph->pool_size = psz;
	ph->seg_size = ssz;
	ph->seg_base = DKV_SEG_BASE;
	ph->nsegs = (uint32_t)nsegs;
	ph->nlanes = DKV_LANES;
	ph->create_time_ns = dkv_now_ns();
	ph->uuid_lo = dkv_now_ns() ^ ((uint64_t)getpid() << 32);
}

/* ---- the directory ---- */


/* Whether the directory holds nothing but what a create makes before STORE
 * (LOCK, STORE.tmp): an unfinished create, not someone else's directory. */
static bool only_ours(int dirfd)
{
	int dfd = dup(dirfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return false;
	}
	bool ours = true;
	struct dirent *e;
	while (ours && (e = readdir(d)) != NULL)
		ours = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		       !strcmp(e->d_name, BLK_LOCK) || !strcmp(e->d_name, BLK_STORE ".tmp") ||
		       !strcmp(e->d_name, BLK_STATE) || !strcmp(e->d_name, BLK_STATE ".tmp");
	closedir(d);
	return ours;
}

static int open_dir(struct dkv_blk *b, const char *path, const daxkv_options *o)
{
	if (o->create && mkdir(path, 0755) != 0 && errno != EEXIST)
		return pool_os_err(errno, "create directory", path);
	b->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b->dirfd < 0)
		return errno == ENOENT ? dkv_err(DAXKV_ENOSTORE, "no store at %s (open with "
						  "create set to make one)", path)
				       : pool_os_err(errno, "open", path);
	if (!o->create && faccessat(b->dirfd, BLK_STORE, F_OK, 0) != 0 && errno == ENOENT)
		return only_ours(b->dirfd)
			       ? dkv_err(DAXKV_ENOSTORE, "%s: a store whose creation never "
					 "completed (no %s file)", path, BLK_STORE)
			       : dkv_err(DAXKV_ENOTPOOL, "%s is a directory but not a daxkv "
					 "store (no %s file)", path, BLK_STORE);
	b->lockfd = openat(b->dirfd, BLK_LOCK, (o->read_only ? O_RDONLY : O_RDWR | O_CREAT) |
					       O_CLOEXEC, 0644);
	if (b->lockfd < 0 && errno == ENOENT)
		return dkv_err(DAXKV_ENOSTORE, "no store at %s (no %s file)", path, BLK_LOCK);
	if (b->lockfd < 0)
		return pool_os_err(errno, "open the lock file of", path);
	if (flock(b->lockfd, (o->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0)
		return errno == EWOULDBLOCK
			       ? dkv_err(DAXKV_EBUSY, "%s is open in another process", path)
			       : pool_os_err(errno, "lock", path);
	b->volatile_fs = iosf_volatile_fs(b->dirfd);
	return 0;
}

struct blk_state {
	struct sb_state sb;
	uint32_t crc, pad;
};

static int write_state(struct dkv_blk *b, const struct sb_state *sb)
{
	struct blk_state st;
	memset(&st, 0, sizeof(st));
	st.sb = *sb;
	st.sb.clean = 1;
	st.crc = dkv_crc(0, &st.sb, sizeof(st.sb));
	return iosf_put_file(b->dirfd, b->dir, BLK_STATE, &st, sizeof(st));
}

/* Reads STORE (or, creating, writes it): the geometry, sealed like a pool's. */
static int read_store(struct daxkv *db, const daxkv_options *o, char *page)
{
	struct dkv_blk *b = db->blk;
	struct pool_hdr *ph = (struct pool_hdr *)page;
	size_t len = 0;
	int rc = iosf_get_file(b->dirfd, BLK_STORE, page, POOL_HDR_SIZE, &len);
	if (rc == DAXKV_ENOSTORE && o->create && !o->read_only) {
		uint64_t psz, ssz, nsegs;
		rc = dkv_geometry(o, &psz, &ssz, &nsegs);
		if (rc)
			return rc;
		memset(page, 0, POOL_HDR_SIZE);
		dkv_fill_hdr(ph, psz, ssz, nsegs);
		pool_hdr_seal(ph);
		rc = iosf_put_file(b->dirfd, b->dir, BLK_STORE, page, POOL_HDR_SIZE);
		/* A new store was closed cleanly, as a new pool: its STATE says so
		 * (a crash before it leaves an empty store opened as unclean). */
		struct sb_state z;
		memset(&z, 0, sizeof(z));
		z.clean = 1;
		return rc ? rc : write_state(b, &z);
	}
	if (rc == DAXKV_ENOSTORE)
		return dkv_err(DAXKV_ENOSTORE, "no store at %s (no %s file%s)", b->dir, BLK_STORE,
			       o->create ? "" : "; open with create set to make one");
	if (rc)
		return rc;
	if (len < sizeof(*ph))
		return dkv_err(DAXKV_ENOTPOOL, "%s is not a daxkv store (its %s file has %zu "
			       "bytes)", b->dir, BLK_STORE, len);
	rc = pool_hdr_check(ph, ph->pool_size);
	if (rc && len >= POOL_HDR_BACKUP_OFF + sizeof(*ph) &&
	    pool_hdr_check((struct pool_hdr *)(page + POOL_HDR_BACKUP_OFF),
			   ((struct pool_hdr *)(page + POOL_HDR_BACKUP_OFF))->pool_size) == 0) {
		memcpy(ph, page + POOL_HDR_BACKUP_OFF, sizeof(*ph)); /* the copy is sound */
		rc = 0;
	}
	if (rc)
		return dkv_err(rc, "%s/%s: %s", b->dir, BLK_STORE, daxkv_errmsg());
	if (ph->seg_base != DKV_SEG_BASE || ph->seg_size < (64u << 10) ||
	    ph->seg_size > (1ull << 32))
		return dkv_err(DAXKV_ECORRUPT, "%s/%s: a geometry daxkv does not make", b->dir,
			       BLK_STORE);
	return 0;
}

/* ---- segment files found at open ---- */

struct rp_rec {
	uint64_t seq;
	uint64_t off;
};

struct rp_list {
	struct rp_rec *r;
	size_t n, cap;
};

static int rp_add(struct rp_list *l, uint64_t seq, uint64_t off)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4096;
		struct rp_rec *r = realloc(l->r, cap * sizeof(*r));
		if (!r)
			return dkv_err(DAXKV_ENOMEM, "out of memory (replay list)");
		l->r = r;
		l->cap = cap;
	}
	l->r[l->n++] = (struct rp_rec){ seq, off };
	return 0;
}

/* `daxkv check --repair` of a block store: this thread's next open scans
 * every segment (no hints) and cuts a sealed one at its first damaged
 * record instead of refusing it. */
static __thread bool tl_repair;

void blk_repair_next_open(bool on)
{
	tl_repair = on;
}

uint64_t blk_cut_bytes(const struct daxkv *db)
{
	return db->blk ? db->blk->cut_bytes : 0;
}

/* Scans segment id (mapped, its header in DRAM): lists its records, sets
 * its tail, cuts a torn one.  *min_seq, *max_seq: the seqs it holds. */
static int scan_seg(struct daxkv *db, uint32_t id, struct rp_list *l, uint64_t *min_seq,
		    uint64_t *max_seq, bool *torn)
{
	struct seg_hdr *h = dkv_seg_hdr(db, id);
	uint64_t start = dkv_seg_start(db, id), gen = SW_GEN(h->sw);
	bool sealed = SW_STATE(h->sw) == SEG_SEALED;
	uint64_t limit = start + (sealed ? h->tail : db->seg_size), off = start + SEG_DATA_OFF;
	size_t batch_from = SIZE_MAX; /* list index of an open batch's first record */
	uint64_t batch_off = 0, sz;
	*min_seq = UINT64_MAX;
	*max_seq = 0;
	while (off < limit && rec_check(db, off, gen, limit, &sz) == 0) {
		const struct rec_hdr *r = rec_at(db, off);
		int rc = rp_add(l, r->seq, off);
		if (rc)
			return rc;
		if ((r->flags & REC_F_BATCH) && batch_from == SIZE_MAX) {
			batch_from = l->n - 1;
			batch_off = off;
		}
		if (r->flags & REC_F_BATCH_LAST)
			batch_from = SIZE_MAX;
		*min_seq = r->seq < *min_seq ? r->seq : *min_seq;
		*max_seq = r->seq > *max_seq ? r->seq : *max_seq;
		off += sz;
	}
	if (sealed && off != limit && !tl_repair)
		return dkv_err(DAXKV_ECORRUPT, "%s: segment file %08x.seg: damaged record at %llu "
			       "of a sealed segment (tail %llu); `daxkv check --repair` cuts it "
			       "there", db->blk->dir, id, (unsigned long long)(off - start),
			       (unsigned long long)h->tail);
	if (sealed && off != limit) { /* repair: cut at the damage */
		db->blk->cut_bytes += limit - off;
		sealed = false;
	}
	if (batch_from != SIZE_MAX) { /* never committed: a torn batch at the end */
		l->n = batch_from;
		off = batch_off;
	}
	*torn = !sealed;
	h->tail = off - start;
	return 0;
}

/* A sealed segment's records from its hint file (blk.c writes it at seal):
 * 0 (listed), 1 (no sound hint: the caller scans), or an error.  Sound: its
 * magic, CRC, the segment's seed and tail, and entries naming records with
 * sane headers of the same seqs that tile the data to the tail. */
static int hint_seg(struct daxkv *db, uint32_t id, struct rp_list *l, uint64_t *lo,
		    uint64_t *hi)
{
	const struct seg_hdr *h = dkv_seg_hdr(db, id);
	if (SW_STATE(h->sw) != SEG_SEALED)
		return 1;
	char name[32];
	void *buf = NULL;
	size_t len = 0;
	blk_hint_name(id, name, sizeof(name));
	if (iosf_get_whole(db->blk->dirfd, name, &buf, &len) != 0) {
		dkv_clear_err();
		return 1;
	}
	const struct blk_hint_hdr *hh = buf;
	const struct blk_hint_ent *e = (const struct blk_hint_ent *)(hh + 1);
	bool ok = len >= sizeof(*hh) && hh->magic == BLK_HINT_MAGIC &&
		  hh->gen == SW_GEN(h->sw) && hh->tail == h->tail &&
		  hh->n == (len - sizeof(*hh)) / sizeof(*e) &&
		  len == sizeof(*hh) + hh->n * sizeof(*e);
	if (ok) {
		uint32_t c = dkv_crc(0, e, len - sizeof(*hh));
		ok = dkv_crc(c, hh, offsetof(struct blk_hint_hdr, crc)) == hh->crc;
	}
	/* The records it names must tile the data exactly, each header sane and
	 * of the hinted seq: the replay reads their keys (the values' CRCs are
	 * left to the reads, rec_verify). */
	uint64_t start = dkv_seg_start(db, id);
	for (uint64_t i = 0, at = SEG_DATA_OFF; ok && i <= hh->n; i++) {
		if (i == hh->n) {
			ok = at == h->tail;
			break;
		}
		ok = e[i].off == at && at + sizeof(struct rec_hdr) <= h->tail;
		const struct rec_hdr *r = ok ? rec_at(db, start + at) : NULL;
		ok = ok && (r->type == REC_PUT || r->type == REC_DEL) && r->klen > 0 &&
		     r->klen <= DAXKV_KEY_MAX && r->vlen <= DAXKV_VALUE_MAX && r->seq == e[i].seq &&
		     at + rec_size(r->klen, r->vlen) <= h->tail;
		if (ok)
			at += rec_size(r->klen, r->vlen);
	}
	int rc = ok ? 0 : 1;
	*lo = UINT64_MAX;
	*hi = 0;
	for (uint64_t i = 0; ok && !rc && i < hh->n; i++) {
		rc = rp_add(l, e[i].seq, start + e[i].off);
		*lo = e[i].seq < *lo ? e[i].seq : *lo;
		*hi = e[i].seq > *hi ? e[i].seq : *hi;
	}
	free(buf);
	return rc;
}

/* Maps every segment file, lists their records; the DRAM headers say
 * SEALED with the tail found. */
static int load_segments(struct daxkv *db, struct rp_list *l)
{
	struct dkv_blk *b = db->blk;
	int dfd = dup(b->dirfd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return pool_os_err(errno, "list", b->dir);
	}
	int rc = 0;
	uint64_t max_gen = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d)) != NULL) {
		char name[32], *end;
		if (strlen(e->d_name) != 12 || strcmp(e->d_name + 8, ".seg") != 0)
			continue; /* not a segment file (STORE, LOCK, *.tmp) */
		unsigned long id = strtoul(e->d_name, &end, 16);
		blk_seg_name((uint32_t)id, name, sizeof(name));
		if (end != e->d_name + 8 || strcmp(name, e->d_name) != 0)
			continue;
		if (id >= db->nsegs) {
			rc = dkv_err(DAXKV_ECORRUPT, "%s: segment file %s beyond the store's %u "
				     "segments", b->dir, name, db->nsegs);
			break;
		}
		struct seg_hdr *h = dkv_seg_hdr(db, id);
		rc = iosf_open_sealed(b->dirfd, name, db->seg_size, h, IOSF_BLOCK, h, IOSF_BLOCK);
		if (rc && rc != DAXKV_ENOSTORE)
			break;
		unsigned st = SW_STATE(h->sw);
		if (rc || h->magic != SEG_MAGIC || (st != SEG_ACTIVE && st != SEG_SEALED) ||
		    SW_GEN(h->sw) == 0) {
			if (rc) { /* short: its creation never finished */
				rc = 0;
				memset(h, 0, sizeof(*h));
			}
			if (!dkv_all_zero(h, sizeof(*h))) {
				rc = dkv_err(DAXKV_ECORRUPT, "%s/%s: not a segment header", b->dir,
					     name);
				break;
			}
			/* Created, first block never written: nothing in it was acked. */
			iosf_unmap(h, db->seg_size);
			h->magic = SEG_MAGIC;
			h->tail = SEG_DATA_OFF;
			if (!db->read_only)
				iosf_remove(b->dirfd, b->dir, name);
			continue;
		}
		uint64_t lo, hi;
		bool torn = false;
		rc = tl_repair ? 1 : hint_seg(db, id, l, &lo, &hi);
		if (rc < 0)
			break;
		if (rc == 0) {
			b->hinted++;
		} else {
			b->scanned++;
			rc = scan_seg(db, id, l, &lo, &hi, &torn);
			if (rc)
				break;
		}
		max_gen = SW_GEN(h->sw) > max_gen ? SW_GEN(h->sw) : max_gen;
		h->sw = SW_MAKE(SEG_SEALED, 0, SW_GEN(h->sw));
		h->age_seq = hi;
		h->live_bytes = 0;
		b->min_seq0[id] = lo; /* into the segment table by blk_replay */
		if (torn && !db->read_only) { /* cut off: sealed at the tail found */
			rc = iosf_rewrite(b->dirfd, b->dir, name, h, sizeof(*h), 0);
			char hint[32]; /* a repair's cut: the hint names records gone */
			blk_hint_name(id, hint, sizeof(hint));
			if (!rc)
				rc = iosf_remove(b->dirfd, b->dir, hint);
		}
	}
	closedir(d);
	atomic_store(&b->next_gen, max_gen + 1);
	return rc;
}

static int rp_cmp(const void *a, const void *b)
{
	const struct rp_rec *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The counters a clean close left (STATE), into the volatile superblock;
 * a read-write open removes the file, so that only a clean close of this
 * session brings it back (create writes the first).  No file: unclean. */
static int load_state(struct daxkv *db)
{
	struct dkv_blk *b = db->blk;
	struct blk_state st;
	size_t len = 0;
	int rc = iosf_get_file(b->dirfd, BLK_STATE, &st, sizeof(st), &len);
	if (rc == DAXKV_ENOSTORE) { /* the last session did not close */
		db->sb->clean = 0;
		return 0;
	}
	if (rc)
		return rc;
	if (len == sizeof(st) && dkv_crc(0, &st.sb, sizeof(st.sb)) == st.crc &&
	    st.sb.clean == 1) {
		*db->sb = st.sb;
		db->sb->boot_gen = 0;
	} else {
		db->sb->clean = 0; /* damaged: the replay knows better anyway */
	}
	if (db->read_only)
		return 0;
	rc = iosf_remove(b->dirfd, b->dir, BLK_STATE);
	return rc ? rc : iosf_dir_sync(b->dirfd, b->dir);
}

static int save_state(struct daxkv *db)
{
	return write_state(db->blk, db->sb);
}

int blk_open(struct daxkv *db, const char *path, const daxkv_options *o)
{
	struct dkv_blk *b = calloc(1, sizeof(*b));
	if (!b)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	b->dirfd = b->lockfd = -1;
	pthread_mutexattr_t ma; /* appends are short: spin before sleeping */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&b->log_mu, &ma);
	pthread_mutexattr_destroy(&ma);
	snprintf(b->dir, sizeof(b->dir), "%s", path);
	db->blk = b;
	char *hdrpage = calloc(1, POOL_HDR_SIZE); /* copied into the pool below */
	if (!hdrpage)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	int rc = open_dir(b, path, o);
	if (!rc)
		rc = read_store(db, o, hdrpage);
	if (rc) {
		free(hdrpage);
		return rc;
	}
	const struct pool_hdr *ph = (const struct pool_hdr *)hdrpage;
	void *base = mmap(NULL, ph->pool_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		rc = dkv_err(DAXKV_ENOMEM, "mapping %llu bytes for the volatile pool: %s",
			     (unsigned long long)ph->pool_size, strerror(errno));
		free(hdrpage);
		return rc;
	}
	db->pool.base = base;
	db->pool.size = ph->pool_size;
	db->pool.hdr = (const struct pool_hdr *)base;
	db->base = base;
	memcpy(base, hdrpage, POOL_HDR_SIZE);
	free(hdrpage);
	ph = db->pool.hdr;
	db->seg_size = ph->seg_size;
	db->seg_base = ph->seg_base;
	db->nsegs = ph->nsegs;
	b->files = calloc(db->nsegs, sizeof(*b->files));
	b->min_seq0 = calloc(db->nsegs, sizeof(*b->min_seq0));
	if (!b->files || !b->min_seq0)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	db->head = (struct sl_node *)((char *)base + DKV_HEAD_OFF);
	dkv_format_layout(db, db->seg_size, db->nsegs);
	struct rp_list *l = calloc(1, sizeof(*l));
	if (!l)
		return dkv_err(DAXKV_ENOMEM, "out of memory");
	b->replay = l;
	db->sb = (struct sb_state *)((char *)base + DKV_SB_STATE_OFF);
	rc = load_segments(db, l);
	return rc ? rc : load_state(db);
}

int blk_replay(struct daxkv *db)
{
	struct rp_list *l = db->blk->replay;
	db->blk->replay = NULL;
	int rc = 0;
	uint64_t max_seq = 0;
	for (uint32_t id = 0; id < db->nsegs; id++) {
		struct dkv_seg *s = &db->segs[id];
		if (s->state != SEG_SEALED)
			continue;
		atomic_store(&s->min_seq, db->blk->min_seq0[id]);
		atomic_store(&s->live, 0);
		max_seq = s->age_seq > max_seq ? s->age_seq : max_seq;
	}
	/* The replay counts the keys (attach took a clean close's count). */
	for (unsigned ln = 0; ln < DKV_LANES; ln++)
		atomic_store(&db->lanes[ln].keys, 0);
	atomic_store(&db->needs_recount, 0);
	if (l->n)
		qsort(l->r, l->n, sizeof(*l->r), rp_cmp);
	epoch_pin();
	for (size_t i = 0; !rc && i < l->n; i++) {
		const struct rec_hdr *h = rec_at(db, l->r[i].off);
		struct sl_put op = { .key = { rec_key(h), h->klen }, .vlen = h->vlen,
				     .is_delete = h->type == REC_DEL, .pre_off = l->r[i].off,
				     .pre_seq = h->seq };
		rc = sl_put(db, 0, &op);
		if (rc == DAXKV_ENOTFOUND)
			rc = 0; /* a delete of a key already gone */
	}
	epoch_unpin();
	free(l->r);
	free(l);
	if (rc)
		return rc;
	if (max_seq > atomic_load(&db->seq))
		atomic_store(&db->seq, max_seq);
	if (!db->read_only)
		dkv_lease_extend(db, atomic_load(&db->seq));
	return 0;
}

int blk_close(struct daxkv *db)
{
	struct dkv_blk *b = db->blk;
	int rc = 0;
	if (!b)
		return 0;
	if (!db->read_only && !atomic_load(&db->broken)) {
		/* Sealed with their exact tails: the next open cuts nothing. */
		unsigned lanes[2] = { 0, DKV_GC_LANE };
		for (unsigned i = 0; i < 2; i++) {
			int id = db->lanes[lanes[i]].seg;
			if (id >= 0) {
				int r = seg_seal(db, (uint32_t)id);
				rc = rc ? rc : r;
				db->lanes[lanes[i]].seg = -1;
			}
		}
		if (!rc)
			rc = save_state(db);
	}
	return rc;
}

void blk_free(struct daxkv *db)
{
	struct dkv_blk *b = db->blk;
	if (!b)
		return;
	if (b->files)
		for (uint32_t id = 0; id < db->nsegs; id++)
			iosf_close(atomic_load(&b->files[id]));
	if (b->replay) {
		free(b->replay->r);
		free(b->replay);
	}
	free(b->files);
	free(b->min_seq0);
	if (b->lockfd >= 0)
		close(b->lockfd);
	if (b->dirfd >= 0)
		close(b->dirfd);
	pthread_mutex_destroy(&b->log_mu);
	free(b);
	db->blk = NULL;
}
