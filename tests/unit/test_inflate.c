/* test_inflate.c: the body decoder against what Python's zlib (the zlib library) makes of the
 * same data: gzip at levels 0, 1 and 9, a header with every optional field, two members, zlib
 * and raw deflate; each fed whole, a byte at a time and in random pieces. Every prefix of a
 * stream is "more to come", never an error; every flipped byte is an error or the same output;
 * hand-made streams name what is wrong with them. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "t.h"
#include "../../core/inflate.h"

static struct inflate z;
static uint8_t *got;
static size_t got_len, got_cap;

static int keep(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	if (got_len + n > got_cap) {
		got_cap = (got_len + n) * 2;
		got = realloc(got, got_cap);
	}
	memcpy(got + got_len, p, n);
	got_len += n;
	return 0;
}

/* Python writes the streams: a gzip header with FEXTRA, FNAME, FCOMMENT and FHCRC is put
 * together by hand, as its gzip module writes only FNAME. */
static const char *py =
	"import sys, zlib, struct\n"
	"how, d = sys.argv[1], sys.stdin.buffer.read()\n"
	"def raw(d, lv=6):\n"
	"    c = zlib.compressobj(lv, zlib.DEFLATED, -15)\n"
	"    return c.compress(d) + c.flush()\n"
	"def gz(d, lv=6, head=b'\\x1f\\x8b\\x08\\x00' + b'\\0' * 6):\n"
	"    return head + raw(d, lv) + struct.pack('<II', zlib.crc32(d), len(d) & 0xffffffff)\n"
	"h = b'\\x1f\\x8b\\x08\\x1e' + b'\\0' * 4 + b'\\x02\\x03' + b'\\x05\\x00abcde' + b'name.txt\\0' + "
	"b'a comment\\0'\n"
	"h += struct.pack('<H', zlib.crc32(h) & 0xffff)\n"
	"out = {'gzip0': lambda: gz(d, 0), 'gzip1': lambda: gz(d, 1), 'gzip9': lambda: gz(d, 9),\n"
	"       'fields': lambda: gz(d, 6, h), 'members': lambda: gz(d[:len(d)//3]) + gz(d[len(d)//3:]),\n"
	"       'zlib': lambda: zlib.compress(d, 6), 'raw': lambda: raw(d)}[how]()\n"
	"sys.stdout.buffer.write(out)\n";

static uint8_t *compress(const char *how, const uint8_t *d, size_t n, size_t *outn)
{
	char in[] = "/tmp/outpost-inflate-XXXXXX", cmd[256];
	int fd = mkstemp(in);
	if (fd < 0 || write(fd, d, n) != (ssize_t)n)
		abort();
	close(fd);
	FILE *f = fopen("/tmp/outpost-inflate.py", "w");
	fputs(py, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "python3 /tmp/outpost-inflate.py %s < %s", how, in);
	FILE *p = popen(cmd, "r");
	size_t cap = n + 1024, len = 0;
	uint8_t *out = malloc(cap);
	size_t k;
	while ((k = fread(out + len, 1, cap - len, p)) > 0) {
		len += k;
		if (len == cap)
			out = realloc(out, cap *= 2);
	}
	if (pclose(p) != 0)
		abort();
	unlink(in);
	*outn = len;
	return out;
}

/* Words from a small vocabulary (matches near and far, beyond the window too), then bytes
 * that do not compress, then one long run. */
static uint8_t *sample(size_t n)
{
	static const char *words[] = {"probe ", "latency ", "outpost ", "gzip ", "window ",
		"the ", "a ", "deflate\n", "{\"id\": 7} "};
	uint8_t *d = malloc(n + 1);
	uint32_t x = 12345;
	size_t i = 0;
	while (i < n * 2 / 3) {
		x = x * 1103515245 + 12345;
		const char *w = words[(x >> 16) % 9];
		for (size_t k = 0; w[k] && i < n; k++)
			d[i++] = (uint8_t)w[k];
	}
	while (i < n * 5 / 6) {
		x = x * 1103515245 + 12345;
		d[i++] = (uint8_t)(x >> 23);
	}
	while (i < n)
		d[i++] = 'a';
	return d;
}

/* Feed s (n bytes) in pieces: 0 whole, 1 a byte at a time, else random sizes up to 97. */
static int feed(enum inflate_coding c, const uint8_t *s, size_t n, int how)
{
	inflate_init(&z, c);
	got_len = 0;
	uint32_t x = 99;
	for (size_t at = 0; at < n;) {
		x = x * 1103515245 + 12345;
		size_t k = how == 0 ? n : how == 1 ? 1 : 1 + (x >> 16) % 97;
		if (k > n - at)
			k = n - at;
		int rc = inflate_feed(&z, s + at, k, keep, NULL);
		if (rc)
			return rc;
		at += k;
	}
	return 0;
}

static void round_trips(void)
{
	static const struct {
		const char *how;
		enum inflate_coding c;
	} forms[] = {{"gzip0", INFLATE_GZIP}, {"gzip1", INFLATE_GZIP}, {"gzip9", INFLATE_GZIP},
		{"fields", INFLATE_GZIP}, {"members", INFLATE_GZIP}, {"zlib", INFLATE_DEFLATE},
		{"raw", INFLATE_DEFLATE}};
	static const size_t sizes[] = {0, 1, 1000, 100000};
	for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
		for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
			uint8_t *d = sample(sizes[s]);
			size_t n;
			uint8_t *c = compress(forms[f].how, d, sizes[s], &n);
			for (int how = 0; how < 3; how++) {
				if (how == 1 && sizes[s] > 1000)
					continue; /* a byte at a time: the small ones */
				int rc = feed(forms[f].c, c, n, how);
				if (rc || !inflate_finished(&z) || got_len != sizes[s] ||
					(sizes[s] && memcmp(got, d, sizes[s])))
					T_FAIL_AT("%s, %zu bytes, feed %d: rc %d (%s), finished %d, %zu out",
						forms[f].how, sizes[s], how, rc, z.err ? z.err : "",
						inflate_finished(&z), got_len);
				ASSERT_EQ(z.total, sizes[s]);
			}
			free(c);
			free(d);
		}
	}
}

