/* gtp.c: the GTP v2 engine declared in gtp.h.
 *
 * Design: handle_line() cleans the line (control characters, comments, tabs), splits off the
 * optional id, splits the rest on spaces and dispatches through one table of commands. Each
 * command writes its answer into e->body and returns 0 (success) or 1 (error); the framing
 * ("=id body\n\n" / "?id body\n\n") is added in one place, after the body has been cleaned of
 * empty lines, which would end a GTP response early. A failing command leaves the game as it
 * was: commands that rebuild the game do so in e->scratch and copy only on success.
 *
 * Search: with a model, genmove runs the MCTS of search/search.h. The tree is kept in sync with
 * the game lazily but safely: search_sync() compares the tree's root game with the current
 * game and, when the current game continues it (same start, rules and komi, the root's moves
 * as a prefix, moves in turn), advances the tree move by move with tg_search_make_move;
 * otherwise it sets the position afresh. It runs after every successful play and genmove (so
 * the kept subtree follows the opponent's moves at once) and before every search. Commands
 * that rebuild the game need no hook of their own: the comparison sees that the game changed.
 *
 * Messages follow KataGo's GTP engine (cpp/command/gtp.cpp) so that tools written for it
 * behave the same; the few GTP-spec words ("unacceptable size", "illegal move",
 * "cannot undo", "unknown command") are exact. */
#include "gtp/gtp.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nn/eval.h"
#include "search/search.h"
#include "sgf/sgf.h"
#include "util/fileio.h"
#include "util/log.h"
#include "util/rng.h"

#define GTP_MAX_ARGS      512
#define GTP_MAX_LINE      (64 * 1024)
#define GTP_RAW_BUF_BYTES (160 * 1024) /* 8 kata-raw-nn blocks of 19x19 */
#define GTP_RESIGN_TURNS  3            /* consecutive own searches below the threshold */
#define GTP_PV_MAX        32           /* moves printed in a kata-analyze pv */

typedef struct gtp_buf_s {
    char *s;
    size_t len, cap;
    int oom;
} gtp_buf_t;

struct tg_gtp_engine_s {
    tg_game_t game;    /* the current game; game.rules is the current ruleset with komi */
    tg_game_t scratch; /* rebuilt games land here first (loadsgf, kata-set-rules, handicap) */
    tg_rng_t rng;
    char name[128];

    tg_nn_evaluator_t *ev; /* NULL without a model */
    tg_nn_output_t nn_out;
    uint8_t area[TG_BOARD_CELLS]; /* final_status_list */
    char *raw_buf;                /* GTP_RAW_BUF_BYTES, only with a model */

    tg_search_t *search; /* NULL without a model or with search off */
    int search_has_root; /* the search holds a position (the tree may still be empty) */
    double resign_threshold;
    int low_winrate_turns[3];    /* per colour: consecutive own searches below the threshold */
    tg_search_child_t *children; /* TG_SEARCH_MAX_MOVES, for kata-analyze */
    tg_loc_t *sel_locs;          /* TG_SEARCH_MAX_MOVES play-selection locs, kata-analyze */
    double *sel_values;          /* TG_SEARCH_MAX_MOVES play-selection values, kata-analyze */

    /* Clock (time_settings / time_left): caps the search time per move, see move_time_budget. */
    double main_time_s, byo_time_s;
    int byo_stones;
    int has_clock;         /* time_settings gave a limited clock */
    double time_left_s[3]; /* per colour, valid where time_left_known */
    int stones_left[3];
    int time_left_known[3];
    double max_time_s; /* the engine's own per-move limit (options); 0: none */

    gtp_buf_t line; /* cleaned input line */
    gtp_buf_t body; /* the command's answer */
    gtp_buf_t out;  /* the framed response */
};

/* ---- Buffers ------------------------------------------------------------------------------- */

static void buf_reserve(gtp_buf_t *b, size_t need) {
    if (b->oom || need + 1 <= b->cap) return;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < need + 1)
        ncap *= 2;
    char *p = realloc(b->s, ncap);
    if (!p) {
        b->oom = 1;
        return;
    }
    b->s = p;
    b->cap = ncap;
}

static void buf_clear(gtp_buf_t *b) {
    b->len = 0;
    b->oom = 0;
    buf_reserve(b, 0);
    if (b->s) b->s[0] = '\0';
}

static void buf_append(gtp_buf_t *b, const char *s, size_t n) {
    buf_reserve(b, b->len + n);
    if (b->oom) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void buf_puts(gtp_buf_t *b, const char *s) { buf_append(b, s, strlen(s)); }

static void buf_printf(gtp_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(gtp_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    buf_reserve(b, b->len + (size_t)n);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- Parsing helpers ----------------------------------------------------------------------- */

static int parse_int_arg(const char *s, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

static int parse_double_arg(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE) return -1;
    *out = v;
    return 0;
}

/* "b", "black", "w", "white", any case (KataGo's PlayerIO::tryParsePlayer). */
static int parse_color(const char *s, tg_color_t *out) {
    if (!strcasecmp(s, "b") || !strcasecmp(s, "black"))
        *out = TG_BLACK;
    else if (!strcasecmp(s, "w") || !strcasecmp(s, "white"))
        *out = TG_WHITE;
    else
        return -1;
    return 0;
}

/* Writes the arguments joined by single spaces into the body (for "but got '...'"). */
static void body_args(tg_gtp_engine_t *e, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (i) buf_puts(&e->body, " ");
        buf_puts(&e->body, argv[i]);
    }
}

static int fail_args(tg_gtp_engine_t *e, const char *what, int argc, char **argv) {
    buf_printf(&e->body, "%s but got '", what);
    body_args(e, argc, argv);
    buf_puts(&e->body, "'");
    return 1;
}

static int board_size(const tg_gtp_engine_t *e) { return e->game.board.size; }

static void body_vertex(tg_gtp_engine_t *e, tg_loc_t loc) {
    char v[16];
    buf_puts(&e->body, tg_loc_to_gtp(loc, board_size(e), v));
}

static const char *color_name(tg_color_t c) { return c == TG_BLACK ? "Black" : "White"; }

/* ---- Game changes -------------------------------------------------------------------------- */

/* Replaces the game with an empty board of size under rules. */
static void reset_game(tg_gtp_engine_t *e, int size, const tg_rules_t *rules) {
    tg_game_init(&e->game, size, rules);
}

/* Starts a game on board (setup stones) with to_move to play, keeping the rules. */
static void reset_game_to_board(tg_gtp_engine_t *e, const tg_board_t *board, tg_color_t to_move) {
    tg_rules_t rules = e->game.rules;
    tg_game_reset(&e->game, board, to_move, &rules, 0);
}

/* Places black stones at locs[0..n) on an empty board with White to move. Returns 0, or -1
 * (nothing changed) if a stone could not be placed. */
static int place_black_stones(tg_gtp_engine_t *e, const tg_loc_t *locs, int n) {
    tg_board_t b;
    tg_board_init(&b, board_size(e));
    for (int i = 0; i < n; i++)
        if (!tg_board_set_stone(&b, locs[i], TG_BLACK)) return -1;
    reset_game_to_board(e, &b, TG_WHITE);
    return 0;
}

static int board_is_empty(const tg_gtp_engine_t *e) {
    return tg_board_count_stones(&e->game.board, TG_BLACK) == 0 &&
           tg_board_count_stones(&e->game.board, TG_WHITE) == 0;
}

/* Rebuilds the game under new rules (komi included) by replaying its moves from the initial
 * position. The moves were legal when played; they are replayed without checks. */
static void replay_under_rules(tg_gtp_engine_t *e, const tg_rules_t *rules) {
    tg_game_t *s = &e->scratch;
    tg_game_reset(s, &e->game.initial_board, e->game.initial_to_move, rules,
                  e->game.initial_encore_phase);
    for (int i = 0; i < e->game.num_moves; i++) {
        s->to_move = (tg_color_t)e->game.moves[i].color;
        if (tg_game_play_assume_legal(s, e->game.moves[i].loc, s->to_move) != 0) break;
    }
    s->to_move = e->game.to_move;
    e->game = *s;
}

/* ---- Move generation ----------------------------------------------------------------------- */

/* The legal move with the highest raw policy for g->to_move (pass included). */
static int nn_best_move(tg_gtp_engine_t *e, tg_loc_t *out, tg_err_t *err) {
    int rc = tg_nn_evaluate(e->ev, &e->game, 0, &e->nn_out, err);
    if (rc) return rc;
    int n = board_size(e);
    tg_loc_t best = TG_LOC_PASS;
    float best_p = e->nn_out.policy_pass;
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            float p = e->nn_out.policy[y * n + x];
            tg_loc_t loc = tg_loc(x, y);
            if (p > best_p && tg_game_is_legal(&e->game, loc, e->game.to_move)) {
                best_p = p;
                best = loc;
            }
        }
    }
    *out = best;
    return 0;
}

