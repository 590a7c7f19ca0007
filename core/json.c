/* json.c: jsmn's implementation, compiled once with our options. */
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "op.h"
#include "opts.h"

#include "json.h" /* after jsmn's implementation: its guard keeps this to declarations */

int json_skip(const jsmntok_t *t, int ntok, int tok)
{
	int end = t[tok].end, i = tok + 1;
	while (i < ntok && t[i].start < end)
		i++;
	return i;
}

int json_eq(const char *text, const jsmntok_t *t, const char *s)
{
	size_t n = strlen(s);
	return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
		!memcmp(text + t->start, s, n);
}

size_t json_quote_n(char *out, size_t cap, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = (const uint8_t *)s;
	size_t w = 0;
	if (cap < 3)
		return 0;
	out[w++] = '"';
	for (size_t i = 0, len; i < n && w + 8 < cap; i += len) {
		unsigned char ch = b[i];
		len = 1;
		if (ch == '"' || ch == '\\') {
			out[w++] = '\\';
			out[w++] = (char)ch;
		} else if (ch == '\n') {
			out[w++] = '\\', out[w++] = 'n';
		} else if (ch == '\r') {
			out[w++] = '\\', out[w++] = 'r';
		} else if (ch == '\t') {
			out[w++] = '\\', out[w++] = 't';
		} else if (ch < 0x20) {
			memcpy(out + w, "\\u00", 4);
			w += 4;
			out[w++] = hex[ch >> 4];
			out[w++] = hex[ch & 15];
		} else if ((len = op_utf8_seq(b + i, n - i)) == 0) {
			/* not UTF-8 (a command's raw bytes, a Latin-1 target): JSON must be */
			memcpy(out + w, "\\ufffd", 6);
			w += 6;
			len = 1;
		} else {
			memcpy(out + w, b + i, len);
			w += len;
		}
	}
	out[w++] = '"';
	out[w] = 0;
	return w;
}

size_t json_quote(char *out, size_t cap, const char *s)
{
	return json_quote_n(out, cap, s, strlen(s));
}

/* The text between two tokens must be white space around exactly one expected separator.
 * jsmn does not check separators (it takes {"a" 1,} and [1 2]), so this pass does. */
static int gap_ok(const char *text, int from, int to, char sep, int *bad)
{
	int seen = 0;
	for (int i = from; i < to; i++) {
		char ch = text[i];
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
			continue;
		if (ch == sep && !seen) {
			seen = 1;
			continue;
		}
		*bad = i;
		return 0;
	}
	if (sep && !seen) {
		*bad = to;
		return 0;
	}
	return 1;
}

/* Outer bounds of a token, including a string's quotes. */
static int tok_start(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->start - 1 : t->start;
}

static int tok_end(const jsmntok_t *t)
{
	return t->type == JSMN_STRING ? t->end + 1 : t->end;
}

static int digits(const char *p, const char *end)
{
	const char *q = p;
	while (q < end && *q >= '0' && *q <= '9')
		q++;
	return (int)(q - p);
}

/* Is text[from..to) true, false, null or a number (-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?)? */
static int primitive_ok(const char *text, int from, int to)
{
	const char *p = text + from, *end = text + to;
	size_t n = (size_t)(to - from);
	if ((n == 4 && !memcmp(p, "true", 4)) || (n == 5 && !memcmp(p, "false", 5)) ||
		(n == 4 && !memcmp(p, "null", 4)))
		return 1;
	p += p < end && *p == '-';
	int d = digits(p, end);
	if (d == 0 || (d > 1 && *p == '0'))
		return 0;
	p += d;
	if (p < end && *p == '.') {
		d = digits(++p, end);
		if (d == 0)
			return 0;
		p += d;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		p += p < end && (*p == '+' || *p == '-');
		d = digits(p, end);
		if (d == 0)
			return 0;
		p += d;
	}
	return p == end;
}

