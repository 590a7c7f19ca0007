/* logstore.c: run outputs on disk. The index is a ring in time order (oldest at head), so
 * keeping within max_bytes and the entry count means deleting from the head. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "logstore.h"
#include "op.h"
#include "../platform/plat.h"

static struct {
	char dir[256];
	struct log_entry *e;
	uint32_t cap, head, len;
	uint64_t bytes, max_bytes, deleted;
	int on, failing; /* failing: the last write did not reach the medium */
} L; /* the index: changed by the engine under plat_lock, read by others under it */

static const char *const outcome_names[] = {"FAILURE", "SUCCESS", "INTERRUPTED"};

void logstore_name(char *out, size_t cap, const char *service, int64_t wall_us, int outcome)
{
	char svc[OP_NAME_MAX];
	size_t i = 0;
	for (; service[i] && i + 1 < sizeof svc; i++) {
		char c = service[i];
		int safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '_' || c == '-' || (c == '.' && i > 0);
		svc[i] = safe ? c : '_';
	}
	svc[i] = 0;
	snprintf(out, cap, "%s/%lld_%s", i ? svc : "_", (long long)(wall_us / 1000000),
		outcome_names[outcome >= 0 && outcome <= LOG_INTERRUPTED ? outcome : LOG_FAILURE]);
}

static struct log_entry *at(uint32_t i)
{
	return &L.e[(L.head + i) % L.cap];
}

/* Delete the oldest object (file and entry). Under plat_lock. */
static void drop_oldest(void)
{
	char path[512];
	struct log_entry *o = at(0);
	snprintf(path, sizeof path, "%s/%s", L.dir, o->name);
	plat_file_remove(path);
	L.bytes -= o->size;
	L.head = (L.head + 1) % L.cap;
	L.len--;
	L.deleted++;
}

struct scan {
	const char *service;
	struct log_entry *found;
	uint32_t n, cap;
	uint64_t deleted;
};

static int by_time(const void *a, const void *b)
{
	const struct log_entry *x = a, *y = b;
	return x->wall_us < y->wall_us ? -1 : x->wall_us > y->wall_us ? 1 : strcmp(x->name, y->name);
}

/* One object of the last run's: kept while there is room; past the count, the older of it and
 * the oldest kept is deleted now, so what the disk holds beyond the bound never lingers
 * unindexed (the directory's order is no order). */
static void scan_file(void *ctx, const char *name, int is_dir)
{
	struct scan *s = ctx;
	long long ts;
	char kind[16];
	int outcome = 0;
	if (is_dir || sscanf(name, "%lld_%15[A-Z]", &ts, kind) != 2)
		return;
	while (outcome <= LOG_INTERRUPTED && strcmp(kind, outcome_names[outcome]))
		outcome++;
	if (outcome > LOG_INTERRUPTED)
		return;
	struct log_entry e;
	snprintf(e.name, sizeof e.name, "%s/%s", s->service, name);
	char path[512];
	snprintf(path, sizeof path, "%s/%s", L.dir, e.name);
	int64_t size = plat_file_size(path);
	e.size = size > 0 ? (uint32_t)size : 0;
	e.wall_us = ts * 1000000;
	e.outcome = (uint8_t)outcome;
	if (s->n < s->cap) {
		s->found[s->n++] = e;
		return;
	}
	uint32_t old = 0;
	for (uint32_t i = 1; i < s->n; i++)
		if (by_time(&s->found[i], &s->found[old]) < 0)
			old = i;
	struct log_entry *drop = by_time(&e, &s->found[old]) < 0 ? &e : &s->found[old];
	snprintf(path, sizeof path, "%s/%s", L.dir, drop->name);
	plat_file_remove(path);
	s->deleted++;
	if (drop != &e)
		*drop = e;
}

static void scan_service(void *ctx, const char *name, int is_dir)
{
	struct scan *s = ctx;
	if (!is_dir)
		return;
	char sub[512];
	snprintf(sub, sizeof sub, "%s/%s", L.dir, name);
	s->service = name;
	plat_dir_scan(sub, scan_file, s);
}

