/* net.c: forward (saving activations), loss and backward of the whole training net for one
 * slice of a batch, on one thread.
 *
 * Architecture: algorithms.md §4.2-4.5 (KataGo model_pytorch.py, fixup, ReLU, version 15).
 * Every activation the backward needs is kept in the workspace, sized once for max_n samples
 * (one allocation, carved into named views), so a step never allocates. Gradients of all
 * parameters are accumulated into the caller's buffer (the worker's own), never shared.
 *
 * Saved per block: input X[b], A = act(N1(X)), H = conv1 output (+ gpool bias), Bv =
 * act(N2(H)); gpool blocks also G = conv1g(A), GG = act(Ng(G)), the pooled vector and the max
 * positions. The backward walks the same order in reverse with three scratch tensors.
 *
 * Convolutions with k > 1 (the trunk's 3x3 and the input layer, 3x3 in every config) run by
 * Winograd in all three passes (train__conv_*_wino; its packed weights, dU and transform
 * scratch are carved here too); train__net_set_conv_ref or TENGEN_TRAIN_CONV=im2col selects the
 * im2col reference instead. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

typedef struct net_block_s {
    float *A, *H, *Bv, *G, *GG, *P;
    int *arg;
} net_block_t;

struct train_net_s {
    int max_n, hw, len, S, maxc, exact_grad, conv_ref;
    train_wino_t wino; /* Winograd buffers for the k > 1 convolutions (unless conv_ref) */
    void *block;
    float *X[TRAIN_MAX_BLOCKS + 1];
    net_block_t blk[TRAIN_MAX_BLOCKS];
    float *T;
    /* policy head */
    float *PP, *PA, *PG, *PGG, *PQ, *PL, *PH, *PASS;
    int *PARG;
    /* value head */
    float *VV, *V, *VP, *VH, *VAL, *MISC, *MM, *OWN;
    float *S2, *U, *Z, *LSZ, *MIX, *LW, *LOGP, *dU;
    /* output gradients */
    float *gPL, *gPASS, *gVAL, *gMISC, *gMM, *gOWN, *gLOGP;
    /* scratch */
    float *dX, *dA, *dR, *dG, *vec1, *vec2, *vec3, *conv_scratch, *loss_scratch;
};

/* Two-pass carving of one allocation: pass 0 sums sizes, pass 1 assigns pointers. */
typedef struct carve_s {
    char *base;
    size_t used;
} carve_t;

static void *carve(carve_t *c, size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    void *p = c->base ? c->base + c->used : NULL;
    c->used += bytes;
    return p;
}
#define CF(c, n) ((float *)carve((c), sizeof(float) * (size_t)(n)))
#define CI(c, n) ((int *)carve((c), sizeof(int) * (size_t)(n)))

static int imax(int a, int b) { return a > b ? a : b; }

