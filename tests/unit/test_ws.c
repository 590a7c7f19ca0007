/* test_ws.c: WebSocket handshake values, the frame encoder and the receive decoder, fed whole,
 * byte by byte and in every split. */
#include "t.h"
#include "../../core/op.h"
#include "../../core/ws.h"

/* What the decoder delivered, flattened: "M1:hello P:x C1000:bye" */
struct seen {
	char log[4096];
	size_t len;
};

static void on_rx(void *udata, int event, int opcode, int code, const uint8_t *data, size_t len)
{
	struct seen *s = udata;
	char head[32];
	switch (event) {
	case WS_RX_MESSAGE: snprintf(head, sizeof head, "M%d:", opcode); break;
	case WS_RX_PING: snprintf(head, sizeof head, "P:"); break;
	case WS_RX_PONG: snprintf(head, sizeof head, "O:"); break;
	default: snprintf(head, sizeof head, "C%d:", code); break;
	}
	s->len += (size_t)snprintf(s->log + s->len, sizeof s->log - s->len, "%s%.*s ", head,
		(int)OP_MIN(len, 64), (const char *)data);
}

/* A server frame (unmasked) into out; returns its length. */
static size_t frame(uint8_t *out, int b0, const char *payload, size_t n)
{
	size_t h = 2;
	out[0] = (uint8_t)b0;
	if (n < 126) {
		out[1] = (uint8_t)n;
	} else if (n < 65536) {
		out[1] = 126, out[2] = (uint8_t)(n >> 8), out[3] = (uint8_t)n, h = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
		h = 10;
	}
	memcpy(out + h, payload, n);
	return h + n;
}

/* Feed in pieces of step bytes (0: all at once). */
static int feed(struct ws_rx *rx, const uint8_t *b, size_t n, size_t step, struct seen *s)
{
	if (!step)
		return ws_rx_feed(rx, b, n, on_rx, s);
	for (size_t i = 0; i < n; i += step) {
		int rc = ws_rx_feed(rx, b + i, OP_MIN(step, n - i), on_rx, s);
		if (rc)
			return rc;
	}
	return 0;
}

