/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libvirt backend: pods as QEMU/KVM virtual machines through libvirt's C
 * API.  This file: entry, init, the connections to libvirtd (one per URI,
 * reconnected after libvirtd restarts), classes (the KVM probe), health and
 * reconcile.  See libvirt.h for the mapping.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "classkeys.h"
#include "domxml.h"
#include "kvmprobe.h"
#include "libvirt.h"
#include "sibling.h"
#include "util.h"

#define LV_VERSION   "0.1.0"
#define DEFAULT_URI  "qemu:///system"
#define KVM_DEVICE   "/dev/kvm"
#define KVM_PROBE_MS 2000
/* Under KVM the kernel gets to crib-agent in well under a second. */
#define KVM_BOOT_PROBE_MS 10000
/* The KVM verdict of this boot of the host, for the cribds after the first (tmpfs). */
#define KVM_VERDICT_FILE "/run/crib-libvirt-kvm"
#define BOOT_ID_FILE     "/proc/sys/kernel/random/boot_id"
#define EVENT_TICK_MS    250
/* How long reconcile asks a just-restarted libvirtd for a domain's metadata. */
#define RECONCILE_TRIES    25
#define RECONCILE_RETRY_US 200000
#define DEFAULT_KERNEL     "/boot/vmlinuz-" CRIB_LIBVIRT_KERNEL_RELEASE
/*
 * qboot (Debian's qemu-system-data) does only what a direct kernel boot
 * needs; under TCG it reaches the kernel about 0.3 s before SeaBIOS does.
 */
#define QBOOT "/usr/share/qemu/qboot.rom"

static const char *const class_keys[] = {
    "uri",         "kernel",    "kernel_args",  "initrd",       "firmware", "domain_type",
    "overhead_mb", "memory_mb", "boot_timeout", "stop_timeout", NULL,
};

const char *lv_last_error(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown error";
}

void lv_domain_name(const char *pod_id, char buf[static sizeof(LV_DOMAIN_PREFIX) + 64])
{
	snprintf(buf, sizeof(LV_DOMAIN_PREFIX) + 64, LV_DOMAIN_PREFIX "%s", pod_id);
}

char *lv_pod_dir(const struct lv_state *st, const char *pod_id)
{
	return crib_xasprintf("%s/%.*s", st->pods_dir, LV_POD_DIR_ID, pod_id);
}

virDomainPtr lv_pod_domain(virConnectPtr conn, const char *pod_id, int *ret_err)
{
	char name[sizeof(LV_DOMAIN_PREFIX) + 64];
	virDomainPtr dom;

	lv_domain_name(pod_id, name);
	dom = virDomainLookupByName(conn, name);
	*ret_err = 0;
	if (!dom && virGetLastErrorCode() != VIR_ERR_NO_DOMAIN)
		*ret_err = -EIO;
	return dom;
}

/* The pod id of a domain crib made, from its name; NULL for any other domain. */
static const char *pod_id_of(virDomainPtr dom)
{
	const char *name = virDomainGetName(dom);
	size_t len = strlen(LV_DOMAIN_PREFIX);

	if (!name || strncmp(name, LV_DOMAIN_PREFIX, len) != 0 || strlen(name + len) != CRIB_ID_LEN)
		return NULL;
	return name + len;
}

/*
 * libvirt's callbacks run on the event thread and get the state, not a
 * connection: the state was made before that thread started, which TSan can
 * see, while a connection is handed over inside libvirt, which it cannot.
 */

/*
 * A crib domain stopped: its pod is not ready, and its containers ended with
 * it (also when crib stopped it, which changes nothing then).
 */