static void net_carve(train_net_t *net, const train_model_t *m, carve_t *c) {
    const train_config_t *cf = &m->cfg;
    const size_t n = (size_t)net->max_n, rows = n * net->hw;
    const int C = cf->c_trunk, G = cf->c_gpool, S = net->S;
    for (int b = 0; b <= cf->num_blocks; b++)
        net->X[b] = CF(c, rows * C);
    for (int b = 0; b < cf->num_blocks; b++) {
        const train_block_t *bk = &m->blocks[b];
        net_block_t *nb = &net->blk[b];
        nb->A = CF(c, rows * C);
        nb->H = CF(c, rows * bk->c_reg);
        nb->Bv = CF(c, rows * bk->c_reg);
        if (bk->gpool) {
            nb->G = CF(c, rows * G);
            nb->GG = CF(c, rows * G);
            nb->P = CF(c, n * 3 * G);
            nb->arg = CI(c, n * G);
        }
    }
    net->T = CF(c, rows * C);
    const int P1 = cf->c_p1, G1 = cf->c_g1, V1 = cf->c_v1, V2 = cf->c_v2, SB = cf->c_sb,
              K = cf->num_sb, NP = TRAIN_POLICY_OUTPUTS;
    net->PP = CF(c, rows * P1);
    net->PA = CF(c, rows * P1);
    net->PG = CF(c, rows * G1);
    net->PGG = CF(c, rows * G1);
    net->PQ = CF(c, n * 3 * G1);
    net->PARG = CI(c, n * G1);
    net->PL = CF(c, rows * NP);
    net->PH = CF(c, n * P1);
    net->PASS = CF(c, n * NP);
    net->VV = CF(c, rows * V1);
    net->V = CF(c, rows * V1);
    net->VP = CF(c, n * 3 * V1);
    net->VH = CF(c, n * V2);
    net->VAL = CF(c, n * 3);
    net->MISC = CF(c, n * TRAIN_MISC_OUTPUTS);
    net->MM = CF(c, n * TRAIN_MOREMISC_OUTPUTS);
    net->OWN = CF(c, rows);
    net->S2 = CF(c, n * SB);
    net->U = CF(c, n * S * SB);
    net->dU = CF(c, n * S * SB);
    net->Z = CF(c, n * S * K);
    net->LSZ = CF(c, n * S * K);
    net->MIX = CF(c, n * K);
    net->LW = CF(c, n * K);
    net->LOGP = CF(c, n * S);
    net->gPL = CF(c, rows * NP);
    net->gPASS = CF(c, n * NP);
    net->gVAL = CF(c, n * 3);
    net->gMISC = CF(c, n * TRAIN_MISC_OUTPUTS);
    net->gMM = CF(c, n * TRAIN_MOREMISC_OUTPUTS);
    net->gOWN = CF(c, rows);
    net->gLOGP = CF(c, n * S);
    net->dX = CF(c, rows * C);
    net->dA = CF(c, rows * net->maxc);
    net->dR = CF(c, rows * net->maxc);
    net->dG = CF(c, rows * net->maxc);
    const size_t vlen =
        n * (size_t)imax(imax(3 * net->maxc, cf->c_v2 + cf->c_sb), imax(3 * V1 + 3 * G1, 64));
    net->vec1 = CF(c, vlen);
    net->vec2 = CF(c, vlen);
    net->vec3 = CF(c, vlen);
    const int k0 = cf->initial_kernel;
    int kmax = imax(k0 * k0 * TRAIN_SPATIAL_IN, 9 * imax(C, cf->c_mid));
    net->conv_scratch = CF(c, 2 * (size_t)TRAIN_CONV_CHUNK * kmax);
    net->loss_scratch = CF(c, 4 * (size_t)(net->hw + 1) + 2 * (size_t)S);
    size_t uf = 0, sf = 0;
    train__wino_need(k0, TRAIN_SPATIAL_IN, C, &uf, &sf);
    for (int b = 0; b < cf->num_blocks; b++) {
        const train_block_t *bk = &m->blocks[b];
        train__wino_need(3, C, bk->c_reg, &uf, &sf);
        if (bk->gpool) train__wino_need(3, C, G, &uf, &sf);
    }
    net->wino.u_floats = uf;
    net->wino.u = CF(c, uf);
    net->wino.du = CF(c, uf);
    net->wino.scratch = CF(c, sf);
}

int train__net_create(train_net_t **out, const train_model_t *m, int max_n) {
    *out = NULL;
    train_net_t *net = calloc(1, sizeof(*net));
    if (!net) return TG_ENOMEM;
    const train_config_t *cf = &m->cfg;
    if (cf->num_sb > 64) {
        free(net);
        return TG_EINVAL;
    }
    net->max_n = max_n;
    net->len = m->pos_len;
    net->hw = m->pos_len * m->pos_len;
    net->S = m->score_len;
    net->maxc = imax(imax(cf->c_trunk, cf->c_mid), imax(imax(cf->c_p1, cf->c_g1), cf->c_v1));
    carve_t c = {.base = NULL, .used = 0};
    net_carve(net, m, &c);
    net->block = aligned_alloc(64, c.used);
    if (!net->block) {
        free(net);
        return TG_ENOMEM;
    }
    memset(net->block, 0, c.used);
    const char *conv = getenv("TENGEN_TRAIN_CONV"); /* "im2col": the reference path (A/B) */
    net->conv_ref = conv && strcmp(conv, "im2col") == 0;
    carve_t c2 = {.base = net->block, .used = 0};
    net_carve(net, m, &c2);
    *out = net;
    return 0;
}

