/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The libvirt backend's seccomp compiler (backends/libvirt/seccompbpf.c): OCI
 * profiles turned into BPF programs, which a forked child loads (as
 * crib-agent does in the VM) to show that they refuse what they say, and
 * nothing else; profiles libseccomp cannot express are refused by name.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <cmocka.h>

#include "backend_check.h"
#include "fake_host.h"
#include "seccomp_profile.h"
#include "seccompbpf.h"
#include "util.h"

static const struct crib_host host = FAKE_HOST_INIT("libvirt");

static json_t *profile(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);

	if (!o)
		fail_msg("bad test profile: %s", e.text);
	return o;
}

/* PROG loaded in a child under no_new_privs, which then runs CHECK: its exit status. */
static int in_child(const uint8_t *prog, size_t len, int (*check)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct sock_fprog fp = {.len = (unsigned short)(len / sizeof(struct sock_filter))};

		/* A UTS namespace of its own: a filter that let sethostname through must not rename
		 * the host. */
		if (unshare(CLONE_NEWUTS) < 0)
			_exit(102);
		fp.filter = malloc(len);
		if (!fp.filter)
			_exit(100);
		memcpy(fp.filter, prog, len);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
			_exit(101);
		_exit(check());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void compile(const char *text, uint8_t **prog, size_t *len)
{
	json_t *o = profile(text);
	struct crib_error *err = NULL;

	assert_int_equal(lv_seccomp_bpf(&host, o, prog, len, &err), 0);
	assert_null(err);
	assert_true(*len > 0 && *len % sizeof(struct sock_filter) == 0);
	json_decref(o);
}

/* dup2 onto 42 is refused with errno 77; onto 43, and uname, are not. */
static int dup2_checks(void)
{
	struct utsname u;

	if (dup2(0, 42) != -1 || errno != 77)
		return 1;
	if (dup2(0, 43) != 43)
		return 2;
	return uname(&u) == 0 ? 0 : 3;
}

/* TEXT compiles, and a child under it passes CHECK. */
static void expect(const char *text, int (*check)(void))
{
	uint8_t *prog = NULL;
	size_t len = 0;

	compile(text, &prog, &len);
	assert_int_equal(in_child(prog, len, check), 0);
	free(prog);
}

static void test_rule_with_an_argument(void **state)
{
	(void)state;
	expect("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"dup2\", "
	       "\"dup3\", \"no_such_syscall\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 77, "
	       "\"args\": [{\"index\": 1, \"value\": 42, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	       dup2_checks);
}

/* Two comparisons of one argument: either one refuses (runc's rule per comparison). */
static int either_checks(void)
{
	if (dup2(0, 42) != -1 || errno != 77)
		return 1;
	if (dup2(0, 44) != -1 || errno != 77)
		return 2;
	return dup2(0, 43) == 43 ? 0 : 3;
}

static void test_one_argument_twice(void **state)
{
	(void)state;
	expect("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"dup2\"], "
	       "\"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 77, \"args\": ["
	       "{\"index\": 1, \"value\": 42, \"op\": \"SCMP_CMP_EQ\"}, "
	       "{\"index\": 1, \"value\": 44, \"op\": \"SCMP_CMP_EQ\"}]}]}",
	       either_checks);
}

/* The default errno is EPERM; what the profile allows still works. */
static int default_checks(void)
{
	struct utsname u;

	if (sethostname("x", 1) != -1 || errno != EPERM)
		return 1;
	return uname(&u) == 0 && getpid() > 0 ? 0 : 2;
}

static void test_runtime_default_profile(void **state)
{
	json_t *o = NULL;
	struct crib_error *err = NULL;
	uint8_t *prog = NULL;
	size_t len = 0;

	(void)state;
	/* crib's RuntimeDefault profile, for a container without CAP_SYS_ADMIN. */
	assert_int_equal(oci_seccomp_default(0, &o), 0);
	assert_int_equal(lv_seccomp_bpf(&host, o, &prog, &len, &err), 0);
	assert_int_equal(in_child(prog, len, default_checks), 0);
	free(prog);
	json_decref(o);
}

static void test_refused_profiles(void **state)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
	    {"{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "defaultAction"},
	    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"dup2\"], "
	     "\"action\": \"SCMP_ACT_NOPE\"}]}",
	     "syscalls[0]"},
	    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"dup2\"], "
	     "\"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, "
	     "\"op\": \"SCMP_CMP_ALMOST\"}]}]}",
	     "syscalls[0]"},
	    {"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_NOPE\"]}",
	     "architectures[0] 'SCMP_ARCH_NOPE'"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *o = profile(cases[i].text);
		struct crib_error *err = NULL;
		uint8_t *prog = NULL;
		size_t len = 0;
		int r = lv_seccomp_bpf(&host, o, &prog, &len, &err);

		check_error(r, &err, EINVAL, cases[i].needle);
		assert_null(prog);
		json_decref(o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_with_an_argument),
	    cmocka_unit_test(test_one_argument_twice),
	    cmocka_unit_test(test_runtime_default_profile),
	    cmocka_unit_test(test_refused_profiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
