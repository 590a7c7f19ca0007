/* pipeline.c: the pipeline probe: end-to-end latency and loss of an event pipeline.
 *
 * Each run POSTs one uniquely tagged event to the collector (target), retrying up to
 * "retries" times. Between runs the probe keeps one WebSocket subscription open
 * ("subscribe") on which events come back; they are matched by id in a fixed table
 * (core/evtrack) and counted: received with latency, lost, duplicates, foreign app ids.
 *
 * The subscription's state machine (reconnecting with capped exponential backoff and jitter):
 *
 *   RESOLVE -> CONNECT -> [TLS] -> WS (upgrade, then open) --end--> WAIT --backoff--> RESOLVE
 *      \__________\___________\________\__ failure or deadline ___/
 *
 * A run's result is the post's; the event counters are the probe's own series. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/engine.h"
#include "../core/evtrack.h"
#include "../core/httpc.h"
#include "../core/json.h"
#include "../core/rand.h"
#include "../core/snap.h"
#include "../core/wsc.h"

#define BODY_MAX 2048
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define DEFAULT_BODY "{\"id\":\"{{id}}\",\"app_id\":\"{{app_id}}\",\"sent_at_ms\":{{sent_ms}}}"

struct pipe_conf {
	const char *subscribe, *subscribe_message, *ws_headers;
	const char *headers, *body, *app_id, *id_path, *app_id_path;
	uint8_t retries_p1; /* retries + 1; 0: not given (3) */
	uint32_t max_message;
	uint64_t lost_after_us, purge_after_us, settle_us;
	uint64_t ping_every_us; /* keep-alive of a quiet subscription; 2.5x that of silence ends it */
	struct probe_tls tls_opts;
	const char *proxy_url;
	struct probe_proxy proxy; /* posts and the subscription alike go through it */
	/* derived */
	struct httpc_req post, sub;
	uint32_t cap;
};

enum sub_state { SUB_IDLE, SUB_RESOLVE, SUB_CONNECT, SUB_TUNNEL, SUB_TLS, SUB_WS, SUB_OPEN,
	SUB_WAIT };

/* Between runs: the subscription and the table (p->kstate). */
struct pipe {
	struct probe *p;
	const struct pipe_conf *k;
	uint8_t state; /* enum sub_state */
	struct net_conn conn;
	struct tls_conn *tls;
	struct dns_query *dq;
	struct dns_resolve rv;
	struct plat_addr addr;
	struct proxy_tunnel via; /* through the proxy, made in w.head before the upgrade uses it */
	struct ev_timer timer; /* the connect deadline, or the backoff wait */
	struct ev_timer tick;  /* the table's cleaner and the keep-alive, once a second */
	uint32_t attempt; /* reconnections since the last open */
	uint32_t nonce, seq;
	uint64_t pinged_us;
	struct evt_table t;
	struct wsc w;
	struct evt_entry entries[]; /* k->cap */
};

/* One run: the post. */
struct pipe_run {
	struct httpc h;
	struct httpc_req req;
	uint64_t id;
	uint8_t attempt, ended;
	char body[BODY_MAX];
};

/* ---- config ---- */

static int read_retries(struct cfg_ctx *c, int tok, void *field)
{
	const char *s;
	char tmp[16], *end;
	int rc = cfg_scalar(c, tok, &s, tmp, sizeof tmp);
	if (rc)
		return rc;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || end == s || v > 10)
		return cfg_error(c, tok, "\"retries\" takes a number from 0 to 10");
	*(uint8_t *)field = (uint8_t)(v + 1);
	return 0;
}

