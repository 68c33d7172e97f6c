/* train_infer.c: inference forward of the trainer's model (no targets, no saved activations)
 * and checkpoint-header inspection, for the exporter and `tengen export`.
 *
 * The forward follows net.c's forward step by step with the same kernels (conv, fixup
 * norm + ReLU + mask, KataGo pools, GEMM), so its outputs are the trainer's outputs up to
 * float rounding; tests/export compares them with net.c's own policy outputs. Workspace: six
 * (n*L*L, max channels) tensors plus head vectors, one allocation per call.
 *
 * The checkpoint header is read through train_internal.h's train_ckpt_header_t (format "TGCK",
 * version 2, or the shorter version 1 header), the same definition trainer.c writes;
 * trainer_load then re-checks magic, version, config, size and checksum. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_infer.h"
#include "train/train_internal.h"

static int imax(int a, int b) { return a > b ? a : b; }

/* y (n, oc) = x (n, ic) W (ic, oc) [+ b]. */
static void infer_linear(const float *P, train_layer_t w, const train_layer_t *b, const float *x,
                         int n, float *y) {
    train__gemm(0, 0, n, w.oc, w.ic, x, w.ic, P + w.off, w.oc, 0.0f, y, w.oc);
    if (b)
        for (int s = 0; s < n; s++)
            for (int o = 0; o < w.oc; o++)
                y[(size_t)s * w.oc + o] += P[b->off + o];
}

/* x (n, hw, c) += v (n, c) on every point. */
static void infer_add_bcast(float *x, const float *v, int n, int hw, int c) {
    for (int s = 0; s < n; s++)
        for (int p = 0; p < hw; p++) {
            float *r = x + ((size_t)s * hw + p) * c;
            const float *vs = v + (size_t)s * c;
            for (int i = 0; i < c; i++)
                r[i] += vs[i];
        }
}

