/* httpc.c: the HTTP/1.1 client of probe runs.
 *
 *   resolve -> connect -> [CONNECT through a proxy] -> [tls] -> send request -> read head
 *   -> read body -> [redirect: again] -> done()
 *
 * Phases (blackbox_exporter's): resolve, connect, tls, processing (request sent to first byte),
 * transfer (first byte to end of body); redirects add to the same phases. Bodies are framed by
 * Content-Length, chunked encoding or the connection's close; the first OP_HTTP_KEEP bytes are
 * kept, the rest is counted up to max_body_kib. A probe that asks for a compression has the
 * body decoded as it comes (core/inflate), and keeps and counts what it decodes to. */
#include <stdio.h>
#include <string.h>
#include "engine.h"
#include "httpc.h"
#include "inflate.h"
#include "pool.h"
#include "tls.h"

int httpc_configure(struct cfg_ctx *c, int tok, const struct cfg_probe *p, const char *field,
	const char *url, const char *scheme, struct probe_tls *t, struct httpc_req *q)
{
	char host[DNS_NAME_MAX], plain[OP_TARGET_MAX], path[OP_TARGET_MAX + 1];
	int tls;
	int rc = probe_url_credential(c, tok, p, url, "Authorization", plain, sizeof plain, &q->auth);
	if (rc)
		return rc;
	if (net_split_url(plain, scheme, &tls, host, sizeof host, &q->port, path, sizeof path) != 0)
		return cfg_error(c, tok, "%s \"%s\": %s \"%s\" must be a URL like "
			"\"%s://[user:password@]host[:port]/path\" or \"%ss://...\"", cfg_noun(p), p->name,
			field, plain, scheme, scheme);
	const char *fault = dns_name_fault(host);
	if (fault)
		return cfg_error(c, tok, "%s \"%s\": %s \"%s\": the host \"%s\" is not a DNS name: it "
			"has %s", cfg_noun(p), p->name, field, plain, host, fault);
	q->path = cfg_store(c, path, strlen(path));
	q->tls = (uint8_t)tls;
	q->host = cfg_store(c, host, strlen(host));
	if (!q->path || !q->host)
		return cfg_error(c, tok, "configuration too large");
	if (!tls && !q->max_redirects)
		return 0; /* (a redirect may lead to https: then it needs its trust store too) */
	q->tls_set = t;
	return probe_tls_configure(c, tok, t);
}

int httpc_read_compression(struct cfg_ctx *c, int tok, void *field)
{
	const char *s;
	char tmp[32];
	int rc = cfg_scalar(c, tok, &s, tmp, sizeof tmp);
	if (rc)
		return rc;
	for (uint8_t i = 1; i < OP_ARRAY_LEN(inflate_codings); i++)
		if (!strcmp(s, inflate_codings[i]))
			return *(uint8_t *)field = i, 0;
	if (!strcmp(s, "identity"))
		return 0;
	return cfg_error(c, tok, "\"compression\" is \"gzip\" or \"deflate\" (or \"identity\", "
		"none), not \"%s\"%s", s, !strcmp(s, "br") || !strcmp(s, "zstd") ? ": outpost "
		"decodes only those" : "");
}

int httpc_compression_configure(struct cfg_ctx *c, int tok, const char *what, const char *headers,
	uint8_t compression)
{
	const char *coding = inflate_codings[compression];
	if (compression && http_lines_have(headers, "Accept-Encoding") &&
		!http_lines_have_token(headers, "Accept-Encoding", coding))
		return cfg_error(c, tok, "%s: compression \"%s\", but headers' Accept-Encoding does "
			"not accept it: add it there, or leave Accept-Encoding to outpost", what, coding);
	return 0;
}

