/* engine.c: start-up reservation, the scheduler, the run lifecycle and the snapshot.
 *
 * Scheduling: each probe has a tick timer at its due time. Probes sharing an interval are
 * spread evenly over it (one slot each, a random point inside the slot), and every later run
 * is due exactly one interval after the previous due time, so there is no drift. A probe still
 * running when it is due again is skipped and counted, never run twice at once. When every run
 * slot is busy, due probes wait in a FIFO and the delay shows up as scheduling lag. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "engine.h"
#include "alarm.h"
#include "export.h"
#include "inflate.h"
#include "spool.h"
#include "logstore.h"
#include "rand.h"
#include "snap.h"
#include "tls.h"

static struct {
	const struct cfg *cfg;
	struct engine_opts opts;
	uint8_t *arena;
	size_t arena_bytes;
	struct probe **probes; /* by id */
	uint8_t *slo_rings;    /* the objective rings, probe after probe */
	void **kstate;         /* each probe's between-run state, or NULL */
	struct log_entry *logs;
	struct alarm_inst *alarms;
	uint8_t *alarm_rings;
	struct notify_queue *queues;
	struct probe *chan;    /* notification channels: internal probes */
	struct probe *chan_ptr[OP_CHANNELS_MAX];
	struct probe *sink;    /* export sinks: internal probes */
	struct probe *sink_ptr[SPOOL_SINKS_MAX];
	uint8_t *sink_bufs;
	uint32_t nprobes;
	struct probe *wait_head, *wait_tail;
	uint32_t inflight, waiting, once_left;
	struct ev_timer drain, tick;
	struct op_clock clock; /* the wall clock against the monotonic one, for its steps */
	struct ev_io sig;
	struct loghist lag;
	uint64_t runs_started, skipped;
	struct ev_timer grace; /* a stop's deadline for the runs in progress */
	int draining;          /* stopping: no new runs, waiting for those in progress */
	int settling;          /* before a reload: the same, for a shorter time (engine_settle) */
	int reload_again;      /* a reload was asked while settling */
	uint32_t drained, interrupted; /* runs that ended in the grace period / were cut */
	/* heap allocations while the loop ran: earlier runs' sum, and the count at this entry */
	uint64_t allocs_before, allocs_at_entry;
	int exit_code; /* -1 while running */
	int running;
} E;

/* Ad-hoc runs asked for by other threads (OP_ADHOC_MAX: opts.h); guarded by plat_lock,
 * outside the arena so a reload can finish them. */
enum { ADHOC_FREE, ADHOC_QUEUED, ADHOC_RUNNING, ADHOC_DONE };
static struct {
	const struct cfg_probe *cp; /* a one-off probe, or NULL: */
	char name[OP_NAME_MAX];     /* ... run this configured probe now */
	struct result res;
	struct cert_id cert; /* the leaf certificate the run was shown, when has_cert */
	uint8_t has_cert;
	int state, err;
} adhoc[OP_ADHOC_MAX];
static int adhoc_open; /* the engine takes requests */
static int adhoc_slots; /* engine_adhoc_slots */
static int adhoc_hi;    /* the most slots ever allowed: no slot past it was used */
static struct probe adhoc_probe[OP_ADHOC_MAX];

/* The published snapshot lives outside the arena so it stays readable across a reload. */
static struct {
	struct snap_app app;
	struct snap_probe *probes;
	struct result *hist; /* cap rings of hist_cap results; survives reloads */
	uint32_t cap, hist_cap;
	uint64_t reloads, reload_failures;
	uint64_t reloads_begun; /* reloads the engine started on (a reload signal taken) */
	int64_t reload_wall_us;
	char reload_error[256];
	struct cfg_module modules[OP_MAX_MODULES]; /* strings in module_text */
	char *module_text;
	uint32_t nmodules;
} S;

int snap_module(const char *name, struct cfg_module *m, char *buf, size_t cap)
{
	int rc = OP_ENOENT;
	plat_lock();
	for (uint32_t i = 0; i < S.nmodules; i++) {
		const struct cfg_module *s = &S.modules[i];
		if (strcmp(s->name, name))
			continue;
		size_t nl = strlen(s->name) + 1, kl = strlen(s->kind) + 1, ml = strlen(s->members) + 1;
		rc = OP_ETOOBIG;
		if (nl + kl + ml > cap)
			break;
		memcpy(buf, s->name, nl);
		memcpy(buf + nl, s->kind, kl);
		memcpy(buf + nl + kl, s->members, ml);
		*m = (struct cfg_module){buf, buf + nl, buf + nl + kl, s->timeout_us};
		rc = 0;
		break;
	}
	plat_unlock();
	return rc;
}

/* Copy cfg's module templates into the snapshot (start-up and reload only). */
static int snap_modules(const struct cfg *cfg)
{
	size_t need = 1;
	for (uint32_t i = 0; i < cfg->nmodules; i++)
		need += strlen(cfg->modules[i].name) + strlen(cfg->modules[i].kind) +
			strlen(cfg->modules[i].members) + 3;
	char *text = plat_alloc(need), *w = text;
	if (!text)
		return OP_ENOMEM;
	struct cfg_module mods[OP_MAX_MODULES];
	for (uint32_t i = 0; i < cfg->nmodules; i++) {
		const struct cfg_module *m = &cfg->modules[i];
		mods[i].timeout_us = m->timeout_us;
		const char *src[3] = {m->name, m->kind, m->members};
		const char **dst[3] = {&mods[i].name, &mods[i].kind, &mods[i].members};
		for (int k = 0; k < 3; k++) {
			size_t l = strlen(src[k]) + 1;
			memcpy(w, src[k], l);
			*dst[k] = w;
			w += l;
		}
	}
	plat_lock();
	char *old = S.module_text;
	S.module_text = text;
	memcpy(S.modules, mods, sizeof mods[0] * cfg->nmodules);
	S.nmodules = cfg->nmodules;
	plat_unlock();
	plat_free(old);
	return 0;
}

/* The last reload's outcome into a. Under plat_lock. */
static void reload_outcome(struct snap_app *a)
{
	a->reloads = S.reloads;
	a->reload_failures = S.reload_failures;
	a->reload_wall_us = S.reload_wall_us;
	op_strlcpy(a->reload_error, S.reload_error, sizeof a->reload_error);
}

/* ---- snapshot ---- */

uint32_t snap_read(struct snap *dst, uint32_t cap)
{
	plat_lock();
	dst->app = S.app;
	uint32_t n = S.app.nprobes;
	if (dst->probes && S.probes)
		memcpy(dst->probes, S.probes, sizeof *S.probes * OP_MIN(n, cap));
	plat_unlock();
	return n;
}

static void publish_app(void)
{
	plat_lock();
	struct snap_app a = S.app;
	plat_unlock();
	a.heartbeat_us = plat_now_us();
	for (int i = 0; i < POOL_COUNT; i++) {
		const struct pool *p = &op_pools[i];
		a.pools[i] = (struct snap_pool){p->name, p->help, p->used, p->max_used, p->cap, p->fails};
	}
	a.nprobes = E.nprobes;
	a.inflight = E.inflight;
	a.waiting = E.waiting;
	a.lag_p50_us = loghist_quantile(&E.lag, 0.5);
	a.lag_p99_us = loghist_quantile(&E.lag, 0.99);
	a.lag_max_us = E.lag.max_us;
	a.lag_sum_us = E.lag.sum_us;
	a.lag_count = E.lag.count;
	a.runs_started = E.runs_started;
	a.skipped = E.skipped;
	a.engine_allocs = E.allocs_before +
		(E.running ? plat_engine_allocs() - E.allocs_at_entry : 0);
	a.arena_bytes = E.arena_bytes;
	tls_arena_stats(&a.tls_arena_bytes, &a.tls_arena_peak);
	a.rss_bytes = plat_rss_bytes();
	a.disk_max_us = plat_disk_stats(&a.disk_pending);
	plat_lock();
	reload_outcome(&a);
	S.app = a;
	plat_unlock();
}

