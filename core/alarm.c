/* alarm.c: alarm instances over probe results, silences, the state file, and the channels'
 * queues. The state machine and the condition checks at the top are pure (test_alarm.c);
 * the rest is the engine's side: it owns everything below and runs on the engine thread,
 * except the published copy and the request mailbox, which are under plat_lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "alarm.h"
#include "cfg.h"
#include "engine.h"
#include "ev.h"
#include "json.h"
#include "probe.h"
#include "rand.h"
#include "../platform/plat.h"

/* ---- the pure part ---- */

int alarm_step(struct alarm_inst *a, const struct cfg_alarm *r, int cond, int64_t now_us)
{
	switch (a->state) {
	case ALARM_OK:
		if (!cond)
			break;
		a->state = ALARM_PENDING;
		a->since_us = now_us;
		/* fall through: with "for" 0 it fires at once */
		__attribute__((fallthrough));
	case ALARM_PENDING:
		if (!cond) {
			a->state = ALARM_OK;
			a->since_us = now_us;
		} else if (now_us - a->since_us >= (int64_t)r->for_us) {
			a->state = ALARM_FIRING;
			a->since_us = now_us;
			a->clear_streak = 0;
		}
		break;
	case ALARM_FIRING:
		if (cond) {
			a->clear_streak = 0;
		} else if (++a->clear_streak >= (r->resolve_after ? r->resolve_after : 1)) {
			a->state = ALARM_OK;
			a->since_us = now_us;
			a->clear_streak = 0;
		}
		break;
	}
	return a->state;
}

void alarm_shift(struct alarm_inst *a, int64_t d_us)
{
	/* A box that booted with the time of its last shutdown and then had it set by NTP would
	 * otherwise fire a pending alarm at once ("for" looks long over) or, set back, hold it
	 * and every reminder for as long as the clock was wrong. */
	if (a->since_us)
		a->since_us += d_us;
	if (a->notified_us)
		a->notified_us += d_us;
}

int alarm_due(const struct alarm_inst *a, const struct cfg_alarm *r, int silenced,
	int64_t now_us)
{
	if (silenced)
		return -1;
	if (a->state == ALARM_FIRING) {
		if (a->notified != ALARM_FIRING)
			return NOTIFY_FIRING;
		if (r->repeat_us && now_us - a->notified_us >= (int64_t)r->repeat_us)
			return NOTIFY_FIRING; /* a reminder */
		return -1;
	}
	return a->notified == ALARM_FIRING ? NOTIFY_RESOLVED : -1;
}

int alarm_silenced(const struct alarm_silence *s, uint32_t n, const char *name, int64_t now_us)
{
	int64_t t = now_us / 1000000;
	int weekday = (int)((t / 86400 + 4) % 7); /* 1970-01-01 was a Thursday; 0 is Sunday */
	int minute = (int)(t % 86400 / 60);
	for (uint32_t i = 0; i < n; i++) {
		if (s[i].alarm[0] && strcmp(s[i].alarm, name))
			continue;
		if (s[i].until_wall_us) {
			if (now_us < s[i].until_wall_us)
				return 1;
			continue;
		}
		if (s[i].weekdays && !(s[i].weekdays & (1u << weekday)))
			continue;
		int in = s[i].from_min <= s[i].to_min ?
			minute >= s[i].from_min && minute < s[i].to_min :
			minute >= s[i].from_min || minute < s[i].to_min; /* across midnight */
		if (in)
			return 1;
	}
	return 0;
}

/* A run into what a rule counts: the last 64 runs' failures, a window rule's window. */
static void count_run(struct alarm_inst *a, const struct cfg_alarm *r, const struct result *res,
	int windows)
{
	a->bits = a->bits << 1 | !res->ok;
	if (a->nbits < 64)
		a->nbits++;
	if (windows && (r->when == ALARM_AVAILABILITY || r->when == ALARM_LATENCY))
		slo_add_result(&a->slo, res);
}

