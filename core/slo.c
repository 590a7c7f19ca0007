/* slo.c: sliding-window sums over a ring of minute buckets. A bucket at index m % nring holds
 * minute m when its stamp says so; a window of W minutes covers minutes (now - W, now]. */
#include <stdio.h>
#include <string.h>
#include "slo.h"

size_t slo_ring_bytes(const struct slo_target *t)
{
	return sizeof(struct slo_bucket) * (t->nwin ? t->win_min[t->nwin - 1] : 0);
}

void slo_init(struct slo *s, const struct slo_target *t, struct slo_bucket *ring)
{
	memset(s, 0, sizeof *s);
	s->t = t;
	s->ring = ring;
	s->nring = t->nwin ? t->win_min[t->nwin - 1] : 0;
	memset(ring, 0, sizeof *ring * s->nring);
}

static void sums_add(struct slo_sums *a, const struct slo_bucket *b, int sign)
{
	a->total += (uint32_t)(sign * b->total);
	a->ok += (uint32_t)(sign * b->ok);
	a->fast += (uint32_t)(sign * b->fast);
	for (int i = 0; i <= OP_HIST_N; i++)
		a->lat[i] += (uint32_t)(sign * b->lat[i]);
}

void slo_advance(struct slo *s, uint32_t minute)
{
	if (!s->nring || minute <= s->now_min)
		return;
	uint32_t from = s->now_min, to = minute;
	if (!from || to - from > s->nring)
		from = to > s->nring ? to - s->nring : 0; /* everything older is gone anyway */
	for (int w = 0; w < s->t->nwin; w++) {
		uint32_t W = s->t->win_min[w];
		/* minutes leaving window w: (from - W, to - W] */
		for (uint32_t m = (from > W ? from - W : 0) + 1; m + W <= to; m++) {
			const struct slo_bucket *b = &s->ring[m % s->nring];
			if (b->minute == m)
				sums_add(&s->sum[w], b, -1);
		}
	}
	if (!s->now_min || minute - s->now_min > s->nring) {
		/* a long gap: nothing in the ring is inside any window */
		memset(s->ring, 0, sizeof *s->ring * s->nring);
		memset(s->sum, 0, sizeof s->sum);
	}
	s->now_min = minute;
}

void slo_add(struct slo *s, uint32_t minute, int ok, uint64_t latency_us)
{
	if (!s->nring)
		return;
	struct slo_bucket one = {.minute = minute, .total = 1, .ok = (uint16_t)!!ok,
		.fast = (uint16_t)(latency_us <= s->t->latency_max_us)};
	one.lat[result_hist_bucket(latency_us)] = 1;
	slo_merge(s, &one);
}

void slo_add_result(struct slo *s, const struct result *r)
{
	slo_add(s, (uint32_t)(r->wall_us / 60000000), r->ok, r->duration_us);
}

void slo_merge(struct slo *s, const struct slo_bucket *one)
{
	uint32_t minute = one->minute;
	if (!s->nring || !minute)
		return;
	if (minute + s->nring <= s->now_min) {
		/* Older than every window: the wall clock was set back by more than the longest
		 * one (a box that booted with a date in the future). What the ring holds is on the
		 * old time line; waiting for the clock to catch up would count nothing for that
		 * long, so the windows start again from this minute. */
		memset(s->ring, 0, sizeof *s->ring * s->nring);
		memset(s->sum, 0, sizeof s->sum);
		s->now_min = 0;
	}
	slo_advance(s, minute);
	struct slo_bucket *b = &s->ring[minute % s->nring];
	if (b->minute != minute) {
		memset(b, 0, sizeof *b);
		b->minute = minute;
	}
	if (b->total + one->total > UINT16_MAX)
		return; /* 65,535 runs in a minute: the rest of it is not counted */
	b->total += one->total, b->ok += one->ok, b->fast += one->fast;
	for (int i = 0; i <= OP_HIST_N; i++)
		b->lat[i] += one->lat[i];
	for (int w = 0; w < s->t->nwin; w++)
		if (minute + s->t->win_min[w] > s->now_min)
			sums_add(&s->sum[w], one, 1);
}

uint32_t slo_export(const struct slo *s, struct slo_bucket *out, uint32_t cap)
{
	uint32_t n = 0;
	for (uint32_t k = 0; k < s->nring && n < cap; k++) {
		uint32_t m = s->now_min - (s->nring - 1 - k); /* oldest first */
		const struct slo_bucket *b = &s->ring[m % s->nring];
		if (m <= s->now_min && b->minute == m && b->total)
			out[n++] = *b;
	}
	return n;
}

