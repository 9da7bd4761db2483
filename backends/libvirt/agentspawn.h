/* SPDX-License-Identifier: Apache-2.0 */
/*
 * crib-agent's container processes: a child in a new mount namespace, and a
 * new PID namespace unless it shares the pod's (the VM's), pivot_root'ed into the container's root
 * filesystem with the usual kernel filesystems mounted, running as the container's user.  The pod's
 * network, IPC and UTS namespaces are the VM's own, which its containers share, as kubelet's pods
 * share theirs.
 */
#ifndef CRIB_LIBVIRT_AGENTSPAWN_H
#define CRIB_LIBVIRT_AGENTSPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.pb-c.h"

/* A bind mount into the container's root (CRI's mounts). */
struct agent_mount {
	const char *source;      /* absolute, in the guest */
	const char *destination; /* absolute, in the container */
	bool readonly;
};

struct agent_process {
	const char *rootfs; /* absolute, in the guest */
	char *const *args;  /* NULL-terminated */
	char *const *env;   /* NULL-terminated */
	const char *cwd;
	uint32_t uid;
	uint32_t gid;
	const uint32_t *additional_gids;
	size_t n_additional_gids;
	bool own_pid_namespace;
	const struct agent_mount *mounts;
	size_t n_mounts;
	const char *cgroup; /* the cgroup v2 directory the process joins, or NULL */
	/* Capabilities, no_new_privs, read-only and masked paths; NULL: root with every capability.
	 */
	const Crib__Agent__Security *security;
	/*
	 * 0 for a container's own process; else a process of a running
	 * container, whose mount and PID namespaces the new process joins
	 * (ExecSync): rootfs and own_pid_namespace are then unused.
	 */
	pid_t join;
};

/*
 * A process's stdio: pipes for the streams asked for (/dev/null for the
 * others), or one terminal for all three, from the container's devpts.  agent_spawn fills FDS with
 * the agent's ends (non-blocking, close-on-exec), -1 where none: [0] the write end of stdin, [1]
 * and [2] the read ends of stdout and stderr.  With a terminal, [1] is its master and [0], with IN,
 * a copy of it.
 */
struct agent_stdio {
	bool in, out, err;
	bool tty; /* its size comes later, from the client (ResizeStream) */
	int fds[3];
};

/*
 * Starts P with the stdio IO asks for.  Returns the child's pid once it has
 * executed P's program, with IO's descriptors set, or -errno with the reason
 * in ERR (what failed inside the child: a mount, the user, the program not
 * found).
 */
pid_t agent_spawn(const struct agent_process *p, struct agent_stdio *io, char *err,
                  size_t err_size);

#endif