void engine_note_reload(const char *err)
{
	plat_lock();
	if (err)
		S.reload_failures++;
	else
		S.reloads++;
	S.reload_wall_us = plat_wall_us();
	op_strlcpy(S.reload_error, err ? err : "", sizeof S.reload_error);
	reload_outcome(&S.app);
	plat_cond_broadcast(); /* engine_reload_wait */
	plat_unlock();
}

/* The ring of probe i in the history h of hist_cap results per probe. */
static struct result *ring(struct result *h, uint32_t hist_cap, uint32_t i)
{
	return h + (size_t)i * hist_cap;
}

int snap_history(const char *name, int64_t since_wall_us, struct result *out, uint32_t cap)
{
	int n = OP_ENOENT;
	plat_lock();
	for (uint32_t i = 0; i < S.app.nprobes; i++) {
		const struct snap_probe *p = &S.probes[i];
		if (strcmp(p->name, name))
			continue;
		const struct result *h = ring(S.hist, S.hist_cap, i);
		n = 0;
		for (uint32_t k = 0; k < p->hist_len && (uint32_t)n < cap; k++) {
			const struct result *r = &h[(p->hist_head + S.hist_cap - 1 - k) % S.hist_cap];
			if (r->wall_us < since_wall_us)
				break;
			out[n++] = *r;
		}
		break;
	}
	plat_unlock();
	return n;
}

/* Size the published snapshot for cfg and fill its fixed parts (start-up and reload only). A
 * probe that keeps its name, kind and target across a reload keeps its counters and history. */
static int snap_prepare(const struct cfg *cfg)
{
	uint32_t cap = cfg->max_probes, hcap = cfg->history;
	struct snap_probe *fresh = plat_alloc(sizeof *fresh * cap);
	struct result *hist = plat_alloc(sizeof *hist * cap * hcap);
	if (!fresh || !hist) {
		plat_free(fresh);
		plat_free(hist);
		return OP_ENOMEM;
	}
	/* touch every page now: the memory is the appliance's from start-up, and its resident
	 * size stays flat instead of creeping up as the rings fill */
	memset(fresh, 0, sizeof *fresh * cap);
	memset(hist, 0, sizeof *hist * cap * hcap);
	plat_lock();
	for (uint32_t i = 0; i < cfg->nprobes; i++) {
		const struct cfg_probe *cp = &cfg->probes[i];
		struct snap_probe *sp = &fresh[i];
		op_strlcpy(sp->name, cp->name, sizeof sp->name);
		op_strlcpy(sp->kind, cp->kind, sizeof sp->kind);
		op_strlcpy(sp->target, cp->target, sizeof sp->target);
		op_strlcpy(sp->service, cp->service, sizeof sp->service);
		op_strlcpy(sp->groups, strlen(cp->groups) < sizeof sp->groups ? cp->groups : "[]",
			sizeof sp->groups);
		sp->interval_us = cp->interval_us;
		sp->timeout_us = cp->timeout_us;
		sp->objective = cp->objective;
		for (int w = 0; w < cp->objective.nwin; w++)
			sp->slo[w] = (struct slo_view){.availability = 1, .fast_ratio = 1,
				.budget_remaining = 1, .met = 1};
		for (uint32_t j = 0; S.probes && j < S.app.nprobes; j++) {
			const struct snap_probe *old = &S.probes[j];
			if (strcmp(old->name, sp->name) || strcmp(old->kind, sp->kind) ||
				strcmp(old->target, sp->target))
				continue;
			sp->stats = old->stats;
			sp->due_us = old->due_us; /* its schedule goes on (engine_init) */
			/* the newest results, oldest first, into the new ring */
			uint32_t keep = OP_MIN(old->hist_len, hcap);
			const struct result *oh = ring(S.hist, S.hist_cap, j);
			for (uint32_t k = 0; k < keep; k++)
				ring(hist, hcap, i)[k] = oh[(old->hist_head + S.hist_cap - keep + k) %
					S.hist_cap];
			sp->hist_len = keep;
			sp->hist_head = keep % hcap;
			break;
		}
	}
	struct snap_probe *old_probes = S.probes;
	struct result *old_hist = S.hist;
	S.probes = fresh;
	S.hist = hist;
	S.cap = cap;
	S.hist_cap = hcap;
	struct snap_app *a = &S.app;
	/* the heartbeat goes on across a reload; at start-up it stays 0 until the engine is whole,
	 * so /healthz does not say "ok" before alarms, exports and the API can answer */
	uint64_t beat = a->heartbeat_us;
	memset(a, 0, sizeof *a);
	a->heartbeat_us = beat;
	a->version = op_version;
	a->poller = plat_poll_name();
	op_strlcpy(a->name, cfg->name, sizeof a->name);
	op_strlcpy(a->region, cfg->region, sizeof a->region);
	for (uint32_t i = 0; i < cfg->nlabels; i++) {
		op_strlcpy(a->labels[i][0], cfg->labels[i].key, OP_NAME_MAX);
		op_strlcpy(a->labels[i][1], cfg->labels[i].value, OP_NAME_MAX);
	}
	a->nlabels = cfg->nlabels;
	a->start_wall_us = plat_wall_us();
	a->start_us = plat_now_us();
	a->nprobes = cfg->nprobes;
	a->max_probes = cfg->max_probes;
	a->max_inflight = cfg->max_inflight;
	a->history = cfg->history;
	a->history_bytes = sizeof *hist * cap * hcap;
	op_strlcpy(a->token, cfg->token, sizeof a->token);
	a->basic[0] = 0;
	if (cfg->page_user) {
		char up[200];
		snprintf(up, sizeof up, "%s:%s", cfg->page_user, cfg->page_password);
		op_base64(a->basic, sizeof a->basic, up, strlen(up));
	}
	reload_outcome(a);
	plat_unlock();
	plat_free(old_probes);
	plat_free(old_hist);
	return 0;
}

/* ---- the run lifecycle ---- */

static void drain_waiting(struct ev_timer *t);

static void run_timeout(struct ev_timer *t)
{
	struct probe_run *r = OP_CONTAINER_OF(t, struct probe_run, deadline);
	int phase = r->phase;
	probe_run_done(r, 0, REASON_TIMEOUT, "no result within %llums%s%s",
		(unsigned long long)(r->p->cfg->timeout_us / 1000), phase >= 0 ? " during " : "",
		phase >= 0 ? phase_name(phase) : "");
}

static void adhoc_finish(uint32_t i, const struct result *res, const struct probe *p)
{
	plat_lock();
	adhoc[i].res = *res;
	adhoc[i].has_cert = p && p->stats.has_cert;
	if (adhoc[i].has_cert)
		adhoc[i].cert = p->stats.cert;
	adhoc[i].state = ADHOC_DONE;
	plat_cond_broadcast();
	plat_unlock();
}

/* Probe id's history ring takes res (under plat_lock). */
static void hist_push(uint32_t id, const struct result *res)
{
	struct snap_probe *sp = &S.probes[id];
	ring(S.hist, S.hist_cap, id)[sp->hist_head] = *res;
	sp->hist_head = (sp->hist_head + 1) % S.hist_cap;
	if (sp->hist_len < S.hist_cap)
		sp->hist_len++;
}