/* ---- Search ---------------------------------------------------------------------------------- */

/* KataGo's GTP search settings (tg_search_params_gtp) with this engine's limits. */
static tg_search_params_t gtp_search_params(const tg_gtp_options_t *o) {
    tg_search_params_t p = tg_search_params_gtp();
    p.max_visits = o->max_visits;
    p.max_time_s = o->max_time_s;
    p.num_threads = o->search_threads > 0 ? o->search_threads : 1;
    /* Time-only limits: room for about 5 minutes of a fast CPU search. */
    if (p.max_visits == 0) p.max_nodes_hint = 400000;
    p.seed = o->seed ? o->seed : 1;
    return p;
}

static int same_start(const tg_game_t *a, const tg_game_t *b) {
    return a->board.size == b->board.size && a->initial_to_move == b->initial_to_move &&
           a->initial_encore_phase == b->initial_encore_phase &&
           tg_hash_eq(a->initial_board.hash, b->initial_board.hash) &&
           tg_rules_equal(&a->rules, &b->rules);
}

/* Brings the search root to e->game: advances the kept tree along the moves played since its
 * root if the game continues it, else sets the position afresh (empty tree). A game that is
 * over leaves the search as it is (there is nothing to search). Returns 0 or the search's
 * error. Cost: O(kept subtree) per advanced move. */
static int search_sync(tg_gtp_engine_t *e, tg_err_t *err) {
    const tg_game_t *g = &e->game;
    if (!e->search || g->game_over) return 0;
    const tg_game_t *r = tg_search_root_game(e->search);
    int reuse = e->search_has_root && same_start(r, g) && r->num_moves <= g->num_moves;
    for (int i = 0; reuse && i < r->num_moves; i++)
        reuse = r->moves[i].loc == g->moves[i].loc && r->moves[i].color == g->moves[i].color;
    for (int i = reuse ? r->num_moves : 0; reuse && i < g->num_moves; i++) {
        tg_err_t e2;
        r = tg_search_root_game(e->search);
        reuse = r->to_move == g->moves[i].color &&
                tg_search_make_move(e->search, g->moves[i].loc, &e2) == 0;
        r = tg_search_root_game(e->search);
        reuse = reuse && !r->game_over;
    }
    if (reuse) {
        r = tg_search_root_game(e->search);
        reuse = r->num_moves == g->num_moves && r->to_move == g->to_move &&
                tg_hash_eq(r->board.hash, g->board.hash);
    }
    if (reuse) return 0;
    if (g->num_moves == 0) memset(e->low_winrate_turns, 0, sizeof(e->low_winrate_turns));
    e->search_has_root = 0;
    int rc = tg_search_set_position(e->search, g, err);
    if (rc) return rc;
    e->search_has_root = 1;
    return 0;
}

/* Root win rate for pla: 0.5 * (1 + win - loss), as KataGo reports it. */
static double winrate_for(tg_color_t pla, double white_winloss) {
    return 0.5 * (1.0 + (pla == TG_WHITE ? white_winloss : -white_winloss));
}

/* Seconds pla may spend on this move by the GTP clock, or 0 when there is no clock. In
 * byo-yomi (stones left > 0): 80% of the period's time per stone. In main time: the time left
 * spread over max(10, (0.6 area - moves played) / 2) more own moves, plus 80% of a byo-yomi
 * stone's share. Both keep 0.3 s for the protocol round trip, and at least 0.05 s. */
static double move_time_budget(const tg_gtp_engine_t *e, tg_color_t pla) {
    if (!e->has_clock) return 0.0;
    double left = e->time_left_known[pla] ? e->time_left_s[pla] : e->main_time_s;
    int stones = e->time_left_known[pla] ? e->stones_left[pla] : 0;
    if (!e->time_left_known[pla] && e->main_time_s <= 0) { /* starts in byo-yomi */
        left = e->byo_time_s;
        stones = e->byo_stones;
    }
    double budget;
    if (stones > 0) {
        budget = 0.8 * left / stones;
    } else {
        int n = board_size(e);
        double moves_left = (0.6 * n * n - e->game.num_moves) / 2.0;
        if (moves_left < 10) moves_left = 10;
        budget = left / moves_left;
        if (e->byo_time_s > 0 && e->byo_stones > 0) budget += 0.8 * e->byo_time_s / e->byo_stones;
    }
    budget -= 0.3;
    return budget < 0.05 ? 0.05 : budget;
}

/* Syncs the tree with the game (e->game.to_move is the player to search for), applies the
 * clock's time cap and runs the search. Returns 0 or the search's error. */
