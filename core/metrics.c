/* metrics.c: /metrics text. Probe series carry probe, kind and target labels plus the
 * appliance's name, region and labels, so a central Prometheus can tell edges apart. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "metrics.h"
#include "tls.h"

struct mw {
	metrics_out_fn *out;
	void *ctx;
	char buf[4096];
	size_t len;
	char app[512]; /* appliance labels, rendered once */
};

static void flush(struct mw *w)
{
	if (w->len)
		w->out(w->ctx, w->buf, w->len);
	w->len = 0;
}

__attribute__((format(printf, 2, 3))) static void put(struct mw *w, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = sizeof line - 1;
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

static void fmt_le(double b, char *out, size_t cap)
{
	snprintf(out, cap, "%g", b);
}

void metrics_render(const struct snap *s, uint64_t now_us, metrics_out_fn *out, void *ctx)
{
	struct mw mw;
	struct mw *w = &mw;
	static const double bounds[OP_HIST_N] = OP_HIST_BOUNDS;
	const struct snap_app *a = &s->app;
	char l[OP_NAME_MAX * 2 + OP_TARGET_MAX * 2 + 600];
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

	head(w, "probe_success", "gauge", "Whether the last run succeeded (blackbox_exporter style).");
	for (uint32_t i = 0; i < n; i++) {
		if (!ps[i].stats.has_last)
			continue;
		probe_labels(w, &ps[i], l, sizeof l);
		put(w, "probe_success{%s} %d\n", l, ps[i].stats.last.ok);
	}
	head(w, "probe_duration_seconds", "gauge", "Duration of the last run.");
	for (uint32_t i = 0; i < n; i++) {
		if (!ps[i].stats.has_last)
			continue;
		probe_labels(w, &ps[i], l, sizeof l);
		put(w, "probe_duration_seconds{%s} %.6f\n", l, ps[i].stats.last.duration_us / 1e6);
	}
	head(w, "probe_dns_lookup_time_seconds", "gauge", "Name resolution time of the last run.");
	for (uint32_t i = 0; i < n; i++) {
		if (!ps[i].stats.has_last)
			continue;
		probe_labels(w, &ps[i], l, sizeof l);
		put(w, "probe_dns_lookup_time_seconds{%s} %.6f\n", l,
			ps[i].stats.last.phase_us[PHASE_RESOLVE] / 1e6);
	}
	head(w, "outpost_probe_phase_seconds", "gauge", "Time of each phase of the last run.");
	for (uint32_t i = 0; i < n; i++) {
		if (!ps[i].stats.has_last)
			continue;
		probe_labels(w, &ps[i], l, sizeof l);
		for (int ph = 0; ph < PHASE_COUNT; ph++)
			put(w, "outpost_probe_phase_seconds{%s,phase=\"%s\"} %.6f\n", l, phase_name(ph),
				ps[i].stats.last.phase_us[ph] / 1e6);
	}
	/* blackbox_exporter's http series, for http probes */
	static const struct {
		const char *name, *help;
	} hm[] = {
		{"probe_http_status_code", "Response HTTP status code."},
		{"probe_http_content_length", "Length of the response body as sent (Content-Length)."},
		{"probe_http_uncompressed_body_length", "Length of the response body received."},
		{"probe_http_redirects", "The number of redirects followed."},
		{"probe_http_ssl", "Whether the final request used TLS."},
		{"probe_http_version", "The HTTP version of the response."},
		{"probe_failed_due_to_regex", "Whether a body or header assertion failed."},
	};
	for (size_t k = 0; k < OP_ARRAY_LEN(hm); k++) {
		int any = 0;
		for (uint32_t i = 0; i < n; i++) {
			const struct result *r = &ps[i].stats.last;
			if (!ps[i].stats.has_last || strcmp(ps[i].kind, "http"))
				continue;
			if (!any++)
				head(w, hm[k].name, "gauge", hm[k].help);
			probe_labels(w, &ps[i], l, sizeof l);
			double v = k == 0 ? r->http_status : k == 1 ? (double)r->content_length :
				k == 2 ? (double)r->body_bytes : k == 3 ? r->redirects : k == 4 ? r->ssl :
				k == 5 ? r->http_version / 10.0 : r->content_failed;
			put(w, "%s{%s} %g\n", hm[k].name, l, v);
		}
	}
	{
		int any = 0;
		for (uint32_t i = 0; i < n; i++) {
			if (!ps[i].stats.has_last || strcmp(ps[i].kind, "http"))
				continue;
			if (!any++)
				head(w, "probe_http_duration_seconds", "gauge",
					"Duration of each phase of the last HTTP request.");
			probe_labels(w, &ps[i], l, sizeof l);
			for (int ph = 0; ph < PHASE_COUNT; ph++)
				put(w, "probe_http_duration_seconds{%s,phase=\"%s\"} %.6f\n", l,
					phase_name(ph), ps[i].stats.last.phase_us[ph] / 1e6);
		}
	}
	/* TLS facts of https probes */
	{
		int any = 0;
		for (uint32_t i = 0; i < n; i++) {
			const struct result *r = &ps[i].stats.last;
			if (!ps[i].stats.has_last || !r->cert_expiry)
				continue;
			if (!any++)
				head(w, "probe_ssl_earliest_cert_expiry", "gauge",
					"Earliest NotAfter of the presented chain, Unix seconds (also when "
					"verification failed).");
			probe_labels(w, &ps[i], l, sizeof l);
			put(w, "probe_ssl_earliest_cert_expiry{%s} %lld\n", l, (long long)r->cert_expiry);
		}
		any = 0;
		for (uint32_t i = 0; i < n; i++) {
			const struct result *r = &ps[i].stats.last;
			if (!ps[i].stats.has_last || !r->cert_expiry || !r->cert_verified)
				continue;
			if (!any++)
				head(w, "probe_ssl_last_chain_expiry_timestamp_seconds", "gauge",
					"Earliest NotAfter of the verified chain, Unix seconds.");
			probe_labels(w, &ps[i], l, sizeof l);
			put(w, "probe_ssl_last_chain_expiry_timestamp_seconds{%s} %lld\n", l,
				(long long)r->cert_expiry);
		}
		any = 0;
		for (uint32_t i = 0; i < n; i++) {
			const struct result *r = &ps[i].stats.last;
			if (!ps[i].stats.has_last || !r->tls_version)
				continue;
			if (!any++)
				head(w, "probe_tls_version_info", "gauge", "The TLS version used; always 1.");
			probe_labels(w, &ps[i], l, sizeof l);
			put(w, "probe_tls_version_info{%s,version=\"TLS %d.%d\"} 1\n", l,
				r->tls_version / 10, r->tls_version % 10);
		}
		any = 0;
		for (uint32_t i = 0; i < n; i++) {
			const struct result *r = &ps[i].stats.last;
			if (!ps[i].stats.has_last || !r->tls_cipher)
				continue;
			if (!any++)
				head(w, "probe_tls_cipher_info", "gauge", "The cipher suite used; always 1.");
			char cipher[64];
			tls_cipher_name(r->tls_cipher, cipher, sizeof cipher);
			probe_labels(w, &ps[i], l, sizeof l);
			put(w, "probe_tls_cipher_info{%s,cipher=\"%s\"} 1\n", l, cipher);
		}
	}
	head(w, "outpost_probe_last_run_timestamp_seconds", "gauge",
		"When the last run started, Unix seconds.");
	for (uint32_t i = 0; i < n; i++) {
		if (!ps[i].stats.has_last)
			continue;
		probe_labels(w, &ps[i], l, sizeof l);
		put(w, "outpost_probe_last_run_timestamp_seconds{%s} %.3f\n", l,
			ps[i].stats.last.wall_us / 1e6);
	}
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
	head(w, "outpost_tls_arena_bytes", "gauge", "Bytes reserved for mbedTLS (0 without https probes).");
	put(w, "outpost_tls_arena_bytes{%s} %llu\n", app, (unsigned long long)a->tls_arena_bytes);
	head(w, "outpost_tls_arena_peak_bytes", "gauge", "Most bytes of the TLS arena in use at once.");
	put(w, "outpost_tls_arena_peak_bytes{%s} %llu\n", app, (unsigned long long)a->tls_arena_peak);
	head(w, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	put(w, "process_resident_memory_bytes{%s} %llu\n", app, (unsigned long long)a->rss_bytes);
	head(w, "outpost_config_reloads_total", "counter", "Configuration reloads by result.");
	put(w, "outpost_config_reloads_total{result=\"success\",%s} %llu\n", app,
		(unsigned long long)a->reloads);
	put(w, "outpost_config_reloads_total{result=\"failure\",%s} %llu\n", app,
		(unsigned long long)a->reload_failures);
	flush(w);
}
