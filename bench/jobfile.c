/*
 * jobfile.c -- where jobs come from: the command line and INI job files.
 *
 * As fio: options before the first --name= are global; --name= starts a job and
 * the options after it are that job's.  A job file has [global] and one section
 * per job; a section starts as a copy of the global options read so far.  Options
 * given on the command line before any --name= apply to every job, the job
 * file's included (the command line wins).  Job-file values may use ${VAR} (the
 * environment), as fio's do, and a bare boolean key (time_based) means key=1.
 *
 * INI parsing: libinih, a small, well-kept library packaged by Debian (libinih-dev);
 * the text is expanded first (variables, bare flags, a marker key after each
 * section header so that a section without keys still makes a job).
 */
#include "bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#define SECTION_MARK "__daxkv_bench_section_start"

/* ---- growing strings ------------------------------------------------------------------ */

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* ---- job-file text: ${VAR}, bare flags, section markers ------------------------------- */

/* Appends line (without its newline) with ${VAR} expanded; -1 on an unset variable.
 * ${VAR:-default} (daxkv's extension, as the shell's) takes default when VAR is
 * unset or empty, so a shipped job file runs as shipped. */
static int expand_vars(struct sbuf *out, const char *line, size_t n, char *err)
{
	size_t i = 0;
	while (i < n) {
		if (line[i] == '$' && i + 1 < n && line[i + 1] == '{') {
			const char *close = memchr(line + i, '}', n - i);
			if (!close)
				return opt_fail(err, "unterminated ${");
			char name[128];
			size_t len = (size_t)(close - (line + i + 2));
			if (len == 0 || len >= sizeof(name))
				return opt_fail(err, "bad variable name");
			memcpy(name, line + i + 2, len);
			name[len] = '\0';
			char *dflt = strstr(name, ":-");
			if (dflt) {
				*dflt = '\0';
				dflt += 2;
			}
			const char *v = getenv(name);
			if (dflt && (!v || !*v))
				v = dflt;
			if (!v)
				return opt_fail(err, "${%s} is not set in the environment (or write "
						     "${%s:-DEFAULT})", name, name);
			sb_add(out, v, strlen(v));
			i = (size_t)(close - line) + 1;
			continue;
		}
		sb_add(out, line + i, 1);
		i++;
	}
	return 0;
}

/* Line map: entry k = the line of the named job file that output line k came from
 * (an included file's lines map to their include line). */
struct lmap {
	unsigned *v;
	size_t n, cap;
	int oom;
};

static void lmap_add(struct lmap *m, unsigned src)
{
	if (m->oom)
		return;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		unsigned *v = realloc(m->v, cap * sizeof(*v));
		if (!v) {
			m->oom = 1;
			return;
		}
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = src;
}

/* Rewrites one expanded line into out. */
static void rewrite_line(struct sbuf *out, const char *l, unsigned src, struct lmap *map)
{
	size_t a = strspn(l, " \t\r"), z = strlen(l);
	while (z > a && (l[z - 1] == ' ' || l[z - 1] == '\t' || l[z - 1] == '\r'))
		z--;
	char word[128];
	size_t wl = z - a;
	int bare = wl > 0 && wl < sizeof(word) && !memchr(l + a, '=', wl) &&
		   !memchr(l + a, ':', wl) && l[a] != ';' && l[a] != '#' && l[a] != '[';
	if (bare) {
		memcpy(word, l + a, wl);
		word[wl] = '\0';
	}
	sb_add(out, l, strlen(l));
	if (bare && opt_is_flag(word))
		sb_add(out, "=1", 2);
	sb_add(out, "\n", 1);
	lmap_add(map, src);
	if (wl > 1 && l[a] == '[' && l[z - 1] == ']') {
		sb_add(out, SECTION_MARK "=1\n", strlen(SECTION_MARK) + 3);
		lmap_add(map, src);
	}
}

#define INCLUDE_DEPTH 8

static int read_all(const char *path, struct sbuf *b, char *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return opt_fail(err, "%s: %s", path, strerror(errno));
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sb_add(b, chunk, n);
	int rd_err = ferror(f);
	fclose(f);
	sb_add(b, "", 0);
	if (rd_err || b->oom)
		return opt_fail(err, "%s: cannot read it", path);
	return 0;
}

static int prepare(struct sbuf *out, struct lmap *map, const char *text, const char *path,
		   unsigned depth, unsigned at, char *err);

/* fio's "include FILE": the file's text in place of the line; a relative name is
 * taken from the including file's directory, as fio does. */
