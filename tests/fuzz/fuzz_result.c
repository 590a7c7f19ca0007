/* fuzz_result.c: the spool's form of a result (result_decode) on arbitrary bytes, which a torn
 * or foreign record may hold: it never reads past them, a detail read is a terminated string,
 * and what it reads encodes and decodes back to the same. */
#include <stdlib.h>
#include <string.h>
#include "../../core/result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in = malloc(size ? size : 1); /* exactly its size: a read past it is caught */
	memcpy(in, data, size);
	struct result a, b;
	if (result_decode(in, size, &a) == 0) {
		if (memchr(a.detail, 0, sizeof a.detail) == NULL)
			__builtin_trap();
		uint8_t e1[600], e2[600];
		size_t n1 = result_encode(e1, sizeof e1, &a);
		if (!n1 || result_decode(e1, n1, &b) != 0)
			__builtin_trap();
		size_t n2 = result_encode(e2, sizeof e2, &b);
		if (n1 != n2 || memcmp(e1, e2, n1))
			__builtin_trap();
	}
	free(in);
	return 0;
}
