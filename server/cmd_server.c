/*
 * cmd_server.c -- connection and server commands: PING, ECHO, HELLO, AUTH,
 * SELECT, QUIT, SHUTDOWN, TIME, LASTSAVE, SAVE, CONFIG, COMMAND.  INFO is in
 * cmd_info.c.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

CMDFN(cmd_ping)
{
	if (argc > 2)
		reply_arity(c, "ping");
	else if (argc == 2)
		reply_bulk(c, argv[1].p, argv[1].len);
	else
		reply_status(c, "PONG");
}

CMDFN(cmd_echo)
{
	(void)argc;
	reply_bulk(c, argv[1].p, argv[1].len);
}

/* Constant time in the password's bytes. */
static int pass_ok(const struct arg *user, const struct arg *pass)
{
	const char *want = srv.cfg.requirepass;
	size_t n = strlen(want), i;
	unsigned diff;

	if (user && !arg_eq(user, "default"))
		return 0;
	if (n == 0)
		return 1; /* the default user has no password */
	diff = (unsigned)(pass->len != n);
	for (i = 0; i < pass->len; i++)
		diff |= (unsigned char)pass->p[i] ^ (unsigned char)want[i % n];
	return diff == 0;
}

CMDFN(cmd_auth)
{
	if (argc > 3) {
		reply_error(c, "ERR syntax error");
		return;
	}
	if (argc == 2 && srv.cfg.requirepass[0] == '\0') {
		reply_error(c, "ERR AUTH <password> called without any password configured for "
			       "the default user. Are you sure your configuration is correct?");
		return;
	}
	if (!pass_ok(argc == 3 ? &argv[1] : NULL, &argv[argc - 1])) {
		srv_log("client id=%llu addr=%s: authentication failed", (unsigned long long)c->id,
			c->addr);
		reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
		return;
	}
	c->authed = 1;
	reply_ok(c);
}

CMDFN(cmd_hello)
{
	long long ver = c->resp;
	const struct arg *name = NULL;
	int j;

	if (argc >= 2) {
		if (arg_ll(&argv[1], &ver) != 0) {
			reply_error(c, "ERR Protocol version is not an integer or out of range");
			return;
		}
		if (ver < 2 || ver > 3) {
			reply_error(c, "NOPROTO unsupported protocol version");
			return;
		}
	}
	for (j = 2; j < argc; j++) {
		int more = argc - j - 1;

		if (arg_eq(&argv[j], "auth") && more >= 2) {
			if (!pass_ok(&argv[j + 1], &argv[j + 2])) {
				reply_error(c, "WRONGPASS invalid username-password pair or user is "
					       "disabled.");
				return;
			}
			c->authed = 1;
			j += 2;
		} else if (arg_eq(&argv[j], "setname") && more >= 1) {
			name = &argv[++j];
		} else {
			reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'",
				     (int)(argv[j].len < 128 ? argv[j].len : 128), argv[j].p);
			return;
		}
	}
	if (!c->authed) {
		reply_error(c, "NOAUTH HELLO must be called with the client already "
			       "authenticated, otherwise the HELLO AUTH <user> <pass> "
			       "option can be used to authenticate the client and select the "
			       "RESP protocol version at the same time");
		return;
	}
	if (name) {
		size_t i;

		for (i = 0; i < name->len; i++)
			if (name->p[i] < '!' || name->p[i] > '~')
				break;
		if (i < name->len || name->len > SRV_NAME_MAX) {
			reply_error(c, "ERR Client names cannot contain spaces, newlines or "
				       "special characters.");
			return;
		}
		pthread_mutex_lock(&srv.reg_lock);
		memcpy(c->name, name->p, name->len);
		c->name[name->len] = '\0';
		pthread_mutex_unlock(&srv.reg_lock);
	}
	__atomic_store_n(&c->resp, (int)ver, __ATOMIC_RELAXED);
	reply_map(c, 7);
	reply_cstr(c, "server");
	reply_cstr(c, "redis");
	reply_cstr(c, "version");
	reply_cstr(c, SRV_REDIS_VERSION);
	reply_cstr(c, "proto");
	reply_int(c, ver);
	reply_cstr(c, "id");
	reply_int(c, (long long)c->id);
	reply_cstr(c, "mode");
	reply_cstr(c, "standalone");
	reply_cstr(c, "role");
	reply_cstr(c, "master");
	reply_cstr(c, "modules");
	reply_array(c, 0);
}

