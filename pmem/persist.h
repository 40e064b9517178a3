/*
 * persist.h -- the only door to flush and fence instructions (docs/ARCHITECTURE.md).
 *
 * Durability model (x86 ADR): a store is durable once its cache line was
 * written back (clwb/clflushopt, or a non-temporal store) AND a fence (sfence)
 * after it completed.  engine/ calls only these wrappers.
 *
 * Every call is counted per thread (pm_counters), so tests can assert the
 * fence budget (docs/ARCHITECTURE.md), and in a test build (DAXKV_TEST_HOOKS) the
 * power-loss shadow mode can model what survives a power cut: it keeps only
 * lines that were flushed AND fenced (SQLite's crash VFS idea, for pmem).
 */
#ifndef DAXKV_PERSIST_H
#define DAXKV_PERSIST_H

#include <stddef.h>
#include <stdint.h>

/* Per-thread counters of persistence calls since the thread started. */
struct pm_counters {
	uint64_t flushes; /* pm_flush + pm_set_nodrain calls (each may cover lines) */
	uint64_t fences;  /* pm_fence calls, including the one inside pm_persist */
	uint64_t nt_bytes; /* bytes written with non-temporal copies */
};

/* Reads the calling thread's counters. */
void pm_counters_get(struct pm_counters *c);

/* Writes back the lines covering [addr, addr+len); no ordering. */
void pm_flush(const void *addr, size_t len);
/* Orders and completes every earlier flush/NT store of this thread. */
void pm_fence(void);
/* pm_flush + pm_fence. */
void pm_persist(const void *addr, size_t len);
/* Copies src to pmem dst with NT stores/flushes, no fence (caller fences). */
void pm_copy_nodrain(void *dst, const void *src, size_t len);
/* Sets [dst, dst+len) to c and flushes it, no fence. */
void pm_set_nodrain(void *dst, int c, size_t len);

/*
 * Power-loss shadow mode (test builds only: DAXKV_TEST_HOOKS; the shipped
 * library has none of it).
 *
 * pm_shadow_start(base, len): from now on [base, base+len) (the mapped pool)
 * has a shadow copy, initialised from its current contents, that models the
 * media.  pm_flush/pm_copy_nodrain/pm_set_nodrain mark lines pending;
 * pm_fence copies the pending lines of the live mapping to the shadow.  When
 * the fence number crash_at_fence (1-based, counted from start; 0 = never) is
 * reached, the shadow -- plus, with keep_pending_pct > 0, a random subset of
 * the lines that were flushed but not yet fenced -- is written to image_path
 * and the process _exits(status_on_crash) inside that fence, so the operation
 * in flight never returns.  If the image cannot be written it
 * _exits(PM_SHADOW_EXIT_IMAGE_FAILED) instead, so a harness never mistakes a
 * missing image for a crash.  o == NULL means all zero (never crash).
 * pm_shadow_start returns 0, or -1 on bad options, no memory, or a shadow
 * already active.
 */
#define PM_SHADOW_EXIT_IMAGE_FAILED 125
struct pm_shadow_opts {
	uint64_t crash_at_fence;
	const char *image_path;
	int keep_pending_pct; /* 0..100 */
	unsigned seed;
	int status_on_crash;
};
#ifdef DAXKV_TEST_HOOKS
int pm_shadow_start(void *base, size_t len, const struct pm_shadow_opts *o);
/* Writes the current shadow to path (0 or -1). */
int pm_shadow_dump(const char *path);
void pm_shadow_stop(void);
/* Number of fences seen by the shadow since start. */
uint64_t pm_shadow_fences(void);
#endif

#endif
