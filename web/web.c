/* web.c: civetweb glue. Handlers copy the snapshot under the lock into their own buffer, then
 * render without holding it, so a slow client can never hold up the engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <civetweb.h>
#include "web.h"
#include "api.h"
#include "../core/logstore.h"
#include "../core/engine.h"
#include "../core/metrics.h"
#include "../core/snap.h"
#include "../platform/plat.h"

static struct mg_context *ctx;

/* A HEAD request gets the head of the answer alone (RFC 9110 9.3.2). */
static int wants_body(const struct mg_connection *c)
{
	return strcmp(mg_get_request_info(c)->request_method, "HEAD") != 0;
}

/* The one writer of a whole answer: status line, headers, Content-Length and body. A HEAD
 * request gets the same head without the body (RFC 9110 9.3.2): left in, the body would be read
 * as the next answer on a kept-alive connection (a balancer's "HEAD /healthz" check). headers
 * is "" or whole lines, each ending in CRLF. */
int web_reply(struct mg_connection *c, int status, const char *type, const char *headers,
	const char *body, size_t n)
{
	mg_printf(c, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", status,
		mg_get_response_code_text(c, status), type, n, headers);
	if (wants_body(c))
		mg_write(c, body, n);
	return status;
}

/* One piece of a chunked body (after mg_send_http_ok with length -1); n = 0 ends it. A HEAD
 * request gets none of it, not even the end. */
static void web_chunk(struct mg_connection *c, const char *s, size_t n)
{
	if (wants_body(c))
		mg_send_chunk(c, s, (unsigned)n);
}

static int h_healthz(struct mg_connection *c, void *cb)
{
	(void)cb;
	struct snap s = {0};
	snap_read(&s, 0);
	uint64_t age = plat_now_us() - s.app.heartbeat_us;
	char body[128];
	int stalled = !s.app.heartbeat_us || age > OP_STALL_US;
	if (!s.app.heartbeat_us)
		snprintf(body, sizeof body, "starting: the engine is not running yet\n");
	else
		snprintf(body, sizeof body, "%s: event loop %s (last heartbeat %.1fs ago)\n",
			stalled ? "stalled" : "ok", stalled ? "stalled" : "alive", age / 1e6);
	return web_reply(c, stalled ? 503 : 200, "text/plain; charset=utf-8", NO_STORE, body,
		strlen(body));
}

/* A piece of a rendered body (an empty one would end it, so it is left out). */
static void chunk_out(void *conn, const char *s, size_t n)
{
	if (n)
		web_chunk(conn, s, n);
}

static int h_metrics(struct mg_connection *c, void *cb)
{
	(void)cb;
	struct snap s;
	if (web_snap_copy(&s) != 0) {
		mg_send_http_error(c, 503, "%s", "out of memory");
		return 503;
	}
	mg_send_http_ok(c, "text/plain; version=0.0.4; charset=utf-8", -1);
	metrics_render(&s, plat_now_us(), chunk_out, c);
	web_chunk(c, "", 0);
	free(s.probes);
	return 200;
}

static void html_escape(const char *in, char *out, size_t cap)
{
	size_t w = 0;
	for (; *in && w + 7 < cap; in++) {
		const char *e = *in == '<' ? "&lt;" : *in == '>' ? "&gt;" : *in == '&' ? "&amp;" :
			*in == '"' ? "&quot;" : NULL;
		if (e) {
			size_t l = strlen(e);
			memcpy(out + w, e, l);
			w += l;
		} else {
			out[w++] = *in;
		}
	}
	out[w] = 0;
}

/* A TLS run's certificate line, as app.js's cert() draws it: the days left, red under 14. */
static void cert_line(const struct result *r, int64_t now_us, char *out, size_t cap)
{
	out[0] = 0;
	if (!r->tls_version || !r->cert_expiry)
		return;
	double days = result_cert_days(r, now_us);
	long long whole = (long long)(days < 0 ? -days : days); /* whole days, rounded down */
	char when[48];
	if (days < 0)
		snprintf(when, sizeof when, "expired %lld days ago", whole + (whole < -days));
	else
		snprintf(when, sizeof when, "expires in %lld days", whole);
	snprintf(out, cap, "<small class=\"cert%s\">TLS %d.%d · certificate %s%s</small>",
		days < 14 ? " soon" : "", r->tls_version / 10, r->tls_version % 10, when,
		r->cert_verified ? "" : " · not verified");
}

