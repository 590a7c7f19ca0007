/* alarm.h: alarm rules over probe results, their states, silences, and the notifications
 * they queue on channels (webhook, slack, exec; sent by core/notify.c as internal runs).
 *
 * One instance per (rule, matching probe). Its state machine:
 *
 *   OK --cond--> PENDING --cond held for "for"--> FIRING --cond false resolve_after times--> OK
 *    ^              |                               |  \__ still true after "repeat": remind
 *    +---not cond---+                               +--> (resolved message if send_resolved)
 *
 * What has been told is kept apart ("notified"): a message is due when the state differs from
 * it and no silence covers the instance, so a silence delays rather than loses, and a restart
 * with the saved state sends nothing twice. */
#ifndef ALARM_H
#define ALARM_H

#include <stdint.h>
#include "opts.h"
#include "result.h"
#include "slo.h"

#ifndef OP_ALARM_RULES_MAX
#define OP_ALARM_RULES_MAX 64
#endif
#ifndef OP_ALARM_INSTANCES_MAX
#define OP_ALARM_INSTANCES_MAX 1024
#endif
#ifndef OP_CHANNELS_MAX
#define OP_CHANNELS_MAX 8
#endif
#ifndef OP_NOTIFY_QUEUE
#define OP_NOTIFY_QUEUE 32 /* messages waiting per channel; more drops the oldest */
#endif
#ifndef OP_SILENCES_MAX
#define OP_SILENCES_MAX 16
#endif

enum alarm_when { ALARM_FAILURES, ALARM_AVAILABILITY, ALARM_LATENCY, ALARM_CERT };
enum alarm_state { ALARM_OK, ALARM_PENDING, ALARM_FIRING };
enum notify_kind { NOTIFY_FIRING, NOTIFY_RESOLVED, NOTIFY_TEST };

struct cfg_alarm {
	const char *name;
	const char *probes; /* JSON array of probe names, or NULL */
	const char *groups; /* JSON array of group names, or NULL (neither: every probe) */
	uint8_t when;       /* enum alarm_when */
	uint32_t n, of;     /* failures: n of the last "of" runs */
	double value;       /* availability_below: the floor (latency_above: slo.latency_p) */
	uint64_t max_us;    /* latency_above */
	uint32_t window_min;
	struct slo_target slo; /* window rules: the one window, as an objective */
	uint32_t days;      /* cert_expires_within */
	uint64_t for_us, repeat_us;
	uint32_t resolve_after;
	uint8_t send_resolved;
	uint32_t notify;    /* bit i: channel i */
	int line;
};

/* A maintenance window: weekdays (bit 0 Sunday) and minutes of the day [from, to) in UTC, or
 * until a time; for the alarms in its list (NULL: all). */
struct alarm_silence {
	char alarm[OP_NAME_MAX]; /* "" for every alarm */
	uint8_t weekdays;        /* 0: every day */
	uint16_t from_min, to_min;
	int64_t until_wall_us;   /* > 0: a one-off silence until then (from_min/to_min unused) */
	char comment[64];
};

/* One rule applied to one probe. */
struct alarm_inst {
	uint16_t rule;
	uint32_t probe;       /* index in the config's probes */
	uint8_t state, notified;
	uint64_t bits;        /* the last runs, 1 = failed, newest in bit 0 */
	uint8_t nbits;
	uint32_t clear_streak; /* evaluations in a row with the condition false */
	int64_t since_us;     /* wall: when the current state began */
	int64_t notified_us;  /* wall: the last message sent (or queued) for it */
	double value;         /* what the condition measured last */
	char reason[OP_DETAIL_MAX]; /* the last failure's reason and detail */
	struct slo slo;       /* window rules: minute buckets */
};

struct notify_msg {
	uint8_t kind; /* enum notify_kind */
	uint8_t attempts;
	int64_t since_us;
	double value;
	char alarm[OP_NAME_MAX], probe[OP_NAME_MAX];
	char reason[OP_DETAIL_MAX];
};

