/* metrics.c: /metrics text. Probe series carry probe, kind and target labels plus the
 * appliance's name, region and labels, so a central Prometheus can tell edges apart. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "alarm.h"
#include "logstore.h"
#include "spool.h"
#include "metrics.h"
#include "tls.h"

/* The appliance's labels at their longest, escaped: name and region, and OP_MAX_LABELS
 * name="value" pairs (every character of a value may double when escaped). A cut label would
 * break every series line. */
#define APP_LABELS_MAX (2 * (16 + 2 * OP_NAME_MAX) + OP_MAX_LABELS * (3 * OP_NAME_MAX + 4))
/* One probe's labels: probe, kind and target (escaped), then the appliance's. */
#define PROBE_LABELS_MAX (2 * OP_NAME_MAX + 2 * OP_TARGET_MAX + 64 + APP_LABELS_MAX)

struct mw {
	metrics_out_fn *out;
	void *ctx;
	char buf[4096];
	size_t len;
	char app[APP_LABELS_MAX]; /* appliance labels, rendered once */
};

static void flush(struct mw *w)
{
	if (w->len)
		w->out(w->ctx, w->buf, w->len);
	w->len = 0;
}

__attribute__((format(printf, 2, 3))) static void put(struct mw *w, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	/* a line cut short would break the whole exposition: one that does not fit is left out */
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	if (w->len + (size_t)n > sizeof w->buf)
		flush(w);
	memcpy(w->buf + w->len, line, (size_t)n);
	w->len += (size_t)n;
}

size_t metrics_escape(char *out, size_t cap, const char *s)
{
	size_t w = 0;
	for (; *s && w + 3 < cap; s++) {
		if (*s == '\\' || *s == '"') {
			out[w++] = '\\';
			out[w++] = *s;
		} else if (*s == '\n') {
			out[w++] = '\\';
			out[w++] = 'n';
		} else {
			out[w++] = *s;
		}
	}
	out[w] = 0;
	return w;
}

static void head(struct mw *w, const char *name, const char *type, const char *help)
{
	put(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Labels of a probe series: probe, kind, target and the appliance's. */
static void probe_labels(const struct mw *w, const struct snap_probe *p, char *out, size_t cap)
{
	char name[OP_NAME_MAX * 2], target[OP_TARGET_MAX * 2];
	metrics_escape(name, sizeof name, p->name);
	metrics_escape(target, sizeof target, p->target);
	snprintf(out, cap, "probe=\"%s\",kind=\"%s\",target=\"%s\"%s", name, p->kind, target, w->app);
}

static void app_labels(struct mw *w, const struct snap_app *a)
{
	char v[OP_NAME_MAX * 2];
	size_t n = 0;
	metrics_escape(v, sizeof v, a->name);
	n += (size_t)snprintf(w->app + n, sizeof w->app - n, ",appliance=\"%s\"", v);
	if (a->region[0]) {
		metrics_escape(v, sizeof v, a->region);
		n += (size_t)snprintf(w->app + n, sizeof w->app - n, ",region=\"%s\"", v);
	}
	for (uint32_t i = 0; i < a->nlabels && n < sizeof w->app; i++) {
		metrics_escape(v, sizeof v, a->labels[i][1]);
		n += (size_t)snprintf(w->app + n, sizeof w->app - n, ",%s=\"%s\"", a->labels[i][0], v);
	}
}

/* One series line: name{labels,extra} value, leaving out what is empty. */
static void line(struct mw *w, const char *name, const char *lab, const char *extra,
	const char *value)
{
	int both = lab[0] && extra[0];
	if (!lab[0] && !extra[0])
		put(w, "%s %s\n", name, value);
	else
		put(w, "%s{%s%s%s} %s\n", name, lab, both ? "," : "", extra, value);
}

/* v in the fewest digits that read back as v: a Unix time (a certificate's expiry) or a
 * 32-bit hash keeps every digit, and 0.1 stays "0.1". */
static void fmt_value(char *out, size_t cap, double v)
{
	snprintf(out, cap, "%.15g", v);
	if (strtod(out, NULL) != v)
		snprintf(out, cap, "%.17g", v);
}

static void linef(struct mw *w, const char *name, const char *lab, const char *extra, double v)
{
	char val[40];
	fmt_value(val, sizeof val, v);
	line(w, name, lab, extra, val);
}

/* ---- per-probe families of the last result: the blackbox_exporter series and ours ---- */

struct family {
	const char *name, *type, *help;
	int (*has)(const struct snap_probe *p);
	void (*emit)(struct mw *w, const char *name, const char *lab, const struct snap_probe *p);
};

static int has_last(const struct snap_probe *p)
{
	return p->stats.has_last;
}

static int has_http(const struct snap_probe *p)
{
	return p->stats.has_last && !strcmp(p->kind, "http");
}

static int has_expiry(const struct snap_probe *p)
{
	return p->stats.has_last && p->stats.last.cert_expiry;
}

static int has_verified_expiry(const struct snap_probe *p)
{
	return has_expiry(p) && p->stats.last.cert_verified;
}

static int has_tls(const struct snap_probe *p)
{
	return p->stats.has_last && p->stats.last.tls_version;
}

#define LAST(p) (&(p)->stats.last)

static void e_success(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->ok);
}

static void e_duration(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->duration_us / 1e6);
}

