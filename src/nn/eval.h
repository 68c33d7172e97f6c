/* eval.h: evaluate a game position with a KataGo net: features -> symmetry -> forward pass ->
 * KataGo's post-processing (NNEvaluator), all from White's point of view, plus the exact text
 * of KataGo's GTP `kata-raw-nn`.
 *
 * Post-processing (formats.md §3, KataGo's nneval.cpp), for the player to move pla:
 *  - policy: channel 0 of the policy head (policy optimism 0, temperature 1); softmax over the
 *    legal moves (tg_game_is_legal, pass included) with illegal points = -1; uniform over the
 *    legal moves if every one underflows to 0;
 *  - value: softmax of (win, loss, noResult) logits in double, where noResult is forced to 0
 *    unless the ko rule is simple or the scoring is territory; swapped to White's view;
 *  - scores: mean = r0*20, stdev = softplus(r1)*20, lead = r2*20 (model multipliers);
 *    meanSq = mean^2 + stdev^2; mean, meanSq and lead times (1 - noResult); mean and lead
 *    negated when pla is Black; varTimeLeft = softplus(r3)*40 and the short-term errors
 *    (v9: softplus, v10-13: sqrt(softplus*mult), v14+: squared-softplus form), all -1 for v8;
 *  - ownership: tanh(raw), negated when pla is Black.
 * softplus(x) = log(1 + e^x), or x when x > 40.
 *
 * `kata-raw-nn [color] <0-7|all> [optimism]` in KataGo's GTP evaluates the current position
 * once per requested symmetry (no cache, ownership included) with default input parameters
 * (no conservative pass, no passing hacks, PDA 0) on a tensor of exactly the board size, and
 * prints per symmetry the block that tg_nn_format_raw produces:
 *     symmetry S
 *     whiteWin %.6f / whiteLoss %.6f / noResult %.6f           (one per line)
 *     whiteLead %.3f / whiteScoreSelfplay %.3f / whiteScoreSelfplaySq %.3f
 *     varTimeLeft %.3f / shorttermWinlossError %.3f / shorttermScoreError %.3f
 *     policy
 *     N lines of N entries "%8.6f " (or "    NAN " for illegal), top row first
 *     policyPass %8.6f \n   (note the trailing space)
 *     whiteOwnership
 *     N lines of N entries "%9.7f "
 *     (empty line)
 * For `all` the 8 blocks follow each other in symmetry order 0..7; the whole response is then
 * trimmed of leading and trailing whitespace (Global::trim), so the last ownership row loses its
 * trailing space and the last blank line disappears, and GTP prefixes "= ".
 *
 * Threads: one evaluator may be used from several threads; calls are serialized by an internal
 * mutex (Lock: ev->lock guards the buffers and the backend context). Evaluation allocates
 * nothing; create/destroy allocate and free everything. */
#ifndef TENGEN_NN_EVAL_H
#define TENGEN_NN_EVAL_H

#include <stddef.h>

#include "game/game.h"
#include "nn/features.h"
#include "nn/nn.h"
#include "util/error.h"

typedef struct tg_nn_evaluator_s tg_nn_evaluator_t;

/* Loads the model at model_path and builds a CPU backend context for batches of up to max_batch
 * positions with `threads` workers (<= 0: all cores). Returns 0, or the loader's / backend's
 * error (TG_EIO, TG_EFORMAT, TG_EUNSUPPORTED for models without 22/19 inputs, TG_ENOMEM). */
int tg_nn_evaluator_create(const char *model_path, int max_batch, int threads,
                           tg_nn_evaluator_t **out, tg_err_t *err);

/* Same with an explicit backend (e.g. tg_nn_backend_cuda()); backend NULL = CPU, or the one
 * $TENGEN_NN_BACKEND names (auto|cpu|cuda|cuda-fp16, see nn_cuda.h) when that is set. */
int tg_nn_evaluator_create_ex(const char *model_path, const tg_nn_backend_t *backend, int max_batch,
                              int threads, tg_nn_evaluator_t **out, tg_err_t *err);

