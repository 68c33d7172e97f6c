/* search_results.c: what a finished search reports (algorithms.md §2.7): root values and
 * children, KataGo's play-selection values (policy-target pruning against the reference
 * child, LCB bonus, pruning of tiny values), the policy target, the chosen move with
 * temperature, a principal variation, and KataGo's cleanup-before-pass for GTP.
 *
 * All functions run on the owner thread after tg_search_run; they read the tree without
 * locks (no search is running) and allocate nothing (stack buffers of TG_SEARCH_MAX_MOVES). */
#include <math.h>
#include <string.h>

#include "search/search_internal.h"

static bool search__has_root(const tg_search_t *s) {
    return atomic_load(&s->nodes_used) > 0 &&
           atomic_load(&s->nodes[0].state) == SEARCH_NODE_EXPANDED &&
           atomic_load(&s->nodes[0].visits) > 0;
}

static void search__node_values(const search_node_t *n, tg_search_values_t *v) {
    double wl = search__load(&n->winloss_avg), nr = search__load(&n->noresult_avg);
    if (wl > 1.0) wl = 1.0;
    if (wl < -1.0) wl = -1.0;
    if (nr < 0.0) nr = 0.0;
    if (nr > 1.0 - fabs(wl)) nr = 1.0 - fabs(wl);
    v->white_winloss = wl;
    v->no_result = nr;
    v->white_win = fmax(0.0, 0.5 * (wl + 1.0 - nr));
    v->white_loss = fmax(0.0, 0.5 * (-wl + 1.0 - nr));
    double sm = search__load(&n->score_mean_avg), smsq = search__load(&n->score_mean_sq_avg);
    v->white_score_mean = sm;
    v->white_score_stdev = smsq > sm * sm ? sqrt(smsq - sm * sm) : 0.0;
    v->white_lead = search__load(&n->lead_avg);
    v->utility = search__load(&n->utility_avg);
    v->visits = atomic_load(&n->visits);
    v->weight = search__load(&n->weight_sum);
}

int tg_search_root_values(const tg_search_t *s, tg_search_values_t *out) {
    if (!search__has_root(s)) return TG_ESTATE;
    search__node_values(&s->nodes[0], out);
    return 0;
}

const tg_nn_output_t *tg_search_root_nn(const tg_search_t *s) {
    return s->has_root_nn ? &s->root_nn : NULL;
}

int tg_search_root_children(const tg_search_t *s, tg_search_child_t *out, int cap) {
    if (!search__has_root(s)) return 0;
    const search_node_t *root = &s->nodes[0];
    const search_edge_t *e = s->edges + root->edges;
    int claimed = atomic_load(&root->num_claimed), k = 0;
    for (int i = 0; i < claimed && k < cap; i++) {
        uint32_t ci = atomic_load(&e[i].child);
        if (ci == SEARCH_NODE_NONE) continue;
        const search_node_t *c = &s->nodes[ci];
        if (atomic_load(&c->state) == SEARCH_NODE_NEW || atomic_load(&c->weightless)) continue;
        out[k].loc = e[i].loc;
        out[k].prior = e[i].prior;
        search__node_values(c, &out[k].values);
        out[k].visits = out[k].values.visits;
        out[k].weight = out[k].values.weight;
        k++;
    }
    return k;
}

/* LCB of a root child from the root player's view, with KataGo's prior towards the maximum
 * variance at low weight (getSelfUtilityLCBAndRadius). */
static void search__child_lcb(const tg_search_t *s, const search_node_t *c, bool white, double *lcb,
                              double *radius) {
    const tg_search_params_t *p = &s->params;
    double range = p->win_loss_utility_factor + p->static_score_utility_factor +
                   p->dynamic_score_utility_factor;
    *radius = 2.0 * range * p->lcb_stdevs;
    *lcb = -*radius;
    int32_t visits = atomic_load(&c->visits);
    double w = search__load(&c->weight_sum), wsq = search__load(&c->weight_sq_sum);
    if (visits <= 0 || w <= 0.0 || wsq <= 0.0) return;
    double u = search__load(&c->utility_avg), usq = search__load(&c->utility_sq_avg);
    double ess = w * w / wsq;
    double prior_w = w / (ess * ess * ess);
    if (usq < u * u + 1e-8) usq = u * u + 1e-8;
    usq = (usq * w + (usq + range * range) * prior_w) / (w + prior_w);
    w += prior_w;
    wsq += prior_w * prior_w;
    ess = w * w / wsq;
    double self = white ? u : -u;
    double var = usq - u * u;
    double r = sqrt(var / ess) * p->lcb_stdevs;
    *lcb = self - r;
    *radius = r;
}

