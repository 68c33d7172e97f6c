/* test_search_gaps.c: the KataGo GTP search features added on top of the core (issue #4):
 * subtree value bias (bucket keys, table updates on hand-built trees, bias sign, contribution
 * withdrawal on tree reuse, table consistency after real searches), with the fake evaluator. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fake_eval.h"
#include "search/search.h"
#include "search/search_internal.h"
#include "test.h"

static void new_game(tg_game_t *g, int size) {
    tg_rules_t r = tg_rules_default();
    tg_game_init(g, size, &r);
}

static void play(tg_game_t *g, int x, int y) {
    tg_err_t err;
    tg_loc_t loc = x < 0 ? TG_LOC_PASS : tg_loc(x, y);
    if (tg_game_play(g, loc, g->to_move, &err) != 0) {
        printf("  bad move %d,%d: %s\n", x, y, err.msg);
        TG_ASSERT(false);
    }
}

/* ---- subtree value bias ---------------------------------------------------------------------- */

TEST(svb_key) {
    tg_game_t g;
    new_game(&g, 9);
    ASSERT_EQ(search__svb_key(&g, tg_loc(4, 4)), 0); /* no previous move: no bucket */
    play(&g, 2, 2);
    uint64_t k = search__svb_key(&g, tg_loc(4, 4));
    ASSERT_NE(k, 0);
    ASSERT_EQ(search__svb_key(&g, tg_loc(4, 4)), k); /* deterministic */
    ASSERT_NE(search__svb_key(&g, tg_loc(5, 4)), k); /* other move */

    /* A stone outside the 5x5 window around the move changes nothing; one inside does. */
    tg_game_t base = g, far = g, near = g;
    play(&base, 0, 8); /* white outside the window of (4,4), then black passes */
    play(&base, -1, 0);
    play(&far, 8, 0); /* white elsewhere outside the window */
    play(&far, -1, 0);
    ASSERT_EQ(search__svb_key(&base, tg_loc(4, 4)), search__svb_key(&far, tg_loc(4, 4)));
    play(&near, 5, 5); /* white inside the window */
    play(&near, -1, 0);
    ASSERT_NE(search__svb_key(&base, tg_loc(4, 4)), search__svb_key(&near, tg_loc(4, 4)));
    /* The ko point is part of the key (tested through the board field directly). */
    tg_game_t ko = base;
    ko.board.ko_loc = tg_loc(7, 7);
    ASSERT_NE(search__svb_key(&ko, tg_loc(4, 4)), search__svb_key(&base, tg_loc(4, 4)));

    /* The previous move is part of the key: same stones, different move orders. */
    tg_game_t c, d;
    new_game(&c, 9);
    new_game(&d, 9);
    play(&c, 0, 8); /* B */
    play(&c, 8, 8); /* W */
    play(&c, 8, 0); /* B */
    play(&d, 8, 0);
    play(&d, 8, 8);
    play(&d, 0, 8);
    ASSERT_EQ(c.board.hash.lo, d.board.hash.lo);
    ASSERT_NE(search__svb_key(&c, tg_loc(4, 4)), search__svb_key(&d, tg_loc(4, 4)));
}

/* Hand-built tree: root (to move Black) with two children; node 3 is a leaf elsewhere in the
 * same bucket as the root. */
typedef struct hand_tree_s {
    fake_eval_t f;
    tg_search_t *s;
} hand_tree_t;

