/* dns.c: the stub resolver. One query is a small state machine:
 *
 *   UDP_WAIT --reply--------------------------------------------> DONE
 *      |  \--timeout: next server/attempt, re-send--> UDP_WAIT
 *      \--truncated--> TCP_CONNECT --> TCP_WAIT --reply---------> DONE
 *   any state --deadline or error------------------------------> DONE
 *
 * Replies whose id, name or type do not match the question are ignored (stray or spoofed). */
#include <stdio.h>
#include <string.h>
#include "dns.h"
#include "net.h"
#include "pool.h"
#include "rand.h"

enum dq_state { DQ_UDP_WAIT, DQ_TCP_CONNECT, DQ_TCP_WAIT };

struct dns_query {
	struct net_conn conn;
	struct ev_timer timer;
	dns_cb *cb;
	void *udata;
	enum dq_state state;
	uint64_t deadline_us;
	struct plat_addr server; /* explicit server, or the current resolv.conf one */
	int explicit_server;
	int try; /* attempt * nservers + server index */
	uint16_t id, qtype, qlen;
	size_t got;
	char name[DNS_NAME_MAX];
	uint8_t q[DNS_NAME_MAX + 18];  /* 2-byte TCP length prefix + the query */
	uint8_t r[OP_DNS_MSG_MAX + 2]; /* reply; over TCP with its length prefix */
};

static struct {
	struct plat_addr servers[OP_DNS_MAX_SERVERS];
	int nservers;
	uint64_t attempt_us;
	int attempts;
	struct {
		struct plat_addr addr;
		char name[64];
	} hosts[OP_DNS_MAX_HOSTS];
	int nhosts;
	/* resolv.conf "search" (or "domain"): suffixes for short names, NUL-separated */
	char search[256];
	int nsearch, ndots;
	char resolv_path[256], hosts_path[256];
	int64_t resolv_version, hosts_version; /* plat_file_version when last read */
} rs;

size_t dns_query_size(void)
{
	return sizeof(struct dns_query);
}

int dns_server_count(void)
{
	return rs.nservers;
}

/* Split text into lines and whitespace-separated words; calls fn for each line's words. */
static void each_line(char *text, void (*fn)(char **w, int n))
{
	char *save = text;
	while (*save) {
		char *line = save, *nl = strchr(line, '\n');
		if (nl) {
			*nl = 0;
			save = nl + 1;
		} else {
			save = line + strlen(line);
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *w[16];
		int n = 0;
		for (char *p = line; *p && n < 16;) {
			while (*p == ' ' || *p == '\t' || *p == '\r')
				*p++ = 0;
			if (!*p)
				break;
			w[n++] = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '\r')
				p++;
		}
		if (n)
			fn(w, n);
	}
}

static int to_uint(const char *s)
{
	int v = 0;
	for (; *s >= '0' && *s <= '9' && v < 1000; s++)
		v = v * 10 + (*s - '0');
	return v;
}

static void resolv_line(char **w, int n)
{
	if (!strcmp(w[0], "nameserver") && n > 1 && rs.nservers < OP_DNS_MAX_SERVERS) {
		/* "ip", or (an outpost extension, for local test resolvers) "ip:port" / "[ip6]:port" */
		struct plat_addr a;
		char host[64];
		uint16_t port;
		if (net_split_hostport(w[1], host, sizeof host, 53, &port) == 0 &&
			plat_addr_parse(host, &a) == 0) {
			a.port = port;
			rs.servers[rs.nservers++] = a;
		}
	} else if (!strcmp(w[0], "search") || !strcmp(w[0], "domain")) {
		/* the last such line wins, as in the C library; "domain" is a list of one */
		size_t used = 0;
		rs.nsearch = 0;
		for (int i = 1; i < n && rs.nsearch < OP_DNS_MAX_SEARCH; i++) {
			size_t l = strlen(w[i]);
			if (w[i][l - 1] == '.')
				l--; /* "corp.example." is the same suffix */
			if (l == 0 || used + l + 1 > sizeof rs.search)
				continue;
			memcpy(rs.search + used, w[i], l);
			rs.search[used + l] = 0;
			used += l + 1;
			rs.nsearch++;
			if (!strcmp(w[0], "domain"))
				break;
		}
	} else if (!strcmp(w[0], "options")) {
		for (int i = 1; i < n; i++) {
			if (!strncmp(w[i], "timeout:", 8)) {
				int t = to_uint(w[i] + 8);
				rs.attempt_us = (uint64_t)(t < 1 ? 1 : t > 30 ? 30 : t) * 1000000u;
			} else if (!strncmp(w[i], "attempts:", 9)) {
				int a = to_uint(w[i] + 9);
				rs.attempts = a < 1 ? 1 : a > 5 ? 5 : a;
			} else if (!strncmp(w[i], "ndots:", 6)) {
				int d = to_uint(w[i] + 6);
				rs.ndots = d > 15 ? 15 : d;
			}
		}
	}
}

