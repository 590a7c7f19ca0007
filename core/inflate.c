/* inflate.c: DEFLATE (RFC 1951) in gzip (RFC 1952) or zlib (RFC 1950) wrapping, fed in pieces.
 *
 * The input comes in pieces cut anywhere, so every step is a state that can stop for more and go
 * on. Fields and stored bytes are taken whole or not at all; a literal or a length/distance
 * pair (at most 48 bits) and a code length with its repeat count are each one transaction: when
 * the input ends inside one, the bit reader is put back to where it began and what is left of
 * the input (fewer bits than the item, so they fit in 64) is held for the next piece.
 *
 *   gzip: GZ_HEAD [GZ_XLEN GZ_SKIP] [GZ_ZERO] [GZ_ZERO] [GZ_SKIP] \
 *   zlib: ZLIB_HEAD (or raw deflate) ---------------------------- BLOCK -> STORED_LEN -> STORED
 *                                                                       -> CODES (fixed)
 *                                                                       -> TABLE_HEAD -> TABLE_CL
 *                                                                          -> TABLE_LENS -> CODES
 *   each block ends in BLOCK again, the last in TRAILER (gzip, zlib) or END; gzip goes on to the
 *   next member's GZ_HEAD when more follows. */
#include <string.h>
#include "inflate.h"

const char *const inflate_codings[3] = {"", "gzip", "deflate"};

enum {
	ST_GZ_HEAD, ST_GZ_XLEN, ST_GZ_SKIP, ST_GZ_ZERO, ST_ZLIB_HEAD, ST_BLOCK, ST_STORED_LEN,
	ST_STORED, ST_TABLE_HEAD, ST_TABLE_CL, ST_TABLE_LENS, ST_CODES, ST_TRAILER, ST_END
};
enum { WRAP_RAW, WRAP_GZIP, WRAP_ZLIB };
enum { GZ_HCRC = 2, GZ_EXTRA = 4, GZ_NAME = 8, GZ_COMMENT = 16 };
#define NEED (-1000) /* an item's bits are not all here yet */

struct in {
	const uint8_t *p, *end;
};

/* Have at least n bits, from the input, or say there are not enough. */
static int pull(struct inflate *z, struct in *in, uint32_t n)
{
	while (z->nbits < n) {
		if (in->p == in->end)
			return 0;
		z->bits |= (uint64_t)*in->p++ << z->nbits;
		z->nbits += 8;
	}
	return 1;
}

static uint32_t take(struct inflate *z, uint32_t n)
{
	uint32_t v = (uint32_t)(z->bits & ((1ull << n) - 1));
	z->bits >>= n;
	z->nbits -= n;
	return v;
}

struct mark {
	uint64_t bits;
	uint32_t nbits;
	const uint8_t *p;
};

static struct mark mark(const struct inflate *z, const struct in *in)
{
	return (struct mark){z->bits, z->nbits, in->p};
}

/* An item ran out of input: back to its start, the rest of the input held for the next piece. */
static int hold(struct inflate *z, struct in *in, const struct mark *m)
{
	z->bits = m->bits;
	z->nbits = m->nbits;
	in->p = m->p;
	while (in->p < in->end) {
		OP_ASSERT(z->nbits <= 56);
		pull(z, in, z->nbits + 8);
	}
	return 0;
}

static int fail(struct inflate *z, const char *why)
{
	z->err = why;
	return OP_EPROTO;
}

static uint32_t adler32(uint32_t a, const uint8_t *p, size_t n)
{
	uint32_t s1 = a & 0xffff, s2 = a >> 16;
	while (n) {
		size_t k = n < 5552 ? n : 5552; /* the most sums before s2 could pass 2^32 */
		n -= k;
		while (k--) {
			s1 += *p++;
			s2 += s1;
		}
		s1 %= 65521;
		s2 %= 65521;
	}
	return s2 << 16 | s1;
}

/* Hand what the window holds beyond the last flush to out. */
static int flush(struct inflate *z, inflate_out_fn *out, void *ctx)
{
	size_t n = z->wpos - z->flushed;
	const uint8_t *p = z->window + z->flushed;
	if (z->wrap == WRAP_GZIP)
		z->check = op_crc32(z->check, p, n);
	else if (z->wrap == WRAP_ZLIB)
		z->check = adler32(z->check, p, n);
	z->flushed = z->wpos;
	if (z->wpos == INFLATE_WINDOW)
		z->wpos = z->flushed = 0;
	return n ? out(ctx, p, n) : 0;
}

