/*
 * stream.h -- a file written front to back through io_uring (O_DIRECT where
 * the filesystem accepts it) into DEST.tmp, then fsynced, renamed over DEST
 * and the directory fsynced: DEST is the previous file or a whole new one.
 * Errors are DAXKV_E* codes with the detail in the thread's errmsg.
 */
#ifndef DAXKV_IO_STREAM_H
#define DAXKV_IO_STREAM_H

#include <stddef.h>

struct io_stream;

/* Creates dest_path.tmp.  OK, EINVAL, ENOMEM or EIO.  dest_path must stay
 * valid until io_stream_close. */
int io_stream_open(const char *dest_path, struct io_stream **out);
/* The buffer to fill next and its capacity (*cap bytes). */
char *io_stream_buf(struct io_stream *s, size_t *cap);
/* Queues the buffer io_stream_buf gave, filled with len bytes; the next call
 * of io_stream_buf gives a free one.  OK or EIO. */
int io_stream_write(struct io_stream *s, size_t len);
/* Queues the last len bytes of the current buffer, waits for every write,
 * makes the file durable and publishes it under dest_path.  OK or EIO (when
 * only the directory fsync after the rename failed, dest_path holds the whole
 * file but its name may not survive a crash). */
int io_stream_commit(struct io_stream *s, size_t len);
/* Waits for what is in flight and frees s; removes dest_path.tmp unless the
 * stream was committed.  NULL is a no-op. */
void io_stream_close(struct io_stream *s);

#endif