int tg_search_play_selection_values(const tg_search_t *s, bool use_lcb,
                                    double scale_max_to_at_least, tg_loc_t *locs, double *values) {
    if (!search__has_root(s)) return TG_ESTATE;
    const tg_search_params_t *p = &s->params;
    const search_node_t *root = &s->nodes[0];
    const search_edge_t *e = s->edges + root->edges;
    const search_node_t *kids[TG_SEARCH_MAX_MOVES];
    double priors[TG_SEARCH_MAX_MOVES];
    bool white = root->to_move == TG_WHITE;
    int claimed = atomic_load(&root->num_claimed), n = 0;
    double total_w = 0.0;
    for (int i = 0; i < claimed; i++) {
        uint32_t ci = atomic_load(&e[i].child);
        if (ci == SEARCH_NODE_NONE) continue;
        const search_node_t *c = &s->nodes[ci];
        if (atomic_load(&c->state) == SEARCH_NODE_NEW) continue;
        double w = search__child_weight(c, NULL);
        /* A move root symmetry pruning disallowed (only possible on a reused root). */
        if (s->root_noised_policy[search__pos(e[i].loc, s->root_game.board.size)] < 0.0f) w = 0.0;
        kids[n] = c;
        priors[n] = e[i].prior;
        locs[n] = e[i].loc;
        values[n] = w;
        total_w += w;
        n++;
    }

    /* Reference child (§2.7): the most-weighted child, with a child's weight discounted at tiny
     * visit counts (w * (n - 1) / n) plus a small policy term, so a single lucky visit cannot
     * become the reference. */
    int best = 0;
    double best_goodness = -1e30;
    for (int i = 0; i < n; i++) {
        int32_t cv = atomic_load(&kids[i]->visits);
        double goodness =
            values[i] * (double)(cv > 1 ? cv - 1 : 0) / (double)(cv > 1 ? cv : 1) + 2.0 * priors[i];
        if (goodness > best_goodness) {
            best_goodness = goodness;
            best = i;
        }
    }
    double best_w = n > 0 ? values[best] : 0.0;

    /* Policy target pruning: remove weight PUCT would not have wanted in hindsight. */
    if (n > 0) {
        double parent_u, stdev_factor;
        (void)search__fpu_value(s, root, true, 1.0, &parent_u, &stdev_factor);
        double scaling = search__cpuct(p, total_w) * stdev_factor * sqrt(total_w + 0.01);
        double bu = search__load(&kids[best]->utility_avg);
        double best_value = scaling * priors[best] / (1.0 + values[best]) + (white ? bu : -bu);
        for (int i = 0; i < n; i++) {
            if (i == best) continue;
            double w = values[i];
            if (w <= 0.0) {
                values[i] = 0.0;
                continue;
            }
            double u = search__load(&kids[i]->utility_avg);
            double explore = best_value - (white ? u : -u);
            double wanted = 1e100;
            if (explore > 0.0) {
                wanted = scaling * priors[i] / explore - 1.0;
                if (wanted < 0.0) wanted = 0.0;
            }
            values[i] = ceil(w < wanted ? w : wanted);
        }
    }

    /* LCB: the child with the best lower bound is boosted over every child it beats. */
    if (use_lcb && n > 0) {
        double lcb[TG_SEARCH_MAX_MOVES], rad[TG_SEARCH_MAX_MOVES];
        double best_lcb = -1e10;
        int best_lcb_i = -1;
        for (int i = 0; i < n; i++) {
            search__child_lcb(s, kids[i], white, &lcb[i], &rad[i]);
            if (values[i] > 0.0 && values[i] >= p->min_visit_prop_for_lcb * best_w &&
                lcb[i] > best_lcb) {
                best_lcb = lcb[i];
                best_lcb_i = i;
            }
        }
        if (best_lcb_i >= 0) {
            double adjusted = values[best_lcb_i];
            for (int i = 0; i < n; i++) {
                if (i == best_lcb_i) continue;
                double excess = best_lcb - lcb[i];
                if (excess < 0.0) continue;
                double f = (rad[i] + excess) / (rad[i] + 0.20 * excess);
                double lbound = f * f * values[i];
                if (lbound > adjusted) adjusted = lbound;
            }
            values[best_lcb_i] = adjusted;
        }
    }

    /* No children: the root policy itself. */
    if (n == 0) {
        int size = s->root_game.board.size;
        for (int pos = 0; pos <= size * size; pos++) {
            float pr = s->root_noised_policy[pos];
            if (pr < 0.0f) continue;
            locs[n] = search__loc(pos, size);
            values[n] = pr;
            n++;
        }
    }
    if (n == 0) return TG_ESTATE;

    double max_v = 0.0;
    for (int i = 0; i < n; i++)
        if (values[i] > max_v) max_v = values[i];
    if (max_v <= 1e-50) return TG_ESTATE;
    double subtract = fmin(p->chosen_move_subtract, max_v / 64.0);
    double prune = fmin(p->chosen_move_prune, max_v / 64.0);
    double new_max = max_v - subtract;
    for (int i = 0; i < n; i++) {
        if (values[i] < prune) {
            values[i] = 0.0;
        } else {
            values[i] -= subtract;
            if (values[i] < 0.0) values[i] = 0.0;
        }
    }
    if (new_max < scale_max_to_at_least)
        for (int i = 0; i < n; i++)
            values[i] *= scale_max_to_at_least / new_max;
    return n;
}

