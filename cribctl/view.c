/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "fmt.h"
#include "table.h"
#include "util.h"
#include "view.h"

static char *text_or_dash(const char *s)
{
	return crib_xstrdup(isempty(s) ? "-" : s);
}

static char *age_text(const json_t *v, int64_t now)
{
	int64_t t;

	if (crib_ctl_parse_time(json_string_value(v), &t) < 0)
		return crib_xstrdup("-");
	return crib_ctl_format_age(now - t);
}

static char *list_text(const json_t *v)
{
	_cleanup_free_ char *joined = NULL;
	size_t i, len = 0;
	json_t *e;

	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);

		if (!s)
			continue;
		joined = crib_xrealloc(joined, len + strlen(s) + 2, 1);
		if (len > 0)
			joined[len++] = ',';
		strcpy(joined + len, s);
		len += strlen(s);
	}
	return text_or_dash(joined);
}

static char *short_id_text(const char *id)
{
	if (isempty(id))
		return crib_xstrdup("-");
	return crib_xasprintf("%.*s", CRIB_CTL_SHORT_ID_LEN, id);
}

char *crib_ctl_cell_text(const struct crib_ctl_column *col, const json_t *item, int64_t now)
{
	const json_t *v = json_object_get(item, col->key);

	switch (col->kind) {
	case CRIB_CTL_CELL_TEXT:
		return text_or_dash(json_string_value(v));
	case CRIB_CTL_CELL_NOTE:
		return crib_xstrdup(json_is_string(v) ? json_string_value(v) : "");
	case CRIB_CTL_CELL_SHORT_ID:
		return short_id_text(json_string_value(v));
	case CRIB_CTL_CELL_INT:
		if (!json_is_integer(v))
			return crib_xstrdup("-");
		return crib_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case CRIB_CTL_CELL_BOOL:
		return crib_xstrdup(json_is_boolean(v) ? (json_is_true(v) ? "true" : "false")
		                                       : "-");
	case CRIB_CTL_CELL_AGE:
		return age_text(v, now);
	case CRIB_CTL_CELL_LIST:
		return list_text(v);
	}
	return crib_xstrdup("-");
}

int crib_ctl_print_items(const json_t *items, const struct crib_ctl_column *cols, size_t n,
                         int64_t now, FILE *f)
{
	_cleanup_free_ const char **headers = crib_xcalloc(n, sizeof(char *));
	_cleanup_free_ char **cells = crib_xcalloc(n, sizeof(char *));
	struct crib_ctl_table t;
	const json_t *item;
	size_t i;
	int r;

	for (size_t c = 0; c < n; c++)
		headers[c] = cols[c].header;
	crib_ctl_table_init(&t, headers, n);
	json_array_foreach(items, i, item)
	{
		for (size_t c = 0; c < n; c++)
			cells[c] = crib_ctl_cell_text(&cols[c], item, now);
		crib_ctl_table_add_row(&t, cells);
	}
	r = crib_ctl_table_print(&t, f);
	crib_ctl_table_clear(&t);
	return r;
}

int crib_ctl_print_json(const json_t *doc, FILE *f)
{
	_cleanup_free_ char *text = json_dumps(doc, JSON_INDENT(2));

	if (!text)
		return -ENOMEM;
	fputs(text, f);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
