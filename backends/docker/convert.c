/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Engine's documents read into crib's terms: container state from an
 * inspect document, usage from a stats document, CRI's Image from an image
 * inspect, and the X-Registry-Auth header from a pull's credentials.  Pure
 * functions: no Engine calls, no host services, so the unit test feeds them
 * documents as the Engine writes them.
 *
 * Members the Engine leaves out (an older Engine, a cgroup layout that lacks
 * a counter) leave their crib field out too rather than reading as zero.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "docker.h"
#include "util.h"

/*
 * A memory limit above this is "none": cgroup v1 reports an unlimited
 * container as PAGE_COUNTER_MAX pages (0x7ffffffffffff000 on 64-bit).  The
 * cut-off containerd and cadvisor use, as the oci backend does.
 */
#define LIMIT_UNLIMITED (UINT64_C(1) << 62)

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* O's member KEY when it is a non-negative integer. */
static bool u64_of(const json_t *o, const char *key, uint64_t *ret)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*ret = (uint64_t)json_integer_value(v);
	return true;
}

/* ---- container state ---- */

/* Docker's State.Status as CRI's state; RUNNING covers every state with a live process. */
static uint32_t state_of(const char *status, bool running)
{
	if (streq(status, "running") || streq(status, "paused") || streq(status, "restarting"))
		return CRIB_CONTAINER_RUNNING;
	if (streq(status, "created"))
		return CRIB_CONTAINER_CREATED;
	if (streq(status, "exited") || streq(status, "dead"))
		return CRIB_CONTAINER_EXITED;
	/* "removing" says nothing of the process: the Running flag does. */
	if (streq(status, "removing"))
		return running ? CRIB_CONTAINER_RUNNING : CRIB_CONTAINER_EXITED;
	return CRIB_CONTAINER_UNKNOWN;
}

static char *status_info(const json_t *inspect, const json_t *state)
{
	const char *name = str_of(inspect, "Name");
	json_t *o;
	char *text;

	/* The Engine names containers with a leading '/', a relic of links. */
	if (name && name[0] == '/')
		name++;
	o = json_pack("{s:s? s:s? s:s? s:s? s:O? s:s?}", "id", str_of(inspect, "Id"), "name", name,
	              "image", str_of(json_object_get(inspect, "Config"), "Image"), "imageId",
	              str_of(inspect, "Image"), "pid", json_object_get(state, "Pid"), "status",
	              str_of(state, "Status"));
	if (!o)
		abort();
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		abort();
	return text;
}

/* Exit code and reason of a container whose process is gone. */
static void set_exited(const json_t *state, struct crib_container_status *ret)
{
	json_int_t code = json_integer_value(json_object_get(state, "ExitCode"));

	ret->exit_code = (int32_t)code;
	ret->finished_at = docker_parse_time(str_of(state, "FinishedAt"));
	/*
	 * The Engine stamps StartedAt once its runtime's start returns: a process
	 * that exits at once may have "finished" before that.  kubelet gets
	 * the start for both rather than a negative run time.
	 */
	if (ret->finished_at && ret->finished_at < ret->started_at)
		ret->finished_at = ret->started_at;
	if (json_is_true(json_object_get(state, "OOMKilled")))
		ret->reason = crib_xstrdup("OOMKilled");
	else
		ret->reason = crib_xstrdup(code == 0 ? "Completed" : "Error");
}

void docker_inspect_status(const json_t *inspect, struct crib_container_status *ret)
{
	const json_t *state = json_object_get(inspect, "State");
	const char *error = str_of(state, "Error");
	json_int_t pid = json_integer_value(json_object_get(state, "Pid"));

	ret->state =
	    state_of(str_of(state, "Status"), json_is_true(json_object_get(state, "Running")));
	ret->started_at = docker_parse_time(str_of(state, "StartedAt"));
	ret->pid = pid > 0 && pid <= INT32_MAX ? (int32_t)pid : 0;
	if (ret->state == CRIB_CONTAINER_EXITED) {
		set_exited(state, ret);
	} else if (ret->state == CRIB_CONTAINER_CREATED &&
	           json_integer_value(json_object_get(state, "ExitCode")) != 0) {
		/*
		 * A start the runtime refused (no such binary) leaves the container
		 * "created" with an exit code and State.Error.  Reported as having
		 * exited at its creation, as dockershim did, so that kubelet sees
		 * the failure instead of starting it again and again.
		 */
		ret->state = CRIB_CONTAINER_EXITED;
		ret->exit_code = (int32_t)json_integer_value(json_object_get(state, "ExitCode"));
		ret->finished_at = docker_parse_time(str_of(inspect, "Created"));
		ret->reason = crib_xstrdup("ContainerCannotRun");
	}
	if (!isempty(error))
		ret->message = crib_xstrdup(error);
	ret->info = status_info(inspect, state);
}

