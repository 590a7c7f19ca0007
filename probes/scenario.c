/* scenario.c: the scenario probe: HTTP steps in order that prove an API works end to end
 * (list, submit, poll until done, fetch and verify, clean up), with values captured from one
 * response and used in the next as {{name}}.
 *
 *   step: expand -> request (core/httpc) -> [poll: until / fail_when, every, within]
 *         -> expect -> verify -> capture -> next step
 *   a failed step: the rest are skipped but the "always" ones (cleanup); the result names the
 *   step and the assertion ("step \"get-output\": body sha256 mismatch").
 *
 * Steps run on one run slot, one request at a time; captured values live in the run's state
 * (bounded), so nothing is allocated per run. Relative URLs ("/jobs/{{job_id}}") are taken
 * against the target. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <mbedtls/sha256.h>
#include "../core/engine.h"
#include "../core/http_expect.h"
#include "../core/json.h"
#include "../core/snap.h"

#define STEPS_MAX SNAP_STEPS_MAX
#define CAPTURES_MAX 4
#define VARS_MAX 16  /* variables of a scenario: its vars and its captures' names */
#define VAR_LEN 256   /* a value in "vars" */
#define VALUES_MAX 4096 /* every variable's value of a run, together: room for a long token */
#define TEXT_MAX 3072 /* a step's expanded headers and body, together */

struct scen_capture {
	const char *var, *from; /* from: "$.json.path" or "header:Name" */
};

struct scen_request {
	const char *method, *url, *headers, *body; /* templates */
	uint8_t compression;                       /* as the http probe's */
};

struct scen_poll {
	uint64_t every_us, within_us;
	struct http_expect until, fail_when;
	uint8_t has_fail_when;
};

struct scen_verify {
	const char *equals, *contains, *sha256_hex;
	uint8_t sha256[32];
};

struct scen_step {
	const char *name;
	struct scen_request req;
	struct http_expect expect;
	struct scen_capture cap[CAPTURES_MAX];
	uint8_t ncap, always, has_poll;
	struct scen_poll poll;
	struct scen_verify verify;
	const char *captures_text; /* for the reader */
};

struct scen_conf {
	const char *vars; /* {"name": "value"} read into var names/values below */
	struct scen_step *steps;
	uint8_t nsteps, nvars;
	const char *var_name[VARS_MAX], *var_value[VARS_MAX];
	struct probe_tls tls_opts;
	uint32_t concurrency;
	const char *proxy_url;
	struct probe_proxy proxy;
	/* derived: the base URL's parts and TLS setup, for relative URLs */
	struct httpc_req base;
};

struct scen_run {
	struct httpc h;
	struct httpc_req req;
	uint8_t step, failed, finishing, nvars, waiting;
	int reason;
	uint64_t step_t0, poll_deadline; /* step_t0: on the run's clock (probe_run_elapsed) */
	char why[OP_DETAIL_MAX];
	const char *var_name[VARS_MAX];
	uint16_t var_at[VARS_MAX], var_len[VARS_MAX], values_used; /* in values; NUL-ended */
	char values[VALUES_MAX];
	char url[1024], host[DNS_NAME_MAX], text[TEXT_MAX];
	struct snap_steps steps;
};

/* ---- config ---- */

static int read_until(struct cfg_ctx *c, int tok, void *field)
{
	return cfg_object(c, tok, "\"until\"", http_expect_keys, HTTP_EXPECT_NKEYS, field, NULL, 0,
		NULL);
}

static int read_fail_when(struct cfg_ctx *c, int tok, void *field)
{
	struct scen_poll *p = (struct scen_poll *)((char *)field -
		offsetof(struct scen_poll, fail_when));
	p->has_fail_when = 1;
	return cfg_object(c, tok, "\"fail_when\"", http_expect_keys, HTTP_EXPECT_NKEYS, field, NULL,
		0, NULL);
}

static const struct cfg_key poll_keys[] = {
	{"every", CFG_DUR, 0, offsetof(struct scen_poll, every_us), 10000, 3600000000ll, NULL},
	{"within", CFG_DUR, 1, offsetof(struct scen_poll, within_us), 10000, 86400000000ll, NULL},
	{"until", CFG_FN, 1, offsetof(struct scen_poll, until), 0, 0, read_until},
	{"fail_when", CFG_FN, 0, offsetof(struct scen_poll, fail_when), 0, 0, read_fail_when},
};

