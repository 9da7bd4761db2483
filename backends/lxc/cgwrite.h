/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's cgroups as crib-lxc changes them itself, for what liblxc does
 * not: the cgroup of a process attached into a pod's container, and the
 * cleanup after a monitor that could not do its own.  REL is a cgroupsPath
 * without its leading '/'; "every hierarchy" is each v1 hierarchy and the
 * v2 one (hybrid), or the unified tree.  Errors: -errno, and *ret_err
 * (malloc'd, the caller's) names the file.
 */
#ifndef CRIB_LXC_CGWRITE_H
#define CRIB_LXC_CGWRITE_H

#include <sys/types.h>

#include "lxcconf.h"

/* Makes REL in every hierarchy; a new v1 cpuset gets its parent's cpus and mems. */
int crib_lxc_cg_make(const char *rel, char **ret_err);

/* Moves the calling process into REL in every hierarchy (made if need be). */
int crib_lxc_cg_enter(const char *rel, char **ret_err);

/* Writes CONF's keys ("memory.limit_in_bytes") with their values into REL. */
int crib_lxc_cg_set(const char *rel, const struct crib_lxc_conf *conf, char **ret_err);

/* Sends SIG to every process in REL (its pids hierarchy, or the unified one). */
void crib_lxc_cg_kill(const char *rel, int sig);

/* Removes the empty cgroup REL in every hierarchy, its ".lxc" leaf (attach, v2) first. */
void crib_lxc_cg_remove(const char *rel);

#endif