static int search_run(tg_gtp_engine_t *e, tg_err_t *err) {
    int rc = search_sync(e, err);
    if (rc) return rc;
    tg_search_params_t p = *tg_search_get_params(e->search);
    double budget = move_time_budget(e, e->game.to_move);
    double limit = e->max_time_s;
    if (budget > 0 && (limit <= 0 || budget < limit)) limit = budget;
    if (p.max_time_s != limit) {
        p.max_time_s = limit;
        if ((rc = tg_search_set_params(e->search, &p, err))) return rc;
    }
    return tg_search_run(e->search, err);
}

/* Searches for e->game.to_move and picks the move (KataGo's GTP move choice: play-selection
 * values with LCB, temperature 0.5 -> 0.1). *resign is set when the resignation rule fires. */
static int search_genmove(tg_gtp_engine_t *e, tg_loc_t *out, int *resign, tg_err_t *err) {
    tg_color_t pla = e->game.to_move;
    *resign = 0;
    int rc = search_run(e, err);
    if (rc) return rc;
    const tg_search_params_t *p = tg_search_get_params(e->search);
    rc = tg_search_choose_move(e->search, tg_search_chosen_move_temperature(e->search),
                               p->use_lcb_for_selection, &e->rng, out);
    if (rc) return tg_err_set(err, rc, "gtp: the search has no move");
    *out = tg_search_cleanup_before_pass(&e->game, pla, *out); /* KataGo cleanupBeforePass */
    tg_search_values_t v;
    tg_search_stats_t st;
    tg_search_get_stats(e->search, &st);
    if (tg_search_root_values(e->search, &v) != 0) return 0;
    double wr = winrate_for(pla, v.white_winloss);
    double lead = pla == TG_WHITE ? v.white_lead : -v.white_lead;
    char vtx[16];
    TG_LOGD("gtp: genmove %s: %s, visits %lld (playouts %lld, %.2f s), winrate %.3f, lead %.1f",
            color_name(pla), tg_loc_to_gtp(*out, board_size(e), vtx), (long long)v.visits,
            (long long)st.playouts, st.elapsed_s, wr, lead);
    if (e->resign_threshold > 0.0) {
        int n = board_size(e);
        int min_turn = 1 + n * n / 5;
        if (wr < e->resign_threshold)
            e->low_winrate_turns[pla]++;
        else
            e->low_winrate_turns[pla] = 0;
        if (e->game.num_moves >= min_turn && e->low_winrate_turns[pla] >= GTP_RESIGN_TURNS)
            *resign = 1;
    }
    return 0;
}

/* ---- Commands ------------------------------------------------------------------------------ */

typedef int (*gtp_cmd_fn)(tg_gtp_engine_t *e, int argc, char **argv);

static const char *const known_commands[] = {
    "protocol_version",
    "name",
    "version",
    "known_command",
    "list_commands",
    "quit",
    "boardsize",
    "clear_board",
    "komi",
    "play",
    "genmove",
    "undo",
    "showboard",
    "final_score",
    "final_status_list",
    "fixed_handicap",
    "place_free_handicap",
    "set_free_handicap",
    "loadsgf",
    "printsgf",
    "time_settings",
    "time_left",
    "kata-get-rules",
    "kata-set-rules",
    "kata-raw-nn",
    "kata-analyze",
};

static int cmd_protocol_version(tg_gtp_engine_t *e, int argc, char **argv) {
    buf_puts(&e->body, "2");
    return 0;
}

static int cmd_name(tg_gtp_engine_t *e, int argc, char **argv) {
    buf_puts(&e->body, e->name);
    return 0;
}

static int cmd_version(tg_gtp_engine_t *e, int argc, char **argv) {
    buf_puts(&e->body, TENGEN_VERSION);
    return 0;
}

static int cmd_known_command(tg_gtp_engine_t *e, int argc, char **argv) {
    if (argc != 1) return fail_args(e, "Expected single argument for known_command", argc, argv);
    for (size_t i = 0; i < TG_ARRAY_LEN(known_commands); i++) {
        if (!strcmp(argv[0], known_commands[i])) {
            buf_puts(&e->body, "true");
            return 0;
        }
    }
    buf_puts(&e->body, "false");
    return 0;
}

static int cmd_list_commands(tg_gtp_engine_t *e, int argc, char **argv) {
    for (size_t i = 0; i < TG_ARRAY_LEN(known_commands); i++) {
        if (i) buf_puts(&e->body, "\n");
        buf_puts(&e->body, known_commands[i]);
    }
    return 0;
}

static int cmd_boardsize(tg_gtp_engine_t *e, int argc, char **argv) {
    int size = 0, size_y = 0;
    int ok = 0;
    if (argc == 1) {
        char *colon = strchr(argv[0], ':');
        if (colon) {
            *colon = '\0';
            ok = !parse_int_arg(argv[0], &size) && !parse_int_arg(colon + 1, &size_y);
            *colon = ':';
        } else {
            ok = !parse_int_arg(argv[0], &size);
            size_y = size;
        }
    } else if (argc == 2) {
        ok = !parse_int_arg(argv[0], &size) && !parse_int_arg(argv[1], &size_y);
    }
    if (!ok) return fail_args(e, "Expected int argument for boardsize or pair of ints", argc, argv);
    if (size < 2 || size > TG_BOARD_MAX || size_y != size) {
        buf_puts(&e->body, "unacceptable size");
        return 1;
    }
    tg_rules_t rules = e->game.rules;
    reset_game(e, size, &rules);
    return 0;
}

static int cmd_clear_board(tg_gtp_engine_t *e, int argc, char **argv) {
    tg_rules_t rules = e->game.rules;
    reset_game(e, board_size(e), &rules);
    return 0;
}

static int cmd_komi(tg_gtp_engine_t *e, int argc, char **argv) {
    double k;
    if (argc != 1 || parse_double_arg(argv[0], &k))
        return fail_args(e, "Expected single float argument for komi", argc, argv);
    if (isnan(k) || k < TG_RULES_MIN_USER_KOMI || k > TG_RULES_MAX_USER_KOMI) {
        buf_puts(&e->body, "unacceptable komi");
        return 1;
    }
    if (k * 2 != floor(k * 2)) {
        buf_puts(&e->body, "komi must be an integer or half-integer");
        return 1;
    }
    tg_game_set_komi(&e->game, (float)k);
    return 0;
}

static int cmd_play(tg_gtp_engine_t *e, int argc, char **argv) {
    tg_color_t pla;
    tg_loc_t loc;
    if (argc != 2) return fail_args(e, "Expected two arguments for play", argc, argv);
    if (parse_color(argv[0], &pla)) {
        buf_printf(&e->body, "Could not parse color: '%s'", argv[0]);
        return 1;
    }
    if (tg_loc_from_gtp(argv[1], board_size(e), &loc) != 0) {
        buf_printf(&e->body, "Could not parse vertex: '%s'", argv[1]);
        return 1;
    }
    /* As in KataGo, either colour may move: the turn is given to pla first. */
    tg_color_t saved = e->game.to_move;
    e->game.to_move = pla;
    tg_err_t err;
    if (tg_game_play(&e->game, loc, pla, &err) != 0) {
        e->game.to_move = saved;
        TG_LOGD("gtp: play %s %s rejected: %s", argv[0], argv[1], err.msg);
        buf_puts(&e->body, "illegal move");
        return 1;
    }
    if (search_sync(e, &err) != 0) TG_LOGW("gtp: search tree reset failed: %s", err.msg);
    return 0;
}