int tg_search_policy_target(const tg_search_t *s, float *out) {
    tg_loc_t locs[TG_SEARCH_MAX_MOVES];
    double vals[TG_SEARCH_MAX_MOVES];
    int n = tg_search_play_selection_values(s, s->params.use_lcb_for_selection, 0.0, locs, vals);
    if (n < 0) return n;
    int size = s->root_game.board.size;
    memset(out, 0, sizeof(float) * (size_t)(size * size + 1));
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += vals[i];
    if (!(sum > 0.0)) return TG_ESTATE;
    for (int i = 0; i < n; i++)
        out[search__pos(locs[i], size)] = (float)(vals[i] / sum);
    return 0;
}

double tg_search_chosen_move_temperature(const tg_search_t *s) {
    const tg_search_params_t *p = &s->params;
    return search__interpolate_early(s, p->chosen_move_temperature_halflife,
                                     p->chosen_move_temperature_early, p->chosen_move_temperature);
}

int tg_search_choose_move(const tg_search_t *s, double temperature, bool use_lcb, tg_rng_t *rng,
                          tg_loc_t *out) {
    tg_loc_t locs[TG_SEARCH_MAX_MOVES];
    double vals[TG_SEARCH_MAX_MOVES];
    int n = tg_search_play_selection_values(s, use_lcb, 0.0, locs, vals);
    if (n < 0) return n;
    double max_v = 0.0;
    int best = 0;
    for (int i = 0; i < n; i++) {
        if (vals[i] > max_v) {
            max_v = vals[i];
            best = i;
        }
    }
    if (temperature <= 1e-4) {
        *out = locs[best];
        return 0;
    }
    /* value^(1/T), computed relative to the maximum for stability. */
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        vals[i] = vals[i] <= 0.0 ? 0.0 : exp((log(vals[i]) - log(max_v)) / temperature);
        sum += vals[i];
    }
    double r = tg_rng_uniform(rng) * sum;
    for (int i = 0; i < n; i++) {
        if (r < vals[i]) {
            *out = locs[i];
            return 0;
        }
        r -= vals[i];
    }
    *out = locs[best];
    return 0;
}

int tg_search_pv(const tg_search_t *s, tg_loc_t *out, int max) {
    if (max <= 0 || !search__has_root(s)) return 0;
    tg_loc_t locs[TG_SEARCH_MAX_MOVES];
    double vals[TG_SEARCH_MAX_MOVES];
    int n = tg_search_play_selection_values(s, s->params.use_lcb_for_selection, 0.0, locs, vals);
    if (n <= 0) return 0;
    int best = 0;
    for (int i = 1; i < n; i++)
        if (vals[i] > vals[best]) best = i;
    int len = 0;
    out[len++] = locs[best];
    /* Find that child, then follow the most-weighted children. */
    const search_node_t *node = &s->nodes[0];
    tg_loc_t want = locs[best];
    while (len <= max) {
        const search_edge_t *e = s->edges + node->edges;
        int claimed = atomic_load(&node->num_claimed);
        const search_node_t *next = NULL;
        double next_w = 0.0;
        tg_loc_t next_loc = TG_LOC_NULL;
        for (int i = 0; i < claimed; i++) {
            uint32_t ci = atomic_load(&e[i].child);
            if (ci == SEARCH_NODE_NONE) continue;
            const search_node_t *c = &s->nodes[ci];
            double w = search__child_weight(c, NULL);
            if (want != TG_LOC_NULL ? e[i].loc == want : w > next_w) {
                next = c;
                next_w = w;
                next_loc = e[i].loc;
                if (want != TG_LOC_NULL) break;
            }
        }
        if (!next) break;
        if (want == TG_LOC_NULL) {
            if (len >= max) break;
            out[len++] = next_loc;
        }
        want = TG_LOC_NULL;
        if (atomic_load(&next->state) != SEARCH_NODE_EXPANDED) break;
        node = next;
    }
    return len;
}

tg_loc_t tg_search_cleanup_before_pass(const tg_game_t *g, tg_color_t pla, tg_loc_t mv) {
    const tg_rules_t *r = &g->rules;
    if (mv != TG_LOC_PASS || r->scoring != TG_SCORING_AREA || r->friendly_pass_ok || r->has_button)
        return mv;
    const tg_board_t *b = &g->board;
    uint8_t area[TG_BOARD_CELLS];
    tg_board_calc_area(b, area, false, false, false, r->multi_stone_suicide_legal);
    tg_color_t opp = tg_color_opp(pla);
    static const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
    for (int y = 0; y < b->size; y++) {
        for (int x = 0; x < b->size; x++) {
            tg_loc_t loc = tg_loc(x, y);
            if (b->color[loc] != TG_EMPTY || area[loc] != pla) continue;
            bool touches = false;
            for (int k = 0; k < 4 && !touches; k++) {
                int nx = x + dx[k], ny = y + dy[k];
                touches = nx >= 0 && ny >= 0 && nx < b->size && ny < b->size &&
                          b->color[tg_loc(nx, ny)] == opp;
            }
            if (touches && tg_game_is_legal(g, loc, pla)) mv = loc;
        }
    }
    return mv;
}
