/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lxc flavor of the oci backend's code: the runtime is crib-lxc, so every
 * pod's infra container and every CRI container is an LXC container under the
 * class's lxcpath, started, attached to and stopped through liblxc.  A class
 * can make its CRI containers system containers (system = true: /sbin/init)
 * and give them a root filesystem of an LXC template's or an overlay of a
 * directory (template, rootfs) instead of the image's.
 * api/BACKENDS.md says why the lxc backend is built this way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classkeys.h"
#include "idmap.h"
#include "oci.h"
#include "util.h"

const char oci_flavor_name[] = "lxc";

/* NAME is LXC's template lxc-NAME, or the template script at an absolute path. */
static int check_template(struct oci_state *st, const struct crib_class *cls, const char *name,
                          struct crib_error **reterr)
{
	_cleanup_free_ char *path = NULL;

	if (isempty(name) || (strchr(name, '/') && name[0] != '/'))
		return st->host->class_error(cls, "template", reterr, EINVAL,
		                             "template '%s' is neither a name nor an absolute path",
		                             name);
	path = name[0] == '/' ? crib_xstrdup(name)
	                      : crib_xasprintf("%s/lxc-%s", CRIB_LXC_TEMPLATE_DIR, name);
	if (access(path, X_OK) < 0)
		return st->host->class_error(cls, "template", reterr, errno,
		                             "template '%s': no LXC template at %s (%s)", name,
		                             path, strerror(errno));
	return 0;
}

static int check_rootfs(struct oci_state *st, const struct crib_class *cls, const char *dir,
                        struct crib_error **reterr)
{
	struct stat sb;

	if (dir[0] != '/')
		return st->host->class_error(cls, "rootfs", reterr, EINVAL,
		                             "rootfs '%s' is not an absolute path", dir);
	if (stat(dir, &sb) < 0)
		return st->host->class_error(cls, "rootfs", reterr, errno, "rootfs '%s': %s", dir,
		                             strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return st->host->class_error(cls, "rootfs", reterr, ENOTDIR,
		                             "rootfs '%s' is not a directory", dir);
	return 0;
}

static int check_bool(struct oci_state *st, const struct crib_class *cls, const char *key,
                      bool *ret, struct crib_error **reterr)
{
	const char *value = st->host->class_get(cls, key);

	*ret = value && streq(value, "true");
	if (value && !streq(value, "true") && !streq(value, "false"))
		return st->host->class_error(cls, key, reterr, EINVAL,
		                             "%s '%s' is not one of true, false", key, value);
	return 0;
}

/*
 * idmap = HOST:SIZE: the pod's user namespace maps ids 0..SIZE-1 to the host's
 * HOST..HOST+SIZE-1 (crib-lxc's idmap.h).  Only for OCI images: a template's
 * or a directory's files would need the same idmapping, which is not built.
 */
static int idmap_key(struct oci_state *st, const struct crib_class *cls, struct oci_class *c,
                     struct crib_error **reterr)
{
	const char *value = st->host->class_get(cls, "idmap");
	unsigned long host, size;

	if (!value)
		return 0;
	/* HOST 0 would map the container's root to the host's. */
	if (!crib_lxc_idmap_parse(value, &host, &size) || host == 0)
		return st->host->class_error(cls, "idmap", reterr, EINVAL,
		                             "idmap '%s' is not HOST:SIZE (host ids from HOST, "
		                             "HOST > 0, SIZE ids: 100000:65536)",
		                             value);
	if (st->host->class_get(cls, "template") || st->host->class_get(cls, "rootfs"))
		return st->host->class_error(cls, "idmap", reterr, ENOTSUP,
		                             "idmap works with OCI images only, not with a class's "
		                             "template or rootfs");
	crib_strv_add(&c->rt.global, &c->rt.n_global, "--idmap");
	crib_strv_add(&c->rt.global, &c->rt.n_global, value);
	return 0;
}

/* system, template, rootfs and attach become crib-lxc's global options of those names. */
static int system_keys(struct oci_state *st, const struct crib_class *cls, struct oci_class *c,
                       struct crib_error **reterr)
{
	const char *template = st->host->class_get(cls, "template");
	const char *rootfs = st->host->class_get(cls, "rootfs");
	bool sys, attach;
	int r;

	if ((r = check_bool(st, cls, "system", &sys, reterr)) < 0 ||
	    (r = check_bool(st, cls, "attach", &attach, reterr)) < 0)
		return r;
	/* The pod's container is then the system: it needs an init and a root filesystem. */
	if (attach && (!sys || (!template && !rootfs)))
		return st->host->class_error(cls, "attach", reterr, EINVAL,
		                             "attach = true needs system = true and a template or "
		                             "rootfs: the pod's container is the system");
	if (template && rootfs)
		return st->host->class_error(cls, "rootfs", reterr, EINVAL,
		                             "rootfs and template both name the root filesystem: "
		                             "keep one");
	if (template && (r = check_template(st, cls, template, reterr)) < 0)
		return r;
	if (rootfs && (r = check_rootfs(st, cls, rootfs, reterr)) < 0)
		return r;
	if (sys)
		crib_strv_add(&c->rt.global, &c->rt.n_global, "--system");
	if (attach)
		crib_strv_add(&c->rt.global, &c->rt.n_global, "--attach");
	if (template) {
		crib_strv_add(&c->rt.global, &c->rt.n_global, "--template");
		crib_strv_add(&c->rt.global, &c->rt.n_global, template);
	}
	if (rootfs) {
		crib_strv_add(&c->rt.global, &c->rt.n_global, "--rootfs");
		crib_strv_add(&c->rt.global, &c->rt.n_global, rootfs);
	}
	return 0;
}

int oci_flavor_class(struct oci_state *st, const struct crib_class *cls, struct oci_class *c,
                     struct crib_error **reterr)
{
	static const char *const known[] = {"lxcpath", "system", "template", "rootfs",
	                                    "attach",  "idmap",  NULL};
	const char *lxcpath = st->host->class_get(cls, "lxcpath");
	_cleanup_free_ char *default_path = NULL;
	int r;

	r = crib_class_check_keys(st->host, cls, "lxc", known, reterr);
	if (r < 0)
		return r;
	if (lxcpath && lxcpath[0] != '/')
		return st->host->class_error(cls, "lxcpath", reterr, EINVAL,
		                             "lxcpath '%s' is not an absolute path", lxcpath);
	/* Each class its own lxcpath: two classes never see each other's containers. */
	if (!lxcpath)
		lxcpath = default_path =
		    crib_xasprintf("%s/lxcpath/%s", st->host->run_dir, cls->name);
	c->rt.binary = oci_helper_path(st->host, "runtime", "crib-lxc");
	if (access(c->rt.binary, X_OK) < 0)
		return st->host->class_error(cls, NULL, reterr, errno, "%s: %s", c->rt.binary,
		                             strerror(errno));
	/* One LXC container per pod: the infra container holds the pod's namespaces. */
	c->infra = true;
	/* liblxc's monitor stays the init's parent and exits as it did (crib-lxc run). */
	c->rt.monitor_exit = true;
	crib_strv_add(&c->rt.global, &c->rt.n_global, "--root");
	crib_strv_add(&c->rt.global, &c->rt.n_global, lxcpath);
	r = system_keys(st, cls, c, reterr);
	return r < 0 ? r : idmap_key(st, cls, c, reterr);
}