CMDFN(cmd_select)
{
	long long db;

	(void)argc;
	if (arg_ll_or_reply(c, &argv[1], &db) != 0)
		return;
	if (db < 0 || db >= srv.cfg.databases) {
		reply_error(c, "ERR DB index is out of range");
		return;
	}
	atomic_store(&c->db, (int)db);
	reply_ok(c);
}

CMDFN(cmd_quit)
{
	(void)argc;
	(void)argv;
	reply_ok(c);
	c->close_asap = 1;
}

CMDFN(cmd_shutdown)
{
	int j;

	for (j = 1; j < argc; j++) {
		if (arg_eq(&argv[j], "abort")) {
			reply_error(c, "ERR No shutdown in progress.");
			return;
		}
		if (!arg_eq(&argv[j], "nosave") && !arg_eq(&argv[j], "save") &&
		    !arg_eq(&argv[j], "now") && !arg_eq(&argv[j], "force")) {
			reply_error(c, "ERR syntax error");
			return;
		}
	}
	srv_log("SHUTDOWN asked by client id=%llu addr=%s", (unsigned long long)c->id, c->addr);
	c->close_asap = 1; /* as Redis: no reply, the connection closes */
	srv_request_stop();
}

CMDFN(cmd_time)
{
	struct timeval tv;
	char num[24];

	(void)argc;
	(void)argv;
	gettimeofday(&tv, NULL);
	reply_array(c, 2);
	reply_bulk(c, num, (size_t)ll_fmt(num, (long long)tv.tv_sec));
	reply_bulk(c, num, (size_t)ll_fmt(num, (long long)tv.tv_usec));
}

CMDFN(cmd_lastsave)
{
	(void)argc;
	(void)argv;
	reply_int(c, (long long)(daxkv_now_ms() / 1000)); /* every write is saved when acknowledged */
}

CMDFN(cmd_save)
{
	(void)argc;
	(void)argv;
	reply_ok(c); /* nothing to do: every acknowledged write is already durable */
}

/* CONFIG GET's parameters: what clients and tools probe. */
static void config_value(const char *name, char *buf, size_t cap)
{
	if (!strcmp(name, "save"))
		snprintf(buf, cap, "%s", "");
	else if (!strcmp(name, "appendonly"))
		snprintf(buf, cap, "no");
	else if (!strcmp(name, "appendfsync"))
		snprintf(buf, cap, "always");
	else if (!strcmp(name, "maxclients"))
		snprintf(buf, cap, "%d", atomic_load(&srv.maxclients));
	else if (!strcmp(name, "timeout"))
		snprintf(buf, cap, "%d", atomic_load(&srv.timeout_s));
	else if (!strcmp(name, "databases"))
		snprintf(buf, cap, "%d", srv.cfg.databases);
	else if (!strcmp(name, "port"))
		snprintf(buf, cap, "%d", srv.cfg.port);
	else if (!strcmp(name, "bind"))
		snprintf(buf, cap, "%s", srv.cfg.bind);
	else if (!strcmp(name, "requirepass"))
		snprintf(buf, cap, "%s", ""); /* never shown */
	else if (!strcmp(name, "proto-max-bulk-len"))
		snprintf(buf, cap, "%u", DAXKV_VALUE_MAX);
	else if (!strcmp(name, "client-query-buffer-limit"))
		snprintf(buf, cap, "%llu", (unsigned long long)srv.cfg.query_max);
	else if (!strcmp(name, "maxmemory"))
		snprintf(buf, cap, "0");
	else if (!strcmp(name, "maxmemory-policy"))
		snprintf(buf, cap, "noeviction");
	else if (!strcmp(name, "io-threads"))
		snprintf(buf, cap, "%d", srv.cfg.threads);
	else
		snprintf(buf, cap, "%s", "");
}

static const char *const config_names[] = {
	"appendfsync", "appendonly", "bind", "client-query-buffer-limit", "databases",
	"io-threads", "maxclients", "maxmemory", "maxmemory-policy", "port",
	"proto-max-bulk-len", "requirepass", "save", "timeout",
};
#define NCONFIG (sizeof(config_names) / sizeof(config_names[0]))

static void config_get(struct client *c, int argc, struct arg *argv)
{
	size_t i, at = reply_defer(c);
	long long n = 0;
	char val[512];

	for (i = 0; i < NCONFIG; i++) {
		int j;

		for (j = 2; j < argc; j++)
			if (glob_match(argv[j].p, argv[j].len, config_names[i],
				       strlen(config_names[i]), 1))
				break;
		if (j == argc)
			continue;
		config_value(config_names[i], val, sizeof(val));
		reply_cstr(c, config_names[i]);
		reply_cstr(c, val);
		n++;
	}
	reply_defer_done(c, at, '%', n);
}

