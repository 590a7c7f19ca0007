/* regex.h: a small regular-expression matcher for probe assertions: compiled once at config
 * load into a fixed program, matched by a Pike VM in linear time with no allocation.
 *
 * Syntax: literals, `.`, classes `[a-z_]` `[^0-9]`, escapes `\d \w \s \D \W \S \. \\ \n \t`,
 * anchors `^ $`, groups `( )` (and `(?: )`, the same here), alternation `|`, the greedy
 * `* + ?`, counted repeats `{m}` `{m,}` `{m,n}`, word boundaries `\b \B`, and a leading `(?i)`
 * for ASCII letters in either case (as Go's RE2 writes them). Search semantics: the pattern
 * may match anywhere unless anchored. Back-references and other flags are not supported (the
 * compiler says so). */
#ifndef REGEX_H
#define REGEX_H

#include "op.h"

#define OP_REGEX_MAX_INSNS 192
#define OP_REGEX_MAX_CLASSES 12

struct regex_insn {
	uint8_t op, arg;
	int16_t x, y; /* relative jump targets */
};

/* A pattern as configured and compiled (read by cfg_regex_check). */
struct op_regex;
struct regex_check {
	const char *pattern;
	struct op_regex *re;
};

struct op_regex {
	uint16_t n, nclass;
	uint8_t icase; /* (?i): letters match in either case */
	struct regex_insn prog[OP_REGEX_MAX_INSNS];
	uint8_t cls[OP_REGEX_MAX_CLASSES][32];
};

/* Compile pattern into re. Returns 0, or OP_EINVAL / OP_ETOOBIG with a message in err. */
int regex_compile(struct op_regex *re, const char *pattern, char *err, size_t errcap);
/* Does re match anywhere in s[0..n)? */
int regex_search(const struct op_regex *re, const char *s, size_t n);

#endif
