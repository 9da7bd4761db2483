/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lxc backend's seccomp translation (backends/lxc/lxcseccomp.c): OCI
 * linux.seccomp objects, crib's RuntimeDefault profile among them, written
 * as LXC policies and compared line by line with what LXC 5.0's parser reads.
 */
#include <errno.h>
#include <linux/capability.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "lxcseccomp.h"
#include "seccomp_profile.h"
#include "util.h"

/* containerd's default bounding set, as spec.c gives it to oci_seccomp_default(). */
#define DEFAULT_CAPS                                                                               \
	(OCI_CAP(CAP_CHOWN) | OCI_CAP(CAP_DAC_OVERRIDE) | OCI_CAP(CAP_FSETID) |                    \
	 OCI_CAP(CAP_FOWNER) | OCI_CAP(CAP_MKNOD) | OCI_CAP(CAP_NET_RAW) | OCI_CAP(CAP_SETGID) |   \
	 OCI_CAP(CAP_SETUID) | OCI_CAP(CAP_SETFCAP) | OCI_CAP(CAP_SETPCAP) |                       \
	 OCI_CAP(CAP_NET_BIND_SERVICE) | OCI_CAP(CAP_SYS_CHROOT) | OCI_CAP(CAP_KILL) |             \
	 OCI_CAP(CAP_AUDIT_WRITE))

/*
 * A rule line as LXC 5.0 parses it: name, action, then conditions
 * [index,value,op] or [index,value,SCMP_CMP_MASKED_EQ,mask].
 */
#define RULE_RE                                                                                    \
	"^[A-Za-z0-9_]+ (allow|kill|trap|errno [0-9]+)"                                            \
	"( \\[[0-5],[0-9]+,(SCMP_CMP_(NE|LT|LE|EQ|GE|GT)|SCMP_CMP_MASKED_EQ,[0-9]+)\\])*$"

/* Runs the translation on OBJ into a memory stream; *ret_text is the output either way. */
static int write_json(json_t *obj, char **ret_text, char **ret_err)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	f = open_memstream(&text, &len);
	assert_non_null(f);
	r = crib_lxc_seccomp_write(obj, f, ret_err);
	assert_int_equal(fclose(f), 0);
	*ret_text = text;
	return r;
}

/* JSON with ' for " (for readable C strings), parsed; fails the test if it is no JSON. */
static json_t *load(const char *json)
{
	_cleanup_free_ char *s = strdup(json);
	json_error_t jerr;
	json_t *obj;

	assert_non_null(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	obj = json_loads(s, 0, &jerr);
	if (!obj)
		fail_msg("Bad test JSON at %d:%d: %s: %s", jerr.line, jerr.column, jerr.text, s);
	return obj;
}

/* Fails the test unless JSON translates to exactly EXPECTED. */
static void check_policy(const char *json, const char *expected)
{
	_cleanup_free_ char *text = NULL;
	char *err = NULL;
	json_t *obj = load(json);
	int r;

	r = write_json(obj, &text, &err);
	json_decref(obj);
	if (r < 0)
		fail_msg("Translation failed (%d): %s", r, err ? err : "(no message)");
	assert_null(err);
	assert_string_equal(text, expected);
}

/* Fails the test unless JSON is refused with -EINVAL, a message containing each NEEDLE, and no
 * output. */
static void check_refused(const char *json, ...)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *err = NULL;
	json_t *obj = load(json);
	const char *needle;
	va_list ap;
	int r;

	r = write_json(obj, &text, &err);
	json_decref(obj);
	assert_int_equal(r, -EINVAL);
	assert_non_null(err);
	va_start(ap, json);
	while ((needle = va_arg(ap, const char *)))
		if (!strstr(err, needle))
			fail_msg("Message '%s' lacks '%s'", err, needle);
	va_end(ap);
	assert_string_equal(text, "");
}

#define REFUSED(json, ...) check_refused(json, __VA_ARGS__, NULL)

