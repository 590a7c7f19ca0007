/* exec.c: the exec probe: run a command, succeed when it exits with an expected code (and its
 * output matches) — an SLA runner for existing scripts.
 *
 *   spawn -> read output (keep the last max_output bytes) -> EOF -> reap -> check
 *
 * The command runs in its own process group with stdout and stderr on one pipe read in the
 * loop; on timeout or any early end the group gets SIGTERM, then SIGKILL after 2 s, and is
 * reaped in the background: nothing blocks, nothing is left behind. */
#include <stdio.h>
#include <string.h>
#include "../core/engine.h"
#include "../core/probe.h"
#include "../core/regex.h"

#ifndef OP_EXEC_OUTPUT_MAX
#define OP_EXEC_OUTPUT_MAX 16384 /* output kept per run (its tail) */
#endif
#define MAX_CODES 8

struct exec_expect {
	const char *contains, *regex;
	struct op_regex *re;
};

struct exec_conf {
	char **argv, **env;
	const char *cwd;
	uint32_t max_output;
	uint8_t ncodes;
	int16_t codes[MAX_CODES];
	struct exec_expect expect;
};

struct exec_state {
	int pid, status;
	uint8_t eof, reaped, ok;
	size_t len;     /* bytes in out (the tail) */
	uint64_t total; /* bytes the command wrote */
	char out[OP_EXEC_OUTPUT_MAX];
};

/* ---- config ---- */

static int read_codes(struct cfg_ctx *c, int tok, void *field)
{
	struct exec_conf *k = (struct exec_conf *)((char *)field - offsetof(struct exec_conf, ncodes));
	int n = cfg_tok_size(c, tok);
	if (cfg_tok_type(c, tok) != 2 || n < 1 || n > MAX_CODES)
		return cfg_error(c, tok, "\"success_exit_codes\" is a list of 1 to %d codes", MAX_CODES);
	int i = tok + 1;
	for (int j = 0; j < n; j++, i = cfg_tok_next(c, i)) {
		const char *s;
		char tmp[16];
		int rc = cfg_scalar(c, i, &s, tmp, sizeof tmp);
		if (rc)
			return rc;
		int v, used = 0;
		if (sscanf(s, "%d%n", &v, &used) != 1 || s[used] || v < 0 || v > 255)
			return cfg_error(c, i, "exit codes are 0 to 255");
		k->codes[k->ncodes++] = (int16_t)v;
	}
	return 0;
}

static int read_regex(struct cfg_ctx *c, int tok, void *field)
{
	struct exec_expect *e = (struct exec_expect *)((char *)field -
		offsetof(struct exec_expect, regex));
	char err[64];
	int rc = cfg_string(c, tok, &e->regex);
	if (rc)
		return rc;
	e->re = cfg_alloc(c, tok, sizeof *e->re);
	if (!e->re)
		return OP_EINVAL;
	if (regex_compile(e->re, e->regex, err, sizeof err))
		return cfg_error(c, tok, "pattern \"%s\": %s", e->regex, err);
	return 0;
}

static const struct cfg_key expect_keys[] = {
	{"contains", CFG_STR, 0, offsetof(struct exec_expect, contains), 0, 1024, NULL},
	{"regex", CFG_FN, 0, offsetof(struct exec_expect, regex), 0, 0, read_regex},
};

static const struct cfg_key exec_keys[] = {
	{"command", CFG_FN, 1, offsetof(struct exec_conf, argv), 0, 0, cfg_argv},
	{"env", CFG_FN, 0, offsetof(struct exec_conf, env), 0, 0, cfg_env},
	{"cwd", CFG_STR, 0, offsetof(struct exec_conf, cwd), 0, 255, NULL},
	{"max_output", CFG_UINT, 0, offsetof(struct exec_conf, max_output), 1, OP_EXEC_OUTPUT_MAX,
		NULL},
	{"success_exit_codes", CFG_FN, 0, offsetof(struct exec_conf, ncodes), 0, 0, read_codes},
	{"expect", CFG_OBJ, 0, offsetof(struct exec_conf, expect), 0, 0, NULL, expect_keys,
		OP_ARRAY_LEN(expect_keys)},
};

static int exec_configure(struct cfg_ctx *c, int tok, struct cfg_probe *p)
{
	struct exec_conf *k = (struct exec_conf *)p->conf;
	if (p->ip_protocol)
		return cfg_error(c, tok, "probe \"%s\": \"ip_protocol\" does not apply to an exec "
			"probe (the command makes its own connections); remove it", p->name);
	if (!k->max_output)
		k->max_output = OP_EXEC_OUTPUT_MAX;
	if (!k->ncodes)
		k->codes[k->ncodes++] = 0;
	return 0;
}

