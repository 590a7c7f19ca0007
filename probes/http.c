/* http.c: the http probe on our own HTTP/1.1 client.
 *
 *   resolve -> connect -> send request -> read head -> read body -> [redirect: again] -> check
 *
 * Phases (blackbox_exporter's): resolve, connect, tls, processing (request sent to first byte),
 * transfer (first byte to end of body); redirects add to the same phases. Bodies are framed by
 * Content-Length, chunked encoding or the connection's close; the first OP_HTTP_KEEP bytes are
 * kept for the body assertions, the rest is counted up to max_body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/http_parse.h"
#include "../core/engine.h"
#include "../core/json.h"
#include "../core/probe.h"
#include "../core/regex.h"
#include "../core/tls.h"

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
#define MAX_STATUS_RANGES 8
#define MAX_JSON 8

struct http_expect {
	const char *status_text;
	const char *body_contains, *body_not_contains;
	const char *header_name, *header_pattern, *body_regex;
	struct op_regex *header_re, *body_re;
	uint64_t max_latency_us;
	uint32_t cert_min_days;
	const char *http_version;
	/* "json": {"$.path": expected value, ...} */
	uint8_t njson;
	const char *json_path[MAX_JSON], *json_value[MAX_JSON];
};

struct http_tls {
	const char *ca_file, *server_name;
	uint8_t insecure, resume;
};

struct http_conf {
	const char *method, *body, *headers; /* headers: "Name: value\r\n" lines */
	uint32_t max_redirects;
	uint32_t max_body_kib;
	struct http_expect expect;
	struct http_tls tls_opts;
	/* derived */
	const char *ca; /* CA file ("" for none) */
	const char *host, *path;
	uint16_t port;
	uint8_t tls;
	uint8_t nranges;
	uint16_t ranges[MAX_STATUS_RANGES][2];
};

enum http_stage { ST_TLS, ST_SEND, ST_HEAD, ST_BODY };
enum framing { FR_NONE, FR_LENGTH, FR_CHUNKED, FR_CLOSE };

struct http_state {
	struct tls_conn *tls;
	uint8_t stage, framing, got_first;
	size_t req_len, sent, head_len, kept;
	uint64_t body_left;
	struct http_chunked ch;
	uint16_t port;
	char host[DNS_NAME_MAX];
	char path[1024];
	char req[OP_HTTP_REQ_MAX];
	char head[OP_HTTP_HEAD_MAX];
	char body[OP_HTTP_KEEP];
};

/* ---- config ---- */

static int read_header_expect(struct cfg_ctx *c, int tok, void *field)
{
	struct http_expect *e = (struct http_expect *)((char *)field -
		offsetof(struct http_expect, header_name));
	if (cfg_tok_type(c, tok) != 1 || cfg_tok_size(c, tok) != 1)
		return cfg_error(c, tok, "\"header\" takes one {\"Name\": \"regex its value matches\"}");
	int rc = cfg_string(c, tok + 1, &e->header_name);
	if (!rc)
		rc = cfg_string(c, tok + 2, &e->header_pattern);
	return rc ? rc : cfg_regex(c, tok + 2, e->header_pattern, &e->header_re);
}

static int read_body_regex(struct cfg_ctx *c, int tok, void *field)
{
	struct http_expect *e = (struct http_expect *)((char *)field -
		offsetof(struct http_expect, body_regex));
	int rc = cfg_string(c, tok, &e->body_regex);
	return rc ? rc : cfg_regex(c, tok, e->body_regex, &e->body_re);
}

