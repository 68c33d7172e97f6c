/* test_search.c: the MCTS core with a scripted fake evaluator (fake_eval.h): visit accounting
 * (root visits = playouts, every node = 1 + its children), limits, forced playouts and
 * policy-target pruning, FPU, tree reuse, terminal nodes, utility maths, multi-threaded
 * search, and "no malloc per playout" (malloc is interposed in this binary and counted). */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_eval.h"
#include "search/search.h"
#include "search/search_internal.h"
#include "test.h"

/* ---- malloc interposition: count every allocation made by this process ---------------------- */
/* AddressSanitizer owns malloc in its builds, so the count (and the one test that needs it) is
 * left out there; the Release run of this test checks it. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_COUNTS_MALLOC 0
static atomic_long g_mallocs;
#else
#define TEST_COUNTS_MALLOC 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static atomic_long g_mallocs;
void *malloc(size_t n) {
    atomic_fetch_add_explicit(&g_mallocs, 1, memory_order_relaxed);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    atomic_fetch_add_explicit(&g_mallocs, 1, memory_order_relaxed);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    atomic_fetch_add_explicit(&g_mallocs, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}
#endif

/* ---- helpers --------------------------------------------------------------------------------- */

static void new_game(tg_game_t *g, int size) {
    tg_rules_t r = tg_rules_default();
    tg_game_init(g, size, &r);
}

static tg_search_params_t base_params(int64_t visits) {
    tg_search_params_t p = tg_search_params_selfplay();
    p.max_visits = visits;
    p.seed = 12345;
    return p;
}

/* Checks the tree's invariants; returns the number of violations (printing the first few). */
static int check_tree(const tg_search_t *s) {
    int bad = 0;
    int64_t used = atomic_load(&s->nodes_used);
    for (int64_t i = 0; i < used; i++) {
        const search_node_t *n = &s->nodes[i];
        int st = atomic_load(&n->state);
        int32_t v = atomic_load(&n->visits);
        if (atomic_load(&n->virtual_losses) != 0) {
            if (bad++ < 5) printf("  node %lld: virtual losses left\n", (long long)i);
        }
        if (st == SEARCH_NODE_TERMINAL) {
            if (v < 1 || fabs(search__load(&n->weight_sum) - v) > 1e-9)
                if (bad++ < 5)
                    printf("  terminal %lld: visits %d weight mismatch\n", (long long)i, v);
            continue;
        }
        if (st != SEARCH_NODE_EXPANDED) {
            if (bad++ < 5) printf("  node %lld: not expanded (state %d)\n", (long long)i, st);
            continue;
        }
        const search_edge_t *e = s->edges + n->edges;
        int claimed = atomic_load(&n->num_claimed);
        int64_t sum = 0;
        for (int k = 0; k < claimed; k++) {
            uint32_t ci = atomic_load(&e[k].child);
            if (ci == SEARCH_NODE_NONE || ci <= i) {
                if (bad++ < 5) printf("  node %lld: bad child %u\n", (long long)i, ci);
                continue;
            }
            sum += atomic_load(&s->nodes[ci].visits);
        }
        for (int k = claimed + 1; k < n->num_edges; k++)
            if (e[k].prior > e[k - 1].prior)
                if (bad++ < 5) printf("  node %lld: unclaimed edges not sorted\n", (long long)i);
        if (v != 1 + sum)
            if (bad++ < 5)
                printf("  node %lld: visits %d != 1 + %lld\n", (long long)i, v, (long long)sum);
        if (fabs(search__load(&n->weight_sum) - v) > 1e-6 && s->params.value_weight_exponent == 0)
            if (bad++ < 5) printf("  node %lld: weight != visits\n", (long long)i);
    }
    return bad;
}

static int64_t sum_child_visits(const tg_search_t *s) {
    tg_search_child_t kids[TG_SEARCH_MAX_MOVES];
    int n = tg_search_root_children(s, kids, TG_SEARCH_MAX_MOVES);
    int64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += kids[i].visits;
    return sum;
}

/* ---- tests ------------------------------------------------------------------------------------
 */

