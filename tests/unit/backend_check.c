/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "backend_check.h"
#include "error.h"
#include "util.h"

/* The first element of the array A whose string at KEY is VALUE, or NULL. */
static json_t *array_find(json_t *a, const char *key, const char *value)
{
	json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
	{
		if (streq(json_string_value(json_object_get(e, key)), value))
			return e;
	}
	return NULL;
}

json_t *json_path_vget(json_t *root, va_list ap)
{
	const char *k;

	while (root && (k = va_arg(ap, const char *))) {
		const char *eq = strchr(k, '=');

		if (k[0] != '[') {
			root = json_object_get(root, k);
		} else if (!eq) {
			root = json_array_get(root, strtoul(k + 1, NULL, 10));
		} else {
			_cleanup_free_ char *key = strndup(k + 1, (size_t)(eq - k - 1));
			_cleanup_free_ char *value = strndup(eq + 1, strlen(eq + 1) - 1);

			root = array_find(root, key, value);
		}
	}
	return root;
}

json_t *json_path_get(json_t *root, ...)
{
	va_list ap;
	json_t *v;

	va_start(ap, root);
	v = json_path_vget(root, ap);
	va_end(ap);
	return v;
}

void check_json(const char *file, int line, json_t *root, const char *expected, ...)
{
	_cleanup_free_ char *text = crib_xstrdup(expected);
	_cleanup_(json_decrefp) json_t *want = NULL;
	json_error_t jerr;
	va_list ap;
	json_t *v;

	va_start(ap, expected);
	v = json_path_vget(root, ap);
	va_end(ap);
	if (streq(expected, "absent")) {
		if (v) {
			_cleanup_free_ char *got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

			fail_msg("%s:%d: expected nothing, got %s", file, line, got);
		}
		return;
	}
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	want = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (!want)
		fail_msg("%s:%d: bad expected JSON %s: %s", file, line, text, jerr.text);
	if (!v || !json_equal(v, want)) {
		_cleanup_free_ char *got =
		    v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : crib_xstrdup("(nothing)");

		fail_msg("%s:%d: expected %s, got %s", file, line, text, got);
	}
}

void check_error(int r, struct crib_error **err, int errnum, const char *needle)
{
	if (r != -errnum || !*err || !strstr((*err)->msg, needle))
		fail_msg("expected -%d with '%s', got %d: %s", errnum, needle, r,
		         crib_error_msg(*err));
	*err = crib_error_free(*err);
}