/* A channel's queue and counts. */
struct notify_queue {
	struct notify_msg m[OP_NOTIFY_QUEUE];
	uint32_t head, len;
	uint64_t sent, failed, dropped;
};

/* What web threads read (alarm_read). */
struct alarm_pub {
	char alarm[OP_NAME_MAX], probe[OP_NAME_MAX];
	uint8_t state, silenced;
	int64_t since_us;
	double value;
	char reason[OP_DETAIL_MAX];
};
struct channel_pub {
	char name[OP_NAME_MAX];
	uint64_t sent, failed, dropped;
	uint32_t queued;
	struct delivery_state delivery; /* its target is the channel's type */
};

/* ---- the pure state machine (unit-tested on its own) ---- */

/* Feed one evaluation: cond is the rule's condition now. Returns the new state. */
int alarm_step(struct alarm_inst *a, const struct cfg_alarm *r, int cond, int64_t now_us);
/* The message due for a, or -1: a state not yet told (FIRING, or OK after FIRING with
 * send_resolved), or a reminder after "repeat". silenced holds messages back. */
int alarm_due(const struct alarm_inst *a, const struct cfg_alarm *r, int silenced,
	int64_t now_us);
/* Does a silence cover alarm name at wall time now? */
int alarm_silenced(const struct alarm_silence *s, uint32_t n, const char *name, int64_t now_us);
/* The wall clock stepped by d_us: a's times move with it, so "for" and "repeat" count the
 * time that passed, not the step. */
void alarm_shift(struct alarm_inst *a, int64_t d_us);
/* The condition of rule r after result res was added to a (bits and windows updated here). */
int alarm_eval(struct alarm_inst *a, const struct cfg_alarm *r, const struct result *res,
	int64_t now_us);

/* ---- the engine's side (core/alarm.c) ---- */
struct cfg;
struct probe;
/* Instances cfg will have (for sizing), and bytes of their window rings. */
uint32_t alarm_count(const struct cfg *cfg, size_t *ring_bytes);
/* Set up over arena memory: instances, rings, queues; load the state file. */
void alarm_init(const struct cfg *cfg, struct alarm_inst *inst, uint8_t *rings,
	struct notify_queue *queues, struct probe **channels);
/* A probe's result (engine thread). */
void alarm_on_result(uint32_t probe, const struct result *res);
/* A result from before this start (the spool, read back): counted by the probe's failure
 * rules, and by its window rules when windows, without judging or telling anything. */
void alarm_count_past(uint32_t probe, const struct result *res, int windows);
/* Once a second: "for", reminders, silences ending, sending what is queued. */
void alarm_tick(void);
/* The wall clock stepped by d_us (op_clock_step): every instance's times, and the queued
 * messages', move with it. */
void alarm_clock_step(int64_t d_us);
/* Channel i's head message, for its run; NULL when the queue is empty. */
struct notify_msg *alarm_channel_head(uint32_t chan);
/* Channel i's run ended: ok pops the message; a failure schedules another try. */
void alarm_channel_done(uint32_t chan, int ok);
/* Requests from other threads (taken by the engine on wake-up). */
/* A silence asked over the API: 0, OP_ENOENT when it names no alarm, OP_ENOMEM when too many
 * wait. */
int alarm_request_silence(const struct alarm_silence *s);
int alarm_request_test(void);
void alarm_take_requests(void);
/* Window rules' buckets carried over an engine restart (engine.c, slo_keep): the bytes they
 * need, put them, take what k holds for this config's instances. */
size_t alarm_keep_bytes(void);
void alarm_keep_put(struct slo_keep *k);
void alarm_keep_take(const struct slo_keep *k);
/* The engine stops: nothing refers to its config any more. */
void alarm_deinit(void);
/* Copy the published alarms (at most cap; returns how many there are), the channels (*nch, at
 * most OP_CHANNELS_MAX) and the silences (*nsil, at most OP_SILENCES_MAX). Any thread. */
uint32_t alarm_read(struct alarm_pub *out, uint32_t cap, struct channel_pub *ch, uint32_t *nch,
	struct alarm_silence *sil, uint32_t *nsil);

#endif
