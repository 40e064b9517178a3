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

#include "tools/lib/inspect.h"
#include "tools/cli.h"

static const char usage_text[] =
	"usage: daxkv COMMAND ARGS...   (daxkv COMMAND --help, or daxkv help COMMAND)\n"
	"\n"
	"Commands:\n"
	"  info STORE [--json]              geometry, limits, space, segments, keys, clean flag\n"
	"  check STORE [--repair [--from-log]] [--json] [--quiet]\n"
	"                                   verify everything read-only; --repair rebuilds\n"
	"  create STORE [--size N] [--segment-size N]\n"
	"  get STORE KEY                    the raw value on stdout\n"
	"  put STORE KEY VALUE|-            '-' reads the value from stdin\n"
	"  del STORE KEY                    (also: delete)\n"
	"  scan STORE [--prefix P] [--start K] [--end K] [--limit N] [--reverse]\n"
	"             [--keys-only]         key<TAB>value lines, non-printables escaped\n"
	"  dump STORE [-o FILE]             all live key/values as a portable stream\n"
	"  load STORE [FILE]                read a dump (stdin by default); creates STORE\n"
	"  backup STORE DEST [--force]      consistent snapshot written with io_uring\n"
	"  restore BACKUP STORE [--force]   a new store from a backup or dump\n"
	"  version                          the library's version (also: --version)\n"
	"  help [COMMAND]                   this text, or COMMAND's (as COMMAND --help)\n"
	"\n"
	"Keys and values: -x/--hex takes and prints hex; -e/--escape takes \\xHH \\\\ \\t\n"
	"\\n \\r \\0 escapes (scan prints keys that way).\n"
	CLI_SIZES_HELP
	CLI_COUNTS_HELP
	"\n"
	"Exit status: 0 ok; 1 damaged (check found damage, a damaged pool, record or\n"
	"stream); 2 usage error; 3 key not found (get, del); 4 any other error (missing\n"
	"store, busy, not a pool, another format version, permission, OS error, output\n"
	"not written).  Errors are one line: daxkv COMMAND: STORE: reason.\n"
	"Emulated pmem needs PMEM_IS_PMEM_FORCE=1.  See daxkv(1).\n";

static const char help_version[] =
	"usage: daxkv version   (or daxkv --version)\n"
	"Prints the version of the daxkv library the tool runs with (daxkv_version()).\n";

struct cmd {
	const char *name;
	int (*fn)(int, char **);
};

static const struct cmd cmds[] = {
	{ "info", cmd_info },     { "check", cmd_check },   { "create", cmd_create },
	{ "get", cmd_get },       { "put", cmd_put },       { "del", cmd_del },
	{ "delete", cmd_del },    { "scan", cmd_scan },     { "dump", cmd_dump },
	{ "load", cmd_load },     { "backup", cmd_backup }, { "restore", cmd_restore },
	{ "version", cmd_version }, { NULL, NULL },
};

int cli_help(const char *text)
{
	fputs(text, stdout);
	return CLI_OK;
}

int cmd_version(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return cli_help(help_version);
	if (argc != 1)
		return cli_usage("version", "takes no arguments");
	printf("daxkv %s\n", daxkv_version());
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

int cli_badopt(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	if (c == ':')
		return cli_usage(cmd, "option '%s' needs an argument", arg);
	if (optopt)
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	return cli_usage(cmd, "unknown option '%s'", arg);
}

int cli_exit(int rc)
{
	if (rc == DAXKV_ENOTFOUND)
		return CLI_NOTFOUND;
	return rc == DAXKV_ECORRUPT ? CLI_DAMAGED : CLI_ERROR;
}

/* Short names of the statuses, to lead a reason whose detail lacks them. */
static const char *status_word(int rc)
{
	switch (rc) {
	case DAXKV_ECORRUPT: return "damaged";
	case DAXKV_EVERSION: return "unsupported format";
	case DAXKV_EBUSY: return "busy";
	case DAXKV_ETOOBIG: return "too big";
	case DAXKV_ENOSPC: return "store full";
	case DAXKV_EREADONLY: return "read-only";
	default: return daxkv_strerror(rc);
	}
}

/* The engine's detail for rc without the path in it: "PATH is X" -> "X",
 * "PATH: X" -> "X", "VERB PATH: X" -> "VERB: X"; a detail with the path
 * anywhere else is kept as it is, unless the status word says it all.  Empty:
 * no detail. */
static void detail(int rc, const char *path, char *buf, size_t cap)
{
	const char *msg = daxkv_errmsg(), *at = *path ? strstr(msg, path) : NULL;
	size_t pl = strlen(path);
	if (!at) {
		snprintf(buf, cap, "%s", msg);
		return;
	}
	const char *rest = at + pl;
	snprintf(buf, cap, "%s", msg); /* a path elsewhere: the detail as it is */
	if (at == msg && !strncmp(rest, " is ", 4))
		snprintf(buf, cap, "%s", rest + 4);
	else if (at == msg && !strncmp(rest, ": ", 2))
		snprintf(buf, cap, "%s", rest + 2);
	else if (at > msg && at[-1] == ' ' && !memchr(msg, ' ', (size_t)(at - msg - 1)) &&
		 !strncmp(rest, ": ", 2))
		snprintf(buf, cap, "%.*s%s", (int)(at - msg - 1), msg, rest);
	else if (rc == DAXKV_ENOSTORE || rc == DAXKV_EBUSY || rc == DAXKV_ENOTPOOL)
		buf[0] = '\0'; /* these say all about a store that the status word says */
}

int cli_fail_note(const char *cmd, int rc, const char *what, const char *note)
{
	char d[512];
	const char *word = status_word(rc);
	detail(rc, what, d, sizeof(d));
	fprintf(stderr, "daxkv %s: %s: ", cmd, what);
	if (!*d)
		fputs(word, stderr);
	else if (strcasestr(d, word))
		fputs(d, stderr);
	else
		fprintf(stderr, "%s: %s", word, d);
	fprintf(stderr, "%s%s\n", note ? "; " : "", note ? note : "");
	return cli_exit(rc);
}

int cli_fail(const char *cmd, int rc, const char *what)
{
	return cli_fail_note(cmd, rc, what, NULL);
}

static int parse_u64(const char *s, uint64_t *v, char **end)
{
	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, end, 10);
	if (errno)
		return -1;
	*v = x;
	return 0;
}

