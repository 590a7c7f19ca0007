/* test_spool.c: the spool on a temporary directory: framing and CRC, cursors that survive a
 * reopen, a torn tail and a flipped byte cut at the last good record, the oldest segments
 * dropped (and counted) beyond max_bytes. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "t.h"
#include "../../core/op.h"
#include "../../core/spool.h"
#include "../../platform/plat.h"

static char dir[64];
static const char *names[] = {"a", "b"};

static void cleanup(void)
{
	char cmd[128];
	if (dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			abort();
	}
}

static void fresh(void)
{
	char cmd[128];
	cleanup();
	snprintf(dir, sizeof dir, "/tmp/outpost-spool-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(cmd, sizeof cmd, "rm -rf %s/*", dir);
	if (system(cmd) != 0)
		abort();
}

static void put(int from, int to)
{
	for (int i = from; i < to; i++) {
		char rec[64];
		int n = snprintf(rec, sizeof rec, "record %05d", i);
		spool_append(1000000 + i, rec, (size_t)n);
	}
	spool_flush();
}

/* Read everything sink s has, acking as it goes; returns the count and the last number. */
/* The figures as the engine computes them and another thread reads them. */
static void figures(struct spool_stats *st)
{
	spool_stats(NULL);
	spool_stats(st);
}

static int drain(uint32_t s, int *last)
{
	static uint8_t buf[65536];
	struct spool_batch b;
	int total = 0;
	while (spool_read(s, buf, sizeof buf, 100, &b) > 0) {
		for (uint32_t i = 0; i < b.n; i++) {
			int v;
			if (sscanf((char *)buf + b.at[i], "record %5d", &v) == 1)
				*last = v;
			if (b.wall_us[i] != 1000000 + v)
				return -1;
		}
		total += (int)b.n;
		spool_ack(s, &b);
	}
	return total;
}

static void test_cursors_survive_a_reopen(void)
{
	fresh();
	ASSERT_EQ(spool_open(dir, 1 << 20, 2, names, NULL, 0), 0);
	put(0, 500);
	int last = -1;
	ASSERT_EQ(drain(0, &last), 500);
	ASSERT_EQ(last, 499);
	spool_close();
	ASSERT_EQ(spool_open(dir, 1 << 20, 2, names, NULL, 0), 0);
	put(500, 600);
	last = -1;
	ASSERT_EQ(drain(0, &last), 100); /* only the new ones: nothing twice */
	ASSERT_EQ(last, 599);
	struct spool_stats st;
	figures(&st);
	ASSERT_EQ(st.pending_records[0], 0);
	ASSERT_EQ(st.pending_records[1], 600);
	ASSERT_EQ(drain(1, &last), 600); /* the other sink has everything */
	spool_close();
	/* a cursor in the middle of a segment counts what is left after a reopen */
	ASSERT_EQ(spool_open(dir, 1 << 20, 2, names, NULL, 0), 0);
	put(600, 650);
	static uint8_t buf[4096];
	struct spool_batch b;
	ASSERT_EQ(spool_read(0, buf, sizeof buf, 20, &b), 20);
	spool_ack(0, &b);
	spool_close();
	ASSERT_EQ(spool_open(dir, 1 << 20, 2, names, NULL, 0), 0);
	figures(&st);
	ASSERT_EQ(st.pending_records[0], 30);
	ASSERT_EQ(st.pending_records[1], 50);
	/* another thread only copies what the engine last computed: it reads neither the segment
	 * table nor the disk (the engine owns both) */
	put(650, 660);
	spool_stats(&st);
	ASSERT_EQ(st.pending_records[1], 50);
	figures(&st);
	ASSERT_EQ(st.pending_records[1], 60);
	spool_close();
}

