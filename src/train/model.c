/* model.c: KataGo model configs, the parameter layout (one buffer, named tensor table) and
 * KataGo's initialisation (model_pytorch.py init_weights / initialize, fixup branch).
 *
 * Layout: tensors are appended in export order (trunk, blocks, tip, policy head, value head),
 * then the training-only score-belief tensors. Each tensor starts on a 16-float boundary so
 * that any tensor can be handed to SIMD code. Init scales follow KataGo where known; the gpool
 * sub-layer and policy-head scales (marked "approx") were taken from memory of model_pytorch.py
 * and only shape the starting point, not the architecture. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"

#define TRAIN__ALIGN_FLOATS 16
#define TRAIN__MAX_TENSORS  (32 + TRAIN_MAX_BLOCKS * 10)

typedef struct cfg_row_s {
    const char *name;
    int c, m, g;
    const char *blocks; /* 'r' regular, 'g' gpool */
    int p1, g1, v1, v2, sb, k;
} cfg_row_t;

static const cfg_row_t cfg_table[] = {
    {"b2c16", 16, 16, 8, "rg", 8, 8, 8, 12, 12, 2},
    {"b4c32", 32, 32, 16, "rrgr", 12, 12, 12, 24, 24, 4},
    {"b6c96", 96, 96, 32, "rrgrgr", 32, 32, 32, 64, 48, 4},
    {"b10c128", 128, 128, 32, "rrrrgrrgrr", 32, 32, 32, 80, 64, 6},
    {"b2c8test", 8, 8, 4, "rg", 4, 4, 4, 6, 4, 2}, /* tests only */
};

int train_config_by_name(const char *name, train_config_t *cfg) {
    if (!name) return TG_EINVAL;
    for (size_t i = 0; i < TG_ARRAY_LEN(cfg_table); i++) {
        const cfg_row_t *r = &cfg_table[i];
        if (strcmp(r->name, name) != 0) continue;
        memset(cfg, 0, sizeof(*cfg));
        snprintf(cfg->name, sizeof(cfg->name), "%s", r->name);
        cfg->c_trunk = r->c;
        cfg->c_mid = r->m;
        cfg->c_gpool = r->g;
        cfg->num_blocks = (int)strlen(r->blocks);
        for (int b = 0; b < cfg->num_blocks; b++)
            cfg->block_gpool[b] = r->blocks[b] == 'g';
        cfg->c_p1 = r->p1;
        cfg->c_g1 = r->g1;
        cfg->c_v1 = r->v1;
        cfg->c_v2 = r->v2;
        cfg->c_sb = r->sb;
        cfg->num_sb = r->k;
        cfg->initial_kernel = 3;
        return 0;
    }
    return TG_ENOTFOUND;
}

/* ---- Layout -------------------------------------------------------------------------------- */

typedef struct layout_s {
    train_model_t *m;
    size_t next;
} layout_t;

