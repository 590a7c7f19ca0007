/* metrics.h: the Prometheus text exposition (format 0.0.4) of a snapshot. Runs on the reader's
 * thread over its own copy; never touches engine state. */
#ifndef METRICS_H
#define METRICS_H

#include "snap.h"

/* Receives the text in pieces. */
typedef void metrics_out_fn(void *ctx, const char *s, size_t n);

/* Render every metric of s. now_us is the monotonic time for uptime. */
void metrics_render(const struct snap *s, uint64_t now_us, metrics_out_fn *out, void *ctx);

/* The last-result series of one probe without labels: the blackbox_exporter /probe answer. */
void metrics_render_probe(const struct snap_probe *p, metrics_out_fn *out, void *ctx);

/* Escape a label value (backslash, quote, newline) into out. Returns the length. */
size_t metrics_escape(char *out, size_t cap, const char *s);

#endif