TEST(utility_maths) {
    double x[SEARCH_GH_POINTS], w[SEARCH_GH_POINTS], sum = 0.0, m2 = 0.0;
    search__gauss_hermite(SEARCH_GH_POINTS, x, w);
    for (int i = 0; i < SEARCH_GH_POINTS; i++) {
        sum += w[i];
        m2 += w[i] * x[i] * x[i];
    }
    ASSERT_NEAR(sum, sqrt(M_PI), 1e-10);
    ASSERT_NEAR(m2, sqrt(M_PI) / 2.0, 1e-10); /* E[x^2] under e^-x^2 */

    fake_eval_t f;
    fake_eval_init(&f);
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = base_params(10);
    tg_search_t *s;
    tg_err_t err;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
    tg_game_t g;
    new_game(&g, 9);
    ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
    /* stdev 0: exactly (2/pi) atan((mean - c) / (scale * 9)). */
    ASSERT_NEAR(search__expected_score_value(s, 4.0, 0.0, 1.0, 0.5, 9.0),
                2.0 / M_PI * atan(3.0 / 4.5), 1e-12);
    /* Symmetric distribution around the centre: 0. Wider spread shrinks the value. */
    ASSERT_NEAR(search__expected_score_value(s, 3.0, 10.0, 3.0, 0.5, 9.0), 0.0, 1e-12);
    double narrow = search__expected_score_value(s, 10.0, 1.0, 0.0, 0.5, 9.0);
    double wide = search__expected_score_value(s, 10.0, 30.0, 0.0, 0.5, 9.0);
    ASSERT_TRUE(wide < narrow && wide > 0.0);
    /* Against brute-force integration. */
    double brute = 0.0, dx = 0.001;
    for (double t = -12.0; t <= 12.0; t += dx)
        brute += exp(-0.5 * t * t) / sqrt(2 * M_PI) * 2.0 / M_PI * atan((5.0 + 7.0 * t) / 4.5) * dx;
    ASSERT_NEAR(search__expected_score_value(s, 5.0, 7.0, 0.0, 0.5, 9.0), brute, 1e-5);
    ASSERT_NEAR(search__cdf_t3(0.0), 0.5, 1e-12);
    ASSERT_NEAR(search__cdf_t3(1.0) + search__cdf_t3(-1.0), 1.0, 1e-12);
    ASSERT_NEAR(search__cdf_t3(2.0), 0.930337, 1e-5); /* tables: t3 CDF at 2 */
    tg_search_destroy(s);
}

TEST(visits_add_up) {
    fake_eval_t f;
    fake_eval_init(&f);
    f.hash_spread = 0.6;
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = base_params(300);
    tg_search_t *s;
    tg_err_t err;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
    tg_game_t g;
    new_game(&g, 9);
    ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
    ASSERT_EQ(tg_search_run(s, &err), 0);
    tg_search_stats_t st;
    tg_search_get_stats(s, &st);
    tg_search_values_t v;
    ASSERT_EQ(tg_search_root_values(s, &v), 0);
    ASSERT_EQ(st.playouts, 300);
    ASSERT_EQ(v.visits, 300);
    ASSERT_EQ(sum_child_visits(s), 299);
    ASSERT_EQ(check_tree(s), 0);
    /* Root evaluation with 4 symmetries + one evaluation per new non-terminal node. */
    int64_t expanded = 0;
    for (int64_t i = 0; i < st.nodes_used; i++)
        expanded += atomic_load(&s->nodes[i].state) == SEARCH_NODE_EXPANDED;
    ASSERT_EQ(atomic_load(&f.positions), 4 + (expanded - 1));
    ASSERT_NEAR(v.white_win + v.white_loss + v.no_result, 1.0, 1e-9);
    ASSERT_TRUE(v.white_winloss > -1.0 && v.white_winloss < 1.0);

    /* max_playouts on top of the existing tree: exactly 50 more. */
    p.max_visits = 0;
    p.max_playouts = 50;
    ASSERT_EQ(tg_search_set_params(s, &p, &err), 0);
    ASSERT_EQ(tg_search_run(s, &err), 0);
    tg_search_get_stats(s, &st);
    ASSERT_EQ(st.playouts, 50);
    ASSERT_EQ(st.root_visits, 350);
    ASSERT_EQ(check_tree(s), 0);

    /* Noised root priors are a distribution over the legal moves. */
    const search_node_t *root = &s->nodes[0];
    double psum = 0.0;
    for (int i = 0; i < root->num_edges; i++)
        psum += s->edges[root->edges + i].prior;
    ASSERT_NEAR(psum, 1.0, 1e-4);
    ASSERT_EQ(root->num_edges, 82);
    tg_search_destroy(s);
}

