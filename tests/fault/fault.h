/*
 * fault.h -- fault injection for the test build, by link-time interposition.
 *
 * The fault executables link with -Wl,--wrap=<fn> for the allocation calls,
 * the file calls of pool creation/opening (pmem/pool.c) and of the backup,
 * and liburing's real symbols (io/stream.c names them).  Only calls from
 * statically linked objects -- the engine (daxkv_testlib) and the test itself
 * -- go through the wrappers; libc, libpmem and CUnit keep their own.
 *
 * Nothing is counted or failed until fault_arm(); between fault_arm() and
 * fault_disarm() every wrapped call of a kind is counted, and the nth one
 * (1-based; 0 = never) fails the way the real call fails (NULL/ENOMEM, -1 with
 * errno EIO, ENOSPC from posix_fallocate, -EIO/-ENOMEM from liburing, a
 * completion whose res is -EIO).  Never part of the release library.
 */
#ifndef DAXKV_FAULT_H
#define DAXKV_FAULT_H

#include <stddef.h>

enum fault_kind {
	FAULT_ALLOC,    /* malloc calloc realloc posix_memalign aligned_alloc strdup */
	FAULT_POOL,     /* open flock fstat posix_fallocate ftruncate mmap; the block
	                   backend's openat fsync fdatasync renameat pread */
	FAULT_URING,    /* io_uring_queue_init, io_uring_submit(_and_wait), io_uring_wait_cqes */
	FAULT_URING_CQE, /* a completion io_uring_wait_cqes hands back: res = -EIO */
	FAULT_NKINDS
};

const char *fault_kind_name(enum fault_kind k);
/* Starts counting every kind; the nth call of kind k fails (n = 0: none). */
void fault_arm(enum fault_kind k, unsigned long n);
/* Stops counting and failing. */
void fault_disarm(void);
/* Calls of kind k counted since the last fault_arm(). */
unsigned long fault_calls(enum fault_kind k);
/* Distinct call sites (return addresses) of kind k seen since fault_reset_sites(). */
size_t fault_sites(enum fault_kind k);
void fault_reset_sites(void);
/* Whether the armed fault fired. */
int fault_fired(void);
/* Allocations made minus frees, counted while armed (0 after a leak-free run). */
long fault_live_allocs(void);

#endif
