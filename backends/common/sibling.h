/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Files a backend module ships beside itself (helpers, the VM initramfs):
 * found next to the module's own file, as installed and in the build tree.
 */
#ifndef CRIB_COMMON_SIBLING_H
#define CRIB_COMMON_SIBLING_H

/*
 * The path of NAME in the directory of the module that calls it (malloc'd,
 * the caller's); under /usr/local/lib/crib/backends when the module's file
 * cannot be found.
 */
char *crib_module_sibling(const char *name);

#endif
