/* mockhttp.c: an HTTP/1.1 test target on 127.0.0.1 with well-behaved and hostile endpoints.
 *
 *   mockhttp [-p PORT] [-l SECONDS]            prints "port N" once listening
 *
 *   /status/CODE     that status, short body       /delay/MS       200 after MS milliseconds
 *   /bytes/N         N bytes with Content-Length   /chunked/N      N bytes, chunked
 *   /close/N         N bytes, ended by close       /redirect/N     302 chain of N hops to 200
 *   /absredirect     302 to an absolute URL        /headers        200 with X-Test: hello (2 Set-Cookie)
 *                                                  (and a Last-Modified of 1994)
 *   ...?to=LOCATION  302 to LOCATION, %XX decoded  /echo/...       200, the path, the request
 *   /garbage         not HTTP at all               /truncated      Content-Length 100, 10 sent
 *   /badchunk        a bad chunk size              /endless        chunked data, never ends
 *   /bigheader       a 1 MiB header                /silent         reads the request, never answers
 *   /head-nolf       a head that never ends        /json           a small JSON document
 *   /twolengths      two differing Content-Lengths /te-last        chunked, in a 2nd TE header
 *   /te-close        Transfer-Encoding gzip, Content-Length 5, then 20 bytes to the close
 *   /early           103 and 100 first, then 200   /badlength      Content-Length: 1x
 *   /reset           413 with part of a body to the close, then a reset (RST)
 *   /manyheaders     200 with 100 short headers (a 1 KB head: over the header count only)
 *   /badheader       200 with a header line whose name ends in a space ("Content-Length : 2")
 *   /continue-close  100 Continue, then the close (no final response)
 *   /switch          101 Switching Protocols that nobody asked for, then bytes that are not HTTP
 *   anything else    404
 * Every request gets "Connection: close". The server exits after -l seconds (default 300). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 1024

struct conn {
	int fd;
	char req[8192];
	size_t req_len;
	char *out;
	size_t out_len, out_off;
	double due;     /* send when now >= due */
	double arrived; /* when the request's last bytes reached the host (kernel stamp) */
	int endless, silent, answered, reset;
};

static struct conn conns[MAXC];
static int nconns, port;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void out_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	c->out = realloc(c->out, c->out_len + (size_t)n);
	memcpy(c->out + c->out_len, s, (size_t)n);
	c->out_len += (size_t)n;
	free(s);
}

static void out_bytes(struct conn *c, const void *b, size_t n)
{
	c->out = realloc(c->out, c->out_len + n);
	memcpy(c->out + c->out_len, b, n);
	c->out_len += n;
}

static void out_fill(struct conn *c, char ch, size_t n)
{
	c->out = realloc(c->out, c->out_len + n);
	memset(c->out + c->out_len, ch, n);
	c->out_len += n;
}

/* recv, noting when the bytes arrived: the kernel's receive stamp (wall clock) moved onto the
 * monotonic clock, so /delay/N counts from the request's arrival and our own wake-up on a cold
 * CPU is not charged to the client being measured */
static ssize_t recv_stamped(struct conn *c, char *buf, size_t cap)
{
	struct iovec iov = {buf, cap};
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct timespec))];
	} ctl;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
		.msg_controllen = sizeof ctl.b};
	ssize_t r = recvmsg(c->fd, &m, 0);
	double t = now();
	c->arrived = t;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); r > 0 && h; h = CMSG_NXTHDR(&m, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		struct timespec k, w;
		memcpy(&k, CMSG_DATA(h), sizeof k);
		clock_gettime(CLOCK_REALTIME, &w);
		double age = (double)(w.tv_sec - k.tv_sec) + (w.tv_nsec - k.tv_nsec) / 1e9;
		if (age >= 0 && age < 1)
			c->arrived = t - age;
	}
	return r;
}