static void hand_tree_build(hand_tree_t *h, double root_u, double c1_u, double c2_u) {
    fake_eval_init(&h->f);
    tg_search_evaluator_t ev = fake_eval_evaluator(&h->f);
    tg_search_params_t p = tg_search_params_gtp();
    p.max_visits = 10;
    p.value_weight_exponent = 0.0;
    p.seed = 1;
    tg_err_t err;
    TG_ASSERT(tg_search_create(&p, &ev, &h->s, &err) == 0);
    tg_search_t *s = h->s;
    tg_game_t g;
    new_game(&g, 9);
    TG_ASSERT(tg_search_set_position(s, &g, &err) == 0);
    memset(s->nodes, 0, 4 * sizeof(search_node_t));
    search_edge_t *e = s->edges;
    for (int i = 0; i < 2; i++) {
        e[i].prior = 0.5f;
        e[i].loc = tg_loc(i, 0);
        atomic_store(&e[i].child, (uint32_t)(i + 1));
    }
    atomic_store(&s->edges_used, 2);
    atomic_store(&s->nodes_used, 4);
    search_node_t *root = &s->nodes[0];
    root->to_move = TG_BLACK;
    root->edges = 0;
    root->num_edges = 2;
    atomic_store(&root->num_claimed, 2);
    atomic_store(&root->state, SEARCH_NODE_EXPANDED);
    root->nn_utility = root_u;
    double us[3] = {c1_u, c2_u, root_u};
    int32_t vis[3] = {3, 5, 1};
    for (int i = 1; i <= 3; i++) {
        search_node_t *c = &s->nodes[i];
        c->to_move = i == 3 ? TG_BLACK : TG_WHITE;
        c->nn_utility = us[i - 1];
        search__store(&c->utility_avg, us[i - 1]);
        search__store(&c->utility_sq_avg, us[i - 1] * us[i - 1]);
        search__store(&c->weight_sum, vis[i - 1]);
        search__store(&c->weight_sq_sum, vis[i - 1]);
        atomic_store(&c->visits, vis[i - 1]);
        atomic_store(&c->state, SEARCH_NODE_EXPANDED);
    }
    uint32_t slot = search__svb_get(s, 0x1234);
    TG_ASSERT(slot != 0);
    root->svb = slot;
    s->nodes[3].svb = search__svb_get(s, 0x1234);
    TG_ASSERT(s->nodes[3].svb == slot);
}

TEST(svb_table_updates) {
    hand_tree_t h;
    /* White's view: the net says 0.0 at the root, the children say 0.3 / 0.5 on average. */
    hand_tree_build(&h, 0.0, 0.3, 0.5);
    tg_search_t *s = h.s;
    search_node_t *root = &s->nodes[0];
    const double factor = 0.45, expo = 0.85;
    double uc = (3 * 0.3 + 5 * 0.5) / 8.0;
    double bw = pow(8.0, expo);

    search__recompute_stats(s, root);
    search_svb_entry_t *e = &s->svb[root->svb - 1];
    ASSERT_NEAR(e->weight_sum, bw, 1e-12);
    ASSERT_NEAR(e->delta_sum, uc * bw, 1e-12);
    ASSERT_NEAR(root->svb_last_weight, bw, 1e-12);
    /* The root's own utility moved towards its children by factor * delta. */
    double own = 0.0 + factor * uc;
    ASSERT_NEAR(search__load(&root->utility_avg), (8.0 * uc + own) / 9.0, 1e-12);
    ASSERT_NEAR(search__load(&root->utility_sq_avg), (3 * 0.09 + 5 * 0.25 + own * own) / 9.0,
                1e-12);
    ASSERT_EQ(atomic_load(&root->visits), 9);
    /* FPU keeps the unbiased net utility: at visited mass 0 it is exactly nn_utility. */
    double pu, sf;
    double fpu = search__fpu_value(s, root, false, 0.0, &pu, &sf);
    ASSERT_NEAR(pu, 0.0, 1e-12);
    ASSERT_NEAR(fpu, 0.0, 1e-12);

    /* The other node of the bucket gets the bias, positive (White's view) like the error. */
    ASSERT_NEAR(search__svb_bias(s, &s->nodes[3]), factor * uc, 1e-12);
    ASSERT_TRUE(search__svb_bias(s, &s->nodes[3]) > 0.0);

    /* A recomputation replaces the contribution instead of adding to it. */
    search__recompute_stats(s, root);
    ASSERT_NEAR(e->weight_sum, bw, 1e-12);
    ASSERT_NEAR(e->delta_sum, uc * bw, 1e-12);

    /* Children that turn out worse than the net: the sign flips. */
    search__store(&s->nodes[1].utility_avg, -0.6);
    search__store(&s->nodes[2].utility_avg, -0.6);
    search__recompute_stats(s, root);
    ASSERT_NEAR(e->delta_sum, -0.6 * bw, 1e-12);
    ASSERT_TRUE(search__svb_bias(s, &s->nodes[3]) < 0.0);

    /* Withdrawal (tree reuse drops the node): free_prop = 0.8 of it leaves the bucket. */
    search__svb_release(s, root);
    ASSERT_EQ(root->svb, 0);
    ASSERT_NEAR(e->weight_sum, 0.2 * bw, 1e-12);
    ASSERT_NEAR(e->delta_sum, 0.2 * -0.6 * bw, 1e-12);
    ASSERT_NEAR(search__svb_bias(s, &s->nodes[3]), factor * -0.6, 1e-12);

    /* Factor 0 turns the correction off. */
    tg_search_params_t p = *tg_search_get_params(s);
    p.subtree_value_bias_factor = 0.0;
    tg_err_t err;
    ASSERT_EQ(tg_search_set_params(s, &p, &err), 0);
    ASSERT_NEAR(search__svb_bias(s, &s->nodes[3]), 0.0, 0.0);
    tg_search_destroy(s);
}

