/*
 * client.c -- a client's life on its event loop: creation, the registry
 * CLIENT LIST walks, running every complete request of its query buffer
 * (pipelining: replies are appended, the loop writes them once), the command
 * table with Redis' arity and authentication checks, and CLIENT.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct command commands[] = {
	/* name, arity, flags, first key, last key, step, function (sorted by name) */
	{"append", 3, CMD_WRITE, 1, 1, 1, cmd_append},
	{"auth", -2, CMD_NOAUTH, 0, 0, 0, cmd_auth},
	{"client", -2, 0, 0, 0, 0, cmd_client},
	{"command", -1, 0, 0, 0, 0, cmd_command},
	{"config", -2, 0, 0, 0, 0, cmd_config},
	{"dbsize", 1, 0, 0, 0, 0, cmd_dbsize},
	{"decr", 2, CMD_WRITE, 1, 1, 1, cmd_decr},
	{"decrby", 3, CMD_WRITE, 1, 1, 1, cmd_decrby},
	{"del", -2, CMD_WRITE, 1, -1, 1, cmd_del},
	{"echo", 2, 0, 0, 0, 0, cmd_echo},
	{"exists", -2, 0, 1, -1, 1, cmd_exists},
	{"expire", -3, CMD_WRITE, 1, 1, 1, cmd_expire},
	{"expireat", -3, CMD_WRITE, 1, 1, 1, cmd_expireat},
	{"flushall", -1, CMD_WRITE, 0, 0, 0, cmd_flushall},
	{"flushdb", -1, CMD_WRITE, 0, 0, 0, cmd_flushdb},
	{"get", 2, 0, 1, 1, 1, cmd_get},
	{"getdel", 2, CMD_WRITE, 1, 1, 1, cmd_getdel},
	{"getex", -2, CMD_WRITE, 1, 1, 1, cmd_getex},
	{"getrange", 4, 0, 1, 1, 1, cmd_getrange},
	{"getset", 3, CMD_WRITE, 1, 1, 1, cmd_getset},
	{"hello", -1, CMD_NOAUTH, 0, 0, 0, cmd_hello},
	{"incr", 2, CMD_WRITE, 1, 1, 1, cmd_incr},
	{"incrby", 3, CMD_WRITE, 1, 1, 1, cmd_incrby},
	{"incrbyfloat", 3, CMD_WRITE, 1, 1, 1, cmd_incrbyfloat},
	{"info", -1, 0, 0, 0, 0, cmd_info},
	{"keys", 2, 0, 0, 0, 0, cmd_keys},
	{"lastsave", 1, 0, 0, 0, 0, cmd_lastsave},
	{"mget", -2, 0, 1, -1, 1, cmd_mget},
	{"mset", -3, CMD_WRITE, 1, -1, 2, cmd_mset},
	{"msetnx", -3, CMD_WRITE, 1, -1, 2, cmd_msetnx},
	{"persist", 2, CMD_WRITE, 1, 1, 1, cmd_persist},
	{"pexpire", -3, CMD_WRITE, 1, 1, 1, cmd_pexpire},
	{"pexpireat", -3, CMD_WRITE, 1, 1, 1, cmd_pexpireat},
	{"ping", -1, 0, 0, 0, 0, cmd_ping},
	{"psetex", 4, CMD_WRITE, 1, 1, 1, cmd_psetex},
	{"pttl", 2, 0, 1, 1, 1, cmd_pttl},
	{"quit", -1, CMD_NOAUTH, 0, 0, 0, cmd_quit},
	{"randomkey", 1, 0, 0, 0, 0, cmd_randomkey},
	{"rename", 3, CMD_WRITE, 1, 2, 1, cmd_rename},
	{"renamenx", 3, CMD_WRITE, 1, 2, 1, cmd_renamenx},
	{"save", 1, 0, 0, 0, 0, cmd_save},
	{"scan", -2, 0, 0, 0, 0, cmd_scan},
	{"select", 2, 0, 0, 0, 0, cmd_select},
	{"set", -3, CMD_WRITE, 1, 1, 1, cmd_set},
	{"setex", 4, CMD_WRITE, 1, 1, 1, cmd_setex},
	{"setnx", 3, CMD_WRITE, 1, 1, 1, cmd_setnx},
	{"setrange", 4, CMD_WRITE, 1, 1, 1, cmd_setrange},
	{"shutdown", -1, 0, 0, 0, 0, cmd_shutdown},
	{"strlen", 2, 0, 1, 1, 1, cmd_strlen},
	{"time", 1, 0, 0, 0, 0, cmd_time},
	{"ttl", 2, 0, 1, 1, 1, cmd_ttl},
	{"type", 2, 0, 1, 1, 1, cmd_type},
	{"unlink", -2, CMD_WRITE, 1, -1, 1, cmd_del},
};

