/* disk.c: durability off the engine thread. A worn flash card can take a second to sync a
 * file, and the loop must not wait that long, so syncs and small atomic replaces go to one
 * worker thread, in order. Jobs are keyed by path: a job that has not begun takes a newer
 * request for the same path, so a slow medium sees each file once per pass however often the
 * loop asks. The loop reads and appends through the page cache and never waits here, except
 * in plat_disk_drain (shutdown, reload). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../../core/op.h"
#include "../plat.h"

#define JOBS 16

struct job {
	char path[320];
	uint8_t buf[PLAT_DISK_JOB_BYTES];
	uint16_t len;
	uint8_t replace; /* 1: replace path with buf; 0: sync path's data */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a job queued, or one done */
	struct job q[JOBS];
	uint32_t head, n; /* queued, not begun */
	int busy, started;
	uint64_t max_us;
} D = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int do_job(const struct job *j)
{
	if (j->replace)
		return plat_file_write_atomic(j->path, j->buf, j->len);
	int fd = open(j->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : OP_EIO; /* removed meanwhile: nothing left to keep */
	int rc = fdatasync(fd);
	close(fd);
	return rc == 0 ? 0 : OP_EIO;
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&D.mu);
	for (;;) {
		while (!D.n)
			pthread_cond_wait(&D.cv, &D.mu);
		struct job j = D.q[D.head];
		D.head = (D.head + 1) % JOBS;
		D.n--;
		D.busy = 1;
		pthread_mutex_unlock(&D.mu);
		uint64_t t0 = plat_now_us();
		if (do_job(&j) != 0)
			fprintf(stderr, "outpost: cannot %s %s\n", j.replace ? "write" : "sync", j.path);
		uint64_t took = plat_now_us() - t0;
		pthread_mutex_lock(&D.mu);
		D.busy = 0;
		if (took > D.max_us)
			D.max_us = took;
		pthread_cond_broadcast(&D.cv);
	}
	return NULL;
}

/* With D.mu held. */
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

static struct timespec deadline(uint32_t ms)
{
	struct timespec end;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (long)(ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	return end;
}

/* A job not begun for path, or NULL. With D.mu held. */
static struct job *queued(const char *path, int replace)
{
	for (uint32_t i = 0; i < D.n; i++) {
		struct job *q = &D.q[(D.head + i) % JOBS];
		if (q->replace == replace && !strcmp(q->path, path))
			return q;
	}
	return NULL;
}

static int queue(const char *path, const void *buf, size_t len, int replace)
{
	if (len > PLAT_DISK_JOB_BYTES || strlen(path) >= sizeof D.q[0].path)
		return OP_ETOOBIG;
	pthread_mutex_lock(&D.mu);
	struct job *j = queued(path, replace);
	/* full (sixteen files waiting on a dead medium): wait for a slot rather than write beside
	 * the worker; after 10 s the caller does it itself */
	if (!j && D.n == JOBS && D.started) {
		struct timespec end = deadline(10000);
		while (!j && D.n == JOBS && pthread_cond_timedwait(&D.cv, &D.mu, &end) == 0)
			j = queued(path, replace);
	}
	if (!j && D.n < JOBS && start_worker() == 0) {
		j = &D.q[(D.head + D.n++) % JOBS];
		op_strlcpy(j->path, path, sizeof j->path);
		j->replace = (uint8_t)replace;
	}
	if (j && replace) {
		memcpy(j->buf, buf, len);
		j->len = (uint16_t)len;
	}
	if (j)
		pthread_cond_broadcast(&D.cv);
	pthread_mutex_unlock(&D.mu);
	return j ? 0 : OP_ENOMEM;
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
	struct timespec end = deadline(ms);
	pthread_mutex_lock(&D.mu);
	int rc = 0;
	while ((D.n || D.busy) && rc == 0)
		rc = pthread_cond_timedwait(&D.cv, &D.mu, &end);
	int left = (int)D.n + D.busy;
	pthread_mutex_unlock(&D.mu);
	return left ? OP_ETIMEDOUT : 0;
}

uint64_t plat_disk_stats(uint32_t *pending)
{
	pthread_mutex_lock(&D.mu);
	*pending = D.n + (uint32_t)D.busy;
	uint64_t max = D.max_us;
	pthread_mutex_unlock(&D.mu);
	return max;
}
