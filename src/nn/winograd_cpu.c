/* winograd_cpu.c: "same" convolutions by Winograd F(4x4, 3x3) on NHWC row tensors.
 *
 * Why. 3x3 convolutions are ~94 % of a KataGo net's FLOPs. F(4x4, 3x3) computes each 4x4 output
 * tile from a 6x6 input tile with 36 multiplies per (input, output) channel pair instead of
 * 16 * 9 = 144: 4x fewer MACs (3.6x on 19x19 boards, whose 5x5 tiles cover 20x20 points).
 * Bigger odd kernels (KataGo's 5x5 input layer) are split into ceil(k/3)^2 zero-padded 3x3
 * sub-kernels, each reading the 6x6 patch shifted by its offset; their products are summed by
 * the same GEMM (k = nsub * ic): 4 x 36 instead of 16 x 25 multiplies for 5x5.
 *
 * Algorithm (Lavin & Gray 2016), per tile and channel, with interpolation points 0, +-1, +-2, inf:
 *   V = B^T d B (d: 6x6 input patch, zero outside the L x L tensor)
 *   U = G g G^T (g: 3x3 kernel; precomputed once per layer in double, nn__wino_pack)
 *   Y = A^T [sum over input channels of U (.) V] A   (the 4x4 output tile)
 * The sum over input channels, for each of the 36 transform points xi, is a GEMM:
 *   M[xi] (tiles, oc) = V[xi] (tiles, k) x U[xi] (k, oc)
 * done by a register-blocked kernel (4 tiles x up to 96 output channels per step: 24 zmm
 * accumulators, AVX-512 FMA when compiled for it, GCC vector extensions otherwise) on weights
 * pre-laid out as (36, k, ocp), ocp = oc rounded up to 16 and zero padded, so no per-call
 * packing is needed. The transforms run 16 channels at a time in registers with AVX-512 (a
 * generic loop form serves other CPUs and channel tails).
 *
 * Fusion. Two layers reading the same input (a gpool block's regularConv and gpoolConv) can
 * share one packed weight set: one input transform and one wider GEMM, the output split in two
 * tensors. The output transform can also apply the next batch norm + activation + mask
 * (nn_wino_epi_t) while the points are in registers.
 *
 * Work is split by tiles: nn__wino_conv_tiles(t0, t1) writes exactly the output points of tiles
 * [t0, t1), so threads can split a layer by tile ranges with no synchronisation inside the
 * layer. Tiles are processed NN_WINO_CHUNK_TILES at a time so V and M stay in L2; each chunk
 * streams the layer's U once (1.3 MB for 96 -> 96 channels), so callers should not cut the
 * tiles into small pieces.
 *
 * Accuracy: F(4x4, 3x3) in float loses ~1-2 bits against direct convolution (the transform
 * matrices have entries up to 8 and 1/24); tests/nn/test_ops.c bounds the error on random data
 * (<= 1e-4 of the output's scale, ~3e-5 seen) and tests/nn/test_golden.c on the real net. */
#include <stdlib.h>
#include <string.h>

#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include "nn/ops_cpu.h"

/* ---- Weight transform ------------------------------------------------------------------ */

static const double wino_g[6][3] = {
    {1.0 / 4, 0, 0},
    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
    {1.0 / 24, 1.0 / 12, 1.0 / 6},
    {1.0 / 24, -1.0 / 12, 1.0 / 6},
    {0, 0, 1},
};

/* Writes layer cv's U into columns [o0, o0 + cv->oc) of u (36, k, ocp): row q*ic + i holds
 * 3x3 sub-kernel q = qy * nsx + qx, i.e. kernel taps (3qy + y', 3qx + x'), zero past the
 * kernel's edge. */
static void wino_pack_into(const tg_conv_t *cv, float *u, int o0, int ocp) {
    const int ic = cv->ic, oc = cv->oc, nsy = (cv->ky + 2) / 3, nsx = (cv->kx + 2) / 3;
    const size_t k = (size_t)nsy * nsx * ic;
    for (int q = 0; q < nsy * nsx; q++)
        for (int i = 0; i < ic; i++)
            for (int o = 0; o < oc; o++) {
                double g[3][3], t[6][3];
                for (int y = 0; y < 3; y++)
                    for (int x = 0; x < 3; x++) {
                        int ky = 3 * (q / nsx) + y, kx = 3 * (q % nsx) + x;
                        g[y][x] = (ky < cv->ky && kx < cv->kx)
                                      ? cv->w[((size_t)(ky * cv->kx + kx) * ic + i) * oc + o]
                                      : 0.0;
                    }
                for (int a = 0; a < 6; a++) /* t = G g */
                    for (int x = 0; x < 3; x++)
                        t[a][x] = wino_g[a][0] * g[0][x] + wino_g[a][1] * g[1][x] +
                                  wino_g[a][2] * g[2][x];
                for (int a = 0; a < 6; a++) /* U = t G^T */
                    for (int b = 0; b < 6; b++) {
                        double v = t[a][0] * wino_g[b][0] + t[a][1] * wino_g[b][1] +
                                   t[a][2] * wino_g[b][2];
                        u[((size_t)(a * 6 + b) * k + (size_t)q * ic + i) * ocp + o0 + o] = (float)v;
                    }
            }
}

static int wino_kernel_ok(int k) { return k >= 1 && k <= NN_WINO_MAX_KERNEL && k % 2 == 1; }

