/* cfg.h: the JSON configuration (jsmn, strict). Every object is read through a key table;
 * errors name file:line:col, the key and a fix. Strings expand ${VAR} and ${VAR:-default}. */
#ifndef CFG_H
#define CFG_H

#include "op.h"
#include "opts.h"
#include "slo.h"
#include "alarm.h"

struct cfg_ctx;

enum cfg_type {
	CFG_STR,  /* const char * into the config's string arena */
	CFG_DUR,  /* uint64_t µs, from "250ms", "30s", "5m", "1h", "1m30s" */
	CFG_UINT, /* uint32_t; a number or a string that expands to one */
	CFG_BOOL, /* uint8_t */
	CFG_FN,   /* custom reader */
	CFG_OBJ,  /* a nested object, read through the key table sub */
};

/* A custom reader for the value at token tok, storing into field. Returns 0 or OP_EINVAL
 * after cfg_error. */
typedef int cfg_fn(struct cfg_ctx *c, int tok, void *field);

struct cfg_key {
	const char *key;
	uint8_t type;     /* enum cfg_type */
	uint8_t required;
	size_t off;       /* offset of the field in the struct being filled */
	int64_t min, max; /* CFG_UINT bounds; CFG_DUR bounds in µs; CFG_STR max length */
	cfg_fn *fn;       /* CFG_FN */
	const struct cfg_key *sub; /* CFG_OBJ */
	size_t nsub;
};

#define OP_PROBE_CONF_MAX 512

struct probe_ops;
struct cfg_block;

struct cfg_probe {
	const char *name, *kind, *target;
	uint64_t interval_us, timeout_us;
	uint64_t delay_us;           /* > 0: the next run starts this long after a run ends */
	const struct probe_ops *ops;
	struct slo_target objective; /* nwin 0: none */
	uint8_t disabled;            /* configured but not scheduled */
	uint8_t ip_protocol;         /* 0: IPv4, else IPv6; 4 or 6: only that version */
	const char *service;         /* the service a run's event names (default: the name) */
	const char *groups;          /* its groups, as a JSON array ("[]" when none) */
	int line;
	_Alignas(max_align_t) uint8_t conf[OP_PROBE_CONF_MAX]; /* the kind's own settings */
};

/* A TLS setup: the trust store and, for mTLS, a client certificate (chain) and its private key:
 * file paths, "" for none (an empty trust store is that of probes that skip verification);
 * bytes: their size together, to size the TLS arena. */
struct cfg_tls {
	const char *ca, *cert, *key;
	uint32_t bytes;
};

/* A probe template for on-demand runs (/probe?module=NAME): the module's keys as JSON members
 * without braces, and its timeout apart (the request sets the timeout). */
#define OP_MAX_MODULES 16
struct cfg_module {
	const char *name, *kind, *members;
	uint64_t timeout_us; /* 0: not set */
};

struct cfg_label {
	const char *key, *value;
};

struct cfg {
	const char *file;
	const char *name, *region;
	struct cfg_label labels[OP_MAX_LABELS];
	uint32_t nlabels;
	const char *listen; /* "" disables the web server */
	const char *token;  /* bearer token for the API's write endpoints; "" turns them off */
	const char *page_user, *page_password; /* read-only basic auth for everything but /healthz */
	uint32_t web_threads; /* the web server's; on-demand runs may hold all but two */
	uint32_t max_probes, max_inflight, history;
	uint64_t shutdown_grace_us; /* how long a stop waits for runs in progress */
	struct cfg_probe *probes;
	uint32_t nprobes;
	struct slo_target objective; /* the default objective for every probe (nwin 0: none) */
	struct cfg_module modules[OP_MAX_MODULES];
	uint32_t nmodules;
	/* the TLS setups probes use (TLS is set up only when ntls > 0) */
	struct cfg_tls tls[4];
	uint32_t ntls;
	uint32_t tls_resume; /* probes that resume TLS sessions */
	uint32_t inflaters;  /* runs that may decode a compressed body at once (before the cap of
			      * max_inflight): one per probe that asks, as many as can run for a
			      * module */
	/* alarms, the channels they notify (each a probe of the internal kind "notify"), and
	 * maintenance windows */
	struct cfg_alarm *alarms;
	uint32_t nalarms;
	struct cfg_probe *channels;
	uint32_t nchannels;
	struct alarm_silence silences[OP_SILENCES_MAX];
	uint32_t nsilences;
	const char *state_dir; /* where alarm states survive a restart ("" : nowhere) */
	const char *logs_dir;  /* exec probes' outputs as log objects (NULL: not kept) */
	/* results pushed out through the spool: each sink a probe of the internal kind "export" */
	const char *spool_dir;
	uint32_t spool_max_bytes;
	uint8_t spool_max_set; /* max_bytes was given (a RAM spool defaults to 4 MiB) */
	uint64_t spool_flush_us;
	struct cfg_probe *sinks;
	uint32_t nsinks;
	uint32_t logs_max_bytes, logs_max_objects;
	char *arena; /* owned: strings, expanded values */
	size_t arena_len, arena_cap;
	struct cfg_block *blocks; /* owned: compiled patterns and other aligned data */
};

/* What makes text (len bytes) not JSON, said with a hint from where it stopped (the usual
 * slips by hand: a comment, single quotes, a bare word, 5s for "5s"), at byte *at; NULL when
 * it is JSON. buf holds a message that quotes the text. Start-up only: it allocates. */
const char *cfg_json_fault(const char *text, size_t len, size_t *at, char *buf, size_t cap);
/* Load and validate. file names the source in messages. On error, err holds
 * "file:line:col: message" and the return is OP_EINVAL (OP_ENOENT / OP_ETOOBIG for the file).
 * Allocates (start-up and reload only); release with cfg_free. */
