/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pods as VMs: RunPodSandbox defines and starts a transient domain and waits
 * for its agent's Hello; StopPodSandbox presses the power button and destroys
 * the domain after the class's stop_timeout; RemovePodSandbox destroys what
 * is left and removes the pod's directory.
 */
#include <dirent.h>
#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "agentclient.h"
#include "cri-api-v1.pb-c.h"
#include "domxml.h"
#include "libvirt.h"
#include "oci.h"
#include "podnic.h"
#include "util.h"

#define MIB (1024ull * 1024ull)
/* How much of the console's end goes into an error. */
#define CONSOLE_TAIL 600
#define STOP_POLL_US 20000

static uint64_t ceil_div(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* The memory and CPUs a resources message asks for (0 when it asks for none). */
static void add_resources(const Runtime__V1__LinuxContainerResources *r, uint64_t *bytes,
                          double *cpus)
{
	if (!r)
		return;
	if (r->memory_limit_in_bytes > 0)
		*bytes += (uint64_t)r->memory_limit_in_bytes;
	if (r->cpu_quota > 0 && r->cpu_period > 0)
		*cpus += (double)r->cpu_quota / (double)r->cpu_period;
}

/*
 * The VM's size: the pod's resources and overhead (kubelet's sums) when it
 * sets them, else the class's memory_mb and one vCPU, plus the class's
 * overhead_mb for the guest kernel and agent.
 */
static void vm_size(const struct lv_class *c, const Runtime__V1__PodSandboxConfig *cfg,
                    uint64_t *ret_mib, unsigned *ret_vcpus)
{
	const Runtime__V1__LinuxPodSandboxConfig *l = cfg ? cfg->linux : NULL;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t bytes = 0;
	double cpus = 0;

	if (l) {
		add_resources(l->resources, &bytes, &cpus);
		add_resources(l->overhead, &bytes, &cpus);
	}
	*ret_mib = (bytes ? ceil_div(bytes, MIB) : c->default_memory_mib) + c->overhead_mib;
	*ret_vcpus = cpus > 0 ? (unsigned)ceil_div((uint64_t)(cpus * 1000), 1000) : 1;
	if (online > 0 && *ret_vcpus > (unsigned)online)
		*ret_vcpus = (unsigned)online;
}

/* BUF's N bytes as one line: lines joined by " | ", carriage returns dropped; malloc'd. */
static char *one_line(const char *buf, size_t n)
{
	char *out = crib_xmalloc(3 * n + 1);
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n' && i + 1 < n) {
			memcpy(out + len, " | ", 3);
			len += 3;
		} else if (buf[i] != '\r' && buf[i] != '\n') {
			out[len++] = buf[i];
		}
	}
	out[len] = '\0';
	return out;
}

/* The last CONSOLE_TAIL bytes of the console, on one line; malloc'd. */
static char *console_tail(const char *path)
{
	_cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[CONSOLE_TAIL];
	off_t end;
	ssize_t n;

	if (fd < 0)
		return crib_xstrdup("no console output");
	end = lseek(fd, 0, SEEK_END);
	lseek(fd, end > CONSOLE_TAIL ? end - CONSOLE_TAIL : 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf));
	return n > 0 ? one_line(buf, (size_t)n) : crib_xstrdup("no console output");
}

/* Removes what nftw walks, never below a mount still there (FTW_MOUNT). */
static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/*
 * Removes the pod's directory: the share is detached first, with whatever
 * container roots are still bound below it, so that no image file is ever
 * removed through it.
 */
