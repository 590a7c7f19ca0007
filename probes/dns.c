/* dns.c: the dns probe: query one record type of a name from a chosen server (or the system's
 * resolvers) and check the rcode and the answers. The resolve phase is the query time. The
 * target is the name, or, with query_name, the server (blackbox_exporter's shape: a module
 * names the query, and each /probe target is a server to ask). */
#include <stdio.h>
#include <string.h>
#include "../core/probe.h"
#include "../core/regex.h"

struct dns_expect {
	uint16_t rcodes; /* a bit per rcode that passes; 0: NOERROR alone */
	const char *answer_contains;
	struct regex_check answer_regex, answer_not_regex;
	uint32_t min_answers;
};

struct dns_conf {
	const char *record, *server, *query_name, *transport;
	struct dns_expect expect;
	/* derived by dns_configure */
	const char *ask; /* the name asked: query_name or the target, an address's reverse name */
	uint16_t qtype;
	uint8_t has_server;
	uint8_t recursion; /* 0: not given (yes), 1 no, 2 yes */
	unsigned how;      /* DNS_Q_* */
	struct plat_addr server_addr;
};

/* "rcode": "NXDOMAIN", or a list of them any of which passes (blackbox_exporter's
 * valid_rcodes), into a bit per rcode. */
static int read_rcodes(struct cfg_ctx *c, int tok, void *field)
{
	int n, i = cfg_items(c, tok, &n);
	uint16_t bits = 0;
	if (!n)
		return cfg_error(c, tok, "\"rcode\" is an empty list: name one at least, e.g. "
			"\"NOERROR\"");
	for (int k = 0; k < n; k++, i = cfg_tok_next(c, i)) {
		const char *s;
		char tmp[32];
		int rc = cfg_scalar(c, i, &s, tmp, sizeof tmp);
		if (rc)
			return rc;
		int v = dns_rcode_parse(s);
		if (v < 0) {
			const char *names[6]; /* the common ones, NOERROR to REFUSED */
			char hint[64];
			for (int j = 0; j < 6; j++)
				names[j] = dns_rcode_name(j);
			return cfg_error(c, i, "rcode \"%s\" is not one of NOERROR, FORMERR, SERVFAIL, "
				"NXDOMAIN, NOTIMP, REFUSED%s", s, cfg_did_you_mean(hint, sizeof hint, s,
				names, 6, 0));
		}
		bits |= (uint16_t)(1u << v);
	}
	*(uint16_t *)field = bits;
	return 0;
}

static const struct cfg_key expect_keys[] = {
	{"rcode", CFG_FN, 0, offsetof(struct dns_expect, rcodes), 0, 0, read_rcodes},
	{"answer_contains", CFG_STR, 0, offsetof(struct dns_expect, answer_contains), 0, 255, NULL},
	{"answer_regex", CFG_FN, 0, offsetof(struct dns_expect, answer_regex), 0, 0,
		cfg_regex_check},
	{"answer_not_regex", CFG_FN, 0, offsetof(struct dns_expect, answer_not_regex), 0, 0,
		cfg_regex_check},
	{"min_answers", CFG_UINT, 0, offsetof(struct dns_expect, min_answers), 0,
		OP_DNS_MAX_ANSWERS, NULL},
};

/* "recursion_desired" (blackbox_exporter's; default true): false clears RD, to ask an
 * authoritative server for what it holds itself, or a resolver for what it has cached. */
static int read_recursion(struct cfg_ctx *c, int tok, void *field)
{
	return cfg_bool_given(c, tok, field, "\"recursion_desired\" is true or false");
}

static const struct cfg_key dns_keys[] = {
	{"record", CFG_STR, 0, offsetof(struct dns_conf, record), 0, 8, NULL},
	{"server", CFG_STR, 0, offsetof(struct dns_conf, server), 0, 64, NULL},
	{"query_name", CFG_STR, 0, offsetof(struct dns_conf, query_name), 1, DNS_NAME_MAX - 2, NULL},
	{"transport", CFG_STR, 0, offsetof(struct dns_conf, transport), 0, 8, NULL},
	{"recursion_desired", CFG_FN, 0, offsetof(struct dns_conf, recursion), 0, 0,
		read_recursion},
	{"expect", CFG_OBJ, 0, offsetof(struct dns_conf, expect), 0, 0, NULL, expect_keys,
		OP_ARRAY_LEN(expect_keys)},
};

