/* test_engine.c: GTP transcripts through the library API: each command line in, the exact
 * response out. Covers framing (ids, comments, control characters, blank lines), every
 * command, bad input of every kind (the engine must answer "? ..." and keep its state), random
 * self-play to the end, and SGF print/load round trips. No net is loaded here. */
#include "gtp/gtp.h"

#include <unistd.h>

#include "test.h"

static tg_gtp_engine_t *new_engine(int size, uint64_t seed) {
    tg_gtp_options_t o;
    tg_gtp_options_default(&o);
    o.board_size = size;
    o.seed = seed;
    tg_gtp_engine_t *e = NULL;
    tg_err_t err;
    if (tg_gtp_engine_create(&o, &e, &err) != 0) {
        printf("  engine: %s\n", err.msg);
        return NULL;
    }
    return e;
}

static const char *gtp(tg_gtp_engine_t *e, const char *line) {
    const char *resp;
    tg_gtp_engine_handle_line(e, line, &resp);
    return resp;
}

/* ASSERT that `line` gets exactly `want`. */
#define EXPECT(e, line, want) ASSERT_STREQ(gtp((e), (line)), (want))

TEST(framing) {
    tg_gtp_engine_t *e = new_engine(19, 1);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "protocol_version", "= 2\n\n");
    EXPECT(e, "protocol_version\n", "= 2\n\n");
    EXPECT(e, "12 name", "=12 tengen\n\n");
    EXPECT(e, "007 protocol_version", "=7 2\n\n");
    EXPECT(e, "3protocol_version", "=3 2\n\n");
    EXPECT(e, "", "");
    EXPECT(e, "   \t  ", "");
    EXPECT(e, "# just a comment", "");
    EXPECT(e, "name # trailing comment", "= tengen\n\n");
    EXPECT(e, "\tprotocol_version\t", "= 2\n\n");
    EXPECT(e, "pro\x01tocol_\x7fversion\r", "= 2\n\n");
    EXPECT(e, "5 foo", "?5 unknown command\n\n");
    EXPECT(e, "NAME", "? unknown command\n\n");
    EXPECT(e, "7", "?7 empty command\n\n");
    EXPECT(e, "99999999999999 name", "? GTP id could not be parsed: too large\n\n");
    EXPECT(e, "known_command play", "= true\n\n");
    EXPECT(e, "known_command kata-raw-nn", "= true\n\n");
    EXPECT(e, "known_command frobnicate", "= false\n\n");
    EXPECT(e, "known_command", "? Expected single argument for known_command but got ''\n\n");
    EXPECT(e, "version", "= " TENGEN_VERSION "\n\n");
    const char *list = gtp(e, "list_commands");
    ASSERT_TRUE(strncmp(list, "= protocol_version\nname\n", 24) == 0);
    ASSERT_CONTAINS(list, "\nkata-set-rules\n");
    ASSERT_CONTAINS(list, "\nloadsgf\n");
    ASSERT_TRUE(strstr(list, "\n\n") == list + strlen(list) - 2);
    /* every listed command is known */
    char copy[2048];
    snprintf(copy, sizeof(copy), "%s", list + 2);
    for (char *tok = strtok(copy, "\n"); tok; tok = strtok(NULL, "\n")) {
        char line[128];
        snprintf(line, sizeof(line), "known_command %s", tok);
        EXPECT(e, line, "= true\n\n");
    }
    const char *resp;
    ASSERT_EQ(tg_gtp_engine_handle_line(e, "9 quit", &resp), TG_GTP_QUIT);
    ASSERT_STREQ(resp, "=9 \n\n");
    tg_gtp_engine_destroy(e);
}

