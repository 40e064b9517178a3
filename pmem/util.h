/*
 * util.h -- helpers every layer uses (pmem/ and engine/ alike).
 */
#ifndef DAXKV_UTIL_H
#define DAXKV_UTIL_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* A small thread-local on a hot path: the initial-exec TLS model reads it with
 * one %fs-relative load instead of a __tls_get_addr call (~20 instructions;
 * ~4 per put in a shared library).  Only small variables: they take the
 * static TLS surplus glibc keeps for libraries loaded with dlopen. */
#define DKV_TLS_HOT __attribute__((tls_model("initial-exec")))

/* Sets the calling thread's error detail (daxkv_errmsg) and returns code. */
int dkv_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dkv_clear_err(void);
_Noreturn void dkv_verify_fail(const char *what, const char *file, int line);
/* CRC32C (ISA-L crc32_iscsi) of buf, continuing from seed. */
uint32_t dkv_crc(uint32_t seed, const void *buf, size_t len);
uint64_t dkv_now_ns(void);
/* Whether the n bytes at p are all zero (an unwritten header, say). */
bool dkv_all_zero(const void *p, size_t n);

#endif
