/* api.c: the JSON API under /api/v1/. Reads the published snapshot; writes (run now, reload)
 * go to the engine through its mailbox and need "Authorization: Bearer <web.token>". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <civetweb.h>
#include "api.h"
#include "../core/engine.h"
#include "../core/json.h"
#include "../core/slo.h"
#include "../core/alarm.h"
#include "../core/logstore.h"
#include "../core/cfg.h"
#include "../core/snap.h"
#include "../core/spool.h"
#include "../platform/plat.h"

void jb_put(struct jbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2 + 1024;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

__attribute__((format(printf, 2, 3))) static void jb(struct jbuf *b, const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		jb_put(b, tmp, (size_t)OP_MIN((size_t)n, sizeof tmp - 1));
}

static void jb_str(struct jbuf *b, const char *s)
{
	char q[OP_TARGET_MAX * 6 + 8];
	json_quote(q, sizeof q, s);
	jb_put(b, q, strlen(q));
}

/* How long POST /api/v1/reload waits for the outcome: a reload lets runs in progress finish
 * for up to 5 s (OP_RELOAD_SETTLE_US), then loads the file and starts the new engine. */
#define RELOAD_WAIT_US (OP_RELOAD_SETTLE_US + 5000000)

/* headers: extra lines beyond Cache-Control, "" or lines ending in CRLF */
static int send_json_with(struct mg_connection *c, int status, struct jbuf *b,
	const char *headers)
{
	char h[160];
	snprintf(h, sizeof h, NO_STORE "%s", headers);
	if (b->oom) {
		status = 503;
		b->len = 0;
	}
	web_reply(c, status, "application/json", h, b->p ? b->p : "", b->len);
	free(b->p);
	return status;
}

static int send_json(struct mg_connection *c, int status, struct jbuf *b)
{
	return send_json_with(c, status, b, "");
}

static int error_with(struct mg_connection *c, int status, const char *err, const char *detail,
	const char *headers)
{
	struct jbuf b = {0};
	jb(&b, "{\"error\":");
	jb_str(&b, err);
	jb(&b, ",\"detail\":");
	jb_str(&b, detail);
	jb(&b, "}\n");
	return send_json_with(c, status, &b, headers);
}

