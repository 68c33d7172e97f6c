/* norm_cpu.c: batch norm (merged scale/bias form) + activation + board mask, and the small
 * per-sample ops of the heads: activations on vectors, global pooling, matmul + bias.
 *
 * The normalisation is KataGo's inference form y = act(x * merged_scale + merged_bias) * mask
 * (formats.md §1.4, §1.10). Pooling follows formats.md §1.10: means divide by the number of
 * on-board points N of the sample, the size-scaled mean uses (sqrt(N) - 14) / 10, and the max is
 * KataGo's max(x + mask - 1) over all points. */
#include <math.h>

#include "nn/ops_cpu.h"

float nn__act(tg_act_kind_t act, float x) {
    switch (act) {
    case TG_ACT_IDENTITY:
        return x;
    case TG_ACT_RELU:
        return x > 0.0f ? x : 0.0f;
    case TG_ACT_MISH: {
        /* x * tanh(softplus(x)); softplus(x) ~ x for large x (tanh is 1 there anyway). */
        if (x > 20.0f) return x;
        return x * tanhf(log1pf(expf(x)));
    }
    case TG_ACT_SILU:
        return x / (1.0f + expf(-x));
    }
    return x;
}

void nn__act_vec(tg_act_kind_t act, float *x, size_t n) {
    if (act == TG_ACT_IDENTITY) return;
    if (act == TG_ACT_RELU) {
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
        return;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = nn__act(act, x[i]);
}

void nn__bn_act_rows(const tg_bn_t *bn, tg_act_kind_t act, const float *in, float *out,
                     const float *mask, size_t r0, size_t r1) {
    const int c = bn->c;
    const float *restrict sc = bn->merged_scale;
    const float *restrict bi = bn->merged_bias;
    for (size_t r = r0; r < r1; r++) {
        const float *restrict x = in + r * c;
        float *restrict y = out + r * c;
        const float m = mask[r];
        if (m == 0.0f) {
            for (int i = 0; i < c; i++)
                y[i] = 0.0f;
            continue;
        }
        if (act == TG_ACT_RELU) {
            for (int i = 0; i < c; i++) {
                float v = x[i] * sc[i] + bi[i];
                y[i] = (v > 0.0f ? v : 0.0f) * m;
            }
        } else {
            for (int i = 0; i < c; i++)
                y[i] = nn__act(act, x[i] * sc[i] + bi[i]) * m;
        }
    }
}

void nn__gpool_sample(const float *in, const float *mask, int hw, int c, float mask_sum,
                      float *out) {
    float *sum = out, *mx = out + 2 * c;
    for (int i = 0; i < c; i++) {
        sum[i] = 0.0f;
        mx[i] = -INFINITY;
    }
    for (int p = 0; p < hw; p++) {
        const float *x = in + (size_t)p * c;
        const float off = mask[p] - 1.0f;
        for (int i = 0; i < c; i++) {
            sum[i] += x[i];
            float v = x[i] + off;
            mx[i] = v > mx[i] ? v : mx[i];
        }
    }
    const float sq = sqrtf(mask_sum);
    const float inv = 1.0f / mask_sum;
    for (int i = 0; i < c; i++) {
        float mean = sum[i] * inv;
        out[i] = mean;
        out[c + i] = mean * (sq - 14.0f) * 0.1f;
    }
}

void nn__vpool_sample(const float *in, int hw, int c, float mask_sum, float *out) {
    for (int i = 0; i < c; i++)
        out[i] = 0.0f;
    for (int p = 0; p < hw; p++) {
        const float *x = in + (size_t)p * c;
        for (int i = 0; i < c; i++)
            out[i] += x[i];
    }
    const float sq = sqrtf(mask_sum);
    const float inv = 1.0f / mask_sum;
    const float a = (sq - 14.0f) * 0.1f;
    const float b = (sq - 14.0f) * (sq - 14.0f) * 0.01f - 0.1f;
    for (int i = 0; i < c; i++) {
        float mean = out[i] * inv;
        out[i] = mean;
        out[c + i] = mean * a;
        out[2 * c + i] = mean * b;
    }
}

void nn__matmul_vec(const tg_matmul_t *mm, const tg_matbias_t *b, const float *in, float *out) {
    const int ic = mm->ic, oc = mm->oc;
    for (int o = 0; o < oc; o++)
        out[o] = b ? b->b[o] : 0.0f;
    for (int i = 0; i < ic; i++) {
        const float v = in[i];
        const float *restrict w = mm->w + (size_t)i * oc;
        for (int o = 0; o < oc; o++)
            out[o] += v * w[o];
    }
}
