/*
 * persist.c -- flush/fence wrappers over libpmem, per-thread call counters,
 * and (DAXKV_TEST_HOOKS only) the power-loss shadow.
 *
 * libpmem picks clwb/clflushopt/clflush and the NT-store kernels for the CPU
 * at load time; we add nothing to the fast path but a TLS increment and, in
 * test builds, one relaxed load.
 *
 * Shadow model, and its limits (good enough for scripted single-threaded
 * crash workloads, which is what it is for):
 *  - the media starts equal to the mapping at pm_shadow_start();
 *  - a line reaches the media only when flushed (or NT-written) and then
 *    fenced; its content is what the mapping holds at that fence;
 *  - pending lines are global, not per thread, so any thread's fence settles
 *    every thread's flushes;
 *  - spontaneous cache evictions of unflushed lines are not modelled: a store
 *    that was never flushed never survives, the strictest reading of ADR.
 */
#include "pmem/persist.h"
#include "pmem/util.h"

#include <libpmem.h>

#ifdef DAXKV_TEST_HOOKS
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>
#endif

/*
 * initial-exec keeps each bump a single %fs-relative add instead of a
 * __tls_get_addr call from the shared library; 24 bytes fit in glibc's static
 * TLS surplus even if libdaxkv is dlopen()ed.
 */
static __thread struct pm_counters pm_tls DKV_TLS_HOT
	__attribute__((tls_model("initial-exec")));

#ifdef DAXKV_TEST_HOOKS

#define SH_LINE_SHIFT 6
#define SH_LINE_BYTES ((uintptr_t)1 << SH_LINE_SHIFT)
#define SH_PENDING_CAP0 64

/* All fields owned by sh_lock; sh_active only lets the hot path skip it. */
struct shadow {
	uint8_t *live;        /* the mapping being modelled */
	size_t len;
	uintptr_t first_line; /* absolute line number (addr >> 6) of live */
	size_t nlines;
	uint8_t *media;       /* len bytes, same offsets as live; NULL = stopped */
	uint64_t *pend_map;   /* one bit per line: dedupes pend[] */
	size_t *pend;         /* pending line indexes, in marking order */
	size_t npend;
	size_t pend_cap;
	bool pend_lost;       /* pend[] failed to grow: settle by scanning pend_map */
	uint64_t crash_at_fence;
	char *image_path;
	int keep_pending_pct;
	int status_on_crash;
	uint32_t rng;
};

static struct shadow sh;
static uint64_t sh_fences; /* survives pm_shadow_stop() so tests can read it */
static pthread_mutex_t sh_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool sh_active;

static void sh_mark(const void *addr, size_t len);
static void sh_fence(void);

#define SH_HOOK(call)                                                   \
	do {                                                            \
		if (atomic_load_explicit(&sh_active, memory_order_relaxed)) \
			call;                                           \
	} while (0)
#else
#define SH_HOOK(call) ((void)0)
#endif /* DAXKV_TEST_HOOKS */

void pm_counters_get(struct pm_counters *c)
{
	*c = pm_tls;
}

void pm_flush(const void *addr, size_t len)
{
	pm_tls.flushes++;
	pmem_flush(addr, len);
	SH_HOOK(sh_mark(addr, len));
}

void pm_fence(void)
{
	pm_tls.fences++;
	pmem_drain();
	SH_HOOK(sh_fence());
}

void pm_persist(const void *addr, size_t len)
{
	pm_flush(addr, len);
	pm_fence();
}

void pm_copy_nodrain(void *dst, const void *src, size_t len)
{
	pm_tls.nt_bytes += len;
	/* NT stores measured faster than store+clwb even for 64-128 B records. */
	pmem_memcpy(dst, src, len, PMEM_F_MEM_NONTEMPORAL | PMEM_F_MEM_NODRAIN);
	SH_HOOK(sh_mark(dst, len));
}

