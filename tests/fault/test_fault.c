/*
 * test_fault.c -- fail the nth allocation / pool file call / io_uring call or
 * completion of a workload, for every n the workload has (fault.h).
 *
 * The workload: create a store, puts, overwrites, deletes, an atomic batch,
 * an iterator walk, a backup (io_uring), sealed segments and a GC pass, stats,
 * close, reopen, gets and a put, close.  A first run counts the calls of each
 * kind (N); then for each kind and n = 1..N: a fresh store, the nth call
 * fails, and
 *  - every API call answers OK or a clean code (ENOMEM, EIO, ENOSPC; after the
 *    fault, EREADONLY); nothing crashes;
 *  - no allocation made while armed is left behind after close (the wrappers'
 *    count; under ASan also a LeakSanitizer check per n);
 *  - disarmed, the store reopens and the structural check passes; every
 *    acknowledged write is there; a failed put/delete left the old or the new
 *    value, whole; a failed batch is all there or not at all;
 *  - a backup that answered OK reads back as the model at that point; one that
 *    failed left no .tmp, and no file or a complete one (failed after rename).
 * DAXKV_FAULT_KINDS=alloc,pool,... limits the kinds; DAXKV_FAULT_MAX caps n.
 */
#define _GNU_SOURCE
#include <stdbool.h>

#include "common/dkvtest.h"
#include "tools/lib/dump_read.h"
#include "tests/hooks/testhooks.h"
#include "fault.h"

#define NK 240u        /* key ids 0..NK-1 */
#define NBATCH 12u     /* batch: new keys 200..211 */
#define POOL (16384u + 8u * (64u << 10))
#define SEG (64u << 10)
#define VNONE (-1)

int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

struct model {
	int ver[NK];   /* acknowledged version, 0 = absent */
	unsigned alt[NK]; /* versions failed operations since the last acknowledged one may
	                     have left (bit v: version v, bit 0: absent): on the block
	                     backend a write that failed to report can still be durable */
	int batch_new; /* the failed batch's version, 0 none */
	int bk_ok;     /* the backup answered OK */
	int bk_ver[NK];
	unsigned bk_alt[NK];
};

static char g_path[256], g_bk[300];
static unsigned long g_n;           /* the n under test (0: counting run) */
static enum fault_kind g_kind;
static unsigned long g_violations;  /* failed checks, summarised per kind */

static size_t vlen_of(unsigned id)
{
	return DKVT_VHDR + (id * 13u) % 300u;
}

static size_t key_of(unsigned id, char *buf)
{
	return dkvt_key(id, buf);
}

/* A call's answer: OK, or a clean code once the fault may have fired. */
static bool clean(int rc, const char *what)
{
	if (rc == DAXKV_OK)
		return true;
	bool ok = rc == DAXKV_ENOMEM || rc == DAXKV_EIO || rc == DAXKV_ENOSPC ||
		  (rc == DAXKV_EREADONLY && fault_fired());
	if (!ok || !fault_fired()) {
		fprintf(stderr, "fault %s n=%lu: %s answered %s (%s)%s\n", fault_kind_name(g_kind),
			g_n, what, daxkv_strerror(rc), daxkv_errmsg(),
			fault_fired() ? "" : " with no fault injected");
		g_violations++;
		CU_FAIL("an API call answered an unclean code");
	}
	return false;
}

static void do_put(daxkv *db, struct model *m, unsigned id, int ver)
{
	char k[DKVT_KEYBUF], v[DKVT_VHDR + 300];
	size_t kl = key_of(id, k), vl = vlen_of(id);
	dkvt_vmake(v, vl, id, 0, (uint64_t)ver);
	if (clean(daxkv_put(db, k, kl, v, vl), "put")) {
		m->ver[id] = ver;
		m->alt[id] = 0;
	} else {
		m->alt[id] |= 1u << ver;
	}
}

