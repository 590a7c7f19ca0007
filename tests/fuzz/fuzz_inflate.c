/* fuzz_inflate.c: the body decoder on arbitrary bytes (the first chooses the coding and where
 * to cut), fed whole and then in two pieces: both ways must give the same verdict and the same
 * output, and neither may read or write out of bounds. */
#include <string.h>
#include "../../core/inflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	uint64_t sum, n;
};

static int on_out(void *ctx, const uint8_t *p, size_t n)
{
	struct tally *t = ctx;
	for (size_t i = 0; i < n; i++)
		t->sum = t->sum * 131 + p[i];
	t->n += n;
	/* a stream that decodes to megabytes costs the fuzzer time, not coverage */
	return t->n > (1u << 22) ? -7 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct inflate a, b;
	if (size < 1)
		return 0;
	enum inflate_coding c = data[0] & 1 ? INFLATE_DEFLATE : INFLATE_GZIP;
	size_t cut = 1 + (size > 1 ? (data[0] >> 1) % size : 0);
	if (cut > size)
		cut = size;
	struct tally ta = {0}, tb = {0};
	inflate_init(&a, c);
	inflate_init(&b, c);
	int ra = inflate_feed(&a, data + 1, size - 1, on_out, &ta);
	int rb = inflate_feed(&b, data + 1, cut - 1, on_out, &tb);
	if (rb == 0)
		rb = inflate_feed(&b, data + cut, size - cut, on_out, &tb);
	if (ra != rb || (ra == 0 && (ta.n != tb.n || ta.sum != tb.sum ||
		inflate_finished(&a) != inflate_finished(&b))) || (ra == 0 && ta.n != a.total))
		__builtin_trap();
	return 0;
}
