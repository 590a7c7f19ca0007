/* starttls.c: the STARTTLS dialogues and the judges of their replies (starttls.h). */
#include <stdio.h>
#include <string.h>
#include "op.h"
#include "starttls.h"

/* A reply of another protocol: -1, and why says what it was not and how it began. */
static int not_a(const char *what, const uint8_t *b, size_t n, char *why, size_t cap)
{
	char ex[48];
	op_excerpt(b, OP_MIN(n, 16), ex, sizeof ex);
	snprintf(why, cap, "not %s: \"%s\"", what, ex);
	return -1;
}

/* Postgres answers SSLRequest with one byte: 'S' goes ahead, 'N' (or an error 'E') refuses;
 * anything else is another protocol. */
static int judge_postgres(const uint8_t *b, size_t n, char *why, size_t cap)
{
	if (!n)
		return 0;
	if (b[0] == 'S')
		return 1;
	if (b[0] != 'N' && b[0] != 'E')
		return not_a("a PostgreSQL answer", b, n, why, cap);
	char ex[48];
	op_excerpt(b, OP_MIN(n, 40), ex, sizeof ex);
	snprintf(why, cap, "the server refused: \"%s\"", ex);
	return -1;
}

/* One BER tag and length at b (definite form, up to 64 KiB): the header's size, 0 when more
 * bytes are needed, -1 when it is not that tag. */
static int ber_head(const uint8_t *b, size_t n, uint8_t tag, size_t *len)
{
	if (n < 2)
		return 0;
	if (b[0] != tag)
		return -1;
	if (b[1] < 0x80) {
		*len = b[1];
		return 2;
	}
	size_t k = b[1] & 0x7fu;
	if (k < 1 || k > 2)
		return -1;
	if (n < 2 + k)
		return 0;
	*len = k == 1 ? b[2] : (size_t)b[2] << 8 | b[3];
	return (int)(2 + k);
}

/* The LDAP ExtendedResponse to StartTLS (RFC 4511 4.14.2): LDAPMessage { messageID,
 * [APPLICATION 24] { resultCode, matchedDN, diagnosticMessage, ... } }; resultCode 0 goes on. */
static int judge_ldap(const uint8_t *b, size_t n, char *why, size_t cap)
{
	size_t len;
	int h = ber_head(b, n, 0x30, &len);
	if (h == 0 || (h > 0 && n < (size_t)h + len))
		return 0;
	const uint8_t *p = b + h, *end = p + len;
	static const uint8_t path[] = {0x02, 0x78, 0x0a, 0x04, 0x04}; /* the fields, in order */
	const uint8_t *field[5] = {0};
	size_t flen[5] = {0};
	for (int i = 0; h > 0 && i < 5; i++) {
		h = ber_head(p, (size_t)(end - p), path[i], &len);
		if (h <= 0 || len > (size_t)(end - p) - (size_t)h)
			break;
		field[i] = p + h;
		flen[i] = len;
		p += h + (path[i] == 0x78 ? 0 : len); /* into the response, past the others */
	}
	if (!field[2] || flen[2] != 1)
		return not_a("an LDAP response", b, n, why, cap);
	if (field[2][0] == 0)
		return 1;
	char ex[48] = "";
	if (field[4])
		op_excerpt(field[4], OP_MIN(flen[4], 40), ex, sizeof ex);
	snprintf(why, cap, "the server refused: resultCode %d%s%s%s", field[2][0], *ex ? " \"" : "",
		ex, *ex ? "\"" : "");
	return -1;
}

/* The MySQL server greeting (Protocol::Handshake v10): an error packet refuses, and so does a
 * server without CLIENT_SSL in its capabilities. */
static int judge_mysql(const uint8_t *b, size_t n, char *why, size_t cap)
{
	if (n < 4)
		return 0;
	size_t len = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16;
	/* not packet 0 of a sane size: another protocol (an SSH or HTTP banner), so say so now
	 * rather than wait for megabytes */
	if (b[3] != 0 || len > 1024)
		return not_a("a MySQL greeting", b, n, why, cap);
	if (n < 4 + len)
		return 0;
	const uint8_t *p = b + 4, *end = p + len;
	char ex[48];
	if (len >= 3 && p[0] == 0xff) {
		/* ERR_Packet: 0xff, code, ["#" and a 5-character SQL state], message */
		const uint8_t *msg = p + 3 + (len >= 9 && p[3] == '#' ? 6 : 0);
		op_excerpt(msg, OP_MIN((size_t)(end - msg), 40), ex, sizeof ex);
		snprintf(why, cap, "the server refused: error %u \"%s\"", p[1] | p[2] << 8, ex);
		return -1;
	}
	const uint8_t *ver = p + 1, *nul = len > 1 ? memchr(ver, 0, len - 1) : NULL;
	if (!len || p[0] != 10 || !nul || end - nul < 1 + 4 + 8 + 1 + 2)
		return not_a("a MySQL greeting", b, n, why, cap);
	const uint8_t *caps = nul + 1 + 4 + 8 + 1; /* past the connection id and the salt */
	if (!((caps[0] | caps[1] << 8) & 0x0800)) { /* CLIENT_SSL */
		op_excerpt(ver, OP_MIN((size_t)(nul - ver), 32), ex, sizeof ex);
		snprintf(why, cap, "the server (%s) does not offer TLS", ex);
		return -1;
	}
	return 1;
}

