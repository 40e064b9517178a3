/*
 * main.c -- `daxkv`, the command-line tool: dispatch, exit codes, and the
 * helpers its subcommands share (argument decoding, escaping, opening).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine/inspect.h"
#include "tools/cli.h"

static const char usage_text[] =
	"usage: daxkv COMMAND STORE [ARGS...]   (daxkv COMMAND --help for each)\n"
	"\n"
	"Commands:\n"
	"  info STORE [--json]              geometry, space, segments, keys, clean flag\n"
	"  check STORE [--repair [--from-log]] [--json]\n"
	"                                   verify everything read-only; --repair rebuilds\n"
	"  create STORE [--size N] [--segment-size N]\n"
	"  get STORE KEY                    the raw value on stdout\n"
	"  put STORE KEY VALUE|-            '-' reads the value from stdin\n"
	"  del STORE KEY\n"
	"  scan STORE [--prefix P] [--start K] [--end K] [--limit N] [--reverse]\n"
	"             [--keys-only]         key<TAB>value lines, non-printables escaped\n"
	"  dump STORE [-o FILE]             all live key/values as a portable stream\n"
	"  load STORE [FILE]                read a dump (stdin by default); creates STORE\n"
	"  backup STORE DEST                consistent snapshot written with io_uring\n"
	"  restore BACKUP STORE [--force]   a new store from a backup or dump\n"
	"\n"
	"Keys and values: -x/--hex takes and prints hex; -e/--escape takes \\xHH \\\\ \\t\n"
	"\\n \\r \\0 escapes (scan prints keys that way).\n"
	"\n"
	"Exit status: 0 ok; 1 damaged (check found damage, corrupt stream or record);\n"
	"2 usage error; 3 key not found (get, del); 4 any other error (the engine's\n"
	"message is printed).  Emulated pmem needs PMEM_IS_PMEM_FORCE=1.  See docs/CLI.md.\n";

struct cmd {
	const char *name;
	int (*fn)(int, char **);
};

static const struct cmd cmds[] = {
	{ "info", cmd_info },     { "check", cmd_check },   { "create", cmd_create },
	{ "get", cmd_get },       { "put", cmd_put },       { "del", cmd_del },
	{ "delete", cmd_del },    { "scan", cmd_scan },     { "dump", cmd_dump },
	{ "load", cmd_load },     { "backup", cmd_backup }, { "restore", cmd_restore },
	{ NULL, NULL },
};

int cli_help(const char *text)
{
	fputs(text, stdout);
	return CLI_OK;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "daxkv %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (daxkv %s --help)\n", cmd);
	return CLI_USAGE;
}

int cli_fail(const char *cmd, int rc, const char *what)
{
	const char *msg = daxkv_errmsg();
	fprintf(stderr, "daxkv %s: %s: %s%s%s\n", cmd, what, daxkv_strerror(rc),
		*msg ? ": " : "", msg);
	if (rc == DAXKV_ENOTFOUND)
		return CLI_NOTFOUND;
	return rc == DAXKV_ECORRUPT ? CLI_DAMAGED : CLI_ERROR;
}

int cli_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && (!strcasecmp(end, "iB") || !strcasecmp(end, "B")))
		end += strlen(end);
	if (*end || (shift && v > (~0ull >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int unescape(const char *s, char *d, size_t *len)
{
	size_t n = 0;
	for (; *s; s++) {
		if (*s != '\\') {
			d[n++] = *s;
			continue;
		}
		switch (*++s) {
		case '\\': d[n++] = '\\'; break;
		case 't': d[n++] = '\t'; break;
		case 'n': d[n++] = '\n'; break;
		case 'r': d[n++] = '\r'; break;
		case '0': d[n++] = '\0'; break;
		case 'x': {
			int h = hexval((unsigned char)s[1]), l = h < 0 ? -1 : hexval((unsigned char)s[2]);
			if (l < 0)
				return -1;
			d[n++] = (char)(h * 16 + l);
			s += 2;
			break;
		}
		default: return -1;
		}
	}
	*len = n;
	return 0;
}

int cli_decode(const char *cmd, const char *arg, int enc, struct cli_bytes *out)
{
	size_t alen = strlen(arg);
	out->p = malloc(alen + 1);
	out->len = 0;
	if (!out->p) {
		fprintf(stderr, "daxkv %s: out of memory\n", cmd);
		return -1;
	}
	int bad = 0;
	if (enc == ENC_HEX) {
		bad = alen % 2 != 0;
		for (size_t i = 0; !bad && i < alen; i += 2) {
			int h = hexval((unsigned char)arg[i]), l = hexval((unsigned char)arg[i + 1]);
			bad = h < 0 || l < 0;
			out->p[out->len++] = (char)(h * 16 + l);
		}
	} else if (enc == ENC_ESC) {
		bad = unescape(arg, out->p, &out->len) != 0;
	} else {
		memcpy(out->p, arg, alen);
		out->len = alen;
	}
	if (bad) {
		cli_usage(cmd, "'%s' is not valid %s", arg, enc == ENC_HEX ? "hex" : "escaped text");
		free(out->p);
		out->p = NULL;
		return -1;
	}
	return 0;
}

void cli_print(FILE *f, const void *b, size_t len, int enc)
{
	const unsigned char *p = b;
	for (size_t i = 0; i < len; i++) {
		unsigned c = p[i];
		if (enc == ENC_HEX)
			fprintf(f, "%02x", c);
		else if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc((int)c, f);
	}
}

int cli_open(const char *cmd, const char *path, int mode, const struct cli_geom *g,
	     daxkv **out)
{
	daxkv_options o;
	daxkv_options_init(&o);
	o.gc_background = 0; /* a short-lived process */
	o.read_only = mode == OPEN_RO;
	o.create = mode == OPEN_CREATE;
	if (g) {
		o.pool_size = g->pool_size;
		o.segment_size = g->segment_size;
	}
	int rc = daxkv_open(path, &o, out);
	if (rc) {
		int code = cli_fail(cmd, rc, path);
		return code == CLI_NOTFOUND ? CLI_ERROR : code; /* a missing store is not a
								   missing key */
	}
	if (mode != OPEN_RO || insp_db_was_clean(*out))
		return CLI_OK;
	/* Not shut down cleanly: let recovery settle it before reading. */
	daxkv_close(*out);
	*out = NULL;
	o.read_only = 0;
	rc = daxkv_open(path, &o, out);
	if (rc == 0)
		return CLI_OK;
	fprintf(stderr, "daxkv %s: warning: %s was not shut down cleanly and cannot be "
		"recovered here (%s); reading it as it is\n", cmd, path, daxkv_strerror(rc));
	o.read_only = 1;
	rc = daxkv_open(path, &o, out);
	return rc ? cli_fail(cmd, rc, path) : CLI_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("daxkv 0.1.0\n");
		return CLI_OK;
	}
	for (const struct cmd *c = cmds; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "daxkv: unknown command '%s' (daxkv --help)\n", argv[1]);
	return CLI_USAGE;
}
