/*
 * cmd_string.c -- the string commands that read or write a whole value:
 * GET, SET (all options), SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MGET,
 * MSET, MSETNX, STRLEN; and the helpers every command uses to build a
 * stored key (the SELECTed database's byte, then the user's key) and to read
 * a value with its version and expiry.
 *
 * Atomicity: a command that reads before it writes is a loop of
 * daxkv_get_meta, compute, daxkv_put_if/daxkv_delete_if on the version read;
 * DAXKV_ECONFLICT (another writer came between) goes round again.  A reply
 * is made only after the engine call returned: an acknowledged write is
 * durable (docs/SERVER.md, "Durability").
 */
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define RMW_MAX 100000 /* retries of one read-modify-write before giving up */

int key_make(struct client *c, int slot, const struct arg *k, const void **kp, size_t *kl)
{
	struct loop *lp = c->loop;

	if (k->len + 1 > DAXKV_KEY_MAX)
		return -1;
	lp->kb[slot][0] = (char)atomic_load_explicit(&c->db, memory_order_relaxed);
	memcpy(lp->kb[slot] + 1, k->p, k->len);
	*kp = lp->kb[slot];
	*kl = k->len + 1;
	return 0;
}

static void reply_keylong(struct client *c)
{
	reply_errorf(c, "ERR key too long (daxkv keys are at most %u bytes)", DAXKV_KEY_MAX - 1);
}

int val_reserve(struct loop *lp, size_t n)
{
	char *nb;
	size_t ncap = lp->vcap;

	if (n <= lp->vcap)
		return 0;
	while (ncap < n)
		ncap *= 2;
	nb = realloc(lp->vb, ncap);
	if (!nb)
		return -1;
	lp->vb = nb;
	lp->vcap = ncap;
	return 0;
}

/* Redis' keyspace_hits and keyspace_misses: a command that reads a key
 * counts one per key it looks up, a hit when the key is there; writes that
 * only test for the key (SET NX, SETNX, INCR, ...) do not count.  Here: GET,
 * MGET, SET's GET option, GETSET, GETDEL, GETEX, STRLEN.  (Redis counts
 * GETRANGE, EXISTS, TYPE, TTL and PTTL too.) */
void stat_lookup(int found)
{
	atomic_fetch_add_explicit(found ? &srv.stat_hits : &srv.stat_misses, 1,
				  memory_order_relaxed);
}

/* The value into c->loop->vb.  OK (version and expiry set), ENOTFOUND
 * (*ver = 0, *exp = 0), or another engine error. */
int val_read(struct client *c, const void *k, size_t kl, size_t *vlen, uint64_t *ver,
	     uint64_t *exp)
{
	struct loop *lp = c->loop;
	int tries, rc = DAXKV_ENOMEM;

	*ver = 0;
	*exp = 0;
	*vlen = 0;
	for (tries = 0; tries < 16; tries++) {
		rc = daxkv_get_meta(srv.db, k, kl, lp->vb, lp->vcap, vlen, ver, exp);
		if (rc != DAXKV_OK) {
			*ver = 0;
			*exp = 0;
			*vlen = 0;
			return rc;
		}
		if (*vlen <= lp->vcap)
			return DAXKV_OK;
		if (val_reserve(lp, *vlen) != 0)
			return DAXKV_ENOMEM;
	}
	return rc == DAXKV_OK ? DAXKV_ECONFLICT : rc;
}

/* Redis' rules for an expire argument: an integer > 0 that stays in range
 * once made milliseconds and, when relative, added to now. */
int expire_parse(struct client *c, const struct arg *a, int unit_s, int relative,
		 const char *cmd, uint64_t *out)
{
	long long v;

	if (arg_ll_or_reply(c, a, &v) != 0)
		return -1;
	if (v <= 0 || (unit_s && v > LLONG_MAX / 1000))
		goto bad;
	if (unit_s)
		v *= 1000;
	if (relative) {
		long long now = (long long)daxkv_now_ms();

		if (v > LLONG_MAX - now)
			goto bad;
		v += now;
	}
	*out = (uint64_t)v;
	return 0;
bad:
	reply_errorf(c, "ERR invalid expire time in '%s' command", cmd);
	return -1;
}

