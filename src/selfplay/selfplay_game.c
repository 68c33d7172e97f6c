/* selfplay_game.c: plays one self-play game and records every turn (algorithms.md §1.5, §2.8,
 * §3.1).
 *
 * Game setup: board size by weight; ko / scoring / tax / suicide / button drawn from their lists;
 * per-game draw value and no-result utility; komi = the fair komi for the empty board (bisection
 * over komi with compensate_komi_visits-visit searches, selfplay_lead.c; about 10-16 searches)
 * plus noise scaled by the board width, rounded randomly to a multiple of 0.5. Opening:
 * floor(Exp(1) * 0.04 * area) moves sampled from the raw policy at temperature 1 (not recorded as
 * turns, but they are real moves of the game and the SGF).
 *
 * Per move: with probability cheap_search_prob a cheap search (tree kept, no exploration,
 * weight 0), else a full search (tree cleared, all root exploration, weight 1, or reduced visits
 * and weight when the last turns' root values say the game is decided). The move is chosen with
 * the temperature schedule and without LCB; the policy target uses LCB. Each turn stores the
 * net inputs for the row, the policy target (int16, scaled so the max is >= 10, capped at
 * 30000), Q values of the root children, search and raw-net values, surprise and entropies.
 *
 * Cost: one search per move; one feature fill per turn (ladders and area); no allocation after
 * the recorder is built (the search compacts its own arenas between moves). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/features.h"
#include "selfplay/selfplay_internal.h"

int selfplay__recorder_init(selfplay_recorder_t *r, int len, int max_turns) {
    memset(r, 0, sizeof(*r));
    r->len = len;
    r->area = len * len;
    r->policy_len = len * len + 1;
    r->packed_len = (len * len + 7) / 8;
    r->cap_turns = max_turns;
    size_t t = (size_t)max_turns;
    r->turns = calloc(t, sizeof(*r->turns));
    r->policy = calloc(t * (size_t)r->policy_len, sizeof(int16_t));
    r->qvalues = calloc(t * 3 * (size_t)r->policy_len, sizeof(int16_t));
    r->packed = calloc(t * TRAINROWS_BIN_CHANNELS * (size_t)r->packed_len, 1);
    r->stones = calloc((t + 1) * (size_t)r->area, 1);
    r->spatial = calloc((size_t)TRAINROWS_BIN_CHANNELS * (size_t)r->area, sizeof(float));
    if (!r->turns || !r->policy || !r->qvalues || !r->packed || !r->stones || !r->spatial) {
        selfplay__recorder_free(r);
        return TG_ENOMEM;
    }
    return 0;
}

void selfplay__recorder_free(selfplay_recorder_t *r) {
    free(r->turns);
    free(r->policy);
    free(r->qvalues);
    free(r->packed);
    free(r->stones);
    free(r->spatial);
    memset(r, 0, sizeof(*r));
}

void selfplay__result_string(const tg_game_t *g, char *buf, size_t cap) {
    if (g->no_result)
        snprintf(buf, cap, "Void");
    else if (g->winner == TG_WHITE)
        snprintf(buf, cap, "W+%g", fabs(g->final_score));
    else if (g->winner == TG_BLACK)
        snprintf(buf, cap, "B+%g", fabs(g->final_score));
    else
        snprintf(buf, cap, "0");
}

/* ---- Randomization helpers ---------------------------------------------------------------- */

/* Normal draw clipped to +-limit standard deviations. */
static double selfplay__normal_clipped(tg_rng_t *rng, double limit) {
    double z = tg_rng_normal(rng);
    return z > limit ? limit : z < -limit ? -limit : z;
}

/* Rounds x to a neighbouring multiple of 0.5 with linear probabilities. */
static double selfplay__round_half_random(tg_rng_t *rng, double x) {
    double lo = floor(x * 2.0) / 2.0;
    double frac = (x - lo) * 2.0; /* in [0, 1) */
    return tg_rng_uniform(rng) < frac ? lo + 0.5 : lo;
}