static int put(struct inflate *z, uint8_t b, inflate_out_fn *out, void *ctx)
{
	z->window[z->wpos++] = b;
	z->total++;
	z->member++;
	return z->wpos == INFLATE_WINDOW ? flush(z, out, ctx) : 0;
}

/* Canonical Huffman from code lengths: 0, or -1 for lengths that claim more codes than there
 * are (a code that leaves some unused is taken: a symbol read there is an error then). */
static int build(struct inflate_code *h, const uint8_t *len, uint32_t n)
{
	uint16_t offs[16];
	memset(h->count, 0, sizeof h->count);
	for (uint32_t s = 0; s < n; s++)
		h->count[len[s]]++;
	int left = 1;
	for (int l = 1; l < 16; l++) {
		left = left * 2 - h->count[l];
		if (left < 0)
			return -1;
	}
	offs[1] = 0;
	for (int l = 1; l < 15; l++)
		offs[l + 1] = (uint16_t)(offs[l] + h->count[l]);
	for (uint32_t s = 0; s < n; s++)
		if (len[s])
			h->symbol[offs[len[s]]++] = (uint16_t)s;
	return 0;
}

/* One symbol, a bit at a time (codes come first bit first): the symbol, NEED, or -1 for a code
 * the table does not have. */
static int decode(struct inflate *z, struct in *in, const struct inflate_code *h)
{
	int code = 0, first = 0, index = 0;
	for (int l = 1; l < 16; l++) {
		if (!pull(z, in, 1))
			return NEED;
		code |= (int)take(z, 1);
		int count = h->count[l];
		if (code - first < count)
			return h->symbol[index + code - first];
		index += count;
		first = (first + count) << 1;
		code <<= 1;
	}
	return -1;
}

static void fixed_codes(struct inflate *z)
{
	for (int s = 0; s < 288; s++)
		z->lens[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
	for (int s = 0; s < 30; s++)
		z->lens[288 + s] = 5;
	build(&z->lit, z->lens, 288);
	build(&z->dist, z->lens + 288, 30);
}

/* After a gzip header field: the next one the flags announce, or the data. */
static void gz_next(struct inflate *z)
{
	if (z->flags & GZ_EXTRA) {
		z->flags &= (uint8_t)~GZ_EXTRA;
		z->state = ST_GZ_XLEN;
	} else if (z->flags & (GZ_NAME | GZ_COMMENT)) {
		z->flags &= (uint8_t)~(z->flags & GZ_NAME ? GZ_NAME : GZ_COMMENT);
		z->state = ST_GZ_ZERO;
	} else if (z->flags & GZ_HCRC) {
		z->flags &= (uint8_t)~GZ_HCRC;
		z->left = 2;
		z->state = ST_GZ_SKIP;
	} else {
		z->state = ST_BLOCK;
	}
}

static void member_start(struct inflate *z)
{
	z->member = 0;
	z->check = z->wrap == WRAP_ZLIB ? 1 : 0;
	z->i = 0;
	z->state = z->coding == INFLATE_GZIP ? ST_GZ_HEAD : ST_ZLIB_HEAD;
}

static const uint16_t len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3,
	3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
	193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8,
	8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
static const uint8_t cl_order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14,
	1, 15};

/* A block's literals and copies until its end code. */
static int codes(struct inflate *z, struct in *in, inflate_out_fn *out, void *ctx)
{
	for (;;) {
		struct mark m = mark(z, in);
		int sym = decode(z, in, &z->lit);
		if (sym == NEED)
			return hold(z, in, &m);
		if (sym < 0)
			return fail(z, "invalid literal/length code");
		if (sym < 256) {
			int rc = put(z, (uint8_t)sym, out, ctx);
			if (rc)
				return rc;
			continue;
		}
		if (sym == 256)
			return 1;
		sym -= 257;
		if (sym >= 29)
			return fail(z, "invalid length code");
		if (!pull(z, in, len_extra[sym]))
			return hold(z, in, &m);
		uint32_t len = len_base[sym] + take(z, len_extra[sym]);
		int ds = decode(z, in, &z->dist);
		if (ds == NEED)
			return hold(z, in, &m);
		if (ds < 0 || ds >= 30)
			return fail(z, "invalid distance code");
		if (!pull(z, in, dist_extra[ds]))
			return hold(z, in, &m);
		uint32_t dist = dist_base[ds] + take(z, dist_extra[ds]);
		if (dist > z->member)
			return fail(z, "distance too far back");
		uint32_t from = (z->wpos + INFLATE_WINDOW - dist) & (INFLATE_WINDOW - 1);
		while (len--) {
			int rc = put(z, z->window[from], out, ctx);
			if (rc)
				return rc;
			from = (from + 1) & (INFLATE_WINDOW - 1);
		}
	}
}