/* Sum over nodes of their last contributions, per bucket, must equal the bucket's sums in a
 * tree that never dropped a node. Returns the number of mismatches. */
static int svb_check_consistent(const tg_search_t *s, int *buckets_out, int *users_out) {
    static double d[1 << 16], w[1 << 16];
    TG_ASSERT(s->svb_capacity <= (1 << 16));
    memset(d, 0, sizeof(double) * (size_t)s->svb_capacity);
    memset(w, 0, sizeof(double) * (size_t)s->svb_capacity);
    int users = 0;
    for (int64_t i = 0; i < atomic_load(&s->nodes_used); i++) {
        const search_node_t *n = &s->nodes[i];
        if (n->svb == 0) continue;
        users++;
        d[n->svb - 1] += n->svb_last_delta;
        w[n->svb - 1] += n->svb_last_weight;
    }
    int bad = 0, buckets = 0;
    for (int64_t j = 0; j < s->svb_capacity; j++) {
        if (atomic_load(&s->svb[j].key) == 0) continue;
        buckets++;
        if (fabs(d[j] - s->svb[j].delta_sum) > 1e-9 || fabs(w[j] - s->svb[j].weight_sum) > 1e-9)
            bad++;
    }
    if (buckets_out) *buckets_out = buckets;
    if (users_out) *users_out = users;
    return bad;
}

TEST(svb_search_consistency) {
    fake_eval_t f;
    fake_eval_init(&f);
    f.hash_spread = 0.6;
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    for (int threads = 1; threads <= 2; threads++) {
        tg_search_params_t p = tg_search_params_gtp();
        p.max_visits = 600;
        p.num_threads = threads;
        p.seed = 77;
        tg_search_t *s;
        tg_err_t err;
        ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
        tg_game_t g;
        new_game(&g, 9);
        play(&g, 4, 4);
        ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
        ASSERT_EQ(tg_search_run(s, &err), 0);
        int buckets, users;
        ASSERT_EQ(svb_check_consistent(s, &buckets, &users), 0);
        ASSERT_TRUE(users > 300); /* every non-terminal node below the root */
        ASSERT_TRUE(buckets > 50 && buckets <= users);
        /* Shared buckets exist (transpositions-like: same local shape, same last two moves). */
        ASSERT_TRUE(buckets < users);

        /* Tree reuse: kept nodes keep their buckets; a bucket only dropped nodes used is gone;
         * a shared bucket keeps 20 % of the dropped contributions, so it holds at least the
         * kept nodes' own. */
        tg_rng_t rng;
        tg_rng_seed(&rng, 1, 0);
        tg_loc_t mv;
        ASSERT_EQ(tg_search_choose_move(s, 0.0, false, &rng, &mv), 0);
        ASSERT_EQ(tg_search_make_move(s, mv, &err), 0);
        int b2, u2;
        svb_check_consistent(s, &b2, &u2);
        ASSERT_TRUE(u2 > 0 && u2 < users);
        ASSERT_TRUE(b2 <= u2 && b2 < buckets);
        ASSERT_EQ(tg_search_run(s, &err), 0);
        tg_search_stats_t st;
        tg_search_get_stats(s, &st);
        ASSERT_EQ(st.root_visits, 600);

        /* Clearing the tree empties the table. */
        tg_search_clear_tree(s);
        svb_check_consistent(s, &b2, &u2);
        ASSERT_EQ(b2, 0);
        tg_search_destroy(s);
    }
}

/* ---- noise pruning --------------------------------------------------------------------------- */

