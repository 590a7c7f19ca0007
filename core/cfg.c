/* cfg.c: loading the JSON configuration through key tables, with errors that say where and
 * how to fix. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cfg.h"
#include "http_parse.h"
#include "regex.h"
#include "spool.h"
#include "json.h"
#include "net.h"
#include "probe.h"

struct cfg_ctx {
	const char *file, *text;
	size_t len;
	jsmntok_t *t;
	int ntok;
	char *err;
	size_t errcap;
	struct cfg *cfg;
	const char **alarm_notify; /* each alarm's "notify" list, resolved after the whole file */
	int *alarm_tok;
};

/* ---- errors ---- */

static void line_col(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int error_at(struct cfg_ctx *c, size_t off, const char *fmt, va_list ap)
{
	int line, col;
	line_col(c->text, off, &line, &col);
	int n = snprintf(c->err, c->errcap, "%s:%d:%d: ", c->file, line, col);
	if (n >= 0 && (size_t)n < c->errcap)
		vsnprintf(c->err + n, c->errcap - (size_t)n, fmt, ap);
	return OP_EINVAL;
}

int cfg_error(struct cfg_ctx *c, int tok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* point at a string's opening quote, where an editor's cursor would be */
	size_t off = tok < 0 ? 0 : (size_t)c->t[tok].start;
	if (tok >= 0 && c->t[tok].type == JSMN_STRING && off > 0)
		off--;
	int rc = error_at(c, off, fmt, ap);
	va_end(ap);
	return rc;
}

size_t cfg_appliance_json(char *out, size_t cap, const struct cfg *cfg)
{
	char name[OP_NAME_MAX * 6], region[OP_NAME_MAX * 6], k[OP_NAME_MAX * 6], v[OP_NAME_MAX * 6];
	json_quote(name, sizeof name, cfg->name);
	json_quote(region, sizeof region, cfg->region);
	int n = snprintf(out, cap, "{\"name\":%s,\"region\":%s,\"labels\":{", name, region);
	for (uint32_t i = 0; i < cfg->nlabels && n > 0 && (size_t)n < cap; i++) {
		json_quote(k, sizeof k, cfg->labels[i].key);
		json_quote(v, sizeof v, cfg->labels[i].value);
		n += snprintf(out + n, cap - (size_t)n, "%s%s:%s", i ? "," : "", k, v);
	}
	if (n > 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, "}}");
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

const char *cfg_error_text(const char *err)
{
	/* the file name may hold ':' itself: find ":<digits>:<digits>: " */
	for (const char *p = strchr(err, ':'); p; p = strchr(p + 1, ':')) {
		const char *q = p + 1;
		if (*q < '0' || *q > '9')
			continue;
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q++ != ':' || *q < '0' || *q > '9')
			continue;
		while (*q >= '0' && *q <= '9')
			q++;
		if (q[0] == ':' && q[1] == ' ')
			return q + 2;
	}
	return err;
}

static int edit_distance(const char *a, const char *b)
{
	int la = (int)strlen(a), lb = (int)strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	int d[41], prev;
	for (int j = 0; j <= lb; j++)
		d[j] = j;
	for (int i = 1; i <= la; i++) {
		prev = d[0];
		d[0] = i;
		for (int j = 1; j <= lb; j++) {
			int cur = d[j];
			int sub = prev + (a[i - 1] != b[j - 1]);
			int del = d[j] + 1, ins = d[j - 1] + 1;
			d[j] = OP_MIN(sub, OP_MIN(del, ins));
			prev = cur;
		}
	}
	return d[lb];
}

const char *cfg_nearest(const char *s, const char *const *names, size_t n)
{
	const char *best = NULL;
	int bestd = 99;
	for (size_t i = 0; i < n; i++) {
		int d = edit_distance(s, names[i]);
		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	int len = (int)strlen(s);
	return bestd <= OP_MAX(2, len / 3) ? best : NULL;
}

const char *cfg_did_you_mean(char *buf, size_t cap, const char *s, const char *const *names,
	size_t n, int braces)
{
	const char *near = cfg_nearest(s, names, n);
	if (!near)
		buf[0] = 0;
	else
		snprintf(buf, cap, "; did you mean %s%s%s?", braces ? "{{" : "\"", near,
			braces ? "}}" : "\"");
	return buf;
}

int cfg_tpl_next(const char **p, char *name, size_t cap)
{
	const char *open = *p ? strstr(*p, "{{") : NULL, *close = open ? strstr(open + 2, "}}") :
		NULL;
	if (!close)
		return 0;
	snprintf(name, cap, "%.*s", (int)(close - open - 2), open + 2);
	*p = close + 2;
	return 1;
}

int cfg_tpl_names(struct cfg_ctx *c, int tok, const char *what, const char *tpl,
	const char *const *names, size_t n)
{
	char name[64], list[256], hint[96];
	for (const char *t = tpl; cfg_tpl_next(&t, name, sizeof name);) {
		size_t i = 0, w = 0;
		while (i < n && strcmp(name, names[i]))
			i++;
		if (i < n)
			continue;
		for (i = 0; i < n && w < sizeof list; i++)
			w += (size_t)snprintf(list + w, sizeof list - w, "%s{{%s}}", i ? ", " : "",
				names[i]);
		return cfg_error(c, tok, "%s: {{%s}} is not one of %s%s", what, name, list,
			cfg_did_you_mean(hint, sizeof hint, name, names, n, 1));
	}
	return 0;
}

/* ---- strings ---- */

int cfg_string(struct cfg_ctx *c, int tok, const char **out)
{
	const jsmntok_t *t = &c->t[tok];
	if (t->type != JSMN_STRING)
		return cfg_error(c, tok, "expected a string");
	/* unescape into the free end of the arena, then expand ${...} after it */
	struct cfg *cfg = c->cfg;
	char *raw = cfg->arena + cfg->arena_len;
	size_t room = cfg->arena_cap - cfg->arena_len;
	size_t written = (size_t)(t->end - t->start); /* decoding never lengthens it */
	if (written + 1 > room / 2)
		return cfg_error(c, tok, "configuration strings exceed %zu bytes", cfg->arena_cap);
	int n = json_unescape(c->text + t->start, written, raw, room / 2);
	if (n < 0)
		return cfg_error(c, tok, "a string may not hold \\u0000 or half a surrogate pair "
			"(\\ud800-\\udfff alone)");
	char *o = raw + n + 1, *start = o, *end = cfg->arena + cfg->arena_cap - 1;
	for (const char *p = raw; *p;) {
		if (p[0] == '$' && p[1] == '$') {
			if (o >= end)
				goto full;
			*o++ = '$';
			p += 2;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			if (o >= end)
				goto full;
			*o++ = *p++;
			continue;
		}
		const char *close = strchr(p, '}');
		if (!close)
			return cfg_error(c, tok, "unterminated \"${\" (write \"$${\" for a literal)");
		char name[128];
		const char *dflt = NULL;
		size_t dlen = 0, nlen = (size_t)(close - p - 2);
		const char *sep = memchr(p + 2, ':', nlen);
		if (sep && sep[1] == '-') {
			dflt = sep + 2;
			dlen = (size_t)(close - dflt);
			nlen = (size_t)(sep - p - 2);
		}
		if (nlen == 0 || nlen >= sizeof name)
			return cfg_error(c, tok, "bad variable name in \"${...}\"");
		memcpy(name, p + 2, nlen);
		name[nlen] = 0;
		for (size_t k = 0; k < nlen; k++) {
			char ch = name[k];
			if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_' ||
				    (k > 0 && ch >= '0' && ch <= '9')))
				return cfg_error(c, tok, "bad variable name \"%s\" in \"${...}\"", name);
		}
		const char *val = plat_getenv(name);
		size_t vlen;
		if (val && *val) {
			vlen = strlen(val);
		} else if (dflt) {
			val = dflt;
			vlen = dlen;
		} else {
			return cfg_error(c, tok,
				"environment variable %s is not set; set it or give a default: "
				"\"${%s:-value}\"", name, name);
		}
		if ((size_t)(end - o) < vlen)
			goto full;
		memcpy(o, val, vlen);
		o += vlen;
		p = close + 1;
	}
	*o = 0;
	/* move the expanded text down over the raw copy and keep it */
	size_t len = (size_t)(o - start);
	memmove(raw, start, len + 1);
	cfg->arena_len += len + 1;
	*out = raw;
	return 0;
full:
	return cfg_error(c, tok, "configuration strings exceed %zu bytes", cfg->arena_cap);
}

struct cfg_block {
	struct cfg_block *next;
	max_align_t data[];
};

void *cfg_alloc(struct cfg_ctx *c, int tok, size_t size)
{
	struct cfg_block *b = calloc(1, sizeof *b + size);
	if (!b) {
		cfg_error(c, tok, "out of memory");
		return NULL;
	}
	b->next = c->cfg->blocks;
	c->cfg->blocks = b;
	return b->data;
}

const char *cfg_store(struct cfg_ctx *c, const char *s, size_t n)
{
	struct cfg *cfg = c->cfg;
	if (cfg->arena_len + n + 1 > cfg->arena_cap)
		return NULL;
	char *p = cfg->arena + cfg->arena_len;
	memcpy(p, s, n);
	p[n] = 0;
	cfg->arena_len += n + 1;
	return p;
}

int cfg_scalar(struct cfg_ctx *c, int tok, const char **out, char *tmp, size_t cap);

/* ---- scalars ---- */