void train__net_destroy(train_net_t *net) {
    if (!net) return;
    free(net->block);
    free(net);
}

void train__net_set_exact_grad(train_net_t *net, int exact) { net->exact_grad = exact; }
void train__net_set_conv_ref(train_net_t *net, int ref) { net->conv_ref = ref; }

const float *train__net_policy(const train_net_t *net, int i) {
    return net->PL + (size_t)i * net->hw * TRAIN_POLICY_OUTPUTS;
}
const float *train__net_pass(const train_net_t *net, int i) {
    return net->PASS + (size_t)i * TRAIN_POLICY_OUTPUTS;
}

/* ---- small helpers ---------------------------------------------------------------------- */

/* y (n, c) = x (n, ic) W (ic, c) [+ b]. */
static void linear_fwd(const float *P, train_layer_t w, const train_layer_t *b, const float *x,
                       int n, float *y) {
    train__gemm(0, 0, n, w.oc, w.ic, x, w.ic, P + w.off, w.oc, 0.0f, y, w.oc);
    if (b)
        for (int s = 0; s < n; s++)
            for (int o = 0; o < w.oc; o++)
                y[(size_t)s * w.oc + o] += P[b->off + o];
}

/* Backward of linear_fwd: dW += x^T dy, db += sum dy, dx = dy W^T (added when acc). */
static void linear_bwd(const float *P, float *Gr, train_layer_t w, const train_layer_t *b,
                       const float *x, const float *dy, int n, float *dx, int acc) {
    train__gemm(1, 0, w.ic, w.oc, n, x, w.ic, dy, w.oc, 1.0f, Gr + w.off, w.oc);
    if (b)
        for (int s = 0; s < n; s++)
            for (int o = 0; o < w.oc; o++)
                Gr[b->off + o] += dy[(size_t)s * w.oc + o];
    if (dx)
        train__gemm(0, 1, n, w.ic, w.oc, dy, w.oc, P + w.off, w.oc, acc ? 1.0f : 0.0f, dx, w.ic);
}

/* x (n, hw, c) += v (n, c) broadcast over points. */
static void add_bcast(float *x, const float *v, int n, int hw, int c) {
    for (int s = 0; s < n; s++)
        for (int p = 0; p < hw; p++) {
            float *r = x + ((size_t)s * hw + p) * c;
            const float *vs = v + (size_t)s * c;
            for (int i = 0; i < c; i++)
                r[i] += vs[i];
        }
}

/* v (n, c) = sum over points of x (n, hw, c). */
static void sum_points(const float *x, int n, int hw, int c, float *v) {
    memset(v, 0, sizeof(float) * (size_t)n * c);
    for (int s = 0; s < n; s++)
        for (int p = 0; p < hw; p++) {
            const float *r = x + ((size_t)s * hw + p) * c;
            float *vs = v + (size_t)s * c;
            for (int i = 0; i < c; i++)
                vs[i] += r[i];
        }
}

static void relu_inplace(float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
static void relu_bwd_inplace(const float *y, float *dy, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!(y[i] > 0.0f)) dy[i] = 0.0f;
}

/* A k x k convolution forward / backward of the net: Winograd for k > 1 unless conv_ref. */
static void net_conv_fwd(const train_net_t *net, const float *w, int k, int ic, int oc,
                         const float *in, int n, float *out) {
    if (k > 1 && !net->conv_ref)
        train__conv_fwd_wino(&net->wino, w, k, ic, oc, in, n, net->len, out);
    else
        train__conv_fwd(w, k, ic, oc, in, n, net->len, out, net->conv_scratch);
}

