/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The linux.seccomp object of an OCI bundle as the text policy liblxc reads
 * from lxc.seccomp.profile.
 */
#ifndef CRIB_LXC_LXCSECCOMP_H
#define CRIB_LXC_LXCSECCOMP_H

#include <stdio.h>

#include <jansson.h>

/*
 * Writes to OUT the LXC seccomp policy (format version 2, as lxc.seccomp.profile
 * reads it) equivalent to SECCOMP, an OCI runtime-spec linux.seccomp object.
 * Returns 0, or -EINVAL with *ret_err set (malloc'd, the caller frees) to a
 * message naming the field LXC cannot express or that is malformed.
 *
 * Also -ENOMEM (*ret_err untouched), and the -errno of a failed write to OUT
 * (*ret_err set).  RET_ERR may be NULL.  A refused SECCOMP writes nothing to OUT: the
 * policy is built in memory first.  The output depends on SECCOMP alone, not on
 * the host, so the same object always gives the same bytes.
 *
 * What LXC 5.0 cannot take is refused, never dropped: the actions
 * SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRACE, SCMP_ACT_LOG and SCMP_ACT_NOTIFY,
 * listenerPath, and every flag but SECCOMP_FILTER_FLAG_TSYNC.  One thing it
 * cannot take is not refused: LXC applies the rules to every ABI it knows for
 * the host (x86_64, i386 and x32 on an x86_64 host), whatever "architectures"
 * lists, where runc and crun kill the calls of an unlisted ABI.  crib's own
 * profiles list all of those ABIs, so for them the two agree.
 *
 * For the caller, three things LXC does with the file (checked on liblxc 5.0.2):
 * it re-reads it for every attach (exec), so the file must outlive the
 * container; it loads nothing, saying so only at INFO level, when the process
 * starting or attaching is itself under seccomp, unless lxc.seccomp.allow_nesting
 * is 1; and it loads the filter before the rest of its own setup of the init
 * (stdio on /dev/null, setsid, chdir, setgroups, uid/gid, ambient capabilities),
 * earlier than runc, so a profile that denies those syscalls fails the start.
 */
int crib_lxc_seccomp_write(json_t *seccomp, FILE *out, char **ret_err);

#endif /* CRIB_LXC_LXCSECCOMP_H */