TEST(boardsize_clear_board_and_showboard) {
    tg_gtp_engine_t *e = new_engine(19, 1);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "boardsize 1", "? unacceptable size\n\n");
    EXPECT(e, "boardsize 20", "? unacceptable size\n\n");
    EXPECT(e, "boardsize 9:13", "? unacceptable size\n\n");
    EXPECT(e, "boardsize x",
           "? Expected int argument for boardsize or pair of ints but got 'x'\n\n");
    EXPECT(e, "boardsize", "? Expected int argument for boardsize or pair of ints but got ''\n\n");
    EXPECT(e, "boardsize 1 2 3",
           "? Expected int argument for boardsize or pair of ints but got '1 2 3'\n\n");
    ASSERT_EQ(tg_gtp_engine_game(e)->board.size, 19);
    EXPECT(e, "boardsize 5", "= \n\n");
    EXPECT(e, "play b C3", "= \n\n");
    EXPECT(e, "play w  d4", "= \n\n"); /* repeated spaces, lower case */
    EXPECT(e, "showboard",
           "= MoveNum: 2\n"
           "   A B C D E\n"
           " 5 . . . . . 5\n"
           " 4 . . . O . 4\n"
           " 3 . . X . . 3\n"
           " 2 . . . . . 2\n"
           " 1 . . . . . 1\n"
           "   A B C D E\n"
           "Next player: Black\n"
           "Rules: {\"friendlyPassOk\":false,\"hasButton\":false,\"ko\":\"POSITIONAL\","
           "\"komi\":7.5,\"scoring\":\"AREA\",\"suicide\":true,\"tax\":\"NONE\","
           "\"whiteHandicapBonus\":\"0\"}\n"
           "B stones captured: 0\n"
           "W stones captured: 0\n\n");
    EXPECT(e, "clear_board", "= \n\n");
    ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, 0);
    ASSERT_EQ(tg_board_count_stones(&tg_gtp_engine_game(e)->board, TG_BLACK), 0);
    /* 19x19: columns skip I, two-digit rows right-aligned */
    EXPECT(e, "boardsize 19", "= \n\n");
    EXPECT(e, "play B T19", "= \n\n");
    const char *sb = gtp(e, "showboard");
    ASSERT_CONTAINS(
        sb,
        "   A B C D E F G H J K L M N O P Q R S T\n19 . . . . . . . . . . . . . . . . . . X 19\n");
    ASSERT_CONTAINS(sb, "\n 1 . . . . . . . . . . . . . . . . . . . 1\n");
    ASSERT_CONTAINS(sb, "Next player: White\n");
    tg_gtp_engine_destroy(e);
}

TEST(play_undo_and_bad_moves) {
    tg_gtp_engine_t *e = new_engine(9, 1);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "play B E5", "= \n\n");
    EXPECT(e, "play W E5", "? illegal move\n\n");
    EXPECT(e, "play X E5", "? Could not parse color: 'X'\n\n");
    EXPECT(e, "play B Z9", "? Could not parse vertex: 'Z9'\n\n");
    EXPECT(e, "play B I5", "? Could not parse vertex: 'I5'\n\n");
    EXPECT(e, "play B E10", "? Could not parse vertex: 'E10'\n\n");
    EXPECT(e, "play B E0", "? Could not parse vertex: 'E0'\n\n");
    EXPECT(e, "play B", "? Expected two arguments for play but got 'B'\n\n");
    EXPECT(e, "play", "? Expected two arguments for play but got ''\n\n");
    EXPECT(e, "play B E4 E3", "? Expected two arguments for play but got 'B E4 E3'\n\n");
    ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, 1);
    ASSERT_EQ(tg_gtp_engine_game(e)->to_move, TG_WHITE);
    /* the same colour twice is allowed (KataGo), and pass is a move */
    EXPECT(e, "play black D5", "= \n\n");
    EXPECT(e, "play WHITE pass", "= \n\n");
    ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, 3);
    /* single-stone suicide is illegal even under tromp-taylor */
    EXPECT(e, "play W A9", "= \n\n");
    EXPECT(e, "play B B9", "= \n\n");
    EXPECT(e, "play B A8", "= \n\n"); /* captures A9 */
    EXPECT(e, "play W A9", "? illegal move\n\n");
    EXPECT(e, "undo", "= \n\n");
    EXPECT(e, "play W A9", "? illegal move\n\n"); /* A9 still white: occupied */
    EXPECT(e, "undo", "= \n\n");
    EXPECT(e, "undo", "= \n\n");
    EXPECT(e, "undo", "= \n\n");
    EXPECT(e, "undo", "= \n\n");
    EXPECT(e, "undo", "= \n\n");
    EXPECT(e, "undo", "? cannot undo\n\n");
    EXPECT(e, "undo 3", "? cannot undo\n\n");
    ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, 0);
    tg_gtp_engine_destroy(e);
}

