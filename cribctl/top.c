/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "error.h"
#include "fmt.h"
#include "list.h"
#include "prom.h"
#include "table.h"
#include "top.h"
#include "util.h"
#include "view.h"

#define METRIC_CPU    "crib_container_cpu_usage_seconds_total"
#define METRIC_MEMORY "crib_container_memory_working_set_bytes"
#define METRIC_STATE  "crib_container_state"

/* Home, then erase the screen: a refresh in place on a terminal. */
#define CLEAR_SCREEN "\033[H\033[2J"

static struct crib_ctl_usage *usage_get(struct crib_ctl_usage_set *set, const char *id)
{
	struct crib_ctl_usage *u;

	HASH_FIND_STR(set->by_id, id, u);
	if (u)
		return u;
	u = crib_xcalloc(1, sizeof(*u));
	u->id = crib_xstrdup(id);
	u->cpu_seconds = NAN;
	u->memory_bytes = NAN;
	HASH_ADD_KEYPTR(hh, set->by_id, u->id, strlen(u->id), u);
	return u;
}

static int on_sample(const struct crib_ctl_prom_sample *s, void *userdata)
{
	struct crib_ctl_usage_set *set = userdata;
	const char *id = crib_ctl_prom_label(s, "id");
	const char *state = crib_ctl_prom_label(s, "state");

	if (isempty(id) || !isfinite(s->value) || s->value < 0)
		return 0;
	if (streq(s->name, METRIC_CPU)) {
		struct crib_ctl_usage *u = usage_get(set, id);

		u->cpu_seconds = s->value;
		u->cpu_at_ms = s->timestamp_ms;
	} else if (streq(s->name, METRIC_MEMORY))
		usage_get(set, id)->memory_bytes = s->value;
	else if (streq(s->name, METRIC_STATE) && state && s->value == 1)
		crib_strreplace(&usage_get(set, id)->state, state);
	return 0;
}

int crib_ctl_usage_parse(const char *text, size_t len, struct crib_ctl_usage_set *set)
{
	size_t bad = 0;
	int r;

	r = crib_ctl_prom_parse(text, len, on_sample, set, &bad);
	set->bad_lines += bad;
	return r;
}

const struct crib_ctl_usage *crib_ctl_usage_find(const struct crib_ctl_usage_set *set,
                                                 const char *id)
{
	struct crib_ctl_usage *u;

	if (!id)
		return NULL;
	HASH_FIND_STR(set->by_id, id, u);
	return u;
}

int64_t crib_ctl_usage_newest(const struct crib_ctl_usage_set *set)
{
	const struct crib_ctl_usage *u, *tmp;
	int64_t newest = 0;

	HASH_ITER (hh, set->by_id, u, tmp)
		if (u->cpu_at_ms > newest)
			newest = u->cpu_at_ms;
	return newest;
}

void crib_ctl_usage_clear(struct crib_ctl_usage_set *set)
{
	struct crib_ctl_usage *u, *tmp;

	HASH_ITER (hh, set->by_id, u, tmp) {
		HASH_DEL(set->by_id, u);
		free(u->id);
		free(u->state);
		free(u);
	}
	set->bad_lines = 0;
}

double crib_ctl_cpu_percent(double before, double after, double wall_seconds)
{
	if (!isfinite(before) || !isfinite(after) || !isfinite(wall_seconds) || wall_seconds <= 0 ||
	    after < before)
		return NAN;
	return 100.0 * (after - before) / wall_seconds;
}

static int compare_rows(const void *a, const void *b)
{
	const struct crib_ctl_top_row *x = a, *y = b;
	bool xk = !isnan(x->cpu_percent), yk = !isnan(y->cpu_percent);
	int r;

	if (xk != yk)
		return xk ? -1 : 1;
	if (xk && x->cpu_percent != y->cpu_percent)
		return x->cpu_percent > y->cpu_percent ? -1 : 1;
	r = strcmp(x->name, y->name);
	return r != 0 ? r : strcmp(x->id, y->id);
}

