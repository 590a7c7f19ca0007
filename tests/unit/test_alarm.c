/* test_alarm.c: the alarm state machine and its messages, as tables: N of M, "for", flapping,
 * resolve_after, reminders, silences (windows across midnight, until), a restart, and the
 * window rules against a recount. */
#include <stdlib.h>
#include "t.h"
#include "../../core/alarm.h"

#define S 1000000ll

struct ev {
	int64_t t_s;  /* when */
	int fail;     /* the run failed */
	const char *want_state;
	int want_msg; /* -1 none, NOTIFY_FIRING, NOTIFY_RESOLVED */
};

static const char *state_name(int s)
{
	return s == ALARM_OK ? "ok" : s == ALARM_PENDING ? "pending" : "firing";
}

/* Run a table through eval, step and due (as the engine does) with no silence. */
static int run(const struct cfg_alarm *r, const struct ev *evs, size_t n, char *why, size_t cap)
{
	struct alarm_inst a;
	memset(&a, 0, sizeof a);
	for (size_t i = 0; i < n; i++) {
		struct result res = {.ok = !evs[i].fail, .wall_us = evs[i].t_s * S, .duration_us = 1000};
		int64_t now = evs[i].t_s * S;
		alarm_step(&a, r, alarm_eval(&a, r, &res, now), now);
		int due = alarm_due(&a, r, 0, now);
		if (due >= 0) {
			a.notified = due == NOTIFY_FIRING ? ALARM_FIRING : ALARM_OK;
			a.notified_us = now;
		}
		if (strcmp(state_name(a.state), evs[i].want_state) || due != evs[i].want_msg) {
			snprintf(why, cap, "row %zu (t=%llds): state %s, message %d; want %s, %d", i,
				(long long)evs[i].t_s, state_name(a.state), due, evs[i].want_state,
				evs[i].want_msg);
			return -1;
		}
	}
	return 0;
}

#define TABLE(r, rows)                                                     \
	do {                                                               \
		char why[160];                                             \
		if (run(&(r), rows, OP_ARRAY_LEN(rows), why, sizeof why)) \
			T_FAIL_AT("%s", why);                              \
	} while (0)

static void test_n_of_m_fires_once_and_resolves_once(void)
{
	struct cfg_alarm r = {.when = ALARM_FAILURES, .n = 3, .of = 5, .resolve_after = 2,
		.repeat_us = 3600 * S, .send_resolved = 1};
	static const struct ev rows[] = {
		{0, 0, "ok", -1}, {1, 1, "ok", -1}, {2, 1, "ok", -1}, {3, 0, "ok", -1},
		{4, 1, "firing", NOTIFY_FIRING}, /* 3 of the last 5 */
		{5, 1, "firing", -1}, {6, 1, "firing", -1},
		{7, 0, "firing", -1}, {8, 0, "firing", -1},  /* 3 of 5 still failed */
		{9, 0, "firing", -1},                        /* 1 of 5 now: first clear */
		{10, 0, "ok", NOTIFY_RESOLVED},             /* resolve_after 2 */
		{11, 0, "ok", -1},
	};
	TABLE(r, rows);
}

static void test_for_holds_back_and_flapping_never_fires(void)
{
	struct cfg_alarm r = {.when = ALARM_FAILURES, .n = 1, .of = 1, .for_us = 10 * S,
		.repeat_us = 3600 * S, .send_resolved = 1};
	static const struct ev flapping[] = {
		{0, 1, "pending", -1}, {5, 0, "ok", -1}, {6, 1, "pending", -1}, {12, 0, "ok", -1},
		{13, 1, "pending", -1}, {20, 0, "ok", -1},
	};
	TABLE(r, flapping);
	static const struct ev steady[] = {
		{0, 1, "pending", -1}, {5, 1, "pending", -1}, {10, 1, "firing", NOTIFY_FIRING},
		{11, 0, "ok", NOTIFY_RESOLVED},
	};
	TABLE(r, steady);
}

static void test_reminders_and_quiet_resolve(void)
{
	struct cfg_alarm r = {.when = ALARM_FAILURES, .n = 1, .of = 1, .repeat_us = 60 * S,
		.send_resolved = 0};
	static const struct ev rows[] = {
		{0, 1, "firing", NOTIFY_FIRING}, {30, 1, "firing", -1},
		{60, 1, "firing", NOTIFY_FIRING}, /* a reminder after "repeat" */
		{90, 1, "firing", -1}, {121, 1, "firing", NOTIFY_FIRING},
		{122, 0, "ok", NOTIFY_RESOLVED}, /* due, though send_resolved 0 drops it (engine) */
	};
	TABLE(r, rows);
}