TEST(simple_ko) {
    /* Classic ko (row 5 is the top):
     *   row 4: . X O . .
     *   row 3: X O X O .   Black's C3 has just captured White's B3
     *   row 2: . X O . .                                              */
    tg_gtp_engine_t *e = new_engine(5, 1);
    ASSERT_TRUE(e != NULL);
    const char *ko[] = {"play B B4", "play W C4", "play B A3", "play W D3", "play B B2",
                        "play W C2", "play W B3", "play B C3", NULL};
    for (int i = 0; ko[i]; i++)
        EXPECT(e, ko[i], "= \n\n");
    /* Black's C3 captured White's B3 (B3 had liberties only at C3). */
    ASSERT_EQ(tg_gtp_engine_game(e)->board.color[tg_loc(1, 2)], TG_EMPTY);
    EXPECT(e, "play W B3", "? illegal move\n\n"); /* immediate recapture: ko */
    EXPECT(e, "play W E5", "= \n\n");
    EXPECT(e, "play B E1", "= \n\n");
    EXPECT(e, "play W B3", "= \n\n"); /* after a ko threat exchange it is legal again */
    tg_gtp_engine_destroy(e);
}

TEST(komi_and_final_score) {
    tg_gtp_engine_t *e = new_engine(5, 1);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "final_score", "= W+7.5\n\n");
    EXPECT(e, "komi 0", "= \n\n");
    EXPECT(e, "final_score", "= 0\n\n");
    EXPECT(e, "komi 6.3", "? komi must be an integer or half-integer\n\n");
    EXPECT(e, "komi abc", "? Expected single float argument for komi but got 'abc'\n\n");
    EXPECT(e, "komi", "? Expected single float argument for komi but got ''\n\n");
    EXPECT(e, "komi 1000", "? unacceptable komi\n\n");
    EXPECT(e, "komi nan", "? unacceptable komi\n\n");
    EXPECT(e, "komi 0.5", "= \n\n");
    /* Black column B, white column D: 10 points each, column C is dame. */
    for (int r = 1; r <= 5; r++) {
        char line[32];
        snprintf(line, sizeof(line), "play B B%d", r);
        EXPECT(e, line, "= \n\n");
        snprintf(line, sizeof(line), "play W D%d", r);
        EXPECT(e, line, "= \n\n");
    }
    EXPECT(e, "final_score", "= W+0.5\n\n");
    EXPECT(e, "komi -0.5", "= \n\n");
    EXPECT(e, "final_score", "= B+0.5\n\n");
    /* Black adds a stone on C3: 11 - 10 (strict area count as the board stands). */
    EXPECT(e, "play B C3", "= \n\n");
    EXPECT(e, "final_score", "= B+1.5\n\n");
    /* Two passes end the game; the score stays. */
    EXPECT(e, "play W pass", "= \n\n");
    EXPECT(e, "play B pass", "= \n\n");
    ASSERT_TRUE(tg_gtp_engine_game(e)->game_over);
    EXPECT(e, "final_score", "= B+1.5\n\n");
    tg_gtp_engine_destroy(e);
}

TEST(final_status_list_dead_stone_in_pass_alive_territory) {
    tg_gtp_engine_t *e = new_engine(5, 1);
    ASSERT_TRUE(e != NULL);
    /* White: B1-B5, D1-D5 and C3 (one chain with 4 small eyes); black A3 inside. */
    const char *w[] = {"B1", "B2", "B3", "B4", "B5", "D1", "D2", "D3", "D4", "D5", "C3", NULL};
    for (int i = 0; w[i]; i++) {
        char line[32];
        snprintf(line, sizeof(line), "play W %s", w[i]);
        EXPECT(e, line, "= \n\n");
    }
    EXPECT(e, "play B A3", "= \n\n");
    EXPECT(e, "final_status_list dead", "= A3\n\n");
    EXPECT(e, "final_status_list alive", "= B5 D5 B4 D4 B3 C3 D3 B2 D2 B1 D1\n\n");
    EXPECT(e, "final_status_list seki", "= \n\n");
    EXPECT(e, "final_status_list", "? Expected one argument for final_status_list but got ''\n\n");
    EXPECT(e, "final_status_list zombie",
           "? Argument to final_status_list must be 'alive' or 'seki' or 'dead'\n\n");
    /* Strict Tromp-Taylor count (the default rules): A3 counts for Black and A1 A2 A4 A5 are
     * dame: 11 stones + 9 points - 1 + 7.5. Chinese rules score it as KataGo does. */
    EXPECT(e, "final_score", "= W+26.5\n\n");
    EXPECT(e, "kata-set-rules chinese", "= \n\n");
    EXPECT(e, "komi 7.5", "= \n\n");
    EXPECT(e, "final_score", "= W+32.5\n\n"); /* 25 points + 7.5 */
    tg_gtp_engine_destroy(e);
}

