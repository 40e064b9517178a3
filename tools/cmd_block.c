/*
 * cmd_block.c -- `daxkv info` and `daxkv check` of a block-backend store (a
 * directory: docs/ARCHITECTURE.md, "The block backend").  Its index lives
 * only in DRAM, so both go through the library: a read-only open replays
 * every segment file (a segment without a sound hint file is scanned, each
 * record's CRC checked, a sealed segment's damage refused with ECORRUPT),
 * then check walks every key and reads its value (its CRC checked: this
 * finds damage in a segment listed from its hint) and stats' key count must
 * agree with the walk.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/internal.h"
#include "tools/cli.h"

static int blk_open_ro(const char *path, daxkv **db)
{
	daxkv_options o;
	daxkv_options_init(&o);
	o.read_only = 1;
	o.gc_background = 0;
	o.backend = DAXKV_BACKEND_BLOCK;
	return daxkv_open(path, &o, db);
}

int blk_info(const char *path, int json)
{
	daxkv *db = NULL;
	int rc = blk_open_ro(path, &db);
	if (rc)
		return cli_fail("info", rc, path);
	daxkv_stats s;
	rc = daxkv_stats_get(db, &s);
	daxkv_close(db);
	if (rc)
		return cli_fail("info", rc, path);
	if (json) {
		fputs("{\"store\": ", stdout);
		json_str(path, strlen(path));
		printf(", \"backend\": \"block\", \"volatile_media\": %s, \"capacity_bytes\": %" PRIu64
		       ", \"segment_size\": %" PRIu64 ", \"segments_used\": %" PRIu64
		       ", \"segments_free\": %" PRIu64 ", \"record_max_bytes\": %" PRIu64
		       ", \"live_bytes\": %" PRIu64 ", \"dead_bytes\": %" PRIu64 ", \"keys\": %" PRIu64
		       ", \"gc_runs\": %" PRIu64 ", \"gc_bytes_moved\": %" PRIu64 "}\n",
		       s.volatile_media ? "true" : "false", s.pool_bytes, s.segment_size,
		       s.segments_used, s.segments_free, s.record_max_bytes, s.live_bytes,
		       s.dead_bytes, s.keys, s.gc_runs, s.gc_bytes_moved);
		return CLI_OK;
	}
	printf("store:           %s\nbackend:         block (segment files, io_uring)\n", path);
	if (s.volatile_media)
		printf("WARNING:         on tmpfs/ramfs: nothing here survives a reboot\n");
	printf("capacity bytes:  %" PRIu64 "\nsegment size:    %" PRIu64
	       "\nsegments:        used %" PRIu64 ", free %" PRIu64 "\nmax record:      %" PRIu64
	       " (48 B header + key + value, 8 B aligned; also the largest batch)"
	       "\nlive bytes:      %" PRIu64 "\ndead bytes:      %" PRIu64
	       "\nkeys:            %" PRIu64 "\ngc runs:         %" PRIu64
	       "\ngc bytes moved:  %" PRIu64 "\n",
	       s.pool_bytes, s.segment_size, s.segments_used, s.segments_free,
	       s.record_max_bytes, s.live_bytes, s.dead_bytes, s.keys, s.gc_runs,
	       s.gc_bytes_moved);
	return CLI_OK;
}

static int check_pass(const char *path, int json, int quiet);

/* --repair: a read-write open that scans every segment file and cuts a
 * damaged sealed one at its first bad record (engine/blkopen.c); the
 * records after it in that file are gone -- a key whose newest record was
 * there comes back at its previous version, if a segment still holds one. */
static int repair(const char *path, int quiet)
{
	daxkv_options o;
	daxkv_options_init(&o);
	o.gc_background = 0;
	o.backend = DAXKV_BACKEND_BLOCK;
	daxkv *db = NULL;
	blk_repair_next_open(true);
	int rc = daxkv_open(path, &o, &db);
	blk_repair_next_open(false);
	if (rc)
		return cli_fail("check", rc, path);
	uint64_t cut = blk_cut_bytes(db);
	rc = daxkv_close(db);
	if (rc)
		return cli_fail("check", rc, path);
	fprintf(quiet ? stderr : stdout, "repair: %" PRIu64 " bytes of records cut off at the "
		"damage\n", cut);
	return CLI_OK;
}

int blk_check(const char *path, int rep, int json, int quiet)
{
	int rc = check_pass(path, json && !rep, quiet);
	if (!rep || rc != CLI_DAMAGED)
		return rc;
	rc = repair(path, quiet);
	return rc ? rc : check_pass(path, json, quiet); /* the recheck */
}

static int check_pass(const char *path, int json, int quiet)
{
	daxkv *db = NULL;
	int rc = blk_open_ro(path, &db);
	if (rc == DAXKV_ECORRUPT) {
		fprintf(stderr, "daxkv check: %s: damaged: %s\n", path, daxkv_errmsg());
		if (json)
			fputs("{\"store\": ", stdout), json_str(path, strlen(path)),
			puts(", \"ok\": false}");
		return CLI_DAMAGED;
	}
	if (rc)
		return cli_fail("check", rc, path);
	daxkv_iter *it = NULL;
	uint64_t keys = 0, bad = 0;
	rc = daxkv_iter_new(db, &it);
	if (!rc) {
		for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it)) {
			size_t vl;
			keys++;
			if (!daxkv_iter_value(it, &vl))
				bad++;
		}
		if (daxkv_iter_status(it) != DAXKV_OK && !bad)
			bad++;
		daxkv_iter_free(it);
	}
	daxkv_stats s;
	if (!rc)
		rc = daxkv_stats_get(db, &s);
	daxkv_close(db);
	if (rc)
		return cli_fail("check", rc, path);
	if (s.keys != keys)
		bad++;
	if (bad)
		fprintf(stderr, "daxkv check: %s: damaged: %" PRIu64 " records fail their CRC or "
			"the key count (%" PRIu64 " walked, %" PRIu64 " counted)\n", path, bad, keys,
			s.keys);
	if (json) {
		fputs("{\"store\": ", stdout);
		json_str(path, strlen(path));
		printf(", \"backend\": \"block\", \"keys\": %" PRIu64 ", \"problems\": %" PRIu64
		       ", \"ok\": %s}\n", keys, bad, bad ? "false" : "true");
	} else
		fprintf(quiet ? stderr : stdout, "check: %" PRIu64 " keys, every record read "
			"and its CRC checked; %" PRIu64 " problems\n", keys, bad);
	return bad ? CLI_DAMAGED : CLI_OK;
}