static void e_dns(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->phase_us[PHASE_RESOLVE] / 1e6);
}

static void e_phases(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	for (int ph = 0; ph < PHASE_COUNT; ph++) {
		char extra[32];
		snprintf(extra, sizeof extra, "phase=\"%s\"", phase_name(ph));
		linef(w, n, l, extra, LAST(p)->phase_us[ph] / 1e6);
	}
}

static void e_status(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->http_status);
}

static void e_clen(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", (double)LAST(p)->content_length);
}

static int has_dns(const struct snap_probe *p)
{
	return p->stats.has_last && !strcmp(p->kind, "dns");
}

static int has_dns_serial(const struct snap_probe *p)
{
	return has_dns(p) && p->stats.last.dns_serial >= 0;
}

static void e_dns_replied(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->dns_replied);
}

static void e_dns_answers(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->dns_answers);
}

static void e_dns_authority(struct mw *w, const char *n, const char *l,
	const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->dns_authority);
}

static void e_dns_additional(struct mw *w, const char *n, const char *l,
	const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->dns_additional);
}

static void e_dns_serial(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", (double)LAST(p)->dns_serial);
}

/* blackbox_exporter's phases of a dns probe: resolving the server's name (an address here),
 * connecting (nothing for UDP; a TCP retry is inside the exchange) and the exchange itself,
 * which is this probe's resolve phase */
static void e_dns_phases(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "phase=\"resolve\"", 0);
	linef(w, n, l, "phase=\"connect\"", 0);
	linef(w, n, l, "phase=\"request\"", LAST(p)->phase_us[PHASE_RESOLVE] / 1e6);
}

static int has_last_modified(const struct snap_probe *p)
{
	return p->stats.has_last && p->stats.last.last_modified;
}

static void e_last_modified(struct mw *w, const char *n, const char *l,
	const struct snap_probe *p)
{
	linef(w, n, l, "", (double)LAST(p)->last_modified);
}

static void e_body(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", (double)LAST(p)->body_bytes);
}

static void e_redirects(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->redirects);
}

static void e_ssl(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->ssl);
}

static void e_version(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->http_version / 10.0);
}

static void e_regex(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->content_failed);
}

static void e_expiry(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", (double)LAST(p)->cert_expiry);
}

static void e_tls_version(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	char extra[32];
	snprintf(extra, sizeof extra, "version=\"TLS %d.%d\"", LAST(p)->tls_version / 10,
		LAST(p)->tls_version % 10);
	line(w, n, l, extra, "1");
}

static void e_cipher(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	char cipher[64], extra[80];
	tls_cipher_name(LAST(p)->tls_cipher, cipher, sizeof cipher);
	snprintf(extra, sizeof extra, "cipher=\"%s\"", cipher);
	line(w, n, l, extra, "1");
}

static int has_cert(const struct snap_probe *p)
{
	return p->stats.has_cert;
}

/* blackbox_exporter's labels for the leaf certificate of the last handshake */
static void e_chain(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	const struct cert_id *c = &p->stats.cert;
	char fp[65], serial[41], subject[130], issuer[130], san[162], extra[700];
	for (int i = 0; i < 32; i++)
		snprintf(fp + 2 * i, 3, "%02x", c->sha256[i]);
	size_t s = 0;
	for (int i = 0; i < c->serial_len; i++)
		s += (size_t)snprintf(serial + s, sizeof serial - s, "%02x", c->serial[i]);
	serial[s] = 0;
	metrics_escape(subject, sizeof subject, c->subject);
	metrics_escape(issuer, sizeof issuer, c->issuer);
	metrics_escape(san, sizeof san, c->san);
	/* the serial as a number in hex: no leading zero (as Go's big.Int writes it) */
	snprintf(extra, sizeof extra, "fingerprint_sha256=\"%s\",subject=\"%s\",issuer=\"%s\","
		"subjectalternative=\"%s\",serialnumber=\"%s\"", fp, subject, issuer, san,
		serial[0] == '0' && serial[1] ? serial + 1 : serial);
	line(w, n, l, extra, "1");
}

