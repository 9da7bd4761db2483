/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribd's own metrics: counters and latency histograms of CRI calls and
 * backend ops, kept with relaxed atomics (a call may be answered off the
 * loop), and their Prometheus text exposition (format 0.0.4).
 */
#ifndef CRIB_BROKER_METRICS_H
#define CRIB_BROKER_METRICS_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

/* Upper bounds in seconds, and +Inf. */
#define CRIB_HISTOGRAM_BUCKETS 18

struct crib_histogram {
	atomic_ullong buckets[CRIB_HISTOGRAM_BUCKETS + 1]; /* not cumulative; the last is +Inf */
	atomic_ullong sum_ns;
};

/* Enough for every enum crib_op_kind (op.c checks). */
#define CRIB_METRICS_OP_KINDS 40
/* gRPC status codes 0 (OK) to 16 (UNAUTHENTICATED). */
#define CRIB_METRICS_CODES 17

/* Per backend: latency of each op kind, and how many failed. */
struct crib_op_metrics {
	struct crib_histogram latency[CRIB_METRICS_OP_KINDS];
	atomic_ullong errors[CRIB_METRICS_OP_KINDS];
};

struct crib_metrics;

/* N_METHODS: CRI methods counted by index.  The caller owns the result (crib_metrics_free). */
struct crib_metrics *crib_metrics_new(unsigned n_methods);
void crib_metrics_free(struct crib_metrics *m);

void crib_histogram_observe(struct crib_histogram *h, int64_t ns);

/* A CRI call answered with CODE after NS; any thread. */
void crib_metrics_cri_call(struct crib_metrics *m, unsigned method, unsigned code, int64_t ns);
/* A backend op of KIND that returned R after NS. */
void crib_metrics_op(struct crib_op_metrics *om, unsigned kind, int r, int64_t ns);

/*
 * Writes the daemon's families: CRI calls by method and code, their latency,
 * calls in flight, process memory and uptime.  METHOD_NAMES label the
 * methods (N_METHODS of them).
 */
void crib_metrics_write_daemon(FILE *f, const struct crib_metrics *m,
                               const char *const *method_names, unsigned in_flight,
                               int64_t started_at_ns);

/*
 * Writes backend op latency and failures for N backends (NAMES[i] owns
 * OMS[i]), each op kind labelled with OP_NAMES; kinds never run are left out.
 */
void crib_metrics_write_ops(FILE *f, const char *const *names,
                            const struct crib_op_metrics *const *oms, size_t n,
                            const char *const *op_names, unsigned n_ops);

/* A label value as the exposition format wants it (\\, \", \n escaped). */
void crib_metrics_write_label(FILE *f, const char *name, const char *value);

#endif /* CRIB_BROKER_METRICS_H */