int nn__wino_pack(nn_wino_t *wt, const tg_conv_t *cv, const tg_conv_t *cv2) {
    memset(wt, 0, sizeof *wt);
    if (!wino_kernel_ok(cv->ky) || !wino_kernel_ok(cv->kx) || cv->ic < 1 || cv->oc < 1)
        return TG_EINVAL;
    if (cv2 && (cv2->ky != cv->ky || cv2->kx != cv->kx || cv2->ic != cv->ic || cv2->oc < 1))
        return TG_EINVAL;
    const int ic = cv->ic, oc = cv->oc + (cv2 ? cv2->oc : 0), ocp = (oc + 15) / 16 * 16;
    const int k = (cv->ky + 2) / 3 * ((cv->kx + 2) / 3) * ic;
    size_t bytes = sizeof(float) * 36 * (size_t)k * ocp;
    float *u = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!u) return TG_ENOMEM;
    memset(u, 0, bytes);
    wino_pack_into(cv, u, 0, ocp);
    if (cv2) wino_pack_into(cv2, u, cv->oc, ocp);
    wt->ky = cv->ky;
    wt->kx = cv->kx;
    wt->ic = ic;
    wt->k = k;
    wt->oc = oc;
    wt->oc1 = cv->oc;
    wt->ocp = ocp;
    wt->u = u;
    return 0;
}

void nn__wino_free(nn_wino_t *wt) {
    if (!wt) return;
    free(wt->u);
    memset(wt, 0, sizeof *wt);
}

/* Floats between consecutive xi blocks of V and M beyond their size: with 64 tiles of 96
 * channels a block is 24 KiB, a multiple of 4 KiB, so without padding the 36 stores of one
 * transform (and the 36 loads of the inverse) would all fall in one L1 set and 4K-alias. */
#define WINO_XI_PAD 16

size_t nn__wino_scratch_floats(const nn_wino_t *wt) {
    size_t ocp = (size_t)wt->ocp, icp = (size_t)(wt->ic + 15) / 16 * 16;
    size_t kp = (size_t)(wt->k + 15) / 16 * 16, wmax = icp > ocp ? icp : ocp;
    /* V (36, chunk, k) + M (36, chunk, ocp), each xi block padded by WINO_XI_PAD, + row-pass
     * temp (36, wmax) + zeros (ic) + output rows (4, ocp). */
    return 36 * (NN_WINO_CHUNK_TILES * (kp + ocp) + 2 * WINO_XI_PAD) + 36 * wmax + icp + 4 * ocp;
}

size_t nn__wino_num_tiles(int n, int len) {
    size_t t = (size_t)(len + 3) / 4;
    return (size_t)n * t * t;
}

/* ---- Transforms (vectorised over channels) ----------------------------------------------- */

/* out[k] = (B^T d)[k] for six channel vectors d0..d5 of c channels. The pointers are restrict
 * parameters (GCC ignores restrict on locals and would not vectorise 12 possibly-aliasing
 * streams) and the function is not inlined, which would drop that information. */
static __attribute__((noinline)) void wino_bt(const float *restrict d0, const float *restrict d1,
                                              const float *restrict d2, const float *restrict d3,
                                              const float *restrict d4, const float *restrict d5,
                                              float *restrict o0, float *restrict o1,
                                              float *restrict o2, float *restrict o3,
                                              float *restrict o4, float *restrict o5, int c) {
    for (int i = 0; i < c; i++) {
        float a = d4[i] - 4.0f * d2[i]; /* d4 - 4 d2 */
        float b = d3[i] - 4.0f * d1[i]; /* d3 - 4 d1 */
        float e = d4[i] - d2[i];
        float f = 2.0f * (d3[i] - d1[i]);
        o0[i] = 4.0f * d0[i] - 5.0f * d2[i] + d4[i];
        o1[i] = a + b;
        o2[i] = a - b;
        o3[i] = e + f;
        o4[i] = e - f;
        o5[i] = 4.0f * d1[i] - 5.0f * d3[i] + d5[i];
    }
}

/* out[k] = (A^T m)[k], k < 4, for six channel vectors m0..m5 (restrict: see wino_bt). */
static __attribute__((noinline)) void wino_at(const float *restrict m0, const float *restrict m1,
                                              const float *restrict m2, const float *restrict m3,
                                              const float *restrict m4, const float *restrict m5,
                                              float *restrict o0, float *restrict o1,
                                              float *restrict o2, float *restrict o3, int c) {
    for (int i = 0; i < c; i++) {
        float s12 = m1[i] + m2[i], d12 = m1[i] - m2[i];
        float s34 = m3[i] + m4[i], d34 = m3[i] - m4[i];
        o0[i] = m0[i] + s12 + s34;
        o1[i] = d12 + 2.0f * d34;
        o2[i] = s12 + 4.0f * s34;
        o3[i] = d12 + 8.0f * d34 + m5[i];
    }
}

/* ---- GEMM kernel ------------------------------------------------------------------------- */

#ifdef __AVX512F__
typedef __m512 v16_t;
#define V16_ZERO()       _mm512_setzero_ps()
#define V16_LOAD(p)      _mm512_loadu_ps(p)
#define V16_STORE(p, v)  _mm512_storeu_ps((p), (v))
#define V16_BCAST(x)     _mm512_set1_ps(x)
#define V16_FMA(c, a, b) _mm512_fmadd_ps((a), (b), (c))
#else
typedef float v16_t __attribute__((vector_size(64)));
/* The same vector at 4-byte alignment, for unaligned loads and stores. */
typedef float v16u_t __attribute__((vector_size(64), aligned(4), may_alias));
#define V16_ZERO()       ((v16_t){0})
#define V16_LOAD(p)      (*(const v16u_t *)(p))
#define V16_STORE(p, v)  (*(v16u_t *)(p) = (v))
#define V16_BCAST(x)     (((v16_t){0}) + (x))
#define V16_FMA(c, a, b) ((c) + (a) * (b))
#endif

/* C (R rows, NV*16 columns) = A (R, k) x B (k, NV*16); lda/ldb/ldc in floats. R and NV are
 * compile-time constants at every call, so the loops unroll and acc lives in registers. */
