/* tcp.c: the tcp probe: connect, optionally over TLS, optionally send a string and wait for an
 * expected one.
 *
 *   resolve -> connect -> [starttls dialogue] -> [tls handshake, verify] -> [send]
 *   -> [read until "expect" appears] -> done
 *
 * Phases: resolve, connect, tls (with the STARTTLS dialogue), processing (request sent to first
 * byte), transfer (first byte to match). Without send and expect, a completed connect (or
 * handshake) is success. With "tls" or "starttls" it is a certificate check for any TLS
 * service: SMTPS, IMAPS, LDAPS, MQTT, SMTP submission, a database... The STARTTLS dialogues
 * themselves are core/starttls.c. */
#include <stdio.h>
#include <string.h>
#include "../core/probe.h"
#include "../core/starttls.h"
#include "../core/tls.h"

struct tcp_conf {
	const char *send;
	const char *expect;
	const char *starttls_name;
	struct probe_tls tls;
	uint32_t cert_min_days;
	uint8_t use_tls; /* a "tls" object or "starttls" was given */
	const struct starttls *starttls;
	const char *proxy_url;
	struct probe_proxy proxy;
	const struct probe_proxy *via; /* &proxy when one is given: the target through a tunnel */
};

enum tcp_stage { ST_DIAL, ST_STARTTLS, ST_HANDSHAKE, ST_READY };

struct tcp_state {
	struct tls_conn *tls;
	size_t sent, send_len, expect_len;
	uint8_t stage, step, got_first;
};

/* "tls": {...} turns TLS on; its keys are those of every kind ({} for the defaults). */
static int read_tls(struct cfg_ctx *c, int tok, void *field)
{
	struct tcp_conf *k = OP_CONTAINER_OF(field, struct tcp_conf, tls);
	k->use_tls = 1;
	return cfg_object(c, tok, "\"tls\"", probe_tls_keys, PROBE_TLS_NKEYS, field, NULL, 0, NULL);
}

static const struct cfg_key tcp_keys[] = {
	{"send", CFG_STR, 0, offsetof(struct tcp_conf, send), 0, 1024, NULL},
	{"expect", CFG_STR, 0, offsetof(struct tcp_conf, expect), 0, OP_RUN_BUF / 2, NULL},
	{"tls", CFG_FN, 0, offsetof(struct tcp_conf, tls), 0, 0, read_tls},
	{"cert_min_days", CFG_UINT, 0, offsetof(struct tcp_conf, cert_min_days), 0, 3650, NULL},
	{"starttls", CFG_STR, 0, offsetof(struct tcp_conf, starttls_name), 0, 16, NULL},
	{"proxy", CFG_STR, 0, offsetof(struct tcp_conf, proxy_url), 1, OP_TARGET_MAX - 1, NULL},
};

static int tcp_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct tcp_conf *k = (struct tcp_conf *)p->conf;
	char host[DNS_NAME_MAX];
	uint16_t port;
	if (net_split_hostport(p->target, host, sizeof host, 0, &port) != 0)
		return cfg_error(c, tok, "probe \"%s\": target \"%s\" must be \"host:port\"", p->name,
			p->target);
	const char *fault = dns_name_fault(host);
	if (fault)
		return cfg_error(c, tok, "probe \"%s\": the host \"%s\" is not a DNS name: it has %s",
			p->name, host, fault);
	if (k->starttls_name) {
		k->starttls = starttls_find(k->starttls_name);
		if (!k->starttls)
			return cfg_error(c, tok, "probe \"%s\": \"starttls\" is %s, not \"%s\"", p->name,
				starttls_names, k->starttls_name);
		k->use_tls = 1;
	}
	if (k->cert_min_days && !k->use_tls)
		return cfg_error(c, tok, "probe \"%s\": \"cert_min_days\" checks a TLS certificate: "
			"add \"tls\": {} (or \"starttls\") to connect over TLS", p->name);
	int rc = probe_proxy_configure(c, tok, p, k->proxy_url, &k->proxy, &k->via);
	if (rc == 0 && k->use_tls)
		rc = probe_tls_configure(c, tok, &k->tls);
	return rc;
}

