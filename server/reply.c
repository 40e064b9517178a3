/*
 * reply.c -- building replies in a client's output buffer (RESP2, and RESP3
 * where HELLO 3 asked for it), the engine's status codes as Redis-style
 * errors, and the small argument parsers the commands share.  A reply that
 * cannot get memory marks the client for closing: a lost reply must never
 * leave a client reading the wrong answer to its next command.
 */
#include "server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int reply_reserve(struct client *c, size_t n)
{
	size_t need, ncap;
	char *nb;

	if (c->ocap - c->olen >= n)
		return 0;
	if (c->opos > 0 && c->opos == c->olen) {
		c->opos = c->olen = 0;
		if (c->ocap >= n)
			return 0;
	}
	need = c->olen + n;
	ncap = c->ocap ? c->ocap : 16384;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(c->ob, ncap);
	if (!nb) {
		c->close_asap = 1;
		return -1;
	}
	c->ob = nb;
	c->ocap = ncap;
	return 0;
}

void reply_raw(struct client *c, const void *p, size_t n)
{
	if (reply_reserve(c, n) != 0)
		return;
	memcpy(c->ob + c->olen, p, n);
	c->olen += n;
}

int ll_fmt(char *buf, long long v)
{
	char tmp[24];
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	int n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		buf[i++] = '-';
	while (n)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return i;
}

static void reply_hdr(struct client *c, char type, long long n)
{
	char b[32];
	int l;

	b[0] = type;
	l = 1 + ll_fmt(b + 1, n);
	b[l++] = '\r';
	b[l++] = '\n';
	reply_raw(c, b, (size_t)l);
}

void reply_status(struct client *c, const char *s)
{
	size_t n = strlen(s);

	if (reply_reserve(c, n + 3) != 0)
		return;
	c->ob[c->olen++] = '+';
	memcpy(c->ob + c->olen, s, n);
	c->olen += n;
	c->ob[c->olen++] = '\r';
	c->ob[c->olen++] = '\n';
}

void reply_ok(struct client *c)
{
	reply_raw(c, "+OK\r\n", 5);
}

/* s has no leading '-'; one without an upper-case code gets "ERR ". Newlines
 * would break the framing: they become spaces. */
