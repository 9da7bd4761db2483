/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A runtime class's keys, refused the same way by every backend: a key the
 * backend does not know is a class error naming it, its file:line and the
 * keys the backend knows.
 */
#ifndef CRIB_COMMON_CLASSKEYS_H
#define CRIB_COMMON_CLASSKEYS_H

#include <crib/backend.h>

/*
 * 0 when every key of CLS is in KNOWN (NULL-terminated), else -EINVAL with
 * *reterr set through host->class_error() for the first unknown one.
 */
int crib_class_check_keys(const struct crib_host *host, const struct crib_class *cls,
                          const char *backend, const char *const *known,
                          struct crib_error **reterr);

#endif
