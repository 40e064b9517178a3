/*
 * monitor.c -- the clock of a pass, on the main thread while the workers run:
 * ends the ramp (measuring starts: CPU and daxkv counters are sampled), stops the
 * workers at runtime, writes the per-second log (--write_lat_log) and, when stderr
 * is a terminal, a one-line progress/ETA display.
 *
 * The per-second latencies come from snapshots of the workers' cumulative
 * histograms: this second's histogram is the difference of two snapshots, so the
 * workers never stop, lock or reset anything.
 *
 * Log format (whitespace-separated, '#' header; gnuplot reads it as is):
 *   time_s ops_per_s mib_per_s p50_us p99_us p999_us
 * and, for daxkv, after those:
 *   segments_free segment_size live_bytes dead_bytes bytes_written gc_bytes_moved gc_passes
 *
 * fio's own log format, for fio's tools (fio2gnuplot), as fio writes with
 * log_avg_msec=1000: "msec, value, ddir, bs, offset" per direction that ran in
 * the second; value is KiB/s (PREFIX_bw.N.log) or the mean latency in ns
 * (PREFIX_lat.N.log); ddir 0 read, 1 write, 2 delete (fio's trim), 3 scan; bs is
 * ks + bs (bytes per record); offset is 0.
 */
#include "run.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 100000000ull      /* 100 ms */
#define LOG_NS 1000000000ull      /* one line a second */
#define PROGRESS_NS 500000000ull

struct mon {
	struct pass *p;
	FILE *log, *fio_lat, *fio_bw;
	const char *label;
	int tty;
	struct hist *prev, *cur, *delta;
	struct hist *prevd[DIR__COUNT]; /* fio logs: per direction */
	uint64_t prev_bytes_d[DIR__COUNT];
	uint64_t prev_bytes, prev_ops_all, t_start, t_last_log, t_last_prog, t_last_status;
};

static void start_measuring(struct pass *p, uint64_t now)
{
	p->t_measure_ns = now;
	getrusage(RUSAGE_SELF, &p->ru0);
	if (p->ops->stats && p->ops->stats(p->s->eng, &p->st0) == KV_OK)
		p->have_st0 = 1;
	atomic_store(&p->measuring, true);
}

static uint64_t sum_ops_all(const struct pass *p)
{
	uint64_t n = 0;
	for (unsigned t = 0; t < p->nw; t++)
		n += __atomic_load_n(&p->w[t].ops_all, __ATOMIC_RELAXED);
	return n;
}

static void log_header(struct mon *m)
{
	fprintf(m->log, "# daxkv-bench per-second log: job %s\n", m->label);
	fprintf(m->log, "# time_s ops_per_s mib_per_s p50_us p99_us p999_us%s\n",
		m->p->ops->stats ? " segments_free segment_size live_bytes dead_bytes bytes_written "
				   "gc_bytes_moved gc_passes"
				 : "");
}

static void log_line(struct mon *m, uint64_t now)
{
	struct pass *p = m->p;
	double dt = (double)(now - m->t_last_log) / 1e9;
	uint64_t bytes = 0;
	hist_init(m->cur);
	m->cur->min_ns = 0;
	for (unsigned t = 0; t < p->nw; t++)
		for (int d = 0; d < DIR__COUNT; d++) {
			hist_add_snapshot(m->cur, p->w[t].h[d]);
			bytes += __atomic_load_n(&p->w[t].bytes[d], __ATOMIC_RELAXED);
		}
	hist_delta(m->delta, m->cur, m->prev);
	struct hist *tmp = m->prev;
	m->prev = m->cur;
	m->cur = tmp;
	fprintf(m->log, "%.3f %.1f %.3f %.3f %.3f %.3f", (double)(now - p->t_measure_ns) / 1e9,
		(double)m->delta->count / dt, (double)(bytes - m->prev_bytes) / dt / 1048576.0,
		(double)hist_quantile(m->delta, 0.50) / 1e3,
		(double)hist_quantile(m->delta, 0.99) / 1e3,
		(double)hist_quantile(m->delta, 0.999) / 1e3);
	m->prev_bytes = bytes;
	struct kv_stats st;
	if (p->ops->stats && p->ops->stats(p->s->eng, &st) == KV_OK)
		fprintf(m->log, " %llu %llu %llu %llu %llu %llu %llu",
			(unsigned long long)st.segments_free, (unsigned long long)st.segment_size,
			(unsigned long long)st.live_bytes, (unsigned long long)st.dead_bytes,
			(unsigned long long)st.bytes_written, (unsigned long long)st.gc_bytes_moved,
			(unsigned long long)st.gc_passes);
	fputc('\n', m->log);
	fflush(m->log);
}

