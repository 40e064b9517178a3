/*
 * fuzz_blkopen.c -- libFuzzer target for the block backend's open: the
 * STORE and STATE files, segment files (header block, records, the scan's
 * cut of a torn tail) and hint files (engine/blkopen.c), then reads,
 * iteration and (read-write) the store's use.
 *
 * The template is a block store after the common workload (fuzz_common.h),
 * taken twice: copied while open (unclean: an active segment, no STATE) and
 * after its close.  Input: byte 0 = flags, byte 1 = which file, bytes 2..5 =
 * an offset into it, the rest XORed onto the file from there:
 *   flags bit 0: the unclean template;  bit 1: open read-only;
 *         bit 2: remove that segment's hint file (the open scans it);
 *         bit 3: truncate the file at the offset (mod its size).
 * Any result code is fine; a crash, a hang or a sanitizer report is not.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

#define BF_MAX 64

struct bfile {
	char name[64];
	uint8_t *data;
	size_t len;
};

static struct bfile g_t[2][BF_MAX];
static unsigned g_n[2];
static char g_path[512];
static uint8_t *g_buf;
static size_t g_cap;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every file of the directory at path into set t. */
static void snap(const char *path, int t)
{
	DIR *d = opendir(path);
	if (!d)
		abort();
	struct dirent *e;
	while ((e = readdir(d)) != NULL && g_n[t] < BF_MAX) {
		char p[1024];
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(g_t[t][0].name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		struct bfile *f = &g_t[t][g_n[t]];
		f->data = fz_read_file(p, &f->len);
		if (!f->data)
			continue;
		memcpy(f->name, e->d_name, strlen(e->d_name) + 1);
		if (f->len > g_cap)
			g_cap = f->len;
		g_n[t]++;
	}
	closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_backend = DAXKV_BACKEND_BLOCK;
	dkv_test_level_seed = 0x5eed5eed5eed5eedull;
	char tmpl[512];
	fz_path(tmpl, sizeof(tmpl), "blk-tmpl");
	daxkv *db = fz_template_workload(tmpl);
	if (!db)
		abort();
	snap(tmpl, 1); /* while open: unclean */
	daxkv_close(db);
	snap(tmpl, 0);
	fz_remove(tmpl);
	if (!g_n[0] || !g_n[1])
		abort();
	g_buf = malloc(g_cap + 1);
	if (!g_buf)
		abort();
	fz_path(g_path, sizeof(g_path), "blk");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 6)
		return 0;
	unsigned flags = data[0], t = flags & 1;
	unsigned which = data[1] % g_n[t];
	uint32_t off32;
	memcpy(&off32, data + 2, 4);
	fz_remove(g_path);
	if (mkdir(g_path, 0755) != 0)
		abort();
	char p[1024];
	for (unsigned i = 0; i < g_n[t]; i++) {
		const struct bfile *f = &g_t[t][i];
		const uint8_t *src = f->data;
		size_t len = f->len;
		if (i == which) {
			memcpy(g_buf, f->data, f->len);
			size_t off = len ? off32 % len : 0;
			for (size_t j = 6; j < size && off + (j - 6) < len; j++)
				g_buf[off + (j - 6)] ^= data[j];
			if (flags & 8)
				len = off;
			src = g_buf;
		}
		snprintf(p, sizeof(p), "%s/%s", g_path, f->name);
		if (fz_write_file(p, src, len) != 0)
			abort();
	}
	if (flags & 4) { /* that segment's hint gone: the open scans it */
		const char *n = g_t[t][which].name;
		size_t nl = strlen(n);
		if (nl == 12 && strcmp(n + 8, ".seg") == 0) {
			snprintf(p, sizeof(p), "%s/%.8s.hint", g_path, n);
			unlink(p);
		}
	}
	fz_exercise(g_path, (flags & 2) != 0);
	return 0;
}
