/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whether KVM really runs guests here.  /dev/kvm may exist where a guest
 * never gets to run, or where a Linux guest hangs while booting (nested KVM
 * here: a one-instruction guest runs, the kernel stops after its real-mode
 * setup), so there are two bounded probes: a guest of one instruction in a
 * child process, then the pod kernel itself booted under KVM into
 * crib-agent, which powers off at once when its command line carries
 * KVM_PROBE_WORD.
 */
#ifndef CRIB_LIBVIRT_KVMPROBE_H
#define CRIB_LIBVIRT_KVMPROBE_H

#include <stdbool.h>

/* What the boot probe puts on the kernel's command line, and what crib-agent then says. */
#define KVM_PROBE_WORD   "crib.kvm_probe=1"
#define KVM_PROBE_ANSWER "KVM boot probe answered"

/*
 * True when a one-instruction guest (hlt) ran to its end within TIMEOUT_MS.
 * Otherwise false, with *ret_reason (malloc'd, the caller's) saying why.  A
 * child stuck in the kernel is killed and left behind, never waited for.
 */
bool crib_lv_kvm_works(const char *dev, int timeout_ms, char **ret_reason);

struct _virConnect; /* libvirt's virConnectPtr: crib-agent shares this header, not libvirt */
struct crib_lv_domain;

/*
 * True when D (a transient kvm domain with neither agent nor share, whose
 * command line carries KVM_PROBE_WORD) powers off within TIMEOUT_MS with
 * KVM_PROBE_ANSWER on its console (D's console_log, removed afterwards).
 * Otherwise false (the domain destroyed), with *ret_reason (malloc'd, the
 * caller's) saying why.
 */
bool crib_lv_kvm_boots(struct _virConnect *conn, const struct crib_lv_domain *d, int timeout_ms,
                       char **ret_reason);

#endif
