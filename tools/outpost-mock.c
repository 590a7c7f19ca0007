/* outpost-mock: local targets for every probe kind, on civetweb, for tests, demos and
 * development. Usage: outpost-mock [-p PORT] [-l SECONDS]  (prints "port N" once listening;
 * exits after SECONDS, default: never).
 *
 *   GET  /delay/<ms>        200 after ms milliseconds
 *   GET  /status/<code>     that status
 *   GET  /bytes/<n>         n bytes of "x"
 *   GET  /chunked/<n>       n bytes in chunks of 100
 *   GET  /redirect/<n>      n redirects, then 200
 *   GET  /json              {"status":"ok",...}
 *   WS   /echo              echoes every message
 *   POST /events            the event collector (application/json; else 415): each event goes to every /subscribe client,
 *                           with the faults below
 *   WS   /subscribe         receives the collected events
 *   GET  /config?K=V&...    change the faults at run time; answers the settings as JSON:
 *        REJECT_PERCENT (0)        share of posts answered 503 (nothing is delivered)
 *        ADD_LATENCY_PERCENT (10)  share of events delayed by ADD_LATENCY_MIN_MS..MAX_MS
 *        ADD_LATENCY_MIN_MS (0), ADD_LATENCY_MAX_MS (3000)
 *        LOSS_PERCENT (5)          share of events never delivered
 *        DUPLICATE_PERCENT (1)     share delivered twice
 *        FOREIGN_PERCENT (1)       share followed by a copy with another app id ("foreign")
 *        SEED                      restart the fault dice (reproducible runs)
 *   GET  /stats             what the collector did: {"posted":..,"delivered":..,...}
 *
 * A job API (for scenario probes):
 *   POST /jobs {"spec": S}  201 {"id": "job-N", "state": "pending"}, Location: the job's URL
 *   GET  /jobs              {"jobs": [{"id", "state"}, ...]}
 *   GET  /jobs/<id>         {"id", "state", "spec"}: pending, then running after half of
 *                           JOB_DELAY_MS, then completed (or failed) after JOB_DELAY_MS
 *   GET  /jobs/<id>/output  "outpost-mock job output for spec=S\n" once completed (409 before)
 *   DELETE /jobs/<id>       204
 *   faults (/config): JOB_DELAY_MS (1000), JOB_FAIL_PERCENT (0), JOB_WRONG_OUTPUT_PERCENT (0),
 *   JOB_SLOW_MS (0: added to every job request), JOB_ERROR_PERCENT (0: answered 500)
 *
 * Faults are drawn when an event is posted; deliveries wait in a queue served by one thread. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "civetweb.h"

#define MAX_SUBS 64
#define MAX_QUEUE 4096
#define EVENT_MAX 1024

struct faults {
	int job_delay_ms, job_fail_pct, job_wrong_pct, job_slow_ms, job_error_pct;
	int reject_pct, latency_pct, latency_min_ms, latency_max_ms, loss_pct, dup_pct, foreign_pct;
};

struct delivery {
	uint64_t due_us;
	size_t len;
	char data[EVENT_MAX];
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct faults f;
	uint64_t rng;
	struct mg_connection *subs[MAX_SUBS];
	struct delivery q[MAX_QUEUE]; /* unordered; the sender picks the earliest due */
	uint8_t used[MAX_QUEUE];
	uint64_t posted, rejected, delivered, dropped, delayed, duplicated, foreign, overflow, sends;
} M = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.f = {1000, 0, 0, 0, 0, 0, 10, 0, 3000, 5, 1, 1},
	.rng = 0x9E3779B97F4A7C15ull,
};

#define MAX_JOBS 1024

struct job {
	int id;
	uint64_t at_us;
	int delay_ms;
	uint8_t fail, wrong, used;
	char spec[128];
};
static struct job jobs[MAX_JOBS];
static int next_job = 1;

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* xorshift under M.mu */
static uint32_t dice(uint32_t n)
{
	M.rng ^= M.rng << 13, M.rng ^= M.rng >> 7, M.rng ^= M.rng << 17;
	return n ? (uint32_t)(M.rng % n) : 0;
}