/* "json": {"$.status": "ok", "items[0].id": 7}: each path's value, compared as text. */
static int read_json_expect(struct cfg_ctx *c, int tok, void *field)
{
	struct http_expect *e = (struct http_expect *)((char *)field -
		offsetof(struct http_expect, njson));
	if (cfg_tok_type(c, tok) != 1 /* JSMN_OBJECT */)
		return cfg_error(c, tok, "\"json\" takes {\"$.path\": expected value, ...}");
	int i = tok + 1;
	for (int n = 0; n < cfg_tok_size(c, tok); n++, i = cfg_tok_next(c, i + 1)) {
		if (e->njson == MAX_JSON)
			return cfg_error(c, i, "at most %d json checks", MAX_JSON);
		const char *path, *v;
		char tmp[64];
		int rc = cfg_string(c, i, &path);
		if (rc || (rc = cfg_scalar(c, i + 1, &v, tmp, sizeof tmp)) != 0)
			return rc;
		if (v == tmp)
			v = cfg_store(c, tmp, strlen(tmp));
		e->json_path[e->njson] = path;
		e->json_value[e->njson] = v;
		e->njson++;
	}
	return 0;
}

static const struct cfg_key tls_keys[] = {
	{"ca_file", CFG_STR, 0, offsetof(struct http_tls, ca_file), 0, 255, NULL},
	{"server_name", CFG_STR, 0, offsetof(struct http_tls, server_name), 0, 253, NULL},
	{"insecure_skip_verify", CFG_BOOL, 0, offsetof(struct http_tls, insecure), 0, 1, NULL},
	{"resume", CFG_BOOL, 0, offsetof(struct http_tls, resume), 0, 1, NULL},
};

/* "status": 200, "2xx", "200-299", "200,301", or an array of those: kept as text here and
 * turned into ranges by http_configure. */
static int read_status(struct cfg_ctx *c, int tok, void *field)
{
	char buf[256], tmp[32];
	size_t w = 0;
	int n = cfg_tok_type(c, tok) == 2 /* JSMN_ARRAY */ ? cfg_tok_size(c, tok) : 1;
	int i = cfg_tok_type(c, tok) == 2 ? tok + 1 : tok;
	for (int k = 0; k < n; k++) {
		const char *s;
		int rc = cfg_scalar(c, i, &s, tmp, sizeof tmp);
		if (rc)
			return rc;
		int m = snprintf(buf + w, sizeof buf - w, "%s%s", w ? "," : "", s);
		if (m < 0 || (size_t)m >= sizeof buf - w)
			return cfg_error(c, tok, "\"status\" list too long");
		w += (size_t)m;
		i = cfg_tok_next(c, i);
	}
	*(const char **)field = cfg_store(c, buf, w);
	return 0;
}

static const struct cfg_key expect_keys[] = {
	{"status", CFG_FN, 0, offsetof(struct http_expect, status_text), 0, 0, read_status},
	{"body_contains", CFG_STR, 0, offsetof(struct http_expect, body_contains), 0, 1024, NULL},
	{"body_not_contains", CFG_STR, 0, offsetof(struct http_expect, body_not_contains), 0, 1024,
		NULL},
	{"header", CFG_FN, 0, offsetof(struct http_expect, header_name), 0, 0, read_header_expect},
	{"body_regex", CFG_FN, 0, offsetof(struct http_expect, body_regex), 0, 0, read_body_regex},
	{"max_latency", CFG_DUR, 0, offsetof(struct http_expect, max_latency_us), 1000,
		3600000000ll, NULL},
	{"cert_min_days", CFG_UINT, 0, offsetof(struct http_expect, cert_min_days), 0, 3650, NULL},
	{"http_version", CFG_STR, 0, offsetof(struct http_expect, http_version), 0, 3, NULL},
	{"json", CFG_FN, 0, offsetof(struct http_expect, njson), 0, 0, read_json_expect},
};

static const struct cfg_key http_keys[] = {
	{"method", CFG_STR, 0, offsetof(struct http_conf, method), 0, 16, NULL},
	{"headers", CFG_FN, 0, offsetof(struct http_conf, headers), 0, 0, cfg_headers},
	{"body", CFG_STR, 0, offsetof(struct http_conf, body), 0, OP_HTTP_REQ_MAX / 2, NULL},
	{"max_redirects", CFG_UINT, 0, offsetof(struct http_conf, max_redirects), 0, 10, NULL},
	{"max_body_kib", CFG_UINT, 0, offsetof(struct http_conf, max_body_kib), 1, 1048576, NULL},
	{"expect", CFG_OBJ, 0, offsetof(struct http_conf, expect), 0, 0, NULL, expect_keys,
		OP_ARRAY_LEN(expect_keys)},
	{"tls", CFG_OBJ, 0, offsetof(struct http_conf, tls_opts), 0, 0, NULL, tls_keys,
		OP_ARRAY_LEN(tls_keys)},
};