static void record(struct probe *p, const struct result *res)
{
	if (p->adhoc) {
		adhoc_finish(p->id, res, p);
		return;
	}
	if (p->internal) {
		/* a delivery (a notification, an export): alarm.c and export.c count it and publish
		 * its last failure, which says why deliveries fail */
		stats_add(&p->stats, res);
		return;
	}
	if (p->now_slot) {
		adhoc_finish(p->now_slot - 1u, res, p);
		p->now_slot = 0;
	}
	if (res->reason == REASON_INTERRUPTED) {
		/* a stop or a reload cut it short: no verdict on the target, so not in its history,
		 * objectives, alarms or exports; only counted */
		uint64_t n = ++p->stats.by_reason[REASON_INTERRUPTED];
		plat_lock();
		S.probes[p->id].stats.by_reason[REASON_INTERRUPTED] = n;
		plat_unlock();
		return;
	}
	stats_add(&p->stats, res);
	struct slo_view views[SLO_MAX_WINDOWS];
	if (p->slo.nring) {
		slo_add_result(&p->slo, res);
		for (int w = 0; w < p->slo.t->nwin; w++)
			slo_view(&p->slo, w, &views[w]);
	}
	plat_lock();
	struct snap_probe *sp = &S.probes[p->id];
	sp->stats = p->stats;
	if (p->slo.nring)
		memcpy(sp->slo, views, sizeof views[0] * p->slo.t->nwin);
	hist_push(p->id, res);
	plat_unlock();
	alarm_on_result(p->id, res);
	export_result(p, res);
}

int probe_run_done(struct probe_run *r, int ok, int reason, const char *fmt, ...)
{
	struct probe *p = r->p;
	struct result res = r->facts;
	res.wall_us = r->wall_us;
	res.ok = (uint8_t)(ok != 0);
	res.reason = (uint8_t)(ok ? REASON_NONE : reason);
	res.detail[0] = 0;
	probe_run_phase(r, -1);
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(res.detail, sizeof res.detail, fmt, ap);
		va_end(ap);
	}
	if (!ok && r->ops->retry && reason != REASON_TIMEOUT && reason != REASON_INTERRUPTED &&
		reason != REASON_CANCELED) {
		if (r->dq)
			dns_query_cancel(r->dq);
		r->dq = NULL;
		net_close(&r->conn);
		if (r->ops->retry(r, reason, res.detail))
			return 0;
	}
	memcpy(res.phase_us, r->phase_us, sizeof res.phase_us);
	res.duration_us = (uint32_t)probe_run_elapsed(r);
	r->facts.reason = res.reason; /* how it ended, for cancel */
	if (r->ops->cancel)
		r->ops->cancel(r);
	probe_cmd_forget(r);
	if (r->dq)
		dns_query_cancel(r->dq);
	net_close(&r->conn);
	ev_timer_cancel(&op_loop, &r->deadline);
	ev_timer_cancel(&op_loop, &r->aux);
	p->run = NULL;
	pool_put(&op_pools[POOL_RUN], r);
	E.inflight--;
	/* an ad-hoc run's config belongs to the thread that asked for it, which may free it the
	 * moment record() hands the result back: nothing after record() reads p->cfg */
	uint64_t rearm = p->adhoc || p->internal || E.opts.once || E.draining ? 0 :
		p->cfg->delay_us;
	record(p, &res);
	if (E.opts.on_result && !p->internal && !p->adhoc)
		E.opts.on_result(p, &res);
	if (rearm)
		ev_timer_at(&op_loop, &p->tick, op_loop.now_us + rearm);
	if (E.wait_head && !ev_timer_armed(&E.drain))
		ev_timer_at(&op_loop, &E.drain, op_loop.now_us);
	if (E.opts.once && !p->adhoc && !p->internal && --E.once_left == 0)
		E.exit_code = ENGINE_ONCE_DONE;
	if (E.draining) {
		if (reason == REASON_INTERRUPTED)
			E.interrupted++;
		else
			E.drained++;
		if (E.inflight == 0)
			E.exit_code = ENGINE_STOP;
	} else if (E.settling && E.inflight == 0) {
		E.exit_code = ENGINE_RELOAD;
	}
	return 0;
}

/* An on-demand run's budget (a scrape's) runs from when it was asked, not from when a run slot
 * freed: one still waiting in the FIFO when it ends fails here, and one that starts late has
 * what is left of it as its timeout (run_start). */
static void adhoc_no_slot(struct ev_timer *t)
{
	struct probe *p = OP_CONTAINER_OF(t, struct probe, tick), *prev = NULL;
	struct probe **pp = &E.wait_head;
	while (*pp && *pp != p) {
		prev = *pp;
		pp = &prev->wait_next;
	}
	if (*pp) { /* (a stop empties the FIFO and leaves its runs to the grace) */
		*pp = p->wait_next;
		if (E.wait_tail == p)
			E.wait_tail = prev;
		E.waiting--;
	}
	p->waiting = 0;
	struct result r = {.wall_us = plat_wall_us(), .reason = REASON_NO_SLOT,
		.duration_us = (uint32_t)p->cfg->timeout_us};
	snprintf(r.detail, sizeof r.detail, "no run slot came free within the timeout (%u run%s "
		"in progress: limits.max_inflight)", E.inflight, OP_S(E.inflight));
	adhoc_finish(p->id, &r, p);
}

/* Start a run of p that was due at due_us; queue p when every run slot is busy. */
static void run_start(struct probe *p, uint64_t due_us)
{
	if (E.settling) {
		/* the next engine starts it, late rather than never */
		if (!p->missed_us)
			p->missed_us = due_us;
		return;
	}
	/* a run slot is sized for the largest kind (40 KB): zero only this kind's part */
	size_t zero = sizeof(struct probe_run) + p->cfg->ops->state_size;
	struct probe_run *r = E.inflight < E.cfg->max_inflight ?
		pool_take(&op_pools[POOL_RUN], zero) : NULL;
	if (!r) {
		p->due_us = due_us;
		p->waiting = 1;
		p->wait_next = NULL;
		if (E.wait_tail)
			E.wait_tail->wait_next = p;
		else
			E.wait_head = p;
		E.wait_tail = p;
		E.waiting++;
		if (p->adhoc) {
			p->tick.cb = adhoc_no_slot;
			ev_timer_at(&op_loop, &p->tick, due_us + p->cfg->timeout_us);
		}
		return;
	}
	r->p = p;
	r->ops = p->cfg->ops;
	net_conn_init(&r->conn);
	r->phase = -1;
	r->deadline.cb = run_timeout;
	r->t0_us = r->mark_us = plat_now_us();
	r->end_us = r->off_us = 0;
	r->wall_us = plat_wall_us();
	loghist_add(&E.lag, r->t0_us > due_us ? r->t0_us - due_us : 0);
	E.runs_started++;
	E.inflight++;
	p->run = r;
	if (p->adhoc)
		ev_timer_cancel(&op_loop, &p->tick);
	ev_timer_at(&op_loop, &r->deadline, (p->adhoc ? due_us : r->t0_us) + p->cfg->timeout_us);
	r->ops->start(r);
}

static void drain_waiting(struct ev_timer *t)
{
	(void)t;
	while (E.wait_head && E.inflight < E.cfg->max_inflight) {
		struct probe *p = E.wait_head;
		E.wait_head = p->wait_next;
		if (!E.wait_head)
			E.wait_tail = NULL;
		p->waiting = 0;
		E.waiting--;
		run_start(p, p->due_us);
	}
}

