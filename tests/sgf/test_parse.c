/* test_parse.c: the SGF parser and writer on their own (no board): real-world style records
 * with variations, escapes and setup, write -> read round trips, a battery of malformed
 * inputs that must fail with "sgf:LINE:COL: ..." and a fuzz pass (random truncations and
 * mutations of valid records must never crash; run under ASan in the sanitizer build). */
#include "sgf/sgf.h"

#include "test.h"
#include "util/rng.h"

static const char *const game_with_variations =
    "(;FF[4]GM[1]CA[UTF-8]SZ[9]KM[6.5]RU[Japanese]PB[Alice]PW[Bob \\] the \\\\ second]\n"
    "  DT[2024-01-02]RE[W+R]C[Root comment\nsecond line]\n"
    ";B[ee]C[tengen];W[cc]\n"
    "(;B[gc];W[gg](;B[]C[pass])(;B[tt]))\n"
    "(;B[cg];W[gc]C[side line, dropped]))\n";

TEST(parses_main_line_of_variations) {
    tg_sgf_t s;
    tg_err_t err = {0};
    int rc = tg_sgf_parse(game_with_variations, strlen(game_with_variations), &s, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(s.size, 9);
    ASSERT_TRUE(s.has_komi);
    ASSERT_NEAR(s.komi, 6.5, 0);
    ASSERT_STREQ(s.rules, "Japanese");
    ASSERT_STREQ(s.result, "W+R");
    ASSERT_STREQ(tg_sgf_get_prop(&s, 0, "PB"), "Alice");
    ASSERT_STREQ(tg_sgf_get_prop(&s, 0, "PW"), "Bob ] the \\ second");
    ASSERT_STREQ(tg_sgf_get_prop(&s, 0, "DT"), "2024-01-02");
    ASSERT_STREQ(s.comments[0], "Root comment\nsecond line");
    /* main line: B ee, W cc, B gc, W gg, B pass (first child at every branch) */
    ASSERT_EQ(s.num_nodes, 6);
    ASSERT_EQ(tg_sgf_num_moves(&s), 5);
    ASSERT_EQ(s.num_items, 5);
    const int want[5][3] = {{1, 4, 4}, {2, 2, 2}, {1, 6, 2}, {2, 6, 6}, {1, -1, -1}};
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(s.items[i].kind, TG_SGF_ITEM_MOVE);
        ASSERT_EQ(s.items[i].color, want[i][0]);
        ASSERT_EQ(s.items[i].x, want[i][1]);
        ASSERT_EQ(s.items[i].y, want[i][2]);
        ASSERT_EQ(s.items[i].node, i + 1);
    }
    ASSERT_STREQ(s.comments[1], "tengen");
    ASSERT_STREQ(s.comments[5], "pass");
    ASSERT_TRUE(s.comments[2] == NULL);
    tg_sgf_free(&s);
}

TEST(setup_lists_and_rectangles) {
    const char *text = "junk before (;SZ[5]AB[aa:bb][ee]AW[ca]PL[W];W[tt];AE[aa]AB[dd])";
    tg_sgf_t s;
    tg_err_t err = {0};
    int rc = tg_sgf_parse(text, strlen(text), &s, &err);
    if (rc) printf("  %s\n", err.msg);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(s.size, 5);
    ASSERT_EQ(s.to_move, TG_SGF_WHITE);
    /* aa:bb -> aa ba ab bb; ee; ca; W[tt] = pass on a 5x5 board; AE aa; AB dd */
    ASSERT_EQ(s.num_items, 9);
    const int want[9][5] = {{1, 1, 0, 0, 0},   {1, 1, 1, 0, 0}, {1, 1, 0, 1, 0},
                            {1, 1, 1, 1, 0},   {1, 1, 4, 4, 0}, {1, 2, 2, 0, 0},
                            {0, 2, -1, -1, 1}, {1, 0, 0, 0, 2}, {1, 1, 3, 3, 2}};
    for (int i = 0; i < 9; i++) {
        ASSERT_EQ(s.items[i].kind, want[i][0]);
        ASSERT_EQ(s.items[i].color, want[i][1]);
        ASSERT_EQ(s.items[i].x, want[i][2]);
        ASSERT_EQ(s.items[i].y, want[i][3]);
        ASSERT_EQ(s.items[i].node, want[i][4]);
    }
    tg_sgf_free(&s);
}

