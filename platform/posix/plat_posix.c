/* plat_posix.c: the POSIX (Linux) port: clocks, entropy, sockets, signals, files, memory. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "../../core/op.h"
#include "../plat.h"

uint64_t plat_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t plat_wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int plat_entropy(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return OP_EIO;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int map_errno(int e)
{
	switch (e) {
	case EAGAIN:
	case EINPROGRESS:
		return OP_EAGAIN;
	case ECONNREFUSED:
		return OP_ECONNREFUSED;
	case ECONNRESET:
	case EPIPE:
		return OP_ECONNRESET;
	case ETIMEDOUT:
		return OP_ETIMEDOUT;
	case EHOSTUNREACH:
		return OP_EHOSTUNREACH;
	case ENETUNREACH:
		return OP_ENETUNREACH;
	case EMFILE:
	case ENFILE:
		return OP_EMFILE;
	case ENOBUFS:
	case ENOMEM:
		return OP_ENOMEM;
	case EINVAL:
	case EAFNOSUPPORT:
		return OP_EINVAL;
	default:
		return OP_EIO;
	}
}

/* Linux stamps arriving packets only while some socket asks for it, and turns that on and off
 * by patching its code, later, from a worker. Asked for by each probe socket alone it would
 * flip around every probe, and a probe's first packets could go unstamped. One socket held for
 * the life of the process keeps it on; each packet then costs the kernel one clock read. */
static void stamps_hold(void)
{
	static int held = -1;
	if (held >= 0)
		return;
	held = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (held >= 0)
		setsockopt(held, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
}

int plat_sock_open(int family, int type)
{
	int fd = socket(family == PLAT_AF_INET6 ? AF_INET6 : AF_INET,
		(type == PLAT_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return map_errno(errno);
	int one = 1;
	if (type == PLAT_TCP)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	stamps_hold();
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
	return fd;
}

static socklen_t to_sockaddr(const struct plat_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == PLAT_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		s6->sin6_scope_id = a->scope;
		return sizeof *s6;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	return sizeof *s4;
}

int plat_sock_connect(int fd, const struct plat_addr *to)
{
	struct sockaddr_storage ss;
	socklen_t len = to_sockaddr(to, &ss);
	for (;;) {
		if (connect(fd, (struct sockaddr *)&ss, len) == 0)
			return 0;
		if (errno != EINTR)
			return map_errno(errno);
	}
}

int plat_sock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return map_errno(errno);
	return err ? map_errno(err) : 0;
}

/* Linux times TCP round trips in µs from each segment's send stamp since 4.13; before, the
 * clock could be a tick, too coarse to stand for a handshake on a near network. */
static int rtt_in_us(void)
{
	static int known = -1;
	struct utsname u;
	int major = 0, minor = 0;
	if (known < 0)
		known = uname(&u) == 0 && sscanf(u.release, "%d.%d", &major, &minor) == 2 &&
			(major > 4 || (major == 4 && minor >= 13));
	return known;
}

uint32_t plat_sock_handshake_us(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if (!rtt_in_us() || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
		len < offsetof(struct tcp_info, tcpi_total_retrans) + sizeof ti.tcpi_total_retrans)
		return 0;
	/* a SYN sent again: its answer is not timed (Karn), or timed from the last copy */
	return ti.tcpi_total_retrans ? 0 : ti.tcpi_rtt;
}

int plat_sock_send(int fd, const void *buf, size_t len)
{
	for (;;) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno != EINTR)
			return map_errno(errno);
	}
}

/* The kernel's receive time of the last message read (CLOCK_REALTIME) moved onto the
 * monotonic clock; the time of the read when there is none or it is not plausible (the wall
 * clock stepped). */
static uint64_t stamp_of(struct msghdr *m)
{
	uint64_t now = plat_now_us();
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
			continue;
		struct timespec k, w;
		memcpy(&k, CMSG_DATA(c), sizeof k);
		clock_gettime(CLOCK_REALTIME, &w);
		int64_t age_ns = (int64_t)(w.tv_sec - k.tv_sec) * 1000000000 + (w.tv_nsec - k.tv_nsec);
		if (age_ns >= 0 && age_ns < 1000000000 && (uint64_t)age_ns / 1000u < now)
			return now - (uint64_t)age_ns / 1000u;
	}
	return now;
}

int plat_sock_recv(int fd, void *buf, size_t cap, uint64_t *at_us)
{
	struct iovec iov = {buf, cap};
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct timespec))];
	} ctl;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	for (;;) {
		ssize_t n;
		if (at_us) {
			m.msg_control = ctl.b;
			m.msg_controllen = sizeof ctl.b;
			n = recvmsg(fd, &m, 0);
		} else {
			n = read(fd, buf, cap); /* a pipe (the exec probe's output) */
		}
		if (n >= 0) {
			if (at_us)
				*at_us = stamp_of(&m); /* the end of stream has none: its read time */
			return (int)n;
		}
		if (errno != EINTR)
			return map_errno(errno);
	}
}