static inline __attribute__((always_inline)) void wino_kernel(int R, int NV, int k,
                                                              const float *restrict A, size_t lda,
                                                              const float *restrict B, size_t ldb,
                                                              float *restrict C, size_t ldc) {
    v16_t acc[4][6];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NV; j++)
            acc[r][j] = V16_ZERO();
    for (int p = 0; p < k; p++) {
        v16_t b[6];
        for (int j = 0; j < NV; j++)
            b[j] = V16_LOAD(B + (size_t)p * ldb + 16 * j);
        for (int r = 0; r < R; r++) {
            v16_t a = V16_BCAST(A[(size_t)r * lda + p]);
            for (int j = 0; j < NV; j++)
                acc[r][j] = V16_FMA(acc[r][j], a, b[j]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NV; j++)
            V16_STORE(C + (size_t)r * ldc + 16 * j, acc[r][j]);
}

#define WINO_KERNEL_DEF(R, NV)                                                                     \
    static void wino_kernel_##R##_##NV(int k, const float *A, size_t lda, const float *B,          \
                                       size_t ldb, float *C, size_t ldc) {                         \
        wino_kernel(R, NV, k, A, lda, B, ldb, C, ldc);                                             \
    }
#define WINO_KERNEL_ROW(NV)                                                                        \
    WINO_KERNEL_DEF(1, NV) WINO_KERNEL_DEF(2, NV) WINO_KERNEL_DEF(3, NV) WINO_KERNEL_DEF(4, NV)
WINO_KERNEL_ROW(1)
WINO_KERNEL_ROW(2)
WINO_KERNEL_ROW(3)
WINO_KERNEL_ROW(4)
WINO_KERNEL_ROW(5)
WINO_KERNEL_ROW(6)

