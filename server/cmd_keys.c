/*
 * cmd_keys.c -- commands on keys as a set: DEL/UNLINK, EXISTS, TYPE,
 * RENAME, RENAMENX, SCAN, KEYS, DBSIZE, FLUSHDB, FLUSHALL, RANDOMKEY.  A
 * database is the range of stored keys that start with its byte, walked
 * with a daxkv iterator (a snapshot) from daxkv_iter_seek(db byte) until
 * the first key of another byte.
 *
 * SCAN's cursor: a number naming the last key a call examined, kept in a
 * server-wide table (any connection may go on with a cursor).  The next call
 * seeks just past that key: keys are walked in order, so every key present
 * from the first call to the last is returned exactly once, and a walk
 * always ends.  The table holds the last CURSOR_SLOTS cursors; an older one
 * answers "ERR invalid cursor".
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RMW_MAX 100000
#define CURSOR_SLOTS 4096
#define FLUSH_BATCH 1024

static struct {
	uint64_t id;
	size_t len;
	char *key;
} cursors[CURSOR_SLOTS];
static pthread_mutex_t cursor_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t cursor_next = 1;

static uint64_t cursor_save(const void *key, size_t len)
{
	char *copy = malloc(len);
	uint64_t id;
	size_t s;

	if (!copy)
		return 0;
	memcpy(copy, key, len);
	pthread_mutex_lock(&cursor_lock);
	id = cursor_next++;
	s = id % CURSOR_SLOTS;
	free(cursors[s].key);
	cursors[s].id = id;
	cursors[s].key = copy;
	cursors[s].len = len;
	pthread_mutex_unlock(&cursor_lock);
	return id;
}

/* The key of cursor id into buf (DAXKV_KEY_MAX + 1 bytes).  0 or -1. */
static int cursor_load(uint64_t id, char *buf, size_t *len)
{
	size_t s = id % CURSOR_SLOTS;
	int r = -1;

	pthread_mutex_lock(&cursor_lock);
	if (cursors[s].id == id && cursors[s].key) {
		memcpy(buf, cursors[s].key, cursors[s].len);
		*len = cursors[s].len;
		r = 0;
	}
	pthread_mutex_unlock(&cursor_lock);
	return r;
}

static int in_db(const void *key, size_t klen, int db)
{
	return klen >= 1 && ((const unsigned char *)key)[0] == (unsigned)db;
}

CMDFN(cmd_del)
{
	long long n = 0;
	int i;

	for (i = 1; i < argc; i++) {
		const void *k;
		size_t kl;
		int rc;

		if (key_make(c, 0, &argv[i], &k, &kl) != 0)
			continue;
		rc = daxkv_delete(srv.db, k, kl);
		if (rc == DAXKV_OK)
			n++;
		else if (rc != DAXKV_ENOTFOUND) {
			reply_dberr(c, rc);
			return;
		}
	}
	reply_int(c, n);
}

CMDFN(cmd_exists)
{
	long long n = 0;
	int i;

	for (i = 1; i < argc; i++) {
		const void *k;
		size_t kl, vlen;

		int found = key_make(c, 0, &argv[i], &k, &kl) == 0 &&
			    daxkv_get_meta(srv.db, k, kl, NULL, 0, &vlen, NULL, NULL) == DAXKV_OK;

		stat_lookup(found);
		n += found;
	}
	reply_int(c, n);
}

CMDFN(cmd_type)
{
	const void *k;
	size_t kl, vlen;
	int found;

	(void)argc;
	found = key_make(c, 0, &argv[1], &k, &kl) == 0 &&
		daxkv_get_meta(srv.db, k, kl, NULL, 0, &vlen, NULL, NULL) == DAXKV_OK;
	stat_lookup(found);
	reply_status(c, found ? "string" : "none");
}

