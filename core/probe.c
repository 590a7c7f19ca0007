/* probe.c: the helpers every probe kind uses: phase timing, resolving, connecting. Each helper
 * may end the run before it returns (on failure), so a kind never touches r after calling one. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "engine.h"
#include "http_parse.h"
#include "probe.h"
#include "tls.h"

const struct probe_ops *probe_kind_find(const char *kind)
{
	for (const struct probe_ops *const *k = probe_registry; *k; k++)
		if (!strcmp((*k)->kind, kind))
			return *k;
	return NULL;
}

void probe_run_phase_at(struct probe_run *r, int phase, uint64_t at_us)
{
	uint64_t now = plat_now_us();
	at_us = at_us ? OP_MAX(OP_MIN(at_us, now), r->mark_us) : now; /* 0: nothing was read */
	if (r->phase >= 0)
		r->phase_us[r->phase] += (uint32_t)(at_us - r->mark_us);
	r->phase = phase;
	r->mark_us = at_us;
}

void probe_run_phase(struct probe_run *r, int phase)
{
	probe_run_phase_at(r, phase, plat_now_us());
}

void probe_run_end_at(struct probe_run *r, uint64_t at_us)
{
	probe_run_phase_at(r, -1, at_us);
	r->end_us = r->mark_us;
}

uint64_t probe_run_elapsed(const struct probe_run *r)
{
	uint64_t d = (r->end_us ? r->end_us : plat_now_us()) - r->t0_us;
	return d > r->off_us ? d - r->off_us : 0;
}

void probe_run_note_addr(struct probe_run *r, const struct plat_addr *a)
{
	r->facts.ip_protocol = a->family == PLAT_AF_INET6 ? 6 : 4;
	/* FNV-1a over the address's 4 or 16 bytes, as blackbox_exporter hashes it, so an alert on
	 * its changes (a DNS answer that moved) reads the same */
	r->facts.ip_hash = op_fnv1a(OP_FNV_START, a->ip, r->facts.ip_protocol == 6 ? 16 : 4);
}

static void run_resolved(struct probe_run *r)
{
	r->addr.port = r->port;
	probe_run_note_addr(r, &r->addr);
	probe_run_phase(r, -1);
	r->ops->on_event(r, PROBE_EV_RESOLVED, 0);
}

/* A run that cannot have a descriptor or a slot on this host fails as no_slot: the limit is
 * this host's, and the target is not to blame for it. */
static int reason_for(int rc, int otherwise)
{
	return rc == OP_EMFILE || rc == OP_ENOMEM ? REASON_NO_SLOT : otherwise;
}

static void resolve_cb(void *udata, int err, const char *why)
{
	struct probe_run *r = udata;
	if (err && r->rv.v4_unreachable) {
		probe_run_done(r, 0, reason_for(err, REASON_CONNECT), "%s: no route to IPv4 from this "
			"host, and IPv6: %s", r->host, why);
		return;
	}
	if (err) {
		probe_run_done(r, 0, reason_for(err, REASON_RESOLVE), "%s: %s", r->host, why);
		return;
	}
	run_resolved(r);
}

/* Start (or start again) r->rv, in the resolve phase. */
static void resolve(struct probe_run *r)
{
	probe_run_phase(r, PHASE_RESOLVE);
	int rc = dns_resolve_start(&r->rv);
	/* (a host that is no DNS name gets here from a redirect or a scenario's value) */
	const char *fault = rc == OP_EINVAL ? dns_name_fault(r->host) : NULL;
	char why[96];
	if (fault)
		snprintf(why, sizeof why, "not a DNS name: it has %s", fault);
	if (rc == 0)
		run_resolved(r);
	else if (rc != OP_EAGAIN)
		resolve_cb(r, rc, fault ? why : op_strerror(rc));
}

uint8_t probe_family(const struct cfg_probe *p)
{
	return p->ip_protocol == 4 ? PLAT_AF_INET : p->ip_protocol == 6 ? PLAT_AF_INET6 : 0;
}

