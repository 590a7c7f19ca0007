/* tls.h: TLS client connections over net_conn, on mbedTLS with non-blocking I/O. Contexts come
 * from a pool set up once at engine start and are reused with a session reset; all mbedTLS
 * memory is one fixed arena. */
#ifndef TLS_H
#define TLS_H

#include "cfg.h"
#include "net.h"

struct tls_conn;

/* Verification outcome, in the order they are checked. */
enum tls_verdict { TLS_OK, TLS_EXPIRED, TLS_HOSTNAME, TLS_UNTRUSTED, TLS_OTHER };

/* Set up for cfg: the arena, the RNG, one client config per setup of cfg->tls (its trust store
 * and client certificate), and nconn contexts. Blocks (reads CA files): start-up and reload only. 0 or a negative code
 * with err filled. */
int tls_init(const struct cfg *cfg, uint32_t nconn, char *err, size_t errcap);
void tls_deinit(void);

/* Start a client handshake on a connected c. want: the setup (one of those tls_init loaded,
 * matched by its files; bytes unused); name: the server's name, sent as SNI unless it is an IP
 * literal; resume: a probe id whose last session is offered for resumption and replaced by this
 * one, or -1. NULL when no context is free or that setup was not loaded. */
struct tls_conn *tls_start(struct net_conn *c, const struct cfg_tls *want, const char *name,
	int resume);
/* After the handshake: was it a resumed session? */
int tls_resumed(const struct tls_conn *t);
/* Drive the handshake. 0 when done, OP_EAGAIN while it goes on (wait for tls_want()), or a
 * negative code (detail in tls_error). */
int tls_handshake(struct tls_conn *t);
/* Readiness the last OP_EAGAIN waits for (PLAT_READ or PLAT_WRITE). */
unsigned tls_want(const struct tls_conn *t);
/* Like net_send/net_recv: bytes, 0 at the peer's close, OP_EAGAIN, or a negative code. */
int tls_send(struct tls_conn *t, const void *buf, size_t len);
int tls_recv(struct tls_conn *t, void *buf, size_t cap);
/* The transport of a connection that may be TLS: through t when it is not NULL, else plain on
 * c. Like net_send/net_recv. */
int stream_send(struct tls_conn *t, struct net_conn *c, const void *buf, size_t len);
int stream_recv(struct tls_conn *t, struct net_conn *c, void *buf, size_t cap);
/* Data the transport has already taken off the socket and not yet handed out (a TLS record read
 * in part). A reader that stops for fairness must go on while there is some: the socket has
 * nothing more to say, so no readiness would come back for it. */
int stream_pending(const struct tls_conn *t);
/* After OP_EAGAIN: wait on c for what the transport needs (TLS may have to write to read, or
 * read to write); plain: what a plain connection waits for (PLAT_READ or PLAT_WRITE). */
void stream_want(struct tls_conn *t, struct net_conn *c, unsigned plain);
/* Why stream_send or stream_recv failed with n, for a failure detail: what TLS saw (a fatal
 * alert, a record that failed its MAC...) or the socket's error. */
void stream_error(const struct tls_conn *t, int n, char *buf, size_t cap);
/* Reset the context and return it to the pool (idempotent with NULL). */
void tls_close(struct tls_conn *t);

/* After the handshake: the verdict on the presented chain, with detail text. */
enum tls_verdict tls_verify(struct tls_conn *t, char *detail, size_t cap);
/* The result reason for a verdict (REASON_CERT_EXPIRED...). */
int tls_verdict_reason(enum tls_verdict v);
/* The identity of the presented leaf certificate into id: 0, or -1 when there is none. */
int tls_cert_id(struct tls_conn *t, struct cert_id *id);
/* Earliest NotAfter of the presented chain (Unix seconds), or 0 if none. */
int64_t tls_earliest_expiry(struct tls_conn *t);
/* The negotiated version (12 for TLS 1.2) and cipher suite id. */
int tls_version_code(struct tls_conn *t);
int tls_cipher_id(struct tls_conn *t);
/* The IANA name of a cipher suite id ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"). */
void tls_cipher_name(int id, char *buf, size_t cap);
/* An mbedTLS error of t (or of none: NULL) as text, for failure details; a fatal alert by its
 * name. */
void tls_error(const struct tls_conn *t, int rc, char *buf, size_t cap);

/* Arena bytes reserved and the peak in use (for /metrics). */
void tls_arena_stats(uint64_t *size, uint64_t *peak);

#endif
