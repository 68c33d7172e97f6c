/* search.c: the MCTS driver: parameters, arenas, root preparation, the playout loop and its
 * threads, tree reuse (algorithms.md §2.1-2.6).
 *
 * Thread layout (one tg_search_run call):
 *
 *     owner thread ── root eval + prep ──┬── playout loop (thread 0) ──┬── join, stats
 *                                        ├── playout loop (thread 1) ──┤
 *                                        └── ...        (thread n-1) ──┘
 *
 * A playout: copy the root game into the thread's scratch, descend by PUCT (§2.3) adding
 * virtual losses, create the best-prior unvisited child (claimed with a CAS on the parent's
 * num_claimed), evaluate it (terminal value or one evaluator call), then recompute every node
 * on the path from its children (§2.4) and remove the virtual losses. A thread that reaches a
 * child another thread is still evaluating abandons the playout (it is not counted) and
 * retries. Playouts are reserved against the limits with an atomic counter, so max_visits and
 * max_playouts are exact with any number of threads. No allocation happens inside the loop:
 * nodes and edges come from the arenas, scratch from search_thread_t. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "search/search_internal.h"

/* ---- Parameters ------------------------------------------------------------------------------ */

tg_search_params_t tg_search_params_selfplay(void) {
    tg_search_params_t p;
    memset(&p, 0, sizeof(p));
    p.max_visits = 600;
    p.num_threads = 1;
    p.win_loss_utility_factor = 1.0;
    p.no_result_utility_for_white = 0.0;
    p.static_score_utility_factor = 0.0;
    p.dynamic_score_utility_factor = 0.40;
    p.dynamic_score_center_zero_weight = 0.25;
    p.dynamic_score_center_scale = 0.50;
    p.draw_equivalent_wins_for_white = 0.5;
    p.cpuct_exploration = 1.1;
    p.cpuct_exploration_log = 0.0;
    p.cpuct_exploration_base = 500.0;
    p.cpuct_utility_stdev_scale = 0.0;
    p.cpuct_utility_stdev_prior = 0.40;
    p.cpuct_utility_stdev_prior_weight = 2.0;
    p.fpu_reduction_max = 0.2;
    p.root_fpu_reduction_max = 0.0;
    p.fpu_loss_prop = 0.0;
    p.root_fpu_loss_prop = 0.0;
    p.fpu_parent_weight_by_visited_policy = true;
    p.fpu_parent_weight_by_visited_policy_pow = 2.0;
    p.fpu_parent_weight = 0.0;
    p.num_virtual_losses_per_thread = 1;
    p.value_weight_exponent = 0.5;
    p.subtree_value_bias_factor = 0.30;
    p.subtree_value_bias_weight_exponent = 0.8;
    p.subtree_value_bias_free_prop = 0.8;
    p.use_noise_pruning = false;
    p.noise_prune_utility_scale = 0.15;
    p.noise_pruning_cap = 1e50;
    p.enable_passing_hacks = false;
    p.enable_more_passing_hacks = false;
    p.root_symmetry_pruning = false;
    p.root_noise_enabled = true;
    p.root_dirichlet_noise_total_concentration = 10.83;
    p.root_dirichlet_noise_weight = 0.25;
    p.root_policy_temperature_early = 1.25;
    p.root_policy_temperature = 1.1;
    p.root_desired_per_child_visits_coeff = 2.0;
    p.root_num_symmetries_to_sample = 4;
    p.nn_randomize = true;
    p.chosen_move_temperature_early = 0.75;
    p.chosen_move_temperature = 0.15;
    p.chosen_move_temperature_halflife = 19.0;
    p.chosen_move_subtract = 0.0;
    p.chosen_move_prune = 1.0;
    p.use_lcb_for_selection = true;
    p.lcb_stdevs = 5.0;
    p.min_visit_prop_for_lcb = 0.15;
    p.max_nodes_hint = 20000;
    p.seed = 0;
    return p;
}

tg_search_params_t tg_search_params_gtp(void) {
    tg_search_params_t p = tg_search_params_selfplay();
    p.static_score_utility_factor = 0.1;
    p.dynamic_score_utility_factor = 0.3;
    p.dynamic_score_center_zero_weight = 0.2;
    p.dynamic_score_center_scale = 0.75;
    p.cpuct_exploration = 1.0;
    p.cpuct_exploration_log = 0.45;
    p.cpuct_exploration_base = 500.0;
    p.cpuct_utility_stdev_scale = 0.85;
    p.cpuct_utility_stdev_prior = 0.40;
    p.cpuct_utility_stdev_prior_weight = 2.0;
    p.fpu_reduction_max = 0.2;
    p.root_fpu_reduction_max = 0.1;
    p.value_weight_exponent = 0.25;
    p.subtree_value_bias_factor = 0.45;
    p.subtree_value_bias_weight_exponent = 0.85;
    p.subtree_value_bias_free_prop = 0.8;
    p.use_noise_pruning = true;
    p.enable_passing_hacks = true;
    p.enable_more_passing_hacks = true;
    p.root_symmetry_pruning = true;
    p.root_noise_enabled = false;
    p.root_policy_temperature_early = 1.0;
    p.root_policy_temperature = 1.0;
    p.root_desired_per_child_visits_coeff = 0.0;
    p.root_num_symmetries_to_sample = 1;
    p.chosen_move_temperature_early = 0.5;
    p.chosen_move_temperature = 0.1;
    p.chosen_move_temperature_halflife = 19.0;
    p.use_lcb_for_selection = true;
    return p;
}

void tg_search_params_make_cheap(tg_search_params_t *p, int64_t visits) {
    p->max_visits = visits;
    p->root_noise_enabled = false;
    p->root_policy_temperature_early = 1.0;
    p->root_policy_temperature = 1.0;
    p->root_fpu_reduction_max = p->fpu_reduction_max;
    p->root_fpu_loss_prop = p->fpu_loss_prop;
    p->root_desired_per_child_visits_coeff = 0.0;
    p->root_num_symmetries_to_sample = 1;
}

