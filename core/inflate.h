/* inflate.h: a DEFLATE decoder (RFC 1951) for bodies coded gzip (RFC 1952) or deflate (zlib,
 * RFC 1950), fed the body in pieces of any size as they arrive. Its memory is fixed: the 32 KiB
 * window the format's back-references reach into and the code tables, so a body of any length
 * decodes in the same room. What it decodes goes to a callback in runs. */
#ifndef INFLATE_H
#define INFLATE_H

#include "op.h"

#define INFLATE_WINDOW 32768u

/* The codings: gzip, possibly several members one after another (as gzip -c a b writes them);
 * "deflate", which RFC 9110 says is zlib-wrapped, taken raw when its first bytes are no zlib
 * header (some servers send it so, and browsers accept both). */
enum inflate_coding { INFLATE_GZIP = 1, INFLATE_DEFLATE };
/* Their names in HTTP, by enum inflate_coding ("" for 0, none). */
extern const char *const inflate_codings[3];

/* Takes n decoded bytes; a negative return stops decoding, and inflate_feed returns it. */
typedef int inflate_out_fn(void *ctx, const uint8_t *p, size_t n);

/* One code (literals and lengths, or distances) as canonical Huffman: how many codes of each
 * length, and the symbols in code order. */
struct inflate_code {
	uint16_t count[16];
	uint16_t symbol[288];
};

struct inflate {
	const char *err;    /* what was wrong, after OP_EPROTO */
	uint64_t total;     /* decoded bytes, all members */
	uint64_t member;    /* decoded bytes of this member (a back-reference must stay inside) */
	uint64_t bits;      /* input bits not yet used, the first in bit 0 */
	uint32_t nbits;
	uint32_t check;     /* CRC-32 (gzip) or Adler-32 (zlib) of this member's output */
	uint32_t left;      /* bytes of a stored block, or of a gzip header field, still to come */
	uint32_t wpos, flushed; /* the window's write position, and how far it went out */
	uint16_t i, ncode;  /* in a dynamic block's header: code lengths read, and wanted */
	uint16_t nlen, ndist;
	uint8_t coding, wrap, state, last, flags;
	uint8_t lens[320];
	struct inflate_code lit, dist;
	uint8_t window[INFLATE_WINDOW];
};

void inflate_init(struct inflate *z, enum inflate_coding coding);
/* Decode the n bytes at in. 0: all taken, more may follow; OP_EPROTO with z->err set; or what
 * out returned. */
int inflate_feed(struct inflate *z, const uint8_t *in, size_t n, inflate_out_fn *out, void *ctx);
/* The input so far is a whole stream (at least one gzip member, checked to its trailer). */
int inflate_finished(const struct inflate *z);

#endif
