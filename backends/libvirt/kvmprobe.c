/* SPDX-License-Identifier: Apache-2.0 */
/* The bounded KVM probe; see kvmprobe.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "domxml.h"
#include "kvmprobe.h"
#include "util.h"

/* The child's exit codes: which step failed. */
enum probe_step {
	PROBE_OK = 0,
	PROBE_OPEN,
	PROBE_API,
	PROBE_VM,
	PROBE_MEMORY,
	PROBE_VCPU,
	PROBE_REGS,
	PROBE_RUN,
	PROBE_EXIT,
	PROBE_STEPS
};

static const char *const step_text[PROBE_STEPS] = {
    [PROBE_OPEN] = "cannot open it",
    [PROBE_API] = "its API version is not 12",
    [PROBE_VM] = "KVM_CREATE_VM failed",
    [PROBE_MEMORY] = "the guest's memory could not be set up",
    [PROBE_VCPU] = "KVM_CREATE_VCPU failed",
    [PROBE_REGS] = "the vCPU's registers could not be set",
    [PROBE_RUN] = "KVM_RUN failed",
    [PROBE_EXIT] = "the guest did not stop at its hlt",
};

/* Runs in the forked child: only system calls, then _exit(). */
static enum probe_step run_guest(const char *dev)
{
	struct kvm_userspace_memory_region region = {.guest_phys_addr = 0x1000,
	                                             .memory_size = 0x1000};
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rip = 0x1000, .rflags = 0x2};
	struct kvm_run *run;
	uint8_t *mem;
	int kvm, vm, vcpu, size;

	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return PROBE_OPEN;
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != 12)
		return PROBE_API;
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return PROBE_VM;
	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return PROBE_MEMORY;
	mem[0] = 0xf4; /* hlt, in real mode at 0x1000 */
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return PROBE_MEMORY;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		return PROBE_VCPU;
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return PROBE_REGS;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return PROBE_REGS;
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return PROBE_RUN;
	return run->exit_reason == KVM_EXIT_HLT ? PROBE_OK : PROBE_EXIT;
}

bool crib_lv_kvm_works(const char *dev, int timeout_ms, char **ret_reason)
{
	int status = 0;
	pid_t pid;

	*ret_reason = NULL;
	if (access(dev, R_OK | W_OK) < 0) {
		*ret_reason = crib_xasprintf("%s: %s", dev, strerror(errno));
		return false;
	}
	pid = fork();
	if (pid < 0) {
		*ret_reason = crib_xasprintf("cannot fork the KVM probe: %s", strerror(errno));
		return false;
	}
	if (pid == 0)
		_exit(run_guest(dev));
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid && WIFEXITED(status) && WEXITSTATUS(status) == PROBE_OK)
			return true;
		if (r == pid) {
			int step = WIFEXITED(status) ? WEXITSTATUS(status) : PROBE_RUN;

			*ret_reason = crib_xasprintf(
			    "%s: %s", dev,
			    step > PROBE_OK && step < PROBE_STEPS ? step_text[step] : "probe died");
			return false;
		}
		usleep(5000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, WNOHANG);
	*ret_reason =
	    crib_xasprintf("%s: a one-instruction guest did not finish in %d ms", dev, timeout_ms);
	return false;
}

/* Whether FILE holds TEXT (the probe's console: a few KiB). */
static bool file_has(const char *file, const char *text)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	return crib_read_file(file, 1u << 20, &buf, &len) == 0 && strstr(buf, text) != NULL;
}

bool crib_lv_kvm_boots(virConnectPtr conn, const struct crib_lv_domain *d, int timeout_ms,
                       char **ret_reason)
{
	char *xml = NULL;
	virDomainPtr dom;
	bool ended = false, answered;

	*ret_reason = NULL;
	(void)unlink(d->console_log);
	if (crib_lv_domain_xml(d, &xml) < 0) {
		*ret_reason = crib_xstrdup("cannot write the probe's domain XML");
		return false;
	}
	dom = virDomainCreateXML(conn, xml, VIR_DOMAIN_START_AUTODESTROY);
	free(xml);
	if (!dom) {
		const char *msg = virGetLastErrorMessage();

		*ret_reason = crib_xasprintf("libvirt cannot start a kvm domain: %s",
		                             msg ? msg : "unknown error");
		/* QEMU may have made the console file before KVM refused it. */
		(void)unlink(d->console_log);
		return false;
	}
	/* A transient domain that powered off is gone: IsActive is no longer 1. */
	for (int waited = 0; waited < timeout_ms && !ended; waited += 20) {
		usleep(20000);
		ended = virDomainIsActive(dom) != 1;
	}
	if (!ended)
		(void)virDomainDestroy(dom);
	virDomainFree(dom);
	answered = file_has(d->console_log, KVM_PROBE_ANSWER);
	(void)unlink(d->console_log);
	if (ended && answered)
		return true;
	*ret_reason = ended ? crib_xstrdup("a Linux guest under KVM ended without getting to "
	                                   "crib-agent")
	                    : crib_xasprintf("a Linux guest under KVM did not get to crib-agent in "
	                                     "%d ms (nested KVM that hangs?)",
	                                     timeout_ms);
	return false;
}