int cfg_load_text(struct cfg *out, const char *file, const char *text, size_t len, char *err,
	size_t errcap);
int cfg_load_file(struct cfg *out, const char *path, char *err, size_t errcap);
void cfg_free(struct cfg *c);

/* Load module m as a one-probe config for target with a timeout (NULL target: the kind's
 * example, to check the template). Allocates; release with cfg_free. */
int cfg_module_load(struct cfg *out, const struct cfg_module *m, const char *target,
	uint64_t timeout_us, char *err, size_t errcap);

/* The message of an error without its "file:line:col: " prefix. */
const char *cfg_error_text(const char *err);
/* The closest of names[] to s (a slip of the keyboard), or NULL when none is close. */
const char *cfg_nearest(const char *s, const char *const *names, size_t n);
/* The same as a message's ending: "; did you mean \"x\"?" ("{{x}}" with braces) into buf, or ""
 * when none is close. Returns buf. */
const char *cfg_did_you_mean(char *buf, size_t cap, const char *s, const char *const *names,
	size_t n, int braces);
/* The next {{name}} of a template at *p: its name into name (cap bytes), *p past it; 0 when
 * there is none. */
int cfg_tpl_next(const char **p, char *name, size_t cap);
/* Every {{name}} of tpl is one of names[n]: 0, or a config error that says which is not, in
 * what ("channel \"chat\": template"), with the nearest. */
int cfg_tpl_names(struct cfg_ctx *c, int tok, const char *what, const char *tpl,
	const char *const *names, size_t n);
/* This appliance as a JSON object: {"name":...,"region":...,"labels":{...}}, for what it
 * sends (a webhook message, a batch of results). Returns the length, 0 when over cap. */
size_t cfg_appliance_json(char *out, size_t cap, const struct cfg *cfg);

/* For probe kinds' custom readers. */
int cfg_error(struct cfg_ctx *c, int tok, const char *fmt, ...);
/* What errors call p: "channel", "export" or "probe". */
const char *cfg_noun(const struct cfg_probe *p);
/* Read the string at tok (expanded) into *out; 0 or OP_EINVAL. */
int cfg_string(struct cfg_ctx *c, int tok, const char **out);
/* Fill base from the object at tok through keys (and a second table into base2, may be NULL).
 * what names the object in messages ("probe \"db\""). */
int cfg_object(struct cfg_ctx *c, int tok, const char *what, const struct cfg_key *keys,
	size_t nkeys, void *base, const struct cfg_key *keys2, size_t nkeys2, void *base2);
/* Register a TLS setup a probe uses (t: its files, bytes not needed); returns its index, or
 * OP_EINVAL after cfg_error (a file unreadable, or more than 4 different setups). */
int cfg_tls_add(struct cfg_ctx *c, int tok, const struct cfg_tls *t);
/* Zeroed, aligned memory that lives as long as the config; NULL (after cfg_error) when out of
 * memory. */
void *cfg_alloc(struct cfg_ctx *c, int tok, size_t size);
/* Count a probe that resumes TLS sessions (the TLS arena keeps room for its session). */
void cfg_tls_resume(struct cfg_ctx *c);
/* Count a probe that decodes compressed bodies (the inflaters' pool has room for its run). */
void cfg_inflater(struct cfg_ctx *c);
/* Keep a copy of s[0..n) for the config's lifetime (NUL-terminated); NULL when full. */
const char *cfg_store(struct cfg_ctx *c, const char *s, size_t n);
/* A CFG_FN reader's true or false into the uint8_t at field as 1 + the value, so that 0 stays
 * "not given"; anything else is a config error with the text error. */
int cfg_bool_given(struct cfg_ctx *c, int tok, void *field, const char *error);
/* The text of the scalar at tok: a string (expanded) or a primitive copied into tmp. */
int cfg_scalar(struct cfg_ctx *c, int tok, const char **out, char *tmp, size_t cap);
/* Token access for custom readers: type (jsmn), child count, and the index after tok. */
int cfg_tok_type(struct cfg_ctx *c, int tok);
int cfg_tok_size(struct cfg_ctx *c, int tok);
int cfg_tok_next(struct cfg_ctx *c, int tok);
/* A value that is one item or an array of them ("status": 200 or [200, 301]): the item count
 * into *n, and the first item's token (the next by cfg_tok_next). */
int cfg_items(struct cfg_ctx *c, int tok, int *n);
/* CFG_FN reader: {"Name": "value", ...} into one const char * of "Name: value\r\n" lines. */
int cfg_headers(struct cfg_ctx *c, int tok, void *field);
/* CFG_FN readers: "command": ["prog", "arg"...] into a NULL-terminated char **, and "env":
 * {"NAME": "value"} into NULL-terminated "NAME=value" strings. */
int cfg_argv(struct cfg_ctx *c, int tok, void *field);
int cfg_env(struct cfg_ctx *c, int tok, void *field);
/* CFG_FN readers: a pattern into a struct regex_check (regex.h), and {"$.path": value, ...}
 * into a struct json_checks (json.h). */
int cfg_regex_check(struct cfg_ctx *c, int tok, void *field);
int cfg_json_checks(struct cfg_ctx *c, int tok, void *field);
/* Compile pattern (the string at tok, for errors) into *out, from the config's arena. */
struct op_regex;
int cfg_regex(struct cfg_ctx *c, int tok, const char *pattern, struct op_regex **out);
/* Parse a duration ("1m30s") into µs; 0 or OP_EINVAL. */
int cfg_parse_duration(const char *s, uint64_t *us);

/* The embedded default configuration used when no file is given. */
extern const char cfg_default_json[];

#endif
