/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The user a container's process runs as, resolved the way Docker and
 * containerd do it: names are looked up in the image's own /etc/passwd and
 * /etc/group, read from inside the container's root filesystem.
 */
#ifndef CRIB_OCI_USER_H
#define CRIB_OCI_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct crib_host;
struct crib_error;

/* The image's files are read up to this size; larger ones are refused. */
#define OCI_USER_FILE_MAX (1024 * 1024)

struct oci_user_request {
	/*
	 * "uid", "name", "uid:gid", "uid:group", "name:gid" or "name:group";
	 * NULL or "" is root.  A number is always an id, as in Docker.
	 */
	const char *user;
	const char *field; /* where USER came from, for messages */
	bool has_gid;      /* run_as_group: replaces the group USER names or implies */
	uint32_t gid;
	const uint32_t *supplemental_groups; /* appended as they are */
	size_t n_supplemental_groups;
	/* SupplementalGroupsPolicy Strict: no groups from the image's /etc/group. */
	bool strict;
};

struct oci_user {
	uint32_t uid;
	uint32_t gid;
	/* The primary gid first, then /etc/group memberships, then the supplemental groups. */
	uint32_t *additional_gids; /* malloc'd, no duplicates */
	size_t n_additional_gids;
};

/*
 * Resolves REQ in the root filesystem ROOTFS.  Symbolic links in the image
 * resolve inside ROOTFS, never on the host.  A name the image does not know
 * is -EINVAL naming REQ->field; a missing /etc/passwd or /etc/group counts as
 * empty, and so does a NULL ROOTFS (a root without them, like the infra
 * container's).  *ret is written only on success; release it with
 * oci_user_clear().
 */
int oci_user_resolve(const struct crib_host *host, const char *rootfs,
                     const struct oci_user_request *req, struct oci_user *ret,
                     struct crib_error **reterr);

void oci_user_clear(struct oci_user *u);

#endif /* CRIB_OCI_USER_H */
