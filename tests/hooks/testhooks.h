/*
 * testhooks.h -- internal hooks for the test suites.  Present only in the
 * daxkv_testlib build (DAXKV_TEST_HOOKS); never installed.
 */
#ifndef DAXKV_TESTHOOKS_H
#define DAXKV_TESTHOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "daxkv.h"
#include "pmem/persist.h"

/* The mapped pool of an open DAX store. 0, or -1 for a non-DAX store. */
int dkv_test_pool_range(daxkv *db, void **base, size_t *len);

/* Starts the power-loss shadow of the store's backend: over a DAX pool's
 * mapping (persist.h: fences, flushed lines), or over a block store's
 * directory (io/segfile_shadow.h: durable writes and directory syncs are its
 * "fences", an image is a directory).  Call right after daxkv_open; 0 or -1. */
int dkv_test_shadow_start(daxkv *db, const struct pm_shadow_opts *o);
/* The started shadow's events so far (fences / durable points), and a dump
 * of what it holds now (0 or -1). */
uint64_t dkv_test_shadow_events(void);
int dkv_test_shadow_dump(const char *path);

/* Full structural check: level-0 order and reachability, every node's record
 * CRC-valid and of the node's key, node bitmap = reachable set, segment states,
 * upper levels sorted, and (once its build ends) the DRAM index maps exactly
 * the live level-0 nodes.  0 when consistent; otherwise -1 with a reason in msg. */
int dkv_test_check(daxkv *db, char *msg, size_t cap);
/* Waits until the DRAM index's build (at open) has ended: true when the
 * index is in use (false: the skiplist answers alone). */
bool dkv_test_dix_wait(daxkv *db);

/* The hash's replace, in the window a re-insert can meet: key is deleted and
 * put again (a new node), then the hash is made to map key to its old node
 * (as when the remover's unmap is still to come) and the insert's dhash_set
 * runs: it must replace that entry.  0 when the hash then names the new
 * node (or when the hash is not in use), -1 otherwise. */
int dkv_test_dhash_replace(daxkv *db, const void *key, size_t klen);

/* Pool offset of the record the index holds for key (0 if absent). */
uint64_t dkv_test_record_offset(daxkv *db, const void *key, size_t klen);

/* Number of skiplist nodes allocated in the node bitmap (for leak checks). */
uint64_t dkv_test_nodes_allocated(daxkv *db);

/* Seal every active log segment now (so tests can make sealed segments). */
int dkv_test_seal_all(daxkv *db);

/* Whether the last open of db found a clean shutdown flag (1) or ran recovery (0). */
int dkv_test_was_clean(daxkv *db);

/* Space accounting check: every log segment's live bytes equal a recount
 * from the index, no segment has more live than used bytes, every free-list
 * entry is FREE on media (once), and every other FREE segment waits for the
 * epoch grace period.  0 when consistent; otherwise -1 with a reason in msg.
 * *sealed_empty (may be NULL) gets the sealed segments holding nothing live. */
int dkv_test_space_check(daxkv *db, char *msg, size_t cap, uint64_t *sealed_empty);

/* The segment holding pool offset off, and its state (SEG_* of format.h),
 * used and live bytes. */
uint32_t dkv_test_seg_of(daxkv *db, uint64_t off);
int dkv_test_seg_info(daxkv *db, uint32_t id, uint64_t *used, int64_t *live);

/* When nonzero before a thread's first insert, that thread's node levels come
 * from this seed: the same workload then makes the same pool (the fuzz
 * targets' templates, so that a reproducer replays). */
extern uint64_t dkv_test_level_seed;

/* Block store: segments its open listed from hint files, and by a scan
 * (0; -1 on DAX). */
int dkv_test_blk_loads(daxkv *db, uint32_t *hinted, uint32_t *scanned);

#endif