static int read_sha(struct cfg_ctx *c, int tok, void *field)
{
	struct scen_verify *v = (struct scen_verify *)((char *)field -
		offsetof(struct scen_verify, sha256_hex));
	int rc = cfg_string(c, tok, &v->sha256_hex);
	if (rc)
		return rc;
	if (strlen(v->sha256_hex) != 64)
		return cfg_error(c, tok, "\"sha256\" is 64 hex digits");
	for (int i = 0; i < 32; i++) {
		unsigned b;
		if (sscanf(v->sha256_hex + 2 * i, "%2x", &b) != 1)
			return cfg_error(c, tok, "\"sha256\" is 64 hex digits");
		v->sha256[i] = (uint8_t)b;
	}
	return 0;
}

static const struct cfg_key verify_keys[] = {
	{"equals", CFG_STR, 0, offsetof(struct scen_verify, equals), 0, 2048, NULL},
	{"contains", CFG_STR, 0, offsetof(struct scen_verify, contains), 0, 1024, NULL},
	{"sha256", CFG_FN, 0, offsetof(struct scen_verify, sha256_hex), 0, 0, read_sha},
};

static const struct cfg_key request_keys[] = {
	{"method", CFG_STR, 0, offsetof(struct scen_request, method), 0, 16, NULL},
	{"url", CFG_STR, 1, offsetof(struct scen_request, url), 0, 1000, NULL},
	{"headers", CFG_FN, 0, offsetof(struct scen_request, headers), 0, 0, cfg_headers},
	{"body", CFG_STR, 0, offsetof(struct scen_request, body), 0, 2000, NULL},
	{"compression", CFG_FN, 0, offsetof(struct scen_request, compression), 0, 0,
		httpc_read_compression},
};

/* "capture": {"job_id": "$.id", "etag": "header:ETag"} */
static int read_captures(struct cfg_ctx *c, int tok, void *field)
{
	struct scen_step *s = (struct scen_step *)((char *)field -
		offsetof(struct scen_step, captures_text));
	if (cfg_tok_type(c, tok) != 1 || cfg_tok_size(c, tok) > CAPTURES_MAX)
		return cfg_error(c, tok, "\"capture\" takes up to %d {\"name\": \"$.json.path\" or "
			"\"header:Name\"}", CAPTURES_MAX);
	int i = tok + 1;
	for (int n = 0; n < cfg_tok_size(c, tok); n++, i = cfg_tok_next(c, i + 1)) {
		struct scen_capture *cp = &s->cap[s->ncap++];
		int rc = cfg_string(c, i, &cp->var);
		if (rc || (rc = cfg_string(c, i + 1, &cp->from)) != 0)
			return rc;
		if (strncmp(cp->from, "header:", 7) && cp->from[0] != '$')
			return cfg_error(c, i + 1, "capture \"%s\": \"%s\" is neither a JSON path "
				"(\"$.id\") nor \"header:Name\"", cp->var, cp->from);
		const char *fault = cp->from[0] == '$' ? json_path_fault(cp->from) : NULL;
		if (fault)
			return cfg_error(c, i + 1, "capture \"%s\": json path \"%s\": %s",
				cp->var, cp->from, fault);
	}
	return 0;
}

static const struct cfg_key step_keys[] = {
	{"name", CFG_STR, 1, offsetof(struct scen_step, name), 0, 31, NULL},
	{"request", CFG_OBJ, 1, offsetof(struct scen_step, req), 0, 0, NULL, request_keys,
		OP_ARRAY_LEN(request_keys)},
	{"expect", CFG_OBJ, 0, offsetof(struct scen_step, expect), 0, 0, NULL, http_expect_keys,
		HTTP_EXPECT_NKEYS},
	{"capture", CFG_FN, 0, offsetof(struct scen_step, captures_text), 0, 0, read_captures},
	{"poll", CFG_OBJ, 0, offsetof(struct scen_step, poll), 0, 0, NULL, poll_keys,
		OP_ARRAY_LEN(poll_keys)},
	{"verify", CFG_OBJ, 0, offsetof(struct scen_step, verify), 0, 0, NULL, verify_keys,
		OP_ARRAY_LEN(verify_keys)},
	{"always", CFG_BOOL, 0, offsetof(struct scen_step, always), 0, 1, NULL},
};

