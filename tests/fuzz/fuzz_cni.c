/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes what cribd reads from CNI: network configuration files (anyone with write access to
 * cni_conf_dir, and every installer of a network add-on, writes them) and what plugins print,
 * results and error results.  The first byte picks the reader: 0 a .conflist, 1 a .conf, 2 a
 * result, 3 an error result.  Besides not crashing or leaking: a configuration that loads is
 * one the runtime can run without checking again (a name, a version it speaks, plugins with
 * types that are file names); a result yields only valid addresses, an IPv4 one first when
 * there is any; an error's text is one bounded line; and a failure sets only the error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "cni.h"
#include "error.h"
#include "fuzz.h"
#include "util.h"

static void check_conf(const char *file, const char *text, size_t len)
{
	_cleanup_(crib_cni_conf_freep) struct crib_cni_conf *conf = NULL;
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	_cleanup_free_ char *prefix = crib_xasprintf("CNI configuration '%s': ", file);
	json_t *plugins;
	int r;

	r = crib_cni_conf_parse(file, text, len, &conf, &err);
	if (r < 0) {
		FUZZ_CHECK(!conf && err && err->errnum == -r);
		FUZZ_CHECK(strncmp(crib_error_msg(err), prefix, strlen(prefix)) == 0 ||
		           err->errnum == ENOMEM);
		return;
	}
	FUZZ_CHECK(r == 0 && conf && !err);
	FUZZ_CHECK(streq(conf->file, file) && !isempty(conf->name));
	FUZZ_CHECK(streq(conf->version, "0.3.0") || streq(conf->version, "0.3.1") ||
	           streq(conf->version, "0.4.0") || streq(conf->version, "1.0.0"));
	plugins = json_object_get(conf->list, "plugins");
	FUZZ_CHECK(json_array_size(plugins) > 0);
	for (size_t i = 0; i < json_array_size(plugins); i++) {
		const char *type =
		    json_string_value(json_object_get(json_array_get(plugins, i), "type"));

		FUZZ_CHECK(!isempty(type) && !strchr(type, '/') && !streq(type, ".."));
	}
}

static bool is_ipv4(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1;
}

static void check_result(const char *text, size_t len)
{
	_cleanup_(crib_error_freep) struct crib_error *err = NULL;
	unsigned char buf[sizeof(struct in6_addr)];
	bool any_v4 = false;
	char **ips = NULL;
	size_t n = 0;
	int r;

	r = crib_cni_result_ips(text, len, "eth0", &ips, &n, &err);
	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG && err && err->errnum == EBADMSG && !ips && n == 0);
		return;
	}
	FUZZ_CHECK(r == 0 && !err && (n == 0) == !ips);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(is_ipv4(ips[i]) || inet_pton(AF_INET6, ips[i], buf) == 1);
		FUZZ_CHECK(!crib_strv_contains(ips, i, ips[i]));
		any_v4 = any_v4 || is_ipv4(ips[i]);
	}
	FUZZ_CHECK(!any_v4 || is_ipv4(ips[0]));
	crib_strv_free(ips, n);
}

static void check_error_text(const char *text, size_t len)
{
	_cleanup_free_ char *msg = crib_cni_error_text(text, len);

	if (!msg)
		return;
	FUZZ_CHECK(strlen(msg) <= 1024);
	for (const char *p = msg; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		check_conf("fuzz.conflist", text, size - 1);
		break;
	case 1:
		check_conf("fuzz.conf", text, size - 1);
		break;
	case 2:
		check_result(text, size - 1);
		break;
	default:
		check_error_text(text, size - 1);
	}
	return 0;
}
