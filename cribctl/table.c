/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "table.h"
#include "util.h"

static char **row_at(const struct crib_ctl_table *t, size_t row)
{
	return t->cells + row * t->n_cols;
}

static char *sanitize(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
	return s;
}

void crib_ctl_table_init(struct crib_ctl_table *t, const char *const *headers, size_t n_cols)
{
	t->n_cols = n_cols;
	t->n_rows = 1;
	t->cells = crib_xcalloc(n_cols, sizeof(char *));
	for (size_t i = 0; i < n_cols; i++)
		t->cells[i] = crib_xstrdup(headers[i]);
}

void crib_ctl_table_add_row(struct crib_ctl_table *t, char **cells)
{
	char **row;

	t->cells = crib_xrealloc(t->cells, (t->n_rows + 1) * t->n_cols, sizeof(char *));
	row = row_at(t, t->n_rows++);
	for (size_t i = 0; i < t->n_cols; i++)
		row[i] = sanitize(cells[i]);
}

size_t crib_ctl_text_width(const char *s)
{
	size_t n = 0;

	/* Continuation bytes (10xxxxxx) do not start a character. */
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void crib_ctl_table_widths(const struct crib_ctl_table *t, size_t *widths)
{
	for (size_t c = 0; c < t->n_cols; c++)
		widths[c] = 0;
	for (size_t r = 0; r < t->n_rows; r++)
		for (size_t c = 0; c < t->n_cols; c++) {
			size_t w = crib_ctl_text_width(row_at(t, r)[c]);

			if (w > widths[c])
				widths[c] = w;
		}
}

static void print_row(char *const *row, const size_t *widths, size_t n_cols, FILE *f)
{
	for (size_t c = 0; c < n_cols; c++) {
		fputs(row[c], f);
		if (c + 1 == n_cols)
			break;
		for (size_t pad = crib_ctl_text_width(row[c]); pad < widths[c] + CRIB_CTL_TABLE_GAP;
		     pad++)
			fputc(' ', f);
	}
	fputc('\n', f);
}

int crib_ctl_table_print(const struct crib_ctl_table *t, FILE *f)
{
	_cleanup_free_ size_t *widths = crib_xcalloc(t->n_cols, sizeof(size_t));

	crib_ctl_table_widths(t, widths);
	for (size_t r = 0; r < t->n_rows; r++)
		print_row(row_at(t, r), widths, t->n_cols, f);
	return ferror(f) ? -EIO : 0;
}

void crib_ctl_table_clear(struct crib_ctl_table *t)
{
	if (!t || !t->cells)
		return;
	for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n_rows = 0;
}
