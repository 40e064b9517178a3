/*
 * reopen.c -- daxkv-reopen: how long daxkv_open takes after a clean close and
 * after the writer was SIGKILLed, for each key count given.
 *
 *   daxkv-reopen [--dir=/dev/shm/daxkv-reopen] [--value-size=100] [--backend=block] N [N ...]
 *
 * For each N: a child fills N keys (16 B keys) into a fresh pool, then keeps
 * overwriting until the parent SIGKILLs it; the parent times the first open
 * (recovery) and the first get after it, then keeps reading random keys in
 * batches of 2000 for 2 s and reports when the gets reach full speed (the
 * first batch at >= 80% of the rate of the last second: the DRAM index is
 * built in the background after an open), then closes and times clean opens
 * (median of 5).  --backend=block: a block-backend store (a directory; put
 * it on a disk: --dir=/tmp/...), filled by batches of 1000 keys (one durable
 * write each) instead of single puts; its open replays the segment files
 * (--no-hints: their hint files removed first, so that every one is scanned).
 */
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daxkv.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void key_of(char *k, uint64_t i)
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull;
	x ^= x >> 31;
	snprintf(k, 17, "%016llx", (unsigned long long)x);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

#define BATCH 2000
#define WATCH_S 2.0

/* After an open: the time to full speed (us from t_open) of random gets. */
static double time_to_speed(daxkv *db, uint64_t n, double t_open)
{
	static double end[100000];
	size_t nb = 0;
	uint64_t x = 88172645463325252ull;
	char k[17];
	size_t vl;
	double t0 = now_us();
	while (now_us() - t0 < WATCH_S * 1e6 && nb < sizeof(end) / sizeof(end[0])) {
		for (int i = 0; i < BATCH; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			key_of(k, x % n);
			(void)daxkv_get(db, k, 16, NULL, 0, &vl);
		}
		end[nb++] = now_us();
	}
	/* The rate of the last second, then the first batch that ran near it. */
	size_t from = nb;
	while (from > 1 && end[nb - 1] - end[from - 2] < 1e6)
		from--;
	double last = (double)(nb - from) * BATCH / ((end[nb - 1] - end[from - 1]) / 1e6);
	double prev = t0;
	for (size_t i = 0; i < nb; i++) {
		if (BATCH / ((end[i] - prev) / 1e6) >= 0.8 * last)
			return prev - t_open;
		prev = end[i];
	}
	return end[nb - 1] - t_open;
}

static double time_open(const char *path, int *keys_ok, uint64_t n, int reps, double *first_get,
			double *full)
{
	double t[5];
	for (int r = 0; r < reps; r++) {
		daxkv *db = NULL;
		double t0 = now_us();
		int rc = daxkv_open(path, NULL, &db);
		t[r] = now_us() - t0;
		if (rc) {
			fprintf(stderr, "open: %s (%s)\n", daxkv_strerror(rc), daxkv_errmsg());
			exit(1);
		}
		if (r == 0 && first_get) {
			char k[17];
			size_t vl;
			key_of(k, n / 2);
			(void)daxkv_get(db, k, 16, NULL, 0, &vl);
			*first_get = now_us() - t0;
			*full = time_to_speed(db, n, t0);
		}
		if (r == 0) { /* spot-check 1000 keys after the crash */
			char k[17];
			size_t vl;
			for (uint64_t i = 0; i < n; i += n / 1000 + 1) {
				key_of(k, i);
				*keys_ok += daxkv_get(db, k, 16, NULL, 0, &vl) == DAXKV_OK;
			}
		}
		daxkv_close(db);
	}
	qsort(t, (size_t)reps, sizeof(t[0]), cmp_d);
	return t[reps / 2];
}

static int g_backend = DAXKV_BACKEND_AUTO;
static int g_no_hints; /* block: remove the hint files before timing opens */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

