/*
 * test_persist.c -- pmem/persist.c: per-thread counters, and the power-loss
 * shadow's rule that only flushed (or NT-written) AND fenced lines survive.
 *
 * Needs DAXKV_TEST_HOOKS.  The pool is a pmem_map_file() on /dev/shm; the
 * tests never depend on is_pmem, since flush and fence are valid on any
 * memory.
 */
#include <CUnit/Basic.h>

#include <fcntl.h>
#include <libpmem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pmem/persist.h"

#ifndef DAXKV_TEST_HOOKS
#error "test_persist.c needs DAXKV_TEST_HOOKS (the power-loss shadow)"
#endif

#define POOL_BYTES ((size_t)1 << 20)
#define SKIP_RC 77
#define CRASH_RC 42

static uint8_t *pool;
static size_t pool_len;
static char pool_path[64];
static char dump_path[64];
static uint8_t *img; /* last image read back by load_image() */

/* ---- helpers ---- */

static int load_image(const char *path)
{
	int fd = open(path, O_RDONLY);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < pool_len) {
		ssize_t n = read(fd, img + off, pool_len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	return off == pool_len ? 0 : -1;
}

static int dump_and_load(void)
{
	if (pm_shadow_dump(dump_path) != 0)
		return -1;
	return load_image(dump_path);
}

static void pool_zero(void)
{
	memset(pool, 0, pool_len);
	pmem_persist(pool, pool_len);
}

static int start_plain(void)
{
	pool_zero();
	return pm_shadow_start(pool, pool_len, NULL);
}

/* ---- suite: counters ---- */

static void test_counters_per_call(void)
{
	static uint8_t buf[4096] __attribute__((aligned(64)));
	uint8_t src[200];
	struct pm_counters a, b;

	memset(src, 0x5a, sizeof(src));
	pm_counters_get(&a);

	pm_flush(buf, 128);
	pm_counters_get(&b);
	CU_ASSERT_EQUAL(b.flushes, a.flushes + 1);
	CU_ASSERT_EQUAL(b.fences, a.fences);

	pm_fence();
	pm_counters_get(&b);
	CU_ASSERT_EQUAL(b.flushes, a.flushes + 1);
	CU_ASSERT_EQUAL(b.fences, a.fences + 1);

	pm_persist(buf, 64);
	pm_counters_get(&b);
	CU_ASSERT_EQUAL(b.flushes, a.flushes + 2);
	CU_ASSERT_EQUAL(b.fences, a.fences + 2);

	pm_copy_nodrain(buf + 64, src, sizeof(src));
	pm_counters_get(&b);
	CU_ASSERT_EQUAL(b.nt_bytes, a.nt_bytes + sizeof(src));
	CU_ASSERT_EQUAL(b.fences, a.fences + 2);
	CU_ASSERT(memcmp(buf + 64, src, sizeof(src)) == 0);

	pm_set_nodrain(buf + 1024, 0x11, 300);
	pm_counters_get(&b);
	CU_ASSERT_EQUAL(b.flushes, a.flushes + 3);
	CU_ASSERT_EQUAL(b.fences, a.fences + 2);
	CU_ASSERT_EQUAL(buf[1024 + 299], 0x11);
}

static void *thread_counts(void *arg)
{
	struct pm_counters *c = arg;

	pm_counters_get(c);
	return NULL;
}

static void test_counters_are_per_thread(void)
{
	struct pm_counters c;
	pthread_t t;

	pm_fence(); /* this thread's count is now > 0 */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, thread_counts, &c), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(c.flushes, 0);
	CU_ASSERT_EQUAL(c.fences, 0);
	CU_ASSERT_EQUAL(c.nt_bytes, 0);
}

/* ---- suite: shadow ---- */

static int shadow_init(void)
{
	int is_pmem;

	snprintf(pool_path, sizeof(pool_path), "/dev/shm/daxkv_tp_%d.pool", (int)getpid());
	snprintf(dump_path, sizeof(dump_path), "/dev/shm/daxkv_tp_%d.img", (int)getpid());
	pool = pmem_map_file(pool_path, POOL_BYTES, PMEM_FILE_CREATE, 0600,
			     &pool_len, &is_pmem);
	img = malloc(POOL_BYTES);
	return pool == NULL || img == NULL || pool_len != POOL_BYTES;
}

static int shadow_cleanup(void)
{
	pm_shadow_stop();
	if (pool != NULL)
		pmem_unmap(pool, pool_len);
	unlink(pool_path);
	unlink(dump_path);
	free(img);
	return 0;
}

static void test_shadow_bad_args(void)
{
	struct pm_shadow_opts o = { .keep_pending_pct = 101 };
	struct pm_shadow_opts no_path = { .crash_at_fence = 1 };

	CU_ASSERT_EQUAL(pm_shadow_dump(dump_path), -1); /* not started */
	CU_ASSERT_EQUAL(pm_shadow_start(pool, pool_len, &o), -1);
	CU_ASSERT_EQUAL(pm_shadow_start(pool, pool_len, &no_path), -1);
	CU_ASSERT_EQUAL(pm_shadow_start(NULL, pool_len, NULL), -1);
	CU_ASSERT_EQUAL(pm_shadow_start(pool, 0, NULL), -1);
	CU_ASSERT_EQUAL_FATAL(start_plain(), 0);
	CU_ASSERT_EQUAL(pm_shadow_start(pool, pool_len, NULL), -1); /* twice */
	pm_shadow_stop();
	CU_ASSERT_EQUAL(pm_shadow_dump(dump_path), -1); /* stopped */
}

