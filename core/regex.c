/* regex.c: Thompson construction by recursive descent, relative jumps so a block can be
 * shifted when a split is put in front of it, and a Pike VM over a sparse thread set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "regex.h"

enum { R_CHAR, R_ANY, R_CLASS, R_SPLIT, R_JMP, R_BOL, R_EOL, R_WORDB, R_NWORDB, R_MATCH };

struct rc {
	struct op_regex *re;
	const char *p;
	char *err;
	size_t errcap;
	int depth;
};

static int fail(struct rc *c, int code, const char *msg)
{
	snprintf(c->err, c->errcap, "%s", msg);
	return code;
}

static int emit(struct rc *c, uint8_t op, uint8_t arg, int16_t x, int16_t y)
{
	if (c->re->n >= OP_REGEX_MAX_INSNS)
		return fail(c, OP_ETOOBIG, "pattern too long");
	c->re->prog[c->re->n++] = (struct regex_insn){op, arg, x, y};
	return 0;
}

/* Put one instruction in front of the block that starts at `at`. */
static int insert(struct rc *c, uint16_t at, uint8_t op, int16_t x, int16_t y)
{
	struct op_regex *re = c->re;
	if (re->n >= OP_REGEX_MAX_INSNS)
		return fail(c, OP_ETOOBIG, "pattern too long");
	memmove(&re->prog[at + 1], &re->prog[at], sizeof re->prog[0] * (re->n - at));
	re->prog[at] = (struct regex_insn){op, 0, x, y};
	re->n++;
	return 0;
}

static void set_bit(uint8_t *m, int ch)
{
	m[(uint8_t)ch / 8] |= (uint8_t)(1u << ((uint8_t)ch % 8));
}

static void add_named(uint8_t *m, char k)
{
	for (int ch = 0; ch < 256; ch++) {
		int in = (k == 'd' || k == 'D') ? (ch >= '0' && ch <= '9') :
			(k == 'w' || k == 'W') ? ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				(ch >= '0' && ch <= '9') || ch == '_') :
			(ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v');
		if (k >= 'A' && k <= 'Z')
			in = !in;
		if (in)
			set_bit(m, ch);
	}
}

static int new_class(struct rc *c, uint8_t **m)
{
	if (c->re->nclass >= OP_REGEX_MAX_CLASSES)
		return fail(c, OP_ETOOBIG, "too many character classes");
	*m = c->re->cls[c->re->nclass];
	memset(*m, 0, 32);
	return c->re->nclass++;
}

static int escape_char(char e)
{
	return e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
}

/* A literal character: lowercase under (?i), where the input is lowered as it is read. */
static int emit_char(struct rc *c, int ch)
{
	if (c->re->icase && ch >= 'A' && ch <= 'Z')
		ch += 32;
	return emit(c, R_CHAR, (uint8_t)ch, 0, 0);
}

static int parse_alt(struct rc *c);

static int parse_class(struct rc *c)
{
	uint8_t *m;
	int idx = new_class(c, &m);
	if (idx < 0)
		return idx;
	int neg = *c->p == '^';
	if (neg)
		c->p++;
	int first = 1;
	while (*c->p && (*c->p != ']' || first)) {
		first = 0;
		int lo = (unsigned char)*c->p++;
		if (lo == '\\') {
			if (!*c->p)
				return fail(c, OP_EINVAL, "pattern ends inside a class");
			char e = *c->p++;
			if (strchr("dwsDWS", e)) {
				add_named(m, e);
				continue;
			}
			lo = escape_char(e);
		}
		int hi = lo;
		if (c->p[0] == '-' && c->p[1] && c->p[1] != ']') {
			c->p++;
			hi = (unsigned char)*c->p++;
			if (hi == '\\' && *c->p)
				hi = escape_char(*c->p++);
			if (hi < lo)
				return fail(c, OP_EINVAL, "bad range in a class");
		}
		for (int ch = lo; ch <= hi; ch++)
			set_bit(m, ch);
	}
	if (*c->p != ']')
		return fail(c, OP_EINVAL, "missing ']'");
	c->p++;
	for (int ch = 'a'; c->re->icase && ch <= 'z'; ch++) /* before the negation: [^a] is no A */
		if ((m[ch / 8] >> (ch % 8) & 1) || (m[(ch - 32) / 8] >> ((ch - 32) % 8) & 1)) {
			set_bit(m, ch);
			set_bit(m, ch - 32);
		}
	if (neg)
		for (int i = 0; i < 32; i++)
			m[i] = (uint8_t)~m[i];
	return emit(c, R_CLASS, (uint8_t)idx, 0, 0);
}