TEST(tt_is_pass_only_up_to_19) {
    const char *t9 = "(;SZ[9];B[tt];W[])";
    tg_sgf_t s;
    tg_err_t err = {0};
    ASSERT_EQ(tg_sgf_parse(t9, strlen(t9), &s, &err), 0);
    ASSERT_EQ(s.items[0].x, -1);
    ASSERT_EQ(s.items[1].x, -1);
    tg_sgf_free(&s);
    const char *t21 = "(;SZ[21];B[tt])";
    ASSERT_EQ(tg_sgf_parse(t21, strlen(t21), &s, &err), 0);
    ASSERT_EQ(s.items[0].x, 19);
    ASSERT_EQ(s.items[0].y, 19);
    tg_sgf_free(&s);
}

TEST(default_size_and_lowercase_ids) {
    const char *text = "(;AddBlack[pd]CoPyright[x];White[dp])";
    tg_sgf_t s;
    tg_err_t err = {0};
    ASSERT_EQ(tg_sgf_parse(text, strlen(text), &s, &err), 0);
    ASSERT_EQ(s.size, 19);
    ASSERT_EQ(s.num_items, 2);
    ASSERT_EQ(s.items[0].kind, TG_SGF_ITEM_SETUP);
    ASSERT_EQ(s.items[0].x, 15);
    ASSERT_EQ(s.items[0].y, 3);
    ASSERT_EQ(s.items[1].color, TG_SGF_WHITE);
    ASSERT_STREQ(tg_sgf_get_prop(&s, 0, "CP"), "x");
    tg_sgf_free(&s);
}

TEST(write_then_read_is_identical) {
    tg_sgf_t a, b;
    tg_err_t err = {0};
    ASSERT_EQ(tg_sgf_init(&a, 13, &err), 0);
    ASSERT_EQ(tg_sgf_set_root_prop(&a, "KM", "0.5", &err), 0);
    ASSERT_EQ(tg_sgf_set_root_prop(&a, "RU", "koSIMPLEscoreAREAtaxNONEsui0", &err), 0);
    ASSERT_EQ(tg_sgf_set_root_prop(&a, "RE", "B+3.5", &err), 0);
    ASSERT_EQ(tg_sgf_set_root_prop(&a, "PB", "weird]\\name", &err), 0);
    ASSERT_EQ(tg_sgf_set_root_prop(&a, "HA", "2", &err), 0);
    ASSERT_EQ(tg_sgf_add_setup(&a, TG_SGF_BLACK, 3, 3, &err), 0);
    ASSERT_EQ(tg_sgf_add_setup(&a, TG_SGF_BLACK, 9, 9, &err), 0);
    ASSERT_EQ(tg_sgf_set_comment(&a, 0, "start [with] brackets", &err), 0);
    ASSERT_EQ(tg_sgf_add_move(&a, TG_SGF_WHITE, 12, 0, &err), 0);
    ASSERT_EQ(tg_sgf_add_move(&a, TG_SGF_BLACK, -1, -1, &err), 0);
    ASSERT_EQ(tg_sgf_add_setup(&a, TG_SGF_EMPTY, 3, 3, &err), 0);
    ASSERT_EQ(tg_sgf_add_move(&a, TG_SGF_WHITE, 0, 12, &err), 0);
    ASSERT_EQ(tg_sgf_set_comment(&a, 4, "last", &err), 0);
    ASSERT_EQ(tg_sgf_add_move(&a, TG_SGF_WHITE, 13, 0, &err), TG_ERANGE);
    ASSERT_EQ(tg_sgf_set_root_prop(&a, "B", "aa", &err), TG_EINVAL);

    char *text = NULL;
    size_t len = 0;
    ASSERT_EQ(tg_sgf_write(&a, &text, &len, &err), 0);
    ASSERT_EQ(len, strlen(text));
    ASSERT_CONTAINS(text, "SZ[13]");
    ASSERT_CONTAINS(text, "PB[weird\\]\\\\name]");
    ASSERT_CONTAINS(text, "AB[dd][jj]");
    ASSERT_CONTAINS(text, ";B[]");
    int rc = tg_sgf_parse(text, len, &b, &err);
    if (rc) printf("  %s\n  %s\n", err.msg, text);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(b.size, 13);
    ASSERT_NEAR(b.komi, 0.5, 0);
    ASSERT_EQ(b.handicap, 2);
    ASSERT_STREQ(b.rules, a.rules);
    ASSERT_STREQ(b.result, "B+3.5");
    ASSERT_STREQ(tg_sgf_get_prop(&b, 0, "PB"), "weird]\\name");
    ASSERT_EQ(b.num_nodes, a.num_nodes);
    ASSERT_EQ(b.num_items, a.num_items);
    for (int i = 0; i < a.num_items; i++) {
        ASSERT_EQ(b.items[i].kind, a.items[i].kind);
        ASSERT_EQ(b.items[i].color, a.items[i].color);
        ASSERT_EQ(b.items[i].x, a.items[i].x);
        ASSERT_EQ(b.items[i].y, a.items[i].y);
        ASSERT_EQ(b.items[i].node, a.items[i].node);
    }
    for (int n = 0; n < a.num_nodes; n++) {
        if (a.comments[n])
            ASSERT_STREQ(b.comments[n], a.comments[n]);
        else
            ASSERT_TRUE(b.comments[n] == NULL);
    }
    /* Writing the parsed record again gives the same text. */
    char *text2 = NULL;
    ASSERT_EQ(tg_sgf_write(&b, &text2, NULL, &err), 0);
    ASSERT_STREQ(text2, text);
    free(text);
    free(text2);
    tg_sgf_free(&a);
    tg_sgf_free(&b);
}