static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct lv_state *st = opaque;
	const char *id = pod_id_of(dom);
	struct crib_event ev = {.kind = CRIB_EVENT_POD_NOTREADY};

	(void)conn;
	(void)detail;
	if (!id || (event != VIR_DOMAIN_EVENT_STOPPED && event != VIR_DOMAIN_EVENT_CRASHED))
		return 0;
	ev.id = id;
	ev.reason = event == VIR_DOMAIN_EVENT_CRASHED ? "VMCrashed" : "VMStopped";
	lv_pod_vm_gone(st, id, true);
	st->host->emit(st->host, &ev);
	return 0;
}

/* libvirtd went away; lv_connect() sees the connection is dead and makes a new one. */
static void on_close(virConnectPtr conn, int reason, void *opaque)
{
	const struct lv_state *st = opaque;

	(void)conn;
	st->host->log(st->host, CRIB_LOG_WARNING,
	              "a connection to libvirtd closed (reason %d); connecting again at next use",
	              reason);
}

/* Drops LC's connection; under lc->lock. */
static void conn_drop(struct lv_conn *lc)
{
	if (!lc->conn)
		return;
	if (lc->lifecycle_cb >= 0)
		virConnectDomainEventDeregisterAny(lc->conn, lc->lifecycle_cb);
	virConnectUnregisterCloseCallback(lc->conn, on_close);
	virConnectClose(lc->conn);
	lc->conn = NULL;
	lc->lifecycle_cb = -1;
}

int lv_connect(struct lv_conn *lc, virConnectPtr *ret, struct crib_error **reterr)
{
	const struct crib_host *host = lc->st->host;
	int r = 0;

	pthread_mutex_lock(&lc->lock);
	if (lc->conn && virConnectIsAlive(lc->conn) != 1)
		conn_drop(lc);
	if (!lc->conn) {
		lc->conn = virConnectOpen(lc->uri);
		if (!lc->conn) {
			r = host->error_set(reterr, ECONNREFUSED,
			                    "cannot connect to libvirtd at %s: %s", lc->uri,
			                    lv_last_error());
			goto out;
		}
		virConnectRegisterCloseCallback(lc->conn, on_close, lc->st, NULL);
		lc->lifecycle_cb = virConnectDomainEventRegisterAny(
		    lc->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
		    VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), lc->st, NULL);
	}
	virConnectRef(lc->conn);
	*ret = lc->conn;
out:
	pthread_mutex_unlock(&lc->lock);
	return r;
}

/* libvirt's events (close, lifecycle) arrive on this thread. */
static void *event_loop(void *arg)
{
	struct lv_state *st = arg;

	while (!atomic_load(&st->stopping))
		if (virEventRunDefaultImpl() < 0)
			break;
	return NULL;
}

/* Wakes the event loop now and then, so that it sees st->stopping. */
static void event_tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

/* libvirt logs every error to stderr by default; crib returns them instead. */
static void quiet_errors(void *opaque, virErrorPtr err)
{
	(void)opaque;
	(void)err;
}

static void lv_fini(void *state);

static int lv_init(const struct crib_host *host, void **ret_state, struct crib_error **reterr)
{
	struct lv_state *st = crib_xcalloc(1, sizeof(*st));
	int r;

	*ret_state = st;
	st->host = host;
	st->kvm = -1;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->kvm_lock, NULL);
	pthread_cond_init(&st->port_streams_gone, NULL);
	st->pods_dir = crib_xasprintf("%s/pods", host->run_dir);
	st->default_initrd = crib_module_sibling("crib-agent.initrd");
	if (strlen(st->pods_dir) + 1 + LV_POD_DIR_ID + strlen("/" LV_AGENT_SOCKET) >=
	    sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return host->error_set(reterr, ENAMETOOLONG,
		                       "run_dir %s is too long for the VMs' agent sockets below it",
		                       host->run_dir);
	r = crib_mkdir_p(st->pods_dir, 0700);
	if (r < 0)
		return host->error_set(reterr, -r, "cannot make %s: %s", st->pods_dir,
		                       strerror(-r));
	virSetErrorFunc(NULL, quiet_errors);
	/* Before the first connection: close callbacks and events need a loop. */
	if (virEventRegisterDefaultImpl() < 0 ||
	    virEventAddTimeout(EVENT_TICK_MS, event_tick, NULL, NULL) < 0)
		return host->error_set(reterr, EIO, "cannot set up libvirt's event loop: %s",
		                       lv_last_error());
	r = pthread_create(&st->events, NULL, event_loop, st);
	if (r)
		return host->error_set(reterr, r, "cannot start libvirt's event thread: %s",
		                       strerror(r));
	st->events_started = true;
	return 0;
}

