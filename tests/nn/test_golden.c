/* test_golden.c: tengen's whole evaluation path (rules + history -> features -> symmetry ->
 * CPU forward -> post-processing -> kata-raw-nn text) against KataGo v1.17.2's own `kata-raw-nn`
 * answers for the b6c96 fixture net on 17 positions (katago-b6c96-rawnn-golden.json).
 *
 * Each position is replayed exactly as the recorded GTP commands did (kata-set-rules, komi,
 * set_free_handicap, play), then evaluated with every symmetry KataGo was asked for. Every
 * field is compared: win/loss/noResult and policy within 1e-4, score fields within
 * 2e-3 + 1e-4*|value|, ownership within 2e-4; illegal points must be -1 on both sides. The
 * formatted text must have KataGo's line structure (same labels, same number of entries per
 * row, NAN at the same places). The max |diff| per field is printed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "game/game.h"
#include "nn/eval.h"
#include "test.h"
#include "util/fileio.h"
#include "util/json.h"

static tg_json_t *g_root;
static tg_nn_evaluator_t *g_ev;

enum {
    F_WIN,
    F_LOSS,
    F_NORESULT,
    F_LEAD,
    F_SCORE,
    F_SCORESQ,
    F_VARTIME,
    F_STWL,
    F_STSCORE,
    F_POLICY,
    F_PASS,
    F_OWN,
    F_COUNT
};
static const char *field_names[F_COUNT] = {"whiteWin",
                                           "whiteLoss",
                                           "noResult",
                                           "whiteLead",
                                           "whiteScoreSelfplay",
                                           "whiteScoreSelfplaySq",
                                           "varTimeLeft",
                                           "shorttermWinlossError",
                                           "shorttermScoreError",
                                           "policy",
                                           "policyPass",
                                           "whiteOwnership"};
static double max_diff[F_COUNT];

static void note_diff(int field, double d) {
    if (d > max_diff[field]) max_diff[field] = d;
}

/* Replays one golden position into g. Returns 0 or prints why not. */
static int replay_position(const tg_json_t *pos, tg_game_t *g) {
    const char *rules_name = tg_json_string(tg_json_get(pos, "rules_name"));
    int size = (int)tg_json_number(tg_json_get(pos, "board_size"), 0);
    double komi = tg_json_number(tg_json_get(pos, "komi"), 7.5);
    tg_rules_t rules;
    tg_err_t err;
    if (!rules_name || tg_rules_parse(rules_name, &rules, &err) < 0) {
        printf("  cannot parse rules %s\n", rules_name ? rules_name : "(null)");
        return -1;
    }
    rules.komi = (float)komi;
    tg_game_init(g, size, &rules);
    const tg_json_t *setup = tg_json_get(pos, "setup_black");
    if (tg_json_count(setup) > 0) {
        for (const tg_json_t *v = setup->child; v; v = v->next) {
            tg_loc_t loc;
            if (tg_loc_from_gtp(tg_json_string(v), size, &loc) < 0 ||
                tg_game_set_stone(g, loc, TG_BLACK, &err) < 0) {
                printf("  bad setup stone %s\n", tg_json_string(v));
                return -1;
            }
        }
        /* set_free_handicap: the stones become the initial position, White to move. */
        tg_board_t b = g->board;
        tg_game_reset(g, &b, TG_WHITE, &rules, 0);
    }
    const tg_json_t *moves = tg_json_get(pos, "moves");
    for (const tg_json_t *mv = moves ? moves->child : NULL; mv; mv = mv->next) {
        const char *col = tg_json_string(tg_json_at(mv, 0));
        const char *vtx = tg_json_string(tg_json_at(mv, 1));
        tg_loc_t loc;
        if (!col || !vtx || tg_loc_from_gtp(vtx, size, &loc) < 0) {
            printf("  bad move\n");
            return -1;
        }
        tg_color_t c = (col[0] == 'B' || col[0] == 'b') ? TG_BLACK : TG_WHITE;
        if (tg_game_play(g, loc, c, &err) < 0) {
            printf("  illegal move %s %s: %s\n", col, vtx, err.msg);
            return -1;
        }
    }
    return 0;
}