static void test_torn_tail_and_flipped_byte_are_cut(void)
{
	fresh();
	ASSERT_EQ(spool_open(dir, 1 << 20, 1, names, NULL, 0), 0);
	put(0, 100);
	spool_close();
	char path[128];
	snprintf(path, sizeof path, "%s/00000001.seg", dir);
	int64_t size = plat_file_size(path);
	ASSERT(size > 0);
	/* a torn write: half of the last record */
	ASSERT_EQ(plat_ftruncate(path, (uint64_t)size - 7), 0);
	ASSERT_EQ(spool_open(dir, 1 << 20, 1, names, NULL, 0), 0);
	int last = -1;
	ASSERT_EQ(drain(0, &last), 99);
	ASSERT_EQ(last, 98);
	struct spool_stats st;
	figures(&st);
	ASSERT_EQ(st.corrupt, 1);
	spool_close();
	/* a flipped byte in record 50's payload: the segment is cut before it */
	FILE *f = fopen(path, "r+b");
	ASSERT(f);
	fseek(f, 50 * (16 + 12) + 16 + 3, SEEK_SET);
	fputc('X', f);
	fclose(f);
	ASSERT_EQ(spool_open(dir, 1 << 20, 1, names, NULL, 0), 0);
	ASSERT_EQ(plat_file_size(path), 50 * (16 + 12));
	spool_close();
}

/* Every record the medium holds, oldest first, across segments and a reopen, without a sink
 * (the history a restart reads back). */
static int each_next, each_bad;
static void each_one(void *ctx, int64_t wall_us, const uint8_t *rec, size_t len)
{
	(void)ctx;
	char want[32];
	int n = snprintf(want, sizeof want, "record %05d", each_next);
	each_bad += wall_us != 1000000 + each_next || len != (size_t)n || memcmp(rec, want, len);
	each_next++;
}

static void test_each_record_oldest_first(void)
{
	fresh();
	ASSERT_EQ(spool_open(dir, 1 << 20, 0, names, NULL, 0), 0);
	for (int k = 0; k < 6; k++)
		put(k * 1000, (k + 1) * 1000); /* 168 KB: three segments */
	spool_close();
	ASSERT_EQ(spool_open(dir, 1 << 20, 0, names, NULL, 0), 0);
	spool_append(5, "not flushed", 11);
	spool_each(each_one, NULL);
	ASSERT_EQ(each_next, 6000);
	ASSERT_EQ(each_bad, 0);
	spool_close();
}

static void test_oldest_segments_go_and_are_counted(void)
{
	fresh();
	/* 64 KiB segments (the minimum) in 128 KiB: writing ~280 KB keeps two or three */
	ASSERT_EQ(spool_open(dir, 128 << 10, 1, names, NULL, 0), 0);
	for (int k = 0; k < 10; k++)
		put(k * 1000, (k + 1) * 1000);
	struct spool_stats st;
	figures(&st);
	ASSERT(st.bytes <= (128 << 10) + 65536);
	int last = -1, got = drain(0, &last);
	ASSERT_EQ(last, 9999);
	figures(&st);
	ASSERT_EQ((uint64_t)got + st.dropped, 10000); /* every record delivered or counted */
	ASSERT(st.dropped > 0);
	spool_close();
}

/* A batch read from the oldest segment is acknowledged after that segment was dropped (a
 * backlog drained while the spool is full): the cursor goes to the oldest segment left, and
 * reading goes on. */
static void test_an_ack_into_a_dropped_segment(void)
{
	fresh();
	ASSERT_EQ(spool_open(dir, 128 << 10, 1, names, NULL, 0), 0);
	put(0, 3000);
	static uint8_t buf[4096];
	struct spool_batch b;
	ASSERT_EQ(spool_read(0, buf, sizeof buf, 20, &b), 20);
	struct spool_stats st;
	figures(&st);
	uint64_t dropped = st.dropped;
	put(3000, 9000); /* the batch's segment goes while the batch is "in flight" */
	figures(&st);
	ASSERT(st.dropped > dropped);
	spool_ack(0, &b);
	ASSERT(spool_read(0, buf, sizeof buf, 20, &b) == 20);
	int last = -1;
	ASSERT(drain(0, &last) > 0);
	ASSERT_EQ(last, 8999);
	spool_close();
}

/* Read and ack n records of sink s (in batches of 100); returns the last number. */
static int take(uint32_t s, int n)
{
	static uint8_t buf[65536];
	struct spool_batch b;
	int last = -1;
	for (; n > 0; n -= 100) {
		if (spool_read(s, buf, sizeof buf, (uint32_t)OP_MIN(n, 100), &b) <= 0)
			return -1;
		sscanf((char *)buf + b.at[b.n - 1], "record %5d", &last);
		spool_ack(s, &b);
	}
	return last;
}