static int has_ip(const struct snap_probe *p)
{
	return p->stats.has_last && p->stats.last.ip_protocol;
}

static void e_ip_hash(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->ip_hash);
}

static void e_ip(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	linef(w, n, l, "", LAST(p)->ip_protocol);
}

static void e_last_run(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	char val[32];
	snprintf(val, sizeof val, "%.3f", LAST(p)->wall_us / 1e6);
	line(w, n, l, "", val);
}

/* ---- pipeline probes: the event counters ---- */

static int has_events(const struct snap_probe *p)
{
	return !strcmp(p->kind, "pipeline");
}

#define EV(p) (&(p)->events)
#define EV_COUNTER(fn, field)                                                                 \
	static void fn(struct mw *w, const char *n, const char *l, const struct snap_probe *p) \
	{                                                                                     \
		linef(w, n, l, "", (double)EV(p)->field);                                     \
	}
EV_COUNTER(e_ev_posted, posted)
EV_COUNTER(e_ev_received, received)
EV_COUNTER(e_ev_lost, lost)
EV_COUNTER(e_ev_post_errors, post_errors)
EV_COUNTER(e_ev_dups, duplicates)
EV_COUNTER(e_ev_foreign, foreign)
EV_COUNTER(e_ev_unmatched, unmatched)
EV_COUNTER(e_ev_late, late)
EV_COUNTER(e_ev_pending, pending)
EV_COUNTER(e_ev_connected, connected)
EV_COUNTER(e_ev_connects, connects)

static void e_ev_latency(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	if (EV(p)->received)
		linef(w, n, l, "", EV(p)->last_latency_us / 1e6);
}

static void e_ev_missing(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	static const uint32_t win[EVT_WINDOWS] = EVT_WINDOW_MIN;
	for (int x = 0; x < EVT_WINDOWS; x++) {
		char extra[24];
		if (EV(p)->missing_share[x] < 0)
			continue; /* no settled event in the window yet */
		snprintf(extra, sizeof extra, "window=\"%um\"", win[x]);
		linef(w, n, l, extra, EV(p)->missing_share[x]);
	}
}

static void e_ev_hist(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	static const double bounds[OP_HIST_N] = OP_HIST_BOUNDS;
	uint64_t cum = 0;
	for (int b = 0; b <= OP_HIST_N; b++) {
		char le[40];
		cum += EV(p)->hist[b];
		if (b < OP_HIST_N)
			snprintf(le, sizeof le, "le=\"%g\"", bounds[b]);
		else
			snprintf(le, sizeof le, "le=\"+Inf\"");
		char name[96];
		snprintf(name, sizeof name, "%s_bucket", n);
		linef(w, name, l, le, (double)cum);
	}
	put(w, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", n, l, EV(p)->latency_sum_s, n, l,
		(unsigned long long)cum);
}

/* ---- scenario probes: the last run's steps ---- */

static int has_steps(const struct snap_probe *p)
{
	return !strcmp(p->kind, "scenario") && p->steps.n;
}

static void e_step(struct mw *w, const char *n, const char *l, const struct snap_probe *p,
	int duration)
{
	for (int i = 0; i < p->steps.n && i < SNAP_STEPS_MAX; i++) {
		char step[80], name[70];
		if (!p->steps.s[i].state)
			continue; /* not run (skipped after a failure) */
		metrics_escape(name, sizeof name, p->steps.s[i].name);
		snprintf(step, sizeof step, "step=\"%s\"", name);
		linef(w, n, l, step, duration ? p->steps.s[i].duration_us / 1e6 :
			p->steps.s[i].state == 1);
	}
}

static void e_step_duration(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	e_step(w, n, l, p, 1);
}

static void e_step_success(struct mw *w, const char *n, const char *l, const struct snap_probe *p)
{
	e_step(w, n, l, p, 0);
}