TEST(noise_pruning_by_hand) {
    tg_search_params_t p = tg_search_params_gtp();
    ASSERT_TRUE(p.use_noise_pruning);
    ASSERT_NEAR(p.noise_prune_utility_scale, 0.15, 0.0);
    ASSERT_TRUE(!tg_search_params_selfplay().use_noise_pruning);
    /* Prior order 0.5, 0.3, 0.2. Child 2 is 0.3 below the average before it (0.2) and holds 8
     * of weight where twice its policy share of the 12 before it is 2 * 12 * 0.2 / 0.8 = 6:
     * it loses (8 - 6) * (1 - e^-2). */
    double u[3] = {0.2, 0.2, -0.1}, pr[3] = {0.5, 0.3, 0.2}, w[3] = {10, 2, 8};
    double wsq[3] = {10, 2, 8};
    double total = search__prune_noise_weight(&p, 3, u, pr, w, wsq);
    double cut = 2.0 * (1.0 - exp(-0.3 / 0.15));
    ASSERT_NEAR(w[0], 10.0, 0.0);
    ASSERT_NEAR(w[1], 2.0, 0.0);
    ASSERT_NEAR(w[2], 8.0 - cut, 1e-12);
    ASSERT_NEAR(wsq[2], 8.0 * pow((8.0 - cut) / 8.0, 2), 1e-12);
    ASSERT_NEAR(total, 20.0 - cut, 1e-12);

    /* The cap bounds the cut. */
    double w2[3] = {10, 2, 8};
    p.noise_pruning_cap = 0.5;
    total = search__prune_noise_weight(&p, 3, u, pr, w2, NULL);
    ASSERT_NEAR(w2[2], 7.5, 1e-12);
    p.noise_pruning_cap = 1e50;

    /* A child at or above the running average, or within twice its share, keeps its weight. */
    double u3[3] = {0.2, 0.1, 0.3}, w3[3] = {10, 2, 8};
    total = search__prune_noise_weight(&p, 3, u3, pr, w3, NULL);
    ASSERT_NEAR(w3[1], 2.0, 0.0); /* below average but 2 <= 2 * 10 * 0.3 / 0.5 */
    ASSERT_NEAR(w3[2], 8.0, 0.0); /* above average */
    ASSERT_NEAR(total, 20.0, 0.0);

    /* The first child is never pruned, a single child neither. */
    double u4[1] = {-1.0}, w4[1] = {5};
    ASSERT_NEAR(search__prune_noise_weight(&p, 1, u4, pr, w4, NULL), 5.0, 0.0);
}

/* In the backup: a hand-built root whose low-prior child is much worse and over-visited gets a
 * parent value closer to its good child with noise pruning on. */
TEST(noise_pruning_in_backup) {
    double util[2];
    for (int on = 0; on < 2; on++) {
        fake_eval_t f;
        fake_eval_init(&f);
        tg_search_evaluator_t ev = fake_eval_evaluator(&f);
        tg_search_params_t p = tg_search_params_gtp();
        p.max_visits = 10;
        p.value_weight_exponent = 0.0;
        p.subtree_value_bias_factor = 0.0;
        p.use_noise_pruning = on;
        tg_search_t *s;
        tg_err_t err;
        ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
        tg_game_t g;
        new_game(&g, 9);
        ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
        memset(s->nodes, 0, 3 * sizeof(search_node_t));
        search_edge_t *e = s->edges;
        e[0].prior = 0.9f;
        e[1].prior = 0.1f;
        for (int i = 0; i < 2; i++) {
            e[i].loc = tg_loc(i, 0);
            atomic_store(&e[i].child, (uint32_t)(i + 1));
        }
        atomic_store(&s->edges_used, 2);
        atomic_store(&s->nodes_used, 3);
        search_node_t *root = &s->nodes[0];
        root->to_move = TG_WHITE;
        root->num_edges = 2;
        atomic_store(&root->num_claimed, 2);
        atomic_store(&root->state, SEARCH_NODE_EXPANDED);
        double cu[2] = {0.4, -0.5};
        int32_t cv[2] = {10, 10};
        for (int i = 0; i < 2; i++) {
            search_node_t *c = &s->nodes[i + 1];
            c->to_move = TG_BLACK;
            search__store(&c->utility_avg, cu[i]);
            search__store(&c->utility_sq_avg, cu[i] * cu[i]);
            search__store(&c->weight_sum, cv[i]);
            search__store(&c->weight_sq_sum, cv[i]);
            atomic_store(&c->visits, cv[i]);
            atomic_store(&c->state, SEARCH_NODE_EXPANDED);
        }
        search__recompute_stats(s, root);
        util[on] = search__load(&root->utility_avg);
        ASSERT_EQ(atomic_load(&root->visits), 21); /* visits are not pruned */
        if (on) {
            /* Child 1: 10 vs 2 * 10 * 0.1 / 0.9 = 2.22 allowed, gap 0.9. */
            double allowed = 2.0 * 10.0 * 0.1 / 0.9;
            double w1 = 10.0 - (10.0 - allowed) * (1.0 - exp(-0.9 / 0.15));
            ASSERT_NEAR(search__load(&root->weight_sum), 1.0 + 10.0 + w1, 1e-6); /* float priors */
            ASSERT_NEAR(util[on], (10.0 * 0.4 - 0.5 * w1) / (11.0 + w1), 1e-6);
        } else {
            ASSERT_NEAR(util[on], (10.0 * 0.4 - 5.0) / 21.0, 1e-9);
        }
        tg_search_destroy(s);
    }
    ASSERT_TRUE(util[1] > util[0] + 0.2);
}

