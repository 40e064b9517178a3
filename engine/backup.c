/*
 * backup.c -- daxkv_backup(): a consistent online backup.
 *
 * The content is the dump stream (dump.h) of an iterator snapshot, so writers
 * go on while it runs and `daxkv load`/`daxkv restore` read it.  The file is
 * written through io/stream.c (io_uring, O_DIRECT where accepted, fsynced,
 * renamed into place, directory fsynced): a crash never leaves a partial file
 * under the destination's name.
 */
#include "engine/dump.h"
#include "engine/internal.h"
#include "io/stream.h"

/* dump_w flush: hand the full buffer to the stream, go on in a free one. */
static int bk_flush(struct dump_w *w)
{
	struct io_stream *s = w->ctx;
	int rc = io_stream_write(s, w->len);
	if (!rc) {
		w->buf = io_stream_buf(s, &w->cap);
		w->len = 0;
	}
	return rc;
}

DAXKV_API int daxkv_backup(daxkv *db, const char *dest_path)
{
	dkv_clear_err();
	if (!db || !dest_path || !*dest_path)
		return dkv_err(DAXKV_EINVAL, "db or dest_path is NULL or empty");
	struct io_stream *s = NULL;
	int rc = io_stream_open(dest_path, &s);
	if (rc)
		return rc;
	struct dump_w w = { .flush = bk_flush, .ctx = s };
	w.buf = io_stream_buf(s, &w.cap);
	rc = dump_w_db(&w, db);
	if (!rc)
		rc = io_stream_commit(s, w.len);
	io_stream_close(s);
	return rc;
}
