/* net.h: a non-blocking stream or datagram connection on the loop. Probes and the resolver use
 * this, never platform/ sockets directly; TLS later plugs in as a layer over it. */
#ifndef NET_H
#define NET_H

#include "ev.h"
#include "../platform/plat.h"

struct net_conn {
	struct ev_io io; /* io.fd < 0 when closed */
	int type;        /* PLAT_TCP or PLAT_UDP; 0 for a pipe */
	uint64_t rx_us;  /* when the bytes of the last net_recv arrived (plat_sock_recv's at_us) */
	uint64_t tx_us;  /* when the last net_send began (the peer may answer before it returns) */
};

/* Parse "host:port", "[v6]:port" or "host" (port = default_port) into host (NUL-terminated)
 * and port. Returns 0 or OP_EINVAL. */
int net_split_hostport(const char *s, char *host, size_t cap, uint16_t default_port,
	uint16_t *port);

/* A URL's "user:password" (RFC 3986 userinfo, before '@' and the host): its start, with its
 * length in *len (the '@' not counted); NULL when the URL has none. */
const char *net_url_userinfo(const char *url, size_t *len);
/* Split "<scheme>[s]://host[:port][/path][?query][#fragment]" (scheme "http" or "ws", in any
 * case): *tls for the s form, the port defaults to 80 or 443, and the request target goes to
 * target (tcap bytes): the path and query, "/" when the path is empty (RFC 9112 3.2.1), never
 * the fragment, which is the client's own (RFC 9110 7.1), with what a request line cannot
 * carry percent-encoded (net_url_clean). 0, or OP_EINVAL (also when the target does not fit). */
int net_split_url(const char *url, const char *scheme, int *tls, char *host, size_t hcap,
	uint16_t *port, char *target, size_t tcap);
/* Copy n bytes of in to out (cap bytes, NUL-ended), percent-encoding those a URL cannot carry
 * as they are (space, control and non-ASCII bytes, "<>\^`{|}); the reserved ones (/?&=:#%)
 * stay, so a URL keeps its meaning. The length, or -1 when it does not fit. */
int net_url_clean(char *out, size_t cap, const char *in, size_t n);
/* Take the "." and ".." segments out of a request target's path, in place, as a reference is
 * resolved (RFC 3986 5.2.4): "/a/b/../c?q" becomes "/a/c?q"; ".." never climbs above "/". The
 * query is left as it is. */
void net_path_remove_dots(char *target);
/* The Host header value: "host", "[v6]", with ":port" unless port is the default. */
void net_host_header(char *out, size_t cap, const char *host, uint16_t port, uint16_t dflt);

static inline void net_conn_init(struct net_conn *c)
{
	c->io.fd = -1;
	c->io.mask = 0;
	c->type = 0;
	c->rx_us = c->tx_us = 0;
}

/* Open the socket of a closed c (PLAT_AF_*); cb gets its PLAT_* readiness. 0 or a negative
 * code. net_connect does it unless it was done. */
int net_open(struct net_conn *c, int type, int family, ev_io_fn *cb);
/* Open (unless open) and start connecting; cb gets PLAT_* readiness. Returns 0 when already
 * connected, OP_EAGAIN when in progress (cb is called on PLAT_WRITE: then call
 * net_finish_connect), or a negative code (the connection is closed again). Never blocks. */
int net_connect(struct net_conn *c, int type, const struct plat_addr *to, ev_io_fn *cb);
/* After writability on a pending connect: 0 when connected, or a negative code. */
int net_finish_connect(struct net_conn *c);
/* Choose which readiness to wait for (PLAT_READ|PLAT_WRITE, 0 for none). */
int net_want(struct net_conn *c, unsigned mask);
/* Move bytes. Return the count, 0 at end of stream (recv), OP_EAGAIN, or a negative code. */
int net_send(struct net_conn *c, const void *buf, size_t len);
int net_recv(struct net_conn *c, void *buf, size_t cap);
/* Close (idempotent). */
void net_close(struct net_conn *c);

#endif