static int include_file(struct sbuf *out, struct lmap *map, const char *name, const char *from,
			unsigned depth, unsigned at, char *err)
{
	char path[PATH_MAX];
	const char *slash = from ? strrchr(from, '/') : NULL;
	int n = name[0] != '/' && slash ?
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - from), from, name) :
		snprintf(path, sizeof(path), "%s", name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return opt_fail(err, "include %s: name too long", name);
	if (depth >= INCLUDE_DEPTH)
		return opt_fail(err, "include %s: more than %d levels (a loop?)", name,
				INCLUDE_DEPTH);
	struct sbuf b = {0};
	char sub[ERR_LEN];
	int rc = read_all(path, &b, sub);
	if (rc == 0)
		rc = prepare(out, map, b.p, path, depth + 1, at, sub);
	free(b.p);
	return rc ? opt_fail(err, "include: %s", sub) : 0;
}

/* The name after "include", or NULL when the line is not an include. */
static const char *include_name(char *l)
{
	l += strspn(l, " \t");
	if (strncmp(l, "include", 7) != 0 || (l[7] != ' ' && l[7] != '\t') || strchr(l, '='))
		return NULL;
	l += 7 + strspn(l + 7, " \t");
	size_t z = strlen(l);
	while (z > 0 && (l[z - 1] == ' ' || l[z - 1] == '\t' || l[z - 1] == '\r'))
		l[--z] = '\0';
	return *l ? l : NULL;
}

/* Appends text, ready for inih, to out.  at: 0 for the named job file (its lines
 * map to themselves), else the include line every line maps to. */
static int prepare(struct sbuf *out, struct lmap *map, const char *text, const char *path,
		   unsigned depth, unsigned at, char *err)
{
	struct sbuf line = {0};
	unsigned src = 0;
	int rc = 0;
	const char *p = text;
	while (*p && rc == 0) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		src++;
		line.len = 0;
		sb_add(&line, "", 0);
		char sub[ERR_LEN];
		size_t lead = strspn(p, " \t");
		int comment = lead < n && (p[lead] == ';' || p[lead] == '#');
		const char *inc = NULL;
		if (comment)
			sb_add(&line, p, n);
		else if (expand_vars(&line, p, n, sub) != 0)
			rc = opt_fail(err, "line %u: %s", src, sub);
		if (rc == 0 && !comment && line.p && (inc = include_name(line.p)) &&
		    include_file(out, map, inc, path, depth, at ? at : src, sub) != 0)
			rc = opt_fail(err, "line %u: %s", src, sub);
		if (rc == 0 && !inc)
			rewrite_line(out, line.p ? line.p : "", at ? at : src, map);
		p += n + (nl ? 1 : 0);
	}
	if (rc == 0 && (out->oom || line.oom || map->oom))
		rc = opt_fail(err, "out of memory");
	free(line.p);
	return rc;
}

/* ---- inih callback -------------------------------------------------------------------- */

struct ini_ctx {
	struct bench_cfg *c;
	struct job *cur;
	char err[ERR_LEN];
	int failed;
};

static int jobfile_handler(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	struct bench_cfg *c = x->c;
	if (x->failed)
		return 0;
	if (!name) /* a library built with INI_CALL_HANDLER_ON_NEW_SECTION: the marker does it */
		return 1;
	if (strcmp(name, SECTION_MARK) == 0) {
		if (strcmp(section, "global") == 0) {
			x->cur = &c->global;
			return 1;
		}
		if (c->njobs == MAX_JOBS) {
			opt_fail(x->err, "more than %d jobs", MAX_JOBS);
			x->failed = 1;
			return 0;
		}
		x->cur = &c->jobs[c->njobs++];
		*x->cur = c->global;
		if (!*section || strlen(section) >= sizeof(x->cur->name)) {
			opt_fail(x->err, "section name '%s': empty or too long", section);
			x->failed = 1;
			return 0;
		}
		snprintf(x->cur->name, sizeof(x->cur->name), "%s", section);
		return 1;
	}
	if (opt_set(c, x->cur, name, value, x->err) != 0) {
		x->failed = 1;
		return 0;
	}
	return 1;
}