static void test_silences(void)
{
	/* 2026-11-22 is a Sunday; 23:30 UTC */
	int64_t sun_2330 = (int64_t)1795390200 * S;
	struct alarm_silence nightly = {.from_min = 22 * 60, .to_min = 6 * 60};
	ASSERT(alarm_silenced(&nightly, 1, "any", sun_2330));
	ASSERT(alarm_silenced(&nightly, 1, "any", sun_2330 + 6 * 3600 * S)); /* 05:30 */
	ASSERT(!alarm_silenced(&nightly, 1, "any", sun_2330 + 7 * 3600 * S)); /* 06:30 */
	struct alarm_silence weekend = {.weekdays = 1u << 0 | 1u << 6, .from_min = 0,
		.to_min = 24 * 60};
	ASSERT(alarm_silenced(&weekend, 1, "x", sun_2330));
	ASSERT(!alarm_silenced(&weekend, 1, "x", sun_2330 + 3600 * S)); /* Monday 00:30 */
	struct alarm_silence one = {.until_wall_us = sun_2330 + 60 * S};
	snprintf(one.alarm, sizeof one.alarm, "db-down");
	ASSERT(alarm_silenced(&one, 1, "db-down", sun_2330));
	ASSERT(!alarm_silenced(&one, 1, "web-down", sun_2330)); /* another alarm */
	ASSERT(!alarm_silenced(&one, 1, "db-down", sun_2330 + 61 * S));
	/* held back while silenced, told once the silence ends */
	struct cfg_alarm r = {.when = ALARM_FAILURES, .n = 1, .of = 1, .repeat_us = 3600 * S,
		.send_resolved = 1};
	struct alarm_inst a;
	memset(&a, 0, sizeof a);
	struct result bad = {.ok = 0};
	alarm_step(&a, &r, alarm_eval(&a, &r, &bad, sun_2330), sun_2330);
	ASSERT_EQ(a.state, ALARM_FIRING);
	ASSERT_EQ(alarm_due(&a, &r, alarm_silenced(&one, 1, "db-down", sun_2330), sun_2330), -1);
	int64_t later = sun_2330 + 90 * S;
	ASSERT_EQ(alarm_due(&a, &r, alarm_silenced(&one, 1, "db-down", later), later),
		NOTIFY_FIRING);
}

/* What the state file keeps (state, notified, since) is all a restart needs: a firing alarm
 * that was told is not told again, one that was not is. */
static void test_restart_does_not_repeat(void)
{
	struct cfg_alarm r = {.when = ALARM_FAILURES, .n = 1, .of = 1, .repeat_us = 3600 * S,
		.send_resolved = 1};
	struct alarm_inst saved = {.state = ALARM_FIRING, .notified = ALARM_FIRING,
		.since_us = 100 * S, .notified_us = 100 * S};
	struct alarm_inst a;
	memset(&a, 0, sizeof a);
	a.state = saved.state, a.notified = saved.notified;
	a.since_us = saved.since_us, a.notified_us = saved.notified_us;
	struct result bad = {.ok = 0};
	alarm_step(&a, &r, alarm_eval(&a, &r, &bad, 200 * S), 200 * S);
	ASSERT_EQ(a.state, ALARM_FIRING);
	ASSERT_EQ(a.since_us, 100 * S); /* since survives */
	ASSERT_EQ(alarm_due(&a, &r, 0, 200 * S), -1);
	a.notified = ALARM_OK; /* it fired but the message had not gone out */
	ASSERT_EQ(alarm_due(&a, &r, 0, 200 * S), NOTIFY_FIRING);
}