static void probe_tick(struct ev_timer *t)
{
	struct probe *p = OP_CONTAINER_OF(t, struct probe, tick);
	uint64_t due = t->when_us;
	if (p->run || p->waiting) {
		p->stats.skipped++;
		E.skipped++;
	} else {
		run_start(p, due);
	}
	if (E.opts.once || p->cfg->delay_us)
		return; /* a "delay" probe is rearmed when its run ends */
	/* next due time on the fixed cadence; whole intervals missed (a stalled host) are
	 * skipped rather than run in a burst */
	uint64_t next = due + p->cfg->interval_us;
	if (next <= op_loop.now_us) {
		uint64_t missed = (op_loop.now_us - next) / p->cfg->interval_us + 1;
		next += missed * p->cfg->interval_us;
		p->stats.skipped += missed;
		E.skipped += missed;
	}
	ev_timer_at(&op_loop, &p->tick, next);
}

/* ---- the loop ---- */

/* Slide every objective's windows to this minute and publish what they say. */
static void slo_publish(uint32_t minute)
{
	for (uint32_t i = 0; i < E.nprobes; i++) {
		struct probe *p = E.probes[i];
		if (!p->slo.nring)
			continue;
		struct slo_view views[SLO_MAX_WINDOWS];
		slo_advance(&p->slo, minute);
		for (int w = 0; w < p->slo.t->nwin; w++)
			slo_view(&p->slo, w, &views[w]);
		plat_lock();
		memcpy(S.probes[i].slo, views, sizeof views[0] * p->slo.t->nwin);
		plat_unlock();
	}
}

/* Once a minute, so old runs leave the windows even when a probe stops reporting. */
static void slo_tick(void)
{
	static uint32_t last;
	uint32_t minute = (uint32_t)(plat_wall_us() / 60000000);
	if (minute == last)
		return;
	last = minute;
	slo_publish(minute);
}

/* ---- windows kept across a reload and a restart ----
 * A probe keeps its objective's windows while its name, kind and target are unchanged (as it
 * keeps its counters), and while its latency bound is: the buckets' "fast" counts hold for
 * that bound only; an alarm's window rule, while its name and probe are. Kept in memory across
 * a reload; with state_dir, in state_dir/windows across a stop and a start (what came after
 * the last stop, a power cut's, is counted again from the spool: history_refill). */
static struct slo_keep K;
static int keep_read; /* the file was looked for (once, at the first start) */
static int history_read; /* the spool's results went into the history (the first start) */
static int64_t replay_since_us; /* and those from then on into the windows (keep_restore) */

static void keep_key(char *out, size_t cap, const struct cfg_probe *cp)
{
	snprintf(out, cap, "probe\n%s\n%s\n%s", cp->name, cp->kind, cp->target);
}

/* What kinds keep between runs (a pipeline's event table) goes on across a reload only: it
 * holds monotonic times, which mean nothing to the next process. One record a probe: its
 * keep_key and the kind's bytes, each padded to 8 (a kind reads its bytes in place). */
static struct {
	uint8_t *buf;
	size_t len;
} kinds_kept;

struct kind_rec {
	uint32_t key_len, len;
};

static int kind_keeps(const struct probe *p)
{
	return p->cfg->ops->keep && p->kstate && !p->cfg->disabled;
}

static void kinds_save(void)
{
	char key[OP_NAME_MAX + OP_TARGET_MAX + 32];
	size_t need = 0;
	for (uint32_t i = 0; i < E.nprobes; i++) {
		if (!kind_keeps(E.probes[i]))
			continue;
		keep_key(key, sizeof key, E.probes[i]->cfg);
		need += sizeof(struct kind_rec) + op_pad8(strlen(key)) +
			op_pad8(E.probes[i]->cfg->ops->keep(E.probes[i], NULL, 0));
	}
	plat_free(kinds_kept.buf);
	kinds_kept.len = 0;
	kinds_kept.buf = need ? plat_alloc(need) : NULL;
	for (uint32_t i = 0; kinds_kept.buf && i < E.nprobes; i++) {
		struct probe *p = E.probes[i];
		if (!kind_keeps(p))
			continue;
		keep_key(key, sizeof key, p->cfg);
		struct kind_rec r = {(uint32_t)strlen(key), 0};
		uint8_t *at = kinds_kept.buf + kinds_kept.len;
		memcpy(at + sizeof r, key, r.key_len);
		size_t head = sizeof r + op_pad8(r.key_len);
		r.len = (uint32_t)p->cfg->ops->keep(p, at + head, need - kinds_kept.len - head);
		memcpy(at, &r, sizeof r);
		kinds_kept.len += head + op_pad8(r.len);
	}
}

static void kinds_restore(void)
{
	char key[OP_NAME_MAX + OP_TARGET_MAX + 32];
	for (size_t off = 0; off < kinds_kept.len;) {
		struct kind_rec r;
		memcpy(&r, kinds_kept.buf + off, sizeof r);
		const uint8_t *at = kinds_kept.buf + off + sizeof r;
		for (uint32_t i = 0; i < E.nprobes; i++) {
			if (!kind_keeps(E.probes[i]) || !E.probes[i]->cfg->ops->take)
				continue;
			keep_key(key, sizeof key, E.probes[i]->cfg);
			if (strlen(key) == r.key_len && !memcmp(key, at, r.key_len))
				E.probes[i]->cfg->ops->take(E.probes[i], at + op_pad8(r.key_len), r.len);
		}
		off += sizeof r + op_pad8(r.key_len) + op_pad8(r.len);
	}
	plat_free(kinds_kept.buf);
	kinds_kept.buf = NULL;
	kinds_kept.len = 0;
}

/* Before the arena goes: every window's buckets into K (and the file). */
static void keep_save(void)
{
	if (E.exit_code == ENGINE_RELOAD)
		kinds_save();
	char key[OP_NAME_MAX + OP_TARGET_MAX + 32];
	struct slo_keep k = {0};
	size_t len = slo_keep_start(&k, 0) + alarm_keep_bytes();
	for (uint32_t i = 0; i < E.nprobes; i++) {
		keep_key(key, sizeof key, E.probes[i]->cfg);
		len += E.probes[i]->slo.nring ? slo_keep_bytes(&E.probes[i]->slo, key) : 0;
	}
	plat_free(K.buf);
	K = (struct slo_keep){.buf = plat_alloc(len), .cap = len};
	if (!K.buf)
		return;
	/* rounded up: a result of this second is in the windows, not counted again from the
	 * spool at the next start (see history_refill) */
	slo_keep_start(&K, (uint32_t)((plat_wall_us() + 999999) / 1000000));
	for (uint32_t i = 0; i < E.nprobes; i++) {
		keep_key(key, sizeof key, E.probes[i]->cfg);
		slo_keep_put(&K, key, &E.probes[i]->slo);
	}
	alarm_keep_put(&K);
	/* the file at a stop only: a reload has K, and a worn card need not take a megabyte at
	 * every config change */
	if (E.exit_code != ENGINE_RELOAD && E.cfg->state_dir && E.cfg->state_dir[0]) {
		char path[512];
		snprintf(path, sizeof path, "%s/windows", E.cfg->state_dir);
		if (plat_file_write_atomic(path, K.buf, K.len) != 0)
			fprintf(stderr, "outpost: cannot write %s: objectives' and alarms' windows start "
				"again after a restart\n", path);
	}
}

/* After the probes and alarms are set up: what K (or, at the first start, the file) holds
 * for them. */
static void keep_restore(void)
{
	if (!keep_read && !K.buf && E.cfg->state_dir && E.cfg->state_dir[0]) {
		char path[512];
		snprintf(path, sizeof path, "%s/windows", E.cfg->state_dir);
		int64_t size = plat_file_size(path);
		K.buf = size > 0 ? plat_alloc((size_t)size + 1) : NULL;
		int n = K.buf ? plat_file_read(path, (char *)K.buf, (size_t)size + 1) : -1;
		K.len = n > 0 ? (size_t)n : 0;
	}
	if (!keep_read) {
		/* windows saved at a stop hold the runs until then; after them, the spool's count */
		int64_t saved = slo_keep_saved_s(&K);
		replay_since_us = saved < 0 ? 0 : saved ? saved * 1000000 : INT64_MAX;
	}
	keep_read = 1;
	char key[OP_NAME_MAX + OP_TARGET_MAX + 32];
	for (uint32_t i = 0; i < E.nprobes; i++) {
		keep_key(key, sizeof key, E.probes[i]->cfg);
		slo_keep_take(&K, key, &E.probes[i]->slo);
	}
	alarm_keep_take(&K);
	kinds_restore();
	plat_free(K.buf);
	K = (struct slo_keep){0};
	slo_publish((uint32_t)(plat_wall_us() / 60000000));
}

