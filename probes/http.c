/* http.c: the http probe: one request on our HTTP/1.1 client (core/httpc), then the
 * assertions of "expect" on the status, head and the first OP_HTTP_KEEP body bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/httpc.h"
#include "../core/json.h"
#include "../core/probe.h"
#include "../core/regex.h"
#include "../core/tls.h"

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

struct http_conf {
	struct httpc_req req; /* method, headers, body, limits from the keys; the rest derived */
	struct http_expect expect;
	struct httpc_tls tls_opts;
	uint8_t nranges;
	uint16_t ranges[MAX_STATUS_RANGES][2];
};

struct http_state {
	struct httpc h;
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
	{"method", CFG_STR, 0, offsetof(struct http_conf, req.method), 0, 16, NULL},
	{"headers", CFG_FN, 0, offsetof(struct http_conf, req.headers), 0, 0, cfg_headers},
	{"body", CFG_STR, 0, offsetof(struct http_conf, req.body), 0, OP_HTTP_REQ_MAX / 2, NULL},
	{"max_redirects", CFG_UINT, 0, offsetof(struct http_conf, req.max_redirects), 0, 10, NULL},
	{"max_body_kib", CFG_UINT, 0, offsetof(struct http_conf, req.max_body_kib), 1, 1048576, NULL},
	{"expect", CFG_OBJ, 0, offsetof(struct http_conf, expect), 0, 0, NULL, expect_keys,
		OP_ARRAY_LEN(expect_keys)},
	{"tls", CFG_OBJ, 0, offsetof(struct http_conf, tls_opts), 0, 0, NULL, httpc_tls_keys,
		HTTPC_TLS_NKEYS},
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
	int rc = httpc_configure(c, tok, p->name, "target", p->target, "http", &k->tls_opts, &k->req);
	if (rc < 0)
		return rc;
	if (!k->req.method)
		k->req.method = "GET";
	if (!k->req.max_body_kib)
		k->req.max_body_kib = 10240;
	if (parse_ranges(k, k->expect.status_text ? k->expect.status_text : "2xx") != 0)
		return cfg_error(c, tok, "probe \"%s\": expect.status \"%s\": write codes (200), "
			"classes (\"2xx\"), ranges (\"200-299\") or a list of them", p->name,
			k->expect.status_text);
	return 0;
}

/* ---- the run ---- */

static int status_ok(const struct http_conf *k, int status)
{
	for (int i = 0; i < k->nranges; i++)
		if (status >= k->ranges[i][0] && status <= k->ranges[i][1])
			return 1;
	return 0;
}

static void http_check(struct probe_run *r, struct httpc *s, const struct http_conf *k)
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

static void http_done(struct probe_run *r, struct httpc *h)
{
	http_check(r, h, probe_conf(r));
}

static int http_start(struct probe_run *r)
{
	struct http_state *s = (struct http_state *)r->state;
	const struct http_conf *k = probe_conf(r);
	httpc_start(r, &s->h, &k->req, http_done);
	return 0;
}

static void http_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct http_state *s = (struct http_state *)r->state;
	httpc_on_event(r, &s->h, ev, events);
}

static void http_cancel(struct probe_run *r)
{
	struct http_state *s = (struct http_state *)r->state;
	httpc_cancel(&s->h);
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