int alarm_eval(struct alarm_inst *a, const struct cfg_alarm *r, const struct result *res,
	int64_t now_us)
{
	count_run(a, r, res, 1);
	if (!res->ok)
		snprintf(a->reason, sizeof a->reason, "%s%s%s", reason_label(res->reason),
			res->detail[0] ? ": " : "", res->detail);
	switch (r->when) {
	case ALARM_FAILURES: {
		uint64_t mask = r->of >= 64 ? ~0ull : (1ull << r->of) - 1;
		int failed = __builtin_popcountll(a->bits & mask);
		a->value = failed;
		return failed >= (int)r->n;
	}
	case ALARM_AVAILABILITY:
	case ALARM_LATENCY: {
		struct slo_view v;
		slo_view(&a->slo, 0, &v);
		if (!v.total)
			return 0;
		if (r->when == ALARM_AVAILABILITY) {
			a->value = v.availability;
			return v.availability < r->value;
		}
		a->value = v.latency_q_s;
		return v.fast_ratio < r->slo.latency_p;
	}
	default: /* ALARM_CERT */
		if (!res->cert_expiry)
			return a->state != ALARM_OK; /* no certificate seen this time: no news */
		a->value = result_cert_days(res, now_us);
		if (a->value < r->days)
			snprintf(a->reason, sizeof a->reason, "the certificate expires in %.1f days",
				a->value);
		return a->value < r->days;
	}
}

/* ---- the engine's side ---- */

static struct {
	const struct cfg *cfg;
	struct alarm_inst *inst;
	uint32_t n;
	struct notify_queue *q;
	struct probe **chan;
	struct alarm_silence sil[OP_SILENCES_MAX]; /* the config's, then the API's */
	uint32_t nsil, ncfg_sil;
	char path[512];
	int dirty;
	struct alarm_pub *pub; /* published: under plat_lock */
	uint32_t npub;
	struct channel_pub cpub[OP_CHANNELS_MAX];
	uint32_t ncpub;
	struct alarm_silence psil[OP_SILENCES_MAX];
	uint32_t npsil;
	struct alarm_silence req[4]; /* requests from web threads: under plat_lock */
	uint32_t nreq;
	int req_test;
} A;

static const char *probe_name(uint32_t i)
{
	return A.cfg->probes[i].name;
}

/* Does JSON array text list name? */
static int listed(const char *array, const char *name)
{
	char q[OP_NAME_MAX + 4];
	snprintf(q, sizeof q, "\"%s\"", name);
	return array && strstr(array, q) != NULL;
}

static int matches(const struct cfg_alarm *r, const struct cfg_probe *p)
{
	if (!r->probes && !r->groups)
		return 1;
	if (listed(r->probes, p->name))
		return 1;
	if (r->groups) {
		/* a probe's groups are a JSON array too: look for each of the rule's in it */
		const char *g = r->groups;
		while ((g = strchr(g, '"'))) {
			const char *end = strchr(g + 1, '"');
			if (!end)
				break;
			char name[OP_NAME_MAX];
			snprintf(name, sizeof name, "%.*s", (int)(end - g - 1), g + 1);
			if (listed(p->groups, name))
				return 1;
			g = end + 1;
		}
	}
	return 0;
}

uint32_t alarm_count(const struct cfg *cfg, size_t *ring_bytes)
{
	uint32_t n = 0;
	size_t bytes = 0;
	for (uint32_t r = 0; r < cfg->nalarms; r++) {
		for (uint32_t p = 0; p < cfg->nprobes; p++) {
			if (matches(&cfg->alarms[r], &cfg->probes[p])) {
				n++;
				bytes += slo_ring_bytes(&cfg->alarms[r].slo);
			}
		}
	}
	if (ring_bytes)
		*ring_bytes = bytes;
	return n;
}

/* The state as text: one line per instance that is not quiet, and the API's silences. It is
 * the state file, and what a reload goes on from. */
static size_t state_text(char *buf, size_t cap)
{
	size_t w = (size_t)snprintf(buf, cap, "outpost-alarms 1\n");
	for (uint32_t i = 0; i < A.n && w < cap - 300; i++) {
		const struct alarm_inst *a = &A.inst[i];
		if (a->state == ALARM_OK && a->notified == ALARM_OK)
			continue;
		w += (size_t)snprintf(buf + w, cap - w, "i %s %s %d %d %lld %lld %llx %u\n",
			A.cfg->alarms[a->rule].name, probe_name(a->probe), a->state, a->notified,
			(long long)a->since_us, (long long)a->notified_us, (unsigned long long)a->bits,
			a->nbits);
	}
	for (uint32_t i = A.ncfg_sil; i < A.nsil && w < cap - 200; i++)
		w += (size_t)snprintf(buf + w, cap - w, "s %lld %s %s\n",
			(long long)A.sil[i].until_wall_us, A.sil[i].alarm[0] ? A.sil[i].alarm : "*",
			A.sil[i].comment[0] ? A.sil[i].comment : "-");
	return w;
}

