/* features.h: the net's input features (KataGo inputs version 7) and the 8 board symmetries.
 *
 * tg_nn_fill_features writes, for the player to move, the 22 binary spatial planes and the 19
 * global floats that every KataGo model of versions 8..15 reads (formats.md §2; KataGo's
 * NNInputs::fillRowV7): stones, liberties 1/2/3, ko and superko bans, encore recapture blocks,
 * the last 5 moves, ladders now and 1-2 turns ago, ladder-starting moves, pass-alive /
 * independent-life area, second-encore start stones; passes, komi, rule flags, encore phase,
 * "a pass ends the phase", playout-doubling advantage, button and the komi parity wave.
 * The board (size N) sits in the top-left corner of an L x L tensor (N <= L <= 19); every other
 * cell is 0 in all planes, so plane 0 is the on-board mask.
 *
 * Symmetries (KataGo's SymmetryHelpers): 3 bits, bit 0 = flip Y, bit 1 = flip X, bit 2 =
 * transpose, applied to the WHOLE L x L tensor (padding included), in the order flip X, flip Y,
 * transpose: point (x, y) goes to (x', y') with x1 = flipX ? L-1-x : x, y1 = flipY ? L-1-y : y,
 * then (x', y') = transpose ? (y1, x1) : (x1, y1). Outputs are mapped back with the inverse so
 * callers always see the canonical orientation.
 *
 * Thread-safe on distinct outputs; no allocation (the ladder search uses ~60 KB of stack). */
#ifndef TENGEN_NN_FEATURES_H
#define TENGEN_NN_FEATURES_H

#include <stdbool.h>

#include "game/game.h"

#define TG_NN_NUM_SPATIAL    22
#define TG_NN_NUM_GLOBAL     19
#define TG_NN_NUM_SYMMETRIES 8

/* KataGo's MiscNNInputParams, the parts that change the features. */
typedef struct tg_nn_input_params_s {
    double draw_equivalent_wins_for_white; /* 0.5: enters selfKomi for integer komi */
    double playout_doubling_advantage;     /* from pla's view; globals 15/16 (0: off) */
    bool conservative_pass_and_is_root;    /* hide history when a pass would end the game */
    bool enable_passing_hacks;             /* hide it when ending now would not win for pla */
    int max_history;                       /* cap on moves of history, 0..5 (default 5) */
    bool pass_alive_suicide;               /* area as if multi-stone suicide were legal
                                              (model v15 header flag) */
} tg_nn_input_params_t;

/* Defaults as KataGo's GTP `kata-raw-nn` uses them: 0.5, 0, false, false, 5, false. */
tg_nn_input_params_t tg_nn_input_params_default(void);

/* Fills spatial (22, L, L) NCHW and global (19) for g->to_move with default parameters.
 * nn_len = L, g->board.size <= L <= TG_BOARD_MAX (asserts). Cost: O(L^2) plus three ladder
 * scans (current board and 1-2 turns ago) and one area computation; no allocation. */
void tg_nn_fill_features(const tg_game_t *g, int nn_len, float *spatial, float *global);

/* Same with explicit parameters (params may be NULL for the defaults). */
void tg_nn_fill_features_ex(const tg_game_t *g, const tg_nn_input_params_t *params, int nn_len,
                            float *spatial, float *global);

/* Floats of one position's packed features at board size n: the 22 spatial planes at L = n,
 * (22, n, n), followed by the 19 globals. */
#define TG_NN_PACKED_FLOATS(n) (TG_NN_NUM_SPATIAL * (n) * (n) + TG_NN_NUM_GLOBAL)

/* Packed features of g (params may be NULL for the defaults) into out, TG_NN_PACKED_FLOATS(N)
 * floats, N = g->board.size: tg_nn_fill_features_ex at nn_len = N. Because every plane is 0
 * outside the board, embedding them in an L x L tensor (tg_nn_symmetry_apply_embed) gives
 * exactly what tg_nn_fill_features_ex writes at nn_len = L. Cost and threads as above. */
void tg_nn_fill_features_packed(const tg_game_t *g, const tg_nn_input_params_t *params, float *out);

/* Where point (x, y) of an L x L tensor goes under symmetry sym (0..7): writes x', y'. */
void tg_nn_symmetry_point(int x, int y, int len, int sym, int *out_x, int *out_y);

/* Inverse symmetry: 5 <-> 6, all others are their own inverse. */
int tg_nn_symmetry_invert(int sym);

/* Input transform: dst (channels, L, L) = src transformed by sym, i.e. dst at the image of
 * (x, y) = src at (x, y). src and dst must not overlap. */
void tg_nn_symmetry_apply(const float *src, float *dst, int channels, int len, int sym);

/* Embed + input transform: src (channels, n, n) sits in the top-left corner of an L x L tensor
 * (zeros elsewhere), which is then transformed by sym into dst (channels, L, L); n <= L.
 * Same result as zero-padding src to L and calling tg_nn_symmetry_apply. No overlap. */
void tg_nn_symmetry_apply_embed(const float *src, int n, float *dst, int channels, int len,
                                int sym);

/* Output transform back to the canonical orientation: dst at (x, y) = src at the image of
 * (x, y) under sym. Undoes tg_nn_symmetry_apply with the same sym. No overlap. */
void tg_nn_symmetry_unapply(const float *src, float *dst, int channels, int len, int sym);

#endif
