/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The linux.seccomp object of a spec: crib's default profile, or a
 * Localhost profile from the node.
 */
#ifndef CRIB_OCI_SECCOMP_H
#define CRIB_OCI_SECCOMP_H

#include <stdint.h>

#include <jansson.h>

#include "cri-api-v1.pb-c.h"

struct crib_host;
struct crib_error;

/* Localhost profiles are read up to this size; larger ones are refused. */
#define OCI_SECCOMP_FILE_MAX (1024 * 1024)

/* Bit N of a capability mask stands for capability N (CAP_CHOWN is bit 0). */
#define OCI_CAP(n) (UINT64_C(1) << (n))

/*
 * The runtime's default profile for a process whose bounding set is CAPS:
 * an allowlist in the spirit of Docker's, which also allows the syscalls
 * those capabilities exist for.  *ret is a new reference; -ENOMEM.
 */
int oci_seccomp_default(uint64_t caps, json_t **ret);

/*
 * Reads a Localhost profile, an OCI LinuxSeccomp object, from the absolute
 * PATH.  Errors name FIELD (the CRI field PATH came from) and PATH.
 */
int oci_seccomp_load(const struct crib_host *host, const char *field, const char *path,
                     json_t **ret, struct crib_error **reterr);

/*
 * The profile of a pod or container: PROFILE (the SecurityProfile field) wins
 * over DEPRECATED_PATH (the old seccomp_profile_path string, "runtime/default",
 * "docker/default", "unconfined" or "localhost/<path>"); neither set means
 * unconfined, as CRI defines it.  FIELD is the security context's CRI name,
 * for messages.  *ret is NULL for unconfined, else a new reference.
 */
int oci_seccomp_select(const struct crib_host *host, const char *field,
                       const Runtime__V1__SecurityProfile *profile, const char *deprecated_path,
                       uint64_t caps, json_t **ret, struct crib_error **reterr);

#endif /* CRIB_OCI_SECCOMP_H */
