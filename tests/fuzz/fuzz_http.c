/* fuzz_http.c: the response-head parser and the chunked decoder on arbitrary bytes: the head
 * is unfolded (obs-fold) and parsed, as the client does; whatever follows it is fed to the
 * chunked decoder in two pieces. */
#include <stdlib.h>
#include <string.h>
#include "../../core/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_header h[16];
	struct http_response r = {.headers = h, .nheaders = 16};
	char *head = malloc(size ? size : 1); /* exactly size: an over-read is caught */
	memcpy(head, data, size);
	int n = http_parse_received(head, size, &r);
	free(head);
	if (n > (int)size || (n > 0 && r.nheaders > 16))
		__builtin_trap();
	size_t off = n > 0 ? (size_t)n : 0, rest = size - off;
	char *body = malloc(rest ? rest : 1);
	memcpy(body, data + off, rest);
	struct http_chunked d = {0};
	size_t half = rest / 2, len = half;
	int rc = http_chunked_decode(&d, body, &len);
	if (len > half)
		__builtin_trap();
	if (rc == OP_EPARTIAL) {
		size_t len2 = rest - half;
		rc = http_chunked_decode(&d, body + half, &len2);
		if (len2 > rest - half)
			__builtin_trap();
	}
	free(body);
	return 0;
}