static void respond(struct conn *c)
{
	char path[1024] = "/";
	sscanf(c->req, "%*s %1023s", path);
	long n = 0;
	const char *ok = "HTTP/1.1 200 OK\r\nConnection: close\r\n";
	c->answered = 1;
	if (sscanf(path, "/status/%ld", &n) == 1) {
		out_printf(c, "HTTP/1.1 %ld Mock\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
			"status %03ld\n", n, 11, n);
	} else if (sscanf(path, "/delay/%ld", &n) == 1) {
		c->due = c->arrived + n / 1000.0;
		out_printf(c, "%sContent-Length: 3\r\n\r\nok\n", ok);
	} else if (sscanf(path, "/bytes/%ld", &n) == 1) {
		out_printf(c, "%sContent-Length: %ld\r\n\r\n", ok, n);
		out_fill(c, 'x', (size_t)n);
	} else if (sscanf(path, "/chunked/%ld", &n) == 1) {
		out_printf(c, "%sTransfer-Encoding: chunked\r\n\r\n", ok);
		for (long left = n; left > 0; left -= 1000) {
			long k = left < 1000 ? left : 1000;
			out_printf(c, "%lx\r\n", k);
			out_fill(c, 'y', (size_t)k);
			out_printf(c, "\r\n");
		}
		out_printf(c, "0\r\n\r\n");
	} else if (sscanf(path, "/close/%ld", &n) == 1) {
		out_printf(c, "%s\r\n", ok);
		out_fill(c, 'z', (size_t)n);
	} else if (sscanf(path, "/redirect/%ld", &n) == 1) {
		if (n > 0)
			out_printf(c, "HTTP/1.1 302 Found\r\nConnection: close\r\nLocation: /redirect/%ld"
				"\r\nContent-Length: 0\r\n\r\n", n - 1);
		else
			out_printf(c, "%sContent-Length: 5\r\n\r\ndone\n", ok);
	} else if (strstr(path, "?to=")) {
		char loc[1024];
		size_t w = 0;
		for (const char *p = strstr(path, "?to=") + 4; *p && w + 1 < sizeof loc; p++) {
			unsigned x;
			if (p[0] == '%' && sscanf(p + 1, "%2x", &x) == 1)
				loc[w++] = (char)x, p += 2;
			else
				loc[w++] = *p;
		}
		loc[w] = 0;
		long code = 302; /* or /code/N?to=...: that status */
		sscanf(path, "/code/%ld", &code);
		out_printf(c, "HTTP/1.1 %ld Moved\r\nConnection: close\r\nLocation: %s\r\n"
			"Content-Length: 0\r\n\r\n", code, loc);
	} else if (!strncmp(path, "/echo/", 6)) {
		out_printf(c, "%sContent-Length: %zu\r\n\r\n%s\n%s", ok, strlen(path) + 1 +
			c->req_len, path, c->req);
	} else if (!strcmp(path, "/absredirect")) {
		out_printf(c, "HTTP/1.1 301 Moved\r\nConnection: close\r\nLocation: "
			"http://127.0.0.1:%d/headers\r\nContent-Length: 0\r\n\r\n", port);
	} else if (!strcmp(path, "/headers")) {
		out_printf(c, "%sX-Test: hello world\r\nContent-Type: text/plain\r\n"
			"Set-Cookie: a=1; Path=/\r\nSet-Cookie: s=2; Secure; HttpOnly\r\n"
			"Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 3\r\n\r\nok\n",
			ok);
	} else if (!strcmp(path, "/json")) {
		const char *j = "{\"status\": \"ok\", \"items\": [{\"id\": 7}, {\"id\": 8}], "
			"\"n\": 2, \"up\": true}";
		out_printf(c, "%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", ok,
			strlen(j), j);
	} else if (!strcmp(path, "/gzip")) {
		/* "status: ready\n" gzipped, sent whatever the request accepts, as a store of
		 * pre-compressed files does */
		static const unsigned char z[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3, 0x2b, 0x2e, 0x49,
			0x2c, 0x29, 0x2d, 0xb6, 0x52, 0x28, 0x4a, 0x4d, 0x4c, 0xa9, 0xe4, 2, 0, 0x74, 0xb3,
			0x5e, 7, 0x0e, 0, 0, 0};
		out_printf(c, "%sContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", ok,
			sizeof z);
		out_bytes(c, z, sizeof z);
	} else if (!strcmp(path, "/badheader")) {
		out_printf(c, "%sContent-Length : 2\r\n\r\nok", ok);
	} else if (!strcmp(path, "/continue-close")) {
		out_printf(c, "HTTP/1.1 100 Continue\r\n\r\n");
	} else if (!strcmp(path, "/garbage")) {
		out_printf(c, "SSH-2.0-NotHTTP\r\n\x01\x02\x03 garbage garbage\r\n\r\n");
	} else if (!strcmp(path, "/truncated")) {
		out_printf(c, "%sContent-Length: 100\r\n\r\n0123456789", ok);
	} else if (!strcmp(path, "/twolengths")) {
		out_printf(c, "%sContent-Length: 5\r\ncontent-length: 7\r\n\r\nhello", ok);
	} else if (!strcmp(path, "/te-close")) {
		/* chunked is not the final coding: the body runs to the close (RFC 9112 6.3) */
		out_printf(c, "%sTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n", ok);
		out_fill(c, 'g', 20);
	} else if (!strcmp(path, "/te-last")) {
		out_printf(c, "%sTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
			"5\r\nhello\r\n0\r\n\r\n", ok);
	} else if (!strcmp(path, "/early")) {
		out_printf(c, "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
			"HTTP/1.1 100 Continue\r\n\r\n%sContent-Length: 3\r\n\r\nok\n", ok);
	} else if (!strcmp(path, "/switch")) { /* kept open: what follows has no end */
		out_printf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
			"Connection: Upgrade\r\n\r\nPRI * HTTP/2.0");
		c->silent = 1;
	} else if (!strcmp(path, "/badlength")) {
		out_printf(c, "%sContent-Length: 1x\r\n\r\nok\n", ok);
	} else if (!strcmp(path, "/badchunk")) {
		out_printf(c, "%sTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n", ok);
	} else if (!strcmp(path, "/endless")) {
		out_printf(c, "%sTransfer-Encoding: chunked\r\n\r\n", ok);
		c->endless = 1;
	} else if (!strcmp(path, "/bigheader")) {
		out_printf(c, "%sX-Big: ", ok);
		out_fill(c, 'h', 1 << 20);
		out_printf(c, "\r\nContent-Length: 0\r\n\r\n");
	} else if (!strcmp(path, "/head-nolf")) {
		out_printf(c, "HTTP/1.1 200 OK\r\nX-Slow: ");
		out_fill(c, 's', 100);
	} else if (!strcmp(path, "/manyheaders")) {
		out_printf(c, "%s", ok);
		for (int i = 0; i < 100; i++)
			out_printf(c, "X-H%d: %d\r\n", i, i);
		out_printf(c, "Content-Length: 3\r\n\r\nok\n");
	} else if (!strcmp(path, "/reset")) {
		/* as a server that refuses a request it has not read does when it closes */
		out_printf(c, "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\ntoo la");
		c->reset = 1;
	} else if (!strcmp(path, "/silent")) {
		c->silent = 1;
	} else {
		out_printf(c, "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 10\r\n\r\n"
			"not found\n");
	}
}