static void test_shadow_unflushed_absent(void)
{
	CU_ASSERT_EQUAL_FATAL(start_plain(), 0);
	pool[4096] = 0xaa;
	pm_fence(); /* a fence without a flush saves nothing */
	CU_ASSERT_EQUAL_FATAL(dump_and_load(), 0);
	CU_ASSERT_EQUAL(img[4096], 0);
	CU_ASSERT_EQUAL(pool[4096], 0xaa);
	pm_shadow_stop();
}

static void test_shadow_flushed_unfenced_absent(void)
{
	CU_ASSERT_EQUAL_FATAL(start_plain(), 0);
	pool[8192] = 0xbb;
	pm_flush(pool + 8192, 1);
	CU_ASSERT_EQUAL_FATAL(dump_and_load(), 0);
	CU_ASSERT_EQUAL(img[8192], 0);
	pm_shadow_stop();
}

static void test_shadow_flushed_fenced_present(void)
{
	CU_ASSERT_EQUAL_FATAL(start_plain(), 0);
	pool[8192] = 0xcc;
	pool[8192 + 64] = 0xcd; /* next line, never flushed */
	pm_flush(pool + 8192, 1);
	pm_fence();
	CU_ASSERT_EQUAL_FATAL(dump_and_load(), 0);
	CU_ASSERT_EQUAL(img[8192], 0xcc);
	CU_ASSERT_EQUAL(img[8192 + 64], 0);
	CU_ASSERT_EQUAL(pm_shadow_fences(), 1);
	pm_shadow_stop();
}

static void test_shadow_unaligned_range(void)
{
	size_t off = 3 * 64 - 5, len = 100; /* touches lines 2, 3 and 4 */

	CU_ASSERT_EQUAL_FATAL(start_plain(), 0);
	memset(pool + 2 * 64, 0x77, 3 * 64);
	pm_persist(pool + off, len);
	CU_ASSERT_EQUAL_FATAL(dump_and_load(), 0);
	for (size_t i = 2 * 64; i < 5 * 64; i++)
		CU_ASSERT_EQUAL_FATAL(img[i], 0x77);
	pm_shadow_stop();
}

/* The shadow may start off a line boundary; lines are clipped to the range. */
static void test_shadow_outside_range_ignored(void)
{
	static uint8_t other[256] __attribute__((aligned(64)));
	uint8_t part[64];
	struct stat stt;
	size_t off = 4096 + 5, len = 4096 - 5;
	int fd;

	pool_zero();
	CU_ASSERT_EQUAL_FATAL(pm_shadow_start(pool + off, len, NULL), 0);
	memset(pool, 0x99, 2 * 4096);
	pm_persist(other, sizeof(other));
	pm_persist(pool, pool_len); /* only the modelled bytes count */
	CU_ASSERT_EQUAL_FATAL(pm_shadow_dump(dump_path), 0);
	pm_shadow_stop();
	CU_ASSERT_EQUAL_FATAL(stat(dump_path, &stt), 0);
	CU_ASSERT_EQUAL(stt.st_size, (off_t)len);
	fd = open(dump_path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pread(fd, part, sizeof(part), 0), (ssize_t)sizeof(part));
	close(fd);
	for (size_t i = 0; i < sizeof(part); i++)
		CU_ASSERT_EQUAL_FATAL(part[i], 0x99);
}

static void test_shadow_nt_copy_and_set(void)
{
	uint8_t rec[128];

	memset(rec, 0x3c, sizeof(rec));
	CU_ASSERT_EQUAL_FATAL(start_plain(), 0);
	pm_copy_nodrain(pool + 65536, rec, sizeof(rec));
	pm_set_nodrain(pool + 131072, 0x4d, 64);
	CU_ASSERT_EQUAL_FATAL(dump_and_load(), 0);
	CU_ASSERT_EQUAL(img[65536], 0);
	CU_ASSERT_EQUAL(img[131072], 0);
	pm_fence();
	CU_ASSERT_EQUAL_FATAL(dump_and_load(), 0);
	CU_ASSERT(memcmp(img + 65536, rec, sizeof(rec)) == 0);
	CU_ASSERT_EQUAL(img[131072], 0x4d);
	CU_ASSERT_EQUAL(img[131072 + 63], 0x4d);
	pm_shadow_stop();
}

/*
 * Child: round r writes r into its own line, flushes, fences.  The shadow
 * crashes inside fence crash_at, so the rounds after it never run.
 */
