/* http_expect.c: "expect" for HTTP responses: config keys and the checks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "http_expect.h"
#include "inflate.h"
#include "json.h"
#include "regex.h"

__attribute__((format(printf, 3, 4))) static int fail(char *why, size_t cap, const char *fmt,
	...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -1;
}

/* "ssl": true or false, kept apart from "not given" */
static int read_ssl(struct cfg_ctx *c, int tok, void *field)
{
	return cfg_bool_given(c, tok, field, "expect.ssl is true (the final request must be over "
		"TLS, after any redirects) or false (it must not be)");
}

static int read_header_checks(struct cfg_ctx *c, int tok, void *field)
{
	struct header_checks *h = field;
	int n = cfg_tok_size(c, tok);
	if (cfg_tok_type(c, tok) != 1 || n < 1 || n > HTTP_EXPECT_HEADERS)
		return cfg_error(c, tok, "\"header\" and \"header_not\" take {\"Name\": \"regex its "
			"value matches\", ...}, 1 to %d headers", HTTP_EXPECT_HEADERS);
	if (!(h->c = cfg_alloc(c, tok, sizeof *h->c * (size_t)n)))
		return OP_EINVAL;
	for (int i = tok + 1; h->n < n; i = cfg_tok_next(c, i + 1)) {
		struct header_check *k = &h->c[h->n++];
		int rc = cfg_string(c, i, &k->name);
		if (rc || (rc = cfg_string(c, i + 1, &k->pattern)) != 0 ||
			(rc = cfg_regex(c, i + 1, k->pattern, &k->re)) != 0)
			return rc;
	}
	return 0;
}

/* "http_version": "1.0" or "1.1", also as blackbox_exporter writes them ("HTTP/1.1"): the
 * versions a server can answer outpost's HTTP/1.1 request in. */
static int read_version(struct cfg_ctx *c, int tok, void *field)
{
	const char *s;
	char tmp[32];
	int rc = cfg_scalar(c, tok, &s, tmp, sizeof tmp);
	if (rc)
		return rc;
	const char *v = !strncmp(s, "HTTP/", 5) ? s + 5 : s;
	if (strcmp(v, "1.0") && strcmp(v, "1.1"))
		return cfg_error(c, tok, "\"http_version\" is \"1.0\" or \"1.1\", not \"%s\": outpost "
			"asks in HTTP/1.1, so a server answers in one of those", s);
	*(const char **)field = v[2] == '0' ? "1.0" : "1.1"; /* (s may be in tmp) */
	return 0;
}

/* "status": 200, "2xx", "200-299", "200,301", or an array of those: kept as text here and
 * turned into ranges by http_configure. */
static int read_status(struct cfg_ctx *c, int tok, void *field)
{
	char buf[256], tmp[32];
	size_t w = 0;
	int n, i = cfg_items(c, tok, &n);
	for (int k = 0; k < n; k++) {
		const char *s;
		int rc = cfg_scalar(c, i, &s, tmp, sizeof tmp);
		if (rc)
			return rc;
		int m = snprintf(buf + w, sizeof buf - w, "%s%s", w ? "," : "", s);
		if (m < 0 || (size_t)m >= sizeof buf - w)
			return cfg_error(c, tok, "\"status\" list too long");
		w += (size_t)m;
		i = cfg_tok_next(c, i);
	}
	*(const char **)field = cfg_store(c, buf, w);
	return 0;
}

/* A body check's text or pattern, or a list of them (each must hold). */
static int read_body_checks(struct cfg_ctx *c, int tok, void *field, int patterns)
{
	struct body_checks *b = field;
	int n, i = cfg_items(c, tok, &n);
	if (n < 1 || n > HTTP_EXPECT_TEXTS)
		return cfg_error(c, tok, "a body check takes a %s or a list of 1 to %d",
			patterns ? "pattern" : "text", HTTP_EXPECT_TEXTS);
	if (!(b->c = cfg_alloc(c, tok, sizeof *b->c * (size_t)n)))
		return OP_EINVAL;
	for (; b->n < n; i = cfg_tok_next(c, i)) {
		struct regex_check *k = &b->c[b->n++];
		int rc = patterns ? cfg_regex_check(c, i, k) : cfg_string(c, i, &k->pattern);
		if (rc)
			return rc;
		if (!*k->pattern || strlen(k->pattern) > 1024)
			return cfg_error(c, i, "a body check's %s is 1 to 1024 bytes",
				patterns ? "pattern" : "text");
	}
	return 0;
}

