/* test_export.c: trainer models exported as KataGo version-15 files (src/export/export.h).
 *
 * 1. Model names: "<prefix>-s<samples>-d<rows>" and KataGo's [A-Za-z0-9_-]{1,96} rule.
 * 2. Structure: a b2c16 export loads with tg_model_load; header fields, multipliers, trunk
 *    header, block kinds, layer names, shapes, P = 2, S = 6 and the float count all match the
 *    trainer's config; the first tokens of the image are byte-exact; BN scale = 1 + gamma.
 * 3. Round trip: tengen's CPU inference (src/nn) on the exported file gives the trainer's own
 *    forward outputs (train_infer_forward: policy logits incl. pass for outputs 0 and 5, value
 *    logits, the 6 score values, ownership) on positions from random legal games, for fresh
 *    and randomly perturbed (non-zero everywhere) b1c8 / b2c16 models, pos_len 9 and 19,
 *    including boards smaller than the tensor.
 * 4. train_infer_forward agrees with the training forward (net.c) on policy and pass logits.
 * 5. .bin (raw) and .bin.gz (gzip) exports hold the same image; gzip output is deterministic.
 * 6. Refusals leave no file: missing directory, bad suffix, bad name, NaN weight.
 * 7. Checkpoints: save -> tg_export_checkpoint -> load equals a direct export; truncated,
 *    bit-flipped and foreign files give clear errors.
 * 8. SWA: a checkpoint of a trainer with SWA on exports the SWA average (loaded back: the same
 *    weights as the trainer's average, and our CPU inference on the file matches
 *    train_infer_forward on the average); use_swa = 0 exports the raw weights;
 *    train_checkpoint_open + trainer_model_for_export sees the same average. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "export/export.h"
#include "export_test_util.h"
#include "game/game.h"
#include "nn/features.h"
#include "nn/nn.h"
#include "test.h"
#include "train/train_infer.h"
#include "train/train_internal.h"
#include "train/train_testdata.h"
#include "util/fileio.h"

static char g_dir[256];

static void make_tmpdir(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/tg_export_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void rm_tmpdir(void) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) printf("  (could not remove %s)\n", g_dir);
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A tiny b1c8 config: one gpool block, 8 channels (test size). */
static train_config_t cfg_b1c8(void) {
    train_config_t c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "b1c8");
    c.c_trunk = 8, c.c_mid = 8, c.c_gpool = 4, c.num_blocks = 1, c.block_gpool[0] = 1;
    c.c_p1 = 4, c.c_g1 = 4, c.c_v1 = 4, c.c_v2 = 6, c.c_sb = 4, c.num_sb = 2;
    c.initial_kernel = 3;
    return c;
}

static train_config_t cfg_b2c16(void) {
    train_config_t c;
    if (train_config_by_name("b2c16", &c) != 0) {
        printf("  no b2c16 config\n");
        exit(1);
    }
    return c;
}

/* Replaces every parameter by N(0, std) with std = 1/sqrt(fan in) for weights and 0.3 for
 * vectors (betas, gammas, biases), so that nothing is zero and activations stay O(1). */
static void perturb(train_model_t *m, uint64_t seed) {
    tg_rng_t rng;
    tg_rng_seed(&rng, seed, 7);
    for (int t = 0; t < m->num_tensors; t++) {
        const train_tensor_t *tt = &m->tensors[t];
        size_t oc = (size_t)tt->shape[tt->ndim - 1];
        double std = tt->ndim == 1 ? 0.3 : 1.0 / sqrt((double)(tt->count / oc));
        for (size_t i = 0; i < tt->count; i++)
            m->params[tt->offset + i] = (float)(tg_rng_normal(&rng) * std);
    }
}

/* n positions (spatial (n, 22, len, len), global (n, 19)) from random legal games: board
 * sizes len and (every third sample) smaller, various rules and game lengths. */
static void random_positions(int n, int len, uint64_t seed, float *spatial, float *global) {
    static tg_game_t g;
    static const char *rules[] = {"tromp-taylor", "japanese", "chinese", "aga"};
    tg_rng_t rng;
    tg_rng_seed(&rng, seed, 3);
    const int hw = len * len;
    for (int i = 0; i < n; i++) {
        int size = (i % 3 == 2 && len > 5) ? len - 2 - (int)tg_rng_below(&rng, 3) : len;
        tg_rules_t r;
        TG_ASSERT(tg_rules_parse(rules[i % 4], &r, NULL) == 0);
        tg_game_init(&g, size, &r);
        tg_game_set_komi(&g, (float)(0.5 * (int)tg_rng_below(&rng, 20)));
        int moves = (int)tg_rng_below(&rng, (uint32_t)(size * size));
        for (int t = 0; t < moves && !g.game_over; t++)
            TG_ASSERT(tg_game_play(&g, tg_game_random_move(&g, &rng), g.to_move, NULL) == 0);
        tg_nn_fill_features(&g, len, spatial + (size_t)i * TG_NN_NUM_SPATIAL * hw,
                            global + (size_t)i * TG_NN_NUM_GLOBAL);
    }
}

/* ---- trainer outputs vs CPU inference ----------------------------------------------------- */

typedef struct outputs_s {
    float *policy, *pass, *value, *misc, *moremisc, *own; /* train_infer_out_t layout */
    float *nn_policy, *nn_pass, *nn_value, *nn_score, *nn_own;
} outputs_t;

static void outputs_alloc(outputs_t *o, int n, int hw) {
    o->policy = calloc((size_t)n * 6 * hw, sizeof(float));
    o->pass = calloc((size_t)n * 6, sizeof(float));
    o->value = calloc((size_t)n * 3, sizeof(float));
    o->misc = calloc((size_t)n * 10, sizeof(float));
    o->moremisc = calloc((size_t)n * 8, sizeof(float));
    o->own = calloc((size_t)n * hw, sizeof(float));
    o->nn_policy = calloc((size_t)n * 2 * hw, sizeof(float));
    o->nn_pass = calloc((size_t)n * 2, sizeof(float));
    o->nn_value = calloc((size_t)n * 3, sizeof(float));
    o->nn_score = calloc((size_t)n * 6, sizeof(float));
    o->nn_own = calloc((size_t)n * hw, sizeof(float));
}

