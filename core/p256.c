/* p256.c: ECDSA verification on P-256 (see p256.h).
 *
 * Field elements are 8 little-endian 32-bit limbs (portable C: 32x32->64 products only) in
 * Montgomery form, a*2^256 mod p, always fully reduced (< p) so that equality and zero tests
 * are exact. Points are Jacobian (x = X/Z^2, y = Y/Z^3); Z = 0 is the point at infinity.
 * u1*G + u2*Q is one pass of interleaved wNAF (Shamir's trick): 256 doublings, and an addition
 * for each non-zero digit of either scalar, with the odd multiples of G (window 7) computed
 * once per process and those of Q (window 5) per call. */
#include "p256.h"

#include <string.h>

typedef uint32_t fe[8];

struct jpt {
	fe x, y, z;
};

/* p = 2^256 - 2^224 + 2^192 + 2^96 - 1 */
static const fe P = {0xffffffff, 0xffffffff, 0xffffffff, 0, 0, 0, 1, 0xffffffff};
/* 2^512 mod p: multiplying by it moves a number into Montgomery form */
static const fe RR = {3, 0, 0xffffffff, 0xfffffffb, 0xfffffffe, 0xffffffff, 0xfffffffd, 4};

static const uint8_t B_BE[32] = {
	0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd, 0x55,
	0x76, 0x98, 0x86, 0xbc, 0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53, 0xb0, 0xf6,
	0x3b, 0xce, 0x3c, 0x3e, 0x27, 0xd2, 0x60, 0x4b};
static const uint8_t GX_BE[32] = {
	0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
	0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0,
	0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96};
static const uint8_t GY_BE[32] = {
	0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a,
	0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce,
	0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
static const uint8_t N_BE[32] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
	0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};

#define G_WINDOW 7
#define Q_WINDOW 5

/* ---- big-endian bytes <-> limbs ---- */

static void limbs_from_be(uint32_t *a, const uint8_t b[32])
{
	for (int i = 0; i < 8; i++) {
		const uint8_t *s = b + 28 - 4 * i;
		a[i] = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 | (uint32_t)s[2] << 8 | s[3];
	}
}

static void limbs_to_be(uint8_t b[32], const uint32_t *a)
{
	for (int i = 0; i < 8; i++) {
		uint8_t *d = b + 28 - 4 * i;
		d[0] = (uint8_t)(a[i] >> 24);
		d[1] = (uint8_t)(a[i] >> 16);
		d[2] = (uint8_t)(a[i] >> 8);
		d[3] = (uint8_t)a[i];
	}
}

/* ---- field arithmetic mod p ---- */

static int fe_geq(const fe a, const fe b)
{
	for (int i = 7; i >= 0; i--)
		if (a[i] != b[i])
			return a[i] > b[i];
	return 1;
}

static int fe_is_zero(const fe a)
{
	uint32_t x = 0;
	for (int i = 0; i < 8; i++)
		x |= a[i];
	return x == 0;
}

static uint32_t add_raw(fe r, const fe a, const fe b)
{
	uint64_t c = 0;
	for (int i = 0; i < 8; i++) {
		c += (uint64_t)a[i] + b[i];
		r[i] = (uint32_t)c;
		c >>= 32;
	}
	return (uint32_t)c;
}

static uint32_t sub_raw(fe r, const fe a, const fe b)
{
	int64_t c = 0;
	for (int i = 0; i < 8; i++) {
		c += (int64_t)a[i] - b[i];
		r[i] = (uint32_t)c;
		c >>= 32; /* 0 or -1 */
	}
	return (uint32_t)(c != 0);
}

static void fe_add(fe r, const fe a, const fe b)
{
	if (add_raw(r, a, b) || fe_geq(r, P))
		sub_raw(r, r, P);
}

static void fe_sub(fe r, const fe a, const fe b)
{
	if (sub_raw(r, a, b))
		add_raw(r, r, P);
}

#if defined(__SIZEOF_INT128__) && !defined(P256_PORTABLE)
/* r = a*b/2^256 mod p (CIOS Montgomery multiplication on 64-bit limbs, where the compiler has
 * 64x64->128 products: half of a handshake's CPU is here; -p^-1 mod 2^64 is 1). r may alias. */
