/* notify.c: the internal probe kind of notification channels. A channel is a probe the engine
 * runs (in a normal run slot, never blocking the loop) when its queue holds a message; one run
 * sends the head message:
 *
 *   webhook: POST JSON {alarm, probe, state, since, reason, value, text, appliance}, with an
 *            HMAC-SHA256 of the body in X-Outpost-Signature when a secret is set;
 *   slack:   POST a Slack incoming-webhook payload (text and blocks);
 *   exec:    run a command with the message in OUTPOST_* environment variables.
 *
 * Success pops the message; a failure leaves it for a later try with backoff (alarm.c). */
#include <stdio.h>
#include <string.h>
#include <mbedtls/md.h>
#include "alarm.h"
#include "cfg.h"
#include "engine.h"
#include "httpc.h"
#include "json.h"
#include "probe.h"

#define BODY_MAX 3072
#define TEXT_MAX 600
#define DEFAULT_TEXT "[{{state}}] {{alarm}} on {{probe}} at {{appliance}}: {{reason}}"

enum notify_type { NT_WEBHOOK, NT_SLACK, NT_EXEC };

struct notify_conf {
	const char *type, *url, *headers, *secret, *template, *proxy_url;
	char **argv, **env;
	struct probe_tls tls_opts;
	/* derived */
	uint8_t kind;
	struct probe_proxy proxy;
	struct httpc_req req;
};

struct notify_run {
	struct httpc h;
	struct httpc_req req;
	uint8_t ended;
	struct probe_cmd cmd; /* the exec channel's command */
	char out[40];         /* its output's tail, for a failure's detail */
	uint64_t pause_us; /* the receiver's Retry-After with a failure (httpc_pause_us) */
	char headers[1536];
	char body[BODY_MAX];
	char *envp[16];
	char envbuf[2048];
};

static const struct cfg_key notify_keys[] = {
	{"type", CFG_STR, 1, offsetof(struct notify_conf, type), 0, 16, NULL},
	{"url", CFG_STR, 0, offsetof(struct notify_conf, url), 0, OP_TARGET_MAX - 1, NULL},
	{"headers", CFG_FN, 0, offsetof(struct notify_conf, headers), 0, 0, cfg_headers},
	{"secret", CFG_STR, 0, offsetof(struct notify_conf, secret), 0, 256, NULL},
	{"template", CFG_STR, 0, offsetof(struct notify_conf, template), 0, 512, NULL},
	{"command", CFG_FN, 0, offsetof(struct notify_conf, argv), 0, 0, cfg_argv},
	{"env", CFG_FN, 0, offsetof(struct notify_conf, env), 0, 0, cfg_env},
	{"tls", CFG_OBJ, 0, offsetof(struct notify_conf, tls_opts), 0, 0, NULL, probe_tls_keys,
		PROBE_TLS_NKEYS},
	{"proxy", CFG_STR, 0, offsetof(struct notify_conf, proxy_url), 1, OP_TARGET_MAX - 1, NULL},
};

/* What a template may name, as {{alarm}}. */
static const char *const tpl_keys[] = {"alarm", "probe", "state", "reason", "value", "since",
	"appliance", "region"};

static int notify_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct notify_conf *k = (struct notify_conf *)p->conf;
	char what[OP_NAME_MAX + 24];
	snprintf(what, sizeof what, "channel \"%s\": template", p->name);
	int rc = cfg_tpl_names(c, tok, what, k->template, tpl_keys, OP_ARRAY_LEN(tpl_keys));
	if (rc) /* (another name would go out as written) */
		return rc;
	if (!strcmp(k->type, "exec")) {
		k->kind = NT_EXEC;
		if (!k->argv)
			return cfg_error(c, tok, "channel \"%s\": an exec channel needs \"command\"",
				p->name);
		p->target = "exec";
		return 0;
	}
	if (strcmp(k->type, "webhook") && strcmp(k->type, "slack"))
		return cfg_error(c, tok, "channel \"%s\": \"type\" is \"webhook\", \"slack\" or "
			"\"exec\", not \"%s\"", p->name, k->type);
	k->kind = k->type[0] == 's' ? NT_SLACK : NT_WEBHOOK;
	p->target = k->type;
	if (!k->url)
		return cfg_error(c, tok, "channel \"%s\": a %s channel needs \"url\"", p->name, k->type);
	rc = httpc_configure(c, tok, p, "url", k->url, "http", &k->tls_opts, &k->req);
	if (rc == 0)
		rc = probe_proxy_configure(c, tok, p, k->proxy_url, &k->proxy, &k->req.proxy);
	if (rc < 0)
		return rc;
	k->req.method = "POST";
	k->req.max_body_kib = 64;
	return 0;
}

static const char *state_name(int kind)
{
	return kind == NOTIFY_FIRING ? "firing" : kind == NOTIFY_RESOLVED ? "resolved" : "test";
}