int json_check(const char *text, const jsmntok_t *t, int ntok, int *bad)
{
	for (int c = 0; c < ntok; c++) {
		if (t[c].type == JSMN_PRIMITIVE && !primitive_ok(text, t[c].start, t[c].end)) {
			*bad = t[c].start;
			return -2;
		}
		if (t[c].type != JSMN_OBJECT && t[c].type != JSMN_ARRAY)
			continue;
		int pos = t[c].start + 1, child = c + 1;
		int members = t[c].size * (t[c].type == JSMN_OBJECT ? 2 : 1);
		for (int k = 0; k < members; k++) {
			char sep = k == 0 ? 0 : (t[c].type == JSMN_OBJECT && k % 2) ? ':' : ',';
			if (child >= ntok || t[child].start > t[c].end) {
				*bad = t[c].end > 0 ? t[c].end - 1 : 0;
				return -1; /* a key without a value */
			}
			if (t[c].type == JSMN_OBJECT && k % 2 == 0 && t[child].type != JSMN_STRING) {
				*bad = tok_start(&t[child]);
				return -1; /* keys are strings */
			}
			if (!gap_ok(text, pos, tok_start(&t[child]), sep, bad))
				return -1;
			pos = tok_end(&t[child]);
			child = json_skip(t, ntok, child);
		}
		if (!gap_ok(text, pos, t[c].end - 1, 0, bad))
			return -1;
	}
	return 0;
}

#define PATH_HINT "; a path reads like $.items[0].id"

const char *json_path_fault(const char *path)
{
	if (*path == '$')
		path++;
	while (*path) {
		if (*path == '[') {
			const char *d = path + 1;
			while (*d >= '0' && *d <= '9')
				d++;
			if (d == path + 1 || *d != ']')
				return "an index is a whole number in brackets" PATH_HINT;
			path = d + 1;
			continue;
		}
		if (*path == '.')
			path++;
		size_t n = strcspn(path, ".[]");
		if (n == 0)
			return path[0] == ']' ? "a ] without its [" PATH_HINT : "an empty name (two dots "
				"in a row, or a dot at the end)" PATH_HINT;
		path += n;
	}
	return NULL;
}

int json_path_find(const char *text, const jsmntok_t *t, int ntok, const char *path)
{
	int cur = 0;
	if (ntok <= 0)
		return -1;
	if (*path == '$')
		path++;
	while (*path) {
		if (*path == '[') {
			char *end;
			long idx = strtol(path + 1, &end, 10);
			if (end == path + 1 || *end != ']' || idx < 0 || t[cur].type != JSMN_ARRAY ||
				idx >= t[cur].size)
				return -1;
			int child = cur + 1;
			for (long k = 0; k < idx && child < ntok; k++)
				child = json_skip(t, ntok, child);
			if (child >= ntok)
				return -1;
			cur = child;
			path = end + 1;
			continue;
		}
		if (*path == '.')
			path++;
		size_t n = strcspn(path, ".[");
		if (n == 0 || t[cur].type != JSMN_OBJECT)
			return -1;
		int child = cur + 1, found = -1;
		for (int k = 0; k < t[cur].size && found < 0 && child + 1 < ntok; k++) {
			if (t[child].type == JSMN_STRING && (size_t)(t[child].end - t[child].start) == n &&
				!memcmp(text + t[child].start, path, n))
				found = child + 1;
			child = json_skip(t, ntok, child + 1);
		}
		if (found < 0)
			return -1;
		cur = found;
		path += n;
	}
	return cur;
}

int json_parse(const char *text, size_t len, jsmntok_t *toks, int cap)
{
	jsmn_parser jp;
	int bad;
	jsmn_init(&jp);
	int nt = jsmn_parse(&jp, text, len, toks, (unsigned)cap);
	if (nt >= 0 && json_check(text, toks, nt, &bad) != 0)
		return JSMN_ERROR_INVAL;
	return nt;
}

void json_lookup(const char *text, const jsmntok_t *t, int nt, const char *const *paths, int n,
	const char **val, size_t *vlen)
{
	for (int i = 0; i < n; i++) {
		int at = json_path_find(text, t, nt, paths[i]);
		val[i] = at < 0 ? NULL : text + t[at].start;
		vlen[i] = at < 0 ? 0 : (size_t)(t[at].end - t[at].start);
	}
}

int json_values(const char *text, size_t len, const char *const *paths, int n, const char **val,
	size_t *vlen)
{
	static jsmntok_t toks[OP_JSON_BODY_TOKENS];
	int nt = json_parse(text, len, toks, OP_JSON_BODY_TOKENS);
	if (nt < 0)
		return nt;
	json_lookup(text, toks, nt, paths, n, val, vlen);
	return 0;
}

/* Only a string's text follows a quote, once the separators are checked. */
static int is_string(const char *text, const char *val)
{
	return val > text && val[-1] == '"';
}

