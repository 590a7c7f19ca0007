/* result.c: reason and phase names, per-probe counters and histograms, the stable encoding. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "dns.h"
#include "json.h"
#include "result.h"
#include "tls.h"

static const char *const reason_texts[] = {
#define OP_X(id, text) text,
	OP_REASONS(OP_X)
#undef OP_X
};

static const char *const reason_labels[] = {
#define OP_X(id, text) #id,
	OP_REASONS(OP_X)
#undef OP_X
};

const char *reason_text(int reason)
{
	return reason >= 0 && reason < REASON_COUNT ? reason_texts[reason] : "?";
}

const char *reason_label(int reason)
{
	/* lowercase copies, made once: the label set is fixed */
	static char lower[REASON_COUNT][24];
	if (reason < 0 || reason >= REASON_COUNT)
		return "unknown";
	if (!lower[reason][0]) {
		const char *s = reason_labels[reason];
		size_t i = 0;
		for (; s[i] && i + 1 < sizeof lower[0]; i++)
			lower[reason][i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
		lower[reason][i] = 0;
	}
	return lower[reason];
}

const char *phase_name(int phase)
{
	static const char *const names[PHASE_COUNT] = {"resolve", "connect", "tls", "processing",
		"transfer"};
	return phase >= 0 && phase < PHASE_COUNT ? names[phase] : "?";
}

int result_hist_bucket(uint64_t us)
{
	static const double bounds[OP_HIST_N] = OP_HIST_BOUNDS;
	double sec = us / 1e6;
	int i = 0;
	while (i < OP_HIST_N && sec > bounds[i])
		i++;
	return i;
}

void stats_add(struct probe_stats *s, const struct result *r)
{
	double sec = r->duration_us / 1e6;
	if (r->ok)
		s->runs_ok++;
	else
		s->runs_fail++;
	s->by_reason[r->reason < REASON_COUNT ? r->reason : 0]++;
	s->hist[result_hist_bucket(r->duration_us)]++;
	if (r->tls_version) {
		if (r->tls_resumed)
			s->tls_resumed++;
		else
			s->tls_full++;
	}
	s->sum_s += sec;
	stats_last(s, r);
}

void stats_last(struct probe_stats *s, const struct result *r)
{
	s->last = *r;
	s->has_last = 1;
	if (!r->ok) {
		s->last_failure = *r;
		s->has_failure = 1;
	}
}

void stats_delivery(const struct probe_stats *s, const char *target, struct delivery_state *out)
{
	op_strlcpy(out->target, target, sizeof out->target);
	out->last_failure = s->last_failure;
	if (!s->has_failure)
		out->last_failure.wall_us = 0;
	out->failing = s->has_last && !s->last.ok;
}

static int loghist_bucket(uint64_t us)
{
	if (us < 8)
		return (int)us;
	int e = 63 - __builtin_clzll(us); /* 2^e <= us < 2^(e+1), e >= 3 */
	int m = (int)((us >> (e - 3)) & 7);
	int b = (e - 2) * 8 + m;
	return b < LOGHIST_N ? b : LOGHIST_N - 1;
}

static uint64_t loghist_upper(int b)
{
	if (b < 8)
		return (uint64_t)b;
	int e = b / 8 + 2, m = b % 8;
	return ((uint64_t)(8 + m + 1) << (e - 3)) - 1;
}

void loghist_add(struct loghist *h, uint64_t us)
{
	h->b[loghist_bucket(us)]++;
	h->count++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
}

uint64_t loghist_quantile(const struct loghist *h, double q)
{
	if (!h->count)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->count + 0.5);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (int b = 0; b < LOGHIST_N; b++) {
		seen += h->b[b];
		if (seen >= rank) {
			uint64_t u = loghist_upper(b);
			return u < h->max_us ? u : h->max_us;
		}
	}
	return h->max_us;
}

