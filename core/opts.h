/* opts.h: every compile-time size in one place. A board overrides any of these with -D (see
 * board/<name>/board.mk); the JSON config may lower a limit, never raise it past these. */
#ifndef OP_OPTS_H
#define OP_OPTS_H

/* Most probes one appliance runs (config limits.max_probes is capped by this). */
#ifndef OP_MAX_PROBES
#define OP_MAX_PROBES 2048
#endif
/* Most probe runs in flight at once (limits.max_inflight). */
#ifndef OP_MAX_INFLIGHT
#define OP_MAX_INFLIGHT 256
#endif
/* How long a reload waits for the runs in progress to finish (shutdown_grace when shorter):
 * no run starts meanwhile, so it is a gap in every probe's schedule, kept short; a run longer
 * than this (a long exec job) is interrupted, which counts neither for nor against it. */
#ifndef OP_RELOAD_SETTLE_US
#define OP_RELOAD_SETTLE_US 5000000
#endif
/* Most results kept per probe (limits.history). */
#ifndef OP_MAX_HISTORY
#define OP_MAX_HISTORY 1440
#endif
/* Most DNS queries in flight at once: one per run plus a margin for the resolver itself. */
#ifndef OP_DNS_MAX_QUERIES
#define OP_DNS_MAX_QUERIES OP_MAX_INFLIGHT
#endif
/* Nameservers read from resolv.conf, and /etc/hosts entries kept. */
#ifndef OP_DNS_MAX_SERVERS
#define OP_DNS_MAX_SERVERS 3
#endif
#ifndef OP_DNS_MAX_HOSTS
#define OP_DNS_MAX_HOSTS 64
#endif
/* resolv.conf "search" domains kept (the C library's historic limit) */
#ifndef OP_DNS_MAX_SEARCH
#define OP_DNS_MAX_SEARCH 6
#endif
/* A DNS message over UDP or TCP; larger TCP answers fail with "too large". */
#ifndef OP_DNS_MSG_MAX
#define OP_DNS_MSG_MAX 1232
#endif
/* Answer records decoded from one response. */
#ifndef OP_DNS_MAX_ANSWERS
#define OP_DNS_MAX_ANSWERS 16
#endif
/* Per-run I/O buffer for small probes (tcp send/expect, dns messages). */
#ifndef OP_RUN_BUF
#define OP_RUN_BUF 1280
#endif
/* Most threads of the web server (web.threads), one per open connection. On-demand runs
 * (/probe, "run now") wait on one each and may hold all but two, so /metrics and the dashboard
 * always have one. */
#ifndef OP_WEB_THREADS_MAX
#define OP_WEB_THREADS_MAX 64
#endif
#define OP_ADHOC_MAX (OP_WEB_THREADS_MAX - 2)
#if OP_WEB_THREADS_MAX < 3
#error "OP_WEB_THREADS_MAX must leave room for on-demand runs and two more"
#endif
/* Failure detail text kept with each result. */
#ifndef OP_DETAIL_MAX
#define OP_DETAIL_MAX 96
#endif
/* Names and targets as shown on /metrics. */
#ifndef OP_NAME_MAX
#define OP_NAME_MAX 64
#endif
#ifndef OP_TARGET_MAX
#define OP_TARGET_MAX 256
#endif
/* Largest config file read, and JSON tokens in it. */
#ifndef OP_CFG_FILE_MAX
#define OP_CFG_FILE_MAX (1024 * 1024)
#endif
#ifndef OP_CFG_MAX_TOKENS
#define OP_CFG_MAX_TOKENS 65536
#endif
/* Appliance labels. */
#ifndef OP_MAX_LABELS
#define OP_MAX_LABELS 8
#endif
/* Loop stall after which /healthz answers 503. */
#ifndef OP_STALL_US
#define OP_STALL_US (5 * 1000000ull)
#endif

#if OP_MAX_INFLIGHT > OP_MAX_PROBES
#error "OP_MAX_INFLIGHT cannot exceed OP_MAX_PROBES"
#endif
#if OP_RUN_BUF < OP_DNS_MSG_MAX + 2
#error "OP_RUN_BUF must hold one DNS message with its TCP length prefix"
#endif

#ifndef OP_JSON_BODY_TOKENS
#define OP_JSON_BODY_TOKENS 2048 /* JSON values in a checked response body or message */
#endif

#endif
