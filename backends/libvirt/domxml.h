/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A pod's libvirt domain as XML (written with libxml2's text writer), and
 * crib's metadata read back from a domain.  The metadata element is how
 * reconcile knows a domain is crib's and whose pod it is.
 */
#ifndef CRIB_LIBVIRT_DOMXML_H
#define CRIB_LIBVIRT_DOMXML_H

#include <stdint.h>

/* crib's <metadata> child: <crib:pod id="..." class="..." .../> in this namespace. */
#define CRIB_LV_METADATA_NS     "urn:crib:libvirt:pod:1"
#define CRIB_LV_METADATA_PREFIX "crib"
#define CRIB_LV_METADATA_NAME   "pod"
/* The virtiofs tag of the pod's share, which crib-agent mounts. */
#define CRIB_LV_SHARE_TAG "crib"
/* The virtio-serial port crib-agent serves. */
#define CRIB_LV_AGENT_PORT "org.crib.agent.0"

struct crib_lv_domain {
	const char *name; /* the domain's: "crib-" and the pod id */
	const char *type; /* "kvm" or "qemu" */
	const char *pod_id;
	const char *class_name;
	const char *pod_name;
	const char *pod_namespace;
	const char *pod_uid;
	uint64_t memory_mib;
	unsigned vcpus;
	const char *firmware; /* a BIOS ROM in place of QEMU's default, or NULL */
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	/* The KVM boot probe's domain has no pod_id, agent_socket or share_dir. */
	const char *agent_socket; /* the port's host side, a unix socket QEMU listens on */
	const char *console_log;  /* the serial console, a file */
	const char *share_dir;    /* served to the guest by virtiofsd, tag CRIB_LV_SHARE_TAG */
	/* The pod's NIC (podnic.h), when its network namespace has one to take over. */
	const char *nic_tap; /* a tap that exists: libvirt opens it by this name */
	const char *nic_mac;
	unsigned nic_mtu; /* 0: the default */
};

/* D as a transient domain's XML; *ret (malloc'd) is the caller's.  -ENOMEM only. */
int crib_lv_domain_xml(const struct crib_lv_domain *d, char **ret);

/*
 * The pod id in crib's metadata element XML (what virDomainGetMetadata
 * returns for CRIB_LV_METADATA_NS: the element without its namespace, or
 * in it); *ret (malloc'd) is the caller's.
 * -EINVAL when XML is not such an element or its id is not 64 hex digits.
 */
int crib_lv_metadata_pod_id(const char *xml, char **ret);

#endif