static size_t count_lines(const char *text, const char *line)
{
	size_t n = 0, len = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p += len)
		if (p == text || p[-1] == '\n')
			n++;
	return n;
}

/* The policy text of crib's RuntimeDefault profile for the bounding set CAPS. */
static char *runtime_default(uint64_t caps, json_t **ret_profile)
{
	char *text = NULL, *err = NULL;
	json_t *p = NULL;

	assert_int_equal(oci_seccomp_default(caps, &p), 0);
	assert_int_equal(write_json(p, &text, &err), 0);
	assert_null(err);
	*ret_profile = p;
	return text;
}

static void test_runtime_default(void **state)
{
	_cleanup_free_ char *text = NULL, *again = NULL, *copy = NULL;
	json_t *p, *p2, *rule, *names;
	size_t i, n_lines = 0, n_names = 0;
	char *line, *save = NULL;
	regex_t re;

	(void)state;
	text = runtime_default(DEFAULT_CAPS, &p);

	/* Allowlist: what no rule allows fails with EPERM, on every ABI LXC filters. */
	assert_true(strncmp(text, "2\nallowlist errno 1\n[all]\n", 26) == 0);
	assert_int_equal(count_lines(text, "read allow\n"), 1);
	assert_int_equal(count_lines(text, "execve allow\n"), 1);
	assert_int_equal(count_lines(text, "chroot allow\n"), 1); /* CAP_SYS_CHROOT is a default */
#if defined(__x86_64__)
	assert_int_equal(count_lines(text, "arch_prctl allow\n"), 1);
#endif
	/* Everything but AF_VSOCK. */
	assert_int_equal(count_lines(text, "socket "), 1);
	assert_int_equal(count_lines(text, "socket allow [0,40,SCMP_CMP_NE]\n"), 1);
	/* Five rules for one syscall: five lines, which libseccomp ORs. */
	assert_int_equal(count_lines(text, "personality "), 5);
	assert_int_equal(count_lines(text, "personality allow [0,0,SCMP_CMP_EQ]\n"), 1);
	assert_int_equal(count_lines(text, "personality allow [0,8,SCMP_CMP_EQ]\n"), 1);
	assert_int_equal(count_lines(text, "personality allow [0,131072,SCMP_CMP_EQ]\n"), 1);
	assert_int_equal(count_lines(text, "personality allow [0,131080,SCMP_CMP_EQ]\n"), 1);
	assert_int_equal(count_lines(text, "personality allow [0,4294967295,SCMP_CMP_EQ]\n"), 1);
	/* clone(2) without namespace flags: OCI's mask goes last, the datum 0 second. */
	assert_int_equal(count_lines(text, "clone "), 1);
	assert_int_equal(count_lines(text, "clone allow [0,0,SCMP_CMP_MASKED_EQ,2114060288]\n"), 1);
	assert_int_equal(count_lines(text, "clone3 errno 38\n"), 1);
	/* Without CAP_SYS_ADMIN: no rule, so the default EPERM. */
	assert_int_equal(count_lines(text, "mount "), 0);
	assert_int_equal(count_lines(text, "unshare "), 0);
	assert_int_equal(count_lines(text, "keyctl "), 0);

	/* One line per name of every rule (none repeats the default action), each as LXC reads it.
	 */
	json_array_foreach(json_object_get(p, "syscalls"), i, rule)
	{
		names = json_object_get(rule, "names");
		n_names += json_array_size(names);
	}
	assert_int_equal(regcomp(&re, RULE_RE, REG_EXTENDED | REG_NOSUB), 0);
	copy = strdup(text);
	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (++n_lines <= 3)
			continue;
		if (regexec(&re, line, 0, NULL, 0) != 0)
			fail_msg("Line '%s' is not an LXC rule", line);
	}
	regfree(&re);
	assert_int_equal(n_lines, 3 + n_names);
	assert_int_equal(text[strlen(text) - 1], '\n');

	/* Deterministic: the same profile gives the same bytes. */
	again = runtime_default(DEFAULT_CAPS, &p2);
	assert_string_equal(text, again);
	json_decref(p);
	json_decref(p2);
}