static int read_steps(struct cfg_ctx *c, int tok, void *field)
{
	struct scen_conf *k = (struct scen_conf *)((char *)field - offsetof(struct scen_conf, steps));
	int n = cfg_tok_size(c, tok);
	if (cfg_tok_type(c, tok) != 2 || n < 1 || n > STEPS_MAX)
		return cfg_error(c, tok, "\"steps\" is a list of 1 to %d steps", STEPS_MAX);
	k->steps = cfg_alloc(c, tok, sizeof *k->steps * (size_t)n);
	if (!k->steps)
		return OP_EINVAL;
	int i = tok + 1;
	for (int j = 0; j < n; j++, i = cfg_tok_next(c, i)) {
		struct scen_step *s = &k->steps[j];
		char what[32];
		snprintf(what, sizeof what, "step #%d", j + 1);
		int rc = cfg_object(c, i, what, step_keys, OP_ARRAY_LEN(step_keys), s, NULL, 0, NULL);
		if (rc)
			return rc;
		char sw[64];
		snprintf(sw, sizeof sw, "step \"%s\"", s->name);
		if (!s->req.method)
			s->req.method = s->req.body ? "POST" : "GET";
		const char *b = s->req.body ? s->req.body + strspn(s->req.body, " \t\r\n") : "";
		if ((*b == '{' || *b == '[') &&
			!(s->req.headers = httpc_headers_json(c, i, s->req.headers)))
			return OP_EINVAL;
		const char *method = s->req.method;
		if ((rc = httpc_compression_configure(c, i, sw, s->req.headers,
			s->req.compression)) != 0 ||
			(rc = http_expect_configure(c, i, sw, method, &s->expect)) != 0)
			return rc;
		s->has_poll = s->poll.within_us > 0;
		if (s->has_poll) {
			if (!s->poll.every_us)
				s->poll.every_us = 1000000;
			if ((rc = http_expect_configure(c, i, sw, method, &s->poll.until)) != 0 ||
				(s->poll.has_fail_when && (rc = http_expect_configure(c, i, sw, method,
					&s->poll.fail_when)) != 0))
				return rc;
		}
		for (int x = 0; x < j; x++)
			if (!strcmp(k->steps[x].name, s->name))
				return cfg_error(c, i, "step name \"%s\" is used twice", s->name);
		k->nsteps++;
	}
	return 0;
}

static int read_vars(struct cfg_ctx *c, int tok, void *field)
{
	struct scen_conf *k = (struct scen_conf *)((char *)field - offsetof(struct scen_conf, vars));
	if (cfg_tok_type(c, tok) != 1 || cfg_tok_size(c, tok) > VARS_MAX / 2)
		return cfg_error(c, tok, "\"vars\" is an object of up to %d name: value strings",
			VARS_MAX / 2);
	int i = tok + 1;
	for (int n = 0; n < cfg_tok_size(c, tok); n++, i = cfg_tok_next(c, i + 1)) {
		const char *v;
		char tmp[64];
		int rc = cfg_string(c, i, &k->var_name[k->nvars]);
		if (rc || (rc = cfg_scalar(c, i + 1, &v, tmp, sizeof tmp)) != 0)
			return rc;
		if (strlen(v) >= VAR_LEN)
			return cfg_error(c, i + 1, "a value is at most %d bytes", VAR_LEN - 1);
		k->var_value[k->nvars++] = v == tmp ? cfg_store(c, tmp, strlen(tmp)) : v;
	}
	return 0;
}

static const struct cfg_key scen_keys[] = {
	{"steps", CFG_FN, 1, offsetof(struct scen_conf, steps), 0, 0, read_steps},
	{"vars", CFG_FN, 0, offsetof(struct scen_conf, vars), 0, 0, read_vars},
	{"tls", CFG_OBJ, 0, offsetof(struct scen_conf, tls_opts), 0, 0, NULL, probe_tls_keys,
		PROBE_TLS_NKEYS},
	{"concurrency", CFG_UINT, 0, offsetof(struct scen_conf, concurrency), 1, 16, NULL},
	{"proxy", CFG_STR, 0, offsetof(struct scen_conf, proxy_url), 1, OP_TARGET_MAX - 1, NULL},
};