/* ---- the history from before a restart ----
 * At the first start, the results the spool holds (a restart of the process, or of the box
 * when spool.dir is on disk) go back into the probes' history rings, so the dashboard and
 * the results API go on where they were; into the alarms' failure counts; and, those after
 * the windows saved at the last stop (all of them when none were), into the objectives' and
 * window rules' windows: a power cut loses only the unflushed batch of them too. The newest
 * is each probe's last result (and last failure), with its time, as before the restart: a
 * probe that runs hourly is not unknown for an hour. Counters start again, as a restart's
 * do. The probes are found by name through a table made for the occasion (the spool holds a
 * few hundred thousand records at most). */
struct hist_index {
	uint32_t *slot; /* 1 + probe id, 0 empty; mask + 1 entries */
	uint32_t mask;
	uint64_t read, windows; /* results read back; of them, counted into windows */
};

static uint32_t name_hash(const char *name)
{
	return op_fnv1a(OP_FNV_START, name, strlen(name));
}

static void history_put(void *ctx, const char *name, const char *kind, const char *target,
	const struct result *r)
{
	struct hist_index *x = ctx;
	for (uint32_t h = name_hash(name) & x->mask; x->slot[h]; h = (h + 1) & x->mask) {
		const struct cfg_probe *cp = E.probes[x->slot[h] - 1]->cfg;
		if (strcmp(cp->name, name))
			continue;
		if (!strcmp(cp->kind, kind) && !strcmp(cp->target, target)) {
			uint32_t id = x->slot[h] - 1;
			int windows = r->wall_us >= replay_since_us;
			x->read++;
			x->windows += windows;
			stats_last(&E.probes[id]->stats, r);
			plat_lock();
			hist_push(id, r);
			plat_unlock();
			if (windows)
				slo_add_result(&E.probes[id]->slo, r);
			alarm_count_past(id, r, windows);
		}
		return;
	}
}

static void history_refill(void)
{
	struct hist_index x = {0};
	while (x.mask + 1 < 2 * E.nprobes)
		x.mask = x.mask * 2 + 1;
	x.slot = E.nprobes ? plat_alloc((x.mask + 1) * sizeof *x.slot) : NULL;
	if (!x.slot)
		return;
	memset(x.slot, 0, (x.mask + 1) * sizeof *x.slot);
	for (uint32_t i = 0; i < E.nprobes; i++) {
		uint32_t h = name_hash(E.probes[i]->cfg->name) & x.mask;
		while (x.slot[h])
			h = (h + 1) & x.mask;
		x.slot[h] = i + 1;
	}
	export_each_result(history_put, &x);
	plat_lock();
	for (uint32_t i = 0; i < E.nprobes; i++)
		S.probes[i].stats = E.probes[i]->stats;
	plat_unlock();
	slo_publish((uint32_t)(plat_wall_us() / 60000000));
	plat_free(x.slot);
	if (x.read)
		fprintf(stderr, "outpost: %llu result%s from before the start read back from the "
			"spool into the history (%llu of them into the windows)\n",
			(unsigned long long)x.read, OP_S(x.read), (unsigned long long)x.windows);
}

/* At the start of the process, after history_refill: a probe whose last run (read back from
 * the spool) was less than an interval ago runs an interval after it, as it would have had
 * outpost not stopped, rather than at once: a restart (an upgrade, a power cut) does not run
 * every probe again, nor a daily job twice. One whose last run is older, or a clock that is
 * behind the last run's time (a board without a real-time clock, before NTP), starts as
 * ever. */
static void resume_schedules(uint64_t now)
{
	int64_t wall = plat_wall_us();
	for (uint32_t i = 0; i < E.nprobes; i++) {
		struct probe *p = E.probes[i];
		const struct cfg_probe *cp = p->cfg;
		const struct result *last = &p->stats.last;
		if (cp->disabled || !p->stats.has_last || last->wall_us > wall)
			continue;
		int64_t next = cp->delay_us ? last->wall_us + last->duration_us +
			(int64_t)cp->delay_us : last->wall_us + (int64_t)cp->interval_us;
		if (next <= wall)
			continue;
		uint64_t due = now + OP_MIN((uint64_t)(next - wall), cp->interval_us);
		if (due > p->due_us) {
			p->due_us = due;
			ev_timer_at(&op_loop, &p->tick, due);
		}
	}
}

/* What kinds keep between runs, into the snapshot. */
static void publish_kinds(void)
{
	plat_lock();
	for (uint32_t i = 0; i < E.nprobes; i++) {
		struct probe *p = E.probes[i];
		if (p->kstate && p->cfg->ops->publish)
			p->cfg->ops->publish(p, &S.probes[i]);
	}
	plat_unlock();
}

/* A step of the wall clock moves the alarms' times with it, and is said: results stamped
 * before and after it are on different time lines. */
static void clock_watch(void)
{
	int64_t d = op_clock_step(&E.clock, plat_wall_us(), plat_now_us());
	if (!d)
		return;
	fprintf(stderr, "outpost: the wall clock stepped %s%.1f s; alarm times move with it\n",
		d > 0 ? "+" : "", d / 1e6);
	alarm_clock_step(d);
}

static void second_tick(struct ev_timer *t)
{
	clock_watch();
	publish_app();
	publish_kinds();
	alarm_tick();
	export_tick();
	slo_tick();
	dns_watch();
	plat_proc_tick(); /* stopped commands: SIGKILL after their grace, then reaped */
	ev_timer_at(&op_loop, t, op_loop.now_us + 1000000);
}

/* Start the ad-hoc runs other threads queued. */
static void adhoc_start(void)
{
	if (E.settling)
		return; /* queued: the next engine starts them */
	const struct cfg_probe *todo[OP_ADHOC_MAX] = {0};
	char names[OP_ADHOC_MAX][OP_NAME_MAX];
	plat_lock();
	int hi = adhoc_hi;
	for (int i = 0; i < hi; i++) {
		names[i][0] = 0;
		if (adhoc[i].state == ADHOC_QUEUED) {
			adhoc[i].state = ADHOC_RUNNING;
			todo[i] = adhoc[i].cp;
			memcpy(names[i], adhoc[i].name, OP_NAME_MAX);
		}
	}
	plat_unlock();
	for (int i = 0; i < hi; i++) {
		if (E.draining && (names[i][0] || todo[i])) {
			/* a stop starts no new runs: the grace is for those in progress, and a
			 * scraper that asks without a pause would fill all of it */
			struct result r = {.wall_us = plat_wall_us(), .reason = REASON_CANCELED};
			op_strlcpy(r.detail, "stopping", sizeof r.detail);
			adhoc_finish(i, &r, NULL);
			continue;
		}
		if (names[i][0]) {
			/* run a configured probe now, unless it is running already */
			struct probe *p = NULL;
			for (uint32_t k = 0; k < E.nprobes && !p; k++)
				if (!strcmp(E.probes[k]->cfg->name, names[i]))
					p = E.probes[k];
			int err = !p ? OP_ENOENT : (p->run || p->waiting || p->now_slot) ? OP_EAGAIN : 0;
			if (err) {
				struct result r = {.wall_us = plat_wall_us(), .reason = REASON_CANCELED};
				plat_lock();
				adhoc[i].err = err;
				plat_unlock();
				adhoc_finish(i, &r, NULL);
				continue;
			}
			p->now_slot = (uint8_t)(i + 1);
			run_start(p, op_loop.now_us);
			continue;
		}
		if (!todo[i])
			continue;
		struct probe *p = &adhoc_probe[i];
		memset(p, 0, sizeof *p);
		p->cfg = todo[i];
		p->id = i;
		p->adhoc = 1;
		run_start(p, op_loop.now_us);
	}
}

