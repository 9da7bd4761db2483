/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "util.h"

int crib_error_setv(struct crib_error **reterr, int errnum, const char *fmt, va_list ap)
{
	struct crib_error *err;
	char *text;

	if (errnum <= 0)
		errnum = errnum < 0 ? -errnum : EIO;
	if (!reterr)
		return -errnum;
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;

	err = *reterr;
	if (err) {
		char *joined = NULL;

		if (text && asprintf(&joined, "%s: %s", text, err->msg ? err->msg : "") < 0)
			joined = NULL;
		if (joined) {
			free(err->msg);
			err->msg = joined;
		}
		free(text);
		return -err->errnum;
	}

	err = calloc(1, sizeof(*err));
	if (!err) {
		free(text);
		return -errnum;
	}
	err->errnum = errnum;
	err->msg = text;
	*reterr = err;
	return -errnum;
}

int crib_error_set(struct crib_error **reterr, int errnum, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = crib_error_setv(reterr, errnum, fmt, ap);
	va_end(ap);
	return r;
}

const char *crib_error_msg(const struct crib_error *err)
{
	if (!err)
		return "unspecified error";
	if (!err->msg)
		return strerror(err->errnum);
	return err->msg;
}

struct crib_error *crib_error_free(struct crib_error *err)
{
	if (err) {
		free(err->msg);
		free(err);
	}
	return NULL;
}
