/* test_sched.c: the scheduler: first runs spread evenly, no overlap, cadence kept, lag
 * measured, pools empty afterwards, no allocation while running, and ad-hoc runs asked from
 * many threads at once. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include "../../core/engine.h"
#include "../../core/rand.h"
#include "../../core/snap.h"
#include "t.h"

static void test_spread_1000_at_60s(void)
{
	int per_second[60] = {0};
	op_rand_seed(42);
	for (uint32_t i = 0; i < 1000; i++) {
		uint64_t off = sched_first_offset(60000000, i, 1000);
		ASSERT(off < 60000000);
		per_second[off / 1000000]++;
	}
	/* even spread: 1000/60 = 16.7 a second, so every second holds 16 or 17 (18 at a seam) */
	for (int s = 0; s < 60; s++) {
		if (per_second[s] < 15 || per_second[s] > 18)
			T_FAIL_AT("second %d has %d first runs", s, per_second[s]);
	}
}

static void test_few_probes_start_soon(void)
{
	for (uint32_t i = 0; i < 3; i++)
		ASSERT(sched_first_offset(300000000, i, 3) < 3000000);
}

/* A TCP port on loopback with nothing listening: connects are refused at once. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

static struct ev_timer stop_timer;
static void stop_cb(struct ev_timer *t)
{
	(void)t;
	engine_request_stop();
}

static void test_engine_cadence_and_pools(void)
{
	static char text[64 * 1024];
	int port = closed_port();
	size_t w = (size_t)snprintf(text, sizeof text,
		"{\"web\": {\"listen\": \"\"}, \"limits\": {\"max_probes\": 100, \"max_inflight\": 8, "
		"\"history\": 4}, \"probes\": [");
	for (int i = 0; i < 100; i++)
		w += (size_t)snprintf(text + w, sizeof text - w,
			"%s{\"name\": \"p%d\", \"kind\": \"tcp\", \"target\": \"127.0.0.1:%d\", "
			"\"interval\": \"500ms\", \"timeout\": \"400ms\"}", i ? "," : "", i, port);
	w += (size_t)snprintf(text + w, sizeof text - w, "]}");
	struct cfg c;
	char err[512];
	if (cfg_load_text(&c, "t", text, w, err, sizeof err))
		T_FAIL_AT("%s", err);
	ASSERT_EQ(engine_init(&c, NULL, err, sizeof err), 0);
	stop_timer.cb = stop_cb;
	ev_timer_at(&op_loop, &stop_timer, op_loop.now_us + 2250000);
	ASSERT_EQ(engine_run(), ENGINE_STOP);
	struct snap s;
	static struct snap_probe probes[100];
	s.probes = probes;
	ASSERT_EQ(snap_read(&s, 100), 100);
	/* 2.25 s at 500 ms: every probe ran 4 or 5 times, refused each time, never skipped */
	for (int i = 0; i < 100; i++) {
		const struct probe_stats *st = &probes[i].stats;
		uint64_t runs = st->runs_ok + st->runs_fail;
		if (runs < 4 || runs > 5)
			T_FAIL_AT("probe %d ran %llu times", i, (unsigned long long)runs);
		ASSERT_EQ(st->by_reason[REASON_REFUSED], runs);
		ASSERT_EQ(st->skipped, 0);
	}
	ASSERT(s.app.runs_started >= 400);
	ASSERT_EQ(s.app.pools[POOL_PROBE].used, 100);
	ASSERT(s.app.pools[POOL_RUN].max_used <= 8);
	ASSERT_EQ(s.app.pools[POOL_RUN].fails, 0);
	ASSERT(s.app.lag_p99_us < 250000);
	uint64_t allocs = plat_engine_allocs();
	engine_deinit();
	(void)allocs;
	/* teardown: nothing left in flight */
	ASSERT_EQ(op_pools[POOL_RUN].used, 0);
	cfg_free(&c);
}

