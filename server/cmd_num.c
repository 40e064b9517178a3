/*
 * cmd_num.c -- the string commands that change part of a value: INCR, DECR,
 * INCRBY, DECRBY, INCRBYFLOAT (Redis' number syntax, formatting and
 * overflow errors), APPEND, GETRANGE, SETRANGE.  Each write is the
 * get_meta / put_if loop of cmd_string.c, keeping the key's expiry as Redis
 * does.
 */
#include "server.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RMW_MAX 100000
#define LD_CHARS (5 * 1024) /* Redis' MAX_LONG_DOUBLE_CHARS */

static const char too_big[] = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
static const char contended[] = "ERR daxkv: too many conflicting writers on this key, try again";

/* INCR's decision under the key's lock (daxkv_update): one lookup, no
 * retries, the expiry kept. */
struct incr_ctx {
	long long delta, nv;
	const char *err; /* the reply when the old value does not allow it */
	char num[24];
};

static int incr_fn(void *ctx, const void *old, size_t old_len, int exists, const void **val,
		   size_t *vlen, uint64_t *expire_at_ms)
{
	struct incr_ctx *x = ctx;
	long long o = 0;

	(void)expire_at_ms; /* kept */
	x->err = NULL;
	if (exists) {
		struct arg a = {old, old_len};

		if (arg_ll(&a, &o) != 0) {
			x->err = "ERR value is not an integer or out of range";
			return DAXKV_UPDATE_KEEP;
		}
	}
	if ((x->delta < 0 && o < 0 && x->delta < LLONG_MIN - o) ||
	    (x->delta > 0 && o > 0 && x->delta > LLONG_MAX - o)) {
		x->err = "ERR increment or decrement would overflow";
		return DAXKV_UPDATE_KEEP;
	}
	x->nv = o + x->delta;
	*vlen = (size_t)ll_fmt(x->num, x->nv);
	*val = x->num;
	return DAXKV_UPDATE_PUT;
}

static void incr_generic(struct client *c, const struct arg *key, long long delta)
{
	const void *k;
	size_t kl;
	struct incr_ctx x = {.delta = delta};
	int rc;

	if (key_make(c, 0, key, &k, &kl) != 0) {
		reply_error(c, "ERR key too long");
		return;
	}
	rc = daxkv_update(srv.db, k, kl, incr_fn, &x);
	if (rc != DAXKV_OK)
		reply_dberr(c, rc);
	else if (x.err)
		reply_error(c, x.err);
	else
		reply_int(c, x.nv);
}

CMDFN(cmd_incr)
{
	(void)argc;
	incr_generic(c, &argv[1], 1);
}

CMDFN(cmd_decr)
{
	(void)argc;
	incr_generic(c, &argv[1], -1);
}

CMDFN(cmd_incrby)
{
	long long d;

	(void)argc;
	if (arg_ll_or_reply(c, &argv[2], &d) == 0)
		incr_generic(c, &argv[1], d);
}

CMDFN(cmd_decrby)
{
	long long d;

	(void)argc;
	if (arg_ll_or_reply(c, &argv[2], &d) != 0)
		return;
	if (d == LLONG_MIN) {
		reply_error(c, "ERR decrement would overflow");
		return;
	}
	incr_generic(c, &argv[1], -d);
}

/* Redis' string2ld: no leading space, the whole string, not NaN. */
static int parse_ld(const char *s, size_t n, long double *out)
{
	char buf[LD_CHARS + 1];
	char *end;
	long double v;

	if (n == 0 || n > LD_CHARS)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r'))
		return -1;
	v = strtold(buf, &end);
	if ((size_t)(end - buf) != n || isnan(v))
		return -1;
	*out = v;
	return 0;
}

/* Redis' ld2string, human mode: "%.17Lf" without trailing zeros. */
static int fmt_ld(char *buf, size_t cap, long double v)
{
	int l = snprintf(buf, cap, "%.17Lf", v);

	if (l < 0 || (size_t)l + 1 > cap)
		return -1;
	if (strchr(buf, '.')) {
		while (buf[l - 1] == '0')
			l--;
		if (buf[l - 1] == '.')
			l--;
	}
	if (l == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		l = 1;
	}
	return l;
}