static void do_delete(daxkv *db, struct model *m, unsigned id)
{
	char k[DKVT_KEYBUF];
	size_t kl = key_of(id, k);
	int rc = daxkv_delete(db, k, kl);
	if (rc == DAXKV_ENOTFOUND && m->ver[id] == 0)
		return;
	if (clean(rc, "delete")) {
		m->ver[id] = 0;
		m->alt[id] = 0;
	} else {
		m->alt[id] |= 1u; /* absent */
	}
}

/* Batch: new keys 200..211 at version 5, all or nothing. */
static void do_batch(daxkv *db, struct model *m)
{
	char k[DKVT_KEYBUF], v[DKVT_VHDR + 300];
	daxkv_batch *b = NULL;
	if (!clean(daxkv_batch_new(&b), "batch_new"))
		return;
	int rc = 0;
	for (unsigned id = 200; !rc && id < 200 + NBATCH; id++) {
		size_t kl = key_of(id, k), vl = vlen_of(id);
		dkvt_vmake(v, vl, id, 0, 5);
		rc = daxkv_batch_put(b, k, kl, v, vl);
	}
	if (clean(rc, "batch_put")) {
		if (clean(daxkv_write(db, b), "write"))
			for (unsigned id = 200; id < 200 + NBATCH; id++)
				m->ver[id] = 5;
		else
			m->batch_new = 5;
	}
	daxkv_batch_free(b);
}

static void do_iter(daxkv *db)
{
	daxkv_iter *it = NULL;
	if (!clean(daxkv_iter_new(db, &it), "iter_new"))
		return;
	for (daxkv_iter_seek_first(it); daxkv_iter_valid(it); daxkv_iter_next(it)) {
		size_t vl;
		(void)daxkv_iter_value(it, &vl);
	}
	CU_ASSERT_EQUAL(daxkv_iter_status(it), DAXKV_OK);
	daxkv_iter_free(it);
}

static void do_backup(daxkv *db, struct model *m)
{
	int rc = daxkv_backup(db, g_bk);
	m->bk_ok = clean(rc, "backup");
	memcpy(m->bk_ver, m->ver, sizeof(m->ver));
	memcpy(m->bk_alt, m->alt, sizeof(m->alt));
}

static daxkv *open_store(int create, const char *what)
{
	daxkv_options o = dkvt_opts(POOL, SEG, create, 0);
	daxkv *db = NULL;
	return clean(daxkv_open(g_path, &o, &db), what) ? db : NULL;
}

/* The workload, armed; the model records what was acknowledged. */
static void workload(struct model *m)
{
	daxkv *db = open_store(1, "create");
	if (!db)
		return;
	for (unsigned id = 0; id < 200; id++)
		do_put(db, m, id, 1);
	for (unsigned id = 0; id < 200; id += 3)
		do_put(db, m, id, 2);
	for (unsigned id = 1; id < 200; id += 5)
		do_delete(db, m, id);
	do_batch(db, m);
	do_iter(db);
	do_backup(db, m);
	dkv_test_seal_all(db);
	clean(daxkv_gc(db), "gc");
	daxkv_stats st;
	clean(daxkv_stats_get(db, &st), "stats");
	for (unsigned id = 212; id < NK; id++)
		do_put(db, m, id, 3);
	daxkv_close(db);
	db = open_store(0, "reopen");
	if (!db)
		return;
	char k[DKVT_KEYBUF], v[DKVT_VHDR + 300];
	size_t vl;
	for (unsigned id = 0; id < 200; id += 17) {
		int rc = daxkv_get(db, k, key_of(id, k), v, sizeof(v), &vl);
		if (rc != DAXKV_ENOTFOUND)
			clean(rc, "get");
	}
	do_put(db, m, 0, 4);
	do_delete(db, m, 3);
	daxkv_close(db);
}

