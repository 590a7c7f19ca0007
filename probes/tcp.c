/* tcp.c: the tcp probe: connect, optionally send a string and wait for an expected one.
 *
 *   resolve -> connect -> [send] -> [read until "expect" appears] -> done
 *
 * Phases: resolve, connect, processing (request sent to first byte), transfer (first byte to
 * match). Without send and expect, a completed connect is success. */
#include <stdio.h>
#include <string.h>
#include "../core/probe.h"

struct tcp_conf {
	const char *send;
	const char *expect;
};

struct tcp_state {
	size_t sent, send_len, expect_len;
	uint8_t got_first;
};

static const struct cfg_key tcp_keys[] = {
	{"send", CFG_STR, 0, offsetof(struct tcp_conf, send), 0, 1024, NULL},
	{"expect", CFG_STR, 0, offsetof(struct tcp_conf, expect), 0, OP_RUN_BUF / 2, NULL},
};

static int tcp_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	char host[DNS_NAME_MAX];
	uint16_t port;
	if (net_split_hostport(p->target, host, sizeof host, 0, &port) != 0)
		return cfg_error(c, tok, "probe \"%s\": target \"%s\" must be \"host:port\"", p->name,
			p->target);
	return 0;
}

static int tcp_start(struct probe_run *r)
{
	char host[DNS_NAME_MAX];
	uint16_t port;
	net_split_hostport(r->p->cfg->target, host, sizeof host, 0, &port); /* checked at load */
	probe_run_resolve(r, host, port);
	return 0;
}

/* Printable excerpt of what arrived, for the failure detail. */
static void excerpt(const uint8_t *b, size_t n, char *out, size_t cap)
{
	size_t w = 0;
	for (size_t i = 0; i < n && w + 5 < cap; i++) {
		if (b[i] >= 32 && b[i] < 127 && b[i] != '"')
			out[w++] = (char)b[i];
		else
			w += (size_t)snprintf(out + w, cap - w, "\\x%02x", b[i]);
	}
	out[w] = 0;
}

static void tcp_read(struct probe_run *r, struct tcp_state *s, const struct tcp_conf *k)
{
	for (;;) {
		if (r->buf_len == sizeof r->buf) {
			/* keep the tail that could still begin a match */
			size_t keep = s->expect_len - 1;
			memmove(r->buf, r->buf + r->buf_len - keep, keep);
			r->buf_len = keep;
		}
		int n = net_recv(&r->conn, r->buf + r->buf_len, sizeof r->buf - r->buf_len);
		if (n == OP_EAGAIN)
			return;
		if (n <= 0) {
			char ex[48];
			excerpt(r->buf, OP_MIN(r->buf_len, 24), ex, sizeof ex);
			if (n == 0)
				probe_run_done(r, 0, REASON_EXPECT,
					"closed before \"%.24s\" arrived; got \"%s\"", k->expect, ex);
			else
				probe_run_done(r, 0, REASON_RECV, "%s", op_strerror(n));
			return;
		}
		if (!s->got_first) {
			s->got_first = 1;
			probe_run_phase_at(r, PHASE_TRANSFER, r->conn.rx_us);
		}
		size_t from = r->buf_len >= s->expect_len ? r->buf_len - s->expect_len + 1 : 0;
		r->buf_len += (size_t)n;
		for (size_t i = from; i + s->expect_len <= r->buf_len; i++) {
			if (!memcmp(r->buf + i, k->expect, s->expect_len)) {
				probe_run_end_at(r, r->conn.rx_us);
				probe_run_done(r, 1, REASON_NONE, NULL);
				return;
			}
		}
	}
}

static void tcp_send(struct probe_run *r, struct tcp_state *s, const struct tcp_conf *k)
{
	while (s->sent < s->send_len) {
		int n = net_send(&r->conn, k->send + s->sent, s->send_len - s->sent);
		if (n == OP_EAGAIN) {
			net_want(&r->conn, PLAT_WRITE);
			return;
		}
		if (n < 0) {
			probe_run_done(r, 0, REASON_SEND, "%s", op_strerror(n));
			return;
		}
		s->sent += (size_t)n;
	}
	if (!s->expect_len) {
		probe_run_done(r, 1, REASON_NONE, NULL);
		return;
	}
	probe_run_phase_at(r, PHASE_PROCESSING, r->conn.tx_us); /* 0 (nothing sent): now */
	net_want(&r->conn, PLAT_READ);
	tcp_read(r, s, k);
}

static void tcp_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct tcp_state *s = (struct tcp_state *)r->state;
	const struct tcp_conf *k = probe_conf(r);
	switch (ev) {
	case PROBE_EV_RESOLVED:
		probe_run_connect(r);
		return;
	case PROBE_EV_CONNECTED:
		s->send_len = k->send ? strlen(k->send) : 0;
		s->expect_len = k->expect ? strlen(k->expect) : 0;
		if (!s->send_len && !s->expect_len) {
			probe_run_done(r, 1, REASON_NONE, NULL);
			return;
		}
		tcp_send(r, s, k);
		return;
	case PROBE_EV_IO:
		if (s->sent < s->send_len)
			tcp_send(r, s, k);
		else if (events & (PLAT_READ | PLAT_ERROR))
			tcp_read(r, s, k);
		return;
	}
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
};