/* ---- reference child ------------------------------------------------------------------------- */

/* Root (White to move) with A: 1 visit, prior 0.6, good; B: 2 visits, weight 1.2, prior 0.1,
 * bad. The most-weighted child is B, but the reference child is A (1 * 0 / 1 + 2 * 0.6 = 1.2
 * beats 1.2 * 1 / 2 + 2 * 0.1 = 0.8), so B is pruned against A and A is played; with B as the
 * reference (the old rule) B would keep 1.2 and be played. */
TEST(reference_child) {
    fake_eval_t f;
    fake_eval_init(&f);
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = tg_search_params_gtp();
    p.max_visits = 10;
    p.use_lcb_for_selection = false;
    tg_search_t *s;
    tg_err_t err;
    ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
    tg_game_t g;
    new_game(&g, 9);
    ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
    memset(s->nodes, 0, 3 * sizeof(search_node_t));
    search_edge_t *e = s->edges;
    e[0].prior = 0.6f;
    e[1].prior = 0.1f;
    for (int i = 0; i < 2; i++) {
        e[i].loc = tg_loc(i + 2, 2);
        atomic_store(&e[i].child, (uint32_t)(i + 1));
    }
    atomic_store(&s->edges_used, 2);
    atomic_store(&s->nodes_used, 3);
    search_node_t *root = &s->nodes[0];
    root->to_move = TG_WHITE;
    root->num_edges = 2;
    atomic_store(&root->num_claimed, 2);
    search__store(&root->weight_sum, 3.2);
    search__store(&root->weight_sq_sum, 3.2);
    search__store(&root->utility_avg, 0.0);
    search__store(&root->utility_sq_avg, 0.1);
    atomic_store(&root->visits, 4);
    atomic_store(&root->state, SEARCH_NODE_EXPANDED);
    double cu[2] = {0.5, -0.9}, cw[2] = {1.0, 1.2};
    int32_t cv[2] = {1, 2};
    for (int i = 0; i < 2; i++) {
        search_node_t *c = &s->nodes[i + 1];
        c->to_move = TG_BLACK;
        search__store(&c->utility_avg, cu[i]);
        search__store(&c->utility_sq_avg, cu[i] * cu[i]);
        search__store(&c->weight_sum, cw[i]);
        search__store(&c->weight_sq_sum, cw[i]);
        atomic_store(&c->visits, cv[i]);
        atomic_store(&c->state, SEARCH_NODE_EXPANDED);
    }
    tg_loc_t locs[TG_SEARCH_MAX_MOVES];
    double vals[TG_SEARCH_MAX_MOVES];
    int n = tg_search_play_selection_values(s, false, 0.0, locs, vals);
    ASSERT_EQ(n, 2);
    ASSERT_EQ(locs[0], tg_loc(2, 2));
    ASSERT_NEAR(vals[0], 1.0, 0.0); /* the reference keeps its weight */
    ASSERT_NEAR(vals[1], 0.0, 0.0); /* pruned: PUCT never wanted a visit in hindsight */
    tg_loc_t mv;
    tg_rng_t rng;
    tg_rng_seed(&rng, 1, 0);
    ASSERT_EQ(tg_search_choose_move(s, 0.0, false, &rng, &mv), 0);
    ASSERT_EQ(mv, tg_loc(2, 2));

    /* With more visits the most-weighted child is the reference again: B with 9 visits. */
    atomic_store(&s->nodes[2].visits, 9);
    search__store(&s->nodes[2].weight_sum, 9.0);
    search__store(&s->nodes[2].utility_avg, 0.6);
    n = tg_search_play_selection_values(s, false, 0.0, locs, vals);
    ASSERT_NEAR(vals[1], 9.0, 0.0);
    ASSERT_EQ(tg_search_choose_move(s, 0.0, false, &rng, &mv), 0);
    ASSERT_EQ(mv, tg_loc(3, 2));
    tg_search_destroy(s);
}