static void test_accept_value_from_the_rfc(void)
{
	char acc[29];
	ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", acc); /* RFC 6455 section 1.3 */
	ASSERT_STR_EQ(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	uint8_t nonce[16] = "the sample nonce";
	char key[25];
	ws_key_make(nonce, key);
	ASSERT_STR_EQ(key, "dGhlIHNhbXBsZSBub25jZQ==");
}

static void test_encoder_masks_and_sizes(void)
{
	uint8_t out[70000], mask[4] = {0x37, 0xfa, 0x21, 0x3d};
	int n = ws_frame_encode(out, sizeof out, WS_TEXT, "Hello", 5, mask);
	/* RFC 6455 section 5.7: a masked "Hello" */
	const uint8_t want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
	ASSERT_EQ(n, sizeof want);
	ASSERT(!memcmp(out, want, sizeof want));
	static char big[66000];
	ASSERT_EQ(ws_frame_encode(out, sizeof out, WS_BINARY, big, 200, mask), 2 + 2 + 4 + 200);
	ASSERT_EQ(out[1], 0x80 | 126);
	ASSERT_EQ(ws_frame_encode(out, sizeof out, WS_BINARY, big, 65536, mask), 2 + 8 + 4 + 65536);
	ASSERT_EQ(out[1], 0x80 | 127);
	ASSERT_EQ(ws_frame_encode(out, 10, WS_TEXT, big, 5, mask), OP_ETOOBIG);
	ASSERT_EQ(ws_frame_encode(out, sizeof out, WS_PING, big, 126, mask), OP_ETOOBIG);
}

static void test_utf8(void)
{
	ASSERT_EQ(op_utf8_prefix((const uint8_t *)"plain", 5), 5);
	ASSERT_EQ(op_utf8_prefix((const uint8_t *)"\xce\xba\xe1\xbd\xb9\xf0\x9f\x98\x80", 9), 9);
	ASSERT(op_utf8_prefix((const uint8_t *)"\xc0\xaf", 2) != 2);         /* overlong '/' */
	ASSERT(op_utf8_prefix((const uint8_t *)"\xed\xa0\x80", 3) != 3);     /* surrogate */
	ASSERT(op_utf8_prefix((const uint8_t *)"\xf4\x90\x80\x80", 4) != 4); /* past U+10FFFF */
	ASSERT(op_utf8_prefix((const uint8_t *)"\xe1\xbd", 2) != 2);         /* cut short */
	ASSERT(op_utf8_prefix((const uint8_t *)"\xff", 1) != 1);
}

/* Fragmented text with a ping in the middle, a binary message with a 16-bit length, a close:
 * the same events in every split. */
static void test_decoder_in_every_split(void)
{
	static uint8_t in[4096], msg[1024];
	static char bin[300];
	memset(bin, 'b', sizeof bin);
	size_t n = 0;
	n += frame(in + n, 0x01, "Hel", 3);         /* text, not final */
	n += frame(in + n, 0x89, "x", 1);           /* ping */
	n += frame(in + n, 0x00, "lo ", 3);         /* continuation */
	n += frame(in + n, 0x80, "\xce\xba", 2);    /* final continuation */
	n += frame(in + n, 0x82, bin, sizeof bin);  /* binary, 16-bit length */
	n += frame(in + n, 0x8A, "", 0);            /* pong */
	n += frame(in + n, 0x88, "\x03\xe8" "bye", 5);
	n += frame(in + n, 0x81, "after", 5);       /* ignored after close */
	const char *want = "P:x M1:Hello \xce\xba M2:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb "
		"O: C1000:bye ";
	for (size_t step = 0; step <= 17; step++) {
		struct ws_rx rx;
		struct seen s = {0};
		ws_rx_init(&rx, msg, sizeof msg);
		ASSERT_EQ(feed(&rx, in, n, step, &s), 0);
		ASSERT_STR_EQ(s.log, want);
		ASSERT(rx.closed);
	}
}

static void test_decoder_64bit_length(void)
{
	static uint8_t in[70000], msg[70000];
	static char big[66000];
	memset(big, 'z', sizeof big);
	size_t n = frame(in, 0x82, big, sizeof big);
	ASSERT_EQ(in[1], 127);
	struct ws_rx rx;
	struct seen s = {0};
	ws_rx_init(&rx, msg, sizeof msg);
	ASSERT_EQ(feed(&rx, in, n, 1000, &s), 0);
	ASSERT(!memcmp(s.log, "M2:zzz", 6));
	ASSERT_EQ(rx.msg_len, sizeof big);
}

struct bad {
	const char *name;
	uint8_t bytes[16];
	size_t n;
	int code;
	const char *why;
};

static void test_decoder_rejects_with_codes(void)
{
	static const struct bad cases[] = {
		{"rsv", {0xC1, 0x01, 'a'}, 3, 1002, "reserved bits"},
		{"masked", {0x81, 0x81, 1, 2, 3, 4, 'a'}, 7, 1002, "masked frame"},
		{"opcode", {0x83, 0x00}, 2, 1002, "unknown opcode"},
		{"big ping", {0x89, 126, 0, 126}, 4, 1002, "over 125"},
		{"fragmented ping", {0x09, 0x00}, 2, 1002, "fragmented control"},
		{"lone continuation", {0x80, 0x01, 'a'}, 3, 1002, "no message begun"},
		{"nested message", {0x01, 0x01, 'a', 0x81, 0x01, 'b'}, 6, 1002, "inside a fragmented"},
		{"bad utf8", {0x81, 0x02, 0xc0, 0xaf}, 4, 1007, "not UTF-8"},
		{"too big", {0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 10, 1009, "max_message"},
		{"close 1 byte", {0x88, 0x01, 0x03}, 3, 1002, "one-byte"},
		{"close code", {0x88, 0x02, 0x03, 0xed}, 4, 1002, "invalid close code"},
		{"top bit", {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, 10, 1002, "top bit"},
	};
	for (size_t i = 0; i < OP_ARRAY_LEN(cases); i++) {
		uint8_t msg[1024];
		struct ws_rx rx;
		struct seen s = {0};
		ws_rx_init(&rx, msg, sizeof msg);
		int rc = feed(&rx, cases[i].bytes, cases[i].n, 1, &s);
		if (rc != OP_EPROTO || rx.error != cases[i].code || !strstr(rx.why, cases[i].why))
			T_FAIL_AT("%s: rc %d code %d why %s", cases[i].name, rc, rx.error,
				rx.why ? rx.why : "-");
		/* a decoder that failed stays failed */
		ASSERT_EQ(ws_rx_feed(&rx, (const uint8_t *)"\x81\x01" "a", 3, on_rx, &s), OP_EPROTO);
	}
}

/* A message that fills the buffer exactly passes; one byte more is 1009, also when the excess
 * comes in a later fragment. */
static void test_message_bound(void)
{
	uint8_t in[64], msg[8];
	struct ws_rx rx;
	struct seen s = {0};
	ws_rx_init(&rx, msg, sizeof msg);
	size_t n = frame(in, 0x81, "12345678", 8);
	ASSERT_EQ(ws_rx_feed(&rx, in, n, on_rx, &s), 0);
	ASSERT_STR_EQ(s.log, "M1:12345678 ");
	n = frame(in, 0x01, "12345", 5);
	n += frame(in + n, 0x80, "6789", 4);
	ASSERT_EQ(ws_rx_feed(&rx, in, n, on_rx, &s), OP_EPROTO);
	ASSERT_EQ(rx.error, 1009);
}

int main(void)
{
	RUN(test_accept_value_from_the_rfc);
	RUN(test_encoder_masks_and_sizes);
	RUN(test_utf8);
	RUN(test_decoder_in_every_split);
	RUN(test_decoder_64bit_length);
	RUN(test_decoder_rejects_with_codes);
	RUN(test_message_bound);
	return T_DONE();
}
