/* search_values.c: the numbers of the search (algorithms.md §2.2-2.4): KataGo's utility with
 * its expected-atan score terms, cPUCT, first-play urgency, and the backup that recomputes a
 * node's statistics from its children (with KataGo's optional value weighting).
 *
 * The expectation E[atan] over a normal score distribution uses Gauss-Hermite quadrature
 * (48 points, exact for stdev 0) instead of KataGo's bilinear table; both approximate the same
 * integral. Everything here is allocation-free. */
#include <math.h>
#include <string.h>

#include "search/search_internal.h"

void search__gauss_hermite(int n, double *x, double *w) {
    /* Newton iteration on orthonormal Hermite polynomials, with the usual initial guesses for
     * the roots (largest first); symmetric roots fill the other half. */
    const double pim4 = 0.7511255444649425; /* pi^(-1/4) */
    int m = (n + 1) / 2;
    double z = 0.0, pp = 1.0;
    for (int i = 0; i < m; i++) {
        if (i == 0)
            z = sqrt(2.0 * n + 1) - 1.85575 * pow(2.0 * n + 1, -0.16667);
        else if (i == 1)
            z -= 1.14 * pow((double)n, 0.426) / z;
        else if (i == 2)
            z = 1.86 * z - 0.86 * x[0];
        else if (i == 3)
            z = 1.91 * z - 0.91 * x[1];
        else
            z = 2.0 * z - x[i - 2];
        for (int it = 0; it < 100; it++) {
            double p1 = pim4, p2 = 0.0;
            for (int j = 0; j < n; j++) {
                double p3 = p2;
                p2 = p1;
                p1 = z * sqrt(2.0 / (j + 1)) * p2 - sqrt((double)j / (j + 1)) * p3;
            }
            pp = sqrt(2.0 * n) * p2;
            double z1 = z;
            z = z1 - p1 / pp;
            if (fabs(z - z1) <= 1e-14) break;
        }
        x[i] = z;
        x[n - 1 - i] = -z;
        w[i] = 2.0 / (pp * pp);
        w[n - 1 - i] = w[i];
    }
}

double search__expected_score_value(const tg_search_t *s, double mean, double stdev, double center,
                                    double scale, double sqrt_area) {
    const double two_over_pi = 2.0 / M_PI;
    double denom = scale * sqrt_area;
    if (!(stdev > 1e-9)) return two_over_pi * atan((mean - center) / denom);
    double sum = 0.0;
    for (int i = 0; i < SEARCH_GH_POINTS; i++) {
        double v = mean + M_SQRT2 * stdev * s->gh_x[i];
        sum += s->gh_w[i] * atan((v - center) / denom);
    }
    return two_over_pi * sum / sqrt(M_PI);
}

double search__score_utility(const tg_search_t *s, double score_mean, double score_mean_sq) {
    const tg_search_params_t *p = &s->params;
    double var = score_mean_sq - score_mean * score_mean;
    double stdev = var > 0.0 ? sqrt(var) : 0.0;
    double sqrt_area = (double)s->root_game.board.size;
    double u = 0.0;
    if (p->static_score_utility_factor != 0.0)
        u += p->static_score_utility_factor *
             search__expected_score_value(s, score_mean, stdev, 0.0, 2.0, sqrt_area);
    if (p->dynamic_score_utility_factor != 0.0)
        u += p->dynamic_score_utility_factor *
             search__expected_score_value(s, score_mean, stdev, s->recent_score_center,
                                          p->dynamic_score_center_scale, sqrt_area);
    return u;
}

double search__result_utility(const tg_search_t *s, double winloss, double noresult) {
    return winloss * s->params.win_loss_utility_factor +
           noresult * s->params.no_result_utility_for_white;
}

double search__cdf_t3(double t) {
    /* Closed form for 3 degrees of freedom. */
    double r3 = sqrt(3.0);
    return 0.5 + (t / (r3 * (1.0 + t * t / 3.0)) + atan(t / r3)) / M_PI;
}

double search__cpuct(const tg_search_params_t *p, double total_child_weight) {
    return p->cpuct_exploration +
           p->cpuct_exploration_log *
               log((total_child_weight + p->cpuct_exploration_base) / p->cpuct_exploration_base);
}

