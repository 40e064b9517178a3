/*
 * cmd_expire.c -- key expiry: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with
 * Redis 7's NX/XX/GT/LT), TTL, PTTL, PERSIST.  Expiry times are the
 * engine's: absolute Unix milliseconds in the key's record (include/daxkv.h,
 * "Time to live"), so they survive a restart.  A time already past deletes
 * the key, as in Redis.
 */
#include "server.h"

#define RMW_MAX 100000
#define EXP_NX 1u
#define EXP_XX 2u
#define EXP_GT 4u
#define EXP_LT 8u

static void expire_generic(struct client *c, int argc, struct arg *argv, int unit_s,
			   int relative, const char *name)
{
	const void *k;
	size_t kl, vlen;
	uint64_t ver, exp;
	unsigned flags = 0;
	long long when, now = (long long)daxkv_now_ms();
	int j, rc, tries;

	for (j = 3; j < argc; j++) {
		if (arg_eq(&argv[j], "nx"))
			flags |= EXP_NX;
		else if (arg_eq(&argv[j], "xx"))
			flags |= EXP_XX;
		else if (arg_eq(&argv[j], "gt"))
			flags |= EXP_GT;
		else if (arg_eq(&argv[j], "lt"))
			flags |= EXP_LT;
		else {
			reply_errorf(c, "ERR Unsupported option %.*s",
				     (int)(argv[j].len < 128 ? argv[j].len : 128), argv[j].p);
			return;
		}
	}
	if ((flags & EXP_NX) && (flags & (EXP_XX | EXP_GT | EXP_LT))) {
		reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
		return;
	}
	if ((flags & EXP_GT) && (flags & EXP_LT)) {
		reply_error(c, "ERR GT and LT options at the same time are not compatible");
		return;
	}
	if (arg_ll_or_reply(c, &argv[2], &when) != 0)
		return;
	if (unit_s) {
		if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)
			goto bad;
		when *= 1000;
	}
	if (relative) {
		if (when > LLONG_MAX - now)
			goto bad;
		when += now;
	}
	if (key_make(c, 0, &argv[1], &k, &kl) != 0) {
		reply_int(c, 0);
		return;
	}
	for (tries = 0; tries < RMW_MAX; tries++) {
		rc = val_read(c, k, kl, &vlen, &ver, &exp);
		if (rc == DAXKV_ENOTFOUND) {
			reply_int(c, 0);
			return;
		}
		if (rc != DAXKV_OK) {
			reply_dberr(c, rc);
			return;
		}
		if (((flags & EXP_NX) && exp != 0) || ((flags & EXP_XX) && exp == 0) ||
		    ((flags & EXP_GT) && (exp == 0 || when <= (long long)exp)) ||
		    ((flags & EXP_LT) && exp != 0 && when >= (long long)exp)) {
			reply_int(c, 0);
			return;
		}
		if (when <= (long long)daxkv_now_ms())
			rc = daxkv_delete_if(srv.db, k, kl, ver);
		else
			rc = daxkv_put_if(srv.db, k, kl, c->loop->vb, vlen, (uint64_t)when, ver);
		if (rc == DAXKV_ECONFLICT)
			continue;
		if (rc == DAXKV_OK)
			reply_int(c, 1);
		else if (rc == DAXKV_ENOTFOUND) /* expired in between */
			reply_int(c, 0);
		else
			reply_dberr(c, rc);
		return;
	}
	reply_error(c, "ERR daxkv: too many conflicting writers on this key, try again");
	return;
bad:
	reply_errorf(c, "ERR invalid expire time in '%s' command", name);
}

CMDFN(cmd_expire)
{
	expire_generic(c, argc, argv, 1, 1, "expire");
}

CMDFN(cmd_pexpire)
{
	expire_generic(c, argc, argv, 0, 1, "pexpire");
}

CMDFN(cmd_expireat)
{
	expire_generic(c, argc, argv, 1, 0, "expireat");
}

CMDFN(cmd_pexpireat)
{
	expire_generic(c, argc, argv, 0, 0, "pexpireat");
}

static void ttl_generic(struct client *c, const struct arg *key, int ms)
{
	const void *k;
	size_t kl, vlen;
	uint64_t exp = 0;
	long long left;
	int rc;

	if (key_make(c, 0, key, &k, &kl) != 0) {
		stat_lookup(0);
		reply_int(c, -2);
		return;
	}
	rc = daxkv_get_meta(srv.db, k, kl, NULL, 0, &vlen, NULL, &exp);
	stat_lookup(rc == DAXKV_OK);
	if (rc == DAXKV_ENOTFOUND) {
		reply_int(c, -2);
		return;
	}
	if (rc != DAXKV_OK) {
		reply_dberr(c, rc);
		return;
	}
	if (exp == 0) {
		reply_int(c, -1);
		return;
	}
	left = (long long)exp - (long long)daxkv_now_ms();
	if (left < 0)
		left = 0;
	reply_int(c, ms ? left : (left + 500) / 1000);
}

CMDFN(cmd_ttl)
{
	(void)argc;
	ttl_generic(c, &argv[1], 0);
}

CMDFN(cmd_pttl)
{
	(void)argc;
	ttl_generic(c, &argv[1], 1);
}

CMDFN(cmd_persist)
{
	const void *k;
	size_t kl, vlen;
	uint64_t ver, exp;
	int rc, tries;

	(void)argc;
	if (key_make(c, 0, &argv[1], &k, &kl) != 0) {
		reply_int(c, 0);
		return;
	}
	for (tries = 0; tries < RMW_MAX; tries++) {
		rc = val_read(c, k, kl, &vlen, &ver, &exp);
		if (rc == DAXKV_ENOTFOUND || (rc == DAXKV_OK && exp == 0)) {
			reply_int(c, 0);
			return;
		}
		if (rc == DAXKV_OK)
			rc = daxkv_put_if(srv.db, k, kl, c->loop->vb, vlen, 0, ver);
		if (rc == DAXKV_ECONFLICT)
			continue;
		if (rc == DAXKV_OK)
			reply_int(c, 1);
		else
			reply_dberr(c, rc);
		return;
	}
	reply_error(c, "ERR daxkv: too many conflicting writers on this key, try again");
}
