/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the resize stream of the remote-command protocol as the streaming
 * server will read it: terminal sizes one after another until the bytes run
 * out or stop making sense.  Besides not crashing or leaking: each size read
 * takes bytes from within the input and ends at a '}', and a refusal leaves
 * the last size read untouched.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "remotecommand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct crib_rc_size s = {0}, before;
	size_t off = 0;

	while (off < size) {
		int n;

		before = s;
		n = crib_rc_parse_size(buf + off, size - off, &s);
		if (n <= 0) {
			FUZZ_CHECK(n == 0 || n == -EINVAL || n == -EMSGSIZE);
			FUZZ_CHECK(memcmp(&s, &before, sizeof(s)) == 0);
			break;
		}
		FUZZ_CHECK((size_t)n <= size - off && buf[off + (size_t)n - 1] == '}');
		off += (size_t)n;
	}
	return 0;
}