typedef void (*wino_kernel_fn)(int, const float *, size_t, const float *, size_t, float *, size_t);
#define WINO_KERNEL_REF(NV)                                                                        \
    { wino_kernel_1_##NV, wino_kernel_2_##NV, wino_kernel_3_##NV, wino_kernel_4_##NV }
static const wino_kernel_fn wino_kernels[6][4] = {
    WINO_KERNEL_REF(1), WINO_KERNEL_REF(2), WINO_KERNEL_REF(3),
    WINO_KERNEL_REF(4), WINO_KERNEL_REF(5), WINO_KERNEL_REF(6),
};

/* C (m, ocp) = A (m, k) x B (k, ocp), all row-major and dense. */
static void wino_gemm(int m, int k, int ocp, const float *A, const float *B, float *C) {
    for (int n0 = 0; n0 < ocp; n0 += 96) {
        int nv = (ocp - n0) / 16 < 6 ? (ocp - n0) / 16 : 6;
        for (int r0 = 0; r0 < m; r0 += 4) {
            int rr = m - r0 < 4 ? m - r0 : 4;
            wino_kernels[nv - 1][rr - 1](k, A + (size_t)r0 * k, (size_t)k, B + n0, (size_t)ocp,
                                         C + (size_t)r0 * ocp + n0, (size_t)ocp);
        }
    }
}

/* ---- Convolution --------------------------------------------------------------------------- */

/* dst = src + beta * dst over c floats (beta = 0: a copy; dst is not read). */
static __attribute__((noinline)) void wino_store(const float *restrict src, float *restrict dst,
                                                 float beta, int c) {
    if (beta == 0.0f) {
        memcpy(dst, src, sizeof(float) * (size_t)c);
        return;
    }
    for (int i = 0; i < c; i++)
        dst[i] = src[i] + beta * dst[i];
}

/* dst = act(y * sc + bi) * m over c channels of one point, like nn__bn_act_rows (0 where the
 * mask is 0). */
static __attribute__((noinline)) void wino_epilogue(const float *restrict sc,
                                                    const float *restrict bi, tg_act_kind_t act,
                                                    const float *restrict y, float m,
                                                    float *restrict dst, int c) {
    if (m == 0.0f) {
        memset(dst, 0, sizeof(float) * (size_t)c);
    } else if (act == TG_ACT_RELU) {
        for (int i = 0; i < c; i++) {
            float v = y[i] * sc[i] + bi[i];
            dst[i] = (v > 0.0f ? v : 0.0f) * m;
        }
    } else {
        for (int i = 0; i < c; i++)
            dst[i] = nn__act(act, y[i] * sc[i] + bi[i]) * m;
    }
}

/* Where one tile's output points go (see nn__wino_conv_tiles). */
typedef struct wino_dst_s {
    float *out, *out2;
    int oc1, oc2;
    float beta;
    const nn_wino_epi_t *epi;
    int npts;       /* points of the tile inside the tensor */
    int pt[16];     /* their index i*4 + j in the 4x4 tile */
    size_t row[16]; /* their row in the (n, L*L) tensor */
} wino_dst_t;

/* Stores output channels [cb, ce) of one point (src holds them from index 0). */
static void wino_put(const wino_dst_t *d, size_t r, const float *src, int cb, int ce) {
    int e1 = ce < d->oc1 ? ce : d->oc1; /* [cb, e1) go to out, [b2, ce) to out2 */
    int b2 = cb > d->oc1 ? cb : d->oc1;
    if (cb < e1) {
        const float *y = src;
        if (d->out) {
            wino_store(src, d->out + r * d->oc1 + cb, d->beta, e1 - cb);
            y = d->out + r * d->oc1 + cb;
        }
        if (d->epi)
            wino_epilogue(d->epi->bn->merged_scale + cb, d->epi->bn->merged_bias + cb, d->epi->act,
                          y, d->epi->mask[r], d->epi->out + r * d->oc1 + cb, e1 - cb);
    }
    if (b2 < ce)
        wino_store(src + (b2 - cb), d->out2 + r * d->oc2 + (b2 - d->oc1), d->beta, ce - b2);
}

/* Input transform of channels [cb, ce) of one 6x6 patch (p: 36 row pointers, a*6 + b) into
 * vdst + xi * vstride (channel cb first), through tmp (36 rows of wmax floats). */
static void wino_in_generic(const float *const p[36], int cb, int ce, float *vdst, size_t vstride,
                            float *tmp, int wmax) {
    const int n = ce - cb;
    for (int a = 0; a < 6; a++) { /* rows: tmp[a][b] = (d B)[a][b] */
        const float *const *d = p + a * 6;
        float *t = tmp + (size_t)a * 6 * wmax;
        wino_bt(d[0] + cb, d[1] + cb, d[2] + cb, d[3] + cb, d[4] + cb, d[5] + cb, t, t + wmax,
                t + 2 * wmax, t + 3 * wmax, t + 4 * wmax, t + 5 * wmax, n);
    }
    for (int b = 0; b < 6; b++) { /* columns: V[a][b] = B^T tmp[.][b] */
        const float *t = tmp + (size_t)b * wmax;
        const size_t rs = (size_t)6 * wmax, vs = 6 * vstride;
        float *o = vdst + (size_t)b * vstride;
        wino_bt(t, t + rs, t + 2 * rs, t + 3 * rs, t + 4 * rs, t + 5 * rs, o, o + vs, o + 2 * vs,
                o + 3 * vs, o + 4 * vs, o + 5 * vs, n);
    }
}

/* Output transform of channels [cb, ce) of one tile (m: M row of xi = 0, xi stride mstride)
 * and stores, through tmp (24 rows of wmax) and obuf (4 rows of ocp). */
static void wino_out_generic(const wino_dst_t *d, const float *m, size_t mstride, int cb, int ce,
                             float *tmp, int wmax, float *obuf, int ocp) {
    const int n = ce - cb;
    for (int a = 0; a < 6; a++) { /* rows: tmp[a][j] = (M A)[a][j], j < 4 */
        const float *r = m + (size_t)a * 6 * mstride + cb;
        float *t = tmp + (size_t)a * 4 * wmax;
        wino_at(r, r + mstride, r + 2 * mstride, r + 3 * mstride, r + 4 * mstride, r + 5 * mstride,
                t, t + wmax, t + 2 * wmax, t + 3 * wmax, n);
    }
    for (int j = 0; j < 4; j++) { /* columns: Y[i][j] = A^T tmp[.][j] into obuf[i] */
        const float *t = tmp + (size_t)j * wmax;
        const size_t rs = (size_t)4 * wmax;
        wino_at(t, t + rs, t + 2 * rs, t + 3 * rs, t + 4 * rs, t + 5 * rs, obuf, obuf + ocp,
                obuf + 2 * ocp, obuf + 3 * ocp, n);
        for (int k = 0; k < d->npts; k++)
            if (d->pt[k] % 4 == j)
                wino_put(d, d->row[k], obuf + (size_t)(d->pt[k] / 4) * ocp, cb, ce);
    }
}

#ifdef __AVX512F__
/* wino_in_generic for the 16 channels [c0, c0 + 16), in registers. */
static void wino_in_16(const float *const p[36], int c0, float *vdst, size_t vstride) {
    __m512 t[6][6];
    for (int a = 0; a < 6; a++) { /* rows */
        const float *const *d = p + a * 6;
        __m512 d0 = _mm512_loadu_ps(d[0] + c0), d1 = _mm512_loadu_ps(d[1] + c0);
        __m512 d2 = _mm512_loadu_ps(d[2] + c0), d3 = _mm512_loadu_ps(d[3] + c0);
        __m512 d4 = _mm512_loadu_ps(d[4] + c0), d5 = _mm512_loadu_ps(d[5] + c0);
        __m512 x = _mm512_fnmadd_ps(_mm512_set1_ps(4.0f), d2, d4); /* d4 - 4 d2 */
        __m512 y = _mm512_fnmadd_ps(_mm512_set1_ps(4.0f), d1, d3); /* d3 - 4 d1 */
        __m512 e = _mm512_sub_ps(d4, d2);
        __m512 f = _mm512_mul_ps(_mm512_set1_ps(2.0f), _mm512_sub_ps(d3, d1));
        t[a][0] = _mm512_add_ps(
            _mm512_fnmadd_ps(_mm512_set1_ps(5.0f), d2, _mm512_mul_ps(_mm512_set1_ps(4.0f), d0)),
            d4);
        t[a][1] = _mm512_add_ps(x, y);
        t[a][2] = _mm512_sub_ps(x, y);
        t[a][3] = _mm512_add_ps(e, f);
        t[a][4] = _mm512_sub_ps(e, f);
        t[a][5] = _mm512_add_ps(
            _mm512_fnmadd_ps(_mm512_set1_ps(5.0f), d3, _mm512_mul_ps(_mm512_set1_ps(4.0f), d1)),
            d5);
    }
    for (int b = 0; b < 6; b++) { /* columns */
        __m512 d0 = t[0][b], d1 = t[1][b], d2 = t[2][b], d3 = t[3][b], d4 = t[4][b], d5 = t[5][b];
        __m512 x = _mm512_fnmadd_ps(_mm512_set1_ps(4.0f), d2, d4);
        __m512 y = _mm512_fnmadd_ps(_mm512_set1_ps(4.0f), d1, d3);
        __m512 e = _mm512_sub_ps(d4, d2);
        __m512 f = _mm512_mul_ps(_mm512_set1_ps(2.0f), _mm512_sub_ps(d3, d1));
        float *o = vdst + (size_t)b * vstride + c0;
        const size_t vs = 6 * vstride;
        _mm512_storeu_ps(o, _mm512_add_ps(_mm512_fnmadd_ps(_mm512_set1_ps(5.0f), d2,
                                                           _mm512_mul_ps(_mm512_set1_ps(4.0f), d0)),
                                          d4));
        _mm512_storeu_ps(o + vs, _mm512_add_ps(x, y));
        _mm512_storeu_ps(o + 2 * vs, _mm512_sub_ps(x, y));
        _mm512_storeu_ps(o + 3 * vs, _mm512_add_ps(e, f));
        _mm512_storeu_ps(o + 4 * vs, _mm512_sub_ps(e, f));
        _mm512_storeu_ps(o + 5 * vs,
                         _mm512_add_ps(_mm512_fnmadd_ps(_mm512_set1_ps(5.0f), d3,
                                                        _mm512_mul_ps(_mm512_set1_ps(4.0f), d1)),
                                       d5));
    }
}

/* A^T on six vectors: o[0..3]. */
static inline void wino_at_16(const __m512 m[6], __m512 o[4]) {
    __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    __m512 s34 = _mm512_add_ps(m[3], m[4]), d34 = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), s34);
    o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
    o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12);
    o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), m[5]);
}

