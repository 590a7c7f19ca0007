/* replay.c: runs a fuzz target without libFuzzer: every file of the corpus directories given,
 * then a fixed number of seeded mutations of them, so `make test` exercises the same harness
 * that `make fuzz` drives with coverage guidance. Prints PASS/FAIL lines like the unit tests. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 512
#define MAX_SIZE 65536

static uint8_t *files[MAX_FILES];
static size_t sizes[MAX_FILES];
static int nfiles;

static void load_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && nfiles < MAX_FILES) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		uint8_t *buf = malloc(MAX_SIZE);
		size_t n = fread(buf, 1, MAX_SIZE, f);
		fclose(f);
		files[nfiles] = buf;
		sizes[nfiles++] = n;
	}
	closedir(d);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)rng;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "fuzz";
	int iterations = argc > 2 ? atoi(argv[2]) : 0;
	for (int i = 3; i < argc; i++)
		load_dir(argv[i]);
	if (!nfiles) {
		printf("FAIL %s_corpus (no corpus files)\n", name);
		return 1;
	}
	for (int i = 0; i < nfiles; i++) {
		/* an exact-size copy, so ASan sees any over-read */
		uint8_t *copy = malloc(sizes[i] ? sizes[i] : 1);
		memcpy(copy, files[i], sizes[i]);
		LLVMFuzzerTestOneInput(copy, sizes[i]);
		free(copy);
	}
	printf("PASS %s_corpus_%d_files\n", name, nfiles);
	uint8_t *buf = malloc(MAX_SIZE);
	for (int it = 0; it < iterations; it++) {
		int f = (int)(next() % (uint32_t)nfiles);
		size_t n = sizes[f];
		memcpy(buf, files[f], n);
		int edits = 1 + (int)(next() % 8);
		for (int e = 0; e < edits && n; e++) {
			size_t at = next() % n;
			switch (next() % 4) {
			case 0: buf[at] = (uint8_t)next(); break;          /* replace a byte */
			case 1: buf[at] ^= (uint8_t)(1u << (next() % 8)); break; /* flip a bit */
			case 2: n = at; break;                             /* truncate */
			case 3: if (n < MAX_SIZE) { memmove(buf + at + 1, buf + at, n - at); n++; } break;
			}
		}
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		LLVMFuzzerTestOneInput(copy, n);
		free(copy);
	}
	printf("PASS %s_mutations_%d\n", name, iterations);
	free(buf);
	for (int i = 0; i < nfiles; i++)
		free(files[i]);
	return 0;
}
