/* export.c: results pushed out through the spool. Every result becomes a spool record; each
 * configured export is a sink with its own cursor, sent by an internal run of the kind
 * "export" (like a notification channel): read a batch after the cursor, POST it, and on 2xx
 * move the cursor. A failure leaves the cursor where it was and tries again after a backoff
 * (2 s doubling to 5 min, jittered), so a link that is down for hours loses nothing the spool
 * can hold; only a batch the collector refuses as such (400, 422) is dropped (see sent()).
 *
 *   results_webhook: the batch as JSON lines (the results API's shape), Content-Type
 *                    application/x-ndjson.
 *   remote_write:    Prometheus remote-write 1.0 (core/promwrite): probe_success,
 *                    probe_duration_seconds and outpost_probe_phase_seconds{phase} of each
 *                    result with its own timestamp, so a backlog lands at the right times.
 *   otlp:            OTLP/HTTP with JSON encoding: a trace per run, a root span for the run
 *                    and a child span per phase, ids derived from the run (a resend carries
 *                    the same ones).
 *
 * Record: u8 version (2) | five strings (u16 length + bytes): name, kind, target, service,
 * groups | u16 length + the result in its stable encoding (result_encode: a backlog written
 * before an upgrade is still read after it) | for scenario probes: u8 count and per step a
 * string name, u32 duration µs, u8 state. Version 1 had the raw struct result instead, read
 * while its layout is this build's. */
#include <stdio.h>
#include <string.h>
#include "cfg.h"
#include "engine.h"
#include "export.h"
#include "httpc.h"
#include "probe.h"
#include "promwrite.h"
#include "rand.h"
#include "snap.h"
#include "spool.h"
#include "../platform/plat.h"
#include <mbedtls/sha256.h>
#include "json.h"

#define REC_VERSION 2
#define RAW_MAX 6144
#define BODY_MAX 16384

enum export_type { EX_WEBHOOK, EX_REMOTE_WRITE, EX_OTLP };

struct export_conf {
	const char *type, *url, *headers, *proxy_url;
	uint8_t kind;
	uint32_t batch;
	struct probe_tls tls_opts;
	struct probe_proxy proxy;
	struct httpc_req req;
};

struct export_run {
	struct httpc h;
	struct httpc_req req;
	struct spool_batch b;
	uint8_t ended, more; /* more: the spool holds more than this batch (or may) */
	uint64_t pause_us;   /* the collector's Retry-After with a failure (httpc_pause_us) */
	char headers[1024];
};

/* A sink's buffers live with the sink (p->kstate, from the arena), not in every run slot. */
struct export_bufs {
	uint8_t raw[RAW_MAX];
	char body[BODY_MAX];
};

size_t export_bufs_size(void)
{
	return sizeof(struct export_bufs);
}

static struct {
	const struct cfg *cfg;
	struct probe **sinks;
	uint32_t n;
	uint32_t failures[SPOOL_SINKS_MAX];
	uint32_t batch[SPOOL_SINKS_MAX]; /* results a request carries now: batch, or less after 413 */
	uint64_t sent[SPOOL_SINKS_MAX], failed[SPOOL_SINKS_MAX], refused[SPOOL_SINKS_MAX];
	uint64_t last_flush_us;
	struct ev_timer flush; /* every spool.flush_every */
} X;

/* Each sink's counts when the last engine stopped: a sink of the same name goes on from them
 * after a reload, as probes and channels do. */
static struct {
	char name[OP_NAME_MAX];
	uint64_t sent, failed, refused;
} kept[SPOOL_SINKS_MAX];
static uint32_t nkept;

static const struct cfg_key export_keys[] = {
	{"type", CFG_STR, 1, offsetof(struct export_conf, type), 0, 32, NULL},
	{"url", CFG_STR, 1, offsetof(struct export_conf, url), 0, OP_TARGET_MAX - 1, NULL},
	{"headers", CFG_FN, 0, offsetof(struct export_conf, headers), 0, 0, cfg_headers},
	{"batch", CFG_UINT, 0, offsetof(struct export_conf, batch), 1, 64, NULL},
	{"tls", CFG_OBJ, 0, offsetof(struct export_conf, tls_opts), 0, 0, NULL, probe_tls_keys,
		PROBE_TLS_NKEYS},
	{"proxy", CFG_STR, 0, offsetof(struct export_conf, proxy_url), 1, OP_TARGET_MAX - 1, NULL},
};

