/* test_search.c: GTP genmove with the search and the real fixture net (b6c96) on 9x9: it takes
 * an obvious capture, saves a group in atari, keeps the searched tree across genmove and the
 * opponent's play (and drops it on clear_board / undo), answers kata-analyze in KataGo's
 * shape, and resigns only when a resign threshold is set. Small visit counts keep it fast
 * (about 0.2 s per 100-visit search on one core). Skipped (77) without the fixture net. */
#include "gtp/gtp.h"

#include <stdlib.h>
#include <unistd.h>

#include "test.h"

static char model_path[1024];

static tg_gtp_engine_t *engine(int64_t visits, double resign_threshold) {
    tg_gtp_options_t o;
    tg_gtp_options_default(&o);
    o.board_size = 9;
    o.model_path = model_path;
    o.nn_threads = 1;
    o.seed = 12345;
    o.max_visits = visits;
    o.resign_threshold = resign_threshold;
    tg_gtp_engine_t *e = NULL;
    tg_err_t err;
    if (tg_gtp_engine_create(&o, &e, &err) != 0) printf("  engine: %s\n", err.msg);
    return e;
}

static const char *gtp(tg_gtp_engine_t *e, const char *line) {
    const char *r;
    tg_gtp_engine_handle_line(e, line, &r);
    return r;
}

/* Sends every command in cmds (NULL-terminated); each must succeed. Returns 0 or -1. */
static int setup(tg_gtp_engine_t *e, const char *const *cmds) {
    for (int i = 0; cmds[i]; i++) {
        const char *r = gtp(e, cmds[i]);
        if (r[0] != '=') {
            printf("  '%s' -> %s", cmds[i], r);
            return -1;
        }
    }
    return 0;
}

static int color_at(tg_gtp_engine_t *e, const char *vertex) {
    tg_loc_t loc;
    if (tg_loc_from_gtp(vertex, 9, &loc) != 0) return -1;
    return tg_gtp_engine_game(e)->board.color[loc];
}

static int libs_at(tg_gtp_engine_t *e, const char *vertex) {
    tg_loc_t loc;
    if (tg_loc_from_gtp(vertex, 9, &loc) != 0) return -1;
    return tg_board_chain_libs(&tg_gtp_engine_game(e)->board, loc);
}

/* White E5 F5 surrounded by Black D5 E4 F4 E6 G5, last liberty F6, in an otherwise normal
 * opening (the net: Black to move leads by about 13.5 points at komi 7, White to move by 1).
 *   7 . . O . . . O . .
 *   6 . . . . X . . . .
 *   5 . . . X O O X . .
 *   4 . . . . X X . . .
 *   3 . . O X . . O . .
 *     A B C D E F G H J
 * Komi 17 makes the capture decide the game for Black (win rate about 0.66 after F6, 0.51
 * after the next best move); at komi 7, saving decides it for White (0.70 after F6). */
static const char *const atari_position[] = {
    "play b E4", "play w E5", "play b F4", "play w F5", "play b D5", "play w C3", "play b E6",
    "play w G7", "play b G5", "play w C7", "play b D3", "play w G3", NULL};

TEST(genmove_takes_the_obvious_capture) {
    tg_gtp_engine_t *e = engine(80, 0);
    ASSERT_TRUE(e != NULL);
    ASSERT_STREQ(gtp(e, "komi 17"), "= \n\n");
    ASSERT_EQ(setup(e, atari_position), 0);
    ASSERT_EQ(libs_at(e, "E5"), 1);
    ASSERT_STREQ(gtp(e, "genmove b"), "= F6\n\n");
    ASSERT_EQ(color_at(e, "E5"), TG_EMPTY);
    ASSERT_EQ(color_at(e, "F5"), TG_EMPTY);
    ASSERT_EQ(tg_gtp_engine_game(e)->board.captured[TG_WHITE], 2); /* white stones captured */
    tg_gtp_engine_destroy(e);
}

TEST(genmove_saves_the_group_in_atari) {
    tg_gtp_engine_t *e = engine(80, 0);
    ASSERT_TRUE(e != NULL);
    ASSERT_EQ(setup(e, atari_position), 0);
    ASSERT_STREQ(gtp(e, "komi 7"), "= \n\n");
    const char *r = gtp(e, "genmove w");
    printf("  white answered %s", r);
    ASSERT_TRUE(r[0] == '=');
    /* Any saving move will do (extending to F6 is the natural one); the group must live on
     * with more than one liberty. */
    ASSERT_EQ(color_at(e, "E5"), TG_WHITE);
    ASSERT_TRUE(libs_at(e, "E5") >= 2);
    tg_gtp_engine_destroy(e);
}

static int64_t root_visits(tg_gtp_engine_t *e) {
    tg_search_values_t v;
    if (tg_search_root_values(tg_gtp_engine_search(e), &v) != 0) return 0;
    return v.visits;
}

static int64_t last_playouts(tg_gtp_engine_t *e) {
    tg_search_stats_t st;
    tg_search_get_stats(tg_gtp_engine_search(e), &st);
    return st.playouts;
}

