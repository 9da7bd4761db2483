/* SPDX-License-Identifier: Apache-2.0 */
/* A module built for a future ABI major: cribd must refuse it, naming both versions. */
#include <crib/backend.h>

static const struct crib_backend_ops badabi_ops = {
    .abi_major = 99,
    .abi_minor = 3,
    .struct_size = sizeof(struct crib_backend_ops),
    .name = "badabi",
};

CRIB_EXPORT const struct crib_backend_ops *crib_backend_entry(uint32_t host_abi_major)
{
	(void)host_abi_major;
	return &badabi_ops;
}