double search__fpu_value(const tg_search_t *s, const search_node_t *node, bool is_root,
                         double policy_mass_visited, double *parent_utility, double *stdev_factor) {
    const tg_search_params_t *p = &s->params;
    int32_t visits = atomic_load_explicit(&node->visits, memory_order_acquire);
    double weight_sum = search__load(&node->weight_sum);
    double u = search__load(&node->utility_avg);
    double usq = search__load(&node->utility_sq_avg);

    double prior = p->cpuct_utility_stdev_prior;
    double stdev = prior;
    if (visits > 0 && weight_sum > 1.0) {
        double u2 = u * u;
        if (usq < u2) usq = u2;
        double pw = p->cpuct_utility_stdev_prior_weight;
        double var = ((u2 + prior * prior) * pw + usq * weight_sum) / (pw + weight_sum - 1.0) - u2;
        stdev = sqrt(var > 0.0 ? var : 0.0);
    }
    *stdev_factor = 1.0 + p->cpuct_utility_stdev_scale * (stdev / prior - 1.0);

    if (visits <= 0) u = node->nn_utility;
    if (p->fpu_parent_weight_by_visited_policy) {
        double a = pow(policy_mass_visited, p->fpu_parent_weight_by_visited_policy_pow);
        if (a > 1.0) a = 1.0;
        u = a * u + (1.0 - a) * node->nn_utility;
    } else if (p->fpu_parent_weight > 0.0) {
        u = p->fpu_parent_weight * node->nn_utility + (1.0 - p->fpu_parent_weight) * u;
    }
    *parent_utility = u;

    double red_max = is_root ? p->root_fpu_reduction_max : p->fpu_reduction_max;
    double loss_prop = is_root ? p->root_fpu_loss_prop : p->fpu_loss_prop;
    double radius = p->win_loss_utility_factor + p->static_score_utility_factor +
                    p->dynamic_score_utility_factor;
    double reduction = red_max * sqrt(policy_mass_visited);
    bool white = node->to_move == TG_WHITE;
    double fpu = white ? u - reduction : u + reduction;
    double loss = white ? -radius : radius;
    return fpu + (loss - fpu) * loss_prop;
}

double search__interpolate_early(const tg_search_t *s, double halflife, double early, double late) {
    int n = s->root_game.board.size;
    double halflives = (double)s->root_game.num_moves / halflife * 19.0 / (double)n;
    return late + (early - late) * pow(0.5, halflives);
}

double search__prune_noise_weight(const tg_search_params_t *p, int n, const double *self_u,
                                  const double *prior, double *w, double *wsq) {
    double u_sum = 0.0, w_sum = 0.0, prior_sum = 0.0;
    if (n <= 1) {
        for (int i = 0; i < n; i++)
            w_sum += w[i];
        return w_sum;
    }
    for (int i = 0; i < n; i++) {
        double old_w = w[i], new_w = old_w;
        double pr = prior[i] > 1e-30 ? prior[i] : 1e-30;
        if (w_sum > 0.0 && prior_sum > 0.0) {
            double gap = u_sum / w_sum - self_u[i];
            double lenient_share = 2.0 * w_sum * pr / prior_sum;
            if (gap > 0.0 && old_w > lenient_share) {
                double cut =
                    (old_w - lenient_share) * (1.0 - exp(-gap / p->noise_prune_utility_scale));
                if (cut > p->noise_pruning_cap) cut = p->noise_pruning_cap;
                new_w = old_w - cut;
                if (wsq) wsq[i] *= (new_w / old_w) * (new_w / old_w);
                w[i] = new_w;
            }
        }
        u_sum += self_u[i] * new_w;
        w_sum += new_w;
        prior_sum += pr;
    }
    return w_sum;
}

