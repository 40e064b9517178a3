/*
 * cli.h -- what the subcommands of the `daxkv` tool share (docs/CLI.md).
 */
#ifndef DAXKV_CLI_H
#define DAXKV_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daxkv.h"

/* Exit codes (documented in `daxkv --help`, daxkv(1) and docs/CLI.md). */
enum {
	CLI_OK = 0,
	CLI_DAMAGED = 1,  /* check found damage; a damaged pool, stream or record */
	CLI_USAGE = 2,
	CLI_NOTFOUND = 3, /* get/del of an absent key, and nothing else */
	CLI_ERROR = 4     /* any other error: missing store, busy, not a pool, another
			     format version, permission, OS error, full output */
};

/* How sizes and counts are written, for every --help (and daxkv(1)). */
#define CLI_SIZES_HELP                                                                     \
	"Sizes are bytes, or a number with K, M, G or T (x1024 each; KiB/KB alike);\n"       \
	"0 is refused.\n"
#define CLI_COUNTS_HELP "Counts are plain decimal numbers (no suffixes); 0 means none.\n"

/* How key/value arguments are written and keys/values printed. */
enum { ENC_RAW = 0, ENC_HEX = 1, ENC_ESC = 2 };

struct cli_bytes {
	char *p;
	size_t len;
};

/* Decodes arg (raw, hex, or with \xHH \\ \t \n \r \0 escapes) into a fresh
 * buffer.  0, or -1 with a message on stderr (a usage error). */
int cli_decode(const char *cmd, const char *arg, int enc, struct cli_bytes *out);
/* Writes b for a terminal or a line-oriented script: hex with ENC_HEX, else
 * printable ASCII as is and \\ \t \n \r \xHH for the rest. */
void cli_print(FILE *f, const void *b, size_t len, int enc);

/* Says "daxkv CMD: WHAT: reason" on stderr (WHAT: the store or file the
 * status is about; the engine's detail without a second copy of WHAT) and
 * maps the status to an exit code (cli_exit). */
int cli_fail(const char *cmd, int rc, const char *what);
/* The same with "; NOTE" at the end of the line (NULL: none). */
int cli_fail_note(const char *cmd, int rc, const char *what, const char *note);
/* The exit code of an engine status: ECORRUPT 1, ENOTFOUND 3, the rest 4. */
int cli_exit(int rc);
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error for the option getopt_long just refused (it returned '?' or
 * ':'; optstrings start with ':' and opterr is 0, so this is the only line). */
int cli_badopt(const char *cmd, int c, char **argv);
/* Parses a size: "4096", "64K", "64M", "1G", "1GiB" (binary units, > 0).
 * 0, or a usage error (exit code 2) naming opt. */
int cli_size(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* Parses a count: plain decimal, 0 allowed.  0, or a usage error. */
int cli_count(const char *cmd, const char *opt, const char *s, uint64_t *out);

/* Opening a store. */
enum { OPEN_RO = 0, OPEN_RW = 1, OPEN_CREATE = 2 };
struct cli_geom {
	uint64_t pool_size, segment_size; /* 0 = defaults */
};
/* OPEN_RO opens read-only, and read-write (recovering) when the pool was not
 * shut down cleanly, so what is read is what recovery makes of it. */
int cli_open(const char *cmd, const char *path, int mode, const struct cli_geom *g,
	     daxkv **out);

/* A JSON string of len bytes on stdout (cmd_check.c). */
void json_str(const void *b, size_t len);
/* info / check of a block-backend store, through the library (cmd_block.c). */
int blk_info(const char *path, int json);
int blk_check(const char *path, int rep, int json, int quiet);

/* Subcommands: argv[0] is the subcommand's name; they return exit codes. */
int cmd_info(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_del(int argc, char **argv);
int cmd_scan(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* `--help` of a subcommand (and `daxkv help CMD`): text on stdout, exit 0
 * (main checks that stdout took it). */
int cli_help(const char *text);

#endif
