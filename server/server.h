/*
 * server.h -- daxkv-server's shared declarations: configuration, the server
 * and its event loops, clients, replies, the command table.  The design
 * (docs/SERVER.md): N event-loop threads, each with its own epoll and its
 * own SO_REUSEPORT listener; a client lives on one loop for its life.  Every
 * change to data goes through the engine (daxkv is thread-safe and its
 * conditional writes make read-modify-writes atomic), server-wide counters
 * are atomics, and the registry of clients (CLIENT LIST) is under a mutex.
 */
#ifndef DAXKV_SERVER_H
#define DAXKV_SERVER_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "daxkv.h"
#include "resp.h"

#define SRV_NAME "daxkv-server"
#define SRV_REDIS_VERSION "7.0.0" /* what HELLO and INFO claim to speak */
#define SRV_DEFAULT_PORT 6380
#define SRV_DEFAULT_STORE "/dev/shm/daxkv-server.pool"
#define SRV_DB_MAX 256            /* databases: the prefix is one byte */
#define SRV_READ_CHUNK (16u * 1024)
#define SRV_NAME_MAX 128          /* CLIENT SETNAME */

struct srv_config {
	int port;
	char bind[256];
	char store[PATH_MAX];
	char requirepass[512];
	int maxclients;
	int timeout_s;
	int threads;
	int databases;
	uint64_t pool_size;
	char logfile[PATH_MAX];
	uint64_t query_max;  /* per-client query buffer, bytes */
	uint64_t output_max; /* pending replies over this: stop reading the client */
};

struct arg {
	const char *p;
	size_t len;
};

struct loop;

struct client {
	int fd;
	uint64_t id;
	struct loop *loop;
	struct client *prev, *next;   /* the loop's list */
	struct client *gprev, *gnext; /* the registry (srv.reg_lock) */
	char *qb;                     /* query buffer: qb[qpos..qlen) unparsed */
	size_t qlen, qcap, qpos;
	struct resp_parser rp;
	struct arg *argv;             /* the command being run, pointing into qb */
	size_t argv_cap;
	char *ob;                     /* replies: ob[opos..olen) not yet written */
	size_t olen, ocap, opos;
	int authed;
	int resp;                     /* 2 or 3 */
	int close_asap;               /* close once replies are written */
	int events;                   /* what epoll waits for now */
	_Atomic int db;
	_Atomic int64_t last_ms;      /* last activity (ms, monotonic) */
	int64_t ctime_ms;
	_Atomic(const char *) last_cmd;
	char addr[64];
	char laddr[64];
	char name[SRV_NAME_MAX + 1];  /* under srv.reg_lock */
};

struct loop {
	int idx;
	int epfd;
	int lfd;
	pthread_t thread;
	struct client *clients;
	daxkv_batch *batch;
	char *kb[2];      /* stored keys being built (db byte + user key) */
	size_t kcap[2];
	char *vb;         /* values read from the store */
	size_t vcap;
};

struct server {
	struct srv_config cfg;
	daxkv *db;
	struct loop *loops;
	int stop_fd;                  /* eventfd: readable = shut down */
	_Atomic int stopping;
	_Atomic int timeout_s;
	_Atomic int maxclients;
	_Atomic uint64_t next_id;
	_Atomic uint64_t nclients;
	_Atomic uint64_t stat_conns;
	_Atomic uint64_t stat_cmds;
	_Atomic uint64_t stat_rejected;
	_Atomic uint64_t stat_net_in;
	_Atomic uint64_t stat_net_out;
	_Atomic uint64_t stat_hits;   /* keyspace_hits: reads that found the key */
	_Atomic uint64_t stat_misses; /* keyspace_misses: reads that did not */
	int64_t start_ms;
	pthread_mutex_t reg_lock;
	struct client *reg;
	FILE *log;
};

extern struct server srv;

/* Command table (client.c). */
#define CMD_WRITE 1u
#define CMD_NOAUTH 2u  /* allowed before AUTH */
struct command {
	const char *name;
	int arity;         /* > 0 exactly, < 0 at least -arity (name included) */
	unsigned flags;
	int first, last, step; /* key positions (COMMAND INFO) */
	void (*fn)(struct client *c, int argc, struct arg *argv);
};
const struct command *cmd_lookup(const char *name, size_t len);
const struct command *cmd_table(size_t *n);

/* main.c */
void srv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t srv_mono_ms(void);
void srv_request_stop(void);

/* config.c */
int config_load(struct srv_config *cfg, int argc, char **argv);

/* loop.c */
int loop_start_all(void);
void loop_join_all(void);