static void test_runtime_default_sys_admin(void **state)
{
	_cleanup_free_ char *text = NULL;
	json_t *p;

	(void)state;
	text = runtime_default(DEFAULT_CAPS | OCI_CAP(CAP_SYS_ADMIN) | OCI_CAP(CAP_SYSLOG), &p);
	assert_int_equal(count_lines(text, "mount allow\n"), 1);
	assert_int_equal(count_lines(text, "unshare allow\n"), 1);
	assert_int_equal(count_lines(text, "clone allow\n"), 1);
	assert_int_equal(count_lines(text, "clone "), 1);
	assert_int_equal(count_lines(text, "clone3 allow\n"), 1);
	/* Named by two rules (CAP_SYS_ADMIN's and CAP_SYSLOG's): both lines, as runc adds both. */
	assert_int_equal(count_lines(text, "syslog allow\n"), 2);
	json_decref(p);
}

static void test_errno(void **state)
{
	(void)state;
	/* errnoRet given, absent (EPERM, as runc), and 0 (skip the call, return 0). */
	check_policy("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ["
	             "{'names': ['mkdir', 'rmdir'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 13},"
	             "{'names': ['mknod'], 'action': 'SCMP_ACT_ERRNO'},"
	             "{'names': ['sync'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 0}]}",
	             "2\ndenylist allow\n[all]\n"
	             "mkdir errno 13\nrmdir errno 13\nmknod errno 1\nsync errno 0\n");
	/* defaultErrnoRet, and rules with the default action left out (libseccomp refuses them). */
	check_policy("{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 38, 'syscalls': ["
	             "{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},"
	             "{'names': ['kexec_load'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 38},"
	             "{'names': ['reboot'], 'action': 'SCMP_ACT_ERRNO'}]}",
	             "2\nallowlist errno 38\n[all]\nread allow\nreboot errno 1\n");
	check_policy("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': ["
	             "{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},"
	             "{'names': ['reboot'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 1}]}",
	             "2\nallowlist errno 1\n[all]\nread allow\n");
	/* No rules at all; null members count as absent. */
	check_policy("{'defaultAction': 'SCMP_ACT_ALLOW'}", "2\ndenylist allow\n[all]\n");
	check_policy("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': null, 'architectures': null, "
	             "'flags': null, 'defaultErrnoRet': null}",
	             "2\ndenylist allow\n[all]\n");
}

