/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <string.h>

#include "errtext.h"
#include "util.h"

/* Unquotes the logfmt value starting after msg=" up to its closing quote. */
static char *logfmt_msg(const char *line, size_t len)
{
	const char *p = memmem(line, len, "msg=\"", 5), *end = line + len;
	char *out, *o;

	if (!p)
		return NULL;
	p += 5;
	out = o = crib_xmalloc((size_t)(end - p) + 1);
	for (; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end)
			p++;
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

char *oci_error_text(const char *err, size_t len, const char *fallback)
{
	const char *line = err, *end = err ? err + len : NULL;
	const char *last = NULL;
	size_t last_len = 0;
	char *msg = NULL;

	while (line && line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
		char *m = logfmt_msg(line, n);

		if (m) {
			free(msg);
			msg = m;
		}
		if (!blank(line, n)) {
			last = line;
			last_len = n;
		}
		line = nl ? nl + 1 : end;
	}
	if (msg)
		return msg;
	if (last) {
		char *out = crib_xmalloc(last_len + 1);

		memcpy(out, last, last_len);
		out[last_len] = '\0';
		return out;
	}
	return crib_xstrdup(fallback);
}