static train_layer_t layout_add(layout_t *L, const char *name, train_group_t group, int k, int ic,
                                int oc) {
    train_model_t *m = L->m;
    TG_ASSERT(m->num_tensors < TRAIN__MAX_TENSORS);
    train_tensor_t *t = &m->tensors[m->num_tensors++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->group = group;
    if (k > 1) {
        t->ndim = 4;
        t->shape[0] = k, t->shape[1] = k, t->shape[2] = ic, t->shape[3] = oc;
    } else if (ic > 1) {
        t->ndim = 2;
        t->shape[0] = ic, t->shape[1] = oc;
    } else {
        t->ndim = 1;
        t->shape[0] = oc;
    }
    t->count = (size_t)k * k * ic * oc;
    t->offset = L->next;
    L->next += (t->count + TRAIN__ALIGN_FLOATS - 1) / TRAIN__ALIGN_FLOATS * TRAIN__ALIGN_FLOATS;
    train_layer_t ly = {.off = t->offset, .k = k, .ic = ic, .oc = oc};
    return ly;
}

#define NM(...) (snprintf(nm, sizeof(nm), __VA_ARGS__), nm)

static void layout_build(train_model_t *m) {
    const train_config_t *c = &m->cfg;
    layout_t L = {.m = m, .next = 0};
    char nm[TRAIN_NAME_MAX];
    const int C = c->c_trunk;
    m->conv_spatial = layout_add(&L, "model.conv_spatial.weight", TRAIN_GROUP_NORMAL,
                                 c->initial_kernel, TRAIN_SPATIAL_IN, C);
    m->linear_global =
        layout_add(&L, "model.linear_global.weight", TRAIN_GROUP_NORMAL, 1, TRAIN_GLOBAL_IN, C);
    for (int b = 0; b < c->num_blocks; b++) {
        train_block_t *bk = &m->blocks[b];
        memset(bk, 0, sizeof(*bk));
        bk->gpool = c->block_gpool[b];
        bk->c_reg = bk->gpool ? c->c_mid - c->c_gpool : c->c_mid;
        const int R = bk->c_reg, G = c->c_gpool;
        bk->beta1 = layout_add(&L, NM("model.blocks.%d.normactconv1.norm.beta", b),
                               TRAIN_GROUP_NOREG, 1, 1, C);
        if (bk->gpool) {
            bk->conv1 = layout_add(&L, NM("model.blocks.%d.normactconv1.convpool.conv1r.weight", b),
                                   TRAIN_GROUP_NORMAL, 3, C, R);
            bk->conv1g =
                layout_add(&L, NM("model.blocks.%d.normactconv1.convpool.conv1g.weight", b),
                           TRAIN_GROUP_NORMAL, 3, C, G);
            bk->betag = layout_add(&L, NM("model.blocks.%d.normactconv1.convpool.normg.beta", b),
                                   TRAIN_GROUP_NOREG, 1, 1, G);
            bk->linear_g =
                layout_add(&L, NM("model.blocks.%d.normactconv1.convpool.linear_g.weight", b),
                           TRAIN_GROUP_NORMAL, 1, 3 * G, R);
        } else {
            bk->conv1 = layout_add(&L, NM("model.blocks.%d.normactconv1.conv.weight", b),
                                   TRAIN_GROUP_NORMAL, 3, C, R);
        }
        bk->beta2 = layout_add(&L, NM("model.blocks.%d.normactconv2.norm.beta", b),
                               TRAIN_GROUP_NOREG, 1, 1, R);
        bk->gamma2 = layout_add(&L, NM("model.blocks.%d.normactconv2.norm.gamma", b),
                                TRAIN_GROUP_NORMAL, 1, 1, R);
        bk->conv2 = layout_add(&L, NM("model.blocks.%d.normactconv2.conv.weight", b),
                               TRAIN_GROUP_NORMAL, 3, R, C);
    }
    m->beta_final = layout_add(&L, "model.norm_trunkfinal.beta", TRAIN_GROUP_NOREG, 1, 1, C);

    const int P1 = c->c_p1, G1 = c->c_g1, V1 = c->c_v1, V2 = c->c_v2;
    const train_group_t W = TRAIN_GROUP_OUTPUT, B = TRAIN_GROUP_OUTPUT_NOREG;
    m->p_conv1p = layout_add(&L, "model.policy_head.conv1p.weight", W, 1, C, P1);
    m->p_conv1g = layout_add(&L, "model.policy_head.conv1g.weight", W, 1, C, G1);
    m->p_biasg = layout_add(&L, "model.policy_head.biasg.beta", B, 1, 1, G1);
    m->p_linear_g = layout_add(&L, "model.policy_head.linear_g.weight", W, 1, 3 * G1, P1);
    m->p_bias2 = layout_add(&L, "model.policy_head.bias2.beta", B, 1, 1, P1);
    m->p_conv2p = layout_add(&L, "model.policy_head.conv2p.weight", W, 1, P1, TRAIN_POLICY_OUTPUTS);
    m->p_linear_pass = layout_add(&L, "model.policy_head.linear_pass.weight", W, 1, 3 * G1, P1);
    m->p_linear_pass_bias = layout_add(&L, "model.policy_head.linear_pass.bias", B, 1, 1, P1);
    m->p_linear_pass2 =
        layout_add(&L, "model.policy_head.linear_pass2.weight", W, 1, P1, TRAIN_POLICY_OUTPUTS);

    m->v_conv1 = layout_add(&L, "model.value_head.conv1.weight", W, 1, C, V1);
    m->v_bias1 = layout_add(&L, "model.value_head.bias1.beta", B, 1, 1, V1);
    m->v_linear2 = layout_add(&L, "model.value_head.linear2.weight", W, 1, 3 * V1, V2);
    m->v_bias2 = layout_add(&L, "model.value_head.linear2.bias", B, 1, 1, V2);
    m->v_linear_value = layout_add(&L, "model.value_head.linear_valuehead.weight", W, 1, V2, 3);
    m->v_bias_value = layout_add(&L, "model.value_head.linear_valuehead.bias", B, 1, 1, 3);
    m->v_linear_misc = layout_add(&L, "model.value_head.linear_miscvaluehead.weight", W, 1, V2,
                                  TRAIN_MISC_OUTPUTS);
    m->v_bias_misc =
        layout_add(&L, "model.value_head.linear_miscvaluehead.bias", B, 1, 1, TRAIN_MISC_OUTPUTS);
    m->v_linear_moremisc = layout_add(&L, "model.value_head.linear_moremiscvaluehead.weight", W, 1,
                                      V2, TRAIN_MOREMISC_OUTPUTS);
    m->v_bias_moremisc = layout_add(&L, "model.value_head.linear_moremiscvaluehead.bias", B, 1, 1,
                                    TRAIN_MOREMISC_OUTPUTS);
    m->v_conv_own = layout_add(&L, "model.value_head.conv_ownership.weight", W, 1, V1, 1);

    const int SB = c->c_sb, K = c->num_sb;
    m->s_linear2 = layout_add(&L, "model.value_head.linear_s2.weight", W, 1, 3 * V1, SB);
    m->s_bias2 = layout_add(&L, "model.value_head.linear_s2.bias", B, 1, 1, SB);
    m->s_off = layout_add(&L, "model.value_head.linear_s2off.weight", W, 1, 1, SB);
    m->s_par = layout_add(&L, "model.value_head.linear_s2par.weight", W, 1, 1, SB);
    m->s_linear3 = layout_add(&L, "model.value_head.linear_s3.weight", W, 1, SB, K);
    m->s_bias3 = layout_add(&L, "model.value_head.linear_s3.bias", B, 1, 1, K);
    m->s_mix = layout_add(&L, "model.value_head.linear_smix.weight", W, 1, 3 * V1, K);
    m->s_bias_mix = layout_add(&L, "model.value_head.linear_smix.bias", B, 1, 1, K);
    m->num_params = L.next;
}

/* ---- Init ---------------------------------------------------------------------------------- */

#define GAIN_RELU     1.4142135623730951
#define GAIN_IDENTITY 1.0

/* KataGo's init_weights: truncated normal (|z| <= 2) with std = scale*gain/sqrt(fan_in)/0.8796
 * (0.8796 is the std of a standard normal truncated at 2). fan_in is that of the layer's weight. */
static void init_tensor(train_model_t *m, train_layer_t ly, double gain, double scale, int fan_in,
                        tg_rng_t *rng) {
    float *w = m->params + ly.off;
    size_t n = (size_t)ly.k * ly.k * ly.ic * ly.oc;
    if (scale == 0.0 || fan_in <= 0) {
        memset(w, 0, n * sizeof(float));
        return;
    }
    double std = scale * gain / sqrt((double)fan_in) / 0.87962566103423978;
    for (size_t i = 0; i < n; i++) {
        double z;
        do
            z = tg_rng_normal(rng);
        while (fabs(z) > 2.0);
        w[i] = (float)(z * std);
    }
}

static int fan(train_layer_t ly) { return ly.k * ly.k * ly.ic; }

static void model_initialize(train_model_t *m, uint64_t seed) {
    tg_rng_t rng;
    tg_rng_seed(&rng, seed, 0x7472616eu);
    memset(m->params, 0, m->num_params * sizeof(float));
    const train_config_t *c = &m->cfg;
    init_tensor(m, m->conv_spatial, GAIN_RELU, 0.8, fan(m->conv_spatial), &rng);
    init_tensor(m, m->linear_global, GAIN_RELU, 0.6, fan(m->linear_global), &rng);
    const double fixup = 1.0 / sqrt((double)c->num_blocks);
    for (int b = 0; b < c->num_blocks; b++) {
        train_block_t *bk = &m->blocks[b];
        if (bk->gpool) { /* approx: KataConvAndGPool r 0.8, g 0.6 split of the fixup scale */
            init_tensor(m, bk->conv1, GAIN_RELU, fixup * 0.8, fan(bk->conv1), &rng);
            init_tensor(m, bk->conv1g, GAIN_RELU, sqrt(fixup) * sqrt(0.6), fan(bk->conv1g), &rng);
            init_tensor(m, bk->linear_g, GAIN_RELU, sqrt(fixup) * sqrt(0.6), fan(bk->linear_g),
                        &rng);
        } else {
            init_tensor(m, bk->conv1, GAIN_RELU, fixup, fan(bk->conv1), &rng);
        }
        /* fixup: the second conv of each residual block starts at zero (beta, gamma = 0). */
        init_tensor(m, bk->conv2, GAIN_RELU, 0.0, fan(bk->conv2), &rng);
    }
    /* Policy head (approx scales). */
    init_tensor(m, m->p_conv1p, GAIN_RELU, 0.8, fan(m->p_conv1p), &rng);
    init_tensor(m, m->p_conv1g, GAIN_RELU, 0.6, fan(m->p_conv1g), &rng);
    init_tensor(m, m->p_linear_g, GAIN_RELU, 0.6, fan(m->p_linear_g), &rng);
    init_tensor(m, m->p_conv2p, GAIN_IDENTITY, 0.3, fan(m->p_conv2p), &rng);
    init_tensor(m, m->p_linear_pass, GAIN_RELU, 1.0, fan(m->p_linear_pass), &rng);
    init_tensor(m, m->p_linear_pass_bias, GAIN_RELU, 0.2, fan(m->p_linear_pass), &rng);
    init_tensor(m, m->p_linear_pass2, GAIN_IDENTITY, 0.3, fan(m->p_linear_pass2), &rng);
    /* Value head (ValueHead.initialize). */
    const double bias_scale = 0.2;
    init_tensor(m, m->v_conv1, GAIN_RELU, 1.0, fan(m->v_conv1), &rng);
    init_tensor(m, m->v_linear2, GAIN_RELU, 1.0, fan(m->v_linear2), &rng);
    init_tensor(m, m->v_bias2, GAIN_RELU, bias_scale, fan(m->v_linear2), &rng);
    init_tensor(m, m->v_linear_value, GAIN_IDENTITY, 1.0, fan(m->v_linear_value), &rng);
    init_tensor(m, m->v_bias_value, GAIN_IDENTITY, bias_scale, fan(m->v_linear_value), &rng);
    init_tensor(m, m->v_linear_misc, GAIN_IDENTITY, 1.0, fan(m->v_linear_misc), &rng);
    init_tensor(m, m->v_bias_misc, GAIN_IDENTITY, bias_scale, fan(m->v_linear_misc), &rng);
    init_tensor(m, m->v_linear_moremisc, GAIN_IDENTITY, 1.0, fan(m->v_linear_moremisc), &rng);
    init_tensor(m, m->v_bias_moremisc, GAIN_IDENTITY, bias_scale, fan(m->v_linear_moremisc), &rng);
    init_tensor(m, m->v_conv_own, GAIN_IDENTITY, 0.2, fan(m->v_conv_own), &rng);
    init_tensor(m, m->s_linear2, GAIN_RELU, 1.0, fan(m->s_linear2), &rng);
    init_tensor(m, m->s_bias2, GAIN_RELU, 1.0, fan(m->s_linear2), &rng);
    init_tensor(m, m->s_off, GAIN_RELU, 1.0, fan(m->s_linear2), &rng);
    init_tensor(m, m->s_par, GAIN_RELU, 1.0, fan(m->s_linear2), &rng);
    init_tensor(m, m->s_linear3, GAIN_IDENTITY, 0.5, fan(m->s_linear3), &rng);
    init_tensor(m, m->s_bias3, GAIN_IDENTITY, 0.5 * bias_scale, fan(m->s_linear3), &rng);
    init_tensor(m, m->s_mix, GAIN_IDENTITY, 1.0, fan(m->s_mix), &rng);
    init_tensor(m, m->s_bias_mix, GAIN_IDENTITY, bias_scale, fan(m->s_mix), &rng);
}

int train_model_init(train_model_t *m, const train_config_t *cfg, int pos_len, uint64_t seed,
                     tg_err_t *err) {
    memset(m, 0, sizeof(*m));
    if (pos_len < 2 || pos_len > TRAINROWS_MAX_POS_LEN)
        return tg_err_set(err, TG_EINVAL, "train_model_init: pos_len %d not in 2..19", pos_len);
    if (cfg->num_blocks < 1 || cfg->num_blocks > TRAIN_MAX_BLOCKS || cfg->c_trunk < 1 ||
        cfg->c_mid < 1 || cfg->c_p1 < 1 || cfg->c_g1 < 1 || cfg->c_v1 < 1 || cfg->c_v2 < 1 ||
        cfg->c_sb < 1 || cfg->num_sb < 1 || (cfg->initial_kernel % 2) == 0)
        return tg_err_set(err, TG_EINVAL, "train_model_init: config %s has bad sizes", cfg->name);
    for (int b = 0; b < cfg->num_blocks; b++)
        if (cfg->block_gpool[b] && (cfg->c_gpool < 1 || cfg->c_gpool >= cfg->c_mid))
            return tg_err_set(err, TG_EINVAL, "train_model_init: config %s: bad gpool width",
                              cfg->name);
    m->cfg = *cfg;
    m->pos_len = pos_len;
    m->score_len = 2 * (pos_len * pos_len + TRAINROWS_SCORE_RADIUS);
    m->tensors = calloc(TRAIN__MAX_TENSORS, sizeof(train_tensor_t));
    if (!m->tensors) return tg_err_set(err, TG_ENOMEM, "train_model_init: out of memory");
    layout_build(m);
    size_t bytes = m->num_params * sizeof(float);
    m->params = aligned_alloc(64, (bytes + 63) / 64 * 64);
    m->grads = aligned_alloc(64, (bytes + 63) / 64 * 64);
    m->momentum = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!m->params || !m->grads || !m->momentum) {
        train_model_free(m);
        return tg_err_set(err, TG_ENOMEM, "train_model_init: out of memory (%zu floats)",
                          m->num_params);
    }
    memset(m->grads, 0, bytes);
    memset(m->momentum, 0, bytes);
    model_initialize(m, seed);
    return 0;
}

void train_model_free(train_model_t *m) {
    free(m->params);
    free(m->grads);
    free(m->momentum);
    free(m->tensors);
    m->params = m->grads = m->momentum = NULL;
    m->tensors = NULL;
    m->num_tensors = 0;
}

const train_tensor_t *train_model_find(const train_model_t *m, const char *name) {
    for (int i = 0; i < m->num_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}