TEST(tree_is_reused_across_genmove_and_play) {
    tg_gtp_engine_t *e = engine(100, 0);
    ASSERT_TRUE(e != NULL);
    const tg_search_t *s = tg_gtp_engine_search(e);
    ASSERT_TRUE(s != NULL);
    ASSERT_EQ(setup(e, (const char *const[]){"komi 7", "play b E5", NULL}), 0);
    const char *r = gtp(e, "genmove w");
    ASSERT_TRUE(r[0] == '=');
    ASSERT_EQ(last_playouts(e), 100);
    /* The tree followed White's move: its root is the position after it, Black to move. */
    ASSERT_EQ(tg_search_root_game(s)->num_moves, 2);
    int64_t after_genmove = root_visits(e);
    printf("  after genmove: %lld visits kept\n", (long long)after_genmove);
    ASSERT_TRUE(after_genmove > 1 && after_genmove < 100);

    /* Black answers with the move the search expected: its subtree is kept. */
    tg_loc_t pv[4];
    ASSERT_TRUE(tg_search_pv(s, pv, 4) >= 1);
    char cmd[32], vtx[16];
    snprintf(cmd, sizeof(cmd), "play b %s", tg_loc_to_gtp(pv[0], 9, vtx));
    ASSERT_STREQ(gtp(e, cmd), "= \n\n");
    ASSERT_EQ(tg_search_root_game(s)->num_moves, 3);
    int64_t after_play = root_visits(e);
    printf("  after play %s: %lld visits kept\n", vtx, (long long)after_play);
    ASSERT_TRUE(after_play > 1 && after_play < after_genmove);

    /* The next search only tops the tree up to 100 visits. */
    ASSERT_TRUE(gtp(e, "genmove w")[0] == '=');
    ASSERT_EQ(last_playouts(e), 100 - after_play);

    /* A move the tree never searched keeps nothing, but the game goes on from it. */
    ASSERT_STREQ(gtp(e, "play b A1"), "= \n\n");
    ASSERT_EQ(tg_search_root_game(s)->num_moves, 5);
    ASSERT_TRUE(gtp(e, "genmove w")[0] == '=');
    ASSERT_TRUE(last_playouts(e) >= 99);

    /* undo and clear_board drop the tree: full searches again. */
    ASSERT_STREQ(gtp(e, "undo"), "= \n\n");
    ASSERT_TRUE(gtp(e, "genmove w")[0] == '=');
    ASSERT_EQ(last_playouts(e), 100);
    ASSERT_STREQ(gtp(e, "clear_board"), "= \n\n");
    ASSERT_TRUE(gtp(e, "genmove b")[0] == '=');
    ASSERT_EQ(last_playouts(e), 100);
    ASSERT_EQ(tg_search_root_game(s)->num_moves, 1);
    tg_gtp_engine_destroy(e);
}

TEST(kata_analyze_reports_moves_in_katago_shape) {
    tg_gtp_engine_t *e = engine(60, 0);
    ASSERT_TRUE(e != NULL);
    ASSERT_EQ(setup(e, atari_position), 0);
    char r[16384];
    snprintf(r, sizeof(r), "%s", gtp(e, "kata-analyze b 50 maxmoves 3"));
    ASSERT_TRUE(strncmp(r, "= \ninfo move F6 visits ", 23) == 0);
    ASSERT_CONTAINS(r, " order 0 pv F6");
    ASSERT_TRUE(strstr(r, " order 3 ") == NULL);
    /* Win rate is Black's (to move), who is winning after the capture. */
    const char *w = strstr(r, " winrate ");
    ASSERT_TRUE(w != NULL);
    double wr = atof(w + 9);
    ASSERT_TRUE(wr > 0.5 && wr <= 1.0);
    /* Visits of the listed moves add up to at most the root's, and the game is unchanged. */
    long long sum = 0;
    for (const char *p = r; (p = strstr(p, "edgeVisits ")); p += 11)
        sum += atoll(p + 11);
    ASSERT_TRUE(sum > 0 && sum < 60);
    ASSERT_EQ(color_at(e, "F6"), TG_EMPTY);
    ASSERT_EQ(tg_gtp_engine_game(e)->to_move, TG_BLACK);
    ASSERT_STREQ(gtp(e, "kata-analyze b maxmoves 0"),
                 "? Expected [player] [interval] [maxmoves N] for kata-analyze but got 'b "
                 "maxmoves 0'\n\n");
    ASSERT_STREQ(gtp(e, "known_command kata-analyze"), "= true\n\n");
    tg_gtp_engine_destroy(e);
}

/* Self-play with a threshold no position reaches (win rate below 0.999 is always true) must
 * resign, but not before move 1 + 81/5 = 17 and not before 3 searches in a row; without a
 * threshold the same game never resigns. */