static void outputs_free(outputs_t *o) {
    free(o->policy), free(o->pass), free(o->value), free(o->misc), free(o->moremisc);
    free(o->own), free(o->nn_policy), free(o->nn_pass), free(o->nn_value), free(o->nn_score);
    free(o->nn_own);
}

/* Largest |a - b| over count pairs, relative to 1 + the largest |b| (the reference). */
static double max_scaled_err(const float *a, const float *b, int count, int stride_a, int stride_b,
                             const float *mask) {
    double err = 0.0, mag = 0.0;
    for (int i = 0; i < count; i++) {
        if (mask && mask[i] == 0.0f) continue;
        double d = fabs((double)a[(size_t)i * stride_a] - b[(size_t)i * stride_b]);
        if (!(d <= err)) err = d; /* NaN propagates as a failure */
        if (fabs(b[(size_t)i * stride_b]) > mag) mag = fabs(b[(size_t)i * stride_b]);
    }
    return err / (1.0 + mag);
}

/* Runs the exported file (loaded) and the trainer's forward on n random positions of length len
 * and returns the worst scaled error over all outputs; prints one line per output group. */
static double compare_outputs(const tg_model_t *lm, const train_model_t *tm, int n, int len,
                              uint64_t seed) {
    const int hw = len * len;
    float *spatial = calloc((size_t)n * TG_NN_NUM_SPATIAL * hw, sizeof(float));
    float *global = calloc((size_t)n * TG_NN_NUM_GLOBAL, sizeof(float));
    random_positions(n, len, seed, spatial, global);
    outputs_t o;
    outputs_alloc(&o, n, hw);
    tg_err_t err;
    train_infer_out_t to = {o.policy, o.pass, o.value, o.misc, o.moremisc, o.own};
    double worst = 1e30;
    if (train_infer_forward(tm, n, len, spatial, global, &to, &err) != 0) {
        printf("  train_infer_forward: %s\n", err.msg);
        goto done;
    }
    const tg_nn_backend_t *be = tg_nn_backend_cpu();
    void *ctx = NULL;
    if (be->create(lm, n, 1, &ctx, &err) != 0) {
        printf("  backend create: %s\n", err.msg);
        goto done;
    }
    tg_nn_raw_t raw = {o.nn_policy, o.nn_pass, o.nn_value, o.nn_score, o.nn_own, 0};
    int rc = be->forward(ctx, n, len, spatial, global, &raw, &err);
    be->destroy(ctx);
    if (rc != 0) {
        printf("  backend forward: %s\n", err.msg);
        goto done;
    }
    double e_pol = 0, e_pass = 0, e_val = 0, e_score = 0, e_own = 0;
    for (int s = 0; s < n; s++) {
        const float *mask = spatial + (size_t)s * TG_NN_NUM_SPATIAL * hw;
        for (int k = 0; k < 2; k++) {
            const int tc = k == 0 ? 0 : 5;
            e_pol =
                fmax(e_pol, max_scaled_err(o.nn_policy + ((size_t)s * 2 + k) * hw,
                                           o.policy + ((size_t)s * 6 + tc) * hw, hw, 1, 1, mask));
            e_pass = fmax(e_pass, max_scaled_err(o.nn_pass + (size_t)s * 2 + k,
                                                 o.pass + (size_t)s * 6 + tc, 1, 1, 1, NULL));
        }
        e_val = fmax(e_val, max_scaled_err(o.nn_value + (size_t)s * 3, o.value + (size_t)s * 3, 3,
                                           1, 1, NULL));
        e_score = fmax(e_score, max_scaled_err(o.nn_score + (size_t)s * 6, o.misc + (size_t)s * 10,
                                               4, 1, 1, NULL));
        e_score = fmax(e_score, max_scaled_err(o.nn_score + (size_t)s * 6 + 4,
                                               o.moremisc + (size_t)s * 8, 2, 1, 1, NULL));
        e_own = fmax(e_own, max_scaled_err(o.nn_own + (size_t)s * hw, o.own + (size_t)s * hw, hw, 1,
                                           1, NULL));
    }
    printf("  len=%d n=%d scaled max err: policy %.2e pass %.2e value %.2e score %.2e own %.2e\n",
           len, n, e_pol, e_pass, e_val, e_score, e_own);
    worst = fmax(fmax(fmax(e_pol, e_pass), fmax(e_val, e_score)), e_own);
    /* Sanity: the outputs are not all zero (a comparison of zeros proves nothing). */
    double mag = 0;
    for (int i = 0; i < n * 3; i++)
        mag += fabs(o.value[i]);
    if (!(mag > 0)) worst = 1e30;
done:
    outputs_free(&o);
    free(spatial);
    free(global);
    return worst;
}

/* Tolerance of the round trip, relative to 1 + the largest reference value of each output:
 * float32 kernels that sum in different orders (Winograd vs im2col, BLAS blocking) over a few
 * layers; observed errors are around 1e-6. */
#define ROUNDTRIP_TOL 2e-5

/* Exports m to dir/<file>, loads it back, compares on positions of length len. */
static double roundtrip(const train_model_t *m, const char *file, int len, int n, uint64_t seed) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, file);
    tg_err_t err;
    if (tg_export_model(m, "roundtrip-test", path, &err) != 0) {
        printf("  export: %s\n", err.msg);
        return 1e30;
    }
    tg_model_t *lm = NULL;
    if (tg_model_load(path, &lm, &err) != 0) {
        printf("  load: %s\n", err.msg);
        return 1e30;
    }
    double e = compare_outputs(lm, m, n, len, seed);
    tg_model_free(lm);
    return e;
}

