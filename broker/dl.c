/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>

#include "dl.h"

void *crib_dl_open(const char *path)
{
	return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

void *crib_dl_sym(void *handle, const char *symbol)
{
	return dlsym(handle, symbol);
}

void crib_dl_close(void *handle)
{
	if (handle)
		(void)dlclose(handle);
}

const char *crib_dl_error(void)
{
	const char *e = dlerror();

	return e ? e : "unknown dynamic loader error";
}
