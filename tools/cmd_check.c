/*
 * cmd_check.c -- `daxkv info` and `daxkv check [--repair [--from-log]]`,
 * over the inspector of tools/lib/inspect.h (the pool is mapped read-only and
 * nothing on it is trusted).
 */
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "tools/lib/inspect.h"
#include <sys/stat.h>

#include "tools/cli.h"

static const char help_info[] =
	"usage: daxkv info STORE [--json]\n"
	"Backend, format version, geometry, capacity/used/live/dead bytes, segments by\n"
	"state, key count, the clean-shutdown flag and the pool header's two copies\n"
	"(primary, backup: valid/missing/damaged), read without opening the store\n"
	"for writing (after an unclean shutdown keys and live bytes are recounted).\n"
	"Limits: max record is the largest record (48 B header + key + value,\n"
	"8 B aligned) and the largest batch the store takes (its segment size less the\n"
	"segment header); max value is the largest value with a 1-byte key.\n"
	"  --json      one JSON object on stdout\n";
static const char help_check[] =
	"usage: daxkv check STORE [--repair [--from-log]] [--json] [--quiet]\n"
	"Verifies STORE read-only: segment headers, every record's CRC, every index node\n"
	"(pointer, level, record of its key, level-0 order, loops, node bitmap), the upper\n"
	"levels, and discard/key counts against a recount.  Exit 0 clean, 1 damaged, with\n"
	"one line per problem: where (segment, offset, level, key) and what.\n"
	"  --repair    rebuild the index, levels and bitmaps from the sound nodes, rewrite\n"
	"              damaged log regions as dead filler, fix segment headers; report\n"
	"              every key lost, and keys found only in the log (not restored:\n"
	"              a delete leaves no record).  Exit 0 when the result checks clean.\n"
	"  --from-log  with --repair: rebuild the whole index from the newest valid\n"
	"              record of each key (restores lost keys; deleted keys may return)\n"
	"  --json      one JSON object on stdout\n"
	"  --quiet     no problem lines, only the exit status and the summary\n";

static const char *const sev_name[] = { "damage", "note", "lost", "fixed" };
static const char *const where_name[] = { "pool", "segment", "record", "node",
					  "level", "bitmap", "count", "key" };

struct out {
	int json, quiet;
	int n; /* JSON items written */
};

void json_str(const void *b, size_t len)
{
	const unsigned char *p = b;
	fputc('"', stdout);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			printf("\\u%04x", p[i]);
		else
			fputc(p[i], stdout);
	}
	fputc('"', stdout);
}

static void emit(void *ctx, const struct insp_problem *p)
{
	struct out *o = ctx;
	if (o->quiet)
		return;
	if (o->json) {
		printf("%s\n    {\"severity\": \"%s\", \"where\": \"%s\", \"segment\": %" PRId64
		       ", \"offset\": %" PRIu64 ", \"level\": %d, \"key\": ",
		       o->n++ ? "," : "", sev_name[p->sev], where_name[p->where], p->seg, p->off,
		       p->level);
		if (p->key)
			json_str(p->key, p->klen);
		else
			fputs("null", stdout);
		fputs(", \"what\": ", stdout);
		json_str(p->what, strlen(p->what));
		fputc('}', stdout);
		return;
	}
	printf("%-6s %s", sev_name[p->sev], where_name[p->where]);
	if (p->seg >= 0)
		printf(" seg %" PRId64, p->seg);
	if (p->off)
		printf(" off %" PRIu64, p->off);
	if (p->level >= 0)
		printf(" level %d", p->level);
	if (p->key) {
		fputs(" key '", stdout);
		cli_print(stdout, p->key, p->klen, ENC_ESC);
		fputc('\'', stdout);
	}
	printf(": %s\n", p->what);
}

#define INFO_ARGS(yes, no)                                                                 \
	path, i->is_pmem ? yes : no, i->format_version, i->hdr_primary_ok ? "valid" : "damaged", \
		hdr_backup_name[i->hdr_backup], i->clean ? yes : no, i->pool_size,          \
		i->seg_size, i->nsegs, i->record_max_bytes, (unsigned)DAXKV_KEY_MAX,         \
		value_max(i), i->capacity_bytes, i->used_bytes, i->live_bytes,               \
		i->dead_bytes, i->keys, i->recounted ? yes : no, i->segs_free,               \
		i->segs_active, i->segs_sealed, i->segs_node, i->segs_bad,                   \
		i->node_slots_used, i->gc_runs, i->gc_bytes_moved, i->boot_gen, i->uuid_hi,  \
		i->uuid_lo