static void enqueue(const char *data, size_t len, uint64_t due)
{
	for (int i = 0; i < MAX_QUEUE; i++) {
		if (!M.used[i]) {
			M.used[i] = 1;
			M.q[i].due_us = due;
			M.q[i].len = len;
			memcpy(M.q[i].data, data, len);
			pthread_cond_signal(&M.cv);
			return;
		}
	}
	M.overflow++;
}

/* A copy of the event with the value of "app_id" replaced by "foreign". */
static size_t foreign_copy(const char *in, size_t len, char *out)
{
	const char *k = strstr(in, "\"app_id\"");
	const char *q1 = k ? strchr(k + 8, '"') : NULL;
	const char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
	if (!q2 || q2 > in + len)
		return 0;
	size_t a = (size_t)(q1 + 1 - in);
	size_t n = (size_t)snprintf(out, EVENT_MAX, "%.*sforeign%.*s", (int)a, in,
		(int)(len - (size_t)(q2 - in)), q2);
	return n < EVENT_MAX ? n : 0;
}

static void *sender(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&M.mu);
	for (;;) {
		int best = -1;
		for (int i = 0; i < MAX_QUEUE; i++)
			if (M.used[i] && (best < 0 || M.q[i].due_us < M.q[best].due_us))
				best = i;
		if (best < 0) {
			pthread_cond_wait(&M.cv, &M.mu);
			continue;
		}
		uint64_t now = now_us();
		if (M.q[best].due_us > now) {
			uint64_t wait = M.q[best].due_us - now;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)(wait / 1000000u);
			ts.tv_nsec += (long)(wait % 1000000u) * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&M.cv, &M.mu, &ts);
			continue;
		}
		for (int s = 0; s < MAX_SUBS; s++) {
			if (!M.subs[s])
				continue;
			mg_websocket_write(M.subs[s], MG_WEBSOCKET_OPCODE_TEXT, M.q[best].data,
				M.q[best].len);
			M.sends++;
		}
		M.used[best] = 0;
	}
	return NULL;
}

static int events_post(struct mg_connection *c, void *cb)
{
	(void)cb;
	char body[EVENT_MAX];
	/* a JSON API takes what is said to be JSON (Spring, ASP.NET and many more answer 415) */
	const char *type = mg_get_header(c, "Content-Type");
	if (!type || strncasecmp(type, "application/json", 16)) {
		mg_send_http_error(c, 415, "send Content-Type: application/json");
		return 415;
	}
	int n = mg_read(c, body, sizeof body - 1);
	if (n <= 0) {
		mg_send_http_error(c, 400, "empty event");
		return 400;
	}
	body[n] = 0;
	pthread_mutex_lock(&M.mu);
	struct faults f = M.f;
	if (dice(100) < (uint32_t)f.reject_pct) {
		M.rejected++;
		pthread_mutex_unlock(&M.mu);
		mg_send_http_error(c, 503, "rejected (REJECT_PERCENT)");
		return 503;
	}
	M.posted++;
	if (dice(100) < (uint32_t)f.loss_pct) {
		M.dropped++;
	} else {
		uint64_t due = now_us();
		if (dice(100) < (uint32_t)f.latency_pct) {
			int span = f.latency_max_ms - f.latency_min_ms;
			due += (uint64_t)(f.latency_min_ms + (int)dice((uint32_t)(span > 0 ? span + 1 : 1))) *
				1000u;
			M.delayed++;
		}
		M.delivered++;
		enqueue(body, (size_t)n, due);
		if (dice(100) < (uint32_t)f.dup_pct) {
			M.duplicated++;
			enqueue(body, (size_t)n, due + 1000);
		}
		char other[EVENT_MAX];
		size_t on;
		if (dice(100) < (uint32_t)f.foreign_pct && (on = foreign_copy(body, (size_t)n, other))) {
			M.foreign++;
			enqueue(other, on, due + 2000);
		}
	}
	pthread_mutex_unlock(&M.mu);
	mg_send_http_ok(c, "application/json", 16);
	mg_write(c, "{\"accepted\":true}", 16);
	return 200;
}

