/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin API's JSON objects as table rows: a column names a key of the
 * object and how to show its value.  Every list command is a column table
 * fed to crib_ctl_print_items().
 */
#ifndef CRIB_CRIBCTL_VIEW_H
#define CRIB_CRIBCTL_VIEW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define CRIB_CTL_SHORT_ID_LEN 13 /* as crictl shows ids */

enum crib_ctl_cell {
	CRIB_CTL_CELL_TEXT,     /* a string; "-" when absent or empty */
	CRIB_CTL_CELL_NOTE,     /* a string; blank when absent, for a last column of remarks */
	CRIB_CTL_CELL_SHORT_ID, /* an id cut to CRIB_CTL_SHORT_ID_LEN */
	CRIB_CTL_CELL_INT,
	CRIB_CTL_CELL_BOOL,
	CRIB_CTL_CELL_AGE,  /* an RFC 3339 time as its age: "5 minutes ago" */
	CRIB_CTL_CELL_LIST, /* an array of strings, comma-separated */
};

struct crib_ctl_column {
	const char *header;
	const char *key; /* of the item object */
	enum crib_ctl_cell kind;
};

enum crib_ctl_output {
	CRIB_CTL_OUTPUT_TABLE,
	CRIB_CTL_OUTPUT_JSON,
};

/*
 * ITEM's value for COL as text; NOW (seconds since the epoch) dates ages.
 * Malloc'd; the caller frees it.
 */
char *crib_ctl_cell_text(const struct crib_ctl_column *col, const json_t *item, int64_t now);

/* ITEMS (an array of objects) as a table of the N columns COLS.  Returns 0 or -EIO. */
int crib_ctl_print_items(const json_t *items, const struct crib_ctl_column *cols, size_t n,
                         int64_t now, FILE *f);

/* DOC indented by two spaces, and a newline.  Returns 0, -ENOMEM or -EIO. */
int crib_ctl_print_json(const json_t *doc, FILE *f);

#endif /* CRIB_CRIBCTL_VIEW_H */