TEST(resign_only_with_a_threshold) {
    for (int with = 0; with < 2; with++) {
        tg_gtp_engine_t *e = engine(20, with ? 0.999 : 0.0);
        ASSERT_TRUE(e != NULL);
        int resigned_at = -1;
        for (int i = 0; i < 30 && resigned_at < 0; i++) {
            const char *r = gtp(e, i % 2 ? "genmove w" : "genmove b");
            ASSERT_TRUE(r[0] == '=');
            if (!strcmp(r, "= resign\n\n")) resigned_at = i;
            if (tg_gtp_engine_game(e)->game_over) break;
        }
        if (with) {
            printf("  resigned at move %d\n", resigned_at + 1);
            ASSERT_TRUE(resigned_at >= 17);
            ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, resigned_at);
        } else {
            ASSERT_EQ(resigned_at, -1);
        }
        tg_gtp_engine_destroy(e);
    }
}

/* A GTP clock caps the search: 9x9, 2 s of main time left, no byo-yomi: 2 / max(10, 24.3)
 * - 0.3 s -> the 0.05 s floor, far below what 10^6 visits would take. Without a clock the
 * visit limit alone applies. */
TEST(clock_caps_the_search_time) {
    tg_gtp_engine_t *e = engine(1000000, 0);
    ASSERT_TRUE(e != NULL);
    ASSERT_STREQ(gtp(e, "time_settings 60 0 0"), "= \n\n");
    ASSERT_STREQ(gtp(e, "time_left b 2 0"), "= \n\n");
    ASSERT_TRUE(gtp(e, "genmove b")[0] == '=');
    tg_search_stats_t st;
    tg_search_get_stats(tg_gtp_engine_search(e), &st);
    printf("  2 s left: %.3f s, %lld playouts\n", st.elapsed_s, (long long)st.playouts);
    ASSERT_TRUE(st.elapsed_s < 0.5);
    ASSERT_TRUE(st.playouts < 100000);
    ASSERT_NEAR(tg_search_get_params(tg_gtp_engine_search(e))->max_time_s, 0.05, 1e-12);
    /* Byo-yomi: 3 s left for 10 stones -> 0.8 * 0.3 - 0.3 < 0.05 -> the floor again. */
    ASSERT_STREQ(gtp(e, "time_settings 0 30 10"), "= \n\n");
    ASSERT_STREQ(gtp(e, "time_left w 3 10"), "= \n\n");
    ASSERT_TRUE(gtp(e, "genmove w")[0] == '=');
    ASSERT_NEAR(tg_search_get_params(tg_gtp_engine_search(e))->max_time_s, 0.05, 1e-12);
    /* Main time 1 s, then 0.5 s byo-yomi per stone: 1 / 23.3 + 0.4 - 0.3 = 0.1429 s. */
    ASSERT_STREQ(gtp(e, "time_settings 1 0.5 1"), "= \n\n");
    ASSERT_TRUE(gtp(e, "genmove b")[0] == '=');
    ASSERT_NEAR(tg_search_get_params(tg_gtp_engine_search(e))->max_time_s,
                1.0 / ((0.6 * 81 - 2) / 2) + 0.4 - 0.3, 1e-9);
    tg_gtp_engine_destroy(e);

    /* No clock: the visit limit alone. */
    e = engine(50, 0);
    ASSERT_TRUE(e != NULL);
    ASSERT_TRUE(gtp(e, "genmove b")[0] == '=');
    ASSERT_TRUE(tg_search_get_params(tg_gtp_engine_search(e))->max_time_s == 0.0);
    tg_gtp_engine_destroy(e);
}

TEST(search_off_and_bad_options) {
    tg_gtp_options_t o;
    tg_gtp_options_default(&o);
    ASSERT_EQ(o.max_visits, 400);
    o.board_size = 9;
    o.model_path = model_path;
    o.nn_threads = 1;
    o.max_visits = 0; /* raw policy */
    tg_gtp_engine_t *e = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_gtp_engine_create(&o, &e, &err), 0);
    ASSERT_TRUE(tg_gtp_engine_search(e) == NULL);
    ASSERT_TRUE(gtp(e, "genmove b")[0] == '=');
    ASSERT_STREQ(gtp(e, "kata-analyze"), "? search is off (max visits and time 0)\n\n");
    tg_gtp_engine_destroy(e);
    o.max_visits = 10;
    o.resign_threshold = 1.5;
    ASSERT_EQ(tg_gtp_engine_create(&o, &e, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "resign threshold");
}

int main(void) {
    snprintf(model_path, sizeof(model_path), "%s/g170-b6c96-s175395328-d26788732.bin.gz",
             test_fixtures_dir());
    if (access(model_path, R_OK) != 0) {
        printf("SKIP: no fixture net at %s\n", model_path);
        return 77;
    }
    RUN(genmove_takes_the_obvious_capture);
    RUN(genmove_saves_the_group_in_atari);
    RUN(tree_is_reused_across_genmove_and_play);
    RUN(kata_analyze_reports_moves_in_katago_shape);
    RUN(resign_only_with_a_threshold);
    RUN(clock_caps_the_search_time);
    RUN(search_off_and_bad_options);
    TEST_MAIN_END();
}