static int config_get(struct mg_connection *c, void *cb)
{
	(void)cb;
	const struct mg_request_info *ri = mg_get_request_info(c);
	const char *qs = ri->query_string ? ri->query_string : "";
	struct {
		const char *name;
		int *v;
	} keys[] = {
		{"JOB_DELAY_MS", &M.f.job_delay_ms}, {"JOB_FAIL_PERCENT", &M.f.job_fail_pct},
		{"JOB_WRONG_OUTPUT_PERCENT", &M.f.job_wrong_pct}, {"JOB_SLOW_MS", &M.f.job_slow_ms},
		{"JOB_ERROR_PERCENT", &M.f.job_error_pct},
		{"REJECT_PERCENT", &M.f.reject_pct}, {"ADD_LATENCY_PERCENT", &M.f.latency_pct}, {"ADD_LATENCY_MIN_MS", &M.f.latency_min_ms},
		{"ADD_LATENCY_MAX_MS", &M.f.latency_max_ms}, {"LOSS_PERCENT", &M.f.loss_pct},
		{"DUPLICATE_PERCENT", &M.f.dup_pct}, {"FOREIGN_PERCENT", &M.f.foreign_pct},
	};
	char v[32], out[512];
	pthread_mutex_lock(&M.mu);
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (mg_get_var(qs, strlen(qs), keys[i].name, v, sizeof v) > 0)
			*keys[i].v = atoi(v);
	if (mg_get_var(qs, strlen(qs), "SEED", v, sizeof v) > 0)
		M.rng = strtoull(v, NULL, 10) * 0x9E3779B97F4A7C15ull | 1;
	int n = snprintf(out, sizeof out, "{\"JOB_DELAY_MS\":%d,\"JOB_FAIL_PERCENT\":%d,"
		"\"JOB_WRONG_OUTPUT_PERCENT\":%d,\"JOB_SLOW_MS\":%d,\"JOB_ERROR_PERCENT\":%d,"
		"\"REJECT_PERCENT\":%d,\"ADD_LATENCY_PERCENT\":%d,\"ADD_LATENCY_MIN_MS\":%d,"
		"\"ADD_LATENCY_MAX_MS\":%d,\"LOSS_PERCENT\":%d,\"DUPLICATE_PERCENT\":%d,"
		"\"FOREIGN_PERCENT\":%d}", M.f.job_delay_ms, M.f.job_fail_pct, M.f.job_wrong_pct,
		M.f.job_slow_ms, M.f.job_error_pct, M.f.reject_pct, M.f.latency_pct, M.f.latency_min_ms, M.f.latency_max_ms,
		M.f.loss_pct, M.f.dup_pct, M.f.foreign_pct);
	pthread_mutex_unlock(&M.mu);
	mg_send_http_ok(c, "application/json", n);
	mg_write(c, out, (size_t)n);
	return 200;
}

static int stats_get(struct mg_connection *c, void *cb)
{
	(void)cb;
	char out[512];
	int subs = 0;
	pthread_mutex_lock(&M.mu);
	for (int i = 0; i < MAX_SUBS; i++)
		subs += M.subs[i] != NULL;
	int n = snprintf(out, sizeof out, "{\"posted\":%llu,\"rejected\":%llu,\"delivered\":%llu,\"dropped\":%llu,"
		"\"delayed\":%llu,\"duplicated\":%llu,\"foreign\":%llu,\"overflow\":%llu,"
		"\"sends\":%llu,\"subscribers\":%d}", (unsigned long long)M.posted,
		(unsigned long long)M.rejected,
		(unsigned long long)M.delivered, (unsigned long long)M.dropped,
		(unsigned long long)M.delayed, (unsigned long long)M.duplicated,
		(unsigned long long)M.foreign, (unsigned long long)M.overflow,
		(unsigned long long)M.sends, subs);
	pthread_mutex_unlock(&M.mu);
	mg_send_http_ok(c, "application/json", n);
	mg_write(c, out, (size_t)n);
	return 200;
}

