/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <libgen.h>
#include <sched.h>
#include <string.h>

#include "error.h"
#include "netns.h"
#include "nspin.h"
#include "util.h"

int crib_netns_create(const char *path, struct crib_error **reterr)
{
	_cleanup_free_ char *dir = crib_xstrdup(path);
	const struct crib_ns_pin pin = {CLONE_NEWNET, path};
	const char *step = NULL;
	int r;

	/* Private, as iproute2 makes /run/netns: see crib_ns_private_dir(). */
	r = crib_ns_private_dir(dirname(dir));
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to make '%s' a private mount point: %s",
		                      dir, strerror(-r));
	r = crib_ns_pin(&pin, 1, NULL, NULL, &step);
	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to %s at '%s': %s", step, path,
		                      strerror(-r));
	return 0;
}

int crib_netns_remove(const char *path, struct crib_error **reterr)
{
	int r = crib_ns_unpin(path);

	if (r < 0)
		return crib_error_set(reterr, -r, "Failed to remove network namespace '%s': %s",
		                      path, strerror(-r));
	return 0;
}

bool crib_netns_exists(const char *path)
{
	return crib_ns_pinned(path);
}