static int parse_atom(struct rc *c)
{
	char ch = *c->p++;
	switch (ch) {
	case '.':
		return emit(c, R_ANY, 0, 0, 0);
	case '^':
		return emit(c, R_BOL, 0, 0, 0);
	case '$':
		return emit(c, R_EOL, 0, 0, 0);
	case '[':
		return parse_class(c);
	case '(': {
		if (c->p[0] == '?' && c->p[1] == ':') /* (?:...): every group here captures nothing */
			c->p += 2;
		else if (*c->p == '?')
			return fail(c, OP_EINVAL, "flags other than a leading (?i) are not supported");
		if (++c->depth > 16)
			return fail(c, OP_ETOOBIG, "groups nested too deep");
		int rc = parse_alt(c);
		c->depth--;
		if (rc)
			return rc;
		if (*c->p != ')')
			return fail(c, OP_EINVAL, "missing ')'");
		c->p++;
		return 0;
	}
	case '\\': {
		char e = *c->p++;
		if (!e)
			return fail(c, OP_EINVAL, "pattern ends with '\\'");
		if (strchr("dwsDWS", e)) {
			uint8_t *m;
			int idx = new_class(c, &m);
			if (idx < 0)
				return idx;
			add_named(m, e);
			return emit(c, R_CLASS, (uint8_t)idx, 0, 0);
		}
		if (e == 'b' || e == 'B') /* a word boundary, or none: \w on one side only */
			return emit(c, e == 'b' ? R_WORDB : R_NWORDB, 0, 0, 0);
		if (e >= '1' && e <= '9')
			return fail(c, OP_EINVAL, "back-references are not supported");
		return emit_char(c, escape_char(e));
	}
	case '*': case '+': case '?':
		return fail(c, OP_EINVAL, "a repeat with nothing before it");
	default:
		return emit_char(c, (unsigned char)ch);
	}
}

/* "{m}", "{m,}" or "{m,n}" at *pp: 1 with *lo and *hi (-1: no bound), *pp past it; 0 when
 * it is none ("{", "{,2}", "{x}"), which makes the '{' a literal, as in Go's RE2. */
static int counted(const char **pp, int *lo, int *hi)
{
	const char *p = *pp + 1;
	char *end;
	if (*p < '0' || *p > '9')
		return 0;
	long a = strtol(p, &end, 10), b = a;
	if (*end == ',') {
		b = -1;
		if (end[1] >= '0' && end[1] <= '9')
			b = strtol(end + 1, &end, 10);
		else
			end++;
	}
	if (*end != '}')
		return 0;
	*lo = (int)(a < 10000 ? a : 10000), *hi = (int)(b < 10000 ? b : 10000); /* too long */
	*pp = end + 1;
	return 1;
}

/* The block at start (an atom's code) repeated lo to hi times (hi -1: no bound): copies of
 * it, the ones past lo each behind a split that may skip it. */
static int repeat_block(struct rc *c, uint16_t start, int lo, int hi)
{
	struct op_regex *re = c->re;
	struct regex_insn block[OP_REGEX_MAX_INSNS];
	int16_t len = (int16_t)(re->n - start);
	int rc = 0;
	if (hi >= 0 && hi < lo)
		return fail(c, OP_EINVAL, "a counted repeat {m,n} with n below m");
	memcpy(block, &re->prog[start], sizeof block[0] * (size_t)len);
	re->n = start;
	for (int k = 0; k < lo; k++) {
		if (re->n + len > OP_REGEX_MAX_INSNS)
			return fail(c, OP_ETOOBIG, "pattern too long");
		memcpy(&re->prog[re->n], block, sizeof block[0] * (size_t)len);
		re->n = (uint16_t)(re->n + len);
	}
	if (hi < 0 && lo > 0) /* the last copy again and again: '+' */
		return emit(c, R_SPLIT, 0, (int16_t)-len, 1);
	for (int k = lo; !rc && (hi < 0 ? k < lo + 1 : k < hi); k++) {
		/* one more, or not: '?' (with no bound, '*': the copy then jumps back) */
		if ((rc = emit(c, R_SPLIT, 0, 1, (int16_t)(len + 1 + (hi < 0)))))
			return rc;
		if (re->n + len > OP_REGEX_MAX_INSNS)
			return fail(c, OP_ETOOBIG, "pattern too long");
		memcpy(&re->prog[re->n], block, sizeof block[0] * (size_t)len);
		re->n = (uint16_t)(re->n + len);
		if (hi < 0)
			rc = emit(c, R_JMP, 0, (int16_t)-(len + 1), 0);
	}
	return rc;
}

static int parse_repeat(struct rc *c)
{
	uint16_t start = c->re->n;
	int rc = parse_atom(c);
	if (rc)
		return rc;
	for (;;) {
		int lo = 0, hi = 0;
		if (*c->p == '{' && counted(&c->p, &lo, &hi)) {
			if ((rc = repeat_block(c, start, lo, hi)))
				return rc;
			continue;
		}
		if (*c->p != '*' && *c->p != '+' && *c->p != '?')
			break;
		char q = *c->p++;
		int16_t len = (int16_t)(c->re->n - start);
		if (q == '*') {
			if ((rc = insert(c, start, R_SPLIT, 1, (int16_t)(len + 2))) ||
				(rc = emit(c, R_JMP, 0, (int16_t)-(len + 1), 0)))
				return rc;
		} else if (q == '+') {
			if ((rc = emit(c, R_SPLIT, 0, (int16_t)-len, 1)))
				return rc;
		} else {
			if ((rc = insert(c, start, R_SPLIT, 1, (int16_t)(len + 1))))
				return rc;
		}
	}
	return 0;
}