static int read_texts(struct cfg_ctx *c, int tok, void *field)
{
	return read_body_checks(c, tok, field, 0);
}

static int read_patterns(struct cfg_ctx *c, int tok, void *field)
{
	return read_body_checks(c, tok, field, 1);
}

const struct cfg_key http_expect_keys[HTTP_EXPECT_NKEYS] = {
	{"status", CFG_FN, 0, offsetof(struct http_expect, status_text), 0, 0, read_status},
	{"body_contains", CFG_FN, 0, offsetof(struct http_expect, body_contains), 0, 0, read_texts},
	{"body_not_contains", CFG_FN, 0, offsetof(struct http_expect, body_not_contains), 0, 0,
		read_texts},
	{"header", CFG_FN, 0, offsetof(struct http_expect, header), 0, 0, read_header_checks},
	{"header_not", CFG_FN, 0, offsetof(struct http_expect, header_not), 0, 0,
		read_header_checks},
	{"body_regex", CFG_FN, 0, offsetof(struct http_expect, body_regex), 0, 0, read_patterns},
	{"body_not_regex", CFG_FN, 0, offsetof(struct http_expect, body_not_regex), 0, 0,
		read_patterns},
	{"max_latency", CFG_DUR, 0, offsetof(struct http_expect, max_latency_us), 1000,
		3600000000ll, NULL},
	{"cert_min_days", CFG_UINT, 0, offsetof(struct http_expect, cert_min_days), 0, 3650, NULL},
	{"http_version", CFG_FN, 0, offsetof(struct http_expect, http_version), 0, 0, read_version},
	{"json", CFG_FN, 0, offsetof(struct http_expect, json), 0, 0, cfg_json_checks},
	{"ssl", CFG_FN, 0, offsetof(struct http_expect, ssl), 0, 0, read_ssl},
};

static int parse_ranges(struct http_expect *k, const char *s)
{
	k->nranges = 0;
	while (*s) {
		char item[16];
		size_t n = strcspn(s, ", ");
		if (n == 0) {
			s++;
			continue;
		}
		if (n >= sizeof item || k->nranges == HTTP_EXPECT_RANGES)
			return OP_EINVAL;
		memcpy(item, s, n);
		item[n] = 0;
		s += n;
		unsigned lo, hi;
		char x1, x2;
		if (strlen(item) == 3 && item[0] >= '1' && item[0] <= '5' &&
			sscanf(item + 1, "%c%c", &x1, &x2) == 2 && (x1 | 32) == 'x' && (x2 | 32) == 'x')
			lo = (unsigned)(item[0] - '0') * 100, hi = lo + 99;
		else if (sscanf(item, "%u-%u", &lo, &hi) == 2 && strchr(item, '-'))
			;
		else if (sscanf(item, "%u", &lo) == 1 && strspn(item, "0123456789") == n)
			hi = lo;
		else
			return OP_EINVAL;
		if (lo < 100 || hi > 599 || lo > hi)
			return OP_EINVAL;
		k->ranges[k->nranges][0] = (uint16_t)lo;
		k->ranges[k->nranges][1] = (uint16_t)hi;
		k->nranges++;
	}
	return k->nranges ? 0 : OP_EINVAL;
}

/* The first check that reads the body, by its key; NULL when none does. */
static const char *body_check(const struct http_expect *e)
{
	return e->body_contains.n ? "body_contains" : e->body_not_contains.n ? "body_not_contains" :
		e->body_regex.n ? "body_regex" : e->body_not_regex.n ? "body_not_regex" :
		e->json.n ? "json" : NULL;
}

