/*
 * cmd_kv.c -- `daxkv create|get|put|del|scan`: the store for humans and
 * shell scripts, through the public API only.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"

#define ENC_OPTS ":xeh"
#define ENC_LONG                                                                           \
	{ "hex", no_argument, NULL, 'x' }, { "escape", no_argument, NULL, 'e' },             \
	{ "help", no_argument, NULL, 'h' }

static const char help_create[] =
	"usage: daxkv create STORE [--size N] [--segment-size N]\n"
	"Creates an empty store (fails if STORE exists).\n"
	"  --size N          pool bytes (default 1G)\n"
	"  --segment-size N  log segment bytes, a power of two >= 64K (default: pool/32,\n"
	"                    1M..64M).  The largest record (48 B header + key + value,\n"
	"                    8 B aligned) and the largest batch is a segment less its\n"
	"                    header: daxkv info STORE shows it.\n"
	CLI_SIZES_HELP;
static const char help_get[] =
	"usage: daxkv get STORE KEY [-x|--hex] [-e|--escape]\n"
	"Writes the value of KEY to stdout as raw bytes (with --hex: hex and a newline).\n"
	"Exit 3 when KEY is absent.\n";
static const char help_put[] =
	"usage: daxkv put STORE KEY VALUE|- [-x|--hex] [-e|--escape]\n"
	"Stores VALUE under KEY (durable on exit 0).  '-' reads the value from stdin\n"
	"(raw bytes, even with --hex).  The record (48 B header + key + value) must fit\n"
	"the store's largest record (daxkv info STORE: record max bytes).\n";
static const char help_del[] =
	"usage: daxkv del STORE KEY [-x|--hex] [-e|--escape]\n"
	"Deletes KEY.  Exit 3 when KEY is absent.\n";
/* -x/-e/-h handling shared by the key commands; returns 1 if handled. */
static int enc_opt(int c, int *enc)
{
	if (c == 'x')
		*enc = ENC_HEX;
	else if (c == 'e')
		*enc = ENC_ESC;
	else
		return 0;
	return 1;
}

/* "daxkv CMD: STORE: key 'K' not found" (exit 3), or the status as usual. */
static int key_fail(const char *cmd, const char *store, int r, const struct cli_bytes *k)
{
	if (r != DAXKV_ENOTFOUND)
		return cli_fail(cmd, r, store);
	fprintf(stderr, "daxkv %s: %s: key '", cmd, store);
	cli_print(stderr, k->p, k->len, ENC_ESC);
	fputs("' not found\n", stderr);
	return CLI_NOTFOUND;
}

/* A record larger than the store's segments take: say it with the numbers. */
static int too_big(daxkv *db, const char *store, const struct cli_bytes *k,
		   const struct cli_bytes *v)
{
	daxkv_stats st;
	if (daxkv_stats_get(db, &st))
		return cli_fail("put", DAXKV_ETOOBIG, store);
	fprintf(stderr, "daxkv put: %s: too big for this store: the record would take %llu "
		"bytes (48 B header + %zu B key + %zu B value, 8 B aligned), the store's "
		"largest is %llu (segment size %llu); use a store with larger segments "
		"(create --segment-size)\n", store,
		(unsigned long long)((48 + k->len + v->len + 7) & ~(size_t)7), k->len, v->len,
		(unsigned long long)st.record_max_bytes, (unsigned long long)st.segment_size);
	return CLI_ERROR;
}

int cmd_create(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "segment-size", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct cli_geom g = { 0, 0 };
	int c;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_help(help_create);
		if (c != 's' && c != 'S')
			return cli_badopt("create", c, argv);
		if (cli_size("create", c == 's' ? "--size" : "--segment-size", optarg,
			     c == 's' ? &g.pool_size : &g.segment_size))
			return CLI_USAGE;
	}
	if (argc - optind != 1)
		return cli_usage("create", "expected STORE");
	const char *path = argv[optind];
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "daxkv create: %s: already exists\n", path);
		return CLI_ERROR;
	}
	daxkv *db = NULL;
	int rc = cli_open("create", path, OPEN_CREATE, &g, &db);
	if (rc)
		return rc;
	return daxkv_close(db) ? CLI_ERROR : CLI_OK;
}

/* Parses [-x] [-e] STORE KEY [VALUE]: nargs positional arguments. */
static int key_args(const char *cmd, const char *help, int argc, char **argv, int nargs,
		    int *enc)
{
	static const struct option lo[] = { ENC_LONG, { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, ENC_OPTS, lo, NULL)) != -1) {
		if (c == 'h') {
			cli_help(help);
			return -1;
		}
		if (!enc_opt(c, enc))
			return cli_badopt(cmd, c, argv);
	}
	if (argc - optind != nargs)
		return cli_usage(cmd, "expected %s", nargs == 3 ? "STORE KEY VALUE" : "STORE KEY");
	return 0;
}