int cfg_parse_duration(const char *s, uint64_t *us)
{
	uint64_t total = 0;
	OP_CHECK(*s, OP_EINVAL);
	if (!strcmp(s, "0")) /* nothing needs a unit (as Go's durations, which operators know) */
		return *us = 0, 0;
	while (*s) {
		double v = 0, scale = 1;
		int digits = 0, dot = 0;
		for (; (*s >= '0' && *s <= '9') || (*s == '.' && !dot); s++) {
			if (*s == '.') {
				dot = 1;
				continue;
			}
			digits++;
			if (dot)
				v += (*s - '0') * (scale /= 10);
			else
				v = v * 10 + (*s - '0');
		}
		OP_CHECK(digits, OP_EINVAL);
		double unit;
		if (!strncmp(s, "ms", 2))
			unit = 1e3, s += 2;
		else if (!strncmp(s, "us", 2))
			unit = 1, s += 2;
		else if (*s == 's')
			unit = 1e6, s++;
		else if (*s == 'm')
			unit = 60e6, s++;
		else if (*s == 'h')
			unit = 3600e6, s++;
		else if (*s == 'd') /* days and weeks of 24 h, as Prometheus's durations have them */
			unit = 86400e6, s++;
		else if (*s == 'w')
			unit = 604800e6, s++;
		else
			return OP_EINVAL;
		OP_CHECK(v * unit < 1e15, OP_EINVAL);
		total += (uint64_t)(v * unit + 0.5);
	}
	*us = total;
	return 0;
}

static int cfg_error_off(struct cfg_ctx *c, size_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = error_at(c, off, fmt, ap);
	va_end(ap);
	return rc;
}

static void fmt_duration(uint64_t us, char *buf, size_t cap)
{
	if (us % 3600000000u == 0 && us)
		snprintf(buf, cap, "%lluh", (unsigned long long)(us / 3600000000u));
	else if (us % 60000000u == 0 && us)
		snprintf(buf, cap, "%llum", (unsigned long long)(us / 60000000u));
	else if (us % 1000000u == 0)
		snprintf(buf, cap, "%llus", (unsigned long long)(us / 1000000u));
	else
		snprintf(buf, cap, "%llums", (unsigned long long)(us / 1000u));
}

/* A scalar token's text after expansion (primitives are taken as written). */
int cfg_scalar(struct cfg_ctx *c, int tok, const char **out, char *tmp, size_t cap)
{
	const jsmntok_t *t = &c->t[tok];
	if (t->type == JSMN_STRING)
		return cfg_string(c, tok, out);
	if (t->type != JSMN_PRIMITIVE)
		return cfg_error(c, tok, "expected a value, not an %s",
			t->type == JSMN_OBJECT ? "object" : "array");
	size_t n = (size_t)(t->end - t->start);
	if (n >= cap)
		n = cap - 1;
	memcpy(tmp, c->text + t->start, n);
	tmp[n] = 0;
	*out = tmp;
	return 0;
}

static int read_value(struct cfg_ctx *c, int tok, const struct cfg_key *k, void *field)
{
	char tmp[64];
	const char *s;
	int rc;
	switch (k->type) {
	case CFG_STR:
		if (c->t[tok].type != JSMN_STRING)
			return cfg_error(c, tok, "\"%s\" takes a string", k->key);
		if ((rc = cfg_string(c, tok, &s)) != 0)
			return rc;
		if (k->max && (int64_t)strlen(s) > k->max)
			return cfg_error(c, tok, "\"%s\" is longer than %lld characters", k->key,
				(long long)k->max);
		if (k->required && !*s)
			return cfg_error(c, tok, "\"%s\" must not be empty", k->key);
		*(const char **)field = s;
		return 0;
	case CFG_DUR: {
		uint64_t us;
		if ((rc = cfg_scalar(c, tok, &s, tmp, sizeof tmp)) != 0)
			return rc;
		int bad = cfg_parse_duration(s, &us) != 0;
		if (bad && *s && strspn(s, "0123456789") == strlen(s))
			return cfg_error(c, tok, "\"%s\": %s has no unit; write \"%ss\" (or \"%sms\", "
				"\"%sm\")", k->key, s, s, s, s);
		if (bad)
			return cfg_error(c, tok,
				"\"%s\": \"%s\" is not a duration; write e.g. \"500ms\", \"30s\", "
				"\"5m\" or \"1h\"", k->key, s);
		char lo[24], hi[24];
		fmt_duration((uint64_t)k->min, lo, sizeof lo);
		fmt_duration((uint64_t)k->max, hi, sizeof hi);
		if ((k->min && us < (uint64_t)k->min) || (k->max && us > (uint64_t)k->max))
			return cfg_error(c, tok, "\"%s\" must be between %s and %s", k->key, lo, hi);
		*(uint64_t *)field = us;
		return 0;
	}
	case CFG_UINT: {
		if ((rc = cfg_scalar(c, tok, &s, tmp, sizeof tmp)) != 0)
			return rc;
		char *e;
		unsigned long long v = strtoull(s, &e, 10);
		if (!*s || *e || *s == '-')
			return cfg_error(c, tok, "\"%s\" takes a whole number, not \"%s\"", k->key, s);
		if ((int64_t)v < k->min || (int64_t)v > k->max)
			return cfg_error(c, tok, "\"%s\" must be between %lld and %lld (got %llu)",
				k->key, (long long)k->min, (long long)k->max, v);
		*(uint32_t *)field = (uint32_t)v;
		return 0;
	}
	case CFG_BOOL:
		if ((rc = cfg_scalar(c, tok, &s, tmp, sizeof tmp)) != 0)
			return rc;
		if (strcmp(s, "true") && strcmp(s, "false"))
			return cfg_error(c, tok, "\"%s\" takes true or false", k->key);
		*(uint8_t *)field = s[0] == 't';
		return 0;
	case CFG_FN:
		return k->fn(c, tok, field);
	case CFG_OBJ: {
		char what[48];
		snprintf(what, sizeof what, "\"%s\"", k->key);
		return cfg_object(c, tok, what, k->sub, k->nsub, field, NULL, 0, NULL);
	}
	}
	return OP_EINVAL;
}

int cfg_object(struct cfg_ctx *c, int tok, const char *what, const struct cfg_key *keys,
	size_t nkeys, void *base, const struct cfg_key *keys2, size_t nkeys2, void *base2)
{
	if (c->t[tok].type != JSMN_OBJECT)
		return cfg_error(c, tok, "%s must be an object ({...})", what);
	uint64_t seen = 0; /* bit per key, tables up to 64 keys together */
	OP_ASSERT(nkeys + nkeys2 <= 64);
	int i = tok + 1;
	for (int n = 0; n < c->t[tok].size; n++) {
		int kt = i, vt = i + 1;
		const struct cfg_key *k = NULL;
		void *b = NULL;
		size_t idx = 0;
		for (size_t j = 0; j < nkeys + nkeys2 && !k; j++) {
			const struct cfg_key *cand = j < nkeys ? &keys[j] : &keys2[j - nkeys];
			if (json_eq(c->text, &c->t[kt], cand->key)) {
				k = cand;
				b = j < nkeys ? base : base2;
				idx = j;
			}
		}
		if (!k) {
			const char *names[64];
			size_t nn = 0;
			for (size_t j = 0; j < nkeys; j++)
				names[nn++] = keys[j].key;
			for (size_t j = 0; j < nkeys2; j++)
				names[nn++] = keys2[j].key;
			char key[64];
			int kl = c->t[kt].end - c->t[kt].start;
			snprintf(key, sizeof key, "%.*s", kl, c->text + c->t[kt].start);
			const char *near = cfg_nearest(key, names, nn);
			if (near)
				return cfg_error(c, kt, "unknown key \"%s\" in %s; did you mean \"%s\"?",
					key, what, near);
			char list[512];
			size_t w = 0;
			for (size_t j = 0; j < nn && w + 40 < sizeof list; j++)
				w += (size_t)snprintf(list + w, sizeof list - w, "%s\"%s\"", j ? ", " : "",
					names[j]);
			return cfg_error(c, kt, "unknown key \"%s\" in %s; known keys: %s", key, what,
				list);
		}
		if (seen & (1ull << idx))
			return cfg_error(c, kt, "\"%s\" is given twice in %s", k->key, what);
		seen |= 1ull << idx;
		int rc = read_value(c, vt, k, (char *)b + k->off);
		if (rc)
			return rc;
		i = json_skip(c->t, c->ntok, vt);
	}
	for (size_t j = 0; j < nkeys + nkeys2; j++) {
		const struct cfg_key *k = j < nkeys ? &keys[j] : &keys2[j - nkeys];
		if (k->required && !(seen & (1ull << j)))
			return cfg_error(c, tok, "%s is missing \"%s\"", what, k->key);
	}
	return 0;
}

int cfg_tls_add(struct cfg_ctx *c, int tok, const struct cfg_tls *t)
{
	struct cfg *cfg = c->cfg;
	for (uint32_t i = 0; i < cfg->ntls; i++)
		if (!strcmp(cfg->tls[i].ca, t->ca) && !strcmp(cfg->tls[i].cert, t->cert) &&
			!strcmp(cfg->tls[i].key, t->key))
			return (int)i;
	if (cfg->ntls == OP_ARRAY_LEN(cfg->tls))
		return cfg_error(c, tok, "at most %zu different TLS setups (CA file, client "
			"certificate and key)", OP_ARRAY_LEN(cfg->tls));
	const char *files[] = {t->ca, t->cert, t->key};
	int64_t bytes = 0;
	for (int i = 0; i < 3; i++) {
		int64_t size = *files[i] ? plat_file_size(files[i]) : 0;
		if (size < 0 && i == 0)
			return cfg_error(c, tok, "CA file \"%s\" cannot be read; install "
				"ca-certificates, set \"ca_file\" in \"tls\", or set "
				"\"insecure_skip_verify\": true", t->ca);
		if (size < 0)
			return cfg_error(c, tok, "%s \"%s\" cannot be read", i == 1 ?
				"client certificate (tls.cert_file)" : "client key (tls.key_file)",
				files[i]);
		bytes += size;
	}
	cfg->tls[cfg->ntls] = *t;
	cfg->tls[cfg->ntls].bytes = (uint32_t)OP_MIN(bytes, 64 * 1024 * 1024);
	return (int)cfg->ntls++;
}

void cfg_tls_resume(struct cfg_ctx *c)
{
	c->cfg->tls_resume++;
}

void cfg_inflater(struct cfg_ctx *c)
{
	c->cfg->inflaters++;
}

int cfg_tok_type(struct cfg_ctx *c, int tok)
{
	return c->t[tok].type;
}

int cfg_tok_size(struct cfg_ctx *c, int tok)
{
	return c->t[tok].size;
}

int cfg_tok_next(struct cfg_ctx *c, int tok)
{
	return json_skip(c->t, c->ntok, tok);
}

