/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The admin API's lists, whole: {"items": [...], "continue": "..."} pages
 * fetched and concatenated until a page carries no continue token.
 */
#ifndef CRIB_CRIBCTL_LIST_H
#define CRIB_CRIBCTL_LIST_H

#include <stddef.h>

#include <jansson.h>

struct crib_error;
struct crib_ctl_client;
struct crib_ctl_param;

#define CRIB_CTL_PAGE_SIZE_DEFAULT 500u
#define CRIB_CTL_PAGE_SIZE_MAX     1000u /* the API's cap on `limit` */

/*
 * The page size: VALUE (the CRIBCTL_PAGE_SIZE environment variable, a testing
 * aid) when set, which must be 1..CRIB_CTL_PAGE_SIZE_MAX, else the default.
 * Returns 0, or -EINVAL for a bad VALUE.
 */
int crib_ctl_page_size(const char *value, unsigned *ret);

/*
 * GETs PATH with PARAMS (N of them) and, when PAGE_SIZE is not 0, `limit`
 * and `continue` until the last page; PAGE_SIZE 0 is for the routes that are
 * not paginated.  On success *ret is a new array of every item, the caller's.
 * A server that hands back the token it was given fails with -EPROTO rather
 * than loop.
 */
int crib_ctl_list_all(struct crib_ctl_client *c, const char *path,
                      const struct crib_ctl_param *params, size_t n, unsigned page_size,
                      json_t **ret, struct crib_error **reterr);

#endif /* CRIB_CRIBCTL_LIST_H */