/* enum insp_hdr_backup */
static const char *const hdr_backup_name[] = { "valid", "missing", "damaged" };

/* The largest value a 1-byte key can have: the record bound less the 48 B
 * header (the bound is 8 B aligned, so no rounding is lost), at most
 * DAXKV_VALUE_MAX. */
static uint64_t value_max(const struct insp_info *i)
{
	uint64_t v = i->record_max_bytes > 49 ? i->record_max_bytes - 49 : 0;
	return v < DAXKV_VALUE_MAX ? v : DAXKV_VALUE_MAX;
}

static void info_print(const char *path, const struct insp_info *i, int json)
{
	if (json) {
		fputs("{\"store\": ", stdout);
		json_str(path, strlen(path));
		path = ""; /* written escaped above */
		printf("%s, \"backend\": \"dax\", \"pmem\": %s, "
		       "\"format_version\": %u, \"header_primary\": \"%s\", "
		       "\"header_backup\": \"%s\", \"clean_shutdown\": %s, \"pool_size\": %" PRIu64
		       ", \"segment_size\": %" PRIu64 ", \"segments\": %u, \"record_max_bytes\": %"
		       PRIu64 ", \"key_max_bytes\": %u, \"value_max_bytes\": %" PRIu64
		       ", \"capacity_bytes\": %" PRIu64
		       ", \"used_bytes\": %" PRIu64 ", \"live_bytes\": %" PRIu64
		       ", \"dead_bytes\": %" PRIu64 ", \"keys\": %" PRIu64 ", \"recounted\": %s, "
		       "\"segments_by_state\": {\"free\": %u, \"active\": %u, \"sealed\": %u, "
		       "\"node\": %u, \"damaged\": %u}, \"node_slots_used\": %" PRIu64
		       ", \"gc_runs\": %" PRIu64 ", \"gc_bytes_moved\": %" PRIu64
		       ", \"boot_gen\": %" PRIu64 ", \"uuid\": \"%016" PRIx64 "%016" PRIx64 "\"}\n",
		       INFO_ARGS("true", "false"));
		return;
	}
	printf("store:           %s\nbackend:         dax (pmem mapping: %s)\n"
	       "format version:  %u\nheader:          primary %s, backup copy %s"
	       "\nclean shutdown:  %s\npool size:       %" PRIu64
	       "\nsegment size:    %" PRIu64 "\nsegments:        %u\nmax record:      %" PRIu64
	       " (48 B header + key + value, 8 B aligned; also the largest batch)"
	       "\nmax key:         %u\nmax value:       %" PRIu64 " (with a 1-byte key)"
	       "\ncapacity bytes:  %" PRIu64
	       "\nused bytes:      %" PRIu64 "\nlive bytes:      %" PRIu64
	       "\ndead bytes:      %" PRIu64 "\nkeys:            %" PRIu64
	       "\nrecounted:       %s\nsegments:        free %u, active %u, sealed %u, "
	       "node %u, damaged %u\nnode slots used: %" PRIu64 "\ngc runs:         %" PRIu64
	       "\ngc bytes moved:  %" PRIu64 "\nboot generation: %" PRIu64
	       "\nuuid:            %016" PRIx64 "%016" PRIx64 "\n",
	       INFO_ARGS("yes", "no"));
}

