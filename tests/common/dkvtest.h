/*
 * dkvtest.h -- helpers shared by the daxkv test suites (header only, all
 * static inline so each test executable takes what it uses).
 *
 *  - deterministic RNG and hashing (splitmix64), independent of the engine;
 *  - self-checking values: a header (magic, key id, writer, length, version,
 *    checksum) followed by a pattern derived from it, so a torn or stale
 *    value is recognised from its bytes alone;
 *  - the key order of the API (memcmp, shorter prefix first);
 *  - scratch paths /dev/shm/daxkv-test-<pid>-<tag> and their cleanup;
 *  - the prelude every test main() runs: PMEM_IS_PMEM_FORCE=1 (libpmem reads
 *    it when it is loaded, so a run without it re-executes itself with it)
 *    and a writable /dev/shm (else exit 77: skipped).
 */
#ifndef DKVTEST_H
#define DKVTEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <signal.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "daxkv.h"

#define DKVT_SKIP 77
#define DKVT_SHM_DIR "/dev/shm"

/* ---- RNG and hashing ---------------------------------------------------- */

static inline uint64_t dkvt_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct dkvt_rng {
	uint64_t s;
};

static inline void dkvt_rng_seed(struct dkvt_rng *r, uint64_t seed)
{
	r->s = dkvt_mix64(seed ^ 0x5eed5eed5eed5eedull);
}

static inline uint64_t dkvt_next(struct dkvt_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	uint64_t z = r->s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static inline uint64_t dkvt_below(struct dkvt_rng *r, uint64_t n)
{
	return dkvt_next(r) % n;
}

/* Deterministic bytes from seed. */
static inline void dkvt_fill(void *buf, size_t len, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t x = seed;
	size_t i = 0;
	while (i < len) {
		uint64_t w = dkvt_mix64(x++);
		for (int b = 0; b < 8 && i < len; b++, i++)
			p[i] = (uint8_t)(w >> (8 * b));
	}
}

static inline uint64_t dkvt_hash(const void *buf, size_t len, uint64_t seed)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return dkvt_mix64(h);
}

/* ---- Self-checking values ----------------------------------------------- */

#define DKVT_VMAGIC 0x44564b54u /* "TKVD" */
#define DKVT_VHDR 32u           /* smallest value dkvt_vmake writes */

struct dkvt_vhdr {
	uint32_t magic;
	uint32_t key;
	uint32_t writer;
	uint32_t len;
	uint64_t ver;
	uint64_t check; /* hash of the fields above */
};
_Static_assert(sizeof(struct dkvt_vhdr) == DKVT_VHDR, "value header size");

static inline uint64_t dkvt_vseed(uint32_t key, uint32_t writer, uint64_t ver, uint32_t len)
{
	return dkvt_mix64(((uint64_t)key << 32 | writer) ^ dkvt_mix64(ver) ^ ((uint64_t)len << 17));
}

/* Writes a value of len >= DKVT_VHDR bytes for (key, writer, ver). */
static inline void dkvt_vmake(void *buf, size_t len, uint32_t key, uint32_t writer, uint64_t ver)
{
	struct dkvt_vhdr h;
	h.magic = DKVT_VMAGIC;
	h.key = key;
	h.writer = writer;
	h.len = (uint32_t)len;
	h.ver = ver;
	h.check = dkvt_hash(&h, offsetof(struct dkvt_vhdr, check), 0);
	memcpy(buf, &h, sizeof(h));
	dkvt_fill((uint8_t *)buf + DKVT_VHDR, len - DKVT_VHDR, dkvt_vseed(key, writer, ver, h.len));
}

/* Checks a value read back: whole and self-consistent.  0 and the decoded
 * fields, or -1 (torn, foreign or corrupted bytes). */
