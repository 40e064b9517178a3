/*
 * run.h -- what runner.c, worker.c and monitor.c share while one job runs: the
 * pass (one set of threads over one store), its workers, and the monitor.
 *
 * Ownership: the runner allocates the pass and the workers and joins them; each
 * worker writes only its own histograms and counters (single writer, relaxed
 * atomics where the monitor reads them live); the monitor owns the clock (ramp,
 * stop), the per-second log and the progress line.
 */
#ifndef DKB_RUN_H
#define DKB_RUN_H

#include "bench.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/resource.h>

#define BUDGET_UNLIMITED INT64_MAX

struct worker;

struct pass {
	const struct job *j;
	struct store *s;
	const struct kv_engine *ops;
	enum rw_kind rw;
	int preload; /* the unmeasured load: never measuring, no log */
	unsigned rep;
	struct zipf zipf;
	struct perm scramble; /* zipf rank -> key number */
	struct perm order;    /* unique inserts and deletes: visiting order */
	enum key_dist kd;
	_Atomic uint64_t cursor; /* next position of the unique walk over [0, nrkeys) */
	_Atomic int64_t budget;  /* operations left; BUDGET_UNLIMITED */
	int64_t budget_total;
	atomic_bool stop;
	atomic_bool measuring;
	atomic_uint done;        /* workers that have finished */
	pthread_barrier_t barrier; /* workers + the monitor */
	struct worker *w;
	unsigned nw;
	const struct run_opts *ro; /* never NULL */
	/* set by the monitor */
	uint64_t t_measure_ns;
	struct rusage ru0;
	int have_st0;
	struct kv_stats st0;
};

struct worker {
	struct pass *p;
	pthread_t th;
	unsigned tid;
	struct hist *h[DIR__COUNT];
	uint64_t ops[DIR__COUNT];   /* measured; relaxed atomics (the monitor reads them) */
	uint64_t bytes[DIR__COUNT];
	uint64_t keys_scanned;
	uint64_t not_found[DIR__COUNT];
	uint64_t verify_errors, engine_errors;
	uint64_t ops_all;           /* every operation, measured or not (progress) */
	uint64_t t_end_ns;
	/* This thread's CPU over its measured window (fio's usr/sys are per thread). */
	int cpu_started;
	uint64_t t_cpu0_ns;
	struct rusage ru0, ru1;
};

uint64_t now_ns(void);
void *worker_main(void *arg);
int rw_reads_existing(enum rw_kind rw); /* needs a loaded store */
int rw_writes(enum rw_kind rw);
int rw_needs_scan(enum rw_kind rw);

/* The logs a pass writes (each may be NULL). */
struct pass_logs {
	FILE *lat, *fio_lat, *fio_bw;
};

/* Runs the clock until the pass ends. */
void monitor_run(struct pass *p, const struct pass_logs *logs, const char *label);

#endif
