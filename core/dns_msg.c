/* dns_msg.c: DNS message encoding and bounds-checked decoding (RFC 1035, 3596, 2782). */
#include <stdio.h>
#include <string.h>
#include "dns.h"

static const struct {
	const char *name;
	uint16_t type;
} types[] = {
	{"A", DNS_A}, {"NS", DNS_NS}, {"CNAME", DNS_CNAME}, {"SOA", DNS_SOA}, {"PTR", DNS_PTR},
	{"MX", DNS_MX}, {"TXT", DNS_TXT}, {"AAAA", DNS_AAAA}, {"SRV", DNS_SRV}, {"CAA", DNS_CAA},
};

static const char *rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
	"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};

static int ascii_ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = (*a >= 'a' && *a <= 'z') ? *a - 32 : *a;
		char y = (*b >= 'a' && *b <= 'z') ? *b - 32 : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

int dns_type_parse(const char *s)
{
	for (size_t i = 0; i < OP_ARRAY_LEN(types); i++)
		if (ascii_ieq(s, types[i].name))
			return types[i].type;
	return OP_EINVAL;
}

const char *dns_type_name(int type)
{
	for (size_t i = 0; i < OP_ARRAY_LEN(types); i++)
		if (types[i].type == type)
			return types[i].name;
	return "?";
}

const char *dns_flags_text(char *out, size_t cap, uint16_t flags)
{
	static const struct { uint16_t bit; char name[3]; } f[] = {
		{DNS_QR, "qr"}, {DNS_AA, "aa"}, {DNS_TC, "tc"}, {DNS_RD, "rd"}, {DNS_RA, "ra"},
		{DNS_AD, "ad"}, {DNS_CD, "cd"},
	};
	size_t w = 0;
	if (cap)
		out[0] = 0;
	for (size_t i = 0; i < OP_ARRAY_LEN(f); i++)
		if ((flags & f[i].bit) && w + 4 <= cap)
			w += (size_t)snprintf(out + w, cap - w, "%s%s", w ? " " : "", f[i].name);
	return out;
}

int dns_rcode_parse(const char *s)
{
	for (size_t i = 0; i < OP_ARRAY_LEN(rcodes); i++)
		if (ascii_ieq(s, rcodes[i]))
			return (int)i;
	return OP_EINVAL;
}

const char *dns_rcode_name(int rcode)
{
	return rcode >= 0 && rcode < (int)OP_ARRAY_LEN(rcodes) ? rcodes[rcode] : "?";
}

int dns_name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la && a[la - 1] == '.')
		la--;
	if (lb && b[lb - 1] == '.')
		lb--;
	if (la != lb)
		return 0;
	for (size_t i = 0; i < la; i++) {
		char x = (a[i] >= 'A' && a[i] <= 'Z') ? a[i] + 32 : a[i];
		char y = (b[i] >= 'A' && b[i] <= 'Z') ? b[i] + 32 : b[i];
		if (x != y)
			return 0;
	}
	return 1;
}

/* ---- IDNA: a label beyond ASCII in its Punycode form (RFC 3492) ---- */

enum { PC_BASE = 36, PC_TMIN = 1, PC_TMAX = 26, PC_SKEW = 38, PC_DAMP = 700, PC_BIAS = 72,
	PC_N = 128, LABEL_MAX = 63 };

static uint32_t pc_adapt(uint32_t delta, uint32_t points, int first)
{
	uint32_t k = 0;
	delta = first ? delta / PC_DAMP : delta / 2;
	delta += delta / points;
	for (; delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2; k += PC_BASE)
		delta /= PC_BASE - PC_TMIN;
	return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

static char pc_digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + d - 26);
}

/* The lowercase of a capital IDNA maps (the scripts whose case is a fixed offset). */
static uint32_t idna_lower(uint32_t c)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7) ||
		(c >= 0x391 && c <= 0x3ab && c != 0x3a2) || (c >= 0x410 && c <= 0x42f))
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	if (c == 0x386) /* the Greek capitals with tonos */
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 0x25;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 0x3f;
	return c;
}