static inline int dkvt_vcheck(const void *buf, size_t len, uint32_t *key, uint32_t *writer,
			      uint64_t *ver)
{
	struct dkvt_vhdr h;
	if (buf == NULL || len < DKVT_VHDR)
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != DKVT_VMAGIC || h.len != len ||
	    h.check != dkvt_hash(&h, offsetof(struct dkvt_vhdr, check), 0))
		return -1;
	uint64_t x = dkvt_vseed(h.key, h.writer, h.ver, h.len);
	const uint8_t *p = (const uint8_t *)buf + DKVT_VHDR;
	size_t n = len - DKVT_VHDR;
	size_t i = 0;
	while (i < n) {
		uint64_t w = dkvt_mix64(x++);
		for (int b = 0; b < 8 && i < n; b++, i++)
			if (p[i] != (uint8_t)(w >> (8 * b)))
				return -1;
	}
	if (key)
		*key = h.key;
	if (writer)
		*writer = h.writer;
	if (ver)
		*ver = h.ver;
	return 0;
}

/* ---- Keys --------------------------------------------------------------- */

#define DKVT_KEYBUF 48

/* A key for id: "k" + 5 digits + a deterministic tail of 0..20 bytes, so keys
 * differ in length and share prefixes.  Returns its length. */
static inline size_t dkvt_key(uint32_t id, char *buf)
{
	int n = snprintf(buf, DKVT_KEYBUF, "k%05u", id);
	size_t tail = dkvt_mix64(id * 7919ull) % 21;
	for (size_t i = 0; i < tail; i++)
		buf[n + i] = (char)('a' + (dkvt_mix64(id + i * 131) % 26));
	return (size_t)n + tail;
}

/* The id of a key made by dkvt_key, or -1. */
static inline long dkvt_key_id(const void *key, size_t klen)
{
	char tmp[DKVT_KEYBUF];
	const char *k = key;
	if (klen < 6 || klen >= DKVT_KEYBUF || k[0] != 'k')
		return -1;
	long id = 0;
	for (int i = 1; i < 6; i++) {
		if (k[i] < '0' || k[i] > '9')
			return -1;
		id = id * 10 + (k[i] - '0');
	}
	if (dkvt_key((uint32_t)id, tmp) != klen || memcmp(tmp, key, klen) != 0)
		return -1;
	return id;
}

/* The API's key order: memcmp, a shorter prefix first. */
static inline int dkvt_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return (alen > blen) - (alen < blen);
}

/* ---- Time ---------------------------------------------------------------- */

static inline double dkvt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline long dkvt_env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	if (v == NULL || *v == '\0')
		return dflt;
	char *end;
	long x = strtol(v, &end, 0);
	return *end == '\0' ? x : dflt;
}

/* ---- Paths --------------------------------------------------------------- */

/* "/dev/shm/daxkv-test-<pid>-<tag>" (the pid of the test's main process,
 * fixed at the first call so forked children name the same files). */
static inline pid_t dkvt_owner_pid(void)
{
	static pid_t owner;
	if (owner == 0)
		owner = getpid();
	return owner;
}

static inline void dkvt_path_in(char *buf, size_t cap, const char *dir, const char *tag)
{
	snprintf(buf, cap, "%s/daxkv-test-%d-%s", dir, (int)dkvt_owner_pid(), tag);
}

static inline void dkvt_path(char *buf, size_t cap, const char *tag)
{
	dkvt_path_in(buf, cap, DKVT_SHM_DIR, tag);
}

static inline int dkvt_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p); /* best effort: a vanished file is fine */
	return 0;
}

/* Whether path names a scratch file of the tests: under a scratch directory,
 * with a file name of its own.  An empty path would glob ".*" -- "." and ".."
 * -- and remove the directory above the working one: refused. */
static inline bool dkvt_removable(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	base = base ? base + 1 : path;
	return base && *base && strcmp(base, ".") != 0 && strcmp(base, "..") != 0 &&
	       (strncmp(path, DKVT_SHM_DIR "/", strlen(DKVT_SHM_DIR) + 1) == 0 ||
		strncmp(path, "/tmp/", 5) == 0);
}

