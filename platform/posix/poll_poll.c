/* poll_poll.c: the poller on poll(2), the interface lwIP also offers; a board without epoll
 * picks this one. O(n) per wait over a compact array reserved at init. */
#include <errno.h>
#include <poll.h>
#include "../../core/op.h"
#include "../plat.h"

static struct pollfd *fds;
static void **udatas;
static int nfds, capfds;

const char *plat_poll_name(void)
{
	return "poll";
}

int plat_poll_init(int max_fds)
{
	plat_poll_deinit();
	fds = plat_alloc(sizeof *fds * (size_t)max_fds);
	udatas = plat_alloc(sizeof *udatas * (size_t)max_fds);
	if (!fds || !udatas) {
		plat_poll_deinit();
		return OP_ENOMEM;
	}
	capfds = max_fds;
	return 0;
}

void plat_poll_deinit(void)
{
	plat_free(fds);
	plat_free(udatas);
	fds = NULL;
	udatas = NULL;
	nfds = capfds = 0;
}

int plat_poll_set(int fd, unsigned mask, void *udata)
{
	int i = 0;
	while (i < nfds && fds[i].fd != fd)
		i++;
	if (mask == 0) {
		if (i < nfds) {
			nfds--;
			fds[i] = fds[nfds];
			udatas[i] = udatas[nfds];
		}
		return 0;
	}
	if (i == nfds) {
		if (nfds == capfds)
			return OP_ENOMEM;
		nfds++;
	}
	fds[i].fd = fd;
	fds[i].events = (short)(((mask & PLAT_READ) ? POLLIN : 0) | ((mask & PLAT_WRITE) ? POLLOUT : 0));
	fds[i].revents = 0;
	udatas[i] = udata;
	return 0;
}

void plat_poll_forget(int fd)
{
	plat_poll_set(fd, 0, NULL);
}

int plat_poll_wait(struct plat_event *out, int cap, int64_t timeout_us)
{
	int ms = timeout_us < 0 ? -1 : (int)((timeout_us + 999) / 1000);
	int n = poll(fds, (nfds_t)nfds, ms);
	if (n <= 0)
		return 0;
	int k = 0;
	for (int i = 0; i < nfds && k < cap; i++) {
		short re = fds[i].revents;
		if (!re)
			continue;
		unsigned e = 0;
		if (re & POLLIN)
			e |= PLAT_READ;
		if (re & POLLOUT)
			e |= PLAT_WRITE;
		if (re & (POLLERR | POLLHUP | POLLNVAL))
			e |= PLAT_ERROR | PLAT_READ | PLAT_WRITE;
		out[k].udata = udatas[i];
		out[k].events = e;
		k++;
	}
	return k;
}
