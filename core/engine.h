/* engine.h: the probe engine: reserves every pool from the config's limits, schedules probes
 * on the loop, records results and publishes the snapshot. */
#ifndef ENGINE_H
#define ENGINE_H

#include "cfg.h"
#include "probe.h"

enum engine_exit { ENGINE_STOP, ENGINE_RELOAD, ENGINE_ONCE_DONE };

/* Called for every finished result (the CLI's one-shot mode prints it). */
typedef void engine_result_fn(const struct probe *p, const struct result *r);

/* A run's captured output (exec probes) as log object name, just before its result. */
typedef void engine_output_fn(const struct probe *p, const char *name, const char *data,
	size_t len);

struct engine_opts {
	int once;                   /* run every probe once, at once, then return */
	engine_result_fn *on_result; /* may be NULL */
	engine_output_fn *on_output; /* NULL: outputs go to the log store */
};

/* Reserve the arena and pools for cfg (which must outlive the engine), set up TLS (reading its
 * files) and schedule the probes. The only allocation the engine makes. Returns 0, or OP_ENOMEM
 * or another negative code with err saying what failed (a CA file that does not parse, a
 * client key that does not match its certificate...). */
int engine_init(const struct cfg *cfg, const struct engine_opts *opts, char *err, size_t cap);
/* Run until a stop or reload signal (or, in once mode, until every probe ran).
 * Returns enum engine_exit. */
int engine_run(void);
/* Before a reload, once the new config has loaded: let the runs in progress finish and be
 * recorded, for up to OP_RELOAD_SETTLE_US (shutdown_grace when shorter), starting no new ones
 * (runs due meanwhile start with the next engine; a reload asked meanwhile comes after it).
 * Returns ENGINE_RELOAD, or ENGINE_STOP when a stop came meanwhile (it drains as at any stop). */
int engine_settle(void);
/* Cancel every run (recorded as canceled), release the arena. Keeps the published snapshot
 * readable (it is re-published by the next engine_init). */
void engine_deinit(void);
/* A reload ended: count it (shown on /metrics) and keep its outcome, err the reason it was
 * refused (NULL when it took), for the API and the dashboard. */
void engine_note_reload(const char *err);
/* Ask engine_run to return (from a signal handler's loop or the web thread: use plat_wake). */
void engine_request_stop(void);

/* Run one probe now, out of schedule, on the engine (from another thread: web/). Blocks until
 * the result, which the probe's own timeout bounds. cp must stay valid until the call returns.
 * Returns 0 with out's last result (and the certificate, when the run saw one) filled,
 * OP_ENOMEM when every ad-hoc slot is busy, OP_ECANCELED when the engine stopped first (then
 * out->last says "canceled"). The result is not added to any history. */
int engine_run_adhoc(const struct cfg_probe *cp, struct probe_stats *out);

/* How many ad-hoc runs may wait at once (the web server's threads less two; OP_ADHOC_MAX at
 * most). 0 refuses new ones and ends those not started yet as OP_ECANCELED: the web server
 * sets it before it stops, so that none of its threads waits on a run that a stopped loop
 * (a reload) would never start. */
void engine_adhoc_slots(int n);

/* Run the configured probe name now, out of schedule (from another thread). The result also
 * goes into its history. Blocks until the result. Returns 0, OP_ENOENT (no such probe),
 * OP_EAGAIN (it is running right now), OP_ENOMEM (every ad-hoc slot busy) or OP_ECANCELED. */
int engine_run_now(const char *name, struct result *out);

/* A run of p that started at wall_us ended (enum log_outcome) with this output: keep it as a
 * log object. */
void engine_output(struct probe *p, int64_t wall_us, int outcome, const char *data, size_t len);

/* The running appliance's name (config "name"). */
const char *engine_name(void);
const struct cfg *engine_cfg(void);
/* Run internal probe p (a channel, a sink, a lane) now, unless it runs or waits already or
 * its p->not_before_us (a backoff its kind set) is still ahead. */
struct probe;
void engine_run_internal(struct probe *p);

/* Ask the engine to reload its config, as SIGHUP does (from another thread). */
void engine_request_reload(void);
/* The same, and wait up to timeout_us for the outcome of a reload that reads the file after
 * this call (from another thread): 1 it took, 0 it was refused (why in err), -1 still under
 * way at the timeout or when the web server stops (engine_adhoc_slots(0)). */
int engine_reload_wait(uint64_t timeout_us, char *err, size_t cap);

/* Scheduling helpers, exposed for tests. Offset of the first run of the index-th of n probes
 * sharing one interval: evenly spaced slots of min(interval / n, 1 s), a random point inside
 * each. */
uint64_t sched_first_offset(uint64_t interval_us, uint32_t index, uint32_t n);

/* The version string. */
extern const char op_version[];

#endif