static void net_conv_bwd(const train_net_t *net, const float *w, int k, int ic, int oc,
                         const float *in, int n, const float *dout, float *dw, float *din,
                         int din_accumulate) {
    if (k > 1 && !net->conv_ref)
        train__conv_bwd_wino(&net->wino, w, k, ic, oc, in, n, net->len, dout, dw, din,
                             din_accumulate);
    else
        train__conv_bwd(w, k, ic, oc, in, n, net->len, dout, dw, din, din_accumulate,
                        net->conv_scratch);
}

/* ---- forward ---------------------------------------------------------------------------- */

static void net_forward(train_net_t *net, const train_model_t *m, const train_slice_t *s) {
    const float *P = m->params;
    const train_config_t *cf = &m->cfg;
    const int n = s->n, hw = net->hw, len = net->len, C = cf->c_trunk, G = cf->c_gpool;
    const size_t rows = (size_t)n * hw;
    float *cs = net->conv_scratch;

    net_conv_fwd(net, P + m->conv_spatial.off, m->conv_spatial.k, TRAIN_SPATIAL_IN, C, s->spatial,
                 n, net->X[0]);
    linear_fwd(P, m->linear_global, NULL, s->global, n, net->vec1);
    add_bcast(net->X[0], net->vec1, n, hw, C);

    for (int b = 0; b < cf->num_blocks; b++) {
        const train_block_t *bk = &m->blocks[b];
        net_block_t *nb = &net->blk[b];
        const int R = bk->c_reg;
        train__normact_fwd(net->X[b], rows, C, NULL, P + bk->beta1.off, s->mask, nb->A);
        net_conv_fwd(net, P + bk->conv1.off, 3, C, R, nb->A, n, nb->H);
        if (bk->gpool) {
            net_conv_fwd(net, P + bk->conv1g.off, 3, C, G, nb->A, n, nb->G);
            train__normact_fwd(nb->G, rows, G, NULL, P + bk->betag.off, s->mask, nb->GG);
            for (int i = 0; i < n; i++)
                train__gpool_fwd(nb->GG + (size_t)i * hw * G, s->mask + (size_t)i * hw, hw, G,
                                 s->mask_sum[i], nb->P + (size_t)i * 3 * G,
                                 nb->arg + (size_t)i * G);
            linear_fwd(P, bk->linear_g, NULL, nb->P, n, net->vec1);
            add_bcast(nb->H, net->vec1, n, hw, R);
        }
        train__normact_fwd(nb->H, rows, R, P + bk->gamma2.off, P + bk->beta2.off, s->mask, nb->Bv);
        net_conv_fwd(net, P + bk->conv2.off, 3, R, C, nb->Bv, n, net->X[b + 1]);
        const float *xi = net->X[b];
        float *xo = net->X[b + 1];
        for (size_t i = 0; i < rows * C; i++)
            xo[i] += xi[i];
    }
    train__normact_fwd(net->X[cf->num_blocks], rows, C, NULL, P + m->beta_final.off, s->mask,
                       net->T);

    /* Policy head. */
    const int P1 = cf->c_p1, G1 = cf->c_g1, NP = TRAIN_POLICY_OUTPUTS;
    train__conv_fwd(P + m->p_conv1p.off, 1, C, P1, net->T, n, len, net->PP, cs);
    train__conv_fwd(P + m->p_conv1g.off, 1, C, G1, net->T, n, len, net->PG, cs);
    train__normact_fwd(net->PG, rows, G1, NULL, P + m->p_biasg.off, s->mask, net->PGG);
    for (int i = 0; i < n; i++)
        train__gpool_fwd(net->PGG + (size_t)i * hw * G1, s->mask + (size_t)i * hw, hw, G1,
                         s->mask_sum[i], net->PQ + (size_t)i * 3 * G1, net->PARG + (size_t)i * G1);
    linear_fwd(P, m->p_linear_g, NULL, net->PQ, n, net->vec1);
    add_bcast(net->PP, net->vec1, n, hw, P1);
    train__normact_fwd(net->PP, rows, P1, NULL, P + m->p_bias2.off, s->mask, net->PA);
    train__conv_fwd(P + m->p_conv2p.off, 1, P1, NP, net->PA, n, len, net->PL, cs);
    linear_fwd(P, m->p_linear_pass, &m->p_linear_pass_bias, net->PQ, n, net->PH);
    relu_inplace(net->PH, (size_t)n * P1);
    linear_fwd(P, m->p_linear_pass2, NULL, net->PH, n, net->PASS);

    /* Value head. */
    const int V1 = cf->c_v1, V2 = cf->c_v2, SB = cf->c_sb, K = cf->num_sb, S = net->S;
    train__conv_fwd(P + m->v_conv1.off, 1, C, V1, net->T, n, len, net->VV, cs);
    train__normact_fwd(net->VV, rows, V1, NULL, P + m->v_bias1.off, s->mask, net->V);
    for (int i = 0; i < n; i++)
        train__vpool_fwd(net->V + (size_t)i * hw * V1, hw, V1, s->mask_sum[i],
                         net->VP + (size_t)i * 3 * V1);
    linear_fwd(P, m->v_linear2, &m->v_bias2, net->VP, n, net->VH);
    relu_inplace(net->VH, (size_t)n * V2);
    linear_fwd(P, m->v_linear_value, &m->v_bias_value, net->VH, n, net->VAL);
    linear_fwd(P, m->v_linear_misc, &m->v_bias_misc, net->VH, n, net->MISC);
    linear_fwd(P, m->v_linear_moremisc, &m->v_bias_moremisc, net->VH, n, net->MM);
    train__conv_fwd(P + m->v_conv_own.off, 1, V1, 1, net->V, n, len, net->OWN, cs);
    for (size_t r = 0; r < rows; r++)
        net->OWN[r] *= s->mask[r];

    /* Score belief. */
    linear_fwd(P, m->s_linear2, &m->s_bias2, net->VP, n, net->S2);
    const float *woff = P + m->s_off.off, *wpar = P + m->s_par.off;
    for (int i = 0; i < n; i++) {
        const float kp = s->global[(size_t)i * TRAIN_GLOBAL_IN + TRAIN_GLOBAL_IN - 1];
        for (int b = 0; b < S; b++) {
            const float off = train__score_offset(b, S), par = train__score_parity(b, S) * kp;
            float *u = net->U + ((size_t)i * S + b) * SB;
            const float *s2 = net->S2 + (size_t)i * SB;
            for (int j = 0; j < SB; j++) {
                float v = s2[j] + off * woff[j] + par * wpar[j];
                u[j] = v > 0.0f ? v : 0.0f;
            }
        }
    }
    linear_fwd(P, m->s_linear3, &m->s_bias3, net->U, n * S, net->Z);
    linear_fwd(P, m->s_mix, &m->s_bias_mix, net->VP, n, net->MIX);
    for (int i = 0; i < n; i++) {
        float *mix = net->MIX + (size_t)i * K, *lw = net->LW + (size_t)i * K;
        double mx = -1e300, z = 0.0;
        for (int k = 0; k < K; k++)
            mx = fmax(mx, mix[k]);
        for (int k = 0; k < K; k++)
            z += exp(mix[k] - mx);
        for (int k = 0; k < K; k++)
            lw[k] = (float)(mix[k] - mx - log(z));
        const float *zz = net->Z + (size_t)i * S * K;
        float *lsz = net->LSZ + (size_t)i * S * K;
        for (int k = 0; k < K; k++) {
            double m2 = -1e300, z2 = 0.0;
            for (int b = 0; b < S; b++)
                m2 = fmax(m2, zz[(size_t)b * K + k]);
            for (int b = 0; b < S; b++)
                z2 += exp(zz[(size_t)b * K + k] - m2);
            const double l = m2 + log(z2);
            for (int b = 0; b < S; b++)
                lsz[(size_t)b * K + k] = (float)(zz[(size_t)b * K + k] - l);
        }
        float *logp = net->LOGP + (size_t)i * S;
        for (int b = 0; b < S; b++) {
            double m3 = -1e300, z3 = 0.0;
            for (int k = 0; k < K; k++)
                m3 = fmax(m3, lsz[(size_t)b * K + k] + lw[k]);
            for (int k = 0; k < K; k++)
                z3 += exp(lsz[(size_t)b * K + k] + lw[k] - m3);
            logp[b] = (float)(m3 + log(z3));
        }
    }
}

