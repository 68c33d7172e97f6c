/* selfplay_lead.c: komi-based probes of a position with short searches: the fair komi of a game
 * start (KataGo's PlayUtils::adjustKomiToEven, algorithms.md §1.5 step 1) and the lead target of
 * recorded rows (PlayUtils::computeLead, §2.8 "estimate the lead", §3.3 C21/C29).
 *
 * Why: the net's lead head needs a target, and "fair komi" read off the raw net's lead drifts
 * while that head is untrained. Both questions are "which komi makes this position even?", and
 * KataGo answers them the same way: search the position at a few komis and find where White's
 * search win-loss value crosses zero.
 *
 * The bisection (selfplay__even_komi) reads a value function of komi through a callback, so it is
 * testable with a stub: up to 3 steps that shift komi by minus the predicted White lead (each step
 * at most as large as the previous one, stopping at the first step under 16 points, or going back
 * half a step when the values moved the wrong way), then a window of +-1, 2, 4 ... 32 points
 * around the result grown until White's win-loss changes sign, bisected to half a point and
 * interpolated linearly to the zero crossing. Every komi probed is rounded to a multiple of 0.5
 * and clipped (+-(40 + area/2) for fair komi, +-(40 + area) for leads) and cached, so a probe
 * count is about 10-16 searches. The lead is "komi now - even komi" (White's view); under area
 * scoring without button it is smoothed over the 2-point parity of area scores by averaging the
 * win-loss at the komis half a point either side (KataGo's computeLead).
 *
 * The search flavour (selfplay__search_probe_*) runs each probe as a fresh noiseless search of
 * the game thread's own tree with KataGo's getNoiselessParams (the cheap-search settings with the
 * probe's visits; threads capped at (visits + 7) / 8) on a copy of the position whose komi is
 * set to the probe's komi. Cost: visits net queries per probe, e.g. ~60-100 queries per lead at
 * 6 visits and ~200-300 per fair komi at 20 visits. */
#include <math.h>
#include <string.h>

#include "selfplay/selfplay_internal.h"

/* ---- Bisection over komi (evaluator-neutral) ---------------------------------------------- */

void selfplay__komi_probe_init(selfplay_komi_probe_t *pr, selfplay_komi_eval_fn eval, void *ctx,
                               int board_area, bool loose_clip) {
    memset(pr, 0, sizeof(*pr));
    pr->eval = eval;
    pr->ctx = ctx;
    pr->board_area = board_area;
    pr->loose_clip = loose_clip;
}

double selfplay__round_clip_komi(double komi, int board_area, bool loose_clip) {
    double range = loose_clip ? 40.0 + board_area : 40.0 + 0.5 * board_area;
    komi = komi < -range ? -range : komi > range ? range : komi;
    return 0.5 * round(2.0 * komi);
}

/* White's (lead, win-loss) at komi (already a multiple of 0.5), from the cache or one eval. */
static int selfplay__probe_komi(selfplay_komi_probe_t *pr, double komi, double *lead, double *wl,
                                tg_err_t *err) {
    for (int i = 0; i < pr->num_cached; i++) {
        if (pr->cache_komi[i] == komi) {
            *lead = pr->cache_lead[i];
            *wl = pr->cache_wl[i];
            return 0;
        }
    }
    int rc = pr->eval(pr->ctx, (float)komi, lead, wl, err);
    if (rc) return rc;
    pr->num_evals++;
    if (pr->num_cached < SELFPLAY_KOMI_CACHE) {
        pr->cache_komi[pr->num_cached] = komi;
        pr->cache_lead[pr->num_cached] = *lead;
        pr->cache_wl[pr->num_cached] = *wl;
        pr->num_cached++;
    }
    return 0;
}

/* White's win-loss at komi rounded and clipped. */
static int selfplay__probe_wl(selfplay_komi_probe_t *pr, double komi, double *wl, tg_err_t *err) {
    double lead;
    return selfplay__probe_komi(pr, selfplay__round_clip_komi(komi, pr->board_area, pr->loose_clip),
                                &lead, wl, err);
}

