/* test_match.c: the match driver against small fake GTP engines written in sh: engines that
 * always pass, always play A1 (illegal the second time), resign, hang, or die. Checks the
 * referee's results, the colour alternation, the summary line and the SGFs; the win-rate and
 * Elo arithmetic against hand-computed values; and internal players (tengen's engine with the
 * fixture net, searching in this process) against each other and against a fake engine. */
#include "match/match.h"

#include <dirent.h>
#include <unistd.h>

#include "sgf/sgf.h"
#include "test.h"

/* A fake engine: answers "= " to everything, "= NAME" to name, GENMOVE to genmove. */
static void fake_engine(char *buf, size_t cap, const char *name, const char *genmove_action) {
    snprintf(buf, cap,
             "while read -r line; do case \"$line\" in "
             "name*) printf '= %s\\n\\n';; "
             "known_command*) printf '= false\\n\\n';; "
             "genmove*) %s;; "
             "quit*) printf '= \\n\\n'; exit 0;; "
             "*) printf '= \\n\\n';; esac; done",
             name, genmove_action);
}

static char sgf_dir[64];

static int run_match(const char *a, const char *b, int games, float komi, double timeout_s,
                     tg_match_result_t *res, char *summary, size_t cap, tg_err_t *err) {
    tg_match_options_t o;
    tg_match_options_default(&o);
    o.a.cmd = a;
    o.b.cmd = b;
    o.games = games;
    o.board_size = 9;
    o.komi = komi;
    o.sgf_dir = sgf_dir;
    o.max_moves = 50;
    o.move_timeout_s = timeout_s;
    FILE *f = fmemopen(summary, cap, "w");
    o.summary = f;
    int rc = tg_match_run(&o, res, err);
    fclose(f);
    return rc;
}

static void read_sgf(int game, tg_sgf_t *s) {
    char path[128];
    tg_err_t err;
    snprintf(path, sizeof(path), "%s/game_%04d.sgf", sgf_dir, game);
    if (tg_sgf_load_file(path, s, &err) != 0) printf("  %s\n", err.msg);
}

TEST(passers_alternate_colours_and_score_komi) {
    char a[512], b[512], summary[2048] = {0};
    fake_engine(a, sizeof(a), "passerA", "printf '= pass\\n\\n'");
    fake_engine(b, sizeof(b), "passerB", "printf '= PASS\\n\\n'");
    tg_match_result_t res;
    tg_err_t err = {0};
    int rc = run_match(a, b, 2, 7.5f, 10, &res, summary, sizeof(summary), &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.games, 2);
    ASSERT_EQ(res.a_wins, 1); /* White wins by komi; A is White in game 2 */
    ASSERT_EQ(res.b_wins, 1);
    ASSERT_EQ(res.a_wins_white, 1);
    ASSERT_EQ(res.b_wins_white, 1);
    ASSERT_EQ(res.total_moves, 4);
    ASSERT_CONTAINS(summary, "match games=2 a_wins=1 b_wins=1 draws=0 a_winrate=0.5000 elo=0.0 "
                             "elo_lo=-392.5 elo_hi=392.5\n");
    ASSERT_CONTAINS(summary, "A's score: 1.0 / 2 = 50.0% (95% Wilson interval 9.5% .. 90.5%)");
    ASSERT_CONTAINS(summary, "engine A: passerA");
    tg_sgf_t s;
    read_sgf(1, &s);
    ASSERT_STREQ(s.result, "W+7.5");
    ASSERT_STREQ(tg_sgf_get_prop(&s, 0, "PB"), "passerA");
    ASSERT_STREQ(tg_sgf_get_prop(&s, 0, "PW"), "passerB");
    ASSERT_EQ(tg_sgf_num_moves(&s), 2);
    ASSERT_EQ(s.items[0].x, -1);
    tg_sgf_free(&s);
    read_sgf(2, &s);
    ASSERT_STREQ(tg_sgf_get_prop(&s, 0, "PB"), "passerB");
    tg_sgf_free(&s);
}