/* The medium fails under the spool: every descriptor this process holds on a file in d now
 * refuses writes (a card gone read-only). */
static void fail_medium(const char *d)
{
	DIR *fds = opendir("/proc/self/fd");
	struct dirent *e;
	while (fds && (e = readdir(fds))) {
		char link[64], path[256];
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(link, path, sizeof path - 1);
		if (n <= 0)
			continue;
		path[n] = 0;
		if (!strncmp(path, d, strlen(d)) && strstr(path, ".seg")) {
			int ro = open(path, O_RDONLY);
			dup2(ro, atoi(e->d_name));
			close(ro);
		}
	}
	if (fds)
		closedir(fds);
}

/* The medium fails with two sinks at different places and records in the batch: the log goes
 * on in the spare, each sink gets exactly what it had not, then the new records; nothing is
 * counted lost. */
static void test_a_failed_medium_moves_the_log_to_the_spare(void)
{
	char spare[64] = "/tmp/outpost-spare-XXXXXX", cmd[128];
	fresh();
	ASSERT(mkdtemp(spare) != NULL);
	ASSERT_EQ(spool_open(dir, 1 << 20, 2, names, spare, 1 << 20), 0);
	put(0, 3000); /* two segments */
	ASSERT_EQ(take(0, 1000), 999);
	ASSERT_EQ(take(1, 2500), 2499);
	for (int i = 3000; i < 3100; i++) { /* in the batch, not on the medium yet */
		char rec[64];
		int n = snprintf(rec, sizeof rec, "record %05d", i);
		spool_append(1000000 + i, rec, (size_t)n);
	}
	fail_medium(dir);
	ASSERT_EQ(spool_flush(), 0);
	struct spool_stats st;
	figures(&st);
	ASSERT_EQ(st.moved, 1);
	ASSERT_EQ(st.dropped, 0);
	ASSERT_EQ(st.pending_records[0], 2100);
	ASSERT_EQ(st.pending_records[1], 600);
	int last = -1;
	ASSERT_EQ(take(0, 1), 1000);
	ASSERT_EQ(drain(0, &last), 2099);
	ASSERT_EQ(last, 3099);
	ASSERT_EQ(take(1, 1), 2500);
	ASSERT_EQ(drain(1, &last), 599);
	put(3100, 3200);
	ASSERT_EQ(drain(0, &last), 100);
	ASSERT_EQ(last, 3199);
	ASSERT_EQ(drain(1, &last), 100);
	spool_close(); /* cursors are written by the disk thread: the close waits for it */
	snprintf(cmd, sizeof cmd, "test -f %s/00000001.seg && test -f %s/a.cursor", spare, spare);
	ASSERT_EQ(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", spare);
	ASSERT_EQ(system(cmd), 0);
}

/* One process a spool: while it is open its directory's lock is held. */
static void test_an_open_spool_is_locked(void)
{
	char path[128];
	fresh();
	snprintf(path, sizeof path, "%s/lock", dir);
	ASSERT_EQ(spool_open(dir, 1 << 20, 1, names, NULL, 0), 0);
	ASSERT_EQ(plat_file_lock(path), OP_EBUSY);
	spool_close();
	int h = plat_file_lock(path);
	ASSERT(h >= 0);
	ASSERT_EQ(spool_open(dir, 1 << 20, 1, names, NULL, 0), OP_EBUSY);
	plat_fclose(h);
	ASSERT_EQ(spool_open(dir, 1 << 20, 1, names, NULL, 0), 0);
	spool_close();
}

int main(void)
{
	RUN(test_cursors_survive_a_reopen);
	RUN(test_torn_tail_and_flipped_byte_are_cut);
	RUN(test_each_record_oldest_first);
	RUN(test_oldest_segments_go_and_are_counted);
	RUN(test_an_ack_into_a_dropped_segment);
	RUN(test_a_failed_medium_moves_the_log_to_the_spare);
	RUN(test_an_open_spool_is_locked);
	cleanup();
	return T_DONE();
}