/* Mean of a histogram from its buckets (a snapshot has no sums). */
static double bucket_mean(const struct hist *h)
{
	double sum = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		if (h->buckets[i])
			sum += (double)h->buckets[i] * (double)hist_bucket_value(i);
	return h->count ? sum / (double)h->count : 0;
}

static void fio_log_lines(struct mon *m, uint64_t now)
{
	struct pass *p = m->p;
	double dt = (double)(now - m->t_last_log) / 1e9;
	unsigned long long ms = (now - p->t_measure_ns) / 1000000u;
	unsigned long long rec = p->j->ks + p->j->bs;
	for (int d = 0; d < DIR__COUNT; d++) {
		uint64_t bytes = 0;
		hist_init(m->cur);
		m->cur->min_ns = 0;
		for (unsigned t = 0; t < p->nw; t++) {
			hist_add_snapshot(m->cur, p->w[t].h[d]);
			bytes += __atomic_load_n(&p->w[t].bytes[d], __ATOMIC_RELAXED);
		}
		hist_delta(m->delta, m->cur, m->prevd[d]);
		memcpy(m->prevd[d], m->cur, sizeof(*m->cur));
		uint64_t db = bytes - m->prev_bytes_d[d];
		m->prev_bytes_d[d] = bytes;
		if (!m->delta->count || dt <= 0)
			continue;
		if (m->fio_bw)
			fprintf(m->fio_bw, "%llu, %llu, %d, %llu, 0\n", ms,
				(unsigned long long)((double)db / dt / 1024.0 + 0.5), d, rec);
		if (m->fio_lat)
			fprintf(m->fio_lat, "%llu, %llu, %d, %llu, 0\n", ms,
				(unsigned long long)(bucket_mean(m->delta) + 0.5), d, rec);
	}
}

/* --status-interval: what the job did so far, one line. */
static void status_line(struct mon *m, uint64_t now)
{
	struct pass *p = m->p;
	FILE *f = p->ro->status_out ? p->ro->status_out : stderr;
	double el = (double)(now - p->t_measure_ns) / 1e9;
	fprintf(f, "status: %s: %.1fs measured", m->label, el);
	for (int d = 0; d < DIR__COUNT; d++) {
		uint64_t ops = 0, bytes = 0;
		for (unsigned t = 0; t < p->nw; t++) {
			ops += __atomic_load_n(&p->w[t].ops[d], __ATOMIC_RELAXED);
			bytes += __atomic_load_n(&p->w[t].bytes[d], __ATOMIC_RELAXED);
		}
		if (ops && el > 0)
			fprintf(f, ", %s: IOPS=%.0f BW=%.1fMiB/s", dir_name((enum dir)d),
				(double)ops / el, (double)bytes / el / 1048576.0);
	}
	fputc('\n', f);
	fflush(f);
	m->t_last_status = now;
}

/* Fraction of the pass done, from whichever limit is known. */
static double done_fraction(const struct pass *p, uint64_t now, uint64_t t_start)
{
	const struct job *j = p->j;
	double f = 0;
	if (!p->preload && j->runtime_s > 0)
		f = (double)(now - t_start) / 1e9 / (j->runtime_s + j->ramp_s);
	if (p->budget_total != BUDGET_UNLIMITED && p->budget_total > 0) {
		int64_t left = atomic_load(&p->budget);
		double g = 1.0 - (double)(left > 0 ? left : 0) / (double)p->budget_total;
		f = g > f ? g : f;
	}
	if (p->rw == RW_RANDWRITE || p->rw == RW_SEQWRITE || p->rw == RW_DELETE) {
		double g = (double)atomic_load(&p->cursor) / (double)p->s->nrkeys;
		f = g > f ? g : f;
	}
	return f > 1 ? 1 : f;
}

