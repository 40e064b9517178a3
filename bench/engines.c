/*
 * engines.c -- the engine registry, daxkv's adapter and pmem-floor.
 *
 * pmem-floor is "the physical limit of a durable write" (docs/BENCHMARKS.md): each
 * put assembles header + key + value in DRAM and appends it to a pre-faulted
 * pmem-mapped file with one pmem_memcpy_persist.  The file is a ring (long
 * time-based runs wrap), its index a DRAM array by key number: its reads are a
 * memcpy out of the mapping, reported but not a lookup (no value check).
 */
#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libpmem.h>

#include "daxkv.h"

static _Thread_local char errbuf[1024];

const char *kv_errmsg(void)
{
	return errbuf;
}

void kv_seterr(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
}

/* ---- registry -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	const struct kv_engine *ops; /* NULL: not built in */
} registry[] = {
	{"daxkv", &engine_daxkv},
#ifdef HAVE_ROCKSDB
	{"rocksdb", &engine_rocksdb},
#else
	{"rocksdb", NULL},
#endif
#ifdef HAVE_LEVELDB
	{"leveldb", &engine_leveldb},
#else
	{"leveldb", NULL},
#endif
#ifdef HAVE_LMDB
	{"lmdb", &engine_lmdb},
#else
	{"lmdb", NULL},
#endif
	{"pmem-floor", &engine_floor},
};
#define NREG (sizeof(registry) / sizeof(registry[0]))

const struct kv_engine *engine_find(const char *name, int *known)
{
	for (size_t i = 0; i < NREG; i++) {
		if (strcmp(registry[i].name, name) == 0) {
			*known = 1;
			return registry[i].ops;
		}
	}
	*known = 0;
	return NULL;
}

const char *engine_list(void)
{
	static char buf[128];
	if (buf[0] == '\0') {
		size_t pos = 0;
		for (size_t i = 0; i < NREG; i++)
			if (registry[i].ops)
				pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s%s",
							pos ? "," : "", registry[i].name);
	}
	return buf;
}

/* ---- daxkv ---------------------------------------------------------------------------- */

static int dx_fail(const char *what, int rc)
{
	const char *hint = "";
	if (rc == DAXKV_ENOTSUP && !getenv("PMEM_IS_PMEM_FORCE"))
		hint = " (not a DAX path: on tmpfs set PMEM_IS_PMEM_FORCE=1 to emulate pmem)";
	kv_seterr("%s: %s (%d): %s%s", what, daxkv_strerror(rc), rc, daxkv_errmsg(), hint);
	return rc == DAXKV_ENOTSUP ? KV_ENOTSUP : KV_ERR;
}

/* Default pool: 4x the loaded data (room for overwrites before GC), >= 256 MiB. */
static uint64_t dx_pool_size(const struct job *j)
{
	if (j->pool_size)
		return j->pool_size;
	uint64_t data = j->nrkeys * (j->ks + j->bs + 64);
	uint64_t pool = 4 * data, unit = 64ull << 20;
	if (pool < (256ull << 20))
		pool = 256ull << 20;
	return (pool + unit - 1) / unit * unit;
}

static int dx_open(const struct job *j, const char *path, void **eng)
{
	static const int backends[] = {DAXKV_BACKEND_AUTO, DAXKV_BACKEND_DAX, DAXKV_BACKEND_BLOCK};
	static const int policies[] = {DAXKV_GC_DEFAULT, DAXKV_GC_COST_BENEFIT, DAXKV_GC_RATIO};
	daxkv_options o;
	daxkv_options_init(&o);
	o.pool_size = dx_pool_size(j);
	o.segment_size = j->segment_size;
	o.create = 1;
	o.backend = backends[j->backend];
	o.gc_background = j->gc;
	o.gc_ratio = j->gc_ratio;
	o.gc_policy = policies[j->gc_policy];
	o.gc_rate = j->gc_rate;
	daxkv *db = NULL;
	int rc = daxkv_open(path, &o, &db);
	if (rc != DAXKV_OK)
		return dx_fail("daxkv_open", rc);
	*eng = db;
	return KV_OK;
}