int cfg_items(struct cfg_ctx *c, int tok, int *n)
{
	int array = c->t[tok].type == JSMN_ARRAY;
	*n = array ? c->t[tok].size : 1;
	return array ? tok + 1 : tok;
}

/* ---- the schema ---- */

static int read_labels(struct cfg_ctx *c, int tok, void *field)
{
	(void)field;
	struct cfg *cfg = c->cfg;
	if (c->t[tok].type != JSMN_OBJECT)
		return cfg_error(c, tok, "\"labels\" must be an object of name: value strings");
	int i = tok + 1;
	for (int n = 0; n < c->t[tok].size; n++) {
		if (cfg->nlabels >= OP_MAX_LABELS)
			return cfg_error(c, i, "at most %d labels", OP_MAX_LABELS);
		const char *k, *v;
		int rc = cfg_string(c, i, &k);
		if (rc)
			return rc;
		static const char *const reserved[] = {"probe", "kind", "target", "appliance",
			"region", "le", "quantile", "result", "phase", "pool", "reason", "job",
			"instance"};
		int ok = strlen(k) < OP_NAME_MAX && ((*k >= 'a' && *k <= 'z') || (*k >= 'A' &&
			*k <= 'Z') || *k == '_');
		for (const char *p = k; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
				(*p >= '0' && *p <= '9');
		if (!ok)
			return cfg_error(c, i, "label name \"%s\" must match [a-zA-Z_][a-zA-Z0-9_]*", k);
		for (size_t r = 0; r < OP_ARRAY_LEN(reserved); r++)
			if (!strcmp(k, reserved[r]))
				return cfg_error(c, i, "label name \"%s\" is used by outpost itself", k);
		if (c->t[i + 1].type != JSMN_STRING)
			return cfg_error(c, i + 1, "label \"%s\" takes a string value", k);
		if ((rc = cfg_string(c, i + 1, &v)) != 0)
			return rc;
		if (strlen(v) >= OP_NAME_MAX)
			return cfg_error(c, i + 1, "label values are at most %d characters",
				OP_NAME_MAX - 1);
		cfg->labels[cfg->nlabels].key = k;
		cfg->labels[cfg->nlabels].value = v;
		cfg->nlabels++;
		i = json_skip(c->t, c->ntok, i + 1);
	}
	return 0;
}

static const struct cfg_key appliance_keys[] = {
	{"name", CFG_STR, 0, offsetof(struct cfg, name), 0, OP_NAME_MAX - 1, NULL},
	{"region", CFG_STR, 0, offsetof(struct cfg, region), 0, OP_NAME_MAX - 1, NULL},
	{"labels", CFG_FN, 0, 0, 0, 0, read_labels},
};

static int read_listen(struct cfg_ctx *c, int tok, void *field)
{
	const char *s;
	char host[64];
	uint16_t port;
	int rc = cfg_string(c, tok, &s);
	if (rc)
		return rc;
	if (*s && net_split_hostport(s, host, sizeof host, 0, &port) != 0)
		return cfg_error(c, tok, "\"listen\" must be \"ip:port\" (e.g. \"127.0.0.1:8080\", "
			"\"[::1]:8080\", \"0.0.0.0:8080\"), or \"\" for no web server");
	*(const char **)field = s;
	return 0;
}

static const struct cfg_key web_keys[] = {
	{"listen", CFG_FN, 0, offsetof(struct cfg, listen), 0, 0, read_listen},
	{"token", CFG_STR, 0, offsetof(struct cfg, token), 0, 128, NULL},
	{"user", CFG_STR, 0, offsetof(struct cfg, page_user), 0, 64, NULL},
	{"password", CFG_STR, 0, offsetof(struct cfg, page_password), 0, 128, NULL},
	{"threads", CFG_UINT, 0, offsetof(struct cfg, web_threads), 3, OP_WEB_THREADS_MAX, NULL},
};

static const struct cfg_key spool_keys[] = {
	{"dir", CFG_STR, 0, offsetof(struct cfg, spool_dir), 0, 200, NULL},
	{"max_bytes", CFG_UINT, 0, offsetof(struct cfg, spool_max_bytes), 65536, 4000000000ll, NULL},
	{"flush_every", CFG_DUR, 0, offsetof(struct cfg, spool_flush_us), 10000, 3600000000ll, NULL},
};

static int read_spool(struct cfg_ctx *c, int tok, void *f)
{
	(void)f;
	uint32_t before = c->cfg->spool_max_bytes;
	c->cfg->spool_max_bytes = 0;
	int rc = cfg_object(c, tok, "\"spool\"", spool_keys, OP_ARRAY_LEN(spool_keys), c->cfg,
		NULL, 0, NULL);
	c->cfg->spool_max_set = c->cfg->spool_max_bytes != 0;
	if (!c->cfg->spool_max_bytes)
		c->cfg->spool_max_bytes = before;
	return rc;
}

static const struct cfg_key logs_keys[] = {
	{"dir", CFG_STR, 0, offsetof(struct cfg, logs_dir), 0, 200, NULL},
	{"max_bytes", CFG_UINT, 0, offsetof(struct cfg, logs_max_bytes), 4096, 4000000000ll, NULL},
	{"max_objects", CFG_UINT, 0, offsetof(struct cfg, logs_max_objects), 1, 100000, NULL},
};

static int read_logs(struct cfg_ctx *c, int tok, void *f)
{
	(void)f;
	return cfg_object(c, tok, "\"logs\"", logs_keys, OP_ARRAY_LEN(logs_keys), c->cfg, NULL, 0,
		NULL);
}

static const struct cfg_key limits_keys[] = {
	{"max_probes", CFG_UINT, 0, offsetof(struct cfg, max_probes), 1, OP_MAX_PROBES, NULL},
	{"max_inflight", CFG_UINT, 0, offsetof(struct cfg, max_inflight), 1, OP_MAX_INFLIGHT, NULL},
	{"history", CFG_UINT, 0, offsetof(struct cfg, history), 1, OP_MAX_HISTORY, NULL},
};

/* "objective": {"availability": 0.99, "latency": {"p": 0.95, "max": "300ms"},
 *               "windows": ["5m", "1h", "24h"]} */
static int read_ratio(struct cfg_ctx *c, int tok, const char *what, double *out)
{
	char tmp[64];
	const char *s;
	int rc = cfg_scalar(c, tok, &s, tmp, sizeof tmp);
	if (rc)
		return rc;
	char *e;
	double v = strtod(s, &e);
	if (!*s || *e || !(v > 0 && v < 1))
		return cfg_error(c, tok, "\"%s\" is a share between 0 and 1, e.g. 0.99", what);
	*out = v;
	return 0;
}

static int read_objective(struct cfg_ctx *c, int tok, void *field)
{
	struct slo_target *t = field;
	memset(t, 0, sizeof *t);
	if (c->t[tok].type != JSMN_OBJECT)
		return cfg_error(c, tok, "\"objective\" must be an object");
	int i = tok + 1, have_windows = 0;
	for (int n = 0; n < c->t[tok].size; n++, i = json_skip(c->t, c->ntok, i + 1)) {
		int v = i + 1, rc = 0;
		if (json_eq(c->text, &c->t[i], "availability")) {
			rc = read_ratio(c, v, "availability", &t->availability);
		} else if (json_eq(c->text, &c->t[i], "latency")) {
			if (c->t[v].type != JSMN_OBJECT)
				return cfg_error(c, v, "\"latency\" takes {\"p\": 0.95, \"max\": \"300ms\"}");
			int k = v + 1;
			for (int m = 0; m < c->t[v].size; m++, k = json_skip(c->t, c->ntok, k + 1)) {
				if (json_eq(c->text, &c->t[k], "p")) {
					rc = read_ratio(c, k + 1, "p", &t->latency_p);
				} else if (json_eq(c->text, &c->t[k], "max")) {
					const char *d;
					rc = cfg_string(c, k + 1, &d);
					if (!rc && (cfg_parse_duration(d, &t->latency_max_us) ||
						    !t->latency_max_us))
						rc = cfg_error(c, k + 1, "\"max\" is a duration, e.g. \"300ms\"");
				} else {
					return cfg_error(c, k, "unknown key in \"latency\"; it takes \"p\" and "
						"\"max\"");
				}
				if (rc)
					return rc;
			}
			if (!t->latency_p || !t->latency_max_us)
				return cfg_error(c, v, "\"latency\" needs both \"p\" and \"max\"");
		} else if (json_eq(c->text, &c->t[i], "windows")) {
			if (c->t[v].type != JSMN_ARRAY || c->t[v].size < 1 ||
				c->t[v].size > SLO_MAX_WINDOWS)
				return cfg_error(c, v, "\"windows\" is a list of 1 to %d durations",
					SLO_MAX_WINDOWS);
			int k = v + 1;
			for (int m = 0; m < c->t[v].size; m++, k = json_skip(c->t, c->ntok, k)) {
				const char *d;
				uint64_t us;
				rc = cfg_string(c, k, &d);
				if (rc)
					return rc;
				if (cfg_parse_duration(d, &us) || us % 60000000u || !us ||
					us / 60000000u > OP_SLO_MAX_MINUTES)
					return cfg_error(c, k, "window \"%s\" must be whole minutes up to %dh",
						d, OP_SLO_MAX_MINUTES / 60);
				uint32_t w = (uint32_t)(us / 60000000u);
				if (m && w <= t->win_min[m - 1])
					return cfg_error(c, k, "list the windows from shortest to longest");
				t->win_min[t->nwin++] = w;
			}
			have_windows = 1;
		} else {
			char key[32];
			snprintf(key, sizeof key, "%.*s", c->t[i].end - c->t[i].start,
				c->text + c->t[i].start);
			static const char *const names[] = {"availability", "latency", "windows"};
			char hint[96];
			return cfg_error(c, i, "unknown key \"%s\" in \"objective\"%s", key,
				cfg_did_you_mean(hint, sizeof hint, key, names, 3, 0));
		}
		if (rc)
			return rc;
	}
	if (!t->availability && !t->latency_p)
		return cfg_error(c, tok, "\"objective\" needs \"availability\" or \"latency\"");
	if (!have_windows) {
		t->nwin = 3;
		t->win_min[0] = 5, t->win_min[1] = 60, t->win_min[2] = 1440;
	}
	return 0;
}

/* "ip_protocol": "auto" (0), "ip4" (4) or "ip6" (6) */
static int read_ip_protocol(struct cfg_ctx *c, int tok, void *field)
{
	const char *v;
	int rc = cfg_string(c, tok, &v);
	if (rc)
		return rc;
	uint8_t *out = field;
	*out = !strcmp(v, "ip4") ? 4 : !strcmp(v, "ip6") ? 6 : 0;
	if (!*out && strcmp(v, "auto"))
		return cfg_error(c, tok, "\"ip_protocol\" is \"auto\" (IPv4, else IPv6), \"ip4\" or "
			"\"ip6\", not \"%s\"", v);
	return 0;
}

/* "groups": ["nightly", "storage"], kept as JSON text for the events that carry it */
static int read_groups(struct cfg_ctx *c, int tok, void *field)
{
	int n = c->t[tok].size;
	if (c->t[tok].type != JSMN_ARRAY || n > 16)
		return cfg_error(c, tok, "\"groups\" is a list of up to 16 names");
	char buf[1024];
	size_t w = 0;
	buf[w++] = '[';
	int i = tok + 1;
	for (int k = 0; k < n; k++, i = json_skip(c->t, c->ntok, i)) {
		const char *g;
		int rc = cfg_string(c, i, &g);
		if (rc)
			return rc;
		char q[160];
		if (strlen(g) > 64)
			return cfg_error(c, i, "group names are at most 64 characters");
		json_quote(q, sizeof q, g);
		if (w + strlen(q) + 3 > sizeof buf)
			return cfg_error(c, i, "too many groups");
		w += (size_t)snprintf(buf + w, sizeof buf - w, "%s%s", k ? "," : "", q);
	}
	buf[w++] = ']';
	*(const char **)field = cfg_store(c, buf, w);
	return *(const char **)field ? 0 : cfg_error(c, tok, "configuration too large");
}

static const struct cfg_key probe_keys[] = {
	{"name", CFG_STR, 1, offsetof(struct cfg_probe, name), 0, OP_NAME_MAX - 1, NULL},
	{"kind", CFG_STR, 1, offsetof(struct cfg_probe, kind), 0, 15, NULL},
	{"target", CFG_STR, 1, offsetof(struct cfg_probe, target), 0, OP_TARGET_MAX - 1, NULL},
	{"interval", CFG_DUR, 0, offsetof(struct cfg_probe, interval_us), 100000, 86400000000ll,
		NULL},
	{"timeout", CFG_DUR, 0, offsetof(struct cfg_probe, timeout_us), 1000, 3600000000ll, NULL},
	{"delay", CFG_DUR, 0, offsetof(struct cfg_probe, delay_us), 100000, 86400000000ll, NULL},
	{"objective", CFG_FN, 0, offsetof(struct cfg_probe, objective), 0, 0, read_objective},
	{"disabled", CFG_BOOL, 0, offsetof(struct cfg_probe, disabled), 0, 1, NULL},
	{"service", CFG_STR, 0, offsetof(struct cfg_probe, service), 0, OP_NAME_MAX - 1, NULL},
	{"groups", CFG_FN, 0, offsetof(struct cfg_probe, groups), 0, 0, read_groups},
	{"ip_protocol", CFG_FN, 0, offsetof(struct cfg_probe, ip_protocol), 0, 0, read_ip_protocol},
};

/* Once the kind has read its URL: a password in it is not shown again (the dashboard, the API,
 * metrics labels, exported results): "https://user:secret@host/" becomes
 * "https://user@host/". */
static int hide_password(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	size_t at;
	const char *t = p->target, *ui = t ? net_url_userinfo(t, &at) : NULL;
	const char *colon = ui ? memchr(ui, ':', at) : NULL;
	if (!colon)
		return 0;
	char buf[OP_TARGET_MAX];
	int n = snprintf(buf, sizeof buf, "%.*s%s", (int)(colon - t), t, ui + at);
	p->target = cfg_store(c, buf, (size_t)n);
	return p->target ? 0 : cfg_error(c, tok, "configuration too large");
}

static int read_probe(struct cfg_ctx *c, int tok, struct cfg_probe *p, int index)
{
	char what[96];
	snprintf(what, sizeof what, "probe #%d", index + 1);
	if (c->t[tok].type != JSMN_OBJECT)
		return cfg_error(c, tok, "%s must be an object ({...})", what);
	int line, col;
	line_col(c->text, (size_t)c->t[tok].start, &line, &col);
	p->line = line;
	/* the kind decides which other keys are allowed, so find it first */
	int i = tok + 1, kind_tok = -1;
	for (int n = 0; n < c->t[tok].size; n++) {
		if (json_eq(c->text, &c->t[i], "kind"))
			kind_tok = i + 1;
		if (json_eq(c->text, &c->t[i], "name") && c->t[i + 1].type == JSMN_STRING) {
			const char *name;
			if (cfg_string(c, i + 1, &name) == 0)
				snprintf(what, sizeof what, "probe \"%s\"", name);
		}
		i = json_skip(c->t, c->ntok, i + 1);
	}
	if (kind_tok < 0)
		return cfg_error(c, tok, "%s is missing \"kind\"", what);
	const char *kind;
	int rc = cfg_string(c, kind_tok, &kind);
	if (rc)
		return rc;
	p->ops = probe_kind_find(kind);
	if (!p->ops) {
		const char *names[32];
		size_t nn = 0;
		char list[256];
		size_t w = 0;
		for (const struct probe_ops *const *k = probe_registry; *k && nn < 32; k++) {
			names[nn++] = (*k)->kind;
			w += (size_t)snprintf(list + w, sizeof list - w, "%s\"%s\"", w ? ", " : "",
				(*k)->kind);
		}
		const char *near = cfg_nearest(kind, names, nn);
		if (near)
			return cfg_error(c, kind_tok, "unknown probe kind \"%s\"; did you mean \"%s\"?",
				kind, near);
		return cfg_error(c, kind_tok, "unknown probe kind \"%s\"; known kinds: %s", kind,
			list);
	}
	rc = cfg_object(c, tok, what, probe_keys, OP_ARRAY_LEN(probe_keys), p, p->ops->keys,
		p->ops->nkeys, p->conf);
	if (rc)
		return rc;
	for (const char *s = p->name; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
			    *s == '_' || *s == '-' || *s == '.'))
			return cfg_error(c, tok, "%s: names use letters, digits, '_', '-' and '.'", what);
	}
	if (!p->service)
		p->service = p->name;
	if (!p->groups)
		p->groups = "[]";
	if (p->delay_us && p->interval_us)
		return cfg_error(c, tok, "%s: \"interval\" (runs start on a fixed cadence) or "
			"\"delay\" (the next run starts this long after one ends), not both", what);
	if (p->delay_us)
		p->interval_us = p->delay_us; /* for spreading the first runs and sizing tables */
	if (!p->interval_us)
		p->interval_us = 30000000;
	if (!p->timeout_us)
		p->timeout_us = OP_MIN(5000000, p->interval_us);
	if (p->timeout_us > p->interval_us && !p->delay_us) {
		char t[24], iv[24];
		fmt_duration(p->timeout_us, t, sizeof t);
		fmt_duration(p->interval_us, iv, sizeof iv);
		return cfg_error(c, tok,
			"%s: timeout %s is longer than its interval %s; lower \"timeout\" or raise "
			"\"interval\"", what, t, iv);
	}
	rc = p->ops->configure ? p->ops->configure(c, tok, p) : 0;
	return rc ? rc : hide_password(c, tok, p);
}

