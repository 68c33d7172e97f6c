/* search.h: KataGo-style MCTS over one game tree (algorithms.md §2): PUCT selection with FPU and
 * virtual loss, leaf evaluation through a pluggable batch evaluator, backup by recomputing node
 * statistics from the children, KataGo's utility (win/loss + static and dynamic score terms),
 * root-only exploration (policy temperature, shaped Dirichlet noise, forced playouts, symmetry
 * averaging), and the results self-play / GTP need: play-selection values with policy-target
 * pruning and LCB, the chosen move with temperature, the policy target, root values and a PV.
 *
 * ## Overview
 *     tg_search_params_t p = tg_search_params_selfplay();
 *     p.max_visits = 600;
 *     tg_search_t *s;
 *     tg_search_create(&p, &evaluator, &s, &err);     // evaluator: see tg_search_evaluator_t
 *     tg_search_set_position(s, &game);                // clears the tree
 *     tg_search_run(s, &err);                          // playouts until a limit is reached
 *     tg_search_choose_move(s, tg_search_chosen_move_temperature(s), false, &rng, &loc);
 *     tg_search_policy_target(s, target);              // pruned, LCB-adjusted visit distribution
 *     tg_search_make_move(s, loc, &err);               // tree reuse: the child becomes the root
 *
 * Design. Nodes and their child-edge arrays live in two per-search arenas (bump allocation,
 * atomics for the bump pointers); a playout never calls malloc. Each node's edges (all legal
 * moves with their prior) are sorted by prior, descending, when the node is expanded; children
 * are only ever created for the unvisited edge with the highest prior, so the created children
 * are always a prefix of the edge array (root re-preparation restores this invariant). Between
 * searches, make_move compacts the kept subtree into fresh arenas (the only place, with the
 * first search on a larger board, that allocates). The tree is a tree, not a DAG (no
 * transposition merging); see "Known gaps" below.
 *
 * Threads: params.num_threads search threads share one tree. Hot counters (visits, virtual
 * losses, claimed-children count, arena bump pointers) are <stdatomic.h> atomics; node
 * statistics are atomics written under a per-node spin lock (Lock: node->lock guards the
 * recomputation of that node's statistics from its children; no thread ever holds two node
 * locks) and read lock-free with relaxed loads. A node becomes visible to readers through a
 * release store of its state after its edges and statistics are written (acquire loads on the
 * readers' side). All tg_search_* functions other than tg_search_stop are "owner thread only":
 * one caller drives a search; tg_search_run spawns and joins the helper threads itself.
 *
 * KataGo GTP features (issue #4), each a param with KataGo's name: subtree value bias (a
 * per-search bucket table, search_svb.c), noise pruning in the backup, the smoothed reference
 * child of policy-target pruning / LCB, the pass-prior cap and forced pass / non-pass children
 * when a pass would end the phase (enablePassingHacks / enableMorePassingHacks), root symmetry
 * pruning, and cleanup before pass for GTP (tg_search_cleanup_before_pass).
 *
 * Known gaps versus KataGo: no graph search / NN cache, no root ending bonus, no useless-move
 * pruning at the root, no uncertainty weighting (GTP uses it; needs the net's short-term error
 * heads), no policy optimism (GTP 1.0 / root 0.2), no conservativePass (KataGo's fallback is
 * off), and the "weightless" forced passing-hack children are approximated: a normal playout
 * that later chooses one pays all its visits at once (KataGo pays edge visits one by one);
 * enableMorePassingHacks is skipped with num_threads > 1. */
#ifndef TENGEN_SEARCH_SEARCH_H
#define TENGEN_SEARCH_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "game/game.h"
#include "nn/eval.h"
#include "util/error.h"
#include "util/rng.h"

#define TG_SEARCH_MAX_MOVES (TG_BOARD_MAX * TG_BOARD_MAX + 1) /* policy size incl. pass */

/* Leaf evaluation. evaluate() fills outs[i] (White's view, as tg_nn_evaluate) for games[i] under
 * symmetries[i] (0..7), for i < n. It must be thread-safe when num_threads > 1 and must not
 * keep the game pointers after returning. Returns 0, or a negative TG_E* code with err filled;
 * the search then stops and tg_search_run returns that code. A batching service can implement
 * this by queueing the positions and blocking until the batch is done. */