static const struct cfg_key pipe_keys[] = {
	{"subscribe", CFG_STR, 1, offsetof(struct pipe_conf, subscribe), 0, OP_TARGET_MAX, NULL},
	{"subscribe_message", CFG_STR, 0, offsetof(struct pipe_conf, subscribe_message), 0, 1024,
		NULL},
	{"ws_headers", CFG_FN, 0, offsetof(struct pipe_conf, ws_headers), 0, 0, cfg_headers},
	{"headers", CFG_FN, 0, offsetof(struct pipe_conf, headers), 0, 0, cfg_headers},
	{"body", CFG_STR, 0, offsetof(struct pipe_conf, body), 0, BODY_MAX / 2, NULL},
	{"app_id", CFG_STR, 0, offsetof(struct pipe_conf, app_id), 0, 128, NULL},
	{"id_path", CFG_STR, 0, offsetof(struct pipe_conf, id_path), 0, 128, NULL},
	{"app_id_path", CFG_STR, 0, offsetof(struct pipe_conf, app_id_path), 0, 128, NULL},
	{"retries", CFG_FN, 0, offsetof(struct pipe_conf, retries_p1), 0, 0, read_retries},
	{"max_message", CFG_UINT, 0, offsetof(struct pipe_conf, max_message), 64, OP_WS_MSG_MAX,
		NULL},
	{"lost_after", CFG_DUR, 0, offsetof(struct pipe_conf, lost_after_us), 1000000,
		24 * 3600000000ull, NULL},
	{"purge_after", CFG_DUR, 0, offsetof(struct pipe_conf, purge_after_us), 1000000,
		24 * 3600000000ull, NULL},
	{"settle", CFG_DUR, 0, offsetof(struct pipe_conf, settle_us), 0, 3600000000ull, NULL},
	{"ping_every", CFG_DUR, 0, offsetof(struct pipe_conf, ping_every_us), 1000000,
		3600000000ull, NULL},
	{"tls", CFG_OBJ, 0, offsetof(struct pipe_conf, tls_opts), 0, 0, NULL, probe_tls_keys,
		PROBE_TLS_NKEYS},
	{"proxy", CFG_STR, 0, offsetof(struct pipe_conf, proxy_url), 1, OP_TARGET_MAX - 1, NULL},
};

static int pipe_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct pipe_conf *k = (struct pipe_conf *)p->conf;
	int rc = httpc_configure(c, tok, p, "target", p->target, "http", &k->tls_opts,
		&k->post);
	if (rc == 0)
		rc = httpc_configure(c, tok, p, "subscribe", k->subscribe, "ws", &k->tls_opts,
			&k->sub);
	if (rc == 0)
		rc = probe_proxy_configure(c, tok, p, k->proxy_url, &k->proxy, &k->post.proxy);
	if (rc < 0)
		return rc;
	k->sub.proxy = k->post.proxy;
	if (!(k->ws_headers = httpc_headers_with_auth(c, tok, &k->sub, k->ws_headers)))
		return OP_EINVAL;
	k->post.method = "POST";
	/* the events are JSON: their ids are found by a JSON path */
	if (!(k->post.headers = httpc_headers_json(c, tok, k->headers)))
		return OP_EINVAL;
	k->post.max_body_kib = 64;
	if (!k->body)
		k->body = DEFAULT_BODY;
	static const char *const fills[] = {"id", "app_id", "sent_ms"};
	char what[OP_NAME_MAX + 20];
	snprintf(what, sizeof what, "probe \"%s\": \"body\"", p->name);
	rc = cfg_tpl_names(c, tok, what, k->body, fills, OP_ARRAY_LEN(fills));
	if (rc)
		return rc;
	if (!strstr(k->body, "{{id}}"))
		return cfg_error(c, tok, "probe \"%s\": \"body\" must carry the event id: put "
			"{{id}} in it", p->name);
	if (!k->id_path)
		k->id_path = "$.id";
	if (!k->app_id_path)
		k->app_id_path = "$.app_id";
	const char *fault = json_path_fault(k->id_path), *which = "id_path", *path = k->id_path;
	if (!fault)
		fault = json_path_fault(path = k->app_id_path), which = "app_id_path";
	if (fault)
		return cfg_error(c, tok, "probe \"%s\": %s \"%s\": %s", p->name, which, path, fault);
	if (!k->retries_p1)
		k->retries_p1 = 4;
	if (!k->max_message)
		k->max_message = OP_WS_MSG_MAX;
	if (!k->lost_after_us)
		k->lost_after_us = 5 * 60000000ull;
	if (!k->purge_after_us)
		k->purge_after_us = 15 * 60000000ull;
	if (!k->settle_us)
		k->settle_us = OP_MIN(10000000ull, k->lost_after_us);
	if (!k->ping_every_us)
		k->ping_every_us = 30000000ull;
	if (k->purge_after_us < k->lost_after_us)
		return cfg_error(c, tok, "probe \"%s\": purge_after must not be shorter than "
			"lost_after: an event is forgotten only after it could be counted lost", p->name);
	k->cap = evt_capacity(p->interval_us, k->purge_after_us);
	if (k->cap > 65536)
		return cfg_error(c, tok, "probe \"%s\": purge_after / interval needs %u events in "
			"memory; at most 65536 (lengthen the interval or shorten purge_after)", p->name,
			k->cap);
	return 0;
}