static int export_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct export_conf *k = (struct export_conf *)p->conf;
	if (!strcmp(k->type, "results_webhook"))
		k->kind = EX_WEBHOOK;
	else if (!strcmp(k->type, "remote_write"))
		k->kind = EX_REMOTE_WRITE;
	else if (!strcmp(k->type, "otlp"))
		k->kind = EX_OTLP;
	else
		return cfg_error(c, tok, "export \"%s\": \"type\" is \"results_webhook\", "
			"\"remote_write\" or \"otlp\", not \"%s\"", p->name, k->type);
	p->target = k->url;
	if (!k->batch)
		k->batch = 20;
	int rc = httpc_configure(c, tok, p, "url", k->url, "http", &k->tls_opts, &k->req);
	if (rc == 0)
		rc = probe_proxy_configure(c, tok, p, k->proxy_url, &k->proxy, &k->req.proxy);
	if (rc < 0)
		return rc;
	k->req.method = "POST";
	k->req.max_body_kib = 64;
	return 0;
}

/* ---- records ---- */

static size_t put_str(uint8_t *out, const char *s)
{
	size_t n = strlen(s);
	out[0] = (uint8_t)n;
	out[1] = (uint8_t)(n >> 8);
	memcpy(out + 2, s, n);
	return n + 2;
}

static const char *get_str(const uint8_t **p, const uint8_t *end, char *buf, size_t cap)
{
	if (end - *p < 2)
		return NULL;
	size_t n = (size_t)((*p)[0] | (*p)[1] << 8);
	if ((size_t)(end - *p - 2) < n || n >= cap)
		return NULL;
	memcpy(buf, *p + 2, n);
	buf[n] = 0;
	*p += n + 2;
	return buf;
}

void export_result(const struct probe *p, const struct result *r)
{
	if (!spool_on() || p->adhoc || p->internal)
		return;
	uint8_t rec[2048];
	const struct cfg_probe *cp = p->cfg;
	size_t w = 0;
	rec[w++] = REC_VERSION;
	if (strlen(cp->target) > 300 || strlen(cp->groups) > 300)
		return;
	w += put_str(rec + w, cp->name);
	w += put_str(rec + w, cp->kind);
	w += put_str(rec + w, cp->target);
	w += put_str(rec + w, cp->service);
	w += put_str(rec + w, cp->groups);
	size_t n = result_encode(rec + w + 2, 512, r);
	rec[w] = (uint8_t)n;
	rec[w + 1] = (uint8_t)(n >> 8);
	w += 2 + n;
	if (cp->ops->publish && !strcmp(cp->kind, "scenario") && p->kstate) {
		/* the steps of the run that just ended (published to the kind's state first) */
		static struct snap_probe sp;
		cp->ops->publish((struct probe *)p, &sp);
		rec[w++] = sp.steps.n;
		for (int i = 0; i < sp.steps.n && i < SNAP_STEPS_MAX; i++) {
			w += put_str(rec + w, sp.steps.s[i].name);
			memcpy(rec + w, &sp.steps.s[i].duration_us, 4);
			w += 4;
			rec[w++] = sp.steps.s[i].state;
		}
	}
	spool_append(r->wall_us, rec, w); /* (a record the medium cannot take is counted there) */
}

struct rec {
	char name[OP_NAME_MAX], kind[16], target[OP_TARGET_MAX + 64], service[OP_NAME_MAX];
	char groups[320];
	struct result r;
	struct snap_steps steps; /* scenario probes; n 0 otherwise */
};

