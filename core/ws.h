/* ws.h: the WebSocket protocol (RFC 6455) without I/O: the opening handshake's key and accept
 * value, the client frame encoder, and an incremental receive decoder that reassembles
 * fragmented messages into a bounded buffer and checks what a client must check. The
 * connection that moves the bytes is in wsc.h. */
#ifndef WS_H
#define WS_H

#include <stddef.h>
#include <stdint.h>

#ifndef OP_WS_MSG_MAX
#define OP_WS_MSG_MAX 16384 /* bytes of one reassembled message, the most a config may allow */
#endif

enum ws_opcode {
	WS_CONT = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2, WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xA,
};

/* Close status codes this side uses. */
enum {
	WS_CLOSE_NORMAL = 1000, WS_CLOSE_GOING_AWAY = 1001, WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_NO_STATUS = 1005, WS_CLOSE_ABNORMAL = 1006, WS_CLOSE_BAD_DATA = 1007,
	WS_CLOSE_TOO_BIG = 1009,
};

/* Sec-WebSocket-Key from 16 random bytes (a 24-character base64 string + NUL in key[25]). */
void ws_key_make(const uint8_t nonce[16], char key[25]);
/* The Sec-WebSocket-Accept a server must answer key with (28 characters + NUL). */
void ws_accept_for(const char *key, char accept[29]);

/* Encode one masked client frame (FIN set) of opcode with n payload bytes into out (cap
 * bytes). Returns the frame length, or OP_ETOOBIG when it does not fit (control frames also
 * when n > 125). */
int ws_frame_encode(uint8_t *out, size_t cap, int opcode, const void *payload, size_t n,
	const uint8_t mask[4]);

/* What the decoder delivers. */
enum ws_rx_event {
	WS_RX_MESSAGE, /* a whole text or binary message: opcode, data, len */
	WS_RX_PING,    /* answer with a pong carrying data */
	WS_RX_PONG,
	WS_RX_CLOSE,   /* the peer's close: code (WS_CLOSE_NO_STATUS when absent), data = reason */
};
typedef void ws_rx_fn(void *udata, int event, int opcode, int code, const uint8_t *data,
	size_t len);

/* Receive state: caller-allocated; msg is the reassembly buffer of msg_cap bytes. */
struct ws_rx {
	uint8_t *msg;
	size_t msg_cap, msg_len;
	uint8_t msg_opcode;       /* opcode of the message being reassembled, 0 when none */
	uint8_t hdr[14];
	uint8_t hdr_len, hdr_need;
	uint8_t opcode, fin, masked;
	uint64_t left;            /* payload bytes of the current frame still to come */
	uint8_t ctrl[125];
	uint8_t ctrl_len;
	uint8_t closed;           /* a close frame arrived: nothing more is read */
	int error;                /* the close code a failure calls for, or 0 */
	const char *why;          /* what went wrong, for the failure reason */
};

void ws_rx_init(struct ws_rx *rx, uint8_t *msg, size_t msg_cap);
/* Consume n received bytes, delivering events to cb in order. Returns 0, or OP_EPROTO (with
 * rx->error the close code to send — 1002 protocol, 1007 bad UTF-8, 1009 too big — and rx->why
 * the text); after an error or a close frame the rest is ignored. */
int ws_rx_feed(struct ws_rx *rx, const uint8_t *data, size_t n, ws_rx_fn *cb, void *udata);

#endif