static void rename_generic(struct client *c, struct arg *argv, int nx)
{
	daxkv_batch *b = c->loop->batch;
	const void *src, *dst;
	size_t sl, dl, vlen, dvlen;
	uint64_t ver, exp;
	int rc, tries;

	if (key_make(c, 0, &argv[1], &src, &sl) != 0 || key_make(c, 1, &argv[2], &dst, &dl) != 0) {
		reply_error(c, "ERR key too long");
		return;
	}
	for (tries = 0; tries < RMW_MAX; tries++) {
		rc = val_read(c, src, sl, &vlen, &ver, &exp);
		if (rc == DAXKV_ENOTFOUND) {
			reply_error(c, "ERR no such key");
			return;
		}
		if (rc != DAXKV_OK) {
			reply_dberr(c, rc);
			return;
		}
		if (sl == dl && memcmp(src, dst, sl) == 0) {
			if (nx)
				reply_int(c, 0);
			else
				reply_ok(c);
			return;
		}
		if (nx) {
			rc = daxkv_get_meta(srv.db, dst, dl, NULL, 0, &dvlen, NULL, NULL);
			if (rc == DAXKV_OK) {
				reply_int(c, 0);
				return;
			}
		}
		daxkv_batch_clear(b);
		rc = daxkv_batch_expect(b, src, sl, ver);
		if (rc == DAXKV_OK && nx)
			rc = daxkv_batch_expect(b, dst, dl, 0);
		if (rc == DAXKV_OK)
			rc = exp ? daxkv_batch_put_expire(b, dst, dl, c->loop->vb, vlen, exp)
				 : daxkv_batch_put(b, dst, dl, c->loop->vb, vlen);
		if (rc == DAXKV_OK)
			rc = daxkv_batch_delete(b, src, sl);
		if (rc == DAXKV_OK)
			rc = daxkv_write(srv.db, b);
		daxkv_batch_clear(b);
		if (rc == DAXKV_ECONFLICT)
			continue;
		if (rc != DAXKV_OK)
			reply_dberr(c, rc);
		else if (nx)
			reply_int(c, 1);
		else
			reply_ok(c);
		return;
	}
	reply_error(c, "ERR daxkv: too many conflicting writers on this key, try again");
}

CMDFN(cmd_rename)
{
	(void)argc;
	rename_generic(c, argv, 0);
}

CMDFN(cmd_renamenx)
{
	(void)argc;
	rename_generic(c, argv, 1);
}

/* Keys of db (db < 0: every db, counted per db in keys[]/expires[]). */
int keys_count(struct client *c, int db, uint64_t *keys, uint64_t *expires)
{
	daxkv_iter *it;
	unsigned char start = (unsigned char)(db < 0 ? 0 : db);
	int rc;

	(void)c;
	rc = daxkv_iter_new(srv.db, &it);
	if (rc != DAXKV_OK)
		return rc;
	daxkv_iter_seek(it, &start, 1);
	for (; daxkv_iter_valid(it); daxkv_iter_next(it)) {
		size_t kl;
		const unsigned char *k = daxkv_iter_key(it, &kl);
		int i = db < 0 ? (kl ? k[0] : 0) : 0;

		if (db >= 0 && !in_db(k, kl, db))
			break;
		keys[i]++;
		if (daxkv_iter_expire(it))
			expires[i]++;
	}
	rc = daxkv_iter_status(it);
	daxkv_iter_free(it);
	return rc;
}

CMDFN(cmd_dbsize)
{
	uint64_t keys = 0, expires = 0;
	int rc;

	(void)argc;
	(void)argv;
	rc = keys_count(c, atomic_load(&c->db), &keys, &expires);
	if (rc == DAXKV_OK)
		reply_int(c, (long long)keys);
	else
		reply_dberr(c, rc);
}

CMDFN(cmd_keys)
{
	int db = atomic_load(&c->db);
	unsigned char start = (unsigned char)db;
	daxkv_iter *it;
	long long n = 0;
	size_t at;
	int rc;

	(void)argc;
	rc = daxkv_iter_new(srv.db, &it);
	if (rc != DAXKV_OK) {
		reply_dberr(c, rc);
		return;
	}
	at = reply_defer(c);
	for (daxkv_iter_seek(it, &start, 1); daxkv_iter_valid(it) && !c->close_asap;
	     daxkv_iter_next(it)) {
		size_t kl;
		const char *k = daxkv_iter_key(it, &kl);

		if (!in_db(k, kl, db))
			break;
		if (glob_match(argv[1].p, argv[1].len, k + 1, kl - 1, 0)) {
			reply_bulk(c, k + 1, kl - 1);
			n++;
		}
	}
	daxkv_iter_free(it);
	reply_defer_done(c, at, '*', n);
}

