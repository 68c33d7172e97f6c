/* sgf_game.c: the bridge between SGF records (sgf.h) and games under the rules (game.h).
 *
 * Kept apart from sgf.c so that the parser and writer stay independent of the board module.
 * Replaying checks every move with the full rules (superko included), so a record that breaks
 * the rules is reported, not silently accepted. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "game/game.h"
#include "sgf/sgf.h"

int tg_sgf_to_game(const tg_sgf_t *sgf, int max_moves, const tg_rules_t *default_rules,
                   tg_game_t *g, tg_err_t *err) {
    if (sgf->size < 2 || sgf->size > TG_BOARD_MAX)
        return tg_err_set(err, TG_ERANGE, "sgf: board size %d not supported (2..%d)", sgf->size,
                          TG_BOARD_MAX);
    tg_rules_t fallback = default_rules ? *default_rules : tg_rules_default();
    tg_rules_t rules;
    tg_err_t rerr;
    if (!sgf->rules || tg_rules_parse(sgf->rules, &rules, &rerr) != 0) rules = fallback;
    rules.komi = fallback.komi;
    if (sgf->has_komi) {
        if (sgf->komi < TG_RULES_MIN_USER_KOMI || sgf->komi > TG_RULES_MAX_USER_KOMI ||
            fabs(sgf->komi * 2 - round(sgf->komi * 2)) > 1e-6)
            return tg_err_set(err, TG_ERANGE, "sgf: komi %g is not a multiple of 0.5 in [%g, %g]",
                              sgf->komi, (double)TG_RULES_MIN_USER_KOMI,
                              (double)TG_RULES_MAX_USER_KOMI);
        rules.komi = (float)sgf->komi;
    }
    tg_game_init(g, sgf->size, &rules);

    int moves = 0, rc;
    int has_black_setup = 0, has_white_setup = 0;
    for (int i = 0; i < sgf->num_items; i++) {
        const tg_sgf_item_t *it = &sgf->items[i];
        if (it->kind == TG_SGF_ITEM_SETUP) {
            if (moves > 0 && max_moves >= 0 && moves >= max_moves) break;
            tg_color_t c = it->color == TG_SGF_BLACK   ? TG_BLACK
                           : it->color == TG_SGF_WHITE ? TG_WHITE
                                                       : TG_EMPTY;
            has_black_setup |= c == TG_BLACK;
            has_white_setup |= c == TG_WHITE;
            if ((rc = tg_game_set_stone(g, tg_loc(it->x, it->y), c, err)) != 0) {
                tg_err_prefix(err, "sgf: setup at node %d", it->node);
                return rc;
            }
            continue;
        }
        if (max_moves >= 0 && moves >= max_moves) break;
        tg_color_t c = it->color == TG_SGF_BLACK ? TG_BLACK : TG_WHITE;
        tg_loc_t loc = it->x < 0 ? TG_LOC_PASS : tg_loc(it->x, it->y);
        if (moves == 0 && c != g->to_move) {
            /* The first mover starts the game: make that part of the initial position. */
            tg_board_t start = g->board;
            tg_rules_t r = g->rules;
            tg_game_reset(g, &start, c, &r, 0);
        }
        /* SGF records may have the same player move twice (handicap placed as moves, edited
         * games): give the turn to the mover first, as KataGo's loader does. */
        g->to_move = c;
        tg_err_t perr;
        if (tg_game_play(g, loc, c, &perr) != 0) {
            char vertex[8];
            return tg_err_set(err, TG_EILLEGAL, "sgf: move %d (%s %s): %s", moves + 1,
                              c == TG_BLACK ? "B" : "W", tg_loc_to_gtp(loc, sgf->size, vertex),
                              perr.msg);
        }
        moves++;
    }
    if (moves == 0) {
        if (sgf->to_move)
            g->to_move = sgf->to_move == TG_SGF_BLACK ? TG_BLACK : TG_WHITE;
        else if (has_black_setup && !has_white_setup && sgf->handicap >= 2)
            g->to_move = TG_WHITE;
        g->initial_to_move = g->to_move;
    }
    return 0;
}

int tg_sgf_from_game(const tg_game_t *g, const char *result, tg_sgf_t *sgf, tg_err_t *err) {
    int size = g->board.size;
    int rc = tg_sgf_init(sgf, size, err);
    if (rc) return rc;
    char buf[256];
    snprintf(buf, sizeof(buf), "%.10g", (double)g->rules.komi);
    if ((rc = tg_sgf_set_root_prop(sgf, "KM", buf, err))) return rc;
    tg_rules_to_string(&g->rules, buf, sizeof(buf));
    if ((rc = tg_sgf_set_root_prop(sgf, "RU", buf, err))) return rc;
    int handicap = tg_game_num_handicap_stones(g);
    if (handicap > 0) {
        snprintf(buf, sizeof(buf), "%d", handicap);
        if ((rc = tg_sgf_set_root_prop(sgf, "HA", buf, err))) return rc;
    }
    if (result && (rc = tg_sgf_set_root_prop(sgf, "RE", result, err))) return rc;

    const tg_board_t *b0 = &g->initial_board;
    int has_setup = 0;
    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            int c = b0->color[tg_loc(x, y)];
            if (c != TG_BLACK && c != TG_WHITE) continue;
            has_setup = 1;
            if ((rc = tg_sgf_add_setup(sgf, c, x, y, err))) return rc;
        }
    }
    /* Tell readers who moves first when it is not the usual player. */
    tg_color_t usual = has_setup && handicap > 0 ? TG_WHITE : TG_BLACK;
    if (g->initial_to_move != usual &&
        (rc = tg_sgf_set_root_prop(sgf, "PL", g->initial_to_move == TG_BLACK ? "B" : "W", err)))
        return rc;
    if (g->initial_to_move == TG_WHITE) sgf->to_move = TG_SGF_WHITE;
    for (int i = 0; i < g->num_moves; i++) {
        tg_loc_t loc = g->moves[i].loc;
        int x = loc == TG_LOC_PASS ? -1 : tg_loc_x(loc),
            y = loc == TG_LOC_PASS ? -1 : tg_loc_y(loc);
        if ((rc = tg_sgf_add_move(sgf, g->moves[i].color, x, y, err))) return rc;
    }
    return 0;
}