/* Block: n keys by batches of 1000 (one durable write each). */
static void fill_batches(daxkv *db, uint64_t n, const char *v, size_t vsize)
{
	daxkv_batch *b = NULL;
	char k[17];
	if (daxkv_batch_new(&b))
		_exit(1);
	for (uint64_t i = 0; i < n; i++) {
		key_of(k, i);
		if (daxkv_batch_put(b, k, 16, v, vsize))
			_exit(1);
		if ((i + 1) % 1000 == 0 || i + 1 == n) {
			if (daxkv_write(db, b)) {
				fprintf(stderr, "write: %s\n", daxkv_errmsg());
				_exit(1);
			}
			daxkv_batch_clear(b);
		}
	}
	daxkv_batch_free(b);
}

static void child_fill(const char *path, uint64_t n, size_t vsize, volatile int *ready)
{
	daxkv_options o;
	daxkv_options_init(&o);
	o.create = 1;
	o.backend = g_backend;
	o.gc_background = 0;
	o.pool_size = (n * (vsize + 16 + 120) * 3 + (256ull << 20)) & ~4095ull;
	daxkv *db = NULL;
	if (daxkv_open(path, &o, &db)) {
		fprintf(stderr, "create: %s\n", daxkv_errmsg());
		_exit(1);
	}
	char *v = malloc(vsize + 1), k[17];
	memset(v, 'v', vsize);
	if (g_backend == DAXKV_BACKEND_BLOCK)
		fill_batches(db, n, v, vsize);
	for (uint64_t i = 0; g_backend != DAXKV_BACKEND_BLOCK && i < n; i++) {
		key_of(k, i);
		if (daxkv_put(db, k, 16, v, vsize)) {
			fprintf(stderr, "put: %s\n", daxkv_errmsg());
			_exit(1);
		}
	}
	*ready = 1;
	for (uint64_t i = 0;; i = (i + 7919) % n) { /* overwrites until killed */
		key_of(k, i);
		daxkv_put(db, k, 16, v, vsize);
	}
}

int main(int argc, char **argv)
{
	const char *dir = "/dev/shm/daxkv-reopen";
	size_t vsize = 100;
	int first = 1;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strncmp(argv[first], "--dir=", 6))
			dir = argv[first] + 6;
		else if (!strncmp(argv[first], "--value-size=", 13))
			vsize = strtoul(argv[first] + 13, NULL, 10);
		else if (!strcmp(argv[first], "--backend=block"))
			g_backend = DAXKV_BACKEND_BLOCK;
		else if (!strcmp(argv[first], "--no-hints"))
			g_no_hints = 1;
		else {
			fprintf(stderr, "usage: daxkv-reopen [--dir=D] [--value-size=B] "
				"[--backend=block [--no-hints]] N...\n");
			return 2;
		}
	}
	if (first == argc) {
		fprintf(stderr, "usage: daxkv-reopen [--dir=D] [--value-size=B] N...\n");
		return 2;
	}
	mkdir(dir, 0755);
	printf("%10s %14s %16s %14s %14s %8s\n", "keys", "open_crash_us", "open+get1_us",
	       "full_speed_us", "open_clean_us", "spot_ok");
	for (int a = first; a < argc; a++) {
		uint64_t n = strtoull(argv[a], NULL, 10);
		char path[512];
		snprintf(path, sizeof(path), "%s/pool-%llu", dir, (unsigned long long)n);
		nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		volatile int *ready = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		pid_t pid = fork();
		if (pid == 0)
			child_fill(path, n, vsize, ready);
		while (!*ready)
			usleep(1000);
		usleep(20000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (g_no_hints) { /* the opens list every segment by a scan */
			char cmd[700];
			snprintf(cmd, sizeof(cmd), "rm -f '%s'/*.hint", path);
			if (system(cmd) != 0)
				fprintf(stderr, "removing hints failed\n");
		}
		int ok = 0;
		double get1 = 0, full = 0;
		double crash = time_open(path, &ok, n, 1, &get1, &full); /* this open recovers */
		int ok2 = 0;
		double clean = time_open(path, &ok2, n, 5, NULL, NULL);
		printf("%10llu %14.1f %16.1f %14.1f %14.1f %8d\n", (unsigned long long)n, crash,
		       get1, full, clean, ok);
		nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	}
	return 0;
}
