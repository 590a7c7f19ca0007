/* tls.c: mbedTLS client glue. Verification runs in OPTIONAL mode so that a failed check still
 * completes the handshake: the probe then reports why (expired, wrong host, untrusted) and the
 * chain's expiry, which a REQUIRED handshake would have thrown away. */
#include <stdio.h>
#include <string.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/memory_buffer_alloc.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl_internal.h>
#include <mbedtls/x509_crt.h>
#include "dns.h"
#include "pool.h"
#include "tls.h"

#define OP_TLS_MAX_SETUPS OP_ARRAY_LEN(((struct cfg *)0)->tls)
/* Arena: a fixed part, each setup's files parsed (about 2.5x their PEM text), and per
 * connection its record buffers (16 KiB in, 4 KiB out), handshake state and the peer chain. */
#ifndef OP_TLS_ARENA_BASE
#define OP_TLS_ARENA_BASE (64 * 1024)
#endif
#ifndef OP_TLS_ARENA_PER_CONN
#define OP_TLS_ARENA_PER_CONN (56 * 1024)
#endif

struct tls_conn {
	mbedtls_ssl_context ssl;
	struct net_conn *c;
	unsigned want;
	int setup, resume; /* T.conf and T.sessions indices */
	int err; /* the mbedTLS code of the read or write that failed, or 0 */
	uint8_t in_use, ready, resumed;
	uint8_t parting, alert; /* the server hung up mid-handshake after a fatal alert: which */
	uint8_t ip_len;  /* the server was named by an IP address: 4 or 16 bytes in ip */
	uint8_t ip[16];
};

/* Room in the arena for one saved session (the ticket and, kept with it, the peer's chain). */
#ifndef OP_TLS_ARENA_PER_SESSION
#define OP_TLS_ARENA_PER_SESSION (6 * 1024)
#endif

static struct {
	uint8_t *arena;
	size_t arena_size;
	mbedtls_ctr_drbg_context drbg;
	/* one client config per setup (cfg->tls): its trust store and client identity */
	mbedtls_x509_crt ca[OP_TLS_MAX_SETUPS], cert[OP_TLS_MAX_SETUPS];
	mbedtls_pk_context key[OP_TLS_MAX_SETUPS];
	mbedtls_ssl_config conf[OP_TLS_MAX_SETUPS];
	struct cfg_tls setup[OP_TLS_MAX_SETUPS];
	int nsetup;
	struct tls_conn *conns;
	uint32_t nconn;
	mbedtls_ssl_session *sessions; /* by probe id, for tls.resume */
	uint8_t *has_session;
	uint32_t nsessions;
	int up;
} T;

static const mbedtls_ecp_group_id curves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
	MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};

