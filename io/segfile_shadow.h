/*
 * segfile_shadow.h -- the block backend's power-loss mode (test builds only,
 * DAXKV_TEST_HOOKS): SQLite's crash-VFS idea for io/segfile.c.
 *
 * From iosf_shadow_start on, a model of the store directory's durable state
 * follows every file call of io/segfile.c there: a write counts once it is
 * durable (RWF_DSYNC, fdatasync, fsync); a creation, rename or removal only
 * once the directory is synced.  Every durable point (a durable write, a
 * directory sync) is an event; at event crash_at (1-based; 0 = never) the
 * model -- plus, with keep_pending_pct > 0, a random part of what that event
 * would have made durable: 4 KiB blocks of the write, or the directory's
 * pending creations and removals -- is written to image_dir as a store
 * directory, and the process _exits(status_on_crash) inside the call, so
 * the operation in flight never returns.  Nothing of it is in the shipped
 * library.
 */
#ifndef DAXKV_IO_SEGFILE_SHADOW_H
#define DAXKV_IO_SEGFILE_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#ifdef DAXKV_TEST_HOOKS
/* 0, or -1 (already on, no memory, the directory unreadable). */
int iosf_shadow_start(const char *dir, uint64_t crash_at, const char *image_dir,
		      int keep_pending_pct, unsigned seed, int status_on_crash);
void iosf_shadow_stop(void);
/* Durable events seen since start. */
uint64_t iosf_shadow_events(void);
/* Writes the model now to image_dir (0 or -1). */
int iosf_shadow_dump(const char *image_dir);

/* Called by io/segfile.c (no-ops while the shadow is off or dir is not its). */
void sf_sh_create(const char *dir, const char *name, uint64_t size);
void sf_sh_write(const char *dir, const char *name, const void *buf, uint64_t off,
		 uint64_t len);
void sf_sh_remove(const char *dir, const char *name);
void sf_sh_rename(const char *dir, const char *from, const char *to);
void sf_sh_dirsync(const char *dir);
#else
#define sf_sh_create(d, n, s) ((void)(d), (void)(n), (void)(s))
#define sf_sh_write(d, n, b, o, l) ((void)(d), (void)(n), (void)(b), (void)(o), (void)(l))
#define sf_sh_remove(d, n) ((void)(d), (void)(n))
#define sf_sh_rename(d, f, t) ((void)(d), (void)(f), (void)(t))
#define sf_sh_dirsync(d) ((void)(d))
#endif

#endif
