/* ws.c: WebSocket framing and handshake values (RFC 6455), no I/O.
 *
 * The decoder is a two-state machine, header -> payload -> header, that takes bytes in any
 * split: a header is gathered into rx->hdr (2 to 14 bytes), a payload goes straight into the
 * message buffer (data) or rx->ctrl (control frames, which may arrive between fragments). */
#include <string.h>
#include <mbedtls/sha1.h>
#include "op.h"
#include "ws.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void ws_key_make(const uint8_t nonce[16], char key[25])
{
	op_base64(key, 25, nonce, 16);
}

void ws_accept_for(const char *key, char accept[29])
{
	uint8_t in[64 + sizeof ws_guid], sum[20];
	size_t kl = 0;
	while (kl < 64 && key[kl])
		kl++;
	memcpy(in, key, kl);
	memcpy(in + kl, ws_guid, sizeof ws_guid - 1);
	mbedtls_sha1_ret(in, kl + sizeof ws_guid - 1, sum);
	op_base64(accept, 29, sum, sizeof sum);
}

int ws_frame_encode(uint8_t *out, size_t cap, int opcode, const void *payload, size_t n,
	const uint8_t mask[4])
{
	size_t h = n < 126 ? 2 : n <= 0xffff ? 4 : 10;
	if ((opcode & 8) && n > 125)
		return OP_ETOOBIG;
	if (cap < h + 4 || n > cap - h - 4 || n > INT32_MAX - 14)
		return OP_ETOOBIG;
	out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
	if (n < 126) {
		out[1] = (uint8_t)(0x80 | n);
	} else if (h == 4) {
		out[1] = 0x80 | 126;
		out[2] = (uint8_t)(n >> 8);
		out[3] = (uint8_t)n;
	} else {
		out[1] = 0x80 | 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	}
	memcpy(out + h, mask, 4);
	const uint8_t *p = payload;
	for (size_t i = 0; i < n; i++)
		out[h + 4 + i] = p[i] ^ mask[i & 3];
	return (int)(h + 4 + n);
}

void ws_rx_init(struct ws_rx *rx, uint8_t *msg, size_t msg_cap)
{
	memset(rx, 0, sizeof *rx);
	rx->msg = msg;
	rx->msg_cap = msg_cap;
	rx->hdr_need = 2;
}

static int fail(struct ws_rx *rx, int code, const char *why)
{
	rx->error = code;
	rx->why = why;
	return OP_EPROTO;
}

