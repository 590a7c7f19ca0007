/* spool.h: an append-only log of records on disk for pushing results out through a link that
 * drops: segment files of framed records (length, CRC32, time), written in batches, bounded in
 * bytes (oldest segment dropped first), with one read cursor per sink kept in a small file
 * replaced atomically. A record leaves a sink's view only when the sink acknowledged it. On
 * start-up every segment is checked and a torn or corrupt tail is cut at the last good record.
 *
 * Record on disk: u32 length | u32 crc32(time, payload) | u64 wall time (µs) | payload. */
#ifndef SPOOL_H
#define SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include "result.h"

#ifndef OP_SPOOL_BATCH
#define OP_SPOOL_BATCH 65536 /* bytes of records waiting for the next flush */
#endif
#define SPOOL_SINKS_MAX 4
#define SPOOL_HDR 16

struct spool_pos {
	uint32_t seg;
	uint32_t off;
	uint32_t idx; /* records before off in the segment (for counting what is pending) */
};

/* Records read for a sink: payloads at buf + at[i], lengths len[i]; end is where the cursor
 * goes once they are acknowledged. */
struct spool_batch {
	uint32_t n;
	uint32_t at[256], len[256];
	int64_t wall_us[256];
	struct spool_pos end;
};

struct spool_stats {
	uint64_t bytes, dropped, corrupt, appended; /* dropped: lost to max_bytes or the medium */
	uint64_t pending_bytes[SPOOL_SINKS_MAX], pending_records[SPOOL_SINKS_MAX];
	int64_t oldest_pending_us[SPOOL_SINKS_MAX]; /* wall time of the oldest undelivered, or 0 */
	uint64_t sent[SPOOL_SINKS_MAX], failed[SPOOL_SINKS_MAX]; /* the sinks' own counts */
	uint64_t refused[SPOOL_SINKS_MAX];
	struct delivery_state delivery[SPOOL_SINKS_MAX];
	uint32_t nsinks;
	uint8_t moved; /* dir could not be used (its medium failed): the spool is in the spare */
	char names[SPOOL_SINKS_MAX][64];
};

/* Open dir (created if missing) for nsinks sinks named names[i]: scan and repair the segments,
 * load the cursors. max_bytes bounds the segments. Writes what it repaired to stderr. Blocks:
 * start-up. When dir cannot be written, then or later (a card gone read-only), the log goes
 * on in spare (memory; NULL: nowhere), bounded by spare_max, with what the sinks had not been
 * sent. 0 or a negative code. */
int spool_open(const char *dir, uint64_t max_bytes, uint32_t nsinks, const char *const *names,
	const char *spare, uint64_t spare_max);
void spool_close(void);
/* Add a record (len <= 4096) to the batch, flushing a full batch first. 0, or the flush's error
 * (the record is then lost, and counted as dropped). */
int spool_append(int64_t wall_us, const void *rec, size_t len);
/* Write the batch to the active segment and have it flushed to the medium (by the platform's
 * disk worker: the loop does not wait for a slow card); drop the oldest segments beyond
 * max_bytes. 0 or OP_EIO. */
int spool_flush(void);
/* Up to max records after sink's cursor (flushed ones only) into buf (cap bytes). Returns the
 * count (0: nothing new). */
int spool_read(uint32_t sink, uint8_t *buf, size_t cap, uint32_t max, struct spool_batch *b);
/* The sink has the records of b: move its cursor past them and save it. */
void spool_ack(uint32_t sink, const struct spool_batch *b);
/* Figures for /metrics and the API. The engine thread computes them (out NULL, once a second);
 * any thread copies the latest under plat_lock (out). */
void spool_stats(struct spool_stats *out);
/* Sink i's delivered records, failed attempts, records its collector refused (dropped) and
 * delivery state, shown with the figures. */
void spool_note(uint32_t sink, uint64_t sent, uint64_t failed, uint64_t refused,
	const struct delivery_state *d);
/* Every record the spool holds on its medium, oldest first, to fn (what was written before a restart,
 * read back: the probes' history). Blocks: start-up. */
typedef void spool_rec_fn(void *ctx, int64_t wall_us, const uint8_t *rec, size_t len);
void spool_each(spool_rec_fn *fn, void *ctx);
/* Whether a spool is open. */
int spool_on(void);

#endif