static int scen_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct scen_conf *k = (struct scen_conf *)p->conf;
	int rc = httpc_configure(c, tok, p, "target", p->target, "http", &k->tls_opts,
		&k->base);
	if (rc == 0) /* every step's request starts as a copy of base: all go through it */
		rc = probe_proxy_configure(c, tok, p, k->proxy_url, &k->proxy, &k->base.proxy);
	if (rc < 0)
		return rc;
	/* every variable a run can hold has a place: the vars, and the names captures set */
	const char *names[VARS_MAX];
	int nnames = 0;
	for (int i = 0; i < k->nvars; i++)
		names[nnames++] = k->var_name[i];
	for (int i = 0; i < k->nsteps; i++) {
		for (int j = 0; j < k->steps[i].ncap; j++) {
			const char *v = k->steps[i].cap[j].var;
			int seen = 0;
			for (int x = 0; x < nnames && !seen; x++)
				seen = !strcmp(names[x], v);
			if (seen)
				continue;
			if (nnames == VARS_MAX)
				return cfg_error(c, tok, "probe \"%s\": step \"%s\": capture \"%s\" would "
					"be variable %d; a scenario holds %d (vars and capture names)",
					p->name, k->steps[i].name, v, VARS_MAX + 1, VARS_MAX);
			names[nnames++] = v;
		}
	}
	/* a poll that the run's timeout cuts first would end every slow run as "timeout", not
	 * with what the poll saw (the default timeout is 5 s) */
	for (int i = 0; i < k->nsteps; i++)
		if (k->steps[i].has_poll && k->steps[i].poll.within_us >= p->timeout_us)
			return cfg_error(c, tok, "probe \"%s\": step \"%s\": poll \"within\" %.1f s is "
				"not shorter than the scenario's timeout %.1f s, which ends the run first; "
				"raise \"timeout\"", p->name, k->steps[i].name,
				k->steps[i].poll.within_us / 1e6, p->timeout_us / 1e6);
	/* every {{name}} a step's request uses is a var, or captured by a step before it; else
	 * each run would fail there, "not set" (a step that captures what its own request uses,
	 * a polled cursor, takes its first value from vars) */
	for (int i = 0; i < k->nsteps; i++) {
		const struct scen_step *st = &k->steps[i];
		const char *tpl[] = {st->req.url, st->req.headers, st->req.body};
		char name[64];
		for (size_t f = 0; f < OP_ARRAY_LEN(tpl); f++) {
			for (const char *t = tpl[f]; cfg_tpl_next(&t, name, sizeof name);) {
				int x = 0, by = -1;
				while (x < k->nvars && strcmp(name, k->var_name[x]))
					x++;
				for (int j = 0; x == k->nvars && j < k->nsteps && by < 0; j++)
					for (int q = 0; q < k->steps[j].ncap; q++)
						if (!strcmp(name, k->steps[j].cap[q].var))
							by = j;
				if (x < k->nvars || (by >= 0 && by < i))
					continue;
				if (by == i)
					return cfg_error(c, tok, "probe \"%s\": step \"%s\": {{%s}} is "
						"captured by this step, after its request: give it a first value "
						"in \"vars\"", p->name, st->name, name);
				if (by > i)
					return cfg_error(c, tok, "probe \"%s\": step \"%s\": {{%s}} is "
						"captured by step \"%s\", which runs after it", p->name,
						st->name, name, k->steps[by].name);
				char hint[96];
				return cfg_error(c, tok, "probe \"%s\": step \"%s\": {{%s}} is neither "
					"in \"vars\" nor captured by a step%s", p->name, st->name, name,
					cfg_did_you_mean(hint, sizeof hint, name, names, (size_t)nnames, 1));
			}
		}
	}
	/* absolute step URLs: their TLS trust store is loaded now, and an https step of a
	 * scenario whose target is http has it (every step starts as a copy of base) */
	for (int i = 0; i < k->nsteps; i++) {
		const char *u = k->steps[i].req.url;
		if (!strncmp(u, "https://", 8) && !strstr(u, "{{")) {
			struct httpc_req tmp = {0};
			if ((rc = httpc_configure(c, tok, p, "url", u, "http", &k->tls_opts,
				&tmp)) < 0)
				return rc;
			k->base.tls_set = tmp.tls_set;
		} else if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8) && u[0] != '/' &&
			strncmp(u, "{{", 2)) {
			/* (a URL that is a value, a Location captured, is checked when it is known) */
			return cfg_error(c, tok, "probe \"%s\": step \"%s\": url \"%s\" must start with "
				"\"/\" (taken against the target), be a whole http(s) URL or a value that "
				"holds one (\"{{location}}\")", p->name, k->steps[i].name, u);
		}
	}
	/* a step at a time in each lane: a decoder each, when a step asks for a compression */
	int coded = 0;
	for (int i = 0; i < k->nsteps; i++)
		coded |= k->steps[i].req.compression != 0;
	for (uint32_t i = 0; coded && i < (k->concurrency ? k->concurrency : 1); i++)
		cfg_inflater(c);
	return 0;
}

/* ---- between runs: the last steps, and the lanes of concurrent runs ---- */

/* Concurrency K: the run on the probe's own slot is lane 0; lanes 1..K-1 are internal probes
 * started with it, each on a run slot of its own (or waiting for one), each reporting here. */
struct lane_result {
	uint8_t busy, ok;
	char why[OP_DETAIL_MAX];
};

struct scen_state {
	struct snap_steps pub;
	uint32_t nlanes;
	struct probe *owner;
	struct lane_result res[16];
	struct probe lane[]; /* nlanes */
};

