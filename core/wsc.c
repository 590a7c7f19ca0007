/* wsc.c: the WebSocket client connection.
 *
 *   UPGRADE (send request, read 101 head, check accept) -> OPEN -> [CLOSING] -> ENDED
 *
 * Output is queued in w->out and written on writability only, so wsc_send and wsc_close never
 * end the connection under their caller; every ending goes through finish(), once. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "http_parse.h"
#include "rand.h"
#include "wsc.h"

static void want(struct wsc *w)
{
	net_want(w->conn, PLAT_READ | (w->out_sent < w->out_len ? PLAT_WRITE : 0));
}

static void finish(struct wsc *w, int err, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void finish(struct wsc *w, int err, int code, const char *fmt, ...)
{
	char detail[OP_DETAIL_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	w->state = WSC_ENDED;
	w->cb->end(w->udata, err, code, detail);
}

/* Append a masked frame to the output queue. */
static int queue(struct wsc *w, int opcode, const void *data, size_t len)
{
	if (w->out_sent == w->out_len)
		w->out_sent = w->out_len = 0;
	uint32_t m = op_rand32();
	uint8_t mask[4] = {(uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16), (uint8_t)(m >> 24)};
	int n = ws_frame_encode(w->out + w->out_len, sizeof w->out - w->out_len, opcode, data, len,
		mask);
	if (n < 0)
		return n;
	w->out_len += (size_t)n;
	return 0;
}

static void queue_close(struct wsc *w, int code)
{
	uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};
	queue(w, WS_CLOSE, b, 2);
}

int wsc_begin(struct wsc *w, struct net_conn *conn, struct tls_conn *tls, const char *host_hdr,
	const char *path, const char *headers, size_t max_message, const struct wsc_cb *cb,
	void *udata)
{
	uint8_t nonce[16];
	char key[25];
	for (int i = 0; i < 16; i += 4) {
		uint32_t v = op_rand32();
		memcpy(nonce + i, &v, 4);
	}
	ws_key_make(nonce, key);
	ws_accept_for(key, w->accept);
	/* a configured Host or User-Agent replaces ours (as in httpc) */
	int own_host = !http_lines_have(headers, "Host"), own_ua = !http_lines_have(headers,
		"User-Agent");
	int n = snprintf((char *)w->out, sizeof w->out,
		"GET %s HTTP/1.1\r\n%s%s%sUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s\r\n",
		path, own_host ? "Host: " : "", own_host ? host_hdr : "", own_host ? "\r\n" : "", key,
		own_ua ? "User-Agent: outpost\r\n" : "", headers ? headers : "");
	if (n < 0 || (size_t)n >= sizeof w->out)
		return OP_ETOOBIG;
	w->conn = conn;
	w->tls = tls;
	w->headers = headers;
	w->cb = cb;
	w->udata = udata;
	w->state = WSC_UPGRADE;
	w->out_len = (size_t)n;
	w->out_sent = w->head_len = 0;
	w->rx_us = op_loop.now_us;
	ws_rx_init(&w->rx, w->msg, OP_MIN(max_message, sizeof w->msg));
	want(w);
	return 0;
}

int wsc_send(struct wsc *w, int opcode, const void *data, size_t len)
{
	OP_CHECK(w->state == WSC_OPEN, OP_EINVAL);
	int rc = queue(w, opcode, data, len);
	if (rc == 0)
		want(w);
	return rc;
}

void wsc_close(struct wsc *w, int code)
{
	if (w->state != WSC_OPEN)
		return;
	queue_close(w, code);
	w->state = WSC_CLOSING;
	want(w);
}

/* Did the request's headers offer the subprotocol p[0..n) (a token of its
 * Sec-WebSocket-Protocol list; they are compared as written, RFC 6455 4.1)? */
static int offered(const char *headers, const char *p, size_t n)
{
	const char *end;
	for (const char *l = headers; l && (end = strstr(l, "\r\n")) != NULL; l = end + 2) {
		if (!http_line_is(l, "Sec-WebSocket-Protocol"))
			continue;
		for (const char *v = strchr(l, ':') + 1; v < end;) {
			v += strspn(v, " \t,");
			size_t t = strcspn(v, " \t,\r");
			if (t == n && !memcmp(v, p, n))
				return 1;
			v += t;
		}
	}
	return 0;
}

/* Check the upgrade response in w->head. Returns the head's length (the bytes after it are
 * frames), 0 for more, or -1 after finishing. */
