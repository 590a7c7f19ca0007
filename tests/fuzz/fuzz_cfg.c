/* fuzz_cfg.c: the config loader on arbitrary text: it must load or explain, never crash. */
#include <string.h>
#include "../../core/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	char err[512];
	if (size > 65536)
		return 0;
	int rc = cfg_load_text(&c, "fuzz", (const char *)data, size, err, sizeof err);
	if (rc == 0)
		cfg_free(&c);
	else if (strncmp(err, "fuzz:", 5))
		__builtin_trap(); /* every error names the file and a position */
	return 0;
}