TEST(komi_zero_is_a_draw) {
    char a[512], summary[2048] = {0};
    fake_engine(a, sizeof(a), "p", "printf '= pass\\n\\n'");
    tg_match_result_t res;
    tg_err_t err = {0};
    ASSERT_EQ(run_match(a, a, 2, 0.0f, 10, &res, summary, sizeof(summary), &err), 0);
    ASSERT_EQ(res.draws, 2);
    ASSERT_CONTAINS(summary, "match games=2 a_wins=0 b_wins=0 draws=2 a_winrate=0.5000 ");
    tg_sgf_t s;
    read_sgf(2, &s);
    ASSERT_STREQ(s.result, "0");
    tg_sgf_free(&s);
}

TEST(illegal_move_loses) {
    char a[512], b[512], summary[2048] = {0};
    fake_engine(a, sizeof(a), "spammer", "printf '= A1\\n\\n'");
    fake_engine(b, sizeof(b), "passer", "printf '= pass\\n\\n'");
    tg_match_result_t res;
    tg_err_t err = {0};
    ASSERT_EQ(run_match(a, b, 2, 7.5f, 10, &res, summary, sizeof(summary), &err), 0);
    /* A plays A1, then A1 again on an occupied point: B wins both games. */
    ASSERT_EQ(res.b_wins, 2);
    ASSERT_EQ(res.illegal_moves, 2);
    tg_sgf_t s;
    read_sgf(1, &s);
    ASSERT_STREQ(s.result, "W+F");
    ASSERT_CONTAINS(s.comments[0], "illegal move by black (engine A) at move 3: 'A1'");
    tg_sgf_free(&s);
    read_sgf(2, &s);
    ASSERT_STREQ(s.result, "B+F");
    tg_sgf_free(&s);
}

TEST(garbage_and_resignation) {
    char a[512], b[512], summary[2048] = {0};
    fake_engine(a, sizeof(a), "resigner", "printf '= resign\\n\\n'");
    fake_engine(b, sizeof(b), "babbler", "printf '= Z99\\n\\n'");
    tg_match_result_t res;
    tg_err_t err = {0};
    ASSERT_EQ(run_match(a, b, 2, 7.5f, 10, &res, summary, sizeof(summary), &err), 0);
    /* game 1: A (black) resigns at once; game 2: B (black) answers garbage and loses. */
    ASSERT_EQ(res.b_wins, 1);
    ASSERT_EQ(res.a_wins, 1);
    ASSERT_EQ(res.resignations, 1);
    ASSERT_EQ(res.illegal_moves, 1);
    tg_sgf_t s;
    read_sgf(1, &s);
    ASSERT_STREQ(s.result, "W+R");
    tg_sgf_free(&s);
}

TEST(hung_engine_times_out_and_is_restarted) {
    char a[512], b[512], summary[2048] = {0};
    fake_engine(a, sizeof(a), "sleeper", "sleep 30");
    fake_engine(b, sizeof(b), "passer", "printf '= pass\\n\\n'");
    tg_match_result_t res;
    tg_err_t err = {0};
    ASSERT_EQ(run_match(a, b, 2, 7.5f, 0.3, &res, summary, sizeof(summary), &err), 0);
    ASSERT_EQ(res.games, 2);
    ASSERT_EQ(res.b_wins, 2); /* A never answers genmove in time, in either colour */
    tg_sgf_t s;
    read_sgf(2, &s);
    ASSERT_CONTAINS(s.comments[0], "no answer to 'genmove w'");
    tg_sgf_free(&s);
}

TEST(bad_options_and_dead_engines) {
    char a[512], summary[2048] = {0};
    fake_engine(a, sizeof(a), "p", "printf '= pass\\n\\n'");
    tg_match_result_t res;
    tg_err_t err = {0};
    ASSERT_EQ(run_match(a, "exit 0", 1, 7.5f, 5, &res, summary, sizeof(summary), &err), TG_EIO);
    ASSERT_CONTAINS(err.msg, "starting engine B");
    ASSERT_EQ(run_match(a, "/nonexistent/engine", 1, 7.5f, 5, &res, summary, sizeof(summary), &err),
              TG_EIO);
    ASSERT_EQ(run_match(a, a, 1, 7.3f, 5, &res, summary, sizeof(summary), &err), TG_EINVAL);
    ASSERT_EQ(run_match(a, a, 0, 7.5f, 5, &res, summary, sizeof(summary), &err), TG_EINVAL);
    ASSERT_EQ(run_match(a, "", 1, 7.5f, 5, &res, summary, sizeof(summary), &err), TG_EINVAL);
}