static void conn_free(struct lv_conn *lc)
{
	conn_drop(lc);
	pthread_mutex_destroy(&lc->lock);
	free(lc->uri);
	free(lc);
}

static void lv_fini(void *state)
{
	struct lv_state *st = state;

	if (!st)
		return;
	/* The connections cribd cannot close itself: their threads use the records. */
	lv_streams_stop(st);
	/* Then the loop, so that no callback runs on a record or connection being freed. */
	atomic_store(&st->stopping, true);
	if (st->events_started)
		pthread_join(st->events, NULL);
	/* The agents' sessions before the state: their threads use it. */
	lv_pods_free(st);
	while (st->conns) {
		struct lv_conn *lc = st->conns;

		st->conns = lc->next;
		conn_free(lc);
	}
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->kvm_lock);
	pthread_cond_destroy(&st->port_streams_gone);
	free(st->pods_dir);
	free(st->default_initrd);
	free(st->kvm_reason);
	free(st);
}

/* The connection for URI, shared with the classes already using it. */
static struct lv_conn *conn_get(struct lv_state *st, const char *uri)
{
	struct lv_conn *lc;

	pthread_mutex_lock(&st->lock);
	for (lc = st->conns; lc && !streq(lc->uri, uri); lc = lc->next)
		;
	if (!lc) {
		lc = crib_xcalloc(1, sizeof(*lc));
		lc->uri = crib_xstrdup(uri);
		lc->st = st;
		lc->lifecycle_cb = -1;
		pthread_mutex_init(&lc->lock, NULL);
		lc->next = st->conns;
		st->conns = lc;
	}
	lc->refs++;
	pthread_mutex_unlock(&st->lock);
	return lc;
}

static void conn_put(struct lv_state *st, struct lv_conn *lc)
{
	struct lv_conn **p;

	pthread_mutex_lock(&st->lock);
	if (--lc->refs == 0) {
		for (p = &st->conns; *p != lc; p = &(*p)->next)
			;
		*p = lc->next;
		conn_free(lc);
	}
	pthread_mutex_unlock(&st->lock);
}

/* The verdict an earlier cribd reached in this boot of the host: 1, 0 (with *ret_reason) or -1. */
static int read_verdict(const char *boot_id, char **ret_reason)
{
	_cleanup_(fclosep) FILE *f = fopen(KVM_VERDICT_FILE, "re");
	char id[64] = "", works[8] = "", reason[512] = "";

	if (!f || !fgets(id, sizeof(id), f) || !fgets(works, sizeof(works), f) ||
	    !fgets(reason, sizeof(reason), f))
		return -1;
	id[strcspn(id, "\n")] = reason[strcspn(reason, "\n")] = '\0';
	if (!streq(id, boot_id) || (works[0] != '0' && works[0] != '1'))
		return -1;
	*ret_reason = works[0] == '0' ? crib_xstrdup(reason) : NULL;
	return works[0] == '1';
}

/* Written aside and renamed: cribds starting together read a whole verdict or none. */
static void write_verdict(const char *boot_id, bool works, const char *reason)
{
	_cleanup_free_ char *tmp = crib_xasprintf("%s.%d", KVM_VERDICT_FILE, (int)getpid());
	FILE *f = fopen(tmp, "we");
	bool ok;

	if (!f)
		return;
	ok = fprintf(f, "%s\n%d\n%s\n", boot_id, works, reason ? reason : "") > 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, KVM_VERDICT_FILE) < 0)
		(void)unlink(tmp);
}

