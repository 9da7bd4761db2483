/* SPDX-License-Identifier: Apache-2.0 */
/* Files beside the module; see sibling.h. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <crib/backend.h>

#include "sibling.h"
#include "util.h"

char *crib_module_sibling(const char *name)
{
	Dl_info info;
	char *dir, *slash, *path;

	/* crib_backend_entry is the calling module's own: each module links this file. */
	if (!dladdr((void *)crib_backend_entry, &info) || !info.dli_fname)
		return crib_xasprintf("/usr/local/lib/crib/backends/%s", name);
	dir = crib_xstrdup(info.dli_fname);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	path = crib_xasprintf("%s/%s", slash ? dir : ".", name);
	free(dir);
	return path;
}