/* ---- 1. names ------------------------------------------------------------------------------ */

TEST(model_names) {
    char buf[128];
    tg_err_t err;
    ASSERT_EQ(tg_export_model_name(buf, sizeof buf, "b6c96", 175395328, 26788732, &err), 0);
    ASSERT_STREQ(buf, "b6c96-s175395328-d26788732");
    ASSERT_EQ(tg_export_model_name(buf, sizeof buf, "g170-b6c96", 0, 0, &err), 0);
    ASSERT_STREQ(buf, "g170-b6c96-s0-d0");
    ASSERT_EQ(tg_export_model_name(buf, sizeof buf, "b6 c96", 1, 2, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "[A-Za-z0-9_-]");
    ASSERT_EQ(tg_export_model_name(buf, sizeof buf, "b6c96", -1, 2, &err), TG_EINVAL);
    ASSERT_EQ(tg_export_model_name(buf, 8, "b6c96", 100, 2, &err), TG_EINVAL);
    char longp[100];
    memset(longp, 'a', 90);
    longp[90] = '\0';
    ASSERT_EQ(tg_export_check_name(longp, &err), 0);
    ASSERT_EQ(tg_export_model_name(buf, sizeof buf, longp, 1000, 1000, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "too long");
    memset(longp, 'a', 97);
    longp[97] = '\0';
    ASSERT_EQ(tg_export_check_name(longp, &err), TG_EINVAL);
    ASSERT_EQ(tg_export_check_name("", &err), TG_EINVAL);
    ASSERT_EQ(tg_export_check_name("a/b", &err), TG_EINVAL);
    ASSERT_EQ(tg_export_check_name("Az09_-", &err), 0);
}

/* ---- 2. structure -------------------------------------------------------------------------- */

/* Floats a v15 file of config c holds (formats.md §1.4-1.9), counted from the config alone. */
static size_t expected_file_floats(const train_config_t *c) {
    const size_t C = (size_t)c->c_trunk, G = (size_t)c->c_gpool, P1 = (size_t)c->c_p1,
                 G1 = (size_t)c->c_g1, V1 = (size_t)c->c_v1, V2 = (size_t)c->c_v2;
    const size_t k0 = (size_t)c->initial_kernel;
    size_t n = k0 * k0 * 22 * C + 19 * C;
    for (int b = 0; b < c->num_blocks; b++) {
        size_t R = c->block_gpool[b] ? (size_t)(c->c_mid - c->c_gpool) : (size_t)c->c_mid;
        n += 3 * C + 9 * C * R; /* pre BN (mean, var, bias), conv1 */
        if (c->block_gpool[b]) n += 9 * C * G + 3 * G + 3 * G * R; /* conv1g, BN, linear_g */
        n += 4 * R + 9 * R * C;                                    /* mid BN with scale, conv2 */
    }
    n += 3 * C;                                                             /* tip BN */
    n += C * P1 + C * G1 + 3 * G1 + 3 * G1 * P1 + 3 * P1 + P1 * 2;          /* policy to conv2p */
    n += 3 * G1 * P1 + P1 + P1 * 2;                                         /* pass MLP */
    n += C * V1 + 3 * V1 + 3 * V1 * V2 + V2 + V2 * 3 + 3 + V2 * 6 + 6 + V1; /* value head */
    return n;
}

static const float *tensor(const tg_model_t *lm, const char *name, size_t count) {
    const tg_model_tensor_t *t = tg_model_find_tensor(lm, name);
    if (!t || t->count != count) return NULL;
    return lm->weights + t->offset;
}

TEST(structure_b2c16) {
    train_config_t c = cfg_b2c16();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, 19, 11, &err), 0);
    perturb(&m, 5);
    char path[512];
    snprintf(path, sizeof path, "%s/structure.bin.gz", g_dir);
    ASSERT_EQ(tg_export_model(&m, "b2c16-s1234-d5678", path, &err), 0);
    tg_model_t *lm = NULL;
    int rc = tg_model_load(path, &lm, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_STREQ(tg_model_name(lm), "b2c16-s1234-d5678");
    ASSERT_EQ(tg_model_version(lm), 15);
    ASSERT_EQ(tg_model_num_spatial_inputs(lm), 22);
    ASSERT_EQ(tg_model_num_global_inputs(lm), 19);
    ASSERT_EQ(tg_model_num_policy_channels(lm), 2);
    ASSERT_EQ(tg_model_num_score_values(lm), 6);
    const tg_model_multipliers_t *mu = tg_model_multipliers(lm);
    ASSERT_NEAR(mu->td_score, 20, 0);
    ASSERT_NEAR(mu->score_mean, 20, 0);
    ASSERT_NEAR(mu->score_stdev, 20, 0);
    ASSERT_NEAR(mu->lead, 20, 0);
    ASSERT_NEAR(mu->variance_time, 40, 0);
    ASSERT_NEAR(mu->shortterm_value_error, 0.25, 0);
    ASSERT_NEAR(mu->shortterm_score_error, 150, 0);
    ASSERT_EQ(lm->meta_encoder_version, 0);
    ASSERT_EQ(lm->prefer_pass_alive_under_suicide, 0);
    const tg_trunk_t *tr = &lm->trunk;
    ASSERT_EQ(tr->num_blocks, c.num_blocks);
    ASSERT_EQ(tr->trunk_channels, c.c_trunk);
    ASSERT_EQ(tr->mid_channels, c.c_mid);
    ASSERT_EQ(tr->regular_channels, c.c_mid - c.c_gpool);
    ASSERT_EQ(tr->gpool_channels, c.c_gpool);
    ASSERT_STREQ(tr->initial_conv.name, "model.conv_spatial");
    ASSERT_EQ(tr->initial_conv.ky, 3);
    ASSERT_EQ(tr->initial_conv.ic, 22);
    ASSERT_EQ(tr->initial_conv.oc, c.c_trunk);
    ASSERT_STREQ(tr->initial_matmul.name, "model.linear_global");
    for (int b = 0; b < c.num_blocks; b++) {
        const tg_block_t *bk = &tr->blocks[b];
        char want[96];
        snprintf(want, sizeof want, "model.blocks.%d", b);
        ASSERT_STREQ(bk->name, want);
        ASSERT_EQ(bk->kind, c.block_gpool[b] ? TG_BLOCK_GPOOL : TG_BLOCK_ORDINARY);
        ASSERT_EQ(bk->pre_bn.has_scale, 0);
        ASSERT_EQ(bk->mid_bn.has_scale, 1);
        ASSERT_EQ(bk->pre_act.kind, TG_ACT_RELU);
        const int R = c.block_gpool[b] ? c.c_mid - c.c_gpool : c.c_mid;
        ASSERT_EQ(bk->conv1.oc, R);
        ASSERT_EQ(bk->conv2.ic, R);
        ASSERT_EQ(bk->conv2.oc, c.c_trunk);
        snprintf(want, sizeof want, "model.blocks.%d.normactconv2.conv", b);
        ASSERT_STREQ(bk->conv2.name, want);
        if (c.block_gpool[b]) {
            snprintf(want, sizeof want, "model.blocks.%d.normactconv1.convpool.conv1r", b);
            ASSERT_STREQ(bk->conv1.name, want);
            snprintf(want, sizeof want, "model.blocks.%d.normactconv1.convpool.linear_g", b);
            ASSERT_STREQ(bk->gpool_to_bias.name, want);
            ASSERT_EQ(bk->gpool_to_bias.ic, 3 * c.c_gpool);
            ASSERT_EQ(bk->gpool_to_bias.oc, R);
        }
        /* The mid BN carries scale = 1 + gamma, bias = beta; mean 0, var 1. */
        snprintf(want, sizeof want, "model.blocks.%d.normactconv2.norm/scale", b);
        const float *sc = tensor(lm, want, (size_t)R);
        ASSERT_TRUE(sc != NULL);
        const float *gamma = m.params + m.blocks[b].gamma2.off;
        for (int i = 0; i < R; i++)
            ASSERT_NEAR(sc[i], 1.0f + gamma[i], 0);
        snprintf(want, sizeof want, "model.blocks.%d.normactconv2.norm/bias", b);
        const float *bi = tensor(lm, want, (size_t)R);
        ASSERT_TRUE(bi != NULL);
        for (int i = 0; i < R; i++)
            ASSERT_NEAR(bi[i], m.params[m.blocks[b].beta2.off + i], 0);
        ASSERT_NEAR(bk->mid_bn.mean[0], 0, 0);
        ASSERT_NEAR(bk->mid_bn.var[0], 1, 0);
        ASSERT_NEAR(bk->mid_bn.epsilon * 1e20, 1.0, 1e-6);
    }
    ASSERT_STREQ(tr->tip_bn.name, "model.norm_trunkfinal");
    ASSERT_STREQ(tr->tip_act.name, "model.act_trunkfinal");
    const tg_policy_head_t *ph = &lm->policy;
    ASSERT_STREQ(ph->name, "model.policy_head");
    ASSERT_EQ(ph->p1_conv.oc, c.c_p1);
    ASSERT_EQ(ph->g1_conv.oc, c.c_g1);
    ASSERT_EQ(ph->p2_conv.ic, c.c_p1);
    ASSERT_EQ(ph->p2_conv.oc, 2);
    ASSERT_EQ(ph->has_pass_mlp, 1);
    ASSERT_EQ(ph->pass_mul.ic, 3 * c.c_g1);
    ASSERT_EQ(ph->pass_mul.oc, c.c_p1);
    ASSERT_EQ(ph->pass_act.kind, TG_ACT_RELU);
    ASSERT_EQ(ph->pass_mul2.oc, 2);
    ASSERT_STREQ(ph->pass_mul2.name, "model.policy_head.linear_pass2");
    /* conv2p columns: file output 1 is training output 5. */
    for (int i = 0; i < c.c_p1; i++) {
        ASSERT_NEAR(ph->p2_conv.w[i * 2 + 0], m.params[m.p_conv2p.off + i * 6 + 0], 0);
        ASSERT_NEAR(ph->p2_conv.w[i * 2 + 1], m.params[m.p_conv2p.off + i * 6 + 5], 0);
    }
    const tg_value_head_t *vh = &lm->value;
    ASSERT_STREQ(vh->name, "model.value_head");
    ASSERT_EQ(vh->v1_conv.oc, c.c_v1);
    ASSERT_EQ(vh->v2_mul.ic, 3 * c.c_v1);
    ASSERT_EQ(vh->v2_mul.oc, c.c_v2);
    ASSERT_EQ(vh->v3_mul.oc, 3);
    ASSERT_EQ(vh->sv3_mul.oc, 6);
    ASSERT_EQ(vh->ownership_conv.oc, 1);
    ASSERT_STREQ(vh->sv3_mul.name, "model.value_head.linear_miscvaluehead");
    ASSERT_NEAR(vh->sv3_bias.b[3], m.params[m.v_bias_misc.off + 3], 0);
    ASSERT_NEAR(vh->sv3_bias.b[4], m.params[m.v_bias_moremisc.off + 0], 0);
    ASSERT_NEAR(vh->sv3_bias.b[5], m.params[m.v_bias_moremisc.off + 1], 0);
    ASSERT_EQ(tg_model_num_params(lm), expected_file_floats(&c));
    ASSERT_TRUE(tg_model_find_tensor(lm, "model.value_head.conv_ownership/w") != NULL);
    ASSERT_TRUE(tg_model_find_tensor(lm, "model.policy_head.linear_pass_bias/b") != NULL);
    ASSERT_TRUE(tg_model_find_tensor(lm, "model.value_head.linear_s2/w") == NULL);
    tg_model_free(lm);
    train_model_free(&m);
}

/* The first tokens of the image, byte for byte (formats.md §1.13's v15 checklist). */
TEST(header_bytes) {
    train_config_t c = cfg_b1c8();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, 9, 1, &err), 0);
    unsigned char *img = NULL;
    size_t len = 0;
    ASSERT_EQ(tg_export_model_bytes(&m, "hdr", &img, &len, &err), 0);
    const char *want = "hdr\n15\n22\n19\n20.0\n20.0\n20.0\n20.0\n40.0\n0.25\n150.0\n"
                       "0\n0\n0\n0\n0\n0\n0\n0\n"
                       "trunk\n1\n8\n8\n4\n4\n4\n0\n0\n0\n0\n0\n0\n"
                       "model.conv_spatial\n3\n3\n22\n8\n1\n1\n@BIN@";
    ASSERT_TRUE(len > strlen(want));
    ASSERT_TRUE(memcmp(img, want, strlen(want)) == 0);
    /* The conv block: 3*3*22*8 little-endian floats, then "\n" and the next record. */
    size_t off = strlen(want);
    float w0;
    unsigned char le[4] = {img[off], img[off + 1], img[off + 2], img[off + 3]};
    uint32_t u =
        (uint32_t)le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 | (uint32_t)le[3] << 24;
    memcpy(&w0, &u, 4);
    ASSERT_NEAR(w0, m.params[m.conv_spatial.off], 0);
    off += 4 * 3 * 3 * 22 * 8;
    ASSERT_TRUE(memcmp(img + off, "\nmodel.linear_global\n19\n8\n@BIN@", 31) == 0);
    /* It ends with the ownership conv: 1x1, V1 -> 1, then "\n". */
    ASSERT_EQ(img[len - 1], '\n');
    free(img);
    train_model_free(&m);
}