static int parse_ranges(struct http_conf *k, const char *s)
{
	k->nranges = 0;
	while (*s) {
		char item[16];
		size_t n = strcspn(s, ", ");
		if (n == 0) {
			s++;
			continue;
		}
		if (n >= sizeof item || k->nranges == MAX_STATUS_RANGES)
			return OP_EINVAL;
		memcpy(item, s, n);
		item[n] = 0;
		s += n;
		unsigned lo, hi;
		char x1, x2;
		if (strlen(item) == 3 && item[0] >= '1' && item[0] <= '5' &&
			sscanf(item + 1, "%c%c", &x1, &x2) == 2 && (x1 | 32) == 'x' && (x2 | 32) == 'x')
			lo = (unsigned)(item[0] - '0') * 100, hi = lo + 99;
		else if (sscanf(item, "%u-%u", &lo, &hi) == 2 && strchr(item, '-'))
			;
		else if (sscanf(item, "%u", &lo) == 1 && strspn(item, "0123456789") == n)
			hi = lo;
		else
			return OP_EINVAL;
		if (lo < 100 || hi > 599 || lo > hi)
			return OP_EINVAL;
		k->ranges[k->nranges][0] = (uint16_t)lo;
		k->ranges[k->nranges][1] = (uint16_t)hi;
		k->nranges++;
	}
	return k->nranges ? 0 : OP_EINVAL;
}

static int http_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct http_conf *k = (struct http_conf *)p->conf;
	char host[DNS_NAME_MAX];
	const char *path;
	int tls;
	if (net_split_url(p->target, "http", &tls, host, sizeof host, &k->port, &path) != 0)
		return cfg_error(c, tok, "probe \"%s\": target \"%s\" must be a URL like "
			"\"http://host[:port]/path\" or \"https://...\"", p->name, p->target);
	k->tls = (uint8_t)tls;
	if (tls) {
		/* skipping verification needs no trust store; verifying needs the system's or one */
		const char *ca = k->tls_opts.ca_file ? k->tls_opts.ca_file : k->tls_opts.insecure ? "" :
			"/etc/ssl/certs/ca-certificates.crt";
		int rc = cfg_tls_ca(c, tok, ca);
		if (rc < 0)
			return rc;
		k->ca = ca;
		if (k->tls_opts.resume)
			cfg_tls_resume(c);
	}
	k->host = cfg_store(c, host, strlen(host));
	k->path = path;
	if (!k->method)
		k->method = "GET";
	if (!k->max_body_kib)
		k->max_body_kib = 10240;
	if (parse_ranges(k, k->expect.status_text ? k->expect.status_text : "2xx") != 0)
		return cfg_error(c, tok, "probe \"%s\": expect.status \"%s\": write codes (200), "
			"classes (\"2xx\"), ranges (\"200-299\") or a list of them", p->name,
			k->expect.status_text);
	return 0;
}

/* ---- the run ---- */

static int io_send(struct probe_run *r, struct http_state *s, const void *b, size_t n)
{
	return s->tls ? tls_send(s->tls, b, n) : net_send(&r->conn, b, n);
}

static int io_recv(struct probe_run *r, struct http_state *s, void *b, size_t n)
{
	return s->tls ? tls_recv(s->tls, b, n) : net_recv(&r->conn, b, n);
}

/* Wait for what the transport needs: TLS may have to write to read, or read to write. */
static void io_want(struct probe_run *r, struct http_state *s, unsigned plain)
{
	net_want(&r->conn, s->tls && s->stage != ST_SEND ? tls_want(s->tls) : plain);
}

