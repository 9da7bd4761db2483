/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes what cribd does with a CRI request before any backend sees it.  The first byte picks
 * the method from crib_methods[] (modulo CRIB_M_COUNT) and the rest is the request in wire
 * format, unpacked with the method's descriptor as rpc.c does for every call.  Then:
 *
 * - the request is packed again, as cribd packs the configs it stores and hands to backends
 *   (see round_trips());
 * - a pod_sandbox_id or container_id the request names is looked up in a registry, as the
 *   handlers do, and the status responses of what it names are built;
 * - the config of a RunPodSandbox or CreateContainer request becomes a registry object the way
 *   the handlers make one, and every response pb.c builds from it is packed;
 * - the filter of a List* or Stream* request is resolved and matched against the registry
 *   (filter.c), and the responses for the matches are packed.
 *
 * The registry holds a fixed set of pods and containers, made once, whose ids share prefixes so
 * that prefix lookups meet the ambiguous case.  Objects made from an input are added for that
 * input only and removed again.  The upper part of the first byte (data[0] / CRIB_M_COUNT)
 * picks their phase and state, so that CREATING objects and every state reach the filters.
 */
#include <string.h>

#include "filter.h"
#include "fuzz.h"
#include "methods.h"
#include "pb.h"
#include "registry.h"
#include "router.h"
#include "util.h"

/*
 * Selectors made from an object's own labels are cut to this many entries: matching them is
 * quadratic, and a 64 KiB input holds some 30000 labels.
 */
#define SELF_SELECTOR_MAX 256

/* Id prefixes of the objects an input makes; no fixed object's id starts with them. */
#define INPUT_POD_PREFIX "f0"
#define INPUT_CTR_PREFIX "e0"

/* All that pb.c reads of a class is pub.name; the rest only has to be a valid instance. */
static struct crib_rclass fuzz_class = {
    .pub = {.name = "fuzz", .file = "fuzz.conf", .line = 1},
    .backend_name = (char *)"fuzz",
};

static struct crib_registry reg;
static struct crib_pod *default_pod; /* for CreateContainer requests that name no pod */

/* Packs M as cribd sends or stores it; what was packed must read back to the same size. */
static void pack_check(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	_cleanup_free_ uint8_t *buf = crib_xmalloc(len ? len : 1);
	ProtobufCMessage *back;

	FUZZ_CHECK(protobuf_c_message_pack(m, buf) == len);
	back = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	FUZZ_CHECK(back);
	FUZZ_CHECK(protobuf_c_message_get_packed_size(back) == len);
	protobuf_c_message_free_unpacked(back, NULL);
}

/*
 * Whether the request reads back once packed.  protobuf-c 1.4.1 accepts a field number 0 when
 * its tag is an overlong varint (0x80 0x00) and keeps it as an unknown field, but packs it as
 * the single byte 0x00, which its own unpack refuses.  cribd refuses such configs
 * (crib_pb_pack_checked) rather than store bytes nobody can decode; the harness drops such
 * requests the same way (corpus/cri_request/overlong-field0-repack keeps the case).
 */
static bool round_trips(const ProtobufCMessage *req)
{
	size_t len;
	_cleanup_free_ uint8_t *buf = crib_pb_pack(req, &len);
	ProtobufCMessage *back = protobuf_c_message_unpack(req->descriptor, NULL, len, buf);

	if (!back)
		return false;
	FUZZ_CHECK(protobuf_c_message_get_packed_size(back) == len);
	protobuf_c_message_free_unpacked(back, NULL);
	return true;
}

/* A copy of M through the wire, owned as protobuf-c owns what it unpacks. */
static void *copy_message(const ProtobufCMessage *m)
{
	size_t len;
	_cleanup_free_ uint8_t *buf = crib_pb_pack(m, &len);
	ProtobufCMessage *copy = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);

	FUZZ_CHECK(copy);
	return copy;
}

static void make_id(char buf[CRIB_ID_LEN + 1], const char *prefix)
{
	size_t n = strlen(prefix);

	memcpy(buf, prefix, n);
	memset(buf + n, '0', CRIB_ID_LEN - n);
	buf[CRIB_ID_LEN] = '\0';
}

/* A pod as crib_cri_run_pod() makes one: it takes CFG and stores CFG's wire format with it. */
static struct crib_pod *new_pod(const char *id, Runtime__V1__PodSandboxConfig *cfg)
{
	struct crib_pod *p;
	uint8_t *blob;
	size_t len;