/* Splits text into lines (in place); returns the count. */
static int split_lines(char *text, char **lines, int max) {
    int n = 0;
    char *s = text;
    while (n < max) {
        lines[n++] = s;
        char *nl = strchr(s, '\n');
        if (!nl) break;
        *nl = '\0';
        s = nl + 1;
    }
    return n;
}

static bool is_number_token(const char *t) {
    char *end;
    strtod(t, &end);
    return end != t && *end == '\0';
}

/* Same labels, same token counts, NAN at the same places; numbers may differ. */
static int compare_text_structure(char *ours, char *theirs) {
    static char *la[2000], *lb[2000];
    int na = split_lines(ours, la, 2000), nb = split_lines(theirs, lb, 2000);
    if (na != nb) {
        printf("  text: %d lines vs KataGo's %d\n", na, nb);
        return -1;
    }
    for (int i = 0; i < na; i++) {
        char *sa, *sb;
        char *ta = strtok_r(la[i], " ", &sa);
        char *tb = strtok_r(lb[i], " ", &sb);
        while (ta || tb) {
            if (!ta || !tb) {
                printf("  text line %d: token count differs\n", i + 1);
                return -1;
            }
            bool num_a = is_number_token(ta) && strcmp(ta, "NAN") != 0;
            bool num_b = is_number_token(tb) && strcmp(tb, "NAN") != 0;
            if (num_a != num_b || (!num_a && strcmp(ta, tb) != 0)) {
                printf("  text line %d: '%s' vs KataGo '%s'\n", i + 1, ta, tb);
                return -1;
            }
            ta = strtok_r(NULL, " ", &sa);
            tb = strtok_r(NULL, " ", &sb);
        }
    }
    return 0;
}

static int check_scalar(const char *id, int sym, int field, double ours, double theirs) {
    double d = fabs(ours - theirs);
    note_diff(field, d);
    double tol = field <= F_NORESULT ? 1e-4 : 2e-3 + 1e-4 * fabs(theirs);
    if (d > tol) {
        printf("  %s sym %d: %s = %.6f, KataGo %.6f\n", id, sym, field_names[field], ours, theirs);
        return -1;
    }
    return 0;
}

