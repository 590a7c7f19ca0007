/* test_http_parse.c: response heads and chunked bodies: a table of cases, every truncated
 * prefix, byte-by-byte feeding, and a guard page behind the input. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "../../core/http_parse.h"
#include "t.h"

static const char ok_head[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Length:  12 \r\n"
	"X-Empty:\r\n"
	"Transfer-Encoding: gzip, Chunked\r\n"
	"\r\n"
	"hello world!";

static void test_head_fields(void)
{
	struct http_header h[8];
	struct http_response r = {.headers = h, .nheaders = 8};
	int n = http_parse_response(ok_head, sizeof ok_head - 1, &r);
	ASSERT_EQ(n, sizeof ok_head - 1 - 12);
	ASSERT_EQ(r.minor_version, 1);
	ASSERT_EQ(r.status, 200);
	ASSERT_EQ(r.reason_len, 2);
	ASSERT_EQ(r.nheaders, 4);
	const struct http_header *cl = http_find_header(&r, "content-length");
	ASSERT(cl != NULL);
	ASSERT_EQ(cl->value_len, 2);
	ASSERT(!memcmp(cl->value, "12", 2));
	ASSERT_EQ(http_find_header(&r, "x-empty")->value_len, 0);
	ASSERT(http_header_has_token(http_find_header(&r, "Transfer-Encoding"), "chunked"));
	ASSERT(!http_header_has_token(http_find_header(&r, "Transfer-Encoding"), "chunk"));
	ASSERT(http_find_header(&r, "Server") == NULL);
	/* the next one of a name: none after the only Content-Length; from NULL, the first */
	ASSERT(http_next_header(&r, "Content-Length", cl) == NULL);
	ASSERT(http_next_header(&r, "content-LENGTH", NULL) == cl);
	static const char two[] = "HTTP/1.1 200 OK\r\nA: 1\r\nB: x\r\na: 2\r\n\r\n";
	r.nheaders = 8;
	ASSERT(http_parse_response(two, sizeof two - 1, &r) > 0);
	const struct http_header *a1 = http_find_header(&r, "A");
	const struct http_header *a2 = http_next_header(&r, "A", a1);
	ASSERT(a1 && a2 && a2 != a1 && a2->value[0] == '2');
	ASSERT(http_next_header(&r, "A", a2) == NULL);
}

/* has_token finds a list element anywhere; last_token only the final one (the transfer coding
 * that frames a body) */
static void test_tokens(void)
{
	static const struct {
		const char *value;
		int has, last;
	} cases[] = {
		{"chunked", 1, 1}, {"gzip, chunked", 1, 1}, {"Chunked ,\t", 1, 1},
		{"chunked, gzip", 1, 0}, {"gzip", 0, 0}, {"", 0, 0}, {" , ,", 0, 0},
		{"xchunked", 0, 0}, {"chunked;q=1", 0, 0}, {"gzip,chunked , chunked", 1, 1},
	};
	for (size_t i = 0; i < OP_ARRAY_LEN(cases); i++) {
		struct http_header h = {.name = "Transfer-Encoding", .name_len = 17,
			.value = cases[i].value, .value_len = strlen(cases[i].value)};
		ASSERT_EQ(http_header_has_token(&h, "chunked"), cases[i].has);
		ASSERT_EQ(http_header_last_token(&h, "chunked"), cases[i].last);
	}
	/* a configured header's list: parameters aside, any line of that name */
	static const char lines[] = "Accept: */*\r\nAccept-Encoding: br;q=1, GZIP ;q=0.5\r\n";
	ASSERT(http_lines_have_token(lines, "Accept-Encoding", "gzip"));
	ASSERT(http_lines_have_token(lines, "Accept-Encoding", "br"));
	ASSERT(!http_lines_have_token(lines, "Accept-Encoding", "deflate"));
	ASSERT(!http_lines_have_token(lines, "Accept", "gzip"));
	ASSERT(!http_lines_have_token("Accept-Encoding: xgzip", "Accept-Encoding", "gzip"));
	ASSERT(http_lines_have_token("X: 1\r\nAccept-Encoding: gzip", "Accept-Encoding", "gzip"));
}