/* The dashboard: the page template with the probe table rendered here, so the page reads
 * without JavaScript; app.js then keeps it current from the JSON API. */
static int h_index(struct mg_connection *c, void *cb)
{
	(void)cb;
	struct snap s;
	if (web_snap_copy(&s) != 0) {
		mg_send_http_error(c, 503, "%s", "out of memory");
		return 503;
	}
	char name[OP_NAME_MAX * 6], target[OP_TARGET_MAX * 6], detail[OP_DETAIL_MAX * 6];
	char cert[128];
	/* a row at its longest (every character escaped) fits whole: a cut one would break the page */
	char buf[2 * sizeof name + sizeof target + sizeof detail + sizeof cert + 512];
	mg_send_http_ok(c, "text/html; charset=utf-8", -1);
	const char *t = web_index_html;
	static const char *const marks[] = {"<!--NAME-->", "<!--FACTS-->", "<!--ROWS-->"};
	for (int m = 0; m < 3; m++) {
		const char *at = strstr(t, marks[m]);
		if (!at)
			break;
		chunk_out(c, t, (size_t)(at - t));
		t = at + strlen(marks[m]);
		int n = 0;
		if (m == 0) {
			html_escape(s.app.name, name, sizeof name);
			n = snprintf(buf, sizeof buf, "%s", name);
		} else if (m == 1) {
			n = snprintf(buf, sizeof buf, "outpost %s · up %.0fs · %u probe%s", s.app.version,
				(plat_now_us() - s.app.start_us) / 1e6, s.app.nprobes,
				OP_S(s.app.nprobes));
		} else {
			for (uint32_t i = 0; i < s.app.nprobes; i++) {
				const struct snap_probe *p = &s.probes[i];
				const struct probe_stats *st = &p->stats;
				html_escape(p->name, name, sizeof name);
				html_escape(p->target, target, sizeof target);
				html_escape(st->has_failure ? st->last_failure.detail : "", detail,
					sizeof detail);
				const char *state = !st->has_last ? "unknown" : st->last.ok ? "up" : "down";
				cert_line(&st->last, plat_wall_us(), cert, sizeof cert);
				n = snprintf(buf, sizeof buf,
					"<tr data-probe=\"%s\"><td class=name>%s<small>%s · %s</small>%s<td>"
					"<span class=\"badge %s\">%s</span><td class=w>%.1f ms<td class=w>"
					"<td class=m>%llu/%llu<td class=m><td class=reason>%s%s%s<td class=m></tr>",
					name, name, p->kind, target, cert, state, state,
					st->has_last ? st->last.duration_us / 1e3 : 0.0,
					(unsigned long long)st->runs_ok,
					(unsigned long long)(st->runs_ok + st->runs_fail),
					st->has_failure ? reason_text(st->last_failure.reason) : "",
					detail[0] ? ": " : "", detail);
				chunk_out(c, buf, (size_t)OP_MIN(n, (int)sizeof buf - 1));
			}
			n = 0;
		}
		chunk_out(c, buf, (size_t)OP_MIN(n, (int)sizeof buf - 1));
	}
	chunk_out(c, t, strlen(t));
	web_chunk(c, "", 0);
	free(s.probes);
	return 200;
}

struct asset {
	const char *type, *body;
	const unsigned *len;
};

static int h_asset(struct mg_connection *c, void *cb)
{
	const struct asset *a = cb;
	return web_reply(c, 200, a->type, "Cache-Control: max-age=300\r\n", a->body, *a->len);
}

static void buf_out(void *to, const char *s, size_t n)
{
	jb_put(to, s, n);
}

/* /logs/<service>/<object>: a stored run output, as text. Only names the store holds are
 * served, so no path leaves its directory. */
