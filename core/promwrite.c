/* promwrite.c: remote-write encoding.
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   (milliseconds)
 *
 * Every field is written in number order, lengths as varints; nested messages are sized
 * first, so nothing is written twice. */
#include <string.h>
#include "op.h"
#include "promwrite.h"

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80)
		v >>= 7, n++;
	return n;
}

static uint8_t *varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* key of field f with wire type t */
static uint8_t *key(uint8_t *p, int f, int t)
{
	return varint(p, (uint64_t)(f << 3 | t));
}

static size_t label_len(const struct pw_label *l)
{
	size_t a = strlen(l->name), b = strlen(l->value);
	return 1 + varint_len(a) + a + 1 + varint_len(b) + b;
}

int pw_series(uint8_t *out, size_t cap, size_t *len, const struct pw_label *labels, int n,
	double value, int64_t ts_ms)
{
	size_t ts_body = 0;
	for (int i = 0; i < n; i++) {
		size_t l = label_len(&labels[i]);
		ts_body += 1 + varint_len(l) + l;
	}
	size_t sample = 1 + 8 + 1 + varint_len((uint64_t)ts_ms);
	ts_body += 1 + varint_len(sample) + sample;
	size_t total = 1 + varint_len(ts_body) + ts_body;
	if (*len + total > cap)
		return OP_ETOOBIG;
	uint8_t *p = out + *len;
	p = key(p, 1, 2);
	p = varint(p, ts_body);
	for (int i = 0; i < n; i++) {
		size_t a = strlen(labels[i].name), b = strlen(labels[i].value);
		p = key(p, 1, 2);
		p = varint(p, label_len(&labels[i]));
		p = key(p, 1, 2);
		p = varint(p, a);
		memcpy(p, labels[i].name, a);
		p += a;
		p = key(p, 2, 2);
		p = varint(p, b);
		memcpy(p, labels[i].value, b);
		p += b;
	}
	p = key(p, 2, 2);
	p = varint(p, sample);
	p = key(p, 1, 1);
	uint64_t bits;
	memcpy(&bits, &value, 8);
	for (int i = 0; i < 8; i++)
		*p++ = (uint8_t)(bits >> (8 * i)); /* fixed64, little-endian */
	p = key(p, 2, 0);
	p = varint(p, (uint64_t)ts_ms);
	*len += total;
	return 0;
}

uint8_t *pw_snappy(uint8_t *buf, size_t n, size_t *out_len)
{
	/* varint(uncompressed length), then one literal: tag 61 (2 length bytes) and the data */
	uint8_t head[8], *h = varint(head, n);
	size_t hl = (size_t)(h - head);
	uint8_t *start;
	if (n == 0) {
		start = buf + PW_SNAPPY_ROOM - hl;
		memcpy(start, head, hl);
		*out_len = hl;
		return start;
	}
	head[hl++] = 61 << 2;
	head[hl++] = (uint8_t)(n - 1);
	head[hl++] = (uint8_t)((n - 1) >> 8);
	start = buf + PW_SNAPPY_ROOM - hl;
	memcpy(start, head, hl);
	*out_len = hl + n;
	return start;
}
