/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "dl.h"
#include "error.h"
#include "util.h"

struct required_op {
	const char *name;
	size_t offset;
};

#define REQ(op)                                                                                    \
	{                                                                                          \
#op, offsetof(struct crib_backend_ops, op)                                         \
	}
static const struct required_op required_ops[] = {
    REQ(init),
    REQ(fini),
    REQ(class_open),
    REQ(class_close),
    REQ(pod_run),
    REQ(pod_stop),
    REQ(pod_remove),
    REQ(container_create),
    REQ(container_start),
    REQ(container_stop),
    REQ(container_remove),
    REQ(container_status),
    REQ(reconcile),
};
#undef REQ

struct cap_op {
	uint64_t cap;
	const char *feature;
	const char *op;
	size_t offset;
};

#define CAP(bit, feature, op)                                                                      \
	{                                                                                          \
		bit, feature, #op, offsetof(struct crib_backend_ops, op)                           \
	}
static const struct cap_op cap_ops[] = {
    CAP(CRIB_CAP_EXEC_SYNC, "exec-sync", exec_sync),
    CAP(CRIB_CAP_CONTAINER_STATS, "container-stats", container_stats),
    CAP(CRIB_CAP_POD_STATS, "pod-stats", pod_stats),
    CAP(CRIB_CAP_REOPEN_LOG, "reopen-log", container_reopen_log),
    CAP(CRIB_CAP_UPDATE_RESOURCES, "update-resources", container_update),
    CAP(CRIB_CAP_POD_UPDATE, "pod-update", pod_update),
    CAP(CRIB_CAP_POD_STATUS, "pod-status", pod_status),
    CAP(CRIB_CAP_HEALTH, "health", health),
    {CRIB_CAP_OWN_NETNS, "own-netns", NULL, 0},
    /* One capability, five ops: consecutive rows, named once. */
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_pull),
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_status),
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_list),
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_remove),
    CAP(CRIB_CAP_OWN_IMAGES, "own-images", image_fs_info),
    CAP(CRIB_CAP_STREAMS, "streams", stream_open),
    CAP(CRIB_CAP_STREAMS, "streams", stream_resize),
    CAP(CRIB_CAP_STREAMS, "streams", stream_finish),
    CAP(CRIB_CAP_STREAMS, "streams", stream_close),
    CAP(CRIB_CAP_PORT_FORWARD, "port-forward", port_connect),
};
#undef CAP

/* The smallest table a backend of this major may hand us: the 1.0 table. */
#define OPS_MIN_SIZE (offsetof(struct crib_backend_ops, pod_update) + sizeof(void (*)(void)))

static bool op_present(const struct crib_backend_ops *ops, size_t offset)
{
	void *p;

	if (ops->struct_size < offset + sizeof(p))
		return false;
	memcpy(&p, (const char *)ops + offset, sizeof(p));
	return p != NULL;
}

int crib_backend_validate(const struct crib_backend_ops *ops, const char *path, const char *name,
                          struct crib_error **reterr)
{
	if (ops->abi_major != CRIB_BACKEND_ABI_MAJOR)
		return crib_error_set(reterr, ENOEXEC,
		                      "Backend module '%s' is built for ABI %u.%u, but cribd "
		                      "expects ABI %u.x (%u.%u)",
		                      path, ops->abi_major, ops->abi_minor, CRIB_BACKEND_ABI_MAJOR,
		                      CRIB_BACKEND_ABI_MAJOR, CRIB_BACKEND_ABI_MINOR);
	if (ops->struct_size < OPS_MIN_SIZE)
		return crib_error_set(reterr, ENOEXEC,
		                      "Backend module '%s' has an ops table of %u bytes, smaller "
		                      "than ABI %u.0's %zu",
		                      path, ops->struct_size, CRIB_BACKEND_ABI_MAJOR, OPS_MIN_SIZE);
	if (!ops->name || !streq(ops->name, name))
		return crib_error_set(reterr, ENOEXEC,
		                      "Backend module '%s' calls itself '%s', not '%s'", path,
		                      ops->name ? ops->name : "(null)", name);
	for (size_t i = 0; i < ARRAY_SIZE(required_ops); i++)
		if (!op_present(ops, required_ops[i].offset))
			return crib_error_set(reterr, ENOEXEC,
			                      "Backend module '%s' lacks the required op '%s'",
			                      path, required_ops[i].name);
	for (size_t i = 0; i < ARRAY_SIZE(cap_ops); i++)
		if ((ops->caps & cap_ops[i].cap) && cap_ops[i].op &&
		    !op_present(ops, cap_ops[i].offset))
			return crib_error_set(reterr, ENOEXEC,
			                      "Backend module '%s' claims '%s' but lacks op '%s'",
			                      path, cap_ops[i].feature, cap_ops[i].op);
	return 0;
}

