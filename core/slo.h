/* slo.h: availability and latency objectives over sliding windows of whole minutes. Each probe
 * with an objective keeps a ring of per-minute buckets sized for its longest window, plus
 * running sums per window, so a result costs O(windows) and a minute boundary O(minutes
 * passed) — no per-result storage, no allocation. */
#ifndef SLO_H
#define SLO_H

#include "result.h"

#define SLO_MAX_WINDOWS 4
#ifndef OP_SLO_MAX_MINUTES
#define OP_SLO_MAX_MINUTES 1440 /* the longest window: 24 h */
#endif

struct slo_bucket {
	uint32_t minute; /* Unix minute this bucket counts; 0: empty */
	uint16_t total, ok, fast;
	uint16_t lat[OP_HIST_N + 1]; /* runs per OP_HIST_BOUNDS latency bucket */
};

struct slo_sums {
	uint32_t total, ok, fast;
	uint32_t lat[OP_HIST_N + 1];
};

/* The objective as configured. */
struct slo_target {
	double availability;   /* 0 when not set */
	double latency_p;      /* e.g. 0.95; 0 when no latency objective */
	uint64_t latency_max_us;
	uint8_t nwin;
	uint32_t win_min[SLO_MAX_WINDOWS]; /* window lengths in minutes, ascending */
};

struct slo {
	const struct slo_target *t;
	struct slo_bucket *ring; /* t->win_min[nwin-1] buckets */
	uint32_t nring;
	uint32_t now_min;        /* the newest minute seen */
	struct slo_sums sum[SLO_MAX_WINDOWS];
};

/* What a window says now. */
struct slo_view {
	uint32_t total;
	double availability;     /* ok / total; 1 with no runs */
	double latency_q_s;      /* the latency_p quantile (upper bucket bound), seconds */
	double fast_ratio;       /* share of runs within latency_max */
	double budget_remaining; /* 1 - failures / allowed failures; may go below 0 */
	uint8_t met;             /* availability and latency objectives both met */
};

/* Ring storage needed for target t. */
size_t slo_ring_bytes(const struct slo_target *t);
void slo_init(struct slo *s, const struct slo_target *t, struct slo_bucket *ring);
/* Count one run that started in Unix minute `minute`. */
void slo_add(struct slo *s, uint32_t minute, int ok, uint64_t latency_us);
/* Count a run's result (its start's minute, success and duration). */
void slo_add_result(struct slo *s, const struct result *r);
/* Count a bucket of runs (any counts, of minute b->minute) as if each had been added: how
 * windows are carried over (slo_export's buckets, oldest first). */
void slo_merge(struct slo *s, const struct slo_bucket *b);
/* The buckets within the longest window that hold runs, oldest first, into out (at most cap):
 * returns how many. */
uint32_t slo_export(const struct slo *s, struct slo_bucket *out, uint32_t cap);
/* Windows carried over an engine restart (a reload, or a stop and a start through a file): one
 * buffer of records, each a key (what owns the windows), the latency bound the buckets' "fast"
 * counts hold for, and the buckets. The layout is this build's, behind a header that names it:
 * another build's is not read. */
struct slo_keep {
	uint8_t *buf;
	size_t len, cap;
};
/* Bytes slo_keep_put needs for s under key (the header counted once, by slo_keep_start). */
size_t slo_keep_bytes(const struct slo *s, const char *key);
/* The header, with when the windows were taken (Unix seconds); returns its size. */
size_t slo_keep_start(struct slo_keep *k, uint32_t saved_s);
/* When k's windows were taken: Unix seconds, 0 when not said, -1 when k holds none of this
 * build's. */
int64_t slo_keep_saved_s(const struct slo_keep *k);
void slo_keep_put(struct slo_keep *k, const char *key, const struct slo *s);
/* Merge into s what k holds under key, when the latency bound is s's. 1 when it did. */
int slo_keep_take(const struct slo_keep *k, const char *key, struct slo *s);
/* Move the windows to Unix minute `minute` (drops what fell out). */
void slo_advance(struct slo *s, uint32_t minute);
/* The view of window w (0..nwin-1). */
void slo_view(const struct slo *s, int w, struct slo_view *v);

/* A window's label: "5m", "1h", "24h", "90m". */
void slo_window_name(uint32_t minutes, char *buf, size_t cap);

#endif