static int cmd_genmove(tg_gtp_engine_t *e, int argc, char **argv) {
    tg_color_t pla;
    if (argc != 1) return fail_args(e, "Expected one argument for genmove", argc, argv);
    if (parse_color(argv[0], &pla)) {
        buf_printf(&e->body, "Could not parse color: '%s'", argv[0]);
        return 1;
    }
    tg_color_t saved = e->game.to_move;
    e->game.to_move = pla;
    tg_loc_t loc = TG_LOC_PASS;
    tg_err_t err;
    if (e->search && !e->game.game_over) {
        int resign = 0;
        if (search_genmove(e, &loc, &resign, &err) != 0) {
            TG_LOGW("gtp: genmove: search failed (%s); playing a random move", err.msg);
            loc = tg_game_random_move(&e->game, &e->rng);
        } else if (resign) {
            /* As KataGo: the answer is the resignation; the game itself is left as it is. */
            buf_puts(&e->body, "resign");
            return 0;
        }
    } else if (e->ev) {
        if (nn_best_move(e, &loc, &err) != 0) {
            TG_LOGW("gtp: genmove: net evaluation failed (%s); playing a random move", err.msg);
            loc = tg_game_random_move(&e->game, &e->rng);
        }
    } else {
        loc = tg_game_random_move(&e->game, &e->rng);
    }
    if (tg_game_play(&e->game, loc, pla, &err) != 0) {
        /* Cannot happen for a legal generator; fall back to a pass rather than stall. */
        TG_LOGW("gtp: genmove: generated move rejected (%s); passing", err.msg);
        loc = TG_LOC_PASS;
        if (tg_game_play(&e->game, loc, pla, &err) != 0) {
            e->game.to_move = saved;
            buf_printf(&e->body, "could not generate a move: %s", err.msg);
            return 1;
        }
    }
    if (search_sync(e, &err) != 0) TG_LOGW("gtp: search tree reset failed: %s", err.msg);
    body_vertex(e, loc);
    return 0;
}

static int cmd_undo(tg_gtp_engine_t *e, int argc, char **argv) {
    if (argc != 0 || tg_game_undo(&e->game) != 0) {
        buf_puts(&e->body, "cannot undo");
        return 1;
    }
    return 0;
}

/* Column letters skip I; row 1 is the bottom; row numbers on both sides. */
static void body_column_letters(tg_gtp_engine_t *e) {
    static const char letters[] = "ABCDEFGHJKLMNOPQRST";
    buf_puts(&e->body, "  ");
    for (int x = 0; x < board_size(e); x++)
        buf_printf(&e->body, " %c", letters[x]);
}

static int cmd_showboard(tg_gtp_engine_t *e, int argc, char **argv) {
    const tg_board_t *b = &e->game.board;
    int n = b->size;
    char json[512];
    buf_printf(&e->body, "MoveNum: %d\n", e->game.num_moves);
    body_column_letters(e);
    buf_puts(&e->body, "\n");
    for (int y = 0; y < n; y++) {
        buf_printf(&e->body, "%2d", n - y);
        for (int x = 0; x < n; x++) {
            int c = b->color[tg_loc(x, y)];
            buf_printf(&e->body, " %c", c == TG_BLACK ? 'X' : c == TG_WHITE ? 'O' : '.');
        }
        buf_printf(&e->body, " %d\n", n - y);
    }
    body_column_letters(e);
    tg_rules_to_json_with_komi(&e->game.rules, json, sizeof(json));
    buf_printf(&e->body,
               "\nNext player: %s\nRules: %s\nB stones captured: %d\nW stones captured: %d",
               color_name(e->game.to_move), json, b->captured[TG_BLACK], b->captured[TG_WHITE]);
    return 0;
}

/* Writes "W+3.5", "B+0.5" or "0" for a white-minus-black score and winner. */
static void format_result(char *buf, size_t cap, tg_color_t winner, float white_minus_black) {
    if (winner == TG_WHITE)
        snprintf(buf, cap, "W+%.1f", (double)white_minus_black);
    else if (winner == TG_BLACK)
        snprintf(buf, cap, "B+%.1f", -(double)white_minus_black);
    else
        snprintf(buf, cap, "0");
}

static int cmd_final_score(tg_gtp_engine_t *e, int argc, char **argv) {
    char res[64];
    const tg_game_t *g = &e->game;
    if (g->game_over) {
        /* GTP has no "no result": it reads as a draw, as in KataGo. */
        tg_color_t winner = g->no_result ? TG_EMPTY : g->winner;
        if (g->resigned) {
            snprintf(res, sizeof(res), "%c+R", winner == TG_WHITE ? 'W' : 'B');
        } else if (!g->no_result && tg_game_rules_are_tromp_taylor(g)) {
            /* Tromp-Taylor: the strict area count of the final board. */
            float s = tg_game_gtp_final_score(g);
            format_result(res, sizeof(res), s > 0 ? TG_WHITE : s < 0 ? TG_BLACK : TG_EMPTY, s);
        } else {
            format_result(res, sizeof(res), winner, g->final_score);
        }
    } else {
        float s = tg_game_gtp_final_score(g);
        format_result(res, sizeof(res), s > 0 ? TG_WHITE : s < 0 ? TG_BLACK : TG_EMPTY, s);
    }
    buf_puts(&e->body, res);
    return 0;
}

static int cmd_final_status_list(tg_gtp_engine_t *e, int argc, char **argv) {
    if (argc != 1) return fail_args(e, "Expected one argument for final_status_list", argc, argv);
    int mode;
    if (!strcmp(argv[0], "alive"))
        mode = 0;
    else if (!strcmp(argv[0], "seki"))
        mode = 1;
    else if (!strcmp(argv[0], "dead"))
        mode = 2;
    else {
        buf_puts(&e->body, "Argument to final_status_list must be 'alive' or 'seki' or 'dead'");
        return 1;
    }
    if (mode == 1) return 0; /* no seki detection without a net: none reported */
    /* A stone is dead when the rules' area gives its point to the opponent (it lies in the
     * opponent's pass-alive territory); every other stone is alive. */
    uint8_t *area = e->area;
    tg_game_area_now(&e->game, area);
    const tg_board_t *b = &e->game.board;
    int first = 1;
    for (int y = 0; y < b->size; y++) {
        for (int x = 0; x < b->size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            int c = b->color[loc];
            if (c != TG_BLACK && c != TG_WHITE) continue;
            int dead = area[loc] == tg_color_opp((tg_color_t)c);
            if (dead != (mode == 2)) continue;
            if (!first) buf_puts(&e->body, " ");
            first = 0;
            body_vertex(e, loc);
        }
    }
    return 0;
}