/* A record back into its parts; -1 when it is not one of this build's. */
static int decode(const uint8_t *rec, size_t len, struct rec *o)
{
	const uint8_t *p = rec, *end = rec + len;
	uint8_t version = len ? *p++ : 0;
	if ((version != 1 && version != REC_VERSION) || !get_str(&p, end, o->name, sizeof o->name) ||
		!get_str(&p, end, o->kind, sizeof o->kind) ||
		!get_str(&p, end, o->target, sizeof o->target) ||
		!get_str(&p, end, o->service, sizeof o->service) ||
		!get_str(&p, end, o->groups, sizeof o->groups))
		return -1;
	if (version == 1) {
		if ((size_t)(end - p) < sizeof(struct result))
			return -1;
		memcpy(&o->r, p, sizeof o->r);
		p += sizeof o->r;
	} else {
		size_t n = end - p < 2 ? SIZE_MAX : (size_t)(p[0] | p[1] << 8);
		if (n > (size_t)(end - p) - 2 || result_decode(p + 2, n, &o->r) != 0)
			return -1;
		p += 2 + n;
	}
	o->steps.n = 0;
	if (p == end)
		return 0;
	uint8_t n = *p++;
	for (uint8_t i = 0; i < n && i < SNAP_STEPS_MAX; i++) {
		if (!get_str(&p, end, o->steps.s[i].name, sizeof o->steps.s[i].name) || end - p < 5)
			return -1;
		memcpy(&o->steps.s[i].duration_us, p, 4);
		o->steps.s[i].state = p[4];
		p += 5;
		o->steps.n = (uint8_t)(i + 1);
	}
	return p == end ? 0 : -1;
}

struct each {
	export_result_fn *fn;
	void *ctx;
};

static void each_record(void *ctx, int64_t wall_us, const uint8_t *rec, size_t len)
{
	static struct rec o;
	struct each *e = ctx;
	(void)wall_us;
	if (decode(rec, len, &o) == 0)
		e->fn(e->ctx, o.name, o.kind, o.target, &o.r);
}

void export_each_result(export_result_fn *fn, void *ctx)
{
	struct each e = {fn, ctx};
	if (spool_on())
		spool_each(each_record, &e);
}

/* One record as a JSON line; 0 when it is not one of ours or does not fit. */
static size_t render(char *out, size_t cap, const uint8_t *rec, size_t len)
{
	static struct rec o;
	if (decode(rec, len, &o) != 0)
		return 0;
	const struct cfg *cfg = engine_cfg();
	size_t n = result_json(out, cap, o.name, o.kind, o.target, cfg ? cfg->region : "",
		o.service, o.groups, &o.r);
	if (!n || !cfg)
		return 0;
	/* and which appliance measured it, as its webhook messages say: a hub hears many */
	static const char key[] = ",\"appliance\":";
	n--; /* over the result's closing brace */
	if (n + sizeof key >= cap)
		return 0;
	memcpy(out + n, key, sizeof key - 1);
	n += sizeof key - 1;
	size_t a = cfg_appliance_json(out + n, cap - n, cfg);
	if (!a || n + a + 2 >= cap)
		return 0;
	n += a;
	out[n++] = '}';
	out[n++] = '\n';
	return n;
}

/* A series' labels in l, sorted by name as remote-write asks: __name__ = name, the run's own,
 * phase (when not NULL) and the appliance's labels, as every series on /metrics has them.
 * Returns how many. */
static int series_labels(struct pw_label *l, const struct cfg *cfg, const struct rec *o,
	const char *name, const char *phase)
{
	int n = 0;
	l[n++] = (struct pw_label){"__name__", name};
	l[n++] = (struct pw_label){"appliance", cfg ? cfg->name : "outpost"};
	l[n++] = (struct pw_label){"kind", o->kind};
	l[n++] = (struct pw_label){"probe", o->name};
	l[n++] = (struct pw_label){"target", o->target};
	if (cfg && cfg->region[0])
		l[n++] = (struct pw_label){"region", cfg->region};
	if (phase)
		l[n++] = (struct pw_label){"phase", phase};
	for (uint32_t i = 0; cfg && i < cfg->nlabels; i++)
		l[n++] = (struct pw_label){cfg->labels[i].key, cfg->labels[i].value};
	for (int i = 1; i < n; i++) /* insertion sort: a dozen names */
		for (int j = i; j > 0 && strcmp(l[j - 1].name, l[j].name) > 0; j--) {
			struct pw_label t = l[j];
			l[j] = l[j - 1], l[j - 1] = t;
		}
	return n;
}