static int dx_close(void *eng)
{
	int rc = daxkv_close(eng);
	return rc == DAXKV_OK ? KV_OK : dx_fail("daxkv_close", rc);
}

static int dx_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, const void *v,
		  size_t vl)
{
	(void)tctx;
	(void)idx;
	int rc = daxkv_put(eng, k, kl, v, vl);
	return rc == DAXKV_OK ? KV_OK : dx_fail("daxkv_put", rc);
}

static int dx_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, void *buf,
		  size_t cap, size_t *vl)
{
	(void)tctx;
	(void)idx;
	int rc = daxkv_get(eng, k, kl, buf, cap, vl);
	if (rc == DAXKV_OK)
		return KV_OK;
	return rc == DAXKV_ENOTFOUND ? KV_NOTFOUND : dx_fail("daxkv_get", rc);
}

static int dx_del(void *eng, void *tctx, const void *k, size_t kl)
{
	(void)tctx;
	int rc = daxkv_delete(eng, k, kl);
	if (rc == DAXKV_OK)
		return KV_OK;
	return rc == DAXKV_ENOTFOUND ? KV_NOTFOUND : dx_fail("daxkv_delete", rc);
}

/* One iterator per scan (a snapshot, as RocksDB's NewIterator per YCSB scan); each
 * step reads the key and the value, as a reader would. */
static int dx_scan(void *eng, void *tctx, const void *k, size_t kl, uint64_t n, uint64_t *got)
{
	(void)tctx;
	daxkv_iter *it = NULL;
	int rc = daxkv_iter_new(eng, &it);
	if (rc != DAXKV_OK)
		return dx_fail("daxkv_iter_new", rc);
	if (k)
		daxkv_iter_seek(it, k, kl);
	else
		daxkv_iter_seek_first(it);
	uint64_t i = 0;
	size_t klen = 0, vlen = 0;
	for (; daxkv_iter_valid(it) && (n == 0 || i < n); i++) {
		(void)daxkv_iter_key(it, &klen);
		(void)daxkv_iter_value(it, &vlen);
		daxkv_iter_next(it);
	}
	rc = daxkv_iter_status(it);
	daxkv_iter_free(it);
	*got = i;
	return rc == DAXKV_OK ? KV_OK : dx_fail("daxkv iterator", rc);
}

static int dx_stats(void *eng, struct kv_stats *st)
{
	daxkv_stats s;
	int rc = daxkv_stats_get(eng, &s);
	if (rc != DAXKV_OK)
		return dx_fail("daxkv_stats_get", rc);
	*st = (struct kv_stats){.segments_free = s.segments_free,
				.segments_used = s.segments_used,
				.segment_size = s.segment_size,
				.live_bytes = s.live_bytes,
				.dead_bytes = s.dead_bytes,
				.bytes_written = s.bytes_written,
				.gc_bytes_moved = s.gc_bytes_moved,
				.gc_passes = s.gc_passes,
				.keys = s.keys,
				.backend_block = s.backend == DAXKV_BACKEND_BLOCK};
	return KV_OK;
}

static void dx_describe(void *eng, char *buf, size_t n)
{
	daxkv_stats s;
	if (daxkv_stats_get(eng, &s) != DAXKV_OK) {
		snprintf(buf, n, "stats unavailable");
		return;
	}
	char extra[160] = "";
	if (s.backend == DAXKV_BACKEND_BLOCK)
		snprintf(extra, sizeof(extra), " device_writes=%llu covered_waits=%llu",
			 (unsigned long long)s.device_writes, (unsigned long long)s.sync_waits);
	snprintf(buf, n, "backend=%s keys=%llu capacity=%.0fMiB segment=%.0fMiB gc_runs=%llu%s%s",
		 s.backend == DAXKV_BACKEND_BLOCK ? "block" : "dax", (unsigned long long)s.keys,
		 (double)s.capacity_bytes / 1048576.0, (double)s.segment_size / 1048576.0,
		 (unsigned long long)s.gc_runs, extra,
		 s.volatile_media ? " WARNING: volatile media (tmpfs/ramfs): nothing here "
				    "survives a reboot" : "");
}