/* Parses the handicap count argument of fixed_handicap / place_free_handicap (KataGo's
 * checks). Returns 0 or 1 (error written). */
static int parse_handicap_count(tg_gtp_engine_t *e, const char *cmd, int argc, char **argv,
                                int *n) {
    if (argc != 1) {
        char what[96];
        snprintf(what, sizeof(what), "Expected one argument for %s", cmd);
        return fail_args(e, what, argc, argv);
    }
    if (parse_int_arg(argv[0], n)) {
        buf_printf(&e->body, "Could not parse number of handicap stones: '%s'", argv[0]);
        return 1;
    }
    if (*n < 2) {
        buf_printf(&e->body, "Number of handicap stones less than 2: '%s'", argv[0]);
        return 1;
    }
    if (!board_is_empty(e)) {
        buf_puts(&e->body, "Board is not empty");
        return 1;
    }
    return 0;
}

static int cmd_fixed_handicap(tg_gtp_engine_t *e, int argc, char **argv) {
    int n = 0;
    if (parse_handicap_count(e, "fixed_handicap", argc, argv, &n)) return 1;
    tg_loc_t locs[9];
    int count = tg_game_fixed_handicap_points(board_size(e), n, locs);
    if (count != n || place_black_stones(e, locs, n) != 0) {
        buf_printf(&e->body, "Could not place %d fixed handicap stones on a %dx%d board", n,
                   board_size(e), board_size(e));
        return 1;
    }
    for (int i = 0; i < n; i++) {
        if (i) buf_puts(&e->body, " ");
        body_vertex(e, locs[i]);
    }
    return 0;
}

static int cmd_place_free_handicap(tg_gtp_engine_t *e, int argc, char **argv) {
    int n = 0;
    if (parse_handicap_count(e, "place_free_handicap", argc, argv, &n)) return 1;
    int size = board_size(e);
    if (n >= size * size) {
        buf_printf(&e->body, "Number of handicap stones too large for a %dx%d board: '%s'", size,
                   size, argv[0]);
        return 1;
    }
    tg_loc_t locs[TG_BOARD_MAX * TG_BOARD_MAX];
    int count = n <= 9 ? tg_game_fixed_handicap_points(size, n, locs) : -1;
    if (count != n) {
        /* No standard pattern: random points, each keeping every chain a liberty. */
        tg_board_t b;
        tg_board_init(&b, size);
        count = 0;
        for (int tries = 0; count < n && tries < 100 * size * size; tries++) {
            tg_loc_t loc = tg_loc((int)tg_rng_below(&e->rng, (uint32_t)size),
                                  (int)tg_rng_below(&e->rng, (uint32_t)size));
            if (b.color[loc] != TG_EMPTY || !tg_board_set_stone(&b, loc, TG_BLACK)) continue;
            locs[count++] = loc;
        }
        if (count != n) {
            buf_printf(&e->body, "Could not place %d handicap stones", n);
            return 1;
        }
    }
    if (place_black_stones(e, locs, n) != 0) {
        buf_printf(&e->body, "Could not place %d handicap stones", n);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        if (i) buf_puts(&e->body, " ");
        body_vertex(e, locs[i]);
    }
    return 0;
}

static int cmd_set_free_handicap(tg_gtp_engine_t *e, int argc, char **argv) {
    if (!board_is_empty(e)) {
        buf_puts(&e->body, "Board is not empty");
        return 1;
    }
    if (argc < 1) {
        buf_puts(&e->body, "Expected at least one vertex for set_free_handicap");
        return 1;
    }
    tg_loc_t locs[GTP_MAX_ARGS];
    for (int i = 0; i < argc; i++) {
        if (tg_loc_from_gtp(argv[i], board_size(e), &locs[i]) != 0 || locs[i] == TG_LOC_PASS) {
            buf_printf(&e->body, "Invalid handicap location: %s", argv[i]);
            return 1;
        }
    }
    if (place_black_stones(e, locs, argc) != 0) {
        buf_puts(&e->body, "Invalid handicap stones: a group would have no liberties");
        return 1;
    }
    return 0;
}

static int cmd_loadsgf(tg_gtp_engine_t *e, int argc, char **argv) {
    if (argc != 1 && argc != 2)
        return fail_args(e, "Expected one or two arguments for loadsgf", argc, argv);
    int move_number = -1;
    if (argc == 2 &&
        (parse_int_arg(argv[1], &move_number) || move_number < 0 || move_number > 10000000)) {
        buf_puts(&e->body, "Invalid value for moveNumber for loadsgf");
        return 1;
    }
    tg_sgf_t sgf;
    tg_err_t err;
    tg_rules_t rules = e->game.rules;
    int rc = tg_sgf_load_file(argv[0], &sgf, &err);
    if (rc == 0) rc = tg_sgf_to_game(&sgf, move_number, &rules, &e->scratch, &err);
    tg_sgf_free(&sgf);
    if (rc) {
        buf_printf(&e->body, "Could not load sgf: %s", err.msg);
        return 1;
    }
    e->game = e->scratch;
    return 0;
}

/* The result string for SGF RE, or NULL while the game goes on. */
static const char *game_result(const tg_game_t *g, char *buf, size_t cap) {
    if (!g->game_over) return NULL;
    if (g->no_result)
        snprintf(buf, cap, "Void");
    else if (g->resigned)
        snprintf(buf, cap, "%c+R", g->winner == TG_WHITE ? 'W' : 'B');
    else if (g->winner == TG_EMPTY)
        snprintf(buf, cap, "0");
    else
        format_result(buf, cap, g->winner, g->final_score);
    return buf;
}

static int cmd_printsgf(tg_gtp_engine_t *e, int argc, char **argv) {
    if (argc > 1) return fail_args(e, "Expected zero or one argument for print", argc, argv);
    tg_sgf_t sgf;
    tg_err_t err;
    char res[64], *text = NULL;
    size_t len = 0;
    int rc = tg_sgf_from_game(&e->game, game_result(&e->game, res, sizeof(res)), &sgf, &err);
    if (rc == 0) rc = tg_sgf_write(&sgf, &text, &len, &err);
    tg_sgf_free(&sgf);
    if (rc == 0 && argc == 1 && strcmp(argv[0], "-") != 0) {
        rc = tg_file_write_atomic(argv[0], text, len, &err);
        free(text);
        if (rc) {
            buf_printf(&e->body, "Could not write sgf: %s", err.msg);
            return 1;
        }
        return 0;
    }
    if (rc) {
        buf_printf(&e->body, "Could not write sgf: %s", err.msg);
        return 1;
    }
    buf_append(&e->body, text, len);
    free(text);
    return 0;
}