const struct command *cmd_table(size_t *n)
{
	*n = sizeof(commands) / sizeof(commands[0]);
	return commands;
}

const struct command *cmd_lookup(const char *name, size_t len)
{
	char low[24];
	size_t i, lo = 0, hi = sizeof(commands) / sizeof(commands[0]);

	if (len == 0 || len >= sizeof(low))
		return NULL;
	for (i = 0; i < len; i++) {
		char ch = name[i];

		low[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	low[len] = '\0';
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(low, commands[mid].name);

		if (r == 0)
			return &commands[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct client *client_new(struct loop *lp, int fd)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->loop = lp;
	c->id = atomic_fetch_add(&srv.next_id, 1) + 1;
	c->resp = 2;
	c->authed = srv.cfg.requirepass[0] == '\0';
	c->ctime_ms = srv_mono_ms();
	atomic_store(&c->last_ms, c->ctime_ms);
	atomic_store(&c->last_cmd, "NULL");
	resp_init(&c->rp, DAXKV_VALUE_MAX);
	pthread_mutex_lock(&srv.reg_lock);
	c->gnext = srv.reg;
	if (srv.reg)
		srv.reg->gprev = c;
	srv.reg = c;
	pthread_mutex_unlock(&srv.reg_lock);
	atomic_fetch_add(&srv.nclients, 1);
	return c;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&srv.reg_lock);
	if (c->gprev)
		c->gprev->gnext = c->gnext;
	else
		srv.reg = c->gnext;
	if (c->gnext)
		c->gnext->gprev = c->gprev;
	pthread_mutex_unlock(&srv.reg_lock);
	atomic_fetch_sub(&srv.nclients, 1);
	if (c->fd >= 0)
		close(c->fd);
	resp_free(&c->rp);
	free(c->argv);
	free(c->qb);
	free(c->ob);
	free(c);
}

static void unknown_command(struct client *c, int argc, struct arg *argv)
{
	char args[300];
	size_t n = 0;
	int i;

	args[0] = '\0';
	for (i = 1; i < argc && n < 128; i++) {
		int w = snprintf(args + n, sizeof(args) - n, "'%.*s' ",
				 (int)(argv[i].len < 128 - n ? argv[i].len : 128 - n), argv[i].p);

		if (w < 0 || (size_t)w >= sizeof(args) - n)
			break;
		n += (size_t)w;
	}
	reply_errorf(c, "ERR unknown command '%.*s', with args beginning with: %s",
		     (int)(argv[0].len < 128 ? argv[0].len : 128), argv[0].p, args);
}

static void run_command(struct client *c, int argc, struct arg *argv)
{
	const struct command *cmd = cmd_lookup(argv[0].p, argv[0].len);

	atomic_fetch_add_explicit(&srv.stat_cmds, 1, memory_order_relaxed);
	if (!cmd) {
		unknown_command(c, argc, argv);
		return;
	}
	if ((cmd->arity > 0 && argc != cmd->arity) || (cmd->arity < 0 && argc < -cmd->arity)) {
		reply_arity(c, cmd->name);
		return;
	}
	if (!c->authed && !(cmd->flags & CMD_NOAUTH)) {
		reply_error(c, "NOAUTH Authentication required.");
		return;
	}
	atomic_store_explicit(&c->last_cmd, cmd->name, memory_order_relaxed);
	cmd->fn(c, argc, argv);
}

static int set_argv(struct client *c)
{
	size_t i, n = c->rp.argc;
	const char *base = c->qb + c->qpos;

	if (n > c->argv_cap) {
		struct arg *a = realloc(c->argv, n * sizeof(*a));

		if (!a)
			return -1;
		c->argv = a;
		c->argv_cap = n;
	}
	for (i = 0; i < n; i++) {
		c->argv[i].p = base + c->rp.argv[i].off;
		c->argv[i].len = c->rp.argv[i].len;
	}
	return 0;
}

int client_process(struct client *c)
{
	while (!c->close_asap && c->qpos < c->qlen) {
		int r;

		if (c->olen - c->opos > srv.cfg.output_max)
			break; /* the loop stops reading until the client drains its replies */
		c->rp.unauth = !c->authed;
		r = resp_parse(&c->rp, c->qb + c->qpos, c->qlen - c->qpos);
		if (r == RESP_NEED)
			break;
		if (r == RESP_ERR) {
			srv_log("client id=%llu addr=%s: %s", (unsigned long long)c->id, c->addr,
				c->rp.err);
			reply_error(c, c->rp.err);
			c->close_asap = 1;
			break;
		}
		if (c->rp.argc > 0) {
			if (set_argv(c) != 0) {
				c->close_asap = 1;
				break;
			}
			run_command(c, (int)c->rp.argc, c->argv);
		}
		c->qpos += c->rp.used;
		resp_reset(&c->rp);
	}
	if (c->qpos == c->qlen) {
		c->qpos = c->qlen = 0;
	} else if (c->qpos > 0) {
		memmove(c->qb, c->qb + c->qpos, c->qlen - c->qpos);
		c->qlen -= c->qpos;
		c->qpos = 0;
	}
	return 0;
}

void client_info_line(struct client *c, char *buf, size_t cap)
{
	int64_t now = srv_mono_ms();

	snprintf(buf, cap,
		 "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=N db=%d "
		 "sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 "
		 "rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=default "
		 "redir=-1 resp=%d\n",
		 (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name,
		 (long long)(now - c->ctime_ms) / 1000,
		 (long long)(now - atomic_load_explicit(&c->last_ms, memory_order_relaxed)) / 1000,
		 atomic_load_explicit(&c->db, memory_order_relaxed),
		 atomic_load_explicit(&c->last_cmd, memory_order_relaxed),
		 __atomic_load_n(&c->resp, __ATOMIC_RELAXED));
}

static void client_list(struct client *c, int one)
{
	char *out = NULL, line[1024];
	size_t len = 0, cap = 0;
	struct client *it;

	if (one) {
		client_info_line(c, line, sizeof(line));
		reply_verbatim(c, line, strlen(line));
		return;
	}
	pthread_mutex_lock(&srv.reg_lock);
	for (it = srv.reg; it; it = it->gnext) {
		size_t n;

		client_info_line(it, line, sizeof(line));
		n = strlen(line);
		if (len + n > cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *o;

			while (ncap < len + n)
				ncap *= 2;
			o = realloc(out, ncap);
			if (!o)
				break;
			out = o;
			cap = ncap;
		}
		memcpy(out + len, line, n);
		len += n;
	}
	pthread_mutex_unlock(&srv.reg_lock);
	reply_verbatim(c, out ? out : "", len);
	free(out);
}

static void client_setname(struct client *c, const struct arg *name)
{
	size_t i;

	for (i = 0; i < name->len; i++)
		if (name->p[i] < '!' || name->p[i] > '~')
			break;
	if (i < name->len || name->len > SRV_NAME_MAX) {
		reply_error(c, "ERR Client names cannot contain spaces, newlines or special "
			       "characters.");
		return;
	}
	pthread_mutex_lock(&srv.reg_lock);
	memcpy(c->name, name->p, name->len);
	c->name[name->len] = '\0';
	pthread_mutex_unlock(&srv.reg_lock);
	reply_ok(c);
}

/* CLIENT's subcommands, sorted; the arities are Redis 7's. */
enum { CL_GETNAME, CL_HELP, CL_ID, CL_INFO, CL_LIST, CL_SETINFO, CL_SETNAME };
static const struct subcmd client_subs[] = {
	{"getname", 2}, {"help", 2}, {"id", 2}, {"info", 2},
	{"list", -2},   {"setinfo", 4}, {"setname", 3},
};

CMDFN(cmd_client)
{
	int sub = sub_find(c, argc, argv, "client", client_subs,
			   sizeof(client_subs) / sizeof(client_subs[0]));

	if (sub == CL_ID) {
		reply_int(c, (long long)c->id);
	} else if (sub == CL_GETNAME) {
		char name[SRV_NAME_MAX + 1];

		pthread_mutex_lock(&srv.reg_lock);
		memcpy(name, c->name, sizeof(name));
		pthread_mutex_unlock(&srv.reg_lock);
		if (name[0])
			reply_cstr(c, name);
		else
			reply_null(c);
	} else if (sub == CL_SETNAME) {
		client_setname(c, &argv[2]);
	} else if (sub == CL_LIST) {
		client_list(c, 0);
	} else if (sub == CL_INFO) {
		client_list(c, 1);
	} else if (sub == CL_SETINFO) {
		reply_ok(c); /* lib-name / lib-ver: accepted, not kept */
	} else if (sub == CL_HELP) {
		reply_array(c, 6);
		reply_status(c, "CLIENT <subcommand> [<arg> ...]. Subcommands are:");
		reply_status(c, "ID, GETNAME, SETNAME <name>, LIST, INFO,");
		reply_status(c, "SETINFO <lib-name|lib-ver> <value> (accepted, ignored),");
		reply_status(c, "NO-EVICT / NO-TOUCH / REPLY are not supported,");
		reply_status(c, "KILL is not supported.");
		reply_status(c, "HELP");
	}
}