static void test_engine_no_alloc_while_running(void)
{
	static char text[8192];
	int port = closed_port();
	size_t w = (size_t)snprintf(text, sizeof text, "{\"web\": {\"listen\": \"\"}, \"probes\": [");
	for (int i = 0; i < 20; i++) {
		char target[32];
		if (i % 2)
			snprintf(target, sizeof target, "127.0.0.1:%d", port);
		else
			snprintf(target, sizeof target, "localhost");
		w += (size_t)snprintf(text + w, sizeof text - w,
			"%s{\"name\": \"p%d\", \"kind\": \"%s\", \"target\": \"%s\", "
			"\"interval\": \"100ms\", \"timeout\": \"90ms\"}", i ? "," : "", i,
			i % 2 ? "tcp" : "dns", target);
	}
	w += (size_t)snprintf(text + w, sizeof text - w, "]}");
	struct cfg c;
	char err[512];
	if (cfg_load_text(&c, "t", text, strlen(text), err, sizeof err))
		T_FAIL_AT("%s", err);
	ASSERT_EQ(engine_init(&c, NULL, err, sizeof err), 0);
	stop_timer.cb = stop_cb;
	ev_timer_at(&op_loop, &stop_timer, op_loop.now_us + 1500000);
	engine_run();
	struct snap s = {0};
	snap_read(&s, 0);
	ASSERT(s.app.runs_started > 200);
	ASSERT_EQ(s.app.engine_allocs, 0);
	engine_deinit();
	cfg_free(&c);
}

/* Threads asking for ad-hoc runs the way /probe does: each loads a one-probe config, runs it
 * on the engine and frees it the moment the result is back. Under ASan, an engine that read
 * the config after handing the result back is a heap-use-after-free (it was: a crash with six
 * /probe scrapes finishing at once). */
static int adhoc_port;
static int adhoc_left = 6;
static pthread_mutex_t adhoc_mu = PTHREAD_MUTEX_INITIALIZER;
static int adhoc_fail;

static void *adhoc_asker(void *arg)
{
	(void)arg;
	/* kinds that end at once with no server: refused, or a name from the hosts file */
	static const char *const kinds[][2] = {{"tcp", "127.0.0.1:%d"},
		{"http", "http://127.0.0.1:%d/"}, {"ws", "ws://127.0.0.1:%d/"}, {"dns", "localhost"}};
	char text[256], target[64], err[256];
	for (int i = 0; i < 160; i++) {
		const char *const *k = kinds[i % 4];
		snprintf(target, sizeof target, k[1], adhoc_port);
		int n = snprintf(text, sizeof text, "{\"web\": {\"listen\": \"\"}, \"probes\": [{"
			"\"name\": \"x\", \"kind\": \"%s\", \"target\": \"%s\", \"timeout\": \"1s\"}]}",
			k[0], target);
		struct cfg one;
		if (cfg_load_text(&one, "t", text, (size_t)n, err, sizeof err)) {
			adhoc_fail = 1;
			break;
		}
		struct probe_stats st;
		int rc = engine_run_adhoc(&one.probes[0], &st);
		cfg_free(&one);
		if (rc || st.last.reason != (i % 4 == 3 ? REASON_NONE : REASON_REFUSED))
			adhoc_fail = 1;
	}
	pthread_mutex_lock(&adhoc_mu);
	adhoc_left--;
	pthread_mutex_unlock(&adhoc_mu);
	plat_wake();
	return NULL;
}

static struct ev_timer adhoc_check;
static void adhoc_check_cb(struct ev_timer *t)
{
	pthread_mutex_lock(&adhoc_mu);
	int left = adhoc_left;
	pthread_mutex_unlock(&adhoc_mu);
	if (!left)
		engine_request_stop();
	else
		ev_timer_at(&op_loop, t, op_loop.now_us + 20000);
}

static void test_adhoc_runs_from_many_threads(void)
{
	adhoc_port = closed_port();
	static const char text[] = "{\"web\": {\"listen\": \"\"}, \"probes\": []}";
	struct cfg c;
	char err[512];
	if (cfg_load_text(&c, "t", text, sizeof text - 1, err, sizeof err))
		T_FAIL_AT("%s", err);
	ASSERT_EQ(engine_init(&c, NULL, err, sizeof err), 0);
	engine_adhoc_slots(6); /* as a web server with 8 threads sets it */
	pthread_t th[6];
	for (int i = 0; i < 6; i++)
		pthread_create(&th[i], NULL, adhoc_asker, NULL);
	adhoc_check.cb = adhoc_check_cb;
	ev_timer_at(&op_loop, &adhoc_check, op_loop.now_us + 20000);
	ASSERT_EQ(engine_run(), ENGINE_STOP);
	for (int i = 0; i < 6; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(adhoc_fail, 0);
	struct snap s = {0};
	snap_read(&s, 0);
	ASSERT_EQ(s.app.pools[POOL_RUN].fails, 0);
	engine_deinit();
	cfg_free(&c);
}

int main(void)
{
	dns_init("/dev/null", NULL);
	RUN(test_spread_1000_at_60s);
	RUN(test_few_probes_start_soon);
	RUN(test_engine_cadence_and_pools);
	RUN(test_engine_no_alloc_while_running);
	RUN(test_adhoc_runs_from_many_threads);
	return T_DONE();
}
