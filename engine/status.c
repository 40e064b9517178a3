/*
 * status.c -- status codes and their names, the sticky read-only state of a
 * handle that met damage (dkv_break), the sized public structs (options and
 * stats across header versions) and the library's version.
 */
#include <stdio.h>

#include "engine/internal.h"

DAXKV_API const char *daxkv_strerror(int code)
{
	switch (code) {
	case DAXKV_OK: return "ok";
	case DAXKV_ENOTFOUND: return "key not found";
	case DAXKV_EINVAL: return "invalid argument";
	case DAXKV_ETOOBIG: return "key or value too big";
	case DAXKV_ENOSPC: return "no space left in the pool";
	case DAXKV_ECORRUPT: return "media content fails its checks";
	case DAXKV_EVERSION: return "daxkv pool of another format version";
	case DAXKV_EBUSY: return "busy: pool open elsewhere or GC running";
	case DAXKV_EIO: return "I/O error";
	case DAXKV_ENOMEM: return "out of memory";
	case DAXKV_EREADONLY: return "store is read-only";
	case DAXKV_ENOTSUP: return "not supported on this medium";
	case DAXKV_ENOSTORE: return "no such store";
	case DAXKV_ENOTPOOL: return "not a daxkv pool";
	case DAXKV_EACCES: return "permission denied";
	case DAXKV_ECONFLICT: return "the key changed since it was read (version mismatch)";
	default: return "unknown status";
	}
}

/* The first sized layouts (SOVERSION 1): what a size field of 0 means. */
#define OPTIONS_V1_SIZE 64u
#define STATS_V1_SIZE 120u
/* 0.3 added expire_hz; older callers' sizes keep working (dkv_options_read). */
#define OPTIONS_V2_SIZE 72u
_Static_assert(sizeof(daxkv_options) == OPTIONS_V2_SIZE, "daxkv_options grew: new V size");
_Static_assert(OPTIONS_V1_SIZE < OPTIONS_V2_SIZE, "layouts only grow");
/* 0.3 added volatile_media, device_writes, sync_waits, expired_keys,
 * ttl_keys: older callers' sizes keep working (dkv_stats_copy_out writes
 * what their size covers). */
#define STATS_V2_SIZE 160u
_Static_assert(sizeof(daxkv_stats) == STATS_V2_SIZE, "daxkv_stats grew: new V size");
_Static_assert(STATS_V1_SIZE < STATS_V2_SIZE, "layouts only grow");
/* The smallest layout a caller may pass: the size field and one more. */
#define SIZED_MIN 16u

DAXKV_API void daxkv_options_init_sized(daxkv_options *opt, size_t size)
{
	if (!opt || size < SIZED_MIN)
		return;
	daxkv_options d;
	memset(&d, 0, sizeof(d));
	d.backend = DAXKV_BACKEND_AUTO;
	d.gc_ratio = 0.5;
	d.gc_background = 1;
	size_t n = size < sizeof(d) ? size : sizeof(d);
	d.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size; /* what the caller has */
	memcpy(opt, &d, n);
	if (size > n) /* fields of a newer header: 0 is each one's default */
		memset((char *)opt + n, 0, size - n);
}

DAXKV_API void(daxkv_options_init)(daxkv_options *opt)
{
	daxkv_options_init_sized(opt, sizeof(*opt));
}

int dkv_options_read(const daxkv_options *opt, daxkv_options *out)
{
	daxkv_options_init_sized(out, sizeof(*out));
	if (!opt)
		return 0;
	size_t size = opt->size ? opt->size : OPTIONS_V1_SIZE;
	if (size < SIZED_MIN)
		return dkv_err(DAXKV_EINVAL, "options size %zu: set it with daxkv_options_init", size);
	const unsigned char *extra = (const unsigned char *)opt + sizeof(*out);
	for (size_t i = 0; size > sizeof(*out) && i < size - sizeof(*out); i++)
		if (extra[i])
			return dkv_err(DAXKV_EINVAL, "an option this library (%s) does not know is "
				       "set (byte %zu of %zu)", daxkv_version(), sizeof(*out) + i, size);
	memcpy(out, opt, size < sizeof(*out) ? size : sizeof(*out));
	out->size = sizeof(*out);
	return 0;
}

int dkv_stats_copy_out(const daxkv_stats *full, daxkv_stats *st, size_t size)
{
	if (size < SIZED_MIN)
		return dkv_err(DAXKV_EINVAL, "stats size %zu: pass sizeof(daxkv_stats)", size);
	size_t n = size < sizeof(*full) ? size : sizeof(*full);
	memcpy(st, full, n);
	if (size > n)
		memset((char *)st + n, 0, size - n);
	st->size = (uint32_t)n;
	return 0;
}

size_t dkv_stats_size(const daxkv_stats *st)
{
	return st->size ? st->size : STATS_V1_SIZE;
}

#define STR2(x) #x
#define STR(x) STR2(x)
DAXKV_API const char *daxkv_version(void)
{
	return STR(DAXKV_VERSION_MAJOR) "." STR(DAXKV_VERSION_MINOR) "." STR(DAXKV_VERSION_PATCH);
}

DAXKV_API int daxkv_version_number(void)
{
	return DAXKV_VERSION_NUMBER;
}

/* A handle that met damage in the structure writers walk stops writing (it
 * answers EREADONLY, with why) and marks the pool, so that the next
 * read-write open checks and rebuilds (recovery.c, dkv_reindex). */
void dkv_break(struct daxkv *db)
{
	int was = 0;
	if (!atomic_compare_exchange_strong(&db->broken, &was, 2))
		return; /* broken already: the first reason stays */
	snprintf(db->broken_why, sizeof(db->broken_why), "%s", daxkv_errmsg());
	atomic_store(&db->broken, 1); /* 1: broken_why is complete */
	if (!db->read_only) {
		db->sb->clean = DKV_SB_DAMAGED;
		pm_persist(&db->sb->clean, 8);
	}
}