CMDFN(cmd_get)
{
	const void *k;
	size_t kl, vlen;
	uint64_t ver, exp;
	int rc;

	(void)argc;
	if (key_make(c, 0, &argv[1], &k, &kl) != 0) {
		stat_lookup(0);
		reply_null(c);
		return;
	}
	rc = val_read(c, k, kl, &vlen, &ver, &exp);
	if (rc == DAXKV_OK || rc == DAXKV_ENOTFOUND)
		stat_lookup(rc == DAXKV_OK);
	if (rc == DAXKV_OK)
		reply_bulk(c, c->loop->vb, vlen);
	else if (rc == DAXKV_ENOTFOUND)
		reply_null(c);
	else
		reply_dberr(c, rc);
}

CMDFN(cmd_strlen)
{
	const void *k;
	size_t kl, vlen = 0;
	int rc;

	(void)argc;
	if (key_make(c, 0, &argv[1], &k, &kl) != 0) {
		stat_lookup(0);
		reply_int(c, 0);
		return;
	}
	rc = daxkv_get_meta(srv.db, k, kl, NULL, 0, &vlen, NULL, NULL);
	if (rc == DAXKV_OK || rc == DAXKV_ENOTFOUND) {
		stat_lookup(rc == DAXKV_OK);
		reply_int(c, rc == DAXKV_OK ? (long long)vlen : 0);
	} else {
		reply_dberr(c, rc);
	}
}

#define SET_NX 1u
#define SET_XX 2u
#define SET_GET 4u
#define SET_KEEPTTL 8u
#define SET_PERSIST 16u
#define SET_EXPIRE 32u

/* The expire options, in the order of exp_kind: EX and EXAT count seconds,
 * EX and PX are relative to now. */
static const char *const exp_opts[] = {"ex", "px", "exat", "pxat"};

/* SET's and GETEX's options from argv[from..].  0, or -1 with a reply.  As
 * Redis, an option may be repeated (the last expire value given counts), but
 * not combined with one it excludes. */
static int set_options(struct client *c, int argc, struct arg *argv, int from, int getex,
		       unsigned *flags, uint64_t *at)
{
	const struct arg *exp_arg = NULL;
	int exp_kind = -1, j;

	*flags = 0;
	for (j = from; j < argc; j++) {
		const struct arg *a = &argv[j];
		int more = j + 1 < argc, kind;

		for (kind = 0; kind < 4; kind++)
			if (arg_eq(a, exp_opts[kind]))
				break;
		if (!getex && arg_eq(a, "nx") && !(*flags & SET_XX)) {
			*flags |= SET_NX;
		} else if (!getex && arg_eq(a, "xx") && !(*flags & SET_NX)) {
			*flags |= SET_XX;
		} else if (!getex && arg_eq(a, "get")) {
			*flags |= SET_GET;
		} else if (!getex && arg_eq(a, "keepttl") && !(*flags & SET_EXPIRE)) {
			*flags |= SET_KEEPTTL;
		} else if (getex && arg_eq(a, "persist") && !(*flags & SET_EXPIRE)) {
			*flags |= SET_PERSIST;
		} else if (kind < 4 && more && !(*flags & (SET_KEEPTTL | SET_PERSIST)) &&
			   (exp_kind < 0 || exp_kind == kind)) {
			*flags |= SET_EXPIRE;
			exp_kind = kind;
			exp_arg = &argv[++j];
		} else {
			reply_error(c, "ERR syntax error");
			return -1;
		}
	}
	if (exp_arg && expire_parse(c, exp_arg, exp_kind == 0 || exp_kind == 2,
				    exp_kind <= 1, getex ? "getex" : "set", at) != 0)
		return -1;
	return 0;
}