static void fe_mul(fe r, const fe a, const fe b)
{
	static const uint64_t p64[4] = {0xffffffffffffffffu, 0x00000000ffffffffu, 0,
		0xffffffff00000001u};
	uint64_t x[4], y[4], t[6] = {0};
	for (int i = 0; i < 4; i++) {
		x[i] = (uint64_t)a[2 * i] | (uint64_t)a[2 * i + 1] << 32;
		y[i] = (uint64_t)b[2 * i] | (uint64_t)b[2 * i + 1] << 32;
	}
	for (int i = 0; i < 4; i++) {
		unsigned __int128 c = 0;
		for (int j = 0; j < 4; j++) {
			c += (unsigned __int128)t[j] + (unsigned __int128)x[j] * y[i];
			t[j] = (uint64_t)c;
			c >>= 64;
		}
		c += t[4];
		t[4] = (uint64_t)c;
		t[5] = (uint64_t)(c >> 64);
		uint64_t m = t[0];
		c = ((unsigned __int128)t[0] + (unsigned __int128)m * p64[0]) >> 64;
		for (int j = 1; j < 4; j++) {
			c += (unsigned __int128)t[j] + (unsigned __int128)m * p64[j];
			t[j - 1] = (uint64_t)c;
			c >>= 64;
		}
		c += t[4];
		t[3] = (uint64_t)c;
		t[4] = t[5] + (uint64_t)(c >> 64);
	}
	fe out;
	for (int i = 0; i < 4; i++) {
		out[2 * i] = (uint32_t)t[i];
		out[2 * i + 1] = (uint32_t)(t[i] >> 32);
	}
	if (t[4] || fe_geq(out, P))
		sub_raw(out, out, P);
	memcpy(r, out, sizeof(fe));
}
#else
/* r = a*b/2^256 mod p (CIOS Montgomery multiplication; -p^-1 mod 2^32 is 1). r may alias. */
static void fe_mul(fe r, const fe a, const fe b)
{
	uint32_t t[10] = {0};
	for (int i = 0; i < 8; i++) {
		uint64_t c = 0;
		for (int j = 0; j < 8; j++) {
			c += (uint64_t)t[j] + (uint64_t)a[j] * b[i];
			t[j] = (uint32_t)c;
			c >>= 32;
		}
		c += t[8];
		t[8] = (uint32_t)c;
		t[9] = (uint32_t)(c >> 32);
		uint32_t m = t[0];
		c = ((uint64_t)t[0] + (uint64_t)m * P[0]) >> 32;
		for (int j = 1; j < 8; j++) {
			c += (uint64_t)t[j] + (uint64_t)m * P[j];
			t[j - 1] = (uint32_t)c;
			c >>= 32;
		}
		c += t[8];
		t[7] = (uint32_t)c;
		t[8] = t[9] + (uint32_t)(c >> 32);
	}
	if (t[8] || fe_geq(t, P))
		sub_raw(t, t, P);
	memcpy(r, t, sizeof(fe));
}
#endif

static void fe_sqr(fe r, const fe a)
{
	fe_mul(r, a, a);
}

/* r = a^(p-2) = 1/a (Fermat); 0 stays 0 */
static void fe_inv(fe r, const fe a)
{
	fe e, x;
	memcpy(e, P, sizeof e);
	e[0] -= 2;
	int started = 0;
	for (int i = 255; i >= 0; i--) {
		if (started)
			fe_sqr(x, x);
		if (e[i / 32] >> (i % 32) & 1) {
			if (started)
				fe_mul(x, x, a);
			else
				memcpy(x, a, sizeof x);
			started = 1;
		}
	}
	memcpy(r, x, sizeof x);
}

/* big-endian bytes (a number < p) into Montgomery form; -1 when it is not < p */
static int fe_load(fe r, const uint8_t b[32])
{
	limbs_from_be(r, b);
	if (fe_geq(r, P))
		return -1;
	fe_mul(r, r, RR);
	return 0;
}

/* ---- points ---- */