const char *httpc_headers_with_auth(struct cfg_ctx *c, int tok, const struct httpc_req *q,
	const char *headers)
{
	if (!q->auth || http_lines_have(headers, "Authorization"))
		return headers ? headers : "";
	char buf[2048 + 180];
	int n = snprintf(buf, sizeof buf, "%s%s", q->auth, headers ? headers : "");
	const char *s = cfg_store(c, buf, (size_t)n);
	if (!s)
		cfg_error(c, tok, "configuration too large");
	return s;
}

const char *httpc_headers_json(struct cfg_ctx *c, int tok, const char *headers)
{
	if (http_lines_have(headers, "Content-Type"))
		return headers;
	char buf[2048 + 40];
	int n = snprintf(buf, sizeof buf, "Content-Type: application/json\r\n%s",
		headers ? headers : "");
	const char *s = cfg_store(c, buf, (size_t)n);
	if (!s)
		cfg_error(c, tok, "configuration too large");
	return s;
}

/* Append to the request head; past its end, only count (the caller reports it too large). */
static void put(struct httpc *s, size_t *n, const char *p, size_t len)
{
	if (*n + len < sizeof s->req)
		memcpy(s->req + *n, p, len);
	*n += len;
}

/* Is this configured header line a credential? Those go only where they were meant: after a
 * redirect to another host, or from https down to http, the other headers are sent without
 * them (as curl and Go's client do), so an open redirect cannot collect a token. */
static int credential(const char *line)
{
	return http_line_is(line, "Authorization") || http_line_is(line, "Proxy-Authorization") ||
		http_line_is(line, "Cookie");
}

static int build_request(struct probe_run *r, struct httpc *s, const struct httpc_req *k)
{
	const char *method = s->as_get ? "GET" : k->method;
	size_t blen = s->as_get ? 0 : k->body_len ? k->body_len : k->body ? strlen(k->body) : 0;
	size_t n = 0;
	char hosthdr[DNS_NAME_MAX + 10], line[DNS_NAME_MAX + 160];
	net_host_header(hosthdr, sizeof hosthdr, s->host, s->port, s->tls_on ? 443 : 80);
	put(s, &n, method, strlen(method));
	put(s, &n, " ", 1);
	int via_proxy = k->proxy && !s->tls_on; /* https goes through a tunnel, as if direct */
	if (via_proxy) {
		put(s, &n, "http://", 7);
		put(s, &n, hosthdr, strlen(hosthdr));
	}
	put(s, &n, s->path, strlen(s->path));
	put(s, &n, " HTTP/1.1\r\n", 11);
	/* A configured Host, User-Agent or Accept replaces outpost's own: a probe of one backend
	 * by its address, for its virtual host, sends "Host: api.example.net" (two Host headers
	 * are a 400 to any server: RFC 9112 3.2). The configured Host is for the configured host
	 * only: after a redirect elsewhere it is left out, and the new host named. */
	int origin = dns_name_eq(s->host, k->host) && !(k->tls && !s->tls_on);
	if (!origin || !http_lines_have(k->headers, "Host"))
		put(s, &n, line, (size_t)snprintf(line, sizeof line, "Host: %s\r\n", hosthdr));
	if (!http_lines_have(k->headers, "User-Agent"))
		put(s, &n, line, (size_t)snprintf(line, sizeof line, "User-Agent: outpost/%.40s\r\n",
			op_version));
	if (!http_lines_have(k->headers, "Accept"))
		put(s, &n, "Accept: */*\r\n", 13);
	if (k->compression && !http_lines_have(k->headers, "Accept-Encoding"))
		put(s, &n, line, (size_t)snprintf(line, sizeof line, "Accept-Encoding: %s\r\n",
			inflate_codings[k->compression]));
	/* the URL's user:password: to its own host, as a configured Authorization would be */
	if (k->auth && origin && !http_lines_have(k->headers, "Authorization"))
		put(s, &n, k->auth, strlen(k->auth));
	put(s, &n, "Connection: close\r\n", 19);
	for (const char *l = k->headers; l && *l;) {
		const char *e = strstr(l, "\r\n");
		size_t len = e ? (size_t)(e - l) + 2 : strlen(l);
		if (origin || (!credential(l) && !http_line_is(l, "Host")))
			put(s, &n, l, len);
		l += len;
	}
	if (via_proxy && k->proxy->auth)
		put(s, &n, k->proxy->auth, strlen(k->proxy->auth));
	if (blen || !strcmp(method, "POST") || !strcmp(method, "PUT"))
		put(s, &n, line, (size_t)snprintf(line, sizeof line, "Content-Length: %zu\r\n", blen));
	put(s, &n, "\r\n", 2);
	if (n >= sizeof s->req)
		return probe_run_done(r, 0, REASON_TOO_LARGE, "request head larger than %d bytes",
			OP_HTTP_REQ_MAX), -1;
	/* a small body goes in the same write as the head; a large one is sent from the
	 * caller's buffer after it, never copied */
	s->extra = 0;
	if (blen && n + blen < sizeof s->req) {
		memcpy(s->req + n, k->body, blen);
		n += blen;
	} else {
		s->extra = blen;
	}
	s->req_len = n;
	s->sent = 0;
	return 0;
}

