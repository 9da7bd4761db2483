/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "rpc.h"
#include "util.h"

/* Seconds; CRI calls run from microseconds (lists) to a minute (pulls, stops). */
static const double bucket_bounds[CRIB_HISTOGRAM_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60,
};

struct crib_metrics {
	unsigned n_methods;
	atomic_ullong *calls;           /* [method][code] */
	struct crib_histogram *latency; /* [method] */
};

struct crib_metrics *crib_metrics_new(unsigned n_methods)
{
	struct crib_metrics *m = crib_xcalloc(1, sizeof(*m));

	m->n_methods = n_methods;
	m->calls = crib_xcalloc((size_t)n_methods * CRIB_METRICS_CODES, sizeof(*m->calls));
	m->latency = crib_xcalloc(n_methods, sizeof(*m->latency));
	return m;
}

void crib_metrics_free(struct crib_metrics *m)
{
	if (!m)
		return;
	free(m->calls);
	free(m->latency);
	free(m);
}

void crib_histogram_observe(struct crib_histogram *h, int64_t ns)
{
	double s = (double)ns / 1e9;
	size_t i = 0;

	if (ns < 0)
		ns = 0;
	while (i < CRIB_HISTOGRAM_BUCKETS && s > bucket_bounds[i])
		i++;
	atomic_fetch_add_explicit(&h->buckets[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, (unsigned long long)ns, memory_order_relaxed);
}

void crib_metrics_cri_call(struct crib_metrics *m, unsigned method, unsigned code, int64_t ns)
{
	if (method >= m->n_methods)
		return;
	if (code >= CRIB_METRICS_CODES)
		code = 2; /* UNKNOWN */
	atomic_fetch_add_explicit(&m->calls[method * CRIB_METRICS_CODES + code], 1,
	                          memory_order_relaxed);
	crib_histogram_observe(&m->latency[method], ns);
}

void crib_metrics_op(struct crib_op_metrics *om, unsigned kind, int r, int64_t ns)
{
	if (kind >= CRIB_METRICS_OP_KINDS)
		return;
	crib_histogram_observe(&om->latency[kind], ns);
	if (r < 0)
		atomic_fetch_add_explicit(&om->errors[kind], 1, memory_order_relaxed);
}

/* Exposition. */

void crib_metrics_write_label(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%s=\"", name);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fputc('\\', f);
		if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static unsigned long long load(const atomic_ullong *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static unsigned long long histogram_count(const struct crib_histogram *h)
{
	unsigned long long n = 0;

	for (size_t i = 0; i <= CRIB_HISTOGRAM_BUCKETS; i++)
		n += load(&h->buckets[i]);
	return n;
}

/* The samples of one histogram; LABELS ("a=\"b\",") go before "le". */
static void write_histogram(FILE *f, const char *name, const char *labels,
                            const struct crib_histogram *h)
{
	unsigned long long cum = 0;

	for (size_t i = 0; i < CRIB_HISTOGRAM_BUCKETS; i++) {
		cum += load(&h->buckets[i]);
		fprintf(f, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bucket_bounds[i], cum);
	}
	cum += load(&h->buckets[CRIB_HISTOGRAM_BUCKETS]);
	fprintf(f, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, cum);
	fprintf(f, "%s_sum{%.*s} %.9f\n", name, (int)(labels[0] ? strlen(labels) - 1 : 0), labels,
	        (double)load(&h->sum_ns) / 1e9);
	fprintf(f, "%s_count{%.*s} %llu\n", name, (int)(labels[0] ? strlen(labels) - 1 : 0), labels,
	        cum);
}

/* Resident set size in bytes, from /proc/self/statm. */
static unsigned long long rss_bytes(void)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

static void write_calls(FILE *f, const struct crib_metrics *m, const char *const *method_names)
{
	family(f, "crib_cri_requests_total", "counter", "CRI calls answered, by method and code.");
	for (unsigned i = 0; i < m->n_methods; i++)
		for (unsigned c = 0; c < CRIB_METRICS_CODES; c++) {
			unsigned long long n = load(&m->calls[i * CRIB_METRICS_CODES + c]);

			if (n)
				fprintf(
				    f, "crib_cri_requests_total{method=\"%s\",code=\"%s\"} %llu\n",
				    method_names[i], crib_grpc_code_name((grpc_status_code)c), n);
		}
	family(f, "crib_cri_request_duration_seconds", "histogram",
	       "Time from a CRI call's arrival to its answer.");
	for (unsigned i = 0; i < m->n_methods; i++) {
		_cleanup_free_ char *labels = NULL;

		if (!histogram_count(&m->latency[i]))
			continue;
		labels = crib_xasprintf("method=\"%s\",", method_names[i]);
		write_histogram(f, "crib_cri_request_duration_seconds", labels, &m->latency[i]);
	}
}

void crib_metrics_write_daemon(FILE *f, const struct crib_metrics *m,
                               const char *const *method_names, unsigned in_flight,
                               int64_t started_at_ns)
{
	write_calls(f, m, method_names);
	family(f, "crib_grpc_requests_in_flight", "gauge",
	       "CRI calls received and not yet answered.");
	fprintf(f, "crib_grpc_requests_in_flight %u\n", in_flight);
	family(f, "process_resident_memory_bytes", "gauge", "cribd's resident memory.");
	fprintf(f, "process_resident_memory_bytes %llu\n", rss_bytes());
	family(f, "process_start_time_seconds", "gauge", "When cribd started, since the epoch.");
	fprintf(f, "process_start_time_seconds %.3f\n", (double)started_at_ns / 1e9);
	family(f, "crib_uptime_seconds", "gauge", "Seconds since cribd started.");
	fprintf(f, "crib_uptime_seconds %.3f\n", (double)(crib_now_ns() - started_at_ns) / 1e9);
}

void crib_metrics_write_ops(FILE *f, const char *const *names,
                            const struct crib_op_metrics *const *oms, size_t n,
                            const char *const *op_names, unsigned n_ops)
{
	family(f, "crib_backend_op_duration_seconds", "histogram",
	       "Time backend operations took, by backend and op.");
	for (size_t b = 0; b < n; b++)
		for (unsigned k = 0; k < n_ops && k < CRIB_METRICS_OP_KINDS; k++) {
			_cleanup_free_ char *labels = NULL;

			if (!op_names[k] || !histogram_count(&oms[b]->latency[k]))
				continue;
			labels = crib_xasprintf("backend=\"%s\",op=\"%s\",", names[b], op_names[k]);
			write_histogram(f, "crib_backend_op_duration_seconds", labels,
			                &oms[b]->latency[k]);
		}
	family(f, "crib_backend_op_errors_total", "counter",
	       "Backend operations that failed, by backend and op.");
	for (size_t b = 0; b < n; b++)
		for (unsigned k = 0; k < n_ops && k < CRIB_METRICS_OP_KINDS; k++)
			if (op_names[k] && histogram_count(&oms[b]->latency[k]))
				fprintf(
				    f,
				    "crib_backend_op_errors_total{backend=\"%s\",op=\"%s\"} %llu\n",
				    names[b], op_names[k], load(&oms[b]->errors[k]));
}