TEST(handicap_commands) {
    tg_gtp_engine_t *e = new_engine(19, 1);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "fixed_handicap 1", "? Number of handicap stones less than 2: '1'\n\n");
    EXPECT(e, "fixed_handicap x", "? Could not parse number of handicap stones: 'x'\n\n");
    EXPECT(e, "fixed_handicap", "? Expected one argument for fixed_handicap but got ''\n\n");
    EXPECT(e, "fixed_handicap 10",
           "? Could not place 10 fixed handicap stones on a 19x19 board\n\n");
    const char *r = gtp(e, "fixed_handicap 4");
    ASSERT_TRUE(r[0] == '=');
    ASSERT_CONTAINS(r, "D4");
    ASSERT_CONTAINS(r, "Q16");
    ASSERT_CONTAINS(r, "D16");
    ASSERT_CONTAINS(r, "Q4");
    ASSERT_EQ(tg_board_count_stones(&tg_gtp_engine_game(e)->board, TG_BLACK), 4);
    ASSERT_EQ(tg_gtp_engine_game(e)->to_move, TG_WHITE);
    EXPECT(e, "fixed_handicap 4", "? Board is not empty\n\n");
    EXPECT(e, "place_free_handicap 2", "? Board is not empty\n\n");
    EXPECT(e, "set_free_handicap A1", "? Board is not empty\n\n");
    EXPECT(e, "clear_board", "= \n\n");
    EXPECT(e, "set_free_handicap", "? Expected at least one vertex for set_free_handicap\n\n");
    EXPECT(e, "set_free_handicap D4 Z99", "? Invalid handicap location: Z99\n\n");
    EXPECT(e, "set_free_handicap D4 pass", "? Invalid handicap location: pass\n\n");
    ASSERT_EQ(tg_board_count_stones(&tg_gtp_engine_game(e)->board, TG_BLACK), 0);
    EXPECT(e, "set_free_handicap D4 Q16 K10", "= \n\n");
    ASSERT_EQ(tg_board_count_stones(&tg_gtp_engine_game(e)->board, TG_BLACK), 3);
    ASSERT_EQ(tg_gtp_engine_game(e)->board.color[tg_loc(9, 9)], TG_BLACK);
    ASSERT_EQ(tg_gtp_engine_game(e)->to_move, TG_WHITE);
    EXPECT(e, "play W K10", "? illegal move\n\n");
    EXPECT(e, "boardsize 9", "= \n\n");
    r = gtp(e, "place_free_handicap 3");
    ASSERT_STREQ(r, "= C3 G7 C7\n\n"); /* GTP spec 4.1.1 order */
    EXPECT(e, "clear_board", "= \n\n");
    EXPECT(e, "place_free_handicap 81",
           "? Number of handicap stones too large for a 9x9 board: '81'\n\n");
    /* 12 stones: no fixed pattern, placed at random, all distinct */
    r = gtp(e, "place_free_handicap 12");
    ASSERT_TRUE(r[0] == '=');
    ASSERT_EQ(tg_board_count_stones(&tg_gtp_engine_game(e)->board, TG_BLACK), 12);
    tg_gtp_engine_destroy(e);
}