/* /delay/<ms>, /status/<code>, /bytes/<n>, /chunked/<n>, /redirect/<n>, /json */
static int http_get(struct mg_connection *c, void *cb)
{
	(void)cb;
	const char *uri = mg_get_request_info(c)->local_uri;
	long n = 0;
	const char *slash = strrchr(uri, '/');
	if (slash)
		n = strtol(slash + 1, NULL, 10);
	if (!strncmp(uri, "/delay/", 7)) {
		usleep((useconds_t)(n > 0 && n < 60000 ? n : 0) * 1000);
		mg_send_http_ok(c, "text/plain", 2);
		mg_write(c, "ok", 2);
		return 200;
	}
	if (!strncmp(uri, "/status/", 8)) {
		int code = n >= 100 && n <= 599 ? (int)n : 500;
		mg_printf(c, "HTTP/1.1 %d Mock\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", code);
		return code;
	}
	if (!strncmp(uri, "/bytes/", 7) || !strncmp(uri, "/chunked/", 9)) {
		static char x[4096];
		memset(x, 'x', sizeof x);
		long left = n > 0 && n <= 100000000 ? n : 0;
		int chunked = uri[1] == 'c';
		if (chunked)
			mg_printf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
				"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
		else
			mg_send_http_ok(c, "text/plain", left);
		while (left > 0) {
			long m = left < (chunked ? 100 : (long)sizeof x) ? left : (chunked ? 100 : (long)sizeof x);
			if (chunked)
				mg_send_chunk(c, x, (unsigned)m);
			else
				mg_write(c, x, (size_t)m);
			left -= m;
		}
		if (chunked)
			mg_send_chunk(c, "", 0);
		return 200;
	}
	if (!strncmp(uri, "/redirect/", 10)) {
		char to[64];
		if (n > 0)
			snprintf(to, sizeof to, "/redirect/%ld", n - 1);
		else
			snprintf(to, sizeof to, "/status/200");
		mg_printf(c, "HTTP/1.1 302 Found\r\nLocation: %s\r\nContent-Length: 0\r\n"
			"Connection: close\r\n\r\n", to);
		return 302;
	}
	if (!strcmp(uri, "/json")) {
		const char *j = "{\"status\":\"ok\",\"service\":\"outpost-mock\",\"items\":[1,2,3]}";
		mg_send_http_ok(c, "application/json", (long long)strlen(j));
		mg_write(c, j, strlen(j));
		return 200;
	}
	const char *idx = "outpost-mock: /delay/<ms> /status/<code> /bytes/<n> /chunked/<n> "
		"/redirect/<n> /json, WebSocket /echo, events: POST /events, WebSocket /subscribe, "
		"/config, /stats\n";
	mg_send_http_ok(c, "text/plain", (long long)strlen(idx));
	mg_write(c, idx, strlen(idx));
	return 200;
}

static int ws_connect(const struct mg_connection *c, void *cb)
{
	(void)c, (void)cb;
	return 0; /* accept */
}

static void sub_ready(struct mg_connection *c, void *cb)
{
	(void)cb;
	pthread_mutex_lock(&M.mu);
	for (int i = 0; i < MAX_SUBS; i++) {
		if (!M.subs[i]) {
			M.subs[i] = c;
			break;
		}
	}
	pthread_mutex_unlock(&M.mu);
}

static void ws_ready_none(struct mg_connection *c, void *cb)
{
	(void)c, (void)cb;
}

static int sub_data(struct mg_connection *c, int op, char *d, size_t n, void *cb)
{
	(void)c, (void)d, (void)n, (void)cb;
	return (op & 0xf) != MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE;
}

static void sub_close(const struct mg_connection *c, void *cb)
{
	(void)cb;
	pthread_mutex_lock(&M.mu);
	for (int i = 0; i < MAX_SUBS; i++)
		if (M.subs[i] == c)
			M.subs[i] = NULL;
	pthread_mutex_unlock(&M.mu);
}