/* wino_out_generic for the 16 channels [c0, c0 + 16), all in out or all in out2, with at
 * most a ReLU epilogue (checked by the caller). */
static void wino_out_16(const wino_dst_t *d, const float *m, size_t mstride, int c0) {
    __m512 t[6][4], y[4][4];
    for (int a = 0; a < 6; a++) {
        __m512 r[6];
        for (int b = 0; b < 6; b++)
            r[b] = _mm512_loadu_ps(m + (size_t)(a * 6 + b) * mstride + c0);
        wino_at_16(r, t[a]);
    }
    for (int j = 0; j < 4; j++) {
        __m512 col[6], o[4];
        for (int a = 0; a < 6; a++)
            col[a] = t[a][j];
        wino_at_16(col, o);
        for (int i = 0; i < 4; i++)
            y[i][j] = o[i];
    }
    const int to_out = c0 < d->oc1;
    const __m512 beta = _mm512_set1_ps(d->beta), zero = _mm512_setzero_ps();
    __m512 sc = zero, bi = zero;
    const nn_wino_epi_t *epi = to_out ? d->epi : NULL;
    if (epi) {
        sc = _mm512_loadu_ps(epi->bn->merged_scale + c0);
        bi = _mm512_loadu_ps(epi->bn->merged_bias + c0);
    }
    for (int k = 0; k < d->npts; k++) {
        const size_t r = d->row[k];
        __m512 v = y[d->pt[k] / 4][d->pt[k] % 4];
        float *dst = to_out ? (d->out ? d->out + r * d->oc1 + c0 : NULL)
                            : d->out2 + r * d->oc2 + (c0 - d->oc1);
        if (dst) {
            if (d->beta != 0.0f) v = _mm512_fmadd_ps(beta, _mm512_loadu_ps(dst), v);
            _mm512_storeu_ps(dst, v);
        }
        if (epi) {
            float mk = epi->mask[r];
            __m512 e = zero;
            if (mk != 0.0f) {
                e = _mm512_fmadd_ps(v, sc, bi);
                if (epi->act == TG_ACT_RELU) e = _mm512_max_ps(e, zero);
                e = _mm512_mul_ps(e, _mm512_set1_ps(mk));
            }
            _mm512_storeu_ps(epi->out + r * d->oc1 + c0, e);
        }
    }
}
#endif

/* Input transform of tile t (all sub-kernels of wt): V[xi][tile][q*ic + i] = (B^T d_q B)[xi] for
 * channel i, d_q the 6x6 patch sub-kernel q sees: origin (4ty + 3qy - ky/2, 4tx + 3qx - kx/2),
 * which is (4ty - 1, 4tx - 1) for a 3x3 kernel. Points outside the tensor read zeros (>= ic
 * zero floats). vd: the tile's row of V (row stride k, xi stride vstride); tmp: (36, wmax).
 * Channels [0, vec_in) take the AVX-512 path, the rest the generic one. Shared by the forward
 * conv and the weight gradient. */
static void wino_input_tile(const nn_wino_t *wt, const float *in, int len, size_t t, int vec_in,
                            const float *zeros, float *vd, size_t vstride, float *tmp, int wmax) {
    const int ic = wt->ic;
    const int nsx = (wt->kx + 2) / 3, nsub = (wt->ky + 2) / 3 * nsx;
    const int py = wt->ky / 2, px = wt->kx / 2;
    const int nt = (len + 3) / 4;
    const size_t tps = (size_t)nt * nt, hw = (size_t)len * len;
    const size_t s = t / tps;
    const int ty = (int)(t % tps) / nt, tx = (int)(t % tps) % nt;
    const float *base = in + s * hw * ic;
    for (int q = 0; q < nsub; q++) {
        int oy = 4 * ty + 3 * (q / nsx) - py, ox = 4 * tx + 3 * (q % nsx) - px;
        const float *p[36];
        for (int a = 0; a < 6; a++)
            for (int b = 0; b < 6; b++) {
                int y = oy + a, x = ox + b;
                p[a * 6 + b] = (y >= 0 && y < len && x >= 0 && x < len)
                                   ? base + ((size_t)y * len + x) * ic
                                   : zeros;
            }
        float *vq = vd + (size_t)q * ic;
#ifdef __AVX512F__
        for (int cb = 0; cb < vec_in; cb += 16)
            wino_in_16(p, cb, vq, vstride);
#endif
        if (vec_in < ic) wino_in_generic(p, vec_in, ic, vq + vec_in, vstride, tmp, wmax);
    }
}