static void set_generic(struct client *c, const struct arg *key, const struct arg *val,
			unsigned flags, uint64_t at)
{
	const void *k;
	size_t kl, vlen = 0;
	uint64_t ver, exp;
	int rc, tries;

	if (key_make(c, 0, key, &k, &kl) != 0) {
		reply_keylong(c);
		return;
	}
	if (!(flags & (SET_NX | SET_XX | SET_GET | SET_KEEPTTL))) {
		rc = flags & SET_EXPIRE ? daxkv_put_expire(srv.db, k, kl, val->p, val->len, at)
					: daxkv_put(srv.db, k, kl, val->p, val->len);
		if (rc == DAXKV_OK)
			reply_ok(c);
		else
			reply_dberr(c, rc);
		return;
	}
	for (tries = 0; tries < RMW_MAX; tries++) {
		int exists;

		if (flags & SET_GET)
			rc = val_read(c, k, kl, &vlen, &ver, &exp);
		else
			rc = daxkv_get_meta(srv.db, k, kl, NULL, 0, &vlen, &ver, &exp);
		if (rc == DAXKV_ENOTFOUND) {
			ver = exp = 0;
		} else if (rc != DAXKV_OK) {
			reply_dberr(c, rc);
			return;
		}
		exists = rc == DAXKV_OK;
		if (((flags & SET_NX) && exists) || ((flags & SET_XX) && !exists)) {
			if (flags & SET_GET)
				stat_lookup(exists);
			if ((flags & SET_GET) && exists)
				reply_bulk(c, c->loop->vb, vlen);
			else
				reply_null(c);
			return;
		}
		rc = daxkv_put_if(srv.db, k, kl, val->p, val->len,
				  flags & SET_EXPIRE ? at : (flags & SET_KEEPTTL ? exp : 0), ver);
		if (rc == DAXKV_ECONFLICT)
			continue;
		if (rc == DAXKV_OK && (flags & SET_GET))
			stat_lookup(exists);
		if (rc != DAXKV_OK)
			reply_dberr(c, rc);
		else if (!(flags & SET_GET))
			reply_ok(c);
		else if (exists)
			reply_bulk(c, c->loop->vb, vlen);
		else
			reply_null(c);
		return;
	}
	reply_error(c, "ERR daxkv: too many conflicting writers on this key, try again");
}

CMDFN(cmd_set)
{
	unsigned flags;
	uint64_t at = 0;

	if (set_options(c, argc, argv, 3, 0, &flags, &at) != 0)
		return;
	set_generic(c, &argv[1], &argv[2], flags, at);
}

/* SETEX (seconds) and PSETEX (milliseconds): key, time to live, value. */
static void setex_generic(struct client *c, struct arg *argv, int secs, const char *name)
{
	uint64_t at;

	if (expire_parse(c, &argv[2], secs, 1, name, &at) == 0)
		set_generic(c, &argv[1], &argv[3], SET_EXPIRE, at);
}

CMDFN(cmd_setex)
{
	(void)argc;
	setex_generic(c, argv, 1, "setex");
}

CMDFN(cmd_psetex)
{
	(void)argc;
	setex_generic(c, argv, 0, "psetex");
}

CMDFN(cmd_setnx)
{
	const void *k;
	size_t kl;
	int rc;

	(void)argc;
	if (key_make(c, 0, &argv[1], &k, &kl) != 0) {
		reply_keylong(c);
		return;
	}
	rc = daxkv_put_if(srv.db, k, kl, argv[2].p, argv[2].len, 0, 0);
	if (rc == DAXKV_OK || rc == DAXKV_ECONFLICT)
		reply_int(c, rc == DAXKV_OK);
	else
		reply_dberr(c, rc);
}

CMDFN(cmd_getset)
{
	(void)argc;
	set_generic(c, &argv[1], &argv[2], SET_GET, 0);
}

/* The reply of a read that may also have written (GETDEL, GETEX): the value
 * read (in the loop's value buffer), nil, or the error. */
static void reply_read(struct client *c, int rc, size_t vlen)
{
	if (rc == DAXKV_OK || rc == DAXKV_ENOTFOUND)
		stat_lookup(rc == DAXKV_OK);
	if (rc == DAXKV_OK)
		reply_bulk(c, c->loop->vb, vlen);
	else if (rc == DAXKV_ENOTFOUND)
		reply_null(c);
	else
		reply_dberr(c, rc);
}