static void decoder_put(struct httpc *s)
{
	if (s->z)
		pool_put(&op_pools[POOL_INFLATE], s->z);
	s->z = NULL;
}

/* A new exchange, at the start or after a redirect: nothing of the last one's reply kept. */
static void exchange_reset(struct httpc *s)
{
	decoder_put(s);
	s->stage = HTTPC_DIAL;
	s->head_len = s->kept = s->held = 0;
	s->got_first = s->decoded = 0;
	s->interim = 0;
	memset(&s->ch, 0, sizeof s->ch);
}

/* Look up where this hop connects: through the proxy when there is one (a plain request goes
 * to it in absolute form; an https hop tunnels through it), else to the host. */
static void dial(struct probe_run *r, struct httpc *s, const struct httpc_req *k)
{
	if (k->proxy && !s->tls_on)
		probe_run_resolve(r, NULL, k->proxy->host, k->proxy->port);
	else
		probe_run_resolve(r, k->proxy, s->host, s->port);
}

/* Follow a Location header; returns 1 when a new request is under way (or the run ended). The
 * reference is taken against the request's URL: absolute ("https://h/p": from http to https
 * is the common upgrade), scheme-relative ("//h/p"), an absolute path ("/p") or relative ("p",
 * "?q", "../p", "#part": the same URL), its "." and ".." segments taken out. It comes from the
 * server: bytes a URL cannot carry are percent-encoded, and the fragment is not sent. */
