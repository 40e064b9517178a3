/*
 * test_damage.c -- damaged media: every call returns (a hang is a failure),
 * damage in the index a writer walks answers ECORRUPT and turns the handle
 * read-only (EREADONLY, saying why), a damaged value answers ECORRUPT for its
 * key only, the next read-write open rebuilds what it can or refuses with a
 * pointer to `daxkv check --repair` (read-only opens work), and the repair
 * (insp_repair, what `daxkv check --repair` calls) makes the store writable.
 *
 * Each case runs in a forked child under alarm(10): SIGALRM = a hang.
 * Images: 200 keys, damage around key 100 ("key" ids in dkvt_key order),
 * keys 0..49 sort before it and must stay readable.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "common/dkvtest.h"
#include "tools/lib/inspect.h"
#include "engine/internal.h"
#include "tests/hooks/testhooks.h"

#define NKEYS 200u
#define POOLB (16 * DKVT_MIB)
#define SEGB (256 * 1024ull)

static char g_path[256];

/* Child's checks: a failed one exits 1 naming the line. */
#define REQ(c)                                                                             \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: %s (errmsg: %s)\n", __FILE__, __LINE__, #c, \
				daxkv_errmsg());                                           \
			_exit(1);                                                  \
		}                                                                          \
	} while (0)

static size_t val_of(uint32_t i, uint32_t ver, char *buf)
{
	return (size_t)snprintf(buf, 64, "value-%u-%u", i, ver);
}

/* Whether a session waits for the DRAM index's build after its open: the
 * damaged pool is met both by the skiplist alone (the first moments after an
 * open) and through the index (run_case runs each case both ways). */
static bool g_wait_index;

static daxkv *open_rw(void)
{
	daxkv *db = dkvt_open_store(g_path, POOLB, SEGB, 0, 0);
	if (db && g_wait_index)
		(void)dkv_test_dix_wait(db); /* false when the build refused the pool */
	return db;
}

/* Copies the pool file from to to (the damaged pool, for the second run). */
static int copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	char buf[1 << 16];
	size_t n;
	int rc = a && b ? 0 : -1;
	while (!rc && (n = fread(buf, 1, sizeof(buf), a)) > 0)
		rc = fwrite(buf, 1, n, b) == n ? 0 : -1;
	if (a)
		fclose(a);
	if (b && fclose(b))
		rc = -1;
	return rc;
}