int cli_size(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;
	unsigned shift = 0;
	if (parse_u64(s, &v, &end))
		goto bad;
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
		goto bad;
	if (v == 0)
		return cli_usage(cmd, "%s 0: a size must be at least 1 (leave the option out "
				 "for the default)", opt);
	*out = v << shift;
	return 0;
bad:
	return cli_usage(cmd, "%s '%s' is not a size (bytes, or with K/M/G/T: x1024)", opt, s);
}

int cli_count(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	char *end;
	if (parse_u64(s, out, &end) || *end)
		return cli_usage(cmd, "%s '%s' is not a count (a plain decimal number)", opt, s);
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
	if (rc == DAXKV_EINVAL && mode == OPEN_CREATE) /* the geometry asked for */
		return cli_usage(cmd, "bad geometry: %s", daxkv_errmsg());
	if (rc) /* a missing store is ENOSTORE (4), never a missing key (3) */
		return cli_fail(cmd, rc, path);
	if (mode != OPEN_RO || insp_db_was_clean(*out))
		return CLI_OK;
	/* Not shut down cleanly: let recovery settle it before reading. */
	daxkv_close(*out);
	*out = NULL;
	o.read_only = 0;
	rc = daxkv_open(path, &o, out);
	if (rc == 0)
		return CLI_OK;
	fprintf(stderr, "daxkv %s: %s: warning: not shut down cleanly and cannot be "
		"recovered here (%s); reading it as it is\n", cmd, path, status_word(rc));
	o.read_only = 1;
	rc = daxkv_open(path, &o, out);
	return rc ? cli_fail(cmd, rc, path) : CLI_OK;
}

/* Whatever a command wrote to stdout must have reached it: a full device or
 * a closed pipe is an error (exit 4), reported once, here. */
static int close_stdout(const char *cmd, int rc)
{
	errno = 0;
	int bad = fflush(stdout) != 0 || ferror(stdout);
	int e = errno;
	if (fclose(stdout) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (!bad)
		return rc;
	fprintf(stderr, "daxkv%s%s: writing standard output: %s\n", cmd ? " " : "",
		cmd ? cmd : "", e ? strerror(e) : "write error");
	return rc ? rc : CLI_ERROR;
}

static const struct cmd *find(const char *name)
{
	for (const struct cmd *c = cmds; c->name; c++)
		if (!strcmp(name, c->name))
			return c;
	return NULL;
}

static int run(int argc, char **argv, const char **cmd)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return CLI_USAGE;
	}
	const char *a = argv[1];
	if (!strcmp(a, "--help") || !strcmp(a, "-h") || (!strcmp(a, "help") && argc == 2))
		return cli_help(usage_text);
	if (!strcmp(a, "--version"))
		a = "version";
	if (!strcmp(a, "help")) { /* help COMMAND: exactly COMMAND --help */
		const struct cmd *c = find(argv[2]);
		if (!c || argc > 3) {
			fprintf(stderr, "daxkv help: %s (daxkv --help)\n",
				c ? "takes one COMMAND" : "unknown command");
			return CLI_USAGE;
		}
		char *hargv[] = { argv[2], (char *)"--help", NULL };
		*cmd = c->name;
		return c->fn(2, hargv);
	}
	const struct cmd *c = find(a);
	if (!c) {
		fprintf(stderr, "daxkv: unknown command '%s' (daxkv --help)\n", a);
		return CLI_USAGE;
	}
	*cmd = c->name;
	return c->fn(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	const char *cmd = NULL;
	opterr = 0; /* cli_badopt says it, in one line */
	int rc = run(argc, argv, &cmd);
	return close_stdout(cmd, rc);
}
