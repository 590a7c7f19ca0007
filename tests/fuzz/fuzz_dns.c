/* fuzz_dns.c: the DNS reply decoder on arbitrary bytes. */
#include "../../core/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_reply r;
	int rc = dns_decode_reply(data, size, &r);
	if (rc == 0 && r.n > OP_DNS_MAX_ANSWERS)
		__builtin_trap();
	return 0;
}