TEST(rules_commands) {
    tg_gtp_engine_t *e = new_engine(9, 1);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "kata-get-rules",
           "= {\"friendlyPassOk\":false,\"hasButton\":false,\"ko\":\"POSITIONAL\",\"scoring\":"
           "\"AREA\",\"suicide\":true,\"tax\":\"NONE\",\"whiteHandicapBonus\":\"0\"}\n\n");
    EXPECT(e, "kata-get-rules x", "? Expected no arguments for kata-get-rules but got 'x'\n\n");
    EXPECT(e, "komi 5", "= \n\n");
    EXPECT(e, "play B E5", "= \n\n");
    EXPECT(e, "kata-set-rules japanese", "= \n\n");
    EXPECT(e, "kata-get-rules",
           "= {\"friendlyPassOk\":false,\"hasButton\":false,\"ko\":\"SIMPLE\",\"scoring\":"
           "\"TERRITORY\",\"suicide\":false,\"tax\":\"SEKI\",\"whiteHandicapBonus\":\"0\"}\n\n");
    ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, 1);         /* moves kept */
    ASSERT_NEAR(tg_gtp_engine_game(e)->rules.komi, 5.0, 0); /* komi kept */
    EXPECT(e, "kata-set-rules chinese", "= \n\n");
    EXPECT(e, "kata-get-rules",
           "= {\"friendlyPassOk\":true,\"hasButton\":false,\"ko\":\"SIMPLE\",\"scoring\":"
           "\"AREA\",\"suicide\":false,\"tax\":\"NONE\",\"whiteHandicapBonus\":\"N\"}\n\n");
    EXPECT(e, "kata-set-rules koPOSITIONALscoreAREAtaxNONEsui1", "= \n\n");
    EXPECT(e, "kata-get-rules",
           "= {\"friendlyPassOk\":false,\"hasButton\":false,\"ko\":\"POSITIONAL\",\"scoring\":"
           "\"AREA\",\"suicide\":true,\"tax\":\"NONE\",\"whiteHandicapBonus\":\"0\"}\n\n");
    const char *r = gtp(e, "kata-set-rules nonsense-rules");
    ASSERT_TRUE(strncmp(r, "? Unknown rules 'nonsense-rules', ", 34) == 0);
    r = gtp(e, "kata-set-rules");
    ASSERT_TRUE(strncmp(r, "? Unknown rules '', ", 20) == 0);
    EXPECT(e, "kata-raw-nn 0", "? no model loaded\n\n");
    EXPECT(e, "kata-raw-nn all", "? no model loaded\n\n");
    tg_gtp_engine_destroy(e);
}

TEST(time_commands) {
    tg_gtp_engine_t *e = new_engine(9, 1);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "time_settings 300 30 5", "= \n\n");
    EXPECT(e, "time_settings", "? Expected float for main time as argument 0\n\n");
    EXPECT(e, "time_settings 300",
           "? Expected float for byo-yomi per-period time as argument 1\n\n");
    EXPECT(e, "time_settings 300 30",
           "? Expected int for byo-yomi overtime stones as argument 2\n\n");
    EXPECT(e, "time_settings -1 30 5", "? Main time is an invalid value: -1\n\n");
    EXPECT(e, "time_settings 1 nan 5", "? byo-yomi per-period time is an invalid value: nan\n\n");
    EXPECT(e, "time_settings 1 1 -5", "? byo-yomi overtime stones is an invalid value: -5\n\n");
    EXPECT(e, "time_left b 100 0", "= \n\n");
    EXPECT(e, "time_left white 20.5 3", "= \n\n");
    EXPECT(e, "time_left x 1 1",
           "? Expected player and float time and int stones for time_left but got 'x 1 1'\n\n");
    EXPECT(e, "time_left b -100 0", "? invalid time\n\n");
    EXPECT(e, "time_left b 10 -1", "? invalid stones\n\n");
    EXPECT(e, "time_settings 300 0 0", "= \n\n");
    EXPECT(e, "time_left b 10 2",
           "? stones left in period is > 0 but the time control used does not have any overtime "
           "periods\n\n");
    tg_gtp_engine_destroy(e);
}

