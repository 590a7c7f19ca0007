/* ws.c: the ws probe: open a WebSocket, optionally send a message and check the reply, close.
 *
 *   resolve -> connect -> [tls] -> upgrade -> [send -> first message back -> check] -> close
 *
 * Phases: resolve, connect, tls, processing (the upgrade: request to 101), transfer (message
 * sent to the reply). The first message after the upgrade is the reply; with no message to
 * send, a completed upgrade and close handshake is success. */
#include <stdio.h>
#include <string.h>
#include "../core/httpc.h"
#include "../core/json.h"
#include "../core/probe.h"
#include "../core/regex.h"
#include "../core/tls.h"
#include "../core/wsc.h"

#define CLOSE_GRACE_US 1000000 /* how long a server may take to answer our close */

struct ws_expect {
	const char *contains;
	struct regex_check regex;
	struct json_checks json;
};

struct ws_conf {
	const char *send, *headers;
	uint32_t max_message;
	struct ws_expect expect;
	struct probe_tls tls_opts;
	struct httpc_req at; /* host, port, path and TLS, from the target */
	const char *proxy_url;
	struct probe_proxy proxy; /* ws and wss alike go through its tunnel */
};

struct ws_state {
	struct tls_conn *tls;
	uint8_t stage; /* enum ws_stage */
	uint8_t ok;    /* the reply (if any) passed */
	char why[OP_DETAIL_MAX]; /* what failed in the reply */
	struct wsc w;
};

enum ws_stage { ST_DIAL, ST_WS, ST_CLOSING };

/* ---- config ---- */

static const struct cfg_key expect_keys[] = {
	{"contains", CFG_STR, 0, offsetof(struct ws_expect, contains), 0, 1024, NULL},
	{"regex", CFG_FN, 0, offsetof(struct ws_expect, regex), 0, 0, cfg_regex_check},
	{"json", CFG_FN, 0, offsetof(struct ws_expect, json), 0, 0, cfg_json_checks},
};


static const struct cfg_key ws_keys[] = {
	{"send", CFG_STR, 0, offsetof(struct ws_conf, send), 0, 2048, NULL},
	{"headers", CFG_FN, 0, offsetof(struct ws_conf, headers), 0, 0, cfg_headers},
	{"max_message", CFG_UINT, 0, offsetof(struct ws_conf, max_message), 1, OP_WS_MSG_MAX, NULL},
	{"expect", CFG_OBJ, 0, offsetof(struct ws_conf, expect), 0, 0, NULL, expect_keys,
		OP_ARRAY_LEN(expect_keys)},
	{"tls", CFG_OBJ, 0, offsetof(struct ws_conf, tls_opts), 0, 0, NULL, probe_tls_keys,
		PROBE_TLS_NKEYS},
	{"proxy", CFG_STR, 0, offsetof(struct ws_conf, proxy_url), 1, OP_TARGET_MAX - 1, NULL},
};

static int ws_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct ws_conf *k = (struct ws_conf *)p->conf;
	int rc = httpc_configure(c, tok, p, "target", p->target, "ws", &k->tls_opts, &k->at);
	if (rc == 0)
		rc = probe_proxy_configure(c, tok, p, k->proxy_url, &k->proxy, &k->at.proxy);
	if (rc < 0)
		return rc;
	if (!(k->headers = httpc_headers_with_auth(c, tok, &k->at, k->headers)))
		return OP_EINVAL;
	if (!k->max_message)
		k->max_message = OP_WS_MSG_MAX;
	if ((k->expect.contains || k->expect.regex.re || k->expect.json.n) && !k->send)
		return cfg_error(c, tok, "probe \"%s\": \"expect\" checks the reply to \"send\": add "
			"a message to send", p->name);
	return 0;
}

/* ---- the run ---- */

static void ws_open(void *udata)
{
	struct probe_run *r = udata;
	struct ws_state *s = (struct ws_state *)r->state;
	const struct ws_conf *k = probe_conf(r);
	r->facts.http_status = 101;
	probe_run_phase(r, -1);
	if (!k->send) {
		s->ok = 1;
		s->stage = ST_CLOSING;
		wsc_close(&s->w, WS_CLOSE_NORMAL);
		probe_run_timer(r, CLOSE_GRACE_US);
		return;
	}
	probe_run_phase(r, PHASE_TRANSFER);
	wsc_send(&s->w, WS_TEXT, k->send, strlen(k->send)); /* fits: send <= 2048 bytes */
}

