/*
 * loop.c -- daxkv-server's event loops: N threads, each with its own epoll
 * (level-triggered) and its own listening socket on the same address
 * (SO_REUSEPORT: the kernel spreads new connections over them).  A client
 * stays on the loop that accepted it.  Per round a client gets one read, every
 * complete request in its buffer is run, and its replies go out in one
 * write; a client whose replies pile up past output_max is not read until it
 * takes them.  The shutdown eventfd is in every epoll set and never read, so
 * all loops see it.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOOP_EVENTS 256
#define ACCEPT_BURST 64
#define BUF_SHRINK (1024u * 1024) /* idle buffers over this go back */

static char listener_tag, stop_tag;

static int listen_socket(void)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[16];
	int fd = -1, one = 1, r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", srv.cfg.port);
	r = getaddrinfo(srv.cfg.bind[0] ? srv.cfg.bind : NULL, port, &hints, &res);
	if (r != 0) {
		srv_log("bind %s: %s", srv.cfg.bind, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 511) == 0)
			break;
		srv_log("listen on %s:%d: %s", srv.cfg.bind, srv.cfg.port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
	}
	snprintf(buf, cap, "%s:%d", host, port);
}

static void set_events(struct client *c, int ev)
{
	struct epoll_event e;

	if (ev == c->events)
		return;
	e.events = (uint32_t)ev;
	e.data.ptr = c;
	if (epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static void client_close(struct loop *lp, struct client *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	epoll_ctl(lp->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	client_free(c);
}

static void accept_clients(struct loop *lp)
{
	int i;

	for (i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_storage ss, ls;
		socklen_t sl = sizeof(ss), lsl = sizeof(ls);
		struct epoll_event e;
		struct client *c;
		int fd, one = 1;

		fd = accept4(lp->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				srv_log("accept: %s", strerror(errno));
			return;
		}
		atomic_fetch_add(&srv.stat_conns, 1);
		if (atomic_load(&srv.nclients) >= (uint64_t)atomic_load(&srv.maxclients)) {
			static const char msg[] = "-ERR max number of clients reached\r\n";
			char a[64];

			addr_str(&ss, a, sizeof(a));
			if (write(fd, msg, sizeof(msg) - 1) < 0) {
				/* nothing to do: it is closed anyway */
			}
			close(fd);
			atomic_fetch_add(&srv.stat_rejected, 1);
			srv_log("client %s refused: max number of clients reached", a);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = client_new(lp, fd);
		if (!c) {
			close(fd);
			continue;
		}
		addr_str(&ss, c->addr, sizeof(c->addr));
		if (getsockname(fd, (struct sockaddr *)&ls, &lsl) == 0)
			addr_str(&ls, c->laddr, sizeof(c->laddr));
		e.events = EPOLLIN;
		e.data.ptr = c;
		if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
			client_free(c);
			continue;
		}
		c->events = EPOLLIN;
		c->next = lp->clients;
		if (lp->clients)
			lp->clients->prev = c;
		lp->clients = c;
	}
}

/* One read.  -1: close the client (EOF, error, over its query limit). */
static int client_read(struct client *c)
{
	size_t want = SRV_READ_CHUNK;
	ssize_t n;

	if (c->rp.want > c->qlen && c->rp.want - c->qlen > want)
		want = c->rp.want - c->qlen; /* the rest of a large argument at once */
	if (c->qcap - c->qlen < want) {
		size_t ncap = c->qcap ? c->qcap : SRV_READ_CHUNK;
		char *nb;

		while (ncap - c->qlen < want)
			ncap *= 2;
		nb = realloc(c->qb, ncap);
		if (!nb)
			return -1;
		c->qb = nb;
		c->qcap = ncap;
	}
	do
		n = read(c->fd, c->qb + c->qlen, c->qcap - c->qlen);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	if (n == 0)
		return -1;
	c->qlen += (size_t)n;
	atomic_fetch_add_explicit(&srv.stat_net_in, (uint64_t)n, memory_order_relaxed);
	atomic_store_explicit(&c->last_ms, srv_mono_ms(), memory_order_relaxed);
	if (c->qlen - c->qpos > srv.cfg.query_max) {
		srv_log("client id=%llu addr=%s closed: query buffer over %llu bytes",
			(unsigned long long)c->id, c->addr, (unsigned long long)srv.cfg.query_max);
		return -1;
	}
	return 0;
}

static int client_write(struct client *c)
{
	while (c->opos < c->olen) {
		ssize_t n = write(c->fd, c->ob + c->opos, c->olen - c->opos);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		c->opos += (size_t)n;
		atomic_fetch_add_explicit(&srv.stat_net_out, (uint64_t)n, memory_order_relaxed);
	}
	if (c->opos == c->olen) {
		c->opos = c->olen = 0;
		if (c->ocap > BUF_SHRINK) {
			free(c->ob);
			c->ob = NULL;
			c->ocap = 0;
		}
	}
	if (c->qlen == 0 && c->qcap > BUF_SHRINK) {
		free(c->qb);
		c->qb = NULL;
		c->qcap = 0;
	}
	return 0;
}

static void client_events(struct loop *lp, struct client *c, uint32_t events)
{
	int round, ev;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		if (client_read(c) != 0)
			goto close;
	}
	for (round = 0; round < 8; round++) {
		size_t before = c->qlen - c->qpos;

		client_process(c);
		if (client_write(c) != 0)
			goto close;
		/* Stopped by the output limit with requests left and the output now
		 * drained: go on; otherwise wait for the socket. */
		if (c->close_asap || c->olen > c->opos || c->qlen - c->qpos == before ||
		    c->qlen == c->qpos)
			break;
	}
	if (c->close_asap && c->opos == c->olen)
		goto close;
	ev = 0;
	if (!c->close_asap && c->olen - c->opos <= srv.cfg.output_max)
		ev |= EPOLLIN;
	if (c->olen > c->opos)
		ev |= EPOLLOUT;
	set_events(c, ev);
	return;
close:
	client_close(lp, c);
}

static void cron(struct loop *lp)
{
	int64_t now = srv_mono_ms();
	int t = atomic_load(&srv.timeout_s);
	struct client *c, *next;

	if (t <= 0)
		return;
	for (c = lp->clients; c; c = next) {
		next = c->next;
		if (now - atomic_load_explicit(&c->last_ms, memory_order_relaxed) >
		    (int64_t)t * 1000) {
			srv_log("client id=%llu addr=%s closed: idle for %d s",
				(unsigned long long)c->id, c->addr, t);
			client_close(lp, c);
		}
	}
}

static void *loop_main(void *arg)
{
	struct loop *lp = arg;
	struct epoll_event ev[LOOP_EVENTS];
	int64_t last_cron = srv_mono_ms();

	while (!atomic_load(&srv.stopping)) {
		int n = epoll_wait(lp->epfd, ev, LOOP_EVENTS, 1000), i;
		int64_t now;

		if (n < 0 && errno != EINTR) {
			srv_log("epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == &listener_tag)
				accept_clients(lp);
			else if (ev[i].data.ptr == &stop_tag)
				atomic_store(&srv.stopping, 1);
			else
				client_events(lp, ev[i].data.ptr, ev[i].events);
		}
		now = srv_mono_ms();
		if (now - last_cron >= 1000) {
			last_cron = now;
			cron(lp);
		}
	}
	/* Shutdown: no new clients; replies already made get one last write. */
	epoll_ctl(lp->epfd, EPOLL_CTL_DEL, lp->lfd, NULL);
	close(lp->lfd);
	lp->lfd = -1;
	while (lp->clients) {
		struct client *c = lp->clients;

		client_write(c);
		client_close(lp, c);
	}
	return NULL;
}

static int loop_init(struct loop *lp, int idx)
{
	struct epoll_event e;

	memset(lp, 0, sizeof(*lp));
	lp->idx = idx;
	lp->lfd = -1;
	lp->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp->epfd < 0)
		return -1;
	lp->lfd = listen_socket();
	if (lp->lfd < 0)
		return -1;
	e.events = EPOLLIN;
	e.data.ptr = &listener_tag;
	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, lp->lfd, &e) != 0)
		return -1;
	e.events = EPOLLIN;
	e.data.ptr = &stop_tag;
	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, srv.stop_fd, &e) != 0)
		return -1;
	if (daxkv_batch_new(&lp->batch) != 0)
		return -1;
	lp->kcap[0] = lp->kcap[1] = DAXKV_KEY_MAX + 1;
	lp->kb[0] = malloc(lp->kcap[0]);
	lp->kb[1] = malloc(lp->kcap[1]);
	lp->vcap = 64 * 1024;
	lp->vb = malloc(lp->vcap);
	if (!lp->kb[0] || !lp->kb[1] || !lp->vb)
		return -1;
	return 0;
}