static int valid_time(double t) { return !isnan(t) && t >= 0.0 && t <= 1e50; }

static int cmd_time_settings(tg_gtp_engine_t *e, int argc, char **argv) {
    double main_s, byo_s;
    int stones;
    if (argc < 1 || parse_double_arg(argv[0], &main_s)) {
        buf_puts(&e->body, "Expected float for main time as argument 0");
        return 1;
    }
    if (!valid_time(main_s)) {
        buf_printf(&e->body, "Main time is an invalid value: %s", argv[0]);
        return 1;
    }
    if (argc < 2 || parse_double_arg(argv[1], &byo_s)) {
        buf_puts(&e->body, "Expected float for byo-yomi per-period time as argument 1");
        return 1;
    }
    if (!valid_time(byo_s)) {
        buf_printf(&e->body, "byo-yomi per-period time is an invalid value: %s", argv[1]);
        return 1;
    }
    if (argc < 3 || parse_int_arg(argv[2], &stones)) {
        buf_puts(&e->body, "Expected int for byo-yomi overtime stones as argument 2");
        return 1;
    }
    if (stones < 0 || stones > 1000000) {
        buf_printf(&e->body, "byo-yomi overtime stones is an invalid value: %s", argv[2]);
        return 1;
    }
    e->main_time_s = main_s;
    e->byo_time_s = byo_s;
    e->byo_stones = stones;
    /* GTP: byo-yomi time with 0 stones means no time limit; 0 0 0 gives no clock either. */
    e->has_clock = main_s > 0 || (byo_s > 0 && stones > 0);
    memset(e->time_left_known, 0, sizeof(e->time_left_known));
    return 0;
}

static int cmd_time_left(tg_gtp_engine_t *e, int argc, char **argv) {
    tg_color_t pla;
    double t;
    int stones;
    if (argc != 3 || parse_color(argv[0], &pla) || parse_double_arg(argv[1], &t) ||
        parse_int_arg(argv[2], &stones))
        return fail_args(e, "Expected player and float time and int stones for time_left", argc,
                         argv);
    if (isnan(t) || t < -10.0 || t > 1e50) {
        buf_puts(&e->body, "invalid time");
        return 1;
    }
    if (stones < 0 || stones > 100000) {
        buf_puts(&e->body, "invalid stones");
        return 1;
    }
    if (stones > 0 && e->byo_stones <= 0) {
        buf_puts(&e->body, "stones left in period is > 0 but the time control used does not "
                           "have any overtime periods");
        return 1;
    }
    e->time_left_s[pla] = t;
    e->stones_left[pla] = stones;
    e->time_left_known[pla] = 1;
    return 0;
}

static int cmd_kata_get_rules(tg_gtp_engine_t *e, int argc, char **argv) {
    if (argc != 0) return fail_args(e, "Expected no arguments for kata-get-rules", argc, argv);
    char json[512];
    tg_rules_to_json(&e->game.rules, json, sizeof(json));
    buf_puts(&e->body, json);
    return 0;
}

static int cmd_kata_set_rules(tg_gtp_engine_t *e, int argc, char **argv) {
    char rest[1024] = "";
    size_t k = 0;
    for (int i = 0; i < argc; i++) {
        int n = snprintf(rest + k, sizeof(rest) - k, "%s%s", i ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= sizeof(rest) - k) break;
        k += (size_t)n;
    }
    tg_rules_t rules;
    tg_err_t err;
    if (tg_rules_parse(rest, &rules, &err) != 0) {
        buf_printf(&e->body, "Unknown rules '%s', %s", rest, err.msg);
        return 1;
    }
    rules.komi = e->game.rules.komi; /* kata-set-rules never changes komi */
    replay_under_rules(e, &rules);
    return 0;
}

static int cmd_kata_raw_nn(tg_gtp_engine_t *e, int argc, char **argv) {
    if (!e->ev) {
        buf_puts(&e->body, "no model loaded");
        return 1;
    }
    int i = 0, sym = -1, ok = 0;
    tg_color_t pla = e->game.to_move;
    if (argc >= 1 && parse_color(argv[0], &pla) == 0) i = 1;
    if (i < argc) {
        if (!strcasecmp(argv[i], "all"))
            ok = 1;
        else
            ok = !parse_int_arg(argv[i], &sym) && sym >= 0 && sym <= 7;
        i++;
    }
    if (ok && i < argc) {
        double optimism;
        ok = !parse_double_arg(argv[i], &optimism) && optimism >= 0 && optimism <= 1;
        i++; /* accepted for compatibility; this net has no optimistic policy head */
    }
    if (!ok || i != argc)
        return fail_args(e, "Expected one argument 'all' or symmetry index [0-7] for kata-raw-nn",
                         argc, argv);
    tg_game_t *g = &e->game;
    if (pla != e->game.to_move) {
        e->scratch = e->game;
        e->scratch.to_move = pla;
        g = &e->scratch;
    }
    e->raw_buf[0] = '\0';
    for (int s = 0; s < 8; s++) {
        if (sym >= 0 && s != sym) continue;
        tg_err_t err;
        if (tg_nn_evaluate(e->ev, g, s, &e->nn_out, &err) != 0) {
            buf_printf(&e->body, "net evaluation failed: %s", err.msg);
            return 1;
        }
        if (tg_nn_format_raw(&e->nn_out, s, e->raw_buf, GTP_RAW_BUF_BYTES) != 0) {
            buf_puts(&e->body, "kata-raw-nn output too large");
            return 1;
        }
    }
    /* KataGo trims the whole response (Global::trim). */
    char *start = e->raw_buf;
    while (*start && isspace((unsigned char)*start))
        start++;
    size_t len = strlen(start);
    while (len > 0 && isspace((unsigned char)start[len - 1]))
        len--;
    buf_append(&e->body, start, len);
    return 0;
}

/* Play-selection value of loc in e->sel_locs/sel_values[0..n), or -1 if it has none. */
static double selection_value(const tg_gtp_engine_t *e, int n, tg_loc_t loc) {
    for (int i = 0; i < n; i++)
        if (e->sel_locs[i] == loc) return e->sel_values[i];
    return -1.0;
}

