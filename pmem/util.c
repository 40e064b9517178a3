/*
 * util.c -- helpers every layer uses: the thread's error detail, CRC32C,
 * the monotonic clock, and the always-on invariant check.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <isa-l/crc.h>

#include "daxkv.h"
#include "pmem/util.h"

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
 * small records, many GB/s for large ones (ISA-L crc32_iscsi). */
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

DAXKV_API const char *daxkv_errmsg(void)
{
	return tl_errmsg;
}

bool dkv_all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}