void plat_sock_close(int fd)
{
	close(fd);
}

int plat_addr_parse(const char *ip, struct plat_addr *out)
{
	memset(out, 0, sizeof *out);
	if (inet_pton(AF_INET, ip, out->ip) == 1) {
		out->family = PLAT_AF_INET;
		return 0;
	}
	char bare[INET6_ADDRSTRLEN];
	const char *zone = strchr(ip, '%');
	size_t n = zone ? (size_t)(zone - ip) : strlen(ip);
	if (n >= sizeof bare)
		return OP_EINVAL;
	memcpy(bare, ip, n);
	bare[n] = 0;
	if (inet_pton(AF_INET6, bare, out->ip) != 1)
		return OP_EINVAL;
	out->family = PLAT_AF_INET6;
	if (!zone)
		return 0;
	char *end;
	unsigned long index = strtoul(zone + 1, &end, 10);
	out->scope = zone[1] && !*end ? (uint32_t)index : if_nametoindex(zone + 1);
	return out->scope ? 0 : OP_ENODEV;
}

int plat_addr_format(const struct plat_addr *a, char *buf, size_t cap)
{
	if (!inet_ntop(a->family == PLAT_AF_INET6 ? AF_INET6 : AF_INET, a->ip, buf, (socklen_t)cap))
		op_strlcpy(buf, "?", cap);
	size_t n = strlen(buf);
	char name[IF_NAMESIZE];
	if (a->family == PLAT_AF_INET6 && a->scope) {
		if (!if_indextoname(a->scope, name))
			snprintf(name, sizeof name, "%u", a->scope);
		snprintf(buf + n, cap - n, "%%%s", name);
	}
	return (int)strlen(buf);
}

/* ---- signals: a self-pipe, so the loop wakes on them like on any descriptor ---- */

static int sig_pipe[2] = {-1, -1};
static atomic_uint sig_pending;

static void sig_handler(int sig)
{
	int saved = errno;
	atomic_fetch_or(&sig_pending, sig == SIGHUP ? PLAT_SIG_RELOAD :
				       sig == SIGCHLD ? PLAT_SIG_CHILD : PLAT_SIG_STOP);
	ssize_t r = write(sig_pipe[1], "s", 1);
	(void)r;
	errno = saved;
}

int plat_signal_init(void)
{
	if (sig_pipe[0] >= 0)
		return sig_pipe[0];
	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return map_errno(errno);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sig_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_flags |= SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL); /* a stopped command is reaped when it dies, not a tick later */
	signal(SIGPIPE, SIG_IGN);
	return sig_pipe[0];
}

unsigned plat_signal_take(void)
{
	char buf[64];
	while (read(sig_pipe[0], buf, sizeof buf) > 0)
		;
	return atomic_exchange(&sig_pending, 0);
}

void plat_signal_raise(unsigned bits)
{
	atomic_fetch_or(&sig_pending, bits);
	if (sig_pipe[1] >= 0) {
		ssize_t r = write(sig_pipe[1], "r", 1);
		(void)r;
	}
}

void plat_wake(void)
{
	atomic_fetch_or(&sig_pending, PLAT_SIG_WAKE);
	if (sig_pipe[1] >= 0) {
		ssize_t r = write(sig_pipe[1], "w", 1);
		(void)r;
	}
}

/* ---- files and environment ---- */

static int write_file(const char *path, const void *buf, size_t len, int sync);

int plat_file_write_atomic(const char *path, const void *buf, size_t len)
{
	return write_file(path, buf, len, 1);
}

int plat_file_write(const char *path, const void *buf, size_t len)
{
	return write_file(path, buf, len, 0);
}

int plat_fopen(const char *path, int write)
{
	int fd = write ? open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) :
		open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : errno == ENOENT ? OP_ENOENT : OP_EIO;
}

int plat_file_lock(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return OP_EIO;
	/* a file system without locks (some network and FUSE ones) keeps the spool unlocked:
	 * that is no reason to lose it */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		close(fd);
		return OP_EBUSY;
	}
	return fd;
}