/* A clear best move with a uniform prior: forced playouts (k = 2) spread visits over every
 * created move, and policy-target pruning takes back what only forced playouts gave. White is
 * winning (komi 100, fake value 95 %) unless Black plays the centre. */
TEST(forced_playouts_and_pruning) {
    fake_eval_t f;
    fake_eval_init(&f);
    f.base_white_win = 0.95;
    f.favored = tg_loc(4, 4);
    tg_game_t g;
    tg_rules_t rules = tg_rules_default();
    rules.komi = 100.0f;
    tg_game_init(&g, 9, &rules);
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = base_params(400);
    p.root_noise_enabled = false;
    p.root_policy_temperature = p.root_policy_temperature_early = 1.0;
    p.use_lcb_for_selection = false;

    int64_t other_visits[2];
    for (int forced = 0; forced < 2; forced++) {
        p.root_desired_per_child_visits_coeff = forced ? 2.0 : 0.0;
        tg_search_t *s;
        tg_err_t err;
        ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
        ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
        ASSERT_EQ(tg_search_run(s, &err), 0);
        tg_search_child_t kids[TG_SEARCH_MAX_MOVES];
        int n = tg_search_root_children(s, kids, TG_SEARCH_MAX_MOVES);
        int best = 0;
        double total_w = 0.0;
        for (int i = 0; i < n; i++) {
            total_w += kids[i].weight;
            if (kids[i].visits > kids[best].visits) best = i;
        }
        ASSERT_EQ(kids[best].loc, tg_loc(4, 4));
        other_visits[forced] = 399 - kids[best].visits;

        tg_loc_t locs[TG_SEARCH_MAX_MOVES];
        double vals[TG_SEARCH_MAX_MOVES];
        int m = tg_search_play_selection_values(s, false, 0.0, locs, vals);
        ASSERT_EQ(m, n);
        /* Independent check of the pruning formula (Black to move: self utility = -U). */
        double scaling = 1.1 * sqrt(total_w + 0.01);
        double best_value =
            scaling * kids[best].prior / (1.0 + kids[best].weight) - kids[best].values.utility;
        double pruned_other = 0.0;
        for (int i = 0; i < m; i++) {
            ASSERT_EQ(locs[i], kids[i].loc);
            ASSERT_TRUE(vals[i] <= (double)kids[i].visits + 1e-9); /* never more than visits */
            if (i == best) {
                ASSERT_NEAR(vals[i], kids[i].weight, 1e-9);
                continue;
            }
            double explore = best_value + kids[i].values.utility;
            double wanted =
                explore > 0 ? fmax(0.0, scaling * kids[i].prior / explore - 1.0) : 1e100;
            double expect = ceil(fmin(kids[i].weight, wanted));
            if (expect < 1.0) expect = 0.0; /* chosen_move_prune */
            ASSERT_NEAR(vals[i], expect, 1e-9);
            pruned_other += vals[i];
        }
        if (forced) {
            /* Every created move got its forced playouts: visits >= sqrt(k P W) - 1. */
            for (int i = 0; i < n; i++)
                ASSERT_TRUE((double)kids[i].visits >= sqrt(2.0 * kids[i].prior * 399.0) - 1.0);
            /* Those children only got forced playouts, and pruning takes them all back. */
            ASSERT_TRUE(other_visits[1] > 50);
            ASSERT_TRUE(pruned_other < 0.05 * (double)other_visits[1]);
            float target[82];
            ASSERT_EQ(tg_search_policy_target(s, target), 0);
            ASSERT_TRUE(target[4 * 9 + 4] > 0.95f);
        }
        ASSERT_EQ(check_tree(s), 0);
        tg_search_destroy(s);
    }
    ASSERT_TRUE(other_visits[1] > other_visits[0] + 50);
}

