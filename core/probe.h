/* probe.h: the probe kind interface, the run (one execution of a probe) and the helpers probe
 * kinds use for resolving, connecting and reporting. Each kind is one file in probes/ with one
 * ops table listed in probes/registry.c. */
#ifndef PROBE_H
#define PROBE_H

#include "cfg.h"
#include "dns.h"
#include "ev.h"
#include "net.h"
#include "result.h"

struct probe;
struct probe_run;
struct snap_probe;
struct tls_conn;

/* Events a run's kind receives through on_event. */
enum probe_ev {
	PROBE_EV_RESOLVED,  /* r->addr holds the target's address */
	PROBE_EV_CONNECTED, /* r->conn is connected */
	PROBE_EV_IO,        /* r->conn readiness; the PLAT_* bits are in events */
	PROBE_EV_TIMER,     /* r->aux fired (armed with probe_run_timer) */
	PROBE_EV_CHILD,     /* a command may have ended (SIGCHLD): for probe_cmd_event */
};

struct probe_ops {
	const char *kind;
	/* A target of the right form, to check module templates at load. */
	const char *example_target;
	/* Bytes of per-run state (r->state). */
	size_t state_size;
	/* Kind-specific config keys, filled into cfg_probe.conf. */
	const struct cfg_key *keys;
	size_t nkeys;
	/* Check and derive after the keys are read; 0 or OP_EINVAL after cfg_error. May be NULL. */
	int (*configure)(struct cfg_ctx *c, int tok, struct cfg_probe *p);
	/* Begin a run. Return 0, or call probe_run_done first and return its code. */
	int (*start)(struct probe_run *r);
	/* Resolution, connection and I/O events of the run. */
	void (*on_event)(struct probe_run *r, int ev, unsigned events);
	/* Release what the run holds beyond r->conn and r->dq (which the engine closes).
	 * Called from probe_run_done, exactly once per run; r->facts.reason says how the run
	 * ended. May be NULL. */
	void (*cancel)(struct probe_run *r);

	/* A failed run is about to end with reason and detail: return 1 to keep it going (the
	 * kind has closed what it held and armed its next attempt; r->conn and r->dq are closed
	 * for it), 0 to let it end. Not asked for timeouts and interruptions. May be NULL. */
	int (*retry)(struct probe_run *r, int reason, const char *detail);

	/* Kinds that keep something between runs (a subscription, a table of events): */
	/* bytes of it for probe cp, given zeroed in p->kstate from the engine's arena; */
	size_t (*probe_state_size)(const struct cfg_probe *cp);
	/* the sockets (each with its DNS query and TLS context) and timers it may hold at once,
	 * reserved with the engine's; */
	uint32_t probe_conns, probe_timers;
	/* begin (the loop is ready) and end (the engine stops) what it holds; */
	void (*attach)(struct probe *p);
	void (*detach)(struct probe *p);
	/* copy what the snapshot shows of it into sp (called under plat_lock, once a second); */
	void (*publish)(struct probe *p, struct snap_probe *sp);
	/* across a reload, to the same probe (name, kind and target) in the next engine: keep
	 * writes what goes on into buf (cap bytes) and returns its size (buf NULL: the size it
	 * needs); take, after attach, reads it back. */
	size_t (*keep)(struct probe *p, void *buf, size_t cap);
	void (*take)(struct probe *p, const void *buf, size_t len);
};

/* NULL-terminated list of every kind (probes/registry.c). */
extern const struct probe_ops *const probe_registry[];
const struct probe_ops *probe_kind_find(const char *kind);
/* The internal kind of notification channels (core/notify.c): not in the registry. */
extern const struct probe_ops probe_notify;
/* The internal kind of export sinks (core/export.c). */
extern const struct probe_ops probe_export;

/* A configured probe: one slot from the PROBE pool. */
struct probe {
	const struct cfg_probe *cfg;
	uint32_t id;
	struct ev_timer tick;  /* next scheduled run */
	uint64_t due_us;       /* when the next run is due */
	uint64_t missed_us;    /* a run due while a reload settled (not started): the next is due then */
	struct probe_run *run; /* non-NULL while running */
	struct probe *wait_next; /* FIFO of probes due while every run slot is busy */
	uint8_t waiting;
	uint8_t adhoc; /* an out-of-schedule run for another thread; no tick, no history */
	uint8_t internal; /* a channel, sink or lane (id: its index): no tick, no history */
	uint64_t not_before_us; /* internal probes: engine_run_internal waits until then (backoff) */
	uint8_t now_slot; /* 1 + the ad-hoc slot waiting for this run's result (run now) */
	struct slo slo;   /* objective windows (slo.nring 0: no objective) */
	struct probe_stats stats;
	void *kstate; /* the kind's state between runs (probe_state_size), or NULL */
};

/* An HTTP proxy: "http://[user:password@]host:port" read into host, port and auth (a
 * "Proxy-Authorization: Basic ...\r\n" line, or NULL). */
