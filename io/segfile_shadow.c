/*
 * segfile_shadow.c -- the block backend's power-loss mode (segfile_shadow.h),
 * compiled only into test builds (DAXKV_TEST_HOOKS): a model of what a store
 * directory holds durably, fed by io/segfile.c's calls, dumped as an image
 * at a chosen durable event.
 */
#include "io/segfile_shadow.h"

/* The shipped library compiles this file to nothing. */
typedef int iosf_shadow_unit;

#ifdef DAXKV_TEST_HOOKS
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SH_MAX 512
#define SH_BLOCK 4096u

enum { P_NONE = 0, P_CREATE, P_REMOVE, P_RENAME };

struct sh_file {
	char name[64];
	char *data;
	uint64_t size;
	int used;
	int durable; /* its name survives a crash */
	int pending; /* P_*: a directory change waiting for the directory sync */
	char to[64]; /* P_RENAME: the new name */
};

static struct {
	pthread_mutex_t mu;
	int on;
	char dir[4096], image[4096];
	uint64_t events, crash_at;
	int keep_pct, status;
	unsigned seed;
	struct sh_file f[SH_MAX];
} S = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int mine(const char *dir)
{
	return S.on && dir && strcmp(dir, S.dir) == 0;
}

static struct sh_file *find(const char *name)
{
	for (int i = 0; i < SH_MAX; i++)
		if (S.f[i].used && strcmp(S.f[i].name, name) == 0)
			return &S.f[i];
	return NULL;
}

static struct sh_file *add(const char *name, uint64_t size)
{
	for (int i = 0; i < SH_MAX; i++) {
		struct sh_file *e = &S.f[i];
		if (e->used)
			continue;
		memset(e, 0, sizeof(*e));
		size_t nl = strlen(name);
		if (nl >= sizeof(e->name))
			return NULL; /* not a name the engine makes */
		e->data = calloc(1, size ? size : 1);
		if (!e->data)
			return NULL;
		memcpy(e->name, name, nl + 1);
		e->size = size;
		e->used = 1;
		return e;
	}
	return NULL;
}

static void drop(struct sh_file *e)
{
	free(e->data);
	memset(e, 0, sizeof(*e));
}

static void put(struct sh_file *e, const void *buf, uint64_t off, uint64_t len)
{
	if (off + len > e->size) {
		char *d = realloc(e->data, off + len);
		if (!d)
			abort();
		memset(d + e->size, 0, off + len - e->size);
		e->data = d;
		e->size = off + len;
	}
	memcpy(e->data + off, buf, len);
}

static unsigned rnd(void)
{
	S.seed = S.seed * 1103515245u + 12345u;
	return (S.seed >> 16) & 0x7fff;
}

/* Applies e's pending directory change: it is durable now. */
static void settle(struct sh_file *e)
{
	if (e->pending == P_CREATE) {
		e->durable = 1;
	} else if (e->pending == P_REMOVE) {
		drop(e);
		return;
	} else if (e->pending == P_RENAME) {
		struct sh_file *old = find(e->to);
		if (old && old != e)
			drop(old);
		memcpy(e->name, e->to, sizeof(e->name));
		e->durable = 1;
	}
	e->pending = P_NONE;
}

static int dump_locked(const char *image)
{
	char p[4096 + 80];
	if (mkdir(image, 0755) != 0 && errno != EEXIST)
		return -1;
	for (int i = 0; i < SH_MAX; i++) {
		struct sh_file *e = &S.f[i];
		/* a pending rename leaves the old name (if durable); a pending
		 * creation leaves nothing; a pending removal leaves the file */
		if (!e->used || !e->durable)
			continue;
		snprintf(p, sizeof(p), "%s/%s", image, e->name);
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return -1;
		ssize_t n = e->size ? write(fd, e->data, e->size) : 0;
		close(fd);
		if (n != (ssize_t)e->size)
			return -1;
	}
	return 0;
}

/* A durable event: at crash_at, the model (with part of what this event
 * makes durable) is the image, and the process ends here. */
static void event(struct sh_file *w, const void *buf, uint64_t off, uint64_t len, int dirsync)
{
	if (++S.events != S.crash_at)
		return;
	if (S.keep_pct > 0) {
		if (w) /* a torn write: some of its 4 KiB blocks */
			for (uint64_t o = 0; o < len; o += SH_BLOCK)
				if ((int)(rnd() % 100) < S.keep_pct)
					put(w, (const char *)buf + o, off + o,
					    len - o < SH_BLOCK ? len - o : SH_BLOCK);
		if (dirsync) /* some of the directory's pending changes */
			for (int i = 0; i < SH_MAX; i++)
				if (S.f[i].used && S.f[i].pending && (int)(rnd() % 100) < S.keep_pct)
					settle(&S.f[i]);
	}
	int rc = dump_locked(S.image);
	_exit(rc == 0 ? S.status : 125);
}

