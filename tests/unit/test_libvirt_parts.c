/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libvirt backend's pure parts: the domain XML (backends/libvirt/domxml.c),
 * read back with libxml2 as libvirt would, crib's metadata element, and the
 * agent protocol's framing (agentframe.c), fed in the pieces a stream gives.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "agent.pb-c.h"
#include "agentframe.h"
#include "domxml.h"
#include "util.h"

#define POD_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct crib_lv_domain base = {
    .name = "crib-" POD_ID,
    .type = "qemu",
    .pod_id = POD_ID,
    .class_name = "vm",
    .pod_name = "web & <co>",
    .pod_namespace = "default",
    .pod_uid = "uid-1",
    .memory_mib = 320,
    .vcpus = 2,
    .kernel = "/boot/vmlinuz",
    .initrd = "/usr/lib/crib/backends/crib-agent.initrd",
    .cmdline = "console=ttyS0 quiet",
    .agent_socket = "/run/crib/backends/libvirt/pods/0123456789abcdef/agent.sock",
    .console_log = "/run/crib/backends/libvirt/pods/0123456789abcdef/console.log",
    .share_dir = "/run/crib/backends/libvirt/pods/0123456789abcdef/share",
};

/* The string value of XPATH in DOC ("" when it selects nothing). */
static char *xpath(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o;
	char *s;

	assert_non_null(ctx);
	xmlXPathRegisterNs(ctx, (const xmlChar *)"crib", (const xmlChar *)CRIB_LV_METADATA_NS);
	o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	assert_non_null(o);
	s = (char *)xmlXPathCastToString(o);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return s;
}

static void assert_xpath(xmlDocPtr doc, const char *expr, const char *want)
{
	char *got = xpath(doc, expr);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", expr, got, want);
	xmlFree(got);
}

static xmlDocPtr domain_doc(const struct crib_lv_domain *d)
{
	char *xml = NULL;
	xmlDocPtr doc;

	assert_int_equal(crib_lv_domain_xml(d, &xml), 0);
	doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL, XML_PARSE_NONET);
	assert_non_null(doc);
	free(xml);
	return doc;
}

static void test_domain_xml(void **state)
{
	xmlDocPtr doc = domain_doc(&base);

	(void)state;
	assert_xpath(doc, "/domain/@type", "qemu");
	assert_xpath(doc, "/domain/name", "crib-" POD_ID);
	assert_xpath(doc, "/domain/memory[@unit='MiB']", "320");
	assert_xpath(doc, "/domain/vcpu", "2");
	assert_xpath(doc, "/domain/os/type[@machine='q35']", "hvm");
	assert_xpath(doc, "/domain/os/kernel", "/boot/vmlinuz");
	assert_xpath(doc, "/domain/os/initrd", base.initrd);
	assert_xpath(doc, "/domain/os/cmdline", "console=ttyS0 quiet");
	assert_xpath(doc, "count(/domain/os/loader)", "0");
	assert_xpath(doc, "count(/domain/features/acpi)", "1");
	/* TCG: no host CPU to pass through. */
	assert_xpath(doc, "count(/domain/cpu)", "0");
	assert_xpath(doc, "/domain/on_reboot", "destroy");
	assert_xpath(doc, "/domain/seclabel[@model='dac']/label", "+0:+0");
	assert_xpath(doc, "/domain/devices/channel[@type='unix']/source[@mode='bind']/@path",
	             base.agent_socket);
	assert_xpath(doc, "/domain/devices/channel/target[@type='virtio']/@name",
	             CRIB_LV_AGENT_PORT);
	assert_xpath(doc, "/domain/devices/serial[@type='file']/source/@path", base.console_log);
	assert_xpath(doc, "/domain/devices/memballoon/@model", "none");
	/* The share: virtiofs, which needs the guest's memory shared. */
	assert_xpath(doc, "/domain/devices/filesystem[@type='mount']/driver/@type", "virtiofs");
	assert_xpath(doc, "/domain/devices/filesystem/source/@dir", base.share_dir);
	assert_xpath(doc, "/domain/devices/filesystem/target/@dir", CRIB_LV_SHARE_TAG);
	assert_xpath(doc, "/domain/memoryBacking/source/@type", "memfd");
	assert_xpath(doc, "/domain/memoryBacking/access/@mode", "shared");
	/* Metadata in crib's namespace; text that needs escaping survives the trip. */
	assert_xpath(doc, "/domain/metadata/crib:pod/@id", POD_ID);
	assert_xpath(doc, "/domain/metadata/crib:pod/@class", "vm");
	assert_xpath(doc, "/domain/metadata/crib:pod/@name", "web & <co>");
	assert_xpath(doc, "/domain/metadata/crib:pod/@uid", "uid-1");
	/* No CNI interface in the pod's namespace: no NIC. */
	assert_xpath(doc, "count(/domain/devices/interface)", "0");
	xmlFreeDoc(doc);
}