	blob = crib_pb_pack(&cfg->base, &len);
	p = crib_pod_new(id, cfg, blob, len);
	p->cls = &fuzz_class;
	crib_rclass_ref(&fuzz_class);
	p->created_at = 1700000000000000000;
	return p;
}

/* A container as crib_cri_create_container() makes one. */
static struct crib_container *new_container(const char *id, struct crib_pod *p,
                                            Runtime__V1__ContainerConfig *cfg)
{
	struct crib_container *c;
	uint8_t *blob;
	size_t len;

	blob = crib_pb_pack(&cfg->base, &len);
	c = crib_container_new(id, p, cfg, blob, len);
	if (!isempty(cfg->log_path))
		c->log_path = crib_xstrdup(cfg->log_path);
	c->created_at = 1700000000000000001;
	return c;
}

/* The fixed registry. */

static Runtime__V1__PodSandboxConfig *fixed_pod_config(const char *name, const char *app,
                                                       bool with_linux)
{
	Runtime__V1__PodSandboxMetadata md = RUNTIME__V1__POD_SANDBOX_METADATA__INIT;
	Runtime__V1__PodSandboxConfig__LabelsEntry app_label =
	    RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	Runtime__V1__PodSandboxConfig__LabelsEntry tier_label =
	    RUNTIME__V1__POD_SANDBOX_CONFIG__LABELS_ENTRY__INIT;
	Runtime__V1__PodSandboxConfig__LabelsEntry *labels[] = {&app_label, &tier_label};
	Runtime__V1__PodSandboxConfig__AnnotationsEntry note =
	    RUNTIME__V1__POD_SANDBOX_CONFIG__ANNOTATIONS_ENTRY__INIT;
	Runtime__V1__PodSandboxConfig__AnnotationsEntry *annotations[] = {&note};
	Runtime__V1__NamespaceOption ns = RUNTIME__V1__NAMESPACE_OPTION__INIT;
	Runtime__V1__LinuxSandboxSecurityContext sc;
	Runtime__V1__LinuxPodSandboxConfig lx = RUNTIME__V1__LINUX_POD_SANDBOX_CONFIG__INIT;
	Runtime__V1__PodSandboxConfig cfg = RUNTIME__V1__POD_SANDBOX_CONFIG__INIT;

	/* Its __INIT macro names a deprecated field, which clang warns about. */
	runtime__v1__linux_sandbox_security_context__init(&sc);
	md.name = (char *)name;
	md.namespace_ = (char *)"default";
	md.uid = (char *)name;
	app_label.key = (char *)"app";
	app_label.value = (char *)app;
	tier_label.key = (char *)"tier";
	tier_label.value = (char *)"backend";
	note.key = (char *)"kubernetes.io/config.source";
	note.value = (char *)"api";
	ns.network = RUNTIME__V1__NAMESPACE_MODE__NODE;
	sc.namespace_options = &ns;
	lx.cgroup_parent = (char *)"/kubepods/besteffort";
	lx.security_context = &sc;
	cfg.metadata = &md;
	cfg.hostname = (char *)name;
	cfg.log_directory = (char *)"/var/log/pods/default_fixed";
	cfg.labels = labels;
	cfg.n_labels = ARRAY_SIZE(labels);
	cfg.annotations = annotations;
	cfg.n_annotations = ARRAY_SIZE(annotations);
	if (with_linux)
		cfg.linux = &lx;
	return copy_message(&cfg.base);
}