/* ---- passing hacks --------------------------------------------------------------------------- */

/* The fake evaluator with the policy moved to pass: 0.99 on pass, 0.01 spread over the rest. */
static int pass_heavy_evaluate(void *ctx, int n, const tg_game_t *const *games,
                               const int *symmetries, tg_nn_output_t *outs, tg_err_t *err) {
    int rc = fake_eval_evaluate(ctx, n, games, symmetries, outs, err);
    for (int i = 0; i < n; i++) {
        int size = games[i]->board.size, legal = 0;
        for (int p = 0; p < size * size; p++)
            legal += outs[i].policy[p] >= 0.0f;
        for (int p = 0; p < size * size; p++)
            if (outs[i].policy[p] >= 0.0f) outs[i].policy[p] = 0.01f / (float)legal;
        outs[i].policy_pass = 0.99f;
    }
    return rc;
}

static float pass_edge_prior(const tg_search_t *s, const search_node_t *n) {
    for (int i = 0; i < n->num_edges; i++)
        if (s->edges[n->edges + i].loc == TG_LOC_PASS) return s->edges[n->edges + i].prior;
    return -1.0f;
}

TEST(pass_prior_cap) {
    fake_eval_t f;
    fake_eval_init(&f);
    tg_search_evaluator_t ev = {pass_heavy_evaluate, &f};
    ASSERT_TRUE(tg_search_params_gtp().enable_passing_hacks);
    ASSERT_TRUE(!tg_search_params_selfplay().enable_passing_hacks);
    for (int on = 0; on < 2; on++) {
        tg_search_params_t p = tg_search_params_gtp();
        p.max_visits = 30;
        p.enable_passing_hacks = on;
        p.seed = 3;
        tg_search_t *s;
        tg_err_t err;
        ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
        tg_game_t g;
        new_game(&g, 9);
        play(&g, 4, 4);
        ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
        ASSERT_EQ(tg_search_run(s, &err), 0);
        /* 0.99 vs 0.01: capped at 19 * 0.01 = 0.19, i.e. 0.95 of the renormalized total. */
        double want = on ? 0.95 : 0.99;
        ASSERT_NEAR(pass_edge_prior(s, &s->nodes[0]), want, 1e-5);
        int checked = 0;
        for (int64_t i = 1; i < atomic_load(&s->nodes_used); i++) {
            const search_node_t *n = &s->nodes[i];
            if (atomic_load(&n->state) != SEARCH_NODE_EXPANDED) continue;
            ASSERT_NEAR(pass_edge_prior(s, n), want, 1e-5);
            double sum = 0.0;
            for (int k = 0; k < n->num_edges; k++)
                sum += s->edges[n->edges + k].prior;
            ASSERT_NEAR(sum, 1.0, 1e-4);
            checked++;
        }
        ASSERT_TRUE(checked > 0);
        tg_search_destroy(s);
    }
}

/* ---- root symmetry pruning ------------------------------------------------------------------- */

static int root_edges_after_search(const tg_game_t *g, bool gtp, double *prior_sum) {
    fake_eval_t f;
    fake_eval_init(&f);
    tg_search_evaluator_t ev = fake_eval_evaluator(&f);
    tg_search_params_t p = gtp ? tg_search_params_gtp() : tg_search_params_selfplay();
    p.max_visits = 120;
    p.seed = 5;
    p.root_noise_enabled = false;
    tg_search_t *s;
    tg_err_t err;
    TG_ASSERT(tg_search_create(&p, &ev, &s, &err) == 0);
    TG_ASSERT(tg_search_set_position(s, g, &err) == 0);
    TG_ASSERT(tg_search_run(s, &err) == 0);
    const search_node_t *root = &s->nodes[0];
    int k = root->num_edges;
    *prior_sum = 0.0;
    for (int i = 0; i < k; i++)
        *prior_sum += s->edges[root->edges + i].prior;
    /* Every created child is an allowed move. */
    tg_search_child_t kids[TG_SEARCH_MAX_MOVES];
    int nk = tg_search_root_children(s, kids, TG_SEARCH_MAX_MOVES);
    TG_ASSERT(nk > 0 && nk <= k);
    tg_search_destroy(s);
    return k;
}