static int tcp_start(struct probe_run *r)
{
	char host[DNS_NAME_MAX];
	uint16_t port;
	net_split_hostport(r->p->cfg->target, host, sizeof host, 0, &port); /* checked at load */
	probe_run_resolve(r, ((const struct tcp_conf *)probe_conf(r))->via, host, port);
	return 0;
}

/* Success, unless the certificate is closer to its end than cert_min_days. */
static void tcp_ok(struct probe_run *r, const struct tcp_conf *k)
{
	char why[OP_DETAIL_MAX];
	if (probe_cert_short(r, k->cert_min_days, why, sizeof why))
		probe_run_done(r, 0, REASON_EXPECT, "%s", why);
	else if (r->facts.cert_expiry)
		probe_run_done(r, 1, REASON_NONE, "TLS %d.%d; the chain expires in %.1f days",
			r->facts.tls_version / 10, r->facts.tls_version % 10,
			result_cert_days(&r->facts, plat_wall_us()));
	else if (k->expect) /* what came, as a failure says what did not */
		probe_run_done(r, 1, REASON_NONE, "\"%.60s\" arrived", k->expect);
	else
		probe_run_done(r, 1, REASON_NONE, "connected");
}

static void tcp_read(struct probe_run *r, struct tcp_state *s, const struct tcp_conf *k)
{
	/* bounded, so a server that sends without end cannot hold the loop: the socket stays
	 * readable, and the run's deadline still fires (what TLS read of it is taken first) */
	for (int round = 0; round < 64 || stream_pending(s->tls); round++) {
		if (r->buf_len == sizeof r->buf) {
			/* keep the tail that could still begin a match */
			size_t keep = s->expect_len - 1;
			memmove(r->buf, r->buf + r->buf_len - keep, keep);
			r->buf_len = keep;
		}
		int n = stream_recv(s->tls, &r->conn, r->buf + r->buf_len, sizeof r->buf - r->buf_len);
		if (n == OP_EAGAIN) {
			stream_want(s->tls, &r->conn, PLAT_READ);
			return;
		}
		if (n <= 0) {
			char ex[48], why[OP_DETAIL_MAX];
			op_excerpt(r->buf, OP_MIN(r->buf_len, 24), ex, sizeof ex);
			stream_error(s->tls, n, why, sizeof why);
			if (n == 0)
				probe_run_done(r, 0, REASON_EXPECT,
					"closed before \"%.24s\" arrived; got \"%s\"", k->expect, ex);
			else
				probe_run_done(r, 0, REASON_RECV, "%s", why);
			return;
		}
		if (!s->got_first) {
			s->got_first = 1;
			probe_run_phase_at(r, PHASE_TRANSFER, r->conn.rx_us);
		}
		size_t from = r->buf_len >= s->expect_len ? r->buf_len - s->expect_len + 1 : 0;
		r->buf_len += (size_t)n;
		if (op_memmem(r->buf + from, r->buf_len - from, k->expect, s->expect_len)) {
			probe_run_end_at(r, r->conn.rx_us);
			tcp_ok(r, k);
			return;
		}
	}
}

