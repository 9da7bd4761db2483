/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A text table as cribctl prints it: a header row, then rows of cells, each
 * column as wide as its widest cell, three spaces between columns and none
 * after the last.  Cells are plain strings; whatever made them (JSON, usage
 * samples) stays out of this module.
 */
#ifndef CRIB_CRIBCTL_TABLE_H
#define CRIB_CRIBCTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define CRIB_CTL_TABLE_GAP 3 /* spaces between columns */

struct crib_ctl_table {
	size_t n_cols;
	size_t n_rows; /* with the header row */
	char **cells;  /* n_rows * n_cols strings, owned; row 0 is the header */
};

/* Starts a table with the N_COLS headers (copied). */
void crib_ctl_table_init(struct crib_ctl_table *t, const char *const *headers, size_t n_cols);

/*
 * Appends a row of t->n_cols malloc'd strings and takes ownership of them (not
 * of the array).  Control characters become '?', so that a name or message
 * from the server cannot break the layout or drive the terminal.
 */
void crib_ctl_table_add_row(struct crib_ctl_table *t, char **cells);

/* Display width of S: UTF-8 code points, not bytes. */
size_t crib_ctl_text_width(const char *s);

/* Fills WIDTHS (t->n_cols entries) with each column's widest cell, header included. */
void crib_ctl_table_widths(const struct crib_ctl_table *t, size_t *widths);

/* Writes the table to F.  Returns 0, or -EIO when F reports an error. */
int crib_ctl_table_print(const struct crib_ctl_table *t, FILE *f);

/* Frees the cells; the table may be initialised again.  NULL-safe. */
void crib_ctl_table_clear(struct crib_ctl_table *t);

#endif /* CRIB_CRIBCTL_TABLE_H */
