/* search_nn.c: the search's evaluator backed by a tengen net (nn/eval.h).
 *
 * Why a separate file: the search core only knows tg_search_evaluator_t, so tests can plug a
 * fake evaluator and a batching service can be slotted in later; this adapter is the direct
 * path (one tg_nn_evaluate / tg_nn_evaluate_batch call per request, tensor = board size).
 * Thread-safe because tg_nn_evaluator_t serializes its callers; allocation-free. */
#include "search/search.h"

static int search__nn_evaluate(void *ctx, int n, const tg_game_t *const *games,
                               const int *symmetries, tg_nn_output_t *outs, tg_err_t *err) {
    tg_nn_evaluator_t *ev = ctx;
    if (n == 1) return tg_nn_evaluate(ev, games[0], symmetries[0], outs, err);
    int len = 0;
    for (int i = 0; i < n; i++)
        if (games[i]->board.size > len) len = games[i]->board.size;
    return tg_nn_evaluate_batch(ev, n, games, symmetries, len, outs, err);
}

tg_search_evaluator_t tg_search_evaluator_nn(tg_nn_evaluator_t *ev) {
    tg_search_evaluator_t e = {search__nn_evaluate, ev};
    return e;
}