void pm_set_nodrain(void *dst, int c, size_t len)
{
	/* Counted as a flush: it writes lines back without ordering them. */
	pm_tls.flushes++;
	pmem_memset(dst, c, len, PMEM_F_MEM_NODRAIN);
	SH_HOOK(sh_mark(dst, len));
}

#ifdef DAXKV_TEST_HOOKS

static uint32_t sh_rand(void)
{
	uint32_t x = sh.rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	sh.rng = x;
	return x;
}

static void sh_pend(size_t line)
{
	uint64_t bit = (uint64_t)1 << (line % 64);

	if (sh.pend_map[line / 64] & bit)
		return;
	sh.pend_map[line / 64] |= bit;
	if (sh.pend_lost)
		return;
	if (sh.npend == sh.pend_cap) {
		size_t cap = sh.pend_cap * 2;
		size_t *p = realloc(sh.pend, cap * sizeof(*p));

		/* No way to fail a flush: fall back to scanning the bitmap. */
		if (p == NULL) {
			sh.pend_lost = true;
			return;
		}
		sh.pend = p;
		sh.pend_cap = cap;
	}
	sh.pend[sh.npend++] = line;
}

/* Marks the lines of [addr, addr+len) that lie inside the modelled range. */
static void sh_mark(const void *addr, size_t len)
{
	uintptr_t lo = (uintptr_t)addr;
	uintptr_t hi = len > UINTPTR_MAX - lo ? UINTPTR_MAX : lo + len;
	uintptr_t base, end;

	pthread_mutex_lock(&sh_lock);
	if (sh.media == NULL || len == 0)
		goto out;
	base = (uintptr_t)sh.live;
	end = base + sh.len;
	if (lo < base)
		lo = base;
	if (hi > end)
		hi = end;
	if (lo >= hi)
		goto out;
	for (uintptr_t l = lo >> SH_LINE_SHIFT; l <= (hi - 1) >> SH_LINE_SHIFT; l++)
		sh_pend(l - sh.first_line);
out:
	pthread_mutex_unlock(&sh_lock);
}

/* Copies line `line` from the mapping to the media, clipped to the range. */
static void sh_copy_line(size_t line)
{
	uintptr_t base = (uintptr_t)sh.live;
	uintptr_t lo = (sh.first_line + line) << SH_LINE_SHIFT;
	uintptr_t hi = lo + SH_LINE_BYTES;

	if (lo < base)
		lo = base;
	if (hi > base + sh.len)
		hi = base + sh.len;
	memcpy(sh.media + (lo - base), sh.live + (lo - base), hi - lo);
}

/* Each line reaches the media with probability keep_pct %. */
static void sh_settle_line(size_t line, int keep_pct)
{
	if (keep_pct < 100 && (int)(sh_rand() % 100) >= keep_pct)
		return;
	sh_copy_line(line);
}

/* Settles every pending line and empties the pending set. */
static void sh_settle(int keep_pct)
{
	if (sh.pend_lost) {
		size_t nwords = (sh.nlines + 63) / 64;

		for (size_t w = 0; w < nwords; w++)
			for (uint64_t b = sh.pend_map[w]; b != 0; b &= b - 1)
				sh_settle_line(w * 64 + (size_t)__builtin_ctzll(b), keep_pct);
		memset(sh.pend_map, 0, nwords * sizeof(*sh.pend_map));
		sh.pend_lost = false;
	} else {
		for (size_t i = 0; i < sh.npend; i++) {
			size_t line = sh.pend[i];

			sh_settle_line(line, keep_pct);
			sh.pend_map[line / 64] &= ~((uint64_t)1 << (line % 64));
		}
	}
	sh.npend = 0;
}

static int sh_write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	int ret = -1;

	if (fd < 0)
		return -1;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, buf + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	ret = 0;
out:
	if (close(fd) != 0)
		ret = -1;
	return ret;
}

/*
 * The power cut lands inside this fence: its pending lines were flushed but
 * the fence never completed, so each may or may not have reached the media.
 * Holding sh_lock to the end freezes every other thread's view.
 */