struct probe_proxy {
	const char *host, *auth;
	uint16_t port;
};

/* A CONNECT tunnel through an HTTP proxy on a connected net_conn: the request goes out of a
 * buffer the caller lends, and the proxy's reply comes back into it. */
struct proxy_tunnel {
	const struct probe_proxy *px;
	uint8_t state; /* 0 none (or up), 1 to ask once connected, 2 asking, 3 reading the reply */
	uint16_t port;
	size_t len, sent;
	char host[DNS_NAME_MAX];
};
/* Arm t to ask px for host:port once connected (px NULL: no tunnel). */
void proxy_tunnel_arm(struct proxy_tunnel *t, const struct probe_proxy *px, const char *host,
	uint16_t port);
/* Drive t on c with buf (cap bytes, the same buffer every call): 1 when the tunnel is up, 0
 * while waiting (c's interest set), -1 failed, *reason and why saying how. */
int proxy_tunnel_io(struct proxy_tunnel *t, struct net_conn *c, char *buf, size_t cap,
	int *reason, char *why, size_t wcap);

/* One execution: one slot from the RUN pool, holding its connection and buffer. */
struct probe_run {
	struct probe *p;
	const struct probe_ops *ops;
	struct net_conn conn;
	struct ev_timer deadline;
	struct ev_timer aux;  /* the kind's own timer (probe_run_timer) */
	struct dns_query *dq;
	struct dns_resolve rv;
	uint64_t t0_us, mark_us;
	uint64_t end_us;           /* probe_run_end_at, else 0: the duration ends when recorded */
	uint64_t off_us;           /* left out of the duration: this host's work (probe_run_connect) */
	int64_t wall_us;
	int phase;                 /* the phase running since mark_us, or -1 */
	uint32_t phase_us[PHASE_COUNT];
	struct plat_addr addr;
	struct result facts; /* kind-reported facts (HTTP status, lengths...) copied into the result */
	uint16_t port;
	char host[DNS_NAME_MAX];
	struct proxy_tunnel via; /* through a proxy (probe_run_resolve's px), made in buf */
	size_t buf_len;
	struct probe_run *cmd_next; /* runs with a command running (probe_cmd_start) */
	uint8_t buf[OP_RUN_BUF];
	_Alignas(max_align_t) uint8_t state[]; /* ops->state_size */
};

/* The kind's config of a run. */
static inline const void *probe_conf(const struct probe_run *r)
{
	return r->p->cfg->conf;
}

/* Close the running phase (if any) and start phase (or -1 for none). Phases are timed on the
 * monotonic clock; time spent in a phase twice is added. */
void probe_run_phase(struct probe_run *r, int phase);
/* The same at at_us, a moment already past (when bytes arrived: net_conn.rx_us), kept between
 * the running phase's start and now. */
void probe_run_phase_at(struct probe_run *r, int phase, uint64_t at_us);
/* The run's outcome was complete at at_us (when the response's last byte arrived): the running
 * phase closes there, and so does the result's duration, rather than when it is recorded. */
void probe_run_end_at(struct probe_run *r, uint64_t at_us);
/* The run's duration so far: to probe_run_end_at's moment if it was called, else to now, less
 * what was done off the clock. */
uint64_t probe_run_elapsed(const struct probe_run *r);

/* At config load: url without its user:password@ into plain (cap bytes), and that credential,
 * percent-decoded, as a header line "<header>: Basic ...\r\n" kept in the config in *line
 * (NULL when the URL has none). 0, or a negative code after cfg_error. */
int probe_url_credential(struct cfg_ctx *c, int tok, const struct cfg_probe *p, const char *url,
	const char *header, char *plain, size_t cap, const char **line);
/* At config load: px from url (NULL: no proxy, *use stays NULL), and *use = px. 0, or a
 * negative code after cfg_error (which never shows the password). */
int probe_proxy_configure(struct cfg_ctx *c, int tok, const struct cfg_probe *p, const char *url,
	struct probe_proxy *px, const struct probe_proxy **use);

/* Resolve host for this run (IP literal, /etc/hosts, then DNS) in the probe's ip_protocol.
 * Delivers PROBE_EV_RESOLVED, or ends the run with REASON_RESOLVE. With px (else NULL) the
 * proxy is resolved instead, and probe_run_dial has it open a tunnel to host:port (CONNECT)
 * before anything else: the kind then talks to host as if connected to it. */
void probe_run_resolve(struct probe_run *r, const struct probe_proxy *px, const char *host,
	uint16_t port);
/* The dns_resolve family of a probe's ip_protocol (0: IPv4, else IPv6). */
uint8_t probe_family(const struct cfg_probe *p);
/* Connect r->conn to r->addr over TCP (the socket is made off the clock). Delivers
 * PROBE_EV_CONNECTED, then PROBE_EV_IO for the readiness asked with net_want; or ends the run
 * with REASON_CONNECT / REASON_REFUSED. */
