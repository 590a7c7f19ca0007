/* result.c: reason and phase names, per-probe counters and histograms. */
#include <stdio.h>
#include <string.h>
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
