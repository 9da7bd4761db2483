/* SPDX-License-Identifier: Apache-2.0 */
/* OCI seccomp profiles as BPF programs; see seccompbpf.h. */
#include <errno.h>
#include <seccomp.h> /* libseccomp's (the oci backend's profiles are seccomp_profile.h) */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "seccompbpf.h"
#include "util.h"

#define MAX_ARGS 6

/* The libseccomp action for the OCI ACTION, ERRNO_RET its errno (EPERM when unset). */
static int action_of(const char *action, json_t *errno_ret, uint32_t *ret)
{
	uint16_t e = json_is_integer(errno_ret) ? (uint16_t)json_integer_value(errno_ret) : EPERM;

	if (!action)
		return -EINVAL;
	if (streq(action, "SCMP_ACT_ALLOW"))
		*ret = SCMP_ACT_ALLOW;
	else if (streq(action, "SCMP_ACT_ERRNO"))
		*ret = SCMP_ACT_ERRNO(e);
	else if (streq(action, "SCMP_ACT_KILL") || streq(action, "SCMP_ACT_KILL_THREAD"))
		*ret = SCMP_ACT_KILL_THREAD;
	else if (streq(action, "SCMP_ACT_KILL_PROCESS"))
		*ret = SCMP_ACT_KILL_PROCESS;
	else if (streq(action, "SCMP_ACT_TRAP"))
		*ret = SCMP_ACT_TRAP;
	else if (streq(action, "SCMP_ACT_TRACE"))
		*ret = SCMP_ACT_TRACE(e);
	else if (streq(action, "SCMP_ACT_LOG"))
		*ret = SCMP_ACT_LOG;
	else
		return -EINVAL; /* SCMP_ACT_NOTIFY too: nobody in the guest would listen */
	return 0;
}

static int compare_of(const char *op, enum scmp_compare *ret)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
	           {"SCMP_CMP_LT", SCMP_CMP_LT},
	           {"SCMP_CMP_LE", SCMP_CMP_LE},
	           {"SCMP_CMP_EQ", SCMP_CMP_EQ},
	           {"SCMP_CMP_GE", SCMP_CMP_GE},
	           {"SCMP_CMP_GT", SCMP_CMP_GT},
	           {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};

	for (size_t i = 0; op && i < ARRAY_SIZE(ops); i++)
		if (streq(op, ops[i].name)) {
			*ret = ops[i].op;
			return 0;
		}
	return -EINVAL;
}

/* The OCI ARGS as libseccomp comparisons, into CMP; how many, or -EINVAL. */
static int args_of(json_t *args, struct scmp_arg_cmp *cmp)
{
	size_t i;
	json_t *a;

	if (json_array_size(args) > MAX_ARGS)
		return -EINVAL;
	json_array_foreach(args, i, a)
	{
		enum scmp_compare op;

		if (compare_of(json_string_value(json_object_get(a, "op")), &op) < 0)
			return -EINVAL;
		cmp[i] = (struct scmp_arg_cmp){
		    .arg = (unsigned)json_integer_value(json_object_get(a, "index")),
		    .op = op,
		    .datum_a = (scmp_datum_t)json_integer_value(json_object_get(a, "value")),
		    .datum_b = (scmp_datum_t)json_integer_value(json_object_get(a, "valueTwo")),
		};
	}
	return (int)json_array_size(args);
}

/* Whether two of the N comparisons look at one argument. */
static bool repeats_an_arg(const struct scmp_arg_cmp *cmp, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (cmp[i].arg == cmp[j].arg)
				return true;
	return false;
}

/*
 * Syscall NR under ACT when CMP holds.  As runc: comparisons of one argument
 * twice cannot be ANDed by libseccomp, so each becomes a rule of its own.
 */
static int add_rule(scmp_filter_ctx ctx, uint32_t act, int nr, const struct scmp_arg_cmp *cmp,
                    int n)
{
	int r = 0;

	if (!repeats_an_arg(cmp, n))
		return seccomp_rule_add_array(ctx, act, nr, (unsigned)n, cmp);
	for (int i = 0; i < n && r == 0; i++)
		r = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[i]);
	return r;
}

/* One entry of the profile's "syscalls"; names libseccomp does not know are skipped, as runc does.
 */