static void remove_pod_dir(const char *dir)
{
	_cleanup_free_ char *share = crib_xasprintf("%s/" LV_SHARE, dir);

	(void)umount2(share, MNT_DETACH);
	(void)nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/*
 * The pod's share: a directory bound onto itself and made a shared mount, so
 * that the container roots bound below it later reach virtiofsd, whose mount
 * namespace is a slave of the host's.
 */
static int make_share(const struct lv_state *st, const char *share, struct crib_error **reterr)
{
	if (mkdir(share, 0755) < 0)
		return st->host->error_set(reterr, errno, "cannot make %s: %s", share,
		                           strerror(errno));
	if (mount(share, share, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, share, NULL, MS_SHARED, NULL) < 0)
		return st->host->error_set(reterr, errno, "cannot make %s a shared mount: %s",
		                           share, strerror(errno));
	return 0;
}

/* Destroys DOM if it still runs; 0 when it is gone (a transient domain goes with it). */
static int destroy(const struct lv_state *st, virDomainPtr dom, struct crib_error **reterr)
{
	if (virDomainIsActive(dom) != 1 || virDomainDestroy(dom) == 0 ||
	    virGetLastErrorCode() == VIR_ERR_NO_DOMAIN || virDomainIsActive(dom) != 1)
		return 0;
	return st->host->error_set(reterr, EIO, "cannot destroy the VM %s: %s",
	                           virDomainGetName(dom), lv_last_error());
}

struct boot_times {
	int64_t define_ns; /* virDomainCreateXML, on the host */
	int64_t agent_ns;  /* from then until the agent's Hello */
	struct crib_lv_hello hello;
	struct crib_lv_agent *agent;        /* the session that said Hello, kept for the pod */
	const Crib__Agent__Hello *greeting; /* the VM's host name, sysctls and NIC */
	struct lv_nic *nic;                 /* joined once the domain runs; NULL: none */
};

/* The first Hello of a pod: its VM's host name and sysctls; the strings are CFG's. */
struct greeting {
	Crib__Agent__Hello hello;
	Crib__Agent__Hello__SysctlsEntry *entries; /* malloc'd */
	Crib__Agent__Hello__SysctlsEntry **list;   /* malloc'd */
};

static void greeting_of(const Runtime__V1__PodSandboxConfig *cfg, struct greeting *g)
{
	const Runtime__V1__LinuxPodSandboxConfig *l = cfg->linux;
	size_t n = l ? l->n_sysctls : 0;

	crib__agent__hello__init(&g->hello);
	g->hello.hostname = isempty(cfg->hostname) ? (char *)"" : cfg->hostname;
	g->entries = crib_xcalloc(n + 1, sizeof(*g->entries));
	g->list = crib_xcalloc(n + 1, sizeof(*g->list));
	for (size_t i = 0; i < n; i++) {
		crib__agent__hello__sysctls_entry__init(&g->entries[i]);
		g->entries[i].key = l->sysctls[i]->key;
		g->entries[i].value = l->sysctls[i]->value;
		g->list[i] = &g->entries[i];
	}
	g->hello.sysctls = g->list;
	g->hello.n_sysctls = n;
}

static void greeting_clear(struct greeting *g)
{
	free(g->entries);
	free(g->list);
}

/* A VM has a kernel of its own: it cannot share the host's network, PID or IPC namespace. */
static int check_namespaces(const struct crib_host *host, const Runtime__V1__PodSandboxConfig *cfg,
                            struct crib_error **reterr)
{
	const Runtime__V1__LinuxSandboxSecurityContext *sc =
	    cfg->linux ? cfg->linux->security_context : NULL;
	const Runtime__V1__NamespaceOption *ns = sc ? sc->namespace_options : NULL;
	const struct {
		const char *name;
		Runtime__V1__NamespaceMode mode;
	} kinds[] = {{"network", ns ? ns->network : 0},
	             {"pid", ns ? ns->pid : 0},
	             {"ipc", ns ? ns->ipc : 0}};

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i].mode == RUNTIME__V1__NAMESPACE_MODE__NODE)
			return host->error_set(
			    reterr, ENOTSUP,
			    "PodSandboxConfig.linux.security_context."
			    "namespace_options.%s NODE: a pod VM has a kernel of "
			    "its own and cannot share the host's",
			    kinds[i].name);
	return 0;
}

/* What pod_status shows of the pod (priv): the domain and how it booted. */
static void encode_priv(const char *name, const char *type, const struct boot_times *t,
                        struct crib_blob *ret)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:s, s:s}}", "domain", name, "type", type,
	              "boot", "libvirt_start_ns", (json_int_t)t->define_ns, "agent_answer_ns",
	              (json_int_t)t->agent_ns, "guest_init_ns", (json_int_t)t->hello.started_ns,
	              "guest_ready_ns", (json_int_t)t->hello.answered_ns, "kernel",
	              t->hello.kernel_release ? t->hello.kernel_release : "", "agent",
	              t->hello.agent_version ? t->hello.agent_version : "");

	ret->data = o ? json_dumps(o, JSON_COMPACT) : NULL;
	ret->len = ret->data ? strlen(ret->data) : 0;
	json_decref(o);
}

/*
 * The pod's hostname, hosts and resolv.conf in its directory DIR, which its
 * containers bind at /etc through the share, as the oci backend's do.
 */
