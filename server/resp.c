/*
 * resp.c -- the request parser of daxkv-server (resp.h): RESP2 multibulk and
 * inline requests, with Redis' limits and error texts, parsed in place.
 * Incremental: a multibulk request arriving in pieces is parsed once, the
 * state (arguments still to come, length of the one being read) kept in the
 * parser between calls.
 */
#include "resp.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void resp_init(struct resp_parser *p, size_t bulk_max)
{
	memset(p, 0, sizeof(*p));
	p->bulk_max = bulk_max;
	p->bulk = -1;
}

void resp_free(struct resp_parser *p)
{
	free(p->argv);
	p->argv = NULL;
	p->cap = 0;
}

void resp_reset(struct resp_parser *p)
{
	p->argc = 0;
	p->used = 0;
	p->want = 0;
	p->err = NULL;
	p->kind = 0;
	p->pos = 0;
	p->left = 0;
	p->bulk = -1;
	if (p->cap > 1024) { /* a huge request's table goes back */
		free(p->argv);
		p->argv = NULL;
		p->cap = 0;
	}
}

/* Redis' integer syntax (string2ll): optional '-', no leading zeros or '+'. */
int resp_parse_ll(const char *s, size_t n, long long *out)
{
	unsigned long long v = 0;
	size_t i = 0;
	int neg = 0;

	if (n == 0 || n > 20)
		return -1;
	if (s[0] == '-') {
		neg = 1;
		i = 1;
		if (n == 1)
			return -1;
	}
	if (s[i] == '0') {
		if (n == 1) {
			*out = 0;
			return 0;
		}
		return -1;
	}
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (ULLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (neg) {
		if (v > (unsigned long long)LLONG_MAX + 1)
			return -1;
		*out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	} else {
		if (v > LLONG_MAX)
			return -1;
		*out = (long long)v;
	}
	return 0;
}

static int add_arg(struct resp_parser *p, size_t off, size_t len)
{
	if (p->argc == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 8;
		struct resp_arg *n = realloc(p->argv, ncap * sizeof(*n));

		if (!n) {
			p->err = "Protocol error: out of memory";
			return -1;
		}
		p->argv = n;
		p->cap = ncap;
	}
	p->argv[p->argc].off = off;
	p->argv[p->argc].len = len;
	p->argc++;
	return 0;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Splits buf[0..n) into arguments, unescaping in place: double quotes take
 * \xHH and \n \r \t \b \a escapes, single quotes only \'; a closing quote
 * must end the argument.  A NUL ends the line (Redis reads it as a C string). */
static int split_inline(struct resp_parser *p, char *buf, size_t n)
{
	size_t r = 0, w;

	for (;;) {
		int inq = 0, insq = 0;
		size_t start;

		while (r < n && buf[r] != '\0' && is_space(buf[r]))
			r++;
		if (r >= n || buf[r] == '\0')
			return 0;
		start = w = r;
		for (;;) {
			char ch = r < n ? buf[r] : '\0';

			if (inq) {
				if (ch == '\\' && r + 3 < n && buf[r + 1] == 'x' &&
				    hexval(buf[r + 2]) >= 0 && hexval(buf[r + 3]) >= 0) {
					buf[w++] = (char)(hexval(buf[r + 2]) * 16 + hexval(buf[r + 3]));
					r += 4;
					continue;
				}
				if (ch == '\\' && r + 1 < n && buf[r + 1] != '\0') {
					char e = buf[r + 1];

					switch (e) {
					case 'n': e = '\n'; break;
					case 'r': e = '\r'; break;
					case 't': e = '\t'; break;
					case 'b': e = '\b'; break;
					case 'a': e = '\a'; break;
					default: break;
					}
					buf[w++] = e;
					r += 2;
					continue;
				}
				if (ch == '"') {
					r++;
					if (r < n && buf[r] != '\0' && !is_space(buf[r]))
						goto unbalanced;
					break;
				}
				if (ch == '\0')
					goto unbalanced;
				buf[w++] = ch;
				r++;
			} else if (insq) {
				if (ch == '\\' && r + 1 < n && buf[r + 1] == '\'') {
					buf[w++] = '\'';
					r += 2;
					continue;
				}
				if (ch == '\'') {
					r++;
					if (r < n && buf[r] != '\0' && !is_space(buf[r]))
						goto unbalanced;
					break;
				}
				if (ch == '\0')
					goto unbalanced;
				buf[w++] = ch;
				r++;
			} else {
				if (ch == '\0' || is_space(ch))
					break;
				r++;
				if (ch == '"')
					inq = 1;
				else if (ch == '\'')
					insq = 1;
				else
					buf[w++] = ch;
			}
		}
		if (p->argc >= RESP_ARGS_MAX) {
			p->err = "Protocol error: invalid multibulk length";
			return -1;
		}
		if (add_arg(p, start, w - start) != 0)
			return -1;
	}
unbalanced:
	p->err = "Protocol error: unbalanced quotes in request";
	return -1;
}

static int parse_inline(struct resp_parser *p, char *buf, size_t len)
{
	char *nl = memchr(buf, '\n', len);
	size_t n;

	if (!nl) {
		if (len > RESP_INLINE_MAX) {
			p->err = "Protocol error: too big inline request";
			return RESP_ERR;
		}
		p->want = len + 1;
		return RESP_NEED;
	}
	n = (size_t)(nl - buf);
	p->used = n + 1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	p->argc = 0;
	if (split_inline(p, buf, n) != 0)
		return RESP_ERR;
	return RESP_CMD;
}

/* A "*N" or "$N" line at buf[pos..): 1 and *v when whole, 0 when incomplete. */
static int count_line(struct resp_parser *p, const char *buf, size_t len, long long *v,
		      int *ok, const char *toobig)
{
	const char *s = buf + p->pos;
	size_t avail = len - p->pos;
	const char *cr = memchr(s, '\r', avail);

	if (!cr) {
		if (avail > RESP_INLINE_MAX) {
			p->err = toobig;
			return -1;
		}
		p->want = len + 1;
		return 0;
	}
	if ((size_t)(cr - s) + 2 > avail) { /* the byte after \r (taken as \n) */
		p->want = len + 1;
		return 0;
	}
	*ok = resp_parse_ll(s + 1, (size_t)(cr - s) - 1, v) == 0;
	p->pos += (size_t)(cr - s) + 2;
	return 1;
}

static int parse_multibulk(struct resp_parser *p, const char *buf, size_t len)
{
	int ok, r;

	if (p->kind == 0) {
		long long n = 0;

		r = count_line(p, buf, len, &n, &ok, "Protocol error: too big mbulk count string");
		if (r <= 0)
			return r < 0 ? RESP_ERR : RESP_NEED;
		if (!ok || n > (long long)RESP_ARGS_MAX) {
			p->err = "Protocol error: invalid multibulk length";
			return RESP_ERR;
		}
		if (p->unauth && n > RESP_UNAUTH_ARGS_MAX) {
			p->err = "Protocol error: unauthenticated multibulk length";
			return RESP_ERR;
		}
		p->kind = '*';
		p->argc = 0;
		if (n <= 0) {
			p->used = p->pos;
			return RESP_CMD;
		}
		p->left = n;
	}
	while (p->left > 0) {
		if (p->bulk < 0) {
			long long n = 0;

			if (p->pos >= len) {
				p->want = len + 1;
				return RESP_NEED;
			}
			if (buf[p->pos] != '$') {
				const char *cr = memchr(buf + p->pos, '\r', len - p->pos);

				if (!cr && len - p->pos <= RESP_INLINE_MAX) {
					p->want = len + 1;
					return RESP_NEED; /* Redis looks only at a whole line */
				}
				snprintf(p->errbuf, sizeof(p->errbuf),
					 "Protocol error: expected '$', got '%c'", buf[p->pos]);
				p->err = p->errbuf;
				return RESP_ERR;
			}
			r = count_line(p, buf, len, &n, &ok, "Protocol error: too big bulk count string");
			if (r <= 0)
				return r < 0 ? RESP_ERR : RESP_NEED;
			if (!ok || n < 0 || (unsigned long long)n > p->bulk_max) {
				p->err = "Protocol error: invalid bulk length";
				return RESP_ERR;
			}
			if (p->unauth && n > RESP_UNAUTH_BULK_MAX) {
				p->err = "Protocol error: unauthenticated bulk length";
				return RESP_ERR;
			}
			p->bulk = n;
		}
		if (len - p->pos < (size_t)p->bulk + 2) {
			p->want = p->pos + (size_t)p->bulk + 2;
			return RESP_NEED;
		}
		if (add_arg(p, p->pos, (size_t)p->bulk) != 0)
			return RESP_ERR;
		p->pos += (size_t)p->bulk + 2; /* data, then two bytes taken as \r\n */
		p->bulk = -1;
		p->left--;
	}
	p->used = p->pos;
	return RESP_CMD;
}

int resp_parse(struct resp_parser *p, char *buf, size_t len)
{
	if (len == 0) {
		p->want = 1;
		return RESP_NEED;
	}
	if (p->kind == '*' || (p->kind == 0 && buf[0] == '*'))
		return parse_multibulk(p, buf, len);
	p->kind = 'i';
	return parse_inline(p, buf, len);
}