/* Copy src into out at w (bounded by cap), as Slack's mrkdwn shows it literally: &, < and >
 * as entities. Without this a server's words in a reason, "<!channel>" or "<https://x|y>",
 * would page everyone or make a link in the operator's chat. */
static size_t put_text(char *out, size_t cap, size_t w, const char *src, int slack)
{
	for (; *src && w + 1 < cap; src++) {
		const char *e = !slack ? NULL : *src == '&' ? "&amp;" : *src == '<' ? "&lt;" :
			*src == '>' ? "&gt;" : NULL;
		size_t n = e ? strlen(e) : 1;
		if (w + n >= cap)
			break;
		memcpy(out + w, e ? e : src, n);
		w += n;
	}
	return w;
}

/* The message text from the template: the operator's template as written, the values filled
 * in made literal for Slack (slack = 1). */
static void render(char *out, size_t cap, const char *tpl, const struct notify_msg *m, int slack)
{
	const struct cfg *cfg = engine_cfg();
	char since[40], value[32];
	op_fmt_time(since, sizeof since, m->since_us);
	snprintf(value, sizeof value, "%g", m->value);
	size_t w = 0;
	while (*tpl && w + 1 < cap) {
		const char *vals[] = {m->alarm, m->probe, state_name(m->kind),
			m->reason[0] ? m->reason : "-", value, since, cfg->name, cfg->region};
		size_t i = 0, kl = 0;
		if (tpl[0] == '{' && tpl[1] == '{') {
			for (; i < OP_ARRAY_LEN(tpl_keys); i++) {
				kl = strlen(tpl_keys[i]);
				if (!strncmp(tpl + 2, tpl_keys[i], kl) && !strncmp(tpl + 2 + kl, "}}", 2))
					break;
			}
		}
		if (tpl[0] == '{' && i < OP_ARRAY_LEN(tpl_keys)) {
			w = put_text(out, cap, w, vals[i], slack);
			tpl += kl + 4;
		} else {
			out[w++] = *tpl++;
		}
	}
	out[OP_MIN(w, cap - 1)] = 0;
}