static int upgrade_done(struct wsc *w)
{
	struct http_header h[32];
	struct http_response resp = {.headers = h, .nheaders = 32};
	int n = http_parse_received(w->head, w->head_len, &resp);
	char why[80];
	if (n == OP_EPARTIAL && w->head_len < sizeof w->head)
		return 0;
	if (n == OP_EPARTIAL)
		return finish(w, OP_EPROTO, 0, "upgrade response head over %zu bytes", sizeof w->head),
			-1;
	if (n == OP_ETOOBIG)
		return finish(w, OP_EPROTO, 0, "upgrade response of more than %zu headers",
			OP_ARRAY_LEN(h)), -1;
	if (n < 0)
		return finish(w, OP_EPROTO, 0, "upgrade: %s",
			http_fault(w->head, w->head_len, &resp, why, sizeof why)), -1;
	if (resp.status != 101)
		return finish(w, OP_EPROTO, 0, "upgrade answered with status %d, not 101",
			resp.status), -1;
	const struct http_header *up = http_find_header(&resp, "Upgrade");
	const struct http_header *conn = http_find_header(&resp, "Connection");
	const struct http_header *acc = http_find_header(&resp, "Sec-WebSocket-Accept");
	if (!up || !http_header_has_token(up, "websocket") || !conn ||
		!http_header_has_token(conn, "upgrade"))
		return finish(w, OP_EPROTO, 0, "101 without Upgrade: websocket and Connection: upgrade"),
			-1;
	if (!acc || acc->value_len != 28 || memcmp(acc->value, w->accept, 28))
		return finish(w, OP_EPROTO, 0, "Sec-WebSocket-Accept %s", acc ? "does not match the key" :
			"missing"), -1;
	if (http_find_header(&resp, "Sec-WebSocket-Extensions"))
		return finish(w, OP_EPROTO, 0, "server chose an extension none was offered"), -1;
	const struct http_header *proto = http_find_header(&resp, "Sec-WebSocket-Protocol");
	if (proto && !offered(w->headers, proto->value, proto->value_len))
		return finish(w, OP_EPROTO, 0, "server chose subprotocol \"%.*s\", which was not "
			"offered", (int)OP_MIN(proto->value_len, 32), proto->value), -1;
	return n;
}

/* Decoder events. Control replies are queued; a peer close is noted and handled after the
 * feed, so callbacks never see a half-updated connection. */
static void on_rx(void *udata, int event, int opcode, int code, const uint8_t *data, size_t len)
{
	struct wsc *w = udata;
	switch (event) {
	case WS_RX_MESSAGE:
		if (w->state == WSC_OPEN)
			w->cb->message(w->udata, opcode, data, len);
		break;
	case WS_RX_PING:
		if (w->state == WSC_OPEN)
			queue(w, WS_PONG, data, len);
		break;
	case WS_RX_CLOSE:
		if (w->state == WSC_OPEN)
			queue_close(w, code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : code);
		break;
	}
}

/* Feed received frame bytes. Returns 0 to go on, -1 after finishing. */
static int feed(struct wsc *w, const uint8_t *b, size_t n)
{
	int rc = ws_rx_feed(&w->rx, b, n, on_rx, w);
	if (rc != 0) {
		queue_close(w, w->rx.error);
		/* best effort */
		stream_send(w->tls, w->conn, w->out + w->out_sent, w->out_len - w->out_sent);
		return finish(w, OP_EPROTO, w->rx.error, "%s (closed with %d)", w->rx.why,
			w->rx.error), -1;
	}
	if (w->rx.closed) {
		/* the peer's close; our answer (queued in on_rx) goes out with best effort */
		stream_send(w->tls, w->conn, w->out + w->out_sent, w->out_len - w->out_sent);
		const uint8_t *reason = w->rx.ctrl + 2;
		int code = w->rx.ctrl_len >= 2 ? w->rx.ctrl[0] << 8 | w->rx.ctrl[1] : WS_CLOSE_NO_STATUS;
		int rlen = w->rx.ctrl_len > 2 ? w->rx.ctrl_len - 2 : 0;
		if (w->state == WSC_CLOSING)
			return finish(w, 0, code, "closed with %d", code), -1;
		return finish(w, OP_ECLOSED, code, "server closed with %d%s%.*s", code,
			rlen ? ": " : "", OP_MIN(rlen, 48), (const char *)reason), -1;
	}
	return 0;
}

void wsc_io(struct wsc *w)
{
	if (w->state == WSC_ENDED)
		return;
	while (w->out_sent < w->out_len) {
		int n = stream_send(w->tls, w->conn, w->out + w->out_sent, w->out_len - w->out_sent);
		if (n == OP_EAGAIN)
			break;
		if (n < 0) {
			char why[OP_DETAIL_MAX];
			stream_error(w->tls, n, why, sizeof why);
			return finish(w, n, WS_CLOSE_ABNORMAL, "send: %s", why);
		}
		w->out_sent += (size_t)n;
	}
	for (int round = 0; round < 64 || stream_pending(w->tls); round++) {
		uint8_t scratch[4096];
		int up = w->state == WSC_UPGRADE;
		uint8_t *dst = up ? (uint8_t *)w->head + w->head_len : scratch;
		size_t cap = up ? sizeof w->head - w->head_len : sizeof scratch;
		int n = stream_recv(w->tls, w->conn, dst, cap);
		if (n == OP_EAGAIN)
			break;
		if (n < 0) {
			char why[OP_DETAIL_MAX];
			stream_error(w->tls, n, why, sizeof why);
			return finish(w, n, WS_CLOSE_ABNORMAL, "recv: %s", why);
		}
		w->rx_us = op_loop.now_us;
		if (n == 0)
			return finish(w, OP_ECLOSED, WS_CLOSE_ABNORMAL, up ?
				"connection closed during the upgrade" :
				"connection closed without a close frame");
		if (up) {
			w->head_len += (size_t)n;
			int hl = upgrade_done(w);
			if (hl <= 0) {
				if (hl < 0)
					return;
				continue;
			}
			w->state = WSC_OPEN;
			w->cb->open(w->udata);
			if (w->state == WSC_ENDED)
				return;
			if (feed(w, (uint8_t *)w->head + hl, w->head_len - (size_t)hl) < 0)
				return;
		} else if (feed(w, scratch, (size_t)n) < 0) {
			return;
		}
	}
	want(w);
}