/* dbl-2001-b (a = -3): 3M + 5S. r may alias a. */
static void pt_dbl(struct jpt *r, const struct jpt *a)
{
	fe delta, gamma, beta, alpha, t, x3, y3, z3;
	if (fe_is_zero(a->z)) {
		*r = *a;
		return;
	}
	fe_sqr(delta, a->z);
	fe_sqr(gamma, a->y);
	fe_mul(beta, a->x, gamma);
	fe_sub(t, a->x, delta);
	fe_add(alpha, a->x, delta);
	fe_mul(alpha, t, alpha);
	fe_add(t, alpha, alpha);
	fe_add(alpha, t, alpha); /* 3(X - delta)(X + delta) */
	fe_add(t, a->y, a->z);
	fe_sqr(t, t);
	fe_sub(t, t, gamma);
	fe_sub(z3, t, delta); /* (Y + Z)^2 - gamma - delta = 2YZ */
	fe_add(beta, beta, beta);
	fe_add(beta, beta, beta); /* 4 beta */
	fe_sqr(x3, alpha);
	fe_add(t, beta, beta);
	fe_sub(x3, x3, t); /* alpha^2 - 8 beta */
	fe_sub(t, beta, x3);
	fe_mul(t, alpha, t);
	fe_sqr(gamma, gamma);
	fe_add(gamma, gamma, gamma);
	fe_add(gamma, gamma, gamma);
	fe_add(gamma, gamma, gamma); /* 8 gamma^2 */
	fe_sub(y3, t, gamma);
	memcpy(r->x, x3, sizeof x3);
	memcpy(r->y, y3, sizeof y3);
	memcpy(r->z, z3, sizeof z3);
}

/* add-2007-bl: 11M + 5S; equal inputs are doubled, opposite ones give infinity. r may alias
 * a or b. */
static void pt_add(struct jpt *r, const struct jpt *a, const struct jpt *b)
{
	fe z1z1, z2z2, u1, u2, s1, s2, h, rr, i, j, v, t, x3, y3, z3;
	if (fe_is_zero(a->z)) {
		*r = *b;
		return;
	}
	if (fe_is_zero(b->z)) {
		*r = *a;
		return;
	}
	fe_sqr(z1z1, a->z);
	fe_sqr(z2z2, b->z);
	fe_mul(u1, a->x, z2z2);
	fe_mul(u2, b->x, z1z1);
	fe_mul(s1, a->y, b->z);
	fe_mul(s1, s1, z2z2);
	fe_mul(s2, b->y, a->z);
	fe_mul(s2, s2, z1z1);
	fe_sub(h, u2, u1);
	fe_sub(rr, s2, s1);
	if (fe_is_zero(h)) {
		if (fe_is_zero(rr)) {
			pt_dbl(r, a);
			return;
		}
		memset(r, 0, sizeof *r);
		return;
	}
	fe_add(rr, rr, rr);
	fe_add(i, h, h);
	fe_sqr(i, i);
	fe_mul(j, h, i);
	fe_mul(v, u1, i);
	fe_add(t, a->z, b->z);
	fe_sqr(t, t);
	fe_sub(t, t, z1z1);
	fe_sub(t, t, z2z2);
	fe_mul(z3, t, h);
	fe_sqr(x3, rr);
	fe_sub(x3, x3, j);
	fe_sub(x3, x3, v);
	fe_sub(x3, x3, v);
	fe_sub(t, v, x3);
	fe_mul(t, rr, t);
	fe_mul(s1, s1, j);
	fe_add(s1, s1, s1);
	fe_sub(y3, t, s1);
	memcpy(r->x, x3, sizeof x3);
	memcpy(r->y, y3, sizeof y3);
	memcpy(r->z, z3, sizeof z3);
}

/* r = a + (neg ? -b : b) */
static void pt_add_signed(struct jpt *r, const struct jpt *a, const struct jpt *b, int neg)
{
	if (!neg) {
		pt_add(r, a, b);
		return;
	}
	static const fe zero;
	struct jpt nb = *b;
	fe_sub(nb.y, zero, b->y);
	pt_add(r, a, &nb);
}

/* tab[k] = (2k+1) p for k < n */
static void odd_multiples(struct jpt *tab, int n, const struct jpt *p)
{
	struct jpt p2;
	pt_dbl(&p2, p);
	tab[0] = *p;
	for (int k = 1; k < n; k++)
		pt_add(&tab[k], &tab[k - 1], &p2);
}

/* (x, y) from big-endian bytes, on the curve y^2 = x^3 - 3x + b; -1 otherwise */
static int pt_load(struct jpt *r, const uint8_t x[32], const uint8_t y[32])
{
	static const fe one = {1};
	fe b, lhs, rhs, t;
	if (fe_load(r->x, x) != 0 || fe_load(r->y, y) != 0)
		return -1;
	fe_mul(r->z, one, RR);
	fe_load(b, B_BE);
	fe_sqr(lhs, r->y);
	fe_sqr(rhs, r->x);
	fe_mul(rhs, rhs, r->x);
	fe_add(t, r->x, r->x);
	fe_add(t, t, r->x);
	fe_sub(rhs, rhs, t);
	fe_add(rhs, rhs, b);
	return memcmp(lhs, rhs, sizeof lhs) == 0 ? 0 : -1;
}