static int dns_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct dns_conf *k = (struct dns_conf *)p->conf;
	if (p->ip_protocol)
		return cfg_error(c, tok, "probe \"%s\": \"ip_protocol\" does not apply to a dns "
			"probe (it asks \"server\", an address, or the system's resolvers; \"record\": "
			"\"AAAA\" asks for IPv6 addresses); remove it", p->name);
	int t = dns_type_parse(k->record ? k->record : "A");
	if (t < 0)
		return cfg_error(c, tok, "probe \"%s\": record \"%s\" is not one of A, AAAA, CNAME, "
			"MX, NS, PTR, SOA, SRV, TXT, CAA", p->name, k->record);
	k->qtype = (uint16_t)t;
	if (!k->expect.rcodes)
		k->expect.rcodes = 1u << 0; /* NOERROR */
	if (k->transport && strcmp(k->transport, "udp") && strcmp(k->transport, "tcp"))
		return cfg_error(c, tok, "probe \"%s\": transport \"%s\" is \"udp\" (then TCP after a "
			"truncated reply) or \"tcp\"", p->name, k->transport);
	k->how = (k->transport && !strcmp(k->transport, "tcp") ? DNS_Q_TCP : 0) |
		(k->recursion == 1 ? DNS_Q_NO_RECURSION : 0);
	if (k->query_name && k->server)
		return cfg_error(c, tok, "probe \"%s\": with \"query_name\" the target is the "
			"server to ask; remove \"server\"", p->name);
	const char *server = k->query_name ? p->target : k->server;
	const char *name = k->query_name ? k->query_name : p->target, *fault;
	char idna[DNS_NAME_MAX];
	int n = dns_name_ascii(name, idna, sizeof idna); /* asked in its xn-- form, as dig does */
	if (n >= 0 && strcmp(idna, name) && !(name = cfg_store(c, idna, (size_t)n)))
		return cfg_error(c, tok, "configuration too large");
	if ((fault = dns_name_fault(name)))
		return cfg_error(c, tok, "probe \"%s\": the name to query, \"%s\", has %s", p->name,
			name, fault);
	if (n < 0)
		return cfg_error(c, tok, "probe \"%s\": the name to query, \"%s\", is not UTF-8, "
			"or has a label over 63 bytes in its xn-- form", p->name, name);
	struct plat_addr a;
	char host[64], rev[80];
	uint16_t port;
	k->ask = name;
	if (k->qtype == DNS_PTR && plat_addr_parse(name, &a) == 0) /* as dig -x asks */
		k->ask = cfg_store(c, rev, strlen(dns_reverse_name(&a, rev, sizeof rev)));
	else if (!k->query_name && strchr(name, ':') && net_split_hostport(name, host,
		sizeof host, 53, &port) == 0 && plat_addr_parse(host, &a) == 0)
		return cfg_error(c, tok, "probe \"%s\": the target \"%s\" is a server, not a name "
			"to query: set \"query_name\" to the name to ask it (the target is then the "
			"server), or give the name as the target and the server as \"server\"", p->name,
			name);
	if (!k->ask)
		return cfg_error(c, tok, "configuration too large");
	if (server && *server) {
		if (net_split_hostport(server, host, sizeof host, 53, &port) != 0 ||
			plat_addr_parse(host, &k->server_addr) != 0)
			return cfg_error(c, tok, "probe \"%s\": %s \"%s\" must be an IP address "
				"with an optional port, e.g. \"127.0.0.1:53\"", p->name,
				k->query_name ? "the target (with query_name, the server)" : "server",
				server);
		k->server_addr.port = port;
		k->has_server = 1;
	}
	return 0;
}

/* The verdict on a reply of rcode whose answers of the asked type are texts[0..n), from a
 * server or from /etc/hosts (from: " (/etc/hosts)", or ""). Ends the run. */
static int judge(struct probe_run *r, int rcode, const char *const *texts, uint32_t n,
	const char *from)
{
	const struct dns_conf *k = probe_conf(r);
	const struct dns_expect *e = &k->expect;
	if (!(e->rcodes >> rcode & 1)) {
		char want[64];
		size_t w = 0;
		want[0] = 0;
		for (int v = 0; v < 16 && w < sizeof want; v++)
			if (e->rcodes >> v & 1)
				w += (size_t)snprintf(want + w, sizeof want - w, "%s%s", w ? " or " : "",
					dns_rcode_name(v));
		return probe_run_done(r, 0, REASON_DNS_RCODE, "rcode %s%s, expected %s",
			dns_rcode_name(rcode), from, want);
	}
	char list[OP_DETAIL_MAX];
	size_t w = 0;
	int contains = !e->answer_contains, matches = !e->answer_regex.re;
	const char *refused = NULL;
	list[0] = 0;
	for (uint32_t i = 0; i < n; i++) {
		size_t len = strlen(texts[i]);
		contains |= e->answer_contains && strstr(texts[i], e->answer_contains);
		matches |= e->answer_regex.re && regex_search(e->answer_regex.re, texts[i], len);
		if (!refused && e->answer_not_regex.re &&
			regex_search(e->answer_not_regex.re, texts[i], len))
			refused = texts[i];
		if (w + 4 < sizeof list)
			w += (size_t)snprintf(list + w, sizeof list - w, "%s%s", w ? ", " : "", texts[i]);
	}
	const char *got = n ? list : "none";
	if (n < e->min_answers)
		return probe_run_done(r, 0, REASON_DNS_ANSWER, "%u %s answers, expected at least %u%s",
			n, dns_type_name(k->qtype), e->min_answers, from);
	if (!contains)
		return probe_run_done(r, 0, REASON_DNS_ANSWER, "no answer contains \"%s\"; got %s%s",
			e->answer_contains, got, from);
	if (!matches)
		return probe_run_done(r, 0, REASON_DNS_ANSWER, "answer_regex: /%.40s/ matches no "
			"answer; got %s%s", e->answer_regex.pattern, got, from);
	if (refused)
		return probe_run_done(r, 0, REASON_DNS_ANSWER, "answer_not_regex: /%.40s/ matches "
			"%s%s", e->answer_not_regex.pattern, refused, from);
	if (!n) /* NODATA, or the NXDOMAIN asked for: said, not an empty detail */
		return probe_run_done(r, 1, REASON_NONE, "%s, no %s answer", dns_rcode_name(rcode),
			dns_type_name(k->qtype));
	return probe_run_done(r, 1, REASON_NONE, "%s%s", list, from);
}

