/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"
#include "util.h"

/* The longest value or timestamp token we read; real ones are under 30 bytes. */
#define MAX_NUMBER_LEN 64

/* A read position in a line that is not NUL-terminated. */
struct cursor {
	const char *p;
	const char *end;
};

static bool at_end(const struct cursor *c)
{
	return c->p >= c->end;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void skip_blanks(struct cursor *c)
{
	while (!at_end(c) && is_blank(*c->p))
		c->p++;
}

static bool is_name_start(char ch, bool metric)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	       (metric && ch == ':');
}

static bool is_name_char(char ch, bool metric)
{
	return is_name_start(ch, metric) || (ch >= '0' && ch <= '9');
}

/* A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or a label name (no ':'); malloc'd. */
static int read_name(struct cursor *c, bool metric, char **ret)
{
	const char *start = c->p;

	if (at_end(c) || !is_name_start(*c->p, metric))
		return -EINVAL;
	while (!at_end(c) && is_name_char(*c->p, metric))
		c->p++;
	*ret = crib_xmalloc((size_t)(c->p - start) + 1);
	memcpy(*ret, start, (size_t)(c->p - start));
	(*ret)[c->p - start] = '\0';
	return 0;
}

static int unescape(char ch, char *ret)
{
	switch (ch) {
	case '\\':
	case '"':
		*ret = ch;
		return 0;
	case 'n':
		*ret = '\n';
		return 0;
	default:
		return -EINVAL;
	}
}

