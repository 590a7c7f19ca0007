/* test_dns.c: DNS message encoding and decoding: crafted replies, every truncated prefix, a
 * guard page behind the message, compression loops. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../../core/dns.h"
#include "t.h"

/* A reply to "www.example.org A" with a CNAME and two A records, names compressed. */
static size_t sample_reply(uint8_t *m)
{
	size_t o = 0;
	const uint8_t hdr[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0};
	memcpy(m, hdr, sizeof hdr);
	o = sizeof hdr;
	const uint8_t q[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r',
		'g', 0, 0, 1, 0, 1};
	memcpy(m + o, q, sizeof q);
	o += sizeof q;
	/* www.example.org CNAME web.example.org (web + pointer to example.org at 16) */
	const uint8_t an1[] = {0xC0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'e', 'b', 0xC0, 16};
	memcpy(m + o, an1, sizeof an1);
	size_t web = o + 12;
	o += sizeof an1;
	uint8_t an2[] = {0xC0, (uint8_t)web, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 192, 0, 2, 1};
	memcpy(m + o, an2, sizeof an2);
	o += sizeof an2;
	uint8_t an3[] = {0xC0, (uint8_t)web, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 192, 0, 2, 2};
	memcpy(m + o, an3, sizeof an3);
	o += sizeof an3;
	return o;
}

static void test_encode_query(void)
{
	uint8_t b[512];
	int n = dns_encode_query(b, sizeof b, 0xBEEF, "Example.ORG.", DNS_AAAA);
	ASSERT_EQ(n, 12 + 13 + 4);
	ASSERT_EQ(b[0], 0xBE);
	ASSERT_EQ(b[2], 0x01); /* RD */
	ASSERT_EQ(b[12], 7);
	ASSERT(!memcmp(b + 13, "Example", 7));
	ASSERT_EQ(b[n - 3], 28);
	ASSERT_EQ(dns_encode_query(b, sizeof b, 1, "a..b", DNS_A), OP_EINVAL);
	ASSERT_EQ(dns_encode_query(b, sizeof b, 1, "", DNS_A), OP_EINVAL);
	char big[300];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	ASSERT_EQ(dns_encode_query(b, sizeof b, 1, big, DNS_A), OP_EINVAL);
	memset(big, 'a', 64);
	big[64] = 0;
	ASSERT_EQ(dns_encode_query(b, sizeof b, 1, big, DNS_A), OP_EINVAL); /* label > 63 */
	ASSERT_EQ(dns_encode_query(b, 20, 1, "example.org", DNS_A), OP_ETOOBIG);
	/* the root alone, for its NS */
	ASSERT_EQ(dns_encode_query(b, sizeof b, 1, ".", DNS_NS), 12 + 1 + 4);
	ASSERT_EQ(b[12], 0);
}

/* What makes a name one that cannot be asked: said at config load, the same the encoder
 * refuses. */
