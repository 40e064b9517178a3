/*
 * engines_peers.c -- RocksDB, LevelDB and LMDB adapters, each set up durably the
 * way docs/BENCHMARKS.md ("Engines") says (sync=0 turns their syncs off, for comparison), each
 * behind its HAVE_* switch from CMake.
 *
 * Every get copies the value into the caller's buffer, as daxkv_get does; every
 * scan opens a fresh iterator (cursor) and reads each key and value it passes.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- RocksDB ------------------------------------------------------------------------------ */
#ifdef HAVE_ROCKSDB
#include <rocksdb/c.h>

struct rdb {
	rocksdb_t *db;
	rocksdb_options_t *opt;
	rocksdb_block_based_table_options_t *bbto;
	rocksdb_writeoptions_t *wo;
	rocksdb_readoptions_t *ro;
};

static int rdb_err(const char *what, char *err)
{
	kv_seterr("%s: %s", what, err);
	rocksdb_free(err);
	return KV_ERR;
}

static int rdb_close(void *eng)
{
	struct rdb *r = eng;
	if (r->db)
		rocksdb_close(r->db);
	if (r->wo)
		rocksdb_writeoptions_destroy(r->wo);
	if (r->ro)
		rocksdb_readoptions_destroy(r->ro);
	if (r->opt)
		rocksdb_options_destroy(r->opt);
	if (r->bbto)
		rocksdb_block_based_options_destroy(r->bbto); /* owns the filter policy */
	free(r);
	return KV_OK;
}

static int rdb_open(const struct job *j, const char *path, void **eng)
{
	struct rdb *r = calloc(1, sizeof(*r));
	if (!r) {
		kv_seterr("rocksdb: out of memory");
		return KV_ERR;
	}
	r->opt = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(r->opt, 1);
	rocksdb_options_set_error_if_exists(r->opt, 1);
	rocksdb_options_set_compression(r->opt, rocksdb_no_compression);
	r->bbto = rocksdb_block_based_options_create();
	rocksdb_block_based_options_set_filter_policy(r->bbto, rocksdb_filterpolicy_create_bloom(10));
	rocksdb_options_set_block_based_table_factory(r->opt, r->bbto);
	r->wo = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(r->wo, j->sync); /* WAL stays on (the default) */
	r->ro = rocksdb_readoptions_create();
	char *err = NULL;
	r->db = rocksdb_open(r->opt, path, &err);
	if (err) {
		rdb_err("rocksdb_open", err);
		r->db = NULL;
		rdb_close(r);
		return KV_ERR;
	}
	*eng = r;
	return KV_OK;
}

static int rdb_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, const void *v,
		   size_t vl)
{
	struct rdb *r = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	rocksdb_put(r->db, r->wo, k, kl, v, vl, &err);
	return err ? rdb_err("rocksdb_put", err) : KV_OK;
}

static int rdb_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, void *buf,
		   size_t cap, size_t *vl)
{
	struct rdb *r = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	rocksdb_pinnableslice_t *ps = rocksdb_get_pinned(r->db, r->ro, k, kl, &err);
	if (err)
		return rdb_err("rocksdb_get_pinned", err);
	if (!ps)
		return KV_NOTFOUND;
	size_t len = 0;
	const char *val = rocksdb_pinnableslice_value(ps, &len);
	memcpy(buf, val, len < cap ? len : cap);
	*vl = len;
	rocksdb_pinnableslice_destroy(ps);
	return KV_OK;
}

static int rdb_del(void *eng, void *tctx, const void *k, size_t kl)
{
	struct rdb *r = eng;
	(void)tctx;
	char *err = NULL;
	rocksdb_delete(r->db, r->wo, k, kl, &err);
	return err ? rdb_err("rocksdb_delete", err) : KV_OK;
}

static int rdb_scan(void *eng, void *tctx, const void *k, size_t kl, uint64_t n, uint64_t *got)
{
	struct rdb *r = eng;
	(void)tctx;
	rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, r->ro);
	if (k)
		rocksdb_iter_seek(it, k, kl);
	else
		rocksdb_iter_seek_to_first(it);
	uint64_t i = 0;
	size_t len;
	for (; rocksdb_iter_valid(it) && (n == 0 || i < n); i++) {
		(void)rocksdb_iter_key(it, &len);
		(void)rocksdb_iter_value(it, &len);
		rocksdb_iter_next(it);
	}
	char *err = NULL;
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	*got = i;
	return err ? rdb_err("rocksdb iterator", err) : KV_OK;
}

