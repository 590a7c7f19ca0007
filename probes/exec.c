/* exec.c: the exec probe: run a command, succeed when it exits with an expected code (and its
 * output matches) — an SLA runner for existing scripts.
 *
 *   spawn -> read output (keep the last max_output bytes) -> exit -> check
 *
 * The command runs in its own process group with stdout and stderr on one pipe read in the
 * loop (probe_cmd); when it exits, what it left in its group is killed; on timeout or any
 * early end the group gets SIGTERM, then SIGKILL after 2 s, and is reaped in the background:
 * nothing blocks, nothing is left behind. */
#include <stdio.h>
#include <string.h>
#include "../core/engine.h"
#include "../core/logstore.h"
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
	struct probe_cmd cmd;
	uint8_t ok;
	char out[OP_EXEC_OUTPUT_MAX]; /* the output's tail */
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
	s->cmd.out = s->out;
	s->cmd.cap = k->max_output;
	probe_cmd_start(r, &s->cmd, k->argv, k->env, k->cwd);
	return 0;
}

static void exec_finish(struct probe_run *r, struct exec_state *s, const struct exec_conf *k)
{
	const struct probe_cmd *c = &s->cmd;
	int ok = 0;
	for (int i = 0; i < k->ncodes; i++)
		ok |= c->status == k->codes[i];
	if (!ok) {
		probe_cmd_fail(r, c);
		return;
	}
	char t[48];
	probe_cmd_tail(c, t, sizeof t);
	if (k->expect.contains && !op_memmem(c->out, c->len, k->expect.contains,
		strlen(k->expect.contains))) {
		probe_run_done(r, 0, REASON_EXPECT, "output lacks \"%.40s\"; it ends \"%s\"",
			k->expect.contains, t);
		return;
	}
	if (k->expect.re && !regex_search(k->expect.re, c->out, c->len)) {
		probe_run_done(r, 0, REASON_EXPECT, "output does not match /%.40s/", k->expect.regex);
		return;
	}
	s->ok = 1;
	probe_run_done(r, 1, REASON_NONE, "exit %d, %llu bytes of output", c->status,
		(unsigned long long)c->total);
}

static void exec_on_event(struct probe_run *r, int ev, unsigned events)
{
	struct exec_state *s = (struct exec_state *)r->state;
	(void)events;
	int rc = probe_cmd_event(r, &s->cmd, ev);
	if (rc < 0)
		probe_run_done(r, 0, REASON_EXEC, "lost track of the command");
	else if (rc > 0)
		exec_finish(r, s, probe_conf(r));
}

static void exec_cancel(struct probe_run *r)
{
	struct exec_state *s = (struct exec_state *)r->state;
	probe_cmd_stop(&s->cmd);
	/* every run's output is kept as a log object, whatever ended it; a reload or a stop is
	 * no verdict on the job */
	int reason = r->facts.reason;
	engine_output(r->p, r->wall_us, s->ok ? LOG_SUCCESS : reason == REASON_INTERRUPTED ||
		reason == REASON_CANCELED ? LOG_INTERRUPTED : LOG_FAILURE, s->out, s->cmd.len);
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
