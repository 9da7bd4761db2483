/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An OCI linux.seccomp object compiled into a classic BPF program with
 * libseccomp, on the host: the guest runs the same x86-64 kernel ABI and
 * crib-agent, static, has no libseccomp.  The agent loads the program
 * (SECCOMP_SET_MODE_FILTER) where runc would load the one it builds.  The
 * rules are those runc and crun build from the same object.
 */
#ifndef CRIB_LIBVIRT_SECCOMPBPF_H
#define CRIB_LIBVIRT_SECCOMPBPF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <crib/backend.h>

/*
 * SECCOMP (spec.c's, already checked) as a BPF program: *ret (malloc'd, the
 * caller's) holds *ret_len bytes, struct sock_filter after struct
 * sock_filter.  -EINVAL naming what libseccomp refused (an action or an
 * architecture it does not know).
 */
int lv_seccomp_bpf(const struct crib_host *host, json_t *seccomp, uint8_t **ret, size_t *ret_len,
                   struct crib_error **reterr);

#endif