CMDFN(cmd_incrbyfloat)
{
	const void *k;
	size_t kl, vlen;
	uint64_t ver, exp;
	long double incr;
	char out[LD_CHARS + 1];
	int rc, tries;

	(void)argc;
	if (parse_ld(argv[2].p, argv[2].len, &incr) != 0) {
		reply_error(c, "ERR value is not a valid float");
		return;
	}
	if (key_make(c, 0, &argv[1], &k, &kl) != 0) {
		reply_error(c, "ERR key too long");
		return;
	}
	for (tries = 0; tries < RMW_MAX; tries++) {
		long double old = 0, nv;
		int n;

		rc = val_read(c, k, kl, &vlen, &ver, &exp);
		if (rc != DAXKV_OK && rc != DAXKV_ENOTFOUND) {
			reply_dberr(c, rc);
			return;
		}
		if (rc == DAXKV_OK && parse_ld(c->loop->vb, vlen, &old) != 0) {
			reply_error(c, "ERR value is not a valid float");
			return;
		}
		nv = old + incr;
		if (isnan(nv) || isinf(nv)) {
			reply_error(c, "ERR increment would produce NaN or Infinity");
			return;
		}
		n = fmt_ld(out, sizeof(out), nv);
		if (n < 0) {
			reply_error(c, "ERR value is not a valid float");
			return;
		}
		rc = daxkv_put_if(srv.db, k, kl, out, (size_t)n, exp, ver);
		if (rc == DAXKV_ECONFLICT)
			continue;
		if (rc == DAXKV_OK)
			reply_bulk(c, out, (size_t)n);
		else
			reply_dberr(c, rc);
		return;
	}
	reply_error(c, contended);
}

/* APPEND and SETRANGE: the value with src written at offset (APPEND: at its
 * end), zero-padded; *newlen the result's length. */
static void splice_generic(struct client *c, const struct arg *key, int append, long long off,
			   const struct arg *src)
{
	struct loop *lp = c->loop;
	const void *k;
	size_t kl, vlen;
	uint64_t ver, exp;
	int rc, tries;

	if (key_make(c, 0, key, &k, &kl) != 0) {
		reply_error(c, "ERR key too long");
		return;
	}
	for (tries = 0; tries < RMW_MAX; tries++) {
		size_t at, nlen;

		rc = val_read(c, k, kl, &vlen, &ver, &exp);
		if (rc != DAXKV_OK && rc != DAXKV_ENOTFOUND) {
			reply_dberr(c, rc);
			return;
		}
		if (!append && src->len == 0) { /* SETRANGE of nothing: the length only */
			reply_int(c, (long long)vlen);
			return;
		}
		at = append ? vlen : (size_t)off;
		if ((uint64_t)at + src->len > DAXKV_VALUE_MAX) {
			reply_error(c, too_big);
			return;
		}
		nlen = at + src->len > vlen ? at + src->len : vlen;
		if (val_reserve(lp, nlen) != 0) {
			reply_dberr(c, DAXKV_ENOMEM);
			return;
		}
		if (at > vlen)
			memset(lp->vb + vlen, 0, at - vlen);
		memcpy(lp->vb + at, src->p, src->len);
		rc = daxkv_put_if(srv.db, k, kl, lp->vb, nlen, exp, ver);
		if (rc == DAXKV_ECONFLICT)
			continue;
		if (rc == DAXKV_OK)
			reply_int(c, (long long)nlen);
		else
			reply_dberr(c, rc);
		return;
	}
	reply_error(c, contended);
}

CMDFN(cmd_append)
{
	(void)argc;
	splice_generic(c, &argv[1], 1, 0, &argv[2]);
}

CMDFN(cmd_setrange)
{
	long long off;

	(void)argc;
	if (arg_ll_or_reply(c, &argv[2], &off) != 0)
		return;
	if (off < 0) {
		reply_error(c, "ERR offset is out of range");
		return;
	}
	if ((unsigned long long)off > DAXKV_VALUE_MAX) {
		reply_error(c, too_big);
		return;
	}
	splice_generic(c, &argv[1], 0, off, &argv[3]);
}

CMDFN(cmd_getrange)
{
	const void *k;
	size_t kl, vlen;
	uint64_t ver, exp;
	long long start, end, len;
	int rc;

	(void)argc;
	if (arg_ll_or_reply(c, &argv[2], &start) != 0 || arg_ll_or_reply(c, &argv[3], &end) != 0)
		return;
	if (key_make(c, 0, &argv[1], &k, &kl) != 0) {
		stat_lookup(0);
		reply_bulk(c, "", 0);
		return;
	}
	rc = val_read(c, k, kl, &vlen, &ver, &exp);
	stat_lookup(rc == DAXKV_OK);
	if (rc == DAXKV_ENOTFOUND) {
		reply_bulk(c, "", 0);
		return;
	}
	if (rc != DAXKV_OK) {
		reply_dberr(c, rc);
		return;
	}
	len = (long long)vlen;
	if (start < 0 && end < 0 && start > end) {
		reply_bulk(c, "", 0);
		return;
	}
	if (start < 0)
		start = len + start;
	if (end < 0)
		end = len + end;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (start > end || len == 0)
		reply_bulk(c, "", 0);
	else
		reply_bulk(c, c->loop->vb + start, (size_t)(end - start + 1));
}
