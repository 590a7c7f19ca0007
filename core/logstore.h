/* logstore.h: the exec probe's run outputs as log objects on disk, named
 * "<service>/<unix seconds>_SUCCESS|FAILURE|INTERRUPTED", bounded by bytes and count
 * (oldest deleted first). The index lives in the engine's arena; web threads read it under
 * plat_lock and read the files themselves. */
#ifndef LOGSTORE_H
#define LOGSTORE_H

#include <stddef.h>
#include <stdint.h>
#include "opts.h"

#define LOG_NAME_MAX (OP_NAME_MAX + 32)

/* How the run of an object ended: an interrupted run (a reload, a stop) is no verdict on its
 * job, as everywhere else, so its name does not say FAILURE to whatever reads the names. */
enum log_outcome { LOG_FAILURE, LOG_SUCCESS, LOG_INTERRUPTED };

struct log_entry {
	char name[LOG_NAME_MAX]; /* "<service>/<ts>_SUCCESS" */
	uint32_t size;
	int64_t wall_us;
	uint8_t outcome; /* enum log_outcome */
};

/* The object name of a run of service (made path-safe) that started at wall_us. */
void logstore_name(char *out, size_t cap, const char *service, int64_t wall_us, int outcome);
/* Start over dir with room for cap entries (mem from the arena) and max_bytes on disk: the
 * directory is scanned and trimmed. dir NULL or "": no store. Blocks: start-up only. */
void logstore_init(const char *dir, uint64_t max_bytes, struct log_entry *mem, uint32_t cap);
void logstore_deinit(void);
/* Keep data as object name (engine thread; writes a file, no fsync). No-op without a store. */
void logstore_put(const char *name, int64_t wall_us, int outcome, const char *data, size_t len);
/* Objects of service, newest first, at most cap (any thread). Returns the count, or OP_ENOENT
 * when there is no store. */
int logstore_list(const char *service, struct log_entry *out, uint32_t cap);
/* The file path of object name when the store holds it (any thread); OP_ENOENT otherwise. */
int logstore_path(const char *name, char *path, size_t cap);
/* Bytes and objects kept, and objects deleted to stay in bounds (for /metrics). */
void logstore_stats(uint64_t *bytes, uint32_t *objects, uint64_t *deleted);

#endif