static int rdb_prepare_read(void *eng)
{
	struct rdb *r = eng;
	char *err = NULL;
	rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
	rocksdb_flushoptions_set_wait(fo, 1);
	rocksdb_flush(r->db, fo, &err);
	rocksdb_flushoptions_destroy(fo);
	if (err)
		return rdb_err("rocksdb_flush", err);
	rocksdb_compact_range(r->db, NULL, 0, NULL, 0);
	return KV_OK;
}

static void rdb_describe(void *eng, char *buf, size_t n)
{
	struct rdb *r = eng;
	char *lv = rocksdb_property_value(r->db, "rocksdb.num-files-at-level0");
	char *sz = rocksdb_property_value(r->db, "rocksdb.total-sst-files-size");
	snprintf(buf, n, "L0 files=%s, sst bytes=%s", lv ? lv : "?", sz ? sz : "?");
	rocksdb_free(lv);
	rocksdb_free(sz);
}

const struct kv_engine engine_rocksdb = {
	.name = "rocksdb",
	.caps = CAP_SCAN | CAP_DELETE,
	.setup = "WriteOptions.sync=1, WAL on, compression off, 10-bit Bloom; flush + "
		 "CompactRange before a read job that follows writes (timed apart)",
	.open = rdb_open,
	.close = rdb_close,
	.put = rdb_put,
	.get = rdb_get,
	.del = rdb_del,
	.scan = rdb_scan,
	.prepare_read = rdb_prepare_read,
	.describe = rdb_describe,
};
#endif /* HAVE_ROCKSDB */

/* ---- LevelDB ------------------------------------------------------------------------------ */
#ifdef HAVE_LEVELDB
#include <leveldb/c.h>

struct ldb {
	leveldb_t *db;
	leveldb_options_t *opt;
	leveldb_filterpolicy_t *bloom;
	leveldb_writeoptions_t *wo;
	leveldb_readoptions_t *ro;
};

static int ldb_err(const char *what, char *err)
{
	kv_seterr("%s: %s", what, err);
	leveldb_free(err);
	return KV_ERR;
}

static int ldb_close(void *eng)
{
	struct ldb *d = eng;
	if (d->db)
		leveldb_close(d->db);
	if (d->wo)
		leveldb_writeoptions_destroy(d->wo);
	if (d->ro)
		leveldb_readoptions_destroy(d->ro);
	if (d->opt)
		leveldb_options_destroy(d->opt);
	if (d->bloom)
		leveldb_filterpolicy_destroy(d->bloom);
	free(d);
	return KV_OK;
}

static int ldb_open(const struct job *j, const char *path, void **eng)
{
	struct ldb *d = calloc(1, sizeof(*d));
	if (!d) {
		kv_seterr("leveldb: out of memory");
		return KV_ERR;
	}
	d->opt = leveldb_options_create();
	leveldb_options_set_create_if_missing(d->opt, 1);
	leveldb_options_set_error_if_exists(d->opt, 1);
	leveldb_options_set_compression(d->opt, leveldb_no_compression);
	d->bloom = leveldb_filterpolicy_create_bloom(10);
	leveldb_options_set_filter_policy(d->opt, d->bloom);
	d->wo = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(d->wo, (unsigned char)j->sync);
	d->ro = leveldb_readoptions_create();
	char *err = NULL;
	d->db = leveldb_open(d->opt, path, &err);
	if (err) {
		ldb_err("leveldb_open", err);
		d->db = NULL;
		ldb_close(d);
		return KV_ERR;
	}
	*eng = d;
	return KV_OK;
}

static int ldb_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, const void *v,
		   size_t vl)
{
	struct ldb *d = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	leveldb_put(d->db, d->wo, k, kl, v, vl, &err);
	return err ? ldb_err("leveldb_put", err) : KV_OK;
}

static int ldb_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, void *buf,
		   size_t cap, size_t *vl)
{
	struct ldb *d = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	size_t len = 0;
	char *val = leveldb_get(d->db, d->ro, k, kl, &len, &err);
	if (err)
		return ldb_err("leveldb_get", err);
	if (!val)
		return KV_NOTFOUND;
	memcpy(buf, val, len < cap ? len : cap);
	*vl = len;
	leveldb_free(val);
	return KV_OK;
}

static int ldb_del(void *eng, void *tctx, const void *k, size_t kl)
{
	struct ldb *d = eng;
	(void)tctx;
	char *err = NULL;
	leveldb_delete(d->db, d->wo, k, kl, &err);
	return err ? ldb_err("leveldb_delete", err) : KV_OK;
}

