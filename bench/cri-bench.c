/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cri-bench: round-trip latency of CRI calls against any CRI endpoint.
 *
 *   cri-bench ENDPOINT version|list-pods|list-containers CALLS
 *   cri-bench ENDPOINT populate PODS [HANDLER]
 *   cri-bench ENDPOINT pull ROUNDS IMAGE
 *
 * Calls are made one at a time over one channel with grpc core's C API, so the
 * client adds as little as a client can; every answer is decoded and checked.
 * Prints one line: "METHOD calls=N p50_us=.. p90_us=.. p99_us=.. max_us=..".
 * populate creates PODS pods with one created container each (command `sleep`)
 * on HANDLER's class.  pull times PullImage of IMAGE: ROUNDS cold pulls (each
 * after RemoveImage and a pause for the runtime's garbage collection), then
 * ROUNDS warm ones (the image is there); with ROUNDS 0 it pulls once, untimed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "cri-api-v1.pb-c.h"

#define WARMUP 200

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

static int populate(struct client *c, size_t pods, const char *handler)
{
	void *run = grpc_channel_register_call(c->ch, "/runtime.v1.RuntimeService/RunPodSandbox",
	                                       NULL, NULL);
	void *create = grpc_channel_register_call(
	    c->ch, "/runtime.v1.RuntimeService/CreateContainer", NULL, NULL);
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
		Runtime__V1__RunPodSandboxResponse *resp;
		ProtobufCMessage *cresp;

		snprintf(name, sizeof(name), "bench-%zu", i);
		snprintf(uid, sizeof(uid), "bench-uid-%zu", i);
		md.name = name;
		md.namespace_ = (char *)"bench";
		md.uid = uid;
		cfg.metadata = &md;
		req.config = &cfg;
		req.runtime_handler = (char *)(handler ? handler : "");
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
		cresp = call(c, create, &creq.base,
		             &runtime__v1__create_container_response__descriptor);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
		if (!cresp)
			return 1;
		protobuf_c_message_free_unpacked(cresp, NULL);
	}
	printf("populate pods=%zu containers=%zu\n", pods, pods);
	return 0;
}

int main(int argc, char **argv)
{
	grpc_channel_credentials *creds;
	struct client c;
	const char *target;
	size_t n;
	int r;

	if (argc < 4) {
		fprintf(stderr,
		        "usage: cri-bench ENDPOINT version|list-pods|list-containers CALLS\n"
		        "       cri-bench ENDPOINT populate PODS [HANDLER]\n"
		        "       cri-bench ENDPOINT pull ROUNDS IMAGE\n");
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
		r = populate(&c, n, argc > 4 ? argv[4] : NULL);
	else if (strcmp(argv[2], "pull") == 0)
		r = argc > 4 ? pulls(&c, n, argv[4]) : 2;
	else
		r = n ? measure(&c, argv[2], n) : 2;
	grpc_channel_destroy(c.ch);
	/* Every call was plucked; the queue is empty and can go. */
	grpc_completion_queue_shutdown(c.cq);
	grpc_completion_queue_destroy(c.cq);
	grpc_shutdown();
	return r;
}