static size_t scen_state_size(const struct cfg_probe *cp)
{
	const struct scen_conf *k = (const struct scen_conf *)cp->conf;
	uint32_t k_ = k->concurrency ? k->concurrency : 1;
	return sizeof(struct scen_state) + sizeof(struct probe) * (k_ - 1);
}

/* The shared state of the scenario a run belongs to (a lane's is its owner's); NULL when the
 * engine does not keep one (one-shot runs). */
static struct scen_state *shared(const struct probe_run *r)
{
	return r->p->kstate;
}

/* ---- the run ---- */

static const char *var_get(const struct scen_run *s, const char *name, size_t n)
{
	for (int i = 0; i < s->nvars; i++)
		if (strlen(s->var_name[i]) == n && !strncmp(s->var_name[i], name, n))
			return s->values + s->var_at[i];
	return NULL;
}

/* Set a variable (config checked there are at most VARS_MAX names). A new value replaces the
 * old one, the values after it moving down, so a poll capturing on every round does not fill
 * the room. -1 when all the values together would not fit. */
static int var_set(struct scen_run *s, const char *name, const char *v, size_t n)
{
	int i = 0;
	while (i < s->nvars && strcmp(s->var_name[i], name))
		i++;
	if (i == VARS_MAX)
		return -1;
	if (i < s->nvars) {
		size_t at = s->var_at[i], old = s->var_len[i] + 1u;
		memmove(s->values + at, s->values + at + old, s->values_used - at - old);
		s->values_used = (uint16_t)(s->values_used - old);
		for (int j = 0; j < s->nvars; j++)
			if (s->var_at[j] > at)
				s->var_at[j] = (uint16_t)(s->var_at[j] - old);
	} else {
		s->var_name[s->nvars++] = name;
	}
	if (s->values_used + n + 1 > VALUES_MAX) {
		s->var_name[i] = s->var_name[--s->nvars]; /* unset: a later {{name}} says so */
		s->var_at[i] = s->var_at[s->nvars], s->var_len[i] = s->var_len[s->nvars];
		return -1;
	}
	s->var_at[i] = s->values_used, s->var_len[i] = (uint16_t)n;
	memcpy(s->values + s->values_used, v, n);
	s->values[s->values_used + n] = 0;
	s->values_used = (uint16_t)(s->values_used + n + 1);
	return 0;
}

/* Where a template is expanded: a value is made safe for its place. */
enum into { INTO_URL, INTO_HEADERS, INTO_BODY };

/* Fill {{name}} from the variables. A value goes into a URL cleaned (net_url_clean); into
 * headers, a value with a control character fails (a line break would add a header of the
 * server's choosing). -1 with why naming an unset variable, such a value or an overflow. */
static int expand(const struct scen_run *s, const char *tpl, enum into into, char *out,
	size_t cap, char *why, size_t wcap)
{
	size_t w = 0;
	while (tpl && *tpl) {
		const char *end = NULL, *v = tpl;
		size_t n = 1; /* the template's own text: one byte, as it is */
		int value = tpl[0] == '{' && tpl[1] == '{' && (end = strstr(tpl + 2, "}}"));
		if (value) {
			int name_len = (int)(end - tpl - 2);
			if (!(v = var_get(s, tpl + 2, (size_t)name_len)))
				return snprintf(why, wcap, "{{%.*s}} is not set", name_len, tpl + 2), -1;
			for (const char *c = v; *c && into == INTO_HEADERS; c++)
				if ((unsigned char)*c < ' ' ? *c != '\t' : *c == 0x7f)
					return snprintf(why, wcap, "{{%.*s}} holds a control character: not "
						"put in a header", name_len, tpl + 2), -1;
			n = strlen(v);
			tpl = end + 2;
		} else {
			tpl++;
		}
		if (value && into == INTO_URL) {
			int m = net_url_clean(out + w, cap - w, v, n);
			if (m < 0)
				return snprintf(why, wcap, "expanded text over %zu bytes", cap), -1;
			w += (size_t)m;
			continue;
		}
		if (w + n >= cap)
			return snprintf(why, wcap, "expanded text over %zu bytes", cap), -1;
		memcpy(out + w, v, n);
		w += n;
	}
	out[w] = 0;
	return 0;
}

static void step_begin(struct probe_run *r, struct scen_run *s);