/* The state when the last engine stopped: the next one (a reload) goes on from it, with or
 * without state_dir. Else a reload found every alarm at ok, paged again for one that was
 * firing, and forgot the API's silences. */
static char kept[PLAT_DISK_JOB_BYTES];
static size_t kept_len;
/* And the channels' queues, by name: what was not yet delivered (counted as told) goes out
 * from the next engine, rather than being lost; the counts go on too. */
static struct kept_queue {
	char name[OP_NAME_MAX];
	struct notify_queue q;
} *kept_q;
static uint32_t kept_nq;

static void save(void)
{
	A.dirty = 0;
	if (!A.path[0])
		return;
	static char buf[PLAT_DISK_JOB_BYTES];
	size_t w = state_text(buf, sizeof buf);
	/* by the disk worker: an incident flips many alarms at once, and each flip is a save
	 * that a worn card could hold for a second */
	if (plat_disk_replace(A.path, buf, w) != 0)
		fprintf(stderr, "outpost: cannot write the alarm state to %s\n", A.path);
}

/* The state of a reload's engine before, or else of the state file. */
static void load(void)
{
	static char buf[65536];
	if (kept_len) {
		memcpy(buf, kept, kept_len);
		buf[kept_len] = 0;
		kept_len = 0;
	} else if (!A.path[0] || plat_file_read(A.path, buf, sizeof buf) <= 0) {
		return;
	}
	char *line = buf, *next;
	for (; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		char rule[OP_NAME_MAX], probe[OP_NAME_MAX];
		int state, notified;
		long long since, told;
		unsigned long long bits = 0;
		unsigned nbits = 0;
		if (sscanf(line, "i %63s %63s %d %d %lld %lld %llx %u", rule, probe, &state, &notified,
			&since, &told, &bits, &nbits) >= 6) {
			for (uint32_t i = 0; i < A.n; i++) {
				struct alarm_inst *a = &A.inst[i];
				if (strcmp(A.cfg->alarms[a->rule].name, rule) || strcmp(probe_name(a->probe),
					probe))
					continue;
				/* a torn or edited file must not leave a state the machine has no way out of */
				a->state = (uint8_t)(state >= ALARM_OK && state <= ALARM_FIRING ? state :
					ALARM_OK);
				a->notified = (uint8_t)(notified == ALARM_FIRING ? ALARM_FIRING : ALARM_OK);
				a->since_us = since;
				a->notified_us = told;
				a->bits = bits; /* the last runs, so N of M goes on where it was */
				a->nbits = (uint8_t)OP_MIN(nbits, 64);
			}
			continue;
		}
		struct alarm_silence s = {0};
		long long until;
		char who[OP_NAME_MAX], comment[64];
		if (sscanf(line, "s %lld %63s %63[^\n]", &until, who, comment) == 3 &&
			until > plat_wall_us() && A.nsil < OP_SILENCES_MAX) {
			s.until_wall_us = until;
			op_strlcpy(s.alarm, strcmp(who, "*") ? who : "", sizeof s.alarm);
			op_strlcpy(s.comment, strcmp(comment, "-") ? comment : "", sizeof s.comment);
			A.sil[A.nsil++] = s;
		}
	}
}