static Runtime__V1__ContainerConfig *fixed_container_config(const char *name, const char *app)
{
	Runtime__V1__ContainerMetadata md = RUNTIME__V1__CONTAINER_METADATA__INIT;
	Runtime__V1__ImageSpec image = RUNTIME__V1__IMAGE_SPEC__INIT;
	Runtime__V1__ContainerConfig__LabelsEntry app_label =
	    RUNTIME__V1__CONTAINER_CONFIG__LABELS_ENTRY__INIT;
	Runtime__V1__ContainerConfig__LabelsEntry name_label =
	    RUNTIME__V1__CONTAINER_CONFIG__LABELS_ENTRY__INIT;
	Runtime__V1__ContainerConfig__LabelsEntry *labels[] = {&app_label, &name_label};
	Runtime__V1__Mount mount = RUNTIME__V1__MOUNT__INIT;
	Runtime__V1__Mount *mounts[] = {&mount};
	Runtime__V1__LinuxContainerResources res = RUNTIME__V1__LINUX_CONTAINER_RESOURCES__INIT;
	Runtime__V1__LinuxContainerConfig lx = RUNTIME__V1__LINUX_CONTAINER_CONFIG__INIT;
	Runtime__V1__ContainerConfig cfg = RUNTIME__V1__CONTAINER_CONFIG__INIT;

	md.name = (char *)name;
	image.image = (char *)"docker.io/library/busybox:1.36";
	app_label.key = (char *)"app";
	app_label.value = (char *)app;
	name_label.key = (char *)"io.kubernetes.container.name";
	name_label.value = (char *)name;
	mount.container_path = (char *)"/data";
	mount.host_path = (char *)"/var/lib/fixed";
	mount.readonly = true;
	res.cpu_shares = 512;
	res.memory_limit_in_bytes = 64 << 20;
	lx.resources = &res;
	cfg.metadata = &md;
	cfg.image = &image;
	cfg.labels = labels;
	cfg.n_labels = ARRAY_SIZE(labels);
	cfg.mounts = mounts;
	cfg.n_mounts = ARRAY_SIZE(mounts);
	cfg.log_path = (char *)"fixed/0.log";
	cfg.linux = &lx;
	return copy_message(&cfg.base);
}

static struct crib_pod *add_fixed_pod(const char *prefix, const char *name, const char *app,
                                      bool with_linux, int phase, uint32_t state)
{
	char id[CRIB_ID_LEN + 1];
	struct crib_pod *p;

	make_id(id, prefix);
	p = new_pod(id, fixed_pod_config(name, app, with_linux));
	p->phase = phase;
	p->state = state;
	p->ip = crib_xstrdup("10.88.0.2");
	FUZZ_CHECK(crib_registry_add_pod(&reg, p) == 0);
	crib_pod_unref(p); /* the registry's reference keeps it */
	return p;
}

static void add_fixed_container(const char *prefix, struct crib_pod *p, const char *name,
                                const char *app, int phase, uint32_t state)
{
	char id[CRIB_ID_LEN + 1];
	struct crib_container *c;

	make_id(id, prefix);
	c = new_container(id, p, fixed_container_config(name, app));
	c->phase = phase;
	c->state = state;
	if (state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED) {
		c->exit_code = 137;
		c->reason = crib_xstrdup("OOMKilled");
		c->message = crib_xstrdup("Killed by the OOM killer");
	}
	FUZZ_CHECK(crib_registry_add_container(&reg, c) == 0);
	crib_container_unref(c);
}

/*
 * Ids "aa…" and "ab…" make the prefix "a" ambiguous, as "c" is among containers; "b0…" and
 * "c3…" are still being created and must never be listed.
 */