/* ---- loss ------------------------------------------------------------------------------- */

static void net_loss(train_net_t *net, const train_model_t *m, const train_slice_t *s,
                     double *loss) {
    const int hw = net->hw, S = net->S, NP = TRAIN_POLICY_OUTPUTS;
    for (int i = 0; i < s->n; i++) {
        train_outputs_t o = {.hw = hw,
                             .score_len = S,
                             .policy = net->PL + (size_t)i * hw * NP,
                             .pass = net->PASS + (size_t)i * NP,
                             .value = net->VAL + (size_t)i * 3,
                             .misc = net->MISC + (size_t)i * TRAIN_MISC_OUTPUTS,
                             .moremisc = net->MM + (size_t)i * TRAIN_MOREMISC_OUTPUTS,
                             .own = net->OWN + (size_t)i * hw,
                             .score_logp = net->LOGP + (size_t)i * S};
        train_outputs_t g = {.hw = hw,
                             .score_len = S,
                             .policy = net->gPL + (size_t)i * hw * NP,
                             .pass = net->gPASS + (size_t)i * NP,
                             .value = net->gVAL + (size_t)i * 3,
                             .misc = net->gMISC + (size_t)i * TRAIN_MISC_OUTPUTS,
                             .moremisc = net->gMM + (size_t)i * TRAIN_MOREMISC_OUTPUTS,
                             .own = net->gOWN + (size_t)i * hw,
                             .score_logp = net->gLOGP + (size_t)i * S};
        train__loss_sample(
            &o, &g, s->mask + (size_t)i * hw, s->mask_sum[i], s->policy + (size_t)i * 2 * (hw + 1),
            s->gtargets + (size_t)i * TRAINROWS_GLOBAL_TARGETS, s->score + (size_t)i * S,
            s->owner + (size_t)i * hw, net->exact_grad, loss, net->loss_scratch);
    }
    (void)m;
}

