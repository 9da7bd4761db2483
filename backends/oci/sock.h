/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The unix sockets between the backend and crib-shim: one-line messages on
 * SOCK_SEQPACKET sockets, with descriptors passed alongside (SCM_RIGHTS), and
 * socket paths that may be longer than sockaddr_un holds.  Compiled into both
 * the module and the shim, so libc only.
 */
#ifndef CRIB_OCI_SOCK_H
#define CRIB_OCI_SOCK_H

#include <stddef.h>
#include <sys/types.h>

/* Most descriptors one message carries (an attach request: stdin, stdout, stderr). */
#define OCI_SOCK_MAX_FDS 3
/* Longest message, NUL included; an error line with the runtime's message fits. */
#define OCI_SOCK_MSG_MAX 4096

/*
 * Sends TEXT as one message with N_FDS descriptors (may be 0).  Never raises
 * SIGPIPE; a peer that went away is -EPIPE.
 */
int oci_sock_send(int sock, const char *text, const int *fds, size_t n_fds);

/*
 * Receives one message into BUF (NUL-terminated; a longer one is cut) and up
 * to MAX_FDS descriptors, close-on-exec, into FDS; *ret_n_fds says how many
 * (the caller owns them).  Returns the text's length, 0 at EOF, or -errno
 * (-EAGAIN on a non-blocking socket with nothing queued; -EBADMSG when more
 * descriptors came than fit, which are then closed).
 */
ssize_t oci_sock_recv(int sock, char *buf, size_t size, int *fds, size_t max_fds,
                      size_t *ret_n_fds);

/*
 * Waits up to timeout_ms for SOCK to become readable, then oci_sock_recv.
 * -ETIMEDOUT when nothing came.
 */
ssize_t oci_sock_recv_wait(int sock, int timeout_ms, char *buf, size_t size, int *fds,
                           size_t max_fds, size_t *ret_n_fds);

/*
 * Sockets named DIR/NAME, where DIR is reached through /proc/self/fd so that
 * its length does not matter: sun_path holds 108 bytes, and a container's
 * directory under a long run_dir (a test's tmp dir) does not fit.
 *
 * oci_sock_listen: a listening socket of TYPE (SOCK_SEQPACKET, SOCK_STREAM),
 * non-blocking and close-on-exec, bound at NAME in the directory DIRFD, mode
 * 0600 (an existing NAME is replaced).  oci_sock_connect: a SOCK_SEQPACKET
 * socket connected to DIR/NAME, close-on-exec.  Both return the fd or -errno.
 */
int oci_sock_listen(int dirfd, const char *name, int type, int backlog);
int oci_sock_connect(const char *dir, const char *name);

#endif /* CRIB_OCI_SOCK_H */