int json_unescape(const char *in, size_t n, char *out, size_t cap)
{
	static const char from[] = "\"\\/bfnrtu", to[] = "\"\\/\b\f\n\r\t";
	size_t w = 0;
	if (!cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (in[i] != '\\') { /* bytes as they are, UTF-8 or not */
			if (w + 1 >= cap || !in[i])
				return -1;
			out[w++] = in[i];
			continue;
		}
		const char *esc = ++i < n && in[i] ? strchr(from, in[i]) : NULL;
		if (!esc)
			return -1;
		unsigned cp = (unsigned char)to[esc - from];
		if (*esc == 'u') {
			if (i + 4 >= n || op_hex(in + i + 1, 4, &cp) != 0)
				return -1;
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00) { /* a high surrogate: its low one follows */
				unsigned lo;
				if (i + 6 >= n || in[i + 1] != '\\' || in[i + 2] != 'u' ||
					op_hex(in + i + 3, 4, &lo) != 0 || lo < 0xdc00 || lo >= 0xe000)
					return -1;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			} else if ((cp >= 0xdc00 && cp < 0xe000) || cp == 0) {
				return -1;
			}
		}
		int len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; /* UTF-8 */
		if (w + (size_t)len >= cap)
			return -1;
		if (len == 1) {
			out[w++] = (char)cp;
			continue;
		}
		out[w++] = (char)((len == 2 ? 0xc0 : len == 3 ? 0xe0 : 0xf0) | cp >> (6 * (len - 1)));
		for (int k = len - 2; k >= 0; k--)
			out[w++] = (char)(0x80 | ((cp >> (6 * k)) & 0x3f));
	}
	out[w] = 0;
	return (int)w;
}

int json_as_read(const char *text, const char **val, size_t *vlen, char *buf, size_t cap)
{
	if (!is_string(text, *val) || *vlen >= cap)
		return 0; /* (decoding never lengthens a string: below, it always fits) */
	int n = json_unescape(*val, *vlen, buf, cap);
	if (n < 0)
		return -1;
	*val = buf, *vlen = (size_t)n;
	return 0;
}

const char *json_values_error(int rc)
{
	static char many[64];
	if (rc != JSMN_ERROR_NOMEM)
		return "the body is not JSON";
	snprintf(many, sizeof many, "more than %d values in the body, too many to check",
		OP_JSON_BODY_TOKENS);
	return many;
}

/* 1 if s (n bytes) reads as a JSON number, 2 if one with a fraction or an exponent. */
static int number_kind(const char *s, size_t n)
{
	if (!n || !(*s == '-' || (*s >= '0' && *s <= '9')))
		return 0;
	int kind = 1;
	for (size_t k = 0; k < n; k++) {
		if (s[k] == '.' || s[k] == 'e' || s[k] == 'E')
			kind = 2;
		else if (!(s[k] >= '0' && s[k] <= '9') && s[k] != '-' && s[k] != '+')
			return 0;
	}
	return kind;
}

/* Do the body's number a (an bytes) and the expected b say the same value? A fraction or an
 * exponent on either side has many spellings of one value (2.0 and 2, 1.5e3 and 1500): those
 * compare by value. Integers alone compare as text, exact past a double's 53 bits (ids). */
static int same_number(const char *a, size_t an, const char *b)
{
	char buf[64], *ea, *eb;
	int ka = number_kind(a, an), kb = number_kind(b, strlen(b));
	if (!ka || !kb || (ka == 1 && kb == 1) || an >= sizeof buf)
		return 0;
	memcpy(buf, a, an);
	buf[an] = 0;
	double x = strtod(buf, &ea), y = strtod(b, &eb);
	return !*ea && !*eb && x == y;
}

int json_expect(const char *text, size_t len, const struct json_checks *c, char *why,
	size_t cap)
{
	const char *const *paths = c->path, *const *values = c->value;
	int n = c->n;
	const char *val[16];
	size_t vlen[16];
	if (n > 16)
		n = 16;
	int rc = json_values(text, len, paths, n, val, vlen);
	if (rc != 0)
		return snprintf(why, cap, "json: %s", json_values_error(rc)), -1;
	for (int i = 0; i < n; i++) {
		if (!val[i])
			return snprintf(why, cap, "json %s: absent", paths[i]), -1;
		/* a string compares as what it says: "caf\u00e9" is café, as in the config */
		static char str[256];
		int num = !is_string(text, val[i]);
		json_as_read(text, &val[i], &vlen[i], str, sizeof str);
		if ((vlen[i] != strlen(values[i]) || memcmp(val[i], values[i], vlen[i])) &&
			!(num && same_number(val[i], vlen[i], values[i])))
			return snprintf(why, cap, "json %s: \"%.*s\", expected \"%s\"", paths[i],
				(int)OP_MIN(vlen[i], 32), val[i], values[i]), -1;
	}
	return 0;
}