/* A quoted label value with \\, \" and \n escapes; malloc'd and unescaped. */
static int read_label_value(struct cursor *c, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t n = 0;

	if (at_end(c) || *c->p != '"')
		return -EINVAL;
	c->p++;
	/* Unescaping only shrinks: the rest of the line bounds the value. */
	buf = crib_xmalloc((size_t)(c->end - c->p) + 1);
	for (;;) {
		char ch;

		if (at_end(c) || *c->p == '\0')
			return -EINVAL;
		ch = *c->p++;
		if (ch == '"')
			break;
		if (ch == '\\' && (at_end(c) || unescape(*c->p++, &ch) < 0))
			return -EINVAL;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

static void add_label(struct crib_ctl_prom_sample *s, char *name, char *value)
{
	s->labels = crib_xrealloc(s->labels, s->n_labels + 1, sizeof(*s->labels));
	s->labels[s->n_labels++] = (struct crib_ctl_prom_label){.name = name, .value = value};
}

static int read_label(struct cursor *c, struct crib_ctl_prom_sample *s)
{
	_cleanup_free_ char *name = NULL, *value = NULL;

	if (read_name(c, false, &name) < 0)
		return -EINVAL;
	skip_blanks(c);
	if (at_end(c) || *c->p != '=')
		return -EINVAL;
	c->p++;
	skip_blanks(c);
	if (read_label_value(c, &value) < 0)
		return -EINVAL;
	/* The format forbids a repeated label; which one would we believe? */
	if (crib_ctl_prom_label(s, name))
		return -EINVAL;
	add_label(s, TAKE_PTR(name), TAKE_PTR(value));
	return 0;
}

/* "{a="x", b="y",}" with an optional trailing comma; *c is at the '{'. */
static int read_labels(struct cursor *c, struct crib_ctl_prom_sample *s)
{
	c->p++;
	for (;;) {
		skip_blanks(c);
		if (at_end(c))
			return -EINVAL;
		if (*c->p == '}') {
			c->p++;
			return 0;
		}
		if (read_label(c, s) < 0)
			return -EINVAL;
		skip_blanks(c);
		if (at_end(c))
			return -EINVAL;
		if (*c->p == ',')
			c->p++;
		else if (*c->p != '}')
			return -EINVAL;
	}
}

/* The next blank-delimited token, NUL-terminated in BUF; -EINVAL when too long or empty. */
static int read_token(struct cursor *c, char buf[MAX_NUMBER_LEN + 1])
{
	size_t n = 0;

	while (!at_end(c) && !is_blank(*c->p)) {
		if (n == MAX_NUMBER_LEN || *c->p == '\0')
			return -EINVAL;
		buf[n++] = *c->p++;
	}
	buf[n] = '\0';
	return n > 0 ? 0 : -EINVAL;
}

/* A Go ParseFloat value ("1.5e3", "NaN", "+Inf"), which strtod reads too. */
static int read_value(struct cursor *c, double *ret)
{
	char buf[MAX_NUMBER_LEN + 1], *end;

	if (read_token(c, buf) < 0)
		return -EINVAL;
	errno = 0;
	*ret = strtod(buf, &end);
	/* ERANGE: an overflow is still an honest +-Inf, an underflow an honest 0. */
	return *end == '\0' ? 0 : -EINVAL;
}

/* An optional timestamp in milliseconds since the epoch (0 when absent). */
static int read_timestamp(struct cursor *c, int64_t *ret)
{
	char buf[MAX_NUMBER_LEN + 1], *end;
	const char *p = buf;
	long long v;

	*ret = 0;
	skip_blanks(c);
	if (at_end(c))
		return 0;
	if (read_token(c, buf) < 0)
		return -EINVAL;
	if (*p == '-')
		p++;
	if (!*p)
		return -EINVAL;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int read_sample(struct cursor *c, struct crib_ctl_prom_sample *s)
{
	const char *mark;

	if (read_name(c, true, &s->name) < 0)
		return -EINVAL;
	mark = c->p;
	skip_blanks(c);
	if (!at_end(c) && *c->p == '{') {
		if (read_labels(c, s) < 0)
			return -EINVAL;
		mark = c->p;
		skip_blanks(c);
	}
	/* The format sets the value off by blanks: "x{a=\"b\"}1" is not a sample. */
	if (c->p == mark)
		return -EINVAL;
	if (read_value(c, &s->value) < 0 || read_timestamp(c, &s->timestamp_ms) < 0)
		return -EINVAL;
	skip_blanks(c);
	return at_end(c) ? 0 : -EINVAL;
}

int crib_ctl_prom_parse_line(const char *line, size_t len, struct crib_ctl_prom_sample *ret)
{
	struct crib_ctl_prom_sample s = {0};
	struct cursor c = {.p = line, .end = line + len};

	if (len > 0 && line[len - 1] == '\r')
		c.end--;
	skip_blanks(&c);
	if (at_end(&c) || *c.p == '#')
		return 0;
	if (read_sample(&c, &s) < 0) {
		crib_ctl_prom_sample_clear(&s);
		return -EINVAL;
	}
	*ret = s;
	return 1;
}

const char *crib_ctl_prom_label(const struct crib_ctl_prom_sample *s, const char *name)
{
	for (size_t i = 0; i < s->n_labels; i++)
		if (streq(s->labels[i].name, name))
			return s->labels[i].value;
	return NULL;
}

void crib_ctl_prom_sample_clear(struct crib_ctl_prom_sample *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_labels; i++) {
		free(s->labels[i].name);
		free(s->labels[i].value);
	}
	free(s->labels);
	free(s->name);
	*s = (struct crib_ctl_prom_sample){0};
}

int crib_ctl_prom_parse(const char *text, size_t len, crib_ctl_prom_sample_cb cb, void *userdata,
                        size_t *ret_bad)
{
	const char *p = text, *end = text + len;
	size_t bad = 0;
	int r = 0;

	while (p < end && r >= 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct crib_ctl_prom_sample s = {0};
		int k = crib_ctl_prom_parse_line(p, n, &s);

		if (k < 0)
			bad++;
		else if (k > 0)
			r = cb(&s, userdata);
		crib_ctl_prom_sample_clear(&s);
		p += n + 1;
	}
	if (ret_bad)
		*ret_bad = bad;
	return r < 0 ? r : 0;
}
