/*
 * cli.h -- what the subcommands of the `daxkv` tool share (docs/CLI.md).
 */
#ifndef DAXKV_CLI_H
#define DAXKV_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daxkv.h"

/* Exit codes (documented in `daxkv --help` and docs/CLI.md). */
enum {
	CLI_OK = 0,
	CLI_DAMAGED = 1,  /* check found damage; a corrupt stream or record */
	CLI_USAGE = 2,
	CLI_NOTFOUND = 3, /* get/del of an absent key */
	CLI_ERROR = 4     /* any other engine or OS error */
};

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

/* Maps an engine status to an exit code and says why on stderr. */
int cli_fail(const char *cmd, int rc, const char *what);
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses "4096", "64K", "64M", "1G", "1GiB" (binary units).  0 or -1. */
int cli_size(const char *s, uint64_t *out);

/* Opening a store. */
enum { OPEN_RO = 0, OPEN_RW = 1, OPEN_CREATE = 2 };
struct cli_geom {
	uint64_t pool_size, segment_size; /* 0 = defaults */
};
/* OPEN_RO opens read-only, and read-write (recovering) when the pool was not
 * shut down cleanly, so what is read is what recovery makes of it. */
int cli_open(const char *cmd, const char *path, int mode, const struct cli_geom *g,
	     daxkv **out);

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

/* `--help` of a subcommand: text on stdout, exit 0. */
int cli_help(const char *text);

#endif