static const char *app_id(const struct pipe_conf *k)
{
	return k->app_id ? k->app_id : engine_name();
}

/* ---- the subscription ---- */

static void sub_connect(struct pipe *pp);

static void sub_close(struct pipe *pp)
{
	dns_resolve_cancel(&pp->rv);
	tls_close(pp->tls);
	pp->tls = NULL;
	net_close(&pp->conn);
	ev_timer_cancel(&op_loop, &pp->timer);
}

/* The subscription failed or ended: note why, wait (capped exponential backoff, jittered
 * over its upper half, so many appliances do not return in step), connect again. */
static void sub_fail(struct pipe *pp, const char *why)
{
	sub_close(pp);
	if (pp->state == SUB_OPEN) {
		pp->t.st.connected = 0;
		pp->t.st.disconnects++;
	}
	op_strlcpy(pp->t.st.last_error, why, sizeof pp->t.st.last_error);
	pp->state = SUB_WAIT;
	uint64_t wait = op_backoff_us(pp->attempt++, BACKOFF_MIN_MS * 1000ull,
		BACKOFF_MAX_MS * 1000ull);
	ev_timer_at(&op_loop, &pp->timer, op_loop.now_us + wait);
}

static void sub_open(void *udata)
{
	struct pipe *pp = udata;
	ev_timer_cancel(&op_loop, &pp->timer);
	pp->state = SUB_OPEN;
	pp->attempt = 0;
	pp->pinged_us = op_loop.now_us;
	pp->t.st.connected = 1;
	pp->t.st.connects++;
	pp->t.st.connected_since_wall_us = plat_wall_us();
	pp->t.st.last_error[0] = 0;
	if (pp->k->subscribe_message)
		wsc_send(&pp->w, WS_TEXT, pp->k->subscribe_message, strlen(pp->k->subscribe_message));
}

/* Our ids are 16 hex digits. */
static int parse_id(const char *s, size_t n, uint64_t *id)
{
	if (n != 16)
		return 0;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return 0;
		v = v << 4 | (uint64_t)d;
	}
	*id = v;
	return 1;
}

static void sub_message(void *udata, int opcode, const uint8_t *data, size_t len)
{
	struct pipe *pp = udata;
	const struct pipe_conf *k = pp->k;
	const char *paths[2] = {k->id_path, k->app_id_path}, *val[2];
	size_t vlen[2];
	(void)opcode;
	if (json_values((const char *)data, len, paths, 2, val, vlen) != 0 || !val[0])
		return; /* not an event (a greeting, an acknowledgement) */
	/* the app id as it reads: a collector that re-encodes the event may escape it (Python's
	 * json.dumps writes "caf\u00e9") */
	char app[3 * 128 + 1];
	if (val[1])
		json_as_read((const char *)data, &val[1], &vlen[1], app, sizeof app);
	const char *ours = app_id(k);
	int ours_app = !val[1] || (vlen[1] == strlen(ours) && !memcmp(val[1], ours, vlen[1]));
	uint64_t id = 0;
	int ours_id = parse_id(val[0], vlen[0], &id);
	evt_received(&pp->t, id, ours_id, ours_app, op_loop.now_us);
}

static void sub_end(void *udata, int err, int code, const char *detail)
{
	(void)err, (void)code;
	sub_fail(udata, detail);
}

static const struct wsc_cb sub_callbacks = {sub_open, sub_message, sub_end};

static void sub_upgrade(struct pipe *pp)
{
	char host[DNS_NAME_MAX + 10];
	net_host_header(host, sizeof host, pp->k->sub.host, pp->k->sub.port,
		pp->k->sub.tls ? 443 : 80);
	pp->state = SUB_WS;
	if (wsc_begin(&pp->w, &pp->conn, pp->tls, host, pp->k->sub.path, pp->k->ws_headers,
		pp->k->max_message, &sub_callbacks, pp) != 0)
		sub_fail(pp, "upgrade request too large");
}

static void sub_tls_step(struct pipe *pp)
{
	int rc = tls_handshake(pp->tls);
	if (rc == OP_EAGAIN) {
		net_want(&pp->conn, tls_want(pp->tls));
		return;
	}
	char why[OP_DETAIL_MAX];
	if (rc != 0) {
		tls_error(pp->tls, rc, why, sizeof why);
		return sub_fail(pp, why);
	}
	if (tls_verify(pp->tls, why, sizeof why) != TLS_OK && !pp->k->sub.tls_set->insecure)
		return sub_fail(pp, why);
	sub_upgrade(pp);
}

