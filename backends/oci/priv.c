/* SPDX-License-Identifier: Apache-2.0 */
/* The priv blob cribd stores for us with every pod and container: a small JSON object. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "oci.h"
#include "util.h"

int oci_priv_parse(const struct crib_host *host, const void *blob, size_t len, struct oci_priv *ret,
                   struct crib_error **reterr)
{
	json_error_t jerr;
	json_t *o = blob ? json_loadb(blob, len, 0, &jerr) : NULL;
	json_int_t shim = 0, pid = 0, sig = 0;
	int in = 0, once = 0, tty = 0;
	const char *cg = NULL, *upper = NULL, *netns = NULL, *log = NULL;
	unsigned long long start;
	json_t *st;

	*ret = (struct oci_priv){0};
	if (!o)
		return host->error_set(reterr, EBADMSG,
		                       "the backend's record of the object is unreadable");
	st = json_object_get(o, "shim_start");
	json_unpack(o, "{s?I s?I s?s s?s s?I s?s s?s s?b s?b s?b}", "shim", &shim, "pid", &pid,
	            "cgroup", &cg, "upper", &upper, "stop_signal", &sig, "netns", &netns, "log",
	            &log, "stdin", &in, "stdin_once", &once, "tty", &tty);
	/* JSON numbers are doubles to many readers: the start time travels as a string. */
	start = json_is_string(st) ? strtoull(json_string_value(st), NULL, 10) : 0;
	*ret = (struct oci_priv){
	    .shim = (pid_t)shim,
	    .shim_start = start,
	    .pid = (pid_t)pid,
	    .cgroup = crib_xstrdup(cg),
	    .upper = crib_xstrdup(upper),
	    .stop_signal = (int)sig,
	    .netns = crib_xstrdup(netns),
	    .log_path = crib_xstrdup(log),
	    .stdin = in != 0,
	    .stdin_once = once != 0,
	    .tty = tty != 0,
	};
	json_decref(o);
	return 0;
}

void oci_priv_encode(const struct oci_priv *p, struct crib_blob *ret)
{
	char start[32];
	json_t *o;

	snprintf(start, sizeof(start), "%llu", p->shim_start);
	o = json_pack("{s:I s:s s:I}", "shim", (json_int_t)p->shim, "shim_start", start, "pid",
	              (json_int_t)p->pid);
	if (!o)
		abort();
	if (p->cgroup)
		json_object_set_new(o, "cgroup", json_string(p->cgroup));
	if (p->upper)
		json_object_set_new(o, "upper", json_string(p->upper));
	if (p->stop_signal)
		json_object_set_new(o, "stop_signal", json_integer(p->stop_signal));
	if (p->netns)
		json_object_set_new(o, "netns", json_string(p->netns));
	if (p->log_path)
		json_object_set_new(o, "log", json_string(p->log_path));
	/* Only when set: records from before these fields existed read as false. */
	if (p->stdin)
		json_object_set_new(o, "stdin", json_true());
	if (p->stdin_once)
		json_object_set_new(o, "stdin_once", json_true());
	if (p->tty)
		json_object_set_new(o, "tty", json_true());
	ret->data = json_dumps(o, JSON_COMPACT);
	if (!ret->data)
		abort();
	ret->len = strlen(ret->data);
	json_decref(o);
}

void oci_priv_clear(struct oci_priv *p)
{
	free(p->cgroup);
	free(p->upper);
	free(p->netns);
	free(p->log_path);
	*p = (struct oci_priv){0};
}