TEST(genmove_random_self_play_to_the_end) {
    tg_gtp_engine_t *e = new_engine(9, 42);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "genmove", "? Expected one argument for genmove but got ''\n\n");
    EXPECT(e, "genmove purple", "? Could not parse color: 'purple'\n\n");
    int passes = 0, moves = 0;
    tg_color_t pla = TG_BLACK;
    char last[2][16] = {"", ""};
    while (passes < 2 && moves < 600) {
        const char *r = gtp(e, pla == TG_BLACK ? "genmove b" : "genmove w");
        ASSERT_TRUE(r[0] == '=' && r[1] == ' ');
        char v[16];
        snprintf(v, sizeof(v), "%.*s", (int)(strlen(r) - 4), r + 2);
        tg_loc_t loc;
        ASSERT_EQ(tg_loc_from_gtp(v, 9, &loc), 0);
        const tg_game_t *g = tg_gtp_engine_game(e);
        ASSERT_EQ(g->num_moves, moves + 1);
        ASSERT_EQ(g->moves[moves].loc, loc);
        ASSERT_EQ(g->moves[moves].color, pla);
        passes = loc == TG_LOC_PASS ? passes + 1 : 0;
        snprintf(last[pla - 1], sizeof(last[0]), "%s", v);
        moves++;
        pla = tg_color_opp(pla);
    }
    ASSERT_EQ(passes, 2);
    ASSERT_TRUE(moves > 40); /* random play fills most of a 9x9 board before passing */
    ASSERT_TRUE(tg_gtp_engine_game(e)->game_over);
    const char *fs = gtp(e, "final_score");
    ASSERT_TRUE(fs[0] == '=' && (fs[2] == 'W' || fs[2] == 'B' || fs[2] == '0'));
    /* same seed, same game */
    tg_gtp_engine_t *e2 = new_engine(9, 42);
    for (int i = 0; i < moves; i++)
        gtp(e2, i % 2 ? "genmove w" : "genmove b");
    ASSERT_EQ(tg_gtp_engine_game(e2)->num_moves, moves);
    ASSERT_TRUE(tg_hash_eq(tg_gtp_engine_game(e2)->board.hash, tg_gtp_engine_game(e)->board.hash));
    tg_gtp_engine_destroy(e2);
    tg_gtp_engine_destroy(e);
}

TEST(printsgf_and_loadsgf_round_trip) {
    char dir[] = "/tmp/tengen_gtp_test_XXXXXX";
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    char path[256], bad[256], line[512];
    snprintf(path, sizeof(path), "%s/game.sgf", dir);
    snprintf(bad, sizeof(bad), "%s/bad.sgf", dir);

    tg_gtp_engine_t *e = new_engine(9, 7);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "komi 6.5", "= \n\n");
    EXPECT(e, "set_free_handicap C3 G7", "= \n\n");
    for (int i = 0; i < 20; i++)
        gtp(e, i % 2 ? "genmove b" : "genmove w");
    const char *sgf = gtp(e, "printsgf");
    ASSERT_TRUE(strncmp(sgf, "= (;FF[4]GM[1]CA[UTF-8]SZ[9]KM[6.5]HA[2]RU[", 43) == 0);
    ASSERT_CONTAINS(sgf, "AB[gc][cg]");
    EXPECT(e, "printsgf a b", "? Expected zero or one argument for print but got 'a b'\n\n");
    snprintf(line, sizeof(line), "printsgf %s", path);
    EXPECT(e, line, "= \n\n");
    char board_before[4096];
    snprintf(board_before, sizeof(board_before), "%s", gtp(e, "showboard"));
    tg_hash128_t hash = tg_gtp_engine_game(e)->board.hash;

    EXPECT(e, "boardsize 13", "= \n\n");
    EXPECT(e, "komi 0", "= \n\n");
    snprintf(line, sizeof(line), "loadsgf %s", path);
    EXPECT(e, line, "= \n\n");
    ASSERT_TRUE(tg_hash_eq(tg_gtp_engine_game(e)->board.hash, hash));
    ASSERT_STREQ(gtp(e, "showboard"), board_before); /* board, komi, rules, next player */
    ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, 20);
    /* loadsgf FILE N plays the first N moves (KataGo) */
    snprintf(line, sizeof(line), "loadsgf %s 5", path);
    EXPECT(e, line, "= \n\n");
    ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, 5);
    ASSERT_EQ(tg_board_count_stones(&tg_gtp_engine_game(e)->board, TG_BLACK) >= 2, 1);
    snprintf(line, sizeof(line), "loadsgf %s -1", path);
    EXPECT(e, line, "? Invalid value for moveNumber for loadsgf\n\n");
    EXPECT(e, "loadsgf", "? Expected one or two arguments for loadsgf but got ''\n\n");

    /* errors leave the game alone */
    snprintf(line, sizeof(line), "loadsgf %s/missing.sgf", dir);
    const char *r = gtp(e, line);
    ASSERT_TRUE(strncmp(r, "? Could not load sgf: ", 22) == 0);
    FILE *f = fopen(bad, "w");
    fputs("(;SZ[9];B[ee];W[zz])", f);
    fclose(f);
    snprintf(line, sizeof(line), "loadsgf %s", bad);
    r = gtp(e, line);
    ASSERT_TRUE(strncmp(r, "? Could not load sgf: ", 22) == 0);
    ASSERT_CONTAINS(r, "bad.sgf:1:16: W[zz]: point off the 9x9 board");
    f = fopen(bad, "w");
    fputs("(;SZ[9];B[ee];W[ee])", f); /* illegal: occupied */
    fclose(f);
    r = gtp(e, line);
    ASSERT_TRUE(strncmp(r, "? Could not load sgf: sgf: move 2", 33) == 0);
    ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, 5);
    tg_gtp_engine_destroy(e);
    unlink(path);
    unlink(bad);
    rmdir(dir);
}

