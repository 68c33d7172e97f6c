/* test_gate.c: gating matches, moving candidates with their match record, the Elo ladder.
 * Nets are freshly initialised b2c8test models exported to a temp dir (7x7, 4 visits), so the
 * whole file runs in a few seconds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "export/export.h"
#include "gate/gate.h"
#include "util/fileio.h"
#include "util/json.h"

static char g_dir[256];

static int export_net(const char *name, uint64_t seed, char *path, size_t cap) {
    train_config_t tc;
    if (train_config_by_name("b2c8test", &tc)) return -1;
    train_model_t m;
    tg_err_t err;
    if (train_model_init(&m, &tc, 7, seed, &err)) return -1;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/test/%s", g_dir, name);
    int rc = tg_mkdir_p(dir, &err);
    snprintf(path, cap, "%s/model.bin.gz", dir);
    if (rc == 0) rc = tg_export_model(&m, name, path, &err);
    train_model_free(&m);
    return rc;
}

static tg_gate_params_t small_params(void) {
    tg_gate_params_t p;
    memset(&p, 0, sizeof(p));
    p.games = 4;
    p.visits = 4;
    p.required_win_prop = 0.5;
    p.max_moves = 60;
    p.board_size = 7;
    snprintf(p.rules, sizeof(p.rules), "tromp-taylor");
    p.komi = 7.5;
    p.nn_threads = 1;
    p.seed = 42;
    return p;
}

TEST(match_counts_and_is_deterministic) {
    char a[600];
    ASSERT_EQ(export_net("netA", 1, a, sizeof(a)), 0);
    tg_gate_params_t p = small_params();
    tg_gate_result_t r1, r2;
    tg_err_t err;
    ASSERT_EQ(tg_gate_play_match(&p, a, NULL, NULL, &r1, &err), 0);
    ASSERT_EQ(r1.games, 4);
    ASSERT_EQ(r1.candidate_wins + r1.baseline_wins + r1.draws, 4);
    ASSERT_NEAR(r1.candidate_points, r1.candidate_wins + 0.5 * r1.draws, 1e-9);
    ASSERT_TRUE(r1.candidate_black_wins <= r1.candidate_wins);
    ASSERT_EQ(r1.accepted, r1.candidate_points >= 2.0);
    ASSERT_EQ(tg_gate_play_match(&p, a, NULL, NULL, &r2, &err), 0);
    ASSERT_EQ(r2.candidate_wins, r1.candidate_wins);
    ASSERT_EQ(r2.draws, r1.draws);
}

TEST(early_stop_once_decided) {
    char a[600], b[600];
    ASSERT_EQ(export_net("netB", 2, a, sizeof(a)), 0);
    ASSERT_EQ(export_net("netC", 3, b, sizeof(b)), 0);
    tg_gate_params_t p = small_params();
    p.games = 6;
    p.early_stop = true;
    tg_gate_result_t r;
    tg_err_t err;
    ASSERT_EQ(tg_gate_play_match(&p, a, b, NULL, &r, &err), 0);
    ASSERT_TRUE(r.games >= 3 && r.games <= 6);
    /* Decided: either the candidate reached 3 points or can no longer reach them. */
    ASSERT_TRUE(r.candidate_points >= 3.0 || r.candidate_points + (6 - r.games) < 3.0);
    ASSERT_EQ(r.accepted, r.candidate_points >= 3.0);
}

TEST(bad_model_path_fails) {
    tg_gate_params_t p = small_params();
    tg_gate_result_t r;
    tg_err_t err;
    ASSERT_TRUE(tg_gate_play_match(&p, "/nonexistent/model.bin.gz", NULL, NULL, &r, &err) < 0);
    ASSERT_CONTAINS(err.msg, "/nonexistent/model.bin.gz");
}