int plat_fread_at(int h, uint64_t off, void *buf, size_t n)
{
	ssize_t r;
	do
		r = pread(h, buf, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? OP_EIO : (int)r;
}

int plat_fwrite_at(int h, uint64_t off, const void *buf, size_t n)
{
	const char *p = buf;
	size_t done = 0;
	while (done < n) {
		ssize_t w = pwrite(h, p + done, n - done, (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 && (errno == ENOSPC || errno == EDQUOT) ? OP_ENOSPC : OP_EIO;
		done += (size_t)w;
	}
	return (int)n;
}

int plat_fsync(int h)
{
	return fdatasync(h) == 0 ? 0 : OP_EIO;
}

int plat_ftruncate(const char *path, uint64_t len)
{
	return truncate(path, (off_t)len) == 0 ? 0 : OP_EIO;
}

void plat_fclose(int h)
{
	if (h >= 0)
		close(h);
}

const char *plat_ram_dir(void)
{
	/* the first one this process may write to: a container can have /dev/shm read-only */
	static const char *const dirs[] = {"/dev/shm", "/run"};
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
		if (access(dirs[i], W_OK) == 0)
			return dirs[i];
	return "/tmp";
}

int plat_file_remove(const char *path)
{
	return unlink(path) == 0 ? 0 : errno == ENOENT ? OP_ENOENT : OP_EIO;
}

int plat_dir_scan(const char *dir, plat_dir_fn *fn, void *ctx)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? OP_ENOENT : OP_EIO;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[1024];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		int is_dir = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
		fn(ctx, e->d_name, is_dir);
		n++;
	}
	closedir(d);
	return n;
}

static int write_file(const char *path, const void *buf, size_t len, int sync)
{
	char tmp[512], dir[512];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return OP_EINVAL;
	op_strlcpy(dir, path, sizeof dir);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		/* every missing directory on the way (mkdir -p) */
		for (char *p = dir + 1; *p; p++) {
			if (*p == '/') {
				*p = 0;
				mkdir(dir, 0755);
				*p = '/';
			}
		}
		mkdir(dir, 0755);
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return OP_EIO;
	int w = plat_fwrite_at(fd, 0, buf, len);
	if (w < 0) {
		close(fd);
		unlink(tmp);
		return w;
	}
	int rc = sync ? fsync(fd) : 0;
	close(fd);
	if (rc != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return OP_EIO;
	}
	if (sync && slash && slash != dir) {
		/* the rename itself must reach the medium too */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	return 0;
}

/* Why a file could not be opened or read, as the operator can act on it. */
static int file_error(int e)
{
	return e == ENOENT ? OP_ENOENT : e == EACCES || e == EPERM ? OP_EACCES :
		e == EISDIR ? OP_EISDIR : e == ENOTDIR ? OP_ENOTDIR : OP_EIO;
}

int plat_file_read(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return file_error(errno);
	size_t len = 0;
	for (;;) {
		if (len + 1 >= cap) {
			char c;
			ssize_t more = read(fd, &c, 1);
			close(fd);
			return more > 0 ? OP_ETOOBIG : (buf[len] = 0, (int)len);
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return file_error(e);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	return (int)len;
}

int64_t plat_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? OP_ENOENT : OP_EIO;
	return (int64_t)st.st_size;
}

int64_t plat_file_version(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? OP_ENOENT : OP_EIO;
	uint64_t v = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	v ^= (uint64_t)st.st_size * 0x9E3779B97F4A7C15u ^ (uint64_t)st.st_ino * 0xC2B2AE3D27D4EB4Fu;
	return (int64_t)(v & INT64_MAX);
}

const char *plat_getenv(const char *name)
{
	return getenv(name);
}

/* ---- the snapshot lock ---- */

static pthread_mutex_t snap_mutex = PTHREAD_MUTEX_INITIALIZER;

void plat_lock(void)
{
	pthread_mutex_lock(&snap_mutex);
}

void plat_unlock(void)
{
	pthread_mutex_unlock(&snap_mutex);
}

static pthread_cond_t snap_cond;
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;

static void cond_setup(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&snap_cond, &a);
	pthread_condattr_destroy(&a);
}

void plat_cond_wait(uint64_t timeout_us)
{
	pthread_once(&cond_once, cond_setup);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + timeout_us % 1000000 * 1000;
	ts.tv_sec += (time_t)(timeout_us / 1000000 + ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	pthread_cond_timedwait(&snap_cond, &snap_mutex, &ts);
}

void plat_cond_broadcast(void)
{
	pthread_once(&cond_once, cond_setup);
	pthread_cond_broadcast(&snap_cond);
}

/* ---- memory ---- */

void *plat_alloc(size_t size)
{
	return malloc(size);
}

void plat_free(void *p)
{
	free(p);
}

uint64_t plat_rss_bytes(void)
{
	char buf[128];
	if (plat_file_read("/proc/self/statm", buf, sizeof buf) < 0)
		return 0;
	const char *p = strchr(buf, ' ');
	return p ? strtoull(p + 1, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

long plat_fd_limit(long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return OP_EIO;
	/* only up to want, not to the hard limit: exec probes' children inherit the soft limit,
	 * and some programs walk every descriptor up to it */
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want) {
		rlim_t old = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)want ?
			(rlim_t)want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = old;
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > LONG_MAX ? LONG_MAX : (long)rl.rlim_cur;
}