static const struct family families[] = {
	{"probe_success", "gauge", "Whether the last run succeeded.", has_last, e_success},
	{"probe_duration_seconds", "gauge", "Duration of the last run.", has_last, e_duration},
	{"probe_dns_lookup_time_seconds", "gauge", "Name resolution time of the last run.",
		has_last, e_dns},
	{"probe_ip_protocol", "gauge", "IP version of the last connection (4 or 6; 0 for none).",
		has_last, e_ip},
	{"probe_ip_addr_hash", "gauge", "FNV-1a hash of the address connected to (it changes when "
		"the address does).", has_ip, e_ip_hash},
	{"probe_http_duration_seconds", "gauge", "Duration of each phase of the last HTTP request.",
		has_http, e_phases},
	{"probe_http_status_code", "gauge", "Response HTTP status code.", has_http, e_status},
	{"probe_http_content_length", "gauge", "Length of the body as announced (-1: none).",
		has_http, e_clen},
	{"probe_http_uncompressed_body_length", "gauge", "Length of the body received.", has_http,
		e_body},
	{"probe_http_redirects", "gauge", "The number of redirects followed.", has_http,
		e_redirects},
	{"probe_http_ssl", "gauge", "Whether the final request used TLS.", has_http, e_ssl},
	{"probe_http_version", "gauge", "The HTTP version of the response.", has_http, e_version},
	{"probe_failed_due_to_regex", "gauge", "Whether a body or header assertion failed.",
		has_http, e_regex},
	{"probe_http_last_modified_timestamp_seconds", "gauge",
		"The Last-Modified of the response, Unix seconds (only when it sent one).",
		has_last_modified, e_last_modified},
	{"probe_dns_query_succeeded", "gauge", "Whether the dns query had a reply (any rcode).",
		has_dns, e_dns_replied},
	{"probe_dns_duration_seconds", "gauge", "Duration of each phase of the dns query "
		"(request: the exchange).", has_dns, e_dns_phases},
	{"probe_dns_answer_rrs", "gauge", "Records in the answer section of the reply.", has_dns,
		e_dns_answers},
	{"probe_dns_authority_rrs", "gauge", "Records in the authority section of the reply.",
		has_dns, e_dns_authority},
	{"probe_dns_additional_rrs", "gauge", "Records in the additional section of the reply.",
		has_dns, e_dns_additional},
	{"probe_dns_serial", "gauge", "The serial of the zone (an SOA answer).", has_dns_serial,
		e_dns_serial},
	{"probe_ssl_earliest_cert_expiry", "gauge",
		"Earliest NotAfter of the presented chain, Unix seconds (also when verification "
		"failed).", has_expiry, e_expiry},
	{"probe_ssl_last_chain_expiry_timestamp_seconds", "gauge",
		"Earliest NotAfter of the verified chain, Unix seconds.", has_verified_expiry,
		e_expiry},
	{"probe_tls_version_info", "gauge", "The TLS version used; always 1.", has_tls,
		e_tls_version},
	{"probe_tls_cipher_info", "gauge", "The cipher suite used; always 1.", has_tls, e_cipher},
	{"probe_ssl_last_chain_info", "gauge",
		"The leaf certificate of the last handshake (also when verification failed); always 1.",
		has_cert, e_chain},
	{"outpost_probe_phase_seconds", "gauge", "Time of each phase of the last run.", has_last,
		e_phases},
	{"outpost_probe_last_run_timestamp_seconds", "gauge",
		"When the last run started, Unix seconds.", has_last, e_last_run},
	{"probe_events_posted_total", "counter", "Events the collector accepted.", has_events,
		e_ev_posted},
	{"probe_events_received_total", "counter", "Posted events that came back (first copy).",
		has_events, e_ev_received},
	{"probe_events_lost_total", "counter", "Accepted events not back within lost_after.",
		has_events, e_ev_lost},
	{"probe_event_post_errors_total", "counter", "Events not accepted after every retry.",
		has_events, e_ev_post_errors},
	{"probe_event_latency_seconds", "gauge", "Post-to-return latency of the latest event.",
		has_events, e_ev_latency},
	{"outpost_event_latency_seconds", "histogram", "Post-to-return latency of every event.",
		has_events, e_ev_hist},
	{"probe_events_missing_share", "gauge",
		"Share of accepted events not back, among those posted in the window (older than "
		"settle).", has_events, e_ev_missing},
	{"probe_events_duplicates_total", "counter", "Extra copies of events that came back.",
		has_events, e_ev_dups},
	{"probe_wrong_appid_total", "counter", "Events that came back with another app id.",
		has_events, e_ev_foreign},
	{"outpost_events_unmatched_total", "counter",
		"Events with our app id but an id not (or no longer) remembered.", has_events,
		e_ev_unmatched},
	{"outpost_events_late_total", "counter", "Events that came back after being counted lost.",
		has_events, e_ev_late},
	{"outpost_events_pending", "gauge", "Accepted events still expected back.", has_events,
		e_ev_pending},
	{"outpost_event_subscription_up", "gauge", "Whether the WebSocket subscription is open.",
		has_events, e_ev_connected},
	{"outpost_scenario_step_duration_seconds", "gauge",
		"Each step's time in the last run (polls included).", has_steps, e_step_duration},
	{"outpost_scenario_step_success", "gauge",
		"Whether each step passed in the last run (steps not run are left out).", has_steps,
		e_step_success},
	{"outpost_event_subscription_connects_total", "counter",
		"Times the subscription opened (reconnects are this minus one).", has_events,
		e_ev_connects},
};