static int hosts_left_out;

static void hosts_line(char **w, int n)
{
	struct plat_addr a;
	if (plat_addr_parse(w[0], &a) != 0)
		return;
	for (int i = 1; i < n; i++) {
		if (strlen(w[i]) >= sizeof rs.hosts[0].name || rs.nhosts == OP_DNS_MAX_HOSTS) {
			hosts_left_out++;
			continue;
		}
		rs.hosts[rs.nhosts].addr = a;
		op_strlcpy(rs.hosts[rs.nhosts].name, w[i], sizeof rs.hosts[0].name);
		rs.nhosts++;
	}
}

/* Read a system file whole; say so when it is too big to use (not silently ignore it). */
static int read_whole(const char *path, char *text, size_t cap)
{
	int n = plat_file_read(path, text, cap);
	if (n == OP_ETOOBIG)
		fprintf(stderr, "outpost: %s is larger than %zu bytes; not used\n", path, cap - 1);
	return n;
}

/* (Re)read both files into rs, keeping their paths. */
static void load(const char *resolv_conf, const char *hosts)
{
	static char text[16384];
	memset(&rs, 0, sizeof rs);
	op_strlcpy(rs.resolv_path, resolv_conf, sizeof rs.resolv_path);
	op_strlcpy(rs.hosts_path, hosts, sizeof rs.hosts_path);
	rs.attempt_us = 5000000;
	rs.attempts = 2;
	rs.ndots = 1;
	hosts_left_out = 0;
	rs.resolv_version = plat_file_version(resolv_conf);
	rs.hosts_version = plat_file_version(hosts);
	if (read_whole(resolv_conf, text, sizeof text) >= 0)
		each_line(text, resolv_line);
	if (rs.nservers == 0) {
		/* the same fallback as the C library: a resolver on this host */
		plat_addr_parse("127.0.0.1", &rs.servers[0]);
		rs.servers[0].port = 53;
		rs.nservers = 1;
	}
	if (read_whole(hosts, text, sizeof text) >= 0)
		each_line(text, hosts_line);
	if (hosts_left_out)
		fprintf(stderr, "outpost: %s: %d names left out (more than %d, or longer than %zu "
			"bytes)\n", hosts, hosts_left_out, OP_DNS_MAX_HOSTS, sizeof rs.hosts[0].name - 1);
}

int dns_init(const char *resolv_conf, const char *hosts)
{
	load(resolv_conf ? resolv_conf : "/etc/resolv.conf", hosts ? hosts : "/etc/hosts");
	return 0;
}

void dns_watch(void)
{
	if (!rs.resolv_path[0] || (plat_file_version(rs.resolv_path) == rs.resolv_version &&
		plat_file_version(rs.hosts_path) == rs.hosts_version))
		return;
	char resolv_conf[sizeof rs.resolv_path], hosts[sizeof rs.hosts_path];
	op_strlcpy(resolv_conf, rs.resolv_path, sizeof resolv_conf);
	op_strlcpy(hosts, rs.hosts_path, sizeof hosts);
	load(resolv_conf, hosts);
}

int dns_hosts_lookup(const char *name, int family, struct plat_addr *out)
{
	for (int i = 0; i < rs.nhosts; i++) {
		if ((family == 0 || rs.hosts[i].addr.family == family) &&
			dns_name_eq(rs.hosts[i].name, name)) {
			*out = rs.hosts[i].addr;
			return 0;
		}
	}
	return OP_ENOTFOUND;
}

static void dq_finish(struct dns_query *q, int err, const struct dns_reply *reply)
{
	dns_cb *cb = q->cb;
	void *udata = q->udata;
	dns_query_cancel(q);
	cb(udata, err, reply);
}

static void dq_io(struct ev_io *io, unsigned events);

/* Send the query over UDP to the server for q->try. */
static int dq_send_udp(struct dns_query *q)
{
	net_close(&q->conn);
	if (!q->explicit_server)
		q->server = rs.servers[q->try % rs.nservers];
	q->state = DQ_UDP_WAIT;
	int rc = net_connect(&q->conn, PLAT_UDP, &q->server, dq_io);
	if (rc < 0 && rc != OP_EAGAIN)
		return rc;
	rc = net_send(&q->conn, q->q + 2, q->qlen);
	if (rc < 0)
		return rc;
	uint64_t t = op_loop.now_us + rs.attempt_us;
	ev_timer_at(&op_loop, &q->timer, t < q->deadline_us ? t : q->deadline_us);
	return net_want(&q->conn, PLAT_READ);
}

