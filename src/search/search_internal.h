/* search_internal.h: the search's node/edge layout and the helpers shared by search.c,
 * search_values.c and search_results.c. Not part of the public API (tests may use it).
 *
 * Node life cycle: NEW (claimed by a thread, evaluation pending: visits 0, no edges) ->
 * EXPANDED (net evaluated; edges sorted by prior) or TERMINAL (game over inside the search).
 * The state is published with a release store after the node's edges and stats are written. */
#ifndef TENGEN_SEARCH_SEARCH_INTERNAL_H
#define TENGEN_SEARCH_SEARCH_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "search/search.h"

enum { SEARCH_NODE_NEW = 0, SEARCH_NODE_EXPANDED = 1, SEARCH_NODE_TERMINAL = 2 };

#define SEARCH_NODE_NONE 0u /* edge.child: no node yet (node 0 is always the root) */
#define SEARCH_GH_POINTS 48 /* Gauss-Hermite points for E[atan(score)] */
#define SEARCH_MAX_DEPTH (TG_GAME_MAX_MOVES + 1)

/* One legal move of a node. 12 bytes. */
typedef struct search_edge_s {
    float prior;  /* policy (root: after temperature and noise) */
    tg_loc_t loc; /* move */
    uint16_t pad;
    _Atomic uint32_t child; /* node index, or SEARCH_NODE_NONE */
} search_edge_t;

typedef struct search_node_s {
    _Atomic int32_t visits;         /* 1 + sum of children's visits (terminal: its visits) */
    _Atomic int32_t virtual_losses; /* threads currently below this node, times VL per thread */
    _Atomic uint8_t state;          /* SEARCH_NODE_* (release store / acquire load) */
    _Atomic uint8_t weightless;     /* created by a passing-hack playout, not yet chosen */
    atomic_flag lock;               /* guards the stats recomputation (spin) */
    uint8_t to_move;                /* player to move at this node */
    tg_loc_t move;                  /* move that led here (TG_LOC_NULL at the root) */
    _Atomic uint16_t num_claimed;   /* created children = edges[0 .. num_claimed) */
    uint16_t num_edges;
    uint32_t edges; /* offset into the edge arena */

    /* Own evaluation (net or terminal), White's view. */
    double nn_winloss, nn_noresult, nn_score_mean, nn_score_mean_sq, nn_lead, nn_utility;

    /* Aggregates over the subtree, White's view; written under lock, read relaxed. */
    _Atomic double weight_sum, weight_sq_sum;
    _Atomic double winloss_avg, noresult_avg, score_mean_avg, score_mean_sq_avg, lead_avg;
    _Atomic double utility_avg, utility_sq_avg;

    /* Subtree value bias (search_svb.c): table slot + 1 (0 = none) and the contribution this
     * node last made to it; written under lock (or before the node is published). */
    uint32_t svb;
    double svb_last_delta, svb_last_weight;
} search_node_t;

/* One subtree value bias bucket. */
typedef struct search_svb_entry_s {
    _Atomic uint64_t key; /* 0 = empty slot */
    atomic_flag lock;     /* guards the two sums */
    double delta_sum, weight_sum;
} search_svb_entry_t;

/* Per-thread scratch, allocated once. */
typedef struct search_thread_s {
    struct tg_search_s *search;
    int id;
    tg_rng_t rng;
    tg_game_t game;        /* root copy, moved down the tree each playout */
    tg_nn_output_t nn_out; /* leaf evaluation */
    uint32_t path[SEARCH_MAX_DEPTH];
    int64_t playouts, failed;
    int rc;
    tg_err_t err;
} search_thread_t;

struct tg_search_s {
    tg_search_params_t params;
    tg_search_evaluator_t evaluator;

    bool has_position;
    tg_game_t root_game;
    tg_nn_output_t root_nn;          /* symmetry-averaged root evaluation */
    tg_nn_output_t *root_nn_scratch; /* (8) per-symmetry outputs */
    bool has_root_nn;
    bool root_prepared; /* root priors reflect the current params (noise/temperature/syms) */
    float root_noised_policy[TG_SEARCH_MAX_MOVES]; /* by pos (y*N+x, pass N*N); -1 illegal */

    /* Arenas. Node 0 is the root when the tree is non-empty. */
    search_node_t *nodes;
    int64_t node_capacity;
    _Atomic int64_t nodes_used;
    search_edge_t *edges;
    int64_t edge_capacity;
    _Atomic int64_t edges_used;
    int64_t system_allocs;

    /* Subtree value bias table (search_svb.c); capacity a power of two >= 2 * node_capacity. */
    search_svb_entry_t *svb;
    int64_t svb_capacity;

    /* Utility. */
    double recent_score_center;
    double gh_x[SEARCH_GH_POINTS], gh_w[SEARCH_GH_POINTS]; /* Gauss-Hermite, weight e^-x^2 */

    /* Run state. */
    _Atomic bool stop_requested;
    _Atomic bool arena_full;
    _Atomic int64_t playouts_started; /* reservations against the limits */
    _Atomic int64_t playouts_done;
    int64_t root_visits_at_start;
    double start_time_s;
    int num_thread_slots;
    search_thread_t **threads;
    tg_search_stats_t last;
    tg_rng_t rng; /* owner thread: noise, root symmetries */
};