void logstore_init(const char *dir, uint64_t max_bytes, struct log_entry *mem, uint32_t cap)
{
	plat_lock();
	memset(&L, 0, sizeof L);
	plat_unlock();
	if (!dir || !dir[0] || !cap)
		return;
	/* what the last run left: the newest cap objects, straight into the index (no reader
	 * looks at it until L.on), then oldest first */
	struct scan s = {.found = mem, .cap = cap};
	op_strlcpy(L.dir, dir, sizeof L.dir);
	plat_dir_scan(dir, scan_service, &s);
	qsort(mem, s.n, sizeof *mem, by_time);
	plat_lock();
	L.e = mem;
	L.cap = cap;
	L.len = s.n;
	L.max_bytes = max_bytes;
	L.deleted = s.deleted;
	L.on = 1;
	for (uint32_t i = 0; i < s.n; i++)
		L.bytes += mem[i].size;
	while (L.len && L.bytes > L.max_bytes)
		drop_oldest();
	plat_unlock();
}

void logstore_deinit(void)
{
	plat_lock();
	L.on = 0;
	L.len = 0;
	plat_unlock();
}

void logstore_put(const char *name, int64_t wall_us, int outcome, const char *data, size_t len)
{
	if (!L.on)
		return;
	char path[512];
	snprintf(path, sizeof path, "%s/%s", L.dir, name);
	int rc = plat_file_write(path, data, len);
	/* the medium is full before max_bytes: the oldest objects go, as at max_bytes, up to
	 * this one's size (if that does not do, the space is someone else's) */
	for (uint64_t freed = 0; rc == OP_ENOSPC && L.len && freed < len;) {
		plat_lock();
		freed += at(0)->size;
		drop_oldest();
		plat_unlock();
		rc = plat_file_write(path, data, len);
	}
	if (rc != 0) {
		if (!L.failing)
			fprintf(stderr, "outpost: logs: cannot write %s: %s (said once until a write "
				"works again)\n", path, op_strerror(rc));
		L.failing = 1;
		return;
	}
	L.failing = 0;
	plat_lock();
	/* two runs of a service in one second share a name: the newer replaces the entry */
	for (uint32_t i = L.len; i-- > 0 && at(i)->wall_us / 1000000 == wall_us / 1000000;) {
		if (!strcmp(at(i)->name, name)) {
			L.bytes -= at(i)->size;
			at(i)->size = (uint32_t)len;
			L.bytes += len;
			plat_unlock();
			return;
		}
	}
	if (L.len == L.cap)
		drop_oldest();
	struct log_entry *e = at(L.len++);
	op_strlcpy(e->name, name, sizeof e->name);
	e->size = (uint32_t)len;
	e->wall_us = wall_us;
	e->outcome = (uint8_t)outcome;
	L.bytes += len;
	while (L.len > 1 && L.bytes > L.max_bytes)
		drop_oldest();
	plat_unlock();
}

int logstore_list(const char *service, struct log_entry *out, uint32_t cap)
{
	char prefix[OP_NAME_MAX + 2], tmp[LOG_NAME_MAX];
	logstore_name(tmp, sizeof tmp, service, 0, LOG_SUCCESS);
	snprintf(prefix, sizeof prefix, "%.*s/", (int)(strchr(tmp, '/') - tmp), tmp);
	size_t pl = strlen(prefix);
	plat_lock();
	if (!L.on) {
		plat_unlock();
		return OP_ENOENT;
	}
	uint32_t n = 0;
	for (uint32_t i = L.len; i-- > 0 && n < cap;)
		if (!strncmp(at(i)->name, prefix, pl))
			out[n++] = *at(i);
	plat_unlock();
	return (int)n;
}

int logstore_path(const char *name, char *path, size_t cap)
{
	int found = 0;
	plat_lock();
	for (uint32_t i = 0; L.on && i < L.len && !found; i++)
		found = !strcmp(at(i)->name, name);
	if (found)
		snprintf(path, cap, "%s/%s", L.dir, name);
	plat_unlock();
	return found ? 0 : OP_ENOENT;
}

void logstore_stats(uint64_t *bytes, uint32_t *objects, uint64_t *deleted)
{
	plat_lock();
	*bytes = L.bytes;
	*objects = L.len;
	*deleted = L.deleted;
	plat_unlock();
}
