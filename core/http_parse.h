/* http_parse.h: a stateless, zero-copy HTTP/1.x response-head parser and an in-place chunked
 * decoder (in the manner of picohttpparser). Results point into the caller's buffer. */
#ifndef HTTP_PARSE_H
#define HTTP_PARSE_H

#include "op.h"

struct http_header {
	const char *name, *value;
	size_t name_len, value_len;
};

struct http_response {
	int minor_version; /* 0 or 1 */
	int status;
	const char *reason;
	size_t reason_len;
	struct http_header *headers; /* caller's array */
	size_t nheaders;             /* in: capacity; out: count */
	const char *bad;             /* after OP_EPROTO: the start of the line at fault */
};

/* Parse a response head from buf[0..len). Returns the head's length (up to and including the
 * blank line), OP_EPARTIAL when more bytes are needed, OP_EPROTO for a malformed head, or
 * OP_ETOOBIG for more headers than out->nheaders. Reads nothing past buf + len. */
int http_parse_response(const char *buf, size_t len, struct http_response *out);

/* http_parse_response on a head as received, in a buffer of the caller's: each obsolete line
 * folding (a line break followed by SP or HTAB) is first replaced with spaces in place, as RFC
 * 9112 5.2 has a user agent do before it reads the field values (http_parse_response refuses a
 * folded line). Stops at the head's end, so the body is untouched; call it again as the head
 * grows (a break at the very end waits for the next byte). */
int http_parse_received(char *buf, size_t len, struct http_response *out);

/* After OP_EPROTO from parsing buf[0..len) into resp: what a failure reason says, the line at
 * fault quoted (`not an HTTP response: "SSH-2.0-..."` for a status line that is not HTTP's,
 * `malformed header line: "..."` for a header line). Returns out. */
const char *http_fault(const char *buf, size_t len, const struct http_response *resp,
	char *out, size_t cap);

/* What keeps method from being sent as one (NULL when nothing): not a token, or a known
 * method in the wrong case (methods are case-sensitive: RFC 9110 9.1). For a config error. */
const char *http_method_fault(const char *method, char *buf, size_t cap);

/* Case-insensitive lookup of a header; NULL when absent. */
const struct http_header *http_find_header(const struct http_response *r, const char *name);
/* Is the header line at line ("Name: value\r\n") called name (any case)? */
int http_line_is(const char *line, const char *name);
/* In configured header lines (NULL: none), does one have this name? */
int http_lines_have(const char *lines, const char *name);
/* Does a header line of that name list token (case-insensitive, parameters aside)? */
int http_lines_have_token(const char *lines, const char *name, const char *token);
/* The next header called name after prev (one of r's; NULL: from the first); NULL when none. */
const struct http_header *http_next_header(const struct http_response *r, const char *name,
	const struct http_header *prev);

/* An HTTP date in the form RFC 9110 5.6.7 has senders write (IMF-fixdate: "Sun, 06 Nov 1994
 * 08:49:37 GMT") to Unix seconds in *out: 0, or OP_EINVAL (the obsolete forms too). */
int http_date_parse(const char *s, size_t n, int64_t *out);
/* Does a comma-separated header value contain token (case-insensitive)? */
int http_header_has_token(const struct http_header *h, const char *token);
/* Is token the last element of h's list (e.g. the final transfer coding)? */
int http_header_last_token(const struct http_header *h, const char *token);

/* Zero-initialise before the first call. */
struct http_chunked {
	int state;
	uint8_t digits; /* size digits seen on the current size line */
	uint64_t left;  /* bytes left in the current chunk */
};

/* Decode chunked data in place. buf[0..*len) holds newly received bytes; on return
 * buf[0..*len) holds the decoded data among them. Returns OP_EPARTIAL while the body goes on,
 * a non-negative count of bytes after the end of the body (trailers consumed) when it ended,
 * or OP_EPROTO for a bad chunk size or framing. */
int http_chunked_decode(struct http_chunked *d, char *buf, size_t *len);

#endif
