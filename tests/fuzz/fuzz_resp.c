/*
 * fuzz_resp.c -- libFuzzer target for daxkv-server's request parser
 * (server/resp.c, docs/SERVER.md).
 *
 * Input: byte 0 = mode (bit 0: an unauthenticated client, the smaller
 * limits; bits 1-3: a small bulk limit instead of DAXKV_VALUE_MAX), byte 1 =
 * the size of the pieces the rest arrives in (1..64 bytes, as a socket may
 * deliver them), then the bytes a client sends.  The stream is parsed twice:
 * whole, and piece by piece into an exact-size copy (so ASan sees any read
 * past what arrived).  Both must give the same requests and the same end
 * (error or not); every request's arguments must lie inside the bytes it
 * used.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/resp.h"

struct outcome {
	uint64_t hash;    /* over every request's arguments */
	size_t requests;
	size_t consumed;  /* bytes of whole requests */
	int error;
};

static void mix(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		*h = (*h ^ b[i]) * 1099511628211ull;
}

static void check_request(const struct resp_parser *p, const char *buf, size_t len,
			  struct outcome *o)
{
	size_t i;

	if (p->used == 0 || p->used > len)
		abort();
	for (i = 0; i < p->argc; i++) {
		if (p->argv[i].off > p->used || p->argv[i].len > p->used - p->argv[i].off)
			abort();
		if (p->kind == '*' && p->argv[i].len > p->bulk_max)
			abort(); /* inline lines have their own bound, RESP_INLINE_MAX */
		mix(&o->hash, &p->argv[i].len, sizeof(p->argv[i].len));
		mix(&o->hash, buf + p->argv[i].off, p->argv[i].len);
	}
	mix(&o->hash, &p->argc, sizeof(p->argc));
	o->requests++;
}

static void parse_whole(const uint8_t *data, size_t size, size_t bulk_max, int unauth,
			struct outcome *o)
{
	struct resp_parser p;
	char *buf = malloc(size ? size : 1);
	size_t pos = 0;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	resp_init(&p, bulk_max);
	p.unauth = unauth;
	while (pos < size) {
		int r = resp_parse(&p, buf + pos, size - pos);

		if (r == RESP_NEED)
			break;
		if (r == RESP_ERR) {
			if (!p.err || strncmp(p.err, "Protocol error: ", 16) != 0)
				abort();
			o->error = 1;
			break;
		}
		check_request(&p, buf + pos, size - pos, o);
		pos += p.used;
		resp_reset(&p);
	}
	o->consumed = pos;
	resp_free(&p);
	free(buf);
}

/* As a server would: bytes arrive in pieces; a partial request stays at the
 * front of the buffer and is parsed again with what came after it. */
static void parse_pieces(const uint8_t *data, size_t size, size_t piece, size_t bulk_max,
			 int unauth, struct outcome *o)
{
	struct resp_parser p;
	size_t start = 0, have = 0; /* data[start..have) is the unparsed part */

	resp_init(&p, bulk_max);
	p.unauth = unauth;
	while (have < size && !o->error) {
		have = have + piece < size ? have + piece : size;
		for (;;) {
			size_t n = have - start;
			char *buf;
			int r;

			if (n == 0)
				break;
			buf = malloc(n);
			if (!buf)
				abort();
			memcpy(buf, data + start, n);
			r = resp_parse(&p, buf, n);
			if (r == RESP_CMD)
				check_request(&p, buf, n, o);
			free(buf);
			if (r == RESP_NEED)
				break;
			if (r == RESP_ERR) {
				o->error = 1;
				break;
			}
			start += p.used;
			resp_reset(&p);
		}
	}
	o->consumed = start;
	resp_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole = {14695981039346656037ull, 0, 0, 0};
	struct outcome pieces = {14695981039346656037ull, 0, 0, 0};
	size_t bulk_max, piece;
	int unauth;

	if (size < 2)
		return 0;
	unauth = data[0] & 1;
	bulk_max = (data[0] & 14) ? (size_t)(data[0] & 14) * 4 : 64u * 1024 * 1024;
	piece = (size_t)(data[1] % 64) + 1;
	data += 2;
	size -= 2;
	parse_whole(data, size, bulk_max, unauth, &whole);
	parse_pieces(data, size, piece, bulk_max, unauth, &pieces);
	/* Inline requests are unescaped in place, but each attempt works on a
	 * fresh copy, so both ways see the same bytes. */
	if (whole.error != pieces.error || whole.requests != pieces.requests ||
	    whole.hash != pieces.hash || (!whole.error && whole.consumed != pieces.consumed))
		abort();
	return 0;
}
