/* test_p256.c: our P-256 verification against mbedTLS's own point arithmetic (the product
 * u1*G + u2*Q from mbedtls_ecp_muladd for random keys and scalars, edge scalars included), and
 * the mbedtls_ecdsa_verify it replaces, through mbedTLS's sign and read-signature functions, on
 * P-256 and on P-384 (which keeps mbedTLS's product). */
#include <mbedtls/ecdsa.h>
#include <mbedtls/sha256.h>
#include <stdint.h>

#include "../../core/p256.h"
#include "t.h"

/* the same core with 32-bit limbs only (what boards without 128-bit products build) */
int p256_verify_core_portable(const uint8_t u1[32], const uint8_t u2[32], const uint8_t qx[32],
	const uint8_t qy[32], const uint8_t r[32]);
#define P256_PORTABLE
#define P256_CORE_ONLY
#define p256_verify_core p256_verify_core_portable
#include "../../core/p256.c"
#undef p256_verify_core

typedef int verify_fn(const uint8_t *, const uint8_t *, const uint8_t *, const uint8_t *,
	const uint8_t *);

static uint64_t seed = 0x9e3779b97f4a7c15u;

static int rng(void *ctx, unsigned char *out, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		out[i] = (unsigned char)(seed >> 32);
	}
	return 0;
}

/* a scalar below n: random, or one of the edges 0, 1, 2, n-1, n-2 */
static void scalar(mbedtls_mpi *k, const mbedtls_ecp_group *g, int which)
{
	if (which >= 1 && which <= 3) {
		mbedtls_mpi_lset(k, which - 1);
	} else if (which == 4 || which == 5) {
		mbedtls_mpi_copy(k, &g->N);
		mbedtls_mpi_sub_int(k, k, which - 3);
	} else {
		unsigned char b[32];
		rng(NULL, b, sizeof b);
		mbedtls_mpi_read_binary(k, b, sizeof b);
		mbedtls_mpi_mod_mpi(k, k, &g->N);
	}
}

static void product_matches_mbedtls(verify_fn *verify, const char *what)
{
	mbedtls_ecp_group g;
	mbedtls_ecp_point q, sum;
	mbedtls_mpi d, u1, u2, x;
	mbedtls_ecp_group_init(&g);
	mbedtls_ecp_point_init(&q);
	mbedtls_ecp_point_init(&sum);
	mbedtls_mpi_init(&d);
	mbedtls_mpi_init(&u1);
	mbedtls_mpi_init(&u2);
	mbedtls_mpi_init(&x);
	ASSERT_EQ(mbedtls_ecp_group_load(&g, MBEDTLS_ECP_DP_SECP256R1), 0);
	int checked = 0, rejected = 0;
	for (int i = 0; i < 300; i++) {
		ASSERT_EQ(mbedtls_ecp_gen_keypair(&g, &d, &q, rng, NULL), 0);
		/* the first 36 cases pair the edge scalars with each other */
		scalar(&u1, &g, i < 36 ? i / 6 : 0);
		scalar(&u2, &g, i < 36 ? i % 6 : 0);
		/* Q = G: 1*G + 1*G is a doubling, 1*G + (n-1)*G the point at infinity */
		if ((i < 36 && i % 2 == 0) || i % 7 == 0)
			mbedtls_ecp_copy(&q, &g.G);
		ASSERT_EQ(mbedtls_ecp_muladd(&g, &sum, &u1, &g.G, &u2, &q), 0);
		uint8_t b1[32], b2[32], qx[32], qy[32], r[32];
		mbedtls_mpi_write_binary(&u1, b1, 32);
		mbedtls_mpi_write_binary(&u2, b2, 32);
		mbedtls_mpi_write_binary(&q.X, qx, 32);
		mbedtls_mpi_write_binary(&q.Y, qy, 32);
		if (mbedtls_ecp_is_zero(&sum)) {
			memset(r, 0, sizeof r);
			r[31] = 1;
			ASSERT_EQ(verify(b1, b2, qx, qy, r), 0);
			continue;
		}
		mbedtls_mpi_mod_mpi(&x, &sum.X, &g.N);
		mbedtls_mpi_write_binary(&x, r, 32);
		if (!verify(b1, b2, qx, qy, r))
			T_FAIL_AT("case %d: the right x was refused", i);
		checked++;
		r[31 - i % 32] ^= (uint8_t)(1u << (i % 8)); /* any other x is refused */
		if (verify(b1, b2, qx, qy, r))
			T_FAIL_AT("case %d: a wrong x was accepted", i);
		rejected++;
		qy[31] ^= 1; /* a point off the curve */
		r[31 - i % 32] ^= (uint8_t)(1u << (i % 8));
		if (verify(b1, b2, qx, qy, r))
			T_FAIL_AT("case %d: a key off the curve was accepted", i);
	}
	printf("# p256 (%s): %d products equal mbedTLS's, %d wrong ones refused\n", what, checked,
		rejected);
	ASSERT(checked >= 290);
	mbedtls_ecp_group_free(&g);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_point_free(&sum);
	mbedtls_mpi_free(&d);
	mbedtls_mpi_free(&u1);
	mbedtls_mpi_free(&u2);
	mbedtls_mpi_free(&x);
}

static void test_product_matches_mbedtls(void)
{
	product_matches_mbedtls(p256_verify_core, "as built");
}

static void test_portable_product_matches_mbedtls(void)
{
	product_matches_mbedtls(p256_verify_core_portable, "32-bit limbs");
}

/* sign with mbedTLS, verify through the replaced mbedtls_ecdsa_verify; a changed hash or
 * signature fails */
static void sign_and_verify(mbedtls_ecp_group_id id, int rounds)
{
	mbedtls_ecdsa_context k;
	mbedtls_ecdsa_init(&k);
	ASSERT_EQ(mbedtls_ecdsa_genkey(&k, id, rng, NULL), 0);
	for (int i = 0; i < rounds; i++) {
		unsigned char msg[64], hash[32], sig[MBEDTLS_ECDSA_MAX_LEN];
		size_t len;
		rng(NULL, msg, sizeof msg);
		mbedtls_sha256_ret(msg, sizeof msg, hash, 0);
		ASSERT_EQ(mbedtls_ecdsa_write_signature(&k, MBEDTLS_MD_SHA256, hash, sizeof hash, sig,
			&len, rng, NULL), 0);
		ASSERT_EQ(mbedtls_ecdsa_read_signature(&k, hash, sizeof hash, sig, len), 0);
		hash[i % 32] ^= 0x10;
		ASSERT_EQ(mbedtls_ecdsa_read_signature(&k, hash, sizeof hash, sig, len),
			MBEDTLS_ERR_ECP_VERIFY_FAILED);
		hash[i % 32] ^= 0x10;
		sig[len - 1 - i % 8] ^= 0x01; /* inside s: still well-formed DER */
		ASSERT(mbedtls_ecdsa_read_signature(&k, hash, sizeof hash, sig, len) != 0);
	}
	mbedtls_ecdsa_free(&k);
}

static void test_sign_verify_p256(void)
{
	sign_and_verify(MBEDTLS_ECP_DP_SECP256R1, 50);
}

static void test_sign_verify_p384_keeps_mbedtls(void)
{
	sign_and_verify(MBEDTLS_ECP_DP_SECP384R1, 10);
}

int main(void)
{
	RUN(test_product_matches_mbedtls);
	RUN(test_portable_product_matches_mbedtls);
	RUN(test_sign_verify_p256);
	RUN(test_sign_verify_p384_keeps_mbedtls);
	return t_failed != 0;
}