static void loop_fini(struct loop *lp)
{
	if (lp->lfd >= 0)
		close(lp->lfd);
	if (lp->epfd >= 0)
		close(lp->epfd);
	daxkv_batch_free(lp->batch);
	free(lp->kb[0]);
	free(lp->kb[1]);
	free(lp->vb);
}

int loop_start_all(void)
{
	int i, n = srv.cfg.threads;

	srv.loops = calloc((size_t)n, sizeof(*srv.loops));
	if (!srv.loops)
		return -1;
	for (i = 0; i < n; i++) {
		if (loop_init(&srv.loops[i], i) != 0) {
			srv_log("event loop %d: setup failed", i);
			for (; i >= 0; i--)
				loop_fini(&srv.loops[i]);
			free(srv.loops);
			srv.loops = NULL;
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		if (pthread_create(&srv.loops[i].thread, NULL, loop_main, &srv.loops[i]) != 0) {
			int j;

			srv_log("event loop %d: pthread_create failed", i);
			for (j = i; j < n; j++)
				loop_fini(&srv.loops[j]);
			atomic_store(&srv.stopping, 1);
			srv_request_stop();
			srv.cfg.threads = i;
			loop_join_all();
			return -1;
		}
	}
	return 0;
}

void loop_join_all(void)
{
	int i;

	if (!srv.loops)
		return;
	for (i = 0; i < srv.cfg.threads; i++)
		pthread_join(srv.loops[i].thread, NULL);
	for (i = 0; i < srv.cfg.threads; i++)
		loop_fini(&srv.loops[i]);
	free(srv.loops);
	srv.loops = NULL;
}