/* One record's series into the WriteRequest at out[0..*len); 0, or -1 when it does not fit
 * (out unchanged) or is not ours (nothing added). */
static int series(uint8_t *out, size_t cap, size_t *len, const uint8_t *rec, size_t rlen)
{
	static struct rec o;
	if (decode(rec, rlen, &o) != 0)
		return 0;
	const struct cfg *cfg = engine_cfg();
	int64_t ts = o.r.wall_us / 1000;
	size_t at = *len;
	struct pw_label l[8 + OP_MAX_LABELS];
	int n = series_labels(l, cfg, &o, "probe_success", NULL);
	int rc = pw_series(out, cap, len, l, n, o.r.ok, ts);
	n = series_labels(l, cfg, &o, "probe_duration_seconds", NULL);
	if (!rc)
		rc = pw_series(out, cap, len, l, n, o.r.duration_us / 1e6, ts);
	for (int ph = 0; ph < PHASE_COUNT && !rc; ph++) {
		n = series_labels(l, cfg, &o, "outpost_probe_phase_seconds", phase_name(ph));
		rc = pw_series(out, cap, len, l, n, o.r.phase_us[ph] / 1e6, ts);
	}
	if (rc) {
		*len = at;
		return -1;
	}
	return 0;
}

/* OTLP: the spans of one run, comma-separated, into out; 0 when it does not fit. */
static size_t spans(char *out, size_t cap, const uint8_t *rec, size_t len, int first)
{
	static struct rec o;
	if (decode(rec, len, &o) != 0)
		return 0;
	uint8_t id[32];
	char seed[OP_NAME_MAX + 32];
	int sl = snprintf(seed, sizeof seed, "%s|%lld", o.name, (long long)o.r.wall_us);
	mbedtls_sha256_ret((const uint8_t *)seed, (size_t)sl, id, 0);
	char trace[33], root[17];
	for (int i = 0; i < 16; i++)
		snprintf(trace + 2 * i, 3, "%02x", id[i]);
	for (int i = 0; i < 8; i++)
		snprintf(root + 2 * i, 3, "%02x", id[16 + i]);
	char name[OP_NAME_MAX * 2], target[sizeof o.target * 2], detail[OP_DETAIL_MAX * 6];
	json_quote(name, sizeof name, o.name);
	json_quote(target, sizeof target, o.target);
	json_quote(detail, sizeof detail, o.r.detail);
	uint64_t t0 = (uint64_t)o.r.wall_us * 1000, t1 = t0 + (uint64_t)o.r.duration_us * 1000;
	size_t w = 0;
	int n = snprintf(out, cap, "%s{\"traceId\":\"%s\",\"spanId\":\"%s\",\"name\":\"probe %s\","
		"\"kind\":3,\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\","
		"\"attributes\":[{\"key\":\"outpost.probe\",\"value\":{\"stringValue\":%s}},"
		"{\"key\":\"outpost.kind\",\"value\":{\"stringValue\":\"%s\"}},"
		"{\"key\":\"outpost.target\",\"value\":{\"stringValue\":%s}},"
		"{\"key\":\"outpost.success\",\"value\":{\"boolValue\":%s}}", first ? "" : ",", trace,
		root, o.name, (unsigned long long)t0, (unsigned long long)t1, name, o.kind, target,
		o.r.ok ? "true" : "false");
	if (n < 0 || (size_t)n >= cap)
		return 0;
	w = (size_t)n;
	if (o.r.http_status)
		w += (size_t)snprintf(out + w, cap - w, ",{\"key\":\"http.response.status_code\","
			"\"value\":{\"intValue\":\"%d\"}}", o.r.http_status);
	if (!o.r.ok && w < cap)
		w += (size_t)snprintf(out + w, cap - w, ",{\"key\":\"outpost.reason\",\"value\":"
			"{\"stringValue\":\"%s\"}}", reason_label(o.r.reason));
	if (w < cap)
		w += (size_t)snprintf(out + w, cap - w, "],\"status\":{\"code\":%d,\"message\":%s}}",
			o.r.ok ? 1 : 2, o.r.ok ? "\"\"" : detail);
	/* a scenario's steps, else the phases, one after another from the run's start */
	uint64_t at = t0;
	for (int st = 0; st < o.steps.n && w < cap; st++) {
		if (!o.steps.s[st].state)
			continue; /* not run */
		char sid[17], nm[48], sname[160];
		for (int i = 0; i < 8; i++)
			snprintf(sid + 2 * i, 3, "%02x", (uint8_t)(id[24 + i] ^ (i == 6 ? st + 1 : 0)));
		snprintf(nm, sizeof nm, "step %s", o.steps.s[st].name);
		json_quote(sname, sizeof sname, nm);
		uint64_t end = at + (uint64_t)o.steps.s[st].duration_us * 1000;
		w += (size_t)snprintf(out + w, cap - w, ",{\"traceId\":\"%s\",\"spanId\":\"%s\","
			"\"parentSpanId\":\"%s\",\"name\":%s,\"kind\":1,\"startTimeUnixNano\":\"%llu\","
			"\"endTimeUnixNano\":\"%llu\",\"status\":{\"code\":%d}}", trace, sid, root, sname,
			(unsigned long long)at, (unsigned long long)end, o.steps.s[st].state == 1 ? 1 : 2);
		at = end;
	}
	for (int ph = 0; ph < PHASE_COUNT && w < cap && !o.steps.n; ph++) {
		if (!o.r.phase_us[ph])
			continue;
		char sid[17];
		for (int i = 0; i < 8; i++)
			snprintf(sid + 2 * i, 3, "%02x", (uint8_t)(id[24 + i] ^ (i == 7 ? ph + 1 : 0)));
		uint64_t end = at + (uint64_t)o.r.phase_us[ph] * 1000;
		w += (size_t)snprintf(out + w, cap - w, ",{\"traceId\":\"%s\",\"spanId\":\"%s\","
			"\"parentSpanId\":\"%s\",\"name\":\"%s\",\"kind\":1,\"startTimeUnixNano\":\"%llu\","
			"\"endTimeUnixNano\":\"%llu\"}", trace, sid, root, phase_name(ph),
			(unsigned long long)at, (unsigned long long)end);
		at = end;
	}
	return w < cap ? w : 0;
}