static int dq_start_tcp(struct dns_query *q)
{
	net_close(&q->conn);
	q->state = DQ_TCP_CONNECT;
	q->got = 0;
	ev_timer_at(&op_loop, &q->timer, q->deadline_us);
	int rc = net_connect(&q->conn, PLAT_TCP, &q->server, dq_io);
	if (rc == OP_EAGAIN)
		return 0;
	if (rc < 0)
		return rc;
	/* connected at once: the loop goes on from writability, so no answer (nor failure) is
	 * told to the caller from inside dns_query_start */
	return net_want(&q->conn, PLAT_WRITE);
}

/* Decode and check a reply in buf; returns 1 when the query is finished. */
static int dq_reply(struct dns_query *q, const uint8_t *buf, size_t len)
{
	struct dns_reply reply;
	if (dns_decode_reply(buf, len, &reply) != 0 || reply.id != q->id ||
		reply.qtype != q->qtype || !dns_name_eq(reply.qname, q->name)) {
		if (q->state == DQ_TCP_WAIT) {
			dq_finish(q, OP_EPROTO, NULL); /* TCP has no strays: the server is broken */
			return 1;
		}
		return 0;
	}
	reply.at_us = q->conn.rx_us;
	reply.over_tcp = q->state == DQ_TCP_WAIT;
	if (reply.truncated && q->state == DQ_UDP_WAIT) {
		int rc = dq_start_tcp(q);
		if (rc < 0)
			dq_finish(q, rc, NULL);
		return rc < 0;
	}
	/* A failing server is not the answer when another server may have it. */
	if (!q->explicit_server && (reply.rcode == 2 || reply.rcode == 5) && rs.nservers > 1 &&
		q->try + 1 < rs.nservers * rs.attempts) {
		q->try++;
		int rc = dq_send_udp(q);
		if (rc < 0)
			dq_finish(q, rc, NULL);
		return 1;
	}
	dq_finish(q, 0, &reply);
	return 1;
}

static void dq_io(struct ev_io *io, unsigned events)
{
	struct dns_query *q = OP_CONTAINER_OF(io, struct dns_query, conn.io);
	int rc;
	switch (q->state) {
	case DQ_UDP_WAIT:
		/* drain every datagram: strays are skipped, the first match wins */
		for (int i = 0; i < 8; i++) {
			rc = net_recv(&q->conn, q->r, sizeof q->r);
			if (rc == OP_EAGAIN)
				return;
			if (rc < 0) {
				/* ICMP refused from this server: count it as this attempt's timeout */
				if (q->explicit_server) {
					dq_finish(q, rc, NULL);
					return;
				}
				ev_timer_at(&op_loop, &q->timer, op_loop.now_us);
				net_want(&q->conn, 0);
				return;
			}
			if (dq_reply(q, q->r, (size_t)rc))
				return;
		}
		return;
	case DQ_TCP_CONNECT:
		rc = net_finish_connect(&q->conn);
		if (rc == 0) {
			q->q[0] = (uint8_t)(q->qlen >> 8);
			q->q[1] = (uint8_t)q->qlen;
			rc = net_send(&q->conn, q->q, q->qlen + 2u);
			/* a 300-byte write on a fresh socket does not come out short */
			if (rc == q->qlen + 2) {
				q->state = DQ_TCP_WAIT;
				rc = net_want(&q->conn, PLAT_READ);
			} else if (rc >= 0) {
				rc = OP_EIO;
			}
		}
		if (rc < 0)
			dq_finish(q, rc, NULL);
		return;
	case DQ_TCP_WAIT:
		for (;;) {
			size_t need = q->got < 2 ? 2 : 2 + ((size_t)q->r[0] << 8 | q->r[1]);
			if (need > sizeof q->r) {
				dq_finish(q, OP_ETOOBIG, NULL);
				return;
			}
			if (q->got >= 2 && q->got == need) {
				dq_reply(q, q->r + 2, need - 2);
				return;
			}
			rc = net_recv(&q->conn, q->r + q->got, need - q->got);
			if (rc == OP_EAGAIN)
				return;
			if (rc <= 0) {
				dq_finish(q, rc == 0 ? OP_ECLOSED : rc, NULL);
				return;
			}
			q->got += (size_t)rc;
		}
	}
}