/* The value of id in the store: 0 absent, its version, or -1 (torn, wrong). */
static int stored_version(daxkv *db, unsigned id)
{
	char k[DKVT_KEYBUF], v[DKVT_VHDR + 300];
	size_t vl = 0;
	int rc = daxkv_get(db, k, key_of(id, k), v, sizeof(v), &vl);
	if (rc == DAXKV_ENOTFOUND)
		return 0;
	uint32_t key, w;
	uint64_t ver;
	if (rc || vl > sizeof(v) || dkvt_vcheck(v, vl, &key, &w, &ver) || key != id)
		return -1;
	return (int)ver;
}

static void violation(unsigned id, const char *what, int got, int want, unsigned alt)
{
	fprintf(stderr, "fault %s n=%lu: key %u %s: version %d, want %d (or mask %#x)\n",
		fault_kind_name(g_kind), g_n, id, what, got, want, alt);
	g_violations++;
	CU_FAIL("store differs from the acknowledged writes");
}

static void verify_store(const struct model *m)
{
	daxkv_options o = dkvt_opts(POOL, SEG, 0, 0);
	daxkv *db = NULL;
	int rc = daxkv_open(g_path, &o, &db);
	if (rc == DAXKV_ENOSTORE) {
		/* The create never finished: then nothing was acknowledged. */
		for (unsigned id = 0; id < NK; id++)
			if (m->ver[id])
				violation(id, "lost with the pool", 0, m->ver[id], VNONE);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(rc, DAXKV_OK);
	char msg[256] = "";
	if (dkv_test_check(db, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "fault %s n=%lu: check: %s\n", fault_kind_name(g_kind), g_n, msg);
		g_violations++;
		CU_FAIL("structural check after reopen");
	}
	unsigned batch_seen = 0;
	for (unsigned id = 0; id < NK; id++) {
		int got = stored_version(db, id);
		bool in_batch = id >= 200 && id < 200 + NBATCH;
		if (in_batch && m->batch_new && got == m->batch_new) {
			batch_seen++;
			continue;
		}
		if (got != m->ver[id] && !(got >= 0 && got < 32 && (m->alt[id] >> got) & 1))
			violation(id, "after reopen", got, m->ver[id], m->alt[id]);
	}
	if (batch_seen != 0 && batch_seen != NBATCH) {
		fprintf(stderr, "fault %s n=%lu: failed batch half applied (%u of %u)\n",
			fault_kind_name(g_kind), g_n, batch_seen, NBATCH);
		g_violations++;
		CU_FAIL("batch not atomic");
	}
	daxkv_close(db);
}

/* A backup that answered OK holds exactly the model at its time. */
static void verify_backup(const struct model *m)
{
	char tmp[320];
	snprintf(tmp, sizeof(tmp), "%s.tmp", g_bk);
	if (access(tmp, F_OK) == 0) {
		fprintf(stderr, "fault %s n=%lu: %s left behind\n", fault_kind_name(g_kind), g_n,
			tmp);
		g_violations++;
		CU_FAIL("backup left its .tmp file");
	}
	/* A backup that failed after its rename (the directory fsync) leaves a
	 * complete file; one that failed before leaves none.  Either way what is
	 * under the name reads whole. */
	int fd = open(g_bk, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		CU_ASSERT(!m->bk_ok);
		return;
	}
	struct dump_r r;
	int seen[NK] = { 0 };
	int rc = dump_r_open(&r, fd);
	CU_ASSERT_EQUAL(rc, DAXKV_OK);
	const void *k, *v;
	uint32_t kl, vl;
	while (!rc && (rc = dump_r_next(&r, &k, &kl, &v, &vl)) == 1) {
		long id = dkvt_key_id(k, kl);
		/* Set, not left to dkvt_vcheck: the compiler cannot see that a
		 * failed CU_ASSERT_FATAL never returns. */
		uint32_t key = 0, w = 0;
		uint64_t ver = 0;
		CU_ASSERT_FATAL(id >= 0 && id < (long)NK);
		CU_ASSERT_FATAL(dkvt_vcheck(v, vl, &key, &w, &ver) == 0 && key == (uint32_t)id);
		seen[id] = (int)ver;
		rc = 0;
	}
	CU_ASSERT_EQUAL(rc, 0);
	dump_r_close(&r);
	close(fd);
	for (unsigned id = 0; id < NK; id++)
		if (seen[id] != m->bk_ver[id] &&
		    !(seen[id] >= 0 && seen[id] < 32 && (m->bk_alt[id] >> seen[id]) & 1) &&
		    !(id >= 200 && id < 200 + NBATCH && m->batch_new && seen[id] == m->batch_new))
			violation(id, "in the backup", seen[id], m->bk_ver[id], m->bk_alt[id]);
}

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	for (unsigned id = 0; id < NK; id++)
		m->alt[id] = m->bk_alt[id] = 0;
}