static int follow(struct probe_run *r, struct httpc *s, const struct httpc_req *k)
{
	struct http_header h[OP_HTTP_MAX_HEADERS];
	struct http_response resp = {.headers = h, .nheaders = OP_HTTP_MAX_HEADERS};
	http_parse_response(s->head, s->head_len, &resp);
	const struct http_header *loc = http_find_header(&resp, "Location");
	if (!loc || loc->value_len == 0)
		return 0;
	char ref[sizeof s->path], url[sizeof s->path + 8];
	size_t n = loc->value_len;
	const char *hash = memchr(loc->value, '#', n);
	if (hash)
		n = (size_t)(hash - loc->value);
	if (net_url_clean(ref, sizeof ref, loc->value, n) < 0)
		return probe_run_done(r, 0, REASON_PROTOCOL, "redirect to a URL over %zu bytes",
			sizeof ref - 1), 1;
	size_t scheme = strcspn(ref, ":/?");
	int tls = s->tls_on;
	if ((scheme > 0 && ref[scheme] == ':') || (ref[0] == '/' && ref[1] == '/')) {
		snprintf(url, sizeof url, "%s%s", ref[0] == '/' ? (tls ? "https:" : "http:") : "",
			ref);
		if (net_split_url(url, "http", &tls, s->host, sizeof s->host, &s->port, s->path,
			sizeof s->path) != 0)
			return probe_run_done(r, 0, REASON_PROTOCOL, "redirect to unsupported "
				"\"%.60s\"", url), 1;
		if (tls && !k->tls_set)
			return probe_run_done(r, 0, REASON_PROTOCOL, "redirect to %.60s: no trust "
				"store for https", url), 1;
	} else if (!ref[0]) { /* "#part": this same URL again */
	} else if (ref[0] != '/') { /* relative: against the path's directory, or its query */
		size_t keep = ref[0] == '?' ? strcspn(s->path, "?") : 0;
		if (!keep)
			for (size_t i = 0; s->path[i] && s->path[i] != '?'; i++)
				if (s->path[i] == '/')
					keep = i + 1;
		if (keep + strlen(ref) >= sizeof s->path)
			return probe_run_done(r, 0, REASON_PROTOCOL, "redirect to a URL over %zu "
				"bytes", sizeof s->path - 1), 1;
		op_strlcpy(s->path + keep, ref, sizeof s->path - keep);
	} else {
		op_strlcpy(s->path, ref, sizeof s->path);
	}
	net_path_remove_dots(s->path); /* as a browser resolves it (RFC 3986 5.2.2) */
	/* RFC 9110 15.4: after a 303 the request is a GET; after a 301 or 302, user agents
	 * change a POST to a GET as well (so do browsers, curl and Go's client, whose checks
	 * blackbox users have): a form POSTed and redirected to its result is not POSTed again */
	int status = r->facts.http_status;
	if ((status == 301 || status == 302 || status == 303) && strcmp(k->method, "GET") &&
		strcmp(k->method, "HEAD"))
		s->as_get = 1;
	r->facts.redirects++;
	r->facts.ssl = (uint8_t)tls;
	s->tls_on = (uint8_t)tls;
	tls_close(s->tls);
	s->tls = NULL;
	net_close(&r->conn);
	exchange_reset(s);
	r->facts.body_bytes = 0;
	if (build_request(r, s, k) == 0)
		dial(r, s, k);
	return 1;
}

static void body_done(struct probe_run *r, struct httpc *s, const struct httpc_req *k)
{
	int status = r->facts.http_status;
	if (s->z && !inflate_finished(s->z)) {
		probe_run_done(r, 0, REASON_PROTOCOL, "%s body ends before its stream does, after "
			"%llu bytes decoded", inflate_codings[k->compression], (unsigned long long)s->z->total);
		return;
	}
	probe_run_phase_at(r, -1, r->conn.rx_us); /* when the last byte arrived */
	if (status >= 300 && status < 400 && r->facts.redirects < k->max_redirects &&
		follow(r, s, k))
		return;
	s->done(r, s);
}

/* Keep and count n bytes of the body as the checks see it. Returns 0, or -1 after ending the
 * run. */
static int body_keep(struct probe_run *r, struct httpc *s, const struct httpc_req *k,
	const uint8_t *p, size_t n)
{
	size_t keep = OP_MIN(n, sizeof s->body - s->kept);
	memcpy(s->body + s->kept, p, keep);
	s->kept += keep;
	r->facts.body_bytes += n;
	if (r->facts.body_bytes > (uint64_t)k->max_body_kib * 1024) {
		probe_run_done(r, 0, REASON_TOO_LARGE, "body larger than max_body_kib %u%s",
			k->max_body_kib, s->z ? " once decoded" : "");
		return -1;
	}
	return 0;
}

struct body_to {
	struct probe_run *r;
	struct httpc *s;
	const struct httpc_req *k;
};

static int decoded(void *ctx, const uint8_t *p, size_t n)
{
	struct body_to *t = ctx;
	return body_keep(t->r, t->s, t->k, p, n);
}

/* Take n body bytes at p (already de-chunked), through the decoder when there is one. Returns
 * 0, or -1 after ending the run. */
