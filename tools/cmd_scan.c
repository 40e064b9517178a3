/*
 * cmd_scan.c -- `daxkv scan`: ordered key/value lines over an iterator
 * snapshot, bounded by a prefix and/or a [start, end) range.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli.h"

static const char cli_help_scan[] =
	"usage: daxkv scan STORE [options]\n"
	"Prints key<TAB>value lines in key order (a snapshot), escaping \\ TAB LF CR and\n"
	"non-printable bytes as \\\\ \\t \\n \\r \\xHH.\n"
	"  --prefix P     only keys that start with P\n"
	"  --start K      from key K (inclusive)\n"
	"  --end K        up to key K (exclusive)\n"
	"  --limit N      at most N keys (0: none)\n"
	"  --reverse      in descending key order\n"
	"  --keys-only    keys only\n"
	"  -x, --hex      P/K arguments and the output in hex\n"
	"  -e, --escape   P/K arguments with \\xHH escapes\n"
	CLI_COUNTS_HELP;

struct scan {
	struct cli_bytes lo, hi; /* bounds: lo inclusive, hi exclusive; p NULL = none */
	uint64_t limit; /* UINT64_MAX: no --limit */
	int reverse, keys_only, enc;
};

static int keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t m = alen < blen ? alen : blen;
	int c = m ? memcmp(a, b, m) : 0;
	return c ? c : (alen > blen) - (alen < blen);
}

/* The first key after every key that starts with p, or none (p all 0xff). */
static void prefix_end(struct cli_bytes *p)
{
	while (p->len && (unsigned char)p->p[p->len - 1] == 0xff)
		p->len--;
	if (!p->len) {
		free(p->p);
		p->p = NULL;
		return;
	}
	p->p[p->len - 1]++;
}

/* Narrows s's bounds with [lo, hi) (either may be NULL). */
static void narrow(struct scan *s, struct cli_bytes *lo, struct cli_bytes *hi)
{
	if (lo && lo->p) {
		if (!s->lo.p || keycmp(lo->p, lo->len, s->lo.p, s->lo.len) > 0) {
			free(s->lo.p);
			s->lo = *lo;
		} else {
			free(lo->p);
		}
	}
	if (hi && hi->p) {
		if (!s->hi.p || keycmp(hi->p, hi->len, s->hi.p, s->hi.len) < 0) {
			free(s->hi.p);
			s->hi = *hi;
		} else {
			free(hi->p);
		}
	}
}

static int scan_args(int argc, char **argv, struct scan *s)
{
	static const struct option lo[] = {
		{ "prefix", required_argument, NULL, 'p' }, { "start", required_argument, NULL, 's' },
		{ "end", required_argument, NULL, 'E' },    { "limit", required_argument, NULL, 'n' },
		{ "reverse", no_argument, NULL, 'r' },      { "keys-only", no_argument, NULL, 'k' },
		{ "hex", no_argument, NULL, 'x' },          { "escape", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 } };
	const char *arg[3] = { NULL, NULL, NULL }; /* prefix, start, end */
	int c;
	while ((c = getopt_long(argc, argv, ":xehrkn:", lo, NULL)) != -1) {
		switch (c) {
		case 'h': return -1;
		case 'p': arg[0] = optarg; break;
		case 's': arg[1] = optarg; break;
		case 'E': arg[2] = optarg; break;
		case 'r': s->reverse = 1; break;
		case 'k': s->keys_only = 1; break;
		case 'x': s->enc = ENC_HEX; break;
		case 'e': s->enc = ENC_ESC; break;
		case 'n':
			if (cli_count("scan", "--limit", optarg, &s->limit))
				return CLI_USAGE;
			break;
		default: return cli_badopt("scan", c, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage("scan", "expected STORE");
	struct cli_bytes b[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
	for (int i = 0; i < 3; i++)
		if (arg[i] && cli_decode("scan", arg[i], s->enc, &b[i]))
			return CLI_USAGE;
	if (b[0].p) {
		struct cli_bytes end = { malloc(b[0].len + 1), b[0].len };
		if (!end.p)
			return CLI_ERROR;
		memcpy(end.p, b[0].p, b[0].len);
		prefix_end(&end);
		narrow(s, &b[0], &end);
	}
	narrow(s, &b[1], &b[2]);
	return 0;
}

static int in_range(const struct scan *s, const void *k, size_t klen)
{
	if (s->lo.p && keycmp(k, klen, s->lo.p, s->lo.len) < 0)
		return 0;
	return !s->hi.p || keycmp(k, klen, s->hi.p, s->hi.len) < 0;
}

static void position(daxkv_iter *it, const struct scan *s)
{
	if (!s->reverse) {
		if (s->lo.p)
			daxkv_iter_seek(it, s->lo.p, s->lo.len);
		else
			daxkv_iter_seek_first(it);
		return;
	}
	if (s->hi.p) {
		daxkv_iter_seek(it, s->hi.p, s->hi.len); /* first >= hi, then one back */
		if (daxkv_iter_valid(it)) {
			daxkv_iter_prev(it);
			return;
		}
	}
	daxkv_iter_seek_last(it);
}

static int scan_run(daxkv *db, const char *store, const struct scan *s)
{
	daxkv_iter *it = NULL;
	int rc = daxkv_iter_new(db, &it), out = CLI_OK;
	if (rc)
		return cli_fail("scan", rc, store);
	uint64_t n = 0;
	for (position(it, s); daxkv_iter_valid(it); s->reverse ? daxkv_iter_prev(it)
							       : daxkv_iter_next(it)) {
		size_t klen, vlen = 0;
		const void *k = daxkv_iter_key(it, &klen), *v = NULL;
		if (!in_range(s, k, klen) || n >= s->limit || ferror(stdout))
			break; /* main reports a failed stdout */
		if (!s->keys_only && !(v = daxkv_iter_value(it, &vlen))) {
			fprintf(stderr, "daxkv scan: %s: damaged: the record of key '", store);
			cli_print(stderr, k, klen, ENC_ESC);
			fprintf(stderr, "' fails its CRC (run daxkv check)\n");
			out = CLI_DAMAGED;
			continue;
		}
		cli_print(stdout, k, klen, s->enc == ENC_HEX ? ENC_HEX : ENC_ESC);
		if (!s->keys_only) {
			fputc('\t', stdout);
			cli_print(stdout, v, vlen, s->enc == ENC_HEX ? ENC_HEX : ENC_ESC);
		}
		fputc('\n', stdout);
		n++;
	}
	if (daxkv_iter_status(it) && out == CLI_OK)
		out = cli_fail("scan", daxkv_iter_status(it), store);
	daxkv_iter_free(it);
	return out;
}

int cmd_scan(int argc, char **argv)
{
	struct scan s;
	memset(&s, 0, sizeof(s));
	s.limit = UINT64_MAX;
	int rc = scan_args(argc, argv, &s);
	if (rc == -1)
		rc = cli_help(cli_help_scan);
	else if (rc == 0) {
		daxkv *db = NULL;
		rc = cli_open("scan", argv[optind], OPEN_RO, NULL, &db);
		if (!rc)
			rc = scan_run(db, argv[optind], &s);
		daxkv_close(db);
	}
	free(s.lo.p);
	free(s.hi.p);
	return rc;
}