static void sub_connected(struct pipe *pp)
{
	const struct httpc_req *s = &pp->k->sub;
	if (pp->via.state) {
		int reason, rc;
		char why[OP_DETAIL_MAX];
		pp->state = SUB_TUNNEL;
		rc = proxy_tunnel_io(&pp->via, &pp->conn, pp->w.head, sizeof pp->w.head, &reason, why,
			sizeof why);
		if (rc <= 0) {
			if (rc < 0)
				sub_fail(pp, why);
			return;
		}
	}
	if (!s->tls)
		return sub_upgrade(pp);
	pp->tls = probe_tls_start(&pp->conn, s->tls_set, s->host, -1);
	if (!pp->tls)
		return sub_fail(pp, "no free TLS context");
	pp->state = SUB_TLS;
	sub_tls_step(pp);
}

static void sub_io(struct ev_io *io, unsigned events)
{
	struct pipe *pp = OP_CONTAINER_OF(io, struct pipe, conn.io);
	switch (pp->state) {
	case SUB_CONNECT: {
		int rc = events & PLAT_ERROR ? net_finish_connect(&pp->conn) : 0;
		if (rc == 0 && (events & PLAT_ERROR))
			rc = OP_ECONNRESET;
		if (rc != 0) {
			char why[OP_DETAIL_MAX];
			snprintf(why, sizeof why, "connect: %s", op_strerror(rc));
			return sub_fail(pp, why);
		}
		return sub_connected(pp);
	}
	case SUB_TUNNEL:
		return sub_connected(pp);
	case SUB_TLS:
		return sub_tls_step(pp);
	case SUB_WS:
	case SUB_OPEN:
		return wsc_io(&pp->w);
	}
}

static void sub_resolve(struct pipe *pp);

static void sub_resolved(void *udata, int err, const char *why)
{
	struct pipe *pp = udata;
	if (err) {
		char d[OP_DETAIL_MAX];
		snprintf(d, sizeof d, pp->rv.v4_unreachable ? "connect %s: no route to IPv4 from this "
			"host, and IPv6: %s" : "resolve %s: %s", pp->rv.host, why);
		return sub_fail(pp, d);
	}
	pp->addr.port = pp->k->sub.proxy ? pp->k->sub.proxy->port : pp->k->sub.port;
	pp->state = SUB_CONNECT;
	int rc = net_connect(&pp->conn, PLAT_TCP, &pp->addr, sub_io);
	if (rc == 0)
		return sub_connected(pp);
	if (rc != OP_EAGAIN && dns_resolve_ipv6_instead(&pp->rv, rc)) {
		net_close(&pp->conn); /* an IPv6-only network: the name's IPv6 address */
		return sub_resolve(pp);
	}
	if (rc != OP_EAGAIN) {
		char d[OP_DETAIL_MAX];
		snprintf(d, sizeof d, "connect: %s", op_strerror(rc));
		sub_fail(pp, d);
	}
}

static void sub_resolve(struct pipe *pp)
{
	pp->state = SUB_RESOLVE;
	int rc = dns_resolve_start(&pp->rv);
	if (rc == 0)
		sub_resolved(pp, 0, NULL);
	else if (rc != OP_EAGAIN)
		sub_resolved(pp, rc, op_strerror(rc));
}

static void sub_connect(struct pipe *pp)
{
	/* everything up to the open subscription within the probe's timeout */
	uint64_t deadline = op_loop.now_us + pp->p->cfg->timeout_us;
	ev_timer_at(&op_loop, &pp->timer, deadline);
	const struct httpc_req *s = &pp->k->sub;
	proxy_tunnel_arm(&pp->via, s->proxy, s->host, s->port);
	pp->rv = (struct dns_resolve){.host = s->proxy ? s->proxy->host : s->host,
		.addr = &pp->addr, .q = &pp->dq, .deadline_us = deadline, .cb = sub_resolved,
		.udata = pp, .family = probe_family(pp->p->cfg)};
	sub_resolve(pp);
}

static void sub_timer(struct ev_timer *t)
{
	struct pipe *pp = OP_CONTAINER_OF(t, struct pipe, timer);
	if (pp->state == SUB_WAIT)
		sub_connect(pp);
	else
		sub_fail(pp, "subscription not open within the probe's timeout");
}

