/* mockdns.c: a small authoritative DNS server for tests, on 127.0.0.1 over UDP and TCP.
 * Independent of core/dns (a test peer must not share the code it tests).
 *
 *   mockdns [-p PORT] [-l SECONDS] RULE...      prints "port N" once listening
 *
 * RULE is NAME:TYPE:VALUE (A, AAAA, TXT, CNAME, PTR, NS, and SOA as "MNAME RNAME SERIAL";
 * several rules per name add answers) or
 * NAME:ACTION with ACTION one of NXDOMAIN, SERVFAIL, REFUSED, TC (truncated over UDP, full
 * answer over TCP), NOTCP (over TCP, the connection closed unanswered), DROP (never answer), GARBAGE (random bytes), WRONGID (an answer with the
 * wrong id first, then the right one). As authoritative servers do, a reply without answers
 * (NXDOMAIN, or none of the type) carries the SOA of the closest zone above the name in its
 * authority section (RFC 2308), and NS answers carry their servers' A records (glue) in the
 * additional section. The server exits after -l seconds (default 300). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rule {
	char name[256];
	char type[16];
	char value[256];
};
static struct rule rules[64];
static int nrules;
static unsigned long queries;

static int type_code(const char *t)
{
	if (!strcasecmp(t, "A")) return 1;
	if (!strcasecmp(t, "CNAME")) return 5;
	if (!strcasecmp(t, "PTR")) return 12;
	if (!strcasecmp(t, "TXT")) return 16;
	if (!strcasecmp(t, "AAAA")) return 28;
	if (!strcasecmp(t, "NS")) return 2;
	if (!strcasecmp(t, "SOA")) return 6;
	return -1;
}

static int has_action(const char *name, const char *act)
{
	for (int i = 0; i < nrules; i++)
		if (!strcasecmp(rules[i].name, name) && !strcmp(rules[i].type, act))
			return 1;
	return 0;
}

static size_t put_name(uint8_t *o, const char *name)
{
	size_t w = 0;
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		o[w++] = (uint8_t)l;
		memcpy(o + w, p, l);
		w += l;
		p += l + (dot ? 1 : 0);
	}
	o[w++] = 0;
	return w;
}

/* One record of rule r at out (owner: a pointer to the question's name, or the name itself);
 * returns its length. */
static size_t put_rr(uint8_t *out, const struct rule *r, int t, const char *owner)
{
	size_t len = 0;
	if (owner) {
		len = put_name(out, owner);
	} else {
		out[len++] = 0xC0;
		out[len++] = 12;
	}
	out[len++] = 0, out[len++] = (uint8_t)t, out[len++] = 0, out[len++] = 1;
	out[len++] = 0, out[len++] = 0, out[len++] = 0, out[len++] = 30;
	size_t rdlen_at = len;
	len += 2;
	size_t rd = 0;
	if (t == 1)
		rd = inet_pton(AF_INET, r->value, out + len) == 1 ? 4 : 0;
	else if (t == 28)
		rd = inet_pton(AF_INET6, r->value, out + len) == 1 ? 16 : 0;
	else if (t == 2 || t == 5 || t == 12)
		rd = put_name(out + len, r->value);
	else if (t == 6) {
		char mname[256], rname[256];
		unsigned long serial = 0;
		if (sscanf(r->value, "%255s %255s %lu", mname, rname, &serial) != 3)
			return 0;
		rd = put_name(out + len, mname);
		rd += put_name(out + len + rd, rname);
		uint32_t v[5] = {(uint32_t)serial, 3600, 600, 86400, 60};
		for (int i = 0; i < 5; i++, rd += 4) {
			uint32_t be = htonl(v[i]);
			memcpy(out + len + rd, &be, 4);
		}
	} else if (t == 16) {
		size_t l = strlen(r->value);
		out[len] = (uint8_t)l;
		memcpy(out + len + 1, r->value, l);
		rd = l + 1;
	}
	out[rdlen_at] = (uint8_t)(rd >> 8);
	out[rdlen_at + 1] = (uint8_t)rd;
	return len + rd;
}

/* The SOA rule of the closest zone at or above name, or NULL. */
static const struct rule *zone_of(const char *name)
{
	for (const char *z = name; z; z = strchr(z, '.') ? strchr(z, '.') + 1 : NULL)
		for (int i = 0; i < nrules; i++)
			if (type_code(rules[i].type) == 6 && !strcasecmp(rules[i].name, z))
				return &rules[i];
	return NULL;
}