/* path: the file text came from (includes are relative to it), or NULL. */
static int parse_text(struct bench_cfg *c, const char *text, const char *path, char *err)
{
	struct sbuf out = {0};
	struct lmap map = {0};
	char sub[ERR_LEN];
	int rc = prepare(&out, &map, text, path, 0, 0, sub);
	sb_add(&out, "", 0);
	if (rc != 0 || out.oom) {
		rc = rc ? opt_fail(err, "%s", sub) : opt_fail(err, "out of memory");
		goto out;
	}
	struct ini_ctx x = {.c = c, .cur = &c->global};
	int line = ini_parse_string(out.p, jobfile_handler, &x);
	if (line > 0) {
		unsigned src = (size_t)line <= map.n ? map.v[line - 1] : (unsigned)line;
		if (x.failed)
			rc = opt_fail(err, "line %u: %s", src, x.err);
		else
			rc = opt_fail(err, "line %u: syntax error (expected [section] or key=value)", src);
	} else if (line < 0) {
		rc = opt_fail(err, "out of memory");
	}
out:
	free(out.p);
	free(map.v);
	return rc;
}

int cfg_parse_jobstring(struct bench_cfg *c, const char *text, char *err)
{
	return parse_text(c, text, NULL, err);
}

int cfg_parse_jobfile(struct bench_cfg *c, const char *path, char *err)
{
	struct sbuf b = {0};
	char sub[ERR_LEN];
	int rc = read_all(path, &b, sub);
	if (rc != 0) {
		free(b.p);
		return opt_fail(err, "job file %s", sub);
	}
	rc = parse_text(c, b.p, path, sub);
	free(b.p);
	if (rc != 0)
		return opt_fail(err, "job file %s: %s", path, sub);
	return 0;
}

/* ---- the command line ------------------------------------------------------------------- */

struct cli_opt {
	const char *key; /* points into argv (up to '=') */
	size_t keylen;
	const char *val;
	int job; /* -1: global, else index of the --name= job */
};

static void join_command(struct bench_cfg *c, int argc, char **argv)
{
	size_t pos = 0;
	for (int i = 0; i < argc && pos + 4 < sizeof(c->command); i++) {
		const char *a = argv[i];
		int plain = *a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789-_=,./:+%@") == strlen(a);
		int n = snprintf(c->command + pos, sizeof(c->command) - pos, plain ? "%s%s" : "%s'%s'",
				 i ? " " : "", a);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
	if (pos >= sizeof(c->command))
		c->command[sizeof(c->command) - 1] = '\0';
}

static int is_run_level(const struct cli_opt *o)
{
	char k[128];
	snprintf(k, sizeof(k), "%.*s", (int)(o->keylen < 127 ? o->keylen : 127), o->key);
	return opt_is_run_level(k);
}

static int apply_opt(struct bench_cfg *c, struct job *j, const struct cli_opt *o, char *err)
{
	char key[128];
	if (o->keylen >= sizeof(key))
		return opt_fail(err, "option name too long");
	memcpy(key, o->key, o->keylen);
	key[o->keylen] = '\0';
	char sub[ERR_LEN];
	if (opt_set(c, j, key, o->val, sub) != 0)
		return opt_fail(err, "--%s", sub);
	return 0;
}

#define MAX_JOBFILES 16

/* Splits argv into options and job files; 0 or -1 with err.  fio's forms: --key=value,
 * and --key value for a key that takes a value. */
static int split_args(struct bench_cfg *c, int argc, char **argv, struct cli_opt *v, unsigned *nv,
		      const char **files, unsigned *nfiles, char *names[], unsigned *nnames,
		      char *err)
{
	int job = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (a[0] == '-')
				return opt_fail(err, "unknown option '%s' (options are --key=value)", a);
			if (*nfiles == MAX_JOBFILES)
				return opt_fail(err, "at most %d job files", MAX_JOBFILES);
			files[(*nfiles)++] = a;
			continue;
		}
		const char *key = a + 2, *eq = strchr(key, '=');
		size_t kl = eq ? (size_t)(eq - key) : strlen(key);
		char k[128];
		snprintf(k, sizeof(k), "%.*s", (int)(kl < 127 ? kl : 127), key);
		if (strcmp(k, "help") == 0 || strcmp(k, "list-engines") == 0 ||
		    strcmp(k, "version") == 0) {
			*(k[0] == 'h' ? &c->help : k[0] == 'v' ? &c->version : &c->list_engines) = 1;
			continue;
		}
		if (!opt_is_known(k))
			return opt_fail(err, "unknown option '--%s' (see --help)", k);
		const char *val = eq ? eq + 1 : NULL;
		if (!val && !opt_is_flag(k)) {
			if (i + 1 >= argc)
				return opt_fail(err, "--%s needs a value (--%s=VALUE)", k, k);
			val = argv[++i];
		}
		if (strcmp(k, "name") == 0) {
			if (*nnames == MAX_JOBS || !*val)
				return opt_fail(err, "--name: empty, or more than %d jobs", MAX_JOBS);
			names[(*nnames)++] = (char *)val;
			job = (int)*nnames - 1;
			continue;
		}
		/* Run-wide options (--output-format, --compare, ...) may come anywhere. */
		int where = opt_is_run_level(k) ? -1 : job;
		v[(*nv)++] = (struct cli_opt){key, kl, val ? val : "1", where};
	}
	return 0;
}