static void ws_message(void *udata, int opcode, const uint8_t *data, size_t len)
{
	struct probe_run *r = udata;
	struct ws_state *s = (struct ws_state *)r->state;
	const struct ws_expect *e = &((const struct ws_conf *)probe_conf(r))->expect;
	(void)opcode;
	if (s->stage == ST_CLOSING)
		return; /* the reply was the first message; later ones do not count */
	probe_run_phase(r, -1);
	r->facts.body_bytes = len;
	s->ok = 1;
	if (e->contains && !op_memmem(data, len, e->contains, strlen(e->contains)))
		s->ok = 0, snprintf(s->why, sizeof s->why, "contains: \"%.40s\" not in the reply",
			e->contains);
	else if (e->regex.re && !regex_search(e->regex.re, (const char *)data, len))
		s->ok = 0, snprintf(s->why, sizeof s->why, "regex: /%.40s/ matches nothing in the reply",
			e->regex.pattern);
	else if (e->json.n && json_expect((const char *)data, len, &e->json, s->why,
		sizeof s->why) != 0)
		s->ok = 0;
	r->facts.content_failed = !s->ok;
	s->stage = ST_CLOSING;
	wsc_close(&s->w, WS_CLOSE_NORMAL);
	probe_run_timer(r, CLOSE_GRACE_US);
}

static void ws_end(void *udata, int err, int code, const char *detail)
{
	struct probe_run *r = udata;
	struct ws_state *s = (struct ws_state *)r->state;
	(void)code;
	if (s->stage == ST_CLOSING) {
		/* the verdict is in; how the close went does not change it */
		if (s->ok)
			probe_run_done(r, 1, REASON_NONE, "%s", err ? detail : "closed cleanly");
		else
			probe_run_done(r, 0, REASON_EXPECT, "%s", s->why);
		return;
	}
	probe_run_done(r, 0, err == OP_EPROTO ? REASON_PROTOCOL : err == OP_ECLOSED ? REASON_CLOSED :
		REASON_RECV, "%s", detail);
}

static const struct wsc_cb ws_callbacks = {ws_open, ws_message, ws_end};

static void ws_upgrade(struct probe_run *r, struct ws_state *s, const struct ws_conf *k)
{
	char host[DNS_NAME_MAX + 10];
	net_host_header(host, sizeof host, r->host, r->port, k->at.tls ? 443 : 80);
	s->stage = ST_WS;
	probe_run_phase(r, PHASE_PROCESSING);
	if (wsc_begin(&s->w, &r->conn, s->tls, host, k->at.path, k->headers, k->max_message,
		&ws_callbacks, r) != 0)
		probe_run_done(r, 0, REASON_TOO_LARGE, "upgrade request larger than %d bytes",
			OP_WSC_OUT);
}

static int ws_start(struct probe_run *r)
{
	const struct ws_conf *k = probe_conf(r);
	struct ws_state *s = (struct ws_state *)r->state;
	s->tls = NULL;
	s->stage = ST_DIAL;
	s->ok = 0;
	s->why[0] = 0;
	r->facts.content_length = -1;
	r->facts.ssl = k->at.tls;
	probe_run_resolve(r, k->at.proxy, k->at.host, k->at.port);
	return 0;
}

static void ws_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct ws_state *s = (struct ws_state *)r->state;
	const struct ws_conf *k = probe_conf(r);
	(void)events;
	switch (ev) {
	case PROBE_EV_RESOLVED:
	case PROBE_EV_CONNECTED:
	case PROBE_EV_IO:
		if (s->stage != ST_DIAL)
			return wsc_io(&s->w);
		if (probe_run_dial(r, &s->tls, k->at.tls ? k->at.tls_set : NULL, ev))
			ws_upgrade(r, s, k);
		return;
	case PROBE_EV_TIMER:
		/* the server did not answer our close in time: the verdict stands */
		if (s->ok)
			probe_run_done(r, 1, REASON_NONE, "server did not answer the close");
		else
			probe_run_done(r, 0, REASON_EXPECT, "%s", s->why);
		return;
	}
}

static void ws_cancel(struct probe_run *r)
{
	struct ws_state *s = (struct ws_state *)r->state;
	tls_close(s->tls);
	s->tls = NULL;
}

const struct probe_ops probe_ws = {
	.kind = "ws",
	.example_target = "wss://module.invalid/",
	.state_size = sizeof(struct ws_state),
	.keys = ws_keys,
	.nkeys = OP_ARRAY_LEN(ws_keys),
	.configure = ws_configure,
	.start = ws_start,
	.on_event = ws_on_event,
	.cancel = ws_cancel,
};
