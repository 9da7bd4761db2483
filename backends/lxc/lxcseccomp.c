/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An OCI linux.seccomp object written as an LXC version 2 seccomp policy.
 * The grammar is what liblxc 5.0's parser (src/lxc/seccomp.c) accepts:
 *
 *     2
 *     allowlist errno 1                          list type, default action
 *     [all]
 *     read allow                                 one line per syscall name
 *     socket allow [0,40,SCMP_CMP_NE]            argument conditions, ANDed
 *     clone allow [0,0,SCMP_CMP_MASKED_EQ,2114060288]
 *
 * Every line carries its action: LXC would otherwise apply the list type's
 * default (allow for an allowlist, kill for a denylist), and it cannot parse
 * conditions that follow a syscall name directly.  The list type then only
 * picks defaults we never rely on.
 *
 * The one section is [all].  LXC 5.0 adds each rule to the filter of every
 * ABI it sets up for the host (x86_64, i386 and x32 on x86_64; arm and arm64
 * on arm64) whichever section the rule is in, and skips the rules of a
 * section for another host; [all] is also the only section that works on a
 * host LXC does not recognise (riscv64), where rules before any section are
 * skipped.  The OCI architectures list is therefore checked but cannot narrow
 * anything (see lxcseccomp.h).
 *
 * LXC builds its filter with libseccomp like runc and crun, so the cases where
 * those two bend the spec to fit libseccomp are bent the same way here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lxcseccomp.h"
#include "util.h"

/* Seccomp passes six syscall arguments; a condition names one of them. */
#define SYSCALL_ARGS 6

/* SECCOMP_RET_DATA: the errno of an errno action is 16 bits wide. */
#define ERRNO_RET_MAX 0xffff

enum lxc_action_kind {
	LXC_ACT_NONE, /* no LXC equivalent */
	LXC_ACT_ALLOW,
	LXC_ACT_ERRNO,
	LXC_ACT_KILL,
	LXC_ACT_TRAP,
};

struct lxc_action {
	enum lxc_action_kind kind;
	int errno_ret; /* LXC_ACT_ERRNO only */
};

static const struct {
	const char *oci;
	enum lxc_action_kind kind;
	const char *why_not; /* for LXC_ACT_NONE */
} actions[] = {
    {"SCMP_ACT_ALLOW", LXC_ACT_ALLOW, NULL},
    {"SCMP_ACT_ERRNO", LXC_ACT_ERRNO, NULL},
    /* Both are libseccomp's SCMP_ACT_KILL_THREAD, which LXC's "kill" is. */
    {"SCMP_ACT_KILL", LXC_ACT_KILL, NULL},
    {"SCMP_ACT_KILL_THREAD", LXC_ACT_KILL, NULL},
    {"SCMP_ACT_TRAP", LXC_ACT_TRAP, NULL},
    {"SCMP_ACT_KILL_PROCESS", LXC_ACT_NONE, "LXC's kill action ends only the calling thread"},
    {"SCMP_ACT_TRACE", LXC_ACT_NONE, "LXC has no trace action"},
    {"SCMP_ACT_LOG", LXC_ACT_NONE, "LXC has no log action"},
    {"SCMP_ACT_NOTIFY", LXC_ACT_NONE,
     "LXC hands notifications only to its own lxc.seccomp.notify.proxy, not to an OCI "
     "listener"},
};

/* The operators of the OCI spec, which LXC spells the same way. */
static const char *const operators[] = {
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",        "SCMP_CMP_EQ",
    "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
};

/* The architectures of the OCI spec (config-linux.md), libseccomp's names. */
static const char *const architectures[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_PARISC",  "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",     "SCMP_ARCH_LOONGARCH64",
    "SCMP_ARCH_M68K",    "SCMP_ARCH_SH",       "SCMP_ARCH_SHEB",
};

struct rule_arg {
	unsigned index;
	uint64_t value;
	uint64_t value_two;
	const char *op; /* borrowed from the JSON */
};

__attribute__((format(printf, 2, 3))) static int fail(char **ret_err, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (ret_err)
		*ret_err = msg;
	else
		free(msg);
	return -EINVAL;
}

