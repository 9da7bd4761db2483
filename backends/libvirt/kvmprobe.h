/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whether KVM really runs guests here.  /dev/kvm may exist where a guest
 * never gets to run (nested KVM that hangs), so the probe runs a guest of
 * one instruction in a child process and gives it a bounded time.
 */
#ifndef CRIB_LIBVIRT_KVMPROBE_H
#define CRIB_LIBVIRT_KVMPROBE_H

#include <stdbool.h>

/*
 * True when a one-instruction guest (hlt) ran to its end within TIMEOUT_MS.
 * Otherwise false, with *ret_reason (malloc'd, the caller's) saying why.  A
 * child stuck in the kernel is killed and left behind, never waited for.
 */
bool crib_lv_kvm_works(const char *dev, int timeout_ms, char **ret_reason);

#endif
