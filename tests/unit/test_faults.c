/* test_faults.c: the http probe (plain and TLS) over a transport that refuses every other
 * call with EAGAIN and moves one byte at a time, so every partial-read, partial-write and
 * WANT_READ/WANT_WRITE path runs. The socket layer is wrapped at link time
 * (-Wl,--wrap=plat_sock_send,--wrap=plat_sock_recv); the servers are real ones on loopback:
 * tools/mockhttp and openssl s_server. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "../../core/engine.h"
#include "../../core/snap.h"
#include "t.h"

int __real_plat_sock_send(int fd, const void *buf, size_t len);
int __real_plat_sock_recv(int fd, void *buf, size_t cap, uint64_t *at_us);
int __wrap_plat_sock_send(int fd, const void *buf, size_t len);
int __wrap_plat_sock_recv(int fd, void *buf, size_t cap, uint64_t *at_us);

static int faults_on;
static unsigned long calls, eagains;

int __wrap_plat_sock_send(int fd, const void *buf, size_t len)
{
	if (faults_on && (++calls & 1)) {
		eagains++;
		return OP_EAGAIN;
	}
	return __real_plat_sock_send(fd, buf, faults_on && len > 1 ? 1 : len);
}

int __wrap_plat_sock_recv(int fd, void *buf, size_t cap, uint64_t *at_us)
{
	if (faults_on && (++calls & 1)) {
		eagains++;
		return OP_EAGAIN;
	}
	return __real_plat_sock_recv(fd, buf, faults_on && cap > 1 ? 1 : cap, at_us);
}

static struct result results[16];
static int nresults;

static void on_result(const struct probe *p, const struct result *r)
{
	results[p->id] = *r;
	nresults++;
}

static pid_t spawn(const char *cmd, int *port)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char line[64] = "";
	FILE *f = fdopen(fds[0], "r");
	if (!f || !fgets(line, sizeof line, f) || sscanf(line, "port %d", port) != 1)
		*port = 0;
	return pid;
}

static void run_once(const char *text)
{
	struct cfg c;
	char err[512];
	nresults = 0;
	if (cfg_load_text(&c, "t", text, strlen(text), err, sizeof err))
		T_FAIL_AT("%s", err);
	struct engine_opts o = {.once = 1, .on_result = on_result};
	ASSERT_EQ(engine_init(&c, &o, err, sizeof err), 0);
	faults_on = 1;
	engine_run();
	faults_on = 0;
	engine_deinit();
	ASSERT_EQ(op_pools[POOL_RUN].used, 0);
	ASSERT_EQ(op_pools[POOL_DNSQ].used, 0);
	cfg_free(&c);
}

static void test_http_through_faults(void)
{
	int port;
	pid_t srv = spawn("exec build/tools/mockhttp -l 60", &port);
	if (!port)
		T_FAIL_AT("mockhttp did not start (run from the repository root after make)");
	char text[2048];
	snprintf(text, sizeof text,
		"{\"web\": {\"listen\": \"\"}, \"probes\": ["
		"{\"name\": \"cl\", \"kind\": \"http\", \"target\": \"http://127.0.0.1:%d/bytes/3000\"},"
		"{\"name\": \"ch\", \"kind\": \"http\", \"target\": \"http://127.0.0.1:%d/chunked/2500\"},"
		"{\"name\": \"cd\", \"kind\": \"http\", \"target\": \"http://127.0.0.1:%d/close/1500\"},"
		"{\"name\": \"rd\", \"kind\": \"http\", \"target\": \"http://127.0.0.1:%d/redirect/2\","
		" \"max_redirects\": 2, \"expect\": {\"body_contains\": \"done\"}},"
		"{\"name\": \"js\", \"kind\": \"http\", \"target\": \"http://127.0.0.1:%d/json\","
		" \"expect\": {\"json\": {\"items[1].id\": 8}}}]}", port, port, port, port, port);
	calls = eagains = 0;
	run_once(text);
	kill(srv, SIGTERM);
	ASSERT_EQ(nresults, 5);
	const uint64_t bodies[] = {3000, 2500, 1500, 5, 0};
	for (int i = 0; i < 5; i++) {
		if (!results[i].ok)
			T_FAIL_AT("probe %d failed: %s", i, results[i].detail);
		if (bodies[i])
			ASSERT_EQ(results[i].body_bytes, bodies[i]);
	}
	ASSERT(eagains > 1000); /* the faults really happened, on every byte */
}

static void test_https_through_faults(void)
{
	char dir[] = "/tmp/outpost-faults-XXXXXX";
	if (!mkdtemp(dir))
		T_FAIL_AT("mkdtemp");
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "cd %s && openssl req -x509 -newkey ec -pkeyopt "
		"ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem -days 2 -subj /CN=localhost "
		"-addext subjectAltName=DNS:localhost >/dev/null 2>&1", dir);
	ASSERT_EQ(system(cmd), 0);
	/* a free port: bind to 0, read it, let it go for s_server */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t alen = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &alen);
	close(fd);
	int port = ntohs(a.sin_port);
	snprintf(cmd, sizeof cmd, "cd %s && (openssl s_server -accept 127.0.0.1:%d -cert c.pem "
		"-key k.pem -www -quiet >/dev/null 2>&1 &) && sleep 0.5 && echo port %d", dir, port, port);
	pid_t srv = spawn(cmd, &port);
	char text[1024];
	snprintf(text, sizeof text, "{\"web\": {\"listen\": \"\"}, \"probes\": [{\"name\": \"tls\", "
		"\"kind\": \"http\", \"target\": \"https://localhost:%d/\", \"timeout\": \"10s\", "
		"\"interval\": \"10s\", \"tls\": {\"ca_file\": \"%s/c.pem\"}}]}", port, dir);
	calls = eagains = 0;
	run_once(text);
	snprintf(cmd, sizeof cmd, "pkill -f 'openssl s_server -accept 127.0.0.1:%d' ; rm -rf %s", port,
		dir);
	if (system(cmd) < 0)
		T_FAIL_AT("cleanup");
	(void)srv;
	ASSERT_EQ(nresults, 1);
	if (!results[0].ok)
		T_FAIL_AT("https failed: %s", results[0].detail);
	ASSERT(results[0].phase_us[PHASE_TLS] > 0);
	ASSERT_EQ(results[0].tls_version, 12);
	ASSERT(eagains > 500);
}

int main(void)
{
	dns_init("/dev/null", "/etc/hosts");
	RUN(test_http_through_faults);
	RUN(test_https_through_faults);
	return T_DONE();
}