static void pipe_tick(struct ev_timer *t)
{
	struct pipe *pp = OP_CONTAINER_OF(t, struct pipe, tick);
	uint64_t now = op_loop.now_us;
	evt_tick(&pp->t, now);
	/* a subscription can die without a word (a NAT or balancer that forgot it): silence for
	 * two and a half pings, not even a pong, ends it */
	if (pp->state == SUB_OPEN && now - pp->w.rx_us > pp->k->ping_every_us * 5 / 2) {
		sub_fail(pp, "subscription silent (no answer to pings)");
	} else if (pp->state == SUB_OPEN) {
		if (now - pp->pinged_us >= pp->k->ping_every_us) {
			wsc_send(&pp->w, WS_PING, "outpost", 7);
			pp->pinged_us = now;
		}
	}
	ev_timer_at(&op_loop, t, now + 1000000);
}

static size_t pipe_state_size(const struct cfg_probe *cp)
{
	const struct pipe_conf *k = (const struct pipe_conf *)cp->conf;
	return sizeof(struct pipe) + sizeof(struct evt_entry) * k->cap;
}

static void pipe_attach(struct probe *p)
{
	struct pipe *pp = p->kstate;
	pp->p = p;
	pp->k = (const struct pipe_conf *)p->cfg->conf;
	net_conn_init(&pp->conn);
	evt_init(&pp->t, pp->entries, pp->k->cap, pp->k->lost_after_us, pp->k->purge_after_us,
		pp->k->settle_us);
	pp->nonce = op_rand32();
	pp->attempt = 0;
	pp->timer.cb = sub_timer;
	pp->tick.cb = pipe_tick;
	ev_timer_at(&op_loop, &pp->tick, op_loop.now_us + 1000000);
	sub_connect(pp);
}

static void pipe_detach(struct probe *p)
{
	struct pipe *pp = p->kstate;
	if (pp->state == SUB_OPEN) {
		/* say goodbye if the socket takes it at once; the engine is stopping */
		wsc_close(&pp->w, WS_CLOSE_GOING_AWAY);
		net_send(&pp->conn, pp->w.out + pp->w.out_sent, pp->w.out_len - pp->w.out_sent);
	}
	sub_close(pp);
	ev_timer_cancel(&op_loop, &pp->tick);
	pp->state = SUB_IDLE;
}

static void pipe_publish(struct probe *p, struct snap_probe *sp)
{
	struct pipe *pp = p->kstate;
	sp->events = pp->t.st;
}

/* A reload closes the subscription and opens it again; the books go on (evt_take). */
static size_t pipe_keep(struct probe *p, void *buf, size_t cap)
{
	struct pipe *pp = p->kstate;
	size_t need = sizeof pp->t.st + pp->t.cap * sizeof(struct evt_entry);
	if (!buf || cap < need)
		return need;
	memcpy(buf, &pp->t.st, sizeof pp->t.st);
	uint32_t n = evt_keep(&pp->t, (struct evt_entry *)(void *)((uint8_t *)buf +
		sizeof pp->t.st));
	return sizeof pp->t.st + n * sizeof(struct evt_entry);
}

static void pipe_take(struct probe *p, const void *buf, size_t len)
{
	struct pipe *pp = p->kstate;
	struct evt_stats st;
	if (len < sizeof st)
		return;
	memcpy(&st, buf, sizeof st);
	evt_take(&pp->t, &st, (const struct evt_entry *)(const void *)((const uint8_t *)buf +
		sizeof st), (uint32_t)((len - sizeof st) / sizeof(struct evt_entry)), op_loop.now_us);
}

/* ---- the run: post one event ---- */

/* The probe's table, when the engine runs it on schedule (not in one-shot or ad-hoc runs). */
static struct pipe *attached(struct probe_run *r)
{
	struct pipe *pp = r->p->kstate;
	return pp && pp->k ? pp : NULL;
}

static void post_begin(struct probe_run *r);

static void post_done(struct probe_run *r, struct httpc *h)
{
	struct pipe_run *s = (struct pipe_run *)r->state;
	(void)h;
	int status = r->facts.http_status;
	if (status < 200 || status > 299) {
		probe_run_done(r, 0, REASON_EXPECT, "collector answered %d", status);
		return;
	}
	struct pipe *pp = attached(r);
	if (pp)
		evt_post_end(&pp->t, s->id, 1);
	s->ended = 1;
	probe_run_done(r, 1, REASON_NONE, "event %016llx accepted (%d)%s",
		(unsigned long long)s->id, status, s->attempt ? ", after retries" : "");
}

