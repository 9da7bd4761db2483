/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The entry point every fuzz target defines.  Built with -fsanitize=fuzzer, libFuzzer's main()
 * drives it; otherwise replay.c's main() runs the files named on the command line through it.
 */
#ifndef CRIB_FUZZ_FUZZ_H
#define CRIB_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Must not fail for any input; the return value is reserved by libFuzzer and always 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * An invariant of the code under test.  A violation aborts, which libFuzzer and the sanitizers
 * report with a stack like any crash, and which fails the CTest replay.
 */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__,     \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif /* CRIB_FUZZ_FUZZ_H */