static const struct {
	const char *in;
	int want; /* > 0: the head's length is the whole input */
} cases[] = {
	{"HTTP/1.0 404 Not Found\n\n", 1},
	{"HTTP/1.1 204\r\n\r\n", 1},        /* no reason phrase */
	{"HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", 1},
	{"HTTP/2 200 OK\r\n\r\n", OP_EPROTO},
	{"HTTP/1.1 20 OK\r\n\r\n", OP_EPROTO},
	{"HTTP/1.1 2000 OK\r\n\r\n", OP_EPROTO},
	{"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n", OP_EPROTO},
	{"HTTP/1.1 200 OK\r\n: novalue\r\n\r\n", OP_EPROTO},
	{"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", OP_EPROTO},
	{"HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n", OP_EPROTO},
	{"SSH-2.0-OpenSSH\r\n", OP_EPROTO},
	{"garbage", OP_EPROTO},
	{"HTTP/1.1 200 OK\r\nA: b\r\n", OP_EPARTIAL},
	{"HTTP/1.1 200", OP_EPARTIAL},
	{"", OP_EPARTIAL},
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct http_header h[4];
		struct http_response r = {.headers = h, .nheaders = 4};
		int n = http_parse_response(cases[i].in, strlen(cases[i].in), &r);
		int want = cases[i].want > 0 ? (int)strlen(cases[i].in) : cases[i].want;
		if (n != want)
			T_FAIL_AT("case %zu (%s): got %d, want %d", i, cases[i].in, n, want);
	}
}

/* A folded field (obs-fold) is read as one line with spaces, as RFC 9112 5.2 asks of a user
 * agent, whether the head arrives whole or a byte at a time; the body is left as it is. */
static void test_unfold(void)
{
	static const char in[] = "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\tmore\nC: d\r\n\r\n"
		"body\r\n x";
	char buf[sizeof in];
	for (size_t len = 1; len < sizeof in; len++) {
		/* as httpc does: the head grows, unfolded and parsed at each arrival */
		memcpy(buf, in, sizeof in);
		struct http_header h[4];
		struct http_response r;
		int n = 0;
		for (size_t k = 1; k <= len; k++) {
			r = (struct http_response){.headers = h, .nheaders = 4};
			n = http_parse_received(buf, k, &r);
		}
		if (len < sizeof in - 1 - 8) {
			if (n != OP_EPARTIAL)
				T_FAIL_AT("prefix %zu: got %d, want need-more", len, n);
			continue;
		}
		ASSERT_EQ(n, (int)(sizeof in - 1 - 8)); /* all but the 8 bytes of body */
		const struct http_header *a = http_find_header(&r, "a");
		ASSERT(a && a->value_len == 17 && !memcmp(a->value, "b   folded  \tmore", 17));
		ASSERT(http_find_header(&r, "c") && http_find_header(&r, "c")->value[0] == 'd');
		ASSERT(!memcmp(buf + n, "body\r\n x", 8));
	}
}

/* A malformed head says which line is at fault. */
static void test_bad_line(void)
{
	static const char *const in[] = {"HTTP/1.1 200 OK\r\nA: 1\r\nB : 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nA: 1\r\nC: \x01\r\n\r\n", "SSH-2.0\r\n\r\n"};
	static const size_t at[] = {23, 23, 0}; /* the third line starts at 17 + 6 */
	for (size_t i = 0; i < 3; i++) {
		struct http_header h[4];
		struct http_response r = {.headers = h, .nheaders = 4};
		ASSERT_EQ(http_parse_response(in[i], strlen(in[i]), &r), OP_EPROTO);
		ASSERT_EQ((size_t)(r.bad - in[i]), at[i]);
	}
}

static void test_too_many_headers(void)
{
	struct http_header h[2];
	struct http_response r = {.headers = h, .nheaders = 2};
	const char *in = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
	ASSERT_EQ(http_parse_response(in, strlen(in), &r), OP_ETOOBIG);
}

/* Every prefix of a valid head is "need more", and a guard page catches over-reads. */
static void test_prefixes_and_guard_page(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *area = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		-1, 0);
	ASSERT(area != MAP_FAILED);
	ASSERT_EQ(mprotect(area + pg, (size_t)pg, PROT_NONE), 0);
	size_t head = sizeof ok_head - 1 - 12;
	for (size_t len = 0; len <= head; len++) {
		char *at = area + pg - len;
		memcpy(at, ok_head, len);
		struct http_header h[8];
		struct http_response r = {.headers = h, .nheaders = 8};
		int n = http_parse_response(at, len, &r);
		if (len < head && n != OP_EPARTIAL)
			T_FAIL_AT("prefix %zu: %d", len, n);
		if (len == head)
			ASSERT_EQ(n, (int)head);
	}
	munmap(area, (size_t)pg * 2);
}

