/* op.c: error texts and small helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "op.h"

static const char *const op_errtext[] = {
	"ok",
#define OP_X(name, text) text,
	OP_ERRORS(OP_X)
#undef OP_X
};

const char *op_strerror(int err)
{
	if (err > 0)
		return "ok";
	if (-err < (int)OP_ARRAY_LEN(op_errtext))
		return op_errtext[-err];
	return "unknown error";
}

void op_panic(const char *file, int line, const char *what)
{
	fprintf(stderr, "outpost: assertion failed at %s:%d: %s\n", file, line, what);
	abort();
}

size_t op_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap ? cap - 1 : 0;
	if (cap) {
		memcpy(dst, src, n);
		dst[n] = 0;
	}
	return n;
}

int64_t op_clock_step(struct op_clock *c, int64_t wall_us, uint64_t mono_us)
{
	int64_t d = c->mono_us ? (wall_us - c->wall_us) - (int64_t)(mono_us - c->mono_us) : 0;
	c->wall_us = wall_us;
	c->mono_us = mono_us;
	return d > 1000000 || d < -1000000 ? d : 0;
}

size_t op_fmt_time(char *buf, size_t cap, int64_t wall_us)
{
	/* civil date from days since the epoch (H. Hinnant's algorithm); no libc time zone code */
	int64_t sec = wall_us / 1000000, us = wall_us % 1000000;
	if (us < 0)
		us += 1000000, sec--;
	int64_t days = sec / 86400, rem = sec % 86400;
	if (rem < 0)
		rem += 86400, days--;
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)y, (int)m, (int)d,
		(int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), (int)us);
	return n < 0 ? 0 : (size_t)n;
}

int op_parse_time(const char *s, int64_t *us)
{
	int y, mo, d, h, mi;
	double sec;
	char z[8] = "";
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf%7s", &y, &mo, &d, &h, &mi, &sec, z) != 7 ||
		strcmp(z, "Z") || mo < 1 || mo > 12 || d < 1 || d > 31)
		return OP_EINVAL;
	*us = op_utc_seconds(y, mo, d, h, mi, 0) * 1000000 + (int64_t)(sec * 1e6);
	return 0;
}

int64_t op_utc_seconds(int y, int mo, int d, int h, int mi, int s)
{
	/* days from the civil date (H. Hinnant's algorithm) */
	y -= mo <= 2;
	int era = (y >= 0 ? y : y - 399) / 400, yoe = y - era * 400;
	int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t days = (int64_t)era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	return days * 86400 + h * 3600 + mi * 60 + s;
}

size_t op_pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

uint32_t op_crc32(uint32_t crc, const void *p, size_t n)
{
	static uint32_t table[256];
	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	const uint8_t *b = p;
	crc = ~crc;
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t op_fnv1a(uint32_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

size_t op_excerpt(const void *bytes, size_t n, char *out, size_t cap)
{
	const uint8_t *b = bytes;
	size_t w = 0;
	for (size_t i = 0; i < n && w + 5 < cap; i++) {
		if (b[i] >= 32 && b[i] < 127 && b[i] != '"')
			out[w++] = (char)b[i];
		else
			w += (size_t)snprintf(out + w, cap - w, "\\x%02x", b[i]);
	}
	if (cap)
		out[w] = 0;
	return w;
}

size_t op_utf8_seq(const uint8_t *s, size_t n)
{
	uint8_t c = s[0];
	size_t len;
	uint32_t cp, min;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0)
		len = 2, cp = c & 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		len = 3, cp = c & 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

size_t op_utf8_prefix(const uint8_t *s, size_t n)
{
	size_t i = 0, len;
	while (i < n && (len = op_utf8_seq(s + i, n - i)) != 0)
		i += len;
	return i;
}

const void *op_memmem(const void *hay, size_t hn, const void *needle, size_t nn)
{
	const uint8_t *h = hay, *n = needle;
	if (nn == 0)
		return hay;
	for (size_t i = 0; i + nn <= hn; i++)
		if (h[i] == n[0] && !memcmp(h + i, n, nn))
			return h + i;
	return NULL;
}

int op_hex(const char *p, int n, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++) {
		char c = p[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			(c | 32) >= 'a' && (c | 32) <= 'f' ? (unsigned)((c | 32) - 'a' + 10) : 16u;
		if (d == 16)
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

size_t op_base64(char *out, size_t cap, const void *in, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = in;
	size_t need = (n + 2) / 3 * 4, w = 0;
	if (need + 1 > cap)
		return 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? p[i + 1] : 0) << 8 |
			(i + 2 < n ? p[i + 2] : 0);
		out[w++] = a[v >> 18 & 63];
		out[w++] = a[v >> 12 & 63];
		out[w++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[w++] = i + 2 < n ? a[v & 63] : '=';
	}
	out[w] = 0;
	return w;
}

int op_same(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned diff = na != nb;
	for (size_t i = 0; i < nb; i++)
		diff |= (unsigned)((i < na ? a[i] : 0) ^ b[i]);
	return !diff;
}