static void publish(void)
{
	int64_t now = plat_wall_us();
	plat_lock();
	A.npub = A.n;
	for (uint32_t i = 0; i < A.n; i++) {
		const struct alarm_inst *a = &A.inst[i];
		const struct cfg_alarm *r = &A.cfg->alarms[a->rule];
		struct alarm_pub *p = &A.pub[i];
		op_strlcpy(p->alarm, r->name, sizeof p->alarm);
		op_strlcpy(p->probe, probe_name(a->probe), sizeof p->probe);
		p->state = a->state;
		p->since_us = a->since_us;
		p->value = a->value;
		p->silenced = (uint8_t)alarm_silenced(A.sil, A.nsil, r->name, now);
		op_strlcpy(p->reason, a->reason, sizeof p->reason);
	}
	for (uint32_t c = 0; c < A.cfg->nchannels; c++) {
		struct channel_pub *cp = &A.cpub[c];
		op_strlcpy(cp->name, A.cfg->channels[c].name, sizeof cp->name);
		cp->sent = A.q[c].sent;
		cp->failed = A.q[c].failed;
		cp->dropped = A.q[c].dropped;
		cp->queued = A.q[c].len;
		stats_delivery(&A.chan[c]->stats, A.chan[c]->cfg->target, &cp->delivery);
	}
	A.ncpub = A.cfg->nchannels;
	memcpy(A.psil, A.sil, sizeof A.sil[0] * A.nsil);
	A.npsil = A.nsil;
	plat_unlock();
}

void alarm_init(const struct cfg *cfg, struct alarm_inst *inst, uint8_t *rings,
	struct notify_queue *queues, struct probe **channels)
{
	plat_lock();
	A.npub = 0; /* the old instances' names go with the old config */
	plat_unlock();
	A.cfg = cfg;
	A.inst = inst;
	A.q = queues;
	A.chan = channels;
	A.n = 0;
	A.dirty = 0;
	for (uint32_t k = 0; k < kept_nq; k++)
		for (uint32_t c = 0; c < cfg->nchannels; c++)
			if (!strcmp(cfg->channels[c].name, kept_q[k].name))
				A.q[c] = kept_q[k].q;
	plat_free(kept_q);
	kept_q = NULL;
	kept_nq = 0;
	size_t off = 0;
	for (uint32_t r = 0; r < cfg->nalarms; r++) {
		for (uint32_t p = 0; p < cfg->nprobes; p++) {
			if (!matches(&cfg->alarms[r], &cfg->probes[p]))
				continue;
			struct alarm_inst *a = &inst[A.n++];
			memset(a, 0, sizeof *a);
			a->rule = (uint16_t)r;
			a->probe = p;
			a->since_us = plat_wall_us();
			if (cfg->alarms[r].slo.nwin) {
				slo_init(&a->slo, &cfg->alarms[r].slo, (struct slo_bucket *)(void *)(rings +
					off));
				off += slo_ring_bytes(&cfg->alarms[r].slo);
			}
		}
	}
	memcpy(A.sil, cfg->silences, sizeof A.sil[0] * cfg->nsilences);
	A.nsil = A.ncfg_sil = cfg->nsilences;
	A.path[0] = 0;
	if (cfg->state_dir && cfg->state_dir[0])
		snprintf(A.path, sizeof A.path, "%s/alarms.state", cfg->state_dir);
	load();
	/* the published copy: allocated here, at start-up */
	free(A.pub);
	A.pub = calloc(A.n ? A.n : 1, sizeof *A.pub);
	publish();
}

static void kick(uint32_t c)
{
	if (A.q[c].len)
		engine_run_internal(A.chan[c]);
}

static void queue(uint32_t c, int kind, const char *alarm, const char *probe, int64_t since,
	double value, const char *reason)
{
	struct notify_queue *q = &A.q[c];
	if (q->len == OP_NOTIFY_QUEUE) {
		/* full (the channel has been down a long time): the oldest message goes; but while
		 * the oldest is on its way, the one after it does (the run's end pops the head, and
		 * its slot is about to take the new message): the head moves into that place */
		uint32_t next = (q->head + 1) % OP_NOTIFY_QUEUE;
		if (A.chan[c]->run)
			q->m[next] = q->m[q->head];
		q->head = next;
		q->len--;
		q->dropped++;
	}
	struct notify_msg *m = &q->m[(q->head + q->len) % OP_NOTIFY_QUEUE];
	memset(m, 0, sizeof *m);
	m->kind = (uint8_t)kind;
	m->since_us = since;
	m->value = value;
	op_strlcpy(m->alarm, alarm, sizeof m->alarm);
	op_strlcpy(m->probe, probe, sizeof m->probe);
	op_strlcpy(m->reason, reason, sizeof m->reason);
	q->len++;
	kick(c);
}

