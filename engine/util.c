/*
 * util.c -- the public names of status codes, and option defaults.
 */
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
	case DAXKV_EVERSION: return "not a daxkv pool of this format version";
	case DAXKV_EBUSY: return "busy: pool open elsewhere or GC running";
	case DAXKV_EIO: return "I/O error";
	case DAXKV_ENOMEM: return "out of memory";
	case DAXKV_EREADONLY: return "store is read-only";
	case DAXKV_ENOTSUP: return "not supported on this medium";
	default: return "unknown status";
	}
}

DAXKV_API void daxkv_options_init(daxkv_options *opt)
{
	if (!opt)
		return;
	memset(opt, 0, sizeof(*opt));
	opt->backend = DAXKV_BACKEND_AUTO;
	opt->gc_ratio = 0.5;
	opt->gc_background = 1;
}