static int ldb_scan(void *eng, void *tctx, const void *k, size_t kl, uint64_t n, uint64_t *got)
{
	struct ldb *d = eng;
	(void)tctx;
	leveldb_iterator_t *it = leveldb_create_iterator(d->db, d->ro);
	if (k)
		leveldb_iter_seek(it, k, kl);
	else
		leveldb_iter_seek_to_first(it);
	uint64_t i = 0;
	size_t len;
	for (; leveldb_iter_valid(it) && (n == 0 || i < n); i++) {
		(void)leveldb_iter_key(it, &len);
		(void)leveldb_iter_value(it, &len);
		leveldb_iter_next(it);
	}
	char *err = NULL;
	leveldb_iter_get_error(it, &err);
	leveldb_iter_destroy(it);
	*got = i;
	return err ? ldb_err("leveldb iterator", err) : KV_OK;
}

static void ldb_describe(void *eng, char *buf, size_t n)
{
	struct ldb *d = eng;
	char *l0 = leveldb_property_value(d->db, "leveldb.num-files-at-level0");
	snprintf(buf, n, "L0 files=%s (no manual compaction)", l0 ? l0 : "?");
	leveldb_free(l0);
}

const struct kv_engine engine_leveldb = {
	.name = "leveldb",
	.caps = CAP_SCAN | CAP_DELETE,
	.setup = "WriteOptions.sync=1, compression off, 10-bit Bloom (no manual compaction)",
	.open = ldb_open,
	.close = ldb_close,
	.put = ldb_put,
	.get = ldb_get,
	.del = ldb_del,
	.scan = ldb_scan,
	.describe = ldb_describe,
};
#endif /* HAVE_LEVELDB */

/* ---- LMDB ---------------------------------------------------------------------------------- */
#ifdef HAVE_LMDB
#include <lmdb.h>

struct lm {
	MDB_env *env;
	MDB_dbi dbi;
	size_t map_bytes;
};

struct lm_thread {
	MDB_txn *rtxn; /* reset between reads, renewed before each */
};

static int lm_err(const char *what, int rc)
{
	kv_seterr("%s: %s (%d)", what, mdb_strerror(rc), rc);
	return KV_ERR;
}

static int lm_open_dbi(struct lm *l)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return rc;
	rc = mdb_dbi_open(txn, NULL, 0, &l->dbi);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

static int lm_open(const struct job *j, const char *path, void **eng)
{
	if (j->ks > 511) {
		kv_seterr("lmdb: keys of at most 511 bytes (ks=%llu)", (unsigned long long)j->ks);
		return KV_ENOTSUP;
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		kv_seterr("lmdb: mkdir %s: %s", path, strerror(errno));
		return KV_ERR;
	}
	struct lm *l = calloc(1, sizeof(*l));
	if (!l) {
		kv_seterr("lmdb: out of memory");
		return KV_ERR;
	}
	/* Map >= 4x the data (copy-on-write needs room for freed pages). */
	uint64_t map = 4 * j->nrkeys * (j->ks + j->bs + 64);
	if (map < (256ull << 20))
		map = 256ull << 20;
	l->map_bytes = (size_t)((map + (1ull << 20) - 1) & ~((1ull << 20) - 1));
	int rc = mdb_env_create(&l->env);
	if (!rc)
		rc = mdb_env_set_mapsize(l->env, l->map_bytes);
	if (!rc)
		rc = mdb_env_set_maxreaders(l->env, j->numjobs + 126);
	/* Default sync flags: commit = fdatasync.  NOTLS lets reader slots follow txns. */
	unsigned flags = (j->numjobs > 1 ? MDB_NOTLS : 0) | (j->sync ? 0 : MDB_NOSYNC);
	if (!rc)
		rc = mdb_env_open(l->env, path, flags, 0644);
	if (!rc)
		rc = lm_open_dbi(l);
	if (rc) {
		lm_err("lmdb open", rc);
		if (l->env)
			mdb_env_close(l->env);
		free(l);
		return KV_ERR;
	}
	*eng = l;
	return KV_OK;
}

static int lm_close(void *eng)
{
	struct lm *l = eng;
	mdb_env_close(l->env);
	free(l);
	return KV_OK;
}

static int lm_thread_init(void *eng, void **tctx)
{
	struct lm *l = eng;
	struct lm_thread *t = calloc(1, sizeof(*t));
	if (!t) {
		kv_seterr("lmdb: out of memory");
		return KV_ERR;
	}
	int rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &t->rtxn);
	if (rc) {
		free(t);
		return lm_err("mdb_txn_begin(RDONLY)", rc);
	}
	mdb_txn_reset(t->rtxn);
	*tctx = t;
	return KV_OK;
}

