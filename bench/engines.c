/*
 * engines.c -- the engine registry, daxkv's adapter and the flush floor.
 *
 * The floor is "the physical limit of a durable write" (shared/PEERS.md): each
 * put assembles header + key + value in DRAM and appends it to a pre-faulted
 * pmem-mapped file with one pmem_memcpy_persist.  Its index is a DRAM array
 * indexed by the key's number, so its reads are a memcpy out of the mapping:
 * reported, but not comparable to a lookup.
 */
#include "kvbench.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <libpmem.h>

#ifndef KVBENCH_NO_DAXKV
#include "daxkv.h"
#endif

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

/* ---- registry ---------------------------------------------------------------- */

static const struct {
	const char *name;
	const struct kv_engine_ops *ops; /* NULL: not built in */
} registry[] = {
#ifndef KVBENCH_NO_DAXKV
	{"daxkv", &engine_daxkv},
#else
	{"daxkv", NULL},
#endif
#ifdef HAVE_ROCKSDB
	{"rocksdb", &engine_rocksdb},
#else
	{"rocksdb", NULL},
#endif
#ifdef HAVE_LMDB
	{"lmdb", &engine_lmdb},
#else
	{"lmdb", NULL},
#endif
#ifdef HAVE_LEVELDB
	{"leveldb", &engine_leveldb},
#else
	{"leveldb", NULL},
#endif
	{"floor", &engine_floor},
};

const struct kv_engine_ops *engine_find(const char *name, int *known)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
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
		for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
			if (!registry[i].ops)
				continue;
			if (buf[0])
				strcat(buf, ",");
			strcat(buf, registry[i].name);
		}
	}
	return buf;
}

/* ---- daxkv ------------------------------------------------------------------- */

#ifndef KVBENCH_NO_DAXKV
/* The store lives at <dir>/pool: a pool file (DAX backend) or what the block
 * backend makes of that path. */
#define DAXKV_POOL_NAME "pool"

static void dx_seterr(const char *what, int rc)
{
	const char *hint = "";
#ifdef DAXKV_ENOTSUP
	if (rc == DAXKV_ENOTSUP && !strstr(daxkv_errmsg(), "PMEM_IS_PMEM_FORCE"))
		hint = " (not a DAX path: on tmpfs set PMEM_IS_PMEM_FORCE=1 to emulate pmem)";
#endif
	kv_seterr("%s: %s (%d): %s%s", what, daxkv_strerror(rc), rc, daxkv_errmsg(), hint);
}

static int dx_open(const struct kv_config *cfg, const char *dir, void **eng)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, DAXKV_POOL_NAME) >= sizeof(path)) {
		kv_seterr("daxkv: path too long");
		return KV_ERR;
	}
	daxkv_options o;
	daxkv_options_init(&o);
	o.pool_size = cfg->pool_size;
	o.create = 1;
	o.backend = DAXKV_BACKEND_AUTO;
	o.gc_background = 0;
	daxkv *db = NULL;
	int rc = daxkv_open(path, &o, &db);
	if (rc != DAXKV_OK) {
		dx_seterr("daxkv_open", rc);
		return KV_ERR;
	}
	*eng = db;
	return KV_OK;
}

static int dx_close(void *eng)
{
	int rc = daxkv_close(eng);
	if (rc != DAXKV_OK) {
		dx_seterr("daxkv_close", rc);
		return KV_ERR;
	}
	return KV_OK;
}

static int dx_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, const void *v,
		  size_t vlen)
{
	(void)tctx;
	(void)idx;
	int rc = daxkv_put(eng, k, klen, v, vlen);
	if (rc != DAXKV_OK) {
		dx_seterr("daxkv_put", rc);
		return KV_ERR;
	}
	return KV_OK;
}

static int dx_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, void *buf,
		  size_t cap, size_t *vlen)
{
	(void)tctx;
	(void)idx;
	int rc = daxkv_get(eng, k, klen, buf, cap, vlen);
	if (rc == DAXKV_OK)
		return KV_OK;
	if (rc == DAXKV_ENOTFOUND)
		return KV_NOTFOUND;
	dx_seterr("daxkv_get", rc);
	return KV_ERR;
}