TEST(fpu) {
    fake_eval_t f;
    fake_eval_init(&f);
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = base_params(2);
    tg_search_t *s;
    tg_err_t err;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
    /* Formula on a hand-made node: parent avg 0.3, own NN 0.1, mass 0.5 (pow 2 -> a = 0.25). */
    search_node_t n;
    memset(&n, 0, sizeof(n));
    n.to_move = TG_WHITE;
    n.nn_utility = 0.1;
    atomic_store(&n.visits, 5);
    search__store(&n.weight_sum, 5.0);
    search__store(&n.utility_avg, 0.3);
    search__store(&n.utility_sq_avg, 0.3 * 0.3 + 0.01);
    double pu, sf;
    double fpu = search__fpu_value(s, &n, false, 0.5, &pu, &sf);
    double base = 0.25 * 0.3 + 0.75 * 0.1;
    ASSERT_NEAR(pu, base, 1e-12);
    ASSERT_NEAR(fpu, base - 0.2 * sqrt(0.5), 1e-12); /* White: reduced */
    ASSERT_NEAR(sf, 1.0, 1e-12);                     /* stdev scale 0 in self-play */
    n.to_move = TG_BLACK;
    fpu = search__fpu_value(s, &n, false, 0.5, &pu, &sf);
    ASSERT_NEAR(fpu, base + 0.2 * sqrt(0.5), 1e-12); /* Black: White's view goes up */
    fpu = search__fpu_value(s, &n, true, 0.5, &pu, &sf);
    ASSERT_NEAR(fpu, base, 1e-12); /* root reduction 0 */
    tg_search_destroy(s);

    /* Behaviour: with equal values everywhere, a big FPU reduction keeps the search narrow. */
    int children[2];
    for (int k = 0; k < 2; k++) {
        tg_search_params_t q = base_params(200);
        q.root_noise_enabled = false;
        q.root_desired_per_child_visits_coeff = 0.0;
        q.root_fpu_reduction_max = k ? 1.0 : 0.0;
        ASSERT_EQ(tg_search_create(&q, &ev, &s, &err), 0);
        tg_game_t g;
        new_game(&g, 9);
        ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
        ASSERT_EQ(tg_search_run(s, &err), 0);
        tg_search_child_t kids[TG_SEARCH_MAX_MOVES];
        children[k] = tg_search_root_children(s, kids, TG_SEARCH_MAX_MOVES);
        tg_search_destroy(s);
    }
    ASSERT_TRUE(children[0] > children[1] + 20);
}

TEST(tree_reuse) {
    fake_eval_t f;
    fake_eval_init(&f);
    f.hash_spread = 0.2;
    f.favored = tg_loc(2, 6);
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = base_params(400);
    p.root_noise_enabled = false;
    p.root_desired_per_child_visits_coeff = 0.0;
    tg_search_t *s;
    tg_err_t err;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
    tg_game_t g;
    new_game(&g, 9);
    ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
    ASSERT_EQ(tg_search_run(s, &err), 0);
    tg_search_child_t kids[TG_SEARCH_MAX_MOVES];
    int n = tg_search_root_children(s, kids, TG_SEARCH_MAX_MOVES);
    int best = 0;
    for (int i = 0; i < n; i++)
        if (kids[i].visits > kids[best].visits) best = i;
    tg_loc_t mv = kids[best].loc;
    int64_t kept = kids[best].visits;
    ASSERT_TRUE(kept > 10);
    /* The grandchildren's visits, by move, before the move. */
    const search_node_t *root = &s->nodes[0];
    uint32_t ci = 0;
    for (int i = 0; i < atomic_load(&root->num_claimed); i++)
        if (s->edges[root->edges + i].loc == mv) ci = atomic_load(&s->edges[root->edges + i].child);
    ASSERT_NE(ci, 0);
    int32_t gvis[TG_BOARD_CELLS];
    memset(gvis, 0, sizeof(gvis));
    const search_node_t *c = &s->nodes[ci];
    for (int i = 0; i < atomic_load(&c->num_claimed); i++) {
        const search_edge_t *e = &s->edges[c->edges + i];
        gvis[e->loc] = atomic_load(&s->nodes[atomic_load(&e->child)].visits);
    }

    ASSERT_EQ(tg_search_make_move(s, mv, &err), 0);
    ASSERT_EQ(tg_search_root_game(s)->num_moves, 1);
    tg_search_values_t v;
    ASSERT_EQ(tg_search_root_values(s, &v), 0);
    ASSERT_EQ(v.visits, kept);
    tg_search_stats_t st;
    tg_search_get_stats(s, &st);
    ASSERT_TRUE(st.nodes_used <= kept);
    ASSERT_EQ(check_tree(s), 0);
    n = tg_search_root_children(s, kids, TG_SEARCH_MAX_MOVES);
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        ASSERT_EQ(kids[i].visits, gvis[kids[i].loc]);
        sum += kids[i].visits;
    }
    ASSERT_EQ(sum, kept - 1);

    /* The next search tops the reused tree up to max_visits exactly. */
    ASSERT_EQ(tg_search_run(s, &err), 0);
    tg_search_get_stats(s, &st);
    ASSERT_EQ(st.root_visits, 400);
    ASSERT_EQ(st.playouts, 400 - kept);
    ASSERT_EQ(check_tree(s), 0);

    /* A move the tree never explored: the tree is cleared. */
    tg_loc_t unexplored = TG_LOC_NULL;
    const search_node_t *r2 = &s->nodes[0];
    int claimed = atomic_load(&r2->num_claimed);
    if (claimed < r2->num_edges) unexplored = s->edges[r2->edges + claimed].loc;
    if (unexplored != TG_LOC_NULL) {
        ASSERT_EQ(tg_search_make_move(s, unexplored, &err), 0);
        ASSERT_EQ(tg_search_root_values(s, &v), TG_ESTATE);
        ASSERT_EQ(tg_search_run(s, &err), 0);
        tg_search_get_stats(s, &st);
        ASSERT_EQ(st.root_visits, 400);
    }
    /* Illegal move: error, root unchanged. */
    int moves = tg_search_root_game(s)->num_moves;
    ASSERT_EQ(tg_search_make_move(s, mv, &err), TG_EILLEGAL);
    ASSERT_EQ(tg_search_root_game(s)->num_moves, moves);
    tg_search_destroy(s);
}

