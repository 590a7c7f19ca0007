/* embed.c: turn a file into a C definition, for assets compiled into the binary.
 *   embed SYMBOL FILE > out.c   defines `const char SYMBOL[]` (NUL-terminated) and
 *                               `const unsigned SYMBOL_len`. */
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: embed SYMBOL FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	printf("/* generated from %s by tools/embed; do not edit */\n", argv[2]);
	printf("const char %s[] = {", argv[1]);
	unsigned long n = 0;
	int c;
	while ((c = getc(f)) != EOF)
		printf("%s%d,", n++ % 20 ? "" : "\n", c);
	printf("0};\nconst unsigned %s_len = %lu;\n", argv[1], n);
	fclose(f);
	return 0;
}
