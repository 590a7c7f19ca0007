/* result.h: what one probe run produced, the fixed set of failure reasons, and the counters
 * and histograms kept per probe. */
#ifndef RESULT_H
#define RESULT_H

#include "op.h"
#include "opts.h"

/* Failure reasons: a fixed set, so they can label metrics; the detail string says more. */
#define OP_REASONS(X)                                  \
	X(NONE, "")                                    \
	X(TIMEOUT, "timeout")                          \
	X(RESOLVE, "resolve failed")                   \
	X(CONNECT, "connect failed")                   \
	X(REFUSED, "connection refused")               \
	X(SEND, "send failed")                         \
	X(RECV, "receive failed")                      \
	X(CLOSED, "connection closed")                 \
	X(EXPECT, "expectation failed")                \
	X(DNS_RCODE, "unexpected rcode")               \
	X(DNS_ANSWER, "answer mismatch")               \
	X(PROTOCOL, "protocol error")                  \
	X(TLS, "TLS handshake failed")                 \
	X(CERT_EXPIRED, "certificate expired")         \
	X(CERT_HOSTNAME, "certificate host mismatch")  \
	X(CERT_UNTRUSTED, "certificate not trusted")   \
	X(TOO_LARGE, "response too large")             \
	X(EXEC, "command failed")                      \
	X(NO_SLOT, "no free run slot")                 \
	X(CANCELED, "canceled")                        \
	X(INTERRUPTED, "interrupted")

enum reason {
#define OP_X(id, text) REASON_##id,
	OP_REASONS(OP_X)
#undef OP_X
	REASON_COUNT
};
const char *reason_text(int reason);
/* Metric-label form: lowercase id ("timeout", "dns_rcode"). */
const char *reason_label(int reason);

enum phase { PHASE_RESOLVE, PHASE_CONNECT, PHASE_TLS, PHASE_PROCESSING, PHASE_TRANSFER,
	PHASE_COUNT };
const char *phase_name(int phase);

struct result {
	int64_t wall_us;      /* when the run started (Unix µs) */
	uint32_t duration_us; /* start to done */
	uint32_t phase_us[PHASE_COUNT];
	uint8_t ok;
	uint8_t reason; /* enum reason */
	/* HTTP facts (http probes; zero otherwise) */
	uint8_t http_version; /* 10 or 11 */
	uint8_t redirects;
	uint8_t ssl;
	uint8_t content_failed; /* a body or header assertion failed */
	int16_t http_status;
	int64_t content_length; /* -1 when the response had none */
	uint64_t body_bytes;
	int64_t last_modified;  /* its Last-Modified, Unix s; 0: none (or not a date) */
	/* TLS facts */
	int64_t cert_expiry;   /* earliest NotAfter of the presented chain, Unix s; 0: none */
	uint16_t tls_cipher;   /* IANA cipher suite id */
	uint8_t tls_version;   /* 12 for TLS 1.2 */
	uint8_t cert_verified; /* the chain verified */
	uint8_t ip_protocol;   /* 4 or 6: the address family connected to; 0 for none */
	uint32_t ip_hash;      /* FNV-1a of that address's bytes (probe_ip_addr_hash) */
	uint8_t tls_resumed;   /* the handshake resumed a session */
	/* DNS facts (dns probes): the reply's rcode and section counts, when one came */
	uint8_t dns_replied;
	uint8_t dns_rcode;
	uint8_t dns_tcp; /* the reply came over TCP */
	uint16_t dns_flags; /* its header's flags (enum dns_flag) */
	uint16_t dns_answers, dns_authority, dns_additional;
	int64_t dns_serial; /* the serial of an SOA answer; -1: none */
	char detail[OP_DETAIL_MAX];
};

/* Latency buckets (seconds) shared by every duration histogram on /metrics. */
#define OP_HIST_BOUNDS {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
#define OP_HIST_N 13