/* ---- 3. round trips ------------------------------------------------------------------------ */

TEST(roundtrip_fresh_b2c16_19) {
    train_config_t c = cfg_b2c16();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, 19, 3, &err), 0);
    double e = roundtrip(&m, "fresh19.bin.gz", 19, 4, 100);
    ASSERT_TRUE(e <= ROUNDTRIP_TOL);
    train_model_free(&m);
}

TEST(roundtrip_perturbed_b1c8_9) {
    train_config_t c = cfg_b1c8();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, 9, 4, &err), 0);
    perturb(&m, 41);
    for (size_t i = 0; i < m.num_params; i++)
        if (m.params[i] == 0.0f) {
            /* only alignment padding between tensors may be zero */
            int in_tensor = 0;
            for (int t = 0; t < m.num_tensors; t++)
                in_tensor |=
                    i >= m.tensors[t].offset && i < m.tensors[t].offset + m.tensors[t].count;
            ASSERT_TRUE(!in_tensor);
        }
    double e = roundtrip(&m, "b1c8_9.bin.gz", 9, 6, 200);
    ASSERT_TRUE(e <= ROUNDTRIP_TOL);
    train_model_free(&m);
}

TEST(roundtrip_perturbed_b2c16_9) {
    train_config_t c = cfg_b2c16();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, 9, 5, &err), 0);
    perturb(&m, 42);
    double e = roundtrip(&m, "b2c16_9.bin.gz", 9, 6, 300);
    ASSERT_TRUE(e <= ROUNDTRIP_TOL);
    train_model_free(&m);
}