const struct kv_engine engine_daxkv = {
	.name = "daxkv",
	.caps = CAP_SCAN | CAP_DELETE,
	.setup = "daxkv_put durable on return (DAX: flush + fence; block: group-commit "
		 "O_DIRECT write with RWF_DSYNC; sync= does not apply)",
	.open = dx_open,
	.close = dx_close,
	.put = dx_put,
	.get = dx_get,
	.del = dx_del,
	.scan = dx_scan,
	.stats = dx_stats,
	.describe = dx_describe,
};

/* ---- pmem-floor -------------------------------------------------------------------------- */

#define FLOOR_CHUNK_BYTES (2u << 20) /* a thread's private stretch of the ring */
#define FLOOR_HDR_BYTES 16

struct floor_hdr {
	uint32_t klen;
	uint32_t vlen;
	uint64_t idx;
};
_Static_assert(sizeof(struct floor_hdr) == FLOOR_HDR_BYTES, "floor header is 16 bytes");

struct floor {
	char *base;
	size_t size, chunk;
	uint64_t nchunks;
	int is_pmem;
	_Atomic uint64_t next_chunk; /* chunks handed out, ever (the ring wraps) */
	uint64_t nindex;
	_Atomic uint64_t *index; /* [nindex]: record offset + 1, 0 = absent */
};

struct floor_thread {
	uint64_t cur, end;
	size_t scratch_len;
	char *scratch;
};

static size_t floor_rec_bytes(size_t kl, size_t vl)
{
	return (FLOOR_HDR_BYTES + kl + vl + 7) & ~(size_t)7;
}

static int floor_open(const struct job *j, const char *path, void **eng)
{
	struct floor *f = calloc(1, sizeof(*f));
	if (!f) {
		kv_seterr("pmem-floor: out of memory");
		return KV_ERR;
	}
	size_t rec = floor_rec_bytes(j->ks, j->bs);
	f->chunk = rec > FLOOR_CHUNK_BYTES ? (rec + 4095) & ~(size_t)4095 : FLOOR_CHUNK_BYTES;
	uint64_t size = 2 * rec * j->nrkeys + (uint64_t)f->chunk * (j->numjobs + 1);
	if (size < (64ull << 20))
		size = 64ull << 20;
	size = (size + f->chunk - 1) / f->chunk * f->chunk;
	size_t mapped = 0;
	f->base = pmem_map_file(path, size, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0644, &mapped,
				&f->is_pmem);
	if (!f->base) {
		kv_seterr("pmem-floor: pmem_map_file(%s, %llu): %s", path, (unsigned long long)size,
			  pmem_errormsg());
		free(f);
		return KV_ERR;
	}
	f->size = mapped;
	f->nchunks = mapped / f->chunk;
	memset(f->base, 0, f->size); /* pre-fault every page */
	f->nindex = 2 * j->nrkeys;
	f->index = calloc(f->nindex, sizeof(*f->index));
	if (!f->index) {
		kv_seterr("pmem-floor: out of memory for the index");
		pmem_unmap(f->base, f->size);
		free(f);
		return KV_ERR;
	}
	*eng = f;
	return KV_OK;
}

static int floor_close(void *eng)
{
	struct floor *f = eng;
	int rc = pmem_unmap(f->base, f->size);
	free(f->index);
	free(f);
	if (rc != 0) {
		kv_seterr("pmem-floor: pmem_unmap: %s", strerror(errno));
		return KV_ERR;
	}
	return KV_OK;
}

