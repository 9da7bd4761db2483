/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>

#include "classkeys.h"
#include "util.h"

static bool is_known(const char *const *known, const char *key)
{
	for (const char *const *k = known; *k; k++)
		if (streq(key, *k))
			return true;
	return false;
}

int crib_class_check_keys(const struct crib_host *host, const struct crib_class *cls,
                          const char *backend, const char *const *known, struct crib_error **reterr)
{
	for (size_t i = 0; i < cls->n_kv; i++) {
		_cleanup_free_ char *list = NULL;

		if (is_known(known, cls->kv[i].key))
			continue;
		for (const char *const *k = known; *k; k++) {
			char *next =
			    crib_xasprintf("%s%s%s", list ? list : "", list ? ", " : "", *k);

			free(list);
			list = next;
		}
		return host->class_error(cls, cls->kv[i].key, reterr, EINVAL,
		                         "unknown key '%s' for backend %s (known: %s)",
		                         cls->kv[i].key, backend, list ? list : "none");
	}
	return 0;
}