void reply_error(struct client *c, const char *s)
{
	size_t n = strlen(s), i, start;
	int has_code = n > 0 && s[0] >= 'A' && s[0] <= 'Z';

	for (i = 0; has_code && i < n && s[i] != ' '; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			has_code = 0;
	if (reply_reserve(c, n + 8) != 0)
		return;
	c->ob[c->olen++] = '-';
	if (!has_code) {
		memcpy(c->ob + c->olen, "ERR ", 4);
		c->olen += 4;
	}
	start = c->olen;
	memcpy(c->ob + c->olen, s, n);
	c->olen += n;
	for (i = start; i < c->olen; i++)
		if (c->ob[i] == '\r' || c->ob[i] == '\n')
			c->ob[i] = ' ';
	c->ob[c->olen++] = '\r';
	c->ob[c->olen++] = '\n';
}

void reply_errorf(struct client *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	reply_error(c, buf);
}

void reply_arity(struct client *c, const char *name)
{
	reply_errorf(c, "ERR wrong number of arguments for '%s' command", name);
}

int sub_find(struct client *c, int argc, struct arg *argv, const char *cmd,
	     const struct subcmd *subs, size_t n)
{
	char up[16];
	size_t i;

	for (i = 0; i < n; i++) {
		int a = subs[i].arity;

		if (!arg_eq(&argv[1], subs[i].name))
			continue;
		if ((a > 0 && argc != a) || (a < 0 && argc < -a)) {
			reply_errorf(c, "ERR wrong number of arguments for '%s|%s' command", cmd,
				     subs[i].name);
			return -1;
		}
		return (int)i;
	}
	for (i = 0; cmd[i] && i < sizeof(up) - 1; i++)
		up[i] = cmd[i] >= 'a' && cmd[i] <= 'z' ? (char)(cmd[i] - 'a' + 'A') : cmd[i];
	up[i] = '\0';
	reply_errorf(c, "ERR unknown subcommand '%.*s'. Try %s HELP.",
		     (int)(argv[1].len < 128 ? argv[1].len : 128), argv[1].p, up);
	return -1;
}

void reply_int(struct client *c, long long v)
{
	reply_hdr(c, ':', v);
}

void reply_bulk(struct client *c, const void *p, size_t n)
{
	char b[32];
	int l;

	b[0] = '$';
	l = 1 + ll_fmt(b + 1, (long long)n);
	b[l++] = '\r';
	b[l++] = '\n';
	if (reply_reserve(c, (size_t)l + n + 2) != 0)
		return;
	memcpy(c->ob + c->olen, b, (size_t)l);
	c->olen += (size_t)l;
	if (n)
		memcpy(c->ob + c->olen, p, n);
	c->olen += n;
	c->ob[c->olen++] = '\r';
	c->ob[c->olen++] = '\n';
}

void reply_cstr(struct client *c, const char *s)
{
	reply_bulk(c, s, strlen(s));
}

void reply_verbatim(struct client *c, const char *s, size_t n)
{
	if (c->resp < 3) {
		reply_bulk(c, s, n);
		return;
	}
	reply_hdr(c, '=', (long long)n + 4);
	reply_raw(c, "txt:", 4);
	reply_raw(c, s, n);
	reply_raw(c, "\r\n", 2);
}

void reply_null(struct client *c)
{
	if (c->resp >= 3)
		reply_raw(c, "_\r\n", 3);
	else
		reply_raw(c, "$-1\r\n", 5);
}

void reply_null_array(struct client *c)
{
	if (c->resp >= 3)
		reply_raw(c, "_\r\n", 3);
	else
		reply_raw(c, "*-1\r\n", 5);
}

void reply_array(struct client *c, long long n)
{
	reply_hdr(c, '*', n);
}

/* n pairs: a RESP3 map, or a flat array of 2n in RESP2. */
void reply_map(struct client *c, long long n)
{
	if (c->resp >= 3)
		reply_hdr(c, '%', n);
	else
		reply_hdr(c, '*', 2 * n);
}

/* An aggregate whose length is known only at the end: reserve room for the
 * header, append the elements, then reply_defer_done() writes the header
 * and closes the gap. */
#define DEFER_GAP 32
size_t reply_defer(struct client *c)
{
	size_t at = c->olen;

	if (reply_reserve(c, DEFER_GAP) == 0)
		c->olen += DEFER_GAP;
	return at;
}

void reply_defer_done(struct client *c, size_t at, char type, long long n)
{
	char b[DEFER_GAP];
	int l;

	if (c->olen < at + DEFER_GAP)
		return; /* the reservation failed: the client is closing */
	if (type == '%' && c->resp < 3) {
		type = '*';
		n *= 2;
	}
	b[0] = type;
	l = 1 + ll_fmt(b + 1, n);
	b[l++] = '\r';
	b[l++] = '\n';
	memcpy(c->ob + at, b, (size_t)l);
	memmove(c->ob + at + l, c->ob + at + DEFER_GAP, c->olen - at - DEFER_GAP);
	c->olen -= DEFER_GAP - (size_t)l;
}

void reply_dberr(struct client *c, int rc)
{
	switch (rc) {
	case DAXKV_ENOSPC:
		reply_error(c, "OOM command not allowed when used memory > 'maxmemory' "
			       "(daxkv: the store is full)");
		break;
	case DAXKV_ETOOBIG:
		reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
		break;
	case DAXKV_EREADONLY:
		reply_error(c, "READONLY You can't write against a read only replica. "
			       "(daxkv: the store refuses writes until reopened)");
		break;
	case DAXKV_ENOMEM:
		reply_error(c, "OOM out of memory");
		break;
	default:
		reply_errorf(c, "ERR daxkv: %s: %s", daxkv_strerror(rc), daxkv_errmsg());
		break;
	}
}

int arg_eq(const struct arg *a, const char *s)
{
	size_t n = strlen(s), i;

	if (a->len != n)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = a->p[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch != s[i])
			return 0;
	}
	return 1;
}

int arg_ll(const struct arg *a, long long *v)
{
	return resp_parse_ll(a->p, a->len, v);
}

int arg_ll_or_reply(struct client *c, const struct arg *a, long long *v)
{
	if (arg_ll(a, v) == 0)
		return 0;
	reply_error(c, "ERR value is not an integer or out of range");
	return -1;
}