__attribute__((noreturn)) static void sh_crash(void)
{
	static const char msg[] = "daxkv: shadow image write failed\n";

	sh_settle(sh.keep_pending_pct);
	if (sh_write_file(sh.image_path, sh.media, sh.len) != 0) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
			/* nothing more to do on the way out */
		}
		_exit(PM_SHADOW_EXIT_IMAGE_FAILED);
	}
	_exit(sh.status_on_crash);
}

static void sh_fence(void)
{
	pthread_mutex_lock(&sh_lock);
	if (sh.media != NULL) {
		sh_fences++;
		if (sh_fences == sh.crash_at_fence)
			sh_crash();
		sh_settle(100);
	}
	pthread_mutex_unlock(&sh_lock);
}

static void sh_free(void)
{
	free(sh.media);
	free(sh.pend_map);
	free(sh.pend);
	free(sh.image_path);
	memset(&sh, 0, sizeof(sh));
}

static int sh_alloc(void *base, size_t len, const struct pm_shadow_opts *o)
{
	uintptr_t b = (uintptr_t)base;

	sh.live = base;
	sh.len = len;
	sh.first_line = b >> SH_LINE_SHIFT;
	sh.nlines = ((b + len - 1) >> SH_LINE_SHIFT) - sh.first_line + 1;
	sh.media = malloc(len);
	sh.pend_map = calloc((sh.nlines + 63) / 64, sizeof(*sh.pend_map));
	sh.pend_cap = SH_PENDING_CAP0;
	sh.pend = malloc(sh.pend_cap * sizeof(*sh.pend));
	sh.image_path = o->image_path ? strdup(o->image_path) : NULL;
	if (sh.media == NULL || sh.pend_map == NULL || sh.pend == NULL ||
	    (o->image_path != NULL && sh.image_path == NULL)) {
		sh_free();
		return -1;
	}
	memcpy(sh.media, base, len);
	sh.crash_at_fence = o->crash_at_fence;
	sh.keep_pending_pct = o->keep_pending_pct;
	sh.status_on_crash = o->status_on_crash;
	/* xorshift has a fixed point at 0. */
	sh.rng = o->seed != 0 ? o->seed : 0x9e3779b9u;
	return 0;
}

int pm_shadow_start(void *base, size_t len, const struct pm_shadow_opts *o)
{
	static const struct pm_shadow_opts none;
	int ret = -1;

	if (o == NULL)
		o = &none;
	if (base == NULL || len == 0 || len > UINTPTR_MAX - (uintptr_t)base ||
	    o->keep_pending_pct < 0 || o->keep_pending_pct > 100 ||
	    (o->crash_at_fence != 0 && o->image_path == NULL))
		return -1;
	pthread_mutex_lock(&sh_lock);
	if (sh.media != NULL)
		goto out;
	ret = sh_alloc(base, len, o);
	if (ret == 0) {
		sh_fences = 0;
		atomic_store_explicit(&sh_active, true, memory_order_release);
	}
out:
	pthread_mutex_unlock(&sh_lock);
	return ret;
}

int pm_shadow_dump(const char *path)
{
	int ret = -1;

	if (path == NULL)
		return -1;
	pthread_mutex_lock(&sh_lock);
	if (sh.media != NULL)
		ret = sh_write_file(path, sh.media, sh.len);
	pthread_mutex_unlock(&sh_lock);
	return ret;
}

void pm_shadow_stop(void)
{
	atomic_store_explicit(&sh_active, false, memory_order_relaxed);
	pthread_mutex_lock(&sh_lock);
	sh_free();
	pthread_mutex_unlock(&sh_lock);
}

uint64_t pm_shadow_fences(void)
{
	uint64_t n;

	pthread_mutex_lock(&sh_lock);
	n = sh_fences;
	pthread_mutex_unlock(&sh_lock);
	return n;
}

#endif /* DAXKV_TEST_HOOKS */