/* The pod's NIC: the tap crib made, which libvirt must leave alone, with eth0's MAC. */
static void test_domain_xml_nic(void **state)
{
	struct crib_lv_domain d = base;
	xmlDocPtr doc;

	(void)state;
	d.nic_tap = "crib0123456789a";
	d.nic_mac = "f2:46:c8:02:54:da";
	d.nic_mtu = 1400;
	doc = domain_doc(&d);
	assert_xpath(doc, "/domain/devices/interface[@type='ethernet']/target/@dev", d.nic_tap);
	assert_xpath(doc, "/domain/devices/interface/target/@managed", "no");
	assert_xpath(doc, "/domain/devices/interface/mac/@address", d.nic_mac);
	assert_xpath(doc, "/domain/devices/interface/model/@type", "virtio");
	assert_xpath(doc, "/domain/devices/interface/mtu/@size", "1400");
	d.nic_mtu = 0;
	xmlFreeDoc(doc);
	doc = domain_doc(&d);
	assert_xpath(doc, "count(/domain/devices/interface/mtu)", "0");
	xmlFreeDoc(doc);
}

/* KVM passes the host's CPU through; a firmware ROM replaces QEMU's BIOS. */
static void test_domain_xml_kvm(void **state)
{
	struct crib_lv_domain d = base;
	xmlDocPtr doc;

	(void)state;
	d.type = "kvm";
	d.firmware = "/usr/share/qemu/qboot.rom";
	doc = domain_doc(&d);
	assert_xpath(doc, "/domain/@type", "kvm");
	assert_xpath(doc, "/domain/os/loader[@type='rom'][@readonly='yes']", d.firmware);
	assert_xpath(doc, "/domain/cpu/@mode", "host-passthrough");
	xmlFreeDoc(doc);
}

/* The KVM boot probe's domain: a console and nothing of a pod. */
static void test_domain_xml_probe(void **state)
{
	struct crib_lv_domain d = base;
	xmlDocPtr doc;

	(void)state;
	d.type = "kvm";
	d.pod_id = NULL;
	d.agent_socket = NULL;
	d.share_dir = NULL;
	doc = domain_doc(&d);
	assert_xpath(doc, "count(/domain/metadata)", "0");
	assert_xpath(doc, "count(/domain/devices/channel)", "0");
	assert_xpath(doc, "count(/domain/devices/filesystem)", "0");
	assert_xpath(doc, "count(/domain/memoryBacking)", "0");
	assert_xpath(doc, "/domain/devices/serial[@type='file']/source/@path", base.console_log);
	assert_xpath(doc, "/domain/on_poweroff", "destroy");
	xmlFreeDoc(doc);
}

static void test_metadata_pod_id(void **state)
{
	char *id = NULL;

	(void)state;
	/* As virDomainGetMetadata returns it (libvirt 9.0 drops the namespace)... */
	assert_int_equal(crib_lv_metadata_pod_id("<pod id=\"" POD_ID "\" class=\"vm\"/>", &id), 0);
	assert_string_equal(id, POD_ID);
	free(id);
	/* ... and as written. */
	assert_int_equal(crib_lv_metadata_pod_id("<crib:pod xmlns:crib=\"" CRIB_LV_METADATA_NS
	                                         "\" id=\"" POD_ID "\" class=\"vm\"/>",
	                                         &id),
	                 0);
	assert_string_equal(id, POD_ID);
	free(id);
	/* Another namespace, another element, a bad id, not XML at all. */
	assert_int_equal(
	    crib_lv_metadata_pod_id("<crib:pod xmlns:crib=\"urn:other\" id=\"" POD_ID "\"/>", &id),
	    -EINVAL);
	assert_null(id);
	assert_int_equal(crib_lv_metadata_pod_id("<crib:vm xmlns:crib=\"" CRIB_LV_METADATA_NS
	                                         "\" id=\"" POD_ID "\"/>",
	                                         &id),
	                 -EINVAL);
	assert_int_equal(crib_lv_metadata_pod_id("<crib:pod xmlns:crib=\"" CRIB_LV_METADATA_NS
	                                         "\" id=\"../0123\"/>",
	                                         &id),
	                 -EINVAL);
	assert_int_equal(crib_lv_metadata_pod_id("<crib:pod xmlns:crib=\"" CRIB_LV_METADATA_NS
	                                         "\" id=\"" POD_ID "0\"/>",
	                                         &id),
	                 -EINVAL);
	assert_int_equal(crib_lv_metadata_pod_id("not xml", &id), -EINVAL);
	assert_int_equal(crib_lv_metadata_pod_id("", &id), -EINVAL);
}