static int dx_del(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen)
{
	(void)tctx;
	(void)idx;
	int rc = daxkv_delete(eng, k, klen);
	if (rc == DAXKV_OK)
		return KV_OK;
	if (rc == DAXKV_ENOTFOUND)
		return KV_NOTFOUND;
	dx_seterr("daxkv_delete", rc);
	return KV_ERR;
}

static void dx_describe(void *eng, char *buf, size_t n)
{
	daxkv_stats st;
	int rc = daxkv_stats_get(eng, &st);
	if (rc != DAXKV_OK) {
		snprintf(buf, n, "stats: %s", daxkv_strerror(rc));
		return;
	}
	snprintf(buf, n,
		 "backend=%s keys=%llu live=%.1fMiB dead=%.1fMiB capacity=%.1fMiB segments=%llu+%llu "
		 "free",
		 st.backend == DAXKV_BACKEND_DAX ? "dax"
		 : st.backend == DAXKV_BACKEND_BLOCK ? "block"
						      : "?",
		 (unsigned long long)st.keys, (double)st.live_bytes / 1048576.0,
		 (double)st.dead_bytes / 1048576.0, (double)st.capacity_bytes / 1048576.0,
		 (unsigned long long)st.segments_used, (unsigned long long)st.segments_free);
}

const struct kv_engine_ops engine_daxkv = {
	.name = "daxkv",
	.phase_mask = (1u << PH__COUNT) - 1,
	.setup = "daxkv_put durable on return; backend AUTO, gc_background=0",
	.open = dx_open,
	.close = dx_close,
	.put = dx_put,
	.get = dx_get,
	.del = dx_del,
	.describe = dx_describe,
};
#endif /* KVBENCH_NO_DAXKV */

/* ---- the flush floor ----------------------------------------------------------- */

#define FLOOR_CHUNK_BYTES (2u << 20) /* a thread's private stretch of the log */
#define FLOOR_HDR_BYTES 16

struct floor_hdr {
	uint32_t klen;
	uint32_t vlen;
	uint64_t idx;
};
_Static_assert(sizeof(struct floor_hdr) == FLOOR_HDR_BYTES, "floor header is 16 bytes");

struct floor {
	char *base;
	size_t size;
	int is_pmem;
	size_t chunk;
	_Atomic uint64_t next_chunk; /* offset of the next unclaimed chunk */
	uint64_t keys;
	uint64_t *index; /* [keys]: record offset + 1, 0 = absent; each slot has one writer */
};

struct floor_thread {
	uint64_t cur, end; /* the thread's current chunk */
	size_t scratch_len;
	char *scratch; /* the record assembled in DRAM */
};

static size_t floor_rec_bytes(size_t klen, size_t vlen)
{
	return (FLOOR_HDR_BYTES + klen + vlen + 7) & ~(size_t)7;
}

static int floor_open(const struct kv_config *cfg, const char *dir, void **eng)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/log", dir) >= sizeof(path)) {
		kv_seterr("floor: path too long");
		return KV_ERR;
	}
	struct floor *f = calloc(1, sizeof(*f));
	if (!f) {
		kv_seterr("floor: out of memory");
		return KV_ERR;
	}
	size_t rec = floor_rec_bytes(cfg->key_size, cfg->value_size);
	f->chunk = rec > FLOOR_CHUNK_BYTES ? rec : FLOOR_CHUNK_BYTES;
	unsigned puts = cfg->puts_phases ? cfg->puts_phases : 1;
	/* Every put phase appends every key; each thread wastes at most a chunk per phase. */
	uint64_t size = (uint64_t)rec * cfg->keys * puts +
			(uint64_t)f->chunk * (cfg->threads + 1) * (puts + 1);
	size = (size + FLOOR_CHUNK_BYTES - 1) / FLOOR_CHUNK_BYTES * FLOOR_CHUNK_BYTES;
	size_t mapped = 0;
	f->base = pmem_map_file(path, size, PMEM_FILE_CREATE | PMEM_FILE_EXCL, 0644, &mapped,
				&f->is_pmem);
	if (!f->base) {
		kv_seterr("floor: pmem_map_file(%s, %llu): %s", path, (unsigned long long)size,
			  pmem_errormsg());
		free(f);
		return KV_ERR;
	}
	f->size = mapped;
	memset(f->base, 0, f->size); /* pre-fault every page */
	f->keys = cfg->keys;
	f->index = calloc(cfg->keys, sizeof(uint64_t));
	if (!f->index) {
		kv_seterr("floor: out of memory for the index");
		pmem_unmap(f->base, f->size);
		free(f);
		return KV_ERR;
	}
	atomic_init(&f->next_chunk, 0);
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
		kv_seterr("floor: pmem_unmap: %s", strerror(errno));
		return KV_ERR;
	}
	return KV_OK;
}