/* ---- search.c ---------------------------------------------------------------------------- */

/* Root symmetry pruning on a root policy by pos (-1 = not allowed): for the symmetries that
 * map g's stones, ko point and superko bans onto themselves, every move but the lowest pos of
 * its orbit gets -1 and gives its prior to that one. Returns the number of moves pruned. */
int search__prune_root_symmetries(const tg_game_t *g, float *pol);

/* ---- search_svb.c ------------------------------------------------------------------------- */

/* Bucket key of the move loc about to be played on g (board before the move): mover, previous
 * move, loc, 5x5 pattern with atari marks, ko point. 0 when g has no previous move (no bucket). */
uint64_t search__svb_key(const tg_game_t *g, tg_loc_t loc);

/* Slot + 1 of key in the table (claimed if new), or 0 for key 0 / no table. Thread-safe. */
uint32_t search__svb_get(tg_search_t *s, uint64_t key);

/* factor * the bucket's average delta for node n (0 without a bucket or with weight <= 0.001). */
double search__svb_bias(tg_search_t *s, const search_node_t *n);

/* Replaces n's contribution to its bucket by (delta_sum, weight) and returns the new bias as
 * search__svb_bias. Caller holds n->lock. */
double search__svb_update(tg_search_t *s, search_node_t *n, double delta_sum, double weight);

/* Withdraws free_prop of n's last contribution and detaches n (owner thread, no search running). */
void search__svb_release(tg_search_t *s, search_node_t *n);

/* Empties the table (tree cleared). */
void search__svb_clear(tg_search_t *s);

/* Rebuilds the table with capacity >= min_capacity (power of two, never shrinking) from the
 * buckets of nodes[0 .. nodes_used): buckets no node uses are dropped. Returns 0 or TG_ENOMEM. */
int search__svb_rebuild(tg_search_t *s, int64_t min_capacity);

/* ---- search_values.c ---------------------------------------------------------------------- */

/* Fills x/w with the n-point Gauss-Hermite rule (weight e^{-x^2}). */
void search__gauss_hermite(int n, double *x, double *w);

/* E[(2/pi) atan((S - center) / (scale * sqrt_area))] for S ~ N(mean, stdev^2). */
double search__expected_score_value(const tg_search_t *s, double mean, double stdev, double center,
                                    double scale, double sqrt_area);

/* Score part of the utility (static + dynamic) for a white score distribution. */
double search__score_utility(const tg_search_t *s, double score_mean, double score_mean_sq);

/* winloss * c_wl + noresult * c_nr. */
double search__result_utility(const tg_search_t *s, double winloss, double noresult);

/* Recomputes node's aggregates from its children and own evaluation; visits = 1 + children.
 * Takes node->lock. Allocation-free (stack buffers of TG_SEARCH_MAX_MOVES). */
void search__recompute_stats(tg_search_t *s, search_node_t *node);

/* KataGo's pruneNoiseWeight: children i < n in prior order with their utility (mover's view),
 * prior and weight; lowers w[i] (and scales wsq[i] by the square of the ratio, if wsq) and
 * returns the new total weight. */
double search__prune_noise_weight(const tg_search_params_t *p, int n, const double *self_u,
                                  const double *prior, double *w, double *wsq);

/* Student-t (3 dof) CDF. */
double search__cdf_t3(double t);

/* cpuct(W) with its log term. */
double search__cpuct(const tg_search_params_t *p, double total_child_weight);

/* KataGo's getFpuValueForChildrenAssumeVisited: FPU (White's view) for node's unvisited
 * children; also returns the parent's utility and stdev factor. */
double search__fpu_value(const tg_search_t *s, const search_node_t *node, bool is_root,
                         double policy_mass_visited, double *parent_utility, double *stdev_factor);

/* interpolateEarly(halflife, early, late) at the root's turn. */
double search__interpolate_early(const tg_search_t *s, double halflife, double early, double late);

static inline double search__load(const _Atomic double *a) {
    return atomic_load_explicit(a, memory_order_relaxed);
}
static inline void search__store(_Atomic double *a, double v) {
    atomic_store_explicit(a, v, memory_order_relaxed);
}

/* Node's child weight for selection (0 if it has no completed visit or is weightless). */
static inline double search__child_weight(const search_node_t *c, int32_t *visits_out) {
    int32_t v = atomic_load_explicit(&c->visits, memory_order_acquire);
    if (atomic_load_explicit(&c->weightless, memory_order_relaxed)) v = 0; /* parent ignores it */
    if (visits_out) *visits_out = v;
    if (v <= 0) return 0.0;
    return search__load(&c->weight_sum);
}

/* Policy position (y*N+x, pass N*N) of a loc on an N x N board. */
static inline int search__pos(tg_loc_t loc, int n) {
    if (loc == TG_LOC_PASS) return n * n;
    return tg_loc_y(loc) * n + tg_loc_x(loc);
}
static inline tg_loc_t search__loc(int pos, int n) {
    if (pos == n * n) return TG_LOC_PASS;
    return tg_loc(pos % n, pos / n);
}

#endif
