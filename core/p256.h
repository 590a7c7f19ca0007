/* p256.h: ECDSA signature verification on NIST P-256, fast enough for a weak CPU's TLS
 * handshakes. mbedTLS 2.28 spends most of a handshake's CPU verifying the server's P-256
 * signature with its generic bignum code; this file does the point arithmetic in fixed-size
 * Montgomery field elements instead and is plugged in through MBEDTLS_ECDSA_VERIFY_ALT
 * (core/tls.c). Verification only: every input is public, so nothing here needs to run in
 * constant time. */
#ifndef P256_H
#define P256_H

#include <stdint.h>

/* Does u1*G + u2*Q have an x coordinate equal to r modulo the group order? All numbers are
 * 32-byte big-endian: u1, u2 < n (the scalars of ECDSA verification, from the hash, r and s),
 * (qx, qy) the public key, r in [1, n-1]. Returns 1 for a valid signature, 0 otherwise (also
 * when Q is not on the curve or the sum is the point at infinity). */
int p256_verify_core(const uint8_t u1[32], const uint8_t u2[32], const uint8_t qx[32],
	const uint8_t qy[32], const uint8_t r[32]);

#endif