static int build_request(struct probe_run *r, struct http_state *s, const struct http_conf *k)
{
	size_t blen = k->body ? strlen(k->body) : 0;
	char hosthdr[DNS_NAME_MAX + 10];
	net_host_header(hosthdr, sizeof hosthdr, s->host, s->port, k->tls ? 443 : 80);
	int n = snprintf(s->req, sizeof s->req,
		"%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: outpost/%s\r\nAccept: */*\r\n"
		"Connection: close\r\n%s", k->method, s->path, hosthdr, op_version,
		k->headers ? k->headers : "");
	if (n > 0 && (blen || !strcmp(k->method, "POST") || !strcmp(k->method, "PUT")))
		n += snprintf(s->req + n, sizeof s->req - (size_t)n, "Content-Length: %zu\r\n", blen);
	if (n > 0)
		n += snprintf(s->req + n, sizeof s->req - (size_t)n, "\r\n%s", k->body ? k->body : "");
	if (n < 0 || (size_t)n >= sizeof s->req)
		return probe_run_done(r, 0, REASON_TOO_LARGE, "request larger than %d bytes",
			OP_HTTP_REQ_MAX), -1;
	s->req_len = (size_t)n;
	s->sent = 0;
	return 0;
}

static int status_ok(const struct http_conf *k, int status)
{
	for (int i = 0; i < k->nranges; i++)
		if (status >= k->ranges[i][0] && status <= k->ranges[i][1])
			return 1;
	return 0;
}

static void http_check(struct probe_run *r, struct http_state *s, const struct http_conf *k)
{
	const struct http_expect *e = &k->expect;
	int status = r->facts.http_status;
	if (e->http_version) {
		char v[8];
		snprintf(v, sizeof v, "%d.%d", r->facts.http_version / 10, r->facts.http_version % 10);
		if (strcmp(v, e->http_version))
			return (void)probe_run_done(r, 0, REASON_EXPECT, "http_version %s, expected %s", v,
				e->http_version);
	}
	if (!status_ok(k, status))
		return (void)probe_run_done(r, 0, REASON_EXPECT, "status %d, expected %s", status,
			e->status_text ? e->status_text : "2xx");
	r->facts.content_failed = 1; /* until the content assertions below pass */
	if (e->body_contains && !op_memmem(s->body, s->kept, e->body_contains,
		strlen(e->body_contains)))
		return (void)probe_run_done(r, 0, REASON_EXPECT,
			"body_contains: \"%.40s\" not in the first %zu bytes", e->body_contains, s->kept);
	if (e->body_not_contains && op_memmem(s->body, s->kept, e->body_not_contains,
		strlen(e->body_not_contains)))
		return (void)probe_run_done(r, 0, REASON_EXPECT, "body_not_contains: \"%.40s\" found",
			e->body_not_contains);
	if (e->body_re && !regex_search(e->body_re, s->body, s->kept))
		return (void)probe_run_done(r, 0, REASON_EXPECT,
			"body_regex: /%.40s/ matches nothing in the first %zu bytes", e->body_regex, s->kept);
	char why[OP_DETAIL_MAX];
	if (e->njson && json_expect(s->body, s->kept, e->json_path, e->json_value, e->njson, why,
		sizeof why) != 0)
		return (void)probe_run_done(r, 0, REASON_EXPECT, "%s%s", why,
			s->kept == sizeof s->body && strstr(why, "not JSON") ? " (first 16 KiB)" : "");
	if (e->header_name) {
		struct http_header h[OP_HTTP_MAX_HEADERS];
		struct http_response resp = {.headers = h, .nheaders = OP_HTTP_MAX_HEADERS};
		http_parse_response(s->head, s->head_len, &resp);
		const struct http_header *found = http_find_header(&resp, e->header_name);
		if (!found)
			return (void)probe_run_done(r, 0, REASON_EXPECT, "header %s: absent",
				e->header_name);
		if (!regex_search(e->header_re, found->value, found->value_len))
			return (void)probe_run_done(r, 0, REASON_EXPECT,
				"header %s: \"%.*s\" does not match /%s/", e->header_name,
				(int)OP_MIN(found->value_len, 40), found->value, e->header_pattern);
	}
	r->facts.content_failed = 0;
	if (e->cert_min_days && r->facts.cert_expiry) {
		int64_t left = r->facts.cert_expiry - plat_wall_us() / 1000000;
		if (left < (int64_t)e->cert_min_days * 86400)
			return (void)probe_run_done(r, 0, REASON_EXPECT,
				"cert_min_days: the chain expires in %.1f days, fewer than %u",
				left / 86400.0, e->cert_min_days);
	}
	uint64_t took = plat_now_us() - r->t0_us;
	if (e->max_latency_us && took > e->max_latency_us)
		return (void)probe_run_done(r, 0, REASON_EXPECT, "max_latency: took %.1f ms, limit %.1f ms",
			took / 1e3, e->max_latency_us / 1e3);
	probe_run_done(r, 1, REASON_NONE, "%d", status);
}

