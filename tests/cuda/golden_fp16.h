/* golden_fp16.h: the fp16 golden check shared by test_golden_fp16.c (real GPU) and
 * test_host_emulation.c (host stand-ins). Include after tests/nn/test_golden.c, whose globals
 * (g_root, g_ev), field table and replay_position it uses; g_ev must be an fp16 evaluator.
 * Bounds, ~4x what the host emulation (test_host_emulation.c, _Float16 storage, fp32
 * accumulation) measured on these positions (win 5.6e-4, policy 2.3e-3, ownership 1.4e-3, lead
 * 0.03, scoreSq 2.7): not yet measured on a GPU.
 *   whiteWin / whiteLoss / noResult, policy, policyPass:  0.01 absolute
 *   whiteOwnership:                                      0.02 absolute
 *   score fields (lead, score, scoreSq, varTimeLeft, shortterm errors): 0.3 + 0.05 |KataGo| */
#ifndef TENGEN_TESTS_CUDA_GOLDEN_FP16_H
#define TENGEN_TESTS_CUDA_GOLDEN_FP16_H

static double fp16_tol(int field, double ref) {
    if (field <= F_NORESULT || field == F_POLICY || field == F_PASS) return 0.01;
    if (field == F_OWN) return 0.02;
    return 0.3 + 0.05 * fabs(ref);
}

TEST(golden_fp16) {
    const tg_json_t *positions = tg_json_get(g_root, "positions");
    ASSERT_TRUE(tg_json_count(positions) >= 17);
    static tg_game_t game;
    int evaluated = 0, bad = 0;
    for (const tg_json_t *pos = positions->child; pos; pos = pos->next) {
        const char *id = tg_json_string(tg_json_get(pos, "id"));
        ASSERT_EQ(replay_position(pos, &game), 0);
        const int n = game.board.size;
        for (const tg_json_t *o = tg_json_get(pos, "outputs")->child; o; o = o->next) {
            int sym = (int)tg_json_number(tg_json_get(o, "symmetry"), -1);
            tg_nn_output_t out;
            tg_err_t err;
            if (tg_nn_evaluate(g_ev, &game, sym, &out, &err) < 0) TEST__FAIL("%s", err.msg);
            evaluated++;
            const double ours[F_POLICY] = {out.white_win,
                                           out.white_loss,
                                           out.no_result,
                                           out.white_lead,
                                           out.white_score_mean,
                                           out.white_score_mean_sq,
                                           out.var_time_left,
                                           out.shortterm_winloss_error,
                                           out.shortterm_score_error};
            for (int f = 0; f < F_POLICY; f++) {
                double ref = tg_json_number(tg_json_get(o, field_names[f]), NAN);
                double d = fabs(ours[f] - ref);
                note_diff(f, d);
                if (!(d <= fp16_tol(f, ref))) {
                    printf("  %s sym %d: %s %.6f vs KataGo %.6f\n", id, sym, field_names[f],
                           ours[f], ref);
                    bad++;
                }
            }
            double pass_ref = tg_json_number(tg_json_get(o, "policyPass"), NAN);
            note_diff(F_PASS, fabs(out.policy_pass - pass_ref));
            if (!(fabs(out.policy_pass - pass_ref) <= fp16_tol(F_PASS, pass_ref))) bad++;
            int i = 0;
            for (const tg_json_t *v = tg_json_get(o, "policy")->child; v; v = v->next, i++) {
                if (v->number < 0 || out.policy[i] < 0) {
                    if (!(v->number < 0 && out.policy[i] == -1.0f)) bad++; /* legality exact */
                    continue;
                }
                note_diff(F_POLICY, fabs(out.policy[i] - v->number));
                if (!(fabs(out.policy[i] - v->number) <= fp16_tol(F_POLICY, v->number))) bad++;
            }
            ASSERT_EQ(i, n * n);
            i = 0;
            for (const tg_json_t *v = tg_json_get(o, "whiteOwnership")->child; v;
                 v = v->next, i++) {
                note_diff(F_OWN, fabs(out.white_ownership[i] - v->number));
                if (!(fabs(out.white_ownership[i] - v->number) <= fp16_tol(F_OWN, v->number)))
                    bad++;
            }
        }
    }
    printf("  fp16: max |diff| per field over %d evaluations:\n", evaluated);
    for (int f = 0; f < F_COUNT; f++)
        printf("    %-22s %.3g\n", field_names[f], max_diff[f]);
    ASSERT_EQ(bad, 0);
    ASSERT_TRUE(evaluated >= 24);
}

#endif