static const char *string_or_empty(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* The time between two CPU samples: as cribd took them when it says, else WALL. */
static double sample_seconds(const struct crib_ctl_usage *before,
                             const struct crib_ctl_usage *after, double wall)
{
	if (before && after && before->cpu_at_ms > 0 && after->cpu_at_ms > 0)
		return (double)(after->cpu_at_ms - before->cpu_at_ms) / 1000.0;
	return wall;
}

void crib_ctl_top_rows(const json_t *containers, const struct crib_ctl_usage_set *before,
                       const struct crib_ctl_usage_set *after, double wall_seconds,
                       struct crib_ctl_top_row **ret, size_t *ret_n)
{
	struct crib_ctl_top_row *rows;
	const json_t *ctr;
	size_t i, n = 0;

	rows = crib_xcalloc(json_array_size(containers), sizeof(*rows));
	json_array_foreach(containers, i, ctr)
	{
		const char *id = json_string_value(json_object_get(ctr, "id"));
		const struct crib_ctl_usage *b = crib_ctl_usage_find(before, id);
		const struct crib_ctl_usage *a = crib_ctl_usage_find(after, id);

		/* Listed as running, but it stopped between the list and the sample. */
		if (!id || (a && a->state && !streq(a->state, "running")))
			continue;
		rows[n++] = (struct crib_ctl_top_row){
		    .id = id,
		    .name = string_or_empty(ctr, "name"),
		    .pod = string_or_empty(ctr, "pod_name"),
		    .backend = string_or_empty(ctr, "backend"),
		    .cpu_percent =
		        crib_ctl_cpu_percent(b ? b->cpu_seconds : NAN, a ? a->cpu_seconds : NAN,
		                             sample_seconds(b, a, wall_seconds)),
		    .memory_bytes = a ? a->memory_bytes : NAN,
		};
	}
	qsort(rows, n, sizeof(*rows), compare_rows);
	*ret = rows;
	*ret_n = n;
}

static json_t *number_or_null(double v, bool integer)
{
	if (isnan(v))
		return json_null();
	/* Past 2^63 a byte count no longer fits an integer; json_real() keeps it. */
	if (integer && v < 9.2e18)
		return json_integer((json_int_t)v);
	return json_real(v);
}

json_t *crib_ctl_top_json(const struct crib_ctl_top_row *rows, size_t n)
{
	_cleanup_(crib_ctl_json_decrefp) json_t *a = json_array();

	if (!a)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", rows[i].id, "name",
		                      rows[i].name, "pod", rows[i].pod, "backend", rows[i].backend,
		                      "cpu_percent", number_or_null(rows[i].cpu_percent, false),
		                      "memory_working_set_bytes",
		                      number_or_null(rows[i].memory_bytes, true));

		if (!o || json_array_append_new(a, o) < 0)
			return NULL;
	}
	return TAKE_PTR(a);
}

static char *percent_text(double v)
{
	return isnan(v) ? crib_xstrdup("-") : crib_xasprintf("%.1f", v);
}

int crib_ctl_top_print_table(const struct crib_ctl_top_row *rows, size_t n, FILE *f)
{
	static const char *const headers[] = {"CONTAINER", "NAME", "POD", "BACKEND", "CPU%", "MEM"};
	struct crib_ctl_table t;
	int r;

	crib_ctl_table_init(&t, headers, ARRAY_SIZE(headers));
	for (size_t i = 0; i < n; i++) {
		char *cells[ARRAY_SIZE(headers)] = {
		    crib_xasprintf("%.*s", CRIB_CTL_SHORT_ID_LEN, rows[i].id),
		    crib_xstrdup(rows[i].name),
		    crib_xstrdup(rows[i].pod),
		    crib_xstrdup(rows[i].backend),
		    percent_text(rows[i].cpu_percent),
		    crib_ctl_format_bytes(rows[i].memory_bytes),
		};

		crib_ctl_table_add_row(&t, cells);
	}
	r = crib_ctl_table_print(&t, f);
	crib_ctl_table_clear(&t);
	return r;
}

#define NS_PER_S 1000000000LL
/* How long top waits for cribd's stats to be renewed, looking this often. */
#define STALE_WAIT_MAX_NS (5 * NS_PER_S)
#define STALE_POLL_NS     (100 * 1000 * 1000LL)