/* Follow a Location header; returns 1 when a new request is under way. */
static int follow(struct probe_run *r, struct http_state *s, const struct http_conf *k)
{
	struct http_header h[OP_HTTP_MAX_HEADERS];
	struct http_response resp = {.headers = h, .nheaders = OP_HTTP_MAX_HEADERS};
	http_parse_response(s->head, s->head_len, &resp);
	const struct http_header *loc = http_find_header(&resp, "Location");
	if (!loc || loc->value_len == 0 || loc->value_len >= sizeof s->path)
		return 0;
	char url[1024];
	memcpy(url, loc->value, loc->value_len);
	url[loc->value_len] = 0;
	if (url[0] == '/' && url[1] != '/') {
		op_strlcpy(s->path, url, sizeof s->path);
	} else {
		int tls;
		const char *path;
		if (net_split_url(url, "http", &tls, s->host, sizeof s->host, &s->port, &path) != 0) {
			probe_run_done(r, 0, REASON_PROTOCOL, "redirect to unsupported \"%.60s\"", url);
			return 1;
		}
		if (tls != k->tls) {
			probe_run_done(r, 0, REASON_PROTOCOL, "redirect to another scheme: %.60s", url);
			return 1;
		}
		op_strlcpy(s->path, path, sizeof s->path);
	}
	r->facts.redirects++;
	tls_close(s->tls);
	s->tls = NULL;
	net_close(&r->conn);
	s->stage = ST_SEND;
	s->head_len = s->kept = 0;
	s->got_first = 0;
	memset(&s->ch, 0, sizeof s->ch);
	r->facts.body_bytes = 0;
	if (build_request(r, s, k) == 0)
		probe_run_resolve(r, s->host, s->port);
	return 1;
}

static void body_done(struct probe_run *r, struct http_state *s, const struct http_conf *k)
{
	int status = r->facts.http_status;
	probe_run_phase(r, -1);
	if (status >= 300 && status < 400 && r->facts.redirects < k->max_redirects &&
		follow(r, s, k))
		return;
	http_check(r, s, k);
}

/* Take n body bytes at p (already de-chunked). Returns 0, or -1 after ending the run. */
static int body_take(struct probe_run *r, struct http_state *s, const struct http_conf *k,
	const char *p, size_t n)
{
	size_t keep = OP_MIN(n, sizeof s->body - s->kept);
	memcpy(s->body + s->kept, p, keep);
	s->kept += keep;
	r->facts.body_bytes += n;
	if (r->facts.body_bytes > (uint64_t)k->max_body_kib * 1024) {
		probe_run_done(r, 0, REASON_TOO_LARGE, "body larger than max_body_kib %u",
			k->max_body_kib);
		return -1;
	}
	return 0;
}

/* Feed n received body bytes at p (in place). Returns 1 when the body is complete, 0 for
 * more, -1 after ending the run. */