/* A dynamic block's header: the code-length code's lengths, then the two codes' lengths. */
static int table_lens(struct inflate *z, struct in *in)
{
	uint32_t want = (uint32_t)z->nlen + z->ndist;
	while (z->i < want) {
		struct mark m = mark(z, in);
		int sym = decode(z, in, &z->lit);
		if (sym == NEED)
			return hold(z, in, &m);
		if (sym < 0)
			return fail(z, "invalid code-length code");
		if (sym < 16) {
			z->lens[z->i++] = (uint8_t)sym;
			continue;
		}
		static const uint8_t bits[3] = {2, 3, 7}, base[3] = {3, 3, 11};
		if (sym == 16 && z->i == 0)
			return fail(z, "a repeated code length with none before");
		if (!pull(z, in, bits[sym - 16]))
			return hold(z, in, &m);
		uint32_t rep = base[sym - 16] + take(z, bits[sym - 16]);
		uint8_t v = sym == 16 ? z->lens[z->i - 1] : 0;
		if (z->i + rep > want)
			return fail(z, "code lengths run past their count");
		while (rep--)
			z->lens[z->i++] = v;
	}
	if (!z->lens[256])
		return fail(z, "a block with no end code");
	if (build(&z->lit, z->lens, z->nlen) < 0 || build(&z->dist, z->lens + z->nlen,
		z->ndist) < 0)
		return fail(z, "code lengths that claim too many codes");
	return 1;
}

