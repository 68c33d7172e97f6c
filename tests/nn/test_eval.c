/* test_eval.c: KataGo's output post-processing (tg_nn_postprocess) on hand-made raw outputs,
 * and the exact kata-raw-nn text of tg_nn_format_raw.
 *
 * Expected numbers are computed here from the formulas of formats.md §3 in double precision:
 * softmax over legal moves with -1 for illegal ones, the no-result suppression rule,
 * White-perspective flips, score scaling with (1 - noResult), v8's absent heads as -1, v9+
 * short-term error forms, and ownership tanh with the sign of the player to move. */
#include <math.h>
#include <string.h>

#include "game/game.h"
#include "nn/eval.h"
#include "test.h"

static tg_model_t fake_model(int version, int num_scores) {
    tg_model_t m;
    memset(&m, 0, sizeof(m));
    m.version = version;
    m.num_spatial_inputs = 22;
    m.num_global_inputs = 19;
    m.num_score_values = num_scores;
    m.mult.td_score = 20;
    m.mult.score_mean = 20;
    m.mult.score_stdev = 20;
    m.mult.lead = 20;
    m.mult.variance_time = 40;
    m.mult.shortterm_value_error = 0.25f;
    m.mult.shortterm_score_error = 150.0f;
    return m;
}

static double softplus(double x) { return x > 40 ? x : log(1 + exp(x)); }

static tg_rules_t rules_named(const char *name) {
    tg_rules_t r;
    tg_err_t err;
    TG_ASSERT(tg_rules_parse(name, &r, &err) == 0);
    return r;
}

TEST(policy_softmax_and_illegal_points) {
    static tg_game_t g;
    tg_rules_t r = rules_named("tromp-taylor");
    tg_game_init(&g, 3, &r);
    tg_err_t err;
    ASSERT_EQ(tg_game_play(&g, tg_loc(1, 1), TG_BLACK, &err), 0); /* White to move */
    tg_model_t m = fake_model(8, 4);
    float logits[4 * 4];
    for (int i = 0; i < 16; i++)
        logits[i] = 100.0f; /* off-board cells must be ignored */
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
            logits[y * 4 + x] = 0.1f * (float)(y * 3 + x);
    float value[3] = {0.5f, -0.25f, 1.0f}, score[4] = {0.1f, -0.3f, 0.05f, 0.7f}, own[16] = {0};
    own[0] = 0.5f;
    tg_nn_output_t out;
    tg_nn_postprocess(&m, &g, 4, logits, -0.5f, value, score, own, &out);
    ASSERT_EQ(out.board_size, 3);
    double sum = exp(-0.5);
    for (int i = 0; i < 9; i++)
        if (i != 4) sum += exp(0.1 * i);
    for (int i = 0; i < 9; i++) {
        if (i == 4)
            ASSERT_EQ(out.policy[i], -1.0f); /* occupied */
        else
            ASSERT_NEAR(out.policy[i], exp(0.1 * i) / sum, 1e-6);
    }
    ASSERT_NEAR(out.policy_pass, exp(-0.5) / sum, 1e-6);
    /* Positional superko + area scoring: no result is impossible. */
    ASSERT_EQ(out.no_result, 0.0f);
    double w = exp(0.5), l = exp(-0.25);
    ASSERT_NEAR(out.white_win, w / (w + l), 1e-6); /* White to move: no swap */
    ASSERT_NEAR(out.white_loss, l / (w + l), 1e-6);
    double mean = 0.1 * 20, stdev = softplus(-0.3) * 20, lead = 0.05 * 20;
    ASSERT_NEAR(out.white_score_mean, mean, 1e-5);
    ASSERT_NEAR(out.white_score_mean_sq, mean * mean + stdev * stdev, 1e-4);
    ASSERT_NEAR(out.white_lead, lead, 1e-5);
    ASSERT_EQ(out.var_time_left, -1.0f); /* v8 */
    ASSERT_EQ(out.shortterm_winloss_error, -1.0f);
    ASSERT_EQ(out.shortterm_score_error, -1.0f);
    ASSERT_NEAR(out.white_ownership[0], tanh(0.5), 1e-6);
    ASSERT_EQ(out.white_ownership[1], 0.0f);
}

