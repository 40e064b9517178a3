/*
 * segfile.h -- the files of a block-backend store (docs/ARCHITECTURE.md,
 * "The block backend"): segment files appended through io_uring with group
 * commit, and every other file-system call that backend makes (create,
 * remove, rename, directory sync, read-only maps).  Nothing here knows about
 * keys or records: a segment file is a byte image in DRAM made durable
 * front to back.
 *
 * Errors are DAXKV_E* codes with the detail (path, call, errno text) in the
 * thread's errmsg: ENOSPC for a full filesystem, EIO for every other refusal
 * of the kernel.  A failed durable write is sticky: that file accepts no more.
 */
#ifndef DAXKV_IO_SEGFILE_H
#define DAXKV_IO_SEGFILE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define IOSF_BLOCK 4096u /* O_DIRECT alignment of buffers, offsets and lengths */

struct io_segfile;

/* How a durable write is made (docs/BENCHMARKS.md measures both):
 * IOSF_DSYNC: one IORING_OP_WRITE with RWF_DSYNC;
 * IOSF_FSYNC: IORING_OP_WRITE linked to IORING_OP_FSYNC (IORING_FSYNC_DATASYNC). */
enum { IOSF_DSYNC = 0, IOSF_FSYNC = 1 };

/* Creates path (O_EXCL) of size bytes, preallocated (fallocate), opened
 * O_DIRECT when the filesystem accepts it.  img is the file's image in DRAM:
 * 4096-aligned, size bytes; byte i of the file is img[i].  Then writes the
 * first block durably and syncs the directory (dirfd), so that the file
 * exists after a crash.  OK, ENOMEM, ENOSPC, EIO. */
int iosf_create(int dirfd, const char *dir, const char *name, uint64_t size, const void *img,
		struct io_segfile **out);
/* Commit delay: *pending counts writers that will append soon; a leader
 * waits (yielding) while it is above 0, at most max_ns, before it writes. */
void iosf_gather(struct io_segfile *f, const _Atomic int *pending, uint64_t max_ns);
/* Bytes [0, end) of the image hold data now (the appender advances it). */
void iosf_filled(struct io_segfile *f, uint64_t end);
/* Group commit: returns when [0, end) of the image is durable in the file.
 * One caller at a time writes (the leader: every byte filled so far, from
 * the last durable block on, in one write); the others wait for it and
 * return when it covered them.  OK, or the sticky error of a failed write. */
int iosf_sync(struct io_segfile *f, uint64_t end);
/* Writes [off, off+len) of the image (block-aligned) durably now, outside
 * the group commit (a header block: the caller ensures no sync runs). */
int iosf_write_at(struct io_segfile *f, uint64_t off, uint64_t len);
/* Maps [off, size) of the file read-only, shared, at addr (MAP_FIXED over
 * the image's pages): the file serves reads from the page cache from now on.
 * The file must not be written afterwards.  OK or EIO. */
int iosf_map_sealed(struct io_segfile *f, void *addr, uint64_t off);
/* After the last write (and its map): closes the file and its ring; the
 * struct stays, answering every sync at once, until iosf_close. */
void iosf_retire(struct io_segfile *f);
/* Closes the file (its map stays) and frees f; NULL is a no-op. */
void iosf_close(struct io_segfile *f);
/* Durable writes and group commits (leader writes) made by f so far. */
uint64_t iosf_syncs(const struct io_segfile *f);
uint64_t iosf_waits(const struct io_segfile *f);

/* Opens an existing file read-only, reads its first len bytes into buf and
 * maps [off, size) read-only at addr (MAP_FIXED).  *fsize gets its size.
 * OK, EIO, ENOSTORE (shorter than size: a creation that never finished --
 * iosf_create returns only once the whole size is allocated, durably). */
int iosf_open_sealed(int dirfd, const char *name, uint64_t size, void *buf, size_t len,
		     void *addr, uint64_t off);
/* Writes len bytes of buf at off of an existing file durably (a header
 * block of a segment found at open). */
int iosf_rewrite(int dirfd, const char *dir, const char *name, const void *buf, size_t len,
		 uint64_t off);

/* Removes name from the directory (not synced: iosf_dir_sync).  OK or EIO. */
int iosf_remove(int dirfd, const char *dir, const char *name);
/* fsync of the directory: creations, renames and removals are durable. */
int iosf_dir_sync(int dirfd, const char *dir);
/* Writes a small file whole: name.tmp, fsync, rename over name, directory
 * sync.  OK, ENOSPC, EIO. */
int iosf_put_file(int dirfd, const char *dir, const char *name, const void *buf, size_t len);
/* Reads up to cap bytes of name into buf; *len gets how many.  OK, ENOSTORE
 * (absent), EIO. */
int iosf_get_file(int dirfd, const char *name, void *buf, size_t cap, size_t *len);
/* Reads all of name into a malloc'd *buf (*len bytes; the caller frees).
 * OK, ENOSTORE (absent), ENOMEM, EIO. */
int iosf_get_whole(int dirfd, const char *name, void **buf, size_t *len);
/* Replaces [addr, addr+len) with fresh zero anonymous memory (a segment's
 * file map dropped).  OK or ENOMEM. */
int iosf_unmap(void *addr, size_t len);

/* 1 when dirfd is on a filesystem whose content does not survive a reboot
 * (tmpfs, ramfs); 0 otherwise. */
int iosf_volatile_fs(int dirfd);
/* The durable-write mode in use (IOSF_DSYNC unless DAXKV_IO_SYNC=fsync). */
int iosf_sync_mode(void);

#endif
