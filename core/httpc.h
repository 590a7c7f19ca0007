/* httpc.h: our HTTP/1.1 client, as the state of a probe run: request, response head, body
 * framing (Content-Length, chunked, close), redirects, TLS. Kinds that speak HTTP (http,
 * pipeline) keep a struct httpc in their run state, start it, pass it their run's events, and
 * get done() once the response is complete; failures end the run with a reason. */
#ifndef HTTPC_H
#define HTTPC_H

#include "http_parse.h"
#include "probe.h"

struct inflate;

#ifndef OP_HTTP_HEAD_MAX
#define OP_HTTP_HEAD_MAX 8192 /* response head bytes; more fails with "response too large" */
#endif
#ifndef OP_HTTP_MAX_HEADERS
#define OP_HTTP_MAX_HEADERS 64
#endif
#ifndef OP_HTTP_KEEP
#define OP_HTTP_KEEP 16384 /* body bytes kept for assertions */
#endif
#ifndef OP_HTTP_REQ_MAX
#define OP_HTTP_REQ_MAX 4096
#endif
#ifndef OP_HTTP_DECODE_SLICE
#define OP_HTTP_DECODE_SLICE (1u << 20) /* decoded body bytes a turn of the loop: a few ms */
#endif

/* What to send, and how. Must stay valid for the whole run. */
struct httpc_req {
	const char *method, *headers, *body; /* headers: "Name: value\r\n" lines, or NULL */
	size_t body_len;                     /* 0: strlen(body) (a binary body sets it) */
	const char *host, *path;
	const struct probe_tls *tls_set;     /* TLS settings; NULL when TLS cannot happen */
	const struct probe_proxy *proxy;     /* NULL: straight to the host; plain requests go to it
	                                      * in absolute form, https ones through a tunnel */
	const char *auth;                    /* the URL's user:password, "Authorization: Basic
	                                      * ...\r\n", for host only; NULL when none */
	uint32_t max_redirects, max_body_kib;
	uint16_t port;
	uint8_t tls;                         /* the URL is https (wss) */
	uint8_t compression;                 /* enum inflate_coding asked for and decoded (from
	                                      * the inflaters' pool); 0: bodies as sent */
};

/* At config load: fill q's host, port, path, tls and auth from url (scheme "http" or "ws", each
 * with its "s" form; "user:password@" before the host becomes auth), and its TLS settings from
 * t (probe_tls_configure), for an http URL too when q->max_redirects is set: a redirect may
 * lead to https. field names the URL's key for the error ("target"). 0, or a negative code
 * after cfg_error. */
int httpc_configure(struct cfg_ctx *c, int tok, const struct cfg_probe *p, const char *field,
	const char *url, const char *scheme, struct probe_tls *t, struct httpc_req *q);
/* CFG_FN reader: "compression" ("gzip", "deflate", or "identity", none; blackbox_exporter's)
 * into the uint8_t enum inflate_coding at field. */
int httpc_read_compression(struct cfg_ctx *c, int tok, void *field);
/* A compression and the headers sent with it agree: Accept-Encoding, when headers give it,
 * must accept that coding (what names the probe or step for the error). 0, or a negative code
 * after cfg_error. The caller counts its decoders (cfg_inflater). */
int httpc_compression_configure(struct cfg_ctx *c, int tok, const char *what, const char *headers,
	uint8_t compression);
/* headers with q->auth in front, unless they set Authorization themselves: for a client that
 * takes its headers as one string (the WebSocket upgrade). NULL after cfg_error. */
const char *httpc_headers_with_auth(struct cfg_ctx *c, int tok, const struct httpc_req *q,
	const char *headers);
/* headers with "Content-Type: application/json" in front, unless they give a Content-Type: for
 * a body that is JSON, as curl --json sends it (a JSON API answers 415 to one not said to be
 * JSON). NULL after cfg_error. */
const char *httpc_headers_json(struct cfg_ctx *c, int tok, const char *headers);

struct httpc;
/* The response is complete: status and lengths are in r->facts, the head in h->head, the
 * first h->kept body bytes in h->body, its last byte's arrival in r->conn.rx_us. The callee
 * ends the run (or starts another request). */
typedef void httpc_done_fn(struct probe_run *r, struct httpc *h);

enum httpc_stage { HTTPC_DIAL, HTTPC_SEND, HTTPC_HEAD, HTTPC_BODY };
enum httpc_framing { HTTPC_FR_NONE, HTTPC_FR_LENGTH, HTTPC_FR_CHUNKED, HTTPC_FR_CLOSE };

struct httpc {
	const struct httpc_req *q;
	httpc_done_fn *done;
	struct tls_conn *tls;
	uint8_t stage, framing, got_first, tls_on; /* tls_on: this hop's scheme is https */
	uint16_t interim; /* the last 1xx read before the final response; 0: none */
	uint8_t as_get; /* after a 301, 302 or 303 to a method other than GET or HEAD: a GET,
			 * without the body, from there on (307 and 308 keep both) */
	size_t req_len, sent, head_len, kept;
	size_t extra; /* body bytes sent from the caller's buffer after req */
	uint64_t body_left;
	uint64_t coded_bytes; /* body bytes as sent, while a decoder takes them */
	size_t held_at, held; /* body bytes that came with the head, in head[], not yet decoded */
	struct inflate *z;    /* this response's decoder (held to the end of the run) */
	uint8_t decoded;      /* the body came in the coding asked for, and kept and counted is
			       * the decoded (still so when the decoder has gone back: the checks
			       * may come after httpc_cancel) */
	struct http_chunked ch;
	uint16_t port;
	char host[DNS_NAME_MAX];
	char path[1024];
	char req[OP_HTTP_REQ_MAX];
	char head[OP_HTTP_HEAD_MAX];
	char body[OP_HTTP_KEEP];
};

/* Begin the request of k on run r (resolve, connect, TLS, send...); done follows, or the run
 * ends with a reason. */
void httpc_start(struct probe_run *r, struct httpc *h, const struct httpc_req *k,
	httpc_done_fn *done);
/* Pass the run's PROBE_EV_* events. */
void httpc_on_event(struct probe_run *r, struct httpc *h, int ev, unsigned events);
/* Release the TLS context (from the kind's cancel). */
void httpc_cancel(struct httpc *h);

/* After a response: the pause its Retry-After asks for (delta-seconds, or an HTTP date less
 * now), at most 5 minutes, in µs; 0 when it has none that reads. For a collector or a chat
 * service that is failed by a 429 or 503: the next try waits at least that long. */
uint64_t httpc_pause_us(const struct httpc *h);

#endif