TEST(root_symmetry_pruning) {
    ASSERT_TRUE(tg_search_params_gtp().root_symmetry_pruning);
    ASSERT_TRUE(!tg_search_params_selfplay().root_symmetry_pruning);
    tg_game_t g;
    new_game(&g, 9);
    double sum;
    /* Empty 9x9: 15 orbits under the 8 symmetries, plus pass; the orbits keep all the mass. */
    ASSERT_EQ(root_edges_after_search(&g, true, &sum), 16);
    ASSERT_NEAR(sum, 1.0, 1e-4);
    ASSERT_EQ(root_edges_after_search(&g, false, &sum), 82);

    /* A stone on the diagonal: only the transposition is left: 8 diagonal points + 72 / 2. */
    tg_game_t d;
    new_game(&d, 9);
    play(&d, 3, 3);
    ASSERT_EQ(root_edges_after_search(&d, true, &sum), 44 + 1);
    ASSERT_NEAR(sum, 1.0, 1e-4);

    /* No symmetry: nothing pruned. */
    tg_game_t a;
    new_game(&a, 9);
    play(&a, 2, 3);
    ASSERT_EQ(root_edges_after_search(&a, true, &sum), 80 + 1);

    /* The pruning function by hand: tengen (centre) stone, 5x5: 5 orbits of empty points. */
    tg_game_t c;
    new_game(&c, 5);
    play(&c, 2, 2);
    float pol[26];
    for (int i = 0; i < 26; i++)
        pol[i] = 1.0f / 25.0f;
    pol[2 * 5 + 2] = -1.0f;
    ASSERT_EQ(search__prune_root_symmetries(&c, pol), 24 - 5);
    int allowed = 0;
    float mass = 0.0f;
    for (int i = 0; i < 25; i++) {
        if (pol[i] >= 0.0f) {
            allowed++;
            mass += pol[i];
        }
    }
    ASSERT_EQ(allowed, 5);
    ASSERT_NEAR(mass, 24.0 / 25.0, 1e-5);
    ASSERT_NEAR(pol[0], 4.0 / 25.0, 1e-6); /* corner orbit: 4 points, kept at (0,0) */
    ASSERT_NEAR(pol[1], 8.0 / 25.0, 1e-6); /* (1,0) orbit: 8 points */
}

/* The fake evaluator with an almost-zero pass prior. */
static int pass_shy_evaluate(void *ctx, int n, const tg_game_t *const *games, const int *symmetries,
                             tg_nn_output_t *outs, tg_err_t *err) {
    int rc = fake_eval_evaluate(ctx, n, games, symmetries, outs, err);
    for (int i = 0; i < n; i++)
        outs[i].policy_pass = 1e-7f;
    return rc;
}

/* Tromp-Taylor, Black passed: White's pass would end the game. With enableMorePassingHacks the
 * root gets a pass child (a terminal node, weightless until chosen) although its prior is
 * tiny; the limits count only normal playouts. */