static int parse_cursor(const struct arg *a, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (a->len == 0 || a->len > 20)
		return -1;
	for (i = 0; i < a->len; i++) {
		if (a->p[i] < '0' || a->p[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(a->p[i] - '0');
	}
	*out = v;
	return 0;
}

struct scan_opts {
	const struct arg *match;
	long long count;
	int type_none; /* TYPE other than string: nothing matches */
};

static int scan_options(struct client *c, int argc, struct arg *argv, struct scan_opts *o)
{
	int j;

	o->match = NULL;
	o->count = 10;
	o->type_none = 0;
	for (j = 2; j < argc; j += 2) {
		if (j + 1 >= argc) {
			reply_error(c, "ERR syntax error");
			return -1;
		}
		if (arg_eq(&argv[j], "match")) {
			o->match = &argv[j + 1];
			if (o->match->len == 1 && o->match->p[0] == '*')
				o->match = NULL;
		} else if (arg_eq(&argv[j], "count")) {
			if (arg_ll_or_reply(c, &argv[j + 1], &o->count) != 0)
				return -1;
			if (o->count < 1) {
				reply_error(c, "ERR syntax error");
				return -1;
			}
		} else if (arg_eq(&argv[j], "type")) {
			o->type_none = !arg_eq(&argv[j + 1], "string");
		} else {
			reply_error(c, "ERR syntax error");
			return -1;
		}
	}
	return 0;
}

CMDFN(cmd_scan)
{
	struct loop *lp = c->loop;
	struct scan_opts o;
	int db = atomic_load(&c->db), rc, done = 0;
	uint64_t cursor, next = 0;
	unsigned char start = (unsigned char)db;
	char *resume = lp->kb[1];
	size_t rlen = 0, used = 0, last_len = 0;
	long long examined = 0, n = 0;
	daxkv_iter *it;
	char num[24];

	if (parse_cursor(&argv[1], &cursor) != 0) {
		reply_error(c, "ERR invalid cursor");
		return;
	}
	if (scan_options(c, argc, argv, &o) != 0)
		return;
	if (cursor != 0 && (cursor_load(cursor, resume, &rlen) != 0 || !in_db(resume, rlen, db))) {
		reply_error(c, "ERR invalid cursor");
		return;
	}
	rc = daxkv_iter_new(srv.db, &it);
	if (rc != DAXKV_OK) {
		reply_dberr(c, rc);
		return;
	}
	if (cursor == 0) {
		daxkv_iter_seek(it, &start, 1);
	} else {
		size_t kl;
		const void *k;

		daxkv_iter_seek(it, resume, rlen);
		k = daxkv_iter_valid(it) ? daxkv_iter_key(it, &kl) : NULL;
		if (k && kl == rlen && memcmp(k, resume, rlen) == 0)
			daxkv_iter_next(it);
	}
	/* Matches go to lp->vb as (length, bytes) records; the last key examined
	 * to lp->kb[1] (the cursor's key was only needed for the seek). */
	for (;; daxkv_iter_next(it)) {
		size_t kl;
		const char *k;

		if (!daxkv_iter_valid(it)) {
			done = 1;
			break;
		}
		k = daxkv_iter_key(it, &kl);
		if (!in_db(k, kl, db)) {
			done = 1;
			break;
		}
		if (examined++ >= o.count)
			break;
		memcpy(resume, k, kl);
		last_len = kl;
		if (o.type_none || (o.match && !glob_match(o.match->p, o.match->len, k + 1, kl - 1, 0)))
			continue;
		if (val_reserve(lp, used + sizeof(size_t) + kl) != 0) {
			rc = DAXKV_ENOMEM;
			break;
		}
		memcpy(lp->vb + used, &kl, sizeof(size_t));
		memcpy(lp->vb + used + sizeof(size_t), k, kl);
		used += sizeof(size_t) + kl;
		n++;
	}
	if (rc == DAXKV_OK)
		rc = daxkv_iter_status(it);
	daxkv_iter_free(it);
	if (rc != DAXKV_OK) {
		reply_dberr(c, rc);
		return;
	}
	if (!done && last_len) {
		next = cursor_save(resume, last_len);
		if (next == 0) {
			reply_dberr(c, DAXKV_ENOMEM);
			return;
		}
	}
	reply_array(c, 2);
	reply_bulk(c, num, (size_t)ll_fmt(num, (long long)next));
	reply_array(c, n);
	for (size_t off = 0; off < used;) {
		size_t kl;

		memcpy(&kl, lp->vb + off, sizeof(size_t));
		reply_bulk(c, lp->vb + off + sizeof(size_t) + 1, kl - 1);
		off += sizeof(size_t) + kl;
	}
}

static void flush_range(struct client *c, int db)
{
	daxkv_batch *b = c->loop->batch;
	unsigned char start = (unsigned char)(db < 0 ? 0 : db);
	daxkv_iter *it;
	int rc, pending = 0;

	rc = daxkv_iter_new(srv.db, &it);
	if (rc != DAXKV_OK) {
		reply_dberr(c, rc);
		return;
	}
	daxkv_batch_clear(b);
	for (daxkv_iter_seek(it, &start, 1); daxkv_iter_valid(it) && rc == DAXKV_OK;
	     daxkv_iter_next(it)) {
		size_t kl;
		const void *k = daxkv_iter_key(it, &kl);

		if (db >= 0 && !in_db(k, kl, db))
			break;
		rc = daxkv_batch_delete(b, k, kl);
		if (rc == DAXKV_OK && ++pending == FLUSH_BATCH) {
			rc = daxkv_write(srv.db, b);
			daxkv_batch_clear(b);
			pending = 0;
		}
	}
	if (rc == DAXKV_OK && pending)
		rc = daxkv_write(srv.db, b);
	daxkv_batch_clear(b);
	if (rc == DAXKV_OK)
		rc = daxkv_iter_status(it);
	daxkv_iter_free(it);
	if (rc == DAXKV_OK)
		reply_ok(c);
	else
		reply_dberr(c, rc);
}

static int flush_args(struct client *c, int argc, struct arg *argv)
{
	if (argc > 2 || (argc == 2 && !arg_eq(&argv[1], "async") && !arg_eq(&argv[1], "sync"))) {
		reply_error(c, "ERR syntax error");
		return -1;
	}
	return 0;
}

CMDFN(cmd_flushdb)
{
	if (flush_args(c, argc, argv) == 0)
		flush_range(c, atomic_load(&c->db));
}

CMDFN(cmd_flushall)
{
	if (flush_args(c, argc, argv) == 0)
		flush_range(c, -1);
}

CMDFN(cmd_randomkey)
{
	int db = atomic_load(&c->db);
	unsigned char probe[9];
	daxkv_iter *it;
	uint64_t r = daxkv_now_ms() * 6364136223846793005ull + (uint64_t)c->id;
	int rc, i;

	(void)argc;
	(void)argv;
	probe[0] = (unsigned char)db;
	for (i = 1; i < 9; i++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		probe[i] = (unsigned char)(r >> 56);
	}
	rc = daxkv_iter_new(srv.db, &it);
	if (rc != DAXKV_OK) {
		reply_dberr(c, rc);
		return;
	}
	for (i = 0; i < 2; i++) {
		size_t kl;
		const char *k;

		daxkv_iter_seek(it, probe, i == 0 ? sizeof(probe) : 1);
		if (!daxkv_iter_valid(it))
			continue;
		k = daxkv_iter_key(it, &kl);
		if (in_db(k, kl, db)) {
			reply_bulk(c, k + 1, kl - 1);
			daxkv_iter_free(it);
			return;
		}
	}
	daxkv_iter_free(it);
	reply_null(c);
}