static const char chunked[] = "5\r\nhello\r\n7;ext=1\r\n, world\r\n1\r\n!\r\n0\r\nTrailer: x\r\n\r\nNEXT";

static void test_chunked_whole_and_bytewise(void)
{
	char buf[128];
	struct http_chunked d = {0};
	size_t len = sizeof chunked - 1;
	memcpy(buf, chunked, len);
	int rest = http_chunked_decode(&d, buf, &len);
	ASSERT_EQ(rest, 4); /* "NEXT" */
	ASSERT_EQ(len, 13);
	ASSERT(!memcmp(buf, "hello, world!", 13));
	/* byte by byte: the same data, in order */
	struct http_chunked e = {0};
	char out[64];
	size_t got = 0;
	int rc = OP_EPARTIAL;
	for (size_t i = 0; i < sizeof chunked - 1 - 4 && rc == OP_EPARTIAL; i++) {
		char one = chunked[i];
		size_t n = 1;
		rc = http_chunked_decode(&e, &one, &n);
		if (n)
			out[got++] = one;
	}
	ASSERT_EQ(rc, 0);
	ASSERT_EQ(got, 13);
	ASSERT(!memcmp(out, "hello, world!", 13));
}

static void test_chunked_errors(void)
{
	const char *bad[] = {"zz\r\n", "\r\n", "5\r\nhelloX\r\n", "ffffffffffffffffff\r\n",
		"5\r\nhello\r\n0\r\nX\n\rY"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char buf[64];
		struct http_chunked d = {0};
		size_t len = strlen(bad[i]);
		memcpy(buf, bad[i], len);
		int rc = http_chunked_decode(&d, buf, &len);
		if (rc != OP_EPROTO)
			T_FAIL_AT("case %zu: got %d", i, rc);
	}
	/* an unfinished body is partial, not an error */
	char buf[16] = "5\r\nhel";
	struct http_chunked d = {0};
	size_t len = 6;
	ASSERT_EQ(http_chunked_decode(&d, buf, &len), OP_EPARTIAL);
	ASSERT_EQ(len, 3);
}

static void test_dates(void)
{
	static const struct {
		const char *s;
		int64_t want; /* -1: refused */
	} dates[] = {
		{"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
		{"Thu, 01 Jan 1970 00:00:00 GMT", 0},
		{"Mon, 30 Nov 2026 10:00:00 GMT", 1796032800},
		{"Tue, 29 Feb 2028 23:59:60 GMT", 1835481600}, /* a leap year, a leap second */
		{"Sunday, 06-Nov-94 08:49:37 GMT", -1},        /* RFC 850: obsolete */
		{"Sun Nov  6 08:49:37 1994", -1},              /* asctime: obsolete */
		{"Sun, 06 Nov 1994 08:49:37 UTC", -1},
		{"Sun, 06 Nov 1994 08:49:37 GMT junk", -1},
		{"Sun, 06 Foo 1994 08:49:37 GMT", -1},
		{"Sun, 06 ovD 1994 08:49:37 GMT", -1},
		{"Sun, 32 Nov 1994 08:49:37 GMT", -1},
		{"Sun, 06 Nov 1994 24:49:37 GMT", -1},
		{"", -1},
	};
	for (size_t i = 0; i < OP_ARRAY_LEN(dates); i++) {
		int64_t v = -1;
		int rc = http_date_parse(dates[i].s, strlen(dates[i].s), &v);
		if (dates[i].want < 0 ? rc != OP_EINVAL : rc != 0 || v != dates[i].want)
			T_FAIL_AT("\"%s\": rc %d, %lld", dates[i].s, rc, (long long)v);
	}
}

int main(void)
{
	RUN(test_head_fields);
	RUN(test_tokens);
	RUN(test_table);
	RUN(test_unfold);
	RUN(test_bad_line);
	RUN(test_too_many_headers);
	RUN(test_prefixes_and_guard_page);
	RUN(test_chunked_whole_and_bytewise);
	RUN(test_chunked_errors);
	RUN(test_dates);
	return T_DONE();
}
