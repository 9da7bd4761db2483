/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The oci flavor: a class names its OCI runtime binary, the runtime's state
 * directory and global arguments, and whether pods get an infra container.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classkeys.h"
#include "oci.h"
#include "util.h"

const char oci_flavor_name[] = "oci";

/* Splits a runtime_args value at blanks into the class's global arguments. */
static void add_words(struct oci_runtime *rt, const char *value)
{
	_cleanup_free_ char *copy = crib_xstrdup(value);
	char *save = NULL;

	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
		crib_strv_add(&rt->global, &rt->n_global, w);
}

int oci_flavor_class(struct oci_state *st, const struct crib_class *cls, struct oci_class *c,
                     struct crib_error **reterr)
{
	const char *binary = st->host->class_get(cls, "binary");
	const char *root = st->host->class_get(cls, "root");
	const char *extra = st->host->class_get(cls, "runtime_args");
	const char *sandbox = st->host->class_get(cls, "pod_sandbox");
	static const char *const known[] = {"binary", "root", "runtime_args", "pod_sandbox", NULL};
	_cleanup_free_ char *default_root = NULL;
	int r;

	r = crib_class_check_keys(st->host, cls, "oci", known, reterr);
	if (r < 0)
		return r;
	if (isempty(binary))
		return st->host->class_error(
		    cls, NULL, reterr, EINVAL,
		    "runtime class '%s' needs 'binary = PATH' (the OCI runtime)", cls->name);
	if (binary[0] != '/')
		return st->host->class_error(cls, "binary", reterr, EINVAL,
		                             "binary '%s' is not an absolute path", binary);
	if (access(binary, X_OK) < 0)
		return st->host->class_error(cls, "binary", reterr, errno, "binary '%s': %s",
		                             binary, strerror(errno));
	if (sandbox && !streq(sandbox, "namespaces") && !streq(sandbox, "container"))
		return st->host->class_error(cls, "pod_sandbox", reterr, EINVAL,
		                             "pod_sandbox '%s' is not namespaces or container",
		                             sandbox);
	if (root && root[0] != '/')
		return st->host->class_error(cls, "root", reterr, EINVAL,
		                             "root '%s' is not an absolute path", root);
	/* Each class its own runtime state: two classes on one binary never see each other's. */
	if (!root)
		root = default_root = crib_xasprintf("%s/roots/%s", st->host->run_dir, cls->name);
	c->rt.binary = crib_xstrdup(binary);
	c->infra = sandbox && streq(sandbox, "container");
	crib_strv_add(&c->rt.global, &c->rt.n_global, "--root");
	crib_strv_add(&c->rt.global, &c->rt.n_global, root);
	if (extra)
		add_words(&c->rt, extra);
	return 0;
}