typedef struct tg_search_evaluator_s {
    int (*evaluate)(void *ctx, int n, const tg_game_t *const *games, const int *symmetries,
                    tg_nn_output_t *outs, tg_err_t *err);
    void *ctx;
} tg_search_evaluator_t;

/* An evaluator running ev (tg_nn_evaluate / tg_nn_evaluate_batch on a tensor of the board's size).
 * ev stays owned by the caller and must outlive the search. */
tg_search_evaluator_t tg_search_evaluator_nn(tg_nn_evaluator_t *ev);

/* Search parameters; names follow KataGo's SearchParams (algorithms.md §2.9). */
typedef struct tg_search_params_s {
    /* Limits: a search stops at the first one reached; 0 = no limit of that kind. At least one
     * of max_visits / max_playouts / max_time_s must be set. Visits inherited from a reused
     * tree count towards max_visits. */
    int64_t max_visits;
    int64_t max_playouts;
    double max_time_s;
    int num_threads; /* search threads on this tree, >= 1 */

    /* Utility (§2.2). */
    double win_loss_utility_factor;
    double no_result_utility_for_white;
    double static_score_utility_factor;
    double dynamic_score_utility_factor;
    double dynamic_score_center_zero_weight;
    double dynamic_score_center_scale;
    double draw_equivalent_wins_for_white;

    /* Selection (§2.3). */
    double cpuct_exploration;
    double cpuct_exploration_log;
    double cpuct_exploration_base;
    double cpuct_utility_stdev_scale;
    double cpuct_utility_stdev_prior;
    double cpuct_utility_stdev_prior_weight;
    double fpu_reduction_max;
    double root_fpu_reduction_max;
    double fpu_loss_prop;
    double root_fpu_loss_prop;
    bool fpu_parent_weight_by_visited_policy;
    double fpu_parent_weight_by_visited_policy_pow;
    double fpu_parent_weight; /* used when fpu_parent_weight_by_visited_policy is false */
    int num_virtual_losses_per_thread;
    double value_weight_exponent; /* §2.4 value weighting of children; 0 = plain average */

    /* Subtree value bias (§2.4; KataGo subtreeValueBias*): a node's own net utility is shifted by
     * factor * the average (children's utility - net utility) of its pattern bucket, each node
     * contributing with weight (children's weight)^exponent; a node freed by tree reuse
     * withdraws free_prop of its contribution. factor 0 = off. */
    double subtree_value_bias_factor;
    double subtree_value_bias_weight_exponent;
    double subtree_value_bias_free_prop;

    /* Noise pruning (KataGo useNoisePruning, pruneNoiseWeight): in the backup, children taken in
     * prior order; one whose utility is below the weighted average of those before it loses
     * weight above twice its policy share by excess * (1 - exp(-gap / scale)), at most cap. */
    bool use_noise_pruning;
    double noise_prune_utility_scale;
    double noise_pruning_cap;

    /* KataGo enablePassingHacks, its policy part: at every node the pass prior is capped at 19x
     * the sum of the other legal moves' priors (95 % of the total), then renormalized. */
    bool enable_passing_hacks;
    /* KataGo enableMorePassingHacks: at a node where a pass would end the phase and whose
     * children have >= 2 visits, a pass child (if none yet) or else the best new non-pass child
     * (if all children are passes) is created by an extra "weightless" playout: it does not
     * count towards the limits and its parent ignores the child (FPU value, no weight) until a
     * normal playout chooses it. Applied with num_threads == 1 only. */
    bool enable_more_passing_hacks;

    /* KataGo rootSymmetryPruning: when the root position (stones, ko point, superko bans) is
     * symmetric, only the first move of each orbit (lowest y*N+x) stays allowed at the root; it
     * takes the orbit's policy mass. */
    bool root_symmetry_pruning;

    /* Root (§2.4, §2.5). */
    bool root_noise_enabled;
    double root_dirichlet_noise_total_concentration;
    double root_dirichlet_noise_weight;
    double root_policy_temperature_early;
    double root_policy_temperature;
    double root_desired_per_child_visits_coeff; /* forced playouts k; 0 = off */
    int root_num_symmetries_to_sample;          /* 1..8 distinct symmetries averaged */
    bool nn_randomize;                          /* random symmetry per leaf (else 0) */

    /* Move choice and policy target (§2.7). */
    double chosen_move_temperature_early;
    double chosen_move_temperature;
    double chosen_move_temperature_halflife; /* also the root policy temperature halflife */
    double chosen_move_subtract;
    double chosen_move_prune;
    bool use_lcb_for_selection;
    double lcb_stdevs;
    double min_visit_prop_for_lcb;

    /* Storage: nodes to reserve when no visit/playout limit bounds the tree (time-only). */
    int64_t max_nodes_hint;
    uint64_t seed; /* noise, symmetries; 0 = from the clock */
} tg_search_params_t;