static int entropy(void *ctx, unsigned char *out, size_t len)
{
	(void)ctx;
	return plat_entropy(out, len) ? MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED : 0;
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_conn *t = ctx;
	int n = net_send(t->c, buf, len);
	if (n == OP_EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (n == OP_ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return n < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : n;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_conn *t = ctx;
	int n = net_recv(t->c, buf, len);
	if (n == OP_EAGAIN)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n == OP_ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return n < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : n;
}

int tls_init(const struct cfg *cfg, uint32_t nconn, char *err, size_t errcap)
{
	OP_CHECK(!T.up, OP_EINVAL);
	memset(&T, 0, sizeof T);
	int ret = OP_ENOMEM; /* or OP_EINVAL: a file that does not parse */
	size_t size = OP_TLS_ARENA_BASE + (size_t)nconn * OP_TLS_ARENA_PER_CONN +
		(size_t)cfg->tls_resume * OP_TLS_ARENA_PER_SESSION;
	for (uint32_t i = 0; i < cfg->ntls; i++)
		size += (size_t)cfg->tls[i].bytes * 3;
	size = (size + 63) / 64 * 64;
	T.arena = plat_alloc(size);
	T.conns = plat_alloc(sizeof *T.conns * (nconn ? nconn : 1));
	T.nsessions = cfg->tls_resume ? cfg->max_probes : 0;
	T.sessions = plat_alloc(sizeof *T.sessions * (T.nsessions ? T.nsessions : 1));
	T.has_session = plat_alloc(T.nsessions ? T.nsessions : 1);
	if (!T.arena || !T.conns || !T.sessions || !T.has_session) {
		snprintf(err, errcap, "tls: cannot reserve %zu bytes", size);
		goto fail;
	}
	T.arena_size = size;
	for (uint32_t i = 0; i < T.nsessions; i++) {
		mbedtls_ssl_session_init(&T.sessions[i]);
		T.has_session[i] = 0;
	}
	mbedtls_memory_buffer_alloc_init(T.arena, size);
	T.up = 1;
	mbedtls_ctr_drbg_init(&T.drbg);
	if (mbedtls_ctr_drbg_seed(&T.drbg, entropy, NULL, (const unsigned char *)"outpost", 7)) {
		snprintf(err, errcap, "tls: no entropy");
		goto fail;
	}
	for (uint32_t i = 0; i < cfg->ntls; i++) {
		const struct cfg_tls *s = &cfg->tls[i];
		mbedtls_x509_crt_init(&T.ca[i]);
		mbedtls_x509_crt_init(&T.cert[i]);
		mbedtls_pk_init(&T.key[i]);
		mbedtls_ssl_config_init(&T.conf[i]);
		T.setup[i] = *s;
		T.nsetup++;
		/* "" is the empty trust store of probes that skip verification */
		int rc = s->ca[0] ? mbedtls_x509_crt_parse_file(&T.ca[i], s->ca) : 0;
		if (rc < 0) {
			snprintf(err, errcap, "tls: CA file %s holds no PEM or DER certificate (-0x%04x)",
				s->ca, (unsigned)-rc);
			ret = OP_EINVAL;
			goto fail;
		}
		mbedtls_ssl_config *c = &T.conf[i];
		mbedtls_ssl_config_defaults(c, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
			MBEDTLS_SSL_PRESET_DEFAULT);
		mbedtls_ssl_conf_authmode(c, MBEDTLS_SSL_VERIFY_OPTIONAL);
		if (s->ca[0])
			mbedtls_ssl_conf_ca_chain(c, &T.ca[i], NULL);
		if (s->cert[0]) {
			/* mTLS: sent when the server asks for a certificate */
			const char *key = "cert_file", *file = s->cert;
			const char *what = "is not a PEM or DER certificate";
			rc = mbedtls_x509_crt_parse_file(&T.cert[i], s->cert);
			if (rc == 0) {
				key = "key_file", file = s->key;
				what = "is not a PEM or DER private key (or it is encrypted)";
				rc = mbedtls_pk_parse_keyfile(&T.key[i], s->key, NULL);
			}
			if (rc == 0) {
				what = "is not the key of cert_file";
				rc = mbedtls_pk_check_pair(&T.cert[i].pk, &T.key[i]);
			}
			if (rc == 0)
				rc = mbedtls_ssl_conf_own_cert(c, &T.cert[i], &T.key[i]);
			if (rc != 0) {
				snprintf(err, errcap, "tls: %s %s %s (-0x%04x)", key, file, what,
					(unsigned)-rc);
				ret = OP_EINVAL;
				goto fail;
			}
		}
		mbedtls_ssl_conf_rng(c, mbedtls_ctr_drbg_random, &T.drbg);
		/* X25519 first: the default list lets servers pick slow large NIST curves */
		mbedtls_ssl_conf_curves(c, curves);
	}
	for (uint32_t i = 0; i < nconn; i++) {
		struct tls_conn *t = &T.conns[i];
		memset(t, 0, sizeof *t);
		mbedtls_ssl_init(&t->ssl);
		T.nconn++;
		/* contexts are bound to the first config; tls_start rebinds with session reset */
		if (mbedtls_ssl_setup(&t->ssl, &T.conf[0]) != 0) {
			snprintf(err, errcap, "tls: arena too small for %u connections", nconn);
			goto fail;
		}
	}
	return 0;
fail:
	tls_deinit();
	return ret;
}

void tls_deinit(void)
{
	if (!T.up) {
		plat_free(T.arena);
		plat_free(T.conns);
		plat_free(T.sessions);
		plat_free(T.has_session);
		memset(&T, 0, sizeof T);
		return;
	}
	for (uint32_t i = 0; i < T.nsessions; i++)
		mbedtls_ssl_session_free(&T.sessions[i]);
	for (uint32_t i = 0; i < T.nconn; i++)
		mbedtls_ssl_free(&T.conns[i].ssl);
	for (int i = 0; i < T.nsetup; i++) {
		mbedtls_ssl_config_free(&T.conf[i]);
		mbedtls_x509_crt_free(&T.ca[i]);
		mbedtls_x509_crt_free(&T.cert[i]);
		mbedtls_pk_free(&T.key[i]);
	}
	mbedtls_ctr_drbg_free(&T.drbg);
	mbedtls_memory_buffer_alloc_free();
	plat_free(T.arena);
	plat_free(T.conns);
	plat_free(T.sessions);
	plat_free(T.has_session);
	memset(&T, 0, sizeof T);
}

struct tls_conn *tls_start(struct net_conn *c, const struct cfg_tls *want, const char *name,
	int resume)
{
	/* An IP address is not sent as SNI (RFC 6066), and mbedTLS 2.28 matches only DNS names:
	 * tls_verify checks it against the certificate's IP address entries itself. */
	struct plat_addr a = {0};
	int ip = plat_addr_parse(name, &a) == 0;
	/* "host." (a whole name, which skips resolv.conf's search list) is the same host: SNI and
	 * the certificate carry it without the dot (RFC 6066 3), as curl and Go send and check it */
	char bare[DNS_NAME_MAX];
	size_t nl = strlen(name);
	if (nl > 1 && nl < sizeof bare && name[nl - 1] == '.') {
		memcpy(bare, name, nl - 1);
		bare[nl - 1] = 0;
		name = bare;
	}
	int setup = -1;
	for (int i = 0; i < T.nsetup; i++)
		if (!strcmp(T.setup[i].ca, want->ca) && !strcmp(T.setup[i].cert, want->cert) &&
			!strcmp(T.setup[i].key, want->key))
			setup = i;
	if (setup < 0)
		return NULL;
	for (uint32_t i = 0; i < T.nconn; i++) {
		struct tls_conn *t = &T.conns[i];
		if (t->in_use)
			continue;
		t->in_use = 1;
		t->c = c;
		t->setup = setup;
		t->want = PLAT_WRITE;
		t->ready = 0;
		t->err = 0;
		t->parting = 0;
		/* rebinding the config keeps the record buffers: no allocation here */
		t->ssl.conf = &T.conf[setup];
		mbedtls_ssl_set_hostname(&t->ssl, ip ? NULL : name);
		t->ip_len = ip ? (a.family == PLAT_AF_INET6 ? 16 : 4) : 0;
		memcpy(t->ip, a.ip, sizeof t->ip);
		mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
		t->resumed = 0;
		t->resume = resume >= 0 && (uint32_t)resume < T.nsessions ? resume : -1;
		if (t->resume >= 0 && T.has_session[t->resume])
			mbedtls_ssl_set_session(&t->ssl, &T.sessions[t->resume]);
		return t;
	}
	return NULL;
}

static int map(struct tls_conn *t, int rc)
{
	if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
		t->want = PLAT_READ;
		return OP_EAGAIN;
	}
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) {
		t->want = PLAT_WRITE;
		return OP_EAGAIN;
	}
	return rc;
}