/* ---- scalars ---- */

/* The width-w NAF of a 256-bit big-endian k, least significant digit first: every non-zero
 * digit is odd and below 2^(w-1) in size, and is followed by at least w-1 zeros. Returns the
 * digit count (at most 257). */
static int wnaf(int8_t d[258], const uint8_t k_be[32], int w)
{
	uint32_t k[9];
	limbs_from_be(k, k_be);
	k[8] = 0;
	int n = 0;
	for (;;) {
		uint32_t any = 0;
		for (int i = 0; i < 9; i++)
			any |= k[i];
		if (!any)
			break;
		int digit = 0;
		if (k[0] & 1) {
			digit = (int)(k[0] & ((1u << w) - 1));
			if (digit >= 1 << (w - 1))
				digit -= 1 << w;
			/* k -= digit: the low w bits become zero (a negative digit carries upwards) */
			if (digit > 0) {
				k[0] -= (uint32_t)digit;
			} else {
				uint64_t c = (uint64_t)-digit;
				for (int i = 0; i < 9 && c; i++) {
					c += k[i];
					k[i] = (uint32_t)c;
					c >>= 32;
				}
			}
		}
		d[n++] = (int8_t)digit;
		for (int i = 0; i < 8; i++)
			k[i] = k[i] >> 1 | k[i + 1] << 31;
		k[8] >>= 1;
	}
	return n;
}

/* ---- verification ---- */

/* The odd multiples of G, made on first use. Only the loop thread verifies (the web server
 * does not check client certificates), so a plain flag is enough. */
static struct jpt g_tab[1 << (G_WINDOW - 2)];
static int g_ready;

static void g_init(void)
{
	struct jpt g;
	pt_load(&g, GX_BE, GY_BE);
	odd_multiples(g_tab, 1 << (G_WINDOW - 2), &g);
	g_ready = 1;
}

int p256_verify_core(const uint8_t u1[32], const uint8_t u2[32], const uint8_t qx[32],
	const uint8_t qy[32], const uint8_t r[32])
{
	struct jpt q, q_tab[1 << (Q_WINDOW - 2)], acc;
	int8_t n1[258], n2[258];
	if (!g_ready)
		g_init();
	if (pt_load(&q, qx, qy) != 0)
		return 0;
	odd_multiples(q_tab, 1 << (Q_WINDOW - 2), &q);
	int len1 = wnaf(n1, u1, G_WINDOW), len2 = wnaf(n2, u2, Q_WINDOW);
	memset(&acc, 0, sizeof acc);
	for (int i = (len1 > len2 ? len1 : len2) - 1; i >= 0; i--) {
		pt_dbl(&acc, &acc);
		if (i < len1 && n1[i])
			pt_add_signed(&acc, &acc, &g_tab[(n1[i] < 0 ? -n1[i] : n1[i]) / 2], n1[i] < 0);
		if (i < len2 && n2[i])
			pt_add_signed(&acc, &acc, &q_tab[(n2[i] < 0 ? -n2[i] : n2[i]) / 2], n2[i] < 0);
	}
	if (fe_is_zero(acc.z))
		return 0;
	/* x = X / Z^2, out of Montgomery form (multiplying by plain 1), then reduced mod n */
	static const fe one = {1};
	fe zi, x;
	uint32_t nl[8];
	uint8_t xb[32];
	fe_inv(zi, acc.z);
	fe_sqr(zi, zi);
	fe_mul(x, acc.x, zi);
	fe_mul(x, x, one);
	limbs_from_be(nl, N_BE);
	if (fe_geq(x, nl))
		sub_raw(x, x, nl);
	limbs_to_be(xb, x);
	return memcmp(xb, r, 32) == 0;
}

/* ---- mbedTLS's ECDSA verification (MBEDTLS_ECDSA_VERIFY_ALT in board/mbedtls_config.h) ---- */

#ifndef P256_CORE_ONLY /* (the unit test builds the portable core beside this one) */
#include <mbedtls/ecdsa.h>
#endif

