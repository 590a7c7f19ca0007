/* http_parse.c: HTTP/1.x response head and chunked body, bounds-checked. */
#include <stdio.h>
#include <string.h>
#include "http_parse.h"

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_tchar(unsigned char c)
{
	/* RFC 9110 token characters */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		(c && strchr("!#$%&'*+-.^_`|~", c));
}

const char *http_method_fault(const char *method, char *buf, size_t cap)
{
	static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
		"PATCH", "TRACE"};
	const char *m = method;
	while (is_tchar((unsigned char)*m))
		m++;
	if (!*method || *m)
		return "it is not a token (letters, digits and !#$%&'*+-.^_`|~), as a method must be";
	for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
		size_t k = 0;
		while (known[i][k] && lower((unsigned char)method[k]) == lower(known[i][k]))
			k++;
		if (!known[i][k] && !method[k] && strcmp(method, known[i])) {
			snprintf(buf, cap, "methods are case-sensitive; write \"%s\"", known[i]);
			return buf;
		}
	}
	return NULL;
}

/* Find the end of the line starting at p: returns the length before CRLF (or bare LF) and sets
 * *next past it; OP_EPARTIAL if the line is not complete. */
static int line_end(const char *p, const char *end, const char **next)
{
	const char *q = memchr(p, '\n', (size_t)(end - p));
	if (!q)
		return OP_EPARTIAL;
	*next = q + 1;
	if (q > p && q[-1] == '\r')
		q--;
	return (int)(q - p);
}

static void unfold(char *buf, size_t len)
{
	for (char *p = buf, *end = buf + len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL &&
		p + 1 < end; p++) {
		if (p[1] == '\n' || (p[1] == '\r' && p + 2 < end && p[2] == '\n'))
			return; /* the blank line: the body follows */
		if (p[1] != ' ' && p[1] != '\t')
			continue;
		*p = ' ';
		if (p > buf && p[-1] == '\r')
			p[-1] = ' ';
	}
}

