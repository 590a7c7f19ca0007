/* promwrite.h: Prometheus remote-write 1.0 without a protobuf library: a WriteRequest of time
 * series encoded by hand (the four message types are tiny), in snappy's block format made of
 * literals only (valid snappy that every decoder reads; the link pays for the size, the CPU
 * does not). */
#ifndef PROMWRITE_H
#define PROMWRITE_H

#include <stddef.h>
#include <stdint.h>

struct pw_label {
	const char *name, *value;
};

/* Append one TimeSeries (labels sorted by name, bytewise) with one sample to the
 * WriteRequest being built in out[0..*len). Returns 0, or OP_ETOOBIG (out unchanged). */
int pw_series(uint8_t *out, size_t cap, size_t *len, const struct pw_label *labels, int n,
	double value, int64_t ts_ms);
/* Frame buf[0..n) as a snappy block in place: buf must have PW_SNAPPY_ROOM bytes free before
 * the data (the data starts at buf + PW_SNAPPY_ROOM). Returns where the framed block starts;
 * *out_len its length. n <= 65536. */
#define PW_SNAPPY_ROOM 8
uint8_t *pw_snappy(uint8_t *buf, size_t n, size_t *out_len);

#endif