/* A PTR query for an address asks its reverse name, as dig -x does. */
static void test_reverse_name(void)
{
	struct plat_addr a;
	char out[80];
	ASSERT_EQ(plat_addr_parse("192.0.2.10", &a), 0);
	ASSERT_STR_EQ(dns_reverse_name(&a, out, sizeof out), "10.2.0.192.in-addr.arpa");
	ASSERT_EQ(plat_addr_parse("2001:db8::1", &a), 0);
	ASSERT_STR_EQ(dns_reverse_name(&a, out, sizeof out),
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
	ASSERT_EQ(dns_name_fault(out), NULL);
}

/* Names beyond ASCII in their IDNA form. The expected forms are the IANA test domains', the
 * country codes', and Python's idna codec's (which agrees with IDNA2008 on these); "straße"
 * keeps its ß (IDNA2008, as browsers and libidn2 have it; IDNA2003 made it "strasse"). */
static void test_name_ascii(void)
{
	static const char *const ok[][2] = {
		{"example.com", "example.com"},
		{"b\xc3\xbc" "cher.example", "xn--bcher-kva.example"},
		{"b\xc3\xbc" "cher.example.", "xn--bcher-kva.example."},
		{"M\xc3\x9cNCHEN.DE", "xn--mnchen-3ya.DE"},
		{"www.B\xc3\xbc" "cher.Example", "www.xn--bcher-kva.Example"},
		{"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd0\xb8\xd1\x81\xd0\xbf\xd1\x8b"
			"\xd1\x82\xd0\xb0\xd0\xbd\xd0\xb8\xd0\xb5", "xn--e1afmkfd.xn--80akhbyknj4f"},
		{"\xd0\x9f\xd0\xa0\xd0\x98\xd0\x9c\xd0\x95\xd0\xa0.\xd1\x80\xd1\x84",
			"xn--e1afmkfd.xn--p1ai"},
		{"\xd0\x81\xd0\xb6\xd0\xb8\xd0\xba.\xd1\x80\xd1\x84", "xn--f1aeg3g.xn--p1ai"},
		{"\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
			"xn--r8jz45g.xn--zckzah"},
		{"\xe4\xb8\xad\xe5\x9b\xbd", "xn--fiqs8s"},
		{"\xce\x95\xce\x9b\xce\x9b\xce\x97\xce\x9d\xce\x99\xce\x9a\xce\x86.gr",
			"xn--hxargifdar.gr"},
		{"ab-\xc3\xbc.de", "xn--ab--joa.de"},
		{"stra\xc3\x9f" "e.de", "xn--strae-oqa.de"},
	};
	char out[300], in[300];
	for (size_t i = 0; i < OP_ARRAY_LEN(ok); i++) {
		int n = dns_name_ascii(ok[i][0], out, sizeof out);
		ASSERT_STR_EQ(out, ok[i][1]);
		ASSERT_EQ(n, (int)strlen(ok[i][1]));
	}
	/* 20 a-umlauts: a label of 4 + 22 bytes; 59 a and one: over 63 in that form */
	for (int i = 0; i < 20; i++)
		memcpy(in + 2 * i, "\xc3\xa4", 2);
	strcpy(in + 40, ".x");
	ASSERT_EQ(dns_name_ascii(in, out, sizeof out), 28);
	ASSERT_STR_EQ(out, "xn--4caaaaaaaaaaaaaaaaaaaa.x");
	memset(in, 'a', 59);
	strcpy(in + 59, "\xc3\xbc.x");
	ASSERT_EQ(dns_name_ascii(in, out, sizeof out), OP_EINVAL);
	ASSERT_EQ(dns_name_ascii("\xff.example", out, sizeof out), OP_EINVAL); /* not UTF-8 */
	ASSERT_EQ(dns_name_ascii("b\xc3\xbc", out, 9), OP_EINVAL); /* "xn--b-eha" and its NUL */
	ASSERT_EQ(dns_name_ascii("b\xc3\xbc", out, 10), 9);
}

static void test_name_fault(void)
{
	char l63[80], l64[80], n254[300];
	memset(l63, 'a', 63);
	strcpy(l63 + 63, ".org");
	memset(l64, 'a', 64);
	strcpy(l64 + 64, ".org");
	for (int i = 0; i < 254; i++)
		n254[i] = i % 51 == 50 ? '.' : 'a'; /* labels of 50 */
	n254[254] = 0;
	ASSERT(dns_name_fault("example.org") == NULL);
	ASSERT(dns_name_fault("example.org.") == NULL);
	ASSERT(dns_name_fault(".") == NULL);
	ASSERT(dns_name_fault("_srv._tcp.example.org") == NULL);
	ASSERT(dns_name_fault(l63) == NULL);
	ASSERT(dns_name_fault(n254 + 1) == NULL); /* 253 bytes */
	ASSERT_STR_EQ(dns_name_fault(l64), "a label over 63 bytes");
	ASSERT_STR_EQ(dns_name_fault(n254), "more than 253 bytes");
	ASSERT_STR_EQ(dns_name_fault(""), "no label");
	const char *empty[] = {"a..b", ".a", "a.b..", ".."};
	for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
		const char *f = dns_name_fault(empty[i]);
		if (!f || strncmp(f, "an empty label", 14))
			T_FAIL_AT("%s: %s", empty[i], f ? f : "(none)");
	}
	uint8_t b[512];
	ASSERT_EQ(dns_encode_query(b, sizeof b, 1, l64, DNS_A), OP_EINVAL);
	ASSERT(dns_encode_query(b, sizeof b, 1, l63, DNS_A) > 0);
}