static int body_feed(struct probe_run *r, struct http_state *s, const struct http_conf *k,
	char *p, size_t n)
{
	switch (s->framing) {
	case FR_NONE:
		return 1;
	case FR_LENGTH: {
		size_t take = (size_t)OP_MIN((uint64_t)n, s->body_left);
		if (body_take(r, s, k, p, take) < 0)
			return -1;
		s->body_left -= take;
		return s->body_left == 0;
	}
	case FR_CHUNKED: {
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

static int head_done(struct probe_run *r, struct http_state *s, const struct http_conf *k)
{
	struct http_header h[OP_HTTP_MAX_HEADERS];
	struct http_response resp = {.headers = h, .nheaders = OP_HTTP_MAX_HEADERS};
	int n = http_parse_response(s->head, s->head_len, &resp);
	if (n == OP_EPARTIAL) {
		if (s->head_len == sizeof s->head) {
			probe_run_done(r, 0, REASON_TOO_LARGE, "response head over %d bytes",
				OP_HTTP_HEAD_MAX);
			return -1;
		}
		return 0;
	}
	if (n == OP_ETOOBIG) {
		probe_run_done(r, 0, REASON_TOO_LARGE, "more than %d headers", OP_HTTP_MAX_HEADERS);
		return -1;
	}
	if (n < 0) {
		char ex[40];
		size_t l = OP_MIN(s->head_len, 24), w = 0;
		for (size_t i = 0; i < l; i++)
			w += (size_t)snprintf(ex + w, sizeof ex - w, "%c",
				s->head[i] >= 32 && s->head[i] < 127 ? s->head[i] : '.');
		probe_run_done(r, 0, REASON_PROTOCOL, "not an HTTP response: \"%s\"", ex);
		return -1;
	}
	if (resp.status < 200 && resp.status != 101) {
		/* 1xx interim response: drop it and read the real one */
		memmove(s->head, s->head + n, s->head_len - (size_t)n);
		s->head_len -= (size_t)n;
		return head_done(r, s, k);
	}
	r->facts.http_status = (int16_t)resp.status;
	r->facts.http_version = (uint8_t)(10 + resp.minor_version);
	r->facts.content_length = -1;
	const struct http_header *te = http_find_header(&resp, "Transfer-Encoding");
	const struct http_header *cl = http_find_header(&resp, "Content-Length");
	if (!strcmp(k->method, "HEAD") || resp.status == 204 || resp.status == 304) {
		s->framing = FR_NONE;
	} else if (te && http_header_has_token(te, "chunked")) {
		s->framing = FR_CHUNKED;
	} else if (cl) {
		uint64_t v = 0;
		for (size_t i = 0; i < cl->value_len; i++) {
			char ch = cl->value[i];
			if (ch < '0' || ch > '9' || v > (UINT64_MAX - 9) / 10) {
				probe_run_done(r, 0, REASON_PROTOCOL, "bad Content-Length \"%.*s\"",
					(int)OP_MIN(cl->value_len, 20), cl->value);
				return -1;
			}
			v = v * 10 + (uint64_t)(ch - '0');
		}
		if (cl->value_len == 0) {
			probe_run_done(r, 0, REASON_PROTOCOL, "empty Content-Length");
			return -1;
		}
		s->framing = FR_LENGTH;
		s->body_left = v;
		r->facts.content_length = (int64_t)v;
	} else {
		s->framing = FR_CLOSE;
	}
	s->stage = ST_BODY;
	/* the bytes after the head are body; keep the head in place for redirects and header
	 * checks */
	size_t extra = s->head_len - (size_t)n;
	s->head_len = (size_t)n;
	int rc = body_feed(r, s, k, s->head + n, extra);
	if (rc == 1)
		body_done(r, s, k);
	return rc < 0 ? -1 : 1;
}

static void http_read(struct probe_run *r, struct http_state *s, const struct http_conf *k)
{
	for (int round = 0; round < 64; round++) {
		char scratch[4096];
		char *dst = s->stage == ST_HEAD ? s->head + s->head_len : scratch;
		size_t cap = s->stage == ST_HEAD ? sizeof s->head - s->head_len : sizeof scratch;
		int n = io_recv(r, s, dst, cap);
		if (n == OP_EAGAIN) {
			io_want(r, s, PLAT_READ);
			return;
		}
		if (n < 0) {
			probe_run_done(r, 0, REASON_RECV, "%s", op_strerror(n));
			return;
		}
		if (n == 0) {
			if (s->stage == ST_BODY && s->framing == FR_CLOSE) {
				body_done(r, s, k);
				return;
			}
			if (s->stage == ST_HEAD)
				probe_run_done(r, 0, REASON_CLOSED, s->head_len ?
					"connection closed inside the response head" :
					"connection closed before any response");
			else
				probe_run_done(r, 0, REASON_CLOSED, "connection closed after %llu body bytes%s",
					(unsigned long long)r->facts.body_bytes,
					s->framing == FR_LENGTH ? " (Content-Length not reached)" : "");
			return;
		}
		if (!s->got_first) {
			s->got_first = 1;
			probe_run_phase(r, PHASE_TRANSFER);
		}
		int rc;
		if (s->stage == ST_HEAD) {
			s->head_len += (size_t)n;
			rc = head_done(r, s, k);
			if (rc != 0)
				return; /* ended, or the body is under way through head_done */
		} else {
			rc = body_feed(r, s, k, scratch, (size_t)n);
			if (rc == 1)
				body_done(r, s, k);
			if (rc != 0)
				return;
		}
	}
	/* a fast sender: yield to the loop, the socket stays readable */
}

static void http_read(struct probe_run *r, struct http_state *s, const struct http_conf *k);

static void http_send(struct probe_run *r, struct http_state *s)
{
	while (s->sent < s->req_len) {
		int n = io_send(r, s, s->req + s->sent, s->req_len - s->sent);
		if (n == OP_EAGAIN) {
			net_want(&r->conn, s->tls ? tls_want(s->tls) : PLAT_WRITE);
			return;
		}
		if (n < 0) {
			probe_run_done(r, 0, REASON_SEND, "%s", op_strerror(n));
			return;
		}
		s->sent += (size_t)n;
	}
	s->stage = ST_HEAD;
	probe_run_phase(r, PHASE_PROCESSING);
	net_want(&r->conn, PLAT_READ);
	if (s->tls)
		http_read(r, s, probe_conf(r)); /* decrypted bytes may already wait in the context */
}

static void http_tls_step(struct probe_run *r, struct http_state *s, const struct http_conf *k)
{
	if (probe_run_tls_step(r, s->tls, k->tls_opts.insecure) != 0)
		return;
	s->stage = ST_SEND;
	http_send(r, s);
}

static int http_start(struct probe_run *r)
{
	struct http_state *s = (struct http_state *)r->state;
	const struct http_conf *k = probe_conf(r);
	op_strlcpy(s->host, k->host, sizeof s->host);
	op_strlcpy(s->path, k->path, sizeof s->path);
	s->port = k->port;
	r->facts.content_length = -1;
	r->facts.ssl = k->tls;
	if (build_request(r, s, k) != 0)
		return 0;
	probe_run_resolve(r, s->host, s->port);
	return 0;
}

static void http_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct http_state *s = (struct http_state *)r->state;
	const struct http_conf *k = probe_conf(r);
	switch (ev) {
	case PROBE_EV_RESOLVED:
		probe_run_connect(r);
		return;
	case PROBE_EV_CONNECTED:
		if (k->tls) {
			s->tls = probe_run_tls_start(r, k->ca, k->tls_opts.server_name, k->tls_opts.resume);
			if (!s->tls)
				return;
			s->stage = ST_TLS;
			http_tls_step(r, s, k);
			return;
		}
		s->stage = ST_SEND;
		http_send(r, s);
		return;
	case PROBE_EV_IO:
		if (s->stage == ST_TLS)
			http_tls_step(r, s, k);
		else if (s->stage == ST_SEND)
			http_send(r, s);
		else
			http_read(r, s, k);
		return;
	}
}

static void http_cancel(struct probe_run *r)
{
	struct http_state *s = (struct http_state *)r->state;
	tls_close(s->tls);
	s->tls = NULL;
}

const struct probe_ops probe_http = {
	.kind = "http",
	.example_target = "https://module.invalid/",
	.state_size = sizeof(struct http_state),
	.keys = http_keys,
	.nkeys = OP_ARRAY_LEN(http_keys),
	.configure = http_configure,
	.start = http_start,
	.on_event = http_on_event,
	.cancel = http_cancel,
};