int crib_backend_module_open(const char *path, const char *name, void **ret_dl,
                             const struct crib_backend_ops **ret_ops, struct crib_error **reterr)
{
	_cleanup_(crib_dl_closep) void *dl = NULL;
	const struct crib_backend_ops *ops;
	crib_backend_entry_fn entry;
	int r;

	if (path[0] != '/')
		return crib_error_set(reterr, EINVAL, "Backend module path '%s' is not absolute",
		                      path);
	dl = crib_dl_open(path);
	if (!dl)
		return crib_error_set(reterr, ENOEXEC, "Failed to load backend module '%s': %s",
		                      path, crib_dl_error());

	/* POSIX's sanctioned way to turn dlsym's data pointer into a function pointer. */
	*(void **)&entry = crib_dl_sym(dl, CRIB_BACKEND_ENTRY_SYMBOL);
	if (!entry)
		return crib_error_set(reterr, ENOEXEC,
		                      "Backend module '%s' does not export '%s' (expected ABI "
		                      "%u.%u)",
		                      path, CRIB_BACKEND_ENTRY_SYMBOL, CRIB_BACKEND_ABI_MAJOR,
		                      CRIB_BACKEND_ABI_MINOR);
	ops = entry(CRIB_BACKEND_ABI_MAJOR);
	if (!ops)
		return crib_error_set(reterr, ENOEXEC,
		                      "Backend module '%s' refused cribd's ABI %u.%u", path,
		                      CRIB_BACKEND_ABI_MAJOR, CRIB_BACKEND_ABI_MINOR);
	r = crib_backend_validate(ops, path, name, reterr);
	if (r < 0)
		return r;

	*ret_ops = ops;
	*ret_dl = TAKE_PTR(dl);
	return 0;
}

struct crib_backend *crib_backend_new(const char *name, const char *plugin_dir,
                                      struct crib_mailbox *mailbox)
{
	struct crib_backend *b = crib_xcalloc(1, sizeof(*b));

	b->name = crib_xstrdup(name);
	b->path = crib_xasprintf("%s/%s.so", plugin_dir, name);
	b->mailbox = mailbox;
	crib_list_init(&b->link);
	return b;
}

void crib_backend_set_failed(struct crib_backend *b, int status, const struct crib_error *err)
{
	b->status = status;
	b->errnum = err ? err->errnum : EIO;
	crib_strreplace(&b->error, crib_error_msg(err));
}

char *crib_backend_caps_string(uint64_t caps)
{
	size_t len = 1;
	char *s;
	for (size_t i = 0; i < ARRAY_SIZE(cap_ops); i++)
		len += strlen(cap_ops[i].feature) + 1;
	size_t off = 0;

	s = crib_xcalloc(1, len);
	for (size_t i = 0; i < ARRAY_SIZE(cap_ops); i++) {
		size_t n = strlen(cap_ops[i].feature);

		if (!(caps & cap_ops[i].cap) || (i > 0 && cap_ops[i - 1].cap == cap_ops[i].cap))
			continue;
		if (off)
			s[off++] = ',';
		memcpy(s + off, cap_ops[i].feature, n);
		off += n;
	}
	return s;
}

struct crib_backend *crib_backend_free(struct crib_backend *b)
{
	if (!b)
		return NULL;
	if (b->initialized)
		b->ops->fini(b->state);
	crib_dl_close(b->dl);
	free(b->name);
	free(b->path);
	free(b->error);
	free(b->health_info);
	free(b->state_dir);
	free(b->run_dir);
	free(b->images_root);
	for (size_t i = 0; i < b->n_kv; i++) {
		free((char *)b->kv[i].key);
		free((char *)b->kv[i].value);
		free((char *)b->kv[i].file);
	}
	free(b->kv);
	free(b);
	return NULL;
}