/* The last-result families for n probes; bare: no labels (the /probe answer). */
static void probe_families(struct mw *w, const struct snap_probe *ps, uint32_t n, int bare)
{
	char l[PROBE_LABELS_MAX];
	for (size_t f = 0; f < OP_ARRAY_LEN(families); f++) {
		int any = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (!families[f].has(&ps[i]))
				continue;
			if (!any++)
				head(w, families[f].name, families[f].type, families[f].help);
			if (bare)
				l[0] = 0;
			else
				probe_labels(w, &ps[i], l, sizeof l);
			families[f].emit(w, families[f].name, l, &ps[i]);
		}
	}
}

void metrics_render_probe(const struct snap_probe *p, metrics_out_fn *out, void *ctx)
{
	struct mw mw = {.out = out, .ctx = ctx};
	probe_families(&mw, p, 1, 1);
	flush(&mw);
}

static void fmt_le(double b, char *out, size_t cap)
{
	snprintf(out, cap, "%g", b);
}

/* Alarms and notification channels (read from core/alarm.c's published copy). */
static void alarm_families(struct mw *w, const char *app)
{
	struct alarm_pub *al = malloc(sizeof *al * OP_ALARM_INSTANCES_MAX);
	struct channel_pub ch[OP_CHANNELS_MAX];
	struct alarm_silence sil[OP_SILENCES_MAX];
	uint32_t nch = 0, nsil;
	uint32_t n = al ? OP_MIN(alarm_read(al, OP_ALARM_INSTANCES_MAX, ch, &nch, sil, &nsil),
		OP_ALARM_INSTANCES_MAX) : 0;
	static const char *const names[] = {"outpost_alarm_firing", "outpost_alarm_pending"};
	static const char *const helps[] = {"1 while the alarm fires for the probe.",
		"1 while the alarm's condition holds but \"for\" has not run out."};
	static const uint8_t states[] = {ALARM_FIRING, ALARM_PENDING};
	for (int k = 0; k < 2 && n; k++) {
		head(w, names[k], "gauge", helps[k]);
		for (uint32_t i = 0; i < n; i++) {
			char a[OP_NAME_MAX * 2], p[OP_NAME_MAX * 2];
			metrics_escape(a, sizeof a, al[i].alarm);
			metrics_escape(p, sizeof p, al[i].probe);
			put(w, "%s{alarm=\"%s\",probe=\"%s\",%s} %d\n", names[k], a, p, app,
				al[i].state == states[k]);
		}
	}
	if (nch) {
		head(w, "outpost_notifications_total", "counter",
			"Notification attempts by channel and result (sent, failed, dropped).");
		for (uint32_t i = 0; i < nch; i++) {
			char c[OP_NAME_MAX * 2];
			metrics_escape(c, sizeof c, ch[i].name);
			put(w, "outpost_notifications_total{channel=\"%s\",result=\"sent\",%s} %llu\n"
				"outpost_notifications_total{channel=\"%s\",result=\"failed\",%s} %llu\n"
				"outpost_notifications_total{channel=\"%s\",result=\"dropped\",%s} %llu\n",
				c, app, (unsigned long long)ch[i].sent, c, app,
				(unsigned long long)ch[i].failed, c, app, (unsigned long long)ch[i].dropped);
		}
		head(w, "outpost_notifications_queued", "gauge", "Messages waiting per channel.");
		for (uint32_t i = 0; i < nch; i++) {
			char c[OP_NAME_MAX * 2];
			metrics_escape(c, sizeof c, ch[i].name);
			put(w, "outpost_notifications_queued{channel=\"%s\",%s} %u\n", c, app,
				ch[i].queued);
		}
	}
	free(al);
}