static int adhoc_request(const struct cfg_probe *cp, const char *name, uint64_t timeout_us,
	struct probe_stats *out);

int engine_run_adhoc(const struct cfg_probe *cp, struct probe_stats *out)
{
	return adhoc_request(cp, NULL, cp->timeout_us, out);
}

int engine_run_now(const char *name, struct result *out)
{
	struct probe_stats s = {0};
	int rc = adhoc_request(NULL, name, 3600000000ull, &s);
	*out = s.last;
	return rc;
}

void engine_adhoc_slots(int n)
{
	plat_lock();
	adhoc_slots = OP_MIN(n, OP_ADHOC_MAX);
	adhoc_hi = OP_MAX(adhoc_hi, adhoc_slots);
	plat_cond_broadcast();
	plat_unlock();
}

void engine_request_reload(void)
{
	plat_signal_raise(PLAT_SIG_RELOAD);
}

int engine_reload_wait(uint64_t timeout_us, char *err, size_t cap)
{
	uint64_t end = plat_now_us() + timeout_us;
	plat_lock();
	/* Reloads end in the order they begin. One begun already may have read the file before
	 * the caller changed it: the outcome wanted is that of the next one to begin, which this
	 * request starts (or, during one under way, follows: engine_settle). */
	uint64_t want = S.reloads_begun + 1;
	plat_unlock();
	engine_request_reload();
	plat_lock();
	uint64_t now;
	/* (no ad-hoc slots: the web server is stopping, and waits for this thread) */
	while (S.reloads + S.reload_failures < want && adhoc_slots && (now = plat_now_us()) < end)
		plat_cond_wait(end - now);
	int rc = S.reloads + S.reload_failures < want ? -1 : !S.reload_error[0];
	op_strlcpy(err, S.reload_error, cap);
	plat_unlock();
	return rc;
}

static int adhoc_request(const struct cfg_probe *cp, const char *name, uint64_t timeout_us,
	struct probe_stats *st)
{
	struct result *out = &st->last;
	st->has_cert = 0;
	int slot = -1;
	plat_lock();
	for (int i = 0; i < adhoc_slots && slot < 0; i++)
		if (adhoc[i].state == ADHOC_FREE)
			slot = i;
	if (slot < 0) {
		plat_unlock();
		return adhoc_slots ? OP_ENOMEM : OP_ECANCELED;
	}
	/* queued even while the engine restarts (a reload): its next start takes it */
	adhoc[slot].cp = cp;
	op_strlcpy(adhoc[slot].name, name ? name : "", OP_NAME_MAX);
	adhoc[slot].err = 0;
	adhoc[slot].state = ADHOC_QUEUED;
	int open = adhoc_open;
	plat_unlock();
	if (open)
		plat_wake();
	uint64_t give_up = plat_now_us() + OP_MIN(timeout_us, 60000000u) + 5000000;
	plat_lock();
	for (;;) {
		if (adhoc[slot].state == ADHOC_DONE) {
			*out = adhoc[slot].res;
			st->has_last = 1;
			st->has_cert = adhoc[slot].has_cert;
			st->cert = adhoc[slot].cert;
			break;
		}
		/* never started (the engine stopped for good, or the web server stops): nothing
		 * refers to cp, leave */
		if (adhoc[slot].state == ADHOC_QUEUED && (!adhoc_slots || plat_now_us() > give_up)) {
			memset(out, 0, sizeof *out);
			out->reason = REASON_CANCELED;
			break;
		}
		/* a started run ends by its timeout, or engine_deinit ends it */
		plat_cond_wait(100000);
	}
	int err = adhoc[slot].err;
	adhoc[slot].state = ADHOC_FREE;
	plat_unlock();
	if (err)
		return err;
	return out->reason == REASON_CANCELED ? OP_ECANCELED : 0;
}

static void grace_over(struct ev_timer *t)
{
	(void)t;
	E.exit_code = ENGINE_STOP; /* engine_deinit records what still runs as interrupted */
}

/* A stop: no new runs; those in progress get the shutdown grace to finish and be recorded. A
 * second stop signal does not wait. */
static void drain(void)
{
	if (E.draining || !E.inflight || !E.cfg->shutdown_grace_us) {
		E.exit_code = ENGINE_STOP;
		return;
	}
	E.draining = 1;
	for (uint32_t i = 0; i < E.nprobes; i++)
		ev_timer_cancel(&op_loop, &E.probes[i]->tick);
	E.wait_head = E.wait_tail = NULL; /* due but not started: nothing to wait for */
	E.waiting = 0;
	E.grace.cb = grace_over;
	ev_timer_at(&op_loop, &E.grace, op_loop.now_us + E.cfg->shutdown_grace_us);
	fprintf(stderr, "outpost: stopping: waiting up to %.1fs for %u run%s in progress\n",
		E.cfg->shutdown_grace_us / 1e6, E.inflight, OP_S(E.inflight));
}

static void settle_over(struct ev_timer *t)
{
	(void)t;
	E.exit_code = ENGINE_RELOAD; /* engine_deinit interrupts what still runs */
}

int engine_settle(void)
{
	uint64_t wait = OP_MIN(E.cfg->shutdown_grace_us, OP_RELOAD_SETTLE_US);
	if (!E.inflight || !wait)
		return ENGINE_RELOAD;
	E.settling = 1;
	E.reload_again = 0;
	E.grace.cb = settle_over;
	ev_timer_at(&op_loop, &E.grace, op_loop.now_us + wait);
	E.exit_code = -1;
	while (E.exit_code < 0)
		ev_run_once(&op_loop, 1000000);
	ev_timer_cancel(&op_loop, &E.grace);
	E.settling = 0;
	if (E.reload_again)
		plat_signal_raise(PLAT_SIG_RELOAD); /* the file may have changed again: read it */
	return E.exit_code == ENGINE_STOP ? ENGINE_STOP : ENGINE_RELOAD;
}

static void on_signal(struct ev_io *io, unsigned events)
{
	(void)io, (void)events;
	unsigned sig = plat_signal_take();
	if (sig & PLAT_SIG_WAKE) {
		adhoc_start();
		alarm_take_requests();
	}
	if (sig & PLAT_SIG_CHILD) {
		plat_proc_tick();
		probe_cmd_children();
	}
	if (sig & PLAT_SIG_STOP) {
		E.settling = 0; /* a stop during a reload's wait: its own grace for what still runs */
		drain();
	} else if (sig & PLAT_SIG_RELOAD) {
		if (E.settling) {
			E.reload_again = 1;
		} else {
			E.exit_code = ENGINE_RELOAD;
			plat_lock();
			S.reloads_begun++;
			plat_unlock();
		}
	}
}

void engine_output(struct probe *p, int64_t wall_us, int outcome, const char *data, size_t len)
{
	char name[LOG_NAME_MAX];
	if (p->adhoc || p->internal)
		return;
	logstore_name(name, sizeof name, p->cfg->service, wall_us, outcome);
	if (E.opts.on_output)
		E.opts.on_output(p, name, data, len);
	else
		logstore_put(name, wall_us, outcome, data, len);
}