static bool strv_contains(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Optional members: JSON null counts as absent, as it does for runc's Go decoder. */
static json_t *get_optional(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

/*
 * jansson holds integers as int64_t.  spec.c stores a uint64_t argument value
 * as json_int_t, so one above INT64_MAX arrives negative and is read back as
 * the same 64 bits.
 */
static bool get_u64(json_t *v, uint64_t *ret)
{
	if (!json_is_integer(v))
		return false;
	*ret = (uint64_t)json_integer_value(v);
	return true;
}

/*
 * Syscall names are made of letters, digits and '_'; anything else could end
 * the name early or start a section, a comment or a condition in LXC's text.
 * reject_force_umount is a word of LXC's own, not a syscall.
 */
static bool syscall_name_valid(const char *s)
{
	const char *p;

	if (!*s || strncmp(s, "reject_force_umount", strlen("reject_force_umount")) == 0)
		return false;
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/*
 * Reads OBJ's ACTION_KEY and ERRNO_KEY (the errno of SCMP_ACT_ERRNO, EPERM
 * when absent, as runc and crun have it).  WHERE names OBJ in messages.
 */
static int parse_action(json_t *obj, const char *action_key, const char *errno_key,
                        const char *where, struct lxc_action *ret, char **ret_err)
{
	json_t *errno_ret = get_optional(obj, errno_key);
	const char *name = json_string_value(json_object_get(obj, action_key));
	size_t i;

	if (!name)
		return fail(ret_err, "%s.%s: missing or not a string", where, action_key);
	for (i = 0; i < ARRAY_SIZE(actions); i++)
		if (strcmp(actions[i].oci, name) == 0)
			break;
	if (i == ARRAY_SIZE(actions))
		return fail(ret_err, "%s.%s: unknown action '%s'", where, action_key, name);
	if (actions[i].kind == LXC_ACT_NONE)
		return fail(ret_err, "%s.%s: '%s' cannot be expressed in an LXC seccomp policy: %s",
		            where, action_key, name, actions[i].why_not);
	if (errno_ret && actions[i].kind != LXC_ACT_ERRNO)
		return fail(ret_err, "%s.%s: set, but the action is '%s', not SCMP_ACT_ERRNO",
		            where, errno_key, name);
	if (errno_ret && (!json_is_integer(errno_ret) || json_integer_value(errno_ret) < 0 ||
	                  json_integer_value(errno_ret) > ERRNO_RET_MAX))
		return fail(ret_err, "%s.%s: not an integer from 0 to %d", where, errno_key,
		            ERRNO_RET_MAX);

	ret->kind = actions[i].kind;
	ret->errno_ret = errno_ret ? (int)json_integer_value(errno_ret) : EPERM;
	return 0;
}

static bool action_equal(const struct lxc_action *a, const struct lxc_action *b)
{
	return a->kind == b->kind && (a->kind != LXC_ACT_ERRNO || a->errno_ret == b->errno_ret);
}

static void put_action(FILE *f, const struct lxc_action *a)
{
	switch (a->kind) {
	case LXC_ACT_ALLOW:
		fputs("allow", f);
		break;
	case LXC_ACT_ERRNO:
		fprintf(f, "errno %d", a->errno_ret);
		break;
	case LXC_ACT_KILL:
		fputs("kill", f);
		break;
	case LXC_ACT_TRAP:
		fputs("trap", f);
		break;
	case LXC_ACT_NONE:
		break;
	}
}

static int check_architectures(json_t *seccomp, char **ret_err)
{
	json_t *arches = get_optional(seccomp, "architectures"), *arch;
	size_t i;

	if (!arches)
		return 0;
	if (!json_is_array(arches))
		return fail(ret_err, "linux.seccomp.architectures: not an array");
	json_array_foreach(arches, i, arch)
	{
		const char *name = json_string_value(arch);

		if (!name)
			return fail(ret_err, "linux.seccomp.architectures[%zu]: not a string", i);
		if (!strv_contains(architectures, ARRAY_SIZE(architectures), name))
			return fail(ret_err,
			            "linux.seccomp.architectures[%zu]: unknown architecture '%s'",
			            i, name);
	}
	return 0;
}

static int check_flags(json_t *seccomp, char **ret_err)
{
	json_t *flags = get_optional(seccomp, "flags"), *flag, *listener;
	size_t i;

	if (flags && !json_is_array(flags))
		return fail(ret_err, "linux.seccomp.flags: not an array");
	json_array_foreach(flags, i, flag)
	{
		const char *name = json_string_value(flag);

		if (!name)
			return fail(ret_err, "linux.seccomp.flags[%zu]: not a string", i);
		/*
		 * LXC loads the filter in the container's init or attached
		 * process before it execs, while that process has one thread, so
		 * synchronising threads changes nothing.  The other flags change
		 * what the filter does and LXC sets none of them.
		 */
		if (strcmp(name, "SECCOMP_FILTER_FLAG_TSYNC") != 0)
			return fail(ret_err,
			            "linux.seccomp.flags[%zu]: '%s' cannot be expressed in an LXC "
			            "seccomp policy",
			            i, name);
	}
	listener = get_optional(seccomp, "listenerPath");
	if (listener && !(json_is_string(listener) && json_string_length(listener) == 0))
		return fail(ret_err,
		            "linux.seccomp.listenerPath: LXC cannot hand a seccomp listener to an "
		            "OCI listener socket");
	return 0;
}

/*
 * Reads syscalls[I].args into *RET_ARGS (malloc'd, the caller frees; NULL
 * when there are none).  *RET_SPLIT is true when two conditions test the
 * same argument: libseccomp refuses to AND those, so runc and crun add each
 * condition as a rule of its own, and so do we.
 */
static int parse_args(json_t *args, const char *where, struct rule_arg **ret_args, size_t *ret_n,
                      bool *ret_split, char **ret_err)
{
	_cleanup_free_ struct rule_arg *v = NULL;
	unsigned seen = 0;
	bool split = false;
	json_t *arg;
	size_t k;

	if (!args) {
		*ret_args = NULL;
		*ret_n = 0;
		*ret_split = false;
		return 0;
	}
	if (!json_is_array(args))
		return fail(ret_err, "%s.args: not an array", where);
	if (json_array_size(args) > 0) {
		v = calloc(json_array_size(args), sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	json_array_foreach(args, k, arg)
	{
		json_t *index = json_object_get(arg, "index"), *two = get_optional(arg, "valueTwo");
		const char *op = json_string_value(json_object_get(arg, "op"));

		if (!json_is_object(arg))
			return fail(ret_err, "%s.args[%zu]: not an object", where, k);
		if (!json_is_integer(index) || json_integer_value(index) < 0 ||
		    json_integer_value(index) >= SYSCALL_ARGS)
			return fail(ret_err, "%s.args[%zu].index: not an integer from 0 to %d",
			            where, k, SYSCALL_ARGS - 1);
		if (!get_u64(json_object_get(arg, "value"), &v[k].value))
			return fail(ret_err, "%s.args[%zu].value: missing or not an integer", where,
			            k);
		if (two && !get_u64(two, &v[k].value_two))
			return fail(ret_err, "%s.args[%zu].valueTwo: not an integer", where, k);
		if (!op)
			return fail(ret_err, "%s.args[%zu].op: missing or not a string", where, k);
		if (!strv_contains(operators, ARRAY_SIZE(operators), op))
			return fail(ret_err, "%s.args[%zu].op: unknown operator '%s'", where, k,
			            op);
		v[k].index = (unsigned)json_integer_value(index);
		v[k].op = op;
		if (seen & (1u << v[k].index))
			split = true;
		seen |= 1u << v[k].index;
	}
	*ret_args = TAKE_PTR(v);
	*ret_n = json_array_size(args);
	*ret_split = split;
	return 0;
}

static void put_rule(FILE *f, const char *name, const struct lxc_action *act,
                     const struct rule_arg *args, size_t n_args)
{
	fprintf(f, "%s ", name);
	put_action(f, act);
	for (size_t k = 0; k < n_args; k++) {
		const struct rule_arg *a = &args[k];

		/*
		 * OCI's MASKED_EQ is (arg & value) == valueTwo.  LXC reads
		 * [index,datum,op,mask] and hands libseccomp the mask first, as
		 * libseccomp wants it, so value goes last.
		 */
		if (strcmp(a->op, "SCMP_CMP_MASKED_EQ") == 0)
			fprintf(f, " [%u,%" PRIu64 ",%s,%" PRIu64 "]", a->index, a->value_two,
			        a->op, a->value);
		else
			fprintf(f, " [%u,%" PRIu64 ",%s]", a->index, a->value, a->op);
	}
	fputc('\n', f);
}

static int write_rule(FILE *f, json_t *rule, size_t i, const struct lxc_action *def, char **ret_err)
{
	_cleanup_free_ struct rule_arg *args = NULL;
	struct lxc_action act;
	json_t *names, *name;
	char where[64];
	size_t j, n_args = 0;
	bool split = false;
	int r;

	(void)snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu]", i);
	if (!json_is_object(rule))
		return fail(ret_err, "%s: not an object", where);
	names = json_object_get(rule, "names");
	if (!json_is_array(names) || json_array_size(names) == 0)
		return fail(ret_err, "%s.names: missing or not a non-empty array", where);
	json_array_foreach(names, j, name)
	{
		if (!json_is_string(name) || !syscall_name_valid(json_string_value(name)))
			return fail(ret_err, "%s.names[%zu]: not a syscall name", where, j);
	}
	r = parse_action(rule, "action", "errnoRet", where, &act, ret_err);
	if (r < 0)
		return r;
	r = parse_args(get_optional(rule, "args"), where, &args, &n_args, &split, ret_err);
	if (r < 0)
		return r;

	/*
	 * libseccomp refuses (EACCES) a rule with the default action, which
	 * would change nothing anyway; runc and crun skip such rules too.
	 */
	if (action_equal(&act, def))
		return 0;

	json_array_foreach(names, j, name)
	{
		if (!split)
			put_rule(f, json_string_value(name), &act, args, n_args);
		else
			for (size_t k = 0; k < n_args; k++)
				put_rule(f, json_string_value(name), &act, &args[k], 1);
	}
	return 0;
}

static int write_policy(json_t *seccomp, FILE *f, char **ret_err)
{
	json_t *syscalls, *rule;
	struct lxc_action def;
	size_t i;
	int r;

	if (!json_is_object(seccomp))
		return fail(ret_err, "linux.seccomp: not an object");
	r = parse_action(seccomp, "defaultAction", "defaultErrnoRet", "linux.seccomp", &def,
	                 ret_err);
	if (r < 0)
		return r;
	r = check_architectures(seccomp, ret_err);
	if (r < 0)
		return r;
	r = check_flags(seccomp, ret_err);
	if (r < 0)
		return r;
	syscalls = get_optional(seccomp, "syscalls");
	if (syscalls && !json_is_array(syscalls))
		return fail(ret_err, "linux.seccomp.syscalls: not an array");

	fprintf(f, "2\n%s ", def.kind == LXC_ACT_ALLOW ? "denylist" : "allowlist");
	put_action(f, &def);
	fputs("\n[all]\n", f);
	json_array_foreach(syscalls, i, rule)
	{
		r = write_rule(f, rule, i, &def, ret_err);
		if (r < 0)
			return r;
	}
	return 0;
}

int crib_lxc_seccomp_write(json_t *seccomp, FILE *out, char **ret_err)
{
	/* Declared before buf, so that buf is closed (and text final) before text is freed. */
	_cleanup_free_ char *text = NULL;
	_cleanup_(fclosep) FILE *buf = NULL;
	size_t len = 0;
	int r;

	buf = open_memstream(&text, &len);
	if (!buf)
		return -ENOMEM;
	r = write_policy(seccomp, buf, ret_err);
	if (r < 0)
		return r;
	/* A memory stream fails only for want of memory. */
	if (ferror(buf) || fclose(TAKE_PTR(buf)) != 0)
		return -ENOMEM;

	if (fwrite(text, 1, len, out) != len || fflush(out) != 0) {
		int e = errno > 0 ? errno : EIO;

		r = fail(ret_err, "Failed to write the LXC seccomp policy: %s", strerror(e));
		return r == -ENOMEM ? r : -e;
	}
	return 0;
}