int selfplay__even_komi(selfplay_komi_probe_t *pr, double komi, double *out, tg_err_t *err) {
    int rc;
    /* Shift by the predicted lead, at most 3 times. */
    double last_shift = 0.0, last_wl = 0.0, last_lead = 0.0;
    for (int i = 0; i < 3; i++) {
        double lead, wl;
        rc = selfplay__probe_komi(pr, komi, &lead, &wl, err);
        if (rc) return rc;
        if (i > 0) {
            /* The last shift moved the values the wrong way by a fair amount: undo half of it. */
            bool wrong = (last_lead > 0 && lead > last_lead + 5 && wl < 0.75) ||
                         (last_lead < 0 && lead < last_lead - 5 && wl > -0.75) ||
                         (last_wl > 0 && wl > last_wl + 0.1) || (last_wl < 0 && wl < last_wl - 0.1);
            if (wrong) {
                komi = selfplay__round_clip_komi(komi - 0.5 * last_shift, pr->board_area,
                                                 pr->loose_clip);
                break;
            }
        }
        last_lead = lead;
        last_wl = wl;
        double shift = -lead;
        if (i > 0 && fabs(shift) > fabs(last_shift))
            shift = shift < 0 ? -fabs(last_shift) : fabs(last_shift);
        last_shift = shift;
        /* Score and win-loss disagree on who is ahead: leave it to the bisection. (KataGo's
         * second test reads lead < 0, which cannot hold when shift < 0; the win-loss is meant.) */
        if ((shift > 0 && wl > 0) || (shift < 0 && wl < 0)) break;
        komi = selfplay__round_clip_komi(komi + shift, pr->board_area, pr->loose_clip);
        if (fabs(shift) < 16.0) break;
    }

    /* Grow a window around komi until White's win-loss changes sign (at most 32 points). */
    double lo, hi, lo_wl, hi_wl, wl0;
    rc = selfplay__probe_wl(pr, komi, &wl0, err);
    if (rc) return rc;
    if (wl0 < 0) {
        lo = 0.0, lo_wl = wl0, hi = 0.0, hi_wl = wl0;
        for (int i = 0; i <= 5; i++) {
            hi = (double)(1 << i);
            rc = selfplay__probe_wl(pr, komi + hi, &hi_wl, err);
            if (rc) return rc;
            if (hi_wl >= 0) break;
        }
    } else {
        hi = 0.0, hi_wl = wl0, lo = 0.0, lo_wl = wl0;
        for (int i = 0; i <= 5; i++) {
            lo = -(double)(1 << i);
            rc = selfplay__probe_wl(pr, komi + lo, &lo_wl, err);
            if (rc) return rc;
            if (lo_wl <= 0) break;
        }
    }
    /* Bisect to half a point (exact: every delta is a multiple of 0.5). */
    while (hi - lo > 0.50001) {
        double mid = 0.5 * (lo + hi), mid_wl;
        rc = selfplay__probe_wl(pr, komi + mid, &mid_wl, err);
        if (rc) return rc;
        if (mid_wl < 0)
            lo = mid, lo_wl = mid_wl;
        else
            hi = mid, hi_wl = mid_wl;
    }
    double delta;
    if (lo_wl >= hi_wl - 1e-30)
        delta = 0.5 * (lo + hi); /* crossed by noise */
    else if (hi_wl <= 0)
        delta = hi; /* zero beyond the window */
    else if (lo_wl >= 0)
        delta = lo;
    else
        delta = lo + (hi - lo) * (0.0 - lo_wl) / (hi_wl - lo_wl);
    *out = komi + delta;
    return 0;
}

int selfplay__lead_from_probe(selfplay_komi_probe_t *pr, double komi, bool coarse, double *lead,
                              tg_err_t *err) {
    double even;
    int rc = selfplay__even_komi(pr, komi, &even, err);
    if (rc) return rc;
    if (!coarse || even == round(even)) {
        *lead = komi - even;
        return 0;
    }
    /* Area scoring moves in steps of 2 points: average the win-loss over the komis half a point
     * either side of each end of the half-point interval holding the crossing. */
    double lo = floor(even * 2.0) * 0.5, hi = lo + 0.5, a, b, c, d;
    if ((rc = selfplay__probe_wl(pr, hi, &a, err)) ||
        (rc = selfplay__probe_wl(pr, lo - 0.5, &b, err)) ||
        (rc = selfplay__probe_wl(pr, hi + 0.5, &c, err)) ||
        (rc = selfplay__probe_wl(pr, lo, &d, err)))
        return rc;
    double lo_wl = 0.5 * (a + b), hi_wl = 0.5 * (c + d), x;
    if (lo_wl >= hi_wl - 1e-30) {
        x = 0.5 * (lo + hi);
    } else {
        x = lo + (hi - lo) * (0.0 - lo_wl) / (hi_wl - lo_wl);
        x = x < lo - 0.5 ? lo - 0.5 : x > hi + 0.5 ? hi + 0.5 : x;
    }
    *lead = komi - x;
    return 0;
}

/* ---- Probes with the game thread's search --------------------------------------------------- */

typedef struct selfplay_search_probe_s {
    tg_search_t *search;
    tg_game_t *pos; /* komi changed for each probe and restored */
} selfplay_search_probe_t;

