/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The oci backend: pods on any OCI runtime binary (runc, crun, runsc,
 * kata-runtime).  One module serves every class naming it; a class names its
 * binary and global arguments.  This file: entry, init, classes, health.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci.h"
#include "sibling.h"
#include "util.h"

#define OCI_VERSION "0.1.0"
/* A runtime's --version answers at once; one that hangs is not usable. */
#define PROBE_TIMEOUT_MS 10000

static const char *backend_key(const struct crib_host *host, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < host->n_kv; i++)
		if (streq(host->kv[i].key, key))
			v = host->kv[i].value;
	return v;
}

char *oci_helper_path(const struct crib_host *host, const char *key, const char *name)
{
	const char *v = backend_key(host, key);

	return v ? crib_xstrdup(v) : crib_module_sibling(name);
}

/*
 * Copies crib-pause into the infra root filesystem.  Always, and by rename:
 * running infra containers keep the old inode, new ones get this build's.
 */
static int install_pause(struct oci_state *st, const char *pause, struct crib_error **reterr)
{
	_cleanup_free_ char *dst = NULL;
	int r;

	st->pause_root = crib_xasprintf("%s/pause", st->host->state_dir);
	r = crib_mkdir_p(st->pause_root, 0755);
	if (r < 0)
		return st->host->error_set(reterr, -r, "cannot create %s", st->pause_root);
	/* Mount points the runtime would otherwise create at the first start. */
	for (const char *const *d = (const char *const[]){"proc", "dev", "sys", "etc", NULL}; *d;
	     d++) {
		_cleanup_free_ char *p = crib_xasprintf("%s/%s", st->pause_root, *d);

		(void)mkdir(p, 0755);
	}
	dst = crib_xasprintf("%s/pause", st->pause_root);
	r = oci_copy_file(pause, dst, 0755);
	if (r < 0)
		return st->host->error_set(reterr, -r, "cannot install %s as %s", pause, dst);
	return 0;
}

static int own_oom_score_adj(void)
{
	_cleanup_free_ char *text = NULL;

	return oci_read_file("/proc/self", "oom_score_adj", &text) == 0 ? atoi(text) : 0;
}

static void oci_fini(void *state);

static int oci_init(const struct crib_host *host, void **ret_state, struct crib_error **reterr)
{
	struct oci_state *st = crib_xcalloc(1, sizeof(*st));
	_cleanup_free_ char *pause = NULL;
	int r;

	st->host = host;
	st->epfd = st->wake_fd = -EBADF;
	pthread_mutex_init(&st->lock, NULL);
	*ret_state = st;
	st->shim = oci_helper_path(host, "shim", "crib-shim");
	pause = oci_helper_path(host, "pause", "crib-pause");
	if (access(st->shim, X_OK) < 0)
		return host->error_set(reterr, errno, "the container monitor %s is not executable",
		                       st->shim);
	r = install_pause(st, pause, reterr);
	if (r < 0)
		return r;
	st->own_oom_score_adj = own_oom_score_adj();
	oci_host_features_probe(&st->features);
	r = oci_cg_detect(NULL, &st->cg);
	if (r < 0)
		return host->error_set(reterr, -r, "cannot tell how cgroups are mounted");
	return oci_monitor_start(st, reterr);
}

static void oci_fini(void *state)
{
	struct oci_state *st = state;

	if (!st)
		return;
	oci_monitor_stop(st);
	pthread_mutex_destroy(&st->lock);
	free(st->shim);
	free(st->pause_root);
	free(st);
}

static int probe(struct oci_state *st, const struct crib_class *cls, const struct oci_runtime *rt,
                 struct crib_error **reterr)
{
	const char *args[] = {"--version", NULL};
	_cleanup_free_ const char **argv = oci_runtime_argv(rt, args);
	struct oci_proc_result res;
	int r = oci_proc_run(argv, PROBE_TIMEOUT_MS, 4096, NULL, NULL, &res);

	if (r < 0)
		return st->host->class_error(cls, "binary", reterr, -r, "cannot run %s",
		                             rt->binary);
	if (res.timed_out || !WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0)
		r = st->host->class_error(cls, "binary", reterr, ENOEXEC,
		                          "%s --version failed (exit code %d)", rt->binary,
		                          oci_exit_code(res.status));
	oci_proc_result_clear(&res);
	return r;
}