static void dq_timer(struct ev_timer *t)
{
	struct dns_query *q = OP_CONTAINER_OF(t, struct dns_query, timer);
	if (op_loop.now_us >= q->deadline_us || q->state != DQ_UDP_WAIT ||
		q->try + 1 >= rs.nservers * rs.attempts) {
		dq_finish(q, OP_ETIMEDOUT, NULL);
		return;
	}
	q->try++;
	int rc = dq_send_udp(q);
	if (rc < 0)
		dq_finish(q, rc, NULL);
}

int dns_query_start(const char *name, uint16_t qtype, const struct plat_addr *server,
	unsigned how, uint64_t timeout_us, dns_cb *cb, void *udata, struct dns_query **out)
{
	OP_CHECK(name && cb && timeout_us > 0, OP_EINVAL);
	OP_CHECK(strlen(name) < DNS_NAME_MAX, OP_EINVAL);
	OP_CHECK(server || rs.nservers > 0, OP_ENOENT);
	struct dns_query *q = pool_get(&op_pools[POOL_DNSQ]);
	if (!q)
		return OP_ENOMEM;
	net_conn_init(&q->conn);
	q->timer.cb = dq_timer;
	q->cb = cb;
	q->udata = udata;
	q->deadline_us = op_loop.now_us + timeout_us;
	q->qtype = qtype;
	q->id = (uint16_t)op_rand32();
	op_strlcpy(q->name, name, sizeof q->name);
	if (server) {
		q->server = *server;
		q->explicit_server = 1;
	}
	int rc = dns_encode_query(q->q + 2, sizeof q->q - 2, q->id, name, qtype);
	if (rc >= 0) {
		q->qlen = (uint16_t)rc;
		if (how & DNS_Q_NO_RECURSION)
			q->q[2 + 2] &= (uint8_t)~(DNS_RD >> 8);
		if ((how & DNS_Q_TCP) && !server)
			q->server = rs.servers[0];
		rc = how & DNS_Q_TCP ? dq_start_tcp(q) : dq_send_udp(q);
	}
	if (rc < 0) {
		dns_query_cancel(q);
		return rc;
	}
	*out = q;
	return 0;
}

void dns_query_cancel(struct dns_query *q)
{
	net_close(&q->conn);
	ev_timer_cancel(&op_loop, &q->timer);
	pool_put(&op_pools[POOL_DNSQ], q);
}

/* The name to ask for as rv->tried's candidate, in the C library's order: a name with at
 * least ndots dots as given first, then with each search suffix; a shorter one with the
 * suffixes first. A trailing dot says the name is whole. Returns 0, or OP_ENOTFOUND past the
 * last one. */
static int candidate(const struct dns_resolve *rv, char *out, size_t cap)
{
	size_t len = strlen(rv->host);
	int dots = 0;
	for (const char *p = rv->host; *p; p++)
		dots += *p == '.';
	int nsearch = len && rv->host[len - 1] == '.' ? 0 : rs.nsearch;
	int as_given = dots >= rs.ndots ? 0 : nsearch;
	if (rv->tried == as_given) {
		op_strlcpy(out, rv->host, cap);
		return 0;
	}
	int i = rv->tried - (rv->tried > as_given); /* which suffix */
	if (i >= nsearch)
		return OP_ENOTFOUND;
	const char *sfx = rs.search;
	while (i-- > 0)
		sfx += strlen(sfx) + 1;
	if (len + 1 + strlen(sfx) > 253)
		out[0] = 0; /* too long with this suffix: the caller goes on to the next */
	else
		snprintf(out, cap, "%s.%s", rv->host, sfx);
	return 0;
}

static void resolve_cb(void *udata, int err, const struct dns_reply *reply);

/* What is left of the resolution's time (at least 1 µs: a query must have some). */
static uint64_t time_left(const struct dns_resolve *rv)
{
	return rv->deadline_us > op_loop.now_us ? rv->deadline_us - op_loop.now_us : 1;
}

/* Ask for the next candidate name: A first, unless only IPv6 is wanted. Returns OP_EAGAIN
 * with a query under way, OP_ENOTFOUND when every name has been tried, or an error. */
static int ask_next(struct dns_resolve *rv)
{
	char name[DNS_NAME_MAX];
	do {
		if (candidate(rv, name, sizeof name) != 0)
			return OP_ENOTFOUND;
		rv->tried++;
	} while (!name[0]);
	uint8_t first = rv->family ? rv->family : PLAT_AF_INET;
	rv->addr->family = first;
	int rc = dns_query_start(name, first == PLAT_AF_INET ? DNS_A : DNS_AAAA, NULL, 0,
		time_left(rv), resolve_cb, rv, rv->q);
	return rc ? rc : OP_EAGAIN;
}

