/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime side of CNI (github.com/containernetworking/cni SPEC.md,
 * versions 0.3.0 to 1.0.0): which network configuration applies, running
 * its plugins for ADD, CHECK and DEL, and reading what they answer.
 *
 * The configuration is the lexically first *.conflist, *.conf or *.json file
 * of cni_conf_dir, as libcni and containerd pick it; a .conf or .json file is
 * one plugin, wrapped into a list.  ADD runs the list's plugins in order,
 * each given the previous one's result as prevResult; DEL runs them in
 * reverse with the ADD's result.  That result, and the configuration the ADD
 * used, are kept in <state_dir>/cni/<pod id>.json, written before the first
 * plugin runs and again after the last, so that DEL works after a restart, a
 * crash or a change of cni_conf_dir, and is skipped only when no plugin ever
 * ran for the pod.
 *
 * The parsers are pure.  Everything else blocks (files, plugin processes,
 * namespaces): worker threads only.
 */
#ifndef CRIB_BROKER_CNI_H
#define CRIB_BROKER_CNI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct crib_config;
struct crib_error;
struct json_t;
struct Runtime__V1__PodSandboxConfig;

/* The interface cribd asks plugins to make in the pod's namespace. */
#define CRIB_CNI_IFNAME "eth0"
/* A plugin still running after this long is killed. */
#define CRIB_CNI_TIMEOUT_MS (60 * 1000)
/* Bounds on what cribd reads: a configuration file, a plugin's stdout. */
#define CRIB_CNI_CONF_MAX   (1024 * 1024)
#define CRIB_CNI_OUTPUT_MAX (1024 * 1024)

/* A network configuration list, checked: every plugin has a usable type. */
struct crib_cni_conf {
	char *file;          /* where it was read from */
	char *name;          /* the network's name */
	char *version;       /* its cniVersion, one cribd speaks */
	bool disable_check;  /* disableCheck: no CHECK for this network */
	struct json_t *list; /* the list document; "plugins" is a non-empty array of objects */
};

/*
 * Parses TEXT (LEN bytes) as read from FILE: a list when FILE ends in
 * ".conflist", else a single plugin.  -EINVAL with a message naming FILE
 * when it is not a configuration cribd can run.
 */
int crib_cni_conf_parse(const char *file, const char *text, size_t len, struct crib_cni_conf **ret,
                        struct crib_error **reterr);

/*
 * Loads the configuration that applies from DIR.  -ENOENT when DIR holds no
 * configuration file ("No CNI network configuration in 'DIR'"), -EINVAL when
 * the first one is broken (message naming it), else -errno of the read.
 */
int crib_cni_conf_load(const char *dir, struct crib_cni_conf **ret, struct crib_error **reterr);

/* NULL-safe; returns NULL. */
struct crib_cni_conf *crib_cni_conf_free(struct crib_cni_conf *conf);

static inline void crib_cni_conf_freep(struct crib_cni_conf **conf)
{
	crib_cni_conf_free(*conf);
}

/*
 * Reads the IPs of a plugin's (or list's) success result, any version from
 * 0.3.0 to 1.0.0.  The IPs considered are those on IFNAME when the result
 * puts any there, else all of them; *ret_ips (a string vector, prefix lengths
 * dropped) starts with the first IPv4 among them, else the first IP, and
 * goes on with the others in result order.  It may be empty.  -EBADMSG when
 * TEXT is not a result.
 */
int crib_cni_result_ips(const char *text, size_t len, const char *ifname, char ***ret_ips,
                        size_t *ret_n, struct crib_error **reterr);

/*
 * A CNI error result ({"code", "msg", "details"}) as one line of text,
 * "msg: details"; NULL when TEXT is not one.  Malloc'd.
 */
char *crib_cni_error_text(const char *text, size_t len);

/* True when the pod asks for the node's network namespace (no CNI then). */
bool crib_cni_host_network(const struct Runtime__V1__PodSandboxConfig *pod);

/*
 * What the pod operations need, all copies: a reload may replace cribd's
 * configuration while a worker runs them.
 */
struct crib_cni_args {
	char *conf_dir;  /* cni_conf_dir */
	char *bin_dirs;  /* cni_bin_dirs, colon-separated: where plugins are, and CNI_PATH */
	char *cache_dir; /* <state_dir>/cni */
	char *id;        /* the pod id: CNI_CONTAINERID and K8S_POD_INFRA_CONTAINER_ID */
	char *name;      /* K8S_POD_NAME */
	char *namespace_;
	char *uid;
	char *netns;          /* CNI_NETNS */
	bool make_netns;      /* cribd creates NETNS on setup and removes it on teardown */
	char *runtime_config; /* capability args as a JSON object ("portMappings"), or NULL */
	int64_t timeout_ms;   /* per plugin run */
};

/* Fills A for pod ID (POD is its config) in the namespace NETNS (NULL: none yet). */
void crib_cni_args_init(struct crib_cni_args *a, const struct crib_config *cfg, const char *id,
                        const struct Runtime__V1__PodSandboxConfig *pod, const char *netns,
                        bool make_netns);
void crib_cni_args_clear(struct crib_cni_args *a);

/*
 * RunPodSandbox's network: the namespace (when A says cribd makes it), then
 * ADD.  On success *ret_ips is what crib_cni_result_ips() read from the
 * final result.  On failure nothing is left: DEL has run and the namespace
 * is gone.  -ENOEXEC when the node has no usable configuration or plugin.
 */
int crib_cni_pod_setup(const struct crib_cni_args *a, char ***ret_ips, size_t *ret_n,
                       struct crib_error **reterr);

/*
 * DEL with what the ADD recorded, then the namespace's removal (when cribd
 * made it).  Idempotent.  On failure the record and the namespace stay, for
 * the retry.
 */
int crib_cni_pod_teardown(const struct crib_cni_args *a, struct crib_error **reterr);

/*
 * CHECK with the recorded result.  *ret_checked is false when CHECK does not
 * apply: no result recorded, a network older than 0.4.0, or disableCheck.
 */
int crib_cni_pod_check(const struct crib_cni_args *a, bool *ret_checked,
                       struct crib_error **reterr);

#endif /* CRIB_BROKER_CNI_H */
