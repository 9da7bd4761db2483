/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libvirt backend's internals, shared by its files: libvirt.c (entry,
 * init, the connections to libvirtd, classes, health, reconcile), sandbox.c
 * (pods as VMs), pods.c (what the backend keeps of each pod: its agent
 * session, its containers) and container.c (the container ops).
 *
 * Mapping.  A pod is a transient libvirt domain named "crib-<pod id>" whose
 * <metadata> carries crib's pod id (domxml.h).  The VM boots the class's
 * kernel straight into crib-agent.initrd; crib-agent (PID 1) serves the
 * host over a virtio-serial port whose host side is a unix socket.  A
 * transient domain lives on through cribd's and libvirtd's restarts, and is
 * gone once the VM powers off.
 *
 * The pod's CRI containers run in the VM as crib-agent's processes.  Their
 * root filesystems (cribd's snapshots) are bound into the pod's share, a
 * directory virtiofsd serves to the guest; the share is a shared mount, so
 * that binds made after the VM started reach virtiofsd's mount namespace.
 *
 * Layout under the backend's run_dir, by the pod id's first LV_POD_DIR_ID
 * digits (a unix socket's path must stay under 108 bytes):
 *   pods/<id>/agent.sock            the agent's port (QEMU listens)
 *   pods/<id>/console.log           the VM's serial console
 *   pods/<id>/hostname, hosts, resolv.conf  the pod's /etc files (CRI's DNS config)
 *   pods/<id>/share/                the share (virtiofs tag "crib")
 *   pods/<id>/share/<ctr>/rootfs    a container's root filesystem, bound
 *   pods/<id>/share/<ctr>/mounts/N  its CRI mounts, bound
 */
#ifndef CRIB_LIBVIRT_LIBVIRT_H
#define CRIB_LIBVIRT_LIBVIRT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <crib/backend.h>

#include "agentclient.h"
#include "util.h"

#define LV_DOMAIN_PREFIX "crib-"
#define LV_POD_DIR_ID    16
#define LV_AGENT_SOCKET  "agent.sock"
#define LV_CONSOLE_LOG   "console.log"
#define LV_SHARE         "share"
/* The seq of the last Output the pod's logs got, which a restarted cribd's Hello names. */
#define LV_OUTPUT_SEQ "output.seq"
/*
 * The guest kernel's command line before the class's kernel_args: quiet,
 * with the probes a pod VM never needs left out (they cost most under TCG);
 * any panic ends the VM (on_reboot destroy).
 */
#define LV_KERNEL_CMDLINE                                                                          \
	"console=ttyS0 quiet panic=-1 cryptomgr.notests no_timer_check tsc=reliable "              \
	"i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

/* What a call to the agent may take, the VM being up (TCG makes it slow). */
#define LV_CALL_TIMEOUT_MS 30000
/* Reaching the agent of a VM that runs: its socket is there from the start. */
#define LV_CONNECT_TIMEOUT_MS 5000

struct lv_state;
struct lv_stream;

/*
 * One libvirtd, by URI, shared by the classes naming it.  Connected on first
 * use; once libvirtd went away (the close callback logs it, and
 * virConnectIsAlive says so), the next use connects again.
 */
struct lv_conn {
	struct lv_conn *next;
	char *uri;
	struct lv_state *st;
	pthread_mutex_t lock;
	virConnectPtr conn; /* under lock; NULL until first connected */
	int lifecycle_cb;   /* the lifecycle event callback's id, -1 when none */
	unsigned refs;      /* classes using it; under st->lock */
};

struct lv_state {
	const struct crib_host *host;
	char *pods_dir;       /* <run_dir>/pods */
	char *default_initrd; /* crib-agent.initrd next to the module */
	pthread_mutex_t lock;
	struct lv_conn *conns;    /* under lock */
	struct lv_pod *pods;      /* under lock */
	pthread_mutex_t kvm_lock; /* one KVM probe at a time (libvirt.c's kvm_works) */
	int kvm;                  /* -1: not probed yet, 0: no, 1: works; under lock and kvm_lock */
	char *kvm_reason;         /* why not, under lock and kvm_lock */
	unsigned port_streams;    /* under lock: PortForward connections whose threads run */
	pthread_cond_t port_streams_gone; /* under lock */
	pthread_t events;                 /* runs libvirt's default event loop */
	bool events_started;
	atomic_bool stopping;
};

struct lv_class {
	struct lv_conn *lc;
	const char *domain_type; /* "kvm" or "qemu"; NULL: auto (lv_class_domain_type) */
	char *firmware;          /* NULL: QEMU's default BIOS */
	char *kernel;
	char *initrd;
	char *cmdline;               /* crib's kernel command line, then the class's kernel_args */
	uint64_t overhead_mib;       /* added to the pod's memory */
	uint64_t default_memory_mib; /* the pod's memory when it sets no limit */
	int64_t boot_timeout_ms;     /* until the agent answers */
	int64_t shutdown_timeout_ms; /* from the power button to destroy */
};

/*
 * A new reference to LC's connection, connecting first if there is none or
 * libvirtd went away; the caller virConnectClose()s it.  -ECONNREFUSED
 * (UNAVAILABLE) with libvirt's reason when libvirtd does not answer.
 */
int lv_connect(struct lv_conn *lc, virConnectPtr *ret, struct crib_error **reterr);

/*
 * The domain type of class C's pods: its own, or for auto whether KVM
 * works here (the first call probes it, on CONN, for up to a few seconds).
 */
const char *lv_class_domain_type(struct lv_state *st, const struct lv_class *c, virConnectPtr conn);

/*
 * Sends REQ to the agent and frees the answer (LV_CALL_TIMEOUT_MS): for
 * requests whose answer says nothing more than that they were done.
 */
int lv_agent_request(struct crib_lv_agent *a, Crib__Agent__HostMessage *req,
                     struct crib_error **reterr);

/* libvirt's last error message on this thread, or "unknown error". */
const char *lv_last_error(void);

/* The domain name of pod POD_ID, in BUF. */
void lv_domain_name(const char *pod_id, char buf[static sizeof(LV_DOMAIN_PREFIX) + 64]);

/* The pod's own directory under st->pods_dir (malloc'd, the caller's; see above). */
char *lv_pod_dir(const struct lv_state *st, const char *pod_id);

/*
 * The pod's domain on CONN if it exists (a new reference, the caller's
 * virDomainFree), else NULL with *ret_err = 0, or -errno when libvirtd
 * failed to answer.
 */
virDomainPtr lv_pod_domain(virConnectPtr conn, const char *pod_id, int *ret_err);

/* A CRI container as the backend keeps it (pods.c). */
struct lv_ctr {
	struct lv_ctr *next;
	char id[CRIB_ID_LEN + 1];
	struct crib_log_writer *log; /* NULL without a log path */
	uint32_t state;              /* enum crib_container_state */
	int32_t exit_code;
	int64_t started_at; /* ns since the epoch, cribd's clock */
	int64_t finished_at;
};

/*
 * What the backend keeps of a pod while cribd runs: the session with its
 * agent and its containers.  Made on first use, also after a restart.
 */
struct lv_pod {
	struct lv_pod *next;
	char id[CRIB_ID_LEN + 1];
	struct lv_state *st;
	pthread_mutex_t connect_lock; /* one connection attempt at a time */
	pthread_mutex_t lock;
	pthread_cond_t changed;      /* a container's state changed; under lock */
	struct crib_lv_agent *agent; /* under lock; NULL until connected */
	struct crib_lv_agent **dead; /* sessions that ended, freed with the pod */
	size_t n_dead;
	struct lv_ctr *ctrs;       /* under lock */
	bool vm_gone;              /* under lock: stopped, its containers with it */
	struct lv_stream *streams; /* under lock: Exec and Attach sessions (stream.c) */
	uint64_t last_stream;      /* under lock: the last session's number */
	uint64_t output_seq;       /* under lock: the last Output written (LV_OUTPUT_SEQ) */
	int output_seq_fd;         /* under lock: that file, -1 until written */
	unsigned refs;             /* under st->lock: lv_pod_get()s not yet put */
	bool forgotten;            /* under st->lock: out of st->pods, freed at refs 0 */
};

/*
 * The pod POD_ID's record, made when missing, with a reference the caller
 * drops with lv_pod_put(): query ops may use a record while RemovePodSandbox
 * forgets it.
 */
struct lv_pod *lv_pod_get(struct lv_state *st, const char *pod_id);
void lv_pod_put(struct lv_pod *p);
static inline void lv_pod_putp(struct lv_pod **p)
{
	lv_pod_put(*p);
}
/* Frees every record, their sessions' threads joined (fini: no op runs any longer). */
void lv_pods_free(struct lv_state *st);
/*
 * Drops the pod's record (its sessions, its containers' log writers) once
 * the last reference is put; a later lv_pod_get() makes a new one.
 */
void lv_pod_forget(struct lv_state *st, const char *pod_id);
/*
 * The pod's live agent session, connecting and greeting first when there is
 * none (the VM already runs: TIMEOUT_MS bounds the wait).  The session stays
 * the pod's.
 */
int lv_pod_agent(struct lv_pod *p, const char *dir, int64_t timeout_ms, struct crib_lv_agent **ret,
                 struct crib_error **reterr);
/*
 * The pod's VM is stopped or gone: its containers are reported exited (137,
 * killed with the VM) and lv_pod_agent() no longer tries to reach it.  With
 * KNOWN_ONLY, a pod without a record is left alone (libvirt's events name
 * every crib domain, other cribds' too).
 */
void lv_pod_vm_gone(struct lv_state *st, const char *pod_id, bool known_only);
/* Makes P's first session from one pod_run opened (after its Hello). */
void lv_pod_adopt(struct lv_pod *p, struct crib_lv_agent *a);
/* The agent session's event callbacks, with the pod record as their context. */
extern const struct crib_lv_agent_events lv_pod_events;
/* Container ID of P; under p->lock. */
struct lv_ctr *lv_pod_ctr(struct lv_pod *p, const char *id);

/* sandbox.c: the pod ops. */
int lv_pod_run(void *state, struct crib_op *op, const struct crib_pod_spec *spec,
               struct crib_pod_result *ret, struct crib_error **reterr);
int lv_pod_stop(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                struct crib_error **reterr);
int lv_pod_remove(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                  struct crib_error **reterr);
int lv_pod_status(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                  struct crib_pod_status *ret, struct crib_error **reterr);
int lv_pod_stats(void *state, struct crib_op *op, const struct crib_pod_ref *pod,
                 struct crib_usage *ret, struct crib_error **reterr);

/* container.c: the container ops. */
int lv_container_create(void *state, struct crib_op *op, const struct crib_container_spec *spec,
                        struct crib_container_result *ret, struct crib_error **reterr);
int lv_container_start(void *state, struct crib_op *op, const struct crib_container_ref *c,
                       struct crib_error **reterr);
int lv_container_stop(void *state, struct crib_op *op, const struct crib_container_ref *c,
                      int64_t timeout_s, struct crib_error **reterr);
int lv_container_remove(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        struct crib_error **reterr);
int lv_container_status(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        struct crib_container_status *ret, struct crib_error **reterr);
int lv_exec_sync(void *state, struct crib_op *op, const struct crib_exec_sync_args *args,
                 struct crib_exec_sync_result *ret, struct crib_error **reterr);
/* DATA is a runtime.v1.UpdateContainerResourcesRequest. */
int lv_container_update(void *state, struct crib_op *op, const struct crib_container_ref *c,
                        const uint8_t *data, size_t len, struct crib_error **reterr);
int lv_container_stats(void *state, struct crib_op *op, const struct crib_container_ref *c,
                       struct crib_usage *ret, struct crib_error **reterr);
int lv_container_reopen_log(void *state, struct crib_op *op, const struct crib_container_ref *c,
                            struct crib_error **reterr);
/* The agent of pod P, connecting when needed (LV_CONNECT_TIMEOUT_MS). */
int lv_ctr_agent(struct lv_state *st, struct lv_pod *p, struct crib_lv_agent **ret,
                 struct crib_error **reterr);
/* Reconciles the container items, once their pods' records exist. */
void lv_reconcile_containers(struct lv_state *st, struct crib_reconcile_item *items,
                             size_t n_items);

/* stream.c: Exec and Attach sessions through the agent (CRIB_CAP_STREAMS). */
int lv_stream_open(void *state, struct crib_op *op, const struct crib_stream_args *args,
                   struct crib_stream_result *ret, struct crib_error **reterr);
int lv_stream_resize(void *state, void *handle, uint16_t width, uint16_t height,
                     struct crib_error **reterr);
int lv_stream_finish(void *state, void *handle, int32_t *ret_exit_code, struct crib_error **reterr);
void lv_stream_close(void *state, void *handle);
int lv_port_connect(void *state, struct crib_op *op, const struct crib_pod_ref *pod, uint16_t port,
                    int *ret_fd, struct crib_error **reterr);
/* fini: ends every session and waits for the PortForward connections' threads. */
void lv_streams_stop(struct lv_state *st);
/* The guest's stream messages for P's sessions (the session's reader thread; takes p->lock). */
void lv_stream_message(struct lv_pod *p, const Crib__Agent__GuestMessage *m);
/* P's agent session ended: its sessions end too; under p->lock. */
void lv_streams_agent_gone(struct lv_pod *p);

#endif
