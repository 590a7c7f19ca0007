/* main.c: the composition root of the POSIX build: the CLI with the web server plugged in. */
#include "../../core/cli.h"
#include "../../web/web.h"

int main(int argc, char **argv)
{
	static const struct cli_hooks hooks = {web_start, web_stop};
	return cli_main(argc, argv, &hooks);
}