int http_expect_configure(struct cfg_ctx *c, int tok, const char *what, const char *method,
	struct http_expect *e)
{
	char buf[80];
	const char *fault = http_method_fault(method, buf, sizeof buf);
	if (fault)
		return cfg_error(c, tok, "%s: method \"%s\": %s", what, method, fault);
	if (parse_ranges(e, e->status_text ? e->status_text : "2xx") != 0)
		return cfg_error(c, tok, "%s: expect.status \"%s\": write codes (200), classes "
			"(\"2xx\"), ranges (\"200-299\") or a list of them", what, e->status_text);
	if (!strcmp(method, "HEAD") && body_check(e))
		return cfg_error(c, tok, "%s: a response to HEAD has no body, so expect.%s cannot be "
			"checked; use \"GET\", or check the headers", what, body_check(e));
	return 0;
}

static int status_ok(const struct http_expect *k, int status)
{
	for (int i = 0; i < k->nranges; i++)
		if (status >= k->ranges[i][0] && status <= k->ranges[i][1])
			return 1;
	return 0;
}

/* Bodies are checked as sent unless the probe asked for a compression, and then as decoded. A
 * coded one not decoded (a server may send gzip to a request without Accept-Encoding, RFC 9110
 * 12.5.3; stores of pre-compressed files do) would fail every search, and pass every
 * body_not_contains, whatever it says once decoded. */
int http_body_coded(const struct httpc *s, char *why, size_t cap)
{
	struct http_header h[OP_HTTP_MAX_HEADERS];
	struct http_response resp = {.headers = h, .nheaders = OP_HTTP_MAX_HEADERS};
	if (s->decoded || http_parse_response(s->head, s->head_len, &resp) < 0)
		return 0;
	const struct http_header *c = http_find_header(&resp, "Content-Encoding");
	if (!c || !c->value_len || (http_header_last_token(c, "identity") &&
		!memchr(c->value, ',', c->value_len)))
		return 0;
	snprintf(why, cap, "the body came %.*s-encoded (try \"compression\": \"%s\")",
		(int)OP_MIN(c->value_len, 12), c->value,
		http_header_last_token(c, "deflate") ? "deflate" : "gzip");
	return 1;
}

/* The first of b's texts or patterns that is not (want 1) or is (want 0) in the kept body;
 * NULL when all hold. */
static const struct regex_check *body_fault(const struct body_checks *b, const struct httpc *s,
	int want)
{
	for (const struct regex_check *k = b->c; k < b->c + b->n; k++) {
		int found = k->re ? regex_search(k->re, s->body, s->kept) != 0 :
			op_memmem(s->body, s->kept, k->pattern, strlen(k->pattern)) != NULL;
		if (found != want)
			return k;
	}
	return NULL;
}