/* One run with the nth call of kind failing (n = 0: none); returns the calls
 * of kind it saw. */
static unsigned long run_one(enum fault_kind kind, unsigned long n)
{
	struct model m;
	model_init(&m);
	g_kind = kind;
	g_n = n;
	dkvt_remove(g_path);
	unlink(g_bk);
	fault_arm(kind, n);
	workload(&m);
	fault_disarm();
	unsigned long calls = fault_calls(kind);
	if (fault_live_allocs() != 0) {
		fprintf(stderr, "fault %s n=%lu: %ld allocation(s) not freed\n",
			fault_kind_name(kind), n, fault_live_allocs());
		g_violations++;
		CU_FAIL("allocations leaked");
	}
	if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
		fprintf(stderr, "fault %s n=%lu: LeakSanitizer found leaks\n",
			fault_kind_name(kind), n);
		g_violations++;
		CU_FAIL("LeakSanitizer found leaks");
	}
	verify_store(&m);
	verify_backup(&m);
	dkvt_remove(g_path);
	unlink(g_bk);
	return calls;
}

/* DAXKV_FAULT_KINDS: a comma-separated list of kind names (default: all). */
static bool kind_wanted(enum fault_kind k)
{
	const char *only = getenv("DAXKV_FAULT_KINDS");
	if (!only || !*only)
		return true;
	const char *name = fault_kind_name(k);
	size_t len = strlen(name);
	for (const char *p = only; *p;) {
		size_t tok = strcspn(p, ",");
		if (tok == len && strncmp(p, name, len) == 0)
			return true;
		p += tok + (p[tok] == ',');
	}
	return false;
}

static void test_every_site(void)
{
	unsigned long cap = (unsigned long)dkvt_env_long("DAXKV_FAULT_MAX", 100000);
	dkvt_path(g_path, sizeof(g_path), "fault");
	snprintf(g_bk, sizeof(g_bk), "/tmp/daxkv-test-%d-fault.bk", (int)dkvt_owner_pid());
	fault_reset_sites();
	run_one(FAULT_ALLOC, 0); /* the counting run: every kind is counted */
	unsigned long counted[FAULT_NKINDS], total = 0;
	size_t sites[FAULT_NKINDS];
	for (int k = 0; k < FAULT_NKINDS; k++) {
		counted[k] = fault_calls((enum fault_kind)k);
		sites[k] = fault_sites((enum fault_kind)k);
	}
	for (int k = 0; k < FAULT_NKINDS; k++) {
		enum fault_kind kind = (enum fault_kind)k;
		unsigned long calls = counted[k];
		if (!kind_wanted(kind))
			continue;
		unsigned long n_max = calls < cap ? calls : cap, fired = 0;
		unsigned long before = g_violations;
		double t0 = dkvt_now();
		for (unsigned long n = 1; n <= n_max; n++) {
			run_one(kind, n);
			fired += fault_fired();
		}
		printf("fault: kind %-9s %4lu calls from %3zu sites; n = 1..%lu run, %lu faults "
		       "fired, %lu violations (%.1f s)\n",
		       fault_kind_name(kind), calls, sites[k], n_max, fired, g_violations - before,
		       dkvt_now() - t0);
		CU_ASSERT(calls > 0);
		total += n_max;
	}
	printf("fault: %lu faulty runs in all, %lu violations\n", total, g_violations);
	CU_ASSERT_EQUAL(g_violations, 0);
	unlink(g_bk);
}