static int selfplay__pick_size(const tg_selfplay_params_t *p, tg_rng_t *rng) {
    double total = 0.0;
    for (int i = 0; i < p->num_sizes; i++)
        total += p->size_weights[i];
    double u = tg_rng_uniform(rng) * total;
    for (int i = 0; i < p->num_sizes; i++) {
        if (u < p->size_weights[i]) return p->sizes[i];
        u -= p->size_weights[i];
    }
    return p->sizes[p->num_sizes - 1];
}

static tg_rules_t selfplay__pick_rules(const tg_selfplay_params_t *p, tg_rng_t *rng) {
    tg_rules_t r = tg_rules_default();
    r.ko = p->ko[tg_rng_below(rng, (uint32_t)p->num_ko)];
    r.scoring = p->scoring[tg_rng_below(rng, (uint32_t)p->num_scoring)];
    r.tax = p->tax[tg_rng_below(rng, (uint32_t)p->num_tax)];
    r.multi_stone_suicide_legal = p->suicide[tg_rng_below(rng, (uint32_t)p->num_suicide)];
    bool button = p->button[tg_rng_below(rng, (uint32_t)p->num_button)];
    r.has_button = r.scoring == TG_SCORING_AREA && button;
    r.white_handicap_bonus = TG_WHB_0;
    r.friendly_pass_ok = false;
    return r;
}

/* One raw-net evaluation of g under a random symmetry. */
static int selfplay__eval_raw(selfplay_game_ctx_t *ctx, const tg_search_evaluator_t *ev,
                              const tg_game_t *g, tg_nn_output_t *out, tg_err_t *err) {
    const tg_game_t *games[1] = {g};
    int syms[1] = {(int)tg_rng_below(&ctx->rng, 8)};
    return ev->evaluate(ev->ctx, 1, games, syms, out, err);
}

/* Komi that compensate_komi_visits-visit searches find even for g (from komi), rounded
 * randomly to a neighbouring multiple of 0.5 and clipped, as KataGo's adjustKomiToEven. */
static int selfplay__fair_komi(selfplay_game_ctx_t *ctx, const tg_game_t *g, double komi,
                               double *out, tg_err_t *err) {
    tg_game_t *s = &ctx->scratch;
    int area = g->board.size * g->board.size;
    *s = *g;
    tg_game_set_komi(s, (float)selfplay__round_clip_komi(komi, area, false));
    double even;
    int rc = selfplay__search_even_komi(ctx, &ctx->game_search, s,
                                        ctx->params->compensate_komi_visits, &even, NULL, err);
    if (rc) return rc;
    *out = selfplay__round_clip_komi(selfplay__round_half_random(&ctx->rng, even), area, false);
    return 0;
}

/* A move sampled from the raw policy at temperature T, pass excluded (opening moves). With
 * probability 0.0002 a uniformly random legal move instead. */
static int selfplay__policy_move(selfplay_game_ctx_t *ctx, const tg_search_evaluator_t *ev,
                                 const tg_game_t *g, double temperature, tg_loc_t *out,
                                 tg_err_t *err) {
    if (tg_rng_uniform(&ctx->rng) < 0.0002) {
        *out = tg_game_random_move(g, &ctx->rng);
        return 0;
    }
    tg_nn_output_t o;
    int rc = selfplay__eval_raw(ctx, ev, g, &o, err);
    if (rc) return rc;
    int n = g->board.size;
    double w[TG_BOARD_MAX * TG_BOARD_MAX], sum = 0.0;
    for (int i = 0; i < n * n; i++) {
        double p = o.policy[i];
        w[i] = p > 0.0 && tg_game_is_legal(g, tg_loc(i % n, i / n), g->to_move)
                   ? pow(p, 1.0 / temperature)
                   : 0.0;
        sum += w[i];
    }
    *out = TG_LOC_PASS;
    if (!(sum > 0.0)) return 0;
    double u = tg_rng_uniform(&ctx->rng) * sum;
    for (int i = 0; i < n * n; i++) {
        if (w[i] <= 0.0) continue;
        *out = tg_loc(i % n, i / n);
        if (u < w[i]) break;
        u -= w[i];
    }
    return 0;
}