static void finish(struct probe_run *r, struct scen_run *s)
{
	const struct scen_conf *k = probe_conf(r);
	struct scen_state *st = shared(r);
	if (st && r->p->internal) {
		/* a lane: report to the owner, which decides */
		struct lane_result *lr = &st->res[r->p->id];
		lr->ok = !s->failed;
		op_strlcpy(lr->why, s->why, sizeof lr->why);
		lr->busy = 0;
		s->finishing = 1;
		probe_run_done(r, !s->failed, s->reason, "%s", s->why);
		return;
	}
	if (st) {
		st->pub = s->steps;
		for (uint32_t i = 1; i < st->nlanes + 1; i++) {
			if (st->res[i].busy) {
				s->waiting = 1;
				probe_run_timer(r, 5000); /* lanes still running: look again soon */
				return;
			}
		}
		for (uint32_t i = 1; i < st->nlanes + 1 && !s->failed; i++) {
			if (!st->res[i].ok) {
				s->failed = 1;
				s->reason = REASON_EXPECT;
				snprintf(s->why, sizeof s->why, "run %u of %u: %s", i + 1, st->nlanes + 1,
					st->res[i].why);
			}
		}
	}
	s->finishing = 1;
	if (s->failed)
		probe_run_done(r, 0, s->reason, "%s", s->why);
	else if (st && st->nlanes)
		probe_run_done(r, 1, REASON_NONE, "%u steps passed in %u concurrent runs", k->nsteps,
			st->nlanes + 1);
	else
		probe_run_done(r, 1, REASON_NONE, "%u steps passed", k->nsteps);
}

/* The current step is over (ok or not); the next one starts from the loop. */
static void step_end(struct probe_run *r, struct scen_run *s, int ok, int reason, const char *fmt,
	...) __attribute__((format(printf, 5, 6)));
static void step_end(struct probe_run *r, struct scen_run *s, int ok, int reason, const char *fmt,
	...)
{
	const struct scen_conf *k = probe_conf(r);
	s->steps.s[s->step].duration_us = (uint32_t)(probe_run_elapsed(r) - s->step_t0);
	s->steps.s[s->step].state = ok ? 1 : 2;
	if (!ok && !s->failed) {
		char d[OP_DETAIL_MAX];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(d, sizeof d, fmt, ap);
		va_end(ap);
		s->failed = 1;
		s->reason = reason;
		snprintf(s->why, sizeof s->why, "step \"%s\": %s", k->steps[s->step].name, d);
	}
	s->step++;
	s->poll_deadline = 0;
	probe_run_timer(r, 0);
}

static int verify(const struct scen_step *st, const struct httpc *h, char *why, size_t cap)
{
	const struct scen_verify *v = &st->verify;
	if (!v->equals && !v->contains && !v->sha256_hex)
		return 0;
	char coded[96];
	if (http_body_coded(h, coded, sizeof coded))
		return snprintf(why, cap, "verify: not read: %s", coded), -1;
	if (v->equals && (h->kept != strlen(v->equals) || memcmp(h->body, v->equals, h->kept)))
		return snprintf(why, cap, "body is not the expected %zu bytes", strlen(v->equals)), -1;
	if (v->contains && !op_memmem(h->body, h->kept, v->contains, strlen(v->contains)))
		return snprintf(why, cap, "body lacks \"%.40s\"", v->contains), -1;
	if (v->sha256_hex) {
		uint8_t sum[32];
		mbedtls_sha256_ret((const uint8_t *)h->body, h->kept, sum, 0);
		if (memcmp(sum, v->sha256, 32))
			return snprintf(why, cap, "body sha256 mismatch"), -1;
	}
	return 0;
}