/* Expand {{id}}, {{app_id}} and {{sent_ms}} in the body template; the app id goes in
 * JSON-escaped, since it sits inside a JSON string. */
static int expand(char *out, size_t cap, const char *tpl, uint64_t id, const char *app)
{
	char esc[6 * 128 + 16];
	size_t elen = json_quote(esc, sizeof esc, app);
	esc[elen - 1] = 0; /* without its quotes */
	size_t w = 0;
	while (*tpl) {
		char v[40];
		const char *sub = NULL;
		size_t skip = 0;
		if (!strncmp(tpl, "{{id}}", 6))
			snprintf(v, sizeof v, "%016llx", (unsigned long long)id), sub = v, skip = 6;
		else if (!strncmp(tpl, "{{app_id}}", 10))
			sub = esc + 1, skip = 10;
		else if (!strncmp(tpl, "{{sent_ms}}", 11))
			snprintf(v, sizeof v, "%lld", (long long)(plat_wall_us() / 1000)), sub = v,
				skip = 11;
		if (sub) {
			size_t n = strlen(sub);
			if (w + n >= cap)
				return -1;
			memcpy(out + w, sub, n);
			w += n;
			tpl += skip;
		} else {
			if (w + 1 >= cap)
				return -1;
			out[w++] = *tpl++;
		}
	}
	out[w] = 0;
	return 0;
}

static void post_begin(struct probe_run *r)
{
	struct pipe_run *s = (struct pipe_run *)r->state;
	s->req.body = s->body;
	memset(&r->facts, 0, sizeof r->facts);
	httpc_start(r, &s->h, &s->req, post_done);
}

static int pipe_start(struct probe_run *r)
{
	struct pipe_run *s = (struct pipe_run *)r->state;
	const struct pipe_conf *k = probe_conf(r);
	struct pipe *pp = attached(r);
	uint32_t nonce = pp ? pp->nonce : op_rand32();
	uint32_t seq = pp ? ++pp->seq : 1;
	s->id = (uint64_t)nonce << 32 | seq;
	s->attempt = 0;
	s->ended = 0;
	s->req = k->post;
	if (expand(s->body, sizeof s->body, k->body, s->id, app_id(k)) != 0) {
		s->ended = 1;
		return probe_run_done(r, 0, REASON_TOO_LARGE, "event body over %d bytes", BODY_MAX);
	}
	if (pp)
		evt_post_begin(&pp->t, s->id, op_loop.now_us);
	post_begin(r);
	return 0;
}

static void pipe_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct pipe_run *s = (struct pipe_run *)r->state;
	if (ev == PROBE_EV_TIMER)
		post_begin(r); /* the next attempt */
	else
		httpc_on_event(r, &s->h, ev, events);
}

/* A failed attempt: try again after 100 ms, 200 ms, 400 ms... while retries and time last. */
static int pipe_retry(struct probe_run *r, int reason, const char *detail)
{
	struct pipe_run *s = (struct pipe_run *)r->state;
	const struct pipe_conf *k = probe_conf(r);
	(void)reason, (void)detail;
	httpc_cancel(&s->h);
	if (s->ended || s->attempt + 1 >= k->retries_p1)
		return 0;
	uint64_t wait = op_backoff_us(s->attempt, 100000, 3200000);
	if (op_loop.now_us + wait >= r->deadline.when_us)
		return 0;
	s->attempt++;
	probe_run_timer(r, wait);
	return 1;
}

static void pipe_cancel(struct probe_run *r)
{
	struct pipe_run *s = (struct pipe_run *)r->state;
	struct pipe *pp = attached(r);
	httpc_cancel(&s->h);
	if (!s->ended && pp)
		evt_post_end(&pp->t, s->id, 0);
	s->ended = 1;
}

const struct probe_ops probe_pipeline = {
	.kind = "pipeline",
	.example_target = "https://module.invalid/events",
	.state_size = sizeof(struct pipe_run),
	.keys = pipe_keys,
	.nkeys = OP_ARRAY_LEN(pipe_keys),
	.configure = pipe_configure,
	.start = pipe_start,
	.on_event = pipe_on_event,
	.cancel = pipe_cancel,
	.retry = pipe_retry,
	.probe_state_size = pipe_state_size,
	.probe_conns = 1,
	.probe_timers = 2,
	.attach = pipe_attach,
	.detach = pipe_detach,
	.publish = pipe_publish,
	.keep = pipe_keep,
	.take = pipe_take,
};