static int add_syscalls(const struct crib_host *host, scmp_filter_ctx ctx, uint32_t def, json_t *e,
                        size_t k, struct crib_error **reterr)
{
	struct scmp_arg_cmp cmp[MAX_ARGS];
	uint32_t act;
	int n = args_of(json_object_get(e, "args"), cmp);
	size_t i;
	json_t *name;

	if (action_of(json_string_value(json_object_get(e, "action")),
	              json_object_get(e, "errnoRet"), &act) < 0 ||
	    n < 0)
		return host->error_set(reterr, EINVAL,
		                       "seccomp profile: syscalls[%zu]: an action or argument "
		                       "comparison that cannot run in a pod VM",
		                       k);
	/* libseccomp refuses rules that say what the default says. */
	if (act == def)
		return 0;
	json_array_foreach(json_object_get(e, "names"), i, name)
	{
		int nr = seccomp_syscall_resolve_name(json_string_value(name));
		int r;

		if (nr == __NR_SCMP_ERROR)
			continue;
		r = add_rule(ctx, act, nr, cmp, n);
		if (r < 0)
			return host->error_set(reterr, -r,
			                       "seccomp profile: syscalls[%zu] (%s): %s", k,
			                       json_string_value(name), strerror(-r));
	}
	return 0;
}

/* The profile's architectures beside the native one; unknown ones are refused. */
static int add_arches(const struct crib_host *host, scmp_filter_ctx ctx, json_t *arches,
                      struct crib_error **reterr)
{
	size_t i;
	json_t *a;

	json_array_foreach(arches, i, a)
	{
		const char *name = json_string_value(a);
		uint32_t arch = 0;
		int r;

		if (name && strncmp(name, "SCMP_ARCH_", 10) == 0) {
			_cleanup_free_ char *lower = crib_xstrdup(name + 10);

			for (char *c = lower; *c; c++)
				*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
			arch = seccomp_arch_resolve_name(lower);
		}
		if (!arch)
			return host->error_set(
			    reterr, EINVAL,
			    "seccomp profile: architectures[%zu] '%s' is not one "
			    "libseccomp knows",
			    i, name ? name : "");
		r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST)
			return host->error_set(reterr, -r, "seccomp profile: architecture %s: %s",
			                       name, strerror(-r));
	}
	return 0;
}

/* CTX's program, through a memfd. */
static int export(const struct crib_host *host, scmp_filter_ctx ctx, uint8_t **ret, size_t *ret_len,
                  struct crib_error **reterr)
{
	_cleanup_close_ int fd = memfd_create("crib-seccomp", MFD_CLOEXEC);
	off_t len;
	int r;

	if (fd < 0)
		return host->error_set(reterr, errno, "cannot make a memfd: %s", strerror(errno));
	r = seccomp_export_bpf(ctx, fd);
	len = r == 0 ? lseek(fd, 0, SEEK_END) : -1;
	if (r < 0 || len <= 0)
		return host->error_set(reterr, r < 0 ? -r : EIO,
		                       "cannot export the seccomp program: %s",
		                       strerror(r < 0 ? -r : EIO));
	*ret = crib_xmalloc((size_t)len);
	*ret_len = (size_t)len;
	if (pread(fd, *ret, (size_t)len, 0) != len) {
		free(*ret);
		*ret = NULL;
		return host->error_set(reterr, EIO, "cannot read the seccomp program back");
	}
	return 0;
}

int lv_seccomp_bpf(const struct crib_host *host, json_t *seccomp, uint8_t **ret, size_t *ret_len,
                   struct crib_error **reterr)
{
	uint32_t def;
	scmp_filter_ctx ctx;
	size_t k;
	json_t *e;
	int r;

	*ret = NULL;
	*ret_len = 0;
	if (action_of(json_string_value(json_object_get(seccomp, "defaultAction")),
	              json_object_get(seccomp, "defaultErrnoRet"), &def) < 0)
		return host->error_set(reterr, EINVAL,
		                       "seccomp profile: defaultAction cannot run in a pod VM");
	ctx = seccomp_init(def);
	if (!ctx)
		return host->error_set(reterr, ENOMEM, "seccomp_init failed");
	/* Exported, not loaded: cribd itself must stay free of it. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0
	        ? host->error_set(reterr, EINVAL, "libseccomp refuses its attributes")
	        : add_arches(host, ctx, json_object_get(seccomp, "architectures"), reterr);
	json_array_foreach(json_object_get(seccomp, "syscalls"), k, e)
	{
		if (r == 0)
			r = add_syscalls(host, ctx, def, e, k, reterr);
	}
	if (r == 0)
		r = export(host, ctx, ret, ret_len, reterr);
	seccomp_release(ctx);
	return r;
}