/* White to move after Black passed, White ahead by komi: passing ends the game with a win,
 * which the search finds through the terminal node even though the fake net says 50 %. */
TEST(terminal_pass) {
    fake_eval_t f;
    fake_eval_init(&f);
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = base_params(300);
    p.root_noise_enabled = false;
    tg_search_t *s;
    tg_err_t err;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
    tg_game_t g;
    new_game(&g, 5);
    ASSERT_EQ(tg_game_play(&g, TG_LOC_PASS, TG_BLACK, &err), 0);
    ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
    ASSERT_EQ(tg_search_run(s, &err), 0);
    tg_loc_t mv;
    tg_rng_t rng;
    tg_rng_seed(&rng, 1, 1);
    ASSERT_EQ(tg_search_choose_move(s, 0.0, true, &rng, &mv), 0);
    ASSERT_EQ(mv, TG_LOC_PASS);
    tg_search_child_t kids[TG_SEARCH_MAX_MOVES];
    int n = tg_search_root_children(s, kids, TG_SEARCH_MAX_MOVES);
    for (int i = 0; i < n; i++) {
        if (kids[i].loc != TG_LOC_PASS) continue;
        ASSERT_NEAR(kids[i].values.white_winloss, 1.0, 1e-9);
        ASSERT_NEAR(kids[i].values.white_score_mean, 7.5, 1e-9);
        ASSERT_TRUE(kids[i].visits > 100);
    }
    ASSERT_EQ(check_tree(s), 0);
    tg_loc_t pv[8];
    ASSERT_EQ(tg_search_pv(s, pv, 8), 1);
    ASSERT_EQ(pv[0], TG_LOC_PASS);
    tg_search_destroy(s);
}

TEST(choose_move_temperature) {
    fake_eval_t f;
    fake_eval_init(&f);
    f.hash_spread = 0.4;
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = base_params(200);
    tg_search_t *s;
    tg_err_t err;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
    tg_game_t g;
    new_game(&g, 9);
    ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
    ASSERT_NEAR(tg_search_chosen_move_temperature(s), 0.75, 1e-12); /* turn 0: early value */
    ASSERT_EQ(tg_search_run(s, &err), 0);
    tg_loc_t locs[TG_SEARCH_MAX_MOVES];
    double vals[TG_SEARCH_MAX_MOVES];
    int n = tg_search_play_selection_values(s, false, 0.0, locs, vals);
    ASSERT_TRUE(n > 1);
    int best = 0;
    double tot = 0.0;
    for (int i = 0; i < n; i++) {
        tot += vals[i];
        if (vals[i] > vals[best]) best = i;
    }
    tg_rng_t rng;
    tg_rng_seed(&rng, 7, 0);
    tg_loc_t mv;
    ASSERT_EQ(tg_search_choose_move(s, 0.0, false, &rng, &mv), 0);
    ASSERT_EQ(mv, locs[best]);
    /* T = 1: frequencies follow the values. */
    int hits = 0, draws = 4000;
    for (int i = 0; i < draws; i++) {
        ASSERT_EQ(tg_search_choose_move(s, 1.0, false, &rng, &mv), 0);
        hits += mv == locs[best];
    }
    double expect = vals[best] / tot;
    ASSERT_NEAR((double)hits / draws, expect, 4.0 * sqrt(expect * (1 - expect) / draws) + 1e-3);
    tg_search_destroy(s);
}

