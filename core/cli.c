/* cli.c: the outpost command line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "engine.h"
#include "json.h"
#include "logstore.h"
#include "probe.h"
#include "rand.h"

static const char usage[] =
	"usage: outpost COMMAND [ARGS]\n"
	"\n"
	"  run [-c FILE]              run the appliance (FILE, or $OUTPOST_CONFIG, or the\n"
	"                             embedded default config)\n"
	"  run --dry-run [-c FILE]    run every enabled probe once, print the results, serve\n"
	"                             nothing; exit 0 if all succeeded, 1 otherwise\n"
	"  check-config FILE          validate a config file and exit (0 valid, 2 invalid)\n"
	"  probe KIND TARGET [OPTS]   run one probe once, print its result as JSON, exit 0 on\n"
	"                             success and 1 on failure. OPTS: --timeout 5s, and any key\n"
	"                             of that kind as --key value (e.g. --send, --expect,\n"
	"                             --record AAAA, --server 127.0.0.1:53, --expect-status 200,\n"
	"                             --starttls smtp, --ip_protocol ip6); --insecure is\n"
	"                             --tls-insecure-skip-verify true\n"
	"  probe exec [OPTS] -- CMD [ARGS]  run a command as an exec probe\n"
	"  --version                  print the version\n"
	"  --help                     print this help\n"
	"\n"
	"Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the config file.\n";

static int load(struct cfg *c, const char *path, char *err, size_t cap)
{
	if (path)
		return cfg_load_file(c, path, err, cap);
	return cfg_load_text(c, "<embedded default config>", cfg_default_json,
		strlen(cfg_default_json), err, cap);
}

static int cmd_check(int argc, char **argv)
{
	if (argc < 1) {
		fputs(usage, stderr);
		return 2;
	}
	struct cfg c;
	char err[1024];
	if (load(&c, argv[0], err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	printf("%s: ok (%u probe%s; limits: max_probes %u, max_inflight %u, history %u)\n", argv[0],
		c.nprobes, OP_S(c.nprobes), c.max_probes, c.max_inflight, c.history);
	cfg_free(&c);
	return 0;
}

static int dry_failed;
/* an exec run's log object (the one it would have stored) and output, printed with its result
 * by run --dry-run and probe exec */
static const struct probe *kept_probe;
static char kept_object[LOG_NAME_MAX];
static char kept_output[16384]; /* an exec probe keeps at most this much by default */
static size_t kept_len;

static void print_result(const char *region, const struct cfg_probe *p, const struct result *r);

static void keep_output(const struct probe *p, const char *name, const char *data, size_t len)
{
	kept_probe = p;
	op_strlcpy(kept_object, name, sizeof kept_object);
	kept_len = OP_MIN(len, sizeof kept_output);
	memcpy(kept_output, data, kept_len);
}

static void dry_on_result(const struct probe *p, const struct result *r)
{
	if (kept_probe != p)
		kept_object[0] = 0;
	print_result(engine_cfg()->region, p->cfg, r);
	kept_probe = NULL;
	kept_object[0] = 0;
	dry_failed |= !r->ok;
}

