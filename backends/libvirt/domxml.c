/* SPDX-License-Identifier: Apache-2.0 */
/* Domain XML; see domxml.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#include "domxml.h"
#include "util.h"

#define X(s) ((const xmlChar *)(s))

/*
 * A writer that remembers its first failure, so that a document is written
 * as a plain sequence of calls and checked once at the end (as sqlite's
 * StrAccum does).
 */
struct xw {
	xmlTextWriterPtr w;
	bool failed;
};

static void check(struct xw *x, int r)
{
	x->failed = x->failed || r < 0;
}

static void start(struct xw *x, const char *name)
{
	if (!x->failed)
		check(x, xmlTextWriterStartElement(x->w, X(name)));
}

static void end(struct xw *x)
{
	if (!x->failed)
		check(x, xmlTextWriterEndElement(x->w));
}

static void attr(struct xw *x, const char *name, const char *value)
{
	if (!x->failed)
		check(x, xmlTextWriterWriteAttribute(x->w, X(name), X(value)));
}

static void text(struct xw *x, const char *value)
{
	if (!x->failed)
		check(x, xmlTextWriterWriteString(x->w, X(value)));
}

/* <NAME>TEXT</NAME>, or <NAME/> when TEXT is NULL. */
static void elem(struct xw *x, const char *name, const char *value)
{
	start(x, name);
	if (value)
		text(x, value);
	end(x);
}

/* <NAME A="V"/>, a common shape in domain XML. */
static void elem_attr(struct xw *x, const char *name, const char *a, const char *v)
{
	start(x, name);
	attr(x, a, v);
	end(x);
}

static void metadata(struct xw *x, const struct crib_lv_domain *d)
{
	start(x, "metadata");
	if (!x->failed)
		check(x, xmlTextWriterStartElementNS(x->w, X(CRIB_LV_METADATA_PREFIX),
		                                     X(CRIB_LV_METADATA_NAME),
		                                     X(CRIB_LV_METADATA_NS)));
	attr(x, "id", d->pod_id);
	attr(x, "class", d->class_name);
	attr(x, "name", d->pod_name);
	attr(x, "namespace", d->pod_namespace);
	attr(x, "uid", d->pod_uid);
	end(x);
	end(x);
}

/* Direct kernel boot; q35 for PCIe virtio devices. */
static void os(struct xw *x, const struct crib_lv_domain *d)
{
	start(x, "os");
	start(x, "type");
	attr(x, "arch", "x86_64");
	attr(x, "machine", "q35");
	text(x, "hvm");
	end(x);
	if (d->firmware) {
		start(x, "loader");
		attr(x, "readonly", "yes");
		attr(x, "type", "rom");
		text(x, d->firmware);
		end(x);
	}
	elem(x, "kernel", d->kernel);
	elem(x, "initrd", d->initrd);
	elem(x, "cmdline", d->cmdline);
	end(x);
}

/*
 * QEMU runs as root, its files left as they are: the kernel and initrd are
 * shared by every pod, and libvirt's DAC relabelling would chown them to the
 * qemu user and back around each VM.  libvirt still drops QEMU's
 * capabilities (qemu.conf's clear_emulator_capabilities).
 */
static void seclabel(struct xw *x)
{
	start(x, "seclabel");
	attr(x, "type", "static");
	attr(x, "model", "dac");
	attr(x, "relabel", "no");
	elem(x, "label", "+0:+0");
	end(x);
}

/* The agent's port and the pod's share. */
static void pod_devices(struct xw *x, const struct crib_lv_domain *d)
{
	start(x, "channel");
	attr(x, "type", "unix");
	start(x, "source");
	attr(x, "mode", "bind");
	attr(x, "path", d->agent_socket);
	end(x);
	start(x, "target");
	attr(x, "type", "virtio");
	attr(x, "name", CRIB_LV_AGENT_PORT);
	end(x);
	end(x);
	/* The share: virtiofsd, which libvirt starts, serves it (Debian's kernel has no 9p). */
	start(x, "filesystem");
	attr(x, "type", "mount");
	attr(x, "accessmode", "passthrough");
	elem_attr(x, "driver", "type", "virtiofs");
	elem_attr(x, "source", "dir", d->share_dir);
	elem_attr(x, "target", "dir", CRIB_LV_SHARE_TAG);
	end(x);
}

/*
 * The pod's NIC: a tap made beforehand (managed='no': libvirt opens it and
 * leaves it), with the MAC of the pod's CNI interface (podnic.h).
 */