static void drop(int i)
{
	close(conns[i].fd);
	free(conns[i].out);
	conns[i] = conns[--nconns];
}

int main(int argc, char **argv)
{
	int life = 300, opt;
	while ((opt = getopt(argc, argv, "p:l:")) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 'l')
			life = atoi(optarg);
		else
			return 2;
	}
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one); /* accepted sockets inherit it */
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(0x7f000001)};
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 1024) != 0)
		return perror("bind"), 1;
	socklen_t sl = sizeof sa;
	getsockname(s, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	printf("port %d\n", port);
	fflush(stdout);
	double end = now() + life;
	/* exact delays: no timer slack, and the last 300 µs of a wait are spun, so /delay/N
	 * answers within a few µs of N ms and latency benchmarks measure the client, not us */
	prctl(PR_SET_TIMERSLACK, 1UL);
	static struct pollfd p[MAXC + 1];
	static char chunk[4096 + 16];
	int clen = snprintf(chunk, sizeof chunk, "1000\r\n");
	memset(chunk + clen, 'e', 4096);
	memcpy(chunk + clen + 4096, "\r\n", 2);
	clen += 4096 + 2;
	while (now() < end) {
		p[0] = (struct pollfd){s, POLLIN, 0};
		double t = now();
		double wait = 0.2; /* seconds; a delayed answer shortens it to its due time */
		for (int i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			short ev = POLLIN;
			int pending = c->out_off < c->out_len || c->endless;
			if (c->answered && pending && t >= c->due)
				ev |= POLLOUT;
			if (c->answered && pending && t < c->due && c->due - t < wait)
				wait = c->due - t;
			p[i + 1] = (struct pollfd){c->fd, ev, 0};
		}
		int polled = nconns;
		/* ppoll: microsecond timeouts, so /delay/N overshoots by tens of µs, not a tick */
		int spin = wait < 0.0003;
		if (spin)
			wait = 0;
		else if (wait < 0.2)
			wait -= 0.0003;
		struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
		if (ppoll(p, (nfds_t)nconns + 1, &ts, NULL) < 0)
			continue;
		if (p[0].revents) {
			for (int fd; nconns < MAXC && (fd = accept4(s, NULL, NULL, SOCK_NONBLOCK)) >= 0;)
				conns[nconns++] = (struct conn){.fd = fd};
		}
		/* only the connections that were polled; drop() moves the last one down, which was
		 * already visited (the walk goes backwards) */
		t = now();
		for (int i = polled - 1; i >= 0; i--) {
			struct conn *c = &conns[i];
			short re = p[i + 1].revents;
			/* a delayed answer that fell due during the wait goes out now */
			if (c->answered && c->out_off < c->out_len && c->due > 0 && t >= c->due)
				re |= POLLOUT;
			if (re & POLLIN) {
				ssize_t r = recv_stamped(c, c->req + c->req_len, sizeof c->req - 1 - c->req_len);
				if (r < 0 && errno == EAGAIN)
					continue;
				if (r <= 0) {
					drop(i);
					continue;
				}
				c->req_len += (size_t)r;
				c->req[c->req_len] = 0;
				if (!c->answered && strstr(c->req, "\r\n\r\n"))
					respond(c);
			}
			if ((re & POLLOUT) && c->out_off < c->out_len) {
				ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
					MSG_NOSIGNAL);
				if (w < 0 && errno == EAGAIN)
					w = 0;
				if (w < 0) {
					drop(i);
					continue;
				}
				c->out_off += (size_t)w;
			} else if ((re & POLLOUT) && c->endless) {
				if (send(c->fd, chunk, (size_t)clen, MSG_NOSIGNAL) < 0) {
					drop(i);
					continue;
				}
			}
			if (c->reset && c->out_off == c->out_len) {
				struct linger hard = {1, 0};
				setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
				drop(i);
				continue;
			}
			if (c->answered && !c->endless && !c->silent && c->out_off == c->out_len &&
				now() >= c->due) {
				shutdown(c->fd, SHUT_WR);
				c->silent = 1; /* wait for the peer to close */
			}
		}
	}
	return 0;
}