static void step_done(struct probe_run *r, struct httpc *h)
{
	struct scen_run *s = (struct scen_run *)r->state;
	const struct scen_conf *k = probe_conf(r);
	const struct scen_step *st = &k->steps[s->step];
	char why[OP_DETAIL_MAX];
	uint64_t took = probe_run_elapsed(r) - s->step_t0;
	/* the response is in h's buffers: the connection is done with (the server's close must
	 * not reach this request again) */
	httpc_cancel(h);
	net_close(&r->conn);
	if (st->has_poll) {
		if (st->poll.has_fail_when &&
			http_expect_check(&st->poll.fail_when, r, h, took, why, sizeof why) == 0)
			return step_end(r, s, 0, REASON_EXPECT, "fail_when matched (status %d)",
				r->facts.http_status);
		if (http_expect_check(&st->poll.until, r, h, took, why, sizeof why) != 0) {
			if (op_loop.now_us + st->poll.every_us >= s->poll_deadline)
				return step_end(r, s, 0, REASON_EXPECT, "not done within %.1f s (%s)",
					st->poll.within_us / 1e6, why);
			probe_run_timer(r, st->poll.every_us); /* ask again */
			return;
		}
	}
	if (http_expect_check(&st->expect, r, h, took, why, sizeof why) != 0)
		return step_end(r, s, 0, REASON_EXPECT, "%s", why);
	if (h->body_left || (uint64_t)h->kept < r->facts.body_bytes) {
		if (st->verify.equals || st->verify.sha256_hex)
			return step_end(r, s, 0, REASON_TOO_LARGE, "body over %d bytes: cannot verify",
				OP_HTTP_KEEP);
	}
	if (verify(st, h, why, sizeof why) != 0)
		return step_end(r, s, 0, REASON_EXPECT, "%s", why);
	for (int i = 0; i < st->ncap; i++) {
		const struct scen_capture *cp = &st->cap[i];
		const char *val = NULL;
		size_t vlen = 0;
		if (cp->from[0] == '$') {
			if (http_body_coded(h, why, sizeof why))
				return step_end(r, s, 0, REASON_EXPECT, "capture %s: not read: %s",
					cp->var, why);
			int rc = json_values(h->body, h->kept, &cp->from, 1, &val, &vlen);
			if (rc != 0)
				return step_end(r, s, 0, REASON_EXPECT, "capture %s: %s", cp->var,
					json_values_error(rc));
			if (!val)
				return step_end(r, s, 0, REASON_EXPECT, "capture %s: %s absent", cp->var,
					cp->from);
			/* a string's value is what it says ("a\/b" is a/b), not how it was written */
			static char text[VALUES_MAX];
			if (json_as_read(h->body, &val, &vlen, text, sizeof text) != 0)
				return step_end(r, s, 0, REASON_EXPECT, "capture %s: a bad escape in the "
					"string at %s", cp->var, cp->from);
		} else {
			struct http_header hd[OP_HTTP_MAX_HEADERS];
			struct http_response resp = {.headers = hd, .nheaders = OP_HTTP_MAX_HEADERS};
			http_parse_response(h->head, h->head_len, &resp);
			const struct http_header *f = http_find_header(&resp, cp->from + 7);
			if (!f)
				return step_end(r, s, 0, REASON_EXPECT, "capture %s: header %s absent",
					cp->var, cp->from + 7);
			val = f->value, vlen = f->value_len;
		}
		if (var_set(s, cp->var, val, vlen) != 0)
			return step_end(r, s, 0, REASON_EXPECT, "capture %s: %zu bytes do not fit "
				"(the values of a run hold %d bytes in all)", cp->var, vlen, VALUES_MAX);
	}
	step_end(r, s, 1, REASON_NONE, NULL);
}

static void step_begin(struct probe_run *r, struct scen_run *s)
{
	const struct scen_conf *k = probe_conf(r);
	while (s->step < k->nsteps && s->failed && !k->steps[s->step].always)
		s->step++; /* skipped after a failure: not run */
	if (s->step >= k->nsteps)
		return finish(r, s);
	const struct scen_step *st = &k->steps[s->step];
	char path[1024], why[OP_DETAIL_MAX];
	if (!s->poll_deadline) {
		s->step_t0 = probe_run_elapsed(r);
		if (st->has_poll)
			s->poll_deadline = op_loop.now_us + st->poll.within_us;
	}
	/* the headers and then the body share the step's text (the headers leave it a byte) */
	if (expand(s, st->req.url, INTO_URL, path, sizeof path, why, sizeof why) != 0 ||
		expand(s, st->req.headers, INTO_HEADERS, s->text, sizeof s->text - 1, why,
			sizeof why) != 0)
		return step_end(r, s, 0, REASON_EXPECT, "%s", why);
	char *body = s->text + strlen(s->text) + 1;
	if (expand(s, st->req.body, INTO_BODY, body, sizeof s->text - (size_t)(body - s->text), why,
		sizeof why) != 0)
		return step_end(r, s, 0, REASON_EXPECT, "%s", why);
	s->req = k->base;
	if (path[0] == '/') { /* (a fragment is the client's own: not sent) */
		if (net_url_clean(s->url, sizeof s->url, path, strcspn(path, "#")) < 0)
			return step_end(r, s, 0, REASON_EXPECT, "url over %zu bytes", sizeof s->url - 1);
		s->req.path = s->url;
	} else {
		int tls;
		if (net_split_url(path, "http", &tls, s->host, sizeof s->host, &s->req.port, s->url,
			sizeof s->url) != 0)
			return step_end(r, s, 0, REASON_EXPECT, "url \"%.60s\" is not an http(s) URL",
				path);
		if (tls && !k->base.tls_set) /* (a value's URL: no step asked for TLS at load) */
			return step_end(r, s, 0, REASON_EXPECT, "https URL but the target is http: "
				"put the scenario's target on https");
		s->req.tls = (uint8_t)tls;
		if (!dns_name_eq(s->host, k->base.host))
			s->req.auth = NULL; /* the target's user:password is for the target's host */
		s->req.host = s->host;
		s->req.path = s->url;
	}
	s->req.method = st->req.method;
	s->req.headers = st->req.headers ? s->text : NULL;
	s->req.body = st->req.body ? body : NULL;
	s->req.max_body_kib = 1024;
	s->req.compression = st->req.compression;
	s->steps.s[s->step].state = 0;
	httpc_cancel(&s->h);
	net_close(&r->conn);
	memset(&r->facts, 0, sizeof r->facts);
	httpc_start(r, &s->h, &s->req, step_done);
}

