/* fuzz_json.c: what a hostile server's body meets when a probe checks it: the first line is a
 * JSON path, the rest a body; the path and a few fixed ones are looked up in the body, their
 * values decoded as strings, and checked against a value. Every value found must lie inside
 * the body. */
#include <stdlib.h>
#include <string.h>
#include "../../core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *body, size_t len, const char *val, size_t vlen)
{
	if (val && (val < body || vlen > len || val + vlen > body + len))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t plen = nl ? (size_t)(nl - data) : 0;
	if (plen > 256)
		return 0;
	char path[257];
	memcpy(path, data, plen);
	path[plen] = 0;
	size_t len = nl ? size - plen - 1 : size;
	char *body = malloc(len ? len : 1); /* exactly the body: ASan sees a read past it */
	memcpy(body, nl ? (const char *)nl + 1 : (const char *)data, len);

	const char *paths[] = {path, "$", "$.a.b[1].c", "[0][0]", "items[3].id"};
	const char *val[5];
	size_t vlen[5];
	if (json_values(body, len, paths, 5, val, vlen) == 0) {
		for (int i = 0; i < 5; i++) {
			inside(body, len, val[i], vlen[i]);
			char text[64]; /* small: the room's bound is tried as well */
			int n = val[i] ? json_unescape(val[i], vlen[i], text, sizeof text) : -1;
			if (n >= (int)sizeof text || (n >= 0 && strlen(text) != (size_t)n))
				__builtin_trap();
		}
	}

	struct json_checks c = {.n = 2, .path = {path, "$.status"}, .value = {"1", "ok"}};
	char why[128];
	if (json_expect(body, len, &c, why, sizeof why) != 0 && !why[0])
		__builtin_trap(); /* a failure always says why */
	free(body);
	return 0;
}
