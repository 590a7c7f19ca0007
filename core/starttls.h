/* starttls.h: the plain dialogues that bring a connection to "go ahead with TLS" (SMTP, IMAP,
 * POP3, FTP, PostgreSQL, LDAP, MySQL) as tables of steps, and the judge of what a server
 * answers, without I/O. The tcp probe moves the bytes. */
#ifndef STARTTLS_H
#define STARTTLS_H

#include <stddef.h>
#include <stdint.h>

/* One step sends (or not), then waits for the server's word. A line dialogue reads until a
 * line starts with ok (go on) or with one of the bad prefixes ("|"-separated: the server
 * refused). A binary one has a judge that reads one whole reply. A step with neither is done
 * once sent. */
struct starttls_step {
	const char *send;
	size_t send_len;
	const char *ok, *bad;
	int (*judge)(const uint8_t *b, size_t n, char *why, size_t cap);
};

struct starttls {
	const char *name;
	uint8_t nsteps;
	struct starttls_step step[3];
};

/* The dialogue called name, or NULL. */
const struct starttls *starttls_find(const char *name);
/* The names, for an error: "\"smtp\", ..., or \"mysql\"". */
extern const char starttls_names[];

/* Judge what arrived for step st (buf[0..*len)): 1 go on, -1 refused (why says how), 0 more
 * bytes needed. Complete lines that decide nothing are dropped from buf (*len shrinks), so
 * only one over-long line, or one binary reply, can fill it. */
int starttls_judge(const struct starttls_step *st, uint8_t *buf, size_t *len, char *why,
	size_t cap);

#endif