static int write_pod_files(struct lv_state *st, const char *dir,
                           const Runtime__V1__PodSandboxConfig *cfg, struct crib_error **reterr)
{
	int r = oci_write_pod_files(dir, cfg, false);

	if (r < 0)
		return st->host->error_set(
		    reterr, -r, "cannot write the pod's /etc files in %s: %s", dir, strerror(-r));
	return 0;
}

/* Starts the domain and waits for its agent; on failure nothing of it is left. */
static int boot(struct lv_state *st, const struct lv_class *c, virConnectPtr conn,
                const struct crib_lv_domain *d, struct lv_pod *p, struct boot_times *t,
                struct crib_error **reterr)
{
	_cleanup_free_ char *xml = NULL;
	virDomainPtr dom;
	int64_t t0 = crib_mono_ns();
	int r = crib_lv_domain_xml(d, &xml);

	if (r < 0)
		return st->host->error_set(reterr, -r, "cannot write the domain XML of %s",
		                           d->name);
	dom = virDomainCreateXML(conn, xml, VIR_DOMAIN_NONE);
	if (!dom)
		return st->host->error_set(reterr, EIO, "cannot start the VM %s: %s", d->name,
		                           lv_last_error());
	t->define_ns = crib_mono_ns() - t0;
	/* QEMU holds the tap now: it can go into the pod's namespace. */
	r = t->nic ? lv_nic_join(st->host, t->nic, reterr) : 0;
	if (r < 0) {
		destroy(st, dom, NULL);
		virDomainFree(dom);
		return r;
	}
	r = crib_lv_agent_open(st->host, d->agent_socket, t->greeting, c->boot_timeout_ms,
	                       &lv_pod_events, p, &t->hello, &t->agent, reterr);
	t->agent_ns = crib_mono_ns() - t0 - t->define_ns;
	if (r < 0) {
		_cleanup_free_ char *tail = console_tail(d->console_log);

		r = st->host->error_set(reterr, -r, "the VM %s did not come up (console: %s)",
		                        d->name, tail);
		destroy(st, dom, NULL);
	}
	virDomainFree(dom);
	return r;
}

static void log_boot(const struct lv_state *st, const char *pod_id, const struct boot_times *t)
{
	st->host->log(st->host, CRIB_LOG_INFO,
	              "pod %.12s: VM started by libvirt in %.0f ms, its agent answered %.0f ms "
	              "later (guest: PID 1 at %.0f ms of boot, modules loaded at %.0f ms, Hello "
	              "answered at %.0f ms)",
	              pod_id, t->define_ns / 1e6, t->agent_ns / 1e6, t->hello.started_ns / 1e6,
	              t->hello.modules_ns / 1e6, t->hello.answered_ns / 1e6);
}

/*
 * The pod's NIC, when cribd's network namespace for it has a CNI interface:
 * its tap made and named in D, its spec in the greeting G.
 */
static int prepare_nic(struct lv_state *st, const struct crib_pod_spec *spec,
                       struct crib_lv_domain *d, struct greeting *g, struct lv_nic **ret,
                       struct crib_error **reterr)
{
	int r;

	*ret = NULL;
	if (!spec->netns_path)
		return 0;
	r = lv_nic_read(st->host, spec->netns_path, spec->ref.id, ret, reterr);
	if (r < 0 || !*ret)
		return r;
	r = lv_nic_make_tap(st->host, *ret, reterr);
	if (r < 0)
		return r;
	d->nic_tap = (*ret)->tap;
	d->nic_mac = (*ret)->spec.mac;
	d->nic_mtu = (*ret)->spec.mtu;
	g->hello.nic = &(*ret)->spec;
	return 0;
}

/* pod_run once CFG (SPEC's config, checked) is decoded. */
static int run_vm(struct lv_state *st, const struct crib_pod_spec *spec,
                  const Runtime__V1__PodSandboxConfig *cfg, struct crib_pod_result *ret,
                  struct crib_error **reterr)
{
	const struct lv_class *c = spec->ref.cls->data;
	_cleanup_free_ char *dir = lv_pod_dir(st, spec->ref.id), *sock = NULL, *console = NULL;
	_cleanup_free_ char *share = crib_xasprintf("%s/" LV_SHARE, dir);
	_cleanup_(lv_pod_putp) struct lv_pod *p = NULL;
	_cleanup_(lv_nic_freep) struct lv_nic *nic = NULL;
	struct boot_times t = {0};
	struct greeting g;
	char name[sizeof(LV_DOMAIN_PREFIX) + 64];
	virConnectPtr conn = NULL;
	struct crib_lv_domain d = {
	    .pod_id = spec->ref.id,
	    .class_name = spec->ref.cls->name,
	    .pod_name = spec->name,
	    .pod_namespace = spec->namespace_,
	    .pod_uid = spec->uid,
	    .firmware = c->firmware,
	    .kernel = c->kernel,
	    .initrd = c->initrd,
	    .cmdline = c->cmdline,
	};
	int r;