static void infer_relu(float *x, size_t count) {
    for (size_t i = 0; i < count; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* Global pool of every sample: in (n, hw, c) -> out (n, 3c). */
static void infer_gpool(const float *in, const float *mask, const float *mask_sum, int n, int hw,
                        int c, float *out, int *argmax) {
    for (int i = 0; i < n; i++)
        train__gpool_fwd(in + (size_t)i * hw * c, mask + (size_t)i * hw, hw, c, mask_sum[i],
                         out + (size_t)i * 3 * c, argmax);
}

int train_infer_forward(const train_model_t *m, int n, int len, const float *spatial,
                        const float *global, train_infer_out_t *out, tg_err_t *err) {
    if (n < 1 || len < 1 || len > TRAINROWS_MAX_POS_LEN)
        return tg_err_set(err, TG_EINVAL, "train_infer_forward: n %d / len %d out of range", n,
                          len);
    const train_config_t *cf = &m->cfg;
    const float *P = m->params;
    const int hw = len * len, C = cf->c_trunk, G = cf->c_gpool, NP = TRAIN_POLICY_OUTPUTS;
    const int P1 = cf->c_p1, G1 = cf->c_g1, V1 = cf->c_v1, V2 = cf->c_v2;
    const size_t rows = (size_t)n * hw;
    const int maxc = imax(imax(C, cf->c_mid), imax(imax(P1, G1), V1));
    const int vlen = imax(imax(3 * maxc, V2), imax(TRAIN_MISC_OUTPUTS, TRAIN_MOREMISC_OUTPUTS));
    const int kmax =
        imax(cf->initial_kernel * cf->initial_kernel * TRAIN_SPATIAL_IN, 9 * imax(C, cf->c_mid));

    /* One allocation: 6 tensors (rows, maxc), inputs, mask, policy logits, 3 vectors, scratch. */
    const size_t n_tensor = rows * (size_t)maxc;
    const size_t total = 6 * n_tensor + rows * TRAIN_SPATIAL_IN + rows + (size_t)n + rows * NP +
                         3 * (size_t)n * vlen + (size_t)TRAIN_CONV_CHUNK * kmax;
    float *block = malloc(total * sizeof(float));
    int *argmax = malloc(sizeof(int) * (size_t)maxc);
    if (!block || !argmax) {
        free(block);
        free(argmax);
        return tg_err_set(err, TG_ENOMEM, "train_infer_forward: out of memory (%zu floats)", total);
    }
    float *X = block, *A = X + n_tensor, *H = A + n_tensor, *Bv = H + n_tensor;
    float *Gt = Bv + n_tensor, *GG = Gt + n_tensor, *in = GG + n_tensor;
    float *mask = in + rows * TRAIN_SPATIAL_IN, *mask_sum = mask + rows, *PL = mask_sum + n;
    float *vec1 = PL + rows * NP, *vec2 = vec1 + (size_t)n * vlen, *vec3 = vec2 + (size_t)n * vlen;
    float *cs = vec3 + (size_t)n * vlen;

    /* NCHW -> NHWC; mask = channel 0; pools divide by the on-board area. */
    for (int s = 0; s < n; s++) {
        const float *src = spatial + (size_t)s * TRAIN_SPATIAL_IN * hw;
        float msum = 0.0f;
        for (int p = 0; p < hw; p++) {
            float *dst = in + ((size_t)s * hw + p) * TRAIN_SPATIAL_IN;
            for (int c = 0; c < TRAIN_SPATIAL_IN; c++)
                dst[c] = src[(size_t)c * hw + p];
            mask[(size_t)s * hw + p] = src[p];
            msum += src[p];
        }
        mask_sum[s] = msum > 0.0f ? msum : 1.0f;
    }

    /* Trunk. */
    train__conv_fwd(P + m->conv_spatial.off, m->conv_spatial.k, TRAIN_SPATIAL_IN, C, in, n, len, X,
                    cs);
    infer_linear(P, m->linear_global, NULL, global, n, vec1);
    infer_add_bcast(X, vec1, n, hw, C);
    for (int b = 0; b < cf->num_blocks; b++) {
        const train_block_t *bk = &m->blocks[b];
        const int R = bk->c_reg;
        train__normact_fwd(X, rows, C, NULL, P + bk->beta1.off, mask, A);
        train__conv_fwd(P + bk->conv1.off, 3, C, R, A, n, len, H, cs);
        if (bk->gpool) {
            train__conv_fwd(P + bk->conv1g.off, 3, C, G, A, n, len, Gt, cs);
            train__normact_fwd(Gt, rows, G, NULL, P + bk->betag.off, mask, GG);
            infer_gpool(GG, mask, mask_sum, n, hw, G, vec2, argmax);
            infer_linear(P, bk->linear_g, NULL, vec2, n, vec1);
            infer_add_bcast(H, vec1, n, hw, R);
        }
        train__normact_fwd(H, rows, R, P + bk->gamma2.off, P + bk->beta2.off, mask, Bv);
        train__conv_fwd(P + bk->conv2.off, 3, R, C, Bv, n, len, Gt, cs);
        for (size_t i = 0; i < rows * C; i++)
            X[i] += Gt[i];
    }
    float *T = A;
    train__normact_fwd(X, rows, C, NULL, P + m->beta_final.off, mask, T);

    /* Policy head. */
    train__conv_fwd(P + m->p_conv1p.off, 1, C, P1, T, n, len, H, cs);
    train__conv_fwd(P + m->p_conv1g.off, 1, C, G1, T, n, len, Gt, cs);
    train__normact_fwd(Gt, rows, G1, NULL, P + m->p_biasg.off, mask, GG);
    float *PQ = vec2;
    infer_gpool(GG, mask, mask_sum, n, hw, G1, PQ, argmax);
    infer_linear(P, m->p_linear_g, NULL, PQ, n, vec1);
    infer_add_bcast(H, vec1, n, hw, P1);
    train__normact_fwd(H, rows, P1, NULL, P + m->p_bias2.off, mask, Bv);
    train__conv_fwd(P + m->p_conv2p.off, 1, P1, NP, Bv, n, len, PL, cs);
    infer_linear(P, m->p_linear_pass, &m->p_linear_pass_bias, PQ, n, vec3);
    infer_relu(vec3, (size_t)n * P1);
    infer_linear(P, m->p_linear_pass2, NULL, vec3, n, out->pass);
    for (int s = 0; s < n; s++)
        for (int p = 0; p < hw; p++)
            for (int c = 0; c < NP; c++)
                out->policy[((size_t)s * NP + c) * hw + p] = PL[((size_t)s * hw + p) * NP + c];

    /* Value head. */
    train__conv_fwd(P + m->v_conv1.off, 1, C, V1, T, n, len, H, cs);
    train__normact_fwd(H, rows, V1, NULL, P + m->v_bias1.off, mask, Bv);
    float *VP = vec2, *VH = vec3;
    for (int s = 0; s < n; s++)
        train__vpool_fwd(Bv + (size_t)s * hw * V1, hw, V1, mask_sum[s], VP + (size_t)s * 3 * V1);
    infer_linear(P, m->v_linear2, &m->v_bias2, VP, n, VH);
    infer_relu(VH, (size_t)n * V2);
    infer_linear(P, m->v_linear_value, &m->v_bias_value, VH, n, out->value);
    infer_linear(P, m->v_linear_misc, &m->v_bias_misc, VH, n, out->misc);
    infer_linear(P, m->v_linear_moremisc, &m->v_bias_moremisc, VH, n, out->moremisc);
    train__conv_fwd(P + m->v_conv_own.off, 1, V1, 1, Bv, n, len, out->ownership, cs);
    for (size_t r = 0; r < rows; r++)
        out->ownership[r] *= mask[r];

    free(block);
    free(argmax);
    return 0;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* Plausible channel count: the checkpoint came from outside, so bound what we allocate. */
static int ckpt_width_ok(int c) { return c >= 1 && c <= 4096; }

int train_checkpoint_peek(const char *path, train_ckpt_info_t *info, tg_err_t *err) {
    memset(info, 0, sizeof(*info));
    FILE *fp = fopen(path, "rb");
    if (!fp) return tg_err_set(err, TG_EIO, "%s: cannot open checkpoint", path);
    train_ckpt_header_t h;
    memset(&h, 0, sizeof(h));
    size_t got = fread(&h, 1, sizeof(h), fp);
    fclose(fp);
    if (got >= 4 && memcmp(h.magic, TRAIN_CKPT_MAGIC, 4) != 0)
        return tg_err_set(err, TG_EFORMAT, "%s: not a tengen checkpoint (bad magic)", path);
    const size_t hbytes = got >= 8 ? train__ckpt_header_bytes(h.version) : 0;
    if (got >= 8 && hbytes == 0)
        return tg_err_set(err, TG_EUNSUPPORTED, "%s: checkpoint version %u, expected %u or %u",
                          path, h.version, TRAIN_CKPT_VERSION_V1, TRAIN_CKPT_VERSION);
    if (got < 8 || got < hbytes)
        return tg_err_set(err, TG_EFORMAT, "%s: truncated checkpoint (%zu header bytes of %zu)",
                          path, got, hbytes ? hbytes : sizeof(h));
    if (h.version == TRAIN_CKPT_VERSION_V1) /* bytes past its header are params, not SWA fields */
        memset((char *)&h + TRAIN_CKPT_HEADER_V1_BYTES, 0, sizeof(h) - TRAIN_CKPT_HEADER_V1_BYTES);
    const train_config_t *c = &h.cfg;
    if (memchr(c->name, '\0', sizeof(c->name)) == NULL)
        return tg_err_set(err, TG_EFORMAT, "%s: checkpoint config name is not terminated", path);
    int ok = c->num_blocks >= 1 && c->num_blocks <= TRAIN_MAX_BLOCKS && ckpt_width_ok(c->c_trunk) &&
             ckpt_width_ok(c->c_mid) && (c->c_gpool == 0 || ckpt_width_ok(c->c_gpool)) &&
             ckpt_width_ok(c->c_p1) && ckpt_width_ok(c->c_g1) && ckpt_width_ok(c->c_v1) &&
             ckpt_width_ok(c->c_v2) && ckpt_width_ok(c->c_sb) && c->num_sb >= 1 &&
             c->num_sb <= 64 && c->initial_kernel >= 1 && c->initial_kernel <= 9 &&
             c->initial_kernel % 2 == 1;
    for (int b = 0; ok && b < TRAIN_MAX_BLOCKS; b++)
        ok = c->block_gpool[b] == 0 || (c->block_gpool[b] == 1 && b < c->num_blocks);
    if (!ok)
        return tg_err_set(err, TG_EFORMAT, "%s: checkpoint holds an impossible model config", path);
    if (h.pos_len < 2 || h.pos_len > TRAINROWS_MAX_POS_LEN)
        return tg_err_set(err, TG_EFORMAT, "%s: checkpoint board length %d not in 2..%d", path,
                          (int)h.pos_len, TRAINROWS_MAX_POS_LEN);
    if (h.steps < 0 || h.samples < 0)
        return tg_err_set(err, TG_EFORMAT, "%s: checkpoint has negative counters", path);
    info->cfg = h.cfg;
    info->pos_len = h.pos_len;
    info->steps = h.steps;
    info->samples = h.samples;
    info->num_params = h.num_params;
    info->version = h.version;
    info->swa_updates = h.swa_updates;
    return 0;
}

int train_checkpoint_open(const char *path, trainer_t **out, tg_err_t *err) {
    *out = NULL;
    train_ckpt_info_t info;
    int rc = train_checkpoint_peek(path, &info, err);
    if (rc) return rc;
    train_options_t o;
    train_options_default(&o, &info.cfg);
    o.pos_len = info.pos_len;
    o.batch = 1;
    o.threads = 1;
    trainer_t *t = NULL;
    rc = trainer_create(&t, &o, err);
    if (rc) {
        tg_err_prefix(err, "%s", path);
        return rc;
    }
    rc = trainer_load(t, path, err);
    if (rc) {
        trainer_destroy(t);
        return rc;
    }
    *out = t;
    return 0;
}
