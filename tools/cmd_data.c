/*
 * cmd_data.c -- `daxkv dump|load|backup|restore`: the portable stream of
 * engine/dump.h in and out of a store.
 *
 * load and restore read the whole stream and check its CRC before the first
 * put (a pipe is spooled to an unlinked temporary file first), so a truncated
 * or corrupt stream changes nothing; --single-pass trades that for one read
 * (a damaged stream then leaves the batches before the damage applied, and
 * says how many).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/lib/dump_read.h"
#include "tools/cli.h"

#define IO_BUF (1u << 20)
#define LOAD_BATCH_OPS 1000u
#define LOAD_BATCH_MAX (8ull << 20)

static const char help_dump[] =
	"usage: daxkv dump STORE [-o FILE]\n"
	"Writes every live key/value of a snapshot of STORE as a dump stream (versioned,\n"
	"CRC32C-checked, independent of the pool format; docs/CLI.md) to stdout or FILE.\n";
static const char help_load[] =
	"usage: daxkv load STORE [FILE] [--size N] [--segment-size N] [--single-pass]\n"
	"Puts every entry of a dump stream (FILE or stdin) into STORE, creating it (sized\n"
	"for the stream unless --size) when missing.  The stream is verified whole first:\n"
	"a truncated or corrupt one exits 1 and changes nothing.  --single-pass applies\n"
	"while reading (no spool; a bad stream leaves the batches before the damage).\n"
	CLI_SIZES_HELP;
static const char help_backup[] =
	"usage: daxkv backup STORE DEST [--force]\n"
	"Writes a consistent snapshot of STORE to DEST (dump stream format) with io_uring,\n"
	"O_DIRECT where the filesystem allows; DEST appears only once complete and\n"
	"durable.  --force replaces an existing DEST.\n";
static const char help_restore[] =
	"usage: daxkv restore BACKUP STORE [--force] [--size N] [--segment-size N]\n"
	"Creates STORE from a backup or dump after verifying it whole.  An existing STORE\n"
	"is refused unless --force (then it is replaced, after the verification).\n"
	CLI_SIZES_HELP;

/* ---- dump ---- */

struct dump_out {
	int fd;
	const char *name; /* for messages */
};