void probe_run_resolve(struct probe_run *r, const struct probe_proxy *px, const char *host,
	uint16_t port)
{
	proxy_tunnel_arm(&r->via, px, host, port);
	if (px) {
		host = px->host;
		port = px->port;
	}
	op_strlcpy(r->host, host, sizeof r->host);
	r->port = port;
	r->rv = (struct dns_resolve){.host = r->host, .addr = &r->addr, .q = &r->dq,
		.deadline_us = r->deadline.when_us, .cb = resolve_cb, .udata = r,
		.family = probe_family(r->p->cfg)};
	resolve(r);
}

static int connect_failed(struct probe_run *r, int rc)
{
	if (r->rv.addr && dns_resolve_ipv6_instead(&r->rv, rc)) {
		/* an IPv6-only network: the name's IPv6 address, in the resolve phase again */
		net_close(&r->conn);
		resolve(r);
		return 0;
	}
	char ip[64];
	plat_addr_format(&r->addr, ip, sizeof ip);
	return probe_run_done(r, 0, rc == OP_ECONNREFUSED ? REASON_REFUSED : REASON_CONNECT,
		"%s port %u: %s", ip, r->addr.port, op_strerror(rc));
}

/* The connect phase is the handshake as the kernel timed it, when it can say: the rest of the
 * wall time since connect() began is this host's own work, taken off the clock as making the
 * socket is (on a CPU that has slept, the kernel's path to sending the SYN takes 50-100 µs
 * here, three times the loopback handshake; and a busy loop notices the answer late). */
static void run_connected(struct probe_run *r)
{
	uint64_t now = plat_now_us(), wall = now - r->mark_us;
	uint32_t handshake = plat_sock_handshake_us(r->conn.io.fd);
	if (handshake && handshake < wall) {
		r->off_us += wall - handshake;
		now = r->mark_us + handshake;
	}
	probe_run_phase_at(r, -1, now);
	r->ops->on_event(r, PROBE_EV_CONNECTED, 0);
}

static void run_io(struct ev_io *io, unsigned events)
{
	struct probe_run *r = OP_CONTAINER_OF(io, struct probe_run, conn.io);
	if (r->phase == PHASE_CONNECT && r->via.state < 2) {
		/* writable without an error condition is a completed connect; only a failure needs
		 * the socket's error read out */
		int rc = events & PLAT_ERROR ? net_finish_connect(&r->conn) : 0;
		if (rc == 0 && (events & PLAT_ERROR))
			rc = OP_ECONNRESET;
		if (rc != 0) {
			connect_failed(r, rc);
			return;
		}
		/* the kind sets the next interest at once; leaving PLAT_WRITE until then saves a
		 * system call per run */
		run_connected(r);
		return;
	}
	r->ops->on_event(r, PROBE_EV_IO, events);
}

void probe_run_connect(struct probe_run *r)
{
	/* The socket is made off the clock: creating it is this host's work, not the service's
	 * latency, and on a cold CPU it takes about as long as a whole loopback handshake. */
	uint64_t t = plat_now_us();
	int rc = net_open(&r->conn, PLAT_TCP, r->addr.family, run_io);
	r->off_us += plat_now_us() - t;
	if (rc < 0) {
		if (reason_for(rc, 0))
			probe_run_done(r, 0, REASON_NO_SLOT, "cannot open a socket: %s", op_strerror(rc));
		else
			connect_failed(r, rc);
		return;
	}
	probe_run_phase(r, PHASE_CONNECT);
	rc = net_connect(&r->conn, PLAT_TCP, &r->addr, run_io);
	if (rc == OP_EAGAIN)
		return;
	if (rc < 0) {
		connect_failed(r, rc);
		return;
	}
	run_connected(r);
}

static void run_aux(struct ev_timer *t)
{
	struct probe_run *r = OP_CONTAINER_OF(t, struct probe_run, aux);
	r->ops->on_event(r, PROBE_EV_TIMER, 0);
}

void probe_run_timer(struct probe_run *r, uint64_t us)
{
	r->aux.cb = run_aux;
	ev_timer_at(&op_loop, &r->aux, op_loop.now_us + us);
}

/* Runs whose command is running, told of each SIGCHLD: few (exec runs and notifications in
 * flight), so a list walked in full is enough. */
static struct probe_run *cmd_runs;

void probe_cmd_forget(struct probe_run *r)
{
	for (struct probe_run **pp = &cmd_runs; *pp; pp = &(*pp)->cmd_next)
		if (*pp == r) {
			*pp = r->cmd_next;
			return;
		}
}

