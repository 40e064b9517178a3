/*
 * pool_setver.c -- test helper for cli_exit_test.sh: rewrites the format
 * version in the header of a pool file (a copy) and reseals the header's
 * CRC32C, so the file reads as a sound daxkv pool of another format version
 * (DAXKV_EVERSION) rather than as a damaged one (a bad CRC: ECORRUPT).
 *
 *   pool_setver FILE VERSION
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pmem/pool.h"
#include "pmem/util.h"

int main(int argc, char **argv)
{
	struct pool_hdr h;
	int rc = 1, fd = -1;
	if (argc != 3) {
		fprintf(stderr, "usage: pool_setver FILE VERSION\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		perror(argv[1]);
		goto out;
	}
	h.version = (uint32_t)strtoul(argv[2], NULL, 10);
	h.crc = dkv_crc(0, &h, offsetof(struct pool_hdr, crc)); /* as pool_hdr_seal */
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || fsync(fd)) {
		perror(argv[1]);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