/* ---- usage ---- */

/* Where a stats document's memory_stats.stats keeps each number, by cgroup version. */
struct mem_keys {
	const char *inactive_file;
	const char *rss;
	const char *pgfault;
	const char *pgmajfault;
	const char *swap; /* NULL: the layout has none in memory.stat */
};

/* v1's memory.stat, hierarchical totals (the container's cgroup and below). */
static const struct mem_keys keys_v1 = {
    .inactive_file = "total_inactive_file",
    .rss = "total_rss",
    .pgfault = "total_pgfault",
    .pgmajfault = "total_pgmajfault",
    .swap = "total_swap",
};

/* v2's memory.stat is hierarchical already; it has no swap line. */
static const struct mem_keys keys_v2 = {
    .inactive_file = "inactive_file",
    .rss = "anon",
    .pgfault = "pgfault",
    .pgmajfault = "pgmajfault",
};

/*
 * The container's memory limit, when it has one.  On v1 the Engine's
 * "limit" is min(cgroup limit, host memory), so the cgroup's own
 * hierarchical_memory_limit tells a limit from none.  v2's document has no
 * such line and an unlimited container reads as the host's memory: then
 * available is what the host has left, which is what the container can get.
 */
static bool mem_limit(const json_t *mem, const json_t *stats, uint64_t *ret)
{
	uint64_t limit;

	if (!u64_of(stats, "hierarchical_memory_limit", &limit) && !u64_of(mem, "limit", &limit))
		return false;
	if (limit == 0 || limit > LIMIT_UNLIMITED)
		return false;
	*ret = limit;
	return true;
}

static void add_memory(const json_t *mem, struct crib_usage *u)
{
	const json_t *stats = json_object_get(mem, "stats");
	/* Every v1 memory.stat has the hierarchical limit; v2's never does. */
	const struct mem_keys *k =
	    json_object_get(stats, "hierarchical_memory_limit") ? &keys_v1 : &keys_v2;
	uint64_t usage, inactive = 0, ws, limit, v;

	if (u64_of(stats, k->rss, &v)) {
		u->memory_rss_bytes += v;
		u->present |= CRIB_USAGE_MEMORY_RSS;
	}
	if (u64_of(stats, k->pgfault, &v)) {
		u->page_faults += v;
		if (u64_of(stats, k->pgmajfault, &v))
			u->major_page_faults += v;
		u->present |= CRIB_USAGE_PAGE_FAULTS;
	}
	if (k->swap && u64_of(stats, k->swap, &v)) {
		u->swap_usage_bytes += v;
		u->present |= CRIB_USAGE_SWAP;
	}
	if (!u64_of(mem, "usage", &usage))
		return;
	/* Page cache the kernel can drop at once is not "in use" (cadvisor's working set). */
	(void)u64_of(stats, k->inactive_file, &inactive);
	ws = usage > inactive ? usage - inactive : 0;
	u->memory_usage_bytes += usage;
	u->memory_working_set_bytes += ws;
	u->present |= CRIB_USAGE_MEMORY_USAGE | CRIB_USAGE_MEMORY_WORKING_SET;
	if (mem_limit(mem, stats, &limit)) {
		u->memory_available_bytes += limit > ws ? limit - ws : 0;
		u->present |= CRIB_USAGE_MEMORY_AVAILABLE;
	}
}

/* The counters of every interface the container has a network of its own on. */
static void add_networks(const json_t *networks, struct crib_usage *u)
{
	const char *name;
	json_t *n;
	uint64_t v;

	if (!json_is_object(networks) || json_object_size(networks) == 0)
		return;
	json_object_foreach((json_t *)networks, name, n)
	{
		u->rx_bytes += u64_of(n, "rx_bytes", &v) ? v : 0;
		u->rx_errors += u64_of(n, "rx_errors", &v) ? v : 0;
		u->tx_bytes += u64_of(n, "tx_bytes", &v) ? v : 0;
		u->tx_errors += u64_of(n, "tx_errors", &v) ? v : 0;
	}
	u->present |= CRIB_USAGE_NETWORK;
}