/* Whether the runtime's exec lacks --tty (runsc): its help is the only place that says so. */
static bool exec_console_only(const struct oci_runtime *rt)
{
	const char *args[] = {"exec", "--help", NULL};
	_cleanup_free_ const char **argv = oci_runtime_argv(rt, args);
	struct oci_proc_result res;
	bool console_only = false;

	if (oci_proc_run(argv, PROBE_TIMEOUT_MS, 64 * 1024, NULL, NULL, &res) == 0) {
		console_only = WIFEXITED(res.status) && (res.out || res.err) &&
		               !strstr(res.out ? res.out : "", "tty") &&
		               !strstr(res.err ? res.err : "", "tty") &&
		               (strstr(res.out ? res.out : "", "console-socket") ||
		                strstr(res.err ? res.err : "", "console-socket"));
		oci_proc_result_clear(&res);
	}
	return console_only;
}

static int oci_class_open(void *state, const struct crib_class *cls, uint64_t *ret_features,
                          void **ret_data, struct crib_error **reterr)
{
	struct oci_state *st = state;
	struct oci_class *c = crib_xcalloc(1, sizeof(*c));
	int r;

	r = oci_flavor_class(st, cls, c, reterr);
	if (r >= 0)
		r = probe(st, cls, &c->rt, reterr);
	if (r < 0) {
		oci_runtime_clear(&c->rt);
		free(c);
		return r;
	}
	c->rt.exec_console_only = exec_console_only(&c->rt);
	*ret_features = 0;
	*ret_data = c;
	return 0;
}

static void oci_class_close(void *state, const struct crib_class *cls)
{
	struct oci_class *c = cls->data;

	(void)state;
	if (c) {
		oci_runtime_clear(&c->rt);
		free(c);
	}
}

static int oci_reconcile(void *state, struct crib_op *op, struct crib_reconcile_item *items,
                         size_t n_items, struct crib_error **reterr)
{
	(void)op;
	(void)reterr;
	for (size_t i = 0; i < n_items; i++)
		oci_reconcile_item(state, &items[i]);
	return 0;
}

static int oci_health(void *state, struct crib_health *ret, struct crib_error **reterr)
{
	struct oci_state *st = state;

	(void)reterr;
	ret->healthy = access(st->shim, X_OK) == 0;
	ret->message = ret->healthy ? crib_xasprintf("monitor %s", st->shim)
	                            : crib_xasprintf("the container monitor %s is gone", st->shim);
	return 0;
}

static const struct crib_backend_ops oci_ops = {
    .abi_major = CRIB_BACKEND_ABI_MAJOR,
    .abi_minor = CRIB_BACKEND_ABI_MINOR,
    .struct_size = sizeof(struct crib_backend_ops),
    .name = oci_flavor_name,
    .version = OCI_VERSION,
    .caps = CRIB_CAP_EXEC_SYNC | CRIB_CAP_CONTAINER_STATS | CRIB_CAP_POD_STATS |
            CRIB_CAP_REOPEN_LOG | CRIB_CAP_UPDATE_RESOURCES | CRIB_CAP_POD_STATUS |
            CRIB_CAP_HEALTH | CRIB_CAP_STREAMS,
    .init = oci_init,
    .fini = oci_fini,
    .class_open = oci_class_open,
    .class_close = oci_class_close,
    .pod_run = oci_pod_run,
    .pod_stop = oci_pod_stop,
    .pod_remove = oci_pod_remove,
    .container_create = oci_container_create,
    .container_start = oci_container_start,
    .container_stop = oci_container_stop,
    .container_remove = oci_container_remove,
    .container_status = oci_container_status,
    .reconcile = oci_reconcile,
    .pod_status = oci_pod_status,
    .health = oci_health,
    .exec_sync = oci_exec_sync,
    .container_stats = oci_container_stats,
    .pod_stats = oci_pod_stats,
    .container_reopen_log = oci_container_reopen_log,
    .container_update = oci_container_update,
    .stream_open = oci_stream_open,
    .stream_resize = oci_stream_resize,
    .stream_finish = oci_stream_finish,
    .stream_close = oci_stream_close,
};

CRIB_EXPORT const struct crib_backend_ops *crib_backend_entry(uint32_t host_abi_major)
{
	(void)host_abi_major;
	return &oci_ops;
}