/* Both probes (kvmprobe.h), the boot probe with class C's kernel, initrd and BIOS. */
static bool probe_kvm(struct lv_state *st, const struct lv_class *c, virConnectPtr conn,
                      char **ret_reason)
{
	_cleanup_free_ char *name = crib_xasprintf(LV_DOMAIN_PREFIX "kvm-probe-%d", (int)getpid());
	_cleanup_free_ char *cmdline = crib_xasprintf("%s " KVM_PROBE_WORD, c->cmdline);
	_cleanup_free_ char *log = crib_xasprintf("%s/kvm-probe.log", st->host->run_dir);
	struct crib_lv_domain d = {
	    .name = name,
	    .type = "kvm",
	    .memory_mib = 256,
	    .vcpus = 1,
	    .firmware = c->firmware,
	    .kernel = c->kernel,
	    .initrd = c->initrd,
	    .cmdline = cmdline,
	    .console_log = log,
	};

	return crib_lv_kvm_works(KVM_DEVICE, KVM_PROBE_MS, ret_reason) &&
	       crib_lv_kvm_boots(conn, &d, KVM_BOOT_PROBE_MS, ret_reason);
}

/*
 * Whether KVM runs pod VMs here: probed on the first pod of an auto class,
 * and kept for this boot of the host in KVM_VERDICT_FILE (a hanging KVM
 * costs the boot probe's whole timeout).
 */
static bool kvm_works(struct lv_state *st, const struct lv_class *c, virConnectPtr conn)
{
	_cleanup_free_ char *boot_id = NULL;
	char *reason = NULL;
	const char *from;
	size_t len;
	bool cached;
	int works;

	pthread_mutex_lock(&st->kvm_lock);
	if (st->kvm >= 0)
		goto out;
	if (crib_read_file(BOOT_ID_FILE, 64, &boot_id, &len) == 0)
		boot_id[strcspn(boot_id, "\n")] = '\0';
	works = boot_id ? read_verdict(boot_id, &reason) : -1;
	cached = works >= 0;
	if (!cached) {
		works = probe_kvm(st, c, conn, &reason);
		if (boot_id)
			write_verdict(boot_id, works, reason);
	}
	from = cached ? " (this boot's verdict in " KVM_VERDICT_FILE ")" : "";
	if (works)
		st->host->log(st->host, CRIB_LOG_INFO, "KVM works: pod VMs use it%s", from);
	else
		st->host->log(st->host, CRIB_LOG_INFO, "KVM does not work (%s): pod VMs use TCG%s",
		              reason, from);
	pthread_mutex_lock(&st->lock);
	st->kvm = works;
	st->kvm_reason = reason;
	pthread_mutex_unlock(&st->lock);
out:
	works = st->kvm;
	pthread_mutex_unlock(&st->kvm_lock);
	return works;
}

const char *lv_class_domain_type(struct lv_state *st, const struct lv_class *c, virConnectPtr conn)
{
	if (c->domain_type)
		return c->domain_type;
	return kvm_works(st, c, conn) ? "kvm" : "qemu";
}

/* A whole number of KEY within [MIN, MAX], or DEF when the class does not set it. */
static int class_number(const struct lv_state *st, const struct crib_class *cls, const char *key,
                        int64_t min, int64_t max, int64_t def, int64_t *ret,
                        struct crib_error **reterr)
{
	const char *v = st->host->class_get(cls, key);
	char *end;
	long long n;