void probe_cmd_children(void)
{
	for (struct probe_run *r = cmd_runs, *next; r; r = next) {
		next = r->cmd_next; /* the event may end r, never another run */
		r->ops->on_event(r, PROBE_EV_CHILD, 0);
	}
}

int probe_cmd_start(struct probe_run *r, struct probe_cmd *c, char *const argv[],
	char *const env[], const char *cwd)
{
	int fd;
	*c = (struct probe_cmd){.out = c->out, .cap = c->cap};
	probe_run_phase(r, PHASE_PROCESSING);
	int pid = plat_proc_spawn(argv, env, cwd, &fd);
	if (pid < 0) {
		const char *why = pid == OP_ENOENT ? "no such program" : pid == OP_EACCES ?
			"permission denied (not executable?)" : pid == OP_ENOEXEC ?
			"not an executable (a script needs a #! line)" : op_strerror(pid);
		if (pid == OP_ENOTDIR)
			probe_run_done(r, 0, REASON_EXEC, "cwd %s: no such directory", cwd);
		else
			probe_run_done(r, 0, reason_for(pid, REASON_EXEC), "%s: %s%s", argv[0],
				pid == OP_EIO ? "cannot start: " : "", why);
		return pid;
	}
	c->pid = pid;
	r->cmd_next = cmd_runs;
	cmd_runs = r;
	r->conn.io = (struct ev_io){.fd = fd, .cb = run_io};
	if (net_want(&r->conn, PLAT_READ) != 0)
		return probe_run_done(r, 0, REASON_EXEC, "cannot watch the output of %s", argv[0]),
			OP_EIO;
	return 0;
}

/* Read the output, keeping its tail, for at most rounds reads. 1 at its end (the pipe closed,
 * and with it r->conn), 0 when there is no more for now. */
static int cmd_read(struct probe_run *r, struct probe_cmd *c, int rounds)
{
	while (rounds-- > 0) {
		char buf[4096];
		int n = net_recv(&r->conn, buf, sizeof buf);
		if (n == OP_EAGAIN)
			return 0;
		if (n <= 0) {
			net_close(&r->conn);
			return 1;
		}
		c->total += (uint64_t)n;
		if (!c->cap)
			continue;
		size_t take = OP_MIN((size_t)n, c->cap), drop = c->len + take > c->cap ?
			c->len + take - c->cap : 0;
		memmove(c->out, c->out + drop, c->len - drop);
		memcpy(c->out + c->len - drop, buf + n - take, take);
		c->len += take - drop;
	}
	return 0;
}

int probe_cmd_event(struct probe_run *r, struct probe_cmd *c, int ev)
{
	if (c->ended || c->pid <= 0)
		return c->ended;
	if (ev == PROBE_EV_IO) {
		/* a bounded number of reads per wake-up: a command that floods its output cannot
		 * hold the loop (the pipe stays readable for the next pass) */
		if (!cmd_read(r, c, 16))
			return 0;
		/* the output closed: the command has most likely exited (else SIGCHLD tells) */
	} else if (ev != PROBE_EV_CHILD) {
		return 0;
	}
	int rc = plat_proc_reap(c->pid, &c->status);
	if (rc == 0)
		return 0;
	c->pid = 0;
	if (rc < 0)
		return OP_EIO;
	/* What it wrote is in the pipe now: its group is gone (plat_proc_reap), but a process
	 * that left the group may still hold the pipe, so read what is there, not to its end.
	 * The pipe holds at most 1 MiB (F_SETPIPE_SZ's usual limit): 256 reads of 4 KiB. */
	if (r->conn.io.fd >= 0)
		cmd_read(r, c, 256);
	net_close(&r->conn);
	c->ended = 1;
	return 1;
}

void probe_cmd_tail(const struct probe_cmd *c, char *out, size_t cap)
{
	size_t n = OP_MIN(c->len, 40), w = 0;
	for (size_t i = c->len - n; i < c->len && w + 1 < cap; i++) {
		char ch = c->out[i];
		out[w++] = ch >= 32 && ch < 127 ? ch : ch == '\n' ? '|' : '.';
	}
	if (cap)
		out[w] = 0;
}

