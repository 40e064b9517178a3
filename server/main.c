/*
 * main.c -- daxkv-server: a Redis-protocol server over a daxkv store
 * (docs/SERVER.md).  Reads the settings, opens the store, starts the event
 * loops and waits; SIGTERM, SIGINT or SHUTDOWN stop them (no new clients,
 * replies made are written), then the store is closed cleanly and the
 * process exits 0.
 */
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct server srv;

int64_t srv_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void srv_log(const char *fmt, ...)
{
	char msg[1024], when[64];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One call per line: stdio locks the stream, so lines of threads do not mix. */
	fprintf(srv.log ? srv.log : stderr, "%d:M %s.%03ld * %s\n", (int)getpid(), when,
		ts.tv_nsec / 1000000, msg);
}

/* Async-signal-safe: the handler calls it. */
void srv_request_stop(void)
{
	uint64_t one = 1;

	atomic_store(&srv.stopping, 1);
	if (write(srv.stop_fd, &one, sizeof(one)) < 0) {
		/* the counter is already non-zero: the loops wake anyway */
	}
}

static void on_signal(int sig)
{
	(void)sig;
	srv_request_stop();
}

static int open_store(void)
{
	daxkv_options opt;
	int rc;

	daxkv_options_init(&opt);
	opt.create = 1;
	opt.pool_size = srv.cfg.pool_size;
	rc = daxkv_open(srv.cfg.store, &opt, &srv.db);
	if (rc != DAXKV_OK) {
		srv_log("cannot open store %s: %s: %s", srv.cfg.store, daxkv_strerror(rc),
			daxkv_errmsg());
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int rc, status = 1;

	pthread_mutex_init(&srv.reg_lock, NULL);
	srv.stop_fd = -1;
	rc = config_load(&srv.cfg, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (srv.cfg.logfile[0]) {
		srv.log = fopen(srv.cfg.logfile, "ae");
		if (!srv.log) {
			fprintf(stderr, "daxkv-server: %s: %s\n", srv.cfg.logfile, strerror(errno));
			return 1;
		}
		setvbuf(srv.log, NULL, _IOLBF, 0);
	}
	atomic_store(&srv.timeout_s, srv.cfg.timeout_s);
	atomic_store(&srv.maxclients, srv.cfg.maxclients);
	srv.start_ms = srv_mono_ms();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	srv.stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv.stop_fd < 0) {
		srv_log("eventfd: %s", strerror(errno));
		goto out;
	}
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (open_store() != 0)
		goto out;
	if (loop_start_all() != 0)
		goto out;
	srv_log("daxkv-server %s started: store %s, %s:%d, %d thread%s, pid %d", daxkv_version(),
		srv.cfg.store, srv.cfg.bind, srv.cfg.port, srv.cfg.threads,
		srv.cfg.threads == 1 ? "" : "s", (int)getpid());
	loop_join_all();
	srv_log("shutting down: closing the store");
	status = 0;
out:
	if (srv.db) {
		rc = daxkv_close(srv.db);
		srv.db = NULL;
		if (rc != DAXKV_OK) {
			srv_log("closing the store: %s: %s", daxkv_strerror(rc), daxkv_errmsg());
			status = 1;
		}
	}
	if (status == 0)
		srv_log("daxkv-server stopped");
	if (srv.stop_fd >= 0)
		close(srv.stop_fd);
	if (srv.log)
		fclose(srv.log);
	pthread_mutex_destroy(&srv.reg_lock);
	return status;
}