/* ---- the run ---- */

static int exec_start(struct probe_run *r)
{
	struct exec_state *s = (struct exec_state *)r->state;
	const struct exec_conf *k = probe_conf(r);
	s->ok = 0;
	s->len = 0;
	s->total = 0;
	s->eof = s->reaped = 0;
	s->pid = probe_run_spawn(r, k->argv, k->env, k->cwd);
	return 0;
}

/* The last bytes of the output, printable, for the failure detail. */
static void tail(const struct exec_state *s, char *out, size_t cap)
{
	size_t n = OP_MIN(s->len, 40), w = 0;
	for (size_t i = s->len - n; i < s->len && w + 1 < cap; i++) {
		char ch = s->out[i];
		out[w++] = ch >= 32 && ch < 127 ? ch : ch == '\n' ? '|' : '.';
	}
	out[w] = 0;
}

static void exec_finish(struct probe_run *r, struct exec_state *s, const struct exec_conf *k)
{
	char t[48];
	tail(s, t, sizeof t);
	int ok = 0;
	for (int i = 0; i < k->ncodes; i++)
		ok |= s->status == k->codes[i];
	if (!ok) {
		if (s->status > 128)
			probe_run_done(r, 0, REASON_EXEC, "killed by signal %d; output ends \"%s\"",
				s->status - 128, t);
		else
			probe_run_done(r, 0, REASON_EXEC, "exit %d; output ends \"%s\"", s->status, t);
		return;
	}
	if (k->expect.contains && !op_memmem(s->out, s->len, k->expect.contains,
		strlen(k->expect.contains))) {
		probe_run_done(r, 0, REASON_EXPECT, "output lacks \"%.40s\"; it ends \"%s\"",
			k->expect.contains, t);
		return;
	}
	if (k->expect.re && !regex_search(k->expect.re, s->out, s->len)) {
		probe_run_done(r, 0, REASON_EXPECT, "output does not match /%.40s/", k->expect.regex);
		return;
	}
	s->ok = 1;
	probe_run_done(r, 1, REASON_NONE, "exit %d, %llu bytes of output", s->status,
		(unsigned long long)s->total);
}

static void exec_read(struct probe_run *r, struct exec_state *s, const struct exec_conf *k)
{
	/* a bounded number of reads per wake-up: a command that floods its output cannot hold
	 * the loop */
	for (int round = 0; round < 16; round++) {
		char buf[4096];
		int n = net_recv(&r->conn, buf, sizeof buf);
		if (n == OP_EAGAIN)
			return;
		if (n <= 0) {
			/* the command closed its output (it exited, most likely): reap it */
			s->eof = 1;
			net_close(&r->conn);
			probe_run_timer(r, 0);
			return;
		}
		s->total += (uint64_t)n;
		/* keep the last max_output bytes */
		size_t cap = k->max_output;
		if ((size_t)n >= cap) {
			memcpy(s->out, buf + n - cap, cap);
			s->len = cap;
		} else {
			if (s->len + (size_t)n > cap) {
				size_t drop = s->len + (size_t)n - cap;
				memmove(s->out, s->out + drop, s->len - drop);
				s->len -= drop;
			}
			memcpy(s->out + s->len, buf, (size_t)n);
			s->len += (size_t)n;
		}
	}
}

static void exec_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct exec_state *s = (struct exec_state *)r->state;
	const struct exec_conf *k = probe_conf(r);
	(void)events;
	if (ev == PROBE_EV_IO) {
		exec_read(r, s, k);
		return;
	}
	if (ev == PROBE_EV_TIMER) {
		int rc = probe_run_reap(s->pid, &s->status);
		if (rc == 0) {
			probe_run_timer(r, 2000); /* exited output but not yet the process: soon */
			return;
		}
		s->reaped = 1;
		if (rc < 0) {
			probe_run_done(r, 0, REASON_EXEC, "lost track of the command");
			return;
		}
		exec_finish(r, s, k);
	}
}

static void exec_cancel(struct probe_run *r)
{
	struct exec_state *s = (struct exec_state *)r->state;
	if (s->pid > 0 && !s->reaped)
		probe_run_stop(s->pid);
	s->pid = 0;
	/* every run's output is kept as a log object, whatever ended it */
	engine_output(r->p, r->wall_us, s->ok, s->out, s->len);
}

const struct probe_ops probe_exec = {
	.kind = "exec",
	.example_target = "module",
	.state_size = sizeof(struct exec_state),
	.keys = exec_keys,
	.nkeys = OP_ARRAY_LEN(exec_keys),
	.configure = exec_configure,
	.start = exec_start,
	.on_event = exec_on_event,
	.cancel = exec_cancel,
};
