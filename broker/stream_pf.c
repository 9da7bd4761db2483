/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A port-forward session over SPDY (portforward.k8s.io).  For every
 * connection the client forwards it opens two streams sharing a requestid:
 * an error stream and a data stream, both naming the port.  cribd connects
 * to 127.0.0.1:PORT inside the pod's network namespace (a worker does the
 * setns dance), or has the pod's backend connect (CRIB_CAP_PORT_FORWARD: a
 * VM's loopback is the guest's), and carries bytes both ways until both
 * sides are done; a
 * failure to connect goes to the error stream as text, as kubelet writes it.
 * The protocol is TCP only: there is no way to ask it for UDP.
 *
 * Over WebSocket (kubelet's v4.channel.k8s.io and kin) there are no streams
 * to open: the ports are those of the PortForwardRequest, port i gets data
 * channel 2i and error channel 2i+1, each starting with the port number (two
 * bytes, little-endian), one connection per port, and the session ends when
 * every connection has.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "op.h"
#include "registry.h"
#include "router.h"
#include "cri-api-v1.pb-c.h"
#include "spdy_conn.h"
#include "stream_pump.h"
#include "stream_server.h"
#include "ws_conn.h"

/* Forwarded connections one session may have at once (two streams each). */
#define PAIRS_MAX      (CRIB_SPDY_CONN_STREAMS_MAX / 2)
#define REQUEST_ID_MAX 32
/* Ports one WebSocket session forwards (two channels each, numbered in a byte). */
#define WS_PORTS_MAX 16

struct pf_session;

struct pf_pair {
	struct pf_session *s;
	struct crib_list node;
	char request_id[REQUEST_ID_MAX + 1];
	uint16_t port;
	uint32_t data_sid;
	uint32_t error_sid;
	bool connecting;
	bool client_done;    /* FIN on the data stream */
	bool remote_done;    /* EOF from the pod's side */
	bool dead;           /* reset, or its connection failed: only waits for handles */
	struct crib_pump rd; /* the pod's side to the client */
	struct crib_pump wr; /* the client to the pod's side (a dup of the same socket) */
	unsigned handles;
};

struct pf_session {
	struct crib_stream_link *link;
	struct crib_daemon *d;
	struct crib_pod *pod; /* reference */
	/* The client's connection, one or the other; NULL once it closed. */
	struct crib_spdy_conn *conn;
	struct crib_ws_conn *ws;
	struct crib_list pairs;
	size_t n_pairs;
	unsigned ops; /* connects in flight */
};

static bool connected(const struct pf_session *s)
{
	return s->conn || s->ws;
}

/* Sends on a stream (SPDY) or channel (WebSocket, where FIN has no meaning). */
static void pf_send(struct pf_session *s, uint32_t id, const void *data, size_t len, bool fin)
{
	if (s->ws && len > 0)
		crib_ws_conn_send(s->ws, (uint8_t)id, data, len, false);
	else if (s->conn)
		crib_spdy_conn_send(s->conn, id, data, len, fin);
}

static void pf_pause(struct pf_session *s, bool paused)
{
	if (s->ws)
		crib_ws_conn_pause(s->ws, paused);
	else if (s->conn)
		crib_spdy_conn_pause(s->conn, paused);
}

static bool pf_writable(const struct pf_session *s)
{
	return s->ws ? crib_ws_conn_writable(s->ws) : s->conn && crib_spdy_conn_writable(s->conn);
}

/* WebSocket: the session is over once no port's connection is left. */
static void maybe_close_ws(struct pf_session *s)
{
	struct crib_list *i;

	if (!s->ws)
		return;
	crib_list_foreach (i, &s->pairs) {
		if (!container_of(i, struct pf_pair, node)->dead)
			return;
	}
	crib_ws_conn_close(s->ws);
}

static void session_maybe_free(struct pf_session *s)
{
	if (connected(s) || s->ops > 0 || !crib_list_empty(&s->pairs))
		return;
	crib_pod_unref(s->pod);
	s->d->stream_sessions--;
	free(s);
}

static void pair_maybe_free(struct pf_pair *p)
{
	struct pf_session *s = p->s;

	if (!p->dead || p->handles > 0 || p->connecting)
		return;
	crib_pump_close(&p->wr); /* input queued for a connection that never came */
	crib_list_del(&p->node);
	s->n_pairs--;
	free(p);
	session_maybe_free(s);
}

static void on_pump_closed(uv_handle_t *h)
{
	struct crib_pump *pump = h->data;
	struct pf_pair *p = pump->data;

	p->handles--;
	pair_maybe_free(p);
}

/* Ends the pair: resets what the client still has open, closes the pod's side. */
static void pair_kill(struct pf_pair *p, bool reset)
{
	struct pf_session *s = p->s;

	if (p->dead)
		return;
	p->dead = true;
	maybe_close_ws(s);
	if (s->conn && reset) {
		if (p->data_sid)
			crib_spdy_conn_reset(s->conn, p->data_sid, CRIB_SPDY_CANCEL);
		if (p->error_sid)
			crib_spdy_conn_reset(s->conn, p->error_sid, CRIB_SPDY_CANCEL);
	}
	crib_pump_close(&p->rd);
	crib_pump_close(&p->wr);
	pair_maybe_free(p);
}

static void pair_check_done(struct pf_pair *p)
{
	struct pf_session *s = p->s;

	if (!p->client_done || !p->remote_done)
		return;
	pf_send(s, p->error_sid, NULL, 0, true);
	pair_kill(p, false);
}

static void pair_fail(struct pf_pair *p, const char *message)
{
	struct pf_session *s = p->s;

	if (!p->dead) {
		pf_send(s, p->error_sid, message, strlen(message), true);
		pf_send(s, p->data_sid, NULL, 0, true);
	}
	pair_kill(p, false);
}

static void on_remote(struct crib_pump *pump, const uint8_t *data, size_t len)
{
	struct pf_pair *p = pump->data;
	struct pf_session *s = p->s;

	if (!connected(s) || p->dead)
		return;
	if (len == 0) {
		p->remote_done = true;
		pf_send(s, p->data_sid, NULL, 0, true);
		/* A WebSocket channel cannot be half-closed: the connection's end is the pair's. */
		if (s->ws)
			p->client_done = true;
		pair_check_done(p);
		return;
	}
	pf_send(s, p->data_sid, data, len, false);
	if (!pf_writable(s))
		crib_pump_pause(pump, true);
}

static void on_remote_ready(struct crib_pump *pump, const uint8_t *data, size_t len)
{
	struct pf_pair *p = pump->data;

	(void)data;
	(void)len;
	pf_pause(p->s, false);
}

static int start_pumps(struct pf_pair *p, int fd)
{
	struct uv_loop_s *loop = p->s->d->loop;
	int wfd = dup(fd);
	int r;

	if (wfd < 0)
		return -errno;
	r = crib_pump_init(loop, &p->rd, fd, false, on_remote, on_pump_closed, p);
	if (r < 0) {
		close(wfd);
		return r;
	}
	p->handles++;
	r = crib_pump_init(loop, &p->wr, wfd, true, on_remote_ready, on_pump_closed, p);
	if (r < 0) {
		close(wfd);
		return r;
	}
	p->handles++;
	return 0;
}

static void connect_done(struct crib_op *op)
{
	struct pf_pair *p = op->data;
	struct pf_session *s = p->s;
	char *msg = NULL;
	int r = op->r;

	/* p->connecting stays set until the end: it keeps the pair (and so the session) alive. */
	if (r == 0 && !p->dead) {
		r = start_pumps(p, op->out.fd);
		if (r == 0)
			op->out.fd = -1; /* the read pump has it */
	}
	if (r < 0 && !p->dead) {
		msg =
		    crib_xasprintf("error forwarding port %u to pod %s: %s", (unsigned)p->port,
		                   s->pod->id, op->r < 0 ? crib_error_msg(op->err) : strerror(-r));
		pair_fail(p, msg);
	}
	free(msg);
	crib_op_free(op);
	if (!p->dead && !p->wr.above_high)
		pf_pause(s, false);
	p->connecting = false;
	s->ops--;
	pair_maybe_free(p);
}

/* The op that connects to PORT in pod P: its backend's when it has one, else cribd's own. */
static struct crib_op *connect_op(struct crib_pod *pod, uint16_t port, void *data)
{
	struct crib_backend *b = pod->cls->backend;
	struct crib_op *op;

	if (crib_backend_can_port_forward(b)) {
		op = crib_op_new(CRIB_OP_PORT_CONNECT, b, connect_done, data);
		crib_op_set_pod(op, pod->id, &pod->cls->pub, pod->priv, pod->priv_len);
	} else {
		op = crib_op_new(CRIB_OP_NET_CONNECT, NULL, connect_done, data);
		op->netns = pod->netns ? crib_xstrdup(pod->netns) : NULL;
	}
	op->port = port;
	return op;
}

static void pair_connect(struct pf_pair *p)
{
	struct pf_session *s = p->s;
	struct crib_op *op = connect_op(s->pod, p->port, p);

	p->connecting = true;
	if (crib_daemon_op_start(s->d, op) < 0) {
		crib_op_free(op);
		p->connecting = false;
		pair_fail(p, "cribd is shutting down");
		return;
	}
	s->ops++;
}

static struct pf_pair *find_pair(struct pf_session *s, const char *request_id)
{
	struct crib_list *i;

	crib_list_foreach (i, &s->pairs) {
		struct pf_pair *p = container_of(i, struct pf_pair, node);

		if (!p->dead && strcmp(p->request_id, request_id) == 0)
			return p;
	}
	return NULL;
}

static struct pf_pair *find_stream(struct pf_session *s, uint32_t id)
{
	struct crib_list *i;

	crib_list_foreach (i, &s->pairs) {
		struct pf_pair *p = container_of(i, struct pf_pair, node);

		if (!p->dead && (p->data_sid == id || p->error_sid == id))
			return p;
	}
	return NULL;
}

static int parse_port(const char *text, uint16_t *ret)
{
	char *end = NULL;
	long v;

	if (!text || !*text)
		return -EINVAL;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

static struct pf_pair *pair_new(struct pf_session *s, const char *request_id, uint16_t port)
{
	struct pf_pair *p = crib_xcalloc(1, sizeof(*p));

	p->s = s;
	(void)snprintf(p->request_id, sizeof(p->request_id), "%s", request_id);
	p->port = port;
	crib_list_add_tail(&s->pairs, &p->node);
	s->n_pairs++;
	return p;
}

static int on_opened(void *ud, uint32_t id, const struct crib_spdy_headers *h)
{
	struct pf_session *s = ud;
	const char *type = crib_spdy_headers_get(h, "streamtype");
	const char *request_id = crib_spdy_headers_get(h, "requestid");
	bool data = type && strcmp(type, "data") == 0;
	struct pf_pair *p;
	uint16_t port;

	if (!type || (!data && strcmp(type, "error") != 0) || !request_id ||
	    strlen(request_id) > REQUEST_ID_MAX ||
	    parse_port(crib_spdy_headers_get(h, "port"), &port) < 0)
		return -EINVAL;
	p = find_pair(s, request_id);
	if (!p) {
		if (s->n_pairs == PAIRS_MAX)
			return -ENOSPC;
		p = pair_new(s, request_id, port);
	}
	if (p->port != port || (data ? p->data_sid : p->error_sid))
		return -EINVAL;
	if (data)
		p->data_sid = id;
	else
		p->error_sid = id;
	if (p->data_sid && p->error_sid)
		pair_connect(p);
	return 0;
}

static void on_data(void *ud, uint32_t id, const uint8_t *data, size_t len)
{
	struct pf_session *s = ud;
	struct pf_pair *p = find_stream(s, id);

	if (!p || id != p->data_sid)
		return;
	/* Bytes ahead of the connection wait in the pump until it is made. */
	if (!crib_pump_write(&p->wr, data, len) || !p->wr.started)
		pf_pause(s, true);
}

static void on_ended(void *ud, uint32_t id, bool reset)
{
	struct pf_session *s = ud;
	struct pf_pair *p = find_stream(s, id);

	if (!p)
		return;
	if (reset) {
		pair_kill(p, true);
		return;
	}
	if (id != p->data_sid)
		return;
	p->client_done = true;
	crib_pump_end(&p->wr);
	pair_check_done(p);
}

static void on_writable(void *ud)
{
	struct pf_session *s = ud;
	struct crib_list *i;

	crib_list_foreach (i, &s->pairs) {
		struct pf_pair *p = container_of(i, struct pf_pair, node);

		if (p->rd.active)
			crib_pump_pause(&p->rd, false);
	}
}

static void on_closed(void *ud, const char *why)
{
	struct pf_session *s = ud;
	struct crib_list *i, *tmp;

	crib_log(CRIB_LOG_DEBUG, "stream", "port-forward session for pod %s ended: %s", s->pod->id,
	         why);
	s->conn = NULL;
	s->ws = NULL;
	s->ops++; /* the last pair must not free the session under this loop */
	crib_list_foreach_safe (i, tmp, &s->pairs)
		pair_kill(container_of(i, struct pf_pair, node), false);
	s->ops--;
	session_maybe_free(s);
}

static const struct crib_spdy_conn_cbs conn_cbs = {
    .opened = on_opened,
    .data = on_data,
    .ended = on_ended,
    .writable = on_writable,
    .closed = on_closed,
};

static void on_abort(struct crib_stream_link *l)
{
	struct pf_session *s = l->data;

	if (s->ws)
		crib_ws_conn_close(s->ws);
	else if (s->conn)
		crib_spdy_conn_close(s->conn);
}

static void on_ws_data(void *ud, uint8_t channel, const uint8_t *data, size_t len)
{
	on_data(ud, channel, data, len);
}

static void on_ws_ended(void *ud, uint8_t channel)
{
	(void)ud;
	(void)channel; /* v5's channel close: not a port-forward protocol */
}

static const struct crib_ws_conn_cbs ws_cbs = {
    .data = on_ws_data,
    .ended = on_ws_ended,
    .writable = on_writable,
    .closed = on_closed,
};

/* The request's ports, which a WebSocket session forwards; -EINVAL when none or too many. */
static int request_ports(const struct crib_stream_request *req, uint16_t *ports, size_t *ret_n)
{
	Runtime__V1__PortForwardRequest *pf =
	    runtime__v1__port_forward_request__unpack(NULL, req->req_len, req->req);
	int r = 0;

	if (!pf)
		return -EINVAL;
	if (pf->n_port == 0 || pf->n_port > WS_PORTS_MAX)
		r = -EINVAL;
	for (size_t i = 0; r == 0 && i < pf->n_port; i++) {
		if (pf->port[i] < 1 || pf->port[i] > 65535)
			r = -EINVAL;
		ports[i] = (uint16_t)pf->port[i];
	}
	*ret_n = pf->n_port;
	runtime__v1__port_forward_request__free_unpacked(pf, NULL);
	return r;
}

/* WebSocket: every port's connection at once, each channel opened by the port's number. */
static void start_ws_ports(struct pf_session *s, const uint16_t *ports, size_t n)
{
	for (size_t i = 0; i < n && s->ws; i++) {
		char name[32];
		uint8_t le[2] = {(uint8_t)(ports[i] & 0xff), (uint8_t)(ports[i] >> 8)};
		struct pf_pair *p;

		(void)snprintf(name, sizeof(name), "ws-%zu", i);
		p = pair_new(s, name, ports[i]);
		p->data_sid = (uint32_t)(2 * i);
		p->error_sid = (uint32_t)(2 * i + 1);
		pf_send(s, p->data_sid, le, sizeof(le), false);
		pf_send(s, p->error_sid, le, sizeof(le), false);
		pair_connect(p);
	}
}

int crib_stream_pf_start(struct crib_stream_link *link, int fd, const uint8_t *extra,
                         size_t extra_len, const struct crib_ws_protocol *ws_protocol,
                         struct crib_stream_request *req)
{
	struct crib_daemon *d = crib_stream_server_daemon(link->srv);
	struct crib_pod *pod = crib_registry_find_pod(&d->reg, req->id);
	uint16_t ports[WS_PORTS_MAX];
	size_t n_ports = 0;
	struct pf_session *s;
	int r;

	if (!pod)
		return -ENOENT;
	if (ws_protocol && request_ports(req, ports, &n_ports) < 0)
		return -EINVAL;
	s = crib_xcalloc(1, sizeof(*s));
	s->link = link;
	s->d = d;
	s->pod = crib_pod_ref(pod);
	crib_list_init(&s->pairs);
	link->data = s;
	link->abort = on_abort;
	if (ws_protocol)
		r = crib_ws_conn_new(d->loop, fd, extra, extra_len, ws_protocol,
		                     (uint8_t)(2 * n_ports - 1), &ws_cbs, s,
		                     crib_stream_server_idle_ms(link->srv),
		                     crib_stream_link_release, link, &s->ws);
	else
		r = crib_spdy_conn_new(d->loop, fd, extra, extra_len, &conn_cbs, s,
		                       crib_stream_server_idle_ms(link->srv),
		                       crib_stream_link_release, link, &s->conn);
	if (r < 0) {
		link->data = NULL;
		link->abort = NULL;
		crib_pod_unref(s->pod);
		free(s);
		return r;
	}
	crib_stream_request_clear(req);
	d->stream_sessions++;
	start_ws_ports(s, ports, n_ports);
	if (s->ws)
		crib_ws_conn_start(s->ws);
	return 0;
}