TEST(roundtrip_perturbed_b2c16_19) {
    train_config_t c = cfg_b2c16();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, 19, 6, &err), 0);
    perturb(&m, 43);
    double e = roundtrip(&m, "b2c16_19.bin", 19, 4, 400);
    ASSERT_TRUE(e <= ROUNDTRIP_TOL);
    /* The same file evaluated on a smaller tensor (weights do not depend on the length). */
    e = roundtrip(&m, "b2c16_19b.bin.gz", 13, 3, 401);
    ASSERT_TRUE(e <= ROUNDTRIP_TOL);
    train_model_free(&m);
}

TEST(roundtrip_perturbed_b1c8_19) {
    train_config_t c = cfg_b1c8();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, 19, 7, &err), 0);
    perturb(&m, 44);
    double e = roundtrip(&m, "b1c8_19.bin.gz", 19, 5, 500);
    ASSERT_TRUE(e <= ROUNDTRIP_TOL);
    train_model_free(&m);
}

/* ---- 4. train_infer_forward vs net.c ------------------------------------------------------- */

TEST(infer_matches_training_forward) {
    const int L = 9, hw = L * L, n = 4;
    train_config_t c = cfg_b2c16();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, L, 8, &err), 0);
    perturb(&m, 45);
    float *spatial = calloc((size_t)n * 22 * hw, sizeof(float));
    float *global = calloc((size_t)n * 19, sizeof(float));
    random_positions(n, L, 600, spatial, global);
    /* The training forward takes NHWC inputs and targets (any valid ones: only the outputs
     * are compared). */
    float *nhwc = calloc((size_t)n * hw * 22, sizeof(float));
    float *mask = calloc((size_t)n * hw, sizeof(float)), msum[4];
    float *pol_t = calloc((size_t)n * 2 * (hw + 1), sizeof(float));
    float *gt = calloc((size_t)n * TRAINROWS_GLOBAL_TARGETS, sizeof(float));
    float *score = calloc((size_t)n * m.score_len, sizeof(float));
    float *owner = calloc((size_t)n * hw, sizeof(float));
    for (int s = 0; s < n; s++) {
        msum[s] = 0;
        for (int p = 0; p < hw; p++) {
            for (int ch = 0; ch < 22; ch++)
                nhwc[((size_t)s * hw + p) * 22 + ch] = spatial[((size_t)s * 22 + ch) * hw + p];
            mask[s * hw + p] = spatial[(size_t)s * 22 * hw + p];
            msum[s] += mask[s * hw + p];
        }
        pol_t[(size_t)s * 2 * (hw + 1)] = 1.0f;
        score[(size_t)s * m.score_len + m.score_len / 2] = 100.0f;
        gt[(size_t)s * TRAINROWS_GLOBAL_TARGETS + 0] = 1.0f;
    }
    train_slice_t sl = {.n = n,
                        .spatial = nhwc,
                        .global = global,
                        .mask = mask,
                        .mask_sum = msum,
                        .policy = pol_t,
                        .gtargets = gt,
                        .score = score,
                        .owner = owner};
    train_net_t *net = NULL;
    ASSERT_EQ(train__net_create(&net, &m, n), 0);
    double loss[TRAIN_LOSS_COUNT] = {0};
    train__net_forward_loss(net, &m, &sl, loss);
    outputs_t o;
    outputs_alloc(&o, n, hw);
    train_infer_out_t to = {o.policy, o.pass, o.value, o.misc, o.moremisc, o.own};
    ASSERT_EQ(train_infer_forward(&m, n, L, spatial, global, &to, &err), 0);
    double e = 0;
    for (int s = 0; s < n; s++) {
        const float *pl = train__net_policy(net, s), *pp = train__net_pass(net, s);
        for (int k = 0; k < 6; k++) {
            e = fmax(e,
                     max_scaled_err(o.policy + ((size_t)s * 6 + k) * hw, pl + k, hw, 1, 6, NULL));
            e = fmax(e, max_scaled_err(o.pass + (size_t)s * 6 + k, pp + k, 1, 1, 1, NULL));
        }
    }
    printf("  infer vs training forward: scaled max err %.2e\n", e);
    ASSERT_TRUE(e <= 1e-5);
    train__net_destroy(net);
    outputs_free(&o);
    free(spatial), free(global), free(nhwc), free(mask), free(pol_t), free(gt), free(score);
    free(owner);
    train_model_free(&m);
}