static int body_take(struct probe_run *r, struct httpc *s, const struct httpc_req *k,
	const char *p, size_t n)
{
	if (!s->z)
		return body_keep(r, s, k, (const uint8_t *)p, n);
	s->coded_bytes += n;
	if (s->coded_bytes > (uint64_t)k->max_body_kib * 1024) {
		probe_run_done(r, 0, REASON_TOO_LARGE, "body larger than max_body_kib %u",
			k->max_body_kib);
		return -1;
	}
	struct body_to t = {r, s, k};
	/* (a stop from body_keep has ended the run, and s->z is back in its pool: not read) */
	int rc = inflate_feed(s->z, (const uint8_t *)p, n, decoded, &t);
	if (rc == OP_EPROTO)
		probe_run_done(r, 0, REASON_PROTOCOL, "%s body: %s, after %llu bytes decoded",
			inflate_codings[k->compression], s->z->err, (unsigned long long)s->z->total);
	return rc ? -1 : 0;
}

/* Coded body bytes a read takes, so one feed of the decoder yields at most about a MiB
 * (DEFLATE's best ratio is 1032:1). */
#define DECODE_READ 1024

/* Take the body out of its framing: n received bytes at p (in place). Returns 1 when the body
 * is complete, 0 for more, -1 after ending the run. */
static int unframe(struct probe_run *r, struct httpc *s, const struct httpc_req *k, char *p,
	size_t n)
{
	switch (s->framing) {
	case HTTPC_FR_NONE:
		return 1;
	case HTTPC_FR_LENGTH: {
		size_t take = (size_t)OP_MIN((uint64_t)n, s->body_left);
		if (body_take(r, s, k, p, take) < 0)
			return -1;
		s->body_left -= take;
		return s->body_left == 0;
	}
	case HTTPC_FR_CHUNKED: {
		size_t len = n;
		int rc = http_chunked_decode(&s->ch, p, &len);
		if (rc == OP_EPROTO) {
			probe_run_done(r, 0, REASON_PROTOCOL, "bad chunked encoding after %llu bytes",
				(unsigned long long)r->facts.body_bytes);
			return -1;
		}
		if (body_take(r, s, k, p, len) < 0)
			return -1;
		return rc >= 0;
	}
	default:
		return body_take(r, s, k, p, n) < 0 ? -1 : 0;
	}
}

/* Feed n received body bytes at p (in place). Returns 1 when the response is complete (and
 * done, or the redirect, has run), 0 for more, -1 after ending the run. */
static int body_feed(struct probe_run *r, struct httpc *s, const struct httpc_req *k,
	char *p, size_t n)
{
	int rc = unframe(r, s, k, p, n);
	if (rc == 1)
		body_done(r, s, k);
	return rc;
}

/* Parse the head received so far and feed what came after it to the body. Returns 0 for more
 * of the head, 1 when the response is complete (done has run), 2 when the body is under way,
 * -1 after ending the run. */