int tg_search_params_validate(const tg_search_params_t *p, tg_err_t *err) {
    if (p->max_visits < 0 || p->max_playouts < 0 || p->max_time_s < 0)
        return tg_err_set(err, TG_EINVAL, "search params: negative limit");
    if (p->max_visits == 0 && p->max_playouts == 0 && p->max_time_s <= 0.0)
        return tg_err_set(err, TG_EINVAL,
                          "search params: no limit (max_visits, max_playouts or max_time_s)");
    if (p->max_visits > INT32_MAX / 2 || p->max_playouts > INT32_MAX / 2)
        return tg_err_set(err, TG_EINVAL, "search params: limit above %d", INT32_MAX / 2);
    if (p->num_threads < 1 || p->num_threads > 1024)
        return tg_err_set(err, TG_EINVAL, "search params: num_threads %d not in 1..1024",
                          p->num_threads);
    if (p->root_num_symmetries_to_sample < 1 || p->root_num_symmetries_to_sample > 8)
        return tg_err_set(err, TG_EINVAL,
                          "search params: root_num_symmetries_to_sample %d not in 1..8",
                          p->root_num_symmetries_to_sample);
    if (!(p->cpuct_exploration_base > 0.0) || !(p->cpuct_utility_stdev_prior > 0.0))
        return tg_err_set(err, TG_EINVAL, "search params: cpuct base / stdev prior must be > 0");
    if (!(p->root_policy_temperature > 0.0) || !(p->root_policy_temperature_early > 0.0) ||
        !(p->chosen_move_temperature_halflife > 0.0))
        return tg_err_set(err, TG_EINVAL,
                          "search params: root policy temperatures and halflife must be > 0");
    if (p->draw_equivalent_wins_for_white < 0.0 || p->draw_equivalent_wins_for_white > 1.0)
        return tg_err_set(err, TG_EINVAL,
                          "search params: draw_equivalent_wins_for_white not in [0, 1]");
    if (p->root_dirichlet_noise_weight < 0.0 || p->root_dirichlet_noise_weight > 1.0 ||
        (p->root_noise_enabled && !(p->root_dirichlet_noise_total_concentration > 0.0)))
        return tg_err_set(err, TG_EINVAL, "search params: bad Dirichlet noise settings");
    if (!(p->dynamic_score_center_scale > 0.0) || p->num_virtual_losses_per_thread < 0 ||
        p->value_weight_exponent < 0.0 || p->lcb_stdevs < 0.0)
        return tg_err_set(err, TG_EINVAL, "search params: negative or zero scale");
    if (!(p->subtree_value_bias_factor >= 0.0 && p->subtree_value_bias_factor <= 1.0) ||
        !(p->subtree_value_bias_weight_exponent >= 0.0 &&
          p->subtree_value_bias_weight_exponent <= 1.0) ||
        !(p->subtree_value_bias_free_prop >= 0.0 && p->subtree_value_bias_free_prop <= 1.0))
        return tg_err_set(err, TG_EINVAL, "search params: subtree_value_bias_* not in [0, 1]");
    if (p->use_noise_pruning &&
        !(p->noise_prune_utility_scale > 0.0 && p->noise_pruning_cap >= 0.0))
        return tg_err_set(err, TG_EINVAL,
                          "search params: noise_prune_utility_scale must be > 0, cap >= 0");
    return 0;
}

/* ---- Small helpers ----------------------------------------------------------------------------
 */