/* Tell what is due about a. */
static void dispatch(struct alarm_inst *a, int64_t now)
{
	const struct cfg_alarm *r = &A.cfg->alarms[a->rule];
	int kind = alarm_due(a, r, alarm_silenced(A.sil, A.nsil, r->name, now), now);
	if (kind < 0)
		return;
	a->notified = kind == NOTIFY_FIRING ? ALARM_FIRING : ALARM_OK;
	a->notified_us = now;
	A.dirty = 1;
	if (kind == NOTIFY_RESOLVED && !r->send_resolved)
		return;
	for (uint32_t c = 0; c < A.cfg->nchannels; c++)
		if (r->notify & (1u << c))
			queue(c, kind, r->name, probe_name(a->probe), a->since_us, a->value, a->reason);
}

void alarm_count_past(uint32_t probe, const struct result *res, int windows)
{
	for (uint32_t i = 0; i < A.n; i++)
		if (A.inst[i].probe == probe)
			count_run(&A.inst[i], &A.cfg->alarms[A.inst[i].rule], res, windows);
}

void alarm_on_result(uint32_t probe, const struct result *res)
{
	int64_t now = plat_wall_us();
	int changed = 0;
	for (uint32_t i = 0; i < A.n; i++) {
		struct alarm_inst *a = &A.inst[i];
		if (a->probe != probe)
			continue;
		const struct cfg_alarm *r = &A.cfg->alarms[a->rule];
		int before = a->state;
		alarm_step(a, r, alarm_eval(a, r, res, now), now);
		if (a->state != before)
			A.dirty = changed = 1;
		dispatch(a, now);
	}
	if (A.dirty)
		save();
	if (changed)
		publish();
}

static void inst_key(char *out, size_t cap, const struct alarm_inst *a)
{
	snprintf(out, cap, "alarm\n%s\n%s", A.cfg->alarms[a->rule].name, probe_name(a->probe));
}

size_t alarm_keep_bytes(void)
{
	char key[2 * OP_NAME_MAX + 8];
	size_t n = 0;
	for (uint32_t i = 0; A.cfg && i < A.n; i++) {
		inst_key(key, sizeof key, &A.inst[i]);
		n += A.inst[i].slo.nring ? slo_keep_bytes(&A.inst[i].slo, key) : 0;
	}
	return n;
}

void alarm_keep_put(struct slo_keep *k)
{
	char key[2 * OP_NAME_MAX + 8];
	for (uint32_t i = 0; A.cfg && i < A.n; i++) {
		inst_key(key, sizeof key, &A.inst[i]);
		slo_keep_put(k, key, &A.inst[i].slo);
	}
}

void alarm_keep_take(const struct slo_keep *k)
{
	char key[2 * OP_NAME_MAX + 8];
	for (uint32_t i = 0; A.cfg && i < A.n; i++) {
		inst_key(key, sizeof key, &A.inst[i]);
		slo_keep_take(k, key, &A.inst[i].slo);
	}
}

void alarm_deinit(void)
{
	kept_len = A.cfg ? state_text(kept, sizeof kept) : 0;
	plat_free(kept_q);
	kept_nq = 0;
	kept_q = A.cfg && A.cfg->nchannels ? plat_alloc(sizeof *kept_q * A.cfg->nchannels) : NULL;
	for (uint32_t c = 0; kept_q && c < A.cfg->nchannels; c++) {
		op_strlcpy(kept_q[c].name, A.cfg->channels[c].name, sizeof kept_q[c].name);
		kept_q[c].q = A.q[c];
		kept_nq++;
	}
	if (A.path[0] && plat_disk_drain(10000) != 0)
		fprintf(stderr, "outpost: the alarm state is not on the disk after 10 s\n");
	plat_lock();
	A.npub = A.ncpub = A.npsil = 0;
	plat_unlock();
	A.cfg = NULL;
	A.n = 0;
}

void alarm_tick(void)
{
	if (!A.cfg)
		return;
	int64_t now = plat_wall_us();
	alarm_take_requests();
	for (uint32_t i = 0; i < A.n; i++) {
		struct alarm_inst *a = &A.inst[i];
		const struct cfg_alarm *r = &A.cfg->alarms[a->rule];
		if (a->state == ALARM_PENDING && alarm_step(a, r, 1, now) == ALARM_FIRING)
			A.dirty = 1; /* "for" ran out since the last result */
		dispatch(a, now); /* reminders, and what a silence held back */
	}
	for (uint32_t c = 0; A.cfg && c < A.cfg->nchannels; c++)
		kick(c);
	if (A.dirty)
		save();
	publish();
}