/* ---- 5. .bin vs .bin.gz -------------------------------------------------------------------- */

TEST(bin_and_gzip_hold_the_same_image) {
    train_config_t c = cfg_b1c8();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, 9, 9, &err), 0);
    perturb(&m, 46);
    unsigned char *img = NULL;
    size_t len = 0;
    ASSERT_EQ(tg_export_model_bytes(&m, "same", &img, &len, &err), 0);
    char pbin[512], pgz[512], pgz2[512];
    snprintf(pbin, sizeof pbin, "%s/same.bin", g_dir);
    snprintf(pgz, sizeof pgz, "%s/same.bin.gz", g_dir);
    snprintf(pgz2, sizeof pgz2, "%s/same2.bin.gz", g_dir);
    ASSERT_EQ(tg_export_model(&m, "same", pbin, &err), 0);
    ASSERT_EQ(tg_export_model(&m, "same", pgz, &err), 0);
    ASSERT_EQ(tg_export_model(&m, "same", pgz2, &err), 0);
    char *raw = NULL, *gz = NULL, *gz2 = NULL;
    size_t raw_len = 0, gz_len = 0, gz2_len = 0;
    ASSERT_EQ(tg_file_read_all(pbin, 1 << 26, &raw, &raw_len, &err), 0);
    ASSERT_EQ(tg_file_read_all(pgz, 1 << 26, &gz, &gz_len, &err), 0);
    ASSERT_EQ(tg_file_read_all(pgz2, 1 << 26, &gz2, &gz2_len, &err), 0);
    ASSERT_EQ(raw_len, len);
    ASSERT_TRUE(memcmp(raw, img, len) == 0);
    ASSERT_TRUE(gz_len > 18 && (unsigned char)gz[0] == 0x1f && (unsigned char)gz[1] == 0x8b);
    ASSERT_TRUE(gz_len < raw_len);
    ASSERT_EQ(gz2_len, gz_len); /* deterministic: no time stamp */
    ASSERT_TRUE(memcmp(gz, gz2, gz_len) == 0);
    /* Plain zlib gunzip of the file gives the image back. */
    unsigned char *un = malloc(len + 16);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (Bytef *)gz;
    zs.avail_in = (uInt)gz_len;
    zs.next_out = un;
    zs.avail_out = (uInt)(len + 16);
    int zrc = inflate(&zs, Z_FINISH);
    size_t un_len = zs.total_out;
    inflateEnd(&zs);
    ASSERT_EQ(zrc, Z_STREAM_END);
    ASSERT_EQ(un_len, len);
    ASSERT_TRUE(memcmp(un, img, len) == 0);
    /* And both files load to the same weights. */
    tg_model_t *a = NULL, *b = NULL;
    ASSERT_EQ(tg_model_load(pbin, &a, &err), 0);
    ASSERT_EQ(tg_model_load(pgz, &b, &err), 0);
    ASSERT_EQ(a->num_weights, b->num_weights);
    ASSERT_TRUE(memcmp(a->weights, b->weights, a->num_weights * sizeof(float)) == 0);
    tg_model_free(a), tg_model_free(b);
    free(un), free(raw), free(gz), free(gz2), free(img);
    train_model_free(&m);
}

/* ---- 6. refusals --------------------------------------------------------------------------- */