/* run --dry-run: every enabled probe once, now; results printed, nothing served or kept. */
static int dry_run(const char *path)
{
	struct cfg c;
	char err[1024];
	if (load(&c, path, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	struct engine_opts o = {.once = 1, .on_result = dry_on_result, .on_output = keep_output};
	int rc = engine_init(&c, &o, err, sizeof err);
	if (rc == 0) {
		engine_run();
		engine_deinit();
	} else {
		fprintf(stderr, "outpost: %s\n", err);
	}
	for (uint32_t i = 0; i < c.nprobes; i++)
		if (c.probes[i].disabled)
			fprintf(stderr, "outpost: %s is disabled: not run\n", c.probes[i].name);
	cfg_free(&c);
	return rc ? 1 : dry_failed;
}

/* A reload moved the web server to next's address or changed its threads: serve there, or,
 * when that address cannot be had (taken, not local), go on serving where it was rather than
 * lose the dashboard, the API and /metrics; next then keeps that address, so a later reload
 * tries the new one again. Returns whether the web server is on. */
static int web_move(const struct cli_hooks *hooks, int on, const struct cfg *cur,
	struct cfg *next)
{
	static char kept[64]; /* the address served when next's could not be had */
	char err[256];
	if (on)
		hooks->web_stop();
	if (!*next->listen)
		return 0;
	if (hooks->web_start(next->listen, next->web_threads, err, sizeof err) == 0) {
		fprintf(stderr, "outpost: dashboard now at http://%s/ (%u threads)\n", next->listen,
			next->web_threads);
		return 1;
	}
	fprintf(stderr, "outpost: %s\n", err);
	if (!on || hooks->web_start(cur->listen, next->web_threads, err, sizeof err) != 0)
		return 0;
	fprintf(stderr, "outpost: still serving at http://%s/\n", cur->listen);
	if (cur->listen != kept)
		op_strlcpy(kept, cur->listen, sizeof kept);
	next->listen = kept;
	return 1;
}

static int cmd_run(int argc, char **argv, const struct cli_hooks *hooks)
{
	const char *path = getenv("OUTPOST_CONFIG");
	int dry = 0;
	for (int i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--dry-run"))
			dry = 1;
		else {
			fprintf(stderr, "outpost run: unexpected argument \"%s\"\n%s", argv[i], usage);
			return 2;
		}
	}
	if (path && !*path)
		path = NULL;
	if (dry)
		return dry_run(path);
	struct cfg cur;
	char err[1024];
	if (load(&cur, path, err, sizeof err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	/* signals first: a SIGTERM that arrives while the web server or the engine start up is
	 * kept and acted on by the loop's first pass */
	int sfd = plat_signal_init();
	if (sfd < 0) {
		fprintf(stderr, "outpost: cannot set up signals: %s\n", op_strerror(sfd));
		cfg_free(&cur);
		return 1;
	}
	int web_on = 0;
	if (*cur.listen && hooks && hooks->web_start) {
		if (hooks->web_start(cur.listen, cur.web_threads, err, sizeof err) != 0) {
			fprintf(stderr, "outpost: %s\n", err);
			cfg_free(&cur);
			return 1;
		}
		web_on = 1;
	}
	int rc = engine_init(&cur, NULL, err, sizeof err);
	if (rc) {
		fprintf(stderr, "outpost: %s\n", err);
		goto out;
	}
	fprintf(stderr, "outpost %s: %u probe%s from %s\n", op_version, cur.nprobes,
		OP_S(cur.nprobes), cur.file);
	if (web_on)
		fprintf(stderr, "outpost: dashboard at http://%s/ (metrics at /metrics)\n", cur.listen);
	for (;;) {
		int why = engine_run();
		if (why != ENGINE_RELOAD)
			break;
		struct cfg next;
		if (load(&next, path, err, sizeof err) != 0) {
			fprintf(stderr, "outpost: reload refused, keeping the running config: %s\n", err);
			engine_note_reload(err);
			continue;
		}
		/* runs in progress finish under the config they started with */
		if (engine_settle() == ENGINE_STOP) {
			cfg_free(&next);
			break;
		}
		engine_deinit();
		/* the engine keeps a pointer to its config: it runs on cur, whichever that is */
		struct cfg prev = cur;
		cur = next;
		rc = engine_init(&cur, NULL, err, sizeof err);
		if (rc) {
			/* files the new config names (a CA, a client key) did not load: go on with
			 * the running config, as for a config that does not parse */
			fprintf(stderr, "outpost: reload refused, keeping the running config: %s\n", err);
			char refused[sizeof err];
			op_strlcpy(refused, err, sizeof refused);
			cfg_free(&cur);
			cur = prev;
			rc = engine_init(&cur, NULL, err, sizeof err);
			if (rc) {
				fprintf(stderr, "outpost: cannot start the running config again: %s\n",
					err);
				goto out;
			}
			engine_note_reload(refused);
			continue;
		}
		/* said before the web server moves: a POST /api/v1/reload waits on it in one of the
		 * threads a move stops */
		engine_note_reload(NULL);
		if (hooks && hooks->web_start && (strcmp(cur.listen, prev.listen) ||
			cur.web_threads != prev.web_threads))
			web_on = web_move(hooks, web_on, &prev, &cur);
		cfg_free(&prev);
		fprintf(stderr, "outpost: reloaded %s: %u probe%s\n", cur.file, cur.nprobes,
			OP_S(cur.nprobes));
	}
	fprintf(stderr, "outpost: stopping\n");
	engine_deinit();
out:
	if (web_on)
		hooks->web_stop();
	cfg_free(&cur);
	return rc ? 1 : 0;
}

static struct result probe_result;
static int probe_got;

static void probe_on_result(const struct probe *p, const struct result *r)
{
	(void)p;
	probe_result = *r;
	probe_got = 1;
}

/* Print a result as one JSON line: the row the results API and the collectors get, and for an
 * exec run what it would have stored. */
static void print_result(const char *region, const struct cfg_probe *p, const struct result *r)
{
	static char row[8192];
	size_t n = result_json(row, sizeof row, p->name, p->kind, p->target, region, p->service,
		p->groups, r);
	if (!n) {
		fprintf(stderr, "outpost: the result does not fit %zu bytes\n", sizeof row);
		return;
	}
	printf("%.*s", (int)n - 1, row); /* its closing brace comes last */
	if (!strcmp(p->kind, "exec") && kept_object[0]) {
		static char q[sizeof kept_output * 6 + 8];
		json_quote_n(q, sizeof q, kept_output, kept_len);
		printf(",\"log_object\":\"%s\",\"output\":%s", kept_object, q);
	}
	printf("}\n");
}

static const struct cfg_key *cli_key(const struct cfg_key *keys, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(keys[i].key, name))
			return &keys[i];
	return NULL;
}

/* Append to a bounded text; past its end only count, so one check at the end finds it. */
static void add(char *buf, size_t cap, size_t *w, const char *fmt, ...)
{
	size_t at = OP_MIN(*w, cap);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + at, cap - at, fmt, ap);
	va_end(ap);
	*w += n > 0 ? (size_t)n : 0;
}

static int cmd_probe(int argc, char **argv)
{
	if (argc == 1 && probe_kind_find(argv[0])) { /* the kind alone: say what comes next */
		if (!strcmp(argv[0], "exec"))
			fprintf(stderr, "outpost probe: exec needs a command: outpost probe exec [OPTS] "
				"-- CMD [ARGS]\n");
		else
			fprintf(stderr, "outpost probe: %s needs a target: outpost probe %s TARGET "
				"[OPTS]\n", argv[0], argv[0]);
		return 2;
	}
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	/* build a one-probe config and load it through the normal path, so every check and
	 * message is the same as for a config file */
	static char text[8192];
	static char q[sizeof text * 6 + 3]; /* any argument quoted whole: text is the bound */
	const char *timeout = "5s";
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (op_utf8_prefix((const uint8_t *)argv[i], n) != n) {
			/* (a config is UTF-8: bytes that are not would not reach the target as given) */
			op_excerpt(argv[i], OP_MIN(n, 60), q, sizeof q);
			fprintf(stderr, "outpost probe: argument \"%s\" is not UTF-8\n", q);
			return 2;
		}
	}
	size_t w = 0;
	add(text, sizeof text, &w,
		"{\"web\":{\"listen\":\"\"},\"limits\":{\"max_probes\":1,\"max_inflight\":1,"
		"\"history\":1},\"probes\":[{\"name\":\"cli\",\"kind\":");
	json_quote(q, sizeof q, argv[0]);
	add(text, sizeof text, &w, "%s,\"target\":", q);
	/* "outpost probe exec [OPTS] -- CMD ARGS...": the command is the rest of the line and
	 * the target its program name */
	int end = argc, first = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			end = i;
			break;
		}
	}
	if (end < argc) {
		if (end + 1 >= argc) {
			fprintf(stderr, "outpost probe: nothing after \"--\"\n");
			return 2;
		}
		json_quote(q, sizeof q, argv[end + 1]);
		add(text, sizeof text, &w, "%s,\"command\":[", q);
		for (int i = end + 1; i < argc; i++) {
			json_quote(q, sizeof q, argv[i]);
			add(text, sizeof text, &w, "%s%s", i > end + 1 ? "," : "", q);
		}
		add(text, sizeof text, &w, "]");
		first = 1;
	} else {
		json_quote(q, sizeof q, argv[1]);
		add(text, sizeof text, &w, "%s", q);
		first = 2;
	}
	/* --key value sets a key of the kind; --parent-key value a key inside one of its objects
	 * (--expect-status 200, --tls-ca-file ca.pem): those are gathered per object */
	const struct probe_ops *ops = probe_kind_find(argv[0]);
	static char hdrs[4096]; /* --headers "Name: value", each time */
	size_t hw = 0;
	static char nested[4][sizeof text]; /* (each ends up in text: that is the bound) */
	const char *parents[4];
	int nparents = 0;
	for (int i = first; i < end; i++) {
		const char *key, *val;
		if (!strcmp(argv[i], "--insecure")) { /* a flag, as curl's */
			key = "tls-insecure-skip-verify", val = "true";
		} else if (strncmp(argv[i], "--", 2) || i + 1 >= argc) {
			fprintf(stderr, "outpost probe: expected --key value, got \"%s\"\n", argv[i]);
			return 2;
		} else {
			key = argv[i] + 2, val = argv[++i];
		}
		if (!strcmp(key, "timeout")) {
			timeout = val;
			continue;
		}
		char k[64];
		op_strlcpy(k, key, sizeof k);
		for (char *p = k; *p; p++)
			if (*p == '-')
				*p = '_';
		if (!strcmp(k, "headers") && val[0] != '{') {
			/* curl's -H form, one header each time: gathered into one object */
			const char *colon = strchr(val, ':'), *v = colon ? colon + 1 : NULL;
			if (!colon || colon == val) {
				fprintf(stderr, "outpost probe: --headers takes a JSON object or one "
					"\"Name: value\" (as curl's -H), not \"%s\"\n", val);
				return 2;
			}
			while (*v == ' ' || *v == '\t')
				v++;
			json_quote_n(q, sizeof q, val, (size_t)(colon - val));
			add(hdrs, sizeof hdrs, &hw, "%s%s:", hw ? "," : "", q);
			json_quote(q, sizeof q, v);
			add(hdrs, sizeof hdrs, &hw, "%s", q);
			continue;
		}
		const struct cfg_key *kk = ops ? cli_key(ops->keys, ops->nkeys, k) : NULL;
		const struct cfg_key *parent = NULL;
		for (size_t n = 0; !kk && ops && n < ops->nkeys; n++) {
			size_t l = strlen(ops->keys[n].key);
			if (ops->keys[n].type == CFG_OBJ && !strncmp(k, ops->keys[n].key, l) && k[l] == '_')
				parent = &ops->keys[n], kk = cli_key(parent->sub, parent->nsub, k + l + 1);
		}
		/* JSON given in an argument is checked there, so its error can say which; text keys
		 * and patterns ("[Ee]rror" is no JSON array) take it as it is */
		size_t pos, kl = kk ? strlen(kk->key) : 0;
		char why[160];
		int plain = kk && (kk->type == CFG_STR || (kl >= 5 && !strcmp(kk->key + kl - 5,
			"regex")));
		int raw = (val[0] == '{' || val[0] == '[') && !plain;
		const char *fault = raw ? cfg_json_fault(val, strlen(val), &pos, why, sizeof why) :
			NULL;
		if (fault) {
			fprintf(stderr, "outpost probe: --%s: %s (at character %zu of %s)\n", key, fault,
				pos + 1, val);
			return 2;
		}
		/* an object given whole (--expect '{...}') joins what its keys were given one by one
		 * (--expect-status 200): one object of the kind, as the config would have it */
		const char *members = NULL;
		size_t mlen = 0;
		if (!parent && kk && kk->type == CFG_OBJ && val[0] == '{') {
			const char *e = val + strlen(val);
			while (e > val + 1 && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t'))
				e--;
			if (e[-1] == '}') /* (else not one object, for the config's error) */
				parent = kk, members = val + 1, mlen = (size_t)(e - 1 - members);
		}
		char *dst = text;
		size_t *dw = &w, pw = 0, cap = sizeof text;
		if (parent) {
			int at = 0;
			while (at < nparents && parents[at] != parent->key)
				at++;
			if (at == nparents) {
				if (nparents == 4)
					return fprintf(stderr, "outpost probe: too many nested options\n"), 2;
				parents[nparents] = parent->key;
				nested[nparents++][0] = 0;
			}
			dst = nested[at], cap = sizeof nested[at], pw = strlen(dst), dw = &pw;
			if (members) {
				if (strspn(members, " \t\n") < mlen)
					add(dst, cap, dw, "%s%.*s", *dw ? "," : "", (int)mlen, members);
				if (*dw >= cap)
					return fprintf(stderr, "outpost probe: arguments too long\n"), 2;
				continue;
			}
			size_t skip = strlen(parent->key) + 1; /* "expect_status" -> "status" */
			memmove(k, k + skip, strlen(k + skip) + 1);
		}
		json_quote(q, sizeof q, k);
		add(dst, cap, dw, "%s%s:", parent && *dw == 0 ? "" : ",", q);
		/* objects, arrays and numbers go in as JSON where the key takes them; text as a
		 * string */
		if (raw)
			add(dst, cap, dw, "%s", val);
		else {
			json_quote(q, sizeof q, val);
			add(dst, cap, dw, "%s", q);
		}
		if (*dw >= cap) {
			fprintf(stderr, "outpost probe: arguments too long\n");
			return 2;
		}
	}
	for (int n = 0; n < nparents; n++)
		add(text, sizeof text, &w, ",\"%s\":{%s}", parents[n], nested[n]);
	if (hw >= sizeof hdrs) {
		fprintf(stderr, "outpost probe: arguments too long\n");
		return 2;
	}
	if (hw)
		add(text, sizeof text, &w, ",\"headers\":{%s}", hdrs);
	json_quote(q, sizeof q, timeout);
	add(text, sizeof text, &w, ",\"timeout\":%s,\"interval\":%s}]}", q, q);
	if (w >= sizeof text) {
		fprintf(stderr, "outpost probe: arguments too long\n");
		return 2;
	}
	struct cfg c;
	char err[1024];
	if (cfg_load_text(&c, "command line", text, w, err, sizeof err) != 0) {
		/* the position inside the generated JSON means nothing to the user */
		fprintf(stderr, "outpost probe: %s\n", cfg_error_text(err));
		return 2;
	}
	struct engine_opts o = {.once = 1, .on_result = probe_on_result, .on_output = keep_output};
	int rc = engine_init(&c, &o, err, sizeof err);
	if (rc == 0) {
		engine_run();
		engine_deinit();
	}
	if (probe_got)
		print_result(c.region, &c.probes[0], &probe_result);
	else if (rc)
		fprintf(stderr, "outpost probe: %s\n", err);
	else
		fprintf(stderr, "outpost probe: no result\n");
	cfg_free(&c);
	return probe_got && probe_result.ok ? 0 : 1;
}

int cli_main(int argc, char **argv, const struct cli_hooks *hooks)
{
	op_rand_seed(0);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
		!strcmp(argv[1], "help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("outpost %s\n", op_version);
		return 0;
	}
	dns_init(getenv("OUTPOST_RESOLV_CONF"), getenv("OUTPOST_HOSTS"));
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2, hooks);
	if (!strcmp(argv[1], "check-config"))
		return cmd_check(argc - 2, argv + 2);
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc - 2, argv + 2);
	static const char *const commands[] = {"run", "check-config", "probe"};
	const char *near = cfg_nearest(argv[1], commands, OP_ARRAY_LEN(commands));
	if (near) {
		fprintf(stderr, "outpost: unknown command \"%s\"; did you mean \"%s\"?\n", argv[1],
			near);
		return 2;
	}
	fprintf(stderr, "outpost: unknown command \"%s\"\n%s", argv[1], usage);
	return 2;
}
