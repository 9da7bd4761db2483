/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "crilog.h"
#include "error.h"
#include "host.h"
#include "log.h"
#include "op.h"
#include "snapshot.h"

static struct crib_backend *host_backend(const struct crib_host *host)
{
	return container_of(host, struct crib_backend, host);
}

static void host_log(const struct crib_host *host, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int host_error_set(struct crib_error **reterr, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int host_class_error(const struct crib_class *cls, const char *key,
                            struct crib_error **reterr, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void host_log(const struct crib_host *host, int level, const char *fmt, ...)
{
	struct crib_backend *b = host_backend(host);
	va_list ap;

	va_start(ap, fmt);
	crib_logv(level, b->name, fmt, ap);
	va_end(ap);
}

static int host_error_set(struct crib_error **reterr, int errnum, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = crib_error_setv(reterr, errnum, fmt, ap);
	va_end(ap);
	return r;
}

static const struct crib_kv *class_find(const struct crib_class *cls, const char *key)
{
	const struct crib_kv *found = NULL;

	for (size_t i = 0; key && i < cls->n_kv; i++)
		if (streq(cls->kv[i].key, key))
			found = &cls->kv[i];
	return found;
}

static int host_class_error(const struct crib_class *cls, const char *key,
                            struct crib_error **reterr, int errnum, const char *fmt, ...)
{
	const struct crib_kv *kv = class_find(cls, key);
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (kv)
		return crib_error_set(reterr, errnum, "%s:%u: %s", kv->file, kv->line, text);
	return crib_error_set(reterr, errnum, "%s:%u: [runtime.%s]: %s", cls->file, cls->line,
	                      cls->name, text);
}

static const char *host_class_get(const struct crib_class *cls, const char *key)
{
	const struct crib_kv *kv = class_find(cls, key);

	return kv ? kv->value : NULL;
}

static void host_op_done(struct crib_op *op, int r, struct crib_error *err)
{
	crib_op_finish_async(op, r, err);
}

static void host_emit(const struct crib_host *host, const struct crib_event *ev)
{
	struct crib_backend *b = host_backend(host);
	struct crib_backend_event *e = crib_xcalloc(1, sizeof(*e));

	e->msg.kind = CRIB_MSG_EVENT;
	e->backend = b;
	e->kind = ev->kind;
	e->id = crib_xstrdup(ev->id);
	e->exit_code = ev->exit_code;
	e->at = ev->at ? ev->at : crib_now_ns();
	e->reason = crib_xstrdup(ev->reason);
	e->message = crib_xstrdup(ev->message);
	crib_mailbox_post(b->mailbox, &e->msg);
}

static int host_rootfs_prepare(const struct crib_host *host, const struct crib_container_spec *spec,
                               struct crib_rootfs *ret, struct crib_error **reterr)
{
	struct crib_backend *b = host_backend(host);

	if (!spec->image_id)
		return crib_error_set(
		    reterr, EINVAL, "Container '%s' has no image of cribd's to make a rootfs from",
		    spec->ref.id);
	return crib_snapshot_prepare(b->images_root, spec->ref.id, spec->image_layers,
	                             spec->n_image_layers, &ret->path, &ret->upper, reterr);
}

static int host_rootfs_release(const struct crib_host *host, const char *container_id,
                               struct crib_error **reterr)
{
	return crib_snapshot_remove(host_backend(host)->images_root, container_id, reterr);
}

struct crib_backend_event *crib_backend_event_free(struct crib_backend_event *ev)
{
	if (ev) {
		free(ev->id);
		free(ev->reason);
		free(ev->message);
		free(ev);
	}
	return NULL;
}

/*
 * BASE/backends/NAME with MODE, BASE/backends too (an older cribd's mode is
 * changed).  The caller frees *RET.
 */
static int make_dir(const char *base, const char *name, unsigned mode, char **ret,
                    struct crib_error **reterr)
{
	_cleanup_free_ char *parent = crib_xasprintf("%s/backends", base);
	_cleanup_free_ char *dir = crib_xasprintf("%s/%s", parent, name);
	int r = crib_mkdir_p(dir, mode);

	if (r == 0 && (chmod(parent, mode) < 0 || chmod(dir, mode) < 0))
		r = -errno;
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to create directory '%s': %s", dir,
		                      strerror(-r));
	*ret = TAKE_PTR(dir);
	return 0;
}

int crib_host_setup(struct crib_backend *b, const char *state_dir, const char *run_dir,
                    const struct crib_kv *kv, size_t n_kv, struct crib_error **reterr)
{
	int r;

	r = make_dir(state_dir, b->name, 0700, &b->state_dir, reterr);
	if (r < 0)
		return r;
	/*
	 * Searchable, not readable, by others: a container in a user namespace
	 * (lxc's idmap) reaches its root filesystem and mounts under it.
	 */
	r = make_dir(run_dir, b->name, 0711, &b->run_dir, reterr);
	if (r < 0)
		return r;

	b->kv = n_kv ? crib_xcalloc(n_kv, sizeof(*b->kv)) : NULL;
	for (size_t i = 0; i < n_kv; i++)
		b->kv[i] = (struct crib_kv){
		    .key = crib_xstrdup(kv[i].key),
		    .value = crib_xstrdup(kv[i].value),
		    .file = crib_xstrdup(kv[i].file),
		    .line = kv[i].line,
		};
	b->n_kv = n_kv;

	b->images_root = crib_xasprintf("%s/images", state_dir);
	b->host = (struct crib_host){
	    .abi_major = CRIB_BACKEND_ABI_MAJOR,
	    .abi_minor = CRIB_BACKEND_ABI_MINOR,
	    .struct_size = sizeof(struct crib_host),
	    .backend_name = b->name,
	    .state_dir = b->state_dir,
	    .run_dir = b->run_dir,
	    .kv = b->kv,
	    .n_kv = b->n_kv,
	    .log = host_log,
	    .error_set = host_error_set,
	    .class_error = host_class_error,
	    .class_get = host_class_get,
	    .op_done = host_op_done,
	    .emit = host_emit,
	    .log_open = crib_crilog_open,
	    .log_write = crib_crilog_write,
	    .log_reopen = crib_crilog_reopen,
	    .log_close = crib_crilog_close,
	    .rootfs_prepare = host_rootfs_prepare,
	    .rootfs_release = host_rootfs_release,
	};
	return 0;
}