void alarm_clock_step(int64_t d_us)
{
	if (!A.cfg)
		return;
	for (uint32_t i = 0; i < A.n; i++)
		alarm_shift(&A.inst[i], d_us);
	for (uint32_t c = 0; c < A.cfg->nchannels; c++)
		for (uint32_t k = 0; k < A.q[c].len; k++)
			A.q[c].m[(A.q[c].head + k) % OP_NOTIFY_QUEUE].since_us += d_us;
	A.dirty = 1;
	save();
	publish();
}

struct notify_msg *alarm_channel_head(uint32_t c)
{
	return A.q[c].len ? &A.q[c].m[A.q[c].head] : NULL;
}

void alarm_channel_done(uint32_t c, int ok)
{
	struct notify_queue *q = &A.q[c];
	if (!q->len)
		return;
	if (ok) {
		q->sent++;
		A.chan[c]->not_before_us = 0;
	} else {
		struct notify_msg *m = &q->m[q->head];
		q->failed++;
		if (++m->attempts < 6) {
			/* 2 s, 4 s, ... 32 s */
			A.chan[c]->not_before_us = op_loop.now_us + op_backoff_us(m->attempts, 1000000,
				32000000);
			return;
		}
		q->dropped++;
	}
	q->head = (q->head + 1) % OP_NOTIFY_QUEUE;
	q->len--;
}

int alarm_request_silence(const struct alarm_silence *s)
{
	plat_lock();
	/* a name must be an alarm's, as in the config: a typo must not leave the real one paging */
	int known = !s->alarm[0];
	for (uint32_t i = 0; i < A.npub && !known; i++)
		known = !strcmp(A.pub[i].alarm, s->alarm);
	int rc = !known ? OP_ENOENT : A.nreq < OP_ARRAY_LEN(A.req) ? 0 : OP_ENOMEM;
	if (rc == 0)
		A.req[A.nreq++] = *s;
	plat_unlock();
	if (rc == 0)
		plat_wake();
	return rc;
}

int alarm_request_test(void)
{
	plat_lock();
	A.req_test = 1;
	plat_unlock();
	plat_wake();
	return 0;
}

void alarm_take_requests(void)
{
	struct alarm_silence req[4];
	plat_lock();
	uint32_t n = A.nreq;
	int test = A.req_test;
	memcpy(req, A.req, sizeof req[0] * n);
	A.nreq = 0;
	A.req_test = 0;
	plat_unlock();
	if (!A.cfg)
		return;
	for (uint32_t i = 0; i < n; i++) {
		/* a full table drops the silence that ends first */
		if (A.nsil == OP_SILENCES_MAX) {
			uint32_t first = A.ncfg_sil;
			for (uint32_t k = A.ncfg_sil; k < A.nsil; k++)
				if (A.sil[k].until_wall_us < A.sil[first].until_wall_us)
					first = k;
			if (first >= A.nsil)
				continue;
			A.sil[first] = A.sil[--A.nsil];
		}
		A.sil[A.nsil++] = req[i];
		A.dirty = 1;
	}
	if (A.dirty)
		save(); /* the API said the silence is in force: it is kept from now on */
	if (test)
		for (uint32_t c = 0; c < A.cfg->nchannels; c++)
			queue(c, NOTIFY_TEST, "test", "-", plat_wall_us(), 0,
				"a test message from POST /api/v1/notify/test");
	if (n || test)
		publish();
}

uint32_t alarm_read(struct alarm_pub *out, uint32_t cap, struct channel_pub *ch, uint32_t *nch,
	struct alarm_silence *sil, uint32_t *nsil)
{
	plat_lock();
	uint32_t n = OP_MIN(A.npub, cap);
	if (n)
		memcpy(out, A.pub, sizeof *out * n);
	uint32_t total = A.npub;
	*nch = A.ncpub;
	memcpy(ch, A.cpub, sizeof *ch * *nch);
	*nsil = A.npsil;
	memcpy(sil, A.psil, sizeof *sil * A.npsil);
	plat_unlock();
	return total;
}
