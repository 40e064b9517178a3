/*
 * util.c -- status codes, the thread's error detail, CRC32C, clocks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <isa-l/crc.h>

#include "engine/internal.h"

static __thread char tl_errmsg[256];

int dkv_err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tl_errmsg, sizeof(tl_errmsg), fmt, ap);
	va_end(ap);
	return code;
}

void dkv_clear_err(void)
{
	tl_errmsg[0] = '\0';
}

void dkv_verify_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "daxkv: invariant violated: %s (%s:%d)\n", what, file, line);
	abort();
}

/* ISA-L's crc32_iscsi is CRC32C with SSE4.2/PCLMUL folding: a few ns for
 * small records, many GB/s for large ones (DESIGN.md §9). */
uint32_t dkv_crc(uint32_t seed, const void *buf, size_t len)
{
	return crc32_iscsi((unsigned char *)(uintptr_t)buf, (int)len, seed);
}

uint64_t dkv_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

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

DAXKV_API const char *daxkv_errmsg(void)
{
	return tl_errmsg;
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