/* "xn--" and the Punycode of cp[0..n) into out; the length, or -1 when over LABEL_MAX. */
static int punycode_label(const uint32_t *cp, size_t n, char *out)
{
	char buf[LABEL_MAX + 1];
	size_t w = 4, basic;
	memcpy(buf, "xn--", 4);
	for (size_t i = 0; i < n; i++)
		if (cp[i] < PC_N) {
			if (w >= LABEL_MAX)
				return -1;
			buf[w++] = (char)cp[i];
		}
	basic = w - 4;
	if (basic && w >= LABEL_MAX)
		return -1;
	if (basic)
		buf[w++] = '-';
	uint32_t next = PC_N, delta = 0, bias = PC_BIAS;
	for (size_t h = basic; h < n; delta++, next++) {
		uint32_t m = UINT32_MAX;
		for (size_t i = 0; i < n; i++)
			if (cp[i] >= next && cp[i] < m)
				m = cp[i];
		delta += (m - next) * (uint32_t)(h + 1); /* no overflow: a label has < 64 points */
		next = m;
		for (size_t i = 0; i < n; i++) {
			if (cp[i] < next)
				delta++;
			if (cp[i] != next)
				continue;
			uint32_t q = delta;
			for (uint32_t k = PC_BASE;; k += PC_BASE) {
				uint32_t t = k <= bias ? PC_TMIN : k >= bias + PC_TMAX ? PC_TMAX : k - bias;
				if (q < t)
					break;
				if (w >= LABEL_MAX)
					return -1;
				buf[w++] = pc_digit(t + (q - t) % (PC_BASE - t));
				q = (q - t) / (PC_BASE - t);
			}
			if (w >= LABEL_MAX)
				return -1;
			buf[w++] = pc_digit(q);
			bias = pc_adapt(delta, (uint32_t)(h + 1), h == basic);
			delta = 0;
			h++;
		}
	}
	memcpy(out, buf, w);
	return (int)w;
}

int dns_name_ascii(const char *name, char *out, size_t cap)
{
	size_t w = 0;
	const uint8_t *s = (const uint8_t *)name;
	while (*s) {
		size_t len = strcspn((const char *)s, "."), at = 0, ascii = 0;
		while (ascii < len && s[ascii] < 0x80)
			ascii++;
		/* an ASCII label as written (the server's to compare; its length is
		 * dns_name_fault's to judge), another in its xn-- form */
		char label[LABEL_MAX + 1];
		const char *from = (const char *)s;
		size_t ll = len;
		if (ascii < len) {
			uint32_t cp[LABEL_MAX + 1];
			size_t n = 0;
			while (at < len) {
				size_t k = op_utf8_seq(s + at, len - at);
				if (!k || n > LABEL_MAX)
					return OP_EINVAL;
				uint32_t c = k == 1 ? s[at] : s[at] & (0x7f >> k);
				for (size_t j = 1; j < k; j++)
					c = c << 6 | (s[at + j] & 0x3f);
				cp[n++] = idna_lower(c);
				at += k;
			}
			int pl = punycode_label(cp, n, label);
			if (pl < 0)
				return OP_EINVAL;
			from = label, ll = (size_t)pl;
		}
		if (w + ll + (s[len] == '.') >= cap) /* and the NUL */
			return OP_EINVAL;
		memcpy(out + w, from, ll);
		w += ll;
		s += len;
		if (*s == '.')
			out[w++] = *s++;
	}
	if (w >= cap)
		return OP_EINVAL;
	out[w] = 0;
	return (int)w;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *dns_reverse_name(const struct plat_addr *a, char *out, size_t cap)
{
	size_t w = 0;
	out[0] = 0;
	if (a->family == PLAT_AF_INET) {
		snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", a->ip[3], a->ip[2], a->ip[1], a->ip[0]);
		return out;
	}
	for (int i = 15; i >= 0 && w + 4 < cap; i--) /* low nibble first */
		w += (size_t)snprintf(out + w, cap - w, "%x.%x.", a->ip[i] & 15, a->ip[i] >> 4);
	snprintf(out + w, cap - w, "ip6.arpa");
	return out;
}

const char *dns_name_fault(const char *name)
{
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		n--; /* the root: "example.com." */
	if (n == 0)
		return *name ? NULL : "no label"; /* "." alone: the root, whose NS one may ask */
	if (n > 253)
		return "more than 253 bytes";
	for (const char *p = name, *end = name + n; p <= end;) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t l = (size_t)((dot ? dot : end) - p);
		if (l == 0)
			return "an empty label (two dots in a row, or a dot first)";
		if (l > 63)
			return "a label over 63 bytes";
		p += l + 1;
	}
	return NULL;
}

