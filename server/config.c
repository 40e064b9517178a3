/*
 * config.c -- daxkv-server's settings: defaults, then the INI file named by
 * --config (libinih; keys in any section, Redis' names), then the command
 * line, which wins.  docs/SERVER.md lists every key and flag.
 */
#include "server.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: daxkv-server [options]\n"
		"  --port N           TCP port (default %d)\n"
		"  --bind ADDR        address to listen on (default 127.0.0.1)\n"
		"  --store PATH       daxkv store, created if missing (default %s)\n"
		"  --pool-size BYTES  size of a new store (K/M/G suffixes; default 1G)\n"
		"  --requirepass PW   clients must AUTH with PW\n"
		"  --maxclients N     connected clients at most (default 10000)\n"
		"  --timeout S        close clients idle for S seconds (0 = never, default)\n"
		"  --threads N        event-loop threads (default 1)\n"
		"  --databases N      SELECT 0..N-1 (default 16, at most %d)\n"
		"  --logfile PATH     log there instead of stderr\n"
		"  --config FILE      INI file with the same keys (flags override it)\n"
		"  --help, --version\n",
		SRV_DEFAULT_PORT, SRV_DEFAULT_STORE, SRV_DB_MAX);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	if (!s || !*s || *s == '-')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end) {
		switch (*end | 0x20) {
		case 'k': mul = 1ull << 10; break;
		case 'm': mul = 1ull << 20; break;
		case 'g': mul = 1ull << 30; break;
		case 't': mul = 1ull << 40; break;
		default: return -1;
		}
		end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	uint64_t v;

	if (parse_u64(s, &v) != 0 || v < (uint64_t)lo || v > (uint64_t)hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

/* One setting by name.  0, or -1 with a message on stderr. */
static int config_set(struct srv_config *cfg, const char *key, const char *val)
{
	int r;

	if (!strcasecmp(key, "port"))
		r = parse_int(val, 1, 65535, &cfg->port);
	else if (!strcasecmp(key, "bind"))
		r = copy_str(cfg->bind, sizeof(cfg->bind), val);
	else if (!strcasecmp(key, "store"))
		r = copy_str(cfg->store, sizeof(cfg->store), val);
	else if (!strcasecmp(key, "requirepass"))
		r = copy_str(cfg->requirepass, sizeof(cfg->requirepass), val);
	else if (!strcasecmp(key, "maxclients"))
		r = parse_int(val, 1, 1000000, &cfg->maxclients);
	else if (!strcasecmp(key, "timeout"))
		r = parse_int(val, 0, 100000000, &cfg->timeout_s);
	else if (!strcasecmp(key, "threads"))
		r = parse_int(val, 1, 256, &cfg->threads);
	else if (!strcasecmp(key, "databases"))
		r = parse_int(val, 1, SRV_DB_MAX, &cfg->databases);
	else if (!strcasecmp(key, "pool-size"))
		r = parse_u64(val, &cfg->pool_size);
	else if (!strcasecmp(key, "logfile"))
		r = copy_str(cfg->logfile, sizeof(cfg->logfile), val);
	else if (!strcasecmp(key, "client-query-buffer-limit"))
		r = parse_u64(val, &cfg->query_max);
	else if (!strcasecmp(key, "client-output-limit"))
		r = parse_u64(val, &cfg->output_max);
	else {
		fprintf(stderr, "daxkv-server: unknown setting '%s'\n", key);
		return -1;
	}
	if (r != 0)
		fprintf(stderr, "daxkv-server: bad value '%s' for %s\n", val, key);
	return r;
}

static int config_ini_line(void *user, const char *section, const char *name, const char *value)
{
	(void)section;
	return config_set(user, name, value) == 0; /* inih: non-zero = fine */
}

static const struct option longopts[] = {
	{"port", required_argument, NULL, 'p'},
	{"bind", required_argument, NULL, 'b'},
	{"store", required_argument, NULL, 's'},
	{"pool-size", required_argument, NULL, 'S'},
	{"requirepass", required_argument, NULL, 'a'},
	{"maxclients", required_argument, NULL, 'm'},
	{"timeout", required_argument, NULL, 't'},
	{"threads", required_argument, NULL, 'T'},
	{"databases", required_argument, NULL, 'd'},
	{"logfile", required_argument, NULL, 'l'},
	{"config", required_argument, NULL, 'c'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

/* 0: run; 1: done (help/version printed); -1: bad usage. */
int config_load(struct srv_config *cfg, int argc, char **argv)
{
	const char *file = NULL;
	int ch, pass;

	memset(cfg, 0, sizeof(*cfg));
	cfg->port = SRV_DEFAULT_PORT;
	strcpy(cfg->bind, "127.0.0.1");
	strcpy(cfg->store, SRV_DEFAULT_STORE);
	cfg->maxclients = 10000;
	cfg->threads = 1;
	cfg->databases = 16;
	cfg->query_max = 128ull << 20;
	cfg->output_max = 64ull << 20;
	/* Pass 0 finds --config (and help/version); pass 1 applies the flags over it. */
	for (pass = 0; pass < 2; pass++) {
		optind = 1;
		opterr = pass == 0;
		while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
			const char *key = NULL;
			int i;

			if (ch == '?')
				goto bad;
			if (pass == 0) {
				if (ch == 'h') {
					usage(stdout);
					return 1;
				}
				if (ch == 'V') {
					printf("daxkv-server %s (daxkv library %s, Redis protocol %s)\n",
					       daxkv_version(), daxkv_version(), SRV_REDIS_VERSION);
					return 1;
				}
				if (ch == 'c')
					file = optarg;
				continue;
			}
			for (i = 0; longopts[i].name; i++)
				if (longopts[i].val == ch)
					key = longopts[i].name;
			if (ch == 'c' || ch == 'h' || ch == 'V' || !key)
				continue;
			if (config_set(cfg, key, optarg) != 0)
				return -1;
		}
		if (optind < argc) {
			fprintf(stderr, "daxkv-server: unexpected argument '%s'\n", argv[optind]);
			goto bad;
		}
		if (pass == 0 && file) {
			int r = ini_parse(file, config_ini_line, cfg);

			if (r < 0) {
				fprintf(stderr, "daxkv-server: cannot read %s\n", file);
				return -1;
			}
			if (r > 0) {
				fprintf(stderr, "daxkv-server: %s: error on line %d\n", file, r);
				return -1;
			}
		}
	}
	if (cfg->store[0] == '\0') {
		fprintf(stderr, "daxkv-server: an empty store path\n");
		return -1;
	}
	if (cfg->output_max == 0 || cfg->query_max < (uint64_t)DAXKV_VALUE_MAX + 1024) {
		fprintf(stderr, "daxkv-server: client-query-buffer-limit must hold a largest "
				"value (%u bytes) and its request\n", DAXKV_VALUE_MAX);
		return -1;
	}
	return 0;
bad:
	usage(stderr);
	return -1;
}
