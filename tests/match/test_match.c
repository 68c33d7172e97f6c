/* test_match.c: the match driver against small fake GTP engines written in sh: engines that
 * always pass, always play A1 (illegal the second time), resign, hang, or die. Checks the
 * referee's results, the colour alternation, the summary line and the SGFs. */
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
    o.cmd_a = a;
    o.cmd_b = b;
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
    ASSERT_CONTAINS(summary, "match games=2 a_wins=1 b_wins=1 draws=0\n");
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
    ASSERT_CONTAINS(summary, "match games=2 a_wins=0 b_wins=0 draws=2\n");
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

int main(void) {
    snprintf(sgf_dir, sizeof(sgf_dir), "/tmp/tengen_match_test_%d", (int)getpid());
    RUN(passers_alternate_colours_and_score_komi);
    RUN(komi_zero_is_a_draw);
    RUN(illegal_move_loses);
    RUN(garbage_and_resignation);
    RUN(hung_engine_times_out_and_is_restarted);
    RUN(bad_options_and_dead_engines);
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