TEST(golden_positions) {
    ASSERT_TRUE(g_root != NULL && g_ev != NULL);
    const tg_json_t *positions = tg_json_get(g_root, "positions");
    ASSERT_TRUE(tg_json_count(positions) >= 17);
    int failures = 0, evaluated = 0;
    static tg_game_t game;
    static char text[200000];
    for (const tg_json_t *pos = positions->child; pos; pos = pos->next) {
        const char *id = tg_json_string(tg_json_get(pos, "id"));
        if (replay_position(pos, &game) < 0) {
            printf("  %s: replay failed\n", id);
            failures++;
            continue;
        }
        const char *to_move = tg_json_string(tg_json_get(pos, "player_to_move"));
        tg_color_t expect_pla = (to_move && to_move[0] == 'W') ? TG_WHITE : TG_BLACK;
        if (game.to_move != expect_pla) {
            printf("  %s: player to move differs from KataGo's\n", id);
            failures++;
            continue;
        }
        const int n = game.board.size;
        /* The replayed board must be KataGo's board_after. */
        const tg_json_t *rows = tg_json_get(pos, "board_after");
        int y = 0;
        bool board_ok = tg_json_count(rows) == (size_t)n;
        for (const tg_json_t *r = rows ? rows->child : NULL; r && board_ok; r = r->next, y++) {
            const char *s = tg_json_string(r);
            for (int x = 0; x < n && board_ok; x++) {
                uint8_t c = game.board.color[tg_loc(x, y)];
                char want = s[x];
                char have = c == TG_BLACK ? 'X' : c == TG_WHITE ? 'O' : '.';
                board_ok = want == have;
            }
        }
        if (!board_ok) {
            printf("  %s: board differs from KataGo's board_after\n", id);
            failures++;
            continue;
        }

        text[0] = '\0';
        const tg_json_t *outs = tg_json_get(pos, "outputs");
        int pos_fail = 0;
        for (const tg_json_t *o = outs->child; o; o = o->next) {
            int sym = (int)tg_json_number(tg_json_get(o, "symmetry"), -1);
            tg_nn_output_t out;
            tg_err_t err;
            if (tg_nn_evaluate(g_ev, &game, sym, &out, &err) < 0) {
                printf("  %s: evaluate failed: %s\n", id, err.msg);
                pos_fail++;
                break;
            }
            evaluated++;
            ASSERT_EQ(out.board_size, n);
            const double ours[F_PASS] = {out.white_win,
                                         out.white_loss,
                                         out.no_result,
                                         out.white_lead,
                                         out.white_score_mean,
                                         out.white_score_mean_sq,
                                         out.var_time_left,
                                         out.shortterm_winloss_error,
                                         out.shortterm_score_error};
            for (int f = 0; f < F_POLICY; f++)
                if (check_scalar(id, sym, f, ours[f],
                                 tg_json_number(tg_json_get(o, field_names[f]), NAN)) < 0)
                    pos_fail++;
            double pass_ref = tg_json_number(tg_json_get(o, "policyPass"), NAN);
            note_diff(F_PASS, fabs(out.policy_pass - pass_ref));
            if (!(fabs(out.policy_pass - pass_ref) <= 1e-4)) {
                printf("  %s sym %d: policyPass %.6f vs %.6f\n", id, sym, out.policy_pass,
                       pass_ref);
                pos_fail++;
            }
            const tg_json_t *pol = tg_json_get(o, "policy");
            const tg_json_t *own = tg_json_get(o, "whiteOwnership");
            if (tg_json_count(pol) != (size_t)(n * n) || tg_json_count(own) != (size_t)(n * n)) {
                printf("  %s: bad array sizes\n", id);
                pos_fail++;
                continue;
            }
            int i = 0, bad_policy = 0, bad_own = 0;
            for (const tg_json_t *v = pol->child; v; v = v->next, i++) {
                double ref = v->number, got = out.policy[i];
                if (ref < 0 || got < 0) {
                    if (!(ref < 0 && got == -1.0f)) bad_policy++;
                    continue;
                }
                note_diff(F_POLICY, fabs(got - ref));
                if (fabs(got - ref) > 1e-4) bad_policy++;
            }
            i = 0;
            for (const tg_json_t *v = own->child; v; v = v->next, i++) {
                double d = fabs(out.white_ownership[i] - v->number);
                note_diff(F_OWN, d);
                if (d > 2e-4) bad_own++;
            }
            if (bad_policy || bad_own) {
                printf("  %s sym %d: %d policy and %d ownership entries off\n", id, sym, bad_policy,
                       bad_own);
                pos_fail++;
            }
            ASSERT_EQ(tg_nn_format_raw(&out, sym, text, sizeof(text)), 0);
        }
        /* The GTP response is the concatenation, trimmed (Global::trim). */
        size_t tl = strlen(text);
        while (tl > 0 && (text[tl - 1] == '\n' || text[tl - 1] == ' '))
            text[--tl] = '\0';
        const tg_json_t *first = tg_json_at(outs, 0);
        /* raw_text of each output entry is the full response for that query; compare the
         * concatenation of all of them with ours when several symmetries were asked at once. */
        static char ref[200000];
        ref[0] = '\0';
        for (const tg_json_t *o = outs->child; o; o = o->next) {
            const char *rt = tg_json_string(tg_json_get(o, "raw_text"));
            if (!rt) continue;
            if (strstr(ref, rt) == NULL) {
                if (ref[0]) strncat(ref, "\n\n", sizeof(ref) - strlen(ref) - 1);
                strncat(ref, rt, sizeof(ref) - strlen(ref) - 1);
            }
        }
        (void)first;
        size_t rl = strlen(ref);
        while (rl > 0 && (ref[rl - 1] == '\n' || ref[rl - 1] == ' '))
            ref[--rl] = '\0';
        if (compare_text_structure(text, ref) < 0) {
            printf("  %s: formatted text structure differs from KataGo's raw_text\n", id);
            pos_fail++;
        }
        printf("  %-16s %s (%zu symmetries)\n", id, pos_fail ? "MISMATCH" : "ok",
               tg_json_count(outs));
        failures += pos_fail ? 1 : 0;
    }
    printf("  max |diff| per field over %d evaluations:\n", evaluated);
    for (int f = 0; f < F_COUNT; f++)
        printf("    %-22s %.3g\n", field_names[f], max_diff[f]);
    ASSERT_EQ(failures, 0);
    ASSERT_TRUE(evaluated >= 24);
}