/* A block-backend store is a directory (cmd_block.c). */
static int cli_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cmd_info(int argc, char **argv)
{
	static const struct option lo[] = { { "json", no_argument, NULL, 'j' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	int c, json = 0;
	while ((c = getopt_long(argc, argv, ":jh", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_help(help_info);
		if (c != 'j')
			return cli_badopt("info", c, argv);
		json = 1;
	}
	if (argc - optind != 1)
		return cli_usage("info", "expected STORE");
	if (cli_is_dir(argv[optind]))
		return blk_info(argv[optind], json);
	struct insp *in = NULL;
	struct insp_info info;
	int rc = insp_open(argv[optind], 0, &in);
	if (!rc)
		rc = insp_info(in, &info);
	if (!rc)
		info_print(argv[optind], &info, json);
	insp_close(in);
	return rc ? cli_fail("info", rc, argv[optind]) : CLI_OK;
}

static void summary(const struct out *o, const char *phase, const struct insp_summary *s)
{
	if (o->json) {
		printf("%s\n  ],\n  \"%s\": {\"problems\": %" PRIu64 ", \"notes\": %" PRIu64
		       ", \"records\": %" PRIu64 ", \"records_bad\": %" PRIu64 ", \"nodes\": %" PRIu64
		       ", \"nodes_bad\": %" PRIu64 ", \"keys\": %" PRIu64 ", \"lost_keys\": %" PRIu64
		       ", \"log_only_keys\": %" PRIu64 ", \"fixed\": %" PRIu64 "}",
		       "", phase, s->problems, s->notes, s->records, s->records_bad,
		       s->nodes, s->nodes_bad, s->keys, s->lost_keys, s->log_only_keys, s->fixed);
		return;
	}
	fprintf(o->quiet ? stderr : stdout,
		"%s: %" PRIu64 " problems, %" PRIu64 " notes; %" PRIu64 " records (%" PRIu64
		" damaged), %" PRIu64 " index nodes (%" PRIu64 " damaged), %" PRIu64 " keys",
		phase, s->problems, s->notes, s->records, s->records_bad, s->nodes, s->nodes_bad,
		s->keys);
	if (s->fixed || s->lost_keys || s->log_only_keys)
		fprintf(o->quiet ? stderr : stdout, "; %" PRIu64 " repairs, %" PRIu64
			" index entries lost, %" PRIu64 " keys only in the log", s->fixed,
			s->lost_keys, s->log_only_keys);
	fputc('\n', o->quiet ? stderr : stdout);
}

/* One read-only check pass; *bad = whether it found damage. */
static int check_once(const char *path, struct out *o, const char *phase, int *bad)
{
	struct insp *in = NULL;
	struct insp_summary s;
	if (o->json)
		printf("%s  \"%s_items\": [", strcmp(phase, "check") ? ",\n" : "", phase);
	o->n = 0;
	int rc = insp_open(path, 0, &in);
	if (!rc)
		rc = insp_check(in, emit, o, &s);
	insp_close(in);
	if (rc == DAXKV_ECORRUPT && o->json) {
		struct insp_problem p = { .sev = INSP_DAMAGE, .where = INSP_AT_POOL, .seg = -1,
					  .level = -1 };
		snprintf(p.what, sizeof(p.what), "%s", daxkv_errmsg());
		emit(o, &p);
	}
	if (rc) {
		if (o->json)
			printf("\n  ]");
		return rc;
	}
	summary(o, phase, &s);
	*bad = s.problems != 0;
	return 0;
}

static int repair(const char *path, int from_log, struct out *o)
{
	struct insp *in = NULL;
	struct insp_summary s;
	if (o->json)
		printf(",\n  \"repair_items\": [");
	o->n = 0;
	int rc = insp_open(path, 1, &in);
	if (!rc)
		rc = insp_repair(in, path, from_log, emit, o, &s);
	else
		insp_close(in);
	if (rc) {
		if (o->json)
			printf("\n  ]");
		return rc;
	}
	summary(o, "repair", &s);
	return 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "repair", no_argument, NULL, 'r' }, { "from-log", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },   { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },   { NULL, 0, NULL, 0 } };
	struct out o = { 0, 0, 0 };
	int c, rep = 0, from_log = 0, bad = 0;
	while ((c = getopt_long(argc, argv, ":rjqh", lo, NULL)) != -1) {
		switch (c) {
		case 'h': return cli_help(help_check);
		case 'r': rep = 1; break;
		case 'l': from_log = 1; break;
		case 'j': o.json = 1; break;
		case 'q': o.quiet = 1; break;
		default: return cli_badopt("check", c, argv);
		}
	}
	if (argc - optind != 1 || (from_log && !rep))
		return cli_usage("check", from_log ? "--from-log needs --repair" : "expected STORE");
	const char *path = argv[optind];
	if (cli_is_dir(path))
		return blk_check(path, rep, o.json, o.quiet);
	if (o.json) {
		printf("{\n  \"store\": ");
		json_str(path, strlen(path));
		printf(",\n");
	}
	int rc = check_once(path, &o, "check", &bad);
	if (!rc && rep && (bad || from_log))
		rc = repair(path, from_log, &o);
	if (!rc && rep && (bad || from_log))
		rc = check_once(path, &o, "recheck", &bad);
	if (o.json)
		printf(",\n  \"ok\": %s\n}\n", !rc && !bad ? "true" : "false");
	if (rc) /* ECORRUPT: a damaged pool header (exit 1) */
		return cli_fail("check", rc, path);
	return bad ? CLI_DAMAGED : CLI_OK;
}
