/* snap.h: what the engine publishes for readers on other threads (web/). The engine updates
 * it under plat_lock after every result and once a second; readers copy it out under the lock
 * and never touch engine state. */
#ifndef SNAP_H
#define SNAP_H

#include "evtrack.h"
#include "pool.h"
#include "result.h"
#include "slo.h"

/* A scenario probe's steps in its last run. */
#define SNAP_STEPS_MAX 12
struct snap_steps {
	uint8_t n;
	struct {
		char name[32];
		uint32_t duration_us;
		uint8_t state; /* 0 not run, 1 passed, 2 failed */
	} s[SNAP_STEPS_MAX];
};

struct snap_probe {
	char name[OP_NAME_MAX];
	char kind[16];
	char target[OP_TARGET_MAX];
	char service[OP_NAME_MAX];
	char groups[256]; /* JSON array */
	uint64_t interval_us, timeout_us;
	struct probe_stats stats;
	uint64_t due_us; /* the next run's due time (monotonic) at a reload, for the next engine */
	uint32_t hist_head, hist_len; /* the probe's ring in the snapshot's history */
	struct slo_target objective;  /* nwin 0: none */
	struct slo_view slo[SLO_MAX_WINDOWS];
	union {
		struct evt_stats events; /* pipeline probes: the event counters */
		struct snap_steps steps; /* scenario probes: the last run's steps */
	};
};

struct snap_pool {
	const char *name, *help;
	uint32_t used, max_used, cap, fails;
};

struct snap_app {
	const char *version;
	char name[OP_NAME_MAX], region[OP_NAME_MAX];
	char labels[OP_MAX_LABELS][2][OP_NAME_MAX];
	uint32_t nlabels;
	int64_t start_wall_us;
	uint64_t start_us, heartbeat_us; /* monotonic */
	struct snap_pool pools[POOL_COUNT];
	uint32_t nprobes, inflight, waiting;
	uint64_t lag_p50_us, lag_p99_us, lag_max_us, lag_sum_us, lag_count, runs_started, skipped;
	uint64_t engine_allocs, arena_bytes, rss_bytes, tls_arena_bytes, tls_arena_peak;
	uint64_t disk_max_us;   /* the disk worker's slowest job so far */
	uint32_t disk_pending;  /* its jobs queued or running */
	uint64_t history_bytes;
	uint32_t max_probes, max_inflight, history;
	char token[129]; /* web.token */
	char basic[200];  /* web.user:web.password, base64, or "" */
	uint64_t reloads, reload_failures;
	int64_t reload_wall_us; /* when the last reload ended (0: none yet) */
	char reload_error[256]; /* why it was refused; "" when it took */
	const char *poller;
};

struct snap {
	struct snap_app app;
	struct snap_probe *probes; /* app.nprobes entries */
};

/* Copy the template of module name into m, its strings into buf (cap bytes). Returns 0,
 * OP_ENOENT when there is no such module, or OP_ETOOBIG. Takes plat_lock briefly. */
struct cfg_module;
int snap_module(const char *name, struct cfg_module *m, char *buf, size_t cap);

/* Copy the stored results of probe name, newest first, started at or after since_wall_us, at
 * most cap. Returns the count, or OP_ENOENT for an unknown probe. Takes plat_lock briefly. */
int snap_history(const char *name, int64_t since_wall_us, struct result *out, uint32_t cap);

/* Copy the published snapshot into dst (dst->probes must hold cap entries). Returns the number
 * of probes published (may exceed cap: then only cap were copied). Takes plat_lock briefly. */
uint32_t snap_read(struct snap *dst, uint32_t cap);

#endif