	vm_size(c, cfg, &d.memory_mib, &d.vcpus);
	lv_domain_name(spec->ref.id, name);
	d.name = name;
	d.agent_socket = sock = crib_xasprintf("%s/" LV_AGENT_SOCKET, dir);
	d.console_log = console = crib_xasprintf("%s/" LV_CONSOLE_LOG, dir);
	d.share_dir = share;
	r = lv_connect(c->lc, &conn, reterr);
	if (r < 0)
		return r;
	d.type = lv_class_domain_type(st, c, conn);
	/* Not mkdir -p: the directory is named by a prefix of the id, which must be unique. */
	if (mkdir(dir, 0700) < 0) {
		r = st->host->error_set(reterr, errno, "cannot make %s: %s", dir, strerror(errno));
		virConnectClose(conn);
		return r;
	}
	p = lv_pod_get(st, spec->ref.id);
	greeting_of(cfg, &g);
	t.greeting = &g.hello;
	r = make_share(st, share, reterr);
	r = r < 0 ? r : write_pod_files(st, dir, cfg, reterr);
	r = r < 0 ? r : prepare_nic(st, spec, &d, &g, &nic, reterr);
	t.nic = nic;
	r = r < 0 ? r : boot(st, c, conn, &d, p, &t, reterr);
	virConnectClose(conn);
	greeting_clear(&g);
	if (r < 0) {
		lv_pod_forget(st, spec->ref.id);
		remove_pod_dir(dir);
		crib_lv_hello_clear(&t.hello);
		return r;
	}
	if (nic)
		nic->keep = true;
	lv_pod_adopt(p, t.agent);
	log_boot(st, spec->ref.id, &t);
	encode_priv(name, d.type, &t, &ret->priv);
	crib_lv_hello_clear(&t.hello);
	return 0;
}

int lv_pod_run(void *state, struct crib_op *op, const struct crib_pod_spec *spec,
               struct crib_pod_result *ret, struct crib_error **reterr)
{
	struct lv_state *st = state;
	Runtime__V1__PodSandboxConfig *cfg =
	    runtime__v1__pod_sandbox_config__unpack(NULL, spec->cri_config_len, spec->cri_config);
	int r;

	(void)op;
	if (!cfg)
		return st->host->error_set(reterr, EINVAL, "the PodSandboxConfig does not parse");
	r = check_namespaces(st->host, cfg, reterr);
	r = r < 0 ? r : run_vm(st, spec, cfg, ret, reterr);
	runtime__v1__pod_sandbox_config__free_unpacked(cfg, NULL);
	return r;
}

/* A pod's domain and the connection it came through. */
struct pod_vm {
	virConnectPtr conn;
	virDomainPtr dom; /* NULL when the pod has no domain (any longer) */
};

static void pod_vm_close(struct pod_vm *vm)
{
	if (vm->dom)
		virDomainFree(vm->dom);
	if (vm->conn)
		virConnectClose(vm->conn);
	*vm = (struct pod_vm){0};
}

/* Looks the pod's domain up through its class's connection; vm->dom NULL when there is none. */
static int pod_vm_open(const struct lv_state *st, const struct crib_pod_ref *pod, struct pod_vm *vm,
                       struct crib_error **reterr)
{
	const struct lv_class *c = pod->cls->data;
	int r = lv_connect(c->lc, &vm->conn, reterr);

	if (r < 0)
		return r;
	vm->dom = lv_pod_domain(vm->conn, pod->id, &r);
	if (r < 0) {
		pod_vm_close(vm);
		return st->host->error_set(reterr, EIO, "cannot look up the VM of pod %.12s: %s",
		                           pod->id, lv_last_error());
	}
	return 0;
}

