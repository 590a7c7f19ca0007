/* fuzz_dns.c: the DNS reply decoder on arbitrary bytes, and the same bytes as a host name to
 * put in its IDNA form (which must come out all ASCII, within its bound, or be refused). */
#include <string.h>
#include "../../core/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_reply r;
	int rc = dns_decode_reply(data, size, &r);
	if (rc == 0 && r.n > OP_DNS_MAX_ANSWERS)
		__builtin_trap();
	char name[300], out[DNS_NAME_MAX];
	size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
	memcpy(name, data, n);
	name[n] = 0;
	int len = dns_name_ascii(name, out, sizeof out);
	if (len >= (int)sizeof out || (len >= 0 && strlen(out) != (size_t)len))
		__builtin_trap();
	for (int i = 0; i < len; i++)
		if ((unsigned char)out[i] >= 0x80)
			__builtin_trap();
	return 0;
}
