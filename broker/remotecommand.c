/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "remotecommand.h"
#include "util.h"

/* The longest resize message accepted: {"Width":65535,"Height":65535} with room to spare. */
#define SIZE_MSG_MAX 4096

const char *crib_rc_negotiate(const char *const *offered, size_t n)
{
	static const char *const served[] = {CRIB_RC_V4, CRIB_RC_V3, CRIB_RC_V2};

	for (size_t s = 0; s < ARRAY_SIZE(served); s++)
		for (size_t i = 0; i < n; i++)
			if (streq(offered[i], served[s]))
				return served[s];
	return NULL;
}

/* kubelet's words, which users of kubectl know. */
static char *failure_message(int exit_code, const char *message)
{
	if (message)
		return crib_xstrdup(message);
	return crib_xasprintf("command terminated with non-zero exit code: exit status %d",
	                      exit_code);
}

static json_t *v4_status(int exit_code, const char *message)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ char *code = NULL;

	if (!message && exit_code == 0)
		return json_pack("{s:{}, s:s}", "metadata", "status", "Success");
	text = failure_message(exit_code, message);
	if (message)
		return json_pack("{s:{}, s:s, s:s}", "metadata", "status", "Failure", "message",
		                 text);
	/* clients read the code from the ExitCode cause (client-go's errorDecoderV4). */
	code = crib_xasprintf("%d", exit_code);
	return json_pack("{s:{}, s:s, s:s, s:s, s:{s:[{s:s, s:s}]}}", "metadata", "status",
	                 "Failure", "message", text, "reason", "NonZeroExitCode", "details",
	                 "causes", "reason", "ExitCode", "message", code);
}

void crib_rc_status(const char *version, int exit_code, const char *message, char **ret,
                    size_t *ret_len)
{
	json_t *status;

	*ret = NULL;
	*ret_len = 0;
	if (!streq(version, CRIB_RC_V4)) {
		/* Before v4 the error stream carries a failure's text, and nothing on success. */
		if (message || exit_code != 0) {
			*ret = failure_message(exit_code, message);
			*ret_len = strlen(*ret);
		}
		return;
	}
	status = v4_status(exit_code, message);
	*ret = status ? json_dumps(status, JSON_COMPACT) : NULL;
	json_decref(status);
	if (!*ret)
		abort(); /* out of memory, as crib_x* allocators */
	*ret_len = strlen(*ret);
}

/* The end of the JSON object starting at BUF[0] == '{': its index, or -1 when not in BUF. */
static ssize_t object_end(const char *buf, size_t len)
{
	bool in_string = false, escaped = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{') {
			depth++;
		} else if (c == '}' && --depth == 0) {
			return (ssize_t)i;
		}
	}
	return -1;
}

static bool dimension(json_t *o, const char *key, uint16_t *ret)
{
	json_t *v = json_object_get(o, key);
	json_int_t n;

	if (!json_is_integer(v))
		return false;
	n = json_integer_value(v);
	if (n < 0 || n > UINT16_MAX)
		return false;
	*ret = (uint16_t)n;
	return true;
}

int crib_rc_parse_size(const char *buf, size_t len, struct crib_rc_size *ret)
{
	struct crib_rc_size size;
	size_t start = 0;
	ssize_t end;
	json_t *o;
	bool ok;

	/* json.Encoder ends each object with a newline. */
	while (start < len && buf[start] && strchr(" \t\r\n", buf[start]))
		start++;
	if (start > SIZE_MSG_MAX)
		return -EMSGSIZE;
	if (start == len)
		return 0;
	if (buf[start] != '{')
		return -EINVAL;
	end = object_end(buf + start, len - start);
	if (end < 0)
		return len - start > SIZE_MSG_MAX ? -EMSGSIZE : 0;
	if ((size_t)end >= SIZE_MSG_MAX)
		return -EMSGSIZE;
	o = json_loadb(buf + start, (size_t)end + 1, JSON_REJECT_DUPLICATES, NULL);
	ok = json_is_object(o) && dimension(o, "Width", &size.width) &&
	     dimension(o, "Height", &size.height);
	json_decref(o);
	if (!ok)
		return -EINVAL;
	*ret = size;
	return (int)(start + (size_t)end + 1);
}
