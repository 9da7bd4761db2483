/* SPDX-License-Identifier: Apache-2.0 */
/* crib-agent's small helpers, shared by its files (libc only: the agent is static). */
#ifndef CRIB_LIBVIRT_AGENTUTIL_H
#define CRIB_LIBVIRT_AGENTUTIL_H

/* Closes *FD when it is open, and marks it closed (-1). */
void agent_close_fd(int *fd);

/* A wait(2) status as an exit code: 128 + the signal when killed by one. */
int agent_exit_code(int status);

/* Writes TEXT whole to the existing file PATH (cgroup and /proc/sys files); 0 or the errno. */
int agent_write_text(const char *path, const char *text);

#endif
