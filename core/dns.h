/* dns.h: DNS messages (RFC 1035) and the non-blocking stub resolver (UDP, TCP on truncation,
 * /etc/hosts, /etc/resolv.conf). Nothing here blocks after dns_init. */
#ifndef DNS_H
#define DNS_H

#include "op.h"
#include "opts.h"
#include "../platform/plat.h"

enum dns_type {
	DNS_A = 1, DNS_NS = 2, DNS_CNAME = 5, DNS_SOA = 6, DNS_PTR = 12, DNS_MX = 15,
	DNS_TXT = 16, DNS_AAAA = 28, DNS_SRV = 33, DNS_CAA = 257
};

#define DNS_TEXT_MAX 160 /* one answer rendered as text (longer ones are cut) */
#define DNS_NAME_MAX 256 /* presentation form of a name, with NUL */

struct dns_answer {
	uint16_t type;
	uint32_t ttl;
	uint8_t addr[16]; /* A: 4 bytes, AAAA: 16 */
	uint32_t serial;  /* SOA: the zone's serial */
	char text[DNS_TEXT_MAX];
};

/* The header's flag bits (RFC 1035 4.1.1, RFC 4035 3.2), as dig names them. */
enum dns_flag {
	DNS_QR = 0x8000, DNS_AA = 0x0400, DNS_TC = 0x0200, DNS_RD = 0x0100, DNS_RA = 0x0080,
	DNS_AD = 0x0020, DNS_CD = 0x0010
};

struct dns_reply {
	uint16_t id;
	uint16_t flags;   /* its dns_flag bits (opcode and rcode masked off) */
	uint8_t rcode;
	uint8_t truncated;
	uint8_t over_tcp; /* the reply came over TCP; set by the resolver */
	uint16_t qtype;
	uint16_t ancount; /* answers in the message */
	uint16_t nscount, arcount; /* its authority and additional records */
	uint16_t n;       /* answers decoded into an[] (at most OP_DNS_MAX_ANSWERS) */
	char qname[DNS_NAME_MAX];
	struct dns_answer an[OP_DNS_MAX_ANSWERS];
	uint64_t at_us; /* when it reached this host (net_conn.rx_us); set by the resolver */
};

/* Names of types ("A", "AAAA", ...) and rcodes ("NOERROR", "NXDOMAIN", ...). The parsers
 * return the value or OP_EINVAL; the namers return "TYPE<n>"-style text for unknown values
 * in a static buffer only for the fixed set, "?" otherwise. */
int dns_type_parse(const char *s);
const char *dns_type_name(int type);
int dns_rcode_parse(const char *s);
const char *dns_rcode_name(int rcode);
/* flags (enum dns_flag) as dig's header says them, "qr aa rd" (cap 24 holds all); out. */
const char *dns_flags_text(char *out, size_t cap, uint16_t flags);

/* Encode a recursive query for name/qtype into buf. Returns its length, OP_EINVAL for a bad
 * name (empty label, label > 63, name > 253), or OP_ETOOBIG. */
int dns_encode_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype);

/* What makes name one that cannot be asked (NULL when it can be), said to follow "it has":
 * "an empty label (...)", "a label over 63 bytes", "more than 253 bytes" or "no label".
 * dns_encode_query refuses the same names; config errors say why at load. */
const char *dns_name_fault(const char *name);

/* The name a PTR query asks for address a, as dig -x writes it: "4.3.2.1.in-addr.arpa" for
 * 1.2.3.4, 32 nibbles and "ip6.arpa" for IPv6. Returns out. */
const char *dns_reverse_name(const struct plat_addr *a, char *out, size_t cap);

/* Decode a response. Answers of every type are rendered as text; A/AAAA also as addresses.
 * Returns 0, or OP_EPROTO for a malformed message (out of bounds, bad pointers, not a
 * response). Reads only msg[0..len). */
int dns_decode_reply(const uint8_t *msg, size_t len, struct dns_reply *out);

/* Case-insensitive name comparison, ignoring one trailing dot. */
int dns_name_eq(const char *a, const char *b);

/* A host name as DNS, TLS and HTTP carry it (IDNA, RFC 5891): each label with letters beyond
 * ASCII in its "xn--" form (Punycode, RFC 3492), lowercased first (ASCII, and the Latin-1,
 * Greek and Cyrillic capitals); an ASCII label as it is. Returns the length written to out, or
 * OP_EINVAL (not UTF-8, a label beyond ASCII over 63 bytes in its xn-- form, or it does not
 * fit cap). */
