/* fuzz_regex.c: the regex compiler on arbitrary patterns, each then searched in itself. */
#include <stdlib.h>
#include <string.h>
#include "../../core/regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct op_regex re;
	char err[64];
	if (size > 512)
		return 0;
	char *pat = malloc(size + 1);
	memcpy(pat, data, size);
	pat[size] = 0;
	if (regex_compile(&re, pat, err, sizeof err) == 0) {
		if (re.n > OP_REGEX_MAX_INSNS)
			__builtin_trap();
		regex_search(&re, (const char *)data, size);
	}
	free(pat);
	return 0;
}