/* Removes path: a file, or a directory tree (a future block-backend store),
 * and what the engine may keep beside it (path.*).  Only scratch paths
 * (dkvt_removable); anything else aborts the test program. */
static inline void dkvt_remove(const char *path)
{
	char pat[4200];
	glob_t g;
	if (!dkvt_removable(path)) {
		fprintf(stderr, "dkvt_remove: refusing to remove '%s'\n", path ? path : "(null)");
		abort();
	}
	nftw(path, dkvt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(pat, sizeof(pat), "%s.*", path);
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			nftw(g.gl_pathv[i], dkvt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		globfree(&g);
	}
}

/* Removes every scratch file of this test process in dir. */
static inline void dkvt_cleanup_dir(const char *dir)
{
	char pat[4200];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s/daxkv-test-%d-*", dir, (int)dkvt_owner_pid());
	if (glob(pat, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			nftw(g.gl_pathv[i], dkvt_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		globfree(&g);
	}
}

static inline void dkvt_cleanup_all(void)
{
	dkvt_cleanup_dir(DKVT_SHM_DIR);
	dkvt_cleanup_dir("/tmp"); /* the non-DAX cases */
}

static inline int dkvt_copy_file(const char *from, const char *to)
{
	char buf[1 << 16];
	int in = open(from, O_RDONLY);
	if (in < 0)
		return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (out < 0) {
		close(in);
		return -1;
	}
	int rc = 0;
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0 || write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	}
	close(in);
	if (close(out) != 0)
		rc = -1;
	return rc;
}

/* Copies a store: a pool file, or a block store's directory (its files). */
static inline int dkvt_copy_store(const char *from, const char *to)
{
	struct stat st;
	if (stat(from, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return dkvt_copy_file(from, to);
	if (mkdir(to, 0755) != 0 && errno != EEXIST)
		return -1;
	DIR *d = opendir(from);
	if (!d)
		return -1;
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d)) != NULL) {
		char a[4200], b[4200];
		if (e->d_name[0] == '.')
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
		rc = dkvt_copy_file(a, b);
	}
	closedir(d);
	return rc;
}

/* ---- Prelude ------------------------------------------------------------- */

/* A crash of the test's main process (abort, a failed engine assertion, a
 * fault) still removes its scratch files, then dies of the same signal.
 * Forked children leave them to the main process. */
static inline void dkvt_on_fatal(int sig)
{
	if (getpid() == dkvt_owner_pid())
		dkvt_cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Every test main() calls this first.  Re-executes the binary with
 * PMEM_IS_PMEM_FORCE=1 when it is missing (libpmem reads it at load time),
 * exits 77 when /dev/shm is not writable. */
static inline void dkvt_prelude(int argc, char **argv)
{
	(void)argc;
	const char *f = getenv("PMEM_IS_PMEM_FORCE");
	if (f == NULL || strcmp(f, "1") != 0) {
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "re-exec with PMEM_IS_PMEM_FORCE=1 failed: %s\n", strerror(errno));
		exit(1);
	}
	if (access(DKVT_SHM_DIR, W_OK) != 0) {
		fprintf(stderr, "SKIP: %s is not writable\n", DKVT_SHM_DIR);
		exit(DKVT_SKIP);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	(void)dkvt_owner_pid();
	const int fatal[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction cur;
		/* a sanitizer's own handler (ASan's SEGV report) stays in charge */
		if (sigaction(fatal[i], NULL, &cur) == 0 && cur.sa_handler == SIG_DFL &&
		    !(cur.sa_flags & SA_SIGINFO))
			signal(fatal[i], dkvt_on_fatal);
	}
}

/* The backend the suites run against: DAXKV_TEST_BACKEND=block makes every
 * store a block-backend one (ctest runs the API-level suites both ways). */
static inline int dkvt_backend(void)
{
	const char *b = getenv("DAXKV_TEST_BACKEND");
	return b && strcmp(b, "block") == 0 ? DAXKV_BACKEND_BLOCK : DAXKV_BACKEND_AUTO;
}

/* In a DAX-only test: exits the test (a pass, with a note) on the block
 * backend, where what it checks does not exist (a pool file, fences). */
#define DKVT_DAX_ONLY()                                                                    \
	do {                                                                               \
		if (dkvt_backend() == DAXKV_BACKEND_BLOCK) {                              \
			printf("(DAX only) ");                                             \
			return;                                                            \
		}                                                                          \
	} while (0)

/* Options for a small test store: pool_bytes, segment_bytes, create, no
 * background GC unless asked. */
static inline daxkv_options dkvt_opts(uint64_t pool_bytes, uint64_t seg_bytes, int create,
				      int gc_background)
{
	daxkv_options o;
	daxkv_options_init(&o);
	o.pool_size = pool_bytes;
	o.segment_size = seg_bytes;
	o.create = create;
	o.gc_background = gc_background;
	o.backend = dkvt_backend();
	return o;
}

#define DKVT_MIB (1024ull * 1024)

/* Opens the store at path (pool/seg bytes, no background GC); NULL (the
 * reason on stderr) on failure. */
static inline daxkv *dkvt_open_store(const char *path, uint64_t pool, uint64_t seg, int create,
				     int read_only)
{
	daxkv_options o = dkvt_opts(pool, seg, create, 0);
	o.read_only = read_only;
	daxkv *db = NULL;
	int rc = daxkv_open(path, &o, &db);
	if (rc != DAXKV_OK) {
		fprintf(stderr, "daxkv_open(%s): %s (%s)\n", path, daxkv_strerror(rc),
			daxkv_errmsg());
		return NULL;
	}
	return db;
}

/* Creates a store at a fresh /dev/shm/daxkv-test-<pid>-<tag>, written to path. */
static inline daxkv *dkvt_fresh_store(char *path, size_t cap, const char *tag, uint64_t pool,
				      uint64_t seg)
{
	dkvt_path(path, cap, tag);
	dkvt_remove(path);
	return dkvt_open_store(path, pool, seg, 1, 0);
}

/* Closes db (asserting OK) and removes its pool file. */
static inline void dkvt_close_remove(daxkv *db, const char *path)
{
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(path);
}

/* Waits for child pid: its wait status, or -1 (fork or wait failed). */
static inline int dkvt_wait(pid_t pid)
{
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* ---- CUnit runner -------------------------------------------------------- */

struct dkvt_test {
	const char *name;
	CU_TestFunc fn;
};

struct dkvt_suite {
	const char *name;
	const struct dkvt_test *tests; /* ends with {NULL, NULL} */
};

/* Runs the suites (only tests whose "suite/test" name contains $DKVT_ONLY,
 * when set); returns the exit status for main(): 0, or 1 when any assertion
 * failed or the registry failed. */
static inline int dkvt_run(const struct dkvt_suite *suites)
{
	const char *only = getenv("DKVT_ONLY");
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (const struct dkvt_suite *s = suites; s->name; s++) {
		CU_pSuite cs = CU_add_suite(s->name, NULL, NULL);
		if (cs == NULL)
			goto fail;
		for (const struct dkvt_test *t = s->tests; t->name; t++) {
			char full[256];
			snprintf(full, sizeof(full), "%s/%s", s->name, t->name);
			if (only && *only && strstr(full, only) == NULL)
				continue;
			if (CU_add_test(cs, t->name, t->fn) == NULL)
				goto fail;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failures = CU_get_number_of_failures();
	CU_cleanup_registry();
	dkvt_cleanup_all();
	return failures != 0;
fail:
	fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
	CU_cleanup_registry();
	return 1;
}

#endif