static void config_set(struct client *c, int argc, struct arg *argv)
{
	int j;

	if (argc % 2 != 0) {
		reply_error(c, "ERR syntax error");
		return;
	}
	for (j = 2; j < argc; j += 2) { /* check all before changing any */
		long long v;
		int known = arg_eq(&argv[j], "timeout") || arg_eq(&argv[j], "maxclients");

		if (!known) {
			reply_errorf(c, "ERR Unknown option or number of arguments for CONFIG SET - "
					"'%.*s'", (int)(argv[j].len < 128 ? argv[j].len : 128),
				     argv[j].p);
			return;
		}
		if (arg_ll(&argv[j + 1], &v) != 0 || v < (arg_eq(&argv[j], "timeout") ? 0 : 1) ||
		    v > 1000000) {
			reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument "
					"'%.*s') - argument couldn't be parsed into an integer",
				     (int)argv[j].len, argv[j].p);
			return;
		}
	}
	for (j = 2; j < argc; j += 2) {
		long long v = 0;

		arg_ll(&argv[j + 1], &v);
		if (arg_eq(&argv[j], "timeout"))
			atomic_store(&srv.timeout_s, (int)v);
		else
			atomic_store(&srv.maxclients, (int)v);
	}
	reply_ok(c);
}

/* CONFIG's subcommands, sorted; the arities are Redis 7's. */
enum { CF_GET, CF_HELP, CF_RESETSTAT, CF_REWRITE, CF_SET };
static const struct subcmd config_subs[] = {
	{"get", -3}, {"help", 2}, {"resetstat", 2}, {"rewrite", 2}, {"set", -4},
};

CMDFN(cmd_config)
{
	int sub = sub_find(c, argc, argv, "config", config_subs,
			   sizeof(config_subs) / sizeof(config_subs[0]));

	if (sub == CF_GET) {
		config_get(c, argc, argv);
	} else if (sub == CF_SET) {
		config_set(c, argc, argv);
	} else if (sub == CF_RESETSTAT) {
		atomic_store(&srv.stat_conns, 0);
		atomic_store(&srv.stat_cmds, 0);
		atomic_store(&srv.stat_rejected, 0);
		atomic_store(&srv.stat_net_in, 0);
		atomic_store(&srv.stat_net_out, 0);
		atomic_store(&srv.stat_hits, 0);
		atomic_store(&srv.stat_misses, 0);
		reply_ok(c);
	} else if (sub == CF_REWRITE) {
		reply_error(c, "ERR daxkv-server does not rewrite its configuration file");
	} else if (sub == CF_HELP) {
		reply_array(c, 5);
		reply_status(c, "CONFIG <subcommand> [<arg> ...]. Subcommands are:");
		reply_status(c, "GET <pattern> [<pattern> ...]");
		reply_status(c, "SET <parameter> <value> [...] (timeout and maxclients only)");
		reply_status(c, "RESETSTAT, REWRITE (not supported)");
		reply_status(c, "HELP");
	}
}

/* Redis 7's COMMAND INFO entry: name, arity, flags, first, last, step, ACL
 * categories, tips, key specs, subcommands. */
static void command_entry(struct client *c, const struct command *cmd)
{
	int noauth = (cmd->flags & CMD_NOAUTH) != 0;

	reply_array(c, 10);
	reply_cstr(c, cmd->name);
	reply_int(c, cmd->arity);
	reply_array(c, 1 + noauth);
	reply_status(c, cmd->flags & CMD_WRITE ? "write" : "readonly");
	if (noauth)
		reply_status(c, "no_auth");
	reply_int(c, cmd->first);
	reply_int(c, cmd->last);
	reply_int(c, cmd->step);
	reply_array(c, 1);
	reply_status(c, cmd->first ? "@keyspace" : "@connection");
	reply_array(c, 0);
	reply_array(c, 0);
	reply_array(c, 0);
}

/* COMMAND LIST [FILTERBY MODULE|ACLCAT|PATTERN <value>]: no modules here, and
 * the one ACL category COMMAND INFO gives each command. */
