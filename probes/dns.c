/* dns.c: the dns probe: query one record type of a name from a chosen server (or the system's
 * resolvers) and check the rcode and the answers. The resolve phase is the query time. The
 * target is the name, or, with query_name, the server (blackbox_exporter's shape: a module
 * names the query, and each /probe target is a server to ask). */
#include <stdio.h>
#include <string.h>
#include "../core/probe.h"

struct dns_expect {
	const char *rcode;
	const char *answer_contains;
	uint32_t min_answers;
};

struct dns_conf {
	const char *record, *server, *query_name;
	struct dns_expect expect;
	/* derived by dns_configure */
	const char *ask; /* the name asked: query_name or the target, an address's reverse name */
	uint16_t qtype;
	uint8_t rcode;
	uint8_t has_server;
	struct plat_addr server_addr;
};

static const struct cfg_key expect_keys[] = {
	{"rcode", CFG_STR, 0, offsetof(struct dns_expect, rcode), 0, 16, NULL},
	{"answer_contains", CFG_STR, 0, offsetof(struct dns_expect, answer_contains), 0, 255, NULL},
	{"min_answers", CFG_UINT, 0, offsetof(struct dns_expect, min_answers), 0,
		OP_DNS_MAX_ANSWERS, NULL},
};

static const struct cfg_key dns_keys[] = {
	{"record", CFG_STR, 0, offsetof(struct dns_conf, record), 0, 8, NULL},
	{"server", CFG_STR, 0, offsetof(struct dns_conf, server), 0, 64, NULL},
	{"query_name", CFG_STR, 0, offsetof(struct dns_conf, query_name), 1, DNS_NAME_MAX - 2, NULL},
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
	int rc = dns_rcode_parse(k->expect.rcode ? k->expect.rcode : "NOERROR");
	if (rc < 0)
		return cfg_error(c, tok, "probe \"%s\": rcode \"%s\" is not one of NOERROR, FORMERR, "
			"SERVFAIL, NXDOMAIN, NOTIMP, REFUSED", p->name, k->expect.rcode);
	k->rcode = (uint8_t)rc;
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

static void dns_answer_cb(void *udata, int err, const struct dns_reply *reply)
{
	struct probe_run *r = udata;
	const struct dns_conf *k = probe_conf(r);
	r->dq = NULL;
	if (err) {
		probe_run_phase(r, -1);
		probe_run_done(r, 0, err == OP_ETIMEDOUT ? REASON_TIMEOUT : REASON_RESOLVE,
			"query %s %s: %s", dns_type_name(k->qtype), k->query_name ? k->query_name :
			r->p->cfg->target, op_strerror(err));
		return;
	}
	probe_run_end_at(r, reply->at_us); /* the query time ends when the reply arrived */
	if (reply->rcode != k->rcode) {
		probe_run_done(r, 0, REASON_DNS_RCODE, "rcode %s, expected %s",
			dns_rcode_name(reply->rcode), dns_rcode_name(k->rcode));
		return;
	}
	/* answers of the asked type (a CNAME chain may come first) */
	char list[OP_DETAIL_MAX];
	size_t w = 0;
	uint32_t n = 0;
	int found = !k->expect.answer_contains;
	list[0] = 0;
	for (int i = 0; i < reply->n; i++) {
		const struct dns_answer *a = &reply->an[i];
		if (a->type != k->qtype)
			continue;
		n++;
		if (!found && strstr(a->text, k->expect.answer_contains))
			found = 1;
		if (w + 4 < sizeof list)
			w += (size_t)snprintf(list + w, sizeof list - w, "%s%s", w ? ", " : "", a->text);
	}
	if (n < k->expect.min_answers) {
		probe_run_done(r, 0, REASON_DNS_ANSWER, "%u %s answers, expected at least %u", n,
			dns_type_name(k->qtype), k->expect.min_answers);
		return;
	}
	if (!found) {
		probe_run_done(r, 0, REASON_DNS_ANSWER, "no answer contains \"%s\"; got %s",
			k->expect.answer_contains, n ? list : "none");
		return;
	}
	if (!n) /* NODATA, or the NXDOMAIN asked for: said, not an empty detail */
		probe_run_done(r, 1, REASON_NONE, "%s, no %s answer", dns_rcode_name(reply->rcode),
			dns_type_name(k->qtype));
	else
		probe_run_done(r, 1, REASON_NONE, "%s", list);
}

static int dns_start(struct probe_run *r)
{
	const struct dns_conf *k = probe_conf(r);
	const char *name = k->ask;
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
		if (k->rcode != 0)
			return probe_run_done(r, 0, REASON_DNS_RCODE, "rcode NOERROR (/etc/hosts), "
				"expected %s", dns_rcode_name(k->rcode));
		if (k->expect.answer_contains && !strstr(ip, k->expect.answer_contains))
			return probe_run_done(r, 0, REASON_DNS_ANSWER,
				"no answer contains \"%s\"; got %s", k->expect.answer_contains, ip);
		return probe_run_done(r, 1, REASON_NONE, "%s (/etc/hosts)", ip);
	}
	int rc = dns_query_start(name, k->qtype, k->has_server ? &k->server_addr : NULL,
		r->p->cfg->timeout_us, dns_answer_cb, r, &r->dq);
	if (rc)
		return probe_run_done(r, 0, REASON_RESOLVE, "query %s: %s", name, op_strerror(rc));
	return 0;
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