size_t result_event(char *out, size_t cap, const char *service, const char *groups,
	const struct result *r)
{
	char svc[OP_NAME_MAX * 6 + 3];
	json_quote(svc, sizeof svc, service);
	int n = snprintf(out, cap, "{\"service\":%s,\"groups\":%s,\"succeeded\":%s,"
		"\"timestamp\":\"%lld\",\"testExecutionSecs\":\"%.3f\"}", svc, groups,
		r->ok ? "true" : "false", (long long)(r->wall_us / 1000000), r->duration_us / 1e6);
	return n < 0 ? 0 : OP_MIN((size_t)n, cap - 1);
}

double result_cert_days(const struct result *r, int64_t now_us)
{
	return (double)(r->cert_expiry - now_us / 1000000) / 86400.0;
}

size_t result_tls_json(char *out, size_t cap, const struct result *r)
{
	if (!r->tls_version || !cap) {
		if (cap)
			out[0] = 0;
		return 0;
	}
	char cipher[64], exp[40];
	tls_cipher_name(r->tls_cipher, cipher, sizeof cipher);
	op_fmt_time(exp, sizeof exp, r->cert_expiry * 1000000);
	int n = snprintf(out, cap, ",\"tls\":{\"version\":\"TLS %d.%d\",\"cipher\":\"%s\","
		"\"cert_expiry\":\"%s\",\"cert_expiry_unix\":%lld,\"verified\":%s,\"resumed\":%s}",
		r->tls_version / 10, r->tls_version % 10, cipher, exp, (long long)r->cert_expiry,
		r->cert_verified ? "true" : "false", r->tls_resumed ? "true" : "false");
	return n < 0 ? 0 : OP_MIN((size_t)n, cap - 1);
}

