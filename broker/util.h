/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small helpers every broker module uses: cleanup attributes, allocation,
 * an intrusive list and time.
 *
 * OOM policy: fixed-size bookkeeping (objects, list nodes, copies of names
 * the daemon already holds) uses the x*() allocators, which abort with a
 * message, because a daemon that cannot allocate a few hundred bytes cannot
 * answer anyway.  Anything sized by a client (request payloads, blobs,
 * responses, exec output) is allocated with plain malloc and failures become
 * -ENOMEM / RESOURCE_EXHAUSTED.
 */
#ifndef CRIB_BROKER_UTIL_H
#define CRIB_BROKER_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CRIB_ID_LEN 64 /* hex digits of a pod or container id */

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Hands ownership out of a cleanup variable. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _take_ = (p);                                                        \
		(p) = NULL;                                                                        \
		_take_;                                                                            \
	})

#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _take_fd_ = (fd);                                                              \
		(fd) = -EBADF;                                                                     \
		_take_fd_;                                                                         \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}

#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Aborting allocators for fixed-size bookkeeping (see the OOM policy above). */
void *crib_xmalloc(size_t size);
void *crib_xcalloc(size_t n, size_t size);
void *crib_xrealloc(void *p, size_t n, size_t size);
char *crib_xstrdup(const char *s); /* NULL-safe: NULL in, NULL out */
char *crib_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *crib_xmemdup(const void *p, size_t len); /* NULL when len is 0 */

/* Frees *p and replaces it with a copy of s (NULL-safe). */
void crib_strreplace(char **p, const char *s);

static inline bool streq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static inline bool isempty(const char *s)
{
	return !s || !*s;
}

/* Intrusive doubly linked list, circular with a head node. */
struct crib_list {
	struct crib_list *prev;
	struct crib_list *next;
};

#define CRIB_LIST_INIT(name)                                                                       \
	{                                                                                          \
		&(name), &(name)                                                                   \
	}

static inline void crib_list_init(struct crib_list *l)
{
	l->prev = l;
	l->next = l;
}

static inline bool crib_list_empty(const struct crib_list *l)
{
	return l->next == l;
}

static inline void crib_list_add_tail(struct crib_list *head, struct crib_list *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void crib_list_del(struct crib_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	crib_list_init(n);
}

static inline struct crib_list *crib_list_pop(struct crib_list *head)
{
	struct crib_list *n;

	if (crib_list_empty(head))
		return NULL;
	n = head->next;
	crib_list_del(n);
	return n;
}

#define crib_list_foreach(pos, head)                                                               \
	for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

#define crib_list_foreach_safe(pos, tmp, head)                                                     \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                           \
	     (pos) = (tmp), (tmp) = (pos)->next)

/* Wall clock in ns since the epoch (CRI timestamps). */
int64_t crib_now_ns(void);
/* Monotonic clock in ns (latencies, timeouts). */
int64_t crib_mono_ns(void);
/* CPU time the calling thread used, in ns. */
int64_t crib_thread_cpu_ns(void);

/*
 * Field FIELD (counted from 1, as proc(5) does; 3 or more) of /proc/PID/stat
 * as a number; 0 when PID is gone.
 */
unsigned long long crib_proc_stat_field(pid_t pid, int field);
/* PID's state letter (/proc/PID/stat field 3: R, S, Z...); 0 when PID is gone. */
char crib_proc_state(pid_t pid);

/*
 * Writes TEXT to a kernel file (/proc/sys/..., a cgroup's) in one write(2): no
 * temporary file, which those have no room for.  0, -errno, -EIO when short.
 */
int crib_write_proc(const char *path, const char *text);

/*
 * PID's start time in clock ticks since boot (/proc/PID/stat field 22); 0 when
 * it is gone.  With the pid it names a process: a reused pid has another.
 */
static inline unsigned long long crib_proc_start_time(pid_t pid)
{
	return crib_proc_stat_field(pid, 22);
}

/* Fills buf with a new random id of CRIB_ID_LEN hex digits and a NUL. */
int crib_new_id(char buf[CRIB_ID_LEN + 1]);

/* Creates DIR and its parents with MODE; an existing directory is fine. */
int crib_mkdir_p(const char *dir, unsigned mode);
/* Creates the directories above PATH (a file's), like crib_mkdir_p(). */
int crib_mkdir_parent(const char *path, unsigned mode);

/*
 * Reads FD up to MAX bytes (or its end) into *ret (malloc'd, NUL-terminated,
 * the caller's) and the length into *ret_len; a caller that must know
 * whether more followed asks for one byte more than it accepts.
 */
int crib_read_fd(int fd, size_t max, char **ret, size_t *ret_len);
/*
 * Reads PATH whole into *ret (malloc'd, NUL-terminated, the caller's) and its
 * length into *ret_len.  -EFBIG when it holds more than MAX bytes.
 */
int crib_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/*
 * Runs FN(ARG) on a thread of its own that has joined the network namespace
 * at NETNS: setns() moves only the calling thread, so the caller's never
 * leaves its own.  FN's return (0 or -errno), or -errno when the thread
 * cannot start or join NETNS.
 */
int crib_in_netns(const char *netns, int (*fn)(void *arg), void *arg);

/* True for names made of [a-z0-9_-], 1..63 characters, as classes and backends use. */
bool crib_name_valid(const char *s);

/* String vectors: a malloc'd array of N malloc'd strings. */
void crib_strv_add(char ***v, size_t *n, const char *s);
/* Appends S unless it is there already. */
void crib_strv_add_unique(char ***v, size_t *n, const char *s);
bool crib_strv_contains(char *const *v, size_t n, const char *s);
/* Frees the strings and the array.  NULL-safe. */
void crib_strv_free(char **v, size_t n);
/* Sorts a vector for crib_strv_sorted_contains() (binary search). */
void crib_strv_sort(char **v, size_t n);
bool crib_strv_sorted_contains(char *const *v, size_t n, const char *s);

#endif /* CRIB_BROKER_UTIL_H */
