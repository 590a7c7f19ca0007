/* json.h: the one place jsmn is compiled (strict mode, parent links), and small helpers for
 * walking its tokens. */
#ifndef JSON_H
#define JSON_H

#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#define JSMN_HEADER
#include <jsmn.h>
#include <stddef.h>
#include <stdint.h>
#include "opts.h"

/* Index of the token after tok and its whole subtree. */
int json_skip(const jsmntok_t *t, int ntok, int tok);
/* Compare a string token with s. */
int json_eq(const char *text, const jsmntok_t *t, const char *s);

/* Write s[0..n) as a JSON string literal (with quotes) into out; returns the length, cut at
 * cap. Control bytes (NUL too) are escaped, and a byte that is not part of well-formed UTF-8
 * becomes U+FFFD, so the result is JSON whatever s holds. */
size_t json_quote_n(char *out, size_t cap, const char *s, size_t n);
/* json_quote_n of a NUL-ended s. */
size_t json_quote(char *out, size_t cap, const char *s);
/* Check what jsmn does not: one ':' between key and value, one ',' between members, none
 * before '}' or ']' (else -1), and that each bare value is true, false, null or a number as
 * RFC 8259 6 writes it (jsmn takes 5s or 1.2.3; else -2). Returns 0, or -1 or -2 with *bad the
 * offending offset. */
int json_check(const char *text, const jsmntok_t *t, int ntok, int *bad);

/* Find the value at path in parsed JSON: "$.a.b[0].c", "a.b[0]", "[2].x" ("$" alone is the
 * root). Returns the token index, or -1 when absent or the path is malformed. */
int json_path_find(const char *text, const jsmntok_t *t, int ntok, const char *path);
/* What makes path one json_path_find cannot follow (NULL when nothing): for a config error. */
const char *json_path_fault(const char *path);

/* Parse text[0..len) into toks (at most cap) and check its separators: the token count, or a
 * jsmn error (JSMN_ERROR_NOMEM: more than cap values; any other: not JSON). */
int json_parse(const char *text, size_t len, jsmntok_t *toks, int cap);
/* Find each of n paths in parsed JSON: val[i]/vlen[i] point at the value's text (a string
 * without its quotes), val[i] NULL when absent. */
void json_lookup(const char *text, const jsmntok_t *t, int nt, const char *const *paths, int n,
	const char **val, size_t *vlen);
/* json_parse and json_lookup on a body or message, with one static token array of
 * OP_JSON_BODY_TOKENS: the engine thread only. Returns 0, or json_parse's error. */
int json_values(const char *text, size_t len, const char *const *paths, int n, const char **val,
	size_t *vlen);
/* A value json_values found in text, as it reads: a string's text decoded into buf (cap
 * bytes), *val and *vlen then pointing there; anything else, or a string of cap bytes or
 * more, left as written. 0, or -1 for a bad escape (left as written). */
int json_as_read(const char *text, const char **val, size_t *vlen, char *buf, size_t cap);
/* Decode a JSON string's text (without its quotes) into out as UTF-8, NUL-ended: the length,
 * or -1 for a bad escape, a lone surrogate, a \u0000 or more than cap-1 bytes. */
int json_unescape(const char *in, size_t n, char *out, size_t cap);
/* What json_values' error rc means, for a failure reason. */
const char *json_values_error(int rc);
/* "json": {"$.path": expected value, ...}: the checks on a body or message (read by
 * cfg_json_checks). */
#define JSON_CHECKS_MAX 8
struct json_checks {
	uint8_t n;
	const char *path[JSON_CHECKS_MAX], *value[JSON_CHECKS_MAX];
};
/* Each path's value compared as text with its expected value. Returns 0 when all match, or -1
 * with why (cap bytes) saying which did not. Engine thread only. */
int json_expect(const char *text, size_t len, const struct json_checks *c, char *why,
	size_t cap);

#endif