static void progress(struct mon *m, uint64_t now)
{
	uint64_t ops = sum_ops_all(m->p);
	double dt = (double)(now - m->t_last_prog) / 1e9;
	double rate = dt > 0 ? (double)(ops - m->prev_ops_all) / dt : 0;
	double f = done_fraction(m->p, now, m->t_start);
	double el = (double)(now - m->t_start) / 1e9;
	double eta = f > 0.001 ? el / f - el : 0;
	unsigned e = (unsigned)(eta + 0.5);
	fprintf(stderr, "\r%s: [%c] [%5.1f%% done] [%.1fk ops/s] [eta %02um:%02us]\033[K", m->label,
		m->p->preload ? 'P' : atomic_load(&m->p->measuring) ? 'R' : 'r', f * 100.0,
		rate / 1e3, e / 60, e % 60);
	fflush(stderr);
	m->prev_ops_all = ops;
	m->t_last_prog = now;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};
	nanosleep(&ts, NULL);
}

/* One second of every log. */
static void log_tick(struct mon *m, uint64_t now)
{
	if (m->fio_lat || m->fio_bw)
		fio_log_lines(m, now);
	if (m->log)
		log_line(m, now);
	m->t_last_log = now;
}

static void tick(struct mon *m, uint64_t now)
{
	struct pass *p = m->p;
	const struct job *j = p->j;
	bool meas = atomic_load(&p->measuring);
	if (!p->preload && !meas && now - m->t_start >= (uint64_t)(j->ramp_s * 1e9)) {
		start_measuring(p, now);
		m->t_last_log = now;
		m->t_last_status = now;
		meas = true;
	}
	if (meas && j->runtime_s > 0 && now - p->t_measure_ns >= (uint64_t)(j->runtime_s * 1e9))
		atomic_store(&p->stop, true);
	if (meas && now - m->t_last_log >= LOG_NS)
		log_tick(m, now);
	if (meas && p->ro->status_s > 0 &&
	    now - m->t_last_status >= (uint64_t)(p->ro->status_s * 1e9))
		status_line(m, now);
	if (m->tty && now - m->t_last_prog >= PROGRESS_NS)
		progress(m, now);
}

static int want_tty(const struct pass *p)
{
	switch (p->ro->eta) {
	case ETA_ALWAYS: return 1;
	case ETA_NEVER: return 0;
	default: return isatty(STDERR_FILENO);
	}
}

static int mon_alloc(struct mon *m)
{
	if (!m->log && !m->fio_lat && !m->fio_bw)
		return 0;
	m->prev = malloc(sizeof(struct hist));
	m->cur = malloc(sizeof(struct hist));
	m->delta = malloc(sizeof(struct hist));
	int bad = !m->prev || !m->cur || !m->delta;
	for (int d = 0; d < DIR__COUNT; d++) {
		m->prevd[d] = malloc(sizeof(struct hist));
		bad |= !m->prevd[d];
		if (m->prevd[d])
			hist_init(m->prevd[d]);
	}
	if (bad) {
		fprintf(stderr, "daxkv-bench: out of memory: no per-second log\n");
		m->log = m->fio_lat = m->fio_bw = NULL;
		return -1;
	}
	hist_init(m->prev);
	if (m->log)
		log_header(m);
	return 0;
}

void monitor_run(struct pass *p, const struct pass_logs *logs, const char *label)
{
	struct mon m = {.p = p, .log = logs->lat, .fio_lat = logs->fio_lat,
			.fio_bw = logs->fio_bw, .label = label, .tty = want_tty(p)};
	mon_alloc(&m);
	/* Without a ramp, measuring is on before the workers start, and the window
	 * starts then: a worker may finish before this thread runs again. */
	int from_start = !p->preload && p->j->ramp_s <= 0;
	if (from_start)
		start_measuring(p, now_ns());
	pthread_barrier_wait(&p->barrier);
	m.t_start = m.t_last_prog = now_ns();
	if (from_start)
		m.t_last_log = m.t_last_status = p->t_measure_ns;
	while (atomic_load(&p->done) < p->nw) {
		sleep_ns(TICK_NS);
		tick(&m, now_ns());
	}
	uint64_t end = now_ns();
	/* The last partial second, when there is one worth a line. */
	if (atomic_load(&p->measuring) && end - m.t_last_log >= LOG_NS / 5)
		log_tick(&m, end);
	if (m.tty)
		fprintf(stderr, "\r\033[K");
	free(m.prev);
	free(m.cur);
	free(m.delta);
	for (int d = 0; d < DIR__COUNT; d++)
		free(m.prevd[d]);
}