/* Build the answer to query q (qlen bytes) into out; returns its length or 0 for no answer. */
static size_t answer(const uint8_t *q, size_t qlen, uint8_t *out, int over_tcp)
{
	if (qlen < 17)
		return 0;
	char name[256];
	size_t o = 12, w = 0;
	while (o < qlen && q[o] && w < 250) {
		uint8_t l = q[o++];
		if (o + l > qlen)
			return 0;
		if (w)
			name[w++] = '.';
		memcpy(name + w, q + o, l);
		w += l;
		o += l;
	}
	name[w] = 0;
	o++;
	if (o + 4 > qlen)
		return 0;
	int qtype = q[o] << 8 | q[o + 1];
	size_t qend = o + 4;
	queries++;
	if (has_action(name, "DROP") || (over_tcp && has_action(name, "NOTCP")))
		return 0;
	if (has_action(name, "GARBAGE")) {
		for (int i = 0; i < 40; i++)
			out[i] = (uint8_t)rand();
		return 40;
	}
	memcpy(out, q, qend);
	out[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
	out[3] = 0x80;                 /* RA */
	out[6] = out[7] = out[8] = out[9] = out[10] = out[11] = 0;
	int rcode = has_action(name, "NXDOMAIN") ? 3 : has_action(name, "SERVFAIL") ? 2 :
		has_action(name, "REFUSED") ? 5 : 0;
	out[3] |= (uint8_t)rcode;
	if (rcode && rcode != 3)
		return qend;
	if (!rcode && !over_tcp && has_action(name, "TC")) {
		out[2] |= 0x02;
		return qend;
	}
	size_t len = qend;
	int an = 0, ar = 0;
	for (int i = 0; i < nrules && !rcode; i++) {
		struct rule *r = &rules[i];
		int t = type_code(r->type);
		if (t < 0 || strcasecmp(r->name, name) || (t != qtype && t != 5))
			continue;
		len += put_rr(out + len, r, t, NULL);
		an++;
	}
	const struct rule *soa = zone_of(name);
	if (!an && soa) {
		len += put_rr(out + len, soa, 6, soa->name);
		out[9] = 1;
	}
	for (int i = 0; i < nrules && qtype == 2; i++) { /* glue of the NS answers */
		if (type_code(rules[i].type) != 2 || strcasecmp(rules[i].name, name))
			continue;
		for (int j = 0; j < nrules; j++)
			if (type_code(rules[j].type) == 1 && !strcasecmp(rules[j].name, rules[i].value)) {
				len += put_rr(out + len, &rules[j], 1, rules[j].name);
				ar++;
			}
	}
	out[7] = (uint8_t)an;
	out[11] = (uint8_t)ar;
	return len;
}

int main(int argc, char **argv)
{
	int port = 0, life = 300;
	int opt;
	while ((opt = getopt(argc, argv, "p:l:")) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 'l')
			life = atoi(optarg);
		else
			return 2;
	}
	for (int i = optind; i < argc && nrules < 64; i++) {
		struct rule *r = &rules[nrules++];
		char *a = strdup(argv[i]), *c1 = strchr(a, ':');
		if (!c1)
			return fprintf(stderr, "bad rule %s\n", argv[i]), 2;
		*c1 = 0;
		char *c2 = strchr(c1 + 1, ':');
		if (c2)
			*c2 = 0;
		snprintf(r->name, sizeof r->name, "%s", a);
		snprintf(r->type, sizeof r->type, "%s", c1 + 1);
		snprintf(r->value, sizeof r->value, "%s", c2 ? c2 + 1 : "");
		free(a);
	}
	/* UDP and TCP on one port number: with an ephemeral port, the TCP port of that number
	 * may be taken, so try again with another */
	struct sockaddr_in sa;
	int u = -1, t = -1, one = 1;
	for (int tries = 0; tries < 50; tries++) {
		sa = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
			.sin_addr.s_addr = htonl(0x7f000001)};
		u = socket(AF_INET, SOCK_DGRAM, 0);
		if (bind(u, (struct sockaddr *)&sa, sizeof sa) != 0)
			return perror("bind udp"), 1;
		socklen_t sl = sizeof sa;
		getsockname(u, (struct sockaddr *)&sa, &sl);
		t = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(t, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(t, 16) == 0)
			break;
		close(u);
		close(t);
		u = t = -1;
		if (port)
			break;
	}
	if (t < 0)
		return perror("bind tcp"), 1;
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	time_t end = time(NULL) + life;
	while (time(NULL) < end) {
		struct pollfd p[2] = {{u, POLLIN, 0}, {t, POLLIN, 0}};
		if (poll(p, 2, 500) <= 0)
			continue;
		uint8_t q[1500], out[4096];
		if (p[0].revents) {
			struct sockaddr_in from;
			socklen_t fl = sizeof from;
			ssize_t n = recvfrom(u, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
			size_t len = n > 0 ? answer(q, (size_t)n, out, 0) : 0;
			if (len && n >= 12) {
				char nm[64] = "";
				size_t k = 12, w = 0;
				while (k < (size_t)n && q[k] && w < 60) {
					uint8_t l = q[k++];
					if (w)
						nm[w++] = '.';
					for (uint8_t j = 0; j < l && w < 60 && k < (size_t)n; j++)
						nm[w++] = (char)q[k++];
				}
				nm[w] = 0;
				if (has_action(nm, "WRONGID")) {
					out[0] ^= 0xFF;
					sendto(u, out, len, 0, (struct sockaddr *)&from, fl);
					out[0] ^= 0xFF;
				}
				sendto(u, out, len, 0, (struct sockaddr *)&from, fl);
			}
		}
		if (p[1].revents) {
			int c = accept(t, NULL, NULL);
			if (c < 0)
				continue;
			struct timeval tv = {2, 0};
			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
			uint8_t lenb[2];
			if (recv(c, lenb, 2, MSG_WAITALL) == 2) {
				size_t ql = (size_t)(lenb[0] << 8 | lenb[1]);
				if (ql <= sizeof q && recv(c, q, ql, MSG_WAITALL) == (ssize_t)ql) {
					size_t len = answer(q, ql, out + 2, 1);
					if (len) {
						out[0] = (uint8_t)(len >> 8);
						out[1] = (uint8_t)len;
						send(c, out, len + 2, MSG_NOSIGNAL);
					}
				}
			}
			close(c);
		}
	}
	return 0;
}