/* Values computed by hand (Wilson: centre (p + z^2/2n) / (1 + z^2/n), half-width
 * z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n), z = 1.96; Elo 400 log10(p / (1 - p))). */
TEST(winrate_interval_and_elo) {
    ASSERT_NEAR(tg_match_elo_from_winrate(0.5), 0.0, 1e-12);
    ASSERT_NEAR(tg_match_elo_from_winrate(0.6), 70.4365036, 1e-6);
    ASSERT_NEAR(tg_match_elo_from_winrate(0.75), 190.8485019, 1e-6);
    ASSERT_NEAR(tg_match_elo_from_winrate(0.25), -190.8485019, 1e-6);
    ASSERT_TRUE(isinf(tg_match_elo_from_winrate(1.0)) && tg_match_elo_from_winrate(1.0) > 0);
    ASSERT_TRUE(isinf(tg_match_elo_from_winrate(0.0)) && tg_match_elo_from_winrate(0.0) < 0);

    tg_match_stats_t st;
    tg_match_compute_stats(60, 100, &st);
    ASSERT_EQ(st.n, 100);
    ASSERT_NEAR(st.winrate, 0.6, 1e-12);
    ASSERT_NEAR(st.winrate_lo, 0.5020026, 1e-6);
    ASSERT_NEAR(st.winrate_hi, 0.6905987, 1e-6);
    ASSERT_NEAR(st.elo, 70.4365036, 1e-6);
    ASSERT_NEAR(st.elo_lo, 1.3915473, 1e-5);
    ASSERT_NEAR(st.elo_hi, 139.4814600, 1e-5);

    tg_match_compute_stats(15, 20, &st);
    ASSERT_NEAR(st.winrate_lo, 0.5312991, 1e-6);
    ASSERT_NEAR(st.winrate_hi, 0.8881383, 1e-6);
    ASSERT_NEAR(st.elo_lo, 21.7773327, 1e-5);
    ASSERT_NEAR(st.elo_hi, 359.9196711, 1e-5);

    /* A clean sweep: the interval touches 1 and the Elo is unbounded above. */
    tg_match_compute_stats(10, 10, &st);
    ASSERT_NEAR(st.winrate_lo, 0.7224672, 1e-6);
    ASSERT_TRUE(st.winrate_hi == 1.0);
    ASSERT_NEAR(st.elo_lo, 166.2015272, 1e-5);
    ASSERT_TRUE(isinf(st.elo) && isinf(st.elo_hi));
    tg_match_compute_stats(0, 10, &st);
    ASSERT_TRUE(st.winrate_lo == 0.0);
    ASSERT_NEAR(st.winrate_hi, 0.2775328, 1e-6);
    ASSERT_NEAR(st.elo_hi, -166.2015272, 1e-5);

    /* Draws count half; void games do not count at all. */
    tg_match_result_t res = {0};
    res.games = 12;
    res.a_wins = 5;
    res.b_wins = 4;
    res.draws = 3; /* of which 2 void */
    res.void_games = 2;
    tg_match_result_stats(&res, &st);
    ASSERT_EQ(st.n, 10);
    ASSERT_NEAR(st.points, 5.5, 1e-12);
    ASSERT_NEAR(st.winrate_lo, 0.2736697, 1e-6);
    ASSERT_NEAR(st.winrate_hi, 0.7985770, 1e-6);
    ASSERT_NEAR(st.elo, 34.8600703, 1e-6);

    /* No game counted: nothing is known. */
    tg_match_compute_stats(0, 0, &st);
    ASSERT_NEAR(st.winrate, 0.5, 0);
    ASSERT_TRUE(st.winrate_lo == 0.0 && st.winrate_hi == 1.0);
}

static char model_path[1024];

static void internal_player(tg_match_player_t *p, int64_t visits) {
    p->model = model_path;
    p->visits = visits;
    p->nn_threads = 1;
}

/* Two short 9x9 games between two in-process searches (tiny visits): both games must finish
 * legally and be scored, with names, SGFs and the summary line. */