static int floor_thread_init(void *eng, void **tctx)
{
	(void)eng;
	struct floor_thread *t = calloc(1, sizeof(*t));
	if (!t) {
		kv_seterr("floor: out of memory");
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

static int floor_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen,
		     const void *v, size_t vlen)
{
	struct floor *f = eng;
	struct floor_thread *t = tctx;
	size_t rec = floor_rec_bytes(klen, vlen);
	if (idx >= f->keys) {
		kv_seterr("floor: key index %llu out of range", (unsigned long long)idx);
		return KV_ERR;
	}
	if (t->end - t->cur < rec) {
		uint64_t off = atomic_fetch_add_explicit(&f->next_chunk, f->chunk,
							 memory_order_relaxed);
		if (off + f->chunk > f->size) {
			kv_seterr("floor: log full (%zu bytes)", f->size);
			return KV_ERR;
		}
		t->cur = off;
		t->end = off + f->chunk;
	}
	if (t->scratch_len < rec) {
		char *s = realloc(t->scratch, rec);
		if (!s) {
			kv_seterr("floor: out of memory");
			return KV_ERR;
		}
		t->scratch = s;
		t->scratch_len = rec;
	}
	struct floor_hdr h = {.klen = (uint32_t)klen, .vlen = (uint32_t)vlen, .idx = idx};
	memcpy(t->scratch, &h, sizeof(h));
	memcpy(t->scratch + FLOOR_HDR_BYTES, k, klen);
	memcpy(t->scratch + FLOOR_HDR_BYTES + klen, v, vlen);
	memset(t->scratch + FLOOR_HDR_BYTES + klen + vlen, 0, rec - FLOOR_HDR_BYTES - klen - vlen);
	pmem_memcpy_persist(f->base + t->cur, t->scratch, rec);
	f->index[idx] = t->cur + 1;
	t->cur += rec;
	return KV_OK;
}

static int floor_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, void *buf,
		     size_t cap, size_t *vlen)
{
	struct floor *f = eng;
	(void)tctx;
	if (idx >= f->keys || f->index[idx] == 0)
		return KV_NOTFOUND;
	const char *r = f->base + f->index[idx] - 1;
	struct floor_hdr h;
	memcpy(&h, r, sizeof(h));
	if (h.klen != klen || memcmp(r + FLOOR_HDR_BYTES, k, klen) != 0) {
		kv_seterr("floor: record for key index %llu holds another key",
			  (unsigned long long)idx);
		return KV_ERR;
	}
	*vlen = h.vlen;
	memcpy(buf, r + FLOOR_HDR_BYTES + klen, h.vlen < cap ? h.vlen : cap);
	return KV_OK;
}

static void floor_describe(void *eng, char *buf, size_t n)
{
	struct floor *f = eng;
	snprintf(buf, n, "log=%.0fMiB pre-faulted, pmem_is_pmem=%d, used=%.1fMiB", (double)f->size / 1048576.0,
		 f->is_pmem, (double)atomic_load(&f->next_chunk) / 1048576.0);
}

const struct kv_engine_ops engine_floor = {
	.name = "floor",
	.phase_mask = (1u << PH_FILL) | (1u << PH_OVERWRITE) | (1u << PH_READ) |
		      (1u << PH_READMISSING),
	.setup = "one pmem_memcpy_persist per record (16 B header + key + value, 8 B aligned) "
		 "appended to a pre-faulted pmem_map_file log, per-thread 2 MiB chunks",
	.read_note = "floor reads: a DRAM array indexed by key number + memcpy from the mapped "
		     "log; not a lookup, a lower bound only",
	.open = floor_open,
	.close = floor_close,
	.thread_init = floor_thread_init,
	.thread_fini = floor_thread_fini,
	.put = floor_put,
	.get = floor_get,
	.describe = floor_describe,
};