/* client.c */
struct client *client_new(struct loop *lp, int fd);
void client_free(struct client *c);
int client_process(struct client *c); /* runs what qb holds; -1: close it */
void client_info_line(struct client *c, char *buf, size_t cap);

/* reply.c */
int reply_reserve(struct client *c, size_t n);
void reply_raw(struct client *c, const void *p, size_t n);
void reply_status(struct client *c, const char *s);
void reply_error(struct client *c, const char *s);
void reply_errorf(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(struct client *c, long long v);
void reply_bulk(struct client *c, const void *p, size_t n);
void reply_cstr(struct client *c, const char *s);
void reply_null(struct client *c);
void reply_null_array(struct client *c);
void reply_array(struct client *c, long long n);
void reply_map(struct client *c, long long n);
void reply_ok(struct client *c);
void reply_dberr(struct client *c, int rc);
void reply_verbatim(struct client *c, const char *s, size_t n); /* INFO, CLIENT LIST */
size_t reply_defer(struct client *c);
void reply_defer_done(struct client *c, size_t at, char type, long long n);
void reply_arity(struct client *c, const char *name);

/* A container command's subcommands (CLIENT, CONFIG, COMMAND) with Redis 7's
 * arities (the command's name included; < 0: at least -arity).  sub_find
 * gives the index of argv[1] in subs, or replies Redis' unknown-subcommand
 * or 'cmd|sub' arity error and returns -1. */
struct subcmd {
	const char *name;
	int arity;
};
int sub_find(struct client *c, int argc, struct arg *argv, const char *cmd,
	     const struct subcmd *subs, size_t n);

/* Argument helpers (reply.c). */
int arg_eq(const struct arg *a, const char *s);
int arg_ll(const struct arg *a, long long *v);   /* strict, Redis' string2ll */
int arg_ll_or_reply(struct client *c, const struct arg *a, long long *v);
int ll_fmt(char *buf, long long v);               /* returns the length */

/* Keys and values (cmd_string.c). */
int key_make(struct client *c, int slot, const struct arg *k, const void **kp, size_t *kl);
int val_read(struct client *c, const void *k, size_t kl, size_t *vlen, uint64_t *ver,
	     uint64_t *exp);
int val_reserve(struct loop *lp, size_t n);
void stat_lookup(int found); /* a read of a key, for keyspace_hits/misses */
int expire_parse(struct client *c, const struct arg *a, int unit_s, int relative,
		 const char *cmd, uint64_t *out);

/* glob.c */
int glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase);

/* The command functions. */
#define CMDFN(n) void n(struct client *c, int argc, struct arg *argv)
CMDFN(cmd_get); CMDFN(cmd_set); CMDFN(cmd_setnx); CMDFN(cmd_setex); CMDFN(cmd_psetex);
CMDFN(cmd_getset); CMDFN(cmd_getdel); CMDFN(cmd_getex); CMDFN(cmd_mget); CMDFN(cmd_mset);
CMDFN(cmd_msetnx); CMDFN(cmd_incr); CMDFN(cmd_decr); CMDFN(cmd_incrby); CMDFN(cmd_decrby);
CMDFN(cmd_incrbyfloat); CMDFN(cmd_append); CMDFN(cmd_strlen); CMDFN(cmd_getrange);
CMDFN(cmd_setrange);
CMDFN(cmd_del); CMDFN(cmd_exists); CMDFN(cmd_expire); CMDFN(cmd_pexpire);
CMDFN(cmd_expireat); CMDFN(cmd_pexpireat); CMDFN(cmd_ttl); CMDFN(cmd_pttl);
CMDFN(cmd_persist); CMDFN(cmd_type); CMDFN(cmd_rename); CMDFN(cmd_renamenx);
CMDFN(cmd_scan); CMDFN(cmd_keys); CMDFN(cmd_dbsize); CMDFN(cmd_flushdb);
CMDFN(cmd_flushall); CMDFN(cmd_randomkey);
CMDFN(cmd_ping); CMDFN(cmd_echo); CMDFN(cmd_hello); CMDFN(cmd_auth); CMDFN(cmd_select);
CMDFN(cmd_info); CMDFN(cmd_command); CMDFN(cmd_config); CMDFN(cmd_client); CMDFN(cmd_quit);
CMDFN(cmd_shutdown); CMDFN(cmd_time); CMDFN(cmd_lastsave); CMDFN(cmd_save);

/* cmd_keys.c: the key counts INFO keyspace and DBSIZE use. */
int keys_count(struct client *c, int db, uint64_t *keys, uint64_t *expires);

#endif
