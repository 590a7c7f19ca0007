/* test_cli.c: `outpost probe` builds a one-probe config from its arguments in a bounded text;
 * arguments past that bound are refused, wherever they run over (under ASan, a write past
 * the text would stop the test). */
#include <stdlib.h>
#include "../../core/cli.h"
#include "../../core/op.h"
#include "t.h"

static int probe(int argc, char **argv)
{
	struct cli_hooks hooks = {0};
	return cli_main(argc, argv, &hooks);
}

static void test_long_arguments_are_refused(void)
{
	static char a[1001], b[5001];
	memset(a, 'a', 1000);
	memset(b, 'b', 5000);
	/* the command of an exec probe: ten 1,000-byte arguments */
	char *exec[] = {"outpost", "probe", "exec", "--", "true", a, a, a, a, a, a, a, a, a, a};
	ASSERT_EQ(probe(OP_ARRAY_LEN(exec), exec), 2);
	/* a nested object (as long as the whole text may be): the next key starts past its end */
	char *nested[] = {"outpost", "probe", "http", "http://127.0.0.1:1/",
		"--expect-body-contains", b, "--expect-body-not-contains", b, "--expect-max-latency",
		"1s"};
	ASSERT_EQ(probe(OP_ARRAY_LEN(nested), nested), 2);
	/* an object given whole, joined by a key given alone */
	static char obj[5100];
	snprintf(obj, sizeof obj, "{\"body_contains\": \"%s\"}", b);
	char *joined[] = {"outpost", "probe", "http", "http://127.0.0.1:1/", "--expect", obj,
		"--expect-body-not-contains", b};
	ASSERT_EQ(probe(OP_ARRAY_LEN(joined), joined), 2);
}

int main(void)
{
	RUN(test_long_arguments_are_refused);
	return T_DONE();
}