static int read_probes(struct cfg_ctx *c, int tok, void *field)
{
	(void)field;
	struct cfg *cfg = c->cfg;
	if (c->t[tok].type != JSMN_ARRAY)
		return cfg_error(c, tok, "\"probes\" must be an array ([...])");
	uint32_t n = (uint32_t)c->t[tok].size;
	if (n > cfg->max_probes)
		return cfg_error(c, tok,
			"%u probes configured but limits.max_probes is %u; raise \"max_probes\" in "
			"\"limits\" (this board allows up to %d)", n, cfg->max_probes, OP_MAX_PROBES);
	cfg->probes = calloc(n ? n : 1, sizeof *cfg->probes);
	if (!cfg->probes)
		return cfg_error(c, tok, "out of memory for %u probes", n);
	int i = tok + 1;
	for (uint32_t k = 0; k < n; k++) {
		int rc = read_probe(c, i, &cfg->probes[k], (int)k);
		if (rc)
			return rc;
		for (uint32_t j = 0; j < k; j++)
			if (!strcmp(cfg->probes[j].name, cfg->probes[k].name))
				return cfg_error(c, i, "probe name \"%s\" is already used on line %d",
					cfg->probes[k].name, cfg->probes[j].line);
		cfg->nprobes++;
		i = json_skip(c->t, c->ntok, i);
	}
	return 0;
}

static int read_section(struct cfg_ctx *c, int tok, const char *what, const struct cfg_key *k,
	size_t n)
{
	return cfg_object(c, tok, what, k, n, c->cfg, NULL, 0, NULL);
}

static int read_appliance(struct cfg_ctx *c, int tok, void *f)
{
	(void)f;
	return read_section(c, tok, "\"appliance\"", appliance_keys, OP_ARRAY_LEN(appliance_keys));
}

static int read_web(struct cfg_ctx *c, int tok, void *f)
{
	(void)f;
	struct cfg *cfg = c->cfg;
	int rc = read_section(c, tok, "\"web\"", web_keys, OP_ARRAY_LEN(web_keys));
	if (rc)
		return rc;
	if (!cfg->page_user != !cfg->page_password)
		return cfg_error(c, tok, "\"user\" and \"password\" go together: set both or neither");
	if (cfg->page_user && strchr(cfg->page_user, ':'))
		return cfg_error(c, tok, "\"user\" must not contain ':'");
	return 0;
}