void nn__wino_conv_tiles(const nn_wino_t *wt, const float *in, int len, size_t t0, size_t t1,
                         float beta, float *out, float *out2, const nn_wino_epi_t *epi,
                         float *scratch) {
    const int ic = wt->ic, k = wt->k, oc = wt->oc, ocp = wt->ocp;
    const int icp = (ic + 15) / 16 * 16, kp = (k + 15) / 16 * 16;
    const int nt = (len + 3) / 4;
    const size_t tps = (size_t)nt * nt; /* tiles per sample */
    const size_t hw = (size_t)len * len;
    const int wmax = icp > ocp ? icp : ocp;
    float *v = scratch;                                                     /* (36, chunk, k) */
    const size_t vstride = (size_t)NN_WINO_CHUNK_TILES * k + WINO_XI_PAD;   /* xi block of V */
    const size_t mstride = (size_t)NN_WINO_CHUNK_TILES * ocp + WINO_XI_PAD; /* xi block of M */
    float *mm = v + 36 * ((size_t)NN_WINO_CHUNK_TILES * kp + WINO_XI_PAD);  /* (36, chunk, ocp) */
    float *tmp = mm + 36 * mstride;                                         /* (36, wmax) */
    float *zeros = tmp + (size_t)36 * wmax;                                 /* (ic) */
    float *obuf = zeros + icp;                                              /* (4, ocp) */
    memset(zeros, 0, sizeof(float) * (size_t)ic);
    wino_dst_t dst = {
        .out = out, .out2 = out2, .oc1 = wt->oc1, .oc2 = oc - wt->oc1, .beta = beta, .epi = epi};
    /* Channels [0, vec_in) / [0, vec_out) take the AVX-512 paths, the rest the generic one. */
    int vec_in = 0, vec_out = 0;
#ifdef __AVX512F__
    vec_in = ic / 16 * 16;
    if (wt->oc1 % 16 == 0 && (!epi || epi->act == TG_ACT_RELU || epi->act == TG_ACT_IDENTITY))
        vec_out = oc / 16 * 16;
#endif

    for (size_t c0 = t0; c0 < t1; c0 += NN_WINO_CHUNK_TILES) {
        const int nc = (int)(t1 - c0 < NN_WINO_CHUNK_TILES ? t1 - c0 : NN_WINO_CHUNK_TILES);
        /* Input transform of every tile of the chunk. */
        for (int tl = 0; tl < nc; tl++)
            wino_input_tile(wt, in, len, c0 + (size_t)tl, vec_in, zeros, v + (size_t)tl * k,
                            vstride, tmp, wmax);
        /* 36 GEMMs: M[xi] (nc, ocp) = V[xi] (nc, k) x U[xi] (k, ocp). */
        for (int xi = 0; xi < 36; xi++)
            wino_gemm(nc, k, ocp, v + (size_t)xi * vstride, wt->u + (size_t)xi * k * ocp,
                      mm + (size_t)xi * mstride);
        /* Output transform: Y = A^T M A, 4x4 points, clipped to the L x L tensor. */
        for (int tl = 0; tl < nc; tl++) {
            size_t t = c0 + (size_t)tl;
            size_t s = t / tps;
            int ty = (int)(t % tps) / nt, tx = (int)(t % tps) % nt;
            dst.npts = 0;
            for (int i = 0; i < 4 && 4 * ty + i < len; i++)
                for (int j = 0; j < 4 && 4 * tx + j < len; j++) {
                    dst.pt[dst.npts] = i * 4 + j;
                    dst.row[dst.npts++] = s * hw + (size_t)(4 * ty + i) * len + 4 * tx + j;
                }
            const float *m = mm + (size_t)tl * ocp;
#ifdef __AVX512F__
            for (int cb = 0; cb < vec_out; cb += 16)
                wino_out_16(&dst, m, mstride, cb);
#endif
            if (vec_out < oc) wino_out_generic(&dst, m, mstride, vec_out, oc, tmp, wmax, obuf, ocp);
        }
    }
}

/* ---- Training: weights packed per step, weight gradient ----------------------------------- */
/*
 * The trainer's weights change every step, so nn__wino_pack_w packs float weights into a
 * caller-owned buffer in O(36 k oc) vectorised work (~0.1 ms for 96 -> 96 channels), and can
 * pack the kernel of a layer's input gradient: dX of a "same" convolution is the "same"
 * convolution of dY with the kernel rotated 180 degrees and its channel roles swapped, so the
 * backward-data pass is nn__wino_conv_tiles on dY.
 *
 * Weight gradient: with Y = A^T [U (.) V] A summed over input channels and U = G g G^T,
 *   dU[xi] (k, oc) = sum over tiles of V[xi]^T (k, tiles) x dM[xi] (tiles, oc), dM = A dY A^T
 *   dg = G^T dU G  (per 3x3 sub-kernel; done once per layer, nn__wino_wgrad_finish)
 * dY is zero at a tile's points outside the tensor, so clipping matches the forward. The sum
 * over tiles is the GEMM (same register-blocked kernel, A read transposed: 4 input channels x
 * up to 96 output channels per step, accumulating into dU). */

/* C (R, NV*16) += A^T B over np rows of B: A(r, p) = A[p * lda + r], B (np, NV*16) row-major. */
static inline __attribute__((always_inline)) void
wino_kernel_tn(int R, int NV, int np, const float *restrict A, size_t lda, const float *restrict B,
               size_t ldb, float *restrict C, size_t ldc) {
    v16_t acc[4][6];
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NV; j++)
            acc[r][j] = V16_LOAD(C + (size_t)r * ldc + 16 * j);
    for (int p = 0; p < np; p++) {
        v16_t b[6];
        for (int j = 0; j < NV; j++)
            b[j] = V16_LOAD(B + (size_t)p * ldb + 16 * j);
        for (int r = 0; r < R; r++) {
            v16_t a = V16_BCAST(A[(size_t)p * lda + r]);
            for (int j = 0; j < NV; j++)
                acc[r][j] = V16_FMA(acc[r][j], a, b[j]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int j = 0; j < NV; j++)
            V16_STORE(C + (size_t)r * ldc + 16 * j, acc[r][j]);
}

#define WINO_KERNEL_TN_DEF(R, NV)                                                                  \
    static void wino_kernel_tn_##R##_##NV(int np, const float *A, size_t lda, const float *B,      \
                                          size_t ldb, float *C, size_t ldc) {                      \
        wino_kernel_tn(R, NV, np, A, lda, B, ldb, C, ldc);                                         \
    }
#define WINO_KERNEL_TN_ROW(NV)                                                                     \
    WINO_KERNEL_TN_DEF(1, NV)                                                                      \
    WINO_KERNEL_TN_DEF(2, NV) WINO_KERNEL_TN_DEF(3, NV) WINO_KERNEL_TN_DEF(4, NV)
