/* test_final_score.c: GTP final_score under tromp-taylor is the strict area count of the board
 * as it stands; under other area rules it follows KataGo (stones inside the opponent's
 * pass-alive territory count for the opponent). */
#include "gtp/gtp.h"

#include "test.h"

static const char *gtp(tg_gtp_engine_t *e, const char *line) {
    const char *resp;
    tg_gtp_engine_handle_line(e, line, &resp);
    return resp;
}

/* 5x5: a black wall on column C with eyes at A1-B2 and A4-B5; a dead white stone on A5 inside
 * Black's pass-alive territory; the right side empty. */
static const char *setup[] = {"boardsize 5", "clear_board", "komi 7.5",  "play B C1",
                              "play B C2",   "play B C3",   "play B C4", "play B C5",
                              "play B A3",   "play B B3",   "play B A2", "play W A5"};

static void play_setup(tg_gtp_engine_t *e, const char *rules) {
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "kata-set-rules %s", rules);
    gtp(e, "boardsize 5");
    gtp(e, "clear_board");
    gtp(e, cmd);
    for (size_t i = 2; i < sizeof(setup) / sizeof(setup[0]); i++)
        gtp(e, setup[i]);
}

TEST(tromp_taylor_strict) {
    tg_gtp_options_t o;
    tg_gtp_options_default(&o);
    tg_gtp_engine_t *e = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_gtp_engine_create(&o, &e, &err), 0);
    play_setup(e, "tromp-taylor");
    /* Black 8 stones + A1,B1,B2 + 10 right-side points = 21; White A5 = 1; A4,B4,B5 are dame. */
    ASSERT_STREQ(gtp(e, "final_score"), "= B+12.5\n\n");
    /* Two passes end the game: still the strict count. */
    gtp(e, "play B pass");
    gtp(e, "play W pass");
    ASSERT_STREQ(gtp(e, "final_score"), "= B+12.5\n\n");
    tg_gtp_engine_destroy(e);
}

TEST(chinese_pass_alive) {
    tg_gtp_options_t o;
    tg_gtp_options_default(&o);
    tg_gtp_engine_t *e = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_gtp_engine_create(&o, &e, &err), 0);
    play_setup(e, "chinese");
    /* A5 is dead inside Black's pass-alive area: Black gets all 25 points. As in KataGo, the
     * 8 black moves before White's first count as handicap stones, and Chinese rules give
     * White 1 point per handicap stone: 25 - 8 - 7.5 = B+9.5. */
    ASSERT_STREQ(gtp(e, "final_score"), "= B+9.5\n\n");
    ASSERT_STREQ(gtp(e, "final_status_list dead"), "= A5\n\n");
    tg_gtp_engine_destroy(e);
}

int main(void) {
    RUN(tromp_taylor_strict);
    RUN(chinese_pass_alive);
    TEST_MAIN_END();
}