/* ---- backward --------------------------------------------------------------------------- */

static void net_backward(train_net_t *net, const train_model_t *m, const train_slice_t *s,
                         float *Gr) {
    const float *P = m->params;
    const train_config_t *cf = &m->cfg;
    const int n = s->n, hw = net->hw, len = net->len, C = cf->c_trunk, G = cf->c_gpool;
    const size_t rows = (size_t)n * hw;
    float *cs = net->conv_scratch;
    const int P1 = cf->c_p1, G1 = cf->c_g1, NP = TRAIN_POLICY_OUTPUTS;
    const int V1 = cf->c_v1, V2 = cf->c_v2, SB = cf->c_sb, K = cf->num_sb, S = net->S;
    float *dVP = net->vec3; /* (n, 3 V1) */

    /* Score belief: Z's buffer is reused for dZ. */
    float *dMIX = net->vec1, *dS2 = net->vec2;
    for (int i = 0; i < n; i++) {
        const float *lsz = net->LSZ + (size_t)i * S * K, *lw = net->LW + (size_t)i * K;
        const float *logp = net->LOGP + (size_t)i * S, *g = net->gLOGP + (size_t)i * S;
        float *dz = net->Z + (size_t)i * S * K;
        double dlw[64] = {0};
        for (int b = 0; b < S; b++)
            for (int k = 0; k < K; k++) {
                double a = g[b] * exp(lsz[(size_t)b * K + k] + lw[k] - logp[b]);
                dz[(size_t)b * K + k] = (float)a;
                dlw[k] += a;
            }
        for (int b = 0; b < S; b++)
            for (int k = 0; k < K; k++)
                dz[(size_t)b * K + k] -= (float)(exp(lsz[(size_t)b * K + k]) * dlw[k]);
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += dlw[k];
        for (int k = 0; k < K; k++)
            dMIX[(size_t)i * K + k] = (float)(dlw[k] - exp(lw[k]) * sum);
    }
    linear_bwd(P, Gr, m->s_linear3, &m->s_bias3, net->U, net->Z, n * S, net->dU, 0);
    relu_bwd_inplace(net->U, net->dU, (size_t)n * S * SB);
    {
        float *gwoff = Gr + m->s_off.off, *gwpar = Gr + m->s_par.off;
        memset(dS2, 0, sizeof(float) * (size_t)n * SB);
        for (int i = 0; i < n; i++) {
            const float kp = s->global[(size_t)i * TRAIN_GLOBAL_IN + TRAIN_GLOBAL_IN - 1];
            for (int b = 0; b < S; b++) {
                const float off = train__score_offset(b, S), par = train__score_parity(b, S) * kp;
                const float *du = net->dU + ((size_t)i * S + b) * SB;
                for (int j = 0; j < SB; j++) {
                    dS2[(size_t)i * SB + j] += du[j];
                    gwoff[j] += du[j] * off;
                    gwpar[j] += du[j] * par;
                }
            }
        }
    }
    linear_bwd(P, Gr, m->s_linear2, &m->s_bias2, net->VP, dS2, n, dVP, 0);
    linear_bwd(P, Gr, m->s_mix, &m->s_bias_mix, net->VP, dMIX, n, dVP, 1);

    /* Value head. */
    float *dVH = net->vec1;
    linear_bwd(P, Gr, m->v_linear_value, &m->v_bias_value, net->VH, net->gVAL, n, dVH, 0);
    linear_bwd(P, Gr, m->v_linear_misc, &m->v_bias_misc, net->VH, net->gMISC, n, dVH, 1);
    linear_bwd(P, Gr, m->v_linear_moremisc, &m->v_bias_moremisc, net->VH, net->gMM, n, dVH, 1);
    relu_bwd_inplace(net->VH, dVH, (size_t)n * V2);
    linear_bwd(P, Gr, m->v_linear2, &m->v_bias2, net->VP, dVH, n, dVP, 1);
    float *dV = net->dA;
    for (size_t r = 0; r < rows; r++)
        net->gOWN[r] *= s->mask[r];
    train__conv_bwd(P + m->v_conv_own.off, 1, V1, 1, net->V, n, len, net->gOWN,
                    Gr + m->v_conv_own.off, dV, 0, cs);
    for (int i = 0; i < n; i++)
        train__vpool_bwd(dVP + (size_t)i * 3 * V1, s->mask + (size_t)i * hw, hw, V1, s->mask_sum[i],
                         dV + (size_t)i * hw * V1);
    train__normact_bwd(net->VV, net->V, dV, rows, V1, NULL, NULL, Gr + m->v_bias1.off, dV, 0);
    float *dT = net->dX;
    train__conv_bwd(P + m->v_conv1.off, 1, C, V1, net->T, n, len, dV, Gr + m->v_conv1.off, dT, 0,
                    cs);

    /* Policy head. */
    float *dPA = net->dR;
    train__conv_bwd(P + m->p_conv2p.off, 1, P1, NP, net->PA, n, len, net->gPL, Gr + m->p_conv2p.off,
                    dPA, 0, cs);
    train__normact_bwd(net->PP, net->PA, dPA, rows, P1, NULL, NULL, Gr + m->p_bias2.off, dPA, 0);
    float *dbias = net->vec1, *dPQ = net->vec2, *dPH = net->vec1;
    sum_points(dPA, n, hw, P1, dbias);
    linear_bwd(P, Gr, m->p_linear_g, NULL, net->PQ, dbias, n, dPQ, 0);
    linear_bwd(P, Gr, m->p_linear_pass2, NULL, net->PH, net->gPASS, n, dPH, 0);
    relu_bwd_inplace(net->PH, dPH, (size_t)n * P1);
    linear_bwd(P, Gr, m->p_linear_pass, &m->p_linear_pass_bias, net->PQ, dPH, n, dPQ, 1);
    float *dPG = net->dG;
    memset(dPG, 0, sizeof(float) * rows * G1);
    for (int i = 0; i < n; i++)
        train__gpool_bwd(dPQ + (size_t)i * 3 * G1, s->mask + (size_t)i * hw,
                         net->PARG + (size_t)i * G1, hw, G1, s->mask_sum[i],
                         dPG + (size_t)i * hw * G1);
    train__normact_bwd(net->PG, net->PGG, dPG, rows, G1, NULL, NULL, Gr + m->p_biasg.off, dPG, 0);
    train__conv_bwd(P + m->p_conv1p.off, 1, C, P1, net->T, n, len, dPA, Gr + m->p_conv1p.off, dT, 1,
                    cs);
    train__conv_bwd(P + m->p_conv1g.off, 1, C, G1, net->T, n, len, dPG, Gr + m->p_conv1g.off, dT, 1,
                    cs);

    /* Trunk tip: dX = d/dX[nb] (in place over dT). */
    float *dX = net->dX;
    train__normact_bwd(net->X[cf->num_blocks], net->T, dT, rows, C, NULL, NULL,
                       Gr + m->beta_final.off, dX, 0);

    /* Blocks in reverse: dX holds d/dX[b+1] and becomes d/dX[b]. */
    for (int b = cf->num_blocks - 1; b >= 0; b--) {
        const train_block_t *bk = &m->blocks[b];
        net_block_t *nb = &net->blk[b];
        const int R = bk->c_reg;
        float *dR = net->dR, *dA = net->dA, *dG = net->dG;
        net_conv_bwd(net, P + bk->conv2.off, 3, R, C, nb->Bv, n, dX, Gr + bk->conv2.off, dR, 0);
        train__normact_bwd(nb->H, nb->Bv, dR, rows, R, P + bk->gamma2.off, Gr + bk->gamma2.off,
                           Gr + bk->beta2.off, dR, 0);
        if (bk->gpool) {
            float *db = net->vec1, *dP = net->vec2;
            sum_points(dR, n, hw, R, db);
            linear_bwd(P, Gr, bk->linear_g, NULL, nb->P, db, n, dP, 0);
            memset(dG, 0, sizeof(float) * rows * G);
            for (int i = 0; i < n; i++)
                train__gpool_bwd(dP + (size_t)i * 3 * G, s->mask + (size_t)i * hw,
                                 nb->arg + (size_t)i * G, hw, G, s->mask_sum[i],
                                 dG + (size_t)i * hw * G);
            train__normact_bwd(nb->G, nb->GG, dG, rows, G, NULL, NULL, Gr + bk->betag.off, dG, 0);
        }
        net_conv_bwd(net, P + bk->conv1.off, 3, C, R, nb->A, n, dR, Gr + bk->conv1.off, dA, 0);
        if (bk->gpool)
            net_conv_bwd(net, P + bk->conv1g.off, 3, C, G, nb->A, n, dG, Gr + bk->conv1g.off, dA,
                         1);
        train__normact_bwd(net->X[b], nb->A, dA, rows, C, NULL, NULL, Gr + bk->beta1.off, dX, 1);
    }

    /* Input layers. */
    float *dgv = net->vec1;
    sum_points(dX, n, hw, C, dgv);
    linear_bwd(P, Gr, m->linear_global, NULL, s->global, dgv, n, NULL, 0);
    net_conv_bwd(net, P + m->conv_spatial.off, m->conv_spatial.k, TRAIN_SPATIAL_IN, C, s->spatial,
                 n, dX, Gr + m->conv_spatial.off, NULL, 0);
}

void train__net_run(train_net_t *net, const train_model_t *m, const train_slice_t *s, float *grads,
                    double *loss) {
    TG_ASSERT(s->n >= 1 && s->n <= net->max_n);
    net_forward(net, m, s);
    net_loss(net, m, s, loss);
    net_backward(net, m, s, grads);
}

void train__net_forward_loss(train_net_t *net, const train_model_t *m, const train_slice_t *s,
                             double *loss) {
    TG_ASSERT(s->n >= 1 && s->n <= net->max_n);
    net_forward(net, m, s);
    net_loss(net, m, s, loss);
}
