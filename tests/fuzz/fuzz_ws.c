/* fuzz_ws.c: the WebSocket receive decoder on arbitrary bytes, fed whole and then split at a
 * point the input chooses: both ways must deliver the same events and never overrun. */
#include <string.h>
#include "../../core/op.h"
#include "../../core/ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	uint64_t sum;
	size_t events;
};

static void on_rx(void *udata, int event, int opcode, int code, const uint8_t *p, size_t len)
{
	struct tally *t = udata;
	t->events++;
	t->sum = t->sum * 31 + (uint64_t)(event * 7 + opcode * 3 + code) + len;
	for (size_t i = 0; i < len; i++)
		t->sum = t->sum * 131 + p[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg_a[512], msg_b[512];
	if (size < 1)
		return 0;
	size_t cut = size > 1 ? data[0] % size : 0;
	struct ws_rx a, b;
	struct tally ta = {0}, tb = {0};
	ws_rx_init(&a, msg_a, sizeof msg_a);
	ws_rx_init(&b, msg_b, sizeof msg_b);
	int ra = ws_rx_feed(&a, data + 1, size - 1, on_rx, &ta);
	int rb = ws_rx_feed(&b, data + 1, cut ? cut - 1 : 0, on_rx, &tb);
	if (rb == 0)
		rb = ws_rx_feed(&b, data + (cut ? cut : 1), size - (cut ? cut : 1), on_rx, &tb);
	if (ra != rb || ta.events != tb.events || ta.sum != tb.sum || a.msg_len > sizeof msg_a)
		__builtin_trap();
	return 0;
}
