/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one error convention: functions return 0 (or >= 0) on success and
 * -errno on failure; a failure that must carry a message across layers also
 * sets a struct crib_error through a final `struct crib_error **reterr`
 * argument.  *reterr is set only on failure and untouched on success; reterr
 * may be NULL when the caller only wants the code.  The same struct travels
 * across the backend ABI, where it is opaque.
 */
#ifndef CRIB_BROKER_ERROR_H
#define CRIB_BROKER_ERROR_H

#include <stdarg.h>

struct crib_error {
	int errnum; /* positive errno value */
	char *msg;  /* owned */
};

/*
 * Sets *reterr to a new error and returns -errnum.  When *reterr already
 * holds an error the new text is prefixed to its message ("new: old") and
 * its errnum is kept, so callers add context on the way up.
 */
int crib_error_set(struct crib_error **reterr, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int crib_error_setv(struct crib_error **reterr, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Returns the message, or a generic text for a code-only failure (err NULL). */
const char *crib_error_msg(const struct crib_error *err);

/* NULL-safe; returns NULL so that `e = crib_error_free(e);` disarms the pointer. */
struct crib_error *crib_error_free(struct crib_error *err);

static inline void crib_error_freep(struct crib_error **err)
{
	crib_error_free(*err);
}

#endif /* CRIB_BROKER_ERROR_H */