TEST(more_passing_hacks) {
    ASSERT_TRUE(tg_search_params_gtp().enable_more_passing_hacks);
    ASSERT_TRUE(!tg_search_params_selfplay().enable_more_passing_hacks);
    fake_eval_t f;
    fake_eval_init(&f);
    tg_search_evaluator_t ev = {pass_shy_evaluate, &f};
    tg_rules_t rules;
    tg_err_t err;
    ASSERT_EQ(tg_rules_parse("tromp-taylor", &rules, &err), 0);
    for (int on = 0; on < 2; on++) {
        tg_search_params_t p = tg_search_params_gtp();
        p.max_visits = 60;
        p.enable_more_passing_hacks = on;
        p.seed = 8;
        tg_search_t *s;
        ASSERT_EQ(tg_search_create(&p, &ev, &s, &err), 0);
        tg_game_t g;
        tg_game_init(&g, 9, &rules);
        play(&g, 4, 4);
        play(&g, -1, 0); /* White passes */
        play(&g, 2, 2);
        play(&g, -1, 0); /* White passes: now Black's pass would end the game */
        ASSERT_TRUE(tg_game_pass_would_end_phase(&g, g.to_move));
        ASSERT_EQ(tg_search_set_position(s, &g, &err), 0);
        ASSERT_EQ(tg_search_run(s, &err), 0);
        tg_search_stats_t st;
        tg_search_get_stats(s, &st);
        ASSERT_EQ(st.root_visits, 60);
        ASSERT_EQ(st.playouts, 60);
        const search_node_t *root = &s->nodes[0];
        const search_node_t *pass_child = NULL;
        for (int i = 0; i < atomic_load(&root->num_claimed); i++) {
            const search_edge_t *e = &s->edges[root->edges + i];
            if (e->loc == TG_LOC_PASS) pass_child = &s->nodes[atomic_load(&e->child)];
        }
        if (!on) {
            ASSERT_TRUE(pass_child == NULL);
        } else {
            ASSERT_TRUE(pass_child != NULL);
            ASSERT_EQ(atomic_load(&pass_child->state), SEARCH_NODE_TERMINAL);
        }
        /* Created children stay a prefix of the edges, the rest sorted by prior. */
        for (int i = atomic_load(&root->num_claimed) + 1; i < root->num_edges; i++)
            ASSERT_TRUE(s->edges[root->edges + i].prior <= s->edges[root->edges + i - 1].prior);
        tg_search_destroy(s);
    }
}

/* Black's pass-alive wall with a dead White stone in its territory: Black's pass becomes a move
 * there under Tromp-Taylor, not under rules with friendly passing or territory scoring. */
TEST(cleanup_before_pass) {
    static const char *diagram = ". O . X .\n"
                                 "X X X X X\n"
                                 ". . . . .\n"
                                 ". . . . .\n"
                                 ". . . . .\n";
    tg_board_t b;
    ASSERT_EQ(tg_board_from_string(&b, diagram), 0);
    tg_rules_t tt, chinese, japanese;
    tg_err_t err;
    ASSERT_EQ(tg_rules_parse("tromp-taylor", &tt, &err), 0);
    ASSERT_EQ(tg_rules_parse("chinese", &chinese, &err), 0);
    ASSERT_EQ(tg_rules_parse("japanese", &japanese, &err), 0);
    tg_game_t g;
    tg_game_reset(&g, &b, TG_BLACK, &tt, 0);
    /* (0,0) and (2,0) both touch the dead stone; the last one row by row wins, as KataGo. */
    ASSERT_EQ(tg_search_cleanup_before_pass(&g, TG_BLACK, TG_LOC_PASS), tg_loc(2, 0));
    ASSERT_EQ(tg_search_cleanup_before_pass(&g, TG_BLACK, tg_loc(2, 3)), tg_loc(2, 3));
    ASSERT_EQ(tg_search_cleanup_before_pass(&g, TG_WHITE, TG_LOC_PASS), TG_LOC_PASS);
    tg_game_reset(&g, &b, TG_BLACK, &chinese, 0);
    ASSERT_TRUE(chinese.friendly_pass_ok);
    ASSERT_EQ(tg_search_cleanup_before_pass(&g, TG_BLACK, TG_LOC_PASS), TG_LOC_PASS);
    tg_game_reset(&g, &b, TG_BLACK, &japanese, 0);
    ASSERT_EQ(tg_search_cleanup_before_pass(&g, TG_BLACK, TG_LOC_PASS), TG_LOC_PASS);
    /* Nothing left to clean: the pass stays. */
    static const char *clean = ". . . X .\n"
                               "X X X X X\n"
                               ". . . . .\n"
                               ". . . . .\n"
                               ". . . . .\n";
    ASSERT_EQ(tg_board_from_string(&b, clean), 0);
    tg_game_reset(&g, &b, TG_BLACK, &tt, 0);
    ASSERT_EQ(tg_search_cleanup_before_pass(&g, TG_BLACK, TG_LOC_PASS), TG_LOC_PASS);
}

int main(void) {
    RUN(svb_key);
    RUN(svb_table_updates);
    RUN(svb_search_consistency);
    RUN(noise_pruning_by_hand);
    RUN(noise_pruning_in_backup);
    RUN(reference_child);
    RUN(pass_prior_cap);
    RUN(root_symmetry_pruning);
    RUN(more_passing_hacks);
    RUN(cleanup_before_pass);
    TEST_MAIN_END();
}
