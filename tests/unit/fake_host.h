/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The crib_host that unit tests and fuzz targets hand a backend's code they
 * compile in (spec.c, create.c): errors are made by cribd's own
 * crib_error_set(), so that messages read as cribd would pass them on, and
 * logs are dropped.  Nothing else of the host is there; code that needs more
 * belongs in an integration test.
 */
#ifndef CRIB_TESTS_FAKE_HOST_H
#define CRIB_TESTS_FAKE_HOST_H

#include <crib/backend.h>

#include "error.h"

/* Drops the message: the tests check errors, not logs. */
void fake_host_log(const struct crib_host *h, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An initializer for a static const struct crib_host of the backend NAME. */
#define FAKE_HOST_INIT(name)                                                                       \
	{                                                                                          \
		.abi_major = CRIB_BACKEND_ABI_MAJOR, .abi_minor = CRIB_BACKEND_ABI_MINOR,          \
		.struct_size = sizeof(struct crib_host), .backend_name = (name),                   \
		.log = fake_host_log, .error_set = crib_error_set,                                 \
	}

#endif /* CRIB_TESTS_FAKE_HOST_H */