TEST(internal_players_play_each_other) {
    if (access(model_path, R_OK) != 0) {
        printf("  skipped: no fixture net at %s\n", model_path);
        return;
    }
    tg_match_options_t o;
    tg_match_options_default(&o);
    internal_player(&o.a, 8);
    internal_player(&o.b, 4);
    o.games = 2;
    o.board_size = 9;
    o.komi = 7.0f;
    o.rules = "chinese";
    o.sgf_dir = sgf_dir;
    o.max_moves = 200;
    char summary[4096] = {0};
    FILE *f = fmemopen(summary, sizeof(summary), "w");
    o.summary = f;
    tg_match_result_t res;
    tg_err_t err = {0};
    int rc = tg_match_run(&o, &res, &err);
    fclose(f);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    printf("%s", summary);
    ASSERT_EQ(res.games, 2);
    ASSERT_EQ(res.a_wins + res.b_wins + res.draws, 2);
    ASSERT_EQ(res.void_games, 0);
    ASSERT_EQ(res.illegal_moves, 0);
    ASSERT_TRUE(res.total_moves >= 2 * 20); /* real games, not two passes */
    ASSERT_CONTAINS(summary,
                    "engine A: tengen g170-b6c96-s175395328-d26788732.bin.gz v8 (internal:");
    ASSERT_CONTAINS(summary, "match games=2 a_wins=");
    ASSERT_CONTAINS(summary, " a_winrate=");
    tg_sgf_t s;
    read_sgf(2, &s);
    ASSERT_STREQ(tg_sgf_get_prop(&s, 0, "PB"), "tengen g170-b6c96-s175395328-d26788732.bin.gz v4");
    ASSERT_TRUE(s.result[0] == 'B' || s.result[0] == 'W' || s.result[0] == '0');
    ASSERT_TRUE(tg_sgf_num_moves(&s) >= 20);
    tg_sgf_free(&s);
}

/* An internal player against a fake engine that always passes: the search must win as Black
 * (it owns the board) and must not pass the game away first. */
TEST(internal_player_beats_a_passer) {
    if (access(model_path, R_OK) != 0) {
        printf("  skipped: no fixture net at %s\n", model_path);
        return;
    }
    char b[512], summary[2048] = {0};
    fake_engine(b, sizeof(b), "passer", "printf '= pass\\n\\n'");
    tg_match_options_t o;
    tg_match_options_default(&o);
    internal_player(&o.a, 16);
    o.b.cmd = b;
    o.games = 1;
    o.board_size = 9;
    o.komi = 7.5f;
    o.max_moves = 200;
    FILE *f = fmemopen(summary, sizeof(summary), "w");
    o.summary = f;
    tg_match_result_t res;
    tg_err_t err = {0};
    int rc = tg_match_run(&o, &res, &err);
    fclose(f);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.a_wins_black, 1);
    ASSERT_CONTAINS(summary, "a_winrate=1.0000 elo=inf elo_lo=");

    /* Bad internal settings are refused before anything starts. */
    o.a.visits = -1;
    ASSERT_EQ(tg_match_run(&o, &res, &err), TG_EINVAL);
    o.a.visits = 10;
    o.a.model = "/nonexistent/model.bin.gz";
    ASSERT_TRUE(tg_match_run(&o, &res, &err) < 0);
    ASSERT_CONTAINS(err.msg, "starting engine A");
}

int main(void) {
    snprintf(model_path, sizeof(model_path), "%s/g170-b6c96-s175395328-d26788732.bin.gz",
             test_fixtures_dir());
    snprintf(sgf_dir, sizeof(sgf_dir), "/tmp/tengen_match_test_%d", (int)getpid());
    RUN(passers_alternate_colours_and_score_komi);
    RUN(komi_zero_is_a_draw);
    RUN(illegal_move_loses);
    RUN(garbage_and_resignation);
    RUN(hung_engine_times_out_and_is_restarted);
    RUN(bad_options_and_dead_engines);
    RUN(winrate_interval_and_elo);
    RUN(internal_players_play_each_other);
    RUN(internal_player_beats_a_passer);
    /* clean up the SGFs */
    DIR *d = opendir(sgf_dir);
    if (d) {
        struct dirent *ent;
        char path[512];
        while ((ent = readdir(d)))
            if (ent->d_name[0] != '.') {
                snprintf(path, sizeof(path), "%s/%s", sgf_dir, ent->d_name);
                unlink(path);
            }
        closedir(d);
        rmdir(sgf_dir);
    }
    TEST_MAIN_END();
}