static void test_args(void **state)
{
	(void)state;
	check_policy(
	    "{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': ["
	    "{'names': ['a'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 1, "
	    "'op': 'SCMP_CMP_EQ'}]},"
	    "{'names': ['b'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 1, 'value': 2, "
	    "'valueTwo': 0, 'op': 'SCMP_CMP_NE'}]},"
	    "{'names': ['c'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 2, 'value': 3, "
	    "'op': 'SCMP_CMP_LT'}]},"
	    "{'names': ['d'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 3, 'value': 4, "
	    "'op': 'SCMP_CMP_LE'}]},"
	    "{'names': ['e'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 4, 'value': 5, "
	    "'op': 'SCMP_CMP_GT'}]},"
	    "{'names': ['f'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 5, 'value': 6, "
	    "'op': 'SCMP_CMP_GE'}]},"
	    /* (arg1 & 0xff00) == 0x100: LXC wants the datum second, the mask last. */
	    "{'names': ['g'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 1, 'value': 65280, "
	    "'valueTwo': 256, 'op': 'SCMP_CMP_MASKED_EQ'}]},"
	    /* Different arguments: one rule, the conditions ANDed. */
	    "{'names': ['h', 'i'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 22, 'args': ["
	    "{'index': 0, 'value': 7, 'op': 'SCMP_CMP_EQ'},"
	    "{'index': 2, 'value': 4096, 'valueTwo': 4096, 'op': 'SCMP_CMP_MASKED_EQ'}]},"
	    /* The same argument twice: a rule per condition, as runc and crun add them. */
	    "{'names': ['j'], 'action': 'SCMP_ACT_ALLOW', 'args': ["
	    "{'index': 0, 'value': 1, 'op': 'SCMP_CMP_GE'},"
	    "{'index': 0, 'value': 5, 'op': 'SCMP_CMP_LE'},"
	    "{'index': 1, 'value': 0, 'op': 'SCMP_CMP_EQ'}]},"
	    /* A uint64 above INT64_MAX, as spec.c's json_int_t cast stores it. */
	    "{'names': ['k'], 'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': -1, "
	    "'op': 'SCMP_CMP_NE'}]},"
	    "{'names': ['l'], 'action': 'SCMP_ACT_ALLOW', 'args': []}]}",
	    "2\nallowlist errno 1\n[all]\n"
	    "a allow [0,1,SCMP_CMP_EQ]\n"
	    "b allow [1,2,SCMP_CMP_NE]\n"
	    "c allow [2,3,SCMP_CMP_LT]\n"
	    "d allow [3,4,SCMP_CMP_LE]\n"
	    "e allow [4,5,SCMP_CMP_GT]\n"
	    "f allow [5,6,SCMP_CMP_GE]\n"
	    "g allow [1,256,SCMP_CMP_MASKED_EQ,65280]\n"
	    "h errno 22 [0,7,SCMP_CMP_EQ] [2,4096,SCMP_CMP_MASKED_EQ,4096]\n"
	    "i errno 22 [0,7,SCMP_CMP_EQ] [2,4096,SCMP_CMP_MASKED_EQ,4096]\n"
	    "j allow [0,1,SCMP_CMP_GE]\n"
	    "j allow [0,5,SCMP_CMP_LE]\n"
	    "j allow [1,0,SCMP_CMP_EQ]\n"
	    "k allow [0,18446744073709551615,SCMP_CMP_NE]\n"
	    "l allow\n");
}

static void test_kill_trap(void **state)
{
	(void)state;
	check_policy("{'defaultAction': 'SCMP_ACT_KILL', 'syscalls': ["
	             "{'names': ['read', 'write'], 'action': 'SCMP_ACT_ALLOW'},"
	             "{'names': ['ptrace'], 'action': 'SCMP_ACT_TRAP'},"
	             "{'names': ['kill'], 'action': 'SCMP_ACT_KILL_THREAD'}]}",
	             "2\nallowlist kill\n[all]\nread allow\nwrite allow\nptrace trap\n");
	check_policy("{'defaultAction': 'SCMP_ACT_KILL_THREAD', 'syscalls': ["
	             "{'names': ['uname'], 'action': 'SCMP_ACT_ERRNO', 'errnoRet': 1}]}",
	             "2\nallowlist kill\n[all]\nuname errno 1\n");
	check_policy("{'defaultAction': 'SCMP_ACT_TRAP', 'architectures': ['SCMP_ARCH_X86_64'],"
	             "'flags': ['SECCOMP_FILTER_FLAG_TSYNC'], 'syscalls': ["
	             "{'names': ['bpf'], 'action': 'SCMP_ACT_KILL'},"
	             "{'names': ['perf_event_open'], 'action': 'SCMP_ACT_KILL_THREAD'},"
	             "{'names': ['getpid'], 'action': 'SCMP_ACT_ALLOW'}]}",
	             "2\nallowlist trap\n[all]\nbpf kill\nperf_event_open kill\ngetpid allow\n");
	check_policy("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ["
	             "{'names': ['kexec_load'], 'action': 'SCMP_ACT_KILL'}]}",
	             "2\ndenylist allow\n[all]\nkexec_load kill\n");
}