static void nic(struct xw *x, const struct crib_lv_domain *d)
{
	char mtu[16];

	snprintf(mtu, sizeof(mtu), "%u", d->nic_mtu);
	start(x, "interface");
	attr(x, "type", "ethernet");
	elem_attr(x, "mac", "address", d->nic_mac);
	start(x, "target");
	attr(x, "dev", d->nic_tap);
	attr(x, "managed", "no");
	end(x);
	elem_attr(x, "model", "type", "virtio");
	if (d->nic_mtu)
		elem_attr(x, "mtu", "size", mtu);
	end(x);
}

static void devices(struct xw *x, const struct crib_lv_domain *d)
{
	start(x, "devices");
	start(x, "serial");
	attr(x, "type", "file");
	elem_attr(x, "source", "path", d->console_log);
	end(x);
	/* The KVM boot probe (kvmprobe.h) has neither. */
	if (d->agent_socket)
		pod_devices(x, d);
	if (d->nic_tap)
		nic(x, d);
	/* No balloon: the guest's memory is the pod's limit plus overhead, fixed. */
	elem_attr(x, "memballoon", "model", "none");
	end(x);
}

static void domain(struct xw *x, const struct crib_lv_domain *d)
{
	char memory[32], vcpus[16];

	snprintf(memory, sizeof(memory), "%llu", (unsigned long long)d->memory_mib);
	snprintf(vcpus, sizeof(vcpus), "%u", d->vcpus);
	start(x, "domain");
	attr(x, "type", d->type);
	elem(x, "name", d->name);
	if (d->pod_id)
		metadata(x, d);
	start(x, "memory");
	attr(x, "unit", "MiB");
	text(x, memory);
	end(x);
	/* virtiofs maps the guest's memory into virtiofsd: it must be shared. */
	if (d->share_dir) {
		start(x, "memoryBacking");
		elem_attr(x, "source", "type", "memfd");
		elem_attr(x, "access", "mode", "shared");
		end(x);
	}
	elem(x, "vcpu", vcpus);
	os(x, d);
	/* ACPI: StopPodSandbox presses the power button, which crib-agent answers. */
	start(x, "features");
	elem(x, "acpi", NULL);
	end(x);
	if (strcmp(d->type, "kvm") == 0)
		elem_attr(x, "cpu", "mode", "host-passthrough");
	/* Any end of the guest ends the domain: a pod VM is never restarted in place. */
	elem(x, "on_poweroff", "destroy");
	elem(x, "on_reboot", "destroy");
	elem(x, "on_crash", "destroy");
	seclabel(x);
	devices(x, d);
	end(x);
}

int crib_lv_domain_xml(const struct crib_lv_domain *d, char **ret)
{
	xmlBufferPtr buf = xmlBufferCreate();
	struct xw x = {.w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL};

	x.failed = !x.w;
	if (!x.failed)
		check(&x, xmlTextWriterSetIndent(x.w, 1));
	if (!x.failed)
		check(&x, xmlTextWriterStartDocument(x.w, NULL, NULL, NULL));
	domain(&x, d);
	if (!x.failed)
		check(&x, xmlTextWriterEndDocument(x.w));
	if (x.w)
		xmlFreeTextWriter(x.w); /* flushes into buf */
	*ret = x.failed ? NULL : crib_xstrdup((const char *)xmlBufferContent(buf));
	if (buf)
		xmlBufferFree(buf);
	return *ret ? 0 : -ENOMEM;
}

static bool is_pod_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == CRIB_ID_LEN && s[n] == '\0';
}

int crib_lv_metadata_pod_id(const char *xml, char **ret)
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strnlen(xml, 1u << 20), "metadata.xml", NULL,
	                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
	xmlChar *id = NULL;
	int r = -EINVAL;

	*ret = NULL;
	/* libvirt hands the element back without its namespace: it was looked up by it. */
	if (root && (!root->ns || xmlStrEqual(root->ns->href, X(CRIB_LV_METADATA_NS))) &&
	    xmlStrEqual(root->name, X(CRIB_LV_METADATA_NAME)))
		id = xmlGetProp(root, X("id"));
	if (id && is_pod_id((const char *)id)) {
		*ret = crib_xstrdup((const char *)id);
		r = 0;
	}
	xmlFree(id);
	if (doc)
		xmlFreeDoc(doc);
	return r;
}
