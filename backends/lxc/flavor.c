/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lxc flavor of the oci backend's code: the runtime is crib-lxc, so every
 * pod's infra container and every CRI container is an LXC container under the
 * class's lxcpath, started, attached to and stopped through liblxc.
 * api/BACKENDS.md says why the lxc backend is built this way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"
#include "util.h"

const char oci_flavor_name[] = "lxc";

static int check_keys(struct oci_state *st, const struct crib_class *cls,
                      struct crib_error **reterr)
{
	for (size_t i = 0; i < cls->n_kv; i++) {
		const char *key = cls->kv[i].key;

		if (streq(key, "lxcpath"))
			continue;
		/* Named by the issue that brings them; refused until they work. */
		if (streq(key, "system") || streq(key, "template"))
			return st->host->class_error(
			    cls, key, reterr, ENOTSUP,
			    "'%s' (system containers) is not supported by this lxc backend yet",
			    key);
		return st->host->class_error(cls, key, reterr, EINVAL,
		                             "unknown key '%s' for backend lxc (known: lxcpath)",
		                             key);
	}
	return 0;
}

int oci_flavor_class(struct oci_state *st, const struct crib_class *cls, struct oci_class *c,
                     struct crib_error **reterr)
{
	const char *lxcpath = st->host->class_get(cls, "lxcpath");
	_cleanup_free_ char *default_path = NULL;
	int r;

	r = check_keys(st, cls, reterr);
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
	return 0;
}