/* The server hung up while our flight was on its way (a server that refuses the client's
 * certificate, or that it has none, sends its alert and closes with our next records unread,
 * which resets the connection). Its alert is still in the socket, ahead of the reset: one
 * plain record, 21 3 x 0 2 level description. */
static void parting_alert(struct tls_conn *t)
{
	uint8_t rec[7];
	if (net_recv(t->c, rec, sizeof rec) == (int)sizeof rec && rec[0] == 21 && rec[1] == 3 &&
		rec[3] == 0 && rec[4] == 2 && rec[5] == 2) {
		t->parting = 1;
		t->alert = rec[6];
	}
}

int tls_handshake(struct tls_conn *t)
{
	/* step by step, to see whether the server took the offered session before the
	 * handshake state (and its flag) is freed */
	while (t->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
		if (t->ssl.handshake)
			t->resumed = t->ssl.handshake->resume;
		int rc = mbedtls_ssl_handshake_step(&t->ssl);
		if (rc == MBEDTLS_ERR_NET_CONN_RESET)
			parting_alert(t);
		if (rc)
			return map(t, rc);
	}
	t->ready = 1;
	if (t->resume >= 0) {
		mbedtls_ssl_session_free(&T.sessions[t->resume]);
		mbedtls_ssl_session_init(&T.sessions[t->resume]);
		T.has_session[t->resume] = mbedtls_ssl_get_session(&t->ssl,
			&T.sessions[t->resume]) == 0;
	}
	return 0;
}

