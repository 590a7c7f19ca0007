/* spool.c: the segment log. All on the engine thread; the figures are copied out under
 * plat_lock. Segments are named by sequence number ("00000007.seg"); the last one takes
 * appends. Positions are (segment, offset). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "op.h"
#include "spool.h"
#include "../platform/plat.h"

#define SEGS_MAX 4096
#define REC_MAX 4096

struct seg {
	uint32_t seq, size, records;
};

static struct {
	int on;
	int active; /* write handle of the last segment, -1 when none (set by spool_open) */
	int lock;   /* the directory's lock file, held while open: one process a spool */
	int failing; /* the last flush could not write (said once on stderr, and its end) */
	char dir[256];
	char spare[256]; /* where the log moves when dir's medium fails ("": nowhere) */
	uint64_t spare_max;
	uint64_t max_bytes, seg_max;
	struct seg segs[SEGS_MAX];
	uint32_t nsegs;
	uint8_t batch[OP_SPOOL_BATCH];
	size_t batch_len;
	uint32_t batch_records;
	uint32_t nsinks;
	char names[SPOOL_SINKS_MAX][64];
	struct spool_pos cur[SPOOL_SINKS_MAX];
	struct spool_stats st; /* published under plat_lock */
} P; /* all zero: in .bss, not in the binary */

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A record's wall time, from its header. */
static int64_t rec_wall(const uint8_t *h)
{
	return (int64_t)((uint64_t)get32(h + 8) | (uint64_t)get32(h + 12) << 32);
}

static void seg_path(const char *dir, uint32_t seq, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%08u.seg", dir, seq);
}

/* Check a record header read at off of a segment of size: its payload length, or -1. */
static int rec_len(const uint8_t *h, uint32_t off, uint32_t size)
{
	uint32_t len = get32(h);
	if (len > REC_MAX || (uint64_t)off + SPOOL_HDR + len > size)
		return -1;
	return (int)len;
}

/* Walk segment s's records from off up to size: each good one (its length, and its CRC when
 * check: the first read after a start; what repair passed, or this process wrote, is good)
 * to fn, when given, and counted in *n; the walk ends at the first bad one. Returns the
 * offset past the last good record, or -1 when the segment cannot be opened. The file is
 * read a block at a time: a start-up reads every segment through, and one read per record
 * would be two system calls for each of 180 bytes. Not reentrant (one buffer): fn must not
 * walk, and nothing a flush does walks (the spool's move appends from fn). */
static int64_t walk(const char *dir, const struct seg *s, uint32_t off, uint64_t size, int check,
	uint32_t *n, spool_rec_fn *fn, void *ctx)
{
	static uint8_t buf[16384]; /* > SPOOL_HDR + REC_MAX: a fresh read holds a whole record */
	uint32_t at = 0, have = 0;  /* buf holds the segment's bytes [at, at + have) */
	char path[320];
	seg_path(dir, s->seq, path, sizeof path);
	int h = plat_fopen(path, 0);
	if (h < 0)
		return -1;
	while (off < size) {
		uint32_t in = off - at;
		int len = off >= at && in + SPOOL_HDR <= have ? rec_len(buf + in, off, (uint32_t)size) :
			-2;
		if (len == -2 || (len >= 0 && in + SPOOL_HDR + (uint32_t)len > have)) {
			if (at == off && have) /* read from here already: the file ends early */
				break;
			int got = plat_fread_at(h, off, buf, (size_t)OP_MIN(sizeof buf, size - off));
			if (got < SPOOL_HDR)
				break;
			at = off;
			have = (uint32_t)got;
			continue;
		}
		const uint8_t *rec = buf + in;
		if (len < 0 || (check && op_crc32(0, rec + 8, 8 + (size_t)len) != get32(rec + 4)))
			break;
		if (fn)
			fn(ctx, rec_wall(rec), rec + SPOOL_HDR, (size_t)len);
		off += SPOOL_HDR + (uint32_t)len;
		(*n)++;
	}
	plat_fclose(h);
	return off;
}