static int read_limits(struct cfg_ctx *c, int tok, void *f)
{
	(void)f;
	int rc = read_section(c, tok, "\"limits\"", limits_keys, OP_ARRAY_LEN(limits_keys));
	if (rc == 0 && c->cfg->max_inflight > c->cfg->max_probes)
		c->cfg->max_inflight = c->cfg->max_probes;
	return rc;
}

/* "modules": {"NAME": {probe keys but name and target}, ...}. Each template is checked by
 * loading it as a probe with an example target, and kept as text for on-demand runs. */
static int read_modules(struct cfg_ctx *c, int tok, void *f)
{
	(void)f;
	struct cfg *cfg = c->cfg;
	if (c->t[tok].type != JSMN_OBJECT)
		return cfg_error(c, tok, "\"modules\" must be an object of name: {probe settings}");
	int i = tok + 1;
	for (int n = 0; n < c->t[tok].size; n++, i = json_skip(c->t, c->ntok, i + 1)) {
		if (cfg->nmodules == OP_MAX_MODULES)
			return cfg_error(c, i, "at most %d modules", OP_MAX_MODULES);
		struct cfg_module *m = &cfg->modules[cfg->nmodules];
		int rc = cfg_string(c, i, &m->name);
		if (rc)
			return rc;
		int obj = i + 1;
		if (c->t[obj].type != JSMN_OBJECT)
			return cfg_error(c, obj, "module \"%s\" must be an object", m->name);
		/* copy the members except "timeout", which each request sets */
		char *text = malloc((size_t)(c->t[obj].end - c->t[obj].start) + 1);
		size_t w = 0;
		if (!text)
			return cfg_error(c, obj, "out of memory");
		int k = obj + 1;
		for (int j = 0; j < c->t[obj].size; j++, k = json_skip(c->t, c->ntok, k + 1)) {
			const jsmntok_t *kt = &c->t[k], *vt = &c->t[k + 1];
			if (json_eq(c->text, kt, "name") || json_eq(c->text, kt, "target")) {
				free(text);
				return cfg_error(c, k, "module \"%s\": \"name\" and \"target\" come "
					"from each request; remove them", m->name);
			}
			if (json_eq(c->text, kt, "timeout")) {
				const char *d;
				rc = cfg_string(c, k + 1, &d);
				if (rc || cfg_parse_duration(d, &m->timeout_us)) {
					free(text);
					return rc ? rc : cfg_error(c, k + 1, "module \"%s\": bad timeout",
						m->name);
				}
				continue;
			}
			int from = kt->start - 1, to = vt->end + (vt->type == JSMN_STRING);
			w += (size_t)snprintf(text + w, (size_t)(c->t[obj].end - c->t[obj].start) + 1 - w,
				"%s%.*s", w ? "," : "", to - from, c->text + from);
		}
		m->members = cfg_store(c, text, w);
		free(text);
		if (!m->members)
			return cfg_error(c, obj, "configuration too large");
		/* check it as a probe */
		struct cfg probe;
		char err[512];
		rc = cfg_module_load(&probe, m, NULL, 5000000, err, sizeof err);
		if (rc)
			return cfg_error(c, obj, "module \"%s\": %s", m->name, cfg_error_text(err));
		m->kind = probe.probes[0].ops->kind;
		if (probe.inflaters) /* its runs, each of a target /probe names, may all decode */
			cfg->inflaters += OP_MAX_INFLIGHT;
		for (uint32_t s = 0; s < probe.ntls && rc >= 0; s++) {
			const struct cfg_tls *t = &probe.tls[s];
			struct cfg_tls kept = {cfg_store(c, t->ca, strlen(t->ca)),
				cfg_store(c, t->cert, strlen(t->cert)), cfg_store(c, t->key, strlen(t->key))};
			rc = kept.ca && kept.cert && kept.key ? cfg_tls_add(c, obj, &kept) :
				cfg_error(c, obj, "configuration too large");
		}
		cfg_free(&probe);
		if (rc < 0)
			return rc;
		cfg->nmodules++;
	}
	return 0;
}

int cfg_module_load(struct cfg *out, const struct cfg_module *m, const char *target,
	uint64_t timeout_us, char *err, size_t errcap)
{
	/* the kind comes from the members; the example target of that kind stands in */
	char *text = NULL;
	const char *kind_at = strstr(m->members, "\"kind\"");
	char kind[16] = "";
	if (kind_at && sscanf(kind_at, "\"kind\" : \"%15[a-z]\"", kind) != 1)
		kind[0] = 0; /* a space in a scanf format matches any white space, or none */
	const struct probe_ops *ops = probe_kind_find(kind);
	if (!target)
		target = ops && ops->example_target ? ops->example_target : "module.invalid";
	/* blackbox_exporter takes an http target without a scheme as http:// (its README asks
	 * for ?target=google.com): scrape configs written for it list bare host names */
	char url[OP_TARGET_MAX + 8];
	if (!strcmp(kind, "http") && !strstr(target, "://")) {
		snprintf(url, sizeof url, "http://%s", target);
		target = url;
	}
	size_t cap = strlen(m->members) + strlen(target) * 2 + 256;
	text = malloc(cap);
	if (!text) {
		snprintf(err, errcap, "out of memory");
		return OP_ENOMEM;
	}
	char t[OP_TARGET_MAX * 2 + 8];
	json_quote(t, sizeof t, target);
	unsigned ms = (unsigned)((timeout_us + 999) / 1000);
	int n = snprintf(text, cap, "{\"web\":{\"listen\":\"\"},\"limits\":{\"max_probes\":1,"
		"\"max_inflight\":1,\"history\":1},\"probes\":[{\"name\":\"probe\",\"target\":%s,"
		"\"timeout\":\"%ums\",\"interval\":\"%ums\",%s}]}", t, ms, ms, m->members);
	int rc = cfg_load_text(out, m->name, text, (size_t)n, err, errcap);
	free(text);
	return rc;
}


/* ---- alarms, notification channels, silences ---- */

static int read_when(struct cfg_ctx *c, int tok, void *field)
{
	static const char *const names[] = {"failures", "availability_below", "latency_above",
		"cert_expires_within"};
	const char *w;
	int rc = cfg_string(c, tok, &w);
	if (rc)
		return rc;
	for (size_t i = 0; i < OP_ARRAY_LEN(names); i++) {
		if (!strcmp(w, names[i])) {
			*(uint8_t *)field = (uint8_t)i;
			return 0;
		}
	}
	const char *near = cfg_nearest(w, names, OP_ARRAY_LEN(names));
	return cfg_error(c, tok, "unknown \"when\" \"%s\"%s%s%s; one of \"failures\", "
		"\"availability_below\", \"latency_above\", \"cert_expires_within\"", w,
		near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "");
}

static int read_alarm_value(struct cfg_ctx *c, int tok, void *field)
{
	return read_ratio(c, tok, "value", field);
}

static int read_p(struct cfg_ctx *c, int tok, void *field)
{
	return read_ratio(c, tok, "p", field);
}

int cfg_bool_given(struct cfg_ctx *c, int tok, void *field, const char *error)
{
	const char *v;
	char tmp[8];
	int rc = cfg_scalar(c, tok, &v, tmp, sizeof tmp);
	if (rc)
		return rc;
	if (strcmp(v, "true") && strcmp(v, "false"))
		return cfg_error(c, tok, "%s", error);
	*(uint8_t *)field = (uint8_t)(1 + !strcmp(v, "true"));
	return 0;
}

/* send_resolved is true unless written false */
static int read_send_resolved(struct cfg_ctx *c, int tok, void *field)
{
	return cfg_bool_given(c, tok, field, "\"send_resolved\" is true or false");
}

struct alarm_read {
	struct cfg_alarm a;
	const char *notify; /* JSON array of channel names */
	uint64_t window_us;
	uint8_t send_resolved_p1, repeat_set;
	uint64_t repeat_us;
};

static int read_repeat(struct cfg_ctx *c, int tok, void *field)
{
	struct alarm_read *ar = (struct alarm_read *)((char *)field -
		offsetof(struct alarm_read, repeat_us));
	const char *d;
	int rc = cfg_string(c, tok, &d);
	if (rc)
		return rc;
	if (cfg_parse_duration(d, &ar->repeat_us) && strcmp(d, "0"))
		return cfg_error(c, tok, "\"repeat\" is a duration (\"1h\"), or \"0\" for never");
	ar->repeat_set = 1;
	return 0;
}

static const struct cfg_key alarm_keys[] = {
	{"name", CFG_STR, 1, offsetof(struct alarm_read, a.name), 0, OP_NAME_MAX - 1, NULL},
	{"probes", CFG_FN, 0, offsetof(struct alarm_read, a.probes), 0, 0, read_groups},
	{"groups", CFG_FN, 0, offsetof(struct alarm_read, a.groups), 0, 0, read_groups},
	{"when", CFG_FN, 1, offsetof(struct alarm_read, a.when), 0, 0, read_when},
	{"n", CFG_UINT, 0, offsetof(struct alarm_read, a.n), 1, 64, NULL},
	{"of", CFG_UINT, 0, offsetof(struct alarm_read, a.of), 1, 64, NULL},
	{"value", CFG_FN, 0, offsetof(struct alarm_read, a.value), 0, 0, read_alarm_value},
	{"p", CFG_FN, 0, offsetof(struct alarm_read, a.slo.latency_p), 0, 0, read_p},
	{"max", CFG_DUR, 0, offsetof(struct alarm_read, a.max_us), 1000, 3600000000ll, NULL},
	{"window", CFG_DUR, 0, offsetof(struct alarm_read, window_us), 60000000,
		(int64_t)OP_SLO_MAX_MINUTES * 60000000, NULL},
	{"days", CFG_UINT, 0, offsetof(struct alarm_read, a.days), 1, 3650, NULL},
	{"for", CFG_DUR, 0, offsetof(struct alarm_read, a.for_us), 0, 86400000000ll, NULL},
	{"repeat", CFG_FN, 0, offsetof(struct alarm_read, repeat_us), 0, 0, read_repeat},
	{"resolve_after", CFG_UINT, 0, offsetof(struct alarm_read, a.resolve_after), 1, 64, NULL},
	{"send_resolved", CFG_FN, 0, offsetof(struct alarm_read, send_resolved_p1), 0, 0,
		read_send_resolved},
	{"notify", CFG_FN, 0, offsetof(struct alarm_read, notify), 0, 0, read_groups},
};