int tls_resumed(const struct tls_conn *t)
{
	return t->resumed;
}

unsigned tls_want(const struct tls_conn *t)
{
	return t->want;
}

int tls_send(struct tls_conn *t, const void *buf, size_t len)
{
	int rc = mbedtls_ssl_write(&t->ssl, buf, len);
	if (rc >= 0)
		return rc;
	if (map(t, rc) == OP_EAGAIN)
		return OP_EAGAIN;
	t->err = rc;
	return OP_EIO;
}

int tls_recv(struct tls_conn *t, void *buf, size_t cap)
{
	int rc = mbedtls_ssl_read(&t->ssl, buf, cap);
	if (rc >= 0)
		return rc;
	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	if (rc == MBEDTLS_ERR_NET_CONN_RESET)
		return OP_ECONNRESET;
	if (map(t, rc) == OP_EAGAIN)
		return OP_EAGAIN;
	t->err = rc;
	return OP_EIO;
}

int stream_send(struct tls_conn *t, struct net_conn *c, const void *buf, size_t len)
{
	return t ? tls_send(t, buf, len) : net_send(c, buf, len);
}

int stream_recv(struct tls_conn *t, struct net_conn *c, void *buf, size_t cap)
{
	return t ? tls_recv(t, buf, cap) : net_recv(c, buf, cap);
}

int stream_pending(const struct tls_conn *t)
{
	return t && mbedtls_ssl_check_pending(&t->ssl);
}

void stream_want(struct tls_conn *t, struct net_conn *c, unsigned plain)
{
	net_want(c, t ? tls_want(t) : plain);
}

void stream_error(const struct tls_conn *t, int n, char *buf, size_t cap)
{
	if (t && n == OP_EIO && t->err)
		tls_error(t, t->err, buf, cap);
	else
		op_strlcpy(buf, op_strerror(n), cap);
}

void tls_close(struct tls_conn *t)
{
	if (!t || !t->in_use)
		return;
	mbedtls_ssl_session_reset(&t->ssl);
	t->in_use = 0;
	t->c = NULL;
}

/* Does the leaf certificate name this IP address in its subjectAltName (iPAddress [7])? */
static int names_ip(const struct tls_conn *t)
{
	const mbedtls_x509_crt *c = mbedtls_ssl_get_peer_cert(&t->ssl);
	for (const mbedtls_x509_sequence *n = c ? &c->subject_alt_names : NULL; n; n = n->next)
		if (n->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && n->buf.len == t->ip_len &&
			!memcmp(n->buf.p, t->ip, t->ip_len))
			return 1;
	return 0;
}

