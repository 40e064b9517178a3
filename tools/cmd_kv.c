/*
 * cmd_kv.c -- `daxkv create|get|put|del|scan`: the store for humans and
 * shell scripts, through the public API only.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/cli.h"

#define ENC_OPTS "xeh"
#define ENC_LONG                                                                           \
	{ "hex", no_argument, NULL, 'x' }, { "escape", no_argument, NULL, 'e' },             \
	{ "help", no_argument, NULL, 'h' }

static const char help_create[] =
	"usage: daxkv create STORE [--size N] [--segment-size N]\n"
	"Creates an empty store (fails if STORE exists).  N takes K/M/G suffixes.\n"
	"  --size N          pool bytes (default 1G)\n"
	"  --segment-size N  log segment bytes, a power of two >= 64K (default: pool/32,\n"
	"                    1M..64M)\n";
static const char help_get[] =
	"usage: daxkv get STORE KEY [-x|--hex] [-e|--escape]\n"
	"Writes the value of KEY to stdout as raw bytes (with --hex: hex and a newline).\n"
	"Exit 3 when KEY is absent.\n";
static const char help_put[] =
	"usage: daxkv put STORE KEY VALUE|- [-x|--hex] [-e|--escape]\n"
	"Stores VALUE under KEY (durable on exit 0).  '-' reads the value from stdin\n"
	"(raw bytes, even with --hex).\n";
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

int cmd_create(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "segment-size", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct cli_geom g = { 0, 0 };
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_help(help_create);
		uint64_t *dst = c == 's' ? &g.pool_size : c == 'S' ? &g.segment_size : NULL;
		if (!dst || cli_size(optarg, dst))
			return cli_usage("create", "bad option or size");
	}
	if (argc - optind != 1)
		return cli_usage("create", "expected STORE");
	const char *path = argv[optind];
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "daxkv create: %s already exists\n", path);
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
			return cli_usage(cmd, "unknown option");
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
	daxkv *db = NULL;
	char *buf = NULL;
	rc = cli_open("get", argv[optind], OPEN_RO, NULL, &db);
	size_t vlen = 0, cap = 0;
	while (!rc) {
		int r = daxkv_get(db, k.p, k.len, buf, cap, &vlen);
		if (r) {
			rc = cli_fail("get", r, "get");
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
	} else if (!rc && vlen && fwrite(buf, 1, vlen, stdout) != vlen) {
		rc = CLI_ERROR;
	}
	if (fflush(stdout))
		rc = CLI_ERROR;
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
				fprintf(stderr, "daxkv put: the value on stdin is too big\n");
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
	if (!strcmp(varg, "-") ? read_stdin(&v) : cli_decode("put", varg, enc, &v)) {
		free(k.p);
		free(v.p);
		return !strcmp(varg, "-") ? CLI_ERROR : CLI_USAGE;
	}
	daxkv *db = NULL;
	rc = cli_open("put", argv[optind], OPEN_RW, NULL, &db);
	if (!rc) {
		int r = daxkv_put(db, k.p, k.len, v.p, v.len);
		if (r)
			rc = cli_fail("put", r, "put");
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
	daxkv *db = NULL;
	rc = cli_open("del", argv[optind], OPEN_RW, NULL, &db);
	if (!rc) {
		int r = daxkv_delete(db, k.p, k.len);
		if (r)
			rc = cli_fail("del", r, "delete");
		if (daxkv_close(db) && !rc)
			rc = CLI_ERROR;
	}
	free(k.p);
	return rc;
}