static int read_alarm(struct cfg_ctx *c, int tok, struct cfg_alarm *out, const char **notify)
{
	struct alarm_read ar;
	memset(&ar, 0, sizeof ar);
	if (c->t[tok].type != JSMN_OBJECT)
		return cfg_error(c, tok, "each alarm is an object ({\"name\": ..., \"when\": ...})");
	int rc = cfg_object(c, tok, "alarm", alarm_keys, OP_ARRAY_LEN(alarm_keys), &ar, NULL, 0,
		NULL);
	if (rc)
		return rc;
	struct cfg_alarm *a = &ar.a;
	int line, col;
	line_col(c->text, (size_t)c->t[tok].start, &line, &col);
	a->line = line;
	a->send_resolved = ar.send_resolved_p1 != 1;
	a->repeat_us = ar.repeat_set ? ar.repeat_us : 3600000000ull;
	a->window_min = (uint32_t)(ar.window_us / 60000000);
	switch (a->when) {
	case ALARM_FAILURES:
		if (!a->n)
			a->n = 1;
		if (!a->of)
			a->of = a->n;
		if (a->n > a->of)
			return cfg_error(c, tok, "alarm \"%s\": \"n\" %u is more than \"of\" %u", a->name,
				a->n, a->of);
		break;
	case ALARM_AVAILABILITY:
	case ALARM_LATENCY:
		if (!a->window_min || ar.window_us % 60000000)
			return cfg_error(c, tok, "alarm \"%s\": \"%s\" needs a \"window\" of whole minutes "
				"(\"10m\")", a->name, a->when == ALARM_LATENCY ? "latency_above" :
				"availability_below");
		if (a->when == ALARM_AVAILABILITY && !a->value)
			return cfg_error(c, tok, "alarm \"%s\": \"availability_below\" needs \"value\" "
				"(e.g. 0.95)", a->name);
		if (a->when == ALARM_LATENCY && (!a->slo.latency_p || !a->max_us))
			return cfg_error(c, tok, "alarm \"%s\": \"latency_above\" needs \"p\" (0.9) and "
				"\"max\" (\"500ms\")", a->name);
		a->slo.nwin = 1;
		a->slo.win_min[0] = a->window_min;
		a->slo.latency_max_us = a->max_us ? a->max_us : UINT64_MAX;
		break;
	default:
		if (!a->days)
			return cfg_error(c, tok, "alarm \"%s\": \"cert_expires_within\" needs \"days\"",
				a->name);
	}
	*out = *a;
	*notify = ar.notify;
	return 0;
}

static int read_alarms(struct cfg_ctx *c, int tok, void *field)
{
	(void)field;
	struct cfg *cfg = c->cfg;
	if (c->t[tok].type != JSMN_ARRAY)
		return cfg_error(c, tok, "\"alarms\" must be an array ([...])");
	uint32_t n = (uint32_t)c->t[tok].size;
	if (n > OP_ALARM_RULES_MAX)
		return cfg_error(c, tok, "%u alarms; at most %d", n, OP_ALARM_RULES_MAX);
	cfg->alarms = calloc(n ? n : 1, sizeof *cfg->alarms);
	c->alarm_notify = calloc(n ? n : 1, sizeof *c->alarm_notify);
	c->alarm_tok = calloc(n ? n : 1, sizeof *c->alarm_tok);
	if (!cfg->alarms || !c->alarm_notify || !c->alarm_tok)
		return cfg_error(c, tok, "out of memory");
	int i = tok + 1;
	for (uint32_t k = 0; k < n; k++, i = json_skip(c->t, c->ntok, i)) {
		int rc = read_alarm(c, i, &cfg->alarms[k], &c->alarm_notify[k]);
		if (rc)
			return rc;
		c->alarm_tok[k] = i;
		for (uint32_t j = 0; j < k; j++)
			if (!strcmp(cfg->alarms[j].name, cfg->alarms[k].name))
				return cfg_error(c, i, "alarm name \"%s\" is already used on line %d",
					cfg->alarms[k].name, cfg->alarms[j].line);
		cfg->nalarms++;
	}
	return 0;
}

static const struct cfg_key channel_keys[] = {
	{"timeout", CFG_DUR, 0, offsetof(struct cfg_probe, timeout_us), 1000, 300000000ll, NULL},
};

const char *cfg_noun(const struct cfg_probe *p)
{
	return p->ops == &probe_notify ? "channel" : p->ops == &probe_export ? "export" : "probe";
}

/* An object of NAME: {settings} where each is a probe of an internal kind (notification
 * channels, export sinks), run when it has something to send. */
static int read_internal(struct cfg_ctx *c, int tok, const char *key, const char *noun,
	uint32_t max, const struct probe_ops *ops, struct cfg_probe **out, uint32_t *count)
{
	if (c->t[tok].type != JSMN_OBJECT)
		return cfg_error(c, tok, "\"%s\" must be an object of name: {%s}", key, noun);
	uint32_t n = (uint32_t)c->t[tok].size;
	if (n > max)
		return cfg_error(c, tok, "%u %ss; at most %u", n, noun, max);
	*out = calloc(n ? n : 1, sizeof **out);
	if (!*out)
		return cfg_error(c, tok, "out of memory");
	int i = tok + 1;
	for (uint32_t k = 0; k < n; k++, i = json_skip(c->t, c->ntok, i + 1)) {
		struct cfg_probe *p = &(*out)[k];
		int rc = cfg_string(c, i, &p->name);
		if (rc)
			return rc;
		char what[96];
		snprintf(what, sizeof what, "%s \"%s\"", noun, p->name);
		if (c->t[i + 1].type != JSMN_OBJECT)
			return cfg_error(c, i + 1, "%s must be an object", what);
		p->ops = ops;
		p->kind = ops->kind;
		p->service = p->name;
		p->groups = "[]";
		int line, col;
		line_col(c->text, (size_t)c->t[i].start, &line, &col);
		p->line = line;
		rc = cfg_object(c, i + 1, what, channel_keys, OP_ARRAY_LEN(channel_keys), p,
			ops->keys, ops->nkeys, p->conf);
		if (rc)
			return rc;
		if (!p->timeout_us)
			p->timeout_us = 10000000;
		p->interval_us = p->timeout_us;
		if ((rc = ops->configure(c, i + 1, p)) != 0 ||
			(rc = hide_password(c, i + 1, p)) != 0)
			return rc;
		(*count)++;
	}
	return 0;
}

/* "notifications": {"NAME": {"type": "webhook"|"slack"|"exec", ...}} */
static int read_channels(struct cfg_ctx *c, int tok, void *field)
{
	(void)field;
	return read_internal(c, tok, "notifications", "channel", OP_CHANNELS_MAX, &probe_notify,
		&c->cfg->channels, &c->cfg->nchannels);
}

/* "exports": {"NAME": {"type": "results_webhook", "url": ...}} */
static int read_exports(struct cfg_ctx *c, int tok, void *field)
{
	(void)field;
	return read_internal(c, tok, "exports", "export", SPOOL_SINKS_MAX, &probe_export,
		&c->cfg->sinks, &c->cfg->nsinks);
}

/* "HH:MM" into minutes of the day */
static int read_clock(struct cfg_ctx *c, int tok, void *field)
{
	const char *s;
	unsigned h, m;
	char tail;
	int rc = cfg_string(c, tok, &s);
	if (rc)
		return rc;
	if (sscanf(s, "%u:%u%c", &h, &m, &tail) != 2 || h > 24 || m > 59 || (h == 24 && m))
		return cfg_error(c, tok, "a time of day is \"HH:MM\" (UTC), e.g. \"02:30\"");
	*(uint16_t *)field = (uint16_t)(h * 60 + m);
	return 0;
}

static int read_weekdays(struct cfg_ctx *c, int tok, void *field)
{
	static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	if (c->t[tok].type != JSMN_ARRAY)
		return cfg_error(c, tok, "\"weekdays\" is a list like [\"sat\", \"sun\"]");
	int i = tok + 1;
	uint8_t mask = 0;
	for (int k = 0; k < c->t[tok].size; k++, i = json_skip(c->t, c->ntok, i)) {
		const char *d;
		int rc = cfg_string(c, i, &d), found = 0;
		if (rc)
			return rc;
		for (int j = 0; j < 7; j++)
			if (!strncmp(d, days[j], 3) && (!d[3] || strlen(d) > 3))
				mask |= (uint8_t)(1u << j), found = 1;
		if (!found)
			return cfg_error(c, i, "\"%s\" is not a weekday (\"mon\" ... \"sun\")", d);
	}
	*(uint8_t *)field = mask;
	return 0;
}

static int read_until(struct cfg_ctx *c, int tok, void *field)
{
	const char *s;
	int rc = cfg_string(c, tok, &s);
	if (rc)
		return rc;
	if (op_parse_time(s, (int64_t *)field) != 0)
		return cfg_error(c, tok, "\"until\" is an RFC 3339 time, e.g. \"2026-12-01T06:00:00Z\"");
	return 0;
}

struct silence_read {
	struct alarm_silence s;
	const char *alarm, *comment;
	uint8_t from_set, to_set;
	uint16_t from, to;
};

static int read_from(struct cfg_ctx *c, int tok, void *field)
{
	struct silence_read *sr = (struct silence_read *)((char *)field -
		offsetof(struct silence_read, from));
	sr->from_set = 1;
	return read_clock(c, tok, field);
}

static int read_to(struct cfg_ctx *c, int tok, void *field)
{
	struct silence_read *sr = (struct silence_read *)((char *)field -
		offsetof(struct silence_read, to));
	sr->to_set = 1;
	return read_clock(c, tok, field);
}

