/*
 * engines_peers.c -- RocksDB, LMDB and LevelDB adapters, each set up durably the
 * way shared/PEERS.md says, each behind its HAVE_* switch from CMake.
 *
 * Every get copies the value into the caller's buffer, as daxkv_get does.
 */
#include "kvbench.h"

#include <stdlib.h>
#include <string.h>

/* ---- RocksDB ------------------------------------------------------------------- */
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

static int rdb_open(const struct kv_config *cfg, const char *dir, void **eng)
{
	(void)cfg;
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
	rocksdb_writeoptions_set_sync(r->wo, 1); /* WAL stays on (the default) */
	r->ro = rocksdb_readoptions_create();
	char *err = NULL;
	r->db = rocksdb_open(r->opt, dir, &err);
	if (err) {
		rdb_err("rocksdb_open", err);
		r->db = NULL;
		rdb_close(r);
		return KV_ERR;
	}
	*eng = r;
	return KV_OK;
}

static int rdb_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, const void *v,
		   size_t vlen)
{
	struct rdb *r = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	rocksdb_put(r->db, r->wo, k, klen, v, vlen, &err);
	return err ? rdb_err("rocksdb_put", err) : KV_OK;
}

static int rdb_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, void *buf,
		   size_t cap, size_t *vlen)
{
	struct rdb *r = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	rocksdb_pinnableslice_t *ps = rocksdb_get_pinned(r->db, r->ro, k, klen, &err);
	if (err)
		return rdb_err("rocksdb_get_pinned", err);
	if (!ps)
		return KV_NOTFOUND;
	size_t len = 0;
	const char *val = rocksdb_pinnableslice_value(ps, &len);
	memcpy(buf, val, len < cap ? len : cap);
	*vlen = len;
	rocksdb_pinnableslice_destroy(ps);
	return KV_OK;
}