#if defined(MBEDTLS_ECDSA_VERIFY_ALT) && !defined(P256_CORE_ONLY)
/* SEC1 4.1.4, as mbedTLS does it: e is the hash's leftmost nbits bits, u1 = e/s and
 * u2 = r/s mod n, and the signature holds when the x of u1*G + u2*Q is r mod n. The scalars
 * come from mbedTLS's bignums (cheap); P-256's point product is ours, other curves keep
 * mbedtls_ecp_muladd. */
int mbedtls_ecdsa_verify(mbedtls_ecp_group *grp, const unsigned char *buf, size_t blen,
	const mbedtls_ecp_point *Q, const mbedtls_mpi *r, const mbedtls_mpi *s)
{
	int ret;
	mbedtls_mpi e, sinv, u1, u2;
	mbedtls_ecp_point R;
	if (!mbedtls_ecdsa_can_do(grp->id) || grp->N.p == NULL)
		return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	if (mbedtls_mpi_cmp_int(r, 1) < 0 || mbedtls_mpi_cmp_mpi(r, &grp->N) >= 0 ||
		mbedtls_mpi_cmp_int(s, 1) < 0 || mbedtls_mpi_cmp_mpi(s, &grp->N) >= 0)
		return MBEDTLS_ERR_ECP_VERIFY_FAILED;
	mbedtls_mpi_init(&e);
	mbedtls_mpi_init(&sinv);
	mbedtls_mpi_init(&u1);
	mbedtls_mpi_init(&u2);
	mbedtls_ecp_point_init(&R);
	size_t nbytes = (grp->nbits + 7) / 8, use = blen > nbytes ? nbytes : blen;
	MBEDTLS_MPI_CHK(mbedtls_mpi_read_binary(&e, buf, use));
	if (use * 8 > grp->nbits)
		MBEDTLS_MPI_CHK(mbedtls_mpi_shift_r(&e, use * 8 - grp->nbits));
	if (mbedtls_mpi_cmp_mpi(&e, &grp->N) >= 0)
		MBEDTLS_MPI_CHK(mbedtls_mpi_sub_mpi(&e, &e, &grp->N));
	MBEDTLS_MPI_CHK(mbedtls_mpi_inv_mod(&sinv, s, &grp->N));
	MBEDTLS_MPI_CHK(mbedtls_mpi_mul_mpi(&u1, &e, &sinv));
	MBEDTLS_MPI_CHK(mbedtls_mpi_mod_mpi(&u1, &u1, &grp->N));
	MBEDTLS_MPI_CHK(mbedtls_mpi_mul_mpi(&u2, r, &sinv));
	MBEDTLS_MPI_CHK(mbedtls_mpi_mod_mpi(&u2, &u2, &grp->N));
	if (grp->id == MBEDTLS_ECP_DP_SECP256R1 && mbedtls_mpi_cmp_int(&Q->Z, 1) == 0) {
		uint8_t b1[32], b2[32], qx[32], qy[32], rb[32];
		MBEDTLS_MPI_CHK(mbedtls_mpi_write_binary(&u1, b1, 32));
		MBEDTLS_MPI_CHK(mbedtls_mpi_write_binary(&u2, b2, 32));
		MBEDTLS_MPI_CHK(mbedtls_mpi_write_binary(&Q->X, qx, 32));
		MBEDTLS_MPI_CHK(mbedtls_mpi_write_binary(&Q->Y, qy, 32));
		MBEDTLS_MPI_CHK(mbedtls_mpi_write_binary(r, rb, 32));
		ret = p256_verify_core(b1, b2, qx, qy, rb) ? 0 : MBEDTLS_ERR_ECP_VERIFY_FAILED;
		goto cleanup;
	}
	MBEDTLS_MPI_CHK(mbedtls_ecp_muladd(grp, &R, &u1, &grp->G, &u2, Q));
	if (mbedtls_ecp_is_zero(&R)) {
		ret = MBEDTLS_ERR_ECP_VERIFY_FAILED;
		goto cleanup;
	}
	MBEDTLS_MPI_CHK(mbedtls_mpi_mod_mpi(&R.X, &R.X, &grp->N));
	ret = mbedtls_mpi_cmp_mpi(&R.X, r) == 0 ? 0 : MBEDTLS_ERR_ECP_VERIFY_FAILED;
cleanup:
	mbedtls_mpi_free(&e);
	mbedtls_mpi_free(&sinv);
	mbedtls_mpi_free(&u1);
	mbedtls_mpi_free(&u2);
	mbedtls_ecp_point_free(&R);
	return ret;
}
#endif