static void crash_child(const struct pm_shadow_opts *o, int rounds)
{
	if (pm_shadow_start(pool, pool_len, o) != 0)
		_exit(1);
	for (int r = 1; r <= rounds; r++) {
		pool[r * 4096] = (uint8_t)r;
		pm_flush(pool + r * 4096, 1);
		pm_fence();
	}
	_exit(2); /* the crash fence returned */
}

/* Runs crash_child in a fork and loads its image; 0 if it crashed as asked. */
static int run_crash(int keep_pct, unsigned seed, int rounds)
{
	struct pm_shadow_opts o = {
		.crash_at_fence = 3, .image_path = dump_path,
		.keep_pending_pct = keep_pct, .seed = seed, .status_on_crash = CRASH_RC,
	};
	int st;
	pid_t pid;

	pool_zero();
	unlink(dump_path);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0)
		crash_child(&o, rounds);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != CRASH_RC)
		return -1;
	return load_image(dump_path);
}

static void test_shadow_crash_drops_pending(void)
{
	CU_ASSERT_EQUAL_FATAL(run_crash(0, 1, 4), 0);
	CU_ASSERT_EQUAL(img[1 * 4096], 1);
	CU_ASSERT_EQUAL(img[2 * 4096], 2);
	CU_ASSERT_EQUAL(img[3 * 4096], 0);
	CU_ASSERT_EQUAL(img[4 * 4096], 0);
	CU_ASSERT_EQUAL(pool[3 * 4096], 3); /* it was written, just not durable */
	CU_ASSERT_EQUAL(pool[4 * 4096], 0); /* round 4 never ran */
}

static void test_shadow_crash_keeps_pending(void)
{
	CU_ASSERT_EQUAL_FATAL(run_crash(100, 1, 4), 0);
	CU_ASSERT_EQUAL(img[1 * 4096], 1);
	CU_ASSERT_EQUAL(img[2 * 4096], 2);
	CU_ASSERT_EQUAL(img[3 * 4096], 3);
	CU_ASSERT_EQUAL(img[4 * 4096], 0);
}

/* A power cut mid-fence keeps some flushed lines, not all or none. */
static void test_shadow_crash_partial(void)
{
	struct pm_shadow_opts o = {
		.crash_at_fence = 1, .image_path = dump_path,
		.keep_pending_pct = 50, .seed = 12345, .status_on_crash = CRASH_RC,
	};
	size_t nlines = 256, kept = 0;
	int st;
	pid_t pid;

	pool_zero();
	unlink(dump_path);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		if (pm_shadow_start(pool, pool_len, &o) != 0)
			_exit(1);
		memset(pool, 0xee, nlines * 64);
		pm_flush(pool, nlines * 64);
		pm_fence();
		_exit(2);
	}
	CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CU_ASSERT_EQUAL_FATAL(WEXITSTATUS(st), CRASH_RC);
	CU_ASSERT_EQUAL_FATAL(load_image(dump_path), 0);
	for (size_t l = 0; l < nlines; l++) {
		uint8_t *p = img + l * 64;

		/* lines are all-or-nothing */
		CU_ASSERT(p[0] == p[63] && (p[0] == 0 || p[0] == 0xee));
		kept += p[0] == 0xee;
	}
	CU_ASSERT(kept > nlines / 4 && kept < nlines * 3 / 4);
}

/* ---- main ---- */

static int add_tests(void)
{
	CU_pSuite s = CU_add_suite("counters", NULL, NULL);

	if (s == NULL ||
	    !CU_add_test(s, "one count per call", test_counters_per_call) ||
	    !CU_add_test(s, "counters are per thread", test_counters_are_per_thread))
		return -1;
	s = CU_add_suite("shadow", shadow_init, shadow_cleanup);
	if (s == NULL ||
	    !CU_add_test(s, "bad arguments", test_shadow_bad_args) ||
	    !CU_add_test(s, "unflushed store absent", test_shadow_unflushed_absent) ||
	    !CU_add_test(s, "flushed, unfenced absent", test_shadow_flushed_unfenced_absent) ||
	    !CU_add_test(s, "flushed and fenced present", test_shadow_flushed_fenced_present) ||
	    !CU_add_test(s, "unaligned range covers its lines",
			 test_shadow_unaligned_range) ||
	    !CU_add_test(s, "flushes outside the range ignored",
			 test_shadow_outside_range_ignored) ||
	    !CU_add_test(s, "NT copy and memset pend until fence", test_shadow_nt_copy_and_set) ||
	    !CU_add_test(s, "crash drops the fence's lines", test_shadow_crash_drops_pending) ||
	    !CU_add_test(s, "crash keeps the fence's lines", test_shadow_crash_keeps_pending) ||
	    !CU_add_test(s, "crash keeps a random part", test_shadow_crash_partial))
		return -1;
	return 0;
}

int main(void)
{
	unsigned fails;

	/* libpmem reads this in its constructor; set it for any re-exec'd child. */
	setenv("PMEM_IS_PMEM_FORCE", "1", 0);
	if (access("/dev/shm", W_OK) != 0) {
		fprintf(stderr, "test_persist: /dev/shm not writable, skipping\n");
		return SKIP_RC;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	if (add_tests() != 0) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	fails = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return fails != 0;
}
