/* op.h: error codes, assertions and small helpers shared by every outpost module. */
#ifndef OP_H
#define OP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* One list of error codes. 0 is success, a non-negative value is a length or count, a
 * negative value is one of these. OP_EAGAIN and OP_EPARTIAL mean "not yet", not failure. */
#define OP_ERRORS(X)                                            \
	X(EAGAIN, "would block")                                \
	X(EPARTIAL, "need more input")                          \
	X(EINVAL, "invalid argument")                           \
	X(ENOMEM, "pool exhausted")                             \
	X(ETOOBIG, "too large")                                 \
	X(ETIMEDOUT, "timed out")                               \
	X(ECONNREFUSED, "connection refused")                   \
	X(ECONNRESET, "connection reset")                       \
	X(EHOSTUNREACH, "host unreachable")                     \
	X(ENETUNREACH, "network unreachable")                   \
	X(ECLOSED, "connection closed")                         \
	X(EPROTO, "protocol error")                             \
	X(ENOTFOUND, "not found")                               \
	X(ENOENT, "no such file")                               \
	X(ECANCELED, "canceled")                                \
	X(EFAMILY, "an address of the other IP version")        \
	X(ENOSPC, "no space left on the medium")                \
	X(EMFILE, "out of file descriptors (ulimit -n)")        \
	X(ENODEV, "no such network interface")                  \
	X(ENOZONE, "a link-local address needs its interface, as fe80::1%eth0") \
	X(EIO, "i/o error")                                     \
	X(EBUSY, "in use by another outpost process")          \
	X(EACCES, "permission denied")                          \
	X(ENOEXEC, "not an executable")                         \
	X(ENOTDIR, "no such directory")                         \
	X(EISDIR, "a directory, not a file")

/* OP_X_<name> numbers the codes 1..N; OP_<name> is the negative code callers see. */
enum op_errno {
	OP_OK = 0,
#define OP_X_ENUM(name, text) OP_X_##name,
	OP_ERRORS(OP_X_ENUM)
#undef OP_X_ENUM
	OP_ERR_COUNT_
};
#define OP_X_DEF(name, text) enum { OP_##name = -(int)OP_X_##name };
OP_ERRORS(OP_X_DEF)
#undef OP_X_DEF

/* op_strerror: the text of an OP_E* code (or "ok" for 0, "unknown error" otherwise). */
const char *op_strerror(int err);

/* Fatal invariant violation: prints where and aborts. Kept in release builds, since a broken
 * invariant in a long-running appliance must stop it loudly rather than corrupt results. */
void op_panic(const char *file, int line, const char *what);
#define OP_ASSERT(c) ((c) ? (void)0 : op_panic(__FILE__, __LINE__, #c))
/* Argument check that returns an error instead of aborting. */
#define OP_CHECK(c, err)                                        \
	do {                                                    \
		if (!(c))                                       \
			return (err);                           \
	} while (0)

#define OP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* The plural ending for n of a thing: "%u run%s", n, OP_S(n) */
#define OP_S(n) ((n) == 1 ? "" : "s")
#define OP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define OP_MAX(a, b) ((a) > (b) ? (a) : (b))
#define OP_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Bounded string copy that always terminates; returns the length copied. */
size_t op_strlcpy(char *dst, const char *src, size_t cap);

/* Format a Unix µs time as RFC 3339 UTC with microseconds ("2026-11-22T21:00:00.123456Z"). */
size_t op_fmt_time(char *buf, size_t cap, int64_t wall_us);
/* Steps of the wall clock (NTP setting a box that booted without a real-time clock, an
 * operator's date): op_clock_step returns how far it jumped since the last call, its advance
 * less the monotonic clock's, when that is over a second (NTP slews by at most 0.5 ms a
 * second; more is a step). 0 otherwise, and on the first call with c zeroed. */
struct op_clock {
	int64_t wall_us;
	uint64_t mono_us;
};
int64_t op_clock_step(struct op_clock *c, int64_t wall_us, uint64_t mono_us);
/* Unix seconds of a UTC civil time (proleptic Gregorian calendar; month 1..12). */
int64_t op_utc_seconds(int y, int mo, int d, int h, int mi, int s);
/* Parse RFC 3339 UTC ("2026-11-22T21:00:00Z", optional fraction) into Unix µs. 0 or
 * OP_EINVAL. */
int op_parse_time(const char *s, int64_t *wall_us);
/* The value of the n hex digits at p (either case) in *out: 0, or -1 at the first other
 * character (a NUL too, so p may end early). */
int op_hex(const char *p, int n, unsigned *out);
/* Standard base64 of in[0..n) into out (NUL-terminated). Returns the length, 0 if it does
 * not fit. */
size_t op_base64(char *out, size_t cap, const void *in, size_t n);
/* Do strings a and b hold the same text? Takes the same time wherever they differ (for secrets). */
int op_same(const char *a, const char *b);
/* A printable excerpt of n bytes that arrived, for a failure detail: bytes outside printable
 * ASCII, and '"', as \xNN; as many as fit cap. Returns the length. */
size_t op_excerpt(const void *bytes, size_t n, char *out, size_t cap);
/* The length (1-4) of the well-formed UTF-8 sequence at s[0..n), or 0 when there is none
 * there (a stray byte, an overlong form, a surrogate, past U+10FFFF, cut short). */
size_t op_utf8_seq(const uint8_t *s, size_t n);
/* How many bytes of s[0..n) are well-formed UTF-8 from the start: n when all are. */
size_t op_utf8_prefix(const uint8_t *s, size_t n);
/* n rounded up to a multiple of 8: a record's part padded, so the next stays aligned. */
size_t op_pad8(size_t n);
/* CRC-32 as zlib, gzip and PNG have it (reflected 0xEDB88320): crc 0 to begin, then the last
 * value to go on. */
uint32_t op_crc32(uint32_t crc, const void *p, size_t n);
/* FNV-1a of n bytes, going on from h (start from OP_FNV_START). */
#define OP_FNV_START 2166136261u
uint32_t op_fnv1a(uint32_t h, const void *p, size_t n);
/* Find needle in hay (C11 has no memmem). NULL when absent. */
const void *op_memmem(const void *hay, size_t hn, const void *needle, size_t nn);

#endif