/* Sleeps until the monotonic clock reads AT ns; a signal does not cut it short. */
static void sleep_until(int64_t at)
{
	struct timespec ts = {.tv_sec = (time_t)(at / NS_PER_S), .tv_nsec = (long)(at % NS_PER_S)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* One /metrics sample into *set (emptied first), and when it was asked for (monotonic ns). */
static int take_sample(struct crib_ctl_client *c, struct crib_ctl_usage_set *set, int64_t *ret_at,
                       struct crib_error **reterr)
{
	_cleanup_free_ char *text = NULL;
	int64_t at = crib_mono_ns();
	size_t len = 0;
	int r;

	r = crib_ctl_client_get_text(c, "/metrics", &text, &len, reterr);
	if (r < 0)
		return r;
	crib_ctl_usage_clear(set);
	*ret_at = at;
	return crib_ctl_usage_parse(text, len, set);
}

static int display(const struct crib_ctl_top_row *rows, size_t n, bool json, FILE *f)
{
	_cleanup_(crib_ctl_json_decrefp) json_t *doc = NULL;
	_cleanup_free_ char *text = NULL;

	if (!json) {
		if (isatty(fileno(f)))
			fputs(CLEAR_SCREEN, f);
		return crib_ctl_top_print_table(rows, n, f);
	}
	doc = crib_ctl_top_json(rows, n);
	text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	if (!text)
		return -ENOMEM;
	fprintf(f, "%s\n", text);
	return ferror(f) ? -EIO : 0;
}

/* Whether NEXT has CPU stats taken after PREV's (or cribd does not say when it took them). */
static bool renewed(const struct crib_ctl_usage_set *prev, const struct crib_ctl_usage_set *next)
{
	int64_t newest = crib_ctl_usage_newest(next);

	return newest == 0 || newest > crib_ctl_usage_newest(prev);
}

/* Waits for the next sample after *prev, and shows the usage between the two. */
static int refresh(struct crib_ctl_client *c, const struct crib_ctl_top_options *opts,
                   struct crib_ctl_usage_set *prev, int64_t *prev_at, FILE *f,
                   struct crib_error **reterr)
{
	static const struct crib_ctl_param running[] = {{.key = "state", .value = "running"}};
	_cleanup_(crib_ctl_json_decrefp) json_t *containers = NULL;
	_cleanup_free_ struct crib_ctl_top_row *rows = NULL;
	struct crib_ctl_usage_set next = {0};
	int64_t at = 0, asked;
	size_t n;
	int r;

	sleep_until(*prev_at + llround(opts->delay * NS_PER_S));
	r = take_sample(c, &next, &at, reterr);
	/*
	 * cribd serves stats up to a second old to scrapes that come quicker:
	 * until it has newer ones, a rate would be 0/0.
	 */
	asked = at;
	while (r >= 0 && !renewed(prev, &next) && at - asked < STALE_WAIT_MAX_NS) {
		sleep_until(at + STALE_POLL_NS);
		r = take_sample(c, &next, &at, reterr);
	}
	if (r >= 0)
		r = crib_ctl_list_all(c, "/v1/containers", running, ARRAY_SIZE(running),
		                      opts->page_size, &containers, reterr);
	if (r < 0) {
		crib_ctl_usage_clear(&next);
		return r;
	}
	crib_ctl_top_rows(containers, prev, &next, (double)(at - *prev_at) / NS_PER_S, &rows, &n);
	r = display(rows, n, opts->json, f);
	if (r >= 0 && fflush(f) != 0)
		r = -errno;
	crib_ctl_usage_clear(prev);
	*prev = next;
	*prev_at = at;
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to write output: %s", strerror(-r));
	return 0;
}

int crib_ctl_top_run(struct crib_ctl_client *c, const struct crib_ctl_top_options *opts, FILE *f,
                     struct crib_error **reterr)
{
	struct crib_ctl_usage_set prev = {0};
	int64_t at = 0;
	int r;

	r = take_sample(c, &prev, &at, reterr);
	for (long shown = 0; r >= 0 && (opts->count < 0 || shown < opts->count); shown++)
		r = refresh(c, opts, &prev, &at, f, reterr);
	crib_ctl_usage_clear(&prev);
	return r < 0 ? r : 0;
}