static void test_unsupported(void **state)
{
	(void)state;
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': ["
	        "{'names': ['read'], 'action': 'SCMP_ACT_ALLOW'},"
	        "{'names': ['ptrace'], 'action': 'SCMP_ACT_KILL_PROCESS'}]}",
	        "linux.seccomp.syscalls[1].action", "SCMP_ACT_KILL_PROCESS");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': ["
	        "{'names': ['ptrace'], 'action': 'SCMP_ACT_LOG'}]}",
	        "linux.seccomp.syscalls[0].action", "SCMP_ACT_LOG");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': ["
	        "{'names': ['ptrace'], 'action': 'SCMP_ACT_TRACE', 'errnoRet': 1}]}",
	        "linux.seccomp.syscalls[0].action", "SCMP_ACT_TRACE");
	REFUSED("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': ["
	        "{'names': ['mount'], 'action': 'SCMP_ACT_NOTIFY'}]}",
	        "linux.seccomp.syscalls[0].action", "SCMP_ACT_NOTIFY");
	REFUSED("{'defaultAction': 'SCMP_ACT_LOG'}", "linux.seccomp.defaultAction", "SCMP_ACT_LOG");
	REFUSED("{'defaultAction': 'SCMP_ACT_KILL_PROCESS'}", "linux.seccomp.defaultAction",
	        "SCMP_ACT_KILL_PROCESS");
	REFUSED("{'defaultAction': 'SCMP_ACT_ALLOW', 'listenerPath': '/run/l.sock'}",
	        "linux.seccomp.listenerPath");
	REFUSED("{'defaultAction': 'SCMP_ACT_ALLOW', 'flags': ['SECCOMP_FILTER_FLAG_TSYNC', "
	        "'SECCOMP_FILTER_FLAG_LOG']}",
	        "linux.seccomp.flags[1]", "SECCOMP_FILTER_FLAG_LOG");
	REFUSED("{'defaultAction': 'SCMP_ACT_ALLOW', 'flags': ['SECCOMP_FILTER_FLAG_SPEC_ALLOW']}",
	        "linux.seccomp.flags[0]", "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
}

