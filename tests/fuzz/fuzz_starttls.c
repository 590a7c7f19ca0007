/* fuzz_starttls.c: the STARTTLS judges on arbitrary replies. The first byte picks the
 * dialogue and step; the rest is what the server said, judged from a copy of exactly its size
 * (so a read past it is caught). A verdict must be -1, 0 or 1, a refusal must say why in
 * printable text, and a wait must never grow the buffer. */
#include <stdlib.h>
#include <string.h>
#include "../../core/op.h"
#include "../../core/starttls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"smtp", "imap", "pop3", "ftp", "postgres", "ldap",
		"mysql"};
	if (size < 1)
		return 0;
	const struct starttls *t = starttls_find(names[data[0] % OP_ARRAY_LEN(names)]);
	const struct starttls_step *st = &t->step[(data[0] >> 3) % t->nsteps];
	size_t len = size - 1;
	uint8_t *b = malloc(len ? len : 1);
	memcpy(b, data + 1, len);
	char why[96];
	why[0] = 0;
	int v = starttls_judge(st, b, &len, why, sizeof why);
	free(b);
	if (v < -1 || v > 1 || len > size - 1)
		__builtin_trap();
	if (v < 0) {
		size_t n = strlen(why);
		if (!n || n >= sizeof why)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (why[i] < 32 || why[i] > 126)
				__builtin_trap();
	}
	return 0;
}