WINO_KERNEL_TN_ROW(1)
WINO_KERNEL_TN_ROW(2)
WINO_KERNEL_TN_ROW(3)
WINO_KERNEL_TN_ROW(4)
WINO_KERNEL_TN_ROW(5)
WINO_KERNEL_TN_ROW(6)
#define WINO_KERNEL_TN_REF(NV)                                                                     \
    { wino_kernel_tn_1_##NV, wino_kernel_tn_2_##NV, wino_kernel_tn_3_##NV, wino_kernel_tn_4_##NV }
static const wino_kernel_fn wino_kernels_tn[6][4] = {
    WINO_KERNEL_TN_REF(1), WINO_KERNEL_TN_REF(2), WINO_KERNEL_TN_REF(3),
    WINO_KERNEL_TN_REF(4), WINO_KERNEL_TN_REF(5), WINO_KERNEL_TN_REF(6),
};

/* C (k, ocp) += A^T (k, np) B (np, ocp): A (np, k) and B (np, ocp) row-major, dense. */
static void wino_gemm_tn(int np, int k, int ocp, const float *A, const float *B, float *C) {
    for (int n0 = 0; n0 < ocp; n0 += 96) {
        int nv = (ocp - n0) / 16 < 6 ? (ocp - n0) / 16 : 6;
        for (int r0 = 0; r0 < k; r0 += 4) {
            int rr = k - r0 < 4 ? k - r0 : 4;
            wino_kernels_tn[nv - 1][rr - 1](np, A + r0, (size_t)k, B + n0, (size_t)ocp,
                                            C + (size_t)r0 * ocp + n0, (size_t)ocp);
        }
    }
}

int nn__wino_shape(nn_wino_t *wt, int ky, int kx, int ic, int oc) {
    memset(wt, 0, sizeof *wt);
    if (!wino_kernel_ok(ky) || !wino_kernel_ok(kx) || ic < 1 || oc < 1) return TG_EINVAL;
    wt->ky = ky;
    wt->kx = kx;
    wt->ic = ic;
    wt->k = (ky + 2) / 3 * ((kx + 2) / 3) * ic;
    wt->oc = oc;
    wt->oc1 = oc;
    wt->ocp = (oc + 15) / 16 * 16;
    return 0;
}

size_t nn__wino_u_floats(const nn_wino_t *wt) { return (size_t)36 * wt->k * wt->ocp; }

/* Block of output channels transformed together by nn__wino_pack_w. */
#define WINO_PACK_OB 64

void nn__wino_pack_w(nn_wino_t *wt, float *u, const float *w, int flip) {
    const int ic = wt->ic, oc = wt->oc, ocp = wt->ocp, kyy = wt->ky, kxx = wt->kx;
    const int nsx = (kxx + 2) / 3, nsub = (kyy + 2) / 3 * nsx;
    const size_t k = (size_t)wt->k;
    wt->u = u;
    for (int q = 0; q < nsub; q++)
        for (int i = 0; i < ic; i++)
            for (int o0 = 0; o0 < ocp; o0 += WINO_PACK_OB) {
                const int no = ocp - o0 < WINO_PACK_OB ? ocp - o0 : WINO_PACK_OB;
                double g[3][3][WINO_PACK_OB], t[6][3][WINO_PACK_OB];
                for (int y = 0; y < 3; y++)
                    for (int x = 0; x < 3; x++) {
                        const int ty = 3 * (q / nsx) + y, tx = 3 * (q % nsx) + x;
                        for (int o = 0; o < no; o++) {
                            const int oo = o0 + o;
                            double v = 0.0;
                            if (ty < kyy && tx < kxx && oo < oc) {
                                /* flip: w is the forward layer (ky, kx, oc, ic), tap rotated. */
                                size_t tap = (size_t)(kyy - 1 - ty) * kxx + (kxx - 1 - tx);
                                v = flip ? w[(tap * oc + oo) * ic + i]
                                         : w[((size_t)(ty * kxx + tx) * ic + i) * oc + oo];
                            }
                            g[y][x][o] = v;
                        }
                    }
                for (int a = 0; a < 6; a++) /* t = G g */
                    for (int x = 0; x < 3; x++)
                        for (int o = 0; o < no; o++)
                            t[a][x][o] = wino_g[a][0] * g[0][x][o] + wino_g[a][1] * g[1][x][o] +
                                         wino_g[a][2] * g[2][x][o];
                for (int a = 0; a < 6; a++) /* U = t G^T */
                    for (int b = 0; b < 6; b++) {
                        float *dst = u + ((size_t)(a * 6 + b) * k + (size_t)q * ic + i) * ocp + o0;
                        for (int o = 0; o < no; o++)
                            dst[o] = (float)(t[a][0][o] * wino_g[b][0] + t[a][1][o] * wino_g[b][1] +
                                             t[a][2][o] * wino_g[b][2]);
                    }
            }
}

/* out[k] = (A dY)[k], k < 6, for four channel vectors y0..y3 (restrict: see wino_bt). A is
 * the transpose of the 4x6 matrix wino_at applies. */
static __attribute__((noinline)) void wino_a(const float *restrict y0, const float *restrict y1,
                                             const float *restrict y2, const float *restrict y3,
                                             float *restrict o0, float *restrict o1,
                                             float *restrict o2, float *restrict o3,
                                             float *restrict o4, float *restrict o5, int c) {
    for (int i = 0; i < c; i++) {
        float s02 = y0[i] + y2[i], s13 = y1[i] + y3[i];
        float q02 = y0[i] + 4.0f * y2[i], q13 = 2.0f * y1[i] + 8.0f * y3[i];
        o0[i] = y0[i];
        o1[i] = s02 + s13;
        o2[i] = s02 - s13;
        o3[i] = q02 + q13;
        o4[i] = q02 - q13;
        o5[i] = y3[i];
    }
}

void nn__wino_wgrad_tiles(const nn_wino_t *wt, const float *in, const float *dout, int len,
                          size_t t0, size_t t1, float *du, float *scratch) {
    const int ic = wt->ic, k = wt->k, oc = wt->oc, ocp = wt->ocp;
    const int icp = (ic + 15) / 16 * 16, kp = (k + 15) / 16 * 16;
    const int nt = (len + 3) / 4;
    const size_t tps = (size_t)nt * nt, hw = (size_t)len * len;
    const int wmax = icp > ocp ? icp : ocp;
    /* Scratch as nn__wino_conv_tiles: V (36, chunk, k), M (36, chunk, ocp), tmp, zeros. */
    float *v = scratch;
    const size_t vstride = (size_t)NN_WINO_CHUNK_TILES * k + WINO_XI_PAD;
    const size_t mstride = (size_t)NN_WINO_CHUNK_TILES * ocp + WINO_XI_PAD;
    float *mm = v + 36 * ((size_t)NN_WINO_CHUNK_TILES * kp + WINO_XI_PAD);
    float *tmp = mm + 36 * mstride;
    float *zeros = tmp + (size_t)36 * wmax;
    memset(zeros, 0, sizeof(float) * (size_t)wmax);
    int vec_in = 0;
#ifdef __AVX512F__
    vec_in = ic / 16 * 16;
#endif
    for (size_t c0 = t0; c0 < t1; c0 += NN_WINO_CHUNK_TILES) {
        const int nc = (int)(t1 - c0 < NN_WINO_CHUNK_TILES ? t1 - c0 : NN_WINO_CHUNK_TILES);
        for (int tl = 0; tl < nc; tl++) {
            size_t t = c0 + (size_t)tl;
            size_t s = t / tps;
            int ty = (int)(t % tps) / nt, tx = (int)(t % tps) % nt;
            /* V, exactly as the forward's input transform. */
            wino_input_tile(wt, in, len, t, vec_in, zeros, v + (size_t)tl * k, vstride, tmp, wmax);
            /* dM = A dY A^T: rows tmp[i][b] = (dY A^T)[i][b], then columns. Channels past oc
             * (up to ocp) are zero: the zero vector and zero padded dM columns. */
            const float *d[16];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    int y = 4 * ty + i, x = 4 * tx + j;
                    d[i * 4 + j] =
                        (y < len && x < len) ? dout + (s * hw + (size_t)y * len + x) * oc : zeros;
                }
            for (int i = 0; i < 4; i++) {
                float *tr = tmp + (size_t)i * 6 * wmax;
                wino_a(d[i * 4], d[i * 4 + 1], d[i * 4 + 2], d[i * 4 + 3], tr, tr + wmax,
                       tr + 2 * wmax, tr + 3 * wmax, tr + 4 * wmax, tr + 5 * wmax, oc);
            }
            float *md = mm + (size_t)tl * ocp;
            for (int b = 0; b < 6; b++) {
                const float *tc = tmp + (size_t)b * wmax;
                const size_t rs = (size_t)6 * wmax, ms = 6 * mstride;
                float *o = md + (size_t)b * mstride;
                wino_a(tc, tc + rs, tc + 2 * rs, tc + 3 * rs, o, o + ms, o + 2 * ms, o + 3 * ms,
                       o + 4 * ms, o + 5 * ms, oc);
            }
            if (ocp > oc)
                for (int xi = 0; xi < 36; xi++)
                    memset(md + (size_t)xi * mstride + oc, 0, sizeof(float) * (size_t)(ocp - oc));
        }
        /* dU[xi] (k, ocp) += V[xi]^T (k, nc) x dM[xi] (nc, ocp). */
        for (int xi = 0; xi < 36; xi++)
            wino_gemm_tn(nc, k, ocp, v + (size_t)xi * vstride, mm + (size_t)xi * mstride,
                         du + (size_t)xi * k * ocp);
    }
}