static int head_done(struct probe_run *r, struct httpc *s, const struct httpc_req *k)
{
	struct http_header h[OP_HTTP_MAX_HEADERS];
	struct http_response resp;
	int n;
	/* interim 1xx responses are dropped in a loop: a buffer of them must not cost a stack
	 * frame each */
	for (;;) {
		resp = (struct http_response){.headers = h, .nheaders = OP_HTTP_MAX_HEADERS};
		n = http_parse_received(s->head, s->head_len, &resp);
		if (n == OP_EPARTIAL) {
			if (s->head_len == sizeof s->head) {
				probe_run_done(r, 0, REASON_TOO_LARGE, "response head over %d bytes",
					OP_HTTP_HEAD_MAX);
				return -1;
			}
			return 0;
		}
		if (n == OP_ETOOBIG) {
			probe_run_done(r, 0, REASON_TOO_LARGE, "more than %d headers",
				OP_HTTP_MAX_HEADERS);
			return -1;
		}
		if (n < 0) {
			char why[80];
			probe_run_done(r, 0, REASON_PROTOCOL, "%s",
				http_fault(s->head, s->head_len, &resp, why, sizeof why));
			return -1;
		}
		/* a switch of protocols nobody asked for (the request has no Upgrade: RFC 9110
		 * 15.2.2): what follows is not HTTP, and waiting for its end would wait for the
		 * timeout */
		if (resp.status == 101) {
			probe_run_done(r, 0, REASON_PROTOCOL, "101 Switching Protocols to a request that "
				"asked for no upgrade");
			return -1;
		}
		if (resp.status >= 200)
			break;
		s->interim = (uint16_t)resp.status;
		memmove(s->head, s->head + n, s->head_len - (size_t)n);
		s->head_len -= (size_t)n;
	}
	r->facts.http_status = (int16_t)resp.status;
	r->facts.http_version = (uint8_t)(10 + resp.minor_version);
	r->facts.content_length = -1;
	r->facts.last_modified = 0;
	const struct http_header *lm = http_find_header(&resp, "Last-Modified");
	if (lm)
		http_date_parse(lm->value, lm->value_len, &r->facts.last_modified);
	/* RFC 9112 6.3: Transfer-Encoding overrides Content-Length; the body is chunked when
	 * chunked is the final coding (of the last such header), else it runs to the close */
	const struct http_header *te = NULL, *cl = http_find_header(&resp, "Content-Length");
	for (const struct http_header *t = NULL; (t = http_next_header(&resp, "Transfer-Encoding",
		     t)) != NULL;)
		te = t;
	uint64_t v = 0;
	int cl_ok = cl && cl->value_len > 0;
	for (size_t i = 0; cl_ok && i < cl->value_len; i++) {
		char ch = cl->value[i];
		cl_ok = ch >= '0' && ch <= '9' && v <= (UINT64_MAX - 9) / 10;
		v = v * 10 + (uint64_t)(ch - '0');
	}
	if (!strcmp(k->method, "HEAD") || resp.status == 204 || resp.status == 304) {
		s->framing = HTTPC_FR_NONE;
		/* what a GET would have carried, as Go's client (and so blackbox_exporter) says */
		if (cl_ok && !te)
			r->facts.content_length = (int64_t)v;
	} else if (te) {
		s->framing = http_header_last_token(te, "chunked") ? HTTPC_FR_CHUNKED : HTTPC_FR_CLOSE;
	} else if (cl) {
		if (!cl_ok) {
			probe_run_done(r, 0, REASON_PROTOCOL, cl->value_len ? "bad Content-Length "
				"\"%.*s\"" : "empty Content-Length", (int)OP_MIN(cl->value_len, 20),
				cl->value);
			return -1;
		}
		/* RFC 9112 6.3: differing lengths leave the framing unknown (a broken proxy, or a
		 * smuggling attempt): an error, not a guess */
		for (const struct http_header *o = cl; (o = http_next_header(&resp, "Content-Length",
			     o)) != NULL;) {
			if (o->value_len != cl->value_len || memcmp(o->value, cl->value, cl->value_len)) {
				probe_run_done(r, 0, REASON_PROTOCOL, "conflicting Content-Length headers "
					"(%.*s and %.*s)", (int)OP_MIN(cl->value_len, 20), cl->value,
					(int)OP_MIN(o->value_len, 20), o->value);
				return -1;
			}
		}
		s->framing = HTTPC_FR_LENGTH;
		s->body_left = v;
		r->facts.content_length = (int64_t)v;
	} else {
		s->framing = HTTPC_FR_CLOSE;
	}
	/* a body in the coding asked for is decoded as it comes; one in another (or none) is
	 * taken as sent, and the checks say so */
	const struct http_header *ce = k->compression && s->framing != HTTPC_FR_NONE ?
		http_find_header(&resp, "Content-Encoding") : NULL;
	if (ce && !memchr(ce->value, ',', ce->value_len) && (http_header_last_token(ce,
		inflate_codings[k->compression]) || (k->compression == INFLATE_GZIP &&
		http_header_last_token(ce, "x-gzip")))) {
		s->z = pool_take(&op_pools[POOL_INFLATE], 0);
		if (!s->z) {
			probe_run_done(r, 0, REASON_NO_SLOT, "no free decoder for a %s body",
				inflate_codings[k->compression]);
			return -1;
		}
		inflate_init(s->z, (enum inflate_coding)k->compression);
		s->decoded = 1;
		s->coded_bytes = 0;
	}
	s->stage = HTTPC_BODY;
	/* the bytes after the head are body; keep the head in place for redirects and header
	 * checks. Coded, they are held there and fed a read's worth a time (http_read). */
	size_t extra = s->head_len - (size_t)n, now = s->z ? OP_MIN(extra, DECODE_READ) : extra;
	s->head_len = (size_t)n;
	s->held_at = (size_t)n + now;
	s->held = extra - now;
	int rc = body_feed(r, s, k, s->head + n, now);
	return rc < 0 ? -1 : rc == 1 ? 1 : 2;
}