TEST(engine_survives_garbage) {
    tg_gtp_engine_t *e = new_engine(9, 3);
    ASSERT_TRUE(e != NULL);
    EXPECT(e, "play B E5", "= \n\n");
    const char *garbage[] = {"\x01\x02\x03",
                             "=",
                             "?",
                             "play B E5 \xff\xfe",
                             "boardsize -3",
                             "komi 1e400",
                             "genmove b w",
                             "loadsgf /nonexistent/x.sgf",
                             "set_free_handicap D4",
                             "fixed_handicap 99999999999",
                             "kata-set-rules {\"ko\":",
                             "undo undo",
                             "showboard extra",
                             NULL};
    for (int i = 0; garbage[i]; i++) {
        const char *r = gtp(e, garbage[i]);
        size_t n = strlen(r);
        ASSERT_TRUE(n == 0 || (n >= 3 && r[n - 1] == '\n' && r[n - 2] == '\n'));
    }
    /* showboard with an argument is still answered (extra arguments are ignored) */
    ASSERT_EQ(tg_gtp_engine_game(e)->num_moves, 1);
    EXPECT(e, "play W E6", "= \n\n");
    /* a very long line with many arguments */
    char *big = malloc(200000);
    ASSERT_TRUE(big != NULL);
    strcpy(big, "set_free_handicap");
    for (int i = 0; i < 20000; i++)
        strcat(big + strlen(big) - 0, " A1");
    EXPECT(e, big, "? too many arguments (at most 512)\n\n");
    free(big);
    EXPECT(e, "name", "= tengen\n\n");
    tg_gtp_engine_destroy(e);
}

TEST(run_loop_over_streams) {
    tg_gtp_engine_t *e = new_engine(9, 3);
    ASSERT_TRUE(e != NULL);
    const char *input = "1 boardsize 5\n# comment\n\n2 play b c3\n3 frob\n4 quit\n5 name\n";
    FILE *in = fmemopen((void *)input, strlen(input), "r");
    char outbuf[1024] = {0};
    FILE *out = fmemopen(outbuf, sizeof(outbuf), "w");
    ASSERT_EQ(tg_gtp_engine_run(e, in, out), 0);
    fclose(in);
    fclose(out);
    ASSERT_STREQ(outbuf, "=1 \n\n=2 \n\n?3 unknown command\n\n=4 \n\n");
    tg_gtp_engine_destroy(e);
}

int main(void) {
    RUN(framing);
    RUN(boardsize_clear_board_and_showboard);
    RUN(play_undo_and_bad_moves);
    RUN(simple_ko);
    RUN(komi_and_final_score);
    RUN(final_status_list_dead_stone_in_pass_alive_territory);
    RUN(handicap_commands);
    RUN(rules_commands);
    RUN(time_commands);
    RUN(genmove_random_self_play_to_the_end);
    RUN(printsgf_and_loadsgf_round_trip);
    RUN(engine_survives_garbage);
    RUN(run_loop_over_streams);
    TEST_MAIN_END();
}