static int cmd_kata_analyze(tg_gtp_engine_t *e, int argc, char **argv) {
    if (!e->search) {
        buf_puts(&e->body, e->ev ? "search is off (max visits and time 0)" : "no model loaded");
        return 1;
    }
    int i = 0, max_moves = TG_SEARCH_MAX_MOVES;
    tg_color_t pla = e->game.to_move;
    if (i < argc && parse_color(argv[i], &pla) == 0) i++;
    double interval;
    if (i < argc && parse_double_arg(argv[i], &interval) == 0) i++; /* accepted, ignored */
    while (i < argc) {
        if (!strcasecmp(argv[i], "maxmoves") && i + 1 < argc &&
            parse_int_arg(argv[i + 1], &max_moves) == 0 && max_moves > 0) {
            i += 2;
            continue;
        }
        return fail_args(e, "Expected [player] [interval] [maxmoves N] for kata-analyze", argc,
                         argv);
    }
    if (e->game.game_over) {
        buf_puts(&e->body, "game is over");
        return 1;
    }
    tg_color_t saved = e->game.to_move;
    e->game.to_move = pla;
    tg_err_t err;
    int rc = search_run(e, &err);
    if (rc) {
        e->game.to_move = saved;
        buf_printf(&e->body, "search failed: %s", err.msg);
        return 1;
    }
    /* Order: play-selection value (LCB as for genmove), then visits; as KataGo's "order". */
    const tg_search_params_t *p = tg_search_get_params(e->search);
    int nsel = tg_search_play_selection_values(e->search, p->use_lcb_for_selection, 0.0,
                                               e->sel_locs, e->sel_values);
    if (nsel < 0) nsel = 0;
    int nc = tg_search_root_children(e->search, e->children, TG_SEARCH_MAX_MOVES);
    int k = 0;
    for (int c = 0; c < nc; c++) /* visited children only */
        if (e->children[c].visits > 0) e->children[k++] = e->children[c];
    nc = k;
    for (int a = 1; a < nc; a++) { /* insertion sort, <= 362 entries */
        tg_search_child_t x = e->children[a];
        double vx = selection_value(e, nsel, x.loc);
        int b = a - 1;
        while (b >= 0) {
            double vb = selection_value(e, nsel, e->children[b].loc);
            if (vb > vx || (vb == vx && e->children[b].visits >= x.visits)) break;
            e->children[b + 1] = e->children[b];
            b--;
        }
        e->children[b + 1] = x;
    }
    tg_loc_t pv[GTP_PV_MAX];
    int npv = tg_search_pv(e->search, pv, GTP_PV_MAX);
    double sign = pla == TG_WHITE ? 1.0 : -1.0;
    buf_puts(&e->body, "\n");
    for (int c = 0; c < nc && c < max_moves; c++) {
        const tg_search_child_t *ch = &e->children[c];
        const tg_search_values_t *v = &ch->values;
        char vtx[16];
        double var = v->white_score_stdev;
        buf_printf(&e->body,
                   "%sinfo move %s visits %lld edgeVisits %lld utility %.6f winrate %.6f "
                   "scoreMean %.4f scoreStdev %.4f scoreLead %.4f scoreSelfplay %.4f "
                   "prior %.6f weight %.3f order %d pv",
                   c ? " " : "", tg_loc_to_gtp(ch->loc, board_size(e), vtx), (long long)v->visits,
                   (long long)ch->visits, sign * v->utility, winrate_for(pla, v->white_winloss),
                   sign * v->white_lead, var, sign * v->white_lead, sign * v->white_score_mean,
                   (double)ch->prior, ch->weight, c);
        if (npv > 0 && pv[0] == ch->loc) {
            for (int m = 0; m < npv; m++)
                buf_printf(&e->body, " %s", tg_loc_to_gtp(pv[m], board_size(e), vtx));
        } else {
            buf_printf(&e->body, " %s", vtx);
        }
    }
    return 0;
}

static const struct {
    const char *name;
    gtp_cmd_fn fn;
} commands[] = {
    {"protocol_version", cmd_protocol_version},
    {"name", cmd_name},
    {"version", cmd_version},
    {"known_command", cmd_known_command},
    {"list_commands", cmd_list_commands},
    {"boardsize", cmd_boardsize},
    {"clear_board", cmd_clear_board},
    {"komi", cmd_komi},
    {"play", cmd_play},
    {"genmove", cmd_genmove},
    {"undo", cmd_undo},
    {"showboard", cmd_showboard},
    {"final_score", cmd_final_score},
    {"final_status_list", cmd_final_status_list},
    {"fixed_handicap", cmd_fixed_handicap},
    {"place_free_handicap", cmd_place_free_handicap},
    {"set_free_handicap", cmd_set_free_handicap},
    {"loadsgf", cmd_loadsgf},
    {"printsgf", cmd_printsgf},
    {"time_settings", cmd_time_settings},
    {"time_left", cmd_time_left},
    {"kata-get-rules", cmd_kata_get_rules},
    {"kata-set-rules", cmd_kata_set_rules},
    {"kata-raw-nn", cmd_kata_raw_nn},
    {"kata-analyze", cmd_kata_analyze},
};

/* ---- Framing ------------------------------------------------------------------------------- */

/* Builds "=id body\n\n" or "?id body\n\n" in e->out. Empty lines inside the body would end the
 * response early, so runs of newlines are collapsed and trailing newlines dropped. */
static void frame_response(tg_gtp_engine_t *e, int is_error, int has_id, int id) {
    buf_clear(&e->out);
    buf_puts(&e->out, is_error ? "?" : "=");
    if (has_id) buf_printf(&e->out, "%d", id);
    buf_puts(&e->out, " ");
    const char *s = e->body.s ? e->body.s : "";
    size_t n = e->body.len;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n' && i > 0 && s[i - 1] == '\n') continue;
        buf_append(&e->out, &s[i], 1);
    }
    buf_puts(&e->out, "\n\n");
    if (e->out.oom) {
        buf_clear(&e->out);
        buf_puts(&e->out, "? out of memory\n\n");
    }
}