static int close_code_valid(int c)
{
	return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

/* The header in rx->hdr is complete: check it and set up the payload. */
static int header_done(struct ws_rx *rx)
{
	uint8_t b0 = rx->hdr[0], b1 = rx->hdr[1];
	rx->fin = b0 >> 7;
	rx->opcode = b0 & 0x0f;
	rx->masked = b1 >> 7;
	if (b0 & 0x70)
		return fail(rx, WS_CLOSE_PROTOCOL, "reserved bits set (no extension was agreed)");
	if (rx->masked)
		return fail(rx, WS_CLOSE_PROTOCOL, "masked frame from the server");
	uint64_t len = b1 & 0x7f;
	if (len == 126)
		len = (uint64_t)rx->hdr[2] << 8 | rx->hdr[3];
	else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | rx->hdr[2 + i];
		if (len >> 63)
			return fail(rx, WS_CLOSE_PROTOCOL, "frame length with the top bit set");
	}
	switch (rx->opcode) {
	case WS_CLOSE:
	case WS_PING:
	case WS_PONG:
		if (!rx->fin)
			return fail(rx, WS_CLOSE_PROTOCOL, "fragmented control frame");
		if (len > 125)
			return fail(rx, WS_CLOSE_PROTOCOL, "control frame over 125 bytes");
		rx->ctrl_len = 0;
		break;
	case WS_CONT:
		if (!rx->msg_opcode)
			return fail(rx, WS_CLOSE_PROTOCOL, "continuation frame with no message begun");
		break;
	case WS_TEXT:
	case WS_BINARY:
		if (rx->msg_opcode)
			return fail(rx, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
		rx->msg_opcode = rx->opcode;
		rx->msg_len = 0;
		break;
	default:
		return fail(rx, WS_CLOSE_PROTOCOL, "unknown opcode");
	}
	if (!(rx->opcode & 8) && len > rx->msg_cap - rx->msg_len)
		return fail(rx, WS_CLOSE_TOO_BIG, "message larger than max_message");
	rx->left = len;
	return 0;
}

/* The current frame's payload is complete: deliver what it finishes. */
static int frame_done(struct ws_rx *rx, ws_rx_fn *cb, void *udata)
{
	switch (rx->opcode) {
	case WS_PING:
		cb(udata, WS_RX_PING, WS_PING, 0, rx->ctrl, rx->ctrl_len);
		return 0;
	case WS_PONG:
		cb(udata, WS_RX_PONG, WS_PONG, 0, rx->ctrl, rx->ctrl_len);
		return 0;
	case WS_CLOSE: {
		int code = WS_CLOSE_NO_STATUS;
		if (rx->ctrl_len == 1)
			return fail(rx, WS_CLOSE_PROTOCOL, "close frame with a one-byte body");
		if (rx->ctrl_len >= 2) {
			code = rx->ctrl[0] << 8 | rx->ctrl[1];
			if (!close_code_valid(code))
				return fail(rx, WS_CLOSE_PROTOCOL, "invalid close code");
			if (op_utf8_prefix(rx->ctrl + 2, rx->ctrl_len - 2u) != rx->ctrl_len - 2u)
				return fail(rx, WS_CLOSE_BAD_DATA, "close reason is not UTF-8");
		}
		rx->closed = 1;
		cb(udata, WS_RX_CLOSE, WS_CLOSE, code, rx->ctrl + (rx->ctrl_len >= 2 ? 2 : 0),
			rx->ctrl_len >= 2 ? rx->ctrl_len - 2u : 0);
		return 0;
	}
	default:
		if (!rx->fin)
			return 0;
		if (rx->msg_opcode == WS_TEXT && op_utf8_prefix(rx->msg, rx->msg_len) != rx->msg_len)
			return fail(rx, WS_CLOSE_BAD_DATA, "text message is not UTF-8");
		int op = rx->msg_opcode;
		rx->msg_opcode = 0;
		cb(udata, WS_RX_MESSAGE, op, 0, rx->msg, rx->msg_len);
		return 0;
	}
}

int ws_rx_feed(struct ws_rx *rx, const uint8_t *data, size_t n, ws_rx_fn *cb, void *udata)
{
	size_t i = 0;
	if (rx->error)
		return OP_EPROTO;
	while (i < n && !rx->closed) {
		if (rx->hdr_need) {
			rx->hdr[rx->hdr_len++] = data[i++];
			if (rx->hdr_len < rx->hdr_need)
				continue;
			if (rx->hdr_len == 2) {
				/* now the extended length's size is known */
				uint8_t l7 = rx->hdr[1] & 0x7f;
				uint8_t extra = (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (rx->hdr[1] & 0x80 ? 4 : 0);
				if (extra) {
					rx->hdr_need = 2 + extra;
					continue;
				}
			}
			rx->hdr_need = 0;
			if (header_done(rx) != 0)
				return OP_EPROTO;
			if (rx->left)
				continue;
		} else {
			size_t take = (size_t)OP_MIN((uint64_t)(n - i), rx->left);
			uint8_t *dst = rx->opcode & 8 ? rx->ctrl + rx->ctrl_len : rx->msg + rx->msg_len;
			memcpy(dst, data + i, take);
			if (rx->opcode & 8)
				rx->ctrl_len = (uint8_t)(rx->ctrl_len + take);
			else
				rx->msg_len += take;
			i += take;
			rx->left -= take;
			if (rx->left)
				continue;
		}
		/* a whole frame: deliver it, then expect the next header */
		rx->hdr_len = 0;
		rx->hdr_need = 2;
		if (frame_done(rx, cb, udata) != 0)
			return OP_EPROTO;
	}
	return 0;
}