void search__recompute_stats(tg_search_t *s, search_node_t *node) {
    const tg_search_params_t *p = &s->params;
    /* Per-child snapshots (stack; 362 children at most). */
    double w[TG_SEARCH_MAX_MOVES], wsq[TG_SEARCH_MAX_MOVES], self_u[TG_SEARCH_MAX_MOVES];
    double prior[TG_SEARCH_MAX_MOVES];
    const search_node_t *kids[TG_SEARCH_MAX_MOVES];

    while (atomic_flag_test_and_set_explicit(&node->lock, memory_order_acquire)) {
    }
    int n_claimed = atomic_load_explicit(&node->num_claimed, memory_order_acquire);
    const search_edge_t *edges = s->edges + node->edges;
    bool white = node->to_move == TG_WHITE;
    int n = 0;
    int64_t visits = 1;
    double orig_total_w = 0.0;
    for (int i = 0; i < n_claimed; i++) {
        uint32_t ci = atomic_load_explicit(&edges[i].child, memory_order_acquire);
        if (ci == SEARCH_NODE_NONE) continue;
        const search_node_t *c = &s->nodes[ci];
        int32_t cv;
        double cw = search__child_weight(c, &cv);
        if (cv <= 0 || cw <= 0.0) continue;
        visits += cv;
        kids[n] = c;
        w[n] = cw;
        wsq[n] = search__load(&c->weight_sq_sum);
        double cu = search__load(&c->utility_avg);
        self_u[n] = white ? cu : -cu;
        prior[n] = edges[i].prior;
        orig_total_w += cw;
        n++;
    }
    double total_w = orig_total_w;
    /* Children come in edge order, which is prior order (created children are a prefix of the
     * prior-sorted edges). */
    if (p->use_noise_pruning && n > 0)
        total_w = search__prune_noise_weight(p, n, self_u, prior, w, wsq);

    if (p->value_weight_exponent > 0.0 && n > 1) {
        /* Children far below the average utility count for less (getValueChildWeights);
         * weights are renormalized to the same total. */
        double mean = 0.0;
        for (int i = 0; i < n; i++)
            mean += self_u[i] * w[i];
        mean /= total_w;
        double new_total = 0.0;
        for (int i = 0; i < n; i++) {
            double sd = sqrt(1e-8 + 1.0 / (1.5 * sqrt(w[i])));
            double f =
                pow(search__cdf_t3((self_u[i] - mean) / sd) + 1e-4, p->value_weight_exponent);
            double nw = w[i] * f;
            wsq[i] *= f * f;
            w[i] = nw;
            new_total += nw;
        }
        double scale = total_w / new_total;
        for (int i = 0; i < n; i++) {
            w[i] *= scale;
            wsq[i] *= scale * scale;
        }
    }

    double ws = 0.0, wsqs = 0.0, wl = 0.0, nr = 0.0, sm = 0.0, smsq = 0.0, ld = 0.0, u = 0.0,
           usq = 0.0;
    for (int i = 0; i < n; i++) {
        const search_node_t *c = kids[i];
        double cw = w[i];
        ws += cw;
        wsqs += wsq[i];
        wl += cw * search__load(&c->winloss_avg);
        nr += cw * search__load(&c->noresult_avg);
        sm += cw * search__load(&c->score_mean_avg);
        smsq += cw * search__load(&c->score_mean_sq_avg);
        ld += cw * search__load(&c->lead_avg);
        u += cw * search__load(&c->utility_avg);
        usq += cw * search__load(&c->utility_sq_avg);
    }

    /* Own evaluation with weight 1, its utility shifted by the subtree value bias. The node's
     * contribution to its bucket is (children's utility - own net utility) * W^exponent with
     * W the children's weight before value weighting (KataGo recomputeNodeStats). */
    double own_u = node->nn_utility;
    if (node->svb != 0 && p->subtree_value_bias_factor != 0.0) {
        if (total_w > 1e-10) {
            double bias_w = pow(orig_total_w, p->subtree_value_bias_weight_exponent);
            own_u += search__svb_update(s, node, (u / ws - node->nn_utility) * bias_w, bias_w);
        } else {
            own_u += search__svb_bias(s, node);
        }
    }
    ws += 1.0;
    wsqs += 1.0;
    wl += node->nn_winloss;
    nr += node->nn_noresult;
    sm += node->nn_score_mean;
    smsq += node->nn_score_mean_sq;
    ld += node->nn_lead;
    u += own_u;
    usq += own_u * own_u;

    search__store(&node->winloss_avg, wl / ws);
    search__store(&node->noresult_avg, nr / ws);
    search__store(&node->score_mean_avg, sm / ws);
    search__store(&node->score_mean_sq_avg, smsq / ws);
    search__store(&node->lead_avg, ld / ws);
    search__store(&node->utility_avg, u / ws);
    search__store(&node->utility_sq_avg, usq / ws);
    search__store(&node->weight_sq_sum, wsqs);
    search__store(&node->weight_sum, ws);
    atomic_store_explicit(&node->visits, (int32_t)visits, memory_order_release);
    atomic_flag_clear_explicit(&node->lock, memory_order_release);
}
