/* wsc.h: a WebSocket client connection (RFC 6455) over a connected transport: the HTTP/1.1
 * upgrade, then frames. The owner connects (and does TLS), hands over the transport, calls
 * wsc_io on its readiness, and gets open, message and end callbacks. Never blocks. */
#ifndef WSC_H
#define WSC_H

#include "net.h"
#include "tls.h"
#include "ws.h"

#ifndef OP_WSC_OUT
#define OP_WSC_OUT 4096 /* upgrade request and queued outgoing frames */
#endif
#ifndef OP_WSC_HEAD
#define OP_WSC_HEAD 4096 /* upgrade response head */
#endif

struct wsc_cb {
	/* The upgrade succeeded: messages may be sent. */
	void (*open)(void *udata);
	/* A whole text or binary message. The owner may call wsc_send or wsc_close here, but must
	 * not end the connection: that happens in end. data is valid during the call only. */
	void (*message)(void *udata, int opcode, const uint8_t *data, size_t len);
	/* Called exactly once, last: err 0 for a close this side began and the peer answered;
	 * OP_ECLOSED when the peer closed (code: its close code, or 1006 without a close frame);
	 * OP_EPROTO for a failed upgrade or a protocol violation (code: the close code sent);
	 * or the transport's error. detail says what happened. The owner then closes the
	 * transport; the wsc must not be used again until wsc_begin. */
	void (*end)(void *udata, int err, int code, const char *detail);
};

enum wsc_state { WSC_UPGRADE, WSC_OPEN, WSC_CLOSING, WSC_ENDED };

struct wsc {
	struct net_conn *conn;
	struct tls_conn *tls; /* NULL for ws:// */
	const struct wsc_cb *cb;
	void *udata;
	uint8_t state;
	char accept[29]; /* the Sec-WebSocket-Accept the server must send */
	const char *headers; /* the request's extra header lines (the config's), or NULL */
	size_t out_len, out_sent, head_len;
	uint64_t rx_us; /* when bytes last arrived (loop clock) */
	struct ws_rx rx;
	uint8_t out[OP_WSC_OUT];
	char head[OP_WSC_HEAD];
	uint8_t msg[OP_WS_MSG_MAX];
};

/* Begin the upgrade on a connected transport: GET path with Host host_hdr, extra header lines
 * ("Name: value\r\n", may be NULL). max_message (at most OP_WS_MSG_MAX) bounds a reassembled
 * message. Returns 0, or OP_ETOOBIG when the request does not fit (nothing is called). */
int wsc_begin(struct wsc *w, struct net_conn *conn, struct tls_conn *tls, const char *host_hdr,
	const char *path, const char *headers, size_t max_message, const struct wsc_cb *cb,
	void *udata);
/* Drive the connection on the transport's readiness. */
void wsc_io(struct wsc *w);
/* Queue and start sending one message (WS_TEXT or WS_BINARY) or a ping. Returns 0, OP_EINVAL
 * when not open, or OP_ETOOBIG when it does not fit in the output buffer. */
int wsc_send(struct wsc *w, int opcode, const void *data, size_t len);
/* Begin the close handshake with code; end follows when the peer answers (the owner's
 * deadline covers a peer that never does). */
void wsc_close(struct wsc *w, int code);

#endif
