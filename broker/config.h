/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cribd's configuration: the main file (default /etc/crib/crib.conf) with a
 * [daemon] section, and every *.conf file of conf_dir in lexical order with
 * [runtime.NAME] sections (one per runtime class) and [backend.NAME] sections
 * (settings handed to a backend's init) and [registry.HOST] sections (mirrors,
 * plain HTTP, CA files for image pulls).  Runtime, backend and registry
 * sections may also appear in the main file.  Every error names the file and
 * line.
 */
#ifndef CRIB_BROKER_CONFIG_H
#define CRIB_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <crib/backend.h> /* struct crib_kv */

struct crib_error;

#define CRIB_DEFAULT_CONFIG "/etc/crib/crib.conf"

enum crib_cgroup_driver {
	CRIB_CGROUP_AUTO = 0,
	CRIB_CGROUP_CGROUPFS = 1,
	CRIB_CGROUP_SYSTEMD = 2,
};

/* A [runtime.NAME] or [backend.NAME] section. */
struct crib_config_section {
	char *name;
	char *backend; /* runtime sections: the "backend" key; NULL for backend sections */
	const char *file;
	uint32_t line;
	uint32_t backend_line;
	struct crib_kv *kv; /* every other key, in file order; strings owned by the config */
	size_t n_kv;
};

/*
 * A [registry.HOST] section, or [registry.*] for every registry without its
 * own.  HOST is as image references name it ("docker.io", "127.0.0.1:5000").
 */
struct crib_config_registry {
	char *host;
	const char *file;
	uint32_t line;
	char **mirrors; /* URLs tried in order before the registry itself */
	size_t n_mirrors;
	bool mirror_only; /* never fall back to the registry itself */
	int insecure;     /* plain HTTP: 1 yes, 0 no, -1 unset (loopback hosts are) */
	char *ca_file;
};

struct crib_config {
	char *path; /* the main file */
	char *cri_socket;
	char *admin_socket;
	/* The admin API on TCP: off unless admin_address is set. */
	char *admin_address; /* numeric IPv4 or IPv6 address, or NULL */
	unsigned admin_port;
	char *admin_token_file; /* required with admin_address */
	char *admin_tls_cert;   /* PEM; TLS when set (with admin_tls_key) */
	char *admin_tls_key;
	char *state_dir;
	char *run_dir;
	char *plugin_dir;
	char *conf_dir;
	char *cni_conf_dir;
	char *cni_bin_dirs;          /* colon-separated, as CNI_PATH */
	char *default_runtime_class; /* "" when none */
	int log_level;               /* enum crib_log_level */
	int log_format;              /* enum crib_log_format */
	unsigned workers;
	int cgroup_driver; /* enum crib_cgroup_driver */
	/* The streaming server (Exec, Attach, PortForward URLs). */
	char *stream_address;           /* numeric IPv4 or IPv6 address */
	unsigned stream_port;           /* 0: one the kernel picks */
	unsigned stream_token_ttl;      /* seconds a URL stays valid */
	unsigned stream_idle_timeout;   /* seconds without traffic before a session ends */
	unsigned stream_max;            /* sessions at once, the whole daemon */
	unsigned stream_max_per_object; /* sessions at once on one container or pod */

	struct crib_config_section *classes;
	size_t n_classes;
	struct crib_config_section *backends;
	size_t n_backends;
	struct crib_config_registry *registries;
	size_t n_registries;

	char **files; /* every file read, owning the names crib_kv.file points to */
	size_t n_files;
};

/*
 * Reads PATH and the conf_dir it names.  When PATH is NULL the default file is
 * used, and a missing default file means built-in defaults; an explicit PATH
 * must exist.  On success *ret owns a new config (free with
 * crib_config_free()).
 */
int crib_config_load(const char *path, struct crib_config **ret, struct crib_error **reterr);

/* Parses one file's text as if read from NAME (for tests and fuzzing); no conf_dir. */
int crib_config_parse_string(const char *name, const char *text, struct crib_config **ret,
                             struct crib_error **reterr);

const struct crib_config_section *crib_config_find_class(const struct crib_config *cfg,
                                                         const char *name);
const struct crib_config_section *crib_config_find_backend(const struct crib_config *cfg,
                                                           const char *name);

/* The section for HOST, else the [registry.*] one, else NULL. */
const struct crib_config_registry *crib_config_find_registry(const struct crib_config *cfg,
                                                             const char *host);

/* NULL-safe; returns NULL. */
struct crib_config *crib_config_free(struct crib_config *cfg);

static inline void crib_config_freep(struct crib_config **cfg)
{
	crib_config_free(*cfg);
}

#endif /* CRIB_BROKER_CONFIG_H */