int dns_encode_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t qtype)
{
	OP_CHECK(!dns_name_fault(name), OP_EINVAL);
	size_t nlen = strlen(name);
	if (name[nlen - 1] == '.')
		nlen--;
	OP_CHECK(cap >= 12 + nlen + 2 + 4, OP_ETOOBIG);
	memset(buf, 0, 12);
	put16(buf, id);
	buf[2] = 0x01; /* RD */
	put16(buf + 4, 1);
	size_t o = 12;
	const char *p = name, *end = name + nlen;
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t l = dot ? (size_t)(dot - p) : (size_t)(end - p);
		buf[o++] = (uint8_t)l;
		memcpy(buf + o, p, l);
		o += l;
		p += l + (dot ? 1 : 0);
	}
	buf[o++] = 0;
	put16(buf + o, qtype);
	put16(buf + o + 2, 1); /* IN */
	return (int)(o + 4);
}

/* Read a possibly compressed name at *off into out (presentation form, escapes for odd bytes).
 * Advances *off past the name in the message. Pointers must point strictly backwards, which
 * rules out loops. Returns 0 or OP_EPROTO. */
static int read_name(const uint8_t *msg, size_t len, size_t *off, char *out, size_t cap)
{
	size_t o = *off, w = 0, wire = 0;
	int jumped = 0;
	size_t lowest = o; /* every pointer must go below the lowest position read so far */
	out[0] = 0;
	for (;;) {
		if (o >= len)
			return OP_EPROTO;
		uint8_t l = msg[o];
		if ((l & 0xC0) == 0xC0) {
			if (o + 1 >= len)
				return OP_EPROTO;
			size_t ptr = (size_t)(l & 0x3F) << 8 | msg[o + 1];
			if (ptr >= lowest)
				return OP_EPROTO;
			if (!jumped)
				*off = o + 2;
			jumped = 1;
			lowest = ptr;
			o = ptr;
			continue;
		}
		if (l & 0xC0)
			return OP_EPROTO; /* 0x40 / 0x80 label types are obsolete */
		o++;
		if (l == 0)
			break;
		if (o + l > len)
			return OP_EPROTO;
		wire += l + 1u;
		if (wire > 255)
			return OP_EPROTO;
		if (w && w + 1 < cap)
			out[w++] = '.';
		for (uint8_t i = 0; i < l; i++) {
			uint8_t c = msg[o + i];
			char esc[5];
			int n = 1;
			if (c > 32 && c < 127 && c != '.' && c != '\\')
				esc[0] = (char)c;
			else
				n = snprintf(esc, sizeof esc, "\\%03u", c);
			if (w + (size_t)n + 1 >= cap)
				return OP_EPROTO;
			memcpy(out + w, esc, (size_t)n);
			w += (size_t)n;
		}
		o += l;
	}
	if (!jumped)
		*off = o;
	if (w == 0 && cap > 1)
		out[w++] = '.';
	out[w] = 0;
	return 0;
}