int dns_name_ascii(const char *name, char *out, size_t cap);

/* ---- resolver ---- */
struct dns_query;
/* Called exactly once per started query, unless it was cancelled. err is 0 (reply holds the
 * answer, any rcode), OP_ETIMEDOUT, OP_ETOOBIG, OP_EPROTO or a socket error. reply is only
 * valid during the call. */
typedef void dns_cb(void *udata, int err, const struct dns_reply *reply);

/* Read resolv.conf and hosts (paths may be NULL for the system defaults). Blocks: start-up
 * and reload only. Returns 0 or a negative code. */
int dns_init(const char *resolv_conf, const char *hosts);
/* Read them again if either changed since (a DHCP client rewrites resolv.conf when the uplink
 * changes, and the C library follows it too). Once a second, from the engine: a stat of each,
 * and a read of two small local files when one changed. Queries in flight take the new
 * servers from their next attempt. */
void dns_watch(void);
/* Nameservers in use, for messages. */
int dns_server_count(void);

/* Start a query. server NULL: the resolv.conf servers in order, each tried with its retries.
 * Over UDP, and again over TCP after a truncated reply; how DNS_Q_TCP: over TCP from the start
 * (one connection, to server or the first nameserver); DNS_Q_NO_RECURSION: RD clear (a
 * resolver answers from its cache, an authoritative server from its zones, as dig
 * +norecurse). The whole query ends by timeout_us.
 * On success *out is the handle for dns_query_cancel; cb never runs before this returns.
 * Returns 0, OP_ENOMEM (no query slot), OP_EINVAL, or OP_ENOENT (no nameserver). */
enum { DNS_Q_TCP = 1, DNS_Q_NO_RECURSION = 2 };
int dns_query_start(const char *name, uint16_t qtype, const struct plat_addr *server,
	unsigned how, uint64_t timeout_us, dns_cb *cb, void *udata, struct dns_query **out);
/* Stop a query; its callback is not called. */
void dns_query_cancel(struct dns_query *q);

/* /etc/hosts lookup: fills out and returns 0, or OP_ENOTFOUND. family 0 takes either. */
int dns_hosts_lookup(const char *name, int family, struct plat_addr *out);

/* ---- a host name to one address, for connecting ---- */
/* err 0: *addr is filled; else why says what failed ("NXDOMAIN", "timed out", "no address"). */
typedef void dns_addr_fn(void *udata, int err, const char *why);
/* Caller-owned; the caller sets every field before dns_resolve_start and keeps it (and host)
 * valid until cb has run or dns_resolve_cancel. */
struct dns_resolve {
	const char *host;
	struct plat_addr *addr;  /* the answer (port untouched) */
	struct dns_query **q;    /* where the running query is kept, NULL when none */
	uint64_t deadline_us;    /* on op_loop's clock */
	dns_addr_fn *cb;
	void *udata;
	uint8_t family;          /* 0: IPv4, else IPv6; PLAT_AF_INET or PLAT_AF_INET6: only that */
	uint8_t tried;           /* the resolver's own: names asked for so far */
	uint8_t v4_unreachable;  /* dns_resolve_ipv6_instead took over */
};
/* An IP literal, /etc/hosts entry or localhost name (RFC 6761: "localhost", "x.localhost",
 * the loopback address) answers at once (returns 0, cb not called); otherwise DNS
 * A, then AAAA when there is no IPv4 address (with family 0): returns OP_EAGAIN and cb
 * follows. A name is tried with resolv.conf's search suffixes as the C library does ("ndots",
 * default 1): a name with no usable answer (an error rcode, or no address) gives way to the
 * next; a timeout ends the resolution. A negative code when no query could start, or
 * OP_EFAMILY for a literal of the other family. Never blocks. */
int dns_resolve_start(struct dns_resolve *rv);
/* A connect to rv's IPv4 answer failed with rc. When that says this host has no route to IPv4
 * (an IPv6-only network) and rv may take either family, rv is set to ask for the name's IPv6
 * address instead (v4_unreachable): returns 1, and the caller starts it again with
 * dns_resolve_start, within the same deadline. 0 when it does not apply. */
int dns_resolve_ipv6_instead(struct dns_resolve *rv, int rc);
/* Stop a resolution under way (idempotent); cb is not called. */
void dns_resolve_cancel(struct dns_resolve *rv);

/* Bytes a query slot needs (for sizing the DNSQ pool). */
size_t dns_query_size(void);

#endif
