/* test_disk.c: the disk worker: the newest bytes of a path win, a queue fuller than its 16
 * slots still lands every file, big payloads share their buffer safely, removed files and
 * oversize jobs are handled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../../core/op.h"
#include "../../platform/plat.h"
#include "t.h"

static char dir[64];

static void test_newest_replace_wins(void)
{
	char path[128], text[32], got[32];
	snprintf(path, sizeof path, "%s/cursor", dir);
	for (int i = 0; i < 200; i++) {
		int n = snprintf(text, sizeof text, "%d\n", i);
		ASSERT_EQ(plat_disk_replace(path, text, (size_t)n), 0);
	}
	ASSERT_EQ(plat_disk_drain(10000), 0);
	ASSERT(plat_file_read(path, got, sizeof got) > 0);
	ASSERT_STR_EQ(got, "199\n");
	uint32_t pending;
	plat_disk_stats(&pending);
	ASSERT_EQ(pending, 0);
}

static void test_more_files_than_slots(void)
{
	char path[128], text[32], got[32];
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof path, "%s/f%02d", dir, i);
		int n = snprintf(text, sizeof text, "file %d\n", i);
		ASSERT_EQ(plat_disk_replace(path, text, (size_t)n), 0);
		ASSERT_EQ(plat_disk_sync(path), 0);
	}
	ASSERT_EQ(plat_disk_drain(10000), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof path, "%s/f%02d", dir, i);
		snprintf(text, sizeof text, "file %d\n", i);
		ASSERT(plat_file_read(path, got, sizeof got) > 0);
		ASSERT_STR_EQ(got, text);
	}
}

/* Payloads over 256 bytes share one buffer: the newest of a path wins, a small one after a big
 * one takes its place, and two paths' big payloads both land. */
static void test_big_payloads(void)
{
	static char text[PLAT_DISK_JOB_BYTES], got[PLAT_DISK_JOB_BYTES];
	char a[128], b[128];
	snprintf(a, sizeof a, "%s/alarms-a", dir);
	snprintf(b, sizeof b, "%s/alarms-b", dir);
	for (int i = 0; i < 50; i++) {
		memset(text, 'a' + i % 26, sizeof text - 1);
		ASSERT_EQ(plat_disk_replace(a, text, sizeof text - 1), 0);
		memset(text, 'A' + i % 26, 1000);
		ASSERT_EQ(plat_disk_replace(b, text, 1000), 0);
	}
	ASSERT_EQ(plat_disk_replace(b, "small\n", 6), 0);
	ASSERT_EQ(plat_disk_drain(10000), 0);
	ASSERT_EQ(plat_file_read(a, got, sizeof got), (int)sizeof got - 1);
	ASSERT(got[0] == 'a' + 49 % 26 && got[sizeof got - 2] == 'a' + 49 % 26);
	ASSERT(plat_file_read(b, got, sizeof got) > 0);
	ASSERT_STR_EQ(got, "small\n");
}

static void test_removed_and_oversize(void)
{
	char path[128];
	static char big[PLAT_DISK_JOB_BYTES + 1];
	snprintf(path, sizeof path, "%s/gone", dir);
	ASSERT_EQ(plat_disk_sync(path), 0); /* never made: nothing to keep, no error */
	ASSERT_EQ(plat_disk_drain(10000), 0);
	ASSERT_EQ(plat_disk_replace(path, big, sizeof big), OP_ETOOBIG);
	ASSERT_EQ(plat_file_read(path, big, sizeof big), OP_ENOENT);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/outpost-disk-%d", (int)getpid());
	RUN(test_newest_replace_wins);
	RUN(test_more_files_than_slots);
	RUN(test_big_payloads);
	RUN(test_removed_and_oversize);
	char cmd[96];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return T_DONE();
}