enum tls_verdict tls_verify(struct tls_conn *t, char *detail, size_t cap)
{
	uint32_t f = mbedtls_ssl_get_verify_result(&t->ssl);
	if (t->ip_len && !names_ip(t))
		f |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	if (f == 0) {
		snprintf(detail, cap, "ok");
		return TLS_OK;
	}
	if (f & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) {
		/* both are judged by this box's clock, which on a board without a real-time clock
		 * may still be at 1970 before NTP: show it */
		char now[40];
		op_fmt_time(now, sizeof now, plat_wall_us());
		snprintf(detail, cap, "certificate %s by this box's clock (%s)",
			f & MBEDTLS_X509_BADCERT_EXPIRED ? "has expired" : "is not valid yet", now);
		return TLS_EXPIRED;
	}
	if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
		snprintf(detail, cap, "certificate is not for this %s",
			t->ip_len ? "IP address" : "host name");
		return TLS_HOSTNAME;
	}
	if (f & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_MISSING)) {
		snprintf(detail, cap, "certificate is not signed by a trusted CA");
		return TLS_UNTRUSTED;
	}
	snprintf(detail, cap, "certificate rejected (flags 0x%x)", (unsigned)f);
	return TLS_OTHER;
}

static int64_t x509_unix(const mbedtls_x509_time *tm)
{
	/* days from civil (H. Hinnant) */
	int y = tm->year, m = tm->mon, d = tm->day;
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = (int64_t)era * 146097 + doe - 719468;
	return days * 86400 + tm->hour * 3600 + tm->min * 60 + tm->sec;
}

/* Append text (n bytes) to a comma-separated list in out, each byte outside printable ASCII
 * as '?' (a server's certificate must not put control bytes or broken UTF-8 into a label);
 * what does not fit is left out. */
static void list_add(char *out, size_t cap, const char *text, size_t n)
{
	size_t w = strlen(out);
	if (w + (w > 0) + n >= cap)
		return;
	if (w)
		out[w++] = ',';
	for (size_t i = 0; i < n; i++)
		out[w++] = text[i] >= 32 && text[i] < 127 ? text[i] : '?';
	out[w] = 0;
}

int tls_cert_id(struct tls_conn *t, struct cert_id *id)
{
	const mbedtls_x509_crt *c = mbedtls_ssl_get_peer_cert(&t->ssl);
	memset(id, 0, sizeof *id);
	if (!c || !c->raw.len)
		return -1;
	mbedtls_sha256_ret(c->raw.p, c->raw.len, id->sha256, 0);
	/* the serial as the integer it is: DER's sign byte dropped */
	const uint8_t *sp = c->serial.p;
	size_t sl = c->serial.len;
	while (sl > 1 && *sp == 0)
		sp++, sl--;
	id->serial_len = (uint8_t)OP_MIN(sl, sizeof id->serial);
	memcpy(id->serial, sp, id->serial_len);
	char dn[256];
	if (mbedtls_x509_dn_gets(dn, sizeof dn, &c->subject) >= 0)
		list_add(id->subject, sizeof id->subject, dn, OP_MIN(strlen(dn), sizeof id->subject - 1));
	if (mbedtls_x509_dn_gets(dn, sizeof dn, &c->issuer) >= 0)
		list_add(id->issuer, sizeof id->issuer, dn, OP_MIN(strlen(dn), sizeof id->issuer - 1));
	for (const mbedtls_x509_sequence *n = &c->subject_alt_names; n && n->buf.len; n = n->next) {
		if (n->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)) { /* dNSName */
			list_add(id->san, sizeof id->san, (const char *)n->buf.p, n->buf.len);
		} else if (n->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) &&
			(n->buf.len == 4 || n->buf.len == 16)) {
			struct plat_addr a = {.family = n->buf.len == 4 ? PLAT_AF_INET : PLAT_AF_INET6};
			memcpy(a.ip, n->buf.p, n->buf.len);
			int l = plat_addr_format(&a, dn, sizeof dn);
			list_add(id->san, sizeof id->san, dn, (size_t)(l > 0 ? l : 0));
		}
	}
	return 0;
}

