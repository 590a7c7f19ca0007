/* http.c: the http probe: one request on our HTTP/1.1 client (core/httpc), then the
 * assertions of "expect" on the status, head and the first OP_HTTP_KEEP body bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/http_expect.h"
#include "../core/json.h"
#include "../core/probe.h"
#include "../core/regex.h"
#include "../core/tls.h"

struct http_conf {
	struct httpc_req req; /* method, headers, body, limits from the keys; the rest derived */
	struct http_expect expect;
	struct probe_tls tls_opts;
	const char *proxy_url;
	struct probe_proxy proxy;
};

struct http_state {
	struct httpc h;
};

/* ---- config ---- */

static const struct cfg_key http_keys[] = {
	{"method", CFG_STR, 0, offsetof(struct http_conf, req.method), 0, 16, NULL},
	{"headers", CFG_FN, 0, offsetof(struct http_conf, req.headers), 0, 0, cfg_headers},
	{"body", CFG_STR, 0, offsetof(struct http_conf, req.body), 0, OP_HTTP_REQ_MAX / 2, NULL},
	{"max_redirects", CFG_UINT, 0, offsetof(struct http_conf, req.max_redirects), 0, 10, NULL},
	{"max_body_kib", CFG_UINT, 0, offsetof(struct http_conf, req.max_body_kib), 1, 1048576, NULL},
	{"compression", CFG_FN, 0, offsetof(struct http_conf, req.compression), 0, 0,
		httpc_read_compression},
	{"expect", CFG_OBJ, 0, offsetof(struct http_conf, expect), 0, 0, NULL, http_expect_keys,
		HTTP_EXPECT_NKEYS},
	{"tls", CFG_OBJ, 0, offsetof(struct http_conf, tls_opts), 0, 0, NULL, probe_tls_keys,
		PROBE_TLS_NKEYS},
	{"proxy", CFG_STR, 0, offsetof(struct http_conf, proxy_url), 1, OP_TARGET_MAX - 1, NULL},
};

static int http_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct http_conf *k = (struct http_conf *)p->conf;
	int rc = httpc_configure(c, tok, p, "target", p->target, "http", &k->tls_opts, &k->req);
	if (rc == 0)
		rc = probe_proxy_configure(c, tok, p, k->proxy_url, &k->proxy, &k->req.proxy);
	if (rc < 0)
		return rc;
	if (!k->req.method)
		k->req.method = "GET";
	if (!k->req.max_body_kib)
		k->req.max_body_kib = 10240;
	if (k->expect.cert_min_days && !k->req.tls && !k->req.max_redirects)
		return cfg_error(c, tok, "probe \"%s\": expect.cert_min_days checks a certificate, "
			"and a plain http target without redirects has none; use https", p->name);
	char what[OP_NAME_MAX + 10];
	snprintf(what, sizeof what, "probe \"%s\"", p->name);
	if ((rc = httpc_compression_configure(c, tok, what, k->req.headers,
		k->req.compression)) != 0)
		return rc;
	if (k->req.compression)
		cfg_inflater(c);
	return http_expect_configure(c, tok, what, k->req.method, &k->expect);
}

/* ---- the run ---- */

static void http_done(struct probe_run *r, struct httpc *h)
{
	const struct http_conf *k = probe_conf(r);
	char why[OP_DETAIL_MAX];
	probe_run_end_at(r, r->conn.rx_us);
	if (http_expect_check(&k->expect, r, h, probe_run_elapsed(r), why, sizeof why) != 0)
		probe_run_done(r, 0, REASON_EXPECT, "%s", why);
	else
		probe_run_done(r, 1, REASON_NONE, "%d", r->facts.http_status);
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