/* fio's reporting groups: stonewall or new_group on a job starts a new group once
 * the current one has a job. */
static void assign_groups(struct bench_cfg *c)
{
	unsigned g = 0;
	for (unsigned j = 0; j < c->njobs; j++) {
		if (j > 0 && (c->jobs[j].stonewall || c->jobs[j].new_group))
			g++;
		c->jobs[j].groupid = g;
	}
}

/* fio's --section: keep only the jobs named, in file order. */
static int keep_sections(struct bench_cfg *c, char *err)
{
	unsigned n = 0;
	char list[sizeof(c->sections) + 2];
	snprintf(list, sizeof(list), ",%s,", c->sections);
	for (unsigned j = 0; j < c->njobs; j++) {
		char needle[NAME_LEN + 2];
		snprintf(needle, sizeof(needle), ",%s,", c->jobs[j].name);
		if (strstr(list, needle))
			c->jobs[n++] = c->jobs[j];
	}
	if (n == 0)
		return opt_fail(err, "--section=%s: no such job", c->sections);
	c->njobs = n;
	return 0;
}

int cfg_parse_args(struct bench_cfg *c, int argc, char **argv, char *err)
{
	memset(c, 0, sizeof(*c));
	job_defaults(&c->global);
	c->reps = 1;
	c->fmt = OUT_NORMAL;
	join_command(c, argc, argv);
	struct cli_opt *v = calloc((size_t)argc + 1, sizeof(*v));
	char *names[MAX_JOBS];
	const char *files[MAX_JOBFILES];
	unsigned nv = 0, nnames = 0, nfiles = 0;
	int rc = -1;
	if (!v)
		return opt_fail(err, "out of memory");
	if (argc <= 1) {
		c->no_args = 1;
		rc = 0;
		goto out;
	}
	if (split_args(c, argc, argv, v, &nv, files, &nfiles, names, &nnames, err) != 0)
		goto out;
	for (unsigned i = 0; i < nv; i++)
		if (v[i].job < 0 && apply_opt(c, &c->global, &v[i], err) != 0)
			goto out;
	/* Several job files: read in turn, as fio does; each one after the first starts
	 * a new reporting group (fio puts a stonewall there). */
	for (unsigned f = 0; f < nfiles; f++) {
		unsigned first = c->njobs;
		if (cfg_parse_jobfile(c, files[f], err) != 0)
			goto out;
		if (f > 0 && c->njobs > first)
			c->jobs[first].stonewall = 1;
	}
	for (unsigned j = 0; j < c->njobs; j++) /* the command line wins over the file */
		for (unsigned i = 0; i < nv; i++)
			if (v[i].job < 0 && !is_run_level(&v[i]) &&
			    apply_opt(c, &c->jobs[j], &v[i], err) != 0)
				goto out;
	for (unsigned n = 0; n < nnames; n++) {
		if (c->njobs == MAX_JOBS) {
			opt_fail(err, "more than %d jobs", MAX_JOBS);
			goto out;
		}
		struct job *j = &c->jobs[c->njobs++];
		*j = c->global;
		snprintf(j->name, sizeof(j->name), "%s", names[n]);
		/* The command-line globals again (a job file's [global] may have changed
		 * c->global since), then the job's own options. */
		for (unsigned i = 0; i < nv; i++)
			if (v[i].job < 0 && !is_run_level(&v[i]) && apply_opt(c, j, &v[i], err) != 0)
				goto out;
		for (unsigned i = 0; i < nv; i++)
			if (v[i].job == (int)n && apply_opt(c, j, &v[i], err) != 0)
				goto out;
	}
	if (c->njobs == 0) { /* options only: one job, named after its workload */
		c->jobs[0] = c->global;
		snprintf(c->jobs[0].name, sizeof(c->jobs[0].name), "%s", rw_name(c->global.rw));
		c->njobs = 1;
	}
	assign_groups(c);
	if (c->sections[0] && keep_sections(c, err) != 0)
		goto out;
	rc = 0;
	for (unsigned j = 0; j < c->njobs && rc == 0; j++)
		rc = job_validate(&c->jobs[j], err);
out:
	free(v);
	return rc;
}