static size_t build_webhook(char *out, size_t cap, const struct notify_msg *m, const char *text)
{
	char a[OP_NAME_MAX * 2], p[OP_NAME_MAX * 2], reason[OP_DETAIL_MAX * 2], t[TEXT_MAX * 2];
	char since[40], app[1024];
	json_quote(a, sizeof a, m->alarm);
	json_quote(p, sizeof p, m->probe);
	json_quote(reason, sizeof reason, m->reason);
	json_quote(t, sizeof t, text);
	op_fmt_time(since, sizeof since, m->since_us);
	if (!cfg_appliance_json(app, sizeof app, engine_cfg()))
		return 0;
	int n = snprintf(out, cap, "{\"alarm\":%s,\"probe\":%s,\"state\":\"%s\",\"since\":\"%s\","
		"\"reason\":%s,\"value\":%.6g,\"text\":%s,\"appliance\":%s}", a, p,
		state_name(m->kind), since, reason, m->value, t, app);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static size_t build_slack(char *out, size_t cap, const struct notify_msg *m, const char *text)
{
	const struct cfg *cfg = engine_cfg();
	char t[TEXT_MAX * 2], ctx[256], c[600], since[40];
	op_fmt_time(since, sizeof since, m->since_us);
	json_quote(t, sizeof t, text);
	size_t w = (size_t)snprintf(ctx, sizeof ctx, "%s since %.19s UTC · ", state_name(m->kind),
		since);
	w = put_text(ctx, sizeof ctx, w, cfg->name, 1);
	if (cfg->region[0])
		w = put_text(ctx, sizeof ctx, put_text(ctx, sizeof ctx, w, " · ", 0), cfg->region, 1);
	ctx[w] = 0;
	json_quote(c, sizeof c, ctx);
	int n = snprintf(out, cap, "{\"text\":%s,\"blocks\":[{\"type\":\"section\",\"text\":"
		"{\"type\":\"mrkdwn\",\"text\":%s}},{\"type\":\"context\",\"elements\":[{\"type\":"
		"\"mrkdwn\",\"text\":%s}]}]}", t, t, c);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static void sign(const char *secret, const char *body, size_t len, char hex[65])
{
	uint8_t mac[32];
	mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), (const uint8_t *)secret,
		strlen(secret), (const uint8_t *)body, len, mac);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

static void sent(struct probe_run *r, struct httpc *h)
{
	struct notify_run *s = (struct notify_run *)r->state;
	int status = r->facts.http_status;
	if (status < 200 || status > 299) {
		s->pause_us = httpc_pause_us(h);
		probe_run_done(r, 0, REASON_EXPECT, "the receiver answered %d", status);
		return;
	}
	s->ended = 1;
	alarm_channel_done(r->p->id, 1);
	probe_run_done(r, 1, REASON_NONE, "%d", status);
}

static int exec_start(struct probe_run *r, struct notify_run *s, const struct notify_conf *k,
	const struct notify_msg *m, const char *text)
{
	const struct cfg *cfg = engine_cfg();
	char since[40];
	op_fmt_time(since, sizeof since, m->since_us);
	const char *names[] = {"OUTPOST_ALARM", "OUTPOST_PROBE", "OUTPOST_STATE", "OUTPOST_SINCE",
		"OUTPOST_REASON", "OUTPOST_TEXT", "OUTPOST_APPLIANCE", "OUTPOST_REGION"};
	const char *vals[] = {m->alarm, m->probe, state_name(m->kind), since, m->reason, text,
		cfg->name, cfg->region};
	size_t w = 0, n = 0;
	for (size_t i = 0; i < OP_ARRAY_LEN(names); i++) {
		int len = snprintf(s->envbuf + w, sizeof s->envbuf - w, "%s=%s", names[i], vals[i]);
		if (len < 0 || (size_t)len >= sizeof s->envbuf - w)
			break;
		s->envp[n++] = s->envbuf + w;
		w += (size_t)len + 1;
	}
	int len = snprintf(s->envbuf + w, sizeof s->envbuf - w, "OUTPOST_VALUE=%g", m->value);
	if (len > 0 && (size_t)len < sizeof s->envbuf - w)
		s->envp[n++] = s->envbuf + w;
	for (char **e = k->env; e && *e && n + 1 < OP_ARRAY_LEN(s->envp); e++)
		s->envp[n++] = *e;
	s->envp[n] = NULL;
	s->cmd = (struct probe_cmd){.out = s->out, .cap = sizeof s->out};
	return probe_cmd_start(r, &s->cmd, k->argv, s->envp, NULL) < 0 ? -1 : 0;
}

static int notify_start(struct probe_run *r)
{
	struct notify_run *s = (struct notify_run *)r->state;
	const struct notify_conf *k = probe_conf(r);
	s->ended = 0;
	s->cmd = (struct probe_cmd){0};
	const struct notify_msg *m = alarm_channel_head(r->p->id);
	if (!m) {
		s->ended = 1;
		return probe_run_done(r, 1, REASON_NONE, "nothing to send");
	}
	char text[TEXT_MAX];
	render(text, sizeof text, k->template ? k->template : DEFAULT_TEXT, m, k->kind == NT_SLACK);
	if (k->kind == NT_EXEC)
		return exec_start(r, s, k, m, text), 0;
	size_t n = k->kind == NT_SLACK ? build_slack(s->body, sizeof s->body, m, text) :
		build_webhook(s->body, sizeof s->body, m, text);
	if (!n)
		return probe_run_done(r, 0, REASON_TOO_LARGE, "message over %d bytes", BODY_MAX);
	size_t w = (size_t)snprintf(s->headers, sizeof s->headers,
		"Content-Type: application/json\r\n%s", k->headers ? k->headers : "");
	if (k->secret) {
		char hex[65];
		sign(k->secret, s->body, n, hex);
		snprintf(s->headers + w, sizeof s->headers - w, "X-Outpost-Signature: sha256=%s\r\n",
			hex);
	}
	s->req = k->req;
	s->req.headers = s->headers;
	s->req.body = s->body;
	httpc_start(r, &s->h, &s->req, sent);
	return 0;
}

static void exec_event(struct probe_run *r, struct notify_run *s, int ev)
{
	int rc = probe_cmd_event(r, &s->cmd, ev);
	if (rc == 0)
		return;
	if (rc < 0) {
		probe_run_done(r, 0, REASON_EXEC, "lost track of the command");
		return;
	}
	if (s->cmd.status != 0) {
		probe_cmd_fail(r, &s->cmd);
		return;
	}
	s->ended = 1;
	alarm_channel_done(r->p->id, 1);
	probe_run_done(r, 1, REASON_NONE, "exit 0");
}

static void notify_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct notify_run *s = (struct notify_run *)r->state;
	const struct notify_conf *k = probe_conf(r);
	if (k->kind == NT_EXEC)
		exec_event(r, s, ev);
	else
		httpc_on_event(r, &s->h, ev, events);
}

static void notify_cancel(struct probe_run *r)
{
	struct notify_run *s = (struct notify_run *)r->state;
	httpc_cancel(&s->h);
	probe_cmd_stop(&s->cmd);
	if (!s->ended) {
		alarm_channel_done(r->p->id, 0);
		/* a pause asked for (Slack's 429 says how long): at least that */
		r->p->not_before_us = OP_MAX(r->p->not_before_us, op_loop.now_us + s->pause_us);
	}
	s->ended = 1;
}

const struct probe_ops probe_notify = {
	.kind = "notify",
	.state_size = sizeof(struct notify_run),
	.keys = notify_keys,
	.nkeys = OP_ARRAY_LEN(notify_keys),
	.configure = notify_configure,
	.start = notify_start,
	.on_event = notify_on_event,
	.cancel = notify_cancel,
};