static int scen_start(struct probe_run *r)
{
	struct scen_run *s = (struct scen_run *)r->state;
	const struct scen_conf *k = probe_conf(r);
	memset(&s->steps, 0, sizeof s->steps);
	s->steps.n = k->nsteps;
	for (int i = 0; i < k->nsteps; i++)
		op_strlcpy(s->steps.s[i].name, k->steps[i].name, sizeof s->steps.s[i].name);
	s->step = 0;
	s->failed = s->finishing = 0;
	s->poll_deadline = 0;
	s->nvars = 0;
	s->values_used = 0;
	s->h.tls = NULL;
	s->waiting = 0;
	for (int i = 0; i < k->nvars; i++)
		var_set(s, k->var_name[i], k->var_value[i], strlen(k->var_value[i]));
	struct scen_state *st = shared(r);
	if (st && !r->p->internal) {
		/* the other lanes start now, each on its own slot (or waiting for one) */
		for (uint32_t i = 0; i < st->nlanes; i++) {
			struct lane_result *lr = &st->res[i + 1];
			if (lr->busy)
				continue; /* still at it from a run that timed out */
			lr->busy = 1;
			lr->ok = 0;
			snprintf(lr->why, sizeof lr->why, "did not finish");
			engine_run_internal(&st->lane[i]);
		}
	}
	step_begin(r, s);
	return 0;
}

static void scen_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct scen_run *s = (struct scen_run *)r->state;
	if (ev == PROBE_EV_TIMER && s->waiting)
		finish(r, s); /* the lanes, again */
	else if (ev == PROBE_EV_TIMER)
		step_begin(r, s); /* the next step, or the same one polled again */
	else
		httpc_on_event(r, &s->h, ev, events);
}

/* A request failed below the step (resolve, connect, TLS, a broken response): the step fails
 * with that reason, and the run goes on to the "always" steps. */
static int scen_retry(struct probe_run *r, int reason, const char *detail)
{
	struct scen_run *s = (struct scen_run *)r->state;
	if (s->finishing)
		return 0;
	httpc_cancel(&s->h);
	step_end(r, s, 0, reason, "%s", detail);
	return 1;
}

static void scen_cancel(struct probe_run *r)
{
	struct scen_run *s = (struct scen_run *)r->state;
	struct scen_state *st = shared(r);
	httpc_cancel(&s->h);
	if (st && r->p->internal)
		st->res[r->p->id].busy = 0; /* however the lane ended */
}

static void scen_attach(struct probe *p)
{
	struct scen_state *st = p->kstate;
	const struct scen_conf *k = (const struct scen_conf *)p->cfg->conf;
	st->owner = p;
	st->nlanes = (k->concurrency ? k->concurrency : 1) - 1;
	for (uint32_t i = 0; i < st->nlanes; i++) {
		memset(&st->lane[i], 0, sizeof st->lane[i]);
		st->lane[i].cfg = p->cfg;
		st->lane[i].id = i + 1;
		st->lane[i].internal = 1;
		st->lane[i].kstate = st;
	}
}

static void scen_detach(struct probe *p)
{
	struct scen_state *st = p->kstate;
	for (uint32_t i = 0; i < st->nlanes; i++)
		if (st->lane[i].run)
			probe_run_done(st->lane[i].run, 0, REASON_CANCELED, "engine stopped");
}

static void scen_publish(struct probe *p, struct snap_probe *sp)
{
	sp->steps = ((const struct scen_state *)p->kstate)->pub;
}

const struct probe_ops probe_scenario = {
	.kind = "scenario",
	.example_target = "https://module.invalid",
	.state_size = sizeof(struct scen_run),
	.keys = scen_keys,
	.nkeys = OP_ARRAY_LEN(scen_keys),
	.configure = scen_configure,
	.start = scen_start,
	.on_event = scen_on_event,
	.cancel = scen_cancel,
	.retry = scen_retry,
	.probe_state_size = scen_state_size,
	.attach = scen_attach,
	.detach = scen_detach,
	.publish = scen_publish,
};
