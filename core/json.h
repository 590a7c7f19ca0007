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

/* Write s as a JSON string literal (with quotes) into out; returns the length, cut at cap. */
size_t json_quote(char *out, size_t cap, const char *s);
/* Check the separators jsmn does not: one ':' between key and value, one ',' between members,
 * none before '}' or ']'. Returns 0, or -1 with *bad the offending offset. */
int json_check(const char *text, const jsmntok_t *t, int ntok, int *bad);

/* Find the value at path in parsed JSON: "$.a.b[0].c", "a.b[0]", "[2].x" ("$" alone is the
 * root). Returns the token index, or -1 when absent or the path is malformed. */
int json_path_find(const char *text, const jsmntok_t *t, int ntok, const char *path);

/* Parse text[0..len) (a body or message) and find each of n paths: val[i]/vlen[i] point at the
 * value's text (a string without its quotes), val[i] NULL when absent. Returns 0, or -1 when
 * text is not JSON. Uses one static token array: the engine thread only. */
int json_values(const char *text, size_t len, const char *const *paths, int n, const char **val,
	size_t *vlen);
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