static void registry_setup(void)
{
	struct crib_pod *web, *db, *creating;

	if (default_pod)
		return;
	web = add_fixed_pod("aa", "web", "web", true, CRIB_PHASE_LIVE,
	                    RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY);
	db = add_fixed_pod("ab", "db", "db", false, CRIB_PHASE_LIVE,
	                   RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	creating = add_fixed_pod("b0", "cache", "cache", false, CRIB_PHASE_CREATING,
	                         RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY);
	add_fixed_container("c1", web, "nginx", "web", CRIB_PHASE_LIVE,
	                    RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	add_fixed_container("c2", db, "postgres", "db", CRIB_PHASE_LIVE,
	                    RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED);
	add_fixed_container("c3", web, "sidecar", "web", CRIB_PHASE_CREATING,
	                    RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
	add_fixed_container("d0", creating, "redis", "cache", CRIB_PHASE_CREATING,
	                    RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED);
	default_pod = web;
}

/* Responses. */

/* Everything cribd answers about a pod: list item, status, stats attributes. */
static void answer_pod(const struct crib_pod *p)
{
	Runtime__V1__ListPodSandboxResponse list = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	Runtime__V1__PodSandboxStatusResponse status =
	    RUNTIME__V1__POD_SANDBOX_STATUS_RESPONSE__INIT;
	Runtime__V1__ListPodSandboxStatsResponse stats =
	    RUNTIME__V1__LIST_POD_SANDBOX_STATS_RESPONSE__INIT;
	Runtime__V1__PodSandbox *item;
	Runtime__V1__PodSandboxStats *st;
	struct crib_arena a = {0};

	item = crib_pb_pod(&a, p);
	list.items = &item;
	list.n_items = 1;
	status.status = crib_pb_pod_status(&a, p);
	status.containers_statuses =
	    crib_pb_pod_container_statuses(&a, p, &status.n_containers_statuses);
	st = crib_pb_new(&a, &runtime__v1__pod_sandbox_stats__descriptor);
	st->attributes = crib_pb_pod_attributes(&a, p);
	stats.stats = &st;
	stats.n_stats = 1;
	pack_check(&list.base);
	pack_check(&status.base);
	pack_check(&stats.base);
	crib_arena_release(&a);
}

/* Everything cribd answers about a container, and the event events.c publishes for it. */
static void answer_container(const struct crib_container *c)
{
	Runtime__V1__ListContainersResponse list = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
	Runtime__V1__ContainerStatusResponse status = RUNTIME__V1__CONTAINER_STATUS_RESPONSE__INIT;
	Runtime__V1__ListContainerStatsResponse stats =
	    RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT;
	Runtime__V1__ContainerEventResponse ev = RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
	Runtime__V1__Container *item;
	Runtime__V1__ContainerStats *st;
	struct crib_arena a = {0};

	item = crib_pb_container(&a, c);
	list.containers = &item;
	list.n_containers = 1;
	status.status = crib_pb_container_status(&a, c);
	st = crib_pb_new(&a, &runtime__v1__container_stats__descriptor);
	st->attributes = crib_pb_container_attributes(&a, c);
	stats.stats = &st;
	stats.n_stats = 1;
	ev.container_id = (char *)c->id;
	ev.container_event_type = RUNTIME__V1__CONTAINER_EVENT_TYPE__CONTAINER_CREATED_EVENT;
	ev.pod_sandbox_status = crib_pb_pod_status(&a, c->pod);
	ev.containers_statuses =
	    crib_pb_pod_container_statuses(&a, c->pod, &ev.n_containers_statuses);
	pack_check(&list.base);
	pack_check(&status.base);
	pack_check(&stats.base);
	pack_check(&ev.base);
	crib_arena_release(&a);
}

/* Filters. */

/* The ids of a filter resolve to exactly the object they name. */
static void check_resolved(const struct crib_filter *f, bool containers)
{
	if (f->id && containers) {
		const struct crib_container *c = crib_registry_find_container(&reg, f->id);

		FUZZ_CHECK(c && streq(c->id, f->id));
	} else if (f->id) {
		const struct crib_pod *p = crib_registry_find_pod(&reg, f->id);

		FUZZ_CHECK(p && streq(p->id, f->id));
	}
	if (f->pod_id) {
		const struct crib_pod *p = crib_registry_find_pod(&reg, f->pod_id);

		FUZZ_CHECK(p && streq(p->id, f->pod_id));
	}
}

/* ListPodSandbox and ListPodSandboxStats, as cri_pod.c and cri_stats.c answer them. */
static void answer_pod_list(const struct crib_filter *f)
{
	Runtime__V1__ListPodSandboxResponse list = RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
	Runtime__V1__ListPodSandboxStatsResponse stats =
	    RUNTIME__V1__LIST_POD_SANDBOX_STATS_RESPONSE__INIT;
	unsigned cap = crib_registry_count_pods(&reg);
	struct crib_arena a = {0};
	struct crib_pod *p, *tmp;

	check_resolved(f, false);
	list.items = crib_arena_alloc(&a, cap * sizeof(*list.items));
	stats.stats = crib_arena_alloc(&a, cap * sizeof(*stats.stats));
	HASH_ITER (hh, reg.pods, p, tmp) {
		Runtime__V1__PodSandboxStats *st;

		if (!crib_filter_match_pod(f, p))
			continue;
		FUZZ_CHECK(!f->nothing && p->phase != CRIB_PHASE_CREATING);
		FUZZ_CHECK(!f->id || streq(f->id, p->id));
		list.items[list.n_items++] = crib_pb_pod(&a, p);
		st = crib_pb_new(&a, &runtime__v1__pod_sandbox_stats__descriptor);
		st->attributes = crib_pb_pod_attributes(&a, p);
		stats.stats[stats.n_stats++] = st;
	}
	FUZZ_CHECK(list.n_items <= cap);
	pack_check(&list.base);
	pack_check(&stats.base);
	crib_arena_release(&a);
}

/* ListContainers and ListContainerStats. */
static void answer_container_list(const struct crib_filter *f)
{
	Runtime__V1__ListContainersResponse list = RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
	Runtime__V1__ListContainerStatsResponse stats =
	    RUNTIME__V1__LIST_CONTAINER_STATS_RESPONSE__INIT;
	unsigned cap = crib_registry_count_containers(&reg);
	struct crib_arena a = {0};
	struct crib_container *c, *tmp;

	check_resolved(f, true);
	list.containers = crib_arena_alloc(&a, cap * sizeof(*list.containers));
	stats.stats = crib_arena_alloc(&a, cap * sizeof(*stats.stats));
	HASH_ITER (hh, reg.ctrs, c, tmp) {
		Runtime__V1__ContainerStats *st;

		if (!crib_filter_match_container(f, c))
			continue;
		FUZZ_CHECK(!f->nothing && c->phase != CRIB_PHASE_CREATING);
		FUZZ_CHECK(!f->id || streq(f->id, c->id));
		FUZZ_CHECK(!f->pod_id || streq(f->pod_id, c->pod->id));
		list.containers[list.n_containers++] = crib_pb_container(&a, c);
		st = crib_pb_new(&a, &runtime__v1__container_stats__descriptor);
		st->attributes = crib_pb_container_attributes(&a, c);
		stats.stats[stats.n_stats++] = st;
	}
	FUZZ_CHECK(list.n_containers <= cap);
	pack_check(&list.base);
	pack_check(&stats.base);
	crib_arena_release(&a);
}

static size_t self_selector_len(size_t n_labels)
{
	return n_labels < SELF_SELECTOR_MAX ? n_labels : SELF_SELECTOR_MAX;
}

/*
 * A pod made from an input: its answers, the selector of its own labels (which must match it
 * unless it is being created), and that selector over every pod.
 */
static void use_pod(const struct crib_pod *p)
{
	const struct crib_filter f = {
	    .labels = (void *const *)p->config->labels,
	    .n_labels = self_selector_len(p->config->n_labels),
	};

	answer_pod(p);
	FUZZ_CHECK(crib_filter_match_pod(&f, p) == (p->phase != CRIB_PHASE_CREATING));
	answer_pod_list(&f);
}

static void use_container(const struct crib_container *c)
{
	const struct crib_filter f = {
	    .labels = (void *const *)c->config->labels,
	    .n_labels = self_selector_len(c->config->n_labels),
	};

	answer_container(c);
	FUZZ_CHECK(crib_filter_match_container(&f, c) == (c->phase != CRIB_PHASE_CREATING));
	answer_container_list(&f);
}

static void set_pod_life(struct crib_pod *p, unsigned variant)
{
	p->phase = variant & 1 ? CRIB_PHASE_CREATING : CRIB_PHASE_LIVE;
	p->state = (variant >> 1) & 1;
	if (variant & 2)
		p->ip = crib_xstrdup("10.88.0.9");
}

static void set_container_life(struct crib_container *c, unsigned variant)
{
	c->phase = variant & 1 ? CRIB_PHASE_CREATING : CRIB_PHASE_LIVE;
	c->state = variant >> 1; /* 0 to 2: created, running, exited */
}

/* Requests. */

static void run_pod(Runtime__V1__RunPodSandboxRequest *req, unsigned variant)
{
	char id[CRIB_ID_LEN + 1];
	struct crib_pod *p;

	if (!req->config || !req->config->metadata)
		return;
	make_id(id, INPUT_POD_PREFIX);
	/* The handler detaches the config from the request, which is freed later. */
	p = new_pod(id, TAKE_PTR(req->config));
	set_pod_life(p, variant);
	(void)crib_registry_add_pod(&reg, p); /* -EEXIST when a fixed pod has its name */
	use_pod(p);
	crib_registry_remove_pod(&reg, p);
	crib_pod_unref(p);
}

static void create_container(Runtime__V1__CreateContainerRequest *req, unsigned variant)
{
	char id[CRIB_ID_LEN + 1];
	struct crib_pod *p, *own = NULL;
	struct crib_container *c;

	if (!req->config || !req->config->metadata)
		return;
	p = crib_registry_find_pod(&reg, req->pod_sandbox_id);
	if (!p && req->sandbox_config && req->sandbox_config->metadata) {
		make_id(id, INPUT_POD_PREFIX);
		own = new_pod(id, TAKE_PTR(req->sandbox_config));
		set_pod_life(own, variant);
		(void)crib_registry_add_pod(&reg, own);
		p = own;
	}
	if (!p)
		p = default_pod;
	make_id(id, INPUT_CTR_PREFIX);
	c = new_container(id, p, TAKE_PTR(req->config));
	set_container_life(c, variant);
	(void)crib_registry_add_container(&reg, c); /* -EEXIST when its name is taken */
	use_container(c);
	use_pod(p);
	crib_registry_remove_container(&reg, c);
	crib_container_unref(c);
	if (own) {
		crib_registry_remove_pod(&reg, own);
		crib_pod_unref(own);
	}
}

/* A singular string field of M called NAME, or NULL when M has none. */
static const char *string_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *fd =
	    protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

	if (!fd || fd->type != PROTOBUF_C_TYPE_STRING || fd->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	return *(char *const *)(const void *)((const char *)m + fd->offset);
}

/* The pod or container a request names, looked up as the handlers look it up. */
static void lookup_ids(const ProtobufCMessage *req)
{
	const char *pod_id = string_field(req, "pod_sandbox_id");
	const char *ctr_id = string_field(req, "container_id");
	struct crib_container *c;
	struct crib_pod *p;

	p = pod_id ? crib_registry_find_pod(&reg, pod_id) : NULL;
	if (p) {
		FUZZ_CHECK(strncmp(p->id, pod_id, strlen(pod_id)) == 0);
		answer_pod(p);
	}
	c = ctr_id ? crib_registry_find_container(&reg, ctr_id) : NULL;
	if (c) {
		FUZZ_CHECK(strncmp(c->id, ctr_id, strlen(ctr_id)) == 0);
		answer_container(c);
	}
}

static void list_request(int method, const ProtobufCMessage *req)
{
	struct crib_filter f;

	switch (method) {
	case CRIB_M_LIST_POD_SANDBOX:
		crib_filter_pods(&reg, ((const Runtime__V1__ListPodSandboxRequest *)req)->filter,
		                 &f);
		answer_pod_list(&f);
		break;
	case CRIB_M_STREAM_POD_SANDBOXES:
		crib_filter_pods(&reg,
		                 ((const Runtime__V1__StreamPodSandboxesRequest *)req)->filter, &f);
		answer_pod_list(&f);
		break;
	case CRIB_M_LIST_CONTAINERS:
		crib_filter_containers(
		    &reg, ((const Runtime__V1__ListContainersRequest *)req)->filter, &f);
		answer_container_list(&f);
		break;
	case CRIB_M_STREAM_CONTAINERS:
		crib_filter_containers(
		    &reg, ((const Runtime__V1__StreamContainersRequest *)req)->filter, &f);
		answer_container_list(&f);
		break;
	case CRIB_M_LIST_CONTAINER_STATS:
		crib_filter_container_stats(
		    &reg, ((const Runtime__V1__ListContainerStatsRequest *)req)->filter, &f);
		answer_container_list(&f);
		break;
	case CRIB_M_STREAM_CONTAINER_STATS:
		crib_filter_container_stats(
		    &reg, ((const Runtime__V1__StreamContainerStatsRequest *)req)->filter, &f);
		answer_container_list(&f);
		break;
	case CRIB_M_LIST_POD_SANDBOX_STATS:
		crib_filter_pod_stats(
		    &reg, ((const Runtime__V1__ListPodSandboxStatsRequest *)req)->filter, &f);
		answer_pod_list(&f);
		break;
	case CRIB_M_STREAM_POD_SANDBOX_STATS:
		crib_filter_pod_stats(
		    &reg, ((const Runtime__V1__StreamPodSandboxStatsRequest *)req)->filter, &f);
		answer_pod_list(&f);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct crib_method *m;
	ProtobufCMessage *req;
	unsigned variant;

	if (size < 1)
		return 0;
	registry_setup();
	m = &crib_methods[data[0] % CRIB_M_COUNT];
	variant = data[0] / CRIB_M_COUNT;
	FUZZ_CHECK(m->id == data[0] % CRIB_M_COUNT);

	req = protobuf_c_message_unpack(m->request, NULL, size - 1, data + 1);
	if (!req)
		return 0; /* cribd answers INVALID_ARGUMENT */
	if (!round_trips(req)) {
		protobuf_c_message_free_unpacked(req, NULL);
		return 0;
	}
	lookup_ids(req);
	switch (m->id) {
	case CRIB_M_RUN_POD_SANDBOX:
		run_pod((Runtime__V1__RunPodSandboxRequest *)req, variant);
		break;
	case CRIB_M_CREATE_CONTAINER:
		create_container((Runtime__V1__CreateContainerRequest *)req, variant);
		break;
	default:
		list_request(m->id, req);
		break;
	}
	protobuf_c_message_free_unpacked(req, NULL);
	return 0;
}