int probe_cmd_fail(struct probe_run *r, const struct probe_cmd *c)
{
	char t[48];
	probe_cmd_tail(c, t, sizeof t);
	if (c->status < 0)
		return probe_run_done(r, 0, REASON_EXEC, "killed by signal %d; output ends \"%s\"",
			-c->status, t);
	return probe_run_done(r, 0, REASON_EXEC, "exit %d; output ends \"%s\"", c->status, t);
}

void probe_cmd_stop(struct probe_cmd *c)
{
	if (c->pid > 0)
		plat_proc_stop(c->pid, 2000000);
	c->pid = 0;
}

size_t probe_run_size(void)
{
	size_t max = 0;
	for (const struct probe_ops *const *k = probe_registry; *k; k++)
		if ((*k)->state_size > max)
			max = (*k)->state_size;
	return sizeof(struct probe_run) + OP_MAX(OP_MAX(max, probe_notify.state_size),
		probe_export.state_size);
}

const struct cfg_key probe_tls_keys[PROBE_TLS_NKEYS] = {
	{"ca_file", CFG_STR, 0, offsetof(struct probe_tls, ca_file), 0, 255, NULL},
	{"server_name", CFG_STR, 0, offsetof(struct probe_tls, server_name), 0, 253, NULL},
	{"insecure_skip_verify", CFG_BOOL, 0, offsetof(struct probe_tls, insecure), 0, 1, NULL},
	{"resume", CFG_BOOL, 0, offsetof(struct probe_tls, resume), 0, 1, NULL},
	{"cert_file", CFG_STR, 0, offsetof(struct probe_tls, cert_file), 1, 255, NULL},
	{"key_file", CFG_STR, 0, offsetof(struct probe_tls, key_file), 1, 255, NULL},
};

int probe_tls_configure(struct cfg_ctx *c, int tok, struct probe_tls *t)
{
	/* skipping verification needs no trust store; verifying needs the system's or one */
	if (!t->ca_file)
		t->ca_file = t->insecure ? "" : "/etc/ssl/certs/ca-certificates.crt";
	if (!t->cert_file != !t->key_file)
		return cfg_error(c, tok, "a client certificate needs both \"cert_file\" and "
			"\"key_file\" in \"tls\" (PEM or DER; the key unencrypted)");
	if (!t->cert_file)
		t->cert_file = t->key_file = "";
	int rc = cfg_tls_add(c, tok, &(struct cfg_tls){t->ca_file, t->cert_file, t->key_file});
	if (rc < 0)
		return rc;
	if (t->resume)
		cfg_tls_resume(c);
	return 0;
}

int probe_url_credential(struct cfg_ctx *c, int tok, const struct cfg_probe *p, const char *url,
	const char *header, char *plain, size_t cap, const char **line)
{
	char cred[96], b64[132], text[180];
	size_t at, w = 0;
	const char *ui = net_url_userinfo(url, &at);
	*line = NULL;
	if (!ui) {
		op_strlcpy(plain, url, cap);
		return 0;
	}
	for (const char *q = ui; q < ui + at; q++) {
		if (w == sizeof cred)
			return cfg_error(c, tok, "%s \"%s\": the user:password in a URL is over %zu bytes",
				cfg_noun(p), p->name, sizeof cred);
		unsigned x;
		if (q[0] == '%' && op_hex(q + 1, 2, &x) == 0) {
			cred[w++] = (char)x;
			q += 2;
		} else {
			cred[w++] = *q;
		}
	}
	snprintf(plain, cap, "%.*s%s", (int)(ui - url), url, ui + at + 1);
	op_base64(b64, sizeof b64, cred, w);
	int n = snprintf(text, sizeof text, "%s: Basic %s\r\n", header, b64);
	*line = cfg_store(c, text, (size_t)n);
	return *line ? 0 : cfg_error(c, tok, "configuration too large");
}

int probe_proxy_configure(struct cfg_ctx *c, int tok, const struct cfg_probe *p, const char *url,
	struct probe_proxy *px, const struct probe_proxy **use)
{
	if (!url)
		return 0;
	/* errors show the URL without its user:password */
	char plain[OP_TARGET_MAX], host[DNS_NAME_MAX], path[2];
	int tls = 0;
	int rc = probe_url_credential(c, tok, p, url, "Proxy-Authorization", plain, sizeof plain,
		&px->auth);
	if (rc)
		return rc;
	if (net_split_url(plain, "http", &tls, host, sizeof host, &px->port, path, sizeof path) != 0 ||
		tls || strcmp(path, "/"))
		return cfg_error(c, tok, "%s \"%s\": proxy \"%s\" must be an http proxy like "
			"\"http://host:3128\" or \"http://user:password@host:3128\"", cfg_noun(p), p->name,
			plain);
	px->host = cfg_store(c, host, strlen(host));
	if (!px->host)
		return cfg_error(c, tok, "configuration too large");
	*use = px;
	return 0;
}

