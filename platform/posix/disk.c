/* disk.c: durability off the engine thread. A worn flash card can take a second to sync a
 * file, and the loop must not wait that long, so syncs and atomic replaces go to one worker
 * thread, in order. Jobs are keyed by path: a job that has not begun takes a newer
 * request for the same path, so a slow medium sees each file once per pass however often the
 * loop asks. The loop reads and appends through the page cache and never waits here, except
 * in plat_disk_drain (shutdown, reload). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "../../core/op.h"
#include "../plat.h"

#define JOBS 16

/* Small payloads (the spool's cursors) ride in their job. A bigger one (the alarm state) goes
 * to the one shared buffer D.big: the worker copies it out when it begins that job, so the
 * next big payload never waits for a slow write, only for one not yet begun of another path. */
#define SMALL 256

struct job {
	char path[320];
	uint8_t buf[SMALL];
	uint32_t len;
	uint8_t replace; /* 1: replace path with the payload; 0: sync path's data */
	uint8_t in_big;  /* the payload is in D.big */
};

/* Guarded by plat_lock and waited on with plat_cond_wait: the one lock the loop shares with
 * other threads, held here only to move a job in or out. */
static struct {
	struct job q[JOBS];
	uint32_t head, n; /* queued, not begun */
	int busy, started;
	uint64_t max_us;
	int big_queued; /* a job not begun has its payload in big */
	uint8_t big[PLAT_DISK_JOB_BYTES];
} D;

static uint8_t taken[PLAT_DISK_JOB_BYTES]; /* the worker's copy of D.big while it writes */

static int do_job(const struct job *j, const void *payload)
{
	if (j->replace)
		return plat_file_write_atomic(j->path, payload, j->len);
	int h = plat_fopen(j->path, 0);
	if (h == OP_ENOENT)
		return 0; /* removed meanwhile: nothing left to keep */
	int rc = h < 0 ? h : plat_fsync(h);
	plat_fclose(h);
	return rc;
}

static void *worker(void *arg)
{
	(void)arg;
	plat_lock();
	for (;;) {
		while (!D.n)
			plat_cond_wait(3600 * 1000000ull);
		struct job j = D.q[D.head];
		D.head = (D.head + 1) % JOBS;
		D.n--;
		D.busy = 1;
		const void *payload = j.buf;
		if (j.in_big) {
			memcpy(taken, D.big, j.len);
			D.big_queued = 0;
			payload = taken;
		}
		plat_unlock();
		uint64_t t0 = plat_now_us();
		if (do_job(&j, payload) != 0)
			fprintf(stderr, "outpost: cannot %s %s\n", j.replace ? "write" : "sync", j.path);
		uint64_t took = plat_now_us() - t0;
		plat_lock();
		D.busy = 0;
		if (took > D.max_us)
			D.max_us = took;
		plat_cond_broadcast();
	}
	return NULL;
}

/* With plat_lock held. */
static int start_worker(void)
{
	if (D.started)
		return 0;
	pthread_attr_t a;
	pthread_t t;
	sigset_t all, old;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay the loop's */
	int rc = pthread_create(&t, &a, worker, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	D.started = rc == 0;
	return rc == 0 ? 0 : OP_ENOMEM;
}

/* A job not begun for path, or NULL. With plat_lock held. */
static struct job *queued(const char *path, int replace)
{
	for (uint32_t i = 0; i < D.n; i++) {
		struct job *q = &D.q[(D.head + i) % JOBS];
		if (q->replace == replace && !strcmp(q->path, path))
			return q;
	}
	return NULL;
}

/* With plat_lock held: whether a request for path must wait for the worker (the queue is full,
 * or the big buffer holds another path's payload not yet begun); *j gets path's job not begun. */
static int must_wait(const char *path, int replace, int big, struct job **j)
{
	*j = queued(path, replace);
	return (!*j && D.n == JOBS) || (big && D.big_queued && !(*j && (*j)->in_big));
}

static int queue(const char *path, const void *buf, size_t len, int replace)
{
	if (len > PLAT_DISK_JOB_BYTES || strlen(path) >= sizeof D.q[0].path)
		return OP_ETOOBIG;
	int big = len > SMALL;
	uint64_t end = plat_now_us() + 10000000;
	struct job *j;
	plat_lock();
	/* rather than write beside the worker (sixteen files waiting on a dead medium), wait;
	 * after 10 s it is done here */
	int ok = start_worker() == 0;
	while (ok && must_wait(path, replace, big, &j)) {
		uint64_t now = plat_now_us();
		ok = now < end;
		if (ok)
			plat_cond_wait(end - now);
	}
	if (ok && !j) {
		j = &D.q[(D.head + D.n++) % JOBS];
		*j = (struct job){.replace = (uint8_t)replace};
		op_strlcpy(j->path, path, sizeof j->path);
	}
	if (ok && replace) {
		if (j->in_big && !big)
			D.big_queued = 0;
		j->in_big = (uint8_t)big;
		D.big_queued |= big;
		memcpy(big ? D.big : j->buf, buf, len);
		j->len = (uint32_t)len;
	}
	if (ok)
		plat_cond_broadcast();
	plat_unlock();
	if (ok)
		return 0;
	/* no worker, or still waiting after 10 s: done here, on the caller's time */
	struct job here = {.replace = (uint8_t)replace, .len = (uint32_t)len};
	op_strlcpy(here.path, path, sizeof here.path);
	return do_job(&here, buf);
}

int plat_disk_sync(const char *path)
{
	return queue(path, NULL, 0, 0);
}

int plat_disk_replace(const char *path, const void *buf, size_t len)
{
	return queue(path, buf, len, 1);
}

int plat_disk_drain(uint32_t ms)
{
	uint64_t end = plat_now_us() + ms * 1000ull;
	plat_lock();
	for (uint64_t now = plat_now_us(); (D.n || D.busy) && now < end; now = plat_now_us())
		plat_cond_wait(end - now);
	int done = !D.n && !D.busy;
	plat_unlock();
	return done ? 0 : OP_ETIMEDOUT;
}

uint64_t plat_disk_stats(uint32_t *pending)
{
	plat_lock();
	*pending = D.n + (uint32_t)D.busy;
	uint64_t max = D.max_us;
	plat_unlock();
	return max;
}
