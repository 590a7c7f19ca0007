/* test_starttls.c: the STARTTLS judges on what servers answer: each go-ahead whole and in
 * every truncated prefix, each refusal with its words, and replies that lie about their
 * lengths. Each reply is judged from a heap copy of exactly its size, so ASan sees a read past
 * it. */
#include <stdlib.h>
#include "t.h"
#include "../../core/op.h"
#include "../../core/starttls.h"

static char why[96];

/* Judge reply (n bytes) at step of proto; *left gets what stays buffered. */
static int judge(const char *proto, int step, const void *reply, size_t n, size_t *left)
{
	const struct starttls *t = starttls_find(proto);
	uint8_t *b = malloc(n ? n : 1);
	memcpy(b, reply, n);
	size_t len = n;
	why[0] = 0;
	int v = starttls_judge(&t->step[step], b, &len, why, sizeof why);
	free(b);
	if (left)
		*left = len;
	return v;
}

#define R(s) s, sizeof s - 1
static const struct {
	const char *proto;
	int step;
	const char *reply;
	size_t n;
} go[] = {
	{"smtp", 0, R("220-mail.test ESMTP\r\n220 ready\r\n")},
	{"smtp", 1, R("250-mail.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")},
	{"smtp", 2, R("220 2.0.0 go ahead\r\n")},
	{"imap", 1, R("* CAPABILITY IMAP4rev1\r\na1 OK begin TLS\r\n")},
	{"pop3", 1, R("+OK begin TLS\r\n")},
	{"ftp", 1, R("234 go\r\n")},
	{"postgres", 0, R("S")},
	/* OpenLDAP's answer: with the responseName, a long-form length */
	{"ldap", 0, R("\x30\x81\x24\x02\x01\x01\x78\x1f\x0a\x01\x00\x04\x00\x04\x00\x8a\x16"
		"1.3.6.1.4.1.1466.20037")},
	/* the shortest: no responseName */
	{"ldap", 0, R("\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00")},
	/* a MariaDB greeting: version, connection id, salt, filler, capabilities with CLIENT_SSL */
	{"mysql", 0, R("\x2c\0\0\0\x0a" "5.5.5-10.11.6-MariaDB\0" "\x07\0\0\0" "abcdefgh\0"
		"\xfe\xff\x21\x02\0\xff\x81\x15")},
};

static void test_go_ahead_whole_and_not_before(void)
{
	for (size_t i = 0; i < OP_ARRAY_LEN(go); i++) {
		size_t left;
		if (judge(go[i].proto, go[i].step, go[i].reply, go[i].n, &left) != 1)
			T_FAIL_AT("case %zu (%s): not judged go-ahead: %s", i, go[i].proto, why);
		for (size_t n = 0; n < go[i].n; n++) {
			int v = judge(go[i].proto, go[i].step, go[i].reply, n, &left);
			if (v != 0)
				T_FAIL_AT("case %zu (%s), %zu of %zu bytes: %d (%s)", i, go[i].proto, n,
					go[i].n, v, why);
			if (left > n)
				T_FAIL_AT("case %zu: the buffer grew", i);
		}
	}
}

static void test_lines_that_decide_nothing_are_dropped(void)
{
	size_t left;
	ASSERT_EQ(judge("smtp", 0, R("220-one\r\n220-two\r\n220"), &left), 0);
	ASSERT_EQ(left, 3); /* the incomplete "220" stays */
	/* an SMTP greeting's continuation lines start "220-", not "220 " */
	ASSERT_EQ(judge("smtp", 0, R("220-mail.test\r\n"), &left), 0);
	ASSERT_EQ(left, 0);
}