/* Batched evaluation on a larger tensor gives the same answers as single evaluations at the
 * exact board size (the net is fully convolutional with masked pooling). */
TEST(batch_matches_single) {
    ASSERT_TRUE(g_root != NULL && g_ev != NULL);
    const tg_json_t *positions = tg_json_get(g_root, "positions");
    static tg_game_t games[4];
    const char *ids[4] = {"b1_9_wtm", "late9_tt", "dead9_japanese", "mid13_tt"};
    const tg_game_t *ptrs[4];
    int syms[4] = {0, 3, 5, 6};
    for (int k = 0; k < 4; k++) {
        const tg_json_t *found = NULL;
        for (const tg_json_t *p = positions->child; p; p = p->next)
            if (strcmp(tg_json_string(tg_json_get(p, "id")), ids[k]) == 0) found = p;
        ASSERT_TRUE(found != NULL);
        ASSERT_EQ(replay_position(found, &games[k]), 0);
        ptrs[k] = &games[k];
    }
    static tg_nn_output_t batch[4], single;
    tg_err_t err;
    ASSERT_EQ(tg_nn_evaluate_batch(g_ev, 4, ptrs, syms, 13, batch, &err), 0);
    for (int k = 0; k < 4; k++) {
        ASSERT_EQ(tg_nn_evaluate(g_ev, ptrs[k], syms[k], &single, &err), 0);
        int n = games[k].board.size;
        ASSERT_EQ(batch[k].board_size, n);
        ASSERT_NEAR(batch[k].white_win, single.white_win, 2e-4);
        ASSERT_NEAR(batch[k].white_lead, single.white_lead, 2e-2);
        for (int i = 0; i < n * n; i++) {
            ASSERT_NEAR(batch[k].policy[i], single.policy[i], 2e-4);
            ASSERT_NEAR(batch[k].white_ownership[i], single.white_ownership[i], 5e-4);
        }
        ASSERT_NEAR(batch[k].policy_pass, single.policy_pass, 2e-4);
    }
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/katago-b6c96-rawnn-golden.json", test_fixtures_dir());
    char *data = NULL;
    size_t len = 0;
    tg_err_t err;
    if (tg_file_read_all(path, 16u << 20, &data, &len, &err) < 0) {
        printf("cannot read %s: %s\n", path, err.msg);
        return 1;
    }
    if (tg_json_parse(data, len, &g_root, &err) < 0) {
        printf("%s\n", err.msg);
        return 1;
    }
    free(data);
    snprintf(path, sizeof(path), "%s/g170-b6c96-s175395328-d26788732.bin.gz", test_fixtures_dir());
    if (tg_nn_evaluator_create(path, 4, 1, &g_ev, &err) < 0) {
        printf("cannot create evaluator: %s\n", err.msg);
        return 1;
    }
    RUN(golden_positions);
    RUN(batch_matches_single);
    tg_nn_evaluator_destroy(g_ev);
    tg_json_free(g_root);
    TEST_MAIN_END();
}