/* availability_below and latency_above against a recount over random runs in one window. */
static void test_window_rules_match_a_recount(void)
{
	srand(11);
	struct cfg_alarm av = {.when = ALARM_AVAILABILITY, .value = 0.9, .window_min = 10};
	av.slo.nwin = 1, av.slo.win_min[0] = 10, av.slo.latency_max_us = UINT64_MAX;
	struct cfg_alarm lat = {.when = ALARM_LATENCY, .max_us = 200000, .window_min = 10};
	lat.slo.nwin = 1, lat.slo.win_min[0] = 10, lat.slo.latency_p = 0.9;
	lat.slo.latency_max_us = 200000;
	static struct slo_bucket ring1[10], ring2[10];
	struct alarm_inst a1, a2;
	memset(&a1, 0, sizeof a1), memset(&a2, 0, sizeof a2);
	slo_init(&a1.slo, &av.slo, ring1);
	slo_init(&a2.slo, &lat.slo, ring2);
	int64_t t0 = (int64_t)29000000 * 60 * S; /* a whole minute */
	int ok = 0, fast = 0;
	for (int i = 0; i < 500; i++) {
		int64_t now = t0 + i * 1000000ll; /* 500 s: all inside 10 minutes */
		struct result res = {.ok = rand() % 100 < 88, .wall_us = now,
			.duration_us = (uint32_t)(rand() % 100 < 85 ? 50000 : 400000)};
		ok += res.ok;
		fast += res.duration_us <= 200000;
		int c1 = alarm_eval(&a1, &av, &res, now), c2 = alarm_eval(&a2, &lat, &res, now);
		if (c1 != ((double)ok / (i + 1) < 0.9) || c2 != ((double)fast / (i + 1) < 0.9))
			T_FAIL_AT("run %d: availability %d/%d -> %d, fast %d/%d -> %d", i, ok, i + 1, c1,
				fast, i + 1, c2);
	}
}

/* One failed run a second, as the engine feeds them, with the wall clock read against the
 * monotonic one and a step at second `at` of `step` µs. Returns the second the alarm fired at
 * (or the reminder came at, with a firing start), -1 if never within `limit` seconds. */
static int64_t seconds_to_message(const struct cfg_alarm *r, int firing, int64_t at,
	int64_t step, int64_t limit)
{
	struct alarm_inst a;
	memset(&a, 0, sizeof a);
	struct op_clock c = {0};
	int64_t wall = 1700000000 * S;
	uint64_t mono = 1000 * S;
	op_clock_step(&c, wall, mono);
	if (firing) {
		a.state = a.notified = ALARM_FIRING;
		a.since_us = a.notified_us = wall;
	}
	for (int64_t t = 1; t <= limit; t++) {
		mono += S;
		wall += S + (t == at ? step : 0);
		int64_t d = op_clock_step(&c, wall, mono);
		if (d)
			alarm_shift(&a, d);
		struct result res = {.ok = 0, .wall_us = wall, .duration_us = 1000};
		alarm_step(&a, r, alarm_eval(&a, r, &res, wall), wall);
		int due = alarm_due(&a, r, 0, wall);
		if (due == NOTIFY_FIRING)
			return t;
	}
	return -1;
}

static void test_a_stepped_wall_clock(void)
{
	/* the clock keeps pace, or NTP slews it (0.5 ms a second): no step */
	struct op_clock c = {0};
	ASSERT_EQ(op_clock_step(&c, 5 * S, 10 * S), 0);
	ASSERT_EQ(op_clock_step(&c, 6 * S + 500, 11 * S), 0);
	ASSERT_EQ(op_clock_step(&c, 6 * S + 3 * 86400 * S, 11 * S + 300000), 3 * 86400 * S - 300500);
	ASSERT_EQ(op_clock_step(&c, 7 * S, 12 * S), -3 * 86400 * S + 300000);

	/* pending with "for" 5 minutes when NTP sets the clock 3 days ahead: fires after 5
	 * minutes of failing, not at once */
	struct cfg_alarm r = {.when = ALARM_FAILURES, .n = 1, .of = 1, .for_us = 300 * S};
	ASSERT_EQ(seconds_to_message(&r, 0, 60, 3 * 86400 * S, 400), 301); /* pending from 1 s */
	ASSERT_EQ(seconds_to_message(&r, 0, 60, -365 * 86400 * S, 400), 301);
	/* firing with hourly reminders when the clock is set back a year: an hour, not a year */
	struct cfg_alarm h = {.when = ALARM_FAILURES, .n = 1, .of = 1, .repeat_us = 3600 * S};
	ASSERT_EQ(seconds_to_message(&h, 1, 600, -365 * 86400 * S, 4000), 3600);
	ASSERT_EQ(seconds_to_message(&h, 1, 600, 2 * 86400 * S, 4000), 3600);
}

int main(void)
{
	RUN(test_n_of_m_fires_once_and_resolves_once);
	RUN(test_for_holds_back_and_flapping_never_fires);
	RUN(test_reminders_and_quiet_resolve);
	RUN(test_silences);
	RUN(test_restart_does_not_repeat);
	RUN(test_window_rules_match_a_recount);
	RUN(test_a_stepped_wall_clock);
	return T_DONE();
}