TEST(multithreaded) {
    fake_eval_t f;
    fake_eval_init(&f);
    f.hash_spread = 0.5;
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = base_params(600);
    p.num_threads = 4;
    tg_search_t *s;
    tg_err_t err;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
    tg_game_t g;
    new_game(&g, 9);
    ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
    for (int round = 0; round < 3; round++) {
        ASSERT_EQ(tg_search_run(s, &err), 0);
        tg_search_stats_t st;
        tg_search_get_stats(s, &st);
        ASSERT_EQ(st.root_visits, 600);
        ASSERT_EQ(sum_child_visits(s), 599);
        ASSERT_EQ(check_tree(s), 0);
        tg_loc_t mv;
        tg_rng_t rng;
        tg_rng_seed(&rng, 3, (uint64_t)round);
        ASSERT_EQ(tg_search_choose_move(s, 0.0, false, &rng, &mv), 0);
        ASSERT_EQ(tg_search_make_move(s, mv, &err), 0);
    }
    tg_search_destroy(s);
}

TEST(no_malloc_per_playout) {
    if (!TEST_COUNTS_MALLOC) {
        printf("  (not counted under a sanitizer: it owns malloc)\n");
        return;
    }
    /* Self-play preset, then the GTP preset (subtree value bias, noise pruning, passing and
     * symmetry hacks on). */
    for (int preset = 0; preset < 2; preset++) {
        fake_eval_t f;
        fake_eval_init(&f);
        f.hash_spread = 0.5;
        tg_search_evaluator_t ev = fake_eval_evaluator(&f);
        tg_search_params_t p = base_params(1500);
        if (preset == 1) {
            p = tg_search_params_gtp();
            p.max_visits = 1500;
            p.seed = 99;
        }
        tg_search_t *s;
        tg_err_t err;
        ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
        tg_game_t g;
        new_game(&g, 9);
        ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
        ASSERT_EQ(tg_search_run(s, &err), 0); /* grows the arenas once */
        tg_search_stats_t st;
        tg_search_get_stats(s, &st);
        int64_t arena_allocs = st.system_allocs;

        tg_search_clear_tree(s);
        long before = atomic_load(&g_mallocs);
        ASSERT_EQ(tg_search_run(s, &err), 0);
        long after = atomic_load(&g_mallocs);
        tg_search_get_stats(s, &st);
        ASSERT_EQ(st.playouts, 1500);
        ASSERT_EQ(after - before, 0);
        ASSERT_EQ(st.system_allocs, arena_allocs);

        /* Reused tree: the move compacts (allocates), the search itself does not. */
        tg_loc_t mv;
        tg_rng_t rng;
        tg_rng_seed(&rng, 5, 0);
        ASSERT_EQ(tg_search_choose_move(s, 0.0, false, &rng, &mv), 0);
        ASSERT_EQ(tg_search_make_move(s, mv, &err), 0);
        before = atomic_load(&g_mallocs);
        ASSERT_EQ(tg_search_run(s, &err), 0);
        ASSERT_EQ(atomic_load(&g_mallocs) - before, 0);
        tg_search_destroy(s);
    }
}

TEST(errors) {
    fake_eval_t f;
    fake_eval_init(&f);
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = base_params(0);
    tg_search_t *s = NULL;
    tg_err_t err;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), TG_EINVAL);
    ASSERT_CONTAINS(err.msg, "no limit");
    p = base_params(10);
    p.num_threads = 0;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), TG_EINVAL);
    p = base_params(10);
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
    ASSERT_EQ(tg_search_run(s, &err), TG_ESTATE); /* no position */
    float target[82];
    ASSERT_EQ(tg_search_policy_target(s, target), TG_ESTATE);
    tg_search_destroy(s);
}

int main(void) {
    RUN(utility_maths);
    RUN(visits_add_up);
    RUN(forced_playouts_and_pruning);
    RUN(fpu);
    RUN(tree_reuse);
    RUN(terminal_pass);
    RUN(choose_move_temperature);
    RUN(multithreaded);
    RUN(no_malloc_per_playout);
    RUN(errors);
    TEST_MAIN_END();
}