static int fd_flush(struct dump_w *w)
{
	const struct dump_out *o = w->ctx;
	for (size_t done = 0; done < w->len;) {
		ssize_t n = write(o->fd, w->buf + done, w->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "daxkv dump: %s: %s\n", o->name,
				strerror(n < 0 ? errno : EIO));
			return DAXKV_EIO;
		}
		done += (size_t)n;
	}
	w->len = 0;
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	static const struct option lo[] = { { "output", required_argument, NULL, 'o' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	const char *out = NULL;
	int c, fd = STDOUT_FILENO;
	while ((c = getopt_long(argc, argv, ":o:h", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_help(help_dump);
		if (c != 'o')
			return cli_badopt("dump", c, argv);
		out = optarg;
	}
	if (argc - optind != 1)
		return cli_usage("dump", "expected STORE");
	if (!out && isatty(fd))
		return cli_usage("dump", "refusing to write a binary stream to a terminal");
	daxkv *db = NULL;
	int rc = cli_open("dump", argv[optind], OPEN_RO, NULL, &db);
	if (rc)
		return rc;
	if (out && (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "daxkv dump: %s: %s\n", out, strerror(errno));
		daxkv_close(db);
		return CLI_ERROR;
	}
	struct dump_out o = { fd, out ? out : "writing standard output" };
	struct dump_w w = { .buf = malloc(IO_BUF), .cap = IO_BUF, .flush = fd_flush, .ctx = &o };
	int r = w.buf ? dump_w_db(&w, db) : DAXKV_ENOMEM;
	if (!r)
		r = fd_flush(&w);
	if (!r && out && (fsync(fd) || close(fd))) {
		fprintf(stderr, "daxkv dump: %s: %s\n", out, strerror(errno));
		r = DAXKV_EIO;
	} else if (out && r) {
		close(fd);
	}
	if (r) /* fd_flush said why already */
		rc = r == DAXKV_EIO ? CLI_ERROR : cli_fail("dump", r, argv[optind]);
	free(w.buf);
	daxkv_close(db);
	return rc;
}

/* ---- load / restore ---- */

struct load {
	const char *cmd, *store, *src; /* src: the stream's name, for messages */
	struct cli_geom g;
	int single_pass, force;
	struct dump_r st; /* the verification pass: entry count and sizes */
};

/* A seekable copy of a pipe: an unlinked file in $TMPDIR (or /tmp). */
static int spool(const char *cmd, int in)
{
	const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	char *buf = malloc(IO_BUF);
	ssize_t n = 0;
	while (fd >= 0 && buf && (n = read(in, buf, IO_BUF)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(fd, buf, (size_t)n) != n)
			break;
	}
	free(buf);
	if (fd < 0 || n != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		fprintf(stderr, "daxkv %s: %s: spooling the stream: %s\n", cmd, dir,
			strerror(errno ? errno : ENOMEM));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int verify(struct load *L, int fd)
{
	const void *k, *v;
	uint32_t kl, vl;
	int rc = dump_r_open(&L->st, fd);
	while (!rc && (rc = dump_r_next(&L->st, &k, &kl, &v, &vl)) == 1)
		rc = 0;
	if (rc)
		return cli_fail_note(L->cmd, rc, L->src, "nothing was loaded");
	return lseek(fd, 0, SEEK_SET) == 0 ? CLI_OK : CLI_ERROR;
}

/* Geometry for a new store that the verified stream fits in twice over. */
static void size_for(struct load *L)
{
	if (L->g.pool_size)
		return;
	uint64_t maxrec = 48 + (uint64_t)L->st.max_klen + L->st.max_vlen + 8;
	uint64_t data = L->st.data_bytes + L->st.entries * (56 + 128);
	uint64_t seg = 1ull << 20;
	while (seg < 2 * maxrec + 4096)
		seg <<= 1;
	uint64_t pool = 2 * data + 24 * seg;
	if (pool < (64ull << 20))
		pool = 64ull << 20;
	uint64_t dflt = 1ull << 26; /* the engine's default for this pool size */
	while (dflt > (1ull << 20) && dflt > pool / 32)
		dflt >>= 1;
	L->g.pool_size = (pool + 4095) & ~4095ull;
	if (!L->g.segment_size)
		L->g.segment_size = seg > dflt ? seg : dflt;
}

/* Puts every entry of the stream at fd, in batches of LOAD_BATCH_OPS entries
 * or a quarter segment; *done counts the committed ones. */
static int apply(daxkv *db, int fd, uint64_t *done)
{
	struct dump_r r;
	daxkv_batch *b = NULL;
	daxkv_stats s;
	const void *k, *v;
	uint32_t kl, vl;
	uint64_t nb = 0, bytes = 0;
	int rc = daxkv_stats_get(db, &s);
	uint64_t max = s.segment_size / 4 < LOAD_BATCH_MAX ? s.segment_size / 4 : LOAD_BATCH_MAX;
	memset(&r, 0, sizeof(r));
	if (!rc)
		rc = daxkv_batch_new(&b);
	if (!rc)
		rc = dump_r_open(&r, fd);
	while (!rc && (rc = dump_r_next(&r, &k, &kl, &v, &vl)) == 1) {
		uint64_t sz = 64 + (uint64_t)kl + vl;
		rc = 0;
		if (nb && (nb == LOAD_BATCH_OPS || bytes + sz > max)) {
			rc = daxkv_write(db, b);
			*done += rc ? 0 : nb;
			daxkv_batch_clear(b);
			nb = bytes = 0;
		}
		if (!rc && sz > max) {
			/* too big to share a batch; an expiry time past deletes */
			rc = daxkv_put_expire(db, k, kl, v, vl, r.expire);
			*done += !rc;
		} else if (!rc) {
			rc = daxkv_batch_put_expire(b, k, kl, v, vl, r.expire);
			nb++;
			bytes += sz;
		}
	}
	if (!rc && nb) {
		rc = daxkv_write(db, b);
		*done += rc ? 0 : nb;
	}
	dump_r_close(&r);
	daxkv_batch_free(b);
	return rc;
}

static int load_into(struct load *L, int fd, int create)
{
	daxkv *db = NULL;
	uint64_t done = 0;
	if (create)
		size_for(L);
	int rc = cli_open(L->cmd, L->store, create ? OPEN_CREATE : OPEN_RW, &L->g, &db);
	if (rc)
		return rc;
	int r = apply(db, fd, &done);
	if (r) {
		char note[96];
		snprintf(note, sizeof(note), "%llu entries were applied before it stopped",
			 (unsigned long long)done);
		rc = cli_fail_note(L->cmd, r, L->store, note);
	}
	if (daxkv_close(db) && !rc)
		rc = CLI_ERROR;
	if (rc && create && !strcmp(L->cmd, "restore"))
		unlink(L->store); /* no half-restored store */
	if (!rc)
		fprintf(stderr, "daxkv %s: %s: %llu entries loaded\n", L->cmd, L->store,
			(unsigned long long)done);
	return rc;
}

static int load_args(struct load *L, int argc, char **argv, const char *help)
{
	static const struct option lo[] = {
		{ "size", required_argument, NULL, 's' },
		{ "segment-size", required_argument, NULL, 'S' },
		{ "single-pass", no_argument, NULL, '1' }, { "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, ":fh", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_help(help) - 1; /* -1: help shown */
		if (c == 's' || c == 'S') {
			if (cli_size(L->cmd, c == 's' ? "--size" : "--segment-size", optarg,
				     c == 's' ? &L->g.pool_size : &L->g.segment_size))
				return CLI_USAGE;
		} else if (c == '1' && help == help_load) {
			L->single_pass = 1;
		} else if (c == 'f' && help == help_restore) {
			L->force = 1;
		} else {
			if (c == '1' || c == 'f') /* the other command's option */
				return cli_usage(L->cmd, "unknown option '%s'", argv[optind - 1]);
			return cli_badopt(L->cmd, c, argv);
		}
	}
	return 0;
}

int cmd_load(int argc, char **argv)
{
	struct load L = { .cmd = "load" };
	int rc = load_args(&L, argc, argv, help_load);
	if (rc)
		return rc < 0 ? CLI_OK : rc;
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage("load", "expected STORE [FILE]");
	L.store = argv[optind];
	const char *file = argc - optind == 2 ? argv[optind + 1] : NULL;
	L.src = file ? file : "standard input";
	int fd = file ? open(file, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0) {
		fprintf(stderr, "daxkv load: %s: %s\n", file, strerror(errno));
		return CLI_ERROR;
	}
	struct stat st;
	int in = fd;
	int create = access(L.store, F_OK) != 0;
	if (!L.single_pass && (fstat(fd, &st) || !S_ISREG(st.st_mode)))
		in = spool("load", fd);
	rc = in < 0 ? CLI_ERROR : 0;
	if (!rc && !L.single_pass)
		rc = verify(&L, in);
	if (!rc)
		rc = load_into(&L, in, create);
	dump_r_close(&L.st);
	if (in >= 0 && in != fd)
		close(in);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc;
}

int cmd_restore(int argc, char **argv)
{
	struct load L = { .cmd = "restore" };
	int rc = load_args(&L, argc, argv, help_restore);
	if (rc)
		return rc < 0 ? CLI_OK : rc;
	if (argc - optind != 2)
		return cli_usage("restore", "expected BACKUP STORE");
	L.store = argv[optind + 1];
	if (access(L.store, F_OK) == 0 && !L.force) {
		fprintf(stderr, "daxkv restore: %s: exists (--force replaces it)\n", L.store);
		return CLI_ERROR;
	}
	L.src = argv[optind];
	int fd = open(argv[optind], O_RDONLY | O_CLOEXEC), in = fd;
	struct stat st;
	if (fd < 0) {
		fprintf(stderr, "daxkv restore: %s: %s\n", argv[optind], strerror(errno));
		return CLI_ERROR;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		in = spool("restore", fd);
	rc = in < 0 ? CLI_ERROR : verify(&L, in);
	if (!rc && access(L.store, F_OK) == 0 && unlink(L.store)) {
		fprintf(stderr, "daxkv restore: %s: remove: %s\n", L.store, strerror(errno));
		rc = CLI_ERROR;
	}
	if (!rc)
		rc = load_into(&L, in, 1);
	dump_r_close(&L.st);
	if (in >= 0 && in != fd)
		close(in);
	close(fd);
	return rc;
}

int cmd_backup(int argc, char **argv)
{
	static const struct option lo[] = { { "force", no_argument, NULL, 'f' },
					    { "help", no_argument, NULL, 'h' },
					    { NULL, 0, NULL, 0 } };
	int c, force = 0;
	while ((c = getopt_long(argc, argv, ":fh", lo, NULL)) != -1) {
		if (c == 'h')
			return cli_help(help_backup);
		if (c != 'f')
			return cli_badopt("backup", c, argv);
		force = 1;
	}
	if (argc - optind != 2)
		return cli_usage("backup", "expected STORE DEST");
	const char *dest = argv[optind + 1];
	if (!force && access(dest, F_OK) == 0) {
		fprintf(stderr, "daxkv backup: %s: exists (--force replaces it)\n", dest);
		return CLI_ERROR;
	}
	daxkv *db = NULL;
	int rc = cli_open("backup", argv[optind], OPEN_RO, NULL, &db);
	if (rc)
		return rc;
	int r = daxkv_backup(db, dest);
	if (r)
		rc = cli_fail("backup", r, dest);
	daxkv_close(db);
	return rc;
}
