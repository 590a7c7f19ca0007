/* mocktcp.c: a TCP listener on 127.0.0.1 for tests and benchmarks.
 *
 *   mocktcp [-p PORT] [-l SECONDS] [-m MODE]     prints "port N" once listening
 *
 * MODE: accept (default: accept, read and discard until the peer closes), banner:TEXT (send
 * TEXT on accept, then as accept), echo, silent (accept, never read or write), close (accept
 * and close at once), reply:TEXT (send TEXT after the first bytes arrive, then close), flood
 * (send "x" as fast as the peer reads, without end).
 * Handles up to 4096 connections at once; exits after -l seconds (default 300). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXC 4096

int main(int argc, char **argv)
{
	int port = 0, life = 300, opt;
	const char *mode = "accept";
	while ((opt = getopt(argc, argv, "p:l:m:")) != -1) {
		if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 'l')
			life = atoi(optarg);
		else if (opt == 'm')
			mode = optarg;
		else
			return 2;
	}
	const char *text = strchr(mode, ':') ? strchr(mode, ':') + 1 : "";
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(0x7f000001)};
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 4096) != 0)
		return perror("bind"), 1;
	socklen_t sl = sizeof sa;
	getsockname(s, (struct sockaddr *)&sa, &sl);
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	static struct pollfd p[MAXC + 1];
	int n = 1;
	p[0] = (struct pollfd){s, POLLIN, 0};
	time_t end = time(NULL) + life;
	while (time(NULL) < end) {
		if (poll(p, (nfds_t)n, 500) <= 0)
			continue;
		if (p[0].revents) {
			for (;;) {
				int c = accept4(s, NULL, NULL, SOCK_NONBLOCK);
				if (c < 0)
					break;
				if (!strcmp(mode, "close") || n > MAXC) {
					close(c);
					continue;
				}
				if (!strncmp(mode, "banner:", 7))
					send(c, text, strlen(text), MSG_NOSIGNAL);
				short ev = !strcmp(mode, "silent") ? 0 : !strcmp(mode, "flood") ?
					POLLIN | POLLOUT : POLLIN;
				p[n++] = (struct pollfd){c, ev, 0};
			}
		}
		for (int i = 1; i < n; i++) {
			if (!p[i].revents)
				continue;
			static char buf[65536];
			ssize_t r = 1;
			if (p[i].revents & POLLOUT) {
				memset(buf, 'x', sizeof buf);
				r = send(p[i].fd, buf, sizeof buf, MSG_NOSIGNAL);
				r = r < 0 ? 0 : 1;
			}
			if (r > 0 && (p[i].revents & (POLLIN | POLLERR | POLLHUP)))
				r = recv(p[i].fd, buf, 4096, 0);
			if (r > 0 && !strcmp(mode, "echo"))
				send(p[i].fd, buf, (size_t)r, MSG_NOSIGNAL);
			if (r > 0 && !strncmp(mode, "reply:", 6)) {
				send(p[i].fd, text, strlen(text), MSG_NOSIGNAL);
				r = 0;
			}
			if (r <= 0) {
				close(p[i].fd);
				p[i--] = p[--n];
			}
		}
	}
	return 0;
}