const struct cfg *engine_cfg(void)
{
	return E.cfg;
}

void engine_run_internal(struct probe *p)
{
	if (!p->run && !p->waiting && !E.draining && op_loop.now_us >= p->not_before_us)
		run_start(p, op_loop.now_us);
}

const char *engine_name(void)
{
	return E.cfg ? E.cfg->name : "outpost";
}

void engine_request_stop(void)
{
	E.exit_code = ENGINE_STOP;
}

uint64_t sched_first_offset(uint64_t interval_us, uint32_t index, uint32_t n)
{
	/* slots of at most a second: a handful of probes all report within seconds of start-up,
	 * while a thousand still spread over the whole interval */
	uint64_t slot = OP_MIN(interval_us / (n ? n : 1), 1000000u);
	return (uint64_t)index * slot + (slot ? op_rand_below(slot) : 0);
}

/* Carve the next aligned block of n bytes from the arena (or just count it when base is NULL). */
static void *carve(uint8_t *base, size_t *off, size_t n)
{
	size_t a = sizeof(max_align_t);
	size_t at = (*off + a - 1) / a * a;
	*off = at + n;
	return base ? base + at : NULL;
}

/* Sockets (which = 0) or timers (1) the kinds' between-run state of cfg may hold. */
static uint32_t kind_reserve(const struct cfg *cfg, int which)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < cfg->nprobes; i++) {
		const struct probe_ops *ops = cfg->probes[i].ops;
		if (ops->probe_state_size)
			n += which ? ops->probe_timers : ops->probe_conns;
	}
	return n;
}

/* Lay out (or, with base NULL, measure) the arena. */
static size_t layout(uint8_t *base, const struct cfg *cfg, uint32_t timers)
{
	size_t off = 0;
	uint32_t nq = cfg->max_inflight + 4 + kind_reserve(cfg, 0);
	void *m;
	m = carve(base, &off, pool_bytes(sizeof(struct probe), cfg->max_probes));
	if (base)
		pool_init_id(POOL_PROBE, m, sizeof(struct probe), cfg->max_probes);
	m = carve(base, &off, pool_bytes(probe_run_size(), cfg->max_inflight));
	if (base)
		pool_init_id(POOL_RUN, m, probe_run_size(), cfg->max_inflight);
	m = carve(base, &off, pool_bytes(dns_query_size(), nq));
	if (base)
		pool_init_id(POOL_DNSQ, m, dns_query_size(), nq);
	/* 33 KB each, so only for the runs that may decode at once */
	uint32_t nz = OP_MIN(cfg->inflaters, cfg->max_inflight);
	m = carve(base, &off, pool_bytes(sizeof(struct inflate), nz));
	if (base)
		pool_init_id(POOL_INFLATE, m, sizeof(struct inflate), nz);
	m = carve(base, &off, sizeof(struct ev_timer *) * (timers + 1));
	if (base)
		ev_init(&op_loop, m, timers);
	m = carve(base, &off, sizeof(struct probe *) * cfg->max_probes);
	if (base)
		E.probes = m;
	m = carve(base, &off, sizeof(void *) * cfg->max_probes);
	if (base)
		E.kstate = m;
	/* objective windows: one ring of minute buckets per probe that has an objective */
	size_t slo = 0;
	for (uint32_t i = 0; i < cfg->nprobes; i++)
		slo += slo_ring_bytes(&cfg->probes[i].objective);
	m = carve(base, &off, slo);
	if (base)
		E.slo_rings = m;
	/* alarms: instances, their window rings, the channels' queues and probes */
	size_t rings;
	uint32_t nalarm = alarm_count(cfg, &rings);
	m = carve(base, &off, sizeof(struct alarm_inst) * nalarm);
	if (base)
		E.alarms = m;
	m = carve(base, &off, rings);
	if (base)
		E.alarm_rings = m;
	m = carve(base, &off, sizeof(struct notify_queue) * cfg->nchannels);
	if (base)
		E.queues = m;
	m = carve(base, &off, sizeof(struct probe) * cfg->nchannels);
	if (base)
		E.chan = m;
	m = carve(base, &off, sizeof(struct probe) * cfg->nsinks);
	if (base)
		E.sink = m;
	m = carve(base, &off, export_bufs_size() * cfg->nsinks);
	if (base)
		E.sink_bufs = m;
	/* the log store's index */
	uint32_t nlogs = cfg->logs_dir && cfg->logs_dir[0] ? cfg->logs_max_objects : 0;
	m = carve(base, &off, sizeof(struct log_entry) * nlogs);
	if (base)
		E.logs = m;
	/* the state kinds keep between runs */
	for (uint32_t i = 0; i < cfg->nprobes; i++) {
		const struct probe_ops *ops = cfg->probes[i].ops;
		if (!ops->probe_state_size)
			continue;
		m = carve(base, &off, ops->probe_state_size(&cfg->probes[i]));
		if (base)
			E.kstate[i] = m;
	}
	return off;
}

/* Ask for the descriptors this config can hold at once: the loop's, the web server's
 * connections, exports, channels, and a margin for files and on-demand runs. Below that, a run
 * past the limit fails with "out of file descriptors"; said once per limit, with the fix. */
static void fd_budget(long want)
{
	static long said;
	long have = plat_fd_limit(want);
	if (have < 0 || have >= want || have == said)
		return;
	said = have;
	fprintf(stderr, "outpost: the descriptor limit is %ld (ulimit -n), and this config may "
		"hold %ld at once: runs past it fail with \"out of file descriptors\". Raise the "
		"limit (LimitNOFILE= in a systemd unit), or lower limits.max_inflight\n", have, want);
}