/* A store of NKEYS keys (even ids only: odd ones are free to insert). */
static void build(const char *tag)
{
	dkvt_path(g_path, sizeof(g_path), tag);
	dkvt_remove(g_path);
	daxkv *db = dkvt_open_store(g_path, POOLB, SEGB, 1, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	char k[32], v[64];
	for (uint32_t i = 0; i < NKEYS; i += 2) {
		size_t kl = dkvt_key(i, k), vl = val_of(i, 0, v);
		CU_ASSERT_EQUAL(daxkv_put(db, k, kl, v, vl), DAXKV_OK);
	}
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
}

/* Offset of key i's node (and record) in the pool. */
static uint64_t node_off(uint32_t i, uint64_t *rec)
{
	daxkv *db = dkvt_open_store(g_path, 0, 0, 0, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	char k[32];
	size_t kl = dkvt_key(i, k);
	epoch_pin();
	struct sl_node *n = sl_find(db, (struct sl_key){ (const uint8_t *)k, (uint32_t)kl });
	uint64_t off = n ? dkv_off(db, n) : 0;
	if (rec)
		*rec = n ? sl_loc(n) & ~LOC_TOMB : 0;
	epoch_unpin();
	daxkv_close(db);
	CU_ASSERT_FATAL(off != 0);
	return off;
}

static void file_io(void *buf, size_t len, uint64_t off, int wr)
{
	int fd = open(g_path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	ssize_t n = wr ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);
	CU_ASSERT_EQUAL(n, (ssize_t)len);
	close(fd);
}

static void poke64(uint64_t off, uint64_t v)
{
	file_io(&v, 8, off, 1);
}

/* get of key i: the code, and the value checked when OK. */
static int get_key(daxkv *db, uint32_t i)
{
	char k[32], v[64], want[64];
	size_t kl = dkvt_key(i, k), vl = 0;
	int rc = daxkv_get(db, k, kl, v, sizeof(v), &vl);
	if (rc == DAXKV_OK) {
		size_t wl = val_of(i, 0, want), wl1 = val_of(i, 1, want + 32);
		REQ((vl == wl && !memcmp(v, want, wl)) || (vl == wl1 && !memcmp(v, want + 32, wl1)));
	}
	return rc;
}

/* One damaged session: reads of the far keys, then writes over the whole
 * key range.  Returns through the exit code: 0, plus 10 when the handle broke. */
static int session(bool want_broken)
{
	daxkv *db = open_rw();
	REQ(db);
	for (uint32_t i = 0; i < 50; i += 2)
		REQ(get_key(db, i) == DAXKV_OK);
	for (uint32_t i = 0; i < NKEYS; i++) {
		int rc = get_key(db, i);
		REQ(rc == DAXKV_OK || rc == DAXKV_ENOTFOUND || rc == DAXKV_ECORRUPT);
	}
	bool broken = false;
	char k[32], v[64];
	for (uint32_t i = 0; i < NKEYS + 20; i++) {
		uint32_t id = (i * 7) % (NKEYS + 20);
		size_t kl = dkvt_key(id, k), vl = val_of(id, 1, v);
		int rc = (i % 5 == 4) ? daxkv_delete(db, k, kl) : daxkv_put(db, k, kl, v, vl);
		if (broken) {
			REQ(rc == DAXKV_EREADONLY);
			REQ(strstr(daxkv_errmsg(), "damage") != NULL);
			continue;
		}
		REQ(rc == DAXKV_OK || rc == DAXKV_ENOTFOUND || rc == DAXKV_ECORRUPT);
		broken = rc == DAXKV_ECORRUPT;
	}
	if (want_broken)
		REQ(broken);
	for (uint32_t i = 0; i < 50; i++) { /* reads still work on a broken handle */
		int rc = get_key(db, i);
		REQ(rc == DAXKV_OK || rc == DAXKV_ENOTFOUND);
	}
	REQ(daxkv_close(db) == DAXKV_OK);
	return broken ? 10 : 0;
}

/* Every key written again (version 1) and read back: the store is writable
 * and whole (REQ exits the child otherwise). */
static void rewrite_all(daxkv *db)
{
	char k[32], v[64];
	for (uint32_t i = 0; i < NKEYS; i++) {
		size_t kl = dkvt_key(i, k), vl = val_of(i, 1, v);
		REQ(daxkv_put(db, k, kl, v, vl) == DAXKV_OK);
	}
	for (uint32_t i = 0; i < NKEYS; i++)
		REQ(get_key(db, i) == DAXKV_OK);
}

/* After the damaged session: read-write open rebuilds, or refuses naming the
 * repair while a read-only open works; after the repair the store is
 * writable and the far keys read. */
static int reopen_and_repair(void)
{
	daxkv *db = NULL;
	daxkv_options o = dkvt_opts(0, 0, 0, 0);
	int rc = daxkv_open(g_path, &o, &db);
	REQ(rc == DAXKV_OK || rc == DAXKV_ECORRUPT);
	char msg[256];
	if (rc == DAXKV_OK && dkv_test_check(db, msg, sizeof(msg)) != 0) {
		/* damage no call met (a forward pointer skips nodes silently): the
		 * store opened as it is; the repair finds it */
		REQ(daxkv_close(db) == DAXKV_OK);
		struct insp *in = NULL;
		REQ(insp_open(g_path, 1, &in) == 0);
		struct insp_summary sum;
		REQ(insp_repair(in, g_path, 0, NULL, NULL, &sum) == 0);
		REQ(daxkv_open(g_path, &o, &db) == DAXKV_OK);
	}
	if (rc == DAXKV_ECORRUPT) {
		REQ(strstr(daxkv_errmsg(), "check --repair") != NULL);
		o.read_only = 1;
		REQ(daxkv_open(g_path, &o, &db) == DAXKV_OK);
		for (uint32_t i = 0; i < 50; i += 2)
			REQ(get_key(db, i) == DAXKV_OK || get_key(db, i) == DAXKV_ENOTFOUND);
		REQ(daxkv_close(db) == DAXKV_OK);
		o.read_only = 0;
		rc = daxkv_open(g_path, &o, &db); /* still refused: nothing repaired it */
		REQ(rc == DAXKV_ECORRUPT);
		struct insp *in = NULL;
		REQ(insp_open(g_path, 1, &in) == 0);
		struct insp_summary sum;
		REQ(insp_repair(in, g_path, 0, NULL, NULL, &sum) == 0);
		REQ(daxkv_open(g_path, &o, &db) == DAXKV_OK);
	}
	REQ(dkv_test_check(db, msg, sizeof(msg)) == 0);
	for (uint32_t i = 0; i < 50; i += 2)
		REQ(get_key(db, i) == DAXKV_OK || get_key(db, i) == DAXKV_ENOTFOUND);
	rewrite_all(db);
	REQ(daxkv_close(db) == DAXKV_OK);
	return 0;
}

/* Runs fn in a child under alarm(10); the exit code, or fails on a signal. */
static int in_child(int (*fn)(bool), bool arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(10);
		_exit(fn(arg));
	}
	int st = dkvt_wait(pid);
	if (WIFSIGNALED(st))
		fprintf(stderr, "child died of signal %d%s\n", WTERMSIG(st),
			WTERMSIG(st) == SIGALRM ? " (a hang)" : "");
	CU_ASSERT_FATAL(WIFEXITED(st));
	return WEXITSTATUS(st);
}
static int repair_fn(bool unused)
{
	(void)unused;
	return reopen_and_repair();
}

static void run_case(bool want_broken)
{
	char copy[300];
	snprintf(copy, sizeof(copy), "%s.damaged", g_path);
	CU_ASSERT_EQUAL_FATAL(copy_file(g_path, copy), 0);
	for (int wait = 0; wait < 2; wait++) {
		if (wait)
			CU_ASSERT_EQUAL_FATAL(copy_file(copy, g_path), 0);
		g_wait_index = wait;
		int rc = in_child(session, want_broken);
		CU_ASSERT(rc == 0 || rc == 10);
		if (want_broken)
			CU_ASSERT_EQUAL(rc, 10);
		CU_ASSERT_EQUAL(in_child(repair_fn, false), 0);
	}
	g_wait_index = false;
	dkvt_remove(copy);
	dkvt_remove(g_path);
}

/* (a) a node lost its last flush: its line goes back to what it held before
 * the insert that changed its next pointer. */
static void test_lost_flush(void)
{
	build("dmg-lost");
	uint64_t x = node_off(100, NULL);
	uint8_t old[64];
	file_io(old, 64, x, 0);
	daxkv *db = open_rw();
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	char k[32];
	size_t kl = dkvt_key(101, k);
	char v[64];
	size_t vl = val_of(101, 0, v);
	CU_ASSERT_EQUAL(daxkv_put(db, k, kl, v, vl), DAXKV_OK);
	CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	file_io(old, 64, x, 1);
	run_case(false);
}

/* (b) one 64-byte line of a node segment overwritten with another's. */
static void test_line_copy(void)
{
	build("dmg-copy");
	uint64_t x = node_off(100, NULL), y = node_off(150, NULL);
	uint8_t line[64];
	file_io(line, 64, y, 0);
	file_io(line, 64, x, 1);
	run_case(false);
}

/* (c) next[0] pointers: cleared, forward, backward, to itself. */
static void next0_case(const char *tag, int kind, bool want_broken)
{
	build(tag);
	uint64_t x = node_off(100, NULL), at = x + offsetof(struct sl_node, next);
	uint64_t v = kind == 0 ? 0 : kind == 1 ? node_off(140, NULL) :
		     kind == 2 ? node_off(60, NULL) : x;
	poke64(at, v);
	run_case(want_broken);
}
static void test_next_cleared(void) { next0_case("dmg-clear", 0, true); }
static void test_next_forward(void) { next0_case("dmg-fwd", 1, false); }
static void test_next_backward(void) { next0_case("dmg-back", 2, true); }
static void test_next_self(void) { next0_case("dmg-self", 3, true); }

/* (d) a damaged value: ECORRUPT for its key only, every key writable. */
static int value_fn(bool unused)
{
	(void)unused;
	daxkv *db = open_rw();
	REQ(db);
	REQ(get_key(db, 100) == DAXKV_ECORRUPT);
	for (uint32_t i = 0; i < NKEYS; i += 2)
		if (i != 100)
			REQ(get_key(db, i) == DAXKV_OK);
	char k[32];
	rewrite_all(db);
	size_t kl = dkvt_key(102, k);
	REQ(daxkv_delete(db, k, kl) == DAXKV_OK);
	REQ(daxkv_close(db) == DAXKV_OK);
	return 0;
}
static void test_value(void)
{
	build("dmg-value");
	uint64_t rec;
	(void)node_off(100, &rec);
	uint8_t b;
	uint64_t at = rec + sizeof(struct rec_hdr) + 6; /* a byte of the value */
	file_io(&b, 1, at, 0);
	b ^= 0x5a;
	file_io(&b, 1, at, 1);
	CU_ASSERT_EQUAL(in_child(value_fn, false), 0);
	dkvt_remove(g_path);
}

/* The repair restores a damaged primary pool header from its copy. */
static void test_repair_header(void)
{
	build("dmg-hdr");
	uint8_t b;
	file_io(&b, 1, 20, 0);
	b ^= 1;
	file_io(&b, 1, 20, 1);
	struct insp *in = NULL;
	CU_ASSERT_EQUAL_FATAL(insp_open(g_path, 1, &in), 0);
	struct insp_summary sum;
	CU_ASSERT_EQUAL(insp_repair(in, g_path, 0, NULL, NULL, &sum), 0);
	struct pool_hdr h;
	file_io(&h, sizeof(h), 0, 0);
	CU_ASSERT_EQUAL(pool_hdr_check(&h, POOLB), 0);
	daxkv *db = open_rw();
	CU_ASSERT_PTR_NOT_NULL(db);
	if (db)
		CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
	dkvt_remove(g_path);
}

static const struct dkvt_test tests[] = {
	{ "lost_flush", test_lost_flush },
	{ "line_copy", test_line_copy },
	{ "next_cleared", test_next_cleared },
	{ "next_forward", test_next_forward },
	{ "next_backward", test_next_backward },
	{ "next_self", test_next_self },
	{ "value", test_value },
	{ "repair_header", test_repair_header },
	{ NULL, NULL },
};
static const struct dkvt_suite suites[] = {
	{ "damage", tests },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	dkv_test_level_seed = 0x5eed1234abcdull; /* the same levels every run */
	return dkvt_run(suites);
}
