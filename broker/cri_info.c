/* SPDX-License-Identifier: Apache-2.0 */
/* Version, Status, RuntimeConfig and UpdateRuntimeConfig. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "backend.h"
#include "config.h"
#include "cri.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "op.h"
#include "pb.h"
#include "router.h"
#include "rpc.h"
#include "views.h"
#include "store.h"

#define LOG_CAT "cri"

void crib_cri_version(struct crib_rpc *rpc)
{
	Runtime__V1__VersionResponse resp = RUNTIME__V1__VERSION_RESPONSE__INIT;

	resp.version = (char *)"0.1.0";
	resp.runtime_name = (char *)CRIB_RUNTIME_NAME;
	resp.runtime_version = (char *)CRIB_VERSION;
	resp.runtime_api_version = (char *)CRIB_CRI_VERSION;
	crib_cri_reply(rpc, &resp.base);
}

static json_t *config_json(const struct crib_daemon *d)
{
	const struct crib_config *c = d->cfg;

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s}",
	                 "config_file", c->path, "cri_socket", c->cri_socket, "state_dir",
	                 c->state_dir, "run_dir", c->run_dir, "plugin_dir", c->plugin_dir,
	                 "conf_dir", c->conf_dir, "cni_conf_dir", c->cni_conf_dir, "cni_bin_dirs",
	                 c->cni_bin_dirs, "default_runtime_class", c->default_runtime_class,
	                 "log_level", crib_log_level_to_string(c->log_level), "workers",
	                 (int)c->workers, "pod_cidr", d->pod_cidr ? d->pod_cidr : "");
}

/* Adds KEY = the compact JSON of V (taken) to the response's info map. */
static void add_info(struct crib_arena *a, Runtime__V1__StatusResponse *resp, size_t *cap,
                     const char *key, json_t *v)
{
	Runtime__V1__StatusResponse__InfoEntry *e;
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(v);
	if (!text)
		return;
	if (resp->n_info == *cap) {
		Runtime__V1__StatusResponse__InfoEntry **n;

		*cap = *cap ? *cap * 2 : 4;
		n = crib_arena_alloc(a, *cap * sizeof(*n));
		for (size_t i = 0; i < resp->n_info; i++)
			n[i] = resp->info[i];
		resp->info = n;
	}
	e = crib_pb_new(a, &runtime__v1__status_response__info_entry__descriptor);
	e->key = crib_arena_strdup(a, key);
	e->value = crib_arena_strdup(a, text);
	free(text);
	resp->info[resp->n_info++] = e;
}

static Runtime__V1__RuntimeCondition *condition(struct crib_arena *a, const char *type, bool status,
                                                const char *reason, const char *message)
{
	Runtime__V1__RuntimeCondition *c =
	    crib_pb_new(a, &runtime__v1__runtime_condition__descriptor);

	c->type = (char *)type;
	c->status = status;
	c->reason = crib_arena_strdup(a, status ? "" : reason);
	c->message = crib_arena_strdup(a, status ? "" : message);
	return c;
}

static Runtime__V1__RuntimeHandler *handler(struct crib_arena *a, const char *name,
                                            uint64_t features)
{
	Runtime__V1__RuntimeHandler *h = crib_pb_new(a, &runtime__v1__runtime_handler__descriptor);

	h->name = (char *)name;
	h->features = crib_pb_new(a, &runtime__v1__runtime_handler_features__descriptor);
	h->features->recursive_read_only_mounts =
	    (features & CRIB_FEATURE_RECURSIVE_READ_ONLY_MOUNTS) != 0;
	h->features->user_namespaces = (features & CRIB_FEATURE_USER_NAMESPACES) != 0;
	return h;
}

static void add_handlers(struct crib_arena *a, struct crib_router *rt,
                         Runtime__V1__StatusResponse *resp)
{
	struct crib_rclass *def = crib_router_find_active(rt, rt->default_class);
	struct crib_list *n;
	size_t count = 1, i = 0;

	crib_list_foreach (n, &rt->classes)
		count++;
	resp->runtime_handlers = crib_arena_alloc(a, count * sizeof(*resp->runtime_handlers));
	/* "" is the default handler, as kubelet sends it for pods without a RuntimeClass. */
	if (def)
		resp->runtime_handlers[i++] = handler(a, "", def->features);
	crib_list_foreach (n, &rt->classes) {
		struct crib_rclass *c = container_of(n, struct crib_rclass, link);

		if (c->active)
			resp->runtime_handlers[i++] = handler(a, c->pub.name, c->features);
	}
	resp->n_runtime_handlers = i;
}

