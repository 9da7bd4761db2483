/* SPDX-License-Identifier: Apache-2.0 */
/* What an OCI runtime said when it failed, as one line for a CRI error message. */
#ifndef CRIB_OCI_ERRTEXT_H
#define CRIB_OCI_ERRTEXT_H

#include <stddef.h>

/*
 * The message in a runtime's stderr (LEN bytes, need not be NUL-terminated):
 * the msg="..." value of the last logfmt line that has one (runc, crun), else
 * the last non-empty line; FALLBACK when there is none.  Malloc'd, never NULL
 * (aborts on OOM: the text is bounded by the caller's output limit).
 */
char *oci_error_text(const char *err, size_t len, const char *fallback);

#endif /* CRIB_OCI_ERRTEXT_H */
