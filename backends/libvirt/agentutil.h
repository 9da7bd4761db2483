/* SPDX-License-Identifier: Apache-2.0 */
/* crib-agent's small helpers, shared by its files (libc only: the agent is static). */
#ifndef CRIB_LIBVIRT_AGENTUTIL_H
#define CRIB_LIBVIRT_AGENTUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Closes *FD when it is open, and marks it closed (-1). */
void agent_close_fd(int *fd);

/* A wait(2) status as an exit code: 128 + the signal when killed by one. */
int agent_exit_code(int status);

/* Writes TEXT whole to the existing file PATH (cgroup and /proc/sys files); 0 or the errno. */
int agent_write_text(const char *path, const char *text);

/*
 * The entry of the sysfs class directory CLASS_DIR whose attribute ATTR
 * reads WANT, copied into NAME (SIZE bytes).  Polls for up to WAIT_MS: a
 * device appears once its driver has probed it.  false when none did.
 */
bool agent_sysfs_find(const char *class_dir, const char *attr, const char *want, int wait_ms,
                      char *name, size_t size);

#endif