void metrics_render(const struct snap *s, uint64_t now_us, metrics_out_fn *out, void *ctx)
{
	struct mw mw;
	struct mw *w = &mw;
	static const double bounds[OP_HIST_N] = OP_HIST_BOUNDS;
	const struct snap_app *a = &s->app;
	char l[PROBE_LABELS_MAX];
	w->out = out;
	w->ctx = ctx;
	w->len = 0;
	app_labels(w, a);
	const char *app = w->app[0] == ',' ? w->app + 1 : w->app;

	head(w, "outpost_build_info", "gauge", "Build and runtime facts; always 1.");
	put(w, "outpost_build_info{version=\"%s\",poller=\"%s\",%s} 1\n", a->version ? a->version : "",
		a->poller ? a->poller : "", app);
	head(w, "outpost_start_time_seconds", "gauge", "When the engine started, Unix seconds.");
	put(w, "outpost_start_time_seconds{%s} %.3f\n", app, a->start_wall_us / 1e6);
	head(w, "outpost_uptime_seconds", "gauge", "Seconds since the engine started.");
	put(w, "outpost_uptime_seconds{%s} %.3f\n", app, (now_us - a->start_us) / 1e6);

	const struct snap_probe *ps = s->probes;
	uint32_t n = a->nprobes;

	probe_families(w, ps, n, 0);
	head(w, "outpost_probe_runs_total", "counter",
		"Finished runs by result: success, or the failure reason.");
	for (uint32_t i = 0; i < n; i++) {
		const struct probe_stats *st = &ps[i].stats;
		probe_labels(w, &ps[i], l, sizeof l);
		put(w, "outpost_probe_runs_total{%s,result=\"success\"} %llu\n", l,
			(unsigned long long)st->runs_ok);
		for (int r = 1; r < REASON_COUNT; r++)
			if (st->by_reason[r])
				put(w, "outpost_probe_runs_total{%s,result=\"%s\"} %llu\n", l,
					reason_label(r), (unsigned long long)st->by_reason[r]);
	}
	{
		int any = 0;
		for (uint32_t i = 0; i < n; i++) {
			const struct probe_stats *st = &ps[i].stats;
			if (!st->tls_full && !st->tls_resumed)
				continue;
			if (!any++)
				head(w, "outpost_tls_handshakes_total", "counter",
					"Completed TLS handshakes: full, or resumed (tls.resume).");
			probe_labels(w, &ps[i], l, sizeof l);
			put(w, "outpost_tls_handshakes_total{%s,type=\"full\"} %llu\n", l,
				(unsigned long long)st->tls_full);
			put(w, "outpost_tls_handshakes_total{%s,type=\"resumed\"} %llu\n", l,
				(unsigned long long)st->tls_resumed);
		}
	}
	/* objectives */
	static const char *const slo_names[] = {"outpost_objective_availability",
		"outpost_objective_latency_seconds", "outpost_objective_met",
		"outpost_objective_error_budget_remaining"};
	static const char *const slo_help[] = {
		"Share of successful runs over the window.",
		"The objective's latency quantile over the window (upper bucket bound).",
		"Whether the window meets the availability and latency objectives.",
		"Share of the window's error budget left (below 0: overspent)."};
	for (int k = 0; k < 4; k++) {
		int any = 0;
		for (uint32_t i = 0; i < n; i++) {
			const struct slo_target *t = &ps[i].objective;
			if (!t->nwin || (k == 1 && !t->latency_p) || (k == 3 && !t->availability))
				continue;
			if (!any++) /* a quantile label is a summary's, for Prometheus */
				head(w, slo_names[k], k == 1 ? "summary" : "gauge", slo_help[k]);
			probe_labels(w, &ps[i], l, sizeof l);
			for (int x = 0; x < t->nwin; x++) {
				const struct slo_view *v = &ps[i].slo[x];
				char win[16];
				slo_window_name(t->win_min[x], win, sizeof win);
				if (k == 1)
					put(w, "%s{%s,window=\"%s\",quantile=\"%g\"} %g\n", slo_names[k], l, win,
						t->latency_p, v->latency_q_s);
				else
					put(w, "%s{%s,window=\"%s\"} %.6g\n", slo_names[k], l, win,
						k == 0 ? v->availability : k == 2 ? v->met : v->budget_remaining);
			}
		}
	}
	head(w, "outpost_probe_skipped_total", "counter",
		"Runs skipped because the previous one was still going or the loop fell behind.");
	for (uint32_t i = 0; i < n; i++) {
		probe_labels(w, &ps[i], l, sizeof l);
		put(w, "outpost_probe_skipped_total{%s} %llu\n", l,
			(unsigned long long)ps[i].stats.skipped);
	}
	head(w, "outpost_probe_duration_seconds", "histogram", "Duration of every run.");
	for (uint32_t i = 0; i < n; i++) {
		const struct probe_stats *st = &ps[i].stats;
		uint64_t cum = 0;
		char le[24];
		probe_labels(w, &ps[i], l, sizeof l);
		for (int b = 0; b < OP_HIST_N; b++) {
			cum += st->hist[b];
			fmt_le(bounds[b], le, sizeof le);
			put(w, "outpost_probe_duration_seconds_bucket{%s,le=\"%s\"} %llu\n", l, le,
				(unsigned long long)cum);
		}
		cum += st->hist[OP_HIST_N];
		put(w, "outpost_probe_duration_seconds_bucket{%s,le=\"+Inf\"} %llu\n", l,
			(unsigned long long)cum);
		put(w, "outpost_probe_duration_seconds_sum{%s} %.6f\n", l, st->sum_s);
		put(w, "outpost_probe_duration_seconds_count{%s} %llu\n", l, (unsigned long long)cum);
	}

	alarm_families(w, app);
	{
		struct spool_stats sp;
		spool_stats(&sp);
		if (sp.nsinks) {
			int64_t now = plat_wall_us();
			head(w, "outpost_spool_bytes", "gauge", "Bytes in the spool's segments.");
			put(w, "outpost_spool_bytes{%s} %llu\n", app, (unsigned long long)sp.bytes);
			head(w, "outpost_spool_dropped_total", "counter",
				"Records lost: dropped with the oldest segment to stay within spool.max_bytes "
				"or the medium's space, or never written because the medium failed.");
			put(w, "outpost_spool_dropped_total{%s} %llu\n", app, (unsigned long long)sp.dropped);
			head(w, "outpost_spool_corrupt_total", "counter",
				"Torn or corrupt segment tails cut at start-up.");
			put(w, "outpost_spool_corrupt_total{%s} %llu\n", app, (unsigned long long)sp.corrupt);
			head(w, "outpost_spool_medium_failed", "gauge",
				"1 when spool.dir could not be used (a card gone read-only, or another "
				"outpost holding it): the spool goes on in memory until the next start.");
			put(w, "outpost_spool_medium_failed{%s} %u\n", app, (unsigned)sp.moved);
			/* one series a sink for each of these */
			struct {
				const char *name, *type, *help;
			} fam[] = {
				{"outpost_spool_pending_bytes", "gauge", "Bytes a sink has not delivered yet."},
				{"outpost_spool_pending_records", "gauge", "Records a sink has not delivered yet."},
				{"outpost_spool_oldest_pending_seconds", "gauge",
					"Age of the oldest record a sink has not delivered (0: none)."},
				{"outpost_export_results_total", "counter", "Results each export delivered."},
				{"outpost_export_failures_total", "counter",
					"Failed delivery attempts of each export (retried after a backoff)."},
				{"outpost_export_refused_total", "counter",
					"Results each export's collector refused as such (400, 422), dropped."},
			};
			double v[OP_ARRAY_LEN(fam)][SPOOL_SINKS_MAX];
			for (uint32_t i = 0; i < sp.nsinks; i++) {
				v[0][i] = (double)sp.pending_bytes[i];
				v[1][i] = (double)sp.pending_records[i];
				/* (never below 0: the wall clock may have been set back since) */
				v[2][i] = sp.oldest_pending_us[i] && now > sp.oldest_pending_us[i] ?
					(now - sp.oldest_pending_us[i]) / 1e6 : 0;
				v[3][i] = (double)sp.sent[i];
				v[4][i] = (double)sp.failed[i];
				v[5][i] = (double)sp.refused[i];
			}
			for (size_t f = 0; f < OP_ARRAY_LEN(fam); f++) {
				head(w, fam[f].name, fam[f].type, fam[f].help);
				for (uint32_t i = 0; i < sp.nsinks; i++) {
					char val[40];
					fmt_value(val, sizeof val, v[f][i]);
					put(w, "%s{sink=\"%s\",%s} %s\n", fam[f].name, sp.names[i], app, val);
				}
			}
		}
	}
	{
		uint64_t bytes, deleted;
		uint32_t objects;
		logstore_stats(&bytes, &objects, &deleted);
		head(w, "outpost_logs_bytes", "gauge", "Bytes of run outputs kept in the log store.");
		put(w, "outpost_logs_bytes{%s} %llu\n", app, (unsigned long long)bytes);
		head(w, "outpost_logs_objects", "gauge", "Log objects kept.");
		put(w, "outpost_logs_objects{%s} %u\n", app, objects);
		head(w, "outpost_logs_deleted_total", "counter",
			"Log objects deleted, oldest first, to stay within logs.max_bytes / max_objects.");
		put(w, "outpost_logs_deleted_total{%s} %llu\n", app, (unsigned long long)deleted);
	}
	head(w, "outpost_pool_used", "gauge", "Items in use in each fixed pool.");
	for (int i = 0; i < POOL_COUNT; i++)
		put(w, "outpost_pool_used{pool=\"%s\",%s} %u\n", a->pools[i].name, app,
			a->pools[i].used);
	head(w, "outpost_pool_max", "gauge", "Capacity of each fixed pool, reserved at start-up.");
	for (int i = 0; i < POOL_COUNT; i++)
		put(w, "outpost_pool_max{pool=\"%s\",%s} %u\n", a->pools[i].name, app, a->pools[i].cap);
	head(w, "outpost_pool_peak", "gauge", "Most items ever in use at once in each pool.");
	for (int i = 0; i < POOL_COUNT; i++)
		put(w, "outpost_pool_peak{pool=\"%s\",%s} %u\n", a->pools[i].name, app,
			a->pools[i].max_used);
	head(w, "outpost_pool_failures_total", "counter", "Requests refused because a pool was full.");
	for (int i = 0; i < POOL_COUNT; i++)
		put(w, "outpost_pool_failures_total{pool=\"%s\",%s} %u\n", a->pools[i].name, app,
			a->pools[i].fails);

	head(w, "outpost_probes_configured", "gauge", "Probes in the running configuration.");
	put(w, "outpost_probes_configured{%s} %u\n", app, a->nprobes);
	head(w, "outpost_probes_inflight", "gauge", "Runs in progress.");
	put(w, "outpost_probes_inflight{%s} %u\n", app, a->inflight);
	head(w, "outpost_probes_waiting", "gauge", "Due runs waiting for a free run slot.");
	put(w, "outpost_probes_waiting{%s} %u\n", app, a->waiting);
	head(w, "outpost_runs_started_total", "counter", "Runs started since the engine started.");
	put(w, "outpost_runs_started_total{%s} %llu\n", app, (unsigned long long)a->runs_started);
	head(w, "outpost_sched_lag_seconds", "summary",
		"Delay between a run's due time and its start, over all runs since start.");
	put(w, "outpost_sched_lag_seconds{quantile=\"0.5\",%s} %.6f\n", app, a->lag_p50_us / 1e6);
	put(w, "outpost_sched_lag_seconds{quantile=\"0.99\",%s} %.6f\n", app, a->lag_p99_us / 1e6);
	put(w, "outpost_sched_lag_seconds_sum{%s} %.6f\n", app, a->lag_sum_us / 1e6);
	put(w, "outpost_sched_lag_seconds_count{%s} %llu\n", app, (unsigned long long)a->lag_count);
	head(w, "outpost_sched_lag_max_seconds", "gauge", "Largest scheduling delay since start.");
	put(w, "outpost_sched_lag_max_seconds{%s} %.6f\n", app, a->lag_max_us / 1e6);
	head(w, "outpost_engine_allocs_total", "counter",
		"Heap allocations by the engine thread since the engine started (0 in steady state).");
	put(w, "outpost_engine_allocs_total{%s} %llu\n", app, (unsigned long long)a->engine_allocs);
	head(w, "outpost_arena_bytes", "gauge", "Bytes the engine reserved at start-up.");
	put(w, "outpost_arena_bytes{%s} %llu\n", app, (unsigned long long)a->arena_bytes);
	head(w, "outpost_history_bytes", "gauge", "Bytes reserved for the results kept per probe.");
	put(w, "outpost_history_bytes{%s} %llu\n", app, (unsigned long long)a->history_bytes);
	head(w, "outpost_tls_arena_bytes", "gauge", "Bytes reserved for mbedTLS (0 without https probes).");
	put(w, "outpost_tls_arena_bytes{%s} %llu\n", app, (unsigned long long)a->tls_arena_bytes);
	head(w, "outpost_tls_arena_peak_bytes", "gauge", "Most bytes of the TLS arena in use at once.");
	put(w, "outpost_tls_arena_peak_bytes{%s} %llu\n", app, (unsigned long long)a->tls_arena_peak);
	head(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	put(w, "process_resident_memory_bytes{%s} %llu\n", app, (unsigned long long)a->rss_bytes);
	head(w, "outpost_disk_write_seconds_max", "gauge", "The disk worker's slowest write or sync "
		"so far (spool data, cursors, alarm state); the loop does not wait for it.");
	put(w, "outpost_disk_write_seconds_max{%s} %.6f\n", app, a->disk_max_us / 1e6);
	head(w, "outpost_disk_writes_pending", "gauge", "Writes and syncs queued or running on the "
		"disk worker.");
	put(w, "outpost_disk_writes_pending{%s} %u\n", app, a->disk_pending);
	head(w, "outpost_config_reloads_total", "counter", "Configuration reloads by result.");
	put(w, "outpost_config_reloads_total{result=\"success\",%s} %llu\n", app,
		(unsigned long long)a->reloads);
	put(w, "outpost_config_reloads_total{result=\"failure\",%s} %llu\n", app,
		(unsigned long long)a->reload_failures);
	/* as Prometheus's own: an alert on == 0 holds until a reload takes */
	head(w, "outpost_config_last_reload_successful", "gauge", "Whether the last reload took (1 "
		"also before any); 0: the file on disk is not what runs.");
	put(w, "outpost_config_last_reload_successful{%s} %d\n", app, !a->reload_error[0]);
	flush(w);
}
