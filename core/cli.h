/* cli.h: the command line: run, check-config, probe, --version, --help. */
#ifndef CLI_H
#define CLI_H

#include <stddef.h>

/* What the composition root (platform main) plugs in: the web server. */
struct cli_hooks {
	int (*web_start)(const char *listen, unsigned threads, char *err, size_t errcap);
	void (*web_stop)(void);
};

/* Returns the process exit code: 0 ok, 1 probe failed / runtime error, 2 usage or config. */
int cli_main(int argc, char **argv, const struct cli_hooks *hooks);

#endif