int64_t tls_earliest_expiry(struct tls_conn *t)
{
	const mbedtls_x509_crt *c = mbedtls_ssl_get_peer_cert(&t->ssl);
	int64_t min = 0;
	for (; c && c->raw.len; c = c->next) {
		int64_t e = x509_unix(&c->valid_to);
		if (!min || e < min)
			min = e;
	}
	return min;
}

int tls_version_code(struct tls_conn *t)
{
	const char *v = mbedtls_ssl_get_version(&t->ssl);
	return !strcmp(v, "TLSv1.2") ? 12 : !strcmp(v, "TLSv1.3") ? 13 : !strcmp(v, "TLSv1.1") ? 11 :
		10;
}

int tls_cipher_id(struct tls_conn *t)
{
	const char *s = mbedtls_ssl_get_ciphersuite(&t->ssl);
	return s ? mbedtls_ssl_get_ciphersuite_id(s) : 0;
}

void tls_cipher_name(int id, char *buf, size_t cap)
{
	const char *s = mbedtls_ssl_get_ciphersuite_name(id);
	op_strlcpy(buf, s ? s : "unknown", cap);
	for (char *p = buf; *p; p++)
		if (*p == '-')
			*p = '_';
}

/* The name of a TLS alert (RFC 8446 6), with what it usually means for a client like this
 * one where that is not plain from the name. */
static void alert_text(unsigned a, char *buf, size_t cap)
{
	static const struct {
		uint8_t code;
		const char *name, *hint;
	} alerts[] = {
		{10, "unexpected_message", NULL}, {20, "bad_record_mac", NULL},
		{40, "handshake_failure", "no cipher suite or curve in common, or mTLS"},
		{42, "bad_certificate", NULL}, {45, "certificate_expired", NULL},
		{46, "certificate_unknown", NULL}, {47, "illegal_parameter", NULL},
		{48, "unknown_ca", NULL}, {49, "access_denied", NULL}, {50, "decode_error", NULL},
		{51, "decrypt_error", NULL},
		{70, "protocol_version", "it does not accept TLS 1.2"},
		{71, "insufficient_security", "it wants stronger ciphers"},
		{80, "internal_error", NULL}, {90, "user_canceled", NULL},
		{109, "missing_extension", NULL}, {110, "unsupported_extension", NULL},
		{112, "unrecognized_name", "it does not serve this name"},
		{116, "certificate_required", "it wants a client certificate"},
		{120, "no_application_protocol", NULL},
	};
	for (size_t i = 0; i < OP_ARRAY_LEN(alerts); i++) {
		if (alerts[i].code == a) {
			snprintf(buf, cap, "alert %s from the server%s%s%s", alerts[i].name,
				alerts[i].hint ? " (" : "", alerts[i].hint ? alerts[i].hint : "",
				alerts[i].hint ? ")" : "");
			return;
		}
	}
	snprintf(buf, cap, "alert %u from the server", a);
}