/* Frees everything. NULL is a no-op. */
void tg_nn_evaluator_destroy(tg_nn_evaluator_t *ev);

/* The loaded model (owned by ev). */
const tg_model_t *tg_nn_evaluator_model(const tg_nn_evaluator_t *ev);

/* Input parameters used by later evaluations (default: tg_nn_input_params_default() with
 * pass_alive_suicide from the model header). Not thread-safe against running evaluations. */
void tg_nn_evaluator_set_input_params(tg_nn_evaluator_t *ev, const tg_nn_input_params_t *p);

/* The input parameters evaluations use now (for callers that build features themselves). */
tg_nn_input_params_t tg_nn_evaluator_input_params(const tg_nn_evaluator_t *ev);

typedef struct tg_nn_output_s {
    int board_size; /* N */
    float white_win, white_loss, no_result;
    float white_lead, white_score_mean, white_score_mean_sq;
    float var_time_left, shortterm_winloss_error, shortterm_score_error; /* -1 if absent */
    float policy[TG_BOARD_MAX * TG_BOARD_MAX]; /* y*N+x, y=0 top row; -1 where illegal */
    float policy_pass;
    float white_ownership[TG_BOARD_MAX * TG_BOARD_MAX];
} tg_nn_output_t;

/* Evaluates g (player to move g->to_move) under symmetry 0..7 on a tensor of exactly the board
 * size, as KataGo's GTP does. Returns 0, or TG_EINVAL (bad symmetry, game over with no legal
 * move) / a backend error, with err filled. */
int tg_nn_evaluate(tg_nn_evaluator_t *ev, const tg_game_t *g, int symmetry, tg_nn_output_t *out,
                   tg_err_t *err);

/* Batched form: n games, per-game symmetry, one common nn_len >= every board size (<= 19).
 * Runs forward passes of up to max_batch positions at a time. outs[i] matches games[i]. */
int tg_nn_evaluate_batch(tg_nn_evaluator_t *ev, int n, const tg_game_t *const *games,
                         const int *symmetries, int nn_len, tg_nn_output_t *outs, tg_err_t *err);

/* Same as tg_nn_evaluate_batch, but with the features already built by the caller:
 * features[i] holds games[i]'s packed features (tg_nn_fill_features_packed with the parameters
 * tg_nn_evaluator_input_params(ev) returns, TG_NN_PACKED_FLOATS(N) floats, unsymmetrized).
 * Only the symmetry + embedding, the forward pass and the post-processing run here (games[i]
 * is still read for the legal moves, the player and the rules). The net sees exactly the
 * tensor tg_nn_evaluate_batch would build, so the outputs are bit-identical to it for the same
 * games, symmetries, nn_len and batch. Lets the features be built on other threads (e.g. the
 * posters of search/evalservice.h) while this one runs the net. Errors as the batched form. */
int tg_nn_evaluate_batch_packed(tg_nn_evaluator_t *ev, int n, const tg_game_t *const *games,
                                const float *const *features, const int *symmetries, int nn_len,
                                tg_nn_output_t *outs, tg_err_t *err);

/* Appends to the NUL-terminated string in buf (capacity cap bytes) the exact block KataGo's
 * kata-raw-nn prints for one symmetry (see above; ends with "\n\n"). Returns 0, or TG_ERANGE if
 * it did not fit (buf then holds a truncated, NUL-terminated text). */
int tg_nn_format_raw(const tg_nn_output_t *o, int symmetry, char *buf, size_t cap);

/* Post-processing alone, for tests and other callers that ran the net themselves: converts the
 * raw outputs of one position (policy logits and ownership already in canonical orientation,
 * stride len) for g into out. model gives the version and multipliers. */
void tg_nn_postprocess(const tg_model_t *model, const tg_game_t *g, int len,
                       const float *policy_logits, float pass_logit, const float *value_logits,
                       const float *score_raw, const float *ownership_raw, tg_nn_output_t *out);

#endif