static int selfplay__search_probe_eval(void *vctx, float komi, double *lead, double *wl,
                                       tg_err_t *err) {
    selfplay_search_probe_t *sp = vctx;
    float old = sp->pos->rules.komi;
    tg_game_set_komi(sp->pos, komi);
    int rc = tg_search_set_position(sp->search, sp->pos, err);
    tg_game_set_komi(sp->pos, old);
    if (rc) return rc;
    rc = tg_search_run(sp->search, err);
    if (rc) return rc;
    tg_search_values_t v;
    rc = tg_search_root_values(sp->search, &v);
    if (rc) return tg_err_set(err, rc, "selfplay: komi probe search has no root values");
    *lead = v.white_lead;
    *wl = v.white_winloss;
    return 0;
}

/* Sets the search up for noiseless probes of visits visits (KataGo's getNoiselessParams). */
static int selfplay__search_probe_params(tg_search_t *s, const tg_search_params_t *base,
                                         int64_t visits, tg_err_t *err) {
    tg_search_params_t q = *base;
    tg_search_params_make_cheap(&q, visits);
    q.max_playouts = 0;
    q.max_time_s = 0.0;
    int64_t cap = (visits + 7) / 8;
    if (q.num_threads > cap) q.num_threads = (int)cap;
    return tg_search_set_params(s, &q, err);
}

int selfplay__search_even_komi(selfplay_game_ctx_t *ctx, const tg_search_params_t *base,
                               tg_game_t *pos, int64_t visits, double *komi_out, int *num_evals,
                               tg_err_t *err) {
    int rc = selfplay__search_probe_params(ctx->search, base, visits, err);
    if (rc) return rc;
    selfplay_search_probe_t sp = {ctx->search, pos};
    selfplay_komi_probe_t pr;
    selfplay__komi_probe_init(&pr, selfplay__search_probe_eval, &sp,
                              pos->board.size * pos->board.size, false);
    rc = selfplay__even_komi(&pr, pos->rules.komi, komi_out, err);
    if (num_evals) *num_evals = pr.num_evals;
    return rc;
}

int selfplay__search_lead(selfplay_game_ctx_t *ctx, const tg_search_params_t *base, tg_game_t *pos,
                          int64_t visits, double *white_lead, int *num_evals, tg_err_t *err) {
    int rc = selfplay__search_probe_params(ctx->search, base, visits, err);
    if (rc) return rc;
    selfplay_search_probe_t sp = {ctx->search, pos};
    selfplay_komi_probe_t pr;
    selfplay__komi_probe_init(&pr, selfplay__search_probe_eval, &sp,
                              pos->board.size * pos->board.size, true);
    bool coarse = pos->rules.scoring == TG_SCORING_AREA && !pos->rules.has_button;
    rc = selfplay__lead_from_probe(&pr, pos->rules.komi, coarse, white_lead, err);
    if (num_evals) *num_evals = pr.num_evals;
    return rc;
}

/* ---- Lead targets of a finished game ----------------------------------------------------------
 */

int selfplay__estimate_leads(selfplay_game_ctx_t *ctx, const selfplay_final_t *fin, tg_err_t *err) {
    const tg_selfplay_params_t *p = ctx->params;
    selfplay_recorder_t *r = &ctx->rec;
    for (int i = 0; i < r->num_turns; i++)
        r->turns[i].has_lead = false;
    /* No lead in no-result games (the komi-result relation breaks down) or without a net. */
    if (!(p->estimate_lead_prob > 0.0) || fin->no_result || ctx->random_net || r->num_turns == 0)
        return 0;

    /* Replay the game from its start, stopping at the turns that become rows. */
    const tg_game_t *g = &ctx->game;
    tg_game_t *pos = &ctx->scratch;
    tg_game_init(pos, g->board.size, &g->rules);
    int t = 0, rc;
    for (int m = 0; m <= g->num_moves && t < r->num_turns; m++) {
        if (ctx->stop && atomic_load(ctx->stop)) break; /* stopping: write the rows as they are */
        selfplay_turn_t *turn = &r->turns[t];
        if (turn->turn_number == m) {
            t++;
            if (pos->to_move != turn->pla || pos->game_over)
                return tg_err_set(err, TG_ESTATE, "selfplay: replay of turn %d disagrees", m);
            if (turn->copies > 0 && turn->white_nr < 0.3f &&
                tg_rng_uniform(&ctx->rng) < p->estimate_lead_prob) {
                double lead;
                rc = selfplay__search_lead(ctx, &ctx->game_search, pos, p->estimate_lead_visits,
                                           &lead, NULL, err);
                if (rc) return rc;
                turn->white_lead = (float)lead;
                turn->has_lead = isfinite(lead);
            }
        }
        if (m == g->num_moves) break;
        rc = tg_game_play(pos, g->moves[m].loc, g->moves[m].color, err);
        if (rc) {
            tg_err_prefix(err, "selfplay: lead replay of move %d", m);
            return rc;
        }
    }
    return 0;
}