	*ret = def;
	if (!v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return st->host->class_error(cls, key, reterr, EINVAL,
		                             "%s must be a whole number from %" PRId64
		                             " to %" PRId64 ", not '%s'",
		                             key, min, max, v);
	*ret = n;
	return 0;
}

/* A file QEMU must read: KEY's value or DEF. */
static int class_file(const struct lv_state *st, const struct crib_class *cls, const char *key,
                      const char *def, char **ret, struct crib_error **reterr)
{
	const char *v = st->host->class_get(cls, key);
	const char *path = v ? v : def;

	if (!path || !path[0])
		return st->host->class_error(cls, key, reterr, EINVAL,
		                             "%s: no default on this build; set %s = PATH", key,
		                             key);
	if (path[0] != '/')
		return st->host->class_error(cls, key, reterr, EINVAL,
		                             "%s must be an absolute path, not '%s'", key, path);
	if (access(path, R_OK) < 0)
		return st->host->class_error(cls, key, reterr, errno == ENOENT ? ENOENT : EACCES,
		                             "%s %s%s: %s", key, path, v ? "" : " (the default)",
		                             strerror(errno));
	*ret = crib_xstrdup(path);
	return 0;
}

static int class_domain_type(struct lv_state *st, const struct crib_class *cls, struct lv_class *c,
                             struct crib_error **reterr)
{
	const char *v = st->host->class_get(cls, "domain_type");

	/* auto: NULL, decided on the class's first pod (lv_class_domain_type). */
	if (!v || streq(v, "auto"))
		c->domain_type = NULL;
	else if (streq(v, "kvm") || streq(v, "qemu"))
		c->domain_type = streq(v, "kvm") ? "kvm" : "qemu";
	else
		return st->host->class_error(cls, "domain_type", reterr, EINVAL,
		                             "domain_type must be auto, kvm or qemu, not '%s'", v);
	return 0;
}

/* The BIOS: FIRMWARE's path, none for "default" (QEMU's), qboot when the class says nothing. */
static int class_firmware(const struct lv_state *st, const struct crib_class *cls,
                          struct lv_class *c, struct crib_error **reterr)
{
	const char *v = st->host->class_get(cls, "firmware");

	if (v && streq(v, "default"))
		return 0;
	if (!v && access(QBOOT, R_OK) < 0)
		return 0;
	return class_file(st, cls, "firmware", QBOOT, &c->firmware, reterr);
}

static void class_free(struct lv_class *c)
{
	free(c->firmware);
	free(c->cmdline);
	free(c->kernel);
	free(c->initrd);
	free(c);
}

static int lv_class_open(void *state, const struct crib_class *cls, uint64_t *ret_features,
                         void **ret_data, struct crib_error **reterr)
{
	struct lv_state *st = state;
	struct lv_class *c = crib_xcalloc(1, sizeof(*c));
	const char *uri = st->host->class_get(cls, "uri");
	const char *args = st->host->class_get(cls, "kernel_args");
	int64_t overhead, memory;
	int r;

	*ret_features = 0;
	r = crib_class_check_keys(st->host, cls, "libvirt", class_keys, reterr);
	r = r < 0 ? r : class_file(st, cls, "kernel", DEFAULT_KERNEL, &c->kernel, reterr);
	r = r < 0 ? r : class_file(st, cls, "initrd", st->default_initrd, &c->initrd, reterr);
	r = r < 0 ? r : class_firmware(st, cls, c, reterr);
	r = r < 0 ? r : class_number(st, cls, "overhead_mb", 0, 1 << 20, 64, &overhead, reterr);
	r = r < 0 ? r : class_number(st, cls, "memory_mb", 64, 1 << 22, 256, &memory, reterr);
	r = r < 0 ? r
	          : class_number(st, cls, "boot_timeout", 1, 3600, 60, &c->boot_timeout_ms, reterr);
	r = r < 0 ? r
	          : class_number(st, cls, "stop_timeout", 0, 3600, 10, &c->shutdown_timeout_ms,
	                         reterr);
	r = r < 0 ? r : class_domain_type(st, cls, c, reterr);
	if (r < 0) {
		class_free(c);
		return r;
	}
	c->overhead_mib = (uint64_t)overhead;
	c->default_memory_mib = (uint64_t)memory;
	c->boot_timeout_ms *= 1000;
	c->shutdown_timeout_ms *= 1000;
	c->cmdline = args ? crib_xasprintf("%s %s", LV_KERNEL_CMDLINE, args)
	                  : crib_xstrdup(LV_KERNEL_CMDLINE);
	c->lc = conn_get(st, uri ? uri : DEFAULT_URI);
	*ret_data = c;
	return 0;
}

static void lv_class_close(void *state, const struct crib_class *cls)
{
	struct lv_class *c = cls->data;

	if (!c)
		return;
	conn_put(state, c->lc);
	class_free(c);
}

/*
 * Whether DOM's metadata says it is crib's VM of pod POD_ID: 1 yes, 0 no,
 * -EAGAIN when libvirtd could not tell (it may still be reconnecting to its
 * VMs after a restart).
 */
static int domain_is_pod(virDomainPtr dom, const char *pod_id)
{
	char *xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, CRIB_LV_METADATA_NS, 0);
	char *id = NULL;
	int is;