static int h_log(struct mg_connection *c, void *cb)
{
	(void)cb;
	const char *uri = mg_get_request_info(c)->local_uri;
	char path[600];
	if (strncmp(uri, "/logs/", 6) || logstore_path(uri + 6, path, sizeof path) != 0) {
		mg_send_http_error(c, 404, "no such log object");
		return 404;
	}
	int64_t size = plat_file_size(path);
	char *buf = size >= 0 && size < (16 << 20) ? malloc((size_t)size + 1) : NULL;
	int n = buf ? plat_file_read(path, buf, (size_t)size + 1) : OP_EIO;
	if (n < 0) {
		free(buf);
		mg_send_http_error(c, 404, "the log object is gone");
		return 404;
	}
	web_reply(c, 200, "text/plain; charset=utf-8", NO_STORE, buf, (size_t)n);
	free(buf);
	return 200;
}

/* /probe?target=URL&module=NAME[&debug=true]: blackbox_exporter's multi-target endpoint. The
 * probe runs once, now, on the engine, within the scrape's timeout, and the answer is its
 * series alone. */
static int h_probe(struct mg_connection *c, void *cb)
{
	(void)cb;
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *q = ri->query_string ? ri->query_string : "";
	size_t ql = strlen(q);
	char target[OP_TARGET_MAX], module[OP_NAME_MAX] = "http_2xx", debug[8] = "";
	char msg[600];
	int tl = mg_get_var(q, ql, "target", target, sizeof target);
	if (tl == -2) {
		int n = snprintf(msg, sizeof msg, "Target parameter is longer than %d bytes\n",
			OP_TARGET_MAX - 1);
		return web_reply(c, 400, "text/plain", NO_STORE, msg, (size_t)n);
	}
	if (tl <= 0)
		return web_reply(c, 400, "text/plain", NO_STORE, "Target parameter is missing\n", 28);
	mg_get_var(q, ql, "module", module, sizeof module);
	mg_get_var(q, ql, "debug", debug, sizeof debug);
	static __thread char text[16384];
	struct cfg_module m;
	if (snap_module(module, &m, text, sizeof text) != 0) {
		int n = snprintf(msg, sizeof msg, "Unknown module \"%s\"\n", module);
		return web_reply(c, 400, "text/plain", NO_STORE, msg, (size_t)n);
	}
	/* the scrape's own timeout less half a second, capped by the module's */
	uint64_t timeout = 10000000;
	const char *h = mg_get_header(c, "X-Prometheus-Scrape-Timeout-Seconds");
	if (h) {
		double sec = strtod(h, NULL) - 0.5;
		if (sec > 0.05)
			timeout = (uint64_t)(sec * 1e6);
	}
	if (m.timeout_us && m.timeout_us < timeout)
		timeout = m.timeout_us;
	struct cfg one;
	char err[512];
	if (cfg_module_load(&one, &m, target, timeout, err, sizeof err) != 0) {
		int n = snprintf(msg, sizeof msg, "Bad target or module: %s\n", cfg_error_text(err));
		return web_reply(c, 400, "text/plain", NO_STORE, msg, (size_t)n);
	}
	struct snap_probe p;
	memset(&p, 0, sizeof p);
	int rc = engine_run_adhoc(&one.probes[0], &p.stats);
	if (rc == OP_ENOMEM || rc == OP_ECANCELED) {
		cfg_free(&one);
		const char *why = rc == OP_ENOMEM ? "too many /probe requests at once\n" :
			"the run was cut short by a reload or a stop; ask again\n";
		return web_reply(c, 503, "text/plain", NO_STORE, why, strlen(why));
	}
	p.stats.has_last = 1; /* (a canceled run too: its series say so) */
	op_strlcpy(p.name, "probe", sizeof p.name);
	op_strlcpy(p.kind, one.probes[0].kind, sizeof p.kind);
	op_strlcpy(p.target, target, sizeof p.target);
	cfg_free(&one);
	struct jbuf b = {0};
	if (!strcmp(debug, "true")) {
		const struct result *r = &p.stats.last;
		int n = snprintf(msg, sizeof msg, "Logs for the probe:\nmodule=%s target=%s timeout=%.3fs"
			"\nresult: %s%s%s%s\ndetail: %s\nduration_seconds=%.6f\n\nMetrics that would have "
			"been returned:\n", module, target, timeout / 1e6, r->ok ? "success" : "failure",
			r->ok ? "" : " (", r->ok ? "" : reason_text(r->reason), r->ok ? "" : ")",
			r->detail, r->duration_us / 1e6);
		jb_put(&b, msg, (size_t)n);
	}
	metrics_render_probe(&p, buf_out, &b);
	web_reply(c, 200, debug[0] ? "text/plain; charset=utf-8" :
		"text/plain; version=0.0.4; charset=utf-8", NO_STORE, b.p ? b.p : "", b.len);
	free(b.p);
	return 200;
}