static double search__now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sorts edges[0..n) by prior, descending (ties: lower loc first). Shell sort: no allocation
 * (glibc's qsort may malloc for arrays over 1 KB). */
static void search__sort_edges(search_edge_t *e, int n) {
    static const int gaps[] = {132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < TG_ARRAY_LEN(gaps); g++) {
        int gap = gaps[g];
        for (int i = gap; i < n; i++) {
            float pr = e[i].prior;
            tg_loc_t loc = e[i].loc;
            uint32_t ch = atomic_load_explicit(&e[i].child, memory_order_relaxed);
            int j = i;
            while (j >= gap &&
                   (e[j - gap].prior < pr || (e[j - gap].prior == pr && e[j - gap].loc > loc))) {
                e[j].prior = e[j - gap].prior;
                e[j].loc = e[j - gap].loc;
                atomic_store_explicit(&e[j].child,
                                      atomic_load_explicit(&e[j - gap].child, memory_order_relaxed),
                                      memory_order_relaxed);
                j -= gap;
            }
            e[j].prior = pr;
            e[j].loc = loc;
            atomic_store_explicit(&e[j].child, ch, memory_order_relaxed);
        }
    }
}

static void search__node_init(search_node_t *n, tg_loc_t move, tg_color_t to_move) {
    memset(n, 0, sizeof(*n));
    atomic_flag_clear(&n->lock);
    atomic_store_explicit(&n->state, SEARCH_NODE_NEW, memory_order_relaxed);
    n->move = move;
    n->to_move = (uint8_t)to_move;
}

/* Sets a node's own evaluation (White's view) and its utility. */
static void search__set_own_values(tg_search_t *s, search_node_t *n, double wl, double nr,
                                   double sm, double smsq, double lead) {
    n->nn_winloss = wl;
    n->nn_noresult = nr;
    n->nn_score_mean = sm;
    n->nn_score_mean_sq = smsq;
    n->nn_lead = lead;
    n->nn_utility = search__result_utility(s, wl, nr) + search__score_utility(s, sm, smsq);
}

static void search__set_values_from_nn(tg_search_t *s, search_node_t *n, const tg_nn_output_t *o) {
    search__set_own_values(s, n, (double)o->white_win - (double)o->white_loss, o->no_result,
                           o->white_score_mean, o->white_score_mean_sq, o->white_lead);
}

/* Terminal value of a finished game (KataGo: whiteWinsOfWinner, whiteScoreDrawAdjust,
 * whiteScoreMeanSqOfScoreGridded). */
static void search__set_values_terminal(tg_search_t *s, search_node_t *n, const tg_game_t *g) {
    double d = s->params.draw_equivalent_wins_for_white;
    if (g->no_result) {
        search__set_own_values(s, n, 0.0, 1.0, 0.0, 0.0, 0.0);
        return;
    }
    double wl = g->winner == TG_WHITE ? 1.0 : g->winner == TG_BLACK ? -1.0 : 2.0 * d - 1.0;
    double fs = g->final_score;
    double score = fs + (tg_rules_result_is_integer(&g->rules) ? d - 0.5 : 0.0);
    double sq = fs * fs;
    if (fs == floor(fs)) {
        double lo = (fs - 0.5) * (fs - 0.5), hi = (fs + 0.5) * (fs + 0.5);
        sq = lo + (hi - lo) * d;
    }
    search__set_own_values(s, n, wl, 0.0, score, sq, score);
}

/* Stats of a node with one visit of its own evaluation and no children; utility is the node's
 * own utility with its subtree value bias (nn_utility itself stays unbiased, for FPU). */
static void search__stats_single(search_node_t *n, int32_t visits, double weight, double utility) {
    search__store(&n->winloss_avg, n->nn_winloss);
    search__store(&n->noresult_avg, n->nn_noresult);
    search__store(&n->score_mean_avg, n->nn_score_mean);
    search__store(&n->score_mean_sq_avg, n->nn_score_mean_sq);
    search__store(&n->lead_avg, n->nn_lead);
    search__store(&n->utility_avg, utility);
    search__store(&n->utility_sq_avg, utility * utility);
    search__store(&n->weight_sum, weight);
    search__store(&n->weight_sq_sum, weight);
    atomic_store_explicit(&n->visits, visits, memory_order_release);
}

/* enablePassingHacks: caps the pass prior (edge k-1) at 19x the others' sum, renormalizing
 * when it was capped. */
static void search__cap_pass_prior(search_edge_t *e, int k) {
    double others = 0.0;
    for (int i = 0; i < k - 1; i++)
        others += e[i].prior;
    double cap = 19.0 * others, pass = e[k - 1].prior;
    if (pass <= cap || others <= 0.0) return;
    double total = others + cap;
    for (int i = 0; i < k - 1; i++)
        e[i].prior = (float)(e[i].prior / total);
    e[k - 1].prior = (float)(cap / total);
}

/* Builds node's edges: every legal move of g with policy >= 0 (pass always, prior >= 0), sorted
 * by prior. policy is by pos (y*N+x). Returns 0 or TG_ERANGE if the edge arena is full. */
static int search__expand(tg_search_t *s, search_node_t *node, const tg_game_t *g,
                          const float *policy, float pass_prior) {
    int n = g->board.size;
    tg_color_t pla = g->to_move;
    search_edge_t tmp[TG_SEARCH_MAX_MOVES];
    int k = 0;
    for (int pos = 0; pos < n * n; pos++) {
        float pr = policy[pos];
        if (!(pr >= 0.0f)) continue;
        tg_loc_t loc = search__loc(pos, n);
        if (!tg_game_is_legal(g, loc, pla)) continue;
        tmp[k].prior = pr;
        tmp[k].loc = loc;
        k++;
    }
    tmp[k].prior = pass_prior >= 0.0f ? pass_prior : 0.0f;
    tmp[k].loc = TG_LOC_PASS;
    k++;
    if (s->params.enable_passing_hacks) search__cap_pass_prior(tmp, k);
    int64_t off = atomic_fetch_add_explicit(&s->edges_used, k, memory_order_relaxed);
    if (off + k > s->edge_capacity) {
        atomic_store(&s->arena_full, true);
        return TG_ERANGE;
    }
    search_edge_t *e = s->edges + off;
    for (int i = 0; i < k; i++) {
        e[i].prior = tmp[i].prior;
        e[i].loc = tmp[i].loc;
        e[i].pad = 0;
        atomic_store_explicit(&e[i].child, SEARCH_NODE_NONE, memory_order_relaxed);
    }
    search__sort_edges(e, k);
    node->edges = (uint32_t)off;
    node->num_edges = (uint16_t)k;
    atomic_store_explicit(&node->num_claimed, 0, memory_order_relaxed);
    return 0;
}

/* ---- Arenas ------------------------------------------------------------------------------------
 */

static int search__ensure_arenas(tg_search_t *s, int64_t nodes, int64_t edges) {
    if (nodes > s->node_capacity) {
        search_node_t *nn = realloc(s->nodes, (size_t)nodes * sizeof(search_node_t));
        s->system_allocs++;
        if (!nn) return TG_ENOMEM;
        s->nodes = nn;
        s->node_capacity = nodes;
    }
    if (edges > s->edge_capacity) {
        search_edge_t *ne = realloc(s->edges, (size_t)edges * sizeof(search_edge_t));
        s->system_allocs++;
        if (!ne) return TG_ENOMEM;
        s->edges = ne;
        s->edge_capacity = edges;
    }
    if (s->svb_capacity < 2 * s->node_capacity && search__svb_rebuild(s, 2 * s->node_capacity))
        return TG_ENOMEM;
    return 0;
}

void tg_search_clear_tree(tg_search_t *s) {
    atomic_store(&s->nodes_used, 0);
    atomic_store(&s->edges_used, 0);
    search__svb_clear(s);
    s->root_prepared = false;
    s->has_root_nn = false;
}

/* ---- Create / destroy ------------------------------------------------------------------------ */

static int search__ensure_threads(tg_search_t *s, int n) {
    if (n <= s->num_thread_slots) return 0;
    search_thread_t **nt = realloc(s->threads, (size_t)n * sizeof(*nt));
    s->system_allocs++;
    if (!nt) return TG_ENOMEM;
    s->threads = nt;
    for (int i = s->num_thread_slots; i < n; i++) {
        nt[i] = calloc(1, sizeof(search_thread_t));
        s->system_allocs++;
        if (!nt[i]) {
            s->num_thread_slots = i;
            return TG_ENOMEM;
        }
        nt[i]->search = s;
        nt[i]->id = i;
        tg_rng_seed(&nt[i]->rng, s->params.seed, (uint64_t)i + 1);
    }
    s->num_thread_slots = n;
    return 0;
}

int tg_search_create(const tg_search_params_t *params, const tg_search_evaluator_t *evaluator,
                     tg_search_t **out, tg_err_t *err) {
    *out = NULL;
    int rc = tg_search_params_validate(params, err);
    if (rc) return rc;
    if (!evaluator || !evaluator->evaluate)
        return tg_err_set(err, TG_EINVAL, "search: no evaluator");
    tg_search_t *s = calloc(1, sizeof(*s));
    if (!s) return tg_err_set(err, TG_ENOMEM, "search: out of memory");
    s->system_allocs = 1;
    s->params = *params;
    if (s->params.seed == 0) s->params.seed = tg_rng_entropy_seed();
    s->evaluator = *evaluator;
    tg_rng_seed(&s->rng, s->params.seed, 0);
    search__gauss_hermite(SEARCH_GH_POINTS, s->gh_x, s->gh_w);
    s->root_nn_scratch = calloc(8, sizeof(tg_nn_output_t));
    s->system_allocs++;
    if (!s->root_nn_scratch || search__ensure_threads(s, params->num_threads) ||
        search__ensure_arenas(s, 1024, 1024 * 82)) {
        tg_search_destroy(s);
        return tg_err_set(err, TG_ENOMEM, "search: out of memory");
    }
    *out = s;
    return 0;
}

void tg_search_destroy(tg_search_t *s) {
    if (!s) return;
    for (int i = 0; i < s->num_thread_slots; i++)
        free(s->threads[i]);
    free(s->threads);
    free(s->root_nn_scratch);
    free(s->nodes);
    free(s->edges);
    free(s->svb);
    free(s);
}

int tg_search_set_params(tg_search_t *s, const tg_search_params_t *params, tg_err_t *err) {
    int rc = tg_search_params_validate(params, err);
    if (rc) return rc;
    uint64_t seed = s->params.seed;
    s->params = *params;
    s->params.seed = seed; /* streams keep going; a new seed would need a new search */
    if (search__ensure_threads(s, params->num_threads))
        return tg_err_set(err, TG_ENOMEM, "search: out of memory");
    s->root_prepared = false;
    return 0;
}

const tg_search_params_t *tg_search_get_params(const tg_search_t *s) { return &s->params; }

void tg_search_set_evaluator(tg_search_t *s, const tg_search_evaluator_t *evaluator) {
    s->evaluator = *evaluator;
    tg_search_clear_tree(s);
}

int tg_search_set_position(tg_search_t *s, const tg_game_t *g, tg_err_t *err) {
    if (g->game_over) return tg_err_set(err, TG_ESTATE, "search: game is over");
    s->root_game = *g;
    s->has_position = true;
    tg_search_clear_tree(s);
    return 0;
}

const tg_game_t *tg_search_root_game(const tg_search_t *s) { return &s->root_game; }

void tg_search_stop(tg_search_t *s) { atomic_store(&s->stop_requested, true); }

/* ---- Tree reuse --------------------------------------------------------------------------------
 */

/* Copies the subtree under old node `root_idx` into fresh arenas, breadth first (parents keep
 * lower indices than their children, which search__recompute_all relies on). Created children
 * that never got an evaluation (NEW) are dropped and their edges return to the unclaimed,
 * prior-sorted suffix. */
static int search__compact(tg_search_t *s, uint32_t root_idx) {
    int64_t old_used = atomic_load(&s->nodes_used);
    search_node_t *nn = malloc((size_t)s->node_capacity * sizeof(search_node_t));
    search_edge_t *ne = malloc((size_t)s->edge_capacity * sizeof(search_edge_t));
    uint8_t *kept_old = calloc((size_t)old_used + 1, 1);
    s->system_allocs += 3;
    if (!nn || !ne || !kept_old) {
        free(nn);
        free(ne);
        free(kept_old);
        return TG_ENOMEM;
    }
    kept_old[root_idx] = 1;
    int64_t count = 1, eused = 0;
    nn[0] = s->nodes[root_idx];
    nn[0].move = TG_LOC_NULL;
    atomic_store(&nn[0].weightless, 0);
    for (int64_t i = 0; i < count; i++) {
        search_node_t *node = &nn[i];
        atomic_store(&node->virtual_losses, 0);
        if (atomic_load(&node->state) != SEARCH_NODE_EXPANDED) continue;
        const search_edge_t *oe = s->edges + node->edges;
        int k = node->num_edges, claimed = atomic_load(&node->num_claimed);
        search_edge_t *e = ne + eused;
        int kept = 0, rest = 0;
        /* Valid children first, in their order; the rest after them. */
        for (int pass = 0; pass < 2; pass++) {
            for (int j = 0; j < k; j++) {
                uint32_t ci = j < claimed ? atomic_load(&oe[j].child) : SEARCH_NODE_NONE;
                bool valid =
                    ci != SEARCH_NODE_NONE && atomic_load(&s->nodes[ci].state) != SEARCH_NODE_NEW;
                if (valid != (pass == 0)) continue;
                search_edge_t *d = &e[pass == 0 ? kept : kept + rest];
                d->prior = oe[j].prior;
                d->loc = oe[j].loc;
                d->pad = 0;
                if (valid) {
                    nn[count] = s->nodes[ci];
                    kept_old[ci] = 1;
                    atomic_store(&d->child, (uint32_t)count);
                    count++;
                    kept++;
                } else {
                    atomic_store(&d->child, SEARCH_NODE_NONE);
                    rest++;
                }
            }
        }
        search__sort_edges(e + kept, rest);
        node->edges = (uint32_t)eused;
        atomic_store(&node->num_claimed, (uint16_t)kept);
        eused += k;
    }
    /* Dropped nodes withdraw part of their subtree value bias; the table is then rebuilt from
     * the kept nodes (buckets only dropped nodes used are forgotten). */
    for (int64_t i = 0; i < old_used; i++)
        if (!kept_old[i]) search__svb_release(s, &s->nodes[i]);
    free(kept_old);
    free(s->nodes);
    free(s->edges);
    s->nodes = nn;
    s->edges = ne;
    atomic_store(&s->nodes_used, count);
    atomic_store(&s->edges_used, eused);
    return search__svb_rebuild(s, 2 * s->node_capacity);
}

int tg_search_make_move(tg_search_t *s, tg_loc_t loc, tg_err_t *err) {
    if (!s->has_position) return tg_err_set(err, TG_ESTATE, "search: no position");
    tg_color_t pla = s->root_game.to_move;
    int rc = tg_game_play(&s->root_game, loc, pla, err);
    if (rc) return rc;
    uint32_t child = SEARCH_NODE_NONE;
    if (atomic_load(&s->nodes_used) > 0 && !s->root_game.game_over &&
        atomic_load(&s->nodes[0].state) == SEARCH_NODE_EXPANDED) {
        const search_node_t *root = &s->nodes[0];
        const search_edge_t *e = s->edges + root->edges;
        int claimed = atomic_load(&root->num_claimed);
        for (int i = 0; i < claimed; i++) {
            uint32_t ci = atomic_load(&e[i].child);
            if (e[i].loc == loc && ci != SEARCH_NODE_NONE &&
                atomic_load(&s->nodes[ci].state) == SEARCH_NODE_EXPANDED &&
                s->nodes[ci].to_move == s->root_game.to_move)
                child = ci;
        }
    }
    if (child == SEARCH_NODE_NONE) {
        tg_search_clear_tree(s);
        return 0;
    }
    s->root_prepared = false;
    if (search__compact(s, child)) {
        tg_search_clear_tree(s);
        return tg_err_set(err, TG_ENOMEM, "search: out of memory compacting the tree");
    }
    return 0;
}

/* ---- Root preparation --------------------------------------------------------------------------
 */

/* Evaluates the root with root_num_symmetries_to_sample distinct symmetries and averages them
 * into s->root_nn. */
static int search__eval_root(tg_search_t *s, tg_err_t *err) {
    int k = s->params.root_num_symmetries_to_sample;
    int syms[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    if (k == 1) {
        syms[0] = s->params.nn_randomize ? (int)tg_rng_below(&s->rng, 8) : 0;
    } else {
        for (int i = 0; i < k; i++) { /* partial Fisher-Yates */
            int j = i + (int)tg_rng_below(&s->rng, (uint32_t)(8 - i));
            int t = syms[i];
            syms[i] = syms[j];
            syms[j] = t;
        }
    }
    const tg_game_t *games[8];
    for (int i = 0; i < k; i++)
        games[i] = &s->root_game;
    int rc = s->evaluator.evaluate(s->evaluator.ctx, k, games, syms, s->root_nn_scratch, err);
    if (rc) return rc;
    tg_nn_output_t *o = &s->root_nn;
    *o = s->root_nn_scratch[0];
    int n = s->root_game.board.size;
    if (k > 1) {
        double inv = 1.0 / k;
        double ww = 0, wl = 0, nr = 0, ld = 0, sm = 0, smsq = 0, pass = 0;
        for (int i = 0; i < k; i++) {
            const tg_nn_output_t *q = &s->root_nn_scratch[i];
            ww += q->white_win;
            wl += q->white_loss;
            nr += q->no_result;
            ld += q->white_lead;
            sm += q->white_score_mean;
            smsq += q->white_score_mean_sq;
            pass += q->policy_pass;
        }
        o->white_win = (float)(ww * inv);
        o->white_loss = (float)(wl * inv);
        o->no_result = (float)(nr * inv);
        o->white_lead = (float)(ld * inv);
        o->white_score_mean = (float)(sm * inv);
        o->white_score_mean_sq = (float)(smsq * inv);
        o->policy_pass = (float)(pass * inv);
        for (int pos = 0; pos < n * n; pos++) {
            double p = 0, own = 0;
            for (int i = 0; i < k; i++) {
                p += s->root_nn_scratch[i].policy[pos];
                own += s->root_nn_scratch[i].white_ownership[pos];
            }
            o->policy[pos] = o->policy[pos] < 0.0f ? -1.0f : (float)(p * inv);
            o->white_ownership[pos] = (float)(own * inv);
        }
    }
    s->has_root_nn = true;
    return 0;
}

/* Image of (x, y) under symmetry sym (bit 0 flip x, bit 1 flip y, bit 2 transpose). */
static tg_loc_t search__sym_loc(int sym, int x, int y, int n) {
    if (sym & 1) x = n - 1 - x;
    if (sym & 2) y = n - 1 - y;
    if (sym & 4) {
        int t = x;
        x = y;
        y = t;
    }
    return tg_loc(x, y);
}

int search__prune_root_symmetries(const tg_game_t *g, float *pol) {
    const tg_board_t *b = &g->board;
    int n = b->size, valid[8], nvalid = 0;
    for (int sym = 1; sym < 8; sym++) {
        bool ok = b->ko_loc == TG_LOC_NULL ||
                  search__sym_loc(sym, tg_loc_x(b->ko_loc), tg_loc_y(b->ko_loc), n) == b->ko_loc;
        for (int y = 0; y < n && ok; y++) {
            for (int x = 0; x < n && ok; x++) {
                tg_loc_t a = tg_loc(x, y), t = search__sym_loc(sym, x, y, n);
                ok = b->color[a] == b->color[t] && g->super_ko_banned[a] == g->super_ko_banned[t];
            }
        }
        if (ok) valid[nvalid++] = sym;
    }
    int pruned = 0;
    for (int pos = 0; pos < n * n; pos++) {
        if (pol[pos] < 0.0f) continue;
        int rep = pos;
        for (int i = 0; i < nvalid; i++) {
            int q = search__pos(search__sym_loc(valid[i], pos % n, pos / n, n), n);
            if (q < rep) rep = q;
        }
        if (rep == pos || pol[rep] < 0.0f) continue;
        pol[rep] += pol[pos];
        pol[pos] = -1.0f;
        pruned++;
    }
    return pruned;
}

/* Root policy: legal moves only, temperature, then shaped Dirichlet noise (§2.5). */
static void search__prepare_root_policy(tg_search_t *s) {
    const tg_search_params_t *p = &s->params;
    int n = s->root_game.board.size, np = n * n + 1;
    float *pol = s->root_noised_policy;
    for (int pos = 0; pos < np; pos++) {
        float v = pos == n * n ? s->root_nn.policy_pass : s->root_nn.policy[pos];
        tg_loc_t loc = search__loc(pos, n);
        if (pos == n * n)
            v = v >= 0.0f ? v : 0.0f;
        else if (!(v >= 0.0f) || !tg_game_is_legal(&s->root_game, loc, s->root_game.to_move))
            v = -1.0f;
        pol[pos] = v;
    }
    if (p->root_symmetry_pruning) search__prune_root_symmetries(&s->root_game, pol);
    if (p->enable_passing_hacks) {
        double others = 0.0;
        for (int pos = 0; pos < n * n; pos++)
            if (pol[pos] > 0.0f) others += pol[pos];
        double cap = 19.0 * others;
        if (others > 0.0 && pol[n * n] > cap) {
            double total = others + cap;
            for (int pos = 0; pos < n * n; pos++)
                if (pol[pos] > 0.0f) pol[pos] = (float)(pol[pos] / total);
            pol[n * n] = (float)(cap / total);
        }
    }
    double temp =
        search__interpolate_early(s, p->chosen_move_temperature_halflife,
                                  p->root_policy_temperature_early, p->root_policy_temperature);
    if (temp != 1.0) {
        double maxv = 0.0, sum = 0.0;
        for (int i = 0; i < np; i++)
            if (pol[i] > maxv) maxv = pol[i];
        if (maxv > 0.0) {
            for (int i = 0; i < np; i++) {
                if (pol[i] < 0.0f) continue;
                double v = pow(pol[i] / maxv, 1.0 / temp);
                pol[i] = (float)v;
                sum += v;
            }
            for (int i = 0; i < np; i++)
                if (pol[i] >= 0.0f) pol[i] = (float)(pol[i] / sum);
        }
    }
    if (p->root_noise_enabled && p->root_dirichlet_noise_weight > 0.0) {
        double r[TG_SEARCH_MAX_MOVES];
        int legal = 0;
        double log_sum = 0.0;
        for (int i = 0; i < np; i++) {
            if (pol[i] < 0.0f) continue;
            r[i] = log(fmin(0.01, (double)pol[i]) + 1e-20);
            log_sum += r[i];
            legal++;
        }
        if (legal > 0) {
            double mean = log_sum / legal, prop_sum = 0.0;
            for (int i = 0; i < np; i++) {
                if (pol[i] < 0.0f) continue;
                r[i] = fmax(0.0, r[i] - mean);
                prop_sum += r[i];
            }
            double uniform = 1.0 / legal, gsum = 0.0;
            for (int i = 0; i < np; i++) {
                if (pol[i] < 0.0f) continue;
                double a = prop_sum <= 0.0 ? uniform : 0.5 * (r[i] / prop_sum + uniform);
                r[i] = tg_rng_gamma(&s->rng, p->root_dirichlet_noise_total_concentration * a);
                gsum += r[i];
            }
            double eps = p->root_dirichlet_noise_weight;
            for (int i = 0; i < np; i++) {
                if (pol[i] < 0.0f) continue;
                double eta = gsum > 0.0 ? r[i] / gsum : uniform;
                pol[i] = (float)((1.0 - eps) * pol[i] + eps * eta);
            }
        }
    }
}

/* Recomputes every node's utility (after the score centre moved) and its stats, children
 * first: children always have higher indices than their parents. */
static void search__recompute_all(tg_search_t *s) {
    int64_t used = atomic_load(&s->nodes_used);
    for (int64_t i = used - 1; i >= 0; i--) {
        search_node_t *n = &s->nodes[i];
        uint8_t st = atomic_load(&n->state);
        if (st == SEARCH_NODE_NEW) continue;
        n->nn_utility = search__result_utility(s, n->nn_winloss, n->nn_noresult) +
                        search__score_utility(s, n->nn_score_mean, n->nn_score_mean_sq);
        if (st == SEARCH_NODE_EXPANDED) {
            search__recompute_stats(s, n);
        } else {
            search__store(&n->utility_avg, n->nn_utility);
            search__store(&n->utility_sq_avg, n->nn_utility * n->nn_utility);
        }
    }
}

/* Dynamic score centre (computeRootValues): the root's expected score pulled towards 0. */
static void search__update_score_center(tg_search_t *s) {
    const tg_search_params_t *p = &s->params;
    const search_node_t *root = &s->nodes[0];
    double e = atomic_load(&root->visits) > 0 ? search__load(&root->score_mean_avg)
                                              : (double)s->root_nn.white_score_mean;
    double c = e * (1.0 - p->dynamic_score_center_zero_weight);
    double cap = (double)s->root_game.board.size * p->dynamic_score_center_scale;
    if (c > e + cap) c = e + cap;
    if (c < e - cap) c = e - cap;
    s->recent_score_center = c;
}

/* Evaluates and prepares the root. A fresh root counts as the first playout. */
static int search__prepare_root(tg_search_t *s, tg_err_t *err) {
    bool fresh = atomic_load(&s->nodes_used) == 0;
    if (!fresh && s->root_prepared) {
        search__update_score_center(s);
        search__recompute_all(s);
        return 0;
    }
    int rc = search__eval_root(s, err);
    if (rc) return rc;
    search__prepare_root_policy(s);
    int n = s->root_game.board.size;
    search_node_t *root = &s->nodes[0];
    if (fresh) {
        atomic_store(&s->nodes_used, 1);
        search__node_init(root, TG_LOC_NULL, s->root_game.to_move);
        search__update_score_center(s);
        search__set_values_from_nn(s, root, &s->root_nn);
        rc = search__expand(s, root, &s->root_game, s->root_noised_policy,
                            s->root_noised_policy[n * n]);
        if (rc) return tg_err_set(err, rc, "search: edge arena too small for the root");
        search__stats_single(root, 1, 1.0, root->nn_utility);
        atomic_store_explicit(&root->state, SEARCH_NODE_EXPANDED, memory_order_release);
        atomic_store(&s->playouts_started, 1);
        atomic_store(&s->playouts_done, 1);
    } else {
        /* Reused root: new priors for every edge, unclaimed edges re-sorted. */
        search_edge_t *e = s->edges + root->edges;
        for (int i = 0; i < root->num_edges; i++) {
            float pr = s->root_noised_policy[search__pos(e[i].loc, n)];
            e[i].prior = pr >= 0.0f ? pr : 0.0f;
        }
        int claimed = atomic_load(&root->num_claimed);
        search__sort_edges(e + claimed, root->num_edges - claimed);
        search__set_values_from_nn(s, root, &s->root_nn);
        search__update_score_center(s);
        search__recompute_all(s);
    }
    s->root_prepared = true;
    return 0;
}

/* ---- Playouts ----------------------------------------------------------------------------------
 */

/* PUCT choice at node (§2.3). Returns the edge index, or -1 if the node has no edge; *is_new
 * tells whether it is the unclaimed edge with the highest prior. */
static int search__select(tg_search_t *s, const search_node_t *node, bool is_root, bool *is_new) {
    const tg_search_params_t *p = &s->params;
    int claimed = atomic_load_explicit(&node->num_claimed, memory_order_acquire);
    const search_edge_t *e = s->edges + node->edges;
    double total_w = 0.0, mass = 0.0;
    for (int i = 0; i < claimed; i++) {
        mass += e[i].prior;
        uint32_t ci = atomic_load_explicit(&e[i].child, memory_order_acquire);
        if (ci != SEARCH_NODE_NONE) total_w += search__child_weight(&s->nodes[ci], NULL);
    }
    if (mass > 1.0) mass = 1.0;
    double parent_u, stdev_factor;
    double fpu = search__fpu_value(s, node, is_root, mass, &parent_u, &stdev_factor);
    double scaling = search__cpuct(p, total_w) * stdev_factor * sqrt(total_w + 0.01);
    bool white = node->to_move == TG_WHITE;
    double radius = p->win_loss_utility_factor + p->static_score_utility_factor +
                    p->dynamic_score_utility_factor;
    double loss_u = white ? -radius : radius;
    double forced_k = is_root ? p->root_desired_per_child_visits_coeff : 0.0;

    double best = -1e300;
    int best_i = -1;
    const int bsize = s->root_game.board.size;
    for (int i = 0; i < claimed; i++) {
        double prior = e[i].prior;
        if (is_root && s->root_noised_policy[search__pos(e[i].loc, bsize)] < 0.0f) continue;
        uint32_t ci = atomic_load_explicit(&e[i].child, memory_order_acquire);
        double w = 0.0, u = fpu;
        int32_t vl = 0;
        if (ci != SEARCH_NODE_NONE) {
            const search_node_t *c = &s->nodes[ci];
            int32_t cv;
            w = search__child_weight(c, &cv);
            if (cv > 0 && w > 0.0) u = search__load(&c->utility_avg);
            vl = atomic_load_explicit(&c->virtual_losses, memory_order_relaxed);
        }
        if (vl > 0) {
            double vw = (double)vl;
            double frac = vw / (vw + fmax(0.25, w));
            u = u + (loss_u - u) * frac;
            w += vw;
        }
        double value;
        if (forced_k > 0.0 && prior > 0.0 && w < sqrt(prior * total_w * forced_k))
            value = 1e20;
        else
            value = scaling * prior / (1.0 + w) + (white ? u : -u);
        if (value > best) {
            best = value;
            best_i = i;
        }
    }
    *is_new = false;
    if (claimed < node->num_edges &&
        !(is_root && s->root_noised_policy[search__pos(e[claimed].loc, bsize)] < 0.0f)) {
        double value = scaling * e[claimed].prior + (white ? fpu : -fpu);
        if (value > best) {
            best_i = claimed;
            *is_new = true;
        }
    }
    return best_i;
}

static void search__undo_virtual_losses(tg_search_t *s, search_thread_t *t, int depth) {
    if (s->params.num_threads <= 1) return;
    int32_t vlw = s->params.num_virtual_losses_per_thread;
    for (int d = 1; d <= depth; d++)
        atomic_fetch_sub_explicit(&s->nodes[t->path[d]].virtual_losses, vlw, memory_order_release);
}

/* KataGo enableMorePassingHacks (single thread): if a pass would end the phase at node (game g)
 * and its children have >= 2 visits, redirects the choice (*ei, *is_new) to a new pass child
 * when there is no pass child and the choice is not a pass, or to the best new non-pass child
 * when every child is a pass and the choice is the pass. Keeps created children a prefix of
 * the edges by moving the pass edge to the first unclaimed slot. Returns true if redirected. */
static bool search__more_passing_hacks(tg_search_t *s, search_node_t *node, const tg_game_t *g,
                                       bool is_root, int *ei, bool *is_new) {
    if (atomic_load_explicit(&node->visits, memory_order_relaxed) < 3) return false;
    if (!tg_game_pass_would_end_phase(g, g->to_move)) return false;
    search_edge_t *e = s->edges + node->edges;
    int claimed = atomic_load_explicit(&node->num_claimed, memory_order_relaxed);
    bool has_pass = false, has_other = false;
    for (int i = 0; i < claimed; i++) {
        if (e[i].loc == TG_LOC_PASS)
            has_pass = true;
        else
            has_other = true;
    }
    tg_loc_t chosen = e[*ei].loc;
    if (!has_pass && chosen != TG_LOC_PASS) {
        int j = claimed;
        while (j < node->num_edges && e[j].loc != TG_LOC_PASS)
            j++;
        if (j >= node->num_edges) return false;
        search_edge_t pass = e[j];
        for (int k = j; k > claimed; k--) {
            e[k].prior = e[k - 1].prior;
            e[k].loc = e[k - 1].loc;
        }
        e[claimed].prior = pass.prior;
        e[claimed].loc = TG_LOC_PASS;
        *ei = claimed;
        *is_new = true;
        return true;
    }
    if (!has_other && chosen == TG_LOC_PASS && !*is_new && claimed < node->num_edges &&
        e[claimed].loc != TG_LOC_PASS &&
        !(is_root &&
          s->root_noised_policy[search__pos(e[claimed].loc, s->root_game.board.size)] < 0.0f)) {
        *ei = claimed;
        *is_new = true;
        return true;
    }
    return false;
}

/* Plays a move on the thread's game; a full move list ends and scores the game. */
static void search__play(search_thread_t *t, tg_loc_t loc) {
    tg_game_t *g = &t->game;
    if (g->num_moves >= TG_GAME_MAX_MOVES - 1 ||
        tg_game_play_assume_legal(g, loc, g->to_move) != 0) {
        if (!g->game_over) tg_game_end_and_score(g, NULL);
    }
}

/* One playout. Returns 1 when completed, 0 when abandoned (collision or full arena), or a
 * negative error from the evaluator. */
static int search__playout(tg_search_t *s, search_thread_t *t) {
    const bool vl_on = s->params.num_threads > 1;
    const int32_t vlw = s->params.num_virtual_losses_per_thread;
    memcpy(&t->game, &s->root_game, sizeof(tg_game_t));
    int depth = 0;
    t->path[0] = 0;
    uint32_t cur = 0;
    bool weightless = false;
    for (;;) {
        search_node_t *node = &s->nodes[cur];
        bool is_new;
        int ei = search__select(s, node, cur == 0, &is_new);
        if (ei < 0) goto fail;
        if (s->params.enable_more_passing_hacks && !vl_on &&
            search__more_passing_hacks(s, node, &t->game, cur == 0, &ei, &is_new))
            weightless = true;
        search_edge_t *edge = s->edges + node->edges + ei;
        if (is_new) {
            uint16_t expected = (uint16_t)ei;
            if (!atomic_compare_exchange_strong_explicit(&node->num_claimed, &expected,
                                                         (uint16_t)(ei + 1), memory_order_acq_rel,
                                                         memory_order_acquire))
                continue; /* someone else created it: choose again */
            int64_t idx = atomic_fetch_add_explicit(&s->nodes_used, 1, memory_order_relaxed);
            if (idx >= s->node_capacity) {
                atomic_fetch_sub(&s->nodes_used, 1);
                expected = (uint16_t)(ei + 1);
                atomic_compare_exchange_strong(&node->num_claimed, &expected, (uint16_t)ei);
                atomic_store(&s->arena_full, true);
                goto fail;
            }
            search_node_t *child = &s->nodes[idx];
            uint64_t svb_key = s->params.subtree_value_bias_factor != 0.0
                                   ? search__svb_key(&t->game, edge->loc)
                                   : 0;
            search__play(t, edge->loc);
            search__node_init(child, edge->loc, t->game.to_move);
            if (weightless) atomic_store_explicit(&child->weightless, 1, memory_order_relaxed);
            if (vl_on) atomic_store_explicit(&child->virtual_losses, vlw, memory_order_relaxed);
            atomic_store_explicit(&edge->child, (uint32_t)idx, memory_order_release);
            t->path[++depth] = (uint32_t)idx;
            if (t->game.game_over) {
                search__set_values_terminal(s, child, &t->game);
                search__stats_single(child, 1, 1.0, child->nn_utility);
                atomic_store_explicit(&child->state, SEARCH_NODE_TERMINAL, memory_order_release);
            } else {
                int sym = s->params.nn_randomize ? (int)tg_rng_below(&t->rng, 8) : 0;
                const tg_game_t *gp = &t->game;
                int rc = s->evaluator.evaluate(s->evaluator.ctx, 1, &gp, &sym, &t->nn_out, &t->err);
                if (rc) {
                    search__undo_virtual_losses(s, t, depth);
                    return rc < 0 ? rc : TG_EINTERNAL;
                }
                search__set_values_from_nn(s, child, &t->nn_out);
                if (search__expand(s, child, &t->game, t->nn_out.policy, t->nn_out.policy_pass)) {
                    search__undo_virtual_losses(s, t, depth);
                    return 0; /* arena full: the search stops; the node stays NEW */
                }
                child->svb = search__svb_get(s, svb_key);
                search__stats_single(child, 1, 1.0, child->nn_utility + search__svb_bias(s, child));
                atomic_store_explicit(&child->state, SEARCH_NODE_EXPANDED, memory_order_release);
            }
            break;
        }
        uint32_t ci = atomic_load_explicit(&edge->child, memory_order_acquire);
        if (ci == SEARCH_NODE_NONE) goto fail;
        search_node_t *child = &s->nodes[ci];
        uint8_t st = atomic_load_explicit(&child->state, memory_order_acquire);
        if (st == SEARCH_NODE_NEW) goto fail;
        if (vl_on) atomic_fetch_add_explicit(&child->virtual_losses, vlw, memory_order_acq_rel);
        /* A weightless child chosen by a normal playout becomes an ordinary child. */
        if (atomic_load_explicit(&child->weightless, memory_order_relaxed))
            atomic_store_explicit(&child->weightless, 0, memory_order_relaxed);
        t->path[++depth] = ci;
        if (st == SEARCH_NODE_TERMINAL) {
            /* Revisit of a finished game: one more unit of weight at the same value. */
            while (atomic_flag_test_and_set_explicit(&child->lock, memory_order_acquire)) {
            }
            search__store(&child->weight_sum, search__load(&child->weight_sum) + 1.0);
            search__store(&child->weight_sq_sum, search__load(&child->weight_sq_sum) + 1.0);
            atomic_fetch_add_explicit(&child->visits, 1, memory_order_release);
            atomic_flag_clear_explicit(&child->lock, memory_order_release);
            break;
        }
        search__play(t, edge->loc);
        cur = ci;
    }
    if (weightless) { /* its parent ignores the new child: nothing to back up, not counted */
        search__undo_virtual_losses(s, t, depth);
        return 2;
    }
    for (int d = depth - 1; d >= 0; d--)
        search__recompute_stats(s, &s->nodes[t->path[d]]);
    search__undo_virtual_losses(s, t, depth);
    return 1;

fail:
    search__undo_virtual_losses(s, t, depth);
    return 0;
}

/* Reserves one playout against the limits. */
static bool search__reserve(tg_search_t *s) {
    const tg_search_params_t *p = &s->params;
    if (atomic_load_explicit(&s->stop_requested, memory_order_relaxed) ||
        atomic_load_explicit(&s->arena_full, memory_order_relaxed))
        return false;
    if (p->max_time_s > 0.0 && search__now_s() - s->start_time_s >= p->max_time_s) return false;
    int64_t n = atomic_fetch_add(&s->playouts_started, 1);
    if ((p->max_playouts > 0 && n >= p->max_playouts) ||
        (p->max_visits > 0 && s->root_visits_at_start + n >= p->max_visits)) {
        atomic_fetch_sub(&s->playouts_started, 1);
        return false;
    }
    return true;
}

static void *search__thread_main(void *arg) {
    search_thread_t *t = arg;
    tg_search_t *s = t->search;
    while (search__reserve(s)) {
        int r = search__playout(s, t);
        if (r == 1) {
            atomic_fetch_add(&s->playouts_done, 1);
            t->playouts++;
            continue;
        }
        atomic_fetch_sub(&s->playouts_started, 1);
        if (r == 2) continue; /* a weightless passing-hack playout */
        if (r < 0) {
            t->rc = r;
            atomic_store(&s->stop_requested, true);
            break;
        }
        t->failed++;
        sched_yield();
    }
    return NULL;
}

int tg_search_run(tg_search_t *s, tg_err_t *err) {
    const tg_search_params_t *p = &s->params;
    if (!s->has_position) return tg_err_set(err, TG_ESTATE, "search: no position set");
    if (s->root_game.game_over) return tg_err_set(err, TG_ESTATE, "search: game is over");
    int rc = tg_search_params_validate(p, err);
    if (rc) return rc;
    if (atomic_load(&s->arena_full)) tg_search_clear_tree(s); /* may hold unevaluated nodes */
    atomic_store(&s->arena_full, false);
    atomic_store(&s->stop_requested, false);
    s->start_time_s = search__now_s();

    /* Arena sizes: a visit/playout-limited search creates at most one node per playout, each
     * with at most area + 1 edges; a time-only search is bounded by max_nodes_hint. */
    int n = s->root_game.board.size;
    int64_t used = atomic_load(&s->nodes_used);
    int64_t root_visits = used > 0 ? atomic_load(&s->nodes[0].visits) : 0;
    int64_t more = INT64_MAX;
    if (p->max_visits > 0) more = p->max_visits - root_visits;
    if (p->max_playouts > 0 && p->max_playouts < more) more = p->max_playouts;
    bool bounded = more != INT64_MAX;
    if (!bounded) more = p->max_nodes_hint;
    if (more < 0) more = 0;
    /* enableMorePassingHacks adds at most two weightless children per node. */
    if (p->enable_more_passing_hacks && p->num_threads == 1) more *= 3;
    int64_t need_nodes = used + more + p->num_threads + 2;
    int64_t per_node = n * n + 1;
    int64_t need_edges = atomic_load(&s->edges_used) + (need_nodes - used) * per_node;
    if (search__ensure_arenas(s, need_nodes, need_edges) ||
        search__ensure_threads(s, p->num_threads))
        return tg_err_set(err, TG_ENOMEM, "search: out of memory for %lld nodes",
                          (long long)need_nodes);

    atomic_store(&s->playouts_started, 0);
    atomic_store(&s->playouts_done, 0);
    rc = search__prepare_root(s, err);
    if (rc) {
        tg_search_clear_tree(s);
        return rc;
    }
    s->root_visits_at_start = root_visits;

    for (int i = 0; i < p->num_threads; i++) {
        s->threads[i]->playouts = s->threads[i]->failed = 0;
        s->threads[i]->rc = 0;
    }
    pthread_t tids[1024];
    int started = 0;
    for (int i = 1; i < p->num_threads; i++) {
        if (pthread_create(&tids[i], NULL, search__thread_main, s->threads[i]) != 0) break;
        started = i;
    }
    search__thread_main(s->threads[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(tids[i], NULL);

    memset(&s->last, 0, sizeof(s->last));
    rc = 0;
    for (int i = 0; i < p->num_threads; i++) {
        s->last.failed_playouts += s->threads[i]->failed;
        if (!rc && s->threads[i]->rc) {
            rc = s->threads[i]->rc;
            if (err) *err = s->threads[i]->err;
        }
    }
    s->last.playouts = atomic_load(&s->playouts_done);
    s->last.elapsed_s = search__now_s() - s->start_time_s;
    s->last.arena_full = atomic_load(&s->arena_full);
    if (rc) tg_search_clear_tree(s); /* a failed evaluation leaves a NEW node behind */
    return rc;
}

void tg_search_get_stats(const tg_search_t *s, tg_search_stats_t *out) {
    *out = s->last;
    int64_t used = atomic_load(&s->nodes_used);
    if (used > s->node_capacity) used = s->node_capacity;
    out->root_visits = used > 0 ? atomic_load(&s->nodes[0].visits) : 0;
    out->nodes_used = used;
    out->node_capacity = s->node_capacity;
    int64_t eu = atomic_load(&s->edges_used);
    out->edges_used = eu > s->edge_capacity ? s->edge_capacity : eu;
    out->edge_capacity = s->edge_capacity;
    out->system_allocs = s->system_allocs;
}
