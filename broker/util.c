/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void oom(size_t size)
{
	static const char msg[] = "cribd: out of memory for bookkeeping, aborting\n";

	(void)size;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	abort();
}

void *crib_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		oom(size);
	return p;
}

void *crib_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *crib_xrealloc(void *p, size_t n, size_t size)
{
	void *q;

	if (size && n > SIZE_MAX / size)
		oom(SIZE_MAX);
	q = realloc(p, n && size ? n * size : 1);
	if (!q)
		oom(n * size);
	return q;
}

char *crib_xstrdup(const char *s)
{
	char *p;

	if (!s)
		return NULL;
	p = strdup(s);
	if (!p)
		oom(strlen(s));
	return p;
}

char *crib_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom(0);
	return p;
}

void *crib_xmemdup(const void *p, size_t len)
{
	void *q;

	if (!len)
		return NULL;
	q = crib_xmalloc(len);
	memcpy(q, p, len);
	return q;
}

void crib_strreplace(char **p, const char *s)
{
	char *n = crib_xstrdup(s);

	free(*p);
	*p = n;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t crib_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t crib_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t crib_thread_cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

int crib_new_id(char buf[CRIB_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[CRIB_ID_LEN / 2];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		buf[2 * i] = hex[raw[i] >> 4];
		buf[2 * i + 1] = hex[raw[i] & 0xf];
	}
	buf[CRIB_ID_LEN] = '\0';
	return 0;
}

int crib_mkdir_p(const char *dir, unsigned mode)
{
	_cleanup_free_ char *p = crib_xstrdup(dir);
	struct stat st;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	if (stat(p, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int crib_mkdir_parent(const char *path, unsigned mode)
{
	_cleanup_free_ char *dir = crib_xstrdup(path);
	char *slash = strrchr(dir, '/');

	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return crib_mkdir_p(dir, mode);
}

int crib_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = crib_xmalloc(max + 1);
	size_t len = 0;

	while (len < max) {
		ssize_t n = read(fd, buf + len, max - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

struct netns_job {
	const char *netns;
	int (*fn)(void *arg);
	void *arg;
	int r;
};

static void *netns_thread(void *arg)
{
	struct netns_job *j = arg;
	_cleanup_close_ int fd = open(j->netns, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		j->r = -errno;
	else
		j->r = j->fn(j->arg);
	return NULL;
}

int crib_in_netns(const char *netns, int (*fn)(void *arg), void *arg)
{
	struct netns_job j = {.netns = netns, .fn = fn, .arg = arg};
	pthread_t t;
	int r = pthread_create(&t, NULL, netns_thread, &j);

	if (r != 0)
		return -r;
	(void)pthread_join(t, NULL);
	return j.r;
}

int crib_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	if (fd < 0)
		return -errno;
	r = crib_read_fd(fd, max + 1, &buf, &len);
	if (r < 0)
		return r;
	if (len > max)
		return -EFBIG;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

bool crib_name_valid(const char *s)
{
	size_t n = 0;

	if (isempty(s))
		return false;
	for (; s[n]; n++) {
		char c = s[n];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return n <= 63;
}

void crib_strv_add(char ***v, size_t *n, const char *s)
{
	*v = crib_xrealloc(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = crib_xstrdup(s);
}

void crib_strv_add_unique(char ***v, size_t *n, const char *s)
{
	if (!crib_strv_contains(*v, *n, s))
		crib_strv_add(v, n, s);
}

bool crib_strv_contains(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (streq(v[i], s))
			return true;
	return false;
}

void crib_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void crib_strv_sort(char **v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_str);
}

bool crib_strv_sorted_contains(char *const *v, size_t n, const char *s)
{
	/* bsearch() must not see a NULL array, even an empty one. */
	return n > 0 && bsearch(&s, v, n, sizeof(*v), cmp_str) != NULL;
}

/* Field 3 of /proc/PID/stat's line in BUF, or NULL when PID is gone. */
static char *proc_stat_fields(pid_t pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	if (!fgets(buf, (int)size, f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	/* The command may hold spaces and parentheses: fields count from the last ')'. */
	p = strrchr(buf, ')');
	/* Field 3 follows ") ". */
	return p && p[1] == ' ' && p[2] ? p + 2 : NULL;
}

char crib_proc_state(pid_t pid)
{
	char buf[1024], *p = pid > 0 ? proc_stat_fields(pid, buf, sizeof(buf)) : NULL;

	return p ? *p : 0;
}

int crib_write_proc(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
	size_t len = strlen(text);
	ssize_t w;

	if (fd < 0)
		return -errno;
	w = write(fd, text, len);
	if (w < 0)
		return -errno;
	return (size_t)w == len ? 0 : -EIO;
}

unsigned long long crib_proc_stat_field(pid_t pid, int field)
{
	char buf[1024];
	unsigned long long t = 0;
	char *p = proc_stat_fields(pid, buf, sizeof(buf));

	if (!p)
		return 0;
	for (int i = 3; p && i < field; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (p)
		t = strtoull(p, NULL, 10);
	return t;
}
