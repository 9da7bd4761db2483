/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Checks for the cmocka tests that compile a backend's code in (spec.c,
 * create.c): of the JSON documents it builds (an OCI spec, an Engine create
 * body) and of the errors it reports.  A failed check fails the test.
 */
#ifndef CRIB_TESTS_BACKEND_CHECK_H
#define CRIB_TESTS_BACKEND_CHECK_H

#include <stdarg.h>

#include <jansson.h>

struct crib_error;

/*
 * Walks ROOT along the keys given as varargs (NULL-terminated): an object
 * key, "[N]" for an array index, or "[key=value]" for the first array
 * element whose string at key is value.  NULL where there is nothing; the
 * result is borrowed from ROOT.
 */
json_t *json_path_vget(json_t *root, va_list ap);
json_t *json_path_get(json_t *root, ...);

/*
 * Fails the test unless the value at the path (as json_path_get's) equals
 * EXPECTED: JSON with ' for " (for readable C strings), or "absent" for
 * nothing there.  FILE and LINE are the caller's, for the message.
 */
void check_json(const char *file, int line, json_t *root, const char *expected, ...);

#define CHECK(root, expected, ...) check_json(__FILE__, __LINE__, root, expected, __VA_ARGS__, NULL)

/*
 * Fails the test unless R is -ERRNUM and *ERR, the error the call set, has a
 * message containing NEEDLE.  Frees *ERR (NULL after).
 */
void check_error(int r, struct crib_error **err, int errnum, const char *needle);

#endif /* CRIB_TESTS_BACKEND_CHECK_H */