/* The envelope around the spans: the resource (this appliance) and the scope. */
static size_t otlp_head(char *out, size_t cap)
{
	const struct cfg *cfg = engine_cfg();
	char name[OP_NAME_MAX * 2], region[OP_NAME_MAX * 2];
	json_quote(name, sizeof name, cfg ? cfg->name : "outpost");
	json_quote(region, sizeof region, cfg ? cfg->region : "");
	int n = snprintf(out, cap, "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
		"{\"key\":\"service.name\",\"value\":{\"stringValue\":\"outpost\"}},"
		"{\"key\":\"outpost.appliance\",\"value\":{\"stringValue\":%s}},"
		"{\"key\":\"cloud.region\",\"value\":{\"stringValue\":%s}}", name, region);
	for (uint32_t i = 0; cfg && i < cfg->nlabels && n > 0 && (size_t)n < cap; i++) {
		char k[OP_NAME_MAX * 2], v[OP_NAME_MAX * 2];
		json_quote(k, sizeof k, cfg->labels[i].key);
		json_quote(v, sizeof v, cfg->labels[i].value);
		n += snprintf(out + n, cap - (size_t)n, ",{\"key\":%s,\"value\":{\"stringValue\":%s}}",
			k, v);
	}
	if (n > 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, "]},\"scopeSpans\":[{\"scope\":{\"name\":"
			"\"outpost\",\"version\":\"%s\"},\"spans\":[", op_version);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- the sink's run ---- */

/* The first line of what the collector answered, as " (text)" for a detail, or "". */
static void collector_says(const struct httpc *h, char *out, size_t cap)
{
	size_t n = 0;
	while (n < h->kept && n < 48 && h->body[n] != '\n' && h->body[n] != '\r')
		n++;
	out[0] = 0;
	if (n && cap > 8) {
		size_t w = op_excerpt(h->body, n, out + 2, cap - 3);
		out[0] = ' ', out[1] = '(', out[w + 2] = ')', out[w + 3] = 0;
	}
}

/* An OTLP collector that took a request but not all of it says so in a 200 (OTLP/HTTP:
 * partial success), and the request must not be sent again: the spans it rejected, and its
 * message as " (text)" into out ("" when none; a message with none rejected is a warning, and
 * the request a success). */
static uint64_t otlp_partial(const struct httpc *h, char *out, size_t cap)
{
	static const char *const paths[] = {"$.partialSuccess.rejectedSpans",
		"$.partialSuccess.errorMessage"};
	const char *val[2];
	size_t vlen[2];
	char msg[256], shown[128];
	uint64_t n = 0;
	out[0] = 0;
	if (!h->kept || json_values(h->body, h->kept, paths, 2, val, vlen) != 0)
		return 0;
	for (size_t k = 0; val[0] && k < vlen[0] && val[0][k] >= '0' && val[0][k] <= '9'; k++)
		n = n * 10 + (uint64_t)(val[0][k] - '0'); /* an int64: a string in JSON, or a number */
	if (n && val[1] && vlen[1] &&
		json_as_read(h->body, &val[1], &vlen[1], msg, sizeof msg) == 0) {
		op_excerpt(val[1], vlen[1], shown, sizeof shown);
		snprintf(out, cap, " (%s)", shown);
	}
	return n;
}

static void sent(struct probe_run *r, struct httpc *h)
{
	struct export_run *s = (struct export_run *)r->state;
	struct probe *p = r->p;
	uint32_t i = p->id;
	int status = r->facts.http_status;
	/* 413 for one result: that result is too large for the collector, refused as such */
	int refused = status == 400 || status == 422 || (status == 413 && s->b.n == 1);
	char says[64] = "";
	if (status < 200 || status > 299)
		collector_says(h, says, sizeof says);
	if (status == 413 && !refused) {
		/* the body is over the collector's limit: half the batch from now on, at once */
		X.batch[i] = s->b.n / 2;
		s->ended = 1;
		probe_run_done(r, 0, REASON_EXPECT, "the collector answered 413%s; batches of %u from "
			"now on", says, X.batch[i]);
		engine_run_internal(p);
		return;
	}
	if ((status < 200 || status > 299) && !refused) {
		s->pause_us = httpc_pause_us(h);
		probe_run_done(r, 0, REASON_EXPECT, "the collector answered %d%s", status, says);
		return;
	}
	/* Delivered, or refused as such (400, 422: an out-of-order sample, a timestamp from
	 * before the box's clock was set). Sent again, a refused batch would be refused again and
	 * hold back every result behind it for as long as the spool keeps them, so it is dropped
	 * and counted, as remote-write and OTLP senders do. Any other failure keeps the batch:
	 * 401, 403 and 404 are a set-up to fix; 408, 429 and 5xx pass. Either way the
	 * cursor moves past the batch, the backoff starts over (the collector is up and
	 * answering) and a backlog goes on at once. */
	int more = s->more;
	spool_ack(i, &s->b);
	X.failures[i] = 0;
	p->not_before_us = 0;
	s->ended = 1;
	if (refused) {
		X.refused[i] += s->b.n;
		probe_run_done(r, 0, REASON_EXPECT, "%u result%s dropped: the collector refused "
			"them with %d%s", s->b.n, OP_S(s->b.n), status, says);
	} else {
		X.sent[i] += s->b.n;
		const struct export_conf *k = probe_conf(r);
		char part[160] = "";
		uint64_t rejected = k->kind == EX_OTLP ? otlp_partial(h, part, sizeof part) : 0;
		if (rejected)
			probe_run_done(r, 0, REASON_EXPECT, "%u result%s delivered, but the collector "
				"rejected %llu of %s spans%s", s->b.n, OP_S(s->b.n),
				(unsigned long long)rejected, s->b.n == 1 ? "its" : "their", part);
		else
			probe_run_done(r, 1, REASON_NONE, "%u result%s", s->b.n, OP_S(s->b.n));
	}
	if (more)
		engine_run_internal(p);
}

static int export_start(struct probe_run *r)
{
	struct export_run *s = (struct export_run *)r->state;
	struct export_bufs *xb = r->p->kstate;
	const struct export_conf *k = probe_conf(r);
	s->ended = 0;
	s->h.tls = NULL;
	uint32_t batch = X.batch[r->p->id] ? X.batch[r->p->id] : k->batch;
	int n = spool_read(r->p->id, xb->raw, sizeof xb->raw, batch, &s->b);
	if (n <= 0) {
		s->ended = 1;
		return probe_run_done(r, 1, REASON_NONE, "nothing to send");
	}
	size_t w = k->kind == EX_OTLP ? otlp_head(xb->body, sizeof xb->body) : 0;
	const size_t tail = 8; /* the OTLP envelope's end: "]}]}]}" */
	int first = 1;
	uint8_t *pb = (uint8_t *)xb->body + PW_SNAPPY_ROOM;
	for (uint32_t i = 0; i < s->b.n; i++) {
		if (k->kind == EX_OTLP) {
			static struct rec probe_rec;
			if (decode(xb->raw + s->b.at[i], s->b.len[i], &probe_rec) != 0)
				continue; /* not one of ours: skipped, acknowledged with the rest */
			size_t m = spans(xb->body + w, sizeof xb->body - w - tail, xb->raw + s->b.at[i],
				s->b.len[i], first);
			if (!m) {
				s->b.n = i; /* full: the rest goes next time */
				break;
			}
			w += m;
			first = 0;
			continue;
		}
		if (k->kind == EX_REMOTE_WRITE) {
			if (series(pb, sizeof xb->body - PW_SNAPPY_ROOM, &w, xb->raw + s->b.at[i],
				s->b.len[i]) != 0) {
				s->b.n = i; /* full: the rest goes next time */
				break;
			}
			continue;
		}
		size_t m = render(xb->body + w, sizeof xb->body - w, xb->raw + s->b.at[i], s->b.len[i]);
		if (!m && w + 1024 > sizeof xb->body) {
			/* the body is full: send what fits, the rest goes next time */
			s->b.n = i;
			break;
		}
		w += m; /* a record that is not ours is skipped (and acknowledged with the rest) */
	}
	if (s->b.n == 0)
		return probe_run_done(r, 0, REASON_TOO_LARGE, "a result does not fit in %d bytes",
			BODY_MAX);
	s->more = s->b.n == batch || s->b.n < (uint32_t)n;
	if (s->b.n < (uint32_t)n) /* fewer than were read: the cursor stops after the last sent */
		spool_read(r->p->id, xb->raw, sizeof xb->raw, s->b.n, &s->b);
	s->req = k->req;
	s->req.headers = s->headers;
	if (k->kind == EX_REMOTE_WRITE) {
		size_t blen;
		s->req.body = (const char *)pw_snappy((uint8_t *)xb->body, w, &blen);
		s->req.body_len = blen;
		snprintf(s->headers, sizeof s->headers, "Content-Type: application/x-protobuf\r\n"
			"Content-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n%s",
			k->headers ? k->headers : "");
	} else {
		if (k->kind == EX_OTLP)
			w += (size_t)snprintf(xb->body + w, sizeof xb->body - w, "]}]}]}");
		s->req.body = xb->body;
		xb->body[w] = 0;
		snprintf(s->headers, sizeof s->headers, "Content-Type: %s\r\n%s",
			k->kind == EX_OTLP ? "application/json" : "application/x-ndjson",
			k->headers ? k->headers : "");
	}
	httpc_start(r, &s->h, &s->req, sent);
	return 0;
}

static void export_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct export_run *s = (struct export_run *)r->state;
	httpc_on_event(r, &s->h, ev, events);
}