static int load(void)
{
	DIR *d = opendir(S.dir);
	if (!d)
		return -1;
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d)) != NULL) {
		char p[4096 + 260];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", S.dir, de->d_name);
		if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (strlen(de->d_name) >= sizeof(S.f[0].name))
			continue; /* not the engine's */
		struct sh_file *e = add(de->d_name, (uint64_t)st.st_size);
		int fd = open(p, O_RDONLY);
		if (!e || fd < 0 ||
		    (st.st_size && read(fd, e->data, (size_t)st.st_size) != st.st_size))
			rc = -1;
		else
			e->durable = 1;
		if (fd >= 0)
			close(fd);
	}
	closedir(d);
	return rc;
}

int iosf_shadow_start(const char *dir, uint64_t crash_at, const char *image_dir,
		      int keep_pending_pct, unsigned seed, int status_on_crash)
{
	pthread_mutex_lock(&S.mu);
	int rc = -1;
	if (!S.on && image_dir && strlen(dir) < sizeof(S.dir) &&
	    strlen(image_dir) < sizeof(S.image)) {
		snprintf(S.dir, sizeof(S.dir), "%s", dir);
		snprintf(S.image, sizeof(S.image), "%s", image_dir);
		S.events = 0;
		S.crash_at = crash_at;
		S.keep_pct = keep_pending_pct;
		S.seed = seed ? seed : 1;
		S.status = status_on_crash;
		rc = load();
		S.on = rc == 0;
	}
	pthread_mutex_unlock(&S.mu);
	return rc;
}

void iosf_shadow_stop(void)
{
	pthread_mutex_lock(&S.mu);
	for (int i = 0; i < SH_MAX; i++)
		if (S.f[i].used)
			drop(&S.f[i]);
	S.on = 0;
	pthread_mutex_unlock(&S.mu);
}

uint64_t iosf_shadow_events(void)
{
	pthread_mutex_lock(&S.mu);
	uint64_t n = S.events;
	pthread_mutex_unlock(&S.mu);
	return n;
}

int iosf_shadow_dump(const char *image_dir)
{
	pthread_mutex_lock(&S.mu);
	int rc = S.on ? dump_locked(image_dir) : -1;
	pthread_mutex_unlock(&S.mu);
	return rc;
}

void sf_sh_create(const char *dir, const char *name, uint64_t size)
{
	pthread_mutex_lock(&S.mu);
	if (mine(dir)) {
		struct sh_file *e = find(name);
		if (e)
			drop(e); /* O_EXCL made it anew: an old one was removed */
		e = add(name, size);
		if (!e)
			abort();
		e->pending = P_CREATE;
	}
	pthread_mutex_unlock(&S.mu);
}

void sf_sh_write(const char *dir, const char *name, const void *buf, uint64_t off, uint64_t len)
{
	pthread_mutex_lock(&S.mu);
	if (mine(dir)) {
		struct sh_file *e = find(name);
		event(e, buf, off, len, 0);
		if (e)
			put(e, buf, off, len);
	}
	pthread_mutex_unlock(&S.mu);
}

void sf_sh_remove(const char *dir, const char *name)
{
	pthread_mutex_lock(&S.mu);
	struct sh_file *e = mine(dir) ? find(name) : NULL;
	if (e) {
		if (e->pending == P_CREATE || !e->durable)
			drop(e); /* never durable: gone either way */
		else
			e->pending = P_REMOVE;
	}
	pthread_mutex_unlock(&S.mu);
}

void sf_sh_rename(const char *dir, const char *from, const char *to)
{
	pthread_mutex_lock(&S.mu);
	struct sh_file *e = mine(dir) ? find(from) : NULL;
	if (e && strlen(to) < sizeof(e->to)) {
		e->pending = P_RENAME;
		memcpy(e->to, to, strlen(to) + 1);
	}
	pthread_mutex_unlock(&S.mu);
}

void sf_sh_dirsync(const char *dir)
{
	pthread_mutex_lock(&S.mu);
	if (mine(dir)) {
		event(NULL, NULL, 0, 0, 1);
		for (int i = 0; i < SH_MAX; i++)
			if (S.f[i].used && S.f[i].pending)
				settle(&S.f[i]);
	}
	pthread_mutex_unlock(&S.mu);
}
#endif
