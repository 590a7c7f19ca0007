/* test_spool.c: the spool on a temporary directory: framing and CRC, cursors that survive a
 * reopen, a torn tail and a flipped byte cut at the last good record, the oldest segments
 * dropped (and counted) beyond max_bytes. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
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
	ASSERT_EQ(spool_open(dir, 1 << 20, 2, names), 0);
	put(0, 500);
	int last = -1;
	ASSERT_EQ(drain(0, &last), 500);
	ASSERT_EQ(last, 499);
	spool_close();
	ASSERT_EQ(spool_open(dir, 1 << 20, 2, names), 0);
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
	ASSERT_EQ(spool_open(dir, 1 << 20, 2, names), 0);
	put(600, 650);
	static uint8_t buf[4096];
	struct spool_batch b;
	ASSERT_EQ(spool_read(0, buf, sizeof buf, 20, &b), 20);
	spool_ack(0, &b);
	spool_close();
	ASSERT_EQ(spool_open(dir, 1 << 20, 2, names), 0);
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
	ASSERT_EQ(spool_open(dir, 1 << 20, 1, names), 0);
	put(0, 100);
	spool_close();
	char path[128];
	snprintf(path, sizeof path, "%s/00000001.seg", dir);
	int64_t size = plat_file_size(path);
	ASSERT(size > 0);
	/* a torn write: half of the last record */
	ASSERT_EQ(plat_ftruncate(path, (uint64_t)size - 7), 0);
	ASSERT_EQ(spool_open(dir, 1 << 20, 1, names), 0);
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
	ASSERT_EQ(spool_open(dir, 1 << 20, 1, names), 0);
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
	ASSERT_EQ(spool_open(dir, 1 << 20, 0, names), 0);
	for (int k = 0; k < 6; k++)
		put(k * 1000, (k + 1) * 1000); /* 168 KB: three segments */
	spool_close();
	ASSERT_EQ(spool_open(dir, 1 << 20, 0, names), 0);
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
	ASSERT_EQ(spool_open(dir, 128 << 10, 1, names), 0);
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
	ASSERT_EQ(spool_open(dir, 128 << 10, 1, names), 0);
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

int main(void)
{
	RUN(test_cursors_survive_a_reopen);
	RUN(test_torn_tail_and_flipped_byte_are_cut);
	RUN(test_each_record_oldest_first);
	RUN(test_oldest_segments_go_and_are_counted);
	RUN(test_an_ack_into_a_dropped_segment);
	cleanup();
	return T_DONE();
}