/* Read-only basic auth for everything but /healthz, when web.user is set. A request with the
 * API's bearer token passes too (the dashboard's "run now" sends only that). */
static int begin_request(struct mg_connection *c)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	if (ri->local_uri && !strcmp(ri->local_uri, "/healthz"))
		return 0;
	struct snap s = {0};
	snap_read(&s, 0);
	if (!s.app.basic[0])
		return 0;
	const char *h = mg_get_header(c, "Authorization");
	char want[sizeof s.app.basic + 16];
	snprintf(want, sizeof want, "Basic %s", s.app.basic);
	if (h && op_same(h, want))
		return 0;
	snprintf(want, sizeof want, "Bearer %s", s.app.token);
	if (h && s.app.token[0] && op_same(h, want))
		return 0;
	static const char body[] = "authentication required\n";
	return web_reply(c, 401, "text/plain", "WWW-Authenticate: Basic realm=\"outpost\", "
		"charset=\"UTF-8\"\r\n", body, sizeof body - 1);
}

static int log_message(const struct mg_connection *c, const char *msg)
{
	(void)c;
	fprintf(stderr, "outpost: web: %s\n", msg);
	return 1;
}

int web_start(const char *listen, unsigned threads, char *err, size_t errcap)
{
	static int lib;
	if (!lib) {
		mg_init_library(0);
		lib = 1;
	}
	/* civetweb writes IPv6 as [addr]:port, the same as our config. Each connection holds a
	 * thread while it is open, even idle: web.threads (about 18 KB of RSS each) let a
	 * browser's preconnects and a balancer's checks sit beside a Prometheus scrape; a
	 * connection that sends nothing goes after 5 s, and keep-alive ends 1 s after a request
	 * (the dashboard polls every 3 s, so it never pins a thread). */
	char nthreads[12];
	snprintf(nthreads, sizeof nthreads, "%u", threads);
	const char *opts[] = {
		"listening_ports", listen,
		"num_threads", nthreads,
		"request_timeout_ms", "5000",
		"max_request_size", "16384",
		"enable_keep_alive", "yes",
		"keep_alive_timeout_ms", "1000",
		NULL,
	};
	struct mg_callbacks cbs;
	memset(&cbs, 0, sizeof cbs);
	cbs.log_message = log_message;
	cbs.begin_request = begin_request;
	struct mg_init_data init = {.callbacks = &cbs, .configuration_options = opts};
	char text[256] = "";
	struct mg_error_data e = {.text = text, .text_buffer_size = sizeof text};
	ctx = mg_start2(&init, &e);
	if (!ctx) {
		snprintf(err, errcap, "web: cannot listen on %s: %s", listen,
			text[0] ? text : "unknown error");
		return -1;
	}
	mg_set_request_handler(ctx, "/healthz$", h_healthz, NULL);
	mg_set_request_handler(ctx, "/metrics$", h_metrics, NULL);
	static const struct asset css = {"text/css; charset=utf-8", web_style_css,
		&web_style_css_len}, js = {"text/javascript; charset=utf-8", web_app_js, &web_app_js_len};
	mg_set_request_handler(ctx, "/probe$", h_probe, NULL);
	mg_set_request_handler(ctx, "/logs/", h_log, NULL);
	mg_set_request_handler(ctx, "/api/v1/", api_handle, NULL);
	mg_set_request_handler(ctx, "/assets/style.css$", h_asset, (void *)&css);
	mg_set_request_handler(ctx, "/assets/app.js$", h_asset, (void *)&js);
	mg_set_request_handler(ctx, "/$", h_index, NULL);
	engine_adhoc_slots((int)threads - 2); /* two threads stay free for the rest */
	return 0;
}

void web_stop(void)
{
	/* threads waiting on runs the loop has not started would hold mg_stop for good: the
	 * loop that calls this is not running them (a reload) */
	engine_adhoc_slots(0);
	if (ctx)
		mg_stop(ctx);
	ctx = NULL;
}