CMDFN(cmd_getdel)
{
	const void *k;
	size_t kl, vlen;
	uint64_t ver, exp;
	int rc, tries;

	(void)argc;
	if (key_make(c, 0, &argv[1], &k, &kl) != 0) {
		stat_lookup(0);
		reply_null(c);
		return;
	}
	for (tries = 0; tries < RMW_MAX; tries++) {
		rc = val_read(c, k, kl, &vlen, &ver, &exp);
		if (rc == DAXKV_OK)
			rc = daxkv_delete_if(srv.db, k, kl, ver);
		if (rc == DAXKV_ECONFLICT)
			continue;
		reply_read(c, rc, vlen);
		return;
	}
	reply_error(c, "ERR daxkv: too many conflicting writers on this key, try again");
}

CMDFN(cmd_getex)
{
	const void *k;
	size_t kl, vlen;
	uint64_t ver, exp, at = 0;
	unsigned flags;
	int rc, tries;

	if (set_options(c, argc, argv, 2, 1, &flags, &at) != 0)
		return;
	if (key_make(c, 0, &argv[1], &k, &kl) != 0) {
		stat_lookup(0);
		reply_null(c);
		return;
	}
	for (tries = 0; tries < RMW_MAX; tries++) {
		rc = val_read(c, k, kl, &vlen, &ver, &exp);
		if (rc == DAXKV_OK && (flags & SET_EXPIRE))
			rc = daxkv_put_if(srv.db, k, kl, c->loop->vb, vlen, at, ver);
		else if (rc == DAXKV_OK && (flags & SET_PERSIST) && exp != 0)
			rc = daxkv_put_if(srv.db, k, kl, c->loop->vb, vlen, 0, ver);
		if (rc == DAXKV_ECONFLICT)
			continue;
		reply_read(c, rc, vlen);
		return;
	}
	reply_error(c, "ERR daxkv: too many conflicting writers on this key, try again");
}

CMDFN(cmd_mget)
{
	int i;

	reply_array(c, argc - 1);
	for (i = 1; i < argc; i++) {
		const void *k;
		size_t kl, vlen;
		uint64_t ver, exp;
		int rc;

		if (key_make(c, 0, &argv[i], &k, &kl) != 0) {
			stat_lookup(0);
			reply_null(c);
			continue;
		}
		rc = val_read(c, k, kl, &vlen, &ver, &exp);
		if (rc == DAXKV_OK || rc == DAXKV_ENOTFOUND)
			stat_lookup(rc == DAXKV_OK);
		if (rc == DAXKV_OK)
			reply_bulk(c, c->loop->vb, vlen);
		else
			reply_null(c); /* an element cannot be an error: a damaged value reads as absent */
	}
}

/* MSET and MSETNX: one atomic batch; MSETNX adds "absent" conditions. */
static void mset_generic(struct client *c, int argc, struct arg *argv, int nx)
{
	daxkv_batch *b = c->loop->batch;
	int i, rc = DAXKV_OK;

	if (argc % 2 == 0) {
		reply_arity(c, nx ? "msetnx" : "mset");
		return;
	}
	daxkv_batch_clear(b);
	for (i = 1; i < argc && rc == DAXKV_OK; i += 2) {
		const void *k;
		size_t kl;

		if (key_make(c, 0, &argv[i], &k, &kl) != 0) {
			reply_keylong(c);
			return;
		}
		if (nx)
			rc = daxkv_batch_expect(b, k, kl, 0);
		if (rc == DAXKV_OK)
			rc = daxkv_batch_put(b, k, kl, argv[i + 1].p, argv[i + 1].len);
	}
	if (rc == DAXKV_OK)
		rc = daxkv_write(srv.db, b);
	daxkv_batch_clear(b);
	if (nx && (rc == DAXKV_OK || rc == DAXKV_ECONFLICT))
		reply_int(c, rc == DAXKV_OK);
	else if (rc == DAXKV_OK)
		reply_ok(c);
	else
		reply_dberr(c, rc);
}

CMDFN(cmd_mset)
{
	mset_generic(c, argc, argv, 0);
}

CMDFN(cmd_msetnx)
{
	mset_generic(c, argc, argv, 1);
}