static void http_read(struct probe_run *r, struct httpc *s, const struct httpc_req *k)
{
	uint64_t from = r->facts.body_bytes;
	for (int round = 0; round < 64 || stream_pending(s->tls) || s->held; round++) {
		/* a coded body may decode to a thousand times its size: a turn decodes a slice and
		 * yields. The loop comes back when the socket is writable, which a connected one is
		 * at once: after one pass over the others, and whatever TLS holds already read */
		if (s->z && r->facts.body_bytes - from >= OP_HTTP_DECODE_SLICE) {
			net_want(&r->conn, PLAT_READ | PLAT_WRITE);
			return;
		}
		if (s->held) {
			size_t n = OP_MIN(s->held, DECODE_READ);
			s->held_at += n;
			s->held -= n;
			if (body_feed(r, s, k, s->head + s->held_at - n, n) != 0)
				return;
			continue;
		}
		char scratch[4096];
		char *dst = s->stage == HTTPC_HEAD ? s->head + s->head_len : scratch;
		size_t cap = s->stage == HTTPC_HEAD ? sizeof s->head - s->head_len :
			s->z ? DECODE_READ : sizeof scratch;
		int n = stream_recv(s->tls, &r->conn, dst, cap);
		if (n == OP_EAGAIN) {
			stream_want(s->tls, &r->conn, PLAT_READ);
			return;
		}
		if (n < 0) {
			char why[OP_DETAIL_MAX];
			stream_error(s->tls, n, why, sizeof why);
			/* (a server that answers before reading the whole request, a 401 or a 413,
			 * and closes resets the connection: the status tells what it meant) */
			if (s->stage == HTTPC_BODY)
				probe_run_done(r, 0, REASON_RECV, "%s in the body of a %d response", why,
					r->facts.http_status);
			else
				probe_run_done(r, 0, REASON_RECV, "%s", why);
			return;
		}
		if (n == 0) {
			if (s->stage == HTTPC_BODY && s->framing == HTTPC_FR_CLOSE) {
				body_done(r, s, k);
				return;
			}
			if (s->stage == HTTPC_HEAD && !s->head_len && s->interim)
				probe_run_done(r, 0, REASON_CLOSED, "connection closed after a %d interim "
					"response, before the final one", s->interim);
			else if (s->stage == HTTPC_HEAD)
				probe_run_done(r, 0, REASON_CLOSED, s->head_len ?
					"connection closed inside the response head" :
					"connection closed before any response");
			else
				probe_run_done(r, 0, REASON_CLOSED, "connection closed after %llu body bytes%s",
					(unsigned long long)r->facts.body_bytes,
					s->framing == HTTPC_FR_LENGTH ? " (Content-Length not reached)" : "");
			return;
		}
		if (!s->got_first) {
			s->got_first = 1;
			probe_run_phase_at(r, PHASE_TRANSFER, r->conn.rx_us);
		}
		if (s->stage == HTTPC_HEAD) {
			s->head_len += (size_t)n;
			/* on with the body in this turn: over TLS the rest of the record that
			 * filled the head may be read already, and the socket says nothing of it */
			int rc = head_done(r, s, k);
			if (rc == 1 || rc < 0)
				return; /* the response is complete, or the run ended */
		} else if (body_feed(r, s, k, scratch, (size_t)n) != 0) {
			return;
		}
	}
	/* a fast sender: yield to the loop, the socket stays readable (what TLS had read of it
	 * is taken first) */
}