/* No reply: the query could not start, or ended with err. Ends the run. */
static int query_failed(struct probe_run *r, int err)
{
	const struct dns_conf *k = probe_conf(r);
	probe_run_phase(r, -1);
	return probe_run_done(r, 0, err == OP_ETIMEDOUT ? REASON_TIMEOUT : REASON_RESOLVE,
		"query %s %s%s: %s", dns_type_name(k->qtype), k->query_name ? k->query_name :
		r->p->cfg->target, k->how & DNS_Q_TCP ? " over TCP" : "", op_strerror(err));
}

static void dns_answer_cb(void *udata, int err, const struct dns_reply *reply)
{
	struct probe_run *r = udata;
	const struct dns_conf *k = probe_conf(r);
	r->dq = NULL;
	if (err) {
		query_failed(r, err);
		return;
	}
	probe_run_end_at(r, reply->at_us); /* the query time ends when the reply arrived */
	struct result *f = &r->facts;
	f->dns_replied = 1;
	f->dns_rcode = reply->rcode;
	f->dns_tcp = reply->over_tcp;
	f->dns_flags = reply->flags;
	f->dns_answers = reply->ancount;
	f->dns_authority = reply->nscount;
	f->dns_additional = reply->arcount;
	for (int i = reply->n; i-- > 0;)
		if (reply->an[i].type == DNS_SOA)
			f->dns_serial = reply->an[i].serial;
	/* answers of the asked type (a CNAME chain may come first) */
	const char *texts[OP_DNS_MAX_ANSWERS];
	uint32_t n = 0;
	for (int i = 0; i < reply->n; i++)
		if (reply->an[i].type == k->qtype)
			texts[n++] = reply->an[i].text;
	judge(r, reply->rcode, texts, n, "");
}

static int dns_start(struct probe_run *r)
{
	const struct dns_conf *k = probe_conf(r);
	const char *name = k->ask;
	r->facts.dns_serial = -1;
	probe_run_phase(r, PHASE_RESOLVE);
	if (k->has_server) /* the address asked, as blackbox_exporter reports it */
		probe_run_note_addr(r, &k->server_addr);
	/* Without a server the probe asks what an application would get: /etc/hosts first. */
	struct plat_addr a;
	if (!k->has_server && (k->qtype == DNS_A || k->qtype == DNS_AAAA) &&
		dns_hosts_lookup(name, k->qtype == DNS_A ? PLAT_AF_INET : PLAT_AF_INET6, &a) == 0) {
		char ip[64];
		plat_addr_format(&a, ip, sizeof ip);
		probe_run_phase(r, -1);
		r->facts.dns_replied = 1; /* as if a server had said it: NOERROR, one answer */
		r->facts.dns_answers = 1;
		const char *texts[1] = {ip};
		return judge(r, 0, texts, 1, " (/etc/hosts)");
	}
	int rc = dns_query_start(name, k->qtype, k->has_server ? &k->server_addr : NULL,
		k->how, r->p->cfg->timeout_us, dns_answer_cb, r, &r->dq);
	return rc ? query_failed(r, rc) : 0;
}

const struct probe_ops probe_dns = {
	.kind = "dns",
	.example_target = "127.0.0.1", /* a name to ask, or with query_name a server */
	.state_size = 0,
	.keys = dns_keys,
	.nkeys = OP_ARRAY_LEN(dns_keys),
	.configure = dns_configure,
	.start = dns_start,
	.on_event = NULL,
};