static void lm_thread_fini(void *eng, void *tctx)
{
	(void)eng;
	struct lm_thread *t = tctx;
	mdb_txn_abort(t->rtxn);
	free(t);
}

/* One write transaction and commit per operation (docs/BENCHMARKS.md, "Engines"). */
static int lm_write(struct lm *l, const void *k, size_t kl, const void *v, size_t vl, int is_del)
{
	MDB_txn *txn = NULL;
	MDB_val key = {.mv_size = kl, .mv_data = (void *)(uintptr_t)k};
	int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return lm_err("mdb_txn_begin", rc);
	if (is_del) {
		rc = mdb_del(txn, l->dbi, &key, NULL);
	} else {
		MDB_val val = {.mv_size = vl, .mv_data = (void *)(uintptr_t)v};
		rc = mdb_put(txn, l->dbi, &key, &val, 0);
	}
	if (rc) {
		mdb_txn_abort(txn);
		if (is_del && rc == MDB_NOTFOUND)
			return KV_NOTFOUND;
		return lm_err(is_del ? "mdb_del" : "mdb_put", rc);
	}
	rc = mdb_txn_commit(txn);
	return rc ? lm_err("mdb_txn_commit", rc) : KV_OK;
}

static int lm_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, const void *v,
		  size_t vl)
{
	(void)tctx;
	(void)idx;
	return lm_write(eng, k, kl, v, vl, 0);
}

static int lm_del(void *eng, void *tctx, const void *k, size_t kl)
{
	(void)tctx;
	return lm_write(eng, k, kl, NULL, 0, 1);
}

static int lm_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t kl, void *buf,
		  size_t cap, size_t *vl)
{
	struct lm *l = eng;
	struct lm_thread *t = tctx;
	(void)idx;
	MDB_val key = {.mv_size = kl, .mv_data = (void *)(uintptr_t)k}, val;
	int rc = mdb_txn_renew(t->rtxn);
	if (rc)
		return lm_err("mdb_txn_renew", rc);
	rc = mdb_get(t->rtxn, l->dbi, &key, &val);
	if (rc == 0) {
		memcpy(buf, val.mv_data, val.mv_size < cap ? val.mv_size : cap);
		*vl = val.mv_size;
	}
	mdb_txn_reset(t->rtxn);
	if (rc == MDB_NOTFOUND)
		return KV_NOTFOUND;
	return rc ? lm_err("mdb_get", rc) : KV_OK;
}

static int lm_scan(void *eng, void *tctx, const void *k, size_t kl, uint64_t n, uint64_t *got)
{
	struct lm *l = eng;
	struct lm_thread *t = tctx;
	MDB_cursor *cur = NULL;
	MDB_val key = {.mv_size = kl, .mv_data = (void *)(uintptr_t)k}, val;
	uint64_t i = 0;
	int rc = mdb_txn_renew(t->rtxn);
	if (rc)
		return lm_err("mdb_txn_renew", rc);
	rc = mdb_cursor_open(t->rtxn, l->dbi, &cur);
	if (!rc) {
		rc = mdb_cursor_get(cur, &key, &val, k ? MDB_SET_RANGE : MDB_FIRST);
		for (; rc == 0 && (n == 0 || i < n); i++)
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		mdb_cursor_close(cur);
	}
	mdb_txn_reset(t->rtxn);
	*got = i;
	return rc && rc != MDB_NOTFOUND ? lm_err("mdb_cursor_get", rc) : KV_OK;
}

static void lm_describe(void *eng, char *buf, size_t n)
{
	struct lm *l = eng;
	MDB_stat st;
	MDB_envinfo info;
	if (mdb_env_stat(l->env, &st) || mdb_env_info(l->env, &info)) {
		snprintf(buf, n, "map=%.0fMiB", (double)l->map_bytes / 1048576.0);
		return;
	}
	snprintf(buf, n, "map=%.0fMiB, depth=%u, entries=%zu, last page=%zu",
		 (double)l->map_bytes / 1048576.0, st.ms_depth, st.ms_entries, info.me_last_pgno);
}

const struct kv_engine engine_lmdb = {
	.name = "lmdb",
	.caps = CAP_SCAN | CAP_DELETE,
	.setup = "one write txn + commit per put, default sync flags, map >= 4x data, MDB_NOTLS "
		 "when numjobs>1; reads in a reused read txn (renew/reset)",
	.open = lm_open,
	.close = lm_close,
	.thread_init = lm_thread_init,
	.thread_fini = lm_thread_fini,
	.put = lm_put,
	.get = lm_get,
	.del = lm_del,
	.scan = lm_scan,
	.describe = lm_describe,
};
#endif /* HAVE_LMDB */