void nn__wino_wgrad_finish(const nn_wino_t *wt, const float *du, float *dw) {
    const int ic = wt->ic, oc = wt->oc, ocp = wt->ocp, kyy = wt->ky, kxx = wt->kx;
    const int nsx = (kxx + 2) / 3, nsub = (kyy + 2) / 3 * nsx;
    const size_t k = (size_t)wt->k;
    for (int q = 0; q < nsub; q++)
        for (int i = 0; i < ic; i++)
            for (int o0 = 0; o0 < oc; o0 += WINO_PACK_OB) {
                const int no = oc - o0 < WINO_PACK_OB ? oc - o0 : WINO_PACK_OB;
                const float *src = du + ((size_t)q * ic + i) * ocp + o0; /* xi = 0 */
                double r[6][3][WINO_PACK_OB];
                for (int a = 0; a < 6; a++) /* r = dU G: r[a][x] = sum_b dU[a][b] G[b][x] */
                    for (int x = 0; x < 3; x++) {
                        for (int o = 0; o < no; o++)
                            r[a][x][o] = 0.0;
                        for (int b = 0; b < 6; b++) {
                            const double gb = wino_g[b][x];
                            if (gb == 0.0) continue;
                            const float *s = src + (size_t)(a * 6 + b) * k * ocp;
                            for (int o = 0; o < no; o++)
                                r[a][x][o] += gb * s[o];
                        }
                    }
                for (int y = 0; y < 3; y++) /* dg = G^T r */
                    for (int x = 0; x < 3; x++) {
                        const int ty = 3 * (q / nsx) + y, tx = 3 * (q % nsx) + x;
                        if (ty >= kyy || tx >= kxx) continue;
                        float *dst = dw + ((size_t)(ty * kxx + tx) * ic + i) * oc + o0;
                        for (int o = 0; o < no; o++) {
                            double acc = 0.0;
                            for (int a = 0; a < 6; a++)
                                acc += wino_g[a][y] * r[a][x][o];
                            dst[o] += (float)acc;
                        }
                    }
            }
}