/* KataGo's effective selfplay1.cfg values (algorithms.md §2.9), full-search flavour:
 * max_visits 600, 1 thread, cpuct 1.1, FPU 0.2 / root 0.0, dynamic score 0.40 (centre zero
 * weight 0.25, scale 0.50), value weight exponent 0.5, noise 10.83 / 0.25, root policy
 * temperature 1.25 -> 1.1, forced playouts k = 2, 4 root symmetries, move temperature 0.75 ->
 * 0.15 (halflife 19), LCB 5.0 / 0.15, subtree value bias 0.30 / 0.8 (free prop 0.8); no noise
 * pruning, passing hacks or root symmetry pruning (KataGo's selfplay leaves them off). */
tg_search_params_t tg_search_params_selfplay(void);

/* KataGo's GTP search settings: the Setup::loadParams fallbacks for SETUP_FOR_GTP (algorithms.md
 * §2.9, "GTP fallback" column), restricted to what this search implements (no uncertainty
 * weighting, optimism, ending bonus or graph search): no noise, dynamic cPUCT, LCB, move
 * temperature 0.5 -> 0.1, subtree value bias 0.45 / 0.85 (free prop 0.8), noise pruning
 * (scale 0.15), passing hacks on, root symmetry pruning on. Limits as in the selfplay preset;
 * callers set max_visits / max_time_s, threads and seed. For play, matches and gating. */
tg_search_params_t tg_search_params_gtp(void);

/* Turns p into KataGo's cheap-search settings (§2.8): max_visits = visits, no noise, root
 * policy temperature 1, root FPU = interior FPU, no forced playouts, 1 root symmetry. */
void tg_search_params_make_cheap(tg_search_params_t *p, int64_t visits);

/* Checks ranges. Returns 0, or TG_EINVAL with "search params: <field> ..." in err. */
int tg_search_params_validate(const tg_search_params_t *p, tg_err_t *err);

typedef struct tg_search_s tg_search_t;

/* Creates a search (no position yet). Allocates the per-thread scratch and initial arenas.
 * Returns 0, TG_EINVAL (bad params / evaluator) or TG_ENOMEM. */
int tg_search_create(const tg_search_params_t *params, const tg_search_evaluator_t *evaluator,
                     tg_search_t **out, tg_err_t *err);
void tg_search_destroy(tg_search_t *s); /* NULL is a no-op */

/* Replaces the parameters (between searches). The tree is kept; the root is re-prepared by the
 * next run if root exploration settings call for it. Returns 0 or TG_EINVAL. */
int tg_search_set_params(tg_search_t *s, const tg_search_params_t *params, tg_err_t *err);
const tg_search_params_t *tg_search_get_params(const tg_search_t *s);

/* Replaces the evaluator (e.g. after a net switch) and clears the tree. */
void tg_search_set_evaluator(tg_search_t *s, const tg_search_evaluator_t *evaluator);

/* Sets the root position (copied) and clears the tree. The game must not be over. */
int tg_search_set_position(tg_search_t *s, const tg_game_t *g, tg_err_t *err);

/* The root position. */
const tg_game_t *tg_search_root_game(const tg_search_t *s);

/* Plays loc for the player to move on the root position and keeps the subtree under that move
 * (compacting the arenas), or clears the tree if there is none. Returns 0, or TG_EILLEGAL /
 * TG_ERANGE from tg_game_play (root unchanged), or TG_ENOMEM. O(kept subtree). */
int tg_search_make_move(tg_search_t *s, tg_loc_t loc, tg_err_t *err);

/* Drops the whole tree, keeping the root position. */
void tg_search_clear_tree(tg_search_t *s);

/* Runs playouts until a limit in the params is reached or tg_search_stop is called. Evaluates
 * and prepares the root first (that first evaluation counts as one playout). Returns 0, or
 * TG_ESTATE (no position, or game over), or the evaluator's error. A full arena (only possible
 * with time-only limits beyond max_nodes_hint) ends the search early without error. */