static const struct cfg_key silence_keys[] = {
	{"alarm", CFG_STR, 0, offsetof(struct silence_read, alarm), 0, OP_NAME_MAX - 1, NULL},
	{"weekdays", CFG_FN, 0, offsetof(struct silence_read, s.weekdays), 0, 0, read_weekdays},
	{"from", CFG_FN, 0, offsetof(struct silence_read, from), 0, 0, read_from},
	{"to", CFG_FN, 0, offsetof(struct silence_read, to), 0, 0, read_to},
	{"until", CFG_FN, 0, offsetof(struct silence_read, s.until_wall_us), 0, 0, read_until},
	{"comment", CFG_STR, 0, offsetof(struct silence_read, comment), 0, 63, NULL},
};

static int read_silences(struct cfg_ctx *c, int tok, void *field)
{
	(void)field;
	struct cfg *cfg = c->cfg;
	if (c->t[tok].type != JSMN_ARRAY || c->t[tok].size > OP_SILENCES_MAX)
		return cfg_error(c, tok, "\"silences\" is a list of up to %d maintenance windows",
			OP_SILENCES_MAX);
	int i = tok + 1;
	for (int k = 0; k < c->t[tok].size; k++, i = json_skip(c->t, c->ntok, i)) {
		struct silence_read sr;
		memset(&sr, 0, sizeof sr);
		int rc = cfg_object(c, i, "silence", silence_keys, OP_ARRAY_LEN(silence_keys), &sr,
			NULL, 0, NULL);
		if (rc)
			return rc;
		if (!sr.s.until_wall_us && (!sr.from_set || !sr.to_set))
			return cfg_error(c, i, "a silence needs \"from\" and \"to\" (\"HH:MM\", UTC, with "
				"optional \"weekdays\"), or \"until\" (an RFC 3339 time)");
		sr.s.from_min = sr.from;
		sr.s.to_min = sr.to;
		op_strlcpy(sr.s.alarm, sr.alarm ? sr.alarm : "", sizeof sr.s.alarm);
		op_strlcpy(sr.s.comment, sr.comment ? sr.comment : "", sizeof sr.s.comment);
		cfg->silences[cfg->nsilences++] = sr.s;
	}
	return 0;
}

/* Strings in a JSON array of names as read_groups writes it. */
static uint32_t names_in(const char *array)
{
	uint32_t n = 0;
	for (const char *q = array; (q = strchr(q, '"')); q++)
		if (q[-1] != '\\')
			n++;
	return n / 2;
}

/* Each name in an alarm's "probes" (groups 0) or "groups" (1), JSON arrays, names something: a
 * probe of the config, or a group one of them is in; else the rule would watch nothing of it,
 * silently (a typo). */
static int alarm_targets(struct cfg_ctx *c, uint32_t k, int groups, const char *list)
{
	struct cfg *cfg = c->cfg;
	char name[OP_NAME_MAX + 2], q[OP_NAME_MAX + 4];
	for (const char *g = list; g && (g = strchr(g, '"'));) {
		const char *end = strchr(g + 1, '"');
		if (!end)
			break;
		snprintf(name, sizeof name, "%.*s", (int)(end - g - 1), g + 1);
		snprintf(q, sizeof q, "\"%s\"", name);
		g = end + 1;
		int found = 0;
		for (uint32_t p = 0; p < cfg->nprobes && !found; p++)
			found = groups ? strstr(cfg->probes[p].groups, q) != NULL :
				!strcmp(cfg->probes[p].name, name);
		if (found)
			continue;
		if (groups)
			return cfg_error(c, c->alarm_tok[k], "alarm \"%s\": no probe is in group \"%s\" "
				"(a probe's \"groups\" puts it in one)", cfg->alarms[k].name, name);
		const char **all = malloc(sizeof *all * (cfg->nprobes + 1));
		char hint[96] = "";
		for (uint32_t p = 0; all && p < cfg->nprobes; p++)
			all[p] = cfg->probes[p].name;
		if (all)
			cfg_did_you_mean(hint, sizeof hint, name, all, cfg->nprobes, 0);
		int rc = cfg_error(c, c->alarm_tok[k], "alarm \"%s\": \"probes\" names \"%s\", "
			"which is not a probe of this config%s", cfg->alarms[k].name, name, hint);
		free(all);
		return rc;
	}
	return 0;
}

/* After the whole file: alarm "probes" and "groups" checked, "notify" names to channel bits,
 * silence alarm names checked. */
static int resolve_alarms(struct cfg_ctx *c)
{
	struct cfg *cfg = c->cfg;
	for (uint32_t k = 0; k < cfg->nalarms; k++) {
		struct cfg_alarm *a = &cfg->alarms[k];
		int rc = alarm_targets(c, k, 0, a->probes);
		if (rc || (rc = alarm_targets(c, k, 1, a->groups)) != 0)
			return rc;
		const char *names = c->alarm_notify[k];
		if (!names) {
			a->notify = (1u << cfg->nchannels) - 1; /* every channel */
			continue;
		}
		for (uint32_t ch = 0; ch < cfg->nchannels; ch++) {
			char q[OP_NAME_MAX + 4];
			snprintf(q, sizeof q, "\"%s\"", cfg->channels[ch].name);
			if (strstr(names, q))
				a->notify |= 1u << ch;
		}
		if ((uint32_t)__builtin_popcount(a->notify) != names_in(names))
			return cfg_error(c, c->alarm_tok[k], "alarm \"%s\": \"notify\" %s names a channel "
				"that \"notifications\" does not define", a->name, names);
	}
	for (uint32_t k = 0; k < cfg->nsilences; k++) {
		const char *name = cfg->silences[k].alarm;
		int found = !name[0];
		for (uint32_t j = 0; j < cfg->nalarms && !found; j++)
			found = !strcmp(cfg->alarms[j].name, name);
		if (!found)
			return cfg_error(c, -1, "silence #%u names alarm \"%s\", which is not defined",
				k + 1, name);
	}
	return 0;
}

static const struct cfg_key top_keys[] = {
	{"appliance", CFG_FN, 0, 0, 0, 0, read_appliance},
	{"web", CFG_FN, 0, 0, 0, 0, read_web},
	{"limits", CFG_FN, 0, 0, 0, 0, read_limits},
	{"probes", CFG_FN, 0, 0, 0, 0, read_probes},
	{"modules", CFG_FN, 0, 0, 0, 0, read_modules},
	{"objective", CFG_FN, 0, offsetof(struct cfg, objective), 0, 0, read_objective},
	{"shutdown_grace", CFG_DUR, 0, offsetof(struct cfg, shutdown_grace_us), 0, 3600000000ll,
		NULL},
	{"alarms", CFG_FN, 0, 0, 0, 0, read_alarms},
	{"notifications", CFG_FN, 0, 0, 0, 0, read_channels},
	{"silences", CFG_FN, 0, 0, 0, 0, read_silences},
	{"state_dir", CFG_STR, 0, offsetof(struct cfg, state_dir), 0, 400, NULL},
	{"logs", CFG_FN, 0, 0, 0, 0, read_logs},
	{"spool", CFG_FN, 0, 0, 0, 0, read_spool},
	{"exports", CFG_FN, 0, 0, 0, 0, read_exports},
};

/* What jsmn's error means, with a hint from the byte where it stopped: the usual slips of a
 * hand-written file (a comment, single quotes, a bare word). */
static const char *jsmn_error(int rc, const char *text, size_t len, size_t at)
{
	char ch = at < len ? text[at] : 0;
	switch (rc) {
	case JSMN_ERROR_NOMEM: return "too many JSON values";
	case JSMN_ERROR_PART: return "the JSON ends too early (a missing '}' or ']'?)";
	}
	if (ch == '/')
		return "invalid JSON: a comment, which JSON has none of; remove it";
	if (ch == '\'')
		return "invalid JSON: a string takes double quotes (\"...\"), not single";
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_')
		return "invalid JSON: a bare word; a key or a string takes double quotes (\"...\"), "
			"and true, false and null are lower case";
	return "invalid JSON";
}

/* Where jsmn stopped: re-run it token by token to find the failing offset. */
static size_t jsmn_error_offset(const char *text, size_t len)
{
	jsmn_parser p;
	jsmn_init(&p);
	int rc = jsmn_parse(&p, text, len, NULL, 0);
	(void)rc;
	return p.pos;
}

/* cfg_json_fault, handing the tokens to the caller (*toks, *ntok: the loader's) when they are
 * JSON, so the text is tokenized once for both. */
static const char *json_fault(const char *text, size_t len, size_t *at, char *buf, size_t cap,
	jsmntok_t **toks, int *ntok)
{
	jsmn_parser p;
	jsmn_init(&p);
	int n = jsmn_parse(&p, text, len, NULL, 0);
	if (n < 0) { /* (an end too early is at the end) */
		*at = n == JSMN_ERROR_PART ? len : jsmn_error_offset(text, len);
		return jsmn_error(n, text, len, *at);
	}
	if (n > OP_CFG_MAX_TOKENS) { /* (before the tokens are allocated: a bound on them) */
		snprintf(buf, cap, "%d JSON values, more than the %d allowed", n, OP_CFG_MAX_TOKENS);
		return *at = 0, buf;
	}
	jsmntok_t *t = malloc(sizeof *t * (size_t)(n ? n : 1));
	if (!t)
		return *at = 0, "out of memory";
	jsmn_init(&p);
	n = jsmn_parse(&p, text, len, t, (unsigned)n);
	int bad = 0, why = n < 0 ? -1 : json_check(text, t, n, &bad);
	if (n < 0 || why || !toks)
		free(t);
	else
		*toks = t, *ntok = n;
	if (n < 0) /* counting mode misses an unclosed object; the filling pass does not */
		return *at = n == JSMN_ERROR_PART ? len : p.pos, jsmn_error(n, text, len, *at);
	*at = (size_t)bad;
	if (why == -2) {
		int end = bad;
		while (end < (int)len && !strchr(",]} \t\r\n", text[end]))
			end++;
		snprintf(buf, cap, "invalid JSON: %.*s is not a JSON value; a string takes double "
			"quotes (\"%.*s\")", OP_MIN(end - bad, 40), text + bad, OP_MIN(end - bad, 40),
			text + bad);
		return buf;
	}
	return why ? "invalid JSON: a ',' or ':' is missing or extra here" : NULL;
}