static const struct {
	const char *proto;
	int step;
	const char *reply;
	size_t n;
	const char *why;
} refused[] = {
	{"smtp", 2, R("454 4.7.0 TLS not available\r\n"),
		"the server refused: \"454 4.7.0 TLS not available\\x0d\\x0a\""},
	{"smtp", 0, R("220-hi\r\n554 go away\r\n"), "the server refused: \"554 go away\\x0d\\x0a\""},
	{"imap", 0, R("* BYE busy\r\n"), "the server refused: \"* BYE busy\\x0d\\x0a\""},
	{"postgres", 0, R("N"), "the server refused: \"N\""},
	{"postgres", 0, R("E\0\0\0\x0bSFATAL\0\0"), "the server refused: \"E\\x00\\x00\\x00\\x0bSFATAL\\x00\\x00\""},
	/* MariaDB speaks first, with its greeting */
	{"postgres", 0, R("d\0\0\0\x0a" "5.5.5-10"), "not a PostgreSQL answer: \"d\\x00\\x00\\x00\\x0a5.5.5-10\""},
	{"ldap", 0, R("\x30\x13\x02\x01\x01\x78\x0e\x0a\x01\x34\x04\x00\x04\x07not now"),
		"the server refused: resultCode 52 \"not now\""},
	{"ldap", 0, R("\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x02\x04\x00\x04\x00"),
		"the server refused: resultCode 2"},
	/* a Notice of Disconnection (messageID 0) answers the same way */
	{"ldap", 0, R("\x30\x0c\x02\x01\x00\x78\x07\x0a\x01\x34\x04\x00\x04\x00"),
		"the server refused: resultCode 52"},
	{"ldap", 0, R("220 smtp.test\r\n"), "not an LDAP response: \"220 smtp.test\\x0d\\x0a\""},
	/* lengths that lie: the response claims more than its message holds */
	{"ldap", 0, R("\x30\x0c\x02\x01\x01\x78\x7f\x0a\x01\x00\x04\x00\x04\x00"),
		/* (the excerpt ends where the next byte's escape would not fit) */
		"not an LDAP response: \"0\\x0c\\x02\\x01\\x01x\\x7f\\x0a\\x01\\x00\\x04\\x00\\x04\""},
	{"ldap", 0, R("\x30\x84\0\0\0\x05"), "not an LDAP response: \"0\\x84\\x00\\x00\\x00\\x05\""},
	{"ldap", 0, R("\x30\x05\x02\x01\x01\x78\x00"), "not an LDAP response: \"0\\x05\\x02\\x01\\x01x\\x00\""},
	{"mysql", 0, R("\x2c\0\0\0\xff\x6a\x04Host '10.0.0.7' is not allowed to connect"),
		"the server refused: error 1130 \"Host '10.0.0.7' is not allowed to connec\""},
	{"mysql", 0, R("\x1d\0\0\0\xff\x10\x04#08S01Too many connections"),
		"the server refused: error 1040 \"Too many connections\""},
	/* a greeting without CLIENT_SSL */
	{"mysql", 0, R("\x2c\0\0\0\x0a" "5.5.5-10.11.6-MariaDB\0" "\x07\0\0\0" "abcdefgh\0"
		"\xfe\xf7\x21\x02\0\xff\x81\x15"), "the server (5.5.5-10.11.6-MariaDB) does not offer TLS"},
	/* a greeting cut before its capabilities, and one whose version never ends */
	{"mysql", 0, R("\x0c\0\0\0\x0a" "8.0\0" "\x07\0\0\0" "abc"),
		"not a MySQL greeting: \"\\x0c\\x00\\x00\\x00\\x0a8.0\\x00\\x07\\x00\\x00\\x00\""},
	{"mysql", 0, R("\x04\0\0\0\x0a" "8.0"), "not a MySQL greeting: \"\\x04\\x00\\x00\\x00\\x0a8.0\""},
	{"mysql", 0, R("\0\0\0\0"), "not a MySQL greeting: \"\\x00\\x00\\x00\\x00\""},
	{"mysql", 0, R("SSH-2.0-OpenSSH_9.2p1\r\n"), "not a MySQL greeting: \"SSH-2.0-OpenSSH_\""},
};

static void test_refusals_say_what_the_server_said(void)
{
	for (size_t i = 0; i < OP_ARRAY_LEN(refused); i++) {
		int v = judge(refused[i].proto, refused[i].step, refused[i].reply, refused[i].n, NULL);
		if (v != -1)
			T_FAIL_AT("case %zu (%s): %d, expected a refusal", i, refused[i].proto, v);
		if (strcmp(why, refused[i].why))
			T_FAIL_AT("case %zu (%s): \"%s\" != \"%s\"", i, refused[i].proto, why,
				refused[i].why);
	}
}

static void test_a_step_that_only_sends(void)
{
	/* MySQL's SSLRequest has no answer: the handshake follows at once */
	const struct starttls *t = starttls_find("mysql");
	ASSERT_EQ(t->nsteps, 2);
	ASSERT_EQ(t->step[1].send_len, 36);
	ASSERT_EQ(judge("mysql", 1, "", 0, NULL), 1);
	/* a packet that says it is 1 KiB long waits for it (the caller's buffer bound ends it);
	 * one over that is no greeting */
	ASSERT_EQ(judge("mysql", 0, R("\0\x04\0\0\x0a"), NULL), 0);
	ASSERT_EQ(judge("mysql", 0, R("\x01\x04\0\0\x0a"), NULL), -1);
	ASSERT(!starttls_find("xmpp"));
	ASSERT_CONTAINS(starttls_names, "\"ldap\" or \"mysql\"");
}

int main(void)
{
	RUN(test_go_ahead_whole_and_not_before);
	RUN(test_lines_that_decide_nothing_are_dropped);
	RUN(test_refusals_say_what_the_server_said);
	RUN(test_a_step_that_only_sends);
	return T_DONE();
}