void docker_stats_usage(const json_t *stats, struct crib_usage *ret)
{
	int64_t at = docker_parse_time(str_of(stats, "read"));
	uint64_t v;

	/* A container that is not running gets a zeroed document read at Docker's zero time. */
	if (at == 0)
		return;
	if (at > ret->timestamp)
		ret->timestamp = at;
	if (u64_of(json_object_get(json_object_get(stats, "cpu_stats"), "cpu_usage"), "total_usage",
	           &v)) {
		ret->cpu_core_ns += v;
		ret->present |= CRIB_USAGE_CPU;
	}
	add_memory(json_object_get(stats, "memory_stats"), ret);
	if (u64_of(json_object_get(stats, "pids_stats"), "current", &v)) {
		ret->process_count += v;
		ret->present |= CRIB_USAGE_PROCESSES;
	}
	add_networks(json_object_get(stats, "networks"), ret);
}

/* ---- images ---- */

/* An array of strings, without the placeholders older Engines put in untagged images' lists. */
static void strv_of(const json_t *a, const char *placeholder, char ***v, size_t *n)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e)
	{
		const char *s = json_string_value(e);

		if (!isempty(s) && !streq(s, placeholder))
			crib_strv_add(v, n, s);
	}
}

/*
 * The image's user as CRI has it: "1000" and "1000:1000" are a uid, "nobody"
 * or "nobody:users" a name.  No user is root (uid 0), as cribd's own store
 * says; a document without Config (the image list's) says nothing: -1.
 */
static void set_user(const json_t *config, struct crib_image_info *ret)
{
	const char *user = str_of(config, "User");
	size_t len;
	char *end;
	long long uid;

	ret->uid = -1;
	if (!json_is_object(config))
		return;
	if (!user)
		user = "";
	len = strcspn(user, ":");
	if (len == 0) {
		ret->uid = 0;
		return;
	}
	errno = 0;
	uid = strtoll(user, &end, 10);
	if (end == user + len && errno == 0 && uid >= 0 && user[0] >= '0' && user[0] <= '9') {
		ret->uid = uid;
		return;
	}
	ret->username = crib_xmemdup(user, len + 1);
	ret->username[len] = '\0';
}

/* What verbose ImageStatus shows: the Engine's own words for the image's identity and config. */
static char *image_verbose_info(const json_t *inspect)
{
	static const char *const keys[] = {"Id",     "RepoTags",     "RepoDigests",  "Created",
	                                   "Size",   "Architecture", "Os",           "Author",
	                                   "Config", "RootFS",       "DockerVersion"};
	json_t *o = json_object();
	char *text;

	if (!o)
		abort();
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		json_t *v = json_object_get(inspect, keys[i]);

		if (v)
			json_object_set(o, keys[i], v);
	}
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		abort();
	return text;
}

int docker_image_info(const json_t *inspect, bool verbose, struct crib_image_info *ret)
{
	const char *id = str_of(inspect, "Id");
	uint64_t size;

	if (isempty(id))
		return -EBADMSG;
	ret->id = crib_xstrdup(id);
	strv_of(json_object_get(inspect, "RepoTags"), "<none>:<none>", &ret->repo_tags,
	        &ret->n_repo_tags);
	strv_of(json_object_get(inspect, "RepoDigests"), "<none>@<none>", &ret->repo_digests,
	        &ret->n_repo_digests);
	ret->size = u64_of(inspect, "Size", &size) ? size : 0;
	set_user(json_object_get(inspect, "Config"), ret);
	if (verbose)
		ret->info = image_verbose_info(inspect);
	return 0;
}

/* ---- registry credentials ---- */

char *docker_registry_auth(const struct crib_image_pull_args *args)
{
	json_t *o = json_object();
	_cleanup_free_ char *text = NULL;
	unsigned char *out;
	size_t len;
	int n;

	if (!o)
		abort();
	/* Docker's AuthConfig member names, all lower case. */
	if (args->username)
		json_object_set_new(o, "username", json_string(args->username));
	if (args->password)
		json_object_set_new(o, "password", json_string(args->password));
	if (args->auth)
		json_object_set_new(o, "auth", json_string(args->auth));
	if (args->server_address)
		json_object_set_new(o, "serveraddress", json_string(args->server_address));
	if (args->identity_token)
		json_object_set_new(o, "identitytoken", json_string(args->identity_token));
	if (args->registry_token)
		json_object_set_new(o, "registrytoken", json_string(args->registry_token));
	if (json_object_size(o) > 0)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return NULL;
	len = strlen(text);
	/* EVP_EncodeBlock counts in int; credentials come in a gRPC message far below that. */
	if (len > (size_t)INT_MAX / 4 * 3 - 3)
		return NULL;
	out = crib_xmalloc((len + 2) / 3 * 4 + 1);
	n = EVP_EncodeBlock(out, (const unsigned char *)text, (int)len);
	/* The Engine decodes the header as base64url (RFC 4648 section 5), padding kept. */
	for (int i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	return (char *)out;
}