/* Render one record's data as text. rd is msg-relative so names inside can be decompressed. */
static int render_rdata(const uint8_t *msg, size_t len, size_t rd, uint16_t rdlen,
	struct dns_answer *a)
{
	char name[DNS_NAME_MAX];
	size_t o = rd, end = rd + rdlen;
	const uint8_t *p = msg + rd;
	switch (a->type) {
	case DNS_A:
		if (rdlen != 4)
			return OP_EPROTO;
		memcpy(a->addr, p, 4);
		snprintf(a->text, sizeof a->text, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
		return 0;
	case DNS_AAAA: {
		if (rdlen != 16)
			return OP_EPROTO;
		struct plat_addr pa = {.family = PLAT_AF_INET6};
		memcpy(pa.ip, p, 16);
		memcpy(a->addr, p, 16);
		plat_addr_format(&pa, a->text, sizeof a->text);
		return 0;
	}
	case DNS_NS:
	case DNS_CNAME:
	case DNS_PTR:
		if (read_name(msg, len, &o, a->text, sizeof a->text) || o != end)
			return OP_EPROTO;
		return 0;
	case DNS_MX:
		if (rdlen < 3)
			return OP_EPROTO;
		o += 2;
		if (read_name(msg, len, &o, name, sizeof name) || o != end)
			return OP_EPROTO;
		snprintf(a->text, sizeof a->text, "%u %s", get16(p), name);
		return 0;
	case DNS_SRV:
		if (rdlen < 7)
			return OP_EPROTO;
		o += 6;
		if (read_name(msg, len, &o, name, sizeof name) || o != end)
			return OP_EPROTO;
		snprintf(a->text, sizeof a->text, "%u %u %u %s", get16(p), get16(p + 2), get16(p + 4),
			name);
		return 0;
	case DNS_SOA: {
		char rname[DNS_NAME_MAX];
		if (read_name(msg, len, &o, name, sizeof name) ||
			read_name(msg, len, &o, rname, sizeof rname) || o + 20 != end)
			return OP_EPROTO;
		a->serial = get32(msg + o);
		snprintf(a->text, sizeof a->text, "%s %s %u", name, rname, a->serial);
		return 0;
	}
	case DNS_TXT: {
		/* character-strings joined without separators, non-printables escaped */
		size_t w = 0;
		while (o < end) {
			uint8_t l = msg[o++];
			if (o + l > end)
				return OP_EPROTO;
			for (uint8_t i = 0; i < l && w + 5 < sizeof a->text; i++) {
				uint8_t c = msg[o + i];
				if (c >= 32 && c < 127)
					a->text[w++] = (char)c;
				else
					w += (size_t)snprintf(a->text + w, 5, "\\%03u", c);
			}
			o += l;
		}
		a->text[w] = 0;
		return 0;
	}
	default: {
		/* RFC 3597 generic form, cut to the text buffer */
		int w = snprintf(a->text, sizeof a->text, "\\# %u ", rdlen);
		for (uint16_t i = 0; i < rdlen && (size_t)w + 3 < sizeof a->text; i++)
			w += snprintf(a->text + w, 3, "%02x", p[i]);
		return 0;
	}
	}
}

int dns_decode_reply(const uint8_t *msg, size_t len, struct dns_reply *out)
{
	memset(out, 0, offsetof(struct dns_reply, an));
	if (len < 12)
		return OP_EPROTO;
	out->id = get16(msg);
	if (!(msg[2] & 0x80))
		return OP_EPROTO; /* QR clear: a query, not a response */
	out->flags = get16(msg + 2) & (DNS_QR | DNS_AA | DNS_TC | DNS_RD | DNS_RA | DNS_AD | DNS_CD);
	out->truncated = (msg[2] & 0x02) != 0;
	out->rcode = msg[3] & 0x0F;
	uint16_t qd = get16(msg + 4);
	out->ancount = get16(msg + 6);
	out->nscount = get16(msg + 8);
	out->arcount = get16(msg + 10);
	size_t o = 12;
	if (qd > 1)
		return OP_EPROTO;
	if (qd == 1) {
		if (read_name(msg, len, &o, out->qname, sizeof out->qname) || o + 4 > len)
			return OP_EPROTO;
		out->qtype = get16(msg + o);
		o += 4;
	}
	if (out->truncated)
		return 0; /* the caller retries over TCP; the partial answer is not used */
	for (uint16_t i = 0; i < out->ancount; i++) {
		char owner[DNS_NAME_MAX];
		if (read_name(msg, len, &o, owner, sizeof owner) || o + 10 > len)
			return OP_EPROTO;
		uint16_t type = get16(msg + o);
		uint32_t ttl = get32(msg + o + 4);
		uint16_t rdlen = get16(msg + o + 8);
		o += 10;
		if (o + rdlen > len)
			return OP_EPROTO;
		if (out->n < OP_DNS_MAX_ANSWERS) {
			struct dns_answer *a = &out->an[out->n];
			a->type = type;
			a->ttl = ttl;
			a->serial = 0;
			if (render_rdata(msg, len, o, rdlen, a))
				return OP_EPROTO;
			out->n++;
		}
		o += rdlen;
	}
	return 0;
}