void tls_error(const struct tls_conn *t, int rc, char *buf, size_t cap)
{
	const char *s;
	if (rc == MBEDTLS_ERR_NET_CONN_RESET && t && t->parting) {
		alert_text(t->alert, buf, cap);
		return;
	}
	/* the alert that ended it is still in the record buffer: name it */
	if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE && t && t->ssl.in_msg &&
		t->ssl.in_msgtype == MBEDTLS_SSL_MSG_ALERT && t->ssl.in_msglen >= 2) {
		alert_text(t->ssl.in_msg[1], buf, cap);
		return;
	}
	/* a handshake message larger than a record (a certificate chain over 16 KiB: many
	 * names, many intermediates) comes in pieces, which mbedTLS 2.28 does not join */
	if (rc == MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE && t && t->ssl.in_msg &&
		t->ssl.in_msgtype == MBEDTLS_SSL_MSG_HANDSHAKE && t->ssl.in_hslen > t->ssl.in_msglen) {
		int type = t->ssl.in_msg[0];
		snprintf(buf, cap, "the server's %s (%zu bytes) spans records, which mbedTLS "
			"cannot join", type == MBEDTLS_SSL_HS_CERTIFICATE ?
			"certificate chain" : type == MBEDTLS_SSL_HS_SERVER_KEY_EXCHANGE ?
			"key exchange" : type == MBEDTLS_SSL_HS_CERTIFICATE_REQUEST ?
			"certificate request" : "handshake message", t->ssl.in_hslen - 4);
		return;
	}
	switch (rc) {
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE: s = "the server sent a fatal alert"; break;
	case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE: s = "no cipher suite in common"; break;
	case MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO: s = "bad ServerHello"; break;
	/* what a broken or hostile server sends in place of the next handshake message */
	case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE: s = "bad or missing Certificate message"; break;
	case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE_REQUEST: s = "bad CertificateRequest"; break;
	case MBEDTLS_ERR_SSL_BAD_HS_SERVER_KEY_EXCHANGE:
		s = "bad ServerKeyExchange (its curve or signature)";
		break;
	case MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO_DONE: s = "bad ServerHelloDone"; break;
	case MBEDTLS_ERR_SSL_BAD_HS_CHANGE_CIPHER_SPEC: s = "bad ChangeCipherSpec"; break;
	case MBEDTLS_ERR_SSL_BAD_HS_FINISHED:
		s = "bad Finished (the handshake altered on the way?)";
		break;
	case MBEDTLS_ERR_SSL_BAD_HS_NEW_SESSION_TICKET: s = "bad NewSessionTicket"; break;
	case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE: s = "a message out of place in the handshake"; break;
	case MBEDTLS_ERR_SSL_UNEXPECTED_RECORD: s = "a record out of place"; break;
	case MBEDTLS_ERR_SSL_INVALID_RECORD:
		s = t && t->ready ? "not a TLS record" : "not a TLS record (is the port TLS?)";
		break;
	case MBEDTLS_ERR_SSL_INVALID_MAC: s = "a record failed its MAC (altered on the way?)"; break;
	case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION: s = "protocol version refused"; break;
	case MBEDTLS_ERR_NET_CONN_RESET:
		s = t && t->ready ? "connection reset" : "connection reset during the handshake";
		break;
	case MBEDTLS_ERR_NET_SEND_FAILED: s = "send failed"; break;
	case MBEDTLS_ERR_NET_RECV_FAILED: s = "receive failed"; break;
	case MBEDTLS_ERR_SSL_CONN_EOF: s = "connection closed during the handshake"; break;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED: s = "TLS arena exhausted"; break;
	default: s = NULL; break;
	}
	if (s)
		snprintf(buf, cap, "%s", s);
	else if ((-rc & 0x7f80) >= -MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE &&
		(-rc & 0x7f80) <= -MBEDTLS_ERR_X509_FATAL_ERROR) /* X.509's, with an ASN.1 cause */
		snprintf(buf, cap, "the server's certificate cannot be read (X.509 error -0x%04x)",
			(unsigned)-rc);
	else
		snprintf(buf, cap, "mbedTLS error -0x%04x", (unsigned)-rc);
}

void tls_arena_stats(uint64_t *size, uint64_t *peak)
{
	size_t max_used = 0, max_blocks = 0;
	if (T.up)
		mbedtls_memory_buffer_alloc_max_get(&max_used, &max_blocks);
	*size = T.arena_size;
	*peak = max_used;
}

int tls_verdict_reason(enum tls_verdict v)
{
	static const uint8_t reasons[] = {REASON_NONE, REASON_CERT_EXPIRED, REASON_CERT_HOSTNAME,
		REASON_CERT_UNTRUSTED, REASON_TLS};
	return reasons[v];
}