void probe_run_connect(struct probe_run *r);
/* The address this run talks to, as probe_ip_protocol and probe_ip_addr_hash report it (done
 * by the resolve; a kind that asks a given address says it itself). */
void probe_run_note_addr(struct probe_run *r, const struct plat_addr *a);

/* The "tls" object of every kind that may speak TLS (probe_tls_keys). */
struct probe_tls {
	const char *ca_file;     /* CA bundle; probe_tls_configure sets the system's, or "" */
	const char *server_name; /* SNI and the name verified, instead of the target's host */
	const char *cert_file, *key_file; /* the client's certificate and key (mTLS), or "" */
	uint8_t insecure, resume;
};
#define PROBE_TLS_NKEYS 6
extern const struct cfg_key probe_tls_keys[PROBE_TLS_NKEYS];
/* At config load, for a probe that may use TLS: complete t (ca_file: the system bundle unless
 * set, "" when insecure) and register its CA file and resumption. Idempotent. 0 or a negative
 * code after cfg_error. */
int probe_tls_configure(struct cfg_ctx *c, int tok, struct probe_tls *t);
/* tls_start on c with o's files and name (else host's); resume as for tls_start. */
struct tls_conn *probe_tls_start(struct net_conn *c, const struct probe_tls *o,
	const char *host, int resume);

/* Bring r->conn up on the run's events, from PROBE_EV_RESOLVED on: connect, then with t (NULL:
 * plain TCP) the TLS handshake (SNI: t->server_name, else r->host unless it is an IP literal;
 * t->resume: offer this probe's last session), the tls phase and the TLS facts. 1 when the
 * connection is ready, with the chain verified unless t->insecure; 0 while it goes on, or
 * after the run ended with its reason. *tls holds the context (NULL before). Through a proxy,
 * the CONNECT tunnel comes first, timed as part of the connect phase. */
int probe_run_dial(struct probe_run *r, struct tls_conn **tls, const struct probe_tls *t, int ev);
/* Does the presented chain expire in fewer than min_days (0: no check)? 1 with why filled. */
int probe_cert_short(const struct probe_run *r, uint32_t min_days, char *why, size_t cap);

/* Deliver PROBE_EV_TIMER after us microseconds. */
void probe_run_timer(struct probe_run *r, uint64_t us);

/* A command run for a run: its output read into out (the last cap bytes kept; cap 0: read and
 * dropped), its exit status once it ended. The caller owns it (in the run's state).
 *
 *   start -> output read -> the command exits (SIGCHLD) -> what it left in its group killed,
 *   the output it wrote read to the end -> ended
 *
 * The run ends when the command does, even if something it started still holds its output. */
struct probe_cmd {
	int pid;        /* > 0 while it runs */
	int status;     /* once ended: the exit code, or minus the signal that killed it */
	uint8_t ended;
	size_t len;     /* bytes kept in out (the tail) */
	size_t cap;     /* out's size */
	uint64_t total; /* bytes the command wrote */
	char *out;
};

/* Start argv (argv[0] searched in PATH; env "K=V" additions; cwd or NULL) for r; its output
 * arrives on r->conn. 0, or a negative code after ending the run with a reason. */
int probe_cmd_start(struct probe_run *r, struct probe_cmd *c, char *const argv[],
	char *const env[], const char *cwd);
/* Hand the run's PROBE_EV_IO and PROBE_EV_CHILD to the command. 1 once it ended (c->status,
 * c->out complete), 0 while it runs (or for an event not its own), OP_EIO when its process
 * was lost. */
int probe_cmd_event(struct probe_run *r, struct probe_cmd *c, int ev);
/* Stop a command still running (its whole group: SIGTERM, SIGKILL 2 s later, reaped in the
 * background). Idempotent; for the kind's cancel. */
void probe_cmd_stop(struct probe_cmd *c);
/* The last 40 bytes of the kept output, printable (a line break as '|'), for a failure's
 * detail; out has cap bytes (48 holds all). */
void probe_cmd_tail(const struct probe_cmd *c, char *out, size_t cap);
/* End the run as a failed command: "exit 3; output ends "disk full|"", or "killed by signal
 * 9; ...". Returns 0. */
int probe_cmd_fail(struct probe_run *r, const struct probe_cmd *c);
/* The engine's SIGCHLD: each run with a command running gets PROBE_EV_CHILD. */
void probe_cmd_children(void);
/* The engine, as a run ends (the one place a run leaves the list): it gets no more of them. */
void probe_cmd_forget(struct probe_run *r);

/* End the run: records the result, releases the connection, the DNS query and the slot.
 * ok: success; reason: enum reason; detail: printf-style, may be NULL. Returns 0. Must be
 * called exactly once; r is invalid afterwards. */
int probe_run_done(struct probe_run *r, int ok, int reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Bytes a run slot needs for the largest kind. */
size_t probe_run_size(void);

#endif