int tg_gtp_engine_handle_line(tg_gtp_engine_t *e, const char *line, const char **response) {
    /* Keep printable ASCII and tabs (as spaces); stop at a comment. */
    buf_clear(&e->line);
    for (const char *c = line; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        if (ch == '#') break;
        if (ch == '\t') ch = ' ';
        if (ch >= 32 && ch <= 126) buf_append(&e->line, (const char *)&ch, 1);
    }
    buf_clear(&e->body);
    *response = "";
    if (e->line.oom) {
        *response = "? out of memory\n\n";
        return TG_GTP_CONTINUE;
    }
    char *s = e->line.s;
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    if (n == 0) return TG_GTP_CONTINUE;

    int has_id = 0, id = 0;
    if (isdigit((unsigned char)*s)) {
        long long v = 0;
        while (isdigit((unsigned char)*s)) {
            if (v <= INT_MAX) v = v * 10 + (*s - '0');
            s++;
        }
        if (v > INT_MAX) {
            buf_puts(&e->body, "GTP id could not be parsed: too large");
            frame_response(e, 1, 0, 0);
            *response = e->out.s;
            return TG_GTP_CONTINUE;
        }
        has_id = 1;
        id = (int)v;
        while (*s == ' ')
            s++;
    }
    if (*s == '\0') {
        buf_puts(&e->body, "empty command");
        frame_response(e, 1, has_id, id);
        *response = e->out.s;
        return TG_GTP_CONTINUE;
    }

    char *argv[GTP_MAX_ARGS];
    int argc = 0;
    char *cmd = s;
    while (*s && *s != ' ')
        s++;
    while (*s == ' ')
        *s++ = '\0';
    int too_many = 0;
    while (*s) {
        if (argc == GTP_MAX_ARGS) {
            too_many = 1;
            break;
        }
        argv[argc++] = s;
        while (*s && *s != ' ')
            s++;
        while (*s == ' ')
            *s++ = '\0';
    }

    int quit = 0, is_error = 0;
    if (too_many) {
        buf_printf(&e->body, "too many arguments (at most %d)", GTP_MAX_ARGS);
        is_error = 1;
    } else if (!strcmp(cmd, "quit")) {
        quit = 1;
    } else {
        size_t i;
        for (i = 0; i < TG_ARRAY_LEN(commands); i++)
            if (!strcmp(cmd, commands[i].name)) break;
        if (i == TG_ARRAY_LEN(commands)) {
            buf_puts(&e->body, "unknown command");
            is_error = 1;
        } else {
            is_error = commands[i].fn(e, argc, argv);
        }
    }
    frame_response(e, is_error, has_id, id);
    *response = e->out.s;
    return quit ? TG_GTP_QUIT : TG_GTP_CONTINUE;
}

int tg_gtp_engine_run(tg_gtp_engine_t *e, FILE *in, FILE *out) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        const char *resp;
        int status = TG_GTP_CONTINUE;
        if (n > GTP_MAX_LINE)
            resp = "? line too long\n\n";
        else
            status = tg_gtp_engine_handle_line(e, line, &resp);
        if (*resp && (fputs(resp, out) == EOF || fflush(out) == EOF)) {
            rc = TG_EIO;
            break;
        }
        if (status == TG_GTP_QUIT) break;
    }
    free(line);
    return rc;
}

/* ---- Lifetime ------------------------------------------------------------------------------ */

void tg_gtp_options_default(tg_gtp_options_t *o) {
    memset(o, 0, sizeof(*o));
    o->name = "tengen";
    o->board_size = 19;
    o->rules = "tromp-taylor";
    o->nn_max_batch = 8;
    o->max_visits = 400;
    o->search_threads = 1;
}

int tg_gtp_engine_create(const tg_gtp_options_t *opt, tg_gtp_engine_t **out, tg_err_t *err) {
    *out = NULL;
    int size = opt->board_size ? opt->board_size : 19;
    if (size < 2 || size > TG_BOARD_MAX)
        return tg_err_set(err, TG_EINVAL, "gtp: board size %d out of range 2..%d", size,
                          TG_BOARD_MAX);
    tg_rules_t rules;
    int rc = tg_rules_parse(opt->rules ? opt->rules : "tromp-taylor", &rules, err);
    if (rc) return rc;
    if (opt->has_komi) {
        if (isnan(opt->komi) || opt->komi < TG_RULES_MIN_USER_KOMI ||
            opt->komi > TG_RULES_MAX_USER_KOMI || opt->komi * 2 != floorf(opt->komi * 2))
            return tg_err_set(err, TG_EINVAL, "gtp: komi %g is not a multiple of 0.5 in [%g, %g]",
                              (double)opt->komi, (double)TG_RULES_MIN_USER_KOMI,
                              (double)TG_RULES_MAX_USER_KOMI);
        rules.komi = opt->komi;
    }
    tg_gtp_engine_t *e = calloc(1, sizeof(*e));
    if (!e) return tg_err_set(err, TG_ENOMEM, "gtp: out of memory");
    snprintf(e->name, sizeof(e->name), "%s", opt->name ? opt->name : "tengen");
    tg_rng_seed(&e->rng, opt->seed, 0x6770);
    reset_game(e, size, &rules);
    if (opt->model_path && opt->model_path[0]) {
        int max_batch = opt->nn_max_batch > 0 ? opt->nn_max_batch : 8;
        rc = tg_nn_evaluator_create(opt->model_path, max_batch, opt->nn_threads, &e->ev, err);
        if (rc) goto fail;
        e->raw_buf = malloc(GTP_RAW_BUF_BYTES);
        if (!e->raw_buf) {
            rc = tg_err_set(err, TG_ENOMEM, "gtp: out of memory");
            goto fail;
        }
        if (opt->max_visits > 0 || opt->max_time_s > 0) {
            tg_search_params_t sp = gtp_search_params(opt);
            tg_search_evaluator_t sev = tg_search_evaluator_nn(e->ev);
            if ((rc = tg_search_params_validate(&sp, err)) ||
                (rc = tg_search_create(&sp, &sev, &e->search, err))) {
                tg_err_prefix(err, "gtp");
                goto fail;
            }
            e->children = malloc(TG_SEARCH_MAX_MOVES * sizeof(*e->children));
            e->sel_locs = malloc(TG_SEARCH_MAX_MOVES * sizeof(*e->sel_locs));
            e->sel_values = malloc(TG_SEARCH_MAX_MOVES * sizeof(*e->sel_values));
            if (!e->children || !e->sel_locs || !e->sel_values) {
                rc = tg_err_set(err, TG_ENOMEM, "gtp: out of memory");
                goto fail;
            }
        }
    }
    if (opt->resign_threshold < 0 || opt->resign_threshold >= 1 || isnan(opt->resign_threshold)) {
        rc = tg_err_set(err, TG_EINVAL, "gtp: resign threshold %g not in [0, 1)",
                        opt->resign_threshold);
        goto fail;
    }
    e->resign_threshold = opt->resign_threshold;
    e->max_time_s = opt->max_time_s;
    buf_clear(&e->line);
    buf_clear(&e->body);
    buf_clear(&e->out);
    if (e->line.oom || e->body.oom || e->out.oom) {
        rc = tg_err_set(err, TG_ENOMEM, "gtp: out of memory");
        goto fail;
    }
    *out = e;
    return 0;
fail:
    tg_gtp_engine_destroy(e);
    return rc;
}

void tg_gtp_engine_destroy(tg_gtp_engine_t *e) {
    if (!e) return;
    tg_search_destroy(e->search); /* before the evaluator it uses */
    tg_nn_evaluator_destroy(e->ev);
    free(e->raw_buf);
    free(e->children);
    free(e->sel_locs);
    free(e->sel_values);
    free(e->line.s);
    free(e->body.s);
    free(e->out.s);
    free(e);
}

const tg_game_t *tg_gtp_engine_game(const tg_gtp_engine_t *e) { return &e->game; }

const tg_search_t *tg_gtp_engine_search(const tg_gtp_engine_t *e) { return e->search; }