static int parse_concat(struct rc *c)
{
	while (*c->p && *c->p != '|' && *c->p != ')') {
		int rc = parse_repeat(c);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_alt(struct rc *c)
{
	uint16_t start = c->re->n;
	int rc = parse_concat(c);
	while (!rc && *c->p == '|') {
		c->p++;
		int16_t len1 = (int16_t)(c->re->n - start);
		/* SPLIT to the first branch or past it (+ the JMP) to the second */
		if ((rc = insert(c, start, R_SPLIT, 1, (int16_t)(len1 + 2))))
			return rc;
		uint16_t jmp = c->re->n;
		if ((rc = emit(c, R_JMP, 0, 0, 0)) || (rc = parse_concat(c)))
			return rc;
		c->re->prog[jmp].x = (int16_t)(c->re->n - jmp);
	}
	return rc;
}

int regex_compile(struct op_regex *re, const char *pattern, char *err, size_t errcap)
{
	memset(re, 0, sizeof *re);
	struct rc c = {re, pattern, err, errcap, 0};
	if (!strncmp(pattern, "(?i)", 4)) {
		re->icase = 1;
		c.p += 4;
	}
	int rc = parse_alt(&c);
	if (!rc && *c.p == ')')
		rc = fail(&c, OP_EINVAL, "unmatched ')'");
	if (!rc)
		rc = emit(&c, R_MATCH, 0, 0, 0);
	return rc;
}

/* The thread set: a sparse set of program counters, filled through epsilon closures. */
struct tset {
	uint16_t n;
	uint16_t pc[OP_REGEX_MAX_INSNS];
	uint16_t at[OP_REGEX_MAX_INSNS];
};

static int tset_has(const struct tset *t, uint16_t pc)
{
	return t->at[pc] < t->n && t->pc[t->at[pc]] == pc;
}

static int is_word(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		ch == '_';
}

/* Add pc and what it reaches without consuming input; returns 1 if MATCH is reached. */
static int add(const struct op_regex *re, struct tset *t, uint16_t pc, const char *s, size_t n,
	size_t i)
{
	uint16_t stack[OP_REGEX_MAX_INSNS * 2];
	int sp = 0, matched = 0;
	stack[sp++] = pc;
	while (sp) {
		pc = stack[--sp];
		if (pc >= re->n || tset_has(t, pc))
			continue;
		t->at[pc] = t->n;
		t->pc[t->n++] = pc;
		const struct regex_insn *in = &re->prog[pc];
		switch (in->op) {
		case R_JMP:
			stack[sp++] = (uint16_t)(pc + in->x);
			break;
		case R_SPLIT:
			/* push the second first, so the first is explored first */
			stack[sp++] = (uint16_t)(pc + in->y);
			stack[sp++] = (uint16_t)(pc + in->x);
			break;
		case R_BOL:
			if (i == 0 || s[i - 1] == '\n')
				stack[sp++] = (uint16_t)(pc + 1);
			break;
		case R_EOL:
			if (i == n || s[i] == '\n')
				stack[sp++] = (uint16_t)(pc + 1);
			break;
		case R_WORDB:
		case R_NWORDB:
			if (((i > 0 && is_word(s[i - 1])) != (i < n && is_word(s[i]))) ==
				(in->op == R_WORDB))
				stack[sp++] = (uint16_t)(pc + 1);
			break;
		case R_MATCH:
			matched = 1;
			break;
		default:
			break;
		}
	}
	return matched;
}

int regex_search(const struct op_regex *re, const char *s, size_t n)
{
	struct tset a, b, *cur = &a, *next = &b;
	memset(a.at, 0xff, sizeof a.at);
	memset(b.at, 0xff, sizeof b.at);
	cur->n = 0;
	if (add(re, cur, 0, s, n, 0))
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		unsigned char lc = re->icase && ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch + 32) : ch;
		next->n = 0;
		for (uint16_t k = 0; k < cur->n; k++) {
			uint16_t pc = cur->pc[k];
			const struct regex_insn *in = &re->prog[pc];
			int ok = (in->op == R_CHAR && in->arg == lc) || (in->op == R_ANY && ch != '\n') ||
				(in->op == R_CLASS && (re->cls[in->arg][ch / 8] >> (ch % 8) & 1));
			if (ok && add(re, next, (uint16_t)(pc + 1), s, n, i + 1))
				return 1;
		}
		/* unanchored: a match may also begin after this character */
		if (add(re, next, 0, s, n, i + 1))
			return 1;
		struct tset *t = cur;
		cur = next;
		next = t;
	}
	return 0;
}