/* Each malformed input must fail with the given code and a message starting "sgf:L:C:" that
 * contains the given fragment. */
static const struct {
    const char *text;
    int code;
    const char *where; /* expected "sgf:L:C:" prefix */
    const char *what;
} bad_inputs[] = {
    {"", TG_EFORMAT, "sgf:1:1:", "no game tree"},
    {"hello", TG_EFORMAT, "sgf:1:6:", "no game tree"},
    {"(;B[aa]", TG_EFORMAT, "sgf:1:8:", "not closed"},
    {"(;B[aa", TG_EFORMAT, "sgf:1:4:", "value not closed"},
    {"(;C[ends with escape\\", TG_EFORMAT, "sgf:1:4:", "value not closed"},
    {"()", TG_EFORMAT, "sgf:1:2:", "empty game tree"},
    {"((;B[aa]))", TG_EFORMAT, "sgf:1:2:", "no node"},
    {"(B[aa])", TG_EFORMAT, "sgf:1:2:", "outside a node"},
    {"(;B)", TG_EFORMAT, "sgf:1:4:", "has no value"},
    {"(;b[aa])", TG_EFORMAT, "sgf:1:3:", "bad property identifier"},
    {"(;ABCDEFGHIJKLMN[x])", TG_EFORMAT, "sgf:1:3:", "bad property identifier"},
    {"(;B[aa]\n;W[bb]}", TG_EFORMAT, "sgf:2:7:", "unexpected '}'"},
    {"(;B[aa]\x01)", TG_EFORMAT, "sgf:1:8:", "byte 0x01"},
    {"(;SZ[9];B[jj])", TG_EFORMAT, "sgf:1:10:", "off the 9x9 board"},
    {"(;SZ[9]\n;B[a])", TG_EFORMAT, "sgf:2:3:", "bad point"},
    {"(;SZ[9];B[a1])", TG_EFORMAT, "sgf:1:10:", "bad point"},
    {"(;SZ[9];W[aaa])", TG_EFORMAT, "sgf:1:10:", "bad point"},
    {"(;SZ[9]AB[tt])", TG_EFORMAT, "sgf:1:10:", "off the 9x9 board"},
    {"(;SZ[9]AB[cc:aa])", TG_EFORMAT, "sgf:1:10:", "empty point rectangle"},
    {"(;SZ[9]AB[aa:])", TG_EFORMAT, "sgf:1:10:", "bad point rectangle"},
    {"(;SZ[nine])", TG_EFORMAT, "sgf:1:5:", "not a board size"},
    {"(;SZ[0])", TG_ERANGE, "sgf:1:5:", "out of range"},
    {"(;SZ[99])", TG_ERANGE, "sgf:1:5:", "out of range"},
    {"(;SZ[-5])", TG_ERANGE, "sgf:1:5:", "out of range"},
    {"(;SZ[19:13])", TG_EFORMAT, "sgf:1:5:", "rectangular"},
    {"(;SZ[9]SZ[9])", TG_EFORMAT, "sgf:1:10:", "twice"},
    {"(;B[aa];SZ[9])", TG_EFORMAT, "sgf:1:11:", "outside the root"},
    {"(;KM[seven])", TG_EFORMAT, "sgf:1:5:", "not a komi"},
    {"(;KM[nan])", TG_EFORMAT, "sgf:1:5:", "not a komi"},
    {"(;KM[1e308])", TG_EFORMAT, "sgf:1:5:", "not a komi"},
    {"(;HA[-1])", TG_EFORMAT, "sgf:1:5:", "not a handicap"},
    {"(;GM[2])", TG_EFORMAT, "sgf:1:5:", "not a game of Go"},
    {"(;PL[X])", TG_EFORMAT, "sgf:1:5:", "not a colour"},
    {"(;B[aa]W[bb])", TG_EFORMAT, "sgf:1:9:", "second move"},
    {"(;B[aa][bb])", TG_EFORMAT, "sgf:1:8:", "more than one value"},
    {"(;B[aa](;W[bb])", TG_EFORMAT, "sgf:1:16:", "not closed"},
};