static void test_decode_sample(void)
{
	uint8_t m[512];
	size_t n = sample_reply(m);
	struct dns_reply r;
	ASSERT_EQ(dns_decode_reply(m, n, &r), 0);
	ASSERT_EQ(r.id, 0x1234);
	ASSERT_EQ(r.rcode, 0);
	ASSERT_EQ(r.qtype, DNS_A);
	ASSERT_STR_EQ(r.qname, "www.example.org");
	ASSERT_EQ(r.n, 3);
	ASSERT_EQ(r.an[0].type, DNS_CNAME);
	ASSERT_STR_EQ(r.an[0].text, "web.example.org");
	ASSERT_STR_EQ(r.an[1].text, "192.0.2.1");
	ASSERT_STR_EQ(r.an[2].text, "192.0.2.2");
	ASSERT_EQ(r.an[1].ttl, 256);
	ASSERT(dns_name_eq("WWW.example.org.", r.qname));
}

/* Every prefix of a valid message either decodes or fails cleanly (no over-read: ASan). */
static void test_every_prefix(void)
{
	uint8_t m[512];
	size_t n = sample_reply(m);
	struct dns_reply r;
	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, m, len);
		ASSERT_EQ(dns_decode_reply(copy, len, &r), OP_EPROTO);
		free(copy);
	}
}

/* The message ends right before an inaccessible page: any over-read faults. */
static void test_guard_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *area = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		-1, 0);
	ASSERT(area != MAP_FAILED);
	ASSERT_EQ(mprotect(area + pg, (size_t)pg, PROT_NONE), 0);
	uint8_t m[512];
	size_t n = sample_reply(m);
	struct dns_reply r;
	for (size_t len = 0; len <= n; len++) {
		uint8_t *at = area + pg - len;
		memcpy(at, m, len);
		int rc = dns_decode_reply(at, len, &r);
		ASSERT(rc == 0 || rc == OP_EPROTO);
		ASSERT_EQ(rc == 0, len == n);
	}
	munmap(area, (size_t)pg * 2);
}

static void test_pointer_loop_and_forward(void)
{
	uint8_t m[512];
	size_t n = sample_reply(m);
	struct dns_reply r;
	/* first answer's owner points at itself */
	m[33] = 0xC0;
	m[34] = 33;
	ASSERT_EQ(dns_decode_reply(m, n, &r), OP_EPROTO);
	n = sample_reply(m);
	m[34] = 200; /* forward pointer past the end */
	ASSERT_EQ(dns_decode_reply(m, n, &r), OP_EPROTO);
	/* a query (QR clear) is not a reply */
	n = sample_reply(m);
	m[2] = 0x01;
	ASSERT_EQ(dns_decode_reply(m, n, &r), OP_EPROTO);
}

static void test_truncated_flag_and_rcode(void)
{
	uint8_t m[512];
	size_t n = sample_reply(m);
	struct dns_reply r;
	m[2] |= 0x02;
	m[3] = (m[3] & 0xF0) | 3;
	ASSERT_EQ(dns_decode_reply(m, n, &r), 0);
	ASSERT_EQ(r.truncated, 1);
	ASSERT_EQ(r.rcode, 3);
	ASSERT_STR_EQ(dns_rcode_name(r.rcode), "NXDOMAIN");
	ASSERT_EQ(r.n, 0); /* a truncated answer is not used */
}