TEST(black_to_move_flips_and_noresult) {
    static tg_game_t g;
    tg_rules_t r = rules_named("japanese"); /* simple ko, territory: no result possible */
    tg_game_init(&g, 2, &r);
    tg_model_t m = fake_model(10, 6);
    float logits[4] = {0, 0, 0, 0};
    float value[3] = {0.2f, 0.1f, -1.0f};
    float score[6] = {0.3f, 0.0f, -0.2f, 0.4f, 0.6f, -0.1f};
    float own[4] = {1.0f, -2.0f, 0.0f, 0.25f};
    tg_nn_output_t out;
    tg_nn_postprocess(&m, &g, 2, logits, 0.0f, value, score, own, &out);
    double e0 = exp(0.2), e1 = exp(0.1), e2 = exp(-1.0), s = e0 + e1 + e2;
    double nr = e2 / s;
    ASSERT_NEAR(out.no_result, nr, 1e-6);
    ASSERT_NEAR(out.white_win, e1 / s, 1e-6); /* Black's loss */
    ASSERT_NEAR(out.white_loss, e0 / s, 1e-6);
    double mean = 0.3 * 20, stdev = softplus(0.0) * 20, lead = -0.2 * 20;
    ASSERT_NEAR(out.white_score_mean, -mean * (1 - nr), 1e-4);
    ASSERT_NEAR(out.white_lead, -lead * (1 - nr), 1e-4);
    ASSERT_NEAR(out.white_score_mean_sq, (mean * mean + stdev * stdev) * (1 - nr), 1e-3);
    ASSERT_NEAR(out.var_time_left, softplus(0.4) * 40, 1e-4);
    ASSERT_NEAR(out.shortterm_winloss_error, sqrt(softplus(0.6) * 0.25), 1e-5); /* v10-13 */
    ASSERT_NEAR(out.shortterm_score_error, sqrt(softplus(-0.1) * 150), 1e-4);
    ASSERT_NEAR(out.white_ownership[0], -tanh(1.0), 1e-6);
    ASSERT_NEAR(out.white_ownership[1], tanh(2.0), 1e-6);
    ASSERT_NEAR(out.white_ownership[3], -tanh(0.25), 1e-6);
    for (int i = 0; i < 4; i++)
        ASSERT_NEAR(out.policy[i], 0.2, 1e-6);
    ASSERT_NEAR(out.policy_pass, 0.2, 1e-6);

    /* v14+: squared-softplus short-term errors; v9: plain softplus (x10 for score). */
    tg_model_t m14 = fake_model(14, 6);
    tg_nn_postprocess(&m14, &g, 2, logits, 0.0f, value, score, own, &out);
    double sp = softplus(0.3);
    ASSERT_NEAR(out.shortterm_winloss_error, sqrt(sp * sp * 0.25), 1e-5);
    sp = softplus(-0.05);
    ASSERT_NEAR(out.shortterm_score_error, sqrt(sp * sp * 150), 1e-4);
    tg_model_t m9 = fake_model(9, 6);
    tg_nn_postprocess(&m9, &g, 2, logits, 0.0f, value, score, own, &out);
    ASSERT_NEAR(out.shortterm_winloss_error, softplus(0.6), 1e-5);
    ASSERT_NEAR(out.shortterm_score_error, softplus(-0.1) * 10, 1e-4);
}

TEST(policy_underflow_is_uniform) {
    static tg_game_t g;
    tg_rules_t r = rules_named("tromp-taylor");
    tg_game_init(&g, 2, &r);
    tg_model_t m = fake_model(8, 4);
    /* Pass dominates so much that every board point underflows; still a distribution. */
    float logits[4] = {-1e4f, -1e4f, -1e4f, -1e4f};
    float value[3] = {0, 0, 0}, score[4] = {0}, own[4] = {0};
    tg_nn_output_t out;
    tg_nn_postprocess(&m, &g, 2, logits, 1e4f, value, score, own, &out);
    ASSERT_NEAR(out.policy_pass, 1.0, 1e-6);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(out.policy[i], 0.0f);
    ASSERT_NEAR(out.white_win + out.white_loss + out.no_result, 1.0, 1e-6);
}

TEST(format_raw_exact_text) {
    tg_nn_output_t o;
    memset(&o, 0, sizeof(o));
    o.board_size = 2;
    o.white_win = 0.25f;
    o.white_loss = 0.75f;
    o.no_result = 0.0f;
    o.white_lead = -1.5f;
    o.white_score_mean = -1.25f;
    o.white_score_mean_sq = 10.0f;
    o.var_time_left = -1;
    o.shortterm_winloss_error = -1;
    o.shortterm_score_error = -1;
    o.policy[0] = 0.5f;
    o.policy[1] = -1.0f;
    o.policy[2] = 0.25f;
    o.policy[3] = 0.125f;
    o.policy_pass = 0.125f;
    o.white_ownership[0] = -0.5f;
    o.white_ownership[1] = 1.0f;
    o.white_ownership[2] = 0.0f;
    o.white_ownership[3] = 0.0000001f;
    char buf[2048] = "";
    ASSERT_EQ(tg_nn_format_raw(&o, 3, buf, sizeof(buf)), 0);
    const char *want = "symmetry 3\n"
                       "whiteWin 0.250000\n"
                       "whiteLoss 0.750000\n"
                       "noResult 0.000000\n"
                       "whiteLead -1.500\n"
                       "whiteScoreSelfplay -1.250\n"
                       "whiteScoreSelfplaySq 10.000\n"
                       "varTimeLeft -1.000\n"
                       "shorttermWinlossError -1.000\n"
                       "shorttermScoreError -1.000\n"
                       "policy\n"
                       "0.500000     NAN \n"
                       "0.250000 0.125000 \n"
                       "policyPass 0.125000 \n"
                       "whiteOwnership\n"
                       "-0.5000000 1.0000000 \n"
                       "0.0000000 0.0000001 \n"
                       "\n";
    ASSERT_STREQ(buf, want);
    /* Appends; reports truncation. */
    ASSERT_EQ(tg_nn_format_raw(&o, 4, buf, sizeof(buf)), 0);
    ASSERT_EQ(strlen(buf), 2 * strlen(want));
    char small[64] = "";
    ASSERT_EQ(tg_nn_format_raw(&o, 0, small, sizeof(small)), TG_ERANGE);
    ASSERT_TRUE(strlen(small) < sizeof(small));
}

int main(void) {
    RUN(policy_softmax_and_illegal_points);
    RUN(black_to_move_flips_and_noresult);
    RUN(policy_underflow_is_uniform);
    RUN(format_raw_exact_text);
    TEST_MAIN_END();
}
