/* bareloop.c: the floor a probe's CPU is compared with: N sequential GET requests with plain
 * blocking sockets (and, for https, the same mbedTLS build and curve list as outpost, with
 * verification off), paced at RATE a second like the appliance runs them. Prints the
 * median and p99 latency (clock read before socket() and after close(), the response read to
 * its end); CPU is measured by the caller.
 *
 *   bareloop http|https HOST PORT PATH N RATE */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 7)
		return fprintf(stderr, "usage: bareloop http|https HOST PORT PATH N RATE\n"), 2;
	int tls = !strcmp(argv[1], "https"), n = atoi(argv[5]);
	double rate = atof(argv[6]);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
	inet_pton(AF_INET, argv[2], &sa.sin_addr);
	char req[512];
	int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
		argv[4], argv[2]);
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_CURVE25519,
		MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};
	if (tls) {
		mbedtls_entropy_init(&ent);
		mbedtls_ctr_drbg_init(&drbg);
		mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0);
		mbedtls_ssl_config_init(&conf);
		mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
			MBEDTLS_SSL_PRESET_DEFAULT);
		mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
		mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
		mbedtls_ssl_conf_curves(&conf, curves);
		mbedtls_ssl_init(&ssl);
		mbedtls_ssl_setup(&ssl, &conf);
	}
	double t0 = now(), *lat = calloc((size_t)n, sizeof *lat);
	int ok = 0;
	for (int i = 0; i < n; i++) {
		double due = t0 + i / rate, t = now();
		if (due > t)
			usleep((useconds_t)((due - t) * 1e6));
		double start = now();
		int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
			close(fd);
			continue;
		}
		char buf[16384];
		ssize_t got, total = 0;
		if (tls) {
			mbedtls_net_context net = {fd};
			mbedtls_ssl_session_reset(&ssl);
			mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);
			if (mbedtls_ssl_handshake(&ssl) != 0 ||
				mbedtls_ssl_write(&ssl, (unsigned char *)req, (size_t)rl) != rl) {
				close(fd);
				continue;
			}
			while ((got = mbedtls_ssl_read(&ssl, (unsigned char *)buf, sizeof buf)) > 0)
				total += got;
		} else {
			if (send(fd, req, (size_t)rl, 0) != rl) {
				close(fd);
				continue;
			}
			while ((got = recv(fd, buf, sizeof buf, 0)) > 0)
				total += got;
		}
		close(fd);
		if (total > 0)
			lat[ok++] = now() - start;
	}
	qsort(lat, (size_t)ok, sizeof *lat, cmp);
	printf("%d ok, median %.3f ms, p99 %.3f ms\n", ok, ok ? lat[ok / 2] * 1e3 : 0,
		ok ? lat[ok * 99 / 100] * 1e3 : 0);
	return ok == n ? 0 : 1;
}