size_t result_json(char *out, size_t cap, const char *name, const char *kind, const char *target,
	const char *region, const char *service, const char *groups, const struct result *r)
{
	char ts[40], n[OP_NAME_MAX * 6], t[OP_TARGET_MAX * 6], rg[OP_NAME_MAX * 6];
	char d[OP_DETAIL_MAX * 6];
	op_fmt_time(ts, sizeof ts, r->wall_us);
	json_quote(n, sizeof n, name);
	json_quote(t, sizeof t, target);
	json_quote(rg, sizeof rg, region);
	json_quote(d, sizeof d, r->detail);
	int w = snprintf(out, cap, "{\"timestamp\":\"%s\",\"probe\":%s,\"kind\":\"%s\",\"target\":%s,"
		"\"region\":%s,\"success\":%s,\"duration_ms\":%.3f,\"phases\":{", ts, n, kind, t, rg,
		r->ok ? "true" : "false", r->duration_us / 1e3);
	for (int i = 0; i < PHASE_COUNT && w > 0 && (size_t)w < cap; i++)
		w += snprintf(out + w, cap - (size_t)w, "%s\"%s\":%.3f", i ? "," : "", phase_name(i),
			r->phase_us[i] / 1e3);
	if (w > 0 && (size_t)w < cap)
		w += snprintf(out + w, cap - (size_t)w, "},\"reason\":\"%s\",\"detail\":%s",
			r->ok ? "" : reason_label(r->reason), d);
	if (r->http_status && w > 0 && (size_t)w < cap)
		w += snprintf(out + w, cap - (size_t)w, ",\"http_status\":%d", r->http_status);
	/* what the response was, as curl -w tells it; a WebSocket's reply message */
	char version[8] = "null"; /* no response */
	if (r->http_version)
		snprintf(version, sizeof version, "\"%d.%d\"", r->http_version / 10,
			r->http_version % 10);
	if (!strcmp(kind, "http") && w > 0 && (size_t)w < cap)
		w += snprintf(out + w, cap - (size_t)w, ",\"http\":{\"version\":%s,"
			"\"content_length\":%lld,\"body_bytes\":%llu,\"redirects\":%u,\"ssl\":%s,"
			"\"last_modified\":%lld}", version, (long long)r->content_length,
			(unsigned long long)r->body_bytes, r->redirects, r->ssl ? "true" : "false",
			(long long)r->last_modified);
	if (!strcmp(kind, "dns") && w > 0 && (size_t)w < cap) {
		/* the reply as dig's header tells it; rcode and transport null when none came */
		char rcode[24] = "null", serial[24] = "null", flags[32] = "null";
		const char *transport = "null";
		if (r->dns_replied) {
			snprintf(rcode, sizeof rcode, "\"%s\"", dns_rcode_name(r->dns_rcode));
			transport = r->dns_tcp ? "\"tcp\"" : "\"udp\"";
			char f[24];
			snprintf(flags, sizeof flags, "\"%s\"", dns_flags_text(f, sizeof f,
				r->dns_flags));
		}
		if (r->dns_serial >= 0)
			snprintf(serial, sizeof serial, "%lld", (long long)r->dns_serial);
		w += snprintf(out + w, cap - (size_t)w, ",\"dns\":{\"rcode\":%s,\"flags\":%s,"
			"\"transport\":%s,\"answers\":%u,\"authority\":%u,\"additional\":%u,"
			"\"serial\":%s}", rcode, flags, transport, r->dns_answers, r->dns_authority,
			r->dns_additional, serial);
	}
	if (!strcmp(kind, "ws") && r->http_status == 101 && w > 0 && (size_t)w < cap)
		w += snprintf(out + w, cap - (size_t)w, ",\"ws\":{\"message_bytes\":%llu}",
			(unsigned long long)r->body_bytes);
	if (w > 0 && (size_t)w < cap)
		w += (int)result_tls_json(out + w, cap - (size_t)w, r);
	if (!strcmp(kind, "exec") && w > 0 && (size_t)w < cap) {
		char ev[600];
		result_event(ev, sizeof ev, service, groups, r);
		w += snprintf(out + w, cap - (size_t)w, ",\"event\":%s", ev);
	}
	if (w > 0 && (size_t)w < cap)
		w += snprintf(out + w, cap - (size_t)w, "}");
	return w > 0 && (size_t)w < cap ? (size_t)w : 0;
}

/* ---- the stable encoding (result_encode) ---- */

/* The integer fields and their ids. Ids are forever: a new field takes a new id. */
static const struct {
	uint8_t id, size, is_signed;
	uint16_t off;
} enc_ints[] = {
#define F(id, field, sgn) {id, sizeof(((struct result *)0)->field), sgn, \
	offsetof(struct result, field)}
	F(1, wall_us, 1), F(2, duration_us, 0), F(3, ok, 0), F(4, http_version, 0),
	F(5, redirects, 0), F(6, ssl, 0), F(7, content_failed, 0), F(8, http_status, 1),
	F(9, content_length, 1), F(10, body_bytes, 0), F(11, cert_expiry, 1),
	F(12, tls_cipher, 0), F(13, tls_version, 0), F(14, cert_verified, 0),
	F(15, ip_protocol, 0), F(16, tls_resumed, 0), F(17, last_modified, 1), F(18, ip_hash, 0),
	F(19, dns_replied, 0), F(20, dns_rcode, 0), F(21, dns_answers, 0), F(22, dns_authority, 0),
	F(23, dns_additional, 0), F(24, dns_serial, 1), F(25, dns_tcp, 0), F(26, dns_flags, 0),
#undef F
};
enum { ENC_PHASE0 = 32, ENC_REASON = 64, ENC_DETAIL = 65 }; /* phase i: ENC_PHASE0 + i */