/* Waits up to TIMEOUT_MS for DOM to stop running. */
static bool wait_stopped(virDomainPtr dom, int64_t timeout_ms)
{
	int64_t deadline = crib_mono_ns() + timeout_ms * 1000000;

	while (virDomainIsActive(dom) == 1) {
		if (crib_mono_ns() > deadline)
			return false;
		usleep(STOP_POLL_US);
	}
	return true;
}

int lv_pod_stop(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                struct crib_error **reterr)
{
	struct lv_state *st = state;
	const struct lv_class *c = pod->cls->data;
	_cleanup_(pod_vm_close) struct pod_vm vm = {0};
	int r;

	(void)op;
	r = pod_vm_open(st, pod, &vm, reterr);
	if (r < 0 || !vm.dom)
		return r;
	lv_pod_vm_gone(st, pod->id, false);
	/* The power button: crib-agent powers the VM off; destroy is the fallback. */
	if (c->shutdown_timeout_ms > 0 &&
	    virDomainShutdownFlags(vm.dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0 &&
	    wait_stopped(vm.dom, c->shutdown_timeout_ms))
		return 0;
	return destroy(st, vm.dom, reterr);
}

int lv_pod_remove(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                  struct crib_error **reterr)
{
	struct lv_state *st = state;
	_cleanup_free_ char *dir = lv_pod_dir(st, pod->id);
	_cleanup_(pod_vm_close) struct pod_vm vm = {0};
	int r;

	(void)op;
	r = pod_vm_open(st, pod, &vm, reterr);
	if (r == 0 && vm.dom)
		r = destroy(st, vm.dom, reterr);
	if (r == 0) {
		lv_pod_forget(st, pod->id);
		remove_pod_dir(dir);
	}
	return r;
}

int lv_pod_status(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                  struct crib_pod_status *ret, struct crib_error **reterr)
{
	_cleanup_(pod_vm_close) struct pod_vm vm = {0};
	int r;

	(void)op;
	r = pod_vm_open(state, pod, &vm, reterr);
	if (r < 0)
		return r;
	ret->state = vm.dom && virDomainIsActive(vm.dom) == 1 ? CRIB_POD_READY : CRIB_POD_NOTREADY;
	if (pod->priv_len)
		ret->info = crib_xasprintf("%.*s", (int)pod->priv_len, (const char *)pod->priv);
	return 0;
}

/* The domain's memory as the host sees it: QEMU's resident set. */
static void memory_usage(virDomainPtr dom, struct crib_usage *ret)
{
	virDomainMemoryStatStruct stats[VIR_DOMAIN_MEMORY_STAT_NR];
	int n = virDomainMemoryStats(dom, stats, VIR_DOMAIN_MEMORY_STAT_NR, 0);

	for (int i = 0; i < n; i++)
		if (stats[i].tag == VIR_DOMAIN_MEMORY_STAT_RSS) {
			ret->memory_rss_bytes = stats[i].val * 1024;
			ret->memory_usage_bytes = ret->memory_rss_bytes;
			ret->memory_working_set_bytes = ret->memory_rss_bytes;
			ret->present |= CRIB_USAGE_MEMORY_RSS | CRIB_USAGE_MEMORY_USAGE |
			                CRIB_USAGE_MEMORY_WORKING_SET;
		}
}

/* The domain's CPU time (every vCPU and QEMU's own threads). */
static void cpu_usage(virDomainPtr dom, struct crib_usage *ret)
{
	virTypedParameter params[8];
	int n = virDomainGetCPUStats(dom, params, 8, -1, 1, 0);

	for (int i = 0; i < n; i++)
		if (streq(params[i].field, VIR_DOMAIN_CPU_STATS_CPUTIME) &&
		    params[i].type == VIR_TYPED_PARAM_ULLONG) {
			ret->cpu_core_ns = params[i].value.ul;
			ret->present |= CRIB_USAGE_CPU;
		}
}

int lv_pod_stats(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                 struct crib_usage *ret, struct crib_error **reterr)
{
	struct lv_state *st = state;
	_cleanup_(pod_vm_close) struct pod_vm vm = {0};
	int r;

	(void)op;
	r = pod_vm_open(st, pod, &vm, reterr);
	if (r < 0)
		return r;
	if (!vm.dom)
		return st->host->error_set(reterr, ENOENT, "pod %.12s: its VM is gone", pod->id);
	ret->timestamp = crib_now_ns();
	cpu_usage(vm.dom, ret);
	memory_usage(vm.dom, ret);
	return 0;
}