/* ---- Turn recording ---------------------------------------------------------------------------
 */

static int selfplay__data_pos(tg_loc_t loc, int board_size, int len) {
    if (loc == TG_LOC_PASS) return len * len;
    (void)board_size;
    return tg_loc_y(loc) * len + tg_loc_x(loc);
}

/* Stochastic rounding of x to an integer, clamped to +-lim. */
static int selfplay__round_stoch(tg_rng_t *rng, double x, int lim) {
    double f = floor(x);
    int v = (int)f + (tg_rng_uniform(rng) < x - f ? 1 : 0);
    return v > lim ? lim : v < -lim ? -lim : v;
}

static void selfplay__store_stones(selfplay_recorder_t *r, int idx, const tg_board_t *b) {
    int8_t *st = r->stones + (size_t)idx * r->area;
    memset(st, 0, (size_t)r->area);
    for (int y = 0; y < b->size; y++)
        for (int x = 0; x < b->size; x++) {
            uint8_t c = b->color[tg_loc(x, y)];
            st[y * r->len + x] = c == TG_BLACK ? 1 : c == TG_WHITE ? -1 : 0;
        }
}

static int selfplay__record_turn(selfplay_game_ctx_t *ctx, bool full, float weight, double draw,
                                 tg_err_t *err) {
    selfplay_recorder_t *r = &ctx->rec;
    const tg_game_t *g = &ctx->game;
    tg_search_t *s = ctx->search;
    int idx = r->num_turns, L = r->len, n = g->board.size;
    selfplay_turn_t *t = &r->turns[idx];
    memset(t, 0, sizeof(*t));
    t->pla = (uint8_t)g->to_move;
    t->full = full;
    t->turn_number = g->num_moves;
    t->weight = weight;
    t->self_komi = tg_game_self_komi(g, g->to_move, draw);
    t->area_scoring = g->rules.scoring == TG_SCORING_AREA || g->encore_phase == 2;
    t->white_bonus = g->white_bonus_score;

    tg_search_values_t v;
    int rc = tg_search_root_values(s, &v);
    if (rc) return tg_err_set(err, rc, "selfplay: search has no root values");
    t->visits = v.visits;
    t->white_win = (float)v.white_win;
    t->white_loss = (float)v.white_loss;
    t->white_nr = (float)v.no_result;
    t->white_score = (float)v.white_score_mean;
    const tg_nn_output_t *raw = tg_search_root_nn(s);
    double raw_entropy = 0.0;
    if (raw) {
        t->raw_white_win = raw->white_win;
        t->raw_white_loss = raw->white_loss;
        t->raw_white_nr = raw->no_result;
        t->raw_white_score = raw->white_score_mean;
        for (int i = 0; i <= n * n; i++) {
            double p = i == n * n ? raw->policy_pass : raw->policy[i];
            if (p > 0.0) raw_entropy -= p * log(p);
        }
    }
    t->policy_entropy = (float)raw_entropy;

    /* Policy target: play-selection values with LCB, scaled to int16. */
    tg_loc_t locs[TG_SEARCH_MAX_MOVES];
    double vals[TG_SEARCH_MAX_MOVES];
    int k = tg_search_play_selection_values(s, true, 10.0, locs, vals);
    if (k < 0) return tg_err_set(err, k, "selfplay: no policy target");
    double maxv = 0.0, sum = 0.0;
    for (int i = 0; i < k; i++) {
        if (vals[i] > maxv) maxv = vals[i];
        sum += vals[i];
    }
    double scale = maxv > 30000.0 ? 30000.0 / maxv : 1.0;
    int16_t *pol = r->policy + (size_t)idx * r->policy_len;
    memset(pol, 0, sizeof(int16_t) * (size_t)r->policy_len);
    for (int i = 0; i < k; i++) {
        double q = floor(vals[i] * scale + 0.5);
        pol[selfplay__data_pos(locs[i], n, L)] = (int16_t)(q > 30000.0 ? 30000.0 : q);
    }

    /* Root children: priors (for the surprise) and Q values. */
    tg_search_child_t kids[TG_SEARCH_MAX_MOVES];
    int nk = tg_search_root_children(s, kids, TG_SEARCH_MAX_MOVES);
    int16_t *qv = r->qvalues + (size_t)idx * 3 * r->policy_len;
    memset(qv, 0, sizeof(int16_t) * 3 * (size_t)r->policy_len);
    double sign = g->to_move == TG_WHITE ? 1.0 : -1.0;
    for (int i = 0; i < nk; i++) {
        if (kids[i].visits <= 0) continue;
        int pos = selfplay__data_pos(kids[i].loc, n, L);
        double wl = sign * kids[i].values.white_winloss;
        double sc = sign * kids[i].values.white_score_mean;
        sc = sc > 421.0 ? 421.0 : sc < -421.0 ? -421.0 : sc;
        qv[pos] = (int16_t)selfplay__round_stoch(&ctx->rng, wl * 32000.0, 32000);
        qv[r->policy_len + pos] = (int16_t)selfplay__round_stoch(&ctx->rng, sc * 60.0, 32000);
        qv[2 * r->policy_len + pos] = (int16_t)(kids[i].visits > 32000 ? 32000 : kids[i].visits);
    }
    double surprise = 0.0, sentropy = 0.0;
    if (sum > 0.0) {
        for (int i = 0; i < k; i++) {
            double tp = vals[i] / sum;
            if (tp <= 0.0) continue;
            sentropy -= tp * log(tp);
            double prior = 1e-30;
            for (int j = 0; j < nk; j++)
                if (kids[j].loc == locs[i]) prior = kids[j].prior > 1e-30 ? kids[j].prior : 1e-30;
            surprise += tp * log(tp / prior);
        }
    }
    t->policy_surprise = (float)(surprise > 0.0 ? surprise : 0.0);
    t->search_entropy = (float)sentropy;

    /* Net inputs of the row, with the game's draw value. */
    tg_nn_input_params_t ip = tg_nn_input_params_default();
    ip.draw_equivalent_wins_for_white = draw;
    tg_nn_fill_features_ex(g, &ip, L, r->spatial, t->global);
    uint8_t *pk = r->packed + (size_t)idx * TRAINROWS_BIN_CHANNELS * r->packed_len;
    for (int c = 0; c < TRAINROWS_BIN_CHANNELS; c++)
        trainrows_pack_bits(r->spatial + (size_t)c * r->area, r->area, pk + c * r->packed_len);
    selfplay__store_stones(r, idx, &g->board);
    r->num_turns++;
    return 0;
}

