/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>

#include "client.h"
#include "error.h"
#include "list.h"
#include "util.h"

int crib_ctl_page_size(const char *value, unsigned *ret)
{
	unsigned long n;
	char *end;

	if (!value) {
		*ret = CRIB_CTL_PAGE_SIZE_DEFAULT;
		return 0;
	}
	errno = 0;
	n = strtoul(value, &end, 10);
	if (errno || end == value || *end || value[0] == '-' || n < 1 || n > CRIB_CTL_PAGE_SIZE_MAX)
		return -EINVAL;
	*ret = (unsigned)n;
	return 0;
}

/* Appends PAGE's items to ALL and hands out its continue token (borrowed from PAGE). */
static int take_page(json_t *all, json_t *page, const char *path, const char **ret_next,
                     struct crib_error **reterr)
{
	json_t *items = json_object_get(page, "items");

	if (!json_is_array(items))
		return crib_error_set(reterr, EPROTO, "The answer to %s has no items array", path);
	if (json_array_extend(all, items) < 0)
		return crib_error_set(reterr, ENOMEM, "Out of memory");
	*ret_next = json_string_value(json_object_get(page, "continue"));
	return 0;
}

int crib_ctl_list_all(struct crib_ctl_client *c, const char *path,
                      const struct crib_ctl_param *params, size_t n, unsigned page_size,
                      json_t **ret, struct crib_error **reterr)
{
	_cleanup_(crib_ctl_json_decrefp) json_t *all = json_array();
	_cleanup_free_ struct crib_ctl_param *query = crib_xcalloc(n + 2, sizeof(*query));
	_cleanup_free_ char *limit = crib_xasprintf("%u", page_size), *token = NULL;
	int r;

	if (!all)
		return crib_error_set(reterr, ENOMEM, "Out of memory");
	for (size_t i = 0; i < n; i++)
		query[i] = params[i];
	query[n] = (struct crib_ctl_param){.key = "limit", .value = page_size ? limit : NULL};
	for (;;) {
		_cleanup_(crib_ctl_json_decrefp) json_t *page = NULL;
		const char *next = NULL;

		query[n + 1] = (struct crib_ctl_param){.key = "continue", .value = token};
		r = crib_ctl_client_get_json(c, path, query, n + 2, &page, reterr);
		if (r < 0)
			return r;
		r = take_page(all, page, path, &next, reterr);
		if (r < 0)
			return r;
		if (page_size == 0 || isempty(next))
			break;
		if (streq(next, token))
			return crib_error_set(
			    reterr, EPROTO,
			    "The server answered %s with the continue token it was "
			    "given",
			    path);
		crib_strreplace(&token, next);
	}
	*ret = TAKE_PTR(all);
	return 0;
}
