/* test_model_v15.c: a synthetic version-15 net exercising what the v8 fixture lacks.
 *
 * The test writes a tiny .bin image in memory (formats.md §1.13 token order): 7 header
 * multipliers, the 8 v15 header ints, the 6 trunk ints, activation kind tokens (mish, silu,
 * identity, relu), a nested bottleneck block holding a gpool block, P = 2 policy channels, the
 * v15 pass MLP and S = 6 score values. It then loads it, checks the structure, and checks the
 * forward pass for finiteness, batch == singles, thread-count independence and small-board
 * embedding. A reserved int set to 1 must be refused. */
#include <stdint.h>

#include "nn/nn.h"
#include "test.h"
#include "util/rng.h"

typedef struct {
    char *buf;
    size_t len, cap;
    tg_rng_t rng;
} writer_t;

static void w_bytes(writer_t *w, const void *p, size_t n) {
    if (w->len + n > w->cap) {
        w->cap = (w->len + n) * 2;
        w->buf = realloc(w->buf, w->cap);
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}
static void w_tok(writer_t *w, const char *t) {
    w_bytes(w, t, strlen(t));
    w_bytes(w, "\n", 1);
}
static void w_int(writer_t *w, int v) {
    char t[32];
    snprintf(t, sizeof t, "%d", v);
    w_tok(w, t);
}
static void w_floats(writer_t *w, size_t n, float lo, float hi) {
    w_bytes(w, "@BIN@", 5);
    for (size_t i = 0; i < n; i++) {
        float f = lo + (hi - lo) * (float)tg_rng_uniform(&w->rng);
        w_bytes(w, &f, 4); /* little-endian host */
    }
    w_bytes(w, "\n", 1);
}
static void w_conv(writer_t *w, const char *name, int k, int ic, int oc) {
    w_tok(w, name);
    w_int(w, k), w_int(w, k), w_int(w, ic), w_int(w, oc), w_int(w, 1), w_int(w, 1);
    float s = 1.0f / sqrtf((float)(k * k * ic));
    w_floats(w, (size_t)k * k * ic * oc, -s, s);
}
static void w_bn(writer_t *w, const char *name, int c) {
    w_tok(w, name);
    w_int(w, c);
    w_tok(w, "1e-05");
    w_int(w, 1), w_int(w, 1);
    w_floats(w, c, -0.1f, 0.1f); /* mean */
    w_floats(w, c, 0.5f, 1.5f);  /* variance */
    w_floats(w, c, 0.5f, 1.5f);  /* scale */
    w_floats(w, c, -0.2f, 0.2f); /* bias */
}
static void w_act(writer_t *w, const char *name, const char *kind) {
    w_tok(w, name);
    w_tok(w, kind);
}
static void w_mat(writer_t *w, const char *name, int ic, int oc) {
    w_tok(w, name);
    w_int(w, ic), w_int(w, oc);
    float s = 1.0f / sqrtf((float)ic);
    w_floats(w, (size_t)ic * oc, -s, s);
}
static void w_bias(writer_t *w, const char *name, int c) {
    w_tok(w, name);
    w_int(w, c);
    w_floats(w, c, -0.2f, 0.2f);
}

/* Writes the net; reserved = value of the first reserved header int (0 for a valid file). */
static writer_t make_net(int reserved) {
    writer_t w = {0};
    tg_rng_seed(&w.rng, 5, 0);
    w_tok(&w, "tiny-v15"), w_int(&w, 15), w_int(&w, 22), w_int(&w, 19);
    const char *mult[7] = {"20.0", "20.0", "20.0", "20.0", "40.0", "0.25", "150.0"};
    for (int i = 0; i < 7; i++)
        w_tok(&w, mult[i]);
    w_int(&w, 0), w_int(&w, 0), w_int(&w, reserved);
    for (int i = 0; i < 5; i++)
        w_int(&w, 0);
    w_tok(&w, "trunk"), w_int(&w, 2), w_int(&w, 8), w_int(&w, 8), w_int(&w, 4), w_int(&w, 4),
        w_int(&w, 4);
    for (int i = 0; i < 6; i++)
        w_int(&w, 0);
    w_conv(&w, "model.conv_spatial", 3, 22, 8);
    w_mat(&w, "model.linear_global", 19, 8);
    /* Block 0: nested bottleneck 8 -> 6 holding one gpool block. */
    w_tok(&w, "nested_bottleneck_block"), w_tok(&w, "b0"), w_int(&w, 1);
    w_bn(&w, "b0.pre.norm", 8), w_act(&w, "b0.pre.act", "ACTIVATION_MISH");
    w_conv(&w, "b0.pre.conv", 1, 8, 6);
    w_tok(&w, "gpool_block"), w_tok(&w, "b0.s0");
    w_bn(&w, "b0.s0.norm1", 6), w_act(&w, "b0.s0.act1", "ACTIVATION_SILU");
    w_conv(&w, "b0.s0.conv1r", 3, 6, 4);
    w_conv(&w, "b0.s0.conv1g", 3, 6, 2);
    w_bn(&w, "b0.s0.normg", 2), w_act(&w, "b0.s0.actg", "ACTIVATION_RELU");
    w_mat(&w, "b0.s0.linear_g", 6, 4);
    w_bn(&w, "b0.s0.norm2", 4), w_act(&w, "b0.s0.act2", "ACTIVATION_MISH");
    w_conv(&w, "b0.s0.conv2", 3, 4, 6);
    w_bn(&w, "b0.post.norm", 6), w_act(&w, "b0.post.act", "ACTIVATION_RELU");
    w_conv(&w, "b0.post.conv", 1, 6, 8);
    /* Block 1: ordinary. */
    w_tok(&w, "ordinary_block"), w_tok(&w, "b1");
    w_bn(&w, "b1.norm1", 8), w_act(&w, "b1.act1", "ACTIVATION_RELU");
    w_conv(&w, "b1.conv1", 3, 8, 8);
    w_bn(&w, "b1.norm2", 8), w_act(&w, "b1.act2", "ACTIVATION_IDENTITY");
    w_conv(&w, "b1.conv2", 3, 8, 8);
    w_bn(&w, "model.norm_trunkfinal", 8), w_act(&w, "model.act_trunkfinal", "ACTIVATION_RELU");
    /* Policy head, P = 2, pass MLP. */
    w_tok(&w, "model.policy_head");
    w_conv(&w, "ph.conv1p", 1, 8, 4);
    w_conv(&w, "ph.conv1g", 1, 8, 3);
    w_bn(&w, "ph.biasg", 3), w_act(&w, "ph.actg", "ACTIVATION_MISH");
    w_mat(&w, "ph.linear_g", 9, 4);
    w_bn(&w, "ph.bias2", 4), w_act(&w, "ph.act2", "ACTIVATION_RELU");
    w_conv(&w, "ph.conv2p", 1, 4, 2);
    w_mat(&w, "ph.linear_pass", 9, 4);
    w_bias(&w, "ph.linear_pass_bias", 4);
    w_act(&w, "ph.act_pass", "ACTIVATION_SILU");
    w_mat(&w, "ph.linear_pass2", 4, 2);
    /* Value head, S = 6. */
    w_tok(&w, "model.value_head");
    w_conv(&w, "vh.conv1", 1, 8, 3);
    w_bn(&w, "vh.bias1", 3), w_act(&w, "vh.act1", "ACTIVATION_RELU");
    w_mat(&w, "vh.linear2", 9, 5);
    w_bias(&w, "vh.bias2", 5), w_act(&w, "vh.act2", "ACTIVATION_MISH");
    w_mat(&w, "vh.linear_valuehead", 5, 3);
    w_bias(&w, "vh.bias_valuehead", 3);
    w_mat(&w, "vh.linear_miscvaluehead", 5, 6);
    w_bias(&w, "vh.bias_miscvaluehead", 6);
    w_conv(&w, "vh.conv_ownership", 1, 3, 1);
    return w;
}

TEST(load_structure) {
    writer_t w = make_net(0);
    tg_model_t *m;
    tg_err_t err;
    int rc = tg_model_load_bytes(w.buf, w.len, "tiny.bin", &m, &err);
    if (rc < 0) TEST__FAIL("load: %s", err.msg);
    ASSERT_EQ(tg_model_version(m), 15);
    ASSERT_EQ(tg_model_num_policy_channels(m), 2);
    ASSERT_EQ(tg_model_num_score_values(m), 6);
    ASSERT_NEAR(tg_model_multipliers(m)->shortterm_score_error, 150.0, 0);
    ASSERT_EQ(m->max_nesting, 1);
    ASSERT_EQ(m->trunk.blocks[0].kind, TG_BLOCK_NESTED);
    ASSERT_EQ(m->trunk.blocks[0].num_blocks, 1);
    ASSERT_EQ(m->trunk.blocks[0].blocks[0].kind, TG_BLOCK_GPOOL);
    ASSERT_EQ(m->trunk.blocks[0].pre_act.kind, TG_ACT_MISH);
    ASSERT_EQ(m->trunk.blocks[0].blocks[0].pre_act.kind, TG_ACT_SILU);
    ASSERT_EQ(m->trunk.blocks[1].mid_act.kind, TG_ACT_IDENTITY);
    ASSERT_EQ(m->policy.has_pass_mlp, 1);
    ASSERT_EQ(m->policy.pass_mul2.oc, 2);
    ASSERT_TRUE(tg_model_find_tensor(m, "b0.s0.linear_g/w") != NULL);
    tg_model_free(m);
    free(w.buf);

    w = make_net(1);
    ASSERT_EQ(tg_model_load_bytes(w.buf, w.len, "tiny.bin", &m, &err), TG_EFORMAT);
    ASSERT_CONTAINS(err.msg, "reserved");
    free(w.buf);
}

TEST(forward_consistency) {
    writer_t w = make_net(0);
    tg_model_t *m;
    tg_err_t err;
    ASSERT_EQ(tg_model_load_bytes(w.buf, w.len, "tiny.bin", &m, &err), 0);
    free(w.buf);
    const tg_nn_backend_t *be = tg_nn_backend_cpu();
    tg_rng_t rng;
    tg_rng_seed(&rng, 3, 0);
    enum { L = 11, HW = L * L };
    static float sp[2 * 22 * HW], gl[2 * 19], small[22 * 25];
    memset(sp, 0, sizeof sp);
    for (int s = 0; s < 2; s++) {
        int b = s == 0 ? L : 5; /* sample 1: a 5x5 board top-left */
        for (int y = 0; y < b; y++)
            for (int x = 0; x < b; x++) {
                sp[s * 22 * HW + y * L + x] = 1.0f;
                for (int c = 1; c < 22; c++)
                    if (tg_rng_below(&rng, 4) == 0) sp[s * 22 * HW + c * HW + y * L + x] = 1.0f;
            }
        for (int i = 0; i < 19; i++)
            gl[s * 19 + i] = (float)(tg_rng_uniform(&rng) - 0.5);
    }
    for (int c = 0; c < 22; c++)
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 5; x++)
                small[c * 25 + y * 5 + x] = sp[22 * HW + c * HW + y * L + x];
    tg_nn_raw_t ref, out;
    ASSERT_EQ(tg_nn_raw_alloc(&ref, m, 2, &err), 0);
    ASSERT_EQ(tg_nn_raw_alloc(&out, m, 2, &err), 0);
    void *ctx;
    ASSERT_EQ(be->create(m, 2, 1, &ctx, &err), 0);
    ASSERT_EQ(be->forward(ctx, 2, L, sp, gl, &ref, &err), 0);
    be->destroy(ctx);
    for (int i = 0; i < 2 * 2 * HW; i++)
        ASSERT_TRUE(isfinite(ref.policy[i]));
    for (int i = 0; i < 2 * 6; i++)
        ASSERT_TRUE(isfinite(ref.score[i]));
    ASSERT_TRUE(ref.policy_pass[0] != ref.policy_pass[1]); /* two distinct pass outputs */
    for (int threads = 2; threads <= 3; threads++) {
        ASSERT_EQ(be->create(m, 2, threads, &ctx, &err), 0);
        /* Singles, then the batch. */
        for (int s = 0; s < 2; s++) {
            ASSERT_EQ(be->forward(ctx, 1, L, sp + s * 22 * HW, gl + s * 19, &out, &err), 0);
            for (int i = 0; i < 2 * HW; i++)
                ASSERT_NEAR(out.policy[i], ref.policy[s * 2 * HW + i], 1e-5);
            for (int i = 0; i < 6; i++)
                ASSERT_NEAR(out.score[i], ref.score[s * 6 + i], 1e-5);
            for (int i = 0; i < 2; i++)
                ASSERT_NEAR(out.policy_pass[i], ref.policy_pass[s * 2 + i], 1e-5);
        }
        /* The 5x5 board on a 5x5 tensor matches its on-board outputs in the 11x11 tensor. */
        ASSERT_EQ(be->forward(ctx, 1, 5, small, gl + 19, &out, &err), 0);
        for (int k = 0; k < 2; k++)
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 5; x++)
                    ASSERT_NEAR(out.policy[k * 25 + y * 5 + x],
                                ref.policy[(2 + k) * HW + y * L + x], 1e-5);
        for (int i = 0; i < 3; i++)
            ASSERT_NEAR(out.value[i], ref.value[3 + i], 1e-5);
        be->destroy(ctx);
    }
    tg_nn_raw_free(&ref);
    tg_nn_raw_free(&out);
    tg_model_free(m);
}

int main(void) {
    RUN(load_structure);
    RUN(forward_consistency);
    TEST_MAIN_END();
}