#define S(text) text, sizeof text - 1
static const struct starttls protos[] = {
	/* RFC 3207: greeting, EHLO, STARTTLS; a multi-line reply ends with "NNN " */
	{"smtp", 3, {{NULL, 0, "220 ", "4|5"}, {S("EHLO outpost.invalid\r\n"), "250 ", "4|5"},
		{S("STARTTLS\r\n"), "220", "4|5"}}},
	/* RFC 3501 */
	{"imap", 2, {{NULL, 0, "* OK", "* BYE|* PREAUTH"},
		{S("a1 STARTTLS\r\n"), "a1 OK", "a1 NO|a1 BAD|* BYE"}}},
	/* RFC 2595 */
	{"pop3", 2, {{NULL, 0, "+OK", "-ERR"}, {S("STLS\r\n"), "+OK", "-ERR"}}},
	/* RFC 4217 */
	{"ftp", 2, {{NULL, 0, "220 ", "4|5"}, {S("AUTH TLS\r\n"), "234", "4|5"}}},
	/* SSLRequest: length 8, code 80877103 */
	{"postgres", 1, {{S("\0\0\0\x08\x04\xd2\x16\x2f"), .judge = judge_postgres}}},
	/* ExtendedRequest { messageID 1, requestName 1.3.6.1.4.1.1466.20037 } */
	{"ldap", 1, {{S("\x30\x1d\x02\x01\x01\x77\x18\x80\x16" "1.3.6.1.4.1.1466.20037"),
		.judge = judge_ldap}}},
	/* the greeting, then SSLRequest (sequence 1: CLIENT_LONG_PASSWORD, PROTOCOL_41, SSL and
	 * SECURE_CONNECTION, 16 MiB packets, utf8; 23 zero bytes) with no answer before TLS */
	{"mysql", 2, {{NULL, 0, .judge = judge_mysql},
		{S("\x20\0\0\x01" "\x01\x8a\0\0" "\0\0\0\x01" "\x21"
		   "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")}}},
};
#undef S

const char starttls_names[] =
	"\"smtp\", \"imap\", \"pop3\", \"ftp\", \"postgres\", \"ldap\" or \"mysql\"";

const struct starttls *starttls_find(const char *name)
{
	for (size_t i = 0; i < OP_ARRAY_LEN(protos); i++)
		if (!strcmp(name, protos[i].name))
			return &protos[i];
	return NULL;
}

/* Does the line at p (n bytes) start with one of the "|"-separated prefixes? */
static int starts_with_any(const uint8_t *p, size_t n, const char *set)
{
	while (*set) {
		size_t l = strcspn(set, "|");
		if (l <= n && !memcmp(p, set, l))
			return 1;
		set += l + (set[l] == '|');
	}
	return 0;
}

int starttls_judge(const struct starttls_step *st, uint8_t *buf, size_t *len, char *why,
	size_t cap)
{
	if (st->judge)
		return st->judge(buf, *len, why, cap);
	if (!st->ok)
		return 1; /* nothing to wait for */
	size_t at = 0;
	while (at < *len) {
		const uint8_t *line = buf + at;
		const uint8_t *nl = memchr(line, '\n', *len - at);
		if (!nl)
			break; /* a line is judged whole */
		size_t n = (size_t)(nl - line) + 1;
		if (starts_with_any(line, n, st->ok))
			return 1;
		if (starts_with_any(line, n, st->bad)) {
			char ex[48];
			op_excerpt(line, OP_MIN(n, 40), ex, sizeof ex);
			snprintf(why, cap, "the server refused: \"%s\"", ex);
			return -1;
		}
		at += n;
	}
	memmove(buf, buf + at, *len - at);
	*len -= at;
	return 0;
}