/* The header's flags as dig says them, the opcode and rcode bits not among them. */
static void test_flags(void)
{
	uint8_t m[512];
	size_t n = sample_reply(m);
	struct dns_reply r;
	char t[24];
	m[2] = 0x80 | 0x78 | 0x04 | 0x01; /* QR, opcode 15, AA, RD */
	m[3] = 0x80 | 0x20 | 0x05;        /* RA, AD, rcode REFUSED */
	ASSERT_EQ(dns_decode_reply(m, n, &r), 0);
	ASSERT_EQ(r.flags, DNS_QR | DNS_AA | DNS_RD | DNS_RA | DNS_AD);
	ASSERT_STR_EQ(dns_flags_text(t, sizeof t, r.flags), "qr aa rd ra ad");
	ASSERT_STR_EQ(dns_flags_text(t, sizeof t, 0xFFFF), "qr aa tc rd ra ad cd");
	ASSERT_STR_EQ(dns_flags_text(t, 8, 0xFFFF), "qr aa"); /* cut at a whole name */
	ASSERT_STR_EQ(dns_flags_text(t, sizeof t, 0), "");
	/* a query says RD unless told not to (dns_query_start clears it) */
	ASSERT(dns_encode_query(m, sizeof m, 1, "a.test", DNS_A) > 0);
	ASSERT_EQ(m[2], DNS_RD >> 8);
}

static void test_record_types(void)
{
	uint8_t m[512];
	const uint8_t hdr[] = {0, 1, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0};
	size_t o = 0;
	memcpy(m, hdr, sizeof hdr);
	o = sizeof hdr;
	const uint8_t q[] = {1, 'x', 0, 0, 255, 0, 1};
	memcpy(m + o, q, sizeof q);
	o += sizeof q;
	const uint8_t mx[] = {0xC0, 12, 0, 15, 0, 1, 0, 0, 0, 9, 0, 5, 0, 10, 1, 'm', 0};
	memcpy(m + o, mx, sizeof mx);
	o += sizeof mx;
	const uint8_t txt[] = {0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 9, 0, 7, 3, 'a', 'b', 'c', 2, 'd', 1};
	memcpy(m + o, txt, sizeof txt);
	o += sizeof txt;
	uint8_t aaaa[28] = {0xC0, 12, 0, 28, 0, 1, 0, 0, 0, 9, 0, 16};
	aaaa[12 + 15] = 1; /* ::1 */
	memcpy(m + o, aaaa, sizeof aaaa);
	o += sizeof aaaa;
	const uint8_t srv[] = {0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 9, 0, 9, 0, 1, 0, 2, 0x01, 0xBB, 1,
		's', 0};
	memcpy(m + o, srv, sizeof srv);
	o += sizeof srv;
	struct dns_reply r;
	ASSERT_EQ(dns_decode_reply(m, o, &r), 0);
	ASSERT_EQ(r.n, 4);
	ASSERT_STR_EQ(r.an[0].text, "10 m");
	ASSERT_STR_EQ(r.an[1].text, "abcd\\001");
	ASSERT_STR_EQ(r.an[2].text, "::1");
	ASSERT_STR_EQ(r.an[3].text, "1 2 443 s");
	ASSERT_EQ(dns_type_parse("aaaa"), DNS_AAAA);
	ASSERT_EQ(dns_type_parse("BOGUS"), OP_EINVAL);
}

int main(void)
{
	RUN(test_encode_query);
	RUN(test_name_fault);
	RUN(test_reverse_name);
	RUN(test_name_ascii);
	RUN(test_decode_sample);
	RUN(test_every_prefix);
	RUN(test_guard_page);
	RUN(test_pointer_loop_and_forward);
	RUN(test_truncated_flag_and_rcode);
	RUN(test_flags);
	RUN(test_record_types);
	return T_DONE();
}