/* A name had no usable answer: the next candidate, or the end with why. */
static void try_next(struct dns_resolve *rv, const char *why)
{
	int rc = ask_next(rv);
	if (rc != OP_EAGAIN)
		rv->cb(rv->udata, rc, rc == OP_ENOTFOUND ? why : op_strerror(rc));
}

static void resolve_cb(void *udata, int err, const struct dns_reply *reply)
{
	struct dns_resolve *rv = udata;
	uint16_t asked = rv->addr->family == PLAT_AF_INET6 ? DNS_AAAA : DNS_A;
	*rv->q = NULL;
	if (err)
		return rv->cb(rv->udata, err, op_strerror(err));
	if (reply->rcode != 0)
		return try_next(rv, dns_rcode_name(reply->rcode));
	for (int i = 0; i < reply->n; i++) {
		if (reply->an[i].type == asked) {
			memcpy(rv->addr->ip, reply->an[i].addr, 16);
			return rv->cb(rv->udata, 0, NULL);
		}
	}
	if (asked == DNS_A && !rv->family) {
		/* no IPv4 address: try IPv6 for the same name, within what is left of the time */
		rv->addr->family = PLAT_AF_INET6;
		int rc = dns_query_start(reply->qname, DNS_AAAA, NULL, 0, time_left(rv), resolve_cb, rv,
			rv->q);
		if (rc != 0)
			rv->cb(rv->udata, rc, op_strerror(rc));
		return;
	}
	try_next(rv, !rv->family ? "no address" : asked == DNS_A ? "no IPv4 address" :
		"no IPv6 address");
}

/* "localhost" or a name under it ("bafy....ipfs.localhost"), as written or whole. */
static int is_localhost(const char *name)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		n--;
	char tail[10];
	if (n < 9 || (n > 9 && name[n - 10] != '.'))
		return 0;
	memcpy(tail, name + n - 9, 9);
	tail[9] = 0;
	return dns_name_eq(tail, "localhost");
}

int dns_resolve_start(struct dns_resolve *rv)
{
	uint16_t port = rv->addr->port;
	uint8_t first = rv->family ? rv->family : PLAT_AF_INET;
	int literal = plat_addr_parse(rv->host, rv->addr);
	if (literal == 0) {
		rv->addr->port = port;
		const uint8_t *ip = rv->addr->ip; /* fe80::/10, link-local: on which link? */
		if (rv->addr->family == PLAT_AF_INET6 && !rv->addr->scope && ip[0] == 0xfe &&
			(ip[1] & 0xc0) == 0x80)
			return OP_ENOZONE;
		return rv->family && rv->addr->family != rv->family ? OP_EFAMILY : 0;
	}
	if (literal == OP_ENODEV) /* "fe80::1%eth9": an address, on an interface this host lacks */
		return literal;
	if (dns_hosts_lookup(rv->host, first, rv->addr) == 0 ||
		(!rv->family && dns_hosts_lookup(rv->host, PLAT_AF_INET6, rv->addr) == 0)) {
		rv->addr->port = port;
		return 0;
	}
	/* RFC 6761 6.3: localhost and every name under it are this host and are not asked of DNS
	 * (which says NXDOMAIN), as curl, browsers and systemd-resolved have it: a local IPFS
	 * gateway sends a path request to its subdomain form, http://CID.ipfs.localhost:8080/ */
	if (is_localhost(rv->host)) {
		plat_addr_parse(first == PLAT_AF_INET6 ? "::1" : "127.0.0.1", rv->addr);
		rv->addr->port = port;
		return 0;
	}
	rv->tried = 0;
	int rc = ask_next(rv);
	return rc == OP_ENOTFOUND ? OP_EINVAL : rc;
}

int dns_resolve_ipv6_instead(struct dns_resolve *rv, int rc)
{
	struct plat_addr literal;
	if (rc != OP_ENETUNREACH || rv->family || rv->addr->family != PLAT_AF_INET ||
		plat_addr_parse(rv->host, &literal) == 0)
		return 0;
	rv->v4_unreachable = 1;
	rv->family = PLAT_AF_INET6;
	return 1;
}

void dns_resolve_cancel(struct dns_resolve *rv)
{
	if (rv->q && *rv->q) {
		dns_query_cancel(*rv->q);
		*rv->q = NULL;
	}
}