/* A full filesystem while a pool is created is the OS's answer (EIO, the
 * errno named), never "pool full" (ENOSPC is about the pool's own space). */
static int stored_version(daxkv *db, unsigned id);

/* Block: a full filesystem when a segment file is added fails that write
 * with ENOSPC, naming the call; nothing half-made stays, and the store goes
 * on (the next put, with room again, works). */
static void filesystem_full_block(void)
{
	bool seen = false;
	for (unsigned long n = 1; n < 64 && !seen; n++) {
		dkvt_remove(g_path);
		daxkv_options o = dkvt_opts(POOL, SEG, 1, 0);
		daxkv *db = NULL;
		CU_ASSERT_EQUAL_FATAL(daxkv_open(g_path, &o, &db), DAXKV_OK);
		char k[DKVT_KEYBUF], v[DKVT_VHDR + 300];
		int rc = 0;
		unsigned id = 0;
		fault_arm(FAULT_POOL, n);
		for (; id < 40 && rc == 0; id++) {
			dkvt_vmake(v, 300, id, 0, 1);
			rc = daxkv_put(db, k, key_of(id, k), v, 300);
		}
		bool fired = fault_fired();
		fault_disarm();
		if (rc && strstr(daxkv_errmsg(), "fallocate")) {
			seen = true;
			CU_ASSERT_EQUAL(rc, DAXKV_ENOSPC);
			CU_ASSERT(strstr(daxkv_errmsg(), "No space left") != NULL);
			dkvt_vmake(v, 300, 0, 0, 2);
			CU_ASSERT_EQUAL(daxkv_put(db, k, key_of(0, k), v, 300), DAXKV_OK);
			for (unsigned i = 1; i + 1 < id; i++) /* the ones before the fault */
				CU_ASSERT_EQUAL(stored_version(db, i), 1);
		}
		CU_ASSERT_EQUAL(daxkv_close(db), DAXKV_OK);
		if (!fired)
			break;
	}
	CU_ASSERT(seen);
	dkvt_remove(g_path);
}

static void test_filesystem_full(void)
{
	dkvt_path(g_path, sizeof(g_path), "fault-fsfull");
	if (dkvt_backend() == DAXKV_BACKEND_BLOCK) {
		filesystem_full_block();
		return;
	}
	bool seen = false;
	for (unsigned long n = 1; n < 32 && !seen; n++) {
		dkvt_remove(g_path);
		daxkv_options o = dkvt_opts(POOL, SEG, 1, 0);
		daxkv *db = NULL;
		fault_arm(FAULT_POOL, n);
		int rc = daxkv_open(g_path, &o, &db);
		bool fired = fault_fired();
		fault_disarm();
		if (rc == DAXKV_OK) {
			daxkv_close(db);
			if (!fired)
				break; /* past the last pool call */
			continue;
		}
		CU_ASSERT_NOT_EQUAL(rc, DAXKV_ENOSPC);
		if (strstr(daxkv_errmsg(), "allocate")) { /* the posix_fallocate fault */
			seen = true;
			CU_ASSERT_EQUAL(rc, DAXKV_EIO);
			CU_ASSERT(strstr(daxkv_errmsg(), "the filesystem is full, not the pool") != NULL);
			CU_ASSERT_EQUAL(access(g_path, F_OK), -1); /* nothing half-made is left */
		}
	}
	CU_ASSERT(seen);
	dkvt_remove(g_path);
}

int main(int argc, char **argv)
{
	dkvt_prelude(argc, argv);
	static const struct dkvt_test tests[] = {
		{ "filesystem_full", test_filesystem_full },
		{ "every_site", test_every_site },
		{ NULL, NULL },
	};
	static const struct dkvt_suite suites[] = {
		{ "fault", tests },
		{ NULL, NULL },
	};
	return dkvt_run(suites);
}