	if (!xml)
		return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN_METADATA ? 0 : -EAGAIN;
	is = crib_lv_metadata_pod_id(xml, &id) == 0 && streq(id, pod_id);
	free(id);
	free(xml);
	return is;
}

/* domain_is_pod, asked again for a while when libvirtd cannot tell yet. */
static int domain_is_pod_wait(const struct lv_state *st, virDomainPtr dom, const char *pod_id)
{
	int is = domain_is_pod(dom, pod_id);

	for (int i = 0; is == -EAGAIN && i < RECONCILE_TRIES; i++) {
		usleep(RECONCILE_RETRY_US);
		is = domain_is_pod(dom, pod_id);
	}
	if (is == -EAGAIN)
		st->host->log(st->host, CRIB_LOG_WARNING,
		              "pod %.12s: cannot read the metadata of %s (%s); kept by its name",
		              pod_id, virDomainGetName(dom), lv_last_error());
	return is;
}

/* A pod is found when its domain runs and carries its id in crib's metadata. */
static void reconcile_one(struct lv_state *st, struct crib_reconcile_item *it)
{
	const struct lv_class *c = it->cls ? it->cls->data : NULL;
	virConnectPtr conn = NULL;
	virDomainPtr dom;
	int err;

	if (it->kind != CRIB_KIND_POD || !c || lv_connect(c->lc, &conn, NULL) < 0)
		return;
	dom = lv_pod_domain(conn, it->id, &err);
	if (dom && domain_is_pod_wait(st, dom, it->id) == 0) {
		st->host->log(st->host, CRIB_LOG_WARNING,
		              "pod %.12s: domain %s lacks its crib metadata: not the pod's VM",
		              it->id, virDomainGetName(dom));
		virDomainFree(dom);
		dom = NULL;
	}
	it->found = dom && virDomainIsActive(dom) == 1;
	it->pod.state = it->found ? CRIB_POD_READY : CRIB_POD_NOTREADY;
	if (!it->found) {
		st->host->log(st->host, CRIB_LOG_INFO, "pod %.12s: its VM is gone", it->id);
		lv_pod_vm_gone(st, it->id, false);
	}
	if (dom)
		virDomainFree(dom);
	virConnectClose(conn);
}

static int lv_reconcile(void *state, struct crib_op *op, struct crib_reconcile_item *items,
                        size_t n_items, struct crib_error **reterr)
{
	(void)op;
	(void)reterr;
	for (size_t i = 0; i < n_items; i++)
		reconcile_one(state, &items[i]);
	/* Then the containers, from the agents of the pods whose VMs run. */
	lv_reconcile_containers(state, items, n_items);
	return 0;
}