TEST(move_candidate_writes_record) {
    char a[600];
    ASSERT_EQ(export_net("netD", 4, a, sizeof(a)), 0);
    char from[512], to[512], rec[700];
    snprintf(from, sizeof(from), "%s/test", g_dir);
    snprintf(to, sizeof(to), "%s/rejected", g_dir);
    tg_gate_result_t r = {.games = 4,
                          .candidate_wins = 1,
                          .baseline_wins = 3,
                          .candidate_points = 1.0,
                          .accepted = false};
    tg_err_t err;
    ASSERT_EQ(tg_gate_move_candidate(from, to, "netD", &r, "test", &err), 0);
    struct stat st;
    snprintf(rec, sizeof(rec), "%s/netD/model.bin.gz", to);
    ASSERT_EQ(stat(rec, &st), 0);
    snprintf(rec, sizeof(rec), "%s/netD", from);
    ASSERT_TRUE(stat(rec, &st) != 0);
    snprintf(rec, sizeof(rec), "%s/netD/gate.json", to);
    char *text = NULL;
    size_t len = 0;
    ASSERT_EQ(tg_file_read_all(rec, 1 << 16, &text, &len, &err), 0);
    tg_json_t *root = NULL;
    ASSERT_EQ(tg_json_parse(text, len, &root, &err), 0);
    ASSERT_EQ((int)tg_json_number(tg_json_get(root, "candidate_wins"), -1), 1);
    ASSERT_TRUE(!tg_json_bool(tg_json_get(root, "accepted"), true));
    tg_json_free(root);
    free(text);
}

TEST(elo_ladder) {
    ASSERT_NEAR(tg_gate_elo_diff(2, 4), 0.0, 1e-9);
    ASSERT_NEAR(tg_gate_elo_diff(3, 4), 400 * log10(3.0), 1e-9);
    ASSERT_NEAR(tg_gate_elo_diff(4, 4), 400 * log10(7.0), 1e-9); /* clamped at 3.5/4 */
    ASSERT_NEAR(tg_gate_elo_diff(0, 4), -400 * log10(7.0), 1e-9);
    char path[512];
    snprintf(path, sizeof(path), "%s/elo.json", g_dir);
    tg_gate_result_t r = {.games = 4, .candidate_points = 3.0};
    tg_err_t err;
    ASSERT_EQ(tg_gate_ladder_record(path, "a", "random", &r, &err), 0);
    r.candidate_points = 2.0;
    ASSERT_EQ(tg_gate_ladder_record(path, "b", "a", &r, &err), 0);
    r.candidate_points = 1.0;
    ASSERT_EQ(tg_gate_ladder_record(path, "c", "b", &r, &err), 0);
    char *text = NULL;
    size_t len = 0;
    ASSERT_EQ(tg_file_read_all(path, 1 << 16, &text, &len, &err), 0);
    tg_json_t *root = NULL;
    ASSERT_EQ(tg_json_parse(text, len, &root, &err), 0);
    const tg_json_t *nets = tg_json_get(root, "nets");
    ASSERT_EQ(tg_json_count(nets), 3);
    double ea = tg_json_number(tg_json_get(tg_json_at(nets, 0), "elo"), 0);
    double eb = tg_json_number(tg_json_get(tg_json_at(nets, 1), "elo"), 0);
    double ec = tg_json_number(tg_json_get(tg_json_at(nets, 2), "elo"), 0);
    ASSERT_NEAR(ea, 400 * log10(3.0), 0.1);
    ASSERT_NEAR(eb, ea, 0.1);
    ASSERT_NEAR(ec, eb - 400 * log10(3.0), 0.1);
    tg_json_free(root);
    free(text);
}

int main(void) {
    snprintf(g_dir, sizeof(g_dir), "/tmp/tengen_test_gate_%ld", (long)getpid());
    tg_err_t err;
    if (tg_mkdir_p(g_dir, &err)) return 1;
    RUN(match_counts_and_is_deterministic);
    RUN(early_stop_once_decided);
    RUN(bad_model_path_fails);
    RUN(move_candidate_writes_record);
    RUN(elo_ladder);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd) != 0) printf("could not remove %s\n", g_dir);
    TEST_MAIN_END();
}