int engine_init(const struct cfg *cfg, const struct engine_opts *opts, char *err, size_t cap)
{
	/* the process's counts, not the config's: a reload keeps them (a Prometheus counter that
	 * drops reads as a restart) */
	struct loghist lag = E.lag;
	uint64_t started = E.runs_started, skipped = E.skipped, allocs = E.allocs_before;
	memset(&E, 0, sizeof E);
	E.lag = lag;
	E.runs_started = started;
	E.skipped = skipped;
	E.allocs_before = allocs;
	E.cfg = cfg;
	if (opts)
		E.opts = *opts;
	E.exit_code = -1;
	uint32_t nq = cfg->max_inflight + 4 + kind_reserve(cfg, 0);
	/* every probe's tick, every run's deadline, every query's timer, the engine's own, and
	 * what kinds keep between runs */
	uint32_t timers = cfg->max_probes + 2 * cfg->max_inflight + nq + 6 + kind_reserve(cfg, 1) +
		cfg->web_threads; /* on-demand runs waiting for a slot (adhoc_no_slot) */
	snprintf(err, cap, "cannot reserve memory for %u probes", cfg->max_probes);
	int rc = snap_prepare(cfg);
	if (rc == 0)
		rc = snap_modules(cfg);
	if (rc)
		return rc;
	E.arena_bytes = layout(NULL, cfg, timers);
	E.arena = plat_alloc(E.arena_bytes);
	if (!E.arena) {
		snprintf(err, cap, "cannot reserve %zu bytes for %u probes", E.arena_bytes,
			cfg->max_probes);
		return OP_ENOMEM;
	}
	memset(E.arena, 0, E.arena_bytes);
	layout(E.arena, cfg, timers);
	/* descriptors: a run holds one socket, a query one, plus the signal pipe */
	uint32_t fds = cfg->max_inflight + kind_reserve(cfg, 0) + nq + 8;
	fd_budget(fds + cfg->web_threads + cfg->nsinks + cfg->nchannels + 32);
	rc = plat_poll_init((int)fds);
	int sfd = rc ? rc : plat_signal_init();
	if (sfd < 0) {
		rc = sfd;
		snprintf(err, cap, "cannot set up the poller and signals: %s", op_strerror(rc));
		goto fail;
	}
	E.sig = (struct ev_io){.fd = sfd, .cb = on_signal};
	if (cfg->ntls) {
		rc = tls_init(cfg, cfg->max_inflight + kind_reserve(cfg, 0), err, cap);
		if (rc)
			goto fail;
	}
	if ((rc = ev_io_set(&E.sig, PLAT_READ)) != 0) {
		snprintf(err, cap, "cannot watch signals: %s", op_strerror(rc));
		goto fail;
	}

	uint64_t now = plat_now_us();
	size_t slo_off = 0;
	for (uint32_t i = 0; i < cfg->nprobes; i++) {
		const struct cfg_probe *cp = &cfg->probes[i];
		struct probe *p = pool_get(&op_pools[POOL_PROBE]);
		OP_ASSERT(p); /* sized from the same config */
		p->cfg = cp;
		p->id = i;
		p->stats = S.probes[i].stats; /* kept across a reload */
		if (cp->objective.nwin) {
			slo_init(&p->slo, &cp->objective, (struct slo_bucket *)(void *)(E.slo_rings +
				slo_off));
			slo_off += slo_ring_bytes(&cp->objective);
		}
		p->tick.cb = probe_tick;
		uint32_t index = 0, n = 0;
		for (uint32_t j = 0; j < cfg->nprobes; j++) {
			if (cfg->probes[j].interval_us == cp->interval_us) {
				index += j < i;
				n++;
			}
		}
		p->due_us = now + (E.opts.once ? 0 : sched_first_offset(cp->interval_us, index, n));
		/* an unchanged probe (name, kind, target) keeps its schedule across a reload: an
		 * hourly job is not run again by every config edit; a shorter interval than before
		 * counts from now */
		if (S.probes[i].due_us && !E.opts.once)
			p->due_us = OP_MIN(S.probes[i].due_us,
				now + (cp->delay_us ? cp->delay_us : cp->interval_us));
		if (!cp->disabled)
			ev_timer_at(&op_loop, &p->tick, p->due_us);
		E.probes[i] = p;
	}
	E.nprobes = cfg->nprobes;
	for (uint32_t i = 0; i < cfg->nprobes; i++) {
		E.probes[i]->kstate = E.kstate[i];
		if (cfg->probes[i].ops->attach && !cfg->probes[i].disabled && !E.opts.once)
			cfg->probes[i].ops->attach(E.probes[i]);
	}
	for (uint32_t c = 0; c < cfg->nchannels; c++) {
		E.chan[c].cfg = &cfg->channels[c];
		E.chan[c].id = c;
		E.chan[c].internal = 1;
		E.chan_ptr[c] = &E.chan[c];
	}
	for (uint32_t k = 0; k < cfg->nsinks; k++) {
		E.sink[k].cfg = &cfg->sinks[k];
		E.sink[k].id = k;
		E.sink[k].internal = 1;
		E.sink[k].kstate = E.sink_bufs + export_bufs_size() * k;
		E.sink_ptr[k] = &E.sink[k];
	}
	if (!E.opts.once) {
		export_init(cfg, E.sink_ptr);
		alarm_init(cfg, E.alarms, E.alarm_rings, E.queues, E.chan_ptr);
		logstore_init(cfg->logs_dir, cfg->logs_max_bytes, E.logs,
			cfg->logs_dir && cfg->logs_dir[0] ? cfg->logs_max_objects : 0);
		keep_restore();
		publish_kinds(); /* what they kept, at once: not zeros for a second */
		if (!history_read) {
			history_refill();
			resume_schedules(now);
		}
		history_read = 1;
	}
	E.once_left = 0;
	for (uint32_t i = 0; i < cfg->nprobes; i++)
		E.once_left += !cfg->probes[i].disabled;
	E.drain.cb = drain_waiting;
	E.tick.cb = second_tick;
	ev_timer_at(&op_loop, &E.tick, now + 1000000);
	publish_app();
	plat_lock();
	adhoc_open = 1;
	plat_unlock();
	return 0;
fail:
	engine_deinit();
	return rc;
}

int engine_run(void)
{
	plat_engine_thread();
	E.allocs_at_entry = plat_engine_allocs();
	E.running = 1;
	E.exit_code = -1;
	adhoc_start(); /* requests that came while the engine was reloading */
	if (E.opts.once && E.once_left == 0)
		E.exit_code = ENGINE_ONCE_DONE;
	/* the heartbeat /healthz reads is the second tick's publication: every pass fires the
	 * timers due, so a loop busy with work still ticks */
	while (E.exit_code < 0)
		ev_run_once(&op_loop, 1000000);
	publish_app();
	E.allocs_before += plat_engine_allocs() - E.allocs_at_entry;
	E.running = 0;
	return E.exit_code;
}

void engine_deinit(void)
{
	for (uint32_t i = 0; i < E.nprobes; i++)
		if (E.probes[i] && E.probes[i]->run)
			probe_run_done(E.probes[i]->run, 0, REASON_INTERRUPTED,
				"stopped before it finished");
	if (E.draining)
		fprintf(stderr, "outpost: %u run%s finished in the grace period, %u interrupted\n",
			E.drained, OP_S(E.drained), E.interrupted);
	/* each probe's next due time, for the next engine after a reload (snap_prepare) */
	plat_lock();
	for (uint32_t i = 0; i < E.nprobes; i++) {
		const struct probe *p = E.probes[i];
		S.probes[i].due_us = p->missed_us ? p->missed_us : p->waiting ? p->due_us :
			ev_timer_armed(&p->tick) ? p->tick.when_us : 0;
	}
	plat_unlock();
	for (int i = 0; i < adhoc_hi; i++)
		if (adhoc_probe[i].run)
			probe_run_done(adhoc_probe[i].run, 0, REASON_CANCELED, "engine stopped");
	for (uint32_t c = 0; E.chan && E.cfg && c < E.cfg->nchannels; c++)
		if (E.chan[c].run)
			probe_run_done(E.chan[c].run, 0, REASON_CANCELED, "engine stopped");
	for (uint32_t k = 0; E.sink && E.cfg && k < E.cfg->nsinks; k++)
		if (E.sink[k].run)
			probe_run_done(E.sink[k].run, 0, REASON_CANCELED, "engine stopped");
	if (E.cfg && !E.opts.once)
		keep_save();
	alarm_deinit();
	logstore_deinit();
	export_deinit();
	/* runs that were started but wait for a slot: finish them as canceled (queued ones wait
	 * for the next engine, or give up by themselves) */
	plat_lock();
	adhoc_open = 0;
	for (int i = 0; i < adhoc_hi; i++) {
		if (adhoc[i].state == ADHOC_RUNNING) {
			struct result r = {.wall_us = plat_wall_us(), .reason = REASON_CANCELED};
			op_strlcpy(r.detail, "engine stopped", sizeof r.detail);
			adhoc[i].res = r;
			adhoc[i].state = ADHOC_DONE;
		}
	}
	plat_cond_broadcast();
	plat_unlock();
	for (uint32_t i = 0; i < E.nprobes; i++) {
		const struct probe_ops *ops = E.probes[i]->cfg->ops;
		if (ops->detach && !E.probes[i]->cfg->disabled && !E.opts.once)
			ops->detach(E.probes[i]);
	}
	E.wait_head = E.wait_tail = NULL;
	if (E.sig.mask)
		ev_io_set(&E.sig, 0);
	plat_poll_deinit();
	tls_deinit();
	plat_proc_finish(); /* commands still being stopped do not outlive the engine */
	plat_free(E.arena);
	E.arena = NULL;
	memset(op_pools, 0, sizeof op_pools);
	E.nprobes = 0;
}