static void tcp_send(struct probe_run *r, struct tcp_state *s, const struct tcp_conf *k)
{
	while (s->sent < s->send_len) {
		int n = stream_send(s->tls, &r->conn, k->send + s->sent, s->send_len - s->sent);
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
	if (!s->expect_len) {
		tcp_ok(r, k);
		return;
	}
	probe_run_phase_at(r, PHASE_PROCESSING, r->conn.tx_us); /* 0 (nothing sent): now */
	stream_want(s->tls, &r->conn, PLAT_READ);
	tcp_read(r, s, k); /* (a greeting may already wait, in the socket or the TLS context) */
}

static void tcp_ready(struct probe_run *r, struct tcp_state *s, const struct tcp_conf *k);

/* The plain-text dialogue before the handshake; then the handshake on the same connection. */
static void starttls_io(struct probe_run *r, struct tcp_state *s, const struct tcp_conf *k)
{
	const struct starttls *t = k->starttls;
	for (int round = 0; round < 64; round++) {
		const struct starttls_step *st = &t->step[s->step];
		if (s->sent < st->send_len) {
			int n = net_send(&r->conn, st->send + s->sent, st->send_len - s->sent);
			if (n == OP_EAGAIN) {
				net_want(&r->conn, PLAT_WRITE);
				return;
			}
			if (n < 0) {
				probe_run_done(r, 0, REASON_SEND, "STARTTLS (%s): %s", t->name,
					op_strerror(n));
				return;
			}
			s->sent += (size_t)n;
			continue;
		}
		char why[OP_DETAIL_MAX];
		int v = starttls_judge(st, r->buf, &r->buf_len, why, sizeof why);
		if (v < 0) {
			probe_run_done(r, 0, REASON_TLS, "STARTTLS (%s): %s", t->name, why);
			return;
		}
		if (v > 0) {
			r->buf_len = 0;
			s->sent = 0;
			if (++s->step < t->nsteps)
				continue;
			s->stage = ST_HANDSHAKE;
			if (probe_run_dial(r, &s->tls, &k->tls, PROBE_EV_CONNECTED))
				tcp_ready(r, s, k);
			return;
		}
		if (r->buf_len == sizeof r->buf) {
			probe_run_done(r, 0, REASON_PROTOCOL, "STARTTLS (%s): a %s over %zu bytes",
				t->name, st->judge ? "reply" : "line", sizeof r->buf);
			return;
		}
		int n = net_recv(&r->conn, r->buf + r->buf_len, sizeof r->buf - r->buf_len);
		if (n == OP_EAGAIN) {
			net_want(&r->conn, PLAT_READ);
			return;
		}
		if (n <= 0) {
			probe_run_done(r, 0, n ? REASON_RECV : REASON_CLOSED, "STARTTLS (%s): %s", t->name,
				n ? op_strerror(n) : "connection closed before the server agreed");
			return;
		}
		r->buf_len += (size_t)n;
	}
}

/* The connection is up (over TLS when asked): on to send and expect. */
static void tcp_ready(struct probe_run *r, struct tcp_state *s, const struct tcp_conf *k)
{
	s->stage = ST_READY;
	s->send_len = k->send ? strlen(k->send) : 0;
	s->expect_len = k->expect ? strlen(k->expect) : 0;
	if (!s->send_len && !s->expect_len)
		tcp_ok(r, k);
	else
		tcp_send(r, s, k);
}

static void tcp_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct tcp_state *s = (struct tcp_state *)r->state;
	const struct tcp_conf *k = probe_conf(r);
	(void)events;
	switch (s->stage) {
	case ST_DIAL:
		/* with STARTTLS the handshake waits for the dialogue */
		if (!probe_run_dial(r, &s->tls, k->use_tls && !k->starttls ? &k->tls : NULL, ev))
			return;
		if (!k->starttls)
			return tcp_ready(r, s, k);
		s->stage = ST_STARTTLS;
		probe_run_phase(r, PHASE_TLS);
		return starttls_io(r, s, k);
	case ST_STARTTLS:
		if (ev == PROBE_EV_IO)
			starttls_io(r, s, k);
		return;
	case ST_HANDSHAKE:
		if (probe_run_dial(r, &s->tls, &k->tls, ev))
			tcp_ready(r, s, k);
		return;
	default:
		if (ev != PROBE_EV_IO)
			return;
		if (s->sent < s->send_len)
			tcp_send(r, s, k);
		else
			tcp_read(r, s, k);
	}
}

static void tcp_cancel(struct probe_run *r)
{
	struct tcp_state *s = (struct tcp_state *)r->state;
	tls_close(s->tls);
	s->tls = NULL;
}

const struct probe_ops probe_tcp = {
	.kind = "tcp",
	.example_target = "module.invalid:1",
	.state_size = sizeof(struct tcp_state),
	.keys = tcp_keys,
	.nkeys = OP_ARRAY_LEN(tcp_keys),
	.configure = tcp_configure,
	.start = tcp_start,
	.on_event = tcp_on_event,
	.cancel = tcp_cancel,
};