static void export_cancel(struct probe_run *r)
{
	struct export_run *s = (struct export_run *)r->state;
	httpc_cancel(&s->h);
	if (!s->ended) {
		uint32_t i = r->p->id;
		X.failed[i]++;
		/* the backoff, or the pause the collector asked for, whichever is longer (apart:
		 * OP_MAX reads its arguments twice) */
		uint64_t wait = op_backoff_us(X.failures[i]++, 2000000, 300000000);
		r->p->not_before_us = op_loop.now_us + OP_MAX(wait, s->pause_us);
	}
	s->ended = 1;
}

const struct probe_ops probe_export = {
	.kind = "export",
	.state_size = sizeof(struct export_run),
	.keys = export_keys,
	.nkeys = OP_ARRAY_LEN(export_keys),
	.configure = export_configure,
	.start = export_start,
	.on_event = export_on_event,
	.cancel = export_cancel,
};

/* ---- the engine's side ---- */

static void kick(void)
{
	for (uint32_t i = 0; i < X.n; i++)
		engine_run_internal(X.sinks[i]); /* each waits out its own backoff */
}

/* The batch goes to disk, and the sinks after it. */
static void flush_tick(struct ev_timer *t)
{
	spool_flush();
	X.last_flush_us = op_loop.now_us;
	kick();
	ev_timer_at(&op_loop, t, op_loop.now_us + X.cfg->spool_flush_us);
}