static void command_list(struct client *c, int argc, struct arg *argv)
{
	size_t n, i, at;
	const struct command *t = cmd_table(&n);
	long long m = 0;
	int by = 0; /* 0: all, 1: module, 2: ACL category, 3: pattern */

	if (argc == 5 && arg_eq(&argv[2], "filterby"))
		by = arg_eq(&argv[3], "module") ? 1 : arg_eq(&argv[3], "aclcat") ? 2
			: arg_eq(&argv[3], "pattern") ? 3 : -1;
	if (argc != 2 && by <= 0) {
		reply_error(c, "ERR syntax error");
		return;
	}
	at = reply_defer(c);
	for (i = 0; i < n && by != 1; i++) {
		if (by == 2 && !arg_eq(&argv[4], t[i].first ? "keyspace" : "connection"))
			continue;
		if (by == 3 && !glob_match(argv[4].p, argv[4].len, t[i].name, strlen(t[i].name), 1))
			continue;
		reply_cstr(c, t[i].name);
		m++;
	}
	reply_defer_done(c, at, '*', m);
}

/* COMMAND GETKEYS <command> <arg>...: the keys by the table's positions. */
static void command_getkeys(struct client *c, int argc, struct arg *argv)
{
	const struct command *cmd = cmd_lookup(argv[2].p, argv[2].len);
	int n = argc - 2, last, j;

	if (!cmd) {
		reply_error(c, "ERR Invalid command specified");
		return;
	}
	if ((cmd->arity > 0 && n != cmd->arity) || (cmd->arity < 0 && n < -cmd->arity)) {
		reply_error(c, "ERR Invalid number of arguments specified for command");
		return;
	}
	if (cmd->first == 0) {
		reply_error(c, "ERR The command has no key arguments");
		return;
	}
	last = cmd->last < 0 ? n + cmd->last : cmd->last;
	if (last >= n)
		last = n - 1;
	reply_array(c, (last - cmd->first) / cmd->step + 1);
	for (j = cmd->first; j <= last; j += cmd->step)
		reply_bulk(c, argv[2 + j].p, argv[2 + j].len);
}

/* COMMAND's subcommands, sorted; the arities are Redis 7's. */
enum { CO_COUNT, CO_DOCS, CO_GETKEYS, CO_HELP, CO_INFO, CO_LIST };
static const struct subcmd command_subs[] = {
	{"count", 2}, {"docs", -2}, {"getkeys", -4}, {"help", 2}, {"info", -2}, {"list", -2},
};

CMDFN(cmd_command)
{
	size_t n, i;
	const struct command *t = cmd_table(&n);
	int j, sub;

	if (argc == 1) {
		reply_array(c, (long long)n);
		for (i = 0; i < n; i++)
			command_entry(c, &t[i]);
		return;
	}
	sub = sub_find(c, argc, argv, "command", command_subs,
		       sizeof(command_subs) / sizeof(command_subs[0]));
	if (sub == CO_COUNT) {
		reply_int(c, (long long)n);
	} else if (sub == CO_LIST) {
		command_list(c, argc, argv);
	} else if (sub == CO_GETKEYS) {
		command_getkeys(c, argc, argv);
	} else if (sub == CO_INFO && argc == 2) {
		reply_array(c, (long long)n);
		for (i = 0; i < n; i++)
			command_entry(c, &t[i]);
	} else if (sub == CO_INFO) {
		reply_array(c, argc - 2);
		for (j = 2; j < argc; j++) {
			const struct command *cmd = cmd_lookup(argv[j].p, argv[j].len);

			if (cmd)
				command_entry(c, cmd);
			else
				reply_null_array(c);
		}
	} else if (sub == CO_DOCS) {
		/* No documentation here: redis-cli then uses its own help table for
		 * hints.  Named commands get an empty map each. */
		if (argc == 2) {
			reply_error(c, "ERR daxkv-server has no COMMAND DOCS; see COMMAND INFO");
			return;
		}
		size_t at = reply_defer(c);
		long long m = 0;

		for (j = 2; j < argc; j++) {
			const struct command *cmd = cmd_lookup(argv[j].p, argv[j].len);

			if (!cmd)
				continue;
			reply_cstr(c, cmd->name);
			reply_map(c, 0);
			m++;
		}
		reply_defer_done(c, at, '%', m);
	} else if (sub == CO_HELP) {
		reply_array(c, 7);
		reply_status(c, "COMMAND <subcommand> [<arg> ...]. Subcommands are:");
		reply_status(c, "(no subcommand): every command's details");
		reply_status(c, "COUNT, LIST [FILTERBY MODULE|ACLCAT|PATTERN <value>]");
		reply_status(c, "INFO [<command-name> ...]");
		reply_status(c, "DOCS <command-name> ... (empty: daxkv-server has no docs)");
		reply_status(c, "GETKEYS <full-command>");
		reply_status(c, "HELP");
	}
}
