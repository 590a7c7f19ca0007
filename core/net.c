/* net.c: connection helpers over the platform socket layer. */
#include <stdio.h>
#include <string.h>
#include "dns.h"
#include "net.h"

int net_split_hostport(const char *s, char *host, size_t cap, uint16_t default_port,
	uint16_t *port)
{
	const char *h = s, *colon = NULL;
	size_t hl;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		OP_CHECK(close, OP_EINVAL);
		h = s + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			colon = close + 1;
		else
			OP_CHECK(close[1] == 0, OP_EINVAL);
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL; /* a bare IPv6 address: no port */
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	OP_CHECK(hl > 0 && hl < cap, OP_EINVAL);
	memcpy(host, h, hl);
	host[hl] = 0;
	/* "bücher.example": asked of DNS, named to TLS and in Host as xn--bcher-kva.example, as a
	 * browser does (DNS itself would say NXDOMAIN to the UTF-8 bytes) */
	char a[DNS_NAME_MAX];
	int n = dns_name_ascii(host, a, sizeof a);
	OP_CHECK(n > 0 && (size_t)n < cap, OP_EINVAL);
	memcpy(host, a, (size_t)n + 1);
	if (!colon) {
		OP_CHECK(default_port, OP_EINVAL);
		*port = default_port;
		return 0;
	}
	unsigned v = 0;
	const char *p = colon + 1;
	OP_CHECK(*p, OP_EINVAL);
	for (; *p; p++) {
		OP_CHECK(*p >= '0' && *p <= '9', OP_EINVAL);
		v = v * 10 + (unsigned)(*p - '0');
		OP_CHECK(v <= 65535, OP_EINVAL);
	}
	OP_CHECK(v > 0, OP_EINVAL);
	*port = (uint16_t)v;
	return 0;
}

int net_open(struct net_conn *c, int type, int family, ev_io_fn *cb)
{
	int fd = plat_sock_open(family, type);
	if (fd < 0)
		return fd;
	c->io = (struct ev_io){.fd = fd, .mask = 0, .cb = cb};
	c->type = type;
	return 0;
}

int net_connect(struct net_conn *c, int type, const struct plat_addr *to, ev_io_fn *cb)
{
	if (c->io.fd < 0) {
		int rc = net_open(c, type, to->family, cb);
		if (rc < 0)
			return rc;
	}
	int rc = plat_sock_connect(c->io.fd, to);
	if (rc == OP_EAGAIN) {
		int w = ev_io_set(&c->io, PLAT_WRITE);
		if (w == 0)
			return OP_EAGAIN;
		rc = w;
	}
	if (rc < 0)
		net_close(c);
	return rc;
}

int net_finish_connect(struct net_conn *c)
{
	return plat_sock_error(c->io.fd);
}

int net_want(struct net_conn *c, unsigned mask)
{
	return ev_io_set(&c->io, mask);
}

int net_send(struct net_conn *c, const void *buf, size_t len)
{
	c->tx_us = plat_now_us();
	return plat_sock_send(c->io.fd, buf, len);
}

int net_recv(struct net_conn *c, void *buf, size_t cap)
{
	return plat_sock_recv(c->io.fd, buf, cap, c->type ? &c->rx_us : NULL);
}

void net_close(struct net_conn *c)
{
	if (c->io.fd < 0)
		return;
	ev_io_close(&c->io);
	plat_sock_close(c->io.fd);
	c->io.fd = -1;
}

const char *net_url_userinfo(const char *url, size_t *len)
{
	const char *rest = strstr(url, "://");
	if (!rest)
		return NULL;
	rest += 3;
	*len = strcspn(rest, "/@"); /* the authority ends at the first '/' */
	return rest[*len] == '@' ? rest : NULL;
}

int net_split_url(const char *url, const char *scheme, int *tls, char *host, size_t hcap,
	uint16_t *port, char *target, size_t tcap)
{
	size_t sl = strlen(scheme);
	for (size_t i = 0; i < sl; i++)
		if ((url[i] | 32) != scheme[i])
			return OP_EINVAL;
	const char *rest = url + sl;
	*tls = (*rest | 32) == 's';
	rest += *tls;
	if (strncmp(rest, "://", 3))
		return OP_EINVAL;
	rest += 3;
	/* the authority ends at the path, the query or the fragment (RFC 3986 3.2) */
	size_t hl = strcspn(rest, "/?#");
	const char *path = rest + hl;
	size_t slash = *path != '/';
	/* what a request line cannot carry as it is (a space, "café") goes percent-encoded, as
	 * a browser sends it */
	target[0] = '/';
	if (tcap <= slash || net_url_clean(target + slash, tcap - slash, path,
		strcspn(path, "#")) < 0)
		return OP_EINVAL;
	char hp[DNS_NAME_MAX + 8];
	/* (a user:password@ is taken out at config load: probe_url_credential) */
	if (hl == 0 || hl >= sizeof hp || memchr(rest, '@', hl))
		return OP_EINVAL;
	memcpy(hp, rest, hl);
	hp[hl] = 0;
	int rc = net_split_hostport(hp, host, hcap, *tls ? 443 : 80, port);
	/* an IPv6 address's zone is "%25eth0" in a URL (RFC 6874): "%eth0" in the address */
	char *zone = strstr(host, "%25");
	if (rc == 0 && zone && zone[3] && strchr(host, ':'))
		memmove(zone + 1, zone + 3, strlen(zone + 3) + 1);
	return rc;
}

int net_url_clean(char *out, size_t cap, const char *in, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t w = 0;
	if (!cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		int enc = ch <= ' ' || ch >= 0x7f || strchr("\"<>\\^`{|}", ch);
		if (w + (enc ? 3 : 1) >= cap)
			return -1;
		if (enc) {
			out[w++] = '%';
			out[w++] = hex[ch >> 4];
			out[w++] = hex[ch & 15];
		} else {
			out[w++] = (char)ch;
		}
	}
	out[w] = 0;
	return (int)w;
}

void net_path_remove_dots(char *p)
{
	size_t end = strcspn(p, "?"), i = 1, w = 0;
	if (p[0] != '/')
		return;
	for (;;) { /* the segment p[i..j); the output p[0..w) never overtakes it */
		size_t j = i + strcspn(p + i, "/?");
		size_t n = j - i;
		int dot = n == 1 && p[i] == '.', dots = n == 2 && p[i] == '.' && p[i + 1] == '.';
		if (dots)
			while (w > 0 && p[--w] != '/')
				;
		if (!dot && !dots) {
			p[w++] = '/';
			memmove(p + w, p + i, n);
			w += n;
		} else if (j == end) { /* "/a/b/.." is the directory "/a/" */
			p[w++] = '/';
		}
		if (j == end)
			break;
		i = j + 1;
	}
	memmove(p + w, p + end, strlen(p + end) + 1);
}

void net_host_header(char *out, size_t cap, const char *host, uint16_t port, uint16_t dflt)
{
	int v6 = strchr(host, ':') != NULL;
	/* an IPv6 address's zone means something on this host only: the server is not told it
	 * (RFC 6874 4) */
	int n = (int)strcspn(host, v6 ? "%" : "");
	if (port == dflt)
		snprintf(out, cap, v6 ? "[%.*s]" : "%.*s", n, host);
	else
		snprintf(out, cap, v6 ? "[%.*s]:%u" : "%.*s:%u", n, host, port);
}