static void http_send(struct probe_run *r, struct httpc *s)
{
	while (s->sent < s->req_len + s->extra) {
		int n = s->sent < s->req_len ?
			stream_send(s->tls, &r->conn, s->req + s->sent, s->req_len - s->sent) :
			stream_send(s->tls, &r->conn, s->q->body + (s->sent - s->req_len),
				s->req_len + s->extra - s->sent);
		if (n == OP_EAGAIN) {
			stream_want(s->tls, &r->conn, PLAT_WRITE);
			return;
		}
		if (n < 0) {
			char why[OP_DETAIL_MAX];
			stream_error(s->tls, n, why, sizeof why);
			probe_run_done(r, 0, REASON_SEND, "%s", why);
			return;
		}
		s->sent += (size_t)n;
	}
	s->stage = HTTPC_HEAD;
	/* from when the request's last bytes were handed over, not when that call returned */
	probe_run_phase_at(r, PHASE_PROCESSING, r->conn.tx_us);
	net_want(&r->conn, PLAT_READ);
	if (s->tls)
		http_read(r, s, s->q); /* decrypted bytes may already wait in the context */
}

void httpc_start(struct probe_run *r, struct httpc *s, const struct httpc_req *k,
	httpc_done_fn *done)
{
	s->q = k;
	s->done = done;
	s->tls = NULL;
	s->as_get = 0;
	exchange_reset(s);
	op_strlcpy(s->host, k->host, sizeof s->host);
	op_strlcpy(s->path, k->path, sizeof s->path);
	s->port = k->port;
	s->tls_on = k->tls;
	r->facts.content_length = -1;
	r->facts.ssl = k->tls;
	if (build_request(r, s, k) != 0)
		return;
	dial(r, s, k);
}

void httpc_on_event(struct probe_run *r, struct httpc *s, int ev, unsigned events)
{
	(void)events;
	if (s->stage == HTTPC_DIAL) {
		if (probe_run_dial(r, &s->tls, s->tls_on ? s->q->tls_set : NULL, ev)) {
			s->stage = HTTPC_SEND;
			http_send(r, s);
		}
	} else if (ev == PROBE_EV_IO) {
		if (s->stage == HTTPC_SEND)
			http_send(r, s);
		else
			http_read(r, s, s->q);
	}
}

void httpc_cancel(struct httpc *s)
{
	tls_close(s->tls);
	s->tls = NULL;
	decoder_put(s);
}

uint64_t httpc_pause_us(const struct httpc *h)
{
	struct http_header hd[OP_HTTP_MAX_HEADERS];
	struct http_response resp = {.headers = hd, .nheaders = OP_HTTP_MAX_HEADERS};
	if (http_parse_response(h->head, h->head_len, &resp) < 0)
		return 0;
	const struct http_header *ra = http_find_header(&resp, "Retry-After");
	if (!ra || !ra->value_len)
		return 0;
	int64_t v = 0;
	size_t i = 0;
	for (; i < ra->value_len && ra->value[i] >= '0' && ra->value[i] <= '9'; i++)
		v = v < 100000000 ? v * 10 + (ra->value[i] - '0') : v;
	if (i < ra->value_len) {
		if (http_date_parse(ra->value, ra->value_len, &v) != 0)
			return 0;
		v -= plat_wall_us() / 1000000;
	}
	return v > 0 ? (uint64_t)OP_MIN(v, 300) * 1000000u : 0;
}
