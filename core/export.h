/* export.h: results pushed to collectors through the spool (core/spool.h): each export is a
 * sink with its own cursor, sent by internal runs of the kind "export". */
#ifndef EXPORT_H
#define EXPORT_H

#include <stdint.h>

struct cfg;
struct probe;
struct result;

/* Open the spool and remember the sinks' internal probes (start-up). 0 or a negative code
 * (then nothing is exported). */
int export_init(const struct cfg *cfg, struct probe **sinks);
void export_deinit(void);
/* A probe's result, into the spool (engine thread). */
void export_result(const struct probe *p, const struct result *r);
/* Every result the spool holds on its medium, oldest first, to fn with the probe it came from
 * (start-up: the history from before a restart). Nothing without a spool. */
typedef void export_result_fn(void *ctx, const char *name, const char *kind, const char *target,
	const struct result *r);
void export_each_result(export_result_fn *fn, void *ctx);
/* Once a second: publish the figures (the flush and the sinks have a timer of their own). */
void export_tick(void);
/* Bytes of one sink's buffers (the engine gives each sink probe that much as kstate). */
size_t export_bufs_size(void);

#endif