int http_parse_response(const char *buf, size_t len, struct http_response *out)
{
	const char *p = buf, *end = buf + len, *next;
	size_t cap = out->nheaders;
	out->nheaders = 0;
	out->bad = buf;
	/* status line: HTTP/1.x SP 3DIGIT SP reason */
	int n = line_end(p, end, &next);
	if (n == OP_EPARTIAL) {
		/* fail early on garbage instead of waiting for a newline that may never come */
		size_t have = len < 9 ? len : 9;
		if (memcmp(p, "HTTP/1.", have > 7 ? 7 : have))
			return OP_EPROTO;
		return OP_EPARTIAL;
	}
	if (n < 12 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return OP_EPROTO;
	out->minor_version = p[7] - '0';
	for (int i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return OP_EPROTO;
	out->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (out->status < 100)
		return OP_EPROTO;
	if (n > 12 && p[12] != ' ')
		return OP_EPROTO;
	out->reason = n > 12 ? p + 13 : p + 12;
	out->reason_len = n > 12 ? (size_t)n - 13 : 0;
	p = next;
	for (;;) {
		out->bad = p;
		n = line_end(p, end, &next);
		if (n == OP_EPARTIAL)
			return OP_EPARTIAL;
		if (n == 0)
			return (int)(next - buf);
		if (*p == ' ' || *p == '\t')
			return OP_EPROTO; /* obsolete line folding */
		const char *colon = memchr(p, ':', (size_t)n);
		if (!colon || colon == p)
			return OP_EPROTO;
		for (const char *c = p; c < colon; c++)
			if (!is_tchar((unsigned char)*c))
				return OP_EPROTO;
		if (out->nheaders >= cap)
			return OP_ETOOBIG;
		const char *v = colon + 1, *ve = p + n;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *c = v; c < ve; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t')
				return OP_EPROTO;
		struct http_header *h = &out->headers[out->nheaders++];
		h->name = p;
		h->name_len = (size_t)(colon - p);
		h->value = v;
		h->value_len = (size_t)(ve - v);
		p = next;
	}
}

int http_parse_received(char *buf, size_t len, struct http_response *out)
{
	unfold(buf, len);
	return http_parse_response(buf, len, out);
}

const char *http_fault(const char *buf, size_t len, const struct http_response *resp,
	char *out, size_t cap)
{
	char ex[48];
	size_t at = (size_t)(resp->bad - buf), n = len - at;
	const char *eol = memchr(resp->bad, '\n', n);
	if (eol)
		n = (size_t)(eol - resp->bad) - (eol > resp->bad && eol[-1] == '\r');
	/* a status line shows less: what is not HTTP says what it is in its first bytes */
	op_excerpt(resp->bad, OP_MIN(n, at ? 40 : 24), ex, sizeof ex);
	snprintf(out, cap, at ? "malformed header line: \"%s\"" : "not an HTTP response: \"%s\"", ex);
	return out;
}

int http_line_is(const char *line, const char *name)
{
	size_t i = 0;
	for (; name[i]; i++)
		if ((line[i] | 32) != (name[i] | 32))
			return 0;
	return line[i] == ':';
}

int http_lines_have(const char *lines, const char *name)
{
	for (const char *l = lines; l && *l;) {
		if (http_line_is(l, name))
			return 1;
		const char *e = strstr(l, "\r\n");
		l = e ? e + 2 : l + strlen(l);
	}
	return 0;
}

const struct http_header *http_find_header(const struct http_response *r, const char *name)
{
	return http_next_header(r, name, NULL);
}

const struct http_header *http_next_header(const struct http_response *r, const char *name,
	const struct http_header *prev)
{
	size_t nl = strlen(name);
	for (size_t i = prev ? (size_t)(prev - r->headers) + 1 : 0; i < r->nheaders; i++) {
		const struct http_header *h = &r->headers[i];
		if (h->name_len != nl)
			continue;
		size_t k = 0;
		while (k < nl && lower((unsigned char)h->name[k]) == lower((unsigned char)name[k]))
			k++;
		if (k == nl)
			return h;
	}
	return NULL;
}

/* Where token is in h's comma-separated list: 0 absent, 1 present, 2 the last element. With
 * params, an element's parameters are not part of its token ("gzip;q=0.5" is gzip, as in
 * Accept-Encoding); without, they are (a chunked with parameters is not chunked, which has
 * none: RFC 9112 7.1). */
static int token_place(const struct http_header *h, const char *token, int params)
{
	size_t tl = strlen(token);
	const char *p = h->value, *end = h->value + h->value_len;
	int found = 0;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		if (p == end)
			break;
		const char *s = p, *e = NULL;
		while (p < end && *p != ',') {
			if (*p == ';' && params && !e)
				e = p;
			p++;
		}
		e = e ? e : p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		int match = (size_t)(e - s) == tl;
		for (size_t k = 0; match && k < tl; k++)
			match = lower((unsigned char)s[k]) == lower((unsigned char)token[k]);
		found = match ? 2 : found ? 1 : 0;
	}
	return found;
}

int http_header_has_token(const struct http_header *h, const char *token)
{
	return token_place(h, token, 0) != 0;
}

int http_header_last_token(const struct http_header *h, const char *token)
{
	return token_place(h, token, 0) == 2;
}

int http_lines_have_token(const char *lines, const char *name, const char *token)
{
	for (const char *l = lines; l && *l;) {
		const char *e = strstr(l, "\r\n");
		e = e ? e : l + strlen(l);
		if (http_line_is(l, name)) {
			const char *v = strchr(l, ':') + 1;
			struct http_header h = {.value = v, .value_len = (size_t)(e - v)};
			if (token_place(&h, token, 1))
				return 1;
		}
		l = *e ? e + 2 : e;
	}
	return 0;
}

enum { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_TRAILER_START,
	CH_TRAILER, CH_TRAILER_LF, CH_END_LF, CH_DONE };

int http_chunked_decode(struct http_chunked *d, char *buf, size_t *len)
{
	size_t in = 0, out = 0, n = *len;
	while (in < n) {
		char c = buf[in];
		switch (d->state) {
		case CH_SIZE: {
			int v = (c >= '0' && c <= '9') ? c - '0' : (lower(c) >= 'a' && lower(c) <= 'f') ?
				lower(c) - 'a' + 10 : -1;
			if (v >= 0) {
				if (d->left >> 59)
					return OP_EPROTO; /* more than 2^63 bytes */
				d->left = d->left * 16 + (uint64_t)v;
				d->digits = 1;
				in++;
				continue;
			}
			if (!d->digits)
				return OP_EPROTO;
			if (c == ';' || c == ' ' || c == '\t') {
				d->state = CH_EXT;
				in++;
			} else if (c == '\r') {
				d->state = CH_SIZE_LF;
				in++;
			} else if (c == '\n') {
				d->state = CH_SIZE_LF; /* a bare LF: let CH_SIZE_LF take it */
			} else {
				return OP_EPROTO;
			}
			continue;
		}
		case CH_EXT:
			in++;
			if (c == '\n')
				d->state = d->left ? CH_DATA : CH_TRAILER_START;
			else if (c == '\r')
				d->state = CH_SIZE_LF;
			continue;
		case CH_SIZE_LF:
			if (c != '\n')
				return OP_EPROTO;
			in++;
			d->state = d->left ? CH_DATA : CH_TRAILER_START;
			continue;
		case CH_DATA: {
			size_t take = n - in;
			if (take > d->left)
				take = (size_t)d->left;
			memmove(buf + out, buf + in, take);
			out += take;
			in += take;
			d->left -= take;
			if (!d->left)
				d->state = CH_DATA_CR;
			continue;
		}
		case CH_DATA_CR:
			in++;
			if (c == '\r')
				d->state = CH_DATA_LF;
			else if (c == '\n')
				d->state = CH_SIZE, d->digits = 0;
			else
				return OP_EPROTO;
			continue;
		case CH_DATA_LF:
			if (c != '\n')
				return OP_EPROTO;
			in++;
			d->state = CH_SIZE;
			d->digits = 0;
			continue;
		case CH_TRAILER_START:
			in++;
			if (c == '\r')
				d->state = CH_END_LF;
			else if (c == '\n')
				d->state = CH_DONE;
			else
				d->state = CH_TRAILER;
			break;
		case CH_TRAILER:
			in++;
			if (c == '\n')
				d->state = CH_TRAILER_START;
			else if (c == '\r')
				d->state = CH_TRAILER_LF;
			continue;
		case CH_TRAILER_LF:
			if (c != '\n')
				return OP_EPROTO;
			in++;
			d->state = CH_TRAILER_START;
			continue;
		case CH_END_LF:
			if (c != '\n')
				return OP_EPROTO;
			in++;
			d->state = CH_DONE;
			break;
		default:
			break;
		}
		if (d->state == CH_DONE) {
			*len = out;
			return (int)(n - in);
		}
	}
	*len = out;
	return d->state == CH_DONE ? 0 : OP_EPARTIAL;
}

int http_date_parse(const char *s, size_t n, int64_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char text[40], wd[4], mon[4], zone[4];
	int d, y, h, mi, sec, end = 0;
	if (n >= sizeof text)
		return OP_EINVAL;
	memcpy(text, s, n);
	text[n] = 0;
	if (sscanf(text, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", wd, &d, mon, &y, &h,
		&mi, &sec, zone, &end) != 8 || (size_t)end != n || strcmp(zone, "GMT"))
		return OP_EINVAL;
	const char *m = strstr(months, mon);
	if (!m || (m - months) % 3 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return OP_EINVAL;
	*out = op_utc_seconds(y, (int)(m - months) / 3 + 1, d, h, mi, sec);
	return 0;
}
