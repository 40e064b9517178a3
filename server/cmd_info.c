/*
 * cmd_info.c -- INFO: Redis' sections (server, clients, memory,
 * persistence, stats, keyspace) with daxkv's own figures from daxkv_stats
 * (the store, its log segments, GC, expiry) in persistence and stats.
 * keyspace walks the store once (a daxkv iterator) to count keys and keys
 * with an expiry per database.
 */
#include "server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

struct text {
	char *p;
	size_t len, cap;
	int failed;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		if (t->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = 1;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t ncap = t->cap ? t->cap * 2 : 4096;
		char *np;

		while (ncap - t->len <= (size_t)n)
			ncap *= 2;
		np = realloc(t->p, ncap);
		if (!np) {
			t->failed = 1;
			return;
		}
		t->p = np;
		t->cap = ncap;
	}
}

static int want(int argc, struct arg *argv, const char *section, int in_default)
{
	int j;

	if (argc == 1)
		return in_default;
	for (j = 1; j < argc; j++)
		if (arg_eq(&argv[j], section) || arg_eq(&argv[j], "all") ||
		    arg_eq(&argv[j], "everything") || (in_default && arg_eq(&argv[j], "default")))
			return 1;
	return 0;
}

static uint64_t rss_bytes(void)
{
	unsigned long long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%llu %llu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void sec_server(struct text *t)
{
	struct utsname u;
	int64_t up = (srv_mono_ms() - srv.start_ms) / 1000;

	if (uname(&u) != 0)
		memset(&u, 0, sizeof(u));
	add(t, "# Server\r\nredis_version:%s\r\ndaxkv_version:%s\r\nredis_mode:standalone\r\n"
	       "os:%s %s %s\r\narch_bits:%d\r\nmultiplexing_api:epoll\r\nprocess_id:%d\r\n"
	       "tcp_port:%d\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n"
	       "event_loop_threads:%d\r\ndaxkv_store:%s\r\n\r\n",
	    SRV_REDIS_VERSION, daxkv_version(), u.sysname, u.release, u.machine,
	    (int)(sizeof(void *) * 8), (int)getpid(), srv.cfg.port, (long long)up,
	    (long long)up / 86400, srv.cfg.threads, srv.cfg.store);
}

static void sec_clients(struct text *t)
{
	add(t, "# Clients\r\nconnected_clients:%llu\r\nmaxclients:%d\r\nblocked_clients:0\r\n\r\n",
	    (unsigned long long)atomic_load(&srv.nclients), atomic_load(&srv.maxclients));
}

static void sec_memory(struct text *t, const daxkv_stats *st)
{
	uint64_t rss = rss_bytes();

	add(t, "# Memory\r\nused_memory:%llu\r\nused_memory_human:%.2fM\r\n"
	       "used_memory_rss:%llu\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n"
	       "daxkv_pool_bytes:%llu\r\ndaxkv_capacity_bytes:%llu\r\n\r\n",
	    (unsigned long long)rss, (double)rss / (1024.0 * 1024.0), (unsigned long long)rss,
	    (unsigned long long)st->pool_bytes, (unsigned long long)st->capacity_bytes);
}

static void sec_persistence(struct text *t, const daxkv_stats *st)
{
	add(t, "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:0\r\n"
	       "rdb_bgsave_in_progress:0\r\naof_enabled:0\r\n"
	       "daxkv_durability:every acknowledged write\r\n"
	       "daxkv_backend:%s\r\ndaxkv_volatile_media:%d\r\n"
	       "daxkv_live_bytes:%llu\r\ndaxkv_dead_bytes:%llu\r\ndaxkv_capacity_bytes:%llu\r\n"
	       "daxkv_segment_size:%llu\r\ndaxkv_segments_used:%llu\r\ndaxkv_segments_free:%llu\r\n"
	       "daxkv_record_max_bytes:%llu\r\ndaxkv_bytes_written:%llu\r\n"
	       "daxkv_gc_passes:%llu\r\ndaxkv_gc_runs:%llu\r\ndaxkv_gc_bytes_moved:%llu\r\n"
	       "daxkv_device_writes:%llu\r\ndaxkv_sync_waits:%llu\r\n\r\n",
	    st->backend == DAXKV_BACKEND_BLOCK ? "block" : "dax", st->volatile_media,
	    (unsigned long long)st->live_bytes, (unsigned long long)st->dead_bytes,
	    (unsigned long long)st->capacity_bytes, (unsigned long long)st->segment_size,
	    (unsigned long long)st->segments_used, (unsigned long long)st->segments_free,
	    (unsigned long long)st->record_max_bytes, (unsigned long long)st->bytes_written,
	    (unsigned long long)st->gc_passes, (unsigned long long)st->gc_runs,
	    (unsigned long long)st->gc_bytes_moved, (unsigned long long)st->device_writes,
	    (unsigned long long)st->sync_waits);
}

static void sec_stats(struct text *t, const daxkv_stats *st)
{
	add(t, "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
	       "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
	       "rejected_connections:%llu\r\nexpired_keys:%llu\r\nevicted_keys:0\r\n"
	       "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n"
	       "daxkv_keys:%llu\r\ndaxkv_ttl_keys:%llu\r\n\r\n",
	    (unsigned long long)atomic_load(&srv.stat_conns),
	    (unsigned long long)atomic_load(&srv.stat_cmds),
	    (unsigned long long)atomic_load(&srv.stat_net_in),
	    (unsigned long long)atomic_load(&srv.stat_net_out),
	    (unsigned long long)atomic_load(&srv.stat_rejected),
	    (unsigned long long)st->expired_keys,
	    (unsigned long long)atomic_load_explicit(&srv.stat_hits, memory_order_relaxed),
	    (unsigned long long)atomic_load_explicit(&srv.stat_misses, memory_order_relaxed),
	    (unsigned long long)st->keys,
	    (unsigned long long)st->ttl_keys);
}

static int sec_keyspace(struct client *c, struct text *t)
{
	uint64_t *keys = calloc(2 * SRV_DB_MAX, sizeof(uint64_t));
	int rc, db;

	if (!keys)
		return DAXKV_ENOMEM;
	rc = keys_count(c, -1, keys, keys + SRV_DB_MAX);
	add(t, "# Keyspace\r\n");
	for (db = 0; rc == DAXKV_OK && db < srv.cfg.databases; db++)
		if (keys[db])
			add(t, "db%d:keys=%llu,expires=%llu,avg_ttl=0\r\n", db,
			    (unsigned long long)keys[db], (unsigned long long)keys[SRV_DB_MAX + db]);
	add(t, "\r\n");
	free(keys);
	return rc;
}

CMDFN(cmd_info)
{
	struct text t = {NULL, 0, 0, 0};
	daxkv_stats st;
	int rc;

	memset(&st, 0, sizeof(st));
	rc = daxkv_stats_get(srv.db, &st);
	if (rc != DAXKV_OK) {
		reply_dberr(c, rc);
		return;
	}
	if (want(argc, argv, "server", 1))
		sec_server(&t);
	if (want(argc, argv, "clients", 1))
		sec_clients(&t);
	if (want(argc, argv, "memory", 1))
		sec_memory(&t, &st);
	if (want(argc, argv, "persistence", 1))
		sec_persistence(&t, &st);
	if (want(argc, argv, "stats", 1))
		sec_stats(&t, &st);
	if (want(argc, argv, "keyspace", 1))
		rc = sec_keyspace(c, &t);
	if (rc != DAXKV_OK || t.failed) {
		free(t.p);
		reply_dberr(c, rc != DAXKV_OK ? rc : DAXKV_ENOMEM);
		return;
	}
	if (t.len >= 2)
		t.len -= 2; /* no blank line at the very end, as Redis */
	reply_verbatim(c, t.p ? t.p : "", t.len);
	free(t.p);
}