static int echo_data(struct mg_connection *c, int op, char *d, size_t n, void *cb)
{
	(void)cb;
	int code = op & 0xf;
	if (code == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) {
		mg_websocket_write(c, code, d, n); /* answer the close handshake */
		return 0;
	}
	if (code == MG_WEBSOCKET_OPCODE_TEXT || code == MG_WEBSOCKET_OPCODE_BINARY)
		mg_websocket_write(c, code, d, n);
	return 1;
}

static void ws_close_none(const struct mg_connection *c, void *cb)
{
	(void)c, (void)cb;
}

static const char *job_state(const struct job *j, uint64_t now)
{
	uint64_t age_ms = (now - j->at_us) / 1000;
	if (age_ms < (uint64_t)j->delay_ms / 2)
		return "pending";
	if (age_ms < (uint64_t)j->delay_ms)
		return "running";
	return j->fail ? "failed" : "completed";
}

static int reply_json(struct mg_connection *c, int status, const char *body)
{
	mg_printf(c, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n\r\n%s", status, status < 300 ? "OK" : "Error", strlen(body),
		body);
	return status;
}

/* The job API: every request may be slowed or fail by the faults. */
static int jobs_api(struct mg_connection *c, const struct mg_request_info *ri)
{
	pthread_mutex_lock(&M.mu);
	struct faults f = M.f;
	int error = dice(100) < (uint32_t)f.job_error_pct;
	pthread_mutex_unlock(&M.mu);
	if (f.job_slow_ms > 0)
		usleep((useconds_t)f.job_slow_ms * 1000);
	if (error)
		return reply_json(c, 500, "{\"error\":\"injected (JOB_ERROR_PERCENT)\"}");
	char out[8192];
	uint64_t now = now_us();
	const char *rest = ri->local_uri + 5; /* after "/jobs" */
	if (!*rest && !strcmp(ri->request_method, "POST")) {
		char body[512], spec[128] = "";
		const char *type = mg_get_header(c, "Content-Type");
		if (!type || strncasecmp(type, "application/json", 16))
			return reply_json(c, 415, "{\"error\":\"send Content-Type: application/json\"}");
		int n = mg_read(c, body, sizeof body - 1);
		body[n > 0 ? n : 0] = 0;
		const char *k = strstr(body, "\"spec\"");
		const char *q1 = k ? strchr(k + 6, '"') : NULL;
		const char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
		if (!q2)
			return reply_json(c, 400, "{\"error\":\"send {\\\"spec\\\": \\\"...\\\"}\"}");
		snprintf(spec, sizeof spec, "%.*s", (int)(q2 - q1 - 1), q1 + 1);
		pthread_mutex_lock(&M.mu);
		struct job *j = &jobs[next_job % MAX_JOBS];
		*j = (struct job){.id = next_job++, .at_us = now, .delay_ms = f.job_delay_ms,
			.fail = dice(100) < (uint32_t)f.job_fail_pct,
			.wrong = dice(100) < (uint32_t)f.job_wrong_pct, .used = 1};
		snprintf(j->spec, sizeof j->spec, "%s", spec);
		int id = j->id;
		snprintf(out, sizeof out, "{\"id\":\"job-%d\",\"state\":\"pending\"}", id);
		pthread_mutex_unlock(&M.mu);
		/* where the job lives, as a whole URL, as APIs that answer 201 say it */
		const char *host = mg_get_header(c, "Host");
		mg_printf(c, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
			"Location: http://%s/jobs/job-%d\r\nContent-Length: %zu\r\n"
			"Connection: close\r\n\r\n%s", host ? host : "127.0.0.1", id, strlen(out), out);
		return 201;
	}
	if (!*rest) {
		size_t w = (size_t)snprintf(out, sizeof out, "{\"jobs\":[");
		pthread_mutex_lock(&M.mu);
		for (int i = 0, first = 1; i < MAX_JOBS && w < sizeof out - 64; i++) {
			if (!jobs[i].used)
				continue;
			w += (size_t)snprintf(out + w, sizeof out - w, "%s{\"id\":\"job-%d\",\"state\":\"%s\"}",
				first ? "" : ",", jobs[i].id, job_state(&jobs[i], now));
			first = 0;
		}
		pthread_mutex_unlock(&M.mu);
		snprintf(out + w, sizeof out - w, "]}");
		return reply_json(c, 200, out);
	}
	int id = 0, used = 0;
	char tail[32] = "";
	if (sscanf(rest, "/job-%d%n", &id, &used) != 1)
		return reply_json(c, 404, "{\"error\":\"no such job\"}");
	snprintf(tail, sizeof tail, "%s", rest + used);
	pthread_mutex_lock(&M.mu);
	struct job *j = &jobs[id % MAX_JOBS];
	if (!j->used || j->id != id) {
		pthread_mutex_unlock(&M.mu);
		return reply_json(c, 404, "{\"error\":\"no such job\"}");
	}
	struct job copy = *j;
	if (!strcmp(ri->request_method, "DELETE") && !tail[0])
		j->used = 0;
	pthread_mutex_unlock(&M.mu);
	const char *state = job_state(&copy, now);
	if (!strcmp(ri->request_method, "DELETE")) {
		mg_printf(c, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
		return 204;
	}
	if (!strcmp(tail, "/output")) {
		if (strcmp(state, "completed"))
			return reply_json(c, 409, "{\"error\":\"the job has not completed\"}");
		int n = snprintf(out, sizeof out, "outpost-mock job output for spec=%s%s\n", copy.spec,
			copy.wrong ? " (corrupted)" : "");
		mg_send_http_ok(c, "text/plain", n);
		mg_write(c, out, (size_t)n);
		return 200;
	}
	snprintf(out, sizeof out, "{\"id\":\"job-%d\",\"state\":\"%s\",\"spec\":\"%s\"}", copy.id,
		state, copy.spec);
	return reply_json(c, 200, out);
}

static int route(struct mg_connection *c, void *cb)
{
	const struct mg_request_info *ri = mg_get_request_info(c);
	if (!strncmp(ri->local_uri, "/jobs", 5) && (!ri->local_uri[5] || ri->local_uri[5] == '/'))
		return jobs_api(c, ri);
	if (!strcmp(ri->local_uri, "/events") && !strcmp(ri->request_method, "POST"))
		return events_post(c, cb);
	if (!strcmp(ri->local_uri, "/config"))
		return config_get(c, cb);
	if (!strcmp(ri->local_uri, "/stats"))
		return stats_get(c, cb);
	return http_get(c, cb);
}

int main(int argc, char **argv)
{
	const char *port = "0";
	int lifetime = 0;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-p"))
			port = argv[i + 1];
		else if (!strcmp(argv[i], "-l"))
			lifetime = atoi(argv[i + 1]);
	}
	char listen[64];
	snprintf(listen, sizeof listen, "127.0.0.1:%s", port);
	const char *opts[] = {"listening_ports", listen, "num_threads", "32",
		"enable_keep_alive", "yes", "tcp_nodelay", "1", NULL};
	mg_init_library(0);
	struct mg_context *ctx = mg_start(NULL, NULL, opts);
	if (!ctx) {
		fprintf(stderr, "outpost-mock: cannot listen on %s\n", listen);
		return 1;
	}
	mg_set_request_handler(ctx, "/", route, NULL);
	mg_set_websocket_handler(ctx, "/echo", ws_connect, ws_ready_none, echo_data, ws_close_none,
		NULL);
	mg_set_websocket_handler(ctx, "/subscribe", ws_connect, sub_ready, sub_data, sub_close,
		NULL);
	pthread_t t;
	pthread_create(&t, NULL, sender, NULL);
	struct mg_server_port sp;
	if (mg_get_server_ports(ctx, 1, &sp) < 1)
		return 1;
	printf("port %d\n", sp.port);
	fflush(stdout);
	for (int s = 0; !lifetime || s < lifetime; s++)
		sleep(1);
	mg_stop(ctx);
	return 0;
}