/* ---- The game ----------------------------------------------------------------------------- */

int selfplay__play_game(selfplay_game_ctx_t *ctx, const tg_search_evaluator_t *ev,
                        selfplay_final_t *fin, tg_err_t *err) {
    const tg_selfplay_params_t *p = ctx->params;
    tg_rng_t *rng = &ctx->rng;
    tg_game_t *g = &ctx->game;
    selfplay_recorder_t *rec = &ctx->rec;
    int rc;

    int size = selfplay__pick_size(p, rng);
    tg_rules_t rules = selfplay__pick_rules(p, rng);
    int area = size * size;
    double sqrt_a = (double)size;
    rules.komi = 0.0f;
    tg_game_init(g, size, &rules);

    /* Per-game utilities and the game's full-search params (also the komi probes' base). */
    double draw = 0.5 + p->draw_rand_radius * (2.0 * tg_rng_uniform(rng) - 1.0);
    draw = draw < 0.0 ? 0.0 : draw > 1.0 ? 1.0 : draw;
    double nr_util = p->no_result_stdev * selfplay__normal_clipped(rng, 3.0);
    tg_search_params_t full = p->search;
    full.draw_equivalent_wins_for_white = draw;
    full.no_result_utility_for_white = nr_util;
    full.max_visits = p->max_visits;
    ctx->game_search = full;
    tg_search_set_evaluator(ctx->search, ev);

    /* Komi (§1.5): fair for the empty board, then noise scaled by the board width. */
    double komi = p->komi_base;
    if (p->komi_auto && !ctx->random_net) {
        rc = selfplay__fair_komi(ctx, g, komi, &komi, err);
        if (rc) return rc;
    }
    double kstd = tg_rng_uniform(rng) < p->komi_big_stdev_prob ? p->komi_big_stdev : p->komi_stdev;
    komi += kstd * sqrt_a / 19.0 * selfplay__normal_clipped(rng, 3.0);
    if (ctx->random_net && p->fancy_komi_varying)
        komi += 1.5 * sqrt_a * selfplay__normal_clipped(rng, 2.5);
    double clip = (double)(area + 20);
    komi = selfplay__round_half_random(rng, komi);
    komi = komi > clip ? clip : komi < -clip ? -clip : komi;
    tg_game_set_komi(g, (float)komi);

    /* Opening from the raw policy. */
    double e1 = -log(1.0 - tg_rng_uniform(rng));
    int init_moves = (int)floor(e1 * p->policy_init_area_prop * area);
    for (int i = 0; i < init_moves && !g->game_over; i++) {
        tg_loc_t loc;
        rc = selfplay__policy_move(ctx, ev, g, p->policy_init_temperature, &loc, err);
        if (rc) return rc;
        rc = tg_game_play(g, loc, g->to_move, err);
        if (rc) return rc;
    }
    if (init_moves > 0 && !g->game_over && p->komi_auto && !ctx->random_net &&
        tg_rng_uniform(rng) < p->compensate_after_policy_init_prob) {
        rc = selfplay__fair_komi(ctx, g, komi, &komi, err);
        if (rc) return rc;
        komi = komi > clip ? clip : komi < -clip ? -clip : komi;
        tg_game_set_komi(g, (float)komi);
    }
    int start_moves = g->num_moves;

    /* Search setup. */
    tg_search_params_t cheap = full;
    tg_search_params_make_cheap(&cheap, p->cheap_visits);
    bool end_pass_alive = tg_rng_uniform(rng) < p->end_if_all_pass_alive_prob;
    bool hit_limit = false;
    rec->num_turns = 0;
    if (!g->game_over) {
        rc = tg_search_set_position(ctx->search, g, err);
        if (rc) return rc;
    }

    while (!g->game_over) {
        if (p->hooks.before_move) p->hooks.before_move(p->hooks.ctx);
        if (ctx->stop && atomic_load(ctx->stop)) return 1;
        if (rec->num_turns >= rec->cap_turns || g->num_moves >= p->max_moves_per_game ||
            g->num_moves >= TG_GAME_MAX_MOVES - 1) {
            hit_limit = true;
            break;
        }
        if (end_pass_alive && tg_game_end_if_all_pass_alive(g)) break;

        bool is_full = !(tg_rng_uniform(rng) < p->cheap_search_prob);
        float weight = is_full ? 1.0f : 0.0f;
        if (is_full) {
            int64_t visits = p->max_visits;
            int lb = p->reduce_visits_lookback;
            if (p->reduce_visits && lb > 0 && rec->num_turns >= lb) {
                double mn = 1e9, mx = -1e9;
                for (int i = rec->num_turns - lb; i < rec->num_turns; i++) {
                    double wl = rec->turns[i].white_win - rec->turns[i].white_loss;
                    mn = wl < mn ? wl : mn;
                    mx = wl > mx ? wl : mx;
                }
                double x = mn > -mx ? mn : -mx;
                if (x > p->reduce_visits_threshold) {
                    double q =
                        (x - p->reduce_visits_threshold) / (1.0 - p->reduce_visits_threshold);
                    q = q > 1.0 ? 1.0 : q * q;
                    visits = (int64_t)llround((double)p->max_visits +
                                              q * (double)(p->reduced_visits_min - p->max_visits));
                    if (visits < p->reduced_visits_min) visits = p->reduced_visits_min;
                    weight = (float)(1.0 + q * (p->reduced_visits_weight - 1.0));
                }
            }
            full.max_visits = visits;
            rc = tg_search_set_params(ctx->search, &full, err);
            if (rc) return rc;
            tg_search_clear_tree(ctx->search);
        } else {
            rc = tg_search_set_params(ctx->search, &cheap, err);
            if (rc) return rc;
        }
        rc = tg_search_run(ctx->search, err);
        if (rc) return rc;
        rc = selfplay__record_turn(ctx, is_full, weight, draw, err);
        if (rc) return rc;

        tg_loc_t loc;
        double temp = tg_search_chosen_move_temperature(ctx->search);
        rc = tg_search_choose_move(ctx->search, temp, false, rng, &loc);
        if (rc) return tg_err_set(err, rc, "selfplay: search chose no move");
        tg_color_t pla = g->to_move;
        rc = tg_game_play(g, loc, pla, err);
        if (rc) return rc;
        if (!g->game_over) {
            rc = tg_search_make_move(ctx->search, loc, err);
            if (rc) return rc;
        }
    }
    if (!g->game_over) {
        tg_game_end_and_score(g, NULL);
        hit_limit = true;
    }
    selfplay__store_stones(rec, rec->num_turns, &g->board);

    /* Final outcome and spatial targets (White's view). */
    memset(fin, 0, sizeof(*fin));
    fin->board_size = size;
    fin->hit_turn_limit = hit_limit;
    fin->no_result = g->no_result;
    fin->start_moves = start_moves;
    fin->final_white_bonus = g->white_bonus_score;
    fin->hash0 = tg_rng_u64(rng);
    fin->hash1 = tg_rng_u64(rng);
    if (g->no_result) {
        fin->white_nr = 1.0f;
    } else {
        if (g->winner == TG_WHITE)
            fin->white_win = 1.0f;
        else if (g->winner == TG_BLACK)
            fin->white_loss = 1.0f;
        else {
            fin->white_win = (float)draw;
            fin->white_loss = (float)(1.0 - draw);
        }
        double adj = tg_rules_result_is_integer(&g->rules) ? draw - 0.5 : 0.0;
        fin->white_score = (float)(g->final_score + adj);
        fin->has_ownership = true;
        uint8_t own[TG_BOARD_CELLS], fullarea[TG_BOARD_CELLS];
        tg_game_area_now(g, own);
        tg_board_calc_area(&g->board, fullarea, true, true, true,
                           g->rules.multi_stone_suicide_legal);
        int L = rec->len;
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                tg_loc_t l = tg_loc(x, y);
                int o = own[l] == TG_WHITE ? 1 : own[l] == TG_BLACK ? -1 : 0;
                fin->own_white[y * L + x] = (int8_t)o;
                if (o == 0 && fullarea[l] != TG_EMPTY)
                    fin->seki_white[y * L + x] = fullarea[l] == TG_WHITE ? 1 : -1;
            }
        }
        fin->scoring_exact = g->rules.scoring == TG_SCORING_AREA && g->rules.tax == TG_TAX_NONE;
    }
    return 0;
}