static int rdb_del(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen)
{
	struct rdb *r = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	rocksdb_delete(r->db, r->wo, k, klen, &err);
	return err ? rdb_err("rocksdb_delete", err) : KV_OK;
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

const struct kv_engine_ops engine_rocksdb = {
	.name = "rocksdb",
	.phase_mask = (1u << PH__COUNT) - 1,
	.setup = "WriteOptions.sync=1, WAL on, compression off, 10-bit Bloom; flush + "
		 "CompactRange before reads (the 'compact' row)",
	.open = rdb_open,
	.close = rdb_close,
	.put = rdb_put,
	.get = rdb_get,
	.del = rdb_del,
	.prepare_read = rdb_prepare_read,
	.describe = rdb_describe,
};
#endif /* HAVE_ROCKSDB */

/* ---- LMDB ---------------------------------------------------------------------- */
#ifdef HAVE_LMDB
#include <lmdb.h>

struct lm {
	MDB_env *env;
	MDB_dbi dbi;
	size_t map_bytes;
};

struct lm_thread {
	MDB_txn *rtxn; /* reset between gets, renewed before each */
};

static int lm_err(const char *what, int rc)
{
	kv_seterr("%s: %s (%d)", what, mdb_strerror(rc), rc);
	return KV_ERR;
}

static int lm_open(const struct kv_config *cfg, const char *dir, void **eng)
{
	struct lm *l = calloc(1, sizeof(*l));
	if (!l) {
		kv_seterr("lmdb: out of memory");
		return KV_ERR;
	}
	/* Map size >= 4x the data (copy-on-write needs room for freed pages). */
	uint64_t data = cfg->keys * (uint64_t)(cfg->key_size + cfg->value_size + 64);
	uint64_t map = 4 * data;
	if (map < (64ull << 20))
		map = 64ull << 20;
	map = (map + (1ull << 20) - 1) & ~((1ull << 20) - 1);
	l->map_bytes = map;
	int rc = mdb_env_create(&l->env);
	if (rc)
		goto fail;
	rc = mdb_env_set_mapsize(l->env, map);
	if (rc)
		goto fail;
	rc = mdb_env_set_maxreaders(l->env, cfg->threads + 126);
	if (rc)
		goto fail;
	/* Default sync flags: commit = fdatasync.  NOTLS lets reader slots follow txns. */
	rc = mdb_env_open(l->env, dir, cfg->threads > 1 ? MDB_NOTLS : 0, 0644);
	if (rc)
		goto fail;
	MDB_txn *txn = NULL;
	rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		goto fail;
	rc = mdb_dbi_open(txn, NULL, 0, &l->dbi);
	if (rc) {
		mdb_txn_abort(txn);
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	if (rc)
		goto fail;
	*eng = l;
	return KV_OK;
fail:
	lm_err("lmdb open", rc);
	if (l->env)
		mdb_env_close(l->env);
	free(l);
	return KV_ERR;
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

static int lm_write(struct lm *l, const void *k, size_t klen, const void *v, size_t vlen,
		    int is_del)
{
	MDB_txn *txn = NULL;
	MDB_val key = {.mv_size = klen, .mv_data = (void *)(uintptr_t)k};
	int rc = mdb_txn_begin(l->env, NULL, 0, &txn);
	if (rc)
		return lm_err("mdb_txn_begin", rc);
	if (is_del) {
		rc = mdb_del(txn, l->dbi, &key, NULL);
	} else {
		MDB_val val = {.mv_size = vlen, .mv_data = (void *)(uintptr_t)v};
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

static int lm_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, const void *v,
		  size_t vlen)
{
	(void)tctx;
	(void)idx;
	return lm_write(eng, k, klen, v, vlen, 0);
}

static int lm_del(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen)
{
	(void)tctx;
	(void)idx;
	return lm_write(eng, k, klen, NULL, 0, 1);
}

static int lm_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, void *buf,
		  size_t cap, size_t *vlen)
{
	struct lm *l = eng;
	struct lm_thread *t = tctx;
	(void)idx;
	MDB_val key = {.mv_size = klen, .mv_data = (void *)(uintptr_t)k}, val;
	int rc = mdb_txn_renew(t->rtxn);
	if (rc)
		return lm_err("mdb_txn_renew", rc);
	rc = mdb_get(t->rtxn, l->dbi, &key, &val);
	if (rc == 0) {
		memcpy(buf, val.mv_data, val.mv_size < cap ? val.mv_size : cap);
		*vlen = val.mv_size;
	}
	mdb_txn_reset(t->rtxn);
	if (rc == MDB_NOTFOUND)
		return KV_NOTFOUND;
	return rc ? lm_err("mdb_get", rc) : KV_OK;
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

const struct kv_engine_ops engine_lmdb = {
	.name = "lmdb",
	.phase_mask = (1u << PH__COUNT) - 1,
	.setup = "one write txn + commit per put, default sync flags, map >= 4x data, MDB_NOTLS "
		 "when threads>1; gets in a reused read txn (renew/reset)",
	.open = lm_open,
	.close = lm_close,
	.thread_init = lm_thread_init,
	.thread_fini = lm_thread_fini,
	.put = lm_put,
	.get = lm_get,
	.del = lm_del,
	.describe = lm_describe,
};
#endif /* HAVE_LMDB */

/* ---- LevelDB ------------------------------------------------------------------- */
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

static int ldb_open(const struct kv_config *cfg, const char *dir, void **eng)
{
	(void)cfg;
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
	leveldb_writeoptions_set_sync(d->wo, 1);
	d->ro = leveldb_readoptions_create();
	char *err = NULL;
	d->db = leveldb_open(d->opt, dir, &err);
	if (err) {
		ldb_err("leveldb_open", err);
		d->db = NULL;
		ldb_close(d);
		return KV_ERR;
	}
	*eng = d;
	return KV_OK;
}

static int ldb_put(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, const void *v,
		   size_t vlen)
{
	struct ldb *d = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	leveldb_put(d->db, d->wo, k, klen, v, vlen, &err);
	return err ? ldb_err("leveldb_put", err) : KV_OK;
}

static int ldb_get(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen, void *buf,
		   size_t cap, size_t *vlen)
{
	struct ldb *d = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	size_t len = 0;
	char *val = leveldb_get(d->db, d->ro, k, klen, &len, &err);
	if (err)
		return ldb_err("leveldb_get", err);
	if (!val)
		return KV_NOTFOUND;
	memcpy(buf, val, len < cap ? len : cap);
	*vlen = len;
	leveldb_free(val);
	return KV_OK;
}

static int ldb_del(void *eng, void *tctx, uint64_t idx, const void *k, size_t klen)
{
	struct ldb *d = eng;
	(void)tctx;
	(void)idx;
	char *err = NULL;
	leveldb_delete(d->db, d->wo, k, klen, &err);
	return err ? ldb_err("leveldb_delete", err) : KV_OK;
}

static void ldb_describe(void *eng, char *buf, size_t n)
{
	struct ldb *d = eng;
	char *l0 = leveldb_property_value(d->db, "leveldb.num-files-at-level0");
	snprintf(buf, n, "L0 files=%s (no manual compaction)", l0 ? l0 : "?");
	leveldb_free(l0);
}

const struct kv_engine_ops engine_leveldb = {
	.name = "leveldb",
	.phase_mask = (1u << PH__COUNT) - 1,
	.setup = "WriteOptions.sync=1, compression off, 10-bit Bloom (no manual compaction)",
	.open = ldb_open,
	.close = ldb_close,
	.put = ldb_put,
	.get = ldb_get,
	.del = ldb_del,
	.describe = ldb_describe,
};
#endif /* HAVE_LEVELDB */