/* Scan one segment: cut it after its last good record. */
static void repair(struct seg *s)
{
	char path[320];
	seg_path(P.dir, s->seq, path, sizeof path);
	int64_t size = plat_file_size(path);
	s->records = 0;
	int64_t off = size > 0 ? walk(P.dir, s, 0, (uint64_t)size, 1, &s->records, NULL, NULL) : 0;
	if (off < 0) { /* a segment this process may not read: as if empty, left as it is */
		off = 0;
	} else if (off < size) {
		fprintf(stderr, "outpost: spool: %s: a torn or corrupt record at byte %lld; cut there "
			"(%lld bytes dropped)\n", path, (long long)off, (long long)(size - off));
		plat_ftruncate(path, (uint64_t)off);
		P.st.corrupt++;
	}
	s->size = (uint32_t)off;
}

static void scan_seg(void *ctx, const char *name, int is_dir)
{
	(void)ctx;
	unsigned seq;
	char tail[8];
	if (is_dir || P.nsegs == SEGS_MAX || sscanf(name, "%8u.%7s", &seq, tail) != 2 ||
		strcmp(tail, "seg"))
		return;
	P.segs[P.nsegs++].seq = seq;
}

static int by_seq(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct seg *seg_find(uint32_t seq)
{
	for (uint32_t i = 0; i < P.nsegs; i++)
		if (P.segs[i].seq == seq)
			return &P.segs[i];
	return NULL;
}

static void cursor_save(uint32_t i)
{
	char path[320], text[48];
	snprintf(path, sizeof path, "%s/%s.cursor", P.dir, P.names[i]);
	int n = snprintf(text, sizeof text, "%u %u\n", P.cur[i].seg, P.cur[i].off);
	plat_disk_replace(path, text, (size_t)n);
}

/* A cursor must point into the log: before the first segment is its start, past the end is
 * the end. */
static void cursor_clamp(struct spool_pos *c)
{
	const struct seg *first = &P.segs[0], *last = &P.segs[P.nsegs - 1];
	const struct seg *s = seg_find(c->seg);
	if (c->seg < first->seq || (!s && c->seg < last->seq))
		*c = (struct spool_pos){first->seq, 0, 0};
	else if (c->seg > last->seq || (s && c->off > s->size))
		*c = (struct spool_pos){last->seq, last->size, 0};
}

static uint32_t records_from(const struct seg *s, uint32_t off);

static int open_active(void)
{
	char path[320];
	plat_fclose(P.active);
	seg_path(P.dir, P.segs[P.nsegs - 1].seq, path, sizeof path);
	P.active = plat_fopen(path, 1);
	return P.active < 0 ? OP_EIO : 0;
}

static int open_dir(const char *dir, uint64_t max_bytes, uint32_t nsinks,
	const char *const *names)
{
	if (!P.on)
		P.active = P.lock = -1;
	spool_close();
	memset(&P.st, 0, sizeof P.st);
	P.nsegs = 0;
	P.batch_len = 0;
	P.batch_records = 0;
	op_strlcpy(P.dir, dir, sizeof P.dir);
	P.max_bytes = max_bytes;
	P.seg_max = OP_MAX(max_bytes / 16, 65536u);
	P.nsinks = OP_MIN(nsinks, SPOOL_SINKS_MAX);
	char path[320];
	snprintf(path, sizeof path, "%s/format", dir);
	if (plat_file_write_atomic(path, "outpost-spool 1\n", 16) != 0)
		return OP_EIO; /* this also makes the directory */
	snprintf(path, sizeof path, "%s/lock", dir);
	P.lock = plat_file_lock(path); /* a second outpost here would cut the first's records */
	if (P.lock < 0) {
		int rc = P.lock;
		P.lock = -1;
		return rc;
	}
	plat_dir_scan(dir, scan_seg, NULL);
	qsort(P.segs, P.nsegs, sizeof P.segs[0], by_seq);
	for (uint32_t i = 0; i < P.nsegs; i++)
		repair(&P.segs[i]);
	if (!P.nsegs)
		P.segs[P.nsegs++] = (struct seg){.seq = 1};
	if (open_active() != 0) {
		plat_fclose(P.lock);
		P.lock = -1;
		return OP_EIO;
	}
	for (uint32_t i = 0; i < P.nsinks; i++) {
		char text[48];
		op_strlcpy(P.names[i], names[i], sizeof P.names[i]);
		snprintf(path, sizeof path, "%s/%s.cursor", dir, names[i]);
		unsigned seq = 0, off = 0;
		if (plat_file_read(path, text, sizeof text) > 0)
			sscanf(text, "%u %u", &seq, &off);
		P.cur[i] = (struct spool_pos){seq, off, 0};
		cursor_clamp(&P.cur[i]);
		const struct seg *cs = seg_find(P.cur[i].seg);
		if (cs)
			P.cur[i].idx = cs->records - records_from(cs, P.cur[i].off);
	}
	P.on = 1;
	return 0;
}

/* Where the next record appended will be read from: the batch goes to the medium first. */
static struct spool_pos log_end(void)
{
	spool_flush();
	return (struct spool_pos){P.segs[P.nsegs - 1].seq, P.segs[P.nsegs - 1].size, 0};
}

static void remove_spool_file(void *ctx, const char *name, int is_dir)
{
	char path[320], tail[8];
	unsigned n;
	if (is_dir || (sscanf(name, "%8u.%7s", &n, tail) != 2 && !strstr(name, ".cursor")))
		return;
	snprintf(path, sizeof path, "%s/%s", (const char *)ctx, name);
	plat_file_remove(path);
}

/* What the move carries along: the old segment being walked and where in it the record is,
 * the sinks' old cursors, and their new places once reached. */
struct carry {
	uint32_t seq, off, nsinks, mapped; /* mapped: a bit a sink */
	const struct spool_pos *cur;
	struct spool_pos *to;
};

static void carry_rec(void *ctx, int64_t wall_us, const uint8_t *rec, size_t len)
{
	struct carry *c = ctx;
	for (uint32_t k = 0; k < c->nsinks; k++) {
		if (!(c->mapped >> k & 1) && c->cur[k].seg == c->seq && c->cur[k].off <= c->off) {
			c->to[k] = log_end();
			c->mapped |= 1u << k;
		}
	}
	spool_append(wall_us, rec, len);
	c->off += SPOOL_HDR + (uint32_t)len;
}

/* dir's medium failed (a card gone read-only, a disk that answers with I/O errors, or one
 * filled by other files): the log goes on in the spare (memory), so the exports go on. What
 * the sinks have not been sent and can still be read comes along, each cursor landing where
 * its record does, then the batch; beyond the spare's bound the oldest go, counted as dropped
 * as at any bound. 0, or the spare's error (then the spool is off). */
static int move_to_spare(void)
{
	char old[256], names[SPOOL_SINKS_MAX][64];
	const char *np[SPOOL_SINKS_MAX];
	struct spool_pos cur[SPOOL_SINKS_MAX], to[SPOOL_SINKS_MAX];
	uint32_t nsinks = P.nsinks, from = P.segs[P.nsegs - 1].seq + 1, lost = 0, moved = 0;
	op_strlcpy(old, P.dir, sizeof old);
	for (uint32_t k = 0; k < nsinks; k++) {
		op_strlcpy(names[k], P.names[k], sizeof names[k]);
		np[k] = names[k];
		cur[k] = P.cur[k];
		from = OP_MIN(from, cur[k].seg);
	}
	uint32_t first = 0;
	while (first < P.nsegs && P.segs[first].seq < from)
		first++;
	/* the old log's table and batch, while P becomes the spare's (in .bss: no RAM until a
	 * medium fails, and the engine allocates nothing) */
	static struct seg segs[SEGS_MAX];
	static uint8_t batch[OP_SPOOL_BATCH];
	uint32_t nold = P.nsegs - first;
	memcpy(segs, P.segs + first, sizeof *segs * nold);
	size_t batch_len = P.batch_len;
	uint32_t batch_records = P.batch_records;
	memcpy(batch, P.batch, batch_len);
	struct spool_stats st = P.st;
	plat_fclose(P.active);
	plat_fclose(P.lock);
	P.active = P.lock = -1;
	P.on = 0;
	P.batch_len = 0;
	plat_dir_scan(P.spare, remove_spool_file, P.spare); /* a log of an earlier process */
	int rc = open_dir(P.spare, P.spare_max, nsinks, np);
	P.spare[0] = 0; /* one move: the spare's own failure ends in the usual way */
	if (rc == 0) {
		P.st.dropped = st.dropped;
		P.st.corrupt = st.corrupt;
		P.st.appended = st.appended;
		/* each old record, walked in its segment, appended here; a cursor maps to the new
		 * place of the record it points at */
		struct carry c = {.nsinks = nsinks, .cur = cur, .to = to};
		for (uint32_t i = 0; i < nold; i++) {
			/* the first segment from the oldest cursor in it: what is before was sent */
			uint32_t off = UINT32_MAX, n = 0, sent = 0;
			for (uint32_t k = 0; k < nsinks; k++) {
				if (i == 0 && cur[k].seg == segs[i].seq && cur[k].off < off) {
					off = cur[k].off;
					sent = cur[k].idx;
				}
			}
			if (off == UINT32_MAX)
				off = 0;
			c.seq = segs[i].seq;
			c.off = off;
			walk(old, &segs[i], off, segs[i].size, 0, &n, carry_rec, &c);
			moved += n;
			lost += segs[i].records > sent + n ? segs[i].records - sent - n : 0;
		}
		/* cursors at the end, or in what could not be read: before the batch */
		for (uint32_t k = 0; k < nsinks; k++)
			if (!(c.mapped >> k & 1))
				to[k] = log_end();
		for (size_t at = 0; at + SPOOL_HDR <= batch_len;) {
			uint32_t len = get32(batch + at);
			spool_append(rec_wall(batch + at), batch + at + SPOOL_HDR, len);
			at += SPOOL_HDR + len;
		}
		spool_flush();
		for (uint32_t k = 0; k < nsinks; k++) {
			P.cur[k] = to[k];
			cursor_clamp(&P.cur[k]);
			const struct seg *cs = seg_find(P.cur[k].seg);
			P.cur[k].idx = cs ? cs->records - records_from(cs, P.cur[k].off) : 0;
			cursor_save(k);
		}
		P.st.dropped += lost;
		P.st.moved = 1;
		char less[64] = "";
		if (lost)
			snprintf(less, sizeof less, " (less %u that could not be read)", lost);
		fprintf(stderr, "outpost: spool: %s cannot be written: the spool goes on in memory "
			"at %s (up to %llu KiB) with the %u results not yet sent%s\n", old, P.dir,
			(unsigned long long)(P.max_bytes >> 10), moved + batch_records, less);
	} else {
		fprintf(stderr, "outpost: spool: %s cannot be written, nor the spare %s: results are "
			"not exported\n", old, P.dir);
	}
	return rc;
}

int spool_open(const char *dir, uint64_t max_bytes, uint32_t nsinks, const char *const *names,
	const char *spare, uint64_t spare_max)
{
	int rc = open_dir(dir, max_bytes, nsinks, names);
	op_strlcpy(P.spare, spare && strcmp(spare, dir) ? spare : "", sizeof P.spare);
	P.spare_max = spare_max;
	if (rc == 0 || !P.spare[0])
		return rc;
	/* a medium that fails from the start (read-only, not mounted): the spare at once, as it
	 * is (a process before this one may have left its log there) */
	char bad[256];
	op_strlcpy(bad, dir, sizeof bad);
	const char *why = rc == OP_EBUSY ? op_strerror(rc) : "cannot be written";
	rc = open_dir(P.spare, P.spare_max, nsinks, names);
	fprintf(stderr, "outpost: spool: %s: %s: the spool is in memory at %s (up to %llu KiB)%s\n",
		bad, why, P.spare, (unsigned long long)(P.spare_max >> 10),
		rc ? ", which cannot be had either: results are not exported" : "");
	P.spare[0] = 0;
	P.st.moved = 1;
	return rc;
}

void spool_close(void)
{
	if (!P.on)
		return;
	spool_flush();
	if (plat_disk_drain(10000) != 0)
		fprintf(stderr, "outpost: spool: the disk has not finished syncing %s after 10 s\n",
			P.dir);
	plat_fclose(P.active);
	plat_fclose(P.lock);
	P.active = P.lock = -1;
	P.on = 0;
	P.nsinks = 0; /* the figures list no sinks until the next open */
	plat_lock();
	memset(&P.st, 0, sizeof P.st);
	plat_unlock();
	spool_stats(NULL);
}

int spool_on(void)
{
	return P.on;
}

int spool_append(int64_t wall_us, const void *rec, size_t len)
{
	if (!P.on)
		return 0;
	OP_CHECK(len <= REC_MAX, OP_ETOOBIG);
	if (P.batch_len + SPOOL_HDR + len > sizeof P.batch) {
		/* a full batch goes to the medium first; one that cannot loses this record */
		int rc = spool_flush();
		if (rc != 0) {
			P.st.dropped++;
			return rc;
		}
	}
	uint8_t *h = P.batch + P.batch_len;
	put32(h, (uint32_t)len);
	put32(h + 8, (uint32_t)wall_us);
	put32(h + 12, (uint32_t)((uint64_t)wall_us >> 32));
	memcpy(h + SPOOL_HDR, rec, len);
	put32(h + 4, op_crc32(0, h + 8, 8 + len));
	P.batch_len += SPOOL_HDR + len;
	P.batch_records++;
	return 0;
}

/* Records from off to the end of segment s (to count what a drop loses). */
static uint32_t records_from(const struct seg *s, uint32_t off)
{
	uint32_t n = 0;
	walk(P.dir, s, off, s->size, 0, &n, NULL, NULL);
	return n;
}

void spool_each(spool_rec_fn *fn, void *ctx)
{
	for (uint32_t i = 0; P.on && i < P.nsegs; i++) {
		uint32_t n = 0;
		walk(P.dir, &P.segs[i], 0, P.segs[i].size, 0, &n, fn, ctx);
	}
}

/* The oldest segment goes, and what sinks had not read of it is counted as dropped (from the
 * cursors' record counts, as the figures count what is pending: no reading it through). */
static void drop_oldest(void)
{
	struct seg old = P.segs[0];
	uint32_t lost = 0;
	for (uint32_t k = 0; k < P.nsinks; k++)
		if (P.cur[k].seg <= old.seq)
			lost = OP_MAX(lost, old.records - (P.cur[k].seg == old.seq ?
				OP_MIN(P.cur[k].idx, old.records) : 0));
	char path[320];
	seg_path(P.dir, old.seq, path, sizeof path);
	plat_file_remove(path);
	memmove(P.segs, P.segs + 1, sizeof P.segs[0] * --P.nsegs);
	P.st.dropped += lost;
	for (uint32_t k = 0; k < P.nsinks; k++) {
		if (P.cur[k].seg <= old.seq) {
			P.cur[k] = (struct spool_pos){P.segs[0].seq, 0, 0};
			cursor_save(k);
		}
	}
}

/* Over max_bytes: the oldest segments go. */
static void retain(void)
{
	uint64_t total = 0;
	for (uint32_t i = 0; i < P.nsegs; i++)
		total += P.segs[i].size;
	while (P.nsegs > 1 && total > P.max_bytes) {
		total -= P.segs[0].size;
		drop_oldest();
	}
}

/* A new segment takes the appends (a handle on it: P.active). 0 or OP_EIO. */
static int roll(void)
{
	if (P.nsegs == SEGS_MAX)
		return OP_EIO;
	P.segs[P.nsegs] = (struct seg){.seq = P.segs[P.nsegs - 1].seq + 1};
	P.nsegs++;
	return open_active();
}

/* Write the batch at the end of the last segment. The medium full before max_bytes (a disk
 * shared with other files, or max_bytes larger than it): the oldest segment goes, as it would
 * at max_bytes, so the newest results still find room (a sole segment is first closed for a
 * new one, to have something to drop). */
static int write_batch(void)
{
	struct seg *last = &P.segs[P.nsegs - 1];
	if (P.active < 0 && open_active() != 0)
		return OP_EIO;
	int rc = plat_fwrite_at(P.active, last->size, P.batch, P.batch_len);
	if (rc != OP_ENOSPC)
		return rc < 0 ? rc : 0;
	if (P.nsegs == 1 && last->size && roll() != 0)
		return OP_ENOSPC;
	if (P.nsegs > 1) {
		uint64_t total = 0, dropped = P.st.dropped;
		for (uint32_t i = 0; i < P.nsegs; i++)
			total += P.segs[i].size;
		drop_oldest();
		fprintf(stderr, "outpost: spool: %s is full at %llu bytes of segments (spool.max_bytes "
			"is %llu): the oldest segment went to make room, with %llu results not yet "
			"delivered\n", P.dir, (unsigned long long)total,
			(unsigned long long)P.max_bytes, (unsigned long long)(P.st.dropped - dropped));
	}
	last = &P.segs[P.nsegs - 1];
	rc = plat_fwrite_at(P.active, last->size, P.batch, P.batch_len);
	return rc < 0 ? rc : 0;
}

int spool_flush(void)
{
	if (!P.on || !P.batch_len)
		return 0;
	const struct seg *last = &P.segs[P.nsegs - 1];
	int full = last->size && last->size + P.batch_len > P.seg_max && P.nsegs < SEGS_MAX;
	int rc = full && roll() != 0 ? OP_EIO : write_batch();
	char path[320];
	last = &P.segs[P.nsegs - 1];
	seg_path(P.dir, last->seq, path, sizeof path);
	if (rc == 0)
		rc = plat_disk_sync(path);
	if (rc != 0 && P.spare[0])
		return move_to_spare();
	if (rc != 0) {
		if (!P.failing)
			fprintf(stderr, "outpost: spool: cannot write %s: %s; results wait in memory "
				"(%u so far, up to %d KiB), then are lost (outpost_spool_dropped_total)\n",
				path, op_strerror(rc), P.batch_records, OP_SPOOL_BATCH / 1024);
		P.failing = 1;
		return rc;
	}
	if (P.failing)
		fprintf(stderr, "outpost: spool: writing %s again\n", path);
	P.failing = 0;
	P.segs[P.nsegs - 1].size += (uint32_t)P.batch_len;
	P.segs[P.nsegs - 1].records += P.batch_records;
	P.st.appended += P.batch_records;
	P.batch_len = 0;
	P.batch_records = 0;
	retain();
	return 0;
}

int spool_read(uint32_t sink, uint8_t *buf, size_t cap, uint32_t max, struct spool_batch *b)
{
	b->n = 0;
	if (!P.on || sink >= P.nsinks)
		return 0;
	struct spool_pos pos = P.cur[sink];
	size_t used = 0;
	int f = -1;
	uint32_t fseq = 0;
	max = OP_MIN(max, (uint32_t)OP_ARRAY_LEN(b->at));
	while (b->n < max) {
		const struct seg *s = seg_find(pos.seg);
		if (!s)
			break;
		if (pos.off >= s->size) {
			if (s == &P.segs[P.nsegs - 1])
				break;
			pos = (struct spool_pos){(s + 1)->seq, 0, 0};
			continue;
		}
		if (f < 0 || fseq != s->seq) {
			char path[320];
			plat_fclose(f);
			seg_path(P.dir, s->seq, path, sizeof path);
			f = plat_fopen(path, 0);
			fseq = s->seq;
			if (f < 0)
				break;
		}
		uint8_t h[SPOOL_HDR];
		if (plat_fread_at(f, pos.off, h, SPOOL_HDR) != SPOOL_HDR)
			break;
		int len = rec_len(h, pos.off, s->size);
		if (len < 0 || used + (size_t)len > cap ||
			plat_fread_at(f, pos.off + SPOOL_HDR, buf + used, (size_t)len) != len)
			break;
		b->at[b->n] = (uint32_t)used;
		b->len[b->n] = (uint32_t)len;
		b->wall_us[b->n] = rec_wall(h);
		b->n++;
		used += (size_t)len;
		pos.off += SPOOL_HDR + (uint32_t)len;
		pos.idx++;
	}
	plat_fclose(f);
	b->end = pos;
	return (int)b->n;
}

void spool_ack(uint32_t sink, const struct spool_batch *b)
{
	if (!P.on || sink >= P.nsinks || !b->n)
		return;
	P.cur[sink] = b->end;
	/* the batch's segment was dropped while it was on its way (a backlog drained while the
	 * spool is full): go on from the oldest segment left, not from one that is gone */
	if (P.cur[sink].seg < P.segs[0].seq)
		P.cur[sink] = (struct spool_pos){P.segs[0].seq, 0, 0};
	cursor_save(sink);
}

void spool_note(uint32_t sink, uint64_t sent, uint64_t failed, uint64_t refused,
	const struct delivery_state *d)
{
	if (sink < SPOOL_SINKS_MAX) {
		P.st.sent[sink] = sent;
		P.st.failed[sink] = failed;
		P.st.refused[sink] = refused;
		P.st.delivery[sink] = *d;
	}
}

void spool_stats(struct spool_stats *out)
{
	/* computed on the engine thread (out NULL), copied under the lock by other threads: the
	 * figures read the engine's segment table and the disk, which a web thread must not */
	static struct spool_stats pub;
	if (!out) {
		struct spool_stats s = P.st;
		s.nsinks = P.nsinks;
		memcpy(s.names, P.names, sizeof s.names);
		s.bytes = 0;
		for (uint32_t i = 0; i < P.nsegs; i++)
			s.bytes += P.segs[i].size;
		for (uint32_t k = 0; k < P.nsinks; k++) {
			uint64_t pend = 0, recs = 0;
			for (uint32_t i = 0; i < P.nsegs; i++) {
				if (P.segs[i].seq > P.cur[k].seg) {
					pend += P.segs[i].size;
					recs += P.segs[i].records;
				} else if (P.segs[i].seq == P.cur[k].seg) {
					pend += P.segs[i].size - OP_MIN(P.cur[k].off, P.segs[i].size);
					recs += P.segs[i].records - OP_MIN(P.cur[k].idx, P.segs[i].records);
				}
			}
			s.pending_bytes[k] = pend;
			s.pending_records[k] = recs;
			s.oldest_pending_us[k] = 0;
			if (pend && P.on) {
				struct spool_batch one;
				static uint8_t tmp[REC_MAX];
				if (spool_read(k, tmp, sizeof tmp, 1, &one) == 1)
					s.oldest_pending_us[k] = one.wall_us[0];
			}
		}
		plat_lock();
		pub = s;
		plat_unlock();
		return;
	}
	plat_lock();
	*out = pub;
	plat_unlock();
}