static void test_malformed(void **state)
{
	(void)state;
	REFUSED("[]", "linux.seccomp:");
	REFUSED("{'syscalls': []}", "linux.seccomp.defaultAction");
	REFUSED("{'defaultAction': 'SCMP_ACT_DENY'}", "linux.seccomp.defaultAction",
	        "SCMP_ACT_DENY");
	REFUSED("{'defaultAction': 'SCMP_ACT_ALLOW', 'defaultErrnoRet': 1}",
	        "linux.seccomp.defaultErrnoRet");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': -1}",
	        "linux.seccomp.defaultErrnoRet");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': '1'}",
	        "linux.seccomp.defaultErrnoRet");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': {'names': ['read']}}",
	        "linux.seccomp.syscalls:", "not an array");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': ['read']}",
	        "linux.seccomp.syscalls[0]:");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'action': 'SCMP_ACT_ALLOW'}]}",
	        "linux.seccomp.syscalls[0].names");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': [], "
	        "'action': 'SCMP_ACT_ALLOW'}]}",
	        "linux.seccomp.syscalls[0].names");
	/* Names that would read as something else in LXC's text. */
	REFUSED(
	    "{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read', 'write kill'], "
	    "'action': 'SCMP_ACT_ALLOW'}]}",
	    "linux.seccomp.syscalls[0].names[1]");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read\\n[x86]'], "
	        "'action': 'SCMP_ACT_ALLOW'}]}",
	        "linux.seccomp.syscalls[0].names[0]");
	REFUSED(
	    "{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['reject_force_umount'], "
	    "'action': 'SCMP_ACT_ALLOW'}]}",
	    "linux.seccomp.syscalls[0].names[0]");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': [''], "
	        "'action': 'SCMP_ACT_ALLOW'}]}",
	        "linux.seccomp.syscalls[0].names[0]");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read']}]}",
	        "linux.seccomp.syscalls[0].action");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'errnoRet': 1}]}",
	        "linux.seccomp.syscalls[0].errnoRet");
	REFUSED("{'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ERRNO', 'errnoRet': 65536}]}",
	        "linux.seccomp.syscalls[0].errnoRet");
	/* Arguments. */
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'args': {'index': 0}}]}",
	        "linux.seccomp.syscalls[0].args:");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'args': [7]}]}",
	        "linux.seccomp.syscalls[0].args[0]:");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'args': [{'index': '0', 'value': 1, "
	        "'op': 'SCMP_CMP_EQ'}]}]}",
	        "linux.seccomp.syscalls[0].args[0].index");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 1.0, 'value': 1, "
	        "'op': 'SCMP_CMP_EQ'}]}]}",
	        "linux.seccomp.syscalls[0].args[0].index");
	REFUSED(
	    "{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	    "'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 1, 'op': 'SCMP_CMP_EQ'}, "
	    "{'index': 6, 'value': 1, 'op': 'SCMP_CMP_EQ'}]}]}",
	    "linux.seccomp.syscalls[0].args[1].index");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'args': [{'index': -1, 'value': 1, "
	        "'op': 'SCMP_CMP_EQ'}]}]}",
	        "linux.seccomp.syscalls[0].args[0].index");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'op': 'SCMP_CMP_EQ'}]}]}",
	        "linux.seccomp.syscalls[0].args[0].value");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 1, 'valueTwo': 'x', "
	        "'op': 'SCMP_CMP_MASKED_EQ'}]}]}",
	        "linux.seccomp.syscalls[0].args[0].valueTwo");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 1, 'op': '=='}]}]}",
	        "linux.seccomp.syscalls[0].args[0].op", "'=='");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'syscalls': [{'names': ['read'], "
	        "'action': 'SCMP_ACT_ALLOW', 'args': [{'index': 0, 'value': 1}]}]}",
	        "linux.seccomp.syscalls[0].args[0].op");
	/* Architectures are checked, though LXC cannot narrow its set (lxcseccomp.h). */
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'architectures': 'SCMP_ARCH_X86_64'}",
	        "linux.seccomp.architectures:");
	REFUSED("{'defaultAction': 'SCMP_ACT_ERRNO', 'architectures': ['SCMP_ARCH_X86_64', "
	        "'SCMP_ARCH_Z80']}",
	        "linux.seccomp.architectures[1]", "SCMP_ARCH_Z80");
	REFUSED("{'defaultAction': 'SCMP_ACT_ALLOW', 'flags': 'SECCOMP_FILTER_FLAG_TSYNC'}",
	        "linux.seccomp.flags:");
}

/* A NULL RET_ERR still gets the code; a failed write to OUT is an error with a message. */
static void test_error_reporting(void **state)
{
	_cleanup_free_ char *err = NULL;
	json_t *bad = load("{'defaultAction': 'SCMP_ACT_LOG'}");
	json_t *good = load("{'defaultAction': 'SCMP_ACT_ALLOW'}");
	FILE *ro;
	int r;

	(void)state;
	ro = fopen("/dev/null", "re");
	assert_non_null(ro);
	assert_int_equal(crib_lxc_seccomp_write(bad, ro, NULL), -EINVAL);
	r = crib_lxc_seccomp_write(good, ro, &err);
	assert_true(r < 0 && r != -EINVAL && r != -ENOMEM);
	assert_non_null(err);
	assert_non_null(strstr(err, "Failed to write"));
	fclose(ro);
	json_decref(bad);
	json_decref(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runtime_default),
	    cmocka_unit_test(test_runtime_default_sys_admin),
	    cmocka_unit_test(test_errno),
	    cmocka_unit_test(test_args),
	    cmocka_unit_test(test_kill_trap),
	    cmocka_unit_test(test_unsupported),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_error_reporting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
