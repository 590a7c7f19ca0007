/* http_expect.h: the assertions on an HTTP response ("expect"): status codes, classes and
 * ranges, body text, patterns and JSON values, a header, the HTTP version, latency and
 * certificate lifetime. The http probe checks one response with them, the scenario probe each
 * step's. */
#ifndef HTTP_EXPECT_H
#define HTTP_EXPECT_H

#include "httpc.h"
#include "json.h"
#include "regex.h"

#define HTTP_EXPECT_RANGES 8

#define HTTP_EXPECT_HEADERS 16 /* headers one "header" or "header_not" object may name */
#define HTTP_EXPECT_TEXTS 16   /* texts or patterns one body check may list */

/* "body_contains": "text" or ["text", ...] (and the other body checks): each text, or each
 * pattern compiled (re), must hold */
struct body_checks {
	struct regex_check *c; /* n of them, in the config's arena; re NULL for a plain text */
	uint8_t n;
};

/* {"Name": "pattern", ...}: headers and what each one's value must (or must not) match */
struct header_check {
	const char *name, *pattern;
	struct op_regex *re;
};
struct header_checks {
	struct header_check *c; /* n of them, in the config's arena */
	uint8_t n;
};

struct http_expect {
	const char *status_text;
	struct body_checks body_contains, body_not_contains, body_regex, body_not_regex;
	struct header_checks header, header_not;
	uint64_t max_latency_us;
	uint32_t cert_min_days;
	const char *http_version;
	uint8_t ssl; /* 0: no check; 1: the final request must be plain http, 2: https */
	struct json_checks json;
	/* derived from status_text */
	uint8_t nranges;
	uint16_t ranges[HTTP_EXPECT_RANGES][2];
};

#define HTTP_EXPECT_NKEYS 12
extern const struct cfg_key http_expect_keys[HTTP_EXPECT_NKEYS];

/* After the keys are read, the expectations of a request with this method: the method is one
 * a server knows, the status ranges (default "2xx"), no body checks on HEAD. what names the
 * owner for the error ("probe \"api\""). 0 or a negative code after cfg_error. */
int http_expect_configure(struct cfg_ctx *c, int tok, const char *what, const char *method,
	struct http_expect *e);
/* h's body came coded (Content-Encoding) and was not decoded, so it cannot be read as text:
 * 1, with why saying so and which compression to ask for; else 0. */
int http_body_coded(const struct httpc *h, char *why, size_t cap);
/* Check the response h holds (run r's facts), took_us after the start. 0 when every assertion
 * holds; -1 with why saying which failed and what was seen. Sets r->facts.content_failed. */
int http_expect_check(const struct http_expect *e, struct probe_run *r, const struct httpc *h,
	uint64_t took_us, char *why, size_t cap);

#endif
