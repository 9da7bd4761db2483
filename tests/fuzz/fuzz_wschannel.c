/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the WebSocket channel messages a client sends.  The first byte picks
 * the subprotocol and whether the message came as text; the rest is the
 * message.  Besides not crashing or leaking: a decoded message names a
 * remote-command channel, closes one only under v5 and then carries no data,
 * is no longer than what came in, and encodes back to a message that decodes
 * to the same; a refusal hands out nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"
#include "wschannel.h"

static const char *const names[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
                                    "v4.base64.channel.k8s.io", "channel.k8s.io",
                                    "base64.channel.k8s.io"};

static void check_round_trip(const struct crib_ws_protocol *p, const struct crib_ws_message *m)
{
	struct crib_ws_message again = {0};
	uint8_t *msg;
	size_t len;
	bool text;

	crib_ws_encode(p, m->channel, m->data, m->len, &msg, &len, &text);
	FUZZ_CHECK(crib_ws_decode(p, msg, len, text, &again) == 0);
	FUZZ_CHECK(again.channel == m->channel && again.len == m->len && !again.closes);
	FUZZ_CHECK(m->len == 0 || memcmp(again.data, m->data, m->len) == 0);
	free(again.data);
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct crib_ws_protocol *p;
	struct crib_ws_message m = {0};
	const char *name;
	int r;

	if (size < 1)
		return 0;
	name = names[(data[0] & 0x7f) % ARRAY_SIZE(names)];
	p = crib_ws_negotiate(&name, 1);
	FUZZ_CHECK(p && streq(p->name, name));
	r = crib_ws_decode(p, data + 1, size - 1, data[0] & 0x80, &m);
	if (r < 0) {
		FUZZ_CHECK(r == -EPROTO || r == -EMSGSIZE);
		FUZZ_CHECK(!m.data && !m.len);
		return 0;
	}
	FUZZ_CHECK(m.channel <= CRIB_WS_RESIZE && m.len <= size - 1);
	FUZZ_CHECK(!m.closes || (p->close && !m.data && !m.len));
	FUZZ_CHECK((m.data != NULL) == (m.len > 0));
	if (!m.closes)
		check_round_trip(p, &m);
	free(m.data);
	return 0;
}