static int error(struct mg_connection *c, int status, const char *err, const char *detail)
{
	return error_with(c, status, err, detail, status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
}

/* 405, with the Allow header RFC 9110 requires of it (HEAD goes wherever GET does). allow is
 * "GET", "POST" or "GET, POST". */
static int wrong_method(struct mg_connection *c, const char *allow)
{
	char detail[32], line[48];
	snprintf(detail, sizeof detail, "use %s", allow);
	snprintf(line, sizeof line, "Allow: %s%s\r\n", allow, strstr(allow, "GET") ? ", HEAD" : "");
	return error_with(c, 405, "method_not_allowed", detail, line);
}

static void jb_time(struct jbuf *b, int64_t wall_us)
{
	char ts[40];
	op_fmt_time(ts, sizeof ts, wall_us);
	jb(b, "\"%s\"", ts);
}

/* One result as the row a collector wants. */
static void jb_result(struct jbuf *b, const struct snap_probe *p, const char *region,
	const struct result *r)
{
	char text[4096];
	size_t n = result_json(text, sizeof text, p->name, p->kind, p->target, region, p->service,
		p->groups, r);
	jb_put(b, text, n);
}

/* A delivery's state (a notification channel's, an export's): ,"failing":..,"last_failure":
 * the latest failed attempt in the shape of a result, or null. */
static void jb_delivery(struct jbuf *b, const char *name, const char *kind,
	const struct delivery_state *d)
{
	jb(b, ",\"failing\":%s,\"last_failure\":", d->failing ? "true" : "false");
	if (!d->last_failure.wall_us) {
		jb(b, "null");
		return;
	}
	char text[4096];
	jb_put(b, text, result_json(text, sizeof text, name, kind, d->target, "", NULL, NULL,
		&d->last_failure));
}

/* Writes need "Authorization: Bearer <web.token>". Returns 0 when allowed, else the status of
 * the error it sent (401 wrong or missing token, 403 no token configured). */
static int write_denied(struct mg_connection *c)
{
	struct snap s = {0};
	snap_read(&s, 0);
	if (!s.app.token[0])
		return error(c, 403, "forbidden", "write endpoints are off: set web.token in the config");
	const char *h = mg_get_header(c, "Authorization");
	char want[160];
	snprintf(want, sizeof want, "Bearer %s", s.app.token);
	if (!h || !op_same(h, want))
		return error(c, 401, "unauthorized", "missing or wrong bearer token");
	return 0;
}

/* A write endpoint: 405 unless it is a POST (allow names the methods), then the token check.
 * Returns 0 when the write may go on, else the status of the error it sent. */
static int write_refused(struct mg_connection *c, int post, const char *allow)
{
	if (!post)
		return wrong_method(c, allow);
	return write_denied(c);
}

int web_snap_copy(struct snap *s)
{
	s->probes = NULL;
	uint32_t n = snap_read(s, 0);
	for (int tries = 0; tries < 3; tries++) {
		free(s->probes);
		s->probes = malloc(sizeof *s->probes * (n ? n : 1));
		if (!s->probes)
			return -1;
		uint32_t now = snap_read(s, n);
		if (now <= n) {
			s->app.nprobes = now;
			return 0;
		}
		n = now; /* a reload grew the probe set between the two reads */
	}
	free(s->probes);
	s->probes = NULL;
	return -1;
}

static int get_appliance(struct mg_connection *c)
{
	struct snap s = {0};
	snap_read(&s, 0);
	const struct snap_app *a = &s.app;
	struct jbuf b = {0};
	jb(&b, "{\"name\":");
	jb_str(&b, a->name);
	jb(&b, ",\"region\":");
	jb_str(&b, a->region);
	jb(&b, ",\"labels\":{");
	for (uint32_t i = 0; i < a->nlabels; i++) {
		jb(&b, "%s", i ? "," : "");
		jb_str(&b, a->labels[i][0]);
		jb(&b, ":");
		jb_str(&b, a->labels[i][1]);
	}
	jb(&b, "},\"version\":\"%s\",\"started\":", a->version ? a->version : "");
	jb_time(&b, a->start_wall_us);
	jb(&b, ",\"uptime_s\":%.1f,\"probes\":%u,\"inflight\":%u,\"writes_enabled\":%s,",
		(plat_now_us() - a->start_us) / 1e6, a->nprobes, a->inflight,
		a->token[0] ? "true" : "false");
	jb(&b, "\"limits\":{\"max_probes\":%u,\"max_inflight\":%u,\"history\":%u},\"pools\":{",
		a->max_probes, a->max_inflight, a->history);
	for (int i = 0; i < POOL_COUNT; i++)
		jb(&b, "%s\"%s\":{\"used\":%u,\"max\":%u,\"peak\":%u,\"failures\":%u}", i ? "," : "",
			a->pools[i].name ? a->pools[i].name : "", a->pools[i].used, a->pools[i].cap,
			a->pools[i].max_used, a->pools[i].fails);
	jb(&b, "},\"memory\":{\"rss_bytes\":%llu,\"arena_bytes\":%llu,\"history_bytes\":%llu,"
		"\"tls_arena_bytes\":%llu,\"engine_allocs\":%llu},\"sched_lag_ms\":{\"p50\":%.3f,"
		"\"p99\":%.3f},\"last_reload\":", (unsigned long long)a->rss_bytes,
		(unsigned long long)a->arena_bytes, (unsigned long long)a->history_bytes,
		(unsigned long long)a->tls_arena_bytes, (unsigned long long)a->engine_allocs,
		a->lag_p50_us / 1e3, a->lag_p99_us / 1e3);
	if (a->reload_wall_us) {
		jb(&b, "{\"at\":");
		jb_time(&b, a->reload_wall_us);
		jb(&b, ",\"ok\":%s,\"error\":", a->reload_error[0] ? "false" : "true");
		jb_str(&b, a->reload_error);
		jb(&b, "}}\n");
	} else {
		jb(&b, "null}\n");
	}
	return send_json(c, 200, &b);
}

static int parse_uint(const char *q, const char *key, unsigned def, unsigned max, unsigned *out)
{
	char v[24];
	if (mg_get_var(q, strlen(q), key, v, sizeof v) <= 0) {
		*out = def;
		return 0;
	}
	char *e;
	unsigned long x = strtoul(v, &e, 10);
	if (!v[0] || *e || x > max)
		return -1;
	*out = (unsigned)x;
	return 0;
}

/* A pipeline probe's event counters. */
static void jb_events(struct jbuf *b, const struct evt_stats *e)
{
	static const uint32_t win[EVT_WINDOWS] = EVT_WINDOW_MIN;
	jb(b, ",\"events\":{\"posted\":%llu,\"received\":%llu,\"lost\":%llu,"
		"\"post_errors\":%llu,\"duplicates\":%llu,\"foreign\":%llu,\"unmatched\":%llu,"
		"\"late\":%llu,\"pending\":%u,\"capacity\":%u,\"last_latency_ms\":",
		(unsigned long long)e->posted, (unsigned long long)e->received,
		(unsigned long long)e->lost, (unsigned long long)e->post_errors,
		(unsigned long long)e->duplicates, (unsigned long long)e->foreign,
		(unsigned long long)e->unmatched, (unsigned long long)e->late, e->pending, e->capacity);
	if (e->received)
		jb(b, "%.3f", e->last_latency_us / 1e3);
	else
		jb(b, "null");
	jb(b, ",\"missing_share\":{");
	for (int x = 0; x < EVT_WINDOWS; x++) {
		jb(b, "%s\"%um\":", x ? "," : "", win[x]);
		if (e->missing_share[x] < 0)
			jb(b, "null");
		else
			jb(b, "%.4f", e->missing_share[x]);
	}
	jb(b, "},\"subscription\":{\"connected\":%s,\"connects\":%llu,\"disconnects\":%llu,"
		"\"last_error\":", e->connected ? "true" : "false", (unsigned long long)e->connects,
		(unsigned long long)e->disconnects);
	jb_str(b, e->last_error);
	jb(b, "}}");
}

/* One probe's object, as /probes lists it; h holds room for 240 results. */
static void jb_probe(struct jbuf *b, const struct snap *s, const struct snap_probe *p,
	struct result *h, unsigned nhist)
{
	const struct probe_stats *st = &p->stats;
	jb(b, "{\"name\":");
	jb_str(b, p->name);
	jb(b, ",\"kind\":\"%s\",\"target\":", p->kind);
	jb_str(b, p->target);
	jb(b, ",\"interval_ms\":%llu,\"timeout_ms\":%llu,\"state\":\"%s\",\"runs\":{"
		"\"success\":%llu,\"failure\":%llu,\"skipped\":%llu},\"last\":",
		(unsigned long long)(p->interval_us / 1000), (unsigned long long)(p->timeout_us / 1000),
		!st->has_last ? "unknown" : st->last.ok ? "up" : "down",
		(unsigned long long)st->runs_ok, (unsigned long long)st->runs_fail,
		(unsigned long long)st->skipped);
	if (st->has_last)
		jb_result(b, p, s->app.region, &st->last);
	else
		jb(b, "null");
	jb(b, ",\"last_failure\":");
	if (st->has_failure)
		jb_result(b, p, s->app.region, &st->last_failure);
	else
		jb(b, "null");
	/* success ratio over the stored history, and the newest runs for sparklines */
	int k = snap_history(p->name, 0, h, 240);
	int ok = 0;
	for (int j = 0; j < k; j++)
		ok += h[j].ok;
	const struct slo_target *t = &p->objective;
	if (t->nwin) {
		jb(b, ",\"objective\":{\"availability\":%g,\"latency\":", t->availability);
		if (t->latency_p)
			jb(b, "{\"p\":%g,\"max_ms\":%.3f}", t->latency_p, t->latency_max_us / 1e3);
		else
			jb(b, "null");
		jb(b, ",\"windows\":[");
		for (int x = 0; x < t->nwin; x++) {
			const struct slo_view *v = &p->slo[x];
			char win[16];
			slo_window_name(t->win_min[x], win, sizeof win);
			jb(b, "%s{\"window\":\"%s\",\"runs\":%u,\"availability\":%.5f,"
				"\"latency_ms\":%.3f,\"within_max\":%.5f,\"met\":%s,"
				"\"budget_remaining\":%.4f}", x ? "," : "", win, v->total,
				v->availability, v->latency_q_s * 1e3, v->fast_ratio,
				v->met ? "true" : "false", v->budget_remaining);
		}
		jb(b, "]}");
	}
	if (!strcmp(p->kind, "pipeline"))
		jb_events(b, &p->events);
	if (!strcmp(p->kind, "scenario") && p->steps.n) {
		static const char *const step_state[] = {"not_run", "passed", "failed"};
		jb(b, ",\"steps\":[");
		for (int x = 0; x < p->steps.n && x < SNAP_STEPS_MAX; x++) {
			jb(b, "%s{\"name\":", x ? "," : "");
			jb_str(b, p->steps.s[x].name);
			jb(b, ",\"state\":\"%s\",\"duration_ms\":%.3f}", step_state[p->steps.s[x].state % 3],
				p->steps.s[x].duration_us / 1e3);
		}
		jb(b, "]");
	}
	jb(b, ",\"history_size\":%d,\"success_ratio\":", k);
	if (k)
		jb(b, "%.4f", (double)ok / k);
	else
		jb(b, "null");
	if (nhist) {
		jb(b, ",\"history\":[");
		int m = OP_MIN(k, (int)nhist);
		for (int j = m - 1; j >= 0; j--)
			jb(b, "[%lld,%.3f,%d]%s", (long long)(h[j].wall_us / 1000),
				h[j].duration_us / 1e3, h[j].ok, j ? "," : "");
		jb(b, "]");
	}
	jb(b, "}");
}

/* GET /api/v1/probes: every probe; GET /api/v1/probes/{name} (only): that one's object. */
static int get_probes(struct mg_connection *c, const char *q, const char *only)
{
	unsigned nhist;
	if (parse_uint(q, "history", 0, 240, &nhist))
		return error(c, 400, "bad_request", "history must be a whole number 0..240");
	struct snap s;
	struct result *h = malloc(sizeof *h * 240);
	if (!h || web_snap_copy(&s) != 0) {
		free(h);
		return error(c, 503, "unavailable", "out of memory");
	}
	struct jbuf b = {0};
	int listed = 0;
	if (!only)
		jb(&b, "{\"probes\":[");
	for (uint32_t i = 0; i < s.app.nprobes; i++) {
		if (only && strcmp(s.probes[i].name, only))
			continue;
		if (listed++)
			jb(&b, ",");
		jb_probe(&b, &s, &s.probes[i], h, nhist);
	}
	jb(&b, only ? "\n" : "]}\n");
	free(s.probes);
	free(h);
	if (only && !listed) {
		free(b.p);
		return error(c, 404, "not_found", "no probe by that name");
	}
	return send_json(c, 200, &b);
}

/* The snapshot entry of probe name (copied), or -1. */
static int find_probe(const char *name, struct snap_probe *out, char *region, size_t rcap)
{
	struct snap s;
	if (web_snap_copy(&s) != 0)
		return -1;
	uint32_t n = s.app.nprobes;
	int found = -1;
	for (uint32_t i = 0; i < n && found < 0; i++) {
		if (!strcmp(s.probes[i].name, name)) {
			*out = s.probes[i];
			found = (int)i;
		}
	}
	op_strlcpy(region, s.app.region, rcap);
	free(s.probes);
	return found;
}

/* GET /api/v1/probes/{name}/logs: the log objects of the probe's service, newest first. */
static int get_logs(struct mg_connection *c, const char *name, const char *q)
{
	unsigned limit;
	if (parse_uint(q, "limit", 100, 1000, &limit))
		return error(c, 400, "bad_request", "limit must be a whole number 0..1000");
	struct snap_probe p;
	char region[OP_NAME_MAX];
	if (find_probe(name, &p, region, sizeof region) < 0)
		return error(c, 404, "not_found", "no probe by that name");
	struct log_entry *e = malloc(sizeof *e * (limit ? limit : 1));
	if (!e)
		return error(c, 503, "unavailable", "out of memory");
	int n = logstore_list(p.service, e, limit);
	if (n < 0) {
		free(e);
		return error(c, 404, "not_found", "no log store: set \"logs\": {\"dir\": ...}");
	}
	struct jbuf b = {0};
	jb(&b, "{\"logs\":[");
	for (int i = 0; i < n; i++) {
		char ts[40];
		op_fmt_time(ts, sizeof ts, e[i].wall_us);
		jb(&b, "%s{\"object\":", i ? "," : "");
		jb_str(&b, e[i].name);
		jb(&b, ",\"url\":\"/logs/%s\",\"timestamp\":\"%s\",\"succeeded\":%s,\"bytes\":%u}",
			e[i].name, ts, e[i].outcome == LOG_INTERRUPTED ? "null" : e[i].outcome ==
			LOG_SUCCESS ? "true" : "false", e[i].size);
	}
	jb(&b, "]}\n");
	free(e);
	return send_json(c, 200, &b);
}

static int get_results(struct mg_connection *c, const char *name, const char *q)
{
	unsigned limit;
	if (parse_uint(q, "limit", 100, OP_MAX_HISTORY, &limit))
		return error(c, 400, "bad_request", "limit must be a whole number 0..1440");
	int64_t since = 0;
	char v[64];
	if (mg_get_var(q, strlen(q), "since", v, sizeof v) > 0 && op_parse_time(v, &since) != 0)
		return error(c, 400, "bad_request",
			"since must be an RFC 3339 UTC time, e.g. 2026-11-22T10:00:00Z");
	struct snap_probe p;
	char region[OP_NAME_MAX];
	if (find_probe(name, &p, region, sizeof region) < 0)
		return error(c, 404, "not_found", "no probe by that name");
	struct result *h = malloc(sizeof *h * (limit ? limit : 1));
	if (!h)
		return error(c, 503, "unavailable", "out of memory");
	int k = snap_history(name, since, h, limit);
	struct jbuf b = {0};
	jb(&b, "{\"results\":[");
	for (int i = 0; i < k; i++) {
		jb(&b, "%s", i ? "," : "");
		jb_result(&b, &p, region, &h[i]);
	}
	jb(&b, "]}\n");
	free(h);
	return send_json(c, 200, &b);
}

static int post_run(struct mg_connection *c, const char *name)
{
	struct snap_probe p;
	char region[OP_NAME_MAX];
	if (find_probe(name, &p, region, sizeof region) < 0)
		return error(c, 404, "not_found", "no probe by that name");
	struct result r;
	int rc = engine_run_now(name, &r);
	if (rc == OP_EAGAIN)
		return error(c, 409, "busy", "the probe is running right now; try again");
	if (rc == OP_ENOMEM)
		return error(c, 503, "busy", "too many on-demand runs at once");
	if (rc)
		return error(c, rc == OP_ENOENT ? 404 : 503, "unavailable", op_strerror(rc));
	struct jbuf b = {0};
	jb_result(&b, &p, region, &r);
	jb(&b, "\n");
	return send_json(c, 200, &b);
}


static const char *const alarm_states[] = {"ok", "pending", "firing"};

/* GET /api/v1/exports: each export's backlog, deliveries and latest failure. */
static int get_exports(struct mg_connection *c)
{
	struct spool_stats st;
	spool_stats(&st);
	struct jbuf b = {0};
	jb(&b, "{\"exports\":[");
	for (uint32_t i = 0; i < st.nsinks; i++) {
		char oldest[40] = "";
		if (st.oldest_pending_us[i])
			op_fmt_time(oldest, sizeof oldest, st.oldest_pending_us[i]);
		jb(&b, "%s{\"name\":", i ? "," : "");
		jb_str(&b, st.names[i]);
		jb(&b, ",\"url\":");
		jb_str(&b, st.delivery[i].target);
		jb(&b, ",\"pending_records\":%llu,\"pending_bytes\":%llu,\"oldest_pending\":%s%s%s,"
			"\"sent\":%llu,\"failed\":%llu,\"refused\":%llu",
			(unsigned long long)st.pending_records[i], (unsigned long long)st.pending_bytes[i],
			oldest[0] ? "\"" : "", oldest[0] ? oldest : "null", oldest[0] ? "\"" : "",
			(unsigned long long)st.sent[i], (unsigned long long)st.failed[i],
			(unsigned long long)st.refused[i]);
		jb_delivery(&b, st.names[i], "export", &st.delivery[i]);
		jb(&b, "}");
	}
	jb(&b, "],\"spool_medium_failed\":%s}\n", st.moved ? "true" : "false");
	return send_json(c, 200, &b);
}

/* GET /api/v1/alarms (and /silences): every alarm instance, the channels, the silences. */
static int get_alarms(struct mg_connection *c)
{
	struct alarm_pub *al = malloc(sizeof *al * OP_ALARM_INSTANCES_MAX);
	struct channel_pub ch[OP_CHANNELS_MAX];
	struct alarm_silence sil[OP_SILENCES_MAX];
	uint32_t nch, nsil;
	if (!al)
		return error(c, 503, "unavailable", "out of memory");
	uint32_t n = OP_MIN(alarm_read(al, OP_ALARM_INSTANCES_MAX, ch, &nch, sil, &nsil),
		OP_ALARM_INSTANCES_MAX);
	struct jbuf b = {0};
	jb(&b, "{\"alarms\":[");
	for (uint32_t i = 0; i < n; i++) {
		char since[40];
		op_fmt_time(since, sizeof since, al[i].since_us);
		jb(&b, "%s{\"alarm\":", i ? "," : "");
		jb_str(&b, al[i].alarm);
		jb(&b, ",\"probe\":");
		jb_str(&b, al[i].probe);
		jb(&b, ",\"state\":\"%s\",\"since\":\"%s\",\"value\":%.6g,\"silenced\":%s,\"reason\":",
			alarm_states[al[i].state % 3], since, al[i].value, al[i].silenced ? "true" : "false");
		jb_str(&b, al[i].reason);
		jb(&b, "}");
	}
	jb(&b, "],\"channels\":[");
	for (uint32_t i = 0; i < nch; i++) {
		jb(&b, "%s{\"name\":", i ? "," : "");
		jb_str(&b, ch[i].name);
		jb(&b, ",\"type\":\"%s\",\"sent\":%llu,\"failed\":%llu,\"dropped\":%llu,\"queued\":%u",
			ch[i].delivery.target, (unsigned long long)ch[i].sent, (unsigned long long)ch[i].failed,
			(unsigned long long)ch[i].dropped, ch[i].queued);
		jb_delivery(&b, ch[i].name, "notify", &ch[i].delivery);
		jb(&b, "}");
	}
	jb(&b, "],\"silences\":[");
	for (uint32_t i = 0; i < nsil; i++) {
		jb(&b, "%s{\"alarm\":", i ? "," : "");
		jb_str(&b, sil[i].alarm[0] ? sil[i].alarm : "*");
		if (sil[i].until_wall_us) {
			char until[40];
			op_fmt_time(until, sizeof until, sil[i].until_wall_us);
			jb(&b, ",\"until\":\"%s\"", until);
		} else {
			jb(&b, ",\"weekdays\":%u,\"from\":\"%02u:%02u\",\"to\":\"%02u:%02u\"",
				sil[i].weekdays, sil[i].from_min / 60, sil[i].from_min % 60,
				sil[i].to_min / 60, sil[i].to_min % 60);
		}
		jb(&b, ",\"comment\":");
		jb_str(&b, sil[i].comment);
		jb(&b, "}");
	}
	jb(&b, "]}\n");
	free(al);
	return send_json(c, 200, &b);
}

/* A value of a request's JSON into out as it reads (a string's escapes decoded), cut at cap. */
static void field_text(char *out, size_t cap, const char *body, const char *v, size_t n)
{
	char s[1024];
	json_as_read(body, &v, &n, s, sizeof s);
	snprintf(out, cap, "%.*s", (int)OP_MIN(n, cap - 1), v);
}

/* POST /api/v1/silences {"alarm": "name" or "*", "until": RFC 3339 | "for": "2h", "comment"} */
static int post_silence(struct mg_connection *c)
{
	char body[1024];
	int n = mg_read(c, body, sizeof body - 1);
	if (n <= 0)
		return error(c, 400, "bad_request", "send {\"alarm\": \"name\" or \"*\", \"for\": \"2h\" "
			"or \"until\": \"2026-12-01T06:00:00Z\", \"comment\": \"...\"}");
	body[n] = 0;
	const char *paths[] = {"$.alarm", "$.until", "$.for", "$.comment"}, *val[4];
	size_t vlen[4];
	jsmntok_t toks[32];
	int nt = json_parse(body, (size_t)n, toks, 32);
	if (nt < 1 || toks[0].type != JSMN_OBJECT)
		return error(c, 400, "bad_request", "the body must be a JSON object");
	json_lookup(body, toks, nt, paths, 4, val, vlen);
	struct alarm_silence s = {0};
	char tmp[64];
	if (val[0] && !(vlen[0] == 1 && val[0][0] == '*'))
		field_text(s.alarm, sizeof s.alarm, body, val[0], vlen[0]);
	if (val[3])
		field_text(s.comment, sizeof s.comment, body, val[3], vlen[3]);
	for (char *p = s.comment; *p; p++)
		if ((unsigned char)*p < ' ')
			*p = ' '; /* one line in the state file */
	if (val[1]) {
		field_text(tmp, sizeof tmp, body, val[1], vlen[1]);
		if (op_parse_time(tmp, &s.until_wall_us) != 0)
			return error(c, 400, "bad_request", "until must be an RFC 3339 UTC time");
	} else if (val[2]) {
		uint64_t us;
		field_text(tmp, sizeof tmp, body, val[2], vlen[2]);
		if (cfg_parse_duration(tmp, &us) != 0 || !us)
			return error(c, 400, "bad_request", "for must be a duration like \"2h\"");
		s.until_wall_us = plat_wall_us() + (int64_t)us;
	} else {
		return error(c, 400, "bad_request", "give \"until\" or \"for\"");
	}
	if (s.until_wall_us <= plat_wall_us())
		return error(c, 400, "bad_request", "the silence would end in the past");
	int rc = alarm_request_silence(&s);
	if (rc == OP_ENOENT)
		return error(c, 404, "not_found", "no alarm by that name (GET /api/v1/alarms lists them)");
	if (rc != 0)
		return error(c, 503, "unavailable", "too many silences asked at once; try again");
	char until[40];
	op_fmt_time(until, sizeof until, s.until_wall_us);
	struct jbuf b = {0};
	jb(&b, "{\"status\":\"silenced\",\"alarm\":");
	jb_str(&b, s.alarm[0] ? s.alarm : "*");
	jb(&b, ",\"until\":\"%s\"}\n", until);
	return send_json(c, 202, &b);
}

int api_handle(struct mg_connection *c, void *cbdata)
{
	(void)cbdata;
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *path = ri->local_uri ? ri->local_uri : "";
	const char *q = ri->query_string ? ri->query_string : "";
	/* HEAD is a GET whose body web_reply leaves out */
	int post = !strcmp(ri->request_method, "POST"), get = !strcmp(ri->request_method, "GET") ||
		!strcmp(ri->request_method, "HEAD");
	const char *rest = path + strlen("/api/v1/");
	if (strncmp(path, "/api/v1/", 8))
		return error(c, 404, "not_found", "no such endpoint");
	if (!strcmp(rest, "appliance"))
		return get ? get_appliance(c) : wrong_method(c, "GET");
	if (!strcmp(rest, "probes"))
		return get ? get_probes(c, q, NULL) : wrong_method(c, "GET");
	if (!strcmp(rest, "openapi.json")) {
		if (!get)
			return wrong_method(c, "GET");
		struct jbuf b = {0};
		jb_put(&b, web_openapi_json, web_openapi_json_len);
		return send_json(c, 200, &b);
	}
	if (!strcmp(rest, "reload")) {
		int refused = write_refused(c, post, "POST");
		if (refused)
			return refused;
		/* the caller learns the outcome: a script that wrote the file wants the error */
		char err[256];
		int rc = engine_reload_wait(RELOAD_WAIT_US, err, sizeof err);
		struct jbuf b = {0};
		if (rc < 0) {
			jb(&b, "{\"status\":\"reloading\",\"detail\":\"still under way after %d s: "
				"see last_reload in /api/v1/appliance\"}\n", (int)(RELOAD_WAIT_US / 1000000));
			return send_json(c, 202, &b);
		}
		if (rc == 0)
			return error(c, 422, "reload refused, keeping the running config", err);
		struct snap s = {0};
		snap_read(&s, 0);
		jb(&b, "{\"status\":\"reloaded\",\"probes\":%u}\n", s.app.nprobes);
		return send_json(c, 200, &b);
	}
	if (!strcmp(rest, "exports"))
		return get ? get_exports(c) : wrong_method(c, "GET");
	if (!strcmp(rest, "alarms"))
		return get ? get_alarms(c) : wrong_method(c, "GET");
	if (!strcmp(rest, "silences")) {
		if (get)
			return get_alarms(c);
		int refused = write_refused(c, post, "GET, POST");
		return refused ? refused : post_silence(c);
	}
	if (!strcmp(rest, "notify/test")) {
		int refused = write_refused(c, post, "POST");
		if (refused)
			return refused;
		alarm_request_test();
		struct jbuf b = {0};
		jb(&b, "{\"status\":\"queued\",\"detail\":\"a test message goes to every channel; "
			"watch outpost_notifications_total\"}\n");
		return send_json(c, 202, &b);
	}
	if (!strncmp(rest, "probes/", 7)) {
		char name[OP_NAME_MAX];
		const char *n = rest + 7, *slash = strchr(n, '/');
		if (!slash && *n && strlen(n) < sizeof name)
			return get ? get_probes(c, q, n) : wrong_method(c, "GET");
		if (!slash || (size_t)(slash - n) >= sizeof name || slash == n)
			return error(c, 404, "not_found", "no such endpoint");
		memcpy(name, n, (size_t)(slash - n));
		name[slash - n] = 0;
		if (!strcmp(slash, "/results"))
			return get ? get_results(c, name, q) :
				wrong_method(c, "GET");
		if (!strcmp(slash, "/logs"))
			return get ? get_logs(c, name, q) :
				wrong_method(c, "GET");
		if (!strcmp(slash, "/run")) {
			int refused = write_refused(c, post, "POST");
			return refused ? refused : post_run(c, name);
		}
	}
	return error(c, 404, "not_found", "no such endpoint");
}
