/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cri-bench: round-trip latency of CRI calls against any CRI endpoint.
 *
 *   cri-bench ENDPOINT version|list-pods|list-containers CALLS
 *   cri-bench ENDPOINT populate PODS [HANDLER [start]]
 *   cri-bench ENDPOINT pull ROUNDS IMAGE
 *   cri-bench ENDPOINT pod-ready PODS IMAGE HANDLER [RSS_PID]
 *   cri-bench ENDPOINT parallel-pods PODS CLIENTS IMAGE HANDLER [RSS_PID]
 *   cri-bench ENDPOINT list-live CONTAINERS IMAGE HANDLER [RSS_PID]
 *   cri-bench ENDPOINT hold PODS IMAGE HANDLER FILE
 *   cri-bench ENDPOINT rss PID
 *
 * Calls are made one at a time over one channel with grpc core's C API, so the
 * client adds as little as a client can; every answer is decoded and checked.
 * Prints one line: "METHOD calls=N p50_us=.. p90_us=.. p99_us=.. max_us=..".
 * populate creates PODS pods with one created container each (command `sleep`)
 * on HANDLER's class ("-": the default); with `start`, each container is
 * started too.  pull times PullImage of IMAGE: ROUNDS cold pulls (each
 * after RemoveImage and a pause for the runtime's garbage collection), then
 * ROUNDS warm ones (the image is there); with ROUNDS 0 it pulls once, untimed.
 *
 * The lifecycle modes run real pods: each pod has a unique name and uid, the
 * pod network (default namespace options), its log directory under a fresh
 * /tmp/cri-bench-* and one container running `sleep 3600` from IMAGE (busybox),
 * on HANDLER's runtime ("" or "-": the default).  IMAGE is pulled first,
 * untimed.  Every pod started is stopped and removed before the mode returns,
 * whatever failed.
 *  - pod-ready: PODS pods one after the other, each RunPodSandbox +
 *    CreateContainer + StartContainer timed ("pod-ready" line: p50/p99/max and
 *    the p50 of each step); then each StopPodSandbox + RemovePodSandbox
 *    ("pod-teardown" line).
 *  - parallel-pods: PODS pods started by CLIENTS threads at once (one channel,
 *    a completion queue each); the wall time until the last is running, and
 *    that of the parallel teardown.
 *  - list-live: CONTAINERS pods (one running container each) started, then
 *    ListContainers timed as list-containers does over 200 calls.
 *  - hold: PODS pods started one after the other; prints "up" and keeps them
 *    until FILE exists (a script measures them meanwhile), then takes them down.
 * IMAGE "-" runs each pod's sandbox alone (no container, nothing pulled):
 * pod-ready is then RunPodSandbox only, for backends that only make
 * sandboxes yet.
 * With RSS_PID, a "rss" line (VmRSS of that process, e.g. the runtime's) is
 * printed while the pods are up; the rss mode prints only that.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "cri-api-v1.pb-c.h"

#define WARMUP 200

/* ListContainers calls list-live times. */
#define LIST_CALLS 200

struct client {
	grpc_channel *ch;
	grpc_completion_queue *cq;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(len);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

/* One unary call; returns the decoded answer of DESC, or NULL after printing why. */
static ProtobufCMessage *call(struct client *c, void *method, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *desc)
{
	grpc_metadata_array md_in, md_trail;
	grpc_byte_buffer *out = pack(req), *in = NULL;
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	ProtobufCMessage *resp = NULL;
	grpc_op ops[6];
	grpc_call *call;
	grpc_event ev;
	int tag = 1;

	grpc_metadata_array_init(&md_in);
	grpc_metadata_array_init(&md_trail);
	call =
	    grpc_channel_create_registered_call(c->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, method,
	                                        gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_in;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &in;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &md_trail;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;
	if (grpc_call_start_batch(call, ops, 6, &tag, NULL) == GRPC_CALL_OK) {
		ev = grpc_completion_queue_pluck(c->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME),
		                                 NULL);
		(void)ev;
	}
	if (status == GRPC_STATUS_OK && in) {
		grpc_byte_buffer_reader r;
		grpc_slice s;

		grpc_byte_buffer_reader_init(&r, in);
		s = grpc_byte_buffer_reader_readall(&r);
		resp = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(s),
		                                 GRPC_SLICE_START_PTR(s));
		grpc_slice_unref(s);
		grpc_byte_buffer_reader_destroy(&r);
	} else {
		char *text = grpc_slice_to_c_string(details);

		fprintf(stderr, "cri-bench: call failed with status %d: %s\n", status, text);
		gpr_free(text);
	}
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_byte_buffer_destroy(out);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&md_in);
	grpc_metadata_array_destroy(&md_trail);
	grpc_call_unref(call);
	return resp;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const int64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return (double)v[i] / 1000.0;
}

static int measure(struct client *c, const char *what, size_t calls)
{
	Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__ListPodSandboxRequest preq = RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListContainersRequest creq = RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	const ProtobufCMessageDescriptor *desc;
	const ProtobufCMessage *req;
	const char *path;
	size_t items = 0;
	int64_t *lat;
	void *m;

	if (strcmp(what, "version") == 0) {
		path = "/runtime.v1.RuntimeService/Version";
		req = &vreq.base;
		desc = &runtime__v1__version_response__descriptor;
	} else if (strcmp(what, "list-pods") == 0) {
		path = "/runtime.v1.RuntimeService/ListPodSandbox";
		req = &preq.base;
		desc = &runtime__v1__list_pod_sandbox_response__descriptor;
	} else if (strcmp(what, "list-containers") == 0) {
		path = "/runtime.v1.RuntimeService/ListContainers";
		req = &creq.base;
		desc = &runtime__v1__list_containers_response__descriptor;
	} else {
		fprintf(stderr, "cri-bench: unknown method '%s'\n", what);
		return 2;
	}
	m = grpc_channel_register_call(c->ch, path, NULL, NULL);
	lat = calloc(calls, sizeof(*lat));
	if (!lat)
		return 1;
	for (size_t i = 0; i < WARMUP + calls; i++) {
		int64_t t0 = now_ns();
		ProtobufCMessage *resp = call(c, m, req, desc);

		if (!resp) {
			free(lat);
			return 1;
		}
		if (i >= WARMUP)
			lat[i - WARMUP] = now_ns() - t0;
		if (desc == &runtime__v1__list_pod_sandbox_response__descriptor)
			items = ((Runtime__V1__ListPodSandboxResponse *)(void *)resp)->n_items;
		else if (desc == &runtime__v1__list_containers_response__descriptor)
			items = ((Runtime__V1__ListContainersResponse *)(void *)resp)->n_containers;
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	qsort(lat, calls, sizeof(*lat), cmp_i64);
	printf("%s calls=%zu items=%zu p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f\n", what,
	       calls, items, pct(lat, calls, 0.50), pct(lat, calls, 0.90), pct(lat, calls, 0.99),
	       (double)lat[calls - 1] / 1000.0);
	free(lat);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* One PullImage of IMAGE; its duration in ns, or -1 after printing why. */
static int64_t pull_once(struct client *c, void *method, const char *image)
{
	Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	int64_t t0 = now_ns();
	ProtobufCMessage *resp;

	spec.image = (char *)image;
	req.image = &spec;
	resp = call(c, method, &req.base, &runtime__v1__pull_image_response__descriptor);
	if (!resp)
		return -1;
	protobuf_c_message_free_unpacked(resp, NULL);
	return now_ns() - t0;
}

static int remove_image(struct client *c, void *method, const char *image)
{
	Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	ProtobufCMessage *resp;

	spec.image = (char *)image;
	req.image = &spec;
	resp = call(c, method, &req.base, &runtime__v1__remove_image_response__descriptor);
	if (!resp)
		return -1;
	protobuf_c_message_free_unpacked(resp, NULL);
	return 0;
}

static void print_ms(const char *what, const char *image, int64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	printf("%s image=%s rounds=%zu min_ms=%.1f p50_ms=%.1f max_ms=%.1f\n", what, image, n,
	       (double)v[0] / 1e6, (double)v[n / 2] / 1e6, (double)v[n - 1] / 1e6);
}

static int pulls(struct client *c, size_t rounds, const char *image)
{
	void *pull =
	    grpc_channel_register_call(c->ch, "/runtime.v1.ImageService/PullImage", NULL, NULL);
	void *rm =
	    grpc_channel_register_call(c->ch, "/runtime.v1.ImageService/RemoveImage", NULL, NULL);
	int64_t *cold = calloc(rounds + 1, sizeof(*cold)),
	        *warm = calloc(rounds + 1, sizeof(*warm));
	int r = 1;

	if (!cold || !warm || pull_once(c, pull, image) < 0)
		goto out;
	for (size_t i = 0; i < rounds; i++) {
		if (remove_image(c, rm, image) < 0)
			goto out;
		sleep_ms(1000);
		cold[i] = pull_once(c, pull, image);
		if (cold[i] < 0)
			goto out;
	}
	for (size_t i = 0; i < rounds; i++) {
		warm[i] = pull_once(c, pull, image);
		if (warm[i] < 0)
			goto out;
	}
	if (rounds) {
		print_ms("pull-cold", image, cold, rounds);
		print_ms("pull-warm", image, warm, rounds);
	}
	r = 0;
out:
	free(cold);
	free(warm);
	return r;
}

static int populate(struct client *c, size_t pods, const char *handler, bool start)
{
	void *run = grpc_channel_register_call(c->ch, "/runtime.v1.RuntimeService/RunPodSandbox",
	                                       NULL, NULL);
	void *create = grpc_channel_register_call(
	    c->ch, "/runtime.v1.RuntimeService/CreateContainer", NULL, NULL);
	void *start_m = grpc_channel_register_call(
	    c->ch, "/runtime.v1.RuntimeService/StartContainer", NULL, NULL);
	char name[64], uid[64];
	char *cmd[] = {(char *)"sleep", (char *)"3600"};

	for (size_t i = 0; i < pods; i++) {
		Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
		Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
		Runtime__V1__CreateContainerRequest creq =
		    RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
		Runtime__V1__ContainerConfig ccfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
		Runtime__V1__ContainerMetadata cmd_md = RUNTIME__V1__CONTAINER_METADATA__INIT;
		Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
		Runtime__V1__StartContainerRequest sreq =
		    RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
		Runtime__V1__RunPodSandboxResponse *resp;
		Runtime__V1__CreateContainerResponse *cresp;
		ProtobufCMessage *sresp;

		snprintf(name, sizeof(name), "bench-%zu", i);
		snprintf(uid, sizeof(uid), "bench-uid-%zu", i);
		md.name = name;
		md.namespace_ = (char *)"bench";
		md.uid = uid;
		cfg.metadata = &md;
		req.config = &cfg;
		req.runtime_handler = (char *)(handler && strcmp(handler, "-") != 0 ? handler : "");
		resp = (void *)call(c, run, &req.base,
		                    &runtime__v1__run_pod_sandbox_response__descriptor);
		if (!resp)
			return 1;
		cmd_md.name = (char *)"app";
		img.image = (char *)"busybox";
		ccfg.metadata = &cmd_md;
		ccfg.image = &img;
		ccfg.command = cmd;
		ccfg.n_command = 2;
		creq.pod_sandbox_id = resp->pod_sandbox_id;
		creq.config = &ccfg;
		creq.sandbox_config = &cfg;
		cresp = (void *)call(c, create, &creq.base,
		                     &runtime__v1__create_container_response__descriptor);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		if (!cresp)
			return 1;
		sreq.container_id = cresp->container_id;
		sresp = start ? call(c, start_m, &sreq.base,
		                     &runtime__v1__start_container_response__descriptor)
		              : NULL;
		protobuf_c_message_free_unpacked(&cresp->base, NULL);
		if (start && !sresp)
			return 1;
		if (sresp)
			protobuf_c_message_free_unpacked(sresp, NULL);
	}
	printf("populate pods=%zu containers=%zu%s\n", pods, pods, start ? " started" : "");
	return 0;
}

/* Prints VmRSS of PID from /proc/PID/status. */
static int print_rss(const char *pid)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	unsigned long kb = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "cri-bench: cannot open '%s': %s\n", path, strerror(errno));
		return 1;
	}
	while (!found && getline(&line, &cap, f) > 0)
		found = sscanf(line, "VmRSS: %lu kB", &kb) == 1;
	free(line);
	fclose(f);
	if (!found) {
		fprintf(stderr, "cri-bench: no VmRSS in '%s'\n", path);
		return 1;
	}
	printf("rss pid=%s kb=%lu\n", pid, kb);
	return 0;
}