static void every_prefix_wants_more(void)
{
	uint8_t *d = sample(3000);
	size_t n;
	uint8_t *c = compress("fields", d, 3000, &n);
	for (size_t k = 0; k < n; k++) {
		int rc = feed(INFLATE_GZIP, c, k, 2);
		if (rc || inflate_finished(&z))
			T_FAIL_AT("prefix %zu of %zu: rc %d, finished %d", k, n, rc,
				inflate_finished(&z));
	}
	free(c);
	free(d);
}

static void a_flipped_byte_is_caught(void)
{
	uint8_t *d = sample(600);
	size_t n;
	uint8_t *c = compress("gzip9", d, 600, &n);
	int errors = 0;
	for (size_t k = 0; k < n; k++) {
		for (int bit = 0; bit < 8; bit += 3) {
			c[k] ^= (uint8_t)(1 << bit);
			int rc = feed(INFLATE_GZIP, c, n, 0);
			if (rc == 0 && inflate_finished(&z) && (got_len != 600 || memcmp(got, d, 600)))
				T_FAIL_AT("byte %zu bit %d: a wrong body passed", k, bit);
			errors += rc != 0;
			c[k] ^= (uint8_t)(1 << bit);
		}
	}
	ASSERT(errors > (int)n); /* most flips are errors; some are in MTIME, XFL, OS */
	free(c);
	free(d);
}

/* A bit writer for hand-made streams: fields first bit first, Huffman codes from their top. */
static uint8_t hand[64];
static size_t hand_bits;

static void bits(uint32_t v, int n)
{
	for (int i = 0; i < n; i++, hand_bits++)
		if (v >> i & 1)
			hand[hand_bits / 8] |= (uint8_t)(1 << hand_bits % 8);
}

static void code(uint32_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		bits(v >> i & 1, 1);
}

static const char *fault(enum inflate_coding c, const uint8_t *s, size_t n)
{
	int rc = feed(c, s, n, 0);
	return rc == OP_EPROTO ? z.err : rc ? "another error" : "no error";
}

static void hand_made_faults(void)
{
	/* a copy before anything was written: fixed block, length 3 (code 257), distance 1 */
	memset(hand, 0, sizeof hand);
	hand_bits = 0;
	bits(1, 1), bits(1, 2), code(1, 7), code(0, 5);
	ASSERT_STR_EQ(fault(INFLATE_DEFLATE, hand, (hand_bits + 7) / 8), "distance too far back");
	/* block type 3 */
	memset(hand, 0, sizeof hand);
	hand_bits = 0;
	bits(1, 1), bits(3, 2);
	ASSERT_STR_EQ(fault(INFLATE_DEFLATE, hand, 2), "invalid block type");
	/* a stored block whose length's complement is wrong */
	static const uint8_t stored[] = {0x01, 0x05, 0x00, 0xfa, 0xfe, 'h', 'e', 'l', 'l', 'o'};
	ASSERT_STR_EQ(fault(INFLATE_DEFLATE, stored, sizeof stored),
		"a stored block's length and its complement differ");
	static const uint8_t good[] = {0x01, 0x05, 0x00, 0xfa, 0xff, 'h', 'e', 'l', 'l', 'o'};
	ASSERT_STR_EQ(fault(INFLATE_DEFLATE, good, sizeof good), "no error");
	ASSERT(inflate_finished(&z));
	ASSERT_EQ(got_len, 5);
	ASSERT_STR_EQ(fault(INFLATE_GZIP, (const uint8_t *)"hello, world", 12),
		"not gzip (no gzip magic)");
	/* zlib, then more */
	size_t n;
	uint8_t *c = compress("zlib", (const uint8_t *)"abc", 3, &n);
	c = realloc(c, n + 1);
	c[n] = 0;
	ASSERT_STR_EQ(fault(INFLATE_DEFLATE, c, n + 1), "data after the end of the stream");
	c[n - 1] ^= 1;
	ASSERT_STR_EQ(fault(INFLATE_DEFLATE, c, n), "Adler-32 check failed");
	free(c);
	c = compress("gzip1", (const uint8_t *)"abc", 3, &n);
	c[n - 8] ^= 1;
	ASSERT_STR_EQ(fault(INFLATE_GZIP, c, n), "CRC-32 check failed");
	c[n - 8] ^= 1;
	c[n - 4] ^= 1;
	ASSERT_STR_EQ(fault(INFLATE_GZIP, c, n), "gzip length check failed");
	free(c);
}

static int stop_at_once(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx, (void)p, (void)n;
	return -42;
}

static void the_taker_can_stop_it(void)
{
	uint8_t *d = sample(100000);
	size_t n;
	uint8_t *c = compress("gzip1", d, 100000, &n);
	inflate_init(&z, INFLATE_GZIP);
	ASSERT_EQ(inflate_feed(&z, c, n, stop_at_once, NULL), -42);
	free(c);
	free(d);
}

int main(void)
{
	RUN(round_trips);
	RUN(every_prefix_wants_more);
	RUN(a_flipped_byte_is_caught);
	RUN(hand_made_faults);
	RUN(the_taker_can_stop_it);
	unlink("/tmp/outpost-inflate.py");
	free(got);
	return T_DONE();
}