TEST(malformed_inputs_fail_with_position) {
    for (size_t i = 0; i < TG_ARRAY_LEN(bad_inputs); i++) {
        tg_sgf_t s;
        tg_err_t err = {0};
        int rc = tg_sgf_parse(bad_inputs[i].text, strlen(bad_inputs[i].text), &s, &err);
        if (rc != bad_inputs[i].code ||
            strncmp(err.msg, bad_inputs[i].where, strlen(bad_inputs[i].where)) != 0 ||
            !strstr(err.msg, bad_inputs[i].what)) {
            printf("  input %zu \"%s\": rc %d, msg \"%s\"\n", i, bad_inputs[i].text, rc, err.msg);
        }
        ASSERT_EQ(rc, bad_inputs[i].code);
        ASSERT_TRUE(strncmp(err.msg, bad_inputs[i].where, strlen(bad_inputs[i].where)) == 0);
        ASSERT_CONTAINS(err.msg, bad_inputs[i].what);
        tg_sgf_free(&s);
    }
}

TEST(side_variations_are_syntax_checked_only) {
    /* A bad point inside a side variation is not an error; a syntax error there is. */
    const char *ok = "(;SZ[9];B[aa](;W[bb])(;W[zz]))";
    const char *bad = "(;SZ[9];B[aa](;W[bb])(;W[zz]";
    tg_sgf_t s;
    tg_err_t err = {0};
    ASSERT_EQ(tg_sgf_parse(ok, strlen(ok), &s, &err), 0);
    ASSERT_EQ(tg_sgf_num_moves(&s), 2);
    tg_sgf_free(&s);
    ASSERT_EQ(tg_sgf_parse(bad, strlen(bad), &s, &err), TG_EFORMAT);
    tg_sgf_free(&s);
    /* A second game in the collection is ignored. */
    const char *two = "(;SZ[9];B[aa])(;SZ[13];B[bb])";
    ASSERT_EQ(tg_sgf_parse(two, strlen(two), &s, &err), 0);
    ASSERT_EQ(s.size, 9);
    ASSERT_EQ(tg_sgf_num_moves(&s), 1);
    tg_sgf_free(&s);
}