static int floor_thread_init(void *eng, void **tctx)
{
	(void)eng;
	struct floor_thread *t = calloc(1, sizeof(*t));
	if (!t) {
		kv_seterr("pmem-floor: out of memory");
		return KV_ERR;
	}
	*tctx = t;
	return KV_OK;
}

static void floor_thread_fini(void *eng, void *tctx)
{
	(void)eng;
	struct floor_thread *t = tctx;
	free(t->scratch);
	free(t);
}

static int floor_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl,
		     const void *v, size_t vl)
{
	struct floor *f = eng;
	struct floor_thread *t = tctx;
	size_t rec = floor_rec_bytes(kl, vl);
	if (t->end - t->cur < rec) {
		uint64_t c = atomic_fetch_add_explicit(&f->next_chunk, 1, memory_order_relaxed);
		t->cur = (c % f->nchunks) * f->chunk;
		t->end = t->cur + f->chunk;
	}
	if (t->scratch_len < rec) {
		char *s = realloc(t->scratch, rec);
		if (!s) {
			kv_seterr("pmem-floor: out of memory");
			return KV_ERR;
		}
		t->scratch = s;
		t->scratch_len = rec;
	}
	struct floor_hdr h = {.klen = (uint32_t)kl, .vlen = (uint32_t)vl, .idx = idx};
	memcpy(t->scratch, &h, sizeof(h));
	memcpy(t->scratch + FLOOR_HDR_BYTES, k, kl);
	memcpy(t->scratch + FLOOR_HDR_BYTES + kl, v, vl);
	memset(t->scratch + FLOOR_HDR_BYTES + kl + vl, 0, rec - FLOOR_HDR_BYTES - kl - vl);
	pmem_memcpy_persist(f->base + t->cur, t->scratch, rec);
	if (idx < f->nindex)
		atomic_store_explicit(&f->index[idx], t->cur + 1, memory_order_relaxed);
	t->cur += rec;
	return KV_OK;
}

static int floor_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, void *buf,
		     size_t cap, size_t *vl)
{
	struct floor *f = eng;
	(void)tctx;
	(void)k;
	uint64_t off = idx < f->nindex ? atomic_load_explicit(&f->index[idx], memory_order_relaxed)
				       : 0;
	if (off == 0)
		return KV_NOTFOUND;
	const char *r = f->base + off - 1;
	struct floor_hdr h;
	memcpy(&h, r, sizeof(h));
	/* After the ring wrapped the slot may hold another record: copied all the same
	 * (the floor's reads measure a memcpy, not a lookup). */
	size_t len = h.klen == kl && h.vlen <= cap ? h.vlen : 0;
	if (off - 1 + FLOOR_HDR_BYTES + kl + len > f->size)
		len = 0;
	memcpy(buf, r + FLOOR_HDR_BYTES + kl, len);
	*vl = len;
	return KV_OK;
}

static void floor_describe(void *eng, char *buf, size_t n)
{
	struct floor *f = eng;
	uint64_t used = atomic_load(&f->next_chunk);
	snprintf(buf, n, "ring=%.0fMiB pre-faulted, pmem_is_pmem=%d, chunks used=%llu%s",
		 (double)f->size / 1048576.0, f->is_pmem, (unsigned long long)used,
		 used > f->nchunks ? " (wrapped)" : "");
}

const struct kv_engine engine_floor = {
	.name = "pmem-floor",
	.caps = CAP_NOVERIFY,
	.setup = "one pmem_memcpy_persist per record (16 B header + key + value, 8 B aligned) "
		 "appended to a pre-faulted pmem_map_file ring, 2 MiB chunk per thread; reads: "
		 "DRAM index + memcpy (not a lookup)",
	.open = floor_open,
	.close = floor_close,
	.thread_init = floor_thread_init,
	.thread_fini = floor_thread_fini,
	.put = floor_put,
	.get = floor_get,
	.describe = floor_describe,
};