/* The leaf certificate the last TLS handshake was shown (probe_ssl_last_chain_info); the texts
 * are cut to fit. */
struct cert_id {
	uint8_t sha256[32]; /* of its DER */
	uint8_t serial[20], serial_len;
	char subject[64], issuer[64]; /* distinguished names as mbedTLS writes them */
	char san[80];       /* DNS names and IP addresses, comma-separated */
};

struct probe_stats {
	uint64_t runs_ok, runs_fail, skipped;
	uint64_t tls_full, tls_resumed; /* completed TLS handshakes by type */
	uint64_t by_reason[REASON_COUNT];
	uint64_t hist[OP_HIST_N + 1]; /* last bucket: above the largest bound */
	double sum_s;
	struct result last;
	struct result last_failure;
	struct cert_id cert;
	uint8_t has_last, has_failure, has_cert;
};

/* The SLA event of a run, as exec users publish it: {"service","groups","succeeded",
 * "timestamp" (Unix seconds, a string), "testExecutionSecs" (a string)}. groups is a JSON
 * array. Returns the length written into out. */
size_t result_event(char *out, size_t cap, const char *service, const char *groups,
	const struct result *r);

/* Count a result into stats (counters, histogram, last). */
void stats_add(struct probe_stats *s, const struct result *r);
/* Only the last result and the last failure (a run from before a restart). */
void stats_last(struct probe_stats *s, const struct result *r);

/* A delivery's state (a notification channel's, an export's), as the API shows it. */
struct delivery_state {
	char target[OP_TARGET_MAX]; /* where it delivers: an export's URL, a channel's type */
	struct result last_failure; /* the latest failed attempt; wall_us 0: none */
	uint8_t failing;            /* the latest attempt failed */
};
/* The delivery state of an internal probe from its stats and target. */
void stats_delivery(const struct probe_stats *s, const char *target, struct delivery_state *out);
/* Days the presented chain has left at wall time now_us (negative once it has expired);
 * meaningful only when r->cert_expiry is set. */
double result_cert_days(const struct result *r, int64_t now_us);
/* A TLS run's facts as a JSON member, ",\"tls\":{...}" (version, cipher, cert_expiry,
 * cert_expiry_unix, verified, resumed); "" without TLS. The length written. */
size_t result_tls_json(char *out, size_t cap, const struct result *r);
/* A result as one JSON object, the shape of the results API (exec probes add their SLA event).
 * Returns the length; 0 when it does not fit in cap. */
size_t result_json(char *out, size_t cap, const char *name, const char *kind, const char *target,
	const char *region, const char *service, const char *groups, const struct result *r);
/* The OP_HIST_BOUNDS bucket of a duration (OP_HIST_N: above the largest bound). */
int result_hist_bucket(uint64_t us);

/* A result in a form that outlives this build, for the spool: each field as (id, length,
 * little-endian value), the reason by its label, the detail as text. A later build that
 * widens, adds or reorders fields (or reasons) still reads it: unknown ids are skipped, absent
 * ones stay 0. result_encode returns the bytes written (0: cap too small); result_decode
 * returns 0, or -1 when the bytes are not such a record. */
size_t result_encode(uint8_t *out, size_t cap, const struct result *r);
int result_decode(const uint8_t *in, size_t n, struct result *r);

/* A log-scale histogram of microsecond values for quantiles (scheduling lag, loop passes):
 * 8 buckets per power of two from 1 µs to ~1 hour, relative error under 9 %. */
#define LOGHIST_N 256
struct loghist {
	uint64_t count;
	uint64_t sum_us;
	uint64_t max_us;
	uint32_t b[LOGHIST_N];
};
void loghist_add(struct loghist *h, uint64_t us);
/* The q-quantile (0..1) in µs, from the upper edge of its bucket; 0 when empty. */
uint64_t loghist_quantile(const struct loghist *h, double q);

#endif