void slo_view(const struct slo *s, int w, struct slo_view *v)
{
	static const double bounds[OP_HIST_N] = OP_HIST_BOUNDS;
	const struct slo_sums *a = &s->sum[w];
	const struct slo_target *t = s->t;
	memset(v, 0, sizeof *v);
	v->total = a->total;
	v->availability = a->total ? (double)a->ok / a->total : 1.0;
	v->fast_ratio = a->total ? (double)a->fast / a->total : 1.0;
	if (a->total && t->latency_p > 0) {
		uint64_t rank = (uint64_t)(t->latency_p * a->total + 0.999999), seen = 0;
		int i = 0;
		for (; i <= OP_HIST_N; i++) {
			seen += a->lat[i];
			if (seen >= rank)
				break;
		}
		v->latency_q_s = i < OP_HIST_N ? bounds[i] : bounds[OP_HIST_N - 1] * 2;
	}
	double allowed = t->availability > 0 ? (1.0 - t->availability) * a->total : 0;
	double failures = (double)a->total - a->ok;
	v->budget_remaining = allowed > 0 ? 1.0 - failures / allowed : (failures > 0 ? 0.0 : 1.0);
	v->met = (t->availability <= 0 || v->availability >= t->availability) &&
		(t->latency_p <= 0 || v->fast_ratio >= t->latency_p);
}

void slo_window_name(uint32_t minutes, char *buf, size_t cap)
{
	if (minutes % 60 == 0)
		snprintf(buf, cap, "%uh", minutes / 60);
	else
		snprintf(buf, cap, "%um", minutes);
}

/* ---- carried over an engine restart ---- */

#define KEEP_MAGIC 0x4f534c32u /* "OSL2" */
struct keep_head {
	uint32_t magic, bucket_size, hist_n;
	uint32_t saved_s; /* Unix seconds when the windows were taken (0: not said) */
};
struct keep_rec {
	uint64_t latency_max_us;
	uint32_t key_len, n; /* the key's bytes (padded to 8: op_pad8), then n buckets, follow */
};

size_t slo_keep_bytes(const struct slo *s, const char *key)
{
	return sizeof(struct keep_rec) + op_pad8(strlen(key)) + s->nring * sizeof(struct slo_bucket);
}

size_t slo_keep_start(struct slo_keep *k, uint32_t saved_s)
{
	struct keep_head h = {KEEP_MAGIC, sizeof(struct slo_bucket), OP_HIST_N, saved_s};
	if (k->cap >= sizeof h) {
		memcpy(k->buf, &h, sizeof h);
		k->len = sizeof h;
	}
	return sizeof h;
}

void slo_keep_put(struct slo_keep *k, const char *key, const struct slo *s)
{
	if (!s->nring || k->len < sizeof(struct keep_head) ||
		k->cap - k->len < slo_keep_bytes(s, key))
		return;
	struct keep_rec r = {s->t->latency_max_us, (uint32_t)strlen(key), 0};
	uint8_t *at = k->buf + k->len;
	memset(at + sizeof r, 0, op_pad8(r.key_len));
	memcpy(at + sizeof r, key, r.key_len);
	r.n = slo_export(s, (struct slo_bucket *)(void *)(at + sizeof r + op_pad8(r.key_len)),
		s->nring);
	memcpy(at, &r, sizeof r);
	k->len += sizeof r + op_pad8(r.key_len) + r.n * sizeof(struct slo_bucket);
}

int64_t slo_keep_saved_s(const struct slo_keep *k)
{
	struct keep_head h;
	if (k->len < sizeof h)
		return -1;
	memcpy(&h, k->buf, sizeof h);
	if (h.magic != KEEP_MAGIC || h.bucket_size != sizeof(struct slo_bucket) ||
		h.hist_n != OP_HIST_N)
		return -1;
	return h.saved_s;
}

int slo_keep_take(const struct slo_keep *k, const char *key, struct slo *s)
{
	struct keep_head h;
	if (!s->nring || k->len < sizeof h)
		return 0;
	memcpy(&h, k->buf, sizeof h);
	if (h.magic != KEEP_MAGIC || h.bucket_size != sizeof(struct slo_bucket) ||
		h.hist_n != OP_HIST_N)
		return 0;
	size_t klen = strlen(key);
	for (size_t off = sizeof h; k->len - off >= sizeof(struct keep_rec);) {
		struct keep_rec r;
		memcpy(&r, k->buf + off, sizeof r);
		off += sizeof r;
		if (op_pad8(r.key_len) > k->len - off ||
			r.n > (k->len - off - op_pad8(r.key_len)) / sizeof(struct slo_bucket))
			return 0; /* torn */
		const uint8_t *b = k->buf + off + op_pad8(r.key_len);
		if (r.key_len == klen && !memcmp(k->buf + off, key, klen) &&
			r.latency_max_us == s->t->latency_max_us) {
			for (uint32_t i = 0; i < r.n; i++) {
				struct slo_bucket one;
				memcpy(&one, b + i * sizeof one, sizeof one);
				slo_merge(s, &one);
			}
			return 1;
		}
		off += op_pad8(r.key_len) + r.n * sizeof(struct slo_bucket);
	}
	return 0;
}
