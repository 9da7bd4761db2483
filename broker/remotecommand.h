/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes remote-command protocol's messages, whatever carries them
 * (SPDY streams or WebSocket channels): which protocol version a client and
 * cribd agree on, the Status document the error stream ends with (an exit
 * code travels in it), and the terminal sizes a client sends on the resize
 * stream.  What kubelet's own streaming server writes, so that crictl and
 * kubectl read it as they read kubelet's.
 */
#ifndef CRIB_BROKER_REMOTECOMMAND_H
#define CRIB_BROKER_REMOTECOMMAND_H

#include <stddef.h>
#include <stdint.h>

/* The protocol versions served, best first (v1 has no error stream; not served). */
#define CRIB_RC_V4 "v4.channel.k8s.io"
#define CRIB_RC_V3 "v3.channel.k8s.io"
#define CRIB_RC_V2 "v2.channel.k8s.io"

/*
 * The best version served among OFFERED (N strings, the client's
 * X-Stream-Protocol-Version headers, in any order), or NULL when none is.
 */
const char *crib_rc_negotiate(const char *const *offered, size_t n);

/*
 * The error stream's last message for VERSION: a Status document (v4), or
 * for v2/v3 a message only when the command failed.  EXIT_CODE is the
 * command's; MESSAGE, when not NULL, says why the command did not run at all
 * (exit_code is ignored then).  *ret (malloc'd, the caller's) is NULL when
 * nothing is to be written.
 */
void crib_rc_status(const char *version, int exit_code, const char *message, char **ret,
                    size_t *ret_len);

struct crib_rc_size {
	uint16_t width;
	uint16_t height;
};

/*
 * Reads the next terminal size from BUF (LEN bytes of the resize stream: JSON
 * objects {"Width": W, "Height": H}, one after another).  Returns the bytes
 * it took (> 0), 0 when BUF holds no whole object yet, -EINVAL for bytes
 * that are no such object (the stream is then unusable), -EMSGSIZE for an
 * object longer than 4 KiB.
 */
int crib_rc_parse_size(const char *buf, size_t len, struct crib_rc_size *ret);

#endif /* CRIB_BROKER_REMOTECOMMAND_H */