int http_expect_check(const struct http_expect *e, struct probe_run *r, const struct httpc *s,
	uint64_t took_us, char *why, size_t cap)
{
	int status = r->facts.http_status;
	if (e->http_version) {
		char v[8];
		snprintf(v, sizeof v, "%d.%d", r->facts.http_version / 10, r->facts.http_version % 10);
		if (strcmp(v, e->http_version))
			return fail(why, cap, "http_version %s, expected %s", v,
				e->http_version);
	}
	if (!status_ok(e, status))
		return fail(why, cap, "status %d, expected %s", status,
			e->status_text ? e->status_text : "2xx");
	if (e->ssl && e->ssl != (r->facts.ssl ? 2 : 1))
		return fail(why, cap, "ssl: the final request was %s, expected %s",
			r->facts.ssl ? "over TLS" : "plain http", e->ssl == 2 ? "TLS" : "plain http");
	struct http_header h[OP_HTTP_MAX_HEADERS];
	struct http_response resp = {.headers = h, .nheaders = OP_HTTP_MAX_HEADERS};
	/* blackbox_exporter's compression: the body must come in that coding */
	if (s->q->compression && s->framing != HTTPC_FR_NONE && !s->decoded) {
		const char *want = inflate_codings[s->q->compression];
		http_parse_response(s->head, s->head_len, &resp);
		const struct http_header *ce = http_find_header(&resp, "Content-Encoding");
		if (!ce)
			return fail(why, cap, "compression: the body came unencoded (no "
				"Content-Encoding), not %s", want);
		return fail(why, cap, "compression: the body came %.*s-encoded, not %s",
			(int)OP_MIN(ce->value_len, 20), ce->value, want);
	}
	r->facts.content_failed = 1; /* until the content assertions below pass */
	const char *body = body_check(e);
	char coded[96];
	if (body && http_body_coded(s, coded, sizeof coded))
		return fail(why, cap, "%s: not checked: %s", body, coded);
	if (e->header.n || e->header_not.n)
		http_parse_response(s->head, s->head_len, &resp);
	const struct regex_check *k;
	if ((k = body_fault(&e->body_contains, s, 1)) != NULL)
		return fail(why, cap, "body_contains: \"%.40s\" not in the first %zu bytes",
			k->pattern, s->kept);
	if ((k = body_fault(&e->body_not_contains, s, 0)) != NULL)
		return fail(why, cap, "body_not_contains: \"%.40s\" found", k->pattern);
	/* blackbox_exporter's fail_if_body_matches_regexp: an error page served with 200 */
	if ((k = body_fault(&e->body_not_regex, s, 0)) != NULL)
		return fail(why, cap, "body_not_regex: /%.40s/ matches in the first %zu bytes",
			k->pattern, s->kept);
	if ((k = body_fault(&e->body_regex, s, 1)) != NULL)
		return fail(why, cap, "body_regex: /%.40s/ matches nothing in the first %zu bytes",
			k->pattern, s->kept);
	char jw[OP_DETAIL_MAX];
	if (e->json.n && json_expect(s->body, s->kept, &e->json, jw, sizeof jw) != 0)
		return fail(why, cap, "%s%s", jw,
			s->kept == sizeof s->body && strstr(jw, "not JSON") ? " (first 16 KiB)" : "");
	for (const struct header_check *hc = e->header.c; hc < e->header.c + e->header.n; hc++) {
		const struct http_header *found = http_find_header(&resp, hc->name);
		if (!found)
			return fail(why, cap, "header %s: absent", hc->name);
		/* a header sent more than once (Set-Cookie, Cache-Control, Link) passes when one of
		 * them matches, as blackbox_exporter's fail_if_header_not_matches has it */
		const struct http_header *m = found;
		while (m && !regex_search(hc->re, m->value, m->value_len))
			m = http_next_header(&resp, hc->name, m);
		if (!m)
			return fail(why, cap, "header %s: \"%.*s\"%s does not match /%s/", hc->name,
				(int)OP_MIN(found->value_len, 40), found->value,
				http_next_header(&resp, hc->name, found) ? " (nor the others)" : "",
				hc->pattern);
	}
	/* blackbox_exporter's fail_if_header_matches: no value of it may match (none is fine) */
	for (const struct header_check *hc = e->header_not.c;
		hc < e->header_not.c + e->header_not.n; hc++)
		for (const struct http_header *m = NULL;
			(m = http_next_header(&resp, hc->name, m)) != NULL;)
			if (regex_search(hc->re, m->value, m->value_len))
				return fail(why, cap, "header_not %s: \"%.*s\" matches /%s/", hc->name,
					(int)OP_MIN(m->value_len, 40), m->value, hc->pattern);
	r->facts.content_failed = 0;
	if (e->cert_min_days && !r->facts.ssl)
		return fail(why, cap, "cert_min_days: no certificate: the final request was plain "
			"http");
	if (probe_cert_short(r, e->cert_min_days, why, cap))
		return -1;
	if (e->max_latency_us && took_us > e->max_latency_us)
		return fail(why, cap, "max_latency: took %.1f ms, limit %.1f ms",
			took_us / 1e3, e->max_latency_us / 1e3);
	return 0;
}

