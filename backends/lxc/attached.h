/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CRI containers as processes attached into their pod's LXC container
 * (crib-lxc --attach): the pod's container is the system (its root
 * filesystem, its init), and each CRI container is a process liblxc attaches
 * into it, in a cgroup of its own (the spec's cgroupsPath, below the pod's),
 * in a mount namespace of its own with the spec's bind mounts (kubelet's
 * volumes, /etc/hosts, the termination log), as the spec's user, with its
 * environment and working directory.  It shares the pod's root filesystem,
 * capabilities and LSM profile: the image is not used.
 *
 * A monitor ("proxy") process, the shim's child, attaches and waits for the
 * process, then exits as it did.  ROOT/ID holds pod (the pod's id), cgroup,
 * bundle (a link), init.pid and proxy.pid.
 */
#ifndef CRIB_LXC_ATTACHED_H
#define CRIB_LXC_ATTACHED_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

/* Whether container ID is an attached process (not an LXC container of its own). */
bool crib_lxc_attached(const char *id);

/* run: starts SPEC's process in its pod's container; its pid goes to PID_FILE. */
int crib_lxc_attached_run(const char *id, const char *bundle, const char *pid_file,
                          const char *console, json_t *spec);

/* exec: ARGV in the container's namespaces, cgroup and mounts, as its user. */
int crib_lxc_attached_exec(const char *id, char **argv, bool tty, bool detach, const char *pid_file,
                           const char *console);

/* The process's pid while it runs, else 0. */
pid_t crib_lxc_attached_pid(const char *id);

int crib_lxc_attached_kill(const char *id, int sig, bool all);
int crib_lxc_attached_delete(const char *id, bool force);
/* The running process's cgroup (REL, malloc'd), else NULL. */
char *crib_lxc_attached_cgroup(const char *id);

#endif