int tg_search_run(tg_search_t *s, tg_err_t *err);

/* Asks a running search to stop after its current playouts. Thread-safe. */
void tg_search_stop(tg_search_t *s);

/* ---- Results (owner thread, after tg_search_run) --------------------------------------------- */

typedef struct tg_search_values_s {
    double white_win, white_loss, no_result; /* probabilities, sum 1 */
    double white_winloss;                    /* win - loss in [-1, 1] */
    double white_score_mean, white_score_stdev, white_lead;
    double utility; /* white's view */
    int64_t visits;
    double weight;
} tg_search_values_t;

typedef struct tg_search_child_s {
    tg_loc_t loc;
    int64_t visits;
    double weight;
    float prior; /* root prior used in the search (after temperature and noise) */
    tg_search_values_t values;
} tg_search_child_t;

/* Root statistics. Returns 0, or TG_ESTATE if the root has no visits. */
int tg_search_root_values(const tg_search_t *s, tg_search_values_t *out);

/* The root's net evaluation (symmetry-averaged), or NULL before the first run. */
const tg_nn_output_t *tg_search_root_nn(const tg_search_t *s);

/* Root children that were created, in edge order (not sorted). Writes up to cap and returns
 * the number written. */
int tg_search_root_children(const tg_search_t *s, tg_search_child_t *out, int cap);

/* KataGo's getPlaySelectionValues at the root (§2.7): child weights, policy-target pruning
 * against the reference child (max of w * max(0, n-1) / max(1, n) + 2 * prior), LCB bonus (if
 * use_lcb; children with value >= min_visit_prop_for_lcb * the reference's weight), pruning of tiny
 * values, scaled so the maximum is >= scale_max_to_at_least. With no children, the root policy over
 * legal moves. Writes up to TG_SEARCH_MAX_MOVES entries; returns the count (> 0) or TG_ESTATE. */
int tg_search_play_selection_values(const tg_search_t *s, bool use_lcb,
                                    double scale_max_to_at_least, tg_loc_t *locs, double *values);

/* Policy target (§2.7, LCB per params.use_lcb_for_selection), normalized to sum 1, into
 * out[y*N+x] and out[N*N] = pass (N = board size; N*N+1 floats). Returns 0 or TG_ESTATE. */
int tg_search_policy_target(const tg_search_t *s, float *out);

/* chosen_move_temperature interpolated by the root's turn number (§2.5 interpolateEarly). */
double tg_search_chosen_move_temperature(const tg_search_t *s);

/* Chooses a move from the play-selection values (LCB if use_lcb) with probability proportional
 * to value^(1/temperature) (argmax when temperature <= 1e-4), drawing from rng. Returns 0 or
 * TG_ESTATE. */
int tg_search_choose_move(const tg_search_t *s, double temperature, bool use_lcb, tg_rng_t *rng,
                          tg_loc_t *out);

/* Principal variation: the best root move by play-selection value (LCB per params), then the
 * most-visited child at each level. Writes up to max moves, returns the count. */
int tg_search_pv(const tg_search_t *s, tg_loc_t *out, int max);

/* KataGo's cleanupBeforePass in its "auto" setting (GTP): under area scoring without
 * friendlyPassOk and without a button (Tromp-Taylor), a pass mv by pla becomes the last empty
 * point, row by row, of pla's pass-alive area (tg_board_calc_area, no extra flags) that touches
 * an opponent stone and is legal for pla, so the dead stones get captured before the game ends.
 * Any other mv, or no such point: mv unchanged. */
tg_loc_t tg_search_cleanup_before_pass(const tg_game_t *g, tg_color_t pla, tg_loc_t mv);

typedef struct tg_search_stats_s {
    int64_t playouts;        /* completed playouts in the last run (root evaluation included) */
    int64_t failed_playouts; /* collisions with another thread's pending leaf */
    int64_t root_visits;
    double elapsed_s;
    int64_t nodes_used, node_capacity;
    int64_t edges_used, edge_capacity;
    int64_t system_allocs; /* malloc/realloc calls made by this search since creation */
    bool arena_full;       /* the last run stopped because the arena was full */
} tg_search_stats_t;

void tg_search_get_stats(const tg_search_t *s, tg_search_stats_t *out);

#endif
