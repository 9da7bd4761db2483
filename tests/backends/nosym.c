/* SPDX-License-Identifier: Apache-2.0 */
/* A module without crib_backend_entry: cribd must refuse it, naming the symbol. */
#include <crib/backend.h>

CRIB_EXPORT int crib_not_a_backend(void);

int crib_not_a_backend(void)
{
	return 0;
}
