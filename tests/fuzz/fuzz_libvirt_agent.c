/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes what the libvirt backend reads from outside cribd: crib-agent's
 * frames and messages (they come from inside a pod's VM, which its workload
 * may own) and crib's domain metadata element (libvirtd hands it back, and
 * anyone with virsh can rewrite it).  The first byte picks where the stream
 * is cut in two reads; the frames taken must be the same either way.
 */
#include <string.h>

#include "agent.pb-c.h"
#include "agentframe.h"
#include "domxml.h"
#include "fuzz.h"
#include "util.h"

/* Takes every whole frame; returns their count, and their sizes summed in *bytes. */
static size_t take(struct crib_agent_rbuf *b, size_t *bytes, bool *refused)
{
	const uint8_t *msg;
	size_t len, n = 0;
	int r;

	while (!*refused && (r = crib_agent_rbuf_next(b, &msg, &len)) != 0) {
		Crib__Agent__GuestMessage *m;

		if (r < 0) {
			*refused = true;
			break;
		}
		FUZZ_CHECK(len <= CRIB_AGENT_FRAME_MAX);
		m = crib__agent__guest_message__unpack(NULL, len, msg);
		if (m)
			crib__agent__guest_message__free_unpacked(m, NULL);
		*bytes += len;
		n++;
	}
	return n;
}

static void frames(const uint8_t *data, size_t size, size_t cut, size_t *n, size_t *bytes,
                   bool *refused)
{
	struct crib_agent_rbuf b = {0};

	*n = *bytes = 0;
	*refused = false;
	FUZZ_CHECK(crib_agent_rbuf_append(&b, data, cut) == 0);
	*n += take(&b, bytes, refused);
	if (!*refused) {
		FUZZ_CHECK(crib_agent_rbuf_append(&b, data + cut, size - cut) == 0);
		*n += take(&b, bytes, refused);
	}
	crib_agent_rbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut, n1, n2, bytes1, bytes2;
	bool refused1, refused2;
	char *text, *id = NULL;

	if (size < 1)
		return 0;
	cut = data[0] % size;
	data++;
	size--;
	frames(data, size, size, &n1, &bytes1, &refused1);
	frames(data, size, cut < size ? cut : size, &n2, &bytes2, &refused2);
	FUZZ_CHECK(n1 == n2 && bytes1 == bytes2 && refused1 == refused2);
	FUZZ_CHECK(bytes1 + 4 * n1 <= size);

	text = crib_xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (crib_lv_metadata_pod_id(text, &id) == 0)
		FUZZ_CHECK(strlen(id) == CRIB_ID_LEN &&
		           strspn(id, "0123456789abcdef") == CRIB_ID_LEN);
	free(id);
	free(text);
	return 0;
}
