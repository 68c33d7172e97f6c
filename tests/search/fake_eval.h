/* fake_eval.h: a scripted, allocation-free evaluator for the search tests and the bench.
 *
 * Policy: uniform over the legal moves (pass included). Value (White's view): base_white_win,
 * or 0.05 when Black holds `favored` (a move that "wins" for Black), or 0.95 when White does,
 * optionally spread by a deterministic function of the position hash. Score mean follows the
 * value (20 * (win - 0.5)), stdev 2. Counts its calls atomically. */
#ifndef TENGEN_TESTS_SEARCH_FAKE_EVAL_H
#define TENGEN_TESTS_SEARCH_FAKE_EVAL_H

#include <stdatomic.h>
#include <string.h>

#include "search/search.h"

typedef struct fake_eval_s {
    atomic_long calls;
    atomic_long positions;
    tg_loc_t favored; /* TG_LOC_NULL: none */
    double base_white_win;
    double hash_spread; /* 0: none */
} fake_eval_t;

static inline void fake_eval_init(fake_eval_t *f) {
    memset(f, 0, sizeof(*f));
    f->favored = TG_LOC_NULL;
    f->base_white_win = 0.5;
}

static int fake_eval_evaluate(void *ctx, int n, const tg_game_t *const *games,
                              const int *symmetries, tg_nn_output_t *outs, tg_err_t *err) {
    (void)symmetries;
    (void)err;
    fake_eval_t *f = ctx;
    atomic_fetch_add(&f->calls, 1);
    atomic_fetch_add(&f->positions, n);
    for (int i = 0; i < n; i++) {
        const tg_game_t *g = games[i];
        tg_nn_output_t *o = &outs[i];
        int size = g->board.size, legal = 1;
        o->board_size = size;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                bool ok = tg_game_is_legal(g, tg_loc(x, y), g->to_move);
                o->policy[y * size + x] = ok ? 1.0f : -1.0f;
                o->white_ownership[y * size + x] = 0.0f;
                legal += ok;
            }
        }
        for (int p = 0; p < size * size; p++)
            if (o->policy[p] > 0.0f) o->policy[p] = 1.0f / (float)legal;
        o->policy_pass = 1.0f / (float)legal;
        double ww = f->base_white_win;
        if (f->favored != TG_LOC_NULL && g->board.color[f->favored] == TG_BLACK) ww = 0.05;
        if (f->favored != TG_LOC_NULL && g->board.color[f->favored] == TG_WHITE) ww = 0.95;
        if (f->hash_spread > 0.0)
            ww += f->hash_spread * ((double)((g->board.hash.lo >> 17) % 1001) / 1000.0 - 0.5);
        if (ww < 0.01) ww = 0.01;
        if (ww > 0.99) ww = 0.99;
        o->white_win = (float)ww;
        o->white_loss = (float)(1.0 - ww);
        o->no_result = 0.0f;
        o->white_score_mean = (float)(20.0 * (ww - 0.5));
        o->white_score_mean_sq = o->white_score_mean * o->white_score_mean + 4.0f;
        o->white_lead = o->white_score_mean;
        o->var_time_left = o->shortterm_winloss_error = o->shortterm_score_error = -1.0f;
    }
    return 0;
}

static inline tg_search_evaluator_t fake_eval_evaluator(fake_eval_t *f) {
    tg_search_evaluator_t e = {fake_eval_evaluate, f};
    return e;
}

#endif