static uint64_t load_int(const void *p, size_t size, int is_signed)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	switch (size) {
	case 1: memcpy(&u8, p, 1); return is_signed ? (uint64_t)(int64_t)(int8_t)u8 : u8;
	case 2: memcpy(&u16, p, 2); return is_signed ? (uint64_t)(int64_t)(int16_t)u16 : u16;
	case 4: memcpy(&u32, p, 4); return is_signed ? (uint64_t)(int64_t)(int32_t)u32 : u32;
	default: memcpy(&u64, p, 8); return u64;
	}
}

static void store_int(void *p, size_t size, uint64_t v)
{
	uint8_t u8 = (uint8_t)v;
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;
	switch (size) {
	case 1: memcpy(p, &u8, 1); break;
	case 2: memcpy(p, &u16, 2); break;
	case 4: memcpy(p, &u32, 4); break;
	default: memcpy(p, &v, 8); break;
	}
}

static int put_field(uint8_t *out, size_t cap, size_t *w, uint8_t id, const void *bytes,
	size_t n)
{
	if (n > 255 || *w + 2 + n > cap)
		return -1;
	out[(*w)++] = id;
	out[(*w)++] = (uint8_t)n;
	memcpy(out + *w, bytes, n);
	*w += n;
	return 0;
}

static int put_int(uint8_t *out, size_t cap, size_t *w, uint8_t id, uint64_t v, size_t size)
{
	uint8_t le[8];
	for (size_t i = 0; i < size; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	return put_field(out, cap, w, id, le, size);
}

size_t result_encode(uint8_t *out, size_t cap, const struct result *r)
{
	size_t w = 0;
	int bad = 0;
	for (size_t i = 0; i < OP_ARRAY_LEN(enc_ints); i++)
		bad |= put_int(out, cap, &w, enc_ints[i].id, load_int((const uint8_t *)r +
			enc_ints[i].off, enc_ints[i].size, enc_ints[i].is_signed), enc_ints[i].size);
	for (int i = 0; i < PHASE_COUNT; i++)
		bad |= put_int(out, cap, &w, (uint8_t)(ENC_PHASE0 + i), r->phase_us[i], 4);
	const char *label = reason_label(r->reason);
	bad |= put_field(out, cap, &w, ENC_REASON, label, strlen(label));
	bad |= put_field(out, cap, &w, ENC_DETAIL, r->detail, strlen(r->detail));
	return bad ? 0 : w;
}

int result_decode(const uint8_t *in, size_t n, struct result *r)
{
	memset(r, 0, sizeof *r);
	r->content_length = -1;
	r->dns_serial = -1;
	for (size_t at = 0; at < n;) {
		if (n - at < 2 || n - at - 2 < in[at + 1])
			return -1;
		uint8_t id = in[at], len = in[at + 1];
		const uint8_t *v = in + at + 2;
		at += 2u + len;
		uint64_t x = 0;
		for (int i = len < 8 ? len : 8; i-- > 0;)
			x = x << 8 | v[i];
		if (id == ENC_DETAIL) {
			size_t k = len < sizeof r->detail - 1 ? len : sizeof r->detail - 1;
			memcpy(r->detail, v, k);
			r->detail[k] = 0;
		} else if (id == ENC_REASON) {
			for (int i = 0; i < REASON_COUNT && !r->reason; i++) {
				const char *l = reason_label(i);
				if (strlen(l) == len && !memcmp(l, v, len))
					r->reason = (uint8_t)i;
			}
		} else if (id >= ENC_PHASE0 && id < ENC_PHASE0 + PHASE_COUNT) {
			r->phase_us[id - ENC_PHASE0] = (uint32_t)x;
		} else {
			for (size_t i = 0; i < OP_ARRAY_LEN(enc_ints); i++) {
				if (enc_ints[i].id != id || !len || len > 8)
					continue;
				if (enc_ints[i].is_signed && len < 8 && (x >> (8 * len - 1)) & 1)
					x |= ~0ull << (8 * len); /* sign-extend a narrower value */
				store_int((uint8_t *)r + enc_ints[i].off, enc_ints[i].size, x);
			}
		}
	}
	return 0;
}