/* One pod of the lifecycle modes; latencies in ns. */
struct pod {
	char *id; /* the PodSandbox id once RunPodSandbox answered, malloc'd */
	int64_t run, create, start, ready, teardown;
};

/* The pods of one lifecycle run, shared by its client threads. */
struct fleet {
	grpc_channel *ch;
	void *run, *create, *start, *stop, *remove;
	const char *image;
	const char *handler;
	char logs[64]; /* every pod's log_directory is below it */
	int64_t epoch; /* makes uids unique across runs */
	struct pod *pods;
	size_t n;
	atomic_size_t next; /* the next pod a client thread takes */
	atomic_bool failed;
};

/* A PodSandboxConfig and everything it points to. */
struct pod_config {
	Runtime__V1__PodSandboxConfig cfg;
	Runtime__V1__PodSandboxMetadata md;
	Runtime__V1__LinuxPodSandboxConfig lnx;
	Runtime__V1__LinuxSandboxSecurityContext sec;
	/* kubelet's for a pod without shareProcessNamespace: PID CONTAINER, the rest POD. */
	Runtime__V1__NamespaceOption ns;
	char name[64];
	char uid[96];
	char logdir[128];
};

static int pod_config_init(struct pod_config *p, const struct fleet *f, size_t i)
{
	p->cfg = (Runtime__V1__PodSandboxConfig)RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;
	p->md = (Runtime__V1__PodSandboxMetadata)RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	p->lnx = (Runtime__V1__LinuxPodSandboxConfig)RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
/* The generated INIT macro fills deprecated fields too (seccomp_profile_path). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	p->sec = (Runtime__V1__LinuxSandboxSecurityContext)
	    RUNTIME__V1__LINUX_SANDBOX_SECURITY_CONTEXT__INIT;
#pragma GCC diagnostic pop
	p->ns = (Runtime__V1__NamespaceOption)RUNTIME__V1__NAMESPACE_OPTION__INIT;
	p->ns.pid = RUNTIME__V1__NAMESPACE_MODE__CONTAINER;
	snprintf(p->name, sizeof(p->name), "bench-%d-%zu", (int)getpid(), i);
	snprintf(p->uid, sizeof(p->uid), "cri-bench-%d-%lld-%zu", (int)getpid(),
	         (long long)f->epoch, i);
	snprintf(p->logdir, sizeof(p->logdir), "%s/%zu", f->logs, i);
	if (mkdir(p->logdir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "cri-bench: cannot create '%s': %s\n", p->logdir, strerror(errno));
		return -1;
	}
	p->md.name = p->name;
	p->md.namespace_ = (char *)"cri-bench";
	p->md.uid = p->uid;
	p->sec.namespace_options = &p->ns;
	p->lnx.security_context = &p->sec;
	p->cfg.metadata = &p->md;
	p->cfg.hostname = p->name;
	p->cfg.log_directory = p->logdir;
	p->cfg.linux = &p->lnx;
	return 0;
}

/* RunPodSandbox; the new pod's id (malloc'd) or NULL after printing why. */
static char *run_pod(const struct fleet *f, struct client *c, Runtime__V1__PodSandboxConfig *cfg)
{
	Runtime__V1__RunPodSandboxRequest req = RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RunPodSandboxResponse *resp;
	char *id;

	req.config = cfg;
	req.runtime_handler = (char *)f->handler;
	resp =
	    (void *)call(c, f->run, &req.base, &runtime__v1__run_pod_sandbox_response__descriptor);
	if (!resp)
		return NULL;
	id = strdup(resp->pod_sandbox_id);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return id;
}

/* CreateContainer of `sleep 3600` in POD; the container's id (malloc'd) or NULL. */
static char *create_sleeper(const struct fleet *f, struct client *c, const char *pod,
                            Runtime__V1__PodSandboxConfig *cfg)
{
	Runtime__V1__CreateContainerRequest req = RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	Runtime__V1__ContainerConfig ccfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	Runtime__V1__ImageSpec img = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__LinuxContainerConfig lnx = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	Runtime__V1__LinuxContainerSecurityContext sec =
	    RUNTIME__V1__LINUX_CONTAINER_SECURITY_CONTEXT__INIT;
#pragma GCC diagnostic pop
	Runtime__V1__CreateContainerResponse *resp;
	char *cmd[] = {(char *)"sleep", (char *)"3600"};
	char *id;

	/* kubelet repeats the pod's namespace options in each container's. */
	sec.namespace_options = cfg->linux->security_context->namespace_options;
	lnx.security_context = &sec;
	ccfg.linux = &lnx;
	md.name = (char *)"sleep";
	img.image = (char *)f->image;
	ccfg.metadata = &md;
	ccfg.image = &img;
	ccfg.command = cmd;
	ccfg.n_command = 2;
	ccfg.log_path = (char *)"sleep.log";
	req.pod_sandbox_id = (char *)pod;
	req.config = &ccfg;
	req.sandbox_config = cfg;
	resp = (void *)call(c, f->create, &req.base,
	                    &runtime__v1__create_container_response__descriptor);
	if (!resp)
		return NULL;
	id = strdup(resp->container_id);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return id;
}

static int start_container(const struct fleet *f, struct client *c, char *id)
{
	Runtime__V1__StartContainerRequest req = RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	ProtobufCMessage *resp;

	req.container_id = id;
	resp = call(c, f->start, &req.base, &runtime__v1__start_container_response__descriptor);
	if (!resp)
		return -1;
	protobuf_c_message_free_unpacked(resp, NULL);
	return 0;
}

/* Pod I up to its running container, each step timed. */
static int pod_up(struct fleet *f, struct client *c, size_t i)
{
	struct pod *pod = &f->pods[i];
	struct pod_config p;
	char *ctr;
	int64_t t0, t1, t2, t3;
	int r;

	if (pod_config_init(&p, f, i) < 0)
		return -1;
	t0 = now_ns();
	pod->id = run_pod(f, c, &p.cfg);
	if (!pod->id)
		return -1;
	t1 = now_ns();
	if (!f->image) {
		pod->run = pod->ready = t1 - t0;
		return 0;
	}
	ctr = create_sleeper(f, c, pod->id, &p.cfg);
	if (!ctr)
		return -1;
	t2 = now_ns();
	r = start_container(f, c, ctr);
	t3 = now_ns();
	free(ctr);
	pod->run = t1 - t0;
	pod->create = t2 - t1;
	pod->start = t3 - t2;
	pod->ready = t3 - t0;
	return r;
}

/* StopPodSandbox + RemovePodSandbox of pod I, if it was created; timed. */
static int pod_down(struct fleet *f, struct client *c, size_t i)
{
	Runtime__V1__StopPodSandboxRequest sreq = RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__RemovePodSandboxRequest rreq = RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	struct pod *pod = &f->pods[i];
	ProtobufCMessage *resp;
	int64_t t0 = now_ns();

	if (!pod->id)
		return 0;
	sreq.pod_sandbox_id = pod->id;
	resp = call(c, f->stop, &sreq.base, &runtime__v1__stop_pod_sandbox_response__descriptor);
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	/* Removal stops whatever still runs, so it is tried even when Stop failed. */
	rreq.pod_sandbox_id = pod->id;
	resp =
	    call(c, f->remove, &rreq.base, &runtime__v1__remove_pod_sandbox_response__descriptor);
	if (!resp) {
		fprintf(stderr, "cri-bench: pod %s (bench-%d-%zu) may be left behind\n", pod->id,
		        (int)getpid(), i);
		return -1;
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	pod->teardown = now_ns() - t0;
	free(pod->id);
	pod->id = NULL;
	return 0;
}

struct worker {
	struct fleet *f;
	bool down;
	pthread_t thread;
};

/* A client thread: takes pods by number until none is left (or, going up, one failed). */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fleet *f = w->f;
	struct client c = {.ch = f->ch, .cq = grpc_completion_queue_create_for_pluck(NULL)};

	for (;;) {
		size_t i = atomic_fetch_add(&f->next, 1);

		if (i >= f->n || (!w->down && atomic_load(&f->failed)))
			break;
		if ((w->down ? pod_down(f, &c, i) : pod_up(f, &c, i)) < 0)
			atomic_store(&f->failed, true);
	}
	grpc_completion_queue_shutdown(c.cq);
	grpc_completion_queue_destroy(c.cq);
	return NULL;
}

/* Brings every pod up (or down) with CLIENTS threads; the wall time in ns, or -1. */
static int64_t fleet_run(struct fleet *f, size_t clients, bool down)
{
	struct worker *w = calloc(clients, sizeof(*w));
	size_t started = 0;
	int64_t t0 = now_ns();

	if (!w)
		return -1;
	atomic_store(&f->next, 0);
	atomic_store(&f->failed, false);
	for (; started < clients; started++) {
		w[started].f = f;
		w[started].down = down;
		if (pthread_create(&w[started].thread, NULL, worker_main, &w[started]) != 0)
			break;
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	free(w);
	if (started == 0 || atomic_load(&f->failed))
		return -1;
	return now_ns() - t0;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* Sets F up for PODS pods: methods, the log directory, the image pulled. */
static int fleet_init(struct fleet *f, struct client *c, size_t pods, const char *image,
                      const char *handler)
{
	void *pull =
	    grpc_channel_register_call(c->ch, "/runtime.v1.ImageService/PullImage", NULL, NULL);
	struct timespec ts;

	memset(f, 0, sizeof(*f));
	f->ch = c->ch;
	f->run = grpc_channel_register_call(c->ch, "/runtime.v1.RuntimeService/RunPodSandbox", NULL,
	                                    NULL);
	f->create = grpc_channel_register_call(c->ch, "/runtime.v1.RuntimeService/CreateContainer",
	                                       NULL, NULL);
	f->start = grpc_channel_register_call(c->ch, "/runtime.v1.RuntimeService/StartContainer",
	                                      NULL, NULL);
	f->stop = grpc_channel_register_call(c->ch, "/runtime.v1.RuntimeService/StopPodSandbox",
	                                     NULL, NULL);
	f->remove = grpc_channel_register_call(c->ch, "/runtime.v1.RuntimeService/RemovePodSandbox",
	                                       NULL, NULL);
	f->image = strcmp(image, "-") == 0 ? NULL : image;
	f->handler = strcmp(handler, "-") == 0 ? "" : handler;
	clock_gettime(CLOCK_REALTIME, &ts);
	f->epoch = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	f->n = pods;
	if (pods == 0)
		return -1;
	f->pods = calloc(pods, sizeof(*f->pods));
	snprintf(f->logs, sizeof(f->logs), "/tmp/cri-bench-XXXXXX");
	if (!f->pods || !mkdtemp(f->logs)) {
		f->logs[0] = '\0';
		return -1;
	}
	return f->image && pull_once(c, pull, image) < 0 ? -1 : 0;
}

/* Takes every pod that is still there down (untimed here) and frees F. */
static int fleet_fini(struct fleet *f)
{
	int r = 0;

	if (f->pods && fleet_run(f, 4, true) < 0)
		r = -1;
	free(f->pods);
	f->pods = NULL;
	if (f->logs[0])
		(void)nftw(f->logs, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return r;
}

/* Sorts N values of MEMBER (an offset into struct pod) into V. */
static void pod_latencies(const struct fleet *f, size_t member, int64_t *v)
{
	for (size_t i = 0; i < f->n; i++)
		v[i] = *(const int64_t *)(const void *)((const char *)&f->pods[i] + member);
	qsort(v, f->n, sizeof(*v), cmp_i64);
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static int pod_ready(struct client *c, size_t pods, const char *image, const char *handler,
                     const char *rss_pid)
{
	struct fleet f = {.n = 0};
	int64_t *v = calloc(pods ? pods : 1, sizeof(*v));
	double run, create, start;
	int r = 1;

	if (!v || fleet_init(&f, c, pods, image, handler) < 0 || fleet_run(&f, 1, false) < 0)
		goto out;
	if (rss_pid && print_rss(rss_pid) != 0)
		goto out;
	pod_latencies(&f, offsetof(struct pod, run), v);
	run = pct(v, pods, 0.5) / 1000.0;
	pod_latencies(&f, offsetof(struct pod, create), v);
	create = pct(v, pods, 0.5) / 1000.0;
	pod_latencies(&f, offsetof(struct pod, start), v);
	start = pct(v, pods, 0.5) / 1000.0;
	pod_latencies(&f, offsetof(struct pod, ready), v);
	printf("pod-ready pods=%zu p50_ms=%.1f p99_ms=%.1f max_ms=%.1f run_p50_ms=%.1f "
	       "create_p50_ms=%.1f start_p50_ms=%.1f\n",
	       pods, pct(v, pods, 0.5) / 1000.0, pct(v, pods, 0.99) / 1000.0, ms(v[pods - 1]), run,
	       create, start);
	if (fleet_run(&f, 1, true) < 0)
		goto out;
	pod_latencies(&f, offsetof(struct pod, teardown), v);
	printf("pod-teardown pods=%zu p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", pods,
	       pct(v, pods, 0.5) / 1000.0, pct(v, pods, 0.99) / 1000.0, ms(v[pods - 1]));
	r = 0;
out:
	if (fleet_fini(&f) < 0)
		r = 1;
	free(v);
	return r;
}

static int parallel_pods(struct client *c, size_t pods, size_t clients, const char *image,
                         const char *handler, const char *rss_pid)
{
	struct fleet f = {.n = 0};
	int64_t *v = calloc(pods ? pods : 1, sizeof(*v));
	int64_t up, down;
	int r = 1;

	if (!v || clients == 0 || fleet_init(&f, c, pods, image, handler) < 0)
		goto out;
	up = fleet_run(&f, clients, false);
	if (up < 0 || (rss_pid && print_rss(rss_pid) != 0))
		goto out;
	down = fleet_run(&f, clients, true);
	if (down < 0)
		goto out;
	pod_latencies(&f, offsetof(struct pod, ready), v);
	printf("parallel-pods pods=%zu clients=%zu wall_ms=%.1f pods_per_s=%.1f ready_p50_ms=%.1f "
	       "ready_p99_ms=%.1f teardown_wall_ms=%.1f\n",
	       pods, clients, ms(up), (double)pods / ((double)up / 1e9), pct(v, pods, 0.5) / 1000.0,
	       pct(v, pods, 0.99) / 1000.0, ms(down));
	r = 0;
out:
	if (fleet_fini(&f) < 0)
		r = 1;
	free(v);
	return r;
}

static int list_live(struct client *c, size_t containers, const char *image, const char *handler,
                     const char *rss_pid)
{
	struct fleet f = {.n = 0};
	int r = 1;

	/* Started by 4 clients: only the listing is measured. */
	if (fleet_init(&f, c, containers, image, handler) < 0 || fleet_run(&f, 4, false) < 0)
		goto out;
	if (rss_pid && print_rss(rss_pid) != 0)
		goto out;
	r = measure(c, "list-containers", LIST_CALLS);
out:
	if (fleet_fini(&f) < 0)
		r = 1;
	return r;
}

static int hold(struct client *c, size_t pods, const char *image, const char *handler,
                const char *file)
{
	struct fleet f = {.n = 0};
	int r = 1;

	if (fleet_init(&f, c, pods, image, handler) < 0 || fleet_run(&f, 1, false) < 0)
		goto out;
	printf("up\n");
	fflush(stdout);
	while (access(file, F_OK) < 0)
		sleep_ms(50);
	r = 0;
out:
	if (fleet_fini(&f) < 0)
		r = 1;
	return r;
}

int main(int argc, char **argv)
{
	grpc_channel_credentials *creds;
	struct client c;
	const char *target;
	size_t n;
	int r;

	if (argc < 4) {
		fprintf(
		    stderr,
		    "usage: cri-bench ENDPOINT version|list-pods|list-containers CALLS\n"
		    "       cri-bench ENDPOINT populate PODS [HANDLER [start]]\n"
		    "       cri-bench ENDPOINT pull ROUNDS IMAGE\n"
		    "       cri-bench ENDPOINT pod-ready PODS IMAGE HANDLER [RSS_PID]\n"
		    "       cri-bench ENDPOINT parallel-pods PODS CLIENTS IMAGE HANDLER [RSS_PID]\n"
		    "       cri-bench ENDPOINT list-live CONTAINERS IMAGE HANDLER [RSS_PID]\n"
		    "       cri-bench ENDPOINT hold PODS IMAGE HANDLER FILE\n"
		    "       cri-bench ENDPOINT rss PID\n"
		    "(HANDLER - is the runtime's default; IMAGE - runs sandboxes alone)\n");
		return 2;
	}
	n = strtoul(argv[3], NULL, 10);
	target = strncmp(argv[1], "unix://", 7) == 0 ? argv[1] + 7 : argv[1];
	grpc_init();
	creds = grpc_insecure_credentials_create();
	{
		size_t len = strlen(target) + 6;
		char *t = malloc(len);

		if (!t)
			return 1;
		snprintf(t, len, "unix:%s", target);
		c.ch = grpc_channel_create(t, creds, NULL);
		free(t);
	}
	grpc_channel_credentials_release(creds);
	c.cq = grpc_completion_queue_create_for_pluck(NULL);
	if (strcmp(argv[2], "populate") == 0)
		r = populate(&c, n, argc > 4 ? argv[4] : NULL,
		             argc > 5 && strcmp(argv[5], "start") == 0);
	else if (strcmp(argv[2], "pull") == 0)
		r = argc > 4 ? pulls(&c, n, argv[4]) : 2;
	else if (strcmp(argv[2], "pod-ready") == 0)
		r = argc > 5 && n ? pod_ready(&c, n, argv[4], argv[5], argc > 6 ? argv[6] : NULL)
		                  : 2;
	else if (strcmp(argv[2], "parallel-pods") == 0)
		r = argc > 6 && n ? parallel_pods(&c, n, strtoul(argv[4], NULL, 10), argv[5],
		                                  argv[6], argc > 7 ? argv[7] : NULL)
		                  : 2;
	else if (strcmp(argv[2], "list-live") == 0)
		r = argc > 5 && n ? list_live(&c, n, argv[4], argv[5], argc > 6 ? argv[6] : NULL)
		                  : 2;
	else if (strcmp(argv[2], "hold") == 0)
		r = argc > 6 && n ? hold(&c, n, argv[4], argv[5], argv[6]) : 2;
	else if (strcmp(argv[2], "rss") == 0)
		r = print_rss(argv[3]);
	else
		r = n ? measure(&c, argv[2], n) : 2;
	grpc_channel_destroy(c.ch);
	/* Every call was plucked; the queue is empty and can go. */
	grpc_completion_queue_shutdown(c.cq);
	grpc_completion_queue_destroy(c.cq);
	grpc_shutdown();
	return r;
}