struct tls_conn *probe_tls_start(struct net_conn *c, const struct probe_tls *o,
	const char *host, int resume)
{
	return tls_start(c, &(struct cfg_tls){o->ca_file, o->cert_file, o->key_file},
		o->server_name ? o->server_name : host, resume);
}

static struct tls_conn *tls_begin(struct probe_run *r, const struct probe_tls *o)
{
	struct tls_conn *t = probe_tls_start(&r->conn, o, r->host,
		o->resume && !r->p->adhoc ? (int)r->p->id : -1);
	if (!t) {
		probe_run_done(r, 0, REASON_NO_SLOT, "no free TLS context (or CA file %s not loaded "
			"at start)", o->ca_file);
		return NULL;
	}
	probe_run_phase(r, PHASE_TLS);
	return t;
}

/* One handshake step: 0 when done and verified (or insecure), OP_EAGAIN, or -1 after ending
 * the run. */
static int tls_step(struct probe_run *r, struct tls_conn *t, int insecure)
{
	int rc = tls_handshake(t);
	if (rc == OP_EAGAIN) {
		net_want(&r->conn, tls_want(t));
		return OP_EAGAIN;
	}
	if (rc != 0) {
		char e[OP_DETAIL_MAX];
		tls_error(t, rc, e, sizeof e);
		return probe_run_done(r, 0, REASON_TLS, "%s", e), -1;
	}
	r->facts.tls_version = (uint8_t)tls_version_code(t);
	r->facts.tls_resumed = (uint8_t)tls_resumed(t);
	r->facts.tls_cipher = (uint16_t)tls_cipher_id(t);
	r->facts.cert_expiry = tls_earliest_expiry(t);
	r->p->stats.has_cert = tls_cert_id(t, &r->p->stats.cert) == 0;
	char why[80];
	enum tls_verdict v = tls_verify(t, why, sizeof why);
	r->facts.cert_verified = v == TLS_OK;
	if (v != TLS_OK && !insecure)
		return probe_run_done(r, 0, tls_verdict_reason(v), "%s", why), -1;
	probe_run_phase(r, -1);
	return 0;
}

void proxy_tunnel_arm(struct proxy_tunnel *t, const struct probe_proxy *px, const char *host,
	uint16_t port)
{
	t->px = px;
	t->state = px ? 1 : 0;
	if (px) {
		op_strlcpy(t->host, host, sizeof t->host);
		t->port = port;
	}
}

/* A tunnel that failed: -1, with the reason and why filled. */
__attribute__((format(printf, 5, 6))) static int tunnel_failed(int *reason, int r, char *why,
	size_t wcap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, wcap, fmt, ap);
	va_end(ap);
	*reason = r;
	return -1;
}

/* What CONNECT asks for: host:port, an IPv6 address in brackets. */
static void tunnel_target(const struct proxy_tunnel *t, char *hp, size_t cap)
{
	snprintf(hp, cap, strchr(t->host, ':') ? "[%s]:%u" : "%s:%u", t->host, t->port);
}