/* A Hello answer with request id ID, packed, in a frame. */
static size_t hello_frame(uint64_t id, uint8_t *buf, size_t size)
{
	Crib__Agent__GuestMessage m = CRIB__AGENT__GUEST_MESSAGE__INIT;
	Crib__Agent__HelloReply h = CRIB__AGENT__HELLO_REPLY__INIT;
	int p[2];
	ssize_t n;

	h.agent_version = "9.9";
	h.started_boottime_ns = 1234;
	m.id = id;
	m.reply_case = CRIB__AGENT__GUEST_MESSAGE__REPLY_HELLO;
	m.hello = &h;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(crib_agent_frame_write(p[1], &m.base), 0);
	close(p[1]);
	n = read(p[0], buf, size);
	close(p[0]);
	assert_true(n > 4);
	return (size_t)n;
}

/* Feeds LEN bytes to B through a pipe, CHUNK bytes at a time, counting whole frames. */
static int feed(struct crib_agent_rbuf *b, const uint8_t *data, size_t len, size_t chunk,
                uint64_t *ids, int max)
{
	int n = 0;

	for (size_t off = 0; off < len; off += chunk) {
		size_t take = len - off < chunk ? len - off : chunk;
		const uint8_t *msg;
		size_t msg_len;
		int p[2], r;

		assert_int_equal(pipe(p), 0);
		assert_int_equal(write(p[1], data + off, take), (ssize_t)take);
		close(p[1]);
		assert_int_equal(crib_agent_rbuf_fill(b, p[0]), (int)take);
		close(p[0]);
		while ((r = crib_agent_rbuf_next(b, &msg, &msg_len)) > 0) {
			Crib__Agent__GuestMessage *m =
			    crib__agent__guest_message__unpack(NULL, msg_len, msg);

			assert_non_null(m);
			assert_true(n < max);
			ids[n++] = m->id;
			assert_int_equal(m->hello->started_boottime_ns, 1234);
			crib__agent__guest_message__free_unpacked(m, NULL);
		}
		assert_int_equal(r, 0);
	}
	return n;
}

static void test_frames_across_reads(void **state)
{
	uint8_t stream[512];
	size_t len = 0;
	uint64_t ids[3];

	(void)state;
	for (uint64_t id = 1; id <= 3; id++)
		len += hello_frame(id, stream + len, sizeof(stream) - len);
	/* Byte by byte, then all three frames in one read. */
	for (size_t chunk = 1; chunk <= len; chunk += len - 1) {
		struct crib_agent_rbuf b = {0};

		assert_int_equal(feed(&b, stream, len, chunk, ids, 3), 3);
		assert_int_equal(ids[0], 1);
		assert_int_equal(ids[2], 3);
		assert_int_equal(b.len, 0);
		crib_agent_rbuf_free(&b);
	}
}

static void test_oversized_frame_is_refused(void **state)
{
	struct crib_agent_rbuf b = {0};
	const uint8_t *msg;
	size_t msg_len;
	uint32_t big = CRIB_AGENT_FRAME_MAX + 1;
	uint8_t head[4] = {(uint8_t)(big >> 24), (uint8_t)(big >> 16), (uint8_t)(big >> 8),
	                   (uint8_t)big};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], head, 4), 4);
	close(p[1]);
	assert_int_equal(crib_agent_rbuf_fill(&b, p[0]), 4);
	/* EOF: fill says 0, and nothing more is a frame. */
	assert_int_equal(crib_agent_rbuf_fill(&b, p[0]), 0);
	close(p[0]);
	assert_int_equal(crib_agent_rbuf_next(&b, &msg, &msg_len), -EPROTO);
	crib_agent_rbuf_reset(&b);
	assert_int_equal(crib_agent_rbuf_next(&b, &msg, &msg_len), 0);
	crib_agent_rbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_domain_xml),
	    cmocka_unit_test(test_domain_xml_kvm),
	    cmocka_unit_test(test_domain_xml_nic),
	    cmocka_unit_test(test_domain_xml_probe),
	    cmocka_unit_test(test_metadata_pod_id),
	    cmocka_unit_test(test_frames_across_reads),
	    cmocka_unit_test(test_oversized_frame_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