/* NET_ERR: why the network is not ready (the CNI configuration loader's answer), or NULL. */
static void status_reply(struct crib_rpc *rpc, const struct crib_error *net_err)
{
	const Runtime__V1__StatusRequest *req = (const void *)rpc->req;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	Runtime__V1__StatusResponse resp = RUNTIME__V1__STATUS_RESPONSE__INIT;
	Runtime__V1__RuntimeStatus status = RUNTIME__V1__RUNTIME_STATUS__INIT;
	Runtime__V1__RuntimeCondition *conds[2];
	struct crib_arena a = {0};
	struct crib_rclass *def = NULL;
	struct crib_error *err = NULL;
	bool runtime_ready;
	size_t cap = 0;

	runtime_ready = crib_router_resolve(d->router, "", &def, &err) == 0;
	conds[0] = condition(&a, "RuntimeReady", runtime_ready,
	                     err && err->errnum == ENOENT ? "NoDefaultRuntimeClass"
	                                                  : "DefaultRuntimeClassUnavailable",
	                     crib_error_msg(err));
	conds[1] = condition(&a, "NetworkReady", !net_err, "NetworkPluginNotReady",
	                     crib_error_msg(net_err));
	crib_error_free(err);
	status.conditions = conds;
	status.n_conditions = 2;
	resp.status = &status;
	add_handlers(&a, d->router, &resp);

	if (req->verbose) {
		add_info(&a, &resp, &cap, "cribd",
		         json_pack("{s:s, s:i, s:I}", "version", CRIB_VERSION, "pid", (int)getpid(),
		                   "started_at", (json_int_t)d->started_at));
		add_info(&a, &resp, &cap, "config", config_json(d));
		add_info(&a, &resp, &cap, "backends", crib_view_backends(d->router));
		add_info(&a, &resp, &cap, "runtimeClasses", crib_view_classes(d->router));
	}
	crib_cri_reply(rpc, &resp.base);
	crib_arena_release(&a);
}

static void status_probed(struct crib_op *op)
{
	struct crib_error *err = NULL;

	if (op->r < 0 && !op->err)
		(void)crib_error_set(&err, -op->r, "Failed to read the CNI configuration");
	status_reply(op->data, op->r < 0 ? (op->err ? op->err : err) : NULL);
	crib_error_free(err);
	crib_op_free(op);
}

/*
 * NetworkReady says whether RunPodSandbox would find a network configuration:
 * the same loader decides, on a worker since it reads files.
 */
void crib_cri_status(struct crib_rpc *rpc)
{
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_op *op = crib_op_new(CRIB_OP_NET_PROBE, NULL, status_probed, rpc);
	struct crib_error *err = NULL;
	int r;

	op->net.conf_dir = crib_xstrdup(d->cfg->cni_conf_dir);
	r = crib_daemon_op_start(d, op);
	if (r < 0) {
		crib_op_free(op);
		(void)crib_error_set(&err, -r, "Failed to queue reading the CNI configuration: %s",
		                     uv_strerror(r));
		status_reply(rpc, err);
		crib_error_free(err);
	}
}

void crib_cri_runtime_config(struct crib_rpc *rpc)
{
	struct crib_daemon *d = crib_cri_daemon(rpc);
	Runtime__V1__RuntimeConfigResponse resp = RUNTIME__V1__RUNTIME_CONFIG_RESPONSE__INIT;
	Runtime__V1__LinuxRuntimeConfiguration linux_cfg =
	    RUNTIME__V1__LINUX_RUNTIME_CONFIGURATION__INIT;

	linux_cfg.cgroup_driver = d->cgroup_driver == CRIB_CGROUP_SYSTEMD
	                              ? RUNTIME__V1__CGROUP_DRIVER__SYSTEMD
	                              : RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
	resp.linux = &linux_cfg;
	crib_cri_reply(rpc, &resp.base);
}

/* "10.0.0.0/16" or "fd00::/64"; empty is allowed (no CIDR). */
static bool cidr_valid(const char *s)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *slash = strchr(s, '/');
	char *end = NULL;
	size_t len;
	long bits;
	int family;

	if (!slash)
		return false;
	len = (size_t)(slash - s);
	if (len == 0 || len >= sizeof(addr))
		return false;
	memcpy(addr, s, len);
	addr[len] = '\0';
	family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr, buf) != 1)
		return false;
	errno = 0;
	bits = strtol(slash + 1, &end, 10);
	return errno == 0 && end != slash + 1 && !*end && bits >= 0 &&
	       bits <= (family == AF_INET ? 32 : 128);
}

void crib_cri_update_runtime_config(struct crib_rpc *rpc)
{
	const Runtime__V1__UpdateRuntimeConfigRequest *req = (const void *)rpc->req;
	Runtime__V1__UpdateRuntimeConfigResponse resp =
	    RUNTIME__V1__UPDATE_RUNTIME_CONFIG_RESPONSE__INIT;
	struct crib_daemon *d = crib_cri_daemon(rpc);
	struct crib_error *err = NULL;
	const char *cidr = "";

	if (req->runtime_config && req->runtime_config->network_config)
		cidr = req->runtime_config->network_config->pod_cidr;
	if (!isempty(cidr) && !cidr_valid(cidr)) {
		crib_cri_failf(rpc, EINVAL,
		               "RuntimeConfig.network_config.pod_cidr '%s' is not an IPv4 or IPv6 "
		               "CIDR",
		               cidr);
		return;
	}
	if (!streq(cidr, d->pod_cidr ? d->pod_cidr : "")) {
		if (crib_store_set_meta(d->store, "pod_cidr", cidr, &err) < 0) {
			crib_cri_fail(rpc, err);
			crib_error_free(err);
			return;
		}
		crib_strreplace(&d->pod_cidr, cidr);
		log_info("Pod CIDR is now '%s'", cidr);
	}
	crib_cri_reply(rpc, &resp.base);
}