int export_init(const struct cfg *cfg, struct probe **sinks)
{
	memset(&X, 0, sizeof X);
	X.cfg = cfg;
	X.sinks = sinks;
	X.n = cfg->nsinks;
	for (uint32_t i = 0; i < cfg->nsinks; i++) {
		for (uint32_t k = 0; k < nkept; k++) {
			if (!strcmp(kept[k].name, cfg->sinks[i].name)) {
				X.sent[i] = kept[k].sent;
				X.failed[i] = kept[k].failed;
				X.refused[i] = kept[k].refused;
			}
		}
	}
	nkept = 0;
	/* a spool.dir without exports keeps the results for the history across a restart */
	if (!cfg->nsinks && !(cfg->spool_dir && cfg->spool_dir[0]))
		return 0;
	const char *names[SPOOL_SINKS_MAX];
	for (uint32_t i = 0; i < cfg->nsinks; i++)
		names[i] = cfg->sinks[i].name;
	/* without spool.dir: the same log in memory (it survives a restart of the process, not
	 * of the box), and smaller unless max_bytes says otherwise */
	char ram[256];
	snprintf(ram, sizeof ram, "%s/outpost-spool-%s", plat_ram_dir(), cfg->name);
	for (char *c = ram + strlen(plat_ram_dir()) + 1; *c; c++)
		if (*c == '/')
			*c = '_';
	const char *dir = cfg->spool_dir;
	uint64_t max = cfg->spool_max_bytes, ram_max = 4u << 20;
	if (!dir || !dir[0]) {
		dir = ram;
		if (!cfg->spool_max_set)
			max = ram_max;
	}
	/* the memory log is also where a spool.dir whose medium fails goes on (smaller) */
	int rc = spool_open(dir, max, cfg->nsinks, names, ram, OP_MIN(max, ram_max));
	if (rc)
		fprintf(stderr, "outpost: spool %s: %s; results are not exported%s\n", dir,
			op_strerror(rc), rc == OP_EBUSY ? " (each outpost on a host needs its own "
			"appliance.name, or spool.dir)" : "");
	X.last_flush_us = op_loop.now_us;
	if (rc == 0) {
		X.flush.cb = flush_tick;
		ev_timer_at(&op_loop, &X.flush, op_loop.now_us + cfg->spool_flush_us);
		export_tick(); /* the figures from the start, not a second later */
	}
	return rc;
}

void export_deinit(void)
{
	for (nkept = 0; X.cfg && nkept < X.n; nkept++) {
		op_strlcpy(kept[nkept].name, X.cfg->sinks[nkept].name, sizeof kept[nkept].name);
		kept[nkept].sent = X.sent[nkept];
		kept[nkept].failed = X.failed[nkept];
		kept[nkept].refused = X.refused[nkept];
	}
	ev_timer_cancel(&op_loop, &X.flush);
	spool_close();
	X.n = 0;
	X.cfg = NULL;
}

void export_tick(void)
{
	if (!spool_on() || !X.cfg)
		return;
	for (uint32_t i = 0; i < X.n; i++) {
		struct delivery_state d;
		stats_delivery(&X.sinks[i]->stats, X.sinks[i]->cfg->target, &d);
		spool_note(i, X.sent[i], X.failed[i], X.refused[i], &d);
	}
	spool_stats(NULL); /* the figures: what the sinks left since the last flush */
}
