/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dynamic-loading seam.  It lives in its own object file so that unit
 * tests can replace it with -Wl,--wrap=crib_dl_open and friends; libc's own
 * dlopen/dlsym are never wrapped (sanitizer runtimes call them).
 */
#ifndef CRIB_BROKER_DL_H
#define CRIB_BROKER_DL_H

/* dlopen(path, RTLD_NOW | RTLD_LOCAL). */
void *crib_dl_open(const char *path);
void *crib_dl_sym(void *handle, const char *symbol);
/* NULL-safe. */
void crib_dl_close(void *handle);
/* The last dlerror() text, never NULL. */
const char *crib_dl_error(void);

static inline void crib_dl_closep(void **handle)
{
	crib_dl_close(*handle);
}

#endif /* CRIB_BROKER_DL_H */
