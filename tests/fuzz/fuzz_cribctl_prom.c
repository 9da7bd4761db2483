/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes cribctl's Prometheus text parser with whole /metrics answers, which
 * come from whatever answers on the admin socket or URL.  Every sample it
 * accepts must have a well-formed name and survive a round trip: written
 * back out in the exposition format (labels escaped) it parses to the same
 * sample.  Then `top`'s reading of the same text must keep only usable
 * values.
 */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "prom.h"
#include "top.h"
#include "util.h"

static bool name_ok(const char *s, bool metric)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++)
		if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || (metric && *s == ':')))
			return false;
	return true;
}

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* S in the exposition format; malloc'd. */
static char *format_sample(const struct crib_ctl_prom_sample *s, size_t *ret_len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, ret_len);

	FUZZ_CHECK(f);
	fputs(s->name, f);
	fputc('{', f);
	for (size_t i = 0; i < s->n_labels; i++) {
		fprintf(f, "%s%s=\"", i ? "," : "", s->labels[i].name);
		put_escaped(f, s->labels[i].value);
		fputc('"', f);
	}
	/* %.17g gives back the same double; strtod reads its "nan" and "inf" too. */
	fprintf(f, "} %.17g", s->value);
	FUZZ_CHECK(fclose(f) == 0);
	return text;
}

static bool same_value(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

static int check_sample(const struct crib_ctl_prom_sample *s, void *userdata)
{
	struct crib_ctl_prom_sample back = {0};
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	(void)userdata;
	FUZZ_CHECK(name_ok(s->name, true));
	for (size_t i = 0; i < s->n_labels; i++) {
		FUZZ_CHECK(name_ok(s->labels[i].name, false));
		FUZZ_CHECK(crib_ctl_prom_label(s, s->labels[i].name) == s->labels[i].value);
	}
	text = format_sample(s, &len);
	FUZZ_CHECK(crib_ctl_prom_parse_line(text, len, &back) == 1);
	FUZZ_CHECK(streq(back.name, s->name) && back.n_labels == s->n_labels);
	for (size_t i = 0; i < s->n_labels; i++)
		FUZZ_CHECK(streq(back.labels[i].name, s->labels[i].name) &&
		           streq(back.labels[i].value, s->labels[i].value));
	FUZZ_CHECK(same_value(back.value, s->value));
	crib_ctl_prom_sample_clear(&back);
	return 0;
}

static void check_usage(const char *text, size_t len)
{
	struct crib_ctl_usage_set set = {0};
	struct crib_ctl_usage *u, *tmp;

	FUZZ_CHECK(crib_ctl_usage_parse(text, len, &set) == 0);
	HASH_ITER (hh, set.by_id, u, tmp) {
		FUZZ_CHECK(!isempty(u->id));
		FUZZ_CHECK(isnan(u->cpu_seconds) ||
		           (isfinite(u->cpu_seconds) && u->cpu_seconds >= 0));
		FUZZ_CHECK(isnan(u->memory_bytes) ||
		           (isfinite(u->memory_bytes) && u->memory_bytes >= 0));
	}
	crib_ctl_usage_clear(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t bad = 0;

	/* The parser takes the bytes as they are: no copy, no terminating NUL. */
	FUZZ_CHECK(crib_ctl_prom_parse(text, size, check_sample, NULL, &bad) == 0);
	FUZZ_CHECK(bad <= size);
	check_usage(text, size);
	return 0;
}