TEST(deep_nesting_does_not_overflow) {
    /* 200000 nested variations: the parser is iterative. */
    int depth = 200000;
    size_t n = (size_t)depth * 8 + 16;
    char *text = malloc(n);
    ASSERT_TRUE(text != NULL);
    size_t k = 0;
    for (int i = 0; i < depth; i++) {
        memcpy(text + k, "(;B[aa]", 7);
        k += 7;
    }
    for (int i = 0; i < depth; i++)
        text[k++] = ')';
    tg_sgf_t s;
    tg_err_t err = {0};
    int rc = tg_sgf_parse(text, k, &s, &err);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(tg_sgf_num_moves(&s), depth);
    tg_sgf_free(&s);
    free(text);
}

TEST(fuzz_truncations_and_mutations_never_crash) {
    static const char *const seeds[] = {
        "(;FF[4]GM[1]SZ[9]KM[7]RU[Chinese]AB[aa:cc]AW[ee];B[dd]C[x\\]y];W[tt](;B[ff])(;B[gg];W[]))",
        "(;SZ[19]HA[2]AB[dd][pp]PL[W];W[qd];B[dq](;W[cp]C[a\nb]);W[co])",
    };
    tg_rng_t rng;
    tg_rng_seed(&rng, 12345, 0);
    static const char alphabet[] = "()[];:\\ABWCKMSZHaet0123456789 \n\r\x01\xff";
    int parsed_ok = 0, failed = 0;
    for (size_t si = 0; si < TG_ARRAY_LEN(seeds); si++) {
        size_t len = strlen(seeds[si]);
        /* every truncation */
        for (size_t cut = 0; cut <= len; cut++) {
            tg_sgf_t s;
            tg_err_t err = {0};
            char *buf = malloc(cut ? cut : 1); /* exact size: ASan catches over-reads */
            memcpy(buf, seeds[si], cut);
            int rc = tg_sgf_parse(buf, cut, &s, &err);
            if (rc == 0)
                parsed_ok++;
            else {
                failed++;
                ASSERT_TRUE(strncmp(err.msg, "sgf:", 4) == 0);
            }
            tg_sgf_free(&s);
            free(buf);
        }
        /* random mutations */
        for (int iter = 0; iter < 20000; iter++) {
            char buf[256];
            memcpy(buf, seeds[si], len);
            size_t n = len;
            int edits = 1 + (int)tg_rng_below(&rng, 4);
            for (int e = 0; e < edits; e++) {
                int op = (int)tg_rng_below(&rng, 3);
                size_t at = tg_rng_below(&rng, (uint32_t)n + 1);
                char c = alphabet[tg_rng_below(&rng, sizeof(alphabet) - 1)];
                if (op == 0 && at < n)
                    buf[at] = c;
                else if (op == 1 && n + 1 < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = c;
                    n++;
                } else if (op == 2 && at < n) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
            }
            char *exact = malloc(n ? n : 1);
            memcpy(exact, buf, n);
            tg_sgf_t s;
            tg_err_t err = {0};
            int rc = tg_sgf_parse(exact, n, &s, &err);
            if (rc == 0) {
                parsed_ok++;
                /* whatever parsed must write and re-parse to the same items */
                char *text = NULL;
                tg_sgf_t t;
                ASSERT_EQ(tg_sgf_write(&s, &text, NULL, &err), 0);
                ASSERT_EQ(tg_sgf_parse(text, strlen(text), &t, &err), 0);
                ASSERT_EQ(t.num_items, s.num_items);
                tg_sgf_free(&t);
                free(text);
            } else {
                failed++;
                ASSERT_TRUE(strncmp(err.msg, "sgf:", 4) == 0);
            }
            tg_sgf_free(&s);
            free(exact);
        }
    }
    printf("  fuzz: %d parsed, %d rejected\n", parsed_ok, failed);
    ASSERT_TRUE(parsed_ok > 100);
    ASSERT_TRUE(failed > 100);
}

int main(void) {
    RUN(parses_main_line_of_variations);
    RUN(setup_lists_and_rectangles);
    RUN(tt_is_pass_only_up_to_19);
    RUN(default_size_and_lowercase_ids);
    RUN(write_then_read_is_identical);
    RUN(malformed_inputs_fail_with_position);
    RUN(side_variations_are_syntax_checked_only);
    RUN(deep_nesting_does_not_overflow);
    RUN(fuzz_truncations_and_mutations_never_crash);
    TEST_MAIN_END();
}