static void version_text(unsigned long v, char *buf, size_t size)
{
	snprintf(buf, size, "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
}

/* One line on LC's libvirtd; false when it does not answer. */
static bool conn_health(struct lv_conn *lc, char **line)
{
	virConnectPtr conn = NULL;
	unsigned long lib = 0, hv = 0;
	char libv[32], hvv[32];

	if (lv_connect(lc, &conn, NULL) < 0) {
		*line =
		    crib_xasprintf("%s: libvirtd does not answer (%s)", lc->uri, lv_last_error());
		return false;
	}
	virConnectGetLibVersion(conn, &lib);
	virConnectGetVersion(conn, &hv);
	version_text(lib, libv, sizeof(libv));
	version_text(hv, hvv, sizeof(hvv));
	*line = crib_xasprintf("%s: libvirt %s, QEMU %s", lc->uri, libv, hvv);
	virConnectClose(conn);
	return true;
}

static int lv_health(void *state, struct crib_health *ret, struct crib_error **reterr)
{
	struct lv_state *st = state;
	struct lv_conn **conns = NULL;
	size_t n = 0;
	char *text = NULL;
	bool healthy = true;
	int kvm;

	(void)reterr;
	/*
	 * The connections are held, not the lock, while libvirtd answers: a
	 * slow or absent libvirtd must not stall every op that looks a pod up.
	 */
	pthread_mutex_lock(&st->lock);
	for (struct lv_conn *lc = st->conns; lc; lc = lc->next) {
		conns = crib_xrealloc(conns, n + 1, sizeof(*conns));
		conns[n++] = lc;
		lc->refs++;
	}
	kvm = st->kvm;
	pthread_mutex_unlock(&st->lock);
	for (size_t i = 0; i < n; i++) {
		char *line = NULL, *joined;

		healthy = conn_health(conns[i], &line) && healthy;
		joined = text ? crib_xasprintf("%s; %s", text, line) : crib_xstrdup(line);
		free(text);
		free(line);
		text = joined;
		conn_put(st, conns[i]);
	}
	free(conns);
	if (kvm >= 0)
		ret->info = crib_xasprintf("{\"kvm\":%s}", kvm ? "true" : "false");
	ret->healthy = healthy;
	ret->message = text ? text : crib_xstrdup("no libvirt class is configured");
	return 0;
}

static const struct crib_backend_ops lv_ops = {
    .abi_major = CRIB_BACKEND_ABI_MAJOR,
    .abi_minor = CRIB_BACKEND_ABI_MINOR,
    .struct_size = sizeof(struct crib_backend_ops),
    .name = "libvirt",
    .version = LV_VERSION,
    .caps = CRIB_CAP_POD_STATUS | CRIB_CAP_POD_STATS | CRIB_CAP_HEALTH | CRIB_CAP_REOPEN_LOG |
            CRIB_CAP_EXEC_SYNC | CRIB_CAP_CONTAINER_STATS | CRIB_CAP_UPDATE_RESOURCES |
            CRIB_CAP_STREAMS | CRIB_CAP_PORT_FORWARD,
    .init = lv_init,
    .fini = lv_fini,
    .class_open = lv_class_open,
    .class_close = lv_class_close,
    .pod_run = lv_pod_run,
    .pod_stop = lv_pod_stop,
    .pod_remove = lv_pod_remove,
    .container_create = lv_container_create,
    .container_start = lv_container_start,
    .container_stop = lv_container_stop,
    .container_remove = lv_container_remove,
    .container_status = lv_container_status,
    .reconcile = lv_reconcile,
    .pod_status = lv_pod_status,
    .health = lv_health,
    .pod_stats = lv_pod_stats,
    .container_reopen_log = lv_container_reopen_log,
    .exec_sync = lv_exec_sync,
    .container_stats = lv_container_stats,
    .container_update = lv_container_update,
    .stream_open = lv_stream_open,
    .stream_resize = lv_stream_resize,
    .stream_finish = lv_stream_finish,
    .stream_close = lv_stream_close,
    .port_connect = lv_port_connect,
};

CRIB_EXPORT const struct crib_backend_ops *crib_backend_entry(uint32_t host_abi_major)
{
	(void)host_abi_major;
	return &lv_ops;
}