TEST(refusals_leave_no_file) {
    train_config_t c = cfg_b1c8();
    train_model_t m;
    tg_err_t err;
    ASSERT_EQ(train_model_init(&m, &c, 9, 10, &err), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/no/such/dir/model.bin.gz", g_dir);
    ASSERT_EQ(tg_export_model(&m, "x", path, &err), TG_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "does not exist");
    ASSERT_CONTAINS(err.msg, "no/such/dir");
    ASSERT_TRUE(!file_exists(path));

    snprintf(path, sizeof path, "%s/model.txt", g_dir);
    ASSERT_EQ(tg_export_model(&m, "x", path, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, ".bin");
    ASSERT_TRUE(!file_exists(path));
    /* KataGo parses a .txt.gz file as text: a binary export under that name would not load. */
    snprintf(path, sizeof path, "%s/model.txt.gz", g_dir);
    ASSERT_EQ(tg_export_model(&m, "x", path, &err), TG_EINVAL);
    ASSERT_TRUE(!file_exists(path));

    snprintf(path, sizeof path, "%s/badname.bin.gz", g_dir);
    ASSERT_EQ(tg_export_model(&m, "bad name", path, &err), TG_EINVAL);
    ASSERT_TRUE(!file_exists(path));

    /* Channel counts KataGo would refuse (regular channels = mid - gpool must be positive). */
    train_config_t nogp = c;
    nogp.c_gpool = nogp.c_mid;
    train_model_t m2 = m;
    m2.cfg = nogp;
    unsigned char *bytes = NULL;
    size_t nbytes = 0;
    ASSERT_EQ(tg_export_model_bytes(&m2, "x", &bytes, &nbytes, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "gpool");
    ASSERT_TRUE(bytes == NULL);

    m.params[m.blocks[0].conv2.off + 3] = NAN;
    snprintf(path, sizeof path, "%s/nan.bin.gz", g_dir);
    ASSERT_EQ(tg_export_model(&m, "nan", path, &err), TG_ERANGE);
    ASSERT_CONTAINS(err.msg, "model.blocks.0.normactconv2.conv");
    ASSERT_TRUE(!file_exists(path));
    m.params[m.blocks[0].conv2.off + 3] = INFINITY;
    ASSERT_EQ(tg_export_model(&m, "inf", path, &err), TG_ERANGE);
    ASSERT_TRUE(!file_exists(path));
    train_model_free(&m);
}

/* ---- 7. checkpoints ------------------------------------------------------------------------ */

static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

TEST(checkpoint_export) {
    train_config_t c = cfg_b1c8();
    train_options_t o;
    train_options_default(&o, &c);
    o.pos_len = 9;
    o.batch = 2;
    trainer_t *t = NULL;
    tg_err_t err;
    ASSERT_EQ(trainer_create(&t, &o, &err), 0);
    train_model_t *m = trainer_model(t);
    perturb(m, 47);
    char ckpt[512], out[512], direct[512];
    snprintf(ckpt, sizeof ckpt, "%s/trainer.ckpt", g_dir);
    snprintf(out, sizeof out, "%s/fromckpt.bin.gz", g_dir);
    snprintf(direct, sizeof direct, "%s/direct.bin", g_dir);
    ASSERT_EQ(trainer_save(t, ckpt, &err), 0);
    ASSERT_EQ(tg_export_model(m, "b1c8-s0-d77", direct, &err), 0);

    train_ckpt_info_t info;
    ASSERT_EQ(train_checkpoint_peek(ckpt, &info, &err), 0);
    ASSERT_STREQ(info.cfg.name, "b1c8");
    ASSERT_EQ(info.pos_len, 9);
    ASSERT_EQ(info.samples, 0);

    tg_export_result_t res;
    int rc = tg_export_checkpoint(ckpt, NULL, NULL, 77, out, 1, &res, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_STREQ(res.name, "b1c8-s0-d77");
    tg_model_t *a = NULL, *b = NULL;
    ASSERT_EQ(tg_model_load(out, &a, &err), 0);
    ASSERT_EQ(tg_model_load(direct, &b, &err), 0);
    ASSERT_STREQ(tg_model_name(a), "b1c8-s0-d77");
    ASSERT_EQ(a->num_weights, b->num_weights);
    ASSERT_TRUE(memcmp(a->weights, b->weights, a->num_weights * sizeof(float)) == 0);
    tg_model_free(a), tg_model_free(b);
    ASSERT_EQ(tg_export_checkpoint(ckpt, "given-name", NULL, 0, out, 1, &res, &err), 0);
    ASSERT_STREQ(res.name, "given-name");
    ASSERT_EQ(tg_export_checkpoint(ckpt, NULL, "run7", 5, out, 1, &res, &err), 0);
    ASSERT_STREQ(res.name, "run7-s0-d5");

    /* Corruptions: each must fail with a message naming the file, and write nothing. */
    char *buf = NULL;
    size_t len = 0;
    ASSERT_EQ(tg_file_read_all(ckpt, 1 << 28, &buf, &len, &err), 0);
    char bad[512], bad_out[512];
    snprintf(bad, sizeof bad, "%s/bad.ckpt", g_dir);
    snprintf(bad_out, sizeof bad_out, "%s/bad.bin.gz", g_dir);

    ASSERT_EQ(write_bytes(bad, buf, len / 2), 0); /* truncated */
    rc = tg_export_checkpoint(bad, "x", NULL, 0, bad_out, 1, NULL, &err);
    ASSERT_TRUE(rc < 0);
    ASSERT_CONTAINS(err.msg, "bad.ckpt");
    printf("  truncated: %s\n", err.msg);

    ASSERT_EQ(write_bytes(bad, buf, 10), 0); /* header cut */
    ASSERT_EQ(tg_export_checkpoint(bad, "x", NULL, 0, bad_out, 1, NULL, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "truncated");

    buf[len - 100] ^= 0x10; /* one flipped bit in the weights */
    ASSERT_EQ(write_bytes(bad, buf, len), 0);
    rc = tg_export_checkpoint(bad, "x", NULL, 0, bad_out, 1, NULL, &err);
    ASSERT_EQ(rc, TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "checksum");
    buf[len - 100] ^= 0x10;

    memcpy(buf, "NOPE", 4); /* foreign file */
    ASSERT_EQ(write_bytes(bad, buf, len), 0);
    ASSERT_EQ(tg_export_checkpoint(bad, "x", NULL, 0, bad_out, 1, NULL, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "not a tengen checkpoint");
    memcpy(buf, "TGCK", 4);

    /* A config that cannot exist (40000 trunk channels) is refused before any allocation. */
    train_config_t *hc = (train_config_t *)(buf + 8);
    hc->c_trunk = 40000;
    ASSERT_EQ(write_bytes(bad, buf, len), 0);
    ASSERT_EQ(tg_export_checkpoint(bad, "x", NULL, 0, bad_out, 1, NULL, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "config");

    snprintf(bad, sizeof bad, "%s/missing.ckpt", g_dir);
    ASSERT_EQ(tg_export_checkpoint(bad, "x", NULL, 0, bad_out, 1, NULL, &err), TG_EIO);
    ASSERT_CONTAINS(err.msg, "missing.ckpt");
    ASSERT_TRUE(!file_exists(bad_out));
    free(buf);
    trainer_destroy(t);
}

/* ---- 8. SWA ------------------------------------------------------------------------------- */

TEST(checkpoint_export_swa) {
    train_config_t c = cfg_b1c8();
    train_options_t o;
    train_options_default(&o, &c);
    o.pos_len = 9;
    o.batch = 2;
    o.warmup = 0;
    o.lr_per_sample = 1e-3;
    o.lookahead_k = 3;
    o.swa = 1;
    o.swa_period_samples = 4;
    trainer_t *t = NULL;
    tg_err_t err;
    ASSERT_EQ(trainer_create(&t, &o, &err), 0);
    train_model_t *m = trainer_model(t);
    perturb(m, 48); /* non-zero everywhere, so the comparison below covers every tensor */
    trainrows_t rows;
    ASSERT_EQ(trainrows_init(&rows, 9, 8, &err), 0);
    testdata_fill(&rows, 8, 5);
    const trainrows_t *ds[1] = {&rows};
    for (int s = 0; s < 10; s++)
        ASSERT_EQ(trainer_step(t, ds, 1, NULL, &err), 0);
    ASSERT_EQ(trainer_swa_updates(t), 3); /* snapshots at steps 3, 6, 9 */
    train_model_t avg, raw;
    ASSERT_EQ(trainer_model_for_export(t, 1, &avg), 1);
    ASSERT_EQ(trainer_model_for_export(t, 0, &raw), 0);
    ASSERT_TRUE(avg.params == trainer_swa_params(t) && raw.params == m->params);
    size_t differ = 0;
    for (size_t i = 0; i < m->num_params; i++)
        differ += avg.params[i] != raw.params[i];
    printf("  %zu of %zu SWA weights differ from the raw weights\n", differ, m->num_params);
    ASSERT_TRUE(differ > m->num_params / 2);

    char ckpt[512], out[512];
    snprintf(ckpt, sizeof ckpt, "%s/swa.ckpt", g_dir);
    snprintf(out, sizeof out, "%s/swa.bin.gz", g_dir);
    ASSERT_EQ(trainer_save(t, ckpt, &err), 0);
    train_ckpt_info_t info;
    ASSERT_EQ(train_checkpoint_peek(ckpt, &info, &err), 0);
    ASSERT_EQ(info.version, 2);
    ASSERT_EQ(info.swa_updates, 3);

    tg_export_result_t res;
    ASSERT_EQ(tg_export_checkpoint(ckpt, NULL, NULL, 9, out, 1, &res, &err), 0);
    ASSERT_STREQ(res.name, "b1c8-s20-d9");
    ASSERT_EQ(res.swa, 1);
    ASSERT_EQ(res.swa_updates, 3);
    ASSERT_EQ(export_test_same_weights(out, &avg, g_dir), 0);
    ASSERT_NE(export_test_same_weights(out, &raw, g_dir), 0);
    tg_model_t *lm = NULL;
    ASSERT_EQ(tg_model_load(out, &lm, &err), 0);
    const double e = compare_outputs(lm, &avg, 6, 9, 91); /* the file computes the average */
    tg_model_free(lm);
    ASSERT_TRUE(e < ROUNDTRIP_TOL);

    ASSERT_EQ(tg_export_checkpoint(ckpt, NULL, NULL, 9, out, 0, &res, &err), 0);
    ASSERT_EQ(res.swa, 0);
    ASSERT_EQ(export_test_same_weights(out, &raw, g_dir), 0);

    /* The in-process net of the checkpoint makes the same choice. */
    trainer_t *back = NULL;
    ASSERT_EQ(train_checkpoint_open(ckpt, &back, &err), 0);
    train_model_t bv;
    ASSERT_EQ(trainer_model_for_export(back, 1, &bv), 1);
    ASSERT_TRUE(memcmp(bv.params, avg.params, m->num_params * sizeof(float)) == 0);
    ASSERT_EQ(trainer_model_for_export(back, 0, &bv), 0);
    ASSERT_TRUE(memcmp(bv.params, raw.params, m->num_params * sizeof(float)) == 0);
    trainer_destroy(back);
    trainrows_free(&rows);
    trainer_destroy(t);
}

int main(void) {
    make_tmpdir();
    RUN(model_names);
    RUN(structure_b2c16);
    RUN(header_bytes);
    RUN(roundtrip_fresh_b2c16_19);
    RUN(roundtrip_perturbed_b1c8_9);
    RUN(roundtrip_perturbed_b2c16_9);
    RUN(roundtrip_perturbed_b2c16_19);
    RUN(roundtrip_perturbed_b1c8_19);
    RUN(infer_matches_training_forward);
    RUN(bin_and_gzip_hold_the_same_image);
    RUN(refusals_leave_no_file);
    RUN(checkpoint_export);
    RUN(checkpoint_export_swa);
    rm_tmpdir();
    TEST_MAIN_END();
}