int cmd_get(int argc, char **argv)
{
	int enc = ENC_RAW, rc = key_args("get", help_get, argc, argv, 2, &enc);
	if (rc)
		return rc < 0 ? CLI_OK : rc;
	struct cli_bytes k;
	if (cli_decode("get", argv[optind + 1], enc, &k))
		return CLI_USAGE;
	if (!k.len) {
		free(k.p);
		return cli_usage("get", "KEY is empty (a key is 1 to %u bytes)", DAXKV_KEY_MAX);
	}
	daxkv *db = NULL;
	char *buf = NULL;
	rc = cli_open("get", argv[optind], OPEN_RO, NULL, &db);
	size_t vlen = 0, cap = 0;
	while (!rc) {
		int r = daxkv_get(db, k.p, k.len, buf, cap, &vlen);
		if (r) {
			rc = key_fail("get", argv[optind], r, &k);
			break;
		}
		if (vlen <= cap)
			break;
		free(buf);
		cap = vlen;
		buf = malloc(cap);
		if (!buf) {
			fprintf(stderr, "daxkv get: out of memory\n");
			rc = CLI_ERROR;
		}
	}
	if (!rc && enc == ENC_HEX) {
		cli_print(stdout, buf, vlen, ENC_HEX);
		fputc('\n', stdout);
	} else if (!rc && vlen) {
		fwrite(buf, 1, vlen, stdout); /* main checks stdout */
	}
	daxkv_close(db);
	free(buf);
	free(k.p);
	return rc;
}

static int read_stdin(struct cli_bytes *v)
{
	size_t cap = 1 << 16;
	v->len = 0;
	v->p = malloc(cap);
	while (v->p) {
		if (v->len == cap) {
			char *p = cap > DAXKV_VALUE_MAX ? NULL : realloc(v->p, cap * 2);
			if (!p) {
				fprintf(stderr, "daxkv put: the value on stdin is too big: more "
					"than %u bytes (DAXKV_VALUE_MAX)\n", DAXKV_VALUE_MAX);
				return -1;
			}
			v->p = p;
			cap *= 2;
		}
		size_t n = fread(v->p + v->len, 1, cap - v->len, stdin);
		v->len += n;
		if (n == 0)
			return ferror(stdin) ? -1 : 0;
	}
	fprintf(stderr, "daxkv put: out of memory\n");
	return -1;
}

int cmd_put(int argc, char **argv)
{
	int enc = ENC_RAW, rc = key_args("put", help_put, argc, argv, 3, &enc);
	if (rc)
		return rc < 0 ? CLI_OK : rc;
	struct cli_bytes k = { NULL, 0 }, v = { NULL, 0 };
	const char *varg = argv[optind + 2];
	if (cli_decode("put", argv[optind + 1], enc, &k))
		return CLI_USAGE;
	if (!k.len) {
		free(k.p);
		return cli_usage("put", "KEY is empty (a key is 1 to %u bytes)", DAXKV_KEY_MAX);
	}
	if (!strcmp(varg, "-") ? read_stdin(&v) : cli_decode("put", varg, enc, &v)) {
		free(k.p);
		free(v.p);
		return !strcmp(varg, "-") ? CLI_ERROR : CLI_USAGE;
	}
	daxkv *db = NULL;
	rc = cli_open("put", argv[optind], OPEN_RW, NULL, &db);
	if (!rc) {
		int r = daxkv_put(db, k.p, k.len, v.p, v.len);
		if (r == DAXKV_ETOOBIG && k.len <= DAXKV_KEY_MAX && v.len <= DAXKV_VALUE_MAX)
			rc = too_big(db, argv[optind], &k, &v);
		else if (r)
			rc = cli_fail("put", r, argv[optind]);
		if (daxkv_close(db) && !rc)
			rc = CLI_ERROR;
	}
	free(k.p);
	free(v.p);
	return rc;
}

int cmd_del(int argc, char **argv)
{
	int enc = ENC_RAW, rc = key_args("del", help_del, argc, argv, 2, &enc);
	if (rc)
		return rc < 0 ? CLI_OK : rc;
	struct cli_bytes k;
	if (cli_decode("del", argv[optind + 1], enc, &k))
		return CLI_USAGE;
	if (!k.len) {
		free(k.p);
		return cli_usage("del", "KEY is empty (a key is 1 to %u bytes)", DAXKV_KEY_MAX);
	}
	daxkv *db = NULL;
	rc = cli_open("del", argv[optind], OPEN_RW, NULL, &db);
	if (!rc) {
		int r = daxkv_delete(db, k.p, k.len);
		if (r)
			rc = key_fail("del", argv[optind], r, &k);
		if (daxkv_close(db) && !rc)
			rc = CLI_ERROR;
	}
	free(k.p);
	return rc;
}
