/*
 * apitest.h -- helpers shared by the public-API suites (test_api.c,
 * test_store.c): stores, value checks, stats, and re-executing the test
 * binary as a second process.
 */
#ifndef DAXKV_APITEST_H
#define DAXKV_APITEST_H

#include <sys/mman.h>

#include "common/dkvtest.h"
#include "tests/hooks/testhooks.h"

#define SENTINEL ((daxkv *)(uintptr_t)0x5e5e5e5e)
#define POOL16 (16 * DKVT_MIB)

extern char **environ;

/* ---- helpers ------------------------------------------------------------- */

static inline daxkv *open_path(const char *path, uint64_t pool, uint64_t seg, int create, int ro)
{
	return dkvt_open_store(path, pool, seg, create, ro);
}

/* A fresh store at /dev/shm/daxkv-test-<pid>-<tag>. */
static inline daxkv *fresh(const char *tag, char *path, size_t cap, uint64_t pool, uint64_t seg)
{
	return dkvt_fresh_store(path, cap, tag, pool, seg);
}

static inline int put_s(daxkv *db, const char *k, const char *v)
{
	return daxkv_put(db, k, strlen(k), v, strlen(v));
}

/* 1 when key holds exactly (v, vlen); prints why not. */
static inline int has_value(daxkv *db, const void *k, size_t klen, const void *v, size_t vlen)
{
	static uint8_t buf[1 << 17];
	size_t got = (size_t)-1;
	int rc = daxkv_get(db, k, klen, buf, sizeof(buf), &got);
	if (rc != DAXKV_OK) {
		fprintf(stderr, "get(%.*s): %s\n", (int)klen, (const char *)k, daxkv_strerror(rc));
		return 0;
	}
	if (got != vlen || (vlen && memcmp(buf, v, vlen) != 0)) {
		fprintf(stderr, "get(%.*s): wrong value (len %zu, want %zu)\n", (int)klen,
			(const char *)k, got, vlen);
		return 0;
	}
	return 1;
}

static inline int has_str(daxkv *db, const char *k, const char *v)
{
	return has_value(db, k, strlen(k), v, strlen(v));
}

static inline int absent(daxkv *db, const void *k, size_t klen)
{
	uint8_t buf[16];
	size_t got;
	return daxkv_get(db, k, klen, buf, sizeof(buf), &got) == DAXKV_ENOTFOUND;
}

static inline uint64_t stat_keys(daxkv *db)
{
	daxkv_stats st;
	memset(&st, 0, sizeof(st));
	if (daxkv_stats_get(db, &st) != DAXKV_OK)
		return UINT64_MAX;
	return st.keys;
}

static inline int check_ok(daxkv *db)
{
	char msg[512] = "";
	int rc = dkv_test_check(db, msg, sizeof(msg));
	if (rc != 0)
		fprintf(stderr, "dkv_test_check: %s\n", msg);
	return rc == 0;
}

static inline int errmsg_set(void)
{
	const char *m = daxkv_errmsg();
	return m != NULL && m[0] != '\0';
}

/* Runs this binary again with args (argv[0] included) and, with strip_force,
 * without PMEM_IS_PMEM_FORCE in its environment.  Returns the wait status. */
static inline int spawn_self(char *const args[], int strip_force)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = calloc(n + 1, sizeof(char *));
	if (envp == NULL)
		return -1;
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (!strip_force || strncmp(environ[i], "PMEM_IS_PMEM_FORCE=", 19) != 0)
			envp[j++] = environ[i];
	envp[j] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execve("/proc/self/exe", args, envp);
		_exit(127);
	}
	free(envp);
	return dkvt_wait(pid);
}

static inline int exited_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static inline void *big_buffer(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}


#endif