static int step(struct inflate *z, struct in *in, inflate_out_fn *out, void *ctx)
{
	int rc;
	for (;;) {
		switch (z->state) {
		case ST_GZ_HEAD: /* ID1 ID2 CM FLG MTIME(4) XFL OS */
			for (; z->i < 10; z->i++) {
				if (!pull(z, in, 8))
					return 0;
				uint32_t b = take(z, 8);
				if ((z->i == 0 && b != 0x1f) || (z->i == 1 && b != 0x8b))
					return fail(z, "not gzip (no gzip magic)");
				if (z->i == 2 && b != 8)
					return fail(z, "a gzip method other than deflate");
				if (z->i == 3 && (b & 0xe0))
					return fail(z, "reserved gzip flags set");
				if (z->i == 3)
					z->flags = (uint8_t)b;
			}
			gz_next(z);
			break;
		case ST_GZ_XLEN:
			if (!pull(z, in, 16))
				return 0;
			z->left = take(z, 16);
			z->state = ST_GZ_SKIP;
			break;
		case ST_GZ_SKIP:
			for (; z->left; z->left--) {
				if (!pull(z, in, 8))
					return 0;
				take(z, 8);
			}
			gz_next(z);
			break;
		case ST_GZ_ZERO: /* a file name or comment, to its terminating zero */
			for (;;) {
				if (!pull(z, in, 8))
					return 0;
				if (take(z, 8) == 0)
					break;
			}
			gz_next(z);
			break;
		case ST_ZLIB_HEAD: {
			if (!pull(z, in, 16))
				return 0;
			uint32_t cmf = (uint32_t)(z->bits & 0xff), flg = (uint32_t)(z->bits >> 8 & 0xff);
			if ((cmf & 15) == 8 && (cmf >> 4) <= 7 && (cmf << 8 | flg) % 31 == 0) {
				if (flg & 0x20)
					return fail(z, "a zlib stream with a preset dictionary");
				take(z, 16);
				z->wrap = WRAP_ZLIB;
				z->check = 1;
			} else {
				z->wrap = WRAP_RAW; /* the bits are the first block's */
			}
			z->state = ST_BLOCK;
			break;
		}
		case ST_BLOCK: {
			if (!pull(z, in, 3))
				return 0;
			z->last = (uint8_t)take(z, 1);
			uint32_t type = take(z, 2);
			if (type == 0) {
				take(z, z->nbits % 8);
				z->state = ST_STORED_LEN;
			} else if (type == 1) {
				fixed_codes(z);
				z->state = ST_CODES;
			} else if (type == 2) {
				z->state = ST_TABLE_HEAD;
			} else {
				return fail(z, "invalid block type");
			}
			break;
		}
		case ST_STORED_LEN: {
			if (!pull(z, in, 32))
				return 0;
			uint32_t len = take(z, 16), nlen = take(z, 16);
			if (len != (~nlen & 0xffff))
				return fail(z, "a stored block's length and its complement differ");
			z->left = len;
			z->state = ST_STORED;
			break;
		}
		case ST_STORED:
			for (; z->left; z->left--) {
				uint8_t b;
				if (z->nbits >= 8)
					b = (uint8_t)take(z, 8);
				else if (in->p < in->end)
					b = *in->p++;
				else
					return 0;
				if ((rc = put(z, b, out, ctx)) != 0)
					return rc;
			}
			goto block_end;
		case ST_TABLE_HEAD:
			if (!pull(z, in, 14))
				return 0;
			z->nlen = (uint16_t)(take(z, 5) + 257);
			z->ndist = (uint16_t)(take(z, 5) + 1);
			z->ncode = (uint16_t)(take(z, 4) + 4);
			if (z->nlen > 286 || z->ndist > 30)
				return fail(z, "more codes than deflate has");
			memset(z->lens, 0, 19);
			z->i = 0;
			z->state = ST_TABLE_CL;
			break;
		case ST_TABLE_CL:
			for (; z->i < z->ncode; z->i++) {
				if (!pull(z, in, 3))
					return 0;
				z->lens[cl_order[z->i]] = (uint8_t)take(z, 3);
			}
			if (build(&z->lit, z->lens, 19) < 0)
				return fail(z, "code-length lengths that claim too many codes");
			z->i = 0;
			z->state = ST_TABLE_LENS;
			break;
		case ST_TABLE_LENS:
			if ((rc = table_lens(z, in)) <= 0)
				return rc;
			z->state = ST_CODES;
			break;
		case ST_CODES:
			if ((rc = codes(z, in, out, ctx)) <= 0)
				return rc;
block_end:
			if (!z->last) {
				z->state = ST_BLOCK;
				break;
			}
			take(z, z->nbits % 8);
			if ((rc = flush(z, out, ctx)) != 0)
				return rc;
			z->i = 0;
			z->state = z->wrap == WRAP_RAW ? ST_END : ST_TRAILER;
			break;
		case ST_TRAILER:
			if (z->wrap == WRAP_ZLIB) { /* Adler-32, most significant byte first */
				if (!pull(z, in, 32))
					return 0;
				uint32_t v = take(z, 32);
				v = v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
				if (v != z->check)
					return fail(z, "Adler-32 check failed");
			} else { /* CRC-32 and the length mod 2^32, least significant byte first */
				if (!pull(z, in, 32))
					return 0;
				if (z->i == 0 && take(z, 32) != z->check)
					return fail(z, "CRC-32 check failed");
				z->i = 1;
				if (!pull(z, in, 32))
					return 0;
				if (take(z, 32) != (uint32_t)z->member)
					return fail(z, "gzip length check failed");
			}
			z->state = ST_END;
			break;
		case ST_END:
			if (z->nbits == 0 && in->p == in->end)
				return 0;
			if (z->coding != INFLATE_GZIP)
				return fail(z, "data after the end of the stream");
			member_start(z);
			break;
		}
	}
}

void inflate_init(struct inflate *z, enum inflate_coding coding)
{
	z->err = NULL;
	z->total = 0;
	z->bits = 0;
	z->nbits = 0;
	z->wpos = z->flushed = 0;
	z->coding = (uint8_t)coding;
	z->wrap = coding == INFLATE_GZIP ? WRAP_GZIP : WRAP_ZLIB;
	member_start(z);
}

int inflate_feed(struct inflate *z, const uint8_t *p, size_t n, inflate_out_fn *out, void *ctx)
{
	struct in in = {p, p + n};
	int rc = step(z, &in, out, ctx);
	return rc ? rc : flush(z, out, ctx);
}

int inflate_finished(const struct inflate *z)
{
	return z->state == ST_END;
}