const char *cfg_json_fault(const char *text, size_t len, size_t *at, char *buf, size_t cap)
{
	return json_fault(text, len, at, buf, cap, NULL, NULL);
}

int cfg_load_text(struct cfg *out, const char *file, const char *text, size_t len, char *err,
	size_t errcap)
{
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		text += 3, len -= 3; /* a byte order mark, as some editors write (RFC 8259 8.1) */
	memset(out, 0, sizeof *out);
	struct cfg_ctx c = {.file = file, .text = text, .len = len, .err = err, .errcap = errcap,
		.cfg = out};
	err[0] = 0;
	out->file = file;
	out->name = "outpost";
	out->region = "";
	out->listen = "127.0.0.1:8080";
	out->token = "";
	out->web_threads = OP_MIN(8, OP_WEB_THREADS_MAX);
	out->max_probes = OP_MIN(256, OP_MAX_PROBES);
	out->max_inflight = OP_MIN(64, OP_MAX_INFLIGHT);
	out->history = OP_MIN(120, OP_MAX_HISTORY);
	out->shutdown_grace_us = 30000000;
	out->logs_max_bytes = 64u << 20;
	out->spool_max_bytes = 64u << 20;
	out->spool_flush_us = 5000000;
	out->logs_max_objects = 1000;

	/* JSON is UTF-8; what is not would go on as is into /metrics and the results */
	size_t utf8 = op_utf8_prefix((const uint8_t *)text, len);
	if (utf8 < len)
		return cfg_error_off(&c, utf8, "byte 0x%02x here is not UTF-8 (was the file saved as "
			"Latin-1 or another code page?); save it as UTF-8", (unsigned char)text[utf8]);
	size_t at;
	char why[160];
	const char *fault = json_fault(text, len, &at, why, sizeof why, &c.t, &c.ntok);
	if (fault)
		return cfg_error_off(&c, at, "%s", fault);
	int rc = OP_EINVAL;
	if (c.ntok == 0) {
		rc = cfg_error(&c, -1, "the file is empty; it must hold one JSON object {...}");
		goto fail;
	}
	out->arena_cap = len * 2 + 65536;
	out->arena = malloc(out->arena_cap);
	if (!out->arena) {
		snprintf(err, errcap, "%s: out of memory", file);
		rc = OP_ENOMEM;
		goto fail;
	}
	rc = cfg_object(&c, 0, "the top level", top_keys, OP_ARRAY_LEN(top_keys), out, NULL, 0,
		NULL);
	if (rc == 0 && json_skip(c.t, c.ntok, 0) != c.ntok)
		rc = cfg_error(&c, json_skip(c.t, c.ntok, 0), "text after the top-level object");
	if (rc == 0)
		rc = resolve_alarms(&c);
	/* the default objective goes to every probe that has none of its own */
	for (uint32_t i = 0; rc == 0 && out->objective.nwin && i < out->nprobes; i++)
		if (!out->probes[i].objective.nwin)
			out->probes[i].objective = out->objective;
fail:
	free(c.t);
	free(c.alarm_notify);
	free(c.alarm_tok);
	if (rc)
		cfg_free(out);
	return rc;
}

int cfg_load_file(struct cfg *out, const char *path, char *err, size_t errcap)
{
	char *text = malloc(OP_CFG_FILE_MAX);
	if (!text) {
		snprintf(err, errcap, "%s: out of memory", path);
		return OP_ENOMEM;
	}
	int n = plat_file_read(path, text, OP_CFG_FILE_MAX);
	if (n < 0) {
		snprintf(err, errcap, "%s: %s%s", path, n == OP_ETOOBIG ? "" : "cannot read it: ",
			n == OP_ETOOBIG ? "larger than the 1 MiB a config may be" : op_strerror(n));
		free(text);
		return n;
	}
	int rc = cfg_load_text(out, path, text, (size_t)n, err, errcap);
	free(text);
	return rc;
}

void cfg_free(struct cfg *c)
{
	while (c->blocks) {
		struct cfg_block *b = c->blocks;
		c->blocks = b->next;
		free(b);
	}
	free(c->probes);
	free(c->alarms);
	free(c->channels);
	free(c->sinks);
	free(c->arena);
	c->alarms = NULL;
	c->channels = NULL;
	c->sinks = NULL;
	c->nsinks = 0;
	c->nalarms = c->nchannels = 0;
	c->probes = NULL;
	c->arena = NULL;
	c->nprobes = 0;
}

int cfg_headers(struct cfg_ctx *c, int tok, void *field)
{
	if (cfg_tok_type(c, tok) != JSMN_OBJECT)
		return cfg_error(c, tok, "\"headers\" must be an object of name: value strings");
	char buf[2048];
	size_t w = 0;
	int i = tok + 1;
	for (int n = 0; n < cfg_tok_size(c, tok); n++) {
		const char *k, *v;
		char tmp[64];
		int rc = cfg_string(c, i, &k);
		if (rc || (rc = cfg_scalar(c, i + 1, &v, tmp, sizeof tmp)) != 0)
			return rc;
		if (strpbrk(k, "\r\n: ") || strpbrk(v, "\r\n"))
			return cfg_error(c, i, "header \"%s\" has a line break or a bad character", k);
		int m = snprintf(buf + w, sizeof buf - w, "%s: %s\r\n", k, v);
		if (m < 0 || (size_t)m >= sizeof buf - w)
			return cfg_error(c, i, "headers exceed %zu bytes", sizeof buf);
		/* how a message is framed and kept is outpost's to say: a second, different one
		 * would make the server guess (or answer 400) */
		static const char *const own[] = {"Connection", "Content-Length",
			"Transfer-Encoding", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version"};
		for (size_t o = 0; o < OP_ARRAY_LEN(own); o++)
			if (http_line_is(buf + w, own[o]))
				return cfg_error(c, i, "header \"%s\" is set by outpost itself (the request's "
					"framing and connection); leave it out", k);
		w += (size_t)m;
		i = cfg_tok_next(c, i + 1);
	}
	*(const char **)field = cfg_store(c, buf, w);
	return *(const char **)field ? 0 : cfg_error(c, tok, "configuration too large");
}

int cfg_regex(struct cfg_ctx *c, int tok, const char *pattern, struct op_regex **out)
{
	char err[64];
	*out = cfg_alloc(c, tok, sizeof **out);
	if (!*out)
		return OP_EINVAL;
	if (regex_compile(*out, pattern, err, sizeof err) != 0)
		return cfg_error(c, tok, "pattern \"%s\": %s", pattern, err);
	return 0;
}

int cfg_argv(struct cfg_ctx *c, int tok, void *field)
{
	int n = cfg_tok_size(c, tok);
	if (cfg_tok_type(c, tok) != 2 /* array */ || n < 1 || n > 64)
		return cfg_error(c, tok, "\"command\" is a list of 1 to 64 strings: "
			"[\"program\", \"arg\", ...] (a shell only if you write [\"sh\", \"-c\", \"...\"])");
	char **argv = cfg_alloc(c, tok, sizeof *argv * (size_t)(n + 1));
	if (!argv)
		return OP_EINVAL;
	int i = tok + 1;
	for (int k = 0; k < n; k++, i = cfg_tok_next(c, i)) {
		const char *s;
		int rc = cfg_string(c, i, &s);
		if (rc)
			return rc;
		argv[k] = (char *)s;
	}
	argv[n] = NULL;
	if (!argv[0][0])
		return cfg_error(c, tok, "the program name is empty");
	*(char ***)field = argv;
	return 0;
}

int cfg_env(struct cfg_ctx *c, int tok, void *field)
{
	int n = cfg_tok_size(c, tok);
	if (cfg_tok_type(c, tok) != 1 /* object */ || n > 32)
		return cfg_error(c, tok, "\"env\" is an object of up to 32 NAME: value strings");
	char **env = cfg_alloc(c, tok, sizeof *env * (size_t)(n + 1));
	if (!env)
		return OP_EINVAL;
	int i = tok + 1;
	for (int k = 0; k < n; k++, i = cfg_tok_next(c, i + 1)) {
		const char *key, *val;
		char tmp[64], kv[1024];
		int rc = cfg_string(c, i, &key);
		if (rc || (rc = cfg_scalar(c, i + 1, &val, tmp, sizeof tmp)) != 0)
			return rc;
		if (!*key || strchr(key, '='))
			return cfg_error(c, i, "bad variable name \"%s\"", key);
		int m = snprintf(kv, sizeof kv, "%s=%s", key, val);
		if (m < 0 || (size_t)m >= sizeof kv)
			return cfg_error(c, i + 1, "value of %s too long", key);
		env[k] = (char *)cfg_store(c, kv, (size_t)m);
		if (!env[k])
			return cfg_error(c, i, "configuration too large");
	}
	env[n] = NULL;
	*(char ***)field = env;
	return 0;
}

int cfg_regex_check(struct cfg_ctx *c, int tok, void *field)
{
	struct regex_check *r = field;
	int rc = cfg_string(c, tok, &r->pattern);
	return rc ? rc : cfg_regex(c, tok, r->pattern, &r->re);
}

int cfg_json_checks(struct cfg_ctx *c, int tok, void *field)
{
	struct json_checks *j = field;
	if (cfg_tok_type(c, tok) != JSMN_OBJECT)
		return cfg_error(c, tok, "\"json\" takes {\"$.path\": expected value, ...}");
	int i = tok + 1;
	for (int n = 0; n < cfg_tok_size(c, tok); n++, i = cfg_tok_next(c, i + 1)) {
		if (j->n == JSON_CHECKS_MAX)
			return cfg_error(c, i, "at most %d json checks", JSON_CHECKS_MAX);
		const char *v;
		char tmp[64];
		int rc = cfg_string(c, i, &j->path[j->n]);
		if (rc || (rc = cfg_scalar(c, i + 1, &v, tmp, sizeof tmp)) != 0)
			return rc;
		const char *fault = json_path_fault(j->path[j->n]);
		if (fault)
			return cfg_error(c, i, "json path \"%s\": %s", j->path[j->n], fault);
		j->value[j->n++] = v == tmp ? cfg_store(c, tmp, strlen(tmp)) : v;
	}
	return 0;
}
