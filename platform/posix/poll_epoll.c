/* poll_epoll.c: the poller on Linux epoll (level-triggered, like poll, so the two behave the
 * same for core). */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "../../core/op.h"
#include "../plat.h"

static int epfd = -1;
/* Which descriptors are in the interest list, so a change is one epoll_ctl, not a failed MOD
 * and an ADD. Descriptors past the map take the two-call path. */
#define REG_FDS 65536
static uint8_t reg[REG_FDS / 8];

static int registered(int fd)
{
	return fd < REG_FDS ? (reg[fd / 8] >> (fd % 8)) & 1 : -1;
}

static void mark(int fd, int on)
{
	if (fd >= REG_FDS)
		return;
	if (on)
		reg[fd / 8] |= (uint8_t)(1u << (fd % 8));
	else
		reg[fd / 8] &= (uint8_t)~(1u << (fd % 8));
}

const char *plat_poll_name(void)
{
	return "epoll";
}

int plat_poll_init(int max_fds)
{
	(void)max_fds; /* the kernel holds the interest list */
	if (epfd < 0)
		epfd = epoll_create1(EPOLL_CLOEXEC);
	return epfd < 0 ? OP_ENOMEM : 0;
}

void plat_poll_deinit(void)
{
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
	for (size_t i = 0; i < sizeof reg; i++)
		reg[i] = 0;
}

int plat_poll_set(int fd, unsigned mask, void *udata)
{
	int on = registered(fd);
	if (mask == 0) {
		mark(fd, 0);
		if (on == 0)
			return 0;
		return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) == 0 || errno == ENOENT ? 0 : OP_EIO;
	}
	struct epoll_event ev = {.events = ((mask & PLAT_READ) ? EPOLLIN : 0) |
		((mask & PLAT_WRITE) ? EPOLLOUT : 0), .data.ptr = udata};
	if (on != 0 && epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	if ((on == 0 || errno == ENOENT) && epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
		mark(fd, 1);
		return 0;
	}
	return errno == ENOMEM || errno == ENOSPC ? OP_ENOMEM : OP_EIO;
}

void plat_poll_forget(int fd)
{
	/* close() takes the descriptor out of the epoll set (it is never duplicated here) */
	mark(fd, 0);
}

int plat_poll_wait(struct plat_event *out, int cap, int64_t timeout_us)
{
	struct epoll_event ev[64];
	if (cap > 64)
		cap = 64;
	/* round up, so a timer due in 300 µs is not polled for with a 0 ms busy loop */
	int ms = timeout_us < 0 ? -1 : (int)((timeout_us + 999) / 1000);
	int n = epoll_wait(epfd, ev, cap, ms);
	if (n < 0)
		return 0; /* EINTR: a signal; the self-pipe reports it */
	for (int i = 0; i < n; i++) {
		unsigned e = 0;
		if (ev[i].events & EPOLLIN)
			e |= PLAT_READ;
		if (ev[i].events & EPOLLOUT)
			e |= PLAT_WRITE;
		if (ev[i].events & (EPOLLERR | EPOLLHUP))
			e |= PLAT_ERROR | PLAT_READ | PLAT_WRITE;
		out[i].udata = ev[i].data.ptr;
		out[i].events = e;
	}
	return n;
}