int proxy_tunnel_io(struct proxy_tunnel *t, struct net_conn *c, char *buf, size_t cap,
	int *reason, char *why, size_t wcap)
{
	char hp[DNS_NAME_MAX + 10];
	if (t->state == 1) {
		tunnel_target(t, hp, sizeof hp);
		int n = snprintf(buf, cap, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: "
			"outpost/%.40s\r\n%s\r\n", hp, hp, op_version, t->px->auth ? t->px->auth : "");
		t->len = (size_t)OP_MIN(n, (int)cap - 1);
		t->sent = 0;
		t->state = 2;
	}
	while (t->state == 2 && t->sent < t->len) {
		int n = net_send(c, buf + t->sent, t->len - t->sent);
		if (n == OP_EAGAIN) {
			net_want(c, PLAT_WRITE);
			return 0;
		}
		if (n < 0)
			return tunnel_failed(reason, REASON_SEND, why, wcap, "proxy: %s", op_strerror(n));
		t->sent += (size_t)n;
	}
	if (t->state == 2) {
		t->state = 3;
		t->len = 0;
		net_want(c, PLAT_READ);
	}
	for (int round = 0; round < 8; round++) {
		int n = net_recv(c, buf + t->len, cap - t->len);
		if (n == OP_EAGAIN)
			return 0;
		if (n < 0)
			return tunnel_failed(reason, REASON_RECV, why, wcap, "proxy: %s", op_strerror(n));
		if (n == 0)
			return tunnel_failed(reason, REASON_CLOSED, why, wcap, "proxy: connection closed "
				"before its CONNECT reply");
		t->len += (size_t)n;
		struct http_header h[32];
		struct http_response resp = {.headers = h, .nheaders = OP_ARRAY_LEN(h)};
		int hl = http_parse_received(buf, t->len, &resp);
		if (hl == OP_EPARTIAL && t->len < cap)
			continue;
		if (hl == OP_EPARTIAL)
			return tunnel_failed(reason, REASON_TOO_LARGE, why, wcap, "proxy: a CONNECT "
				"reply head over %zu bytes", cap);
		char fault[80];
		if (hl == OP_ETOOBIG)
			return tunnel_failed(reason, REASON_TOO_LARGE, why, wcap, "proxy: a CONNECT "
				"reply of more than %zu headers", OP_ARRAY_LEN(h));
		if (hl < 0)
			return tunnel_failed(reason, REASON_PROTOCOL, why, wcap, "proxy: %s",
				http_fault(buf, t->len, &resp, fault, sizeof fault));
		if (resp.status / 100 != 2) {
			tunnel_target(t, hp, sizeof hp);
			return tunnel_failed(reason, REASON_CONNECT, why, wcap, "proxy refused CONNECT to "
				"%s: %d %.*s", hp, resp.status, (int)OP_MIN(resp.reason_len, 40),
				resp.reason);
		}
		if ((size_t)hl != t->len)
			return tunnel_failed(reason, REASON_PROTOCOL, why, wcap, "proxy: bytes after its "
				"CONNECT reply");
		t->state = 0;
		return 1;
	}
	return 0;
}

/* The run's tunnel, timed as part of connecting. 1 when up (the run then talks to the host:
 * TLS names it, not the proxy), 0 while it goes on or after the run ended. */
static int tunnel_io(struct probe_run *r)
{
	int reason;
	char why[OP_DETAIL_MAX];
	if (r->via.state == 1)
		probe_run_phase(r, PHASE_CONNECT);
	int rc = proxy_tunnel_io(&r->via, &r->conn, (char *)r->buf, sizeof r->buf, &reason, why,
		sizeof why);
	if (rc < 0)
		return probe_run_done(r, 0, reason, "%s", why), 0;
	if (rc == 1) {
		op_strlcpy(r->host, r->via.host, sizeof r->host);
		probe_run_phase(r, -1);
	}
	return rc;
}

int probe_run_dial(struct probe_run *r, struct tls_conn **tls, const struct probe_tls *t, int ev)
{
	switch (ev) {
	case PROBE_EV_RESOLVED:
		probe_run_connect(r);
		return 0;
	case PROBE_EV_CONNECTED:
	case PROBE_EV_IO:
		if (r->via.state) {
			if (!tunnel_io(r))
				return 0;
			ev = PROBE_EV_CONNECTED; /* the tunnel is up: as good as connected to the host */
		}
		if (ev == PROBE_EV_CONNECTED) {
			if (!t)
				return 1;
			*tls = tls_begin(r, t);
		}
		break; /* on to the (next) handshake step */
	default:
		return 0;
	}
	return *tls && tls_step(r, *tls, t->insecure) == 0;
}

int probe_cert_short(const struct probe_run *r, uint32_t min_days, char *why, size_t cap)
{
	if (!min_days || !r->facts.cert_expiry)
		return 0;
	double left = result_cert_days(&r->facts, plat_wall_us());
	if (left >= min_days)
		return 0;
	snprintf(why, cap, "cert_min_days: the chain expires in %.1f days, fewer than %u", left,
		min_days);
	return 1;
}
