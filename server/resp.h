/*
 * resp.h -- the request parser of daxkv-server: RESP2 multibulk requests
 * ("*N\r\n$len\r\nbytes\r\n...") and inline commands ("SET k v\r\n"), as
 * Redis accepts them.  No sockets here: the parser works on a byte buffer the
 * caller owns, so the fuzz target (tests/fuzz/fuzz_resp.c) can feed it
 * anything.  It parses in place: arguments are (offset, length) pairs into
 * the caller's buffer; inline arguments are unescaped in place (an unescaped
 * argument is never longer than its quoted form).
 */
#ifndef DAXKV_SERVER_RESP_H
#define DAXKV_SERVER_RESP_H

#include <stddef.h>

/* Limits (docs/SERVER.md, "Limits"). */
#define RESP_INLINE_MAX (64u * 1024)   /* an inline line, a count line */
#define RESP_ARGS_MAX (1024u * 1024)   /* arguments in one request */
#define RESP_UNAUTH_ARGS_MAX 10        /* before AUTH, when a password is set */
#define RESP_UNAUTH_BULK_MAX 16384     /* bytes per argument before AUTH */

enum { RESP_NEED = 0, RESP_CMD = 1, RESP_ERR = -1 };

struct resp_arg {
	size_t off; /* from the start of the request */
	size_t len;
};

struct resp_parser {
	/* Settings (the caller's): */
	size_t bulk_max;   /* largest argument */
	int unauth;        /* 1: the client has not authenticated yet (smaller limits) */
	/* Results: */
	size_t argc;
	struct resp_arg *argv;
	size_t used;       /* RESP_CMD: bytes the request took */
	size_t want;       /* RESP_NEED: bytes the request needs at least (a hint) */
	const char *err;   /* RESP_ERR: the reply text, "Protocol error: ..." */
	/* State of a request in progress: */
	int kind;          /* 0 none yet, '*' multibulk, 'i' inline */
	size_t pos;        /* bytes parsed so far */
	long long left;    /* multibulk: arguments still to come */
	long long bulk;    /* multibulk: length of the argument being read, -1 = header next */
	size_t cap;        /* entries argv holds */
	char errbuf[48];
};

void resp_init(struct resp_parser *p, size_t bulk_max);
void resp_free(struct resp_parser *p);
/* Parses the request at the start of buf[0..len).  buf is the same request
 * each call until it answers RESP_CMD or RESP_ERR (more bytes appended, the
 * whole moved elsewhere: offsets are relative to buf).
 * RESP_CMD: argc/argv/used describe it (argc 0: an empty request, skip it);
 *   call resp_reset() before parsing the next one.
 * RESP_NEED: incomplete; want is how many bytes it needs at least.
 * RESP_ERR: malformed; err says why.  The connection cannot continue. */
int resp_parse(struct resp_parser *p, char *buf, size_t len);
void resp_reset(struct resp_parser *p);
/* Redis' integer syntax (string2ll): optional '-', digits without a leading
 * zero or '+', within long long.  0, or -1 with *out untouched. */
int resp_parse_ll(const char *s, size_t n, long long *out);

#endif
