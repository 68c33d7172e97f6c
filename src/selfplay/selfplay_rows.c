/* selfplay_rows.c: from a finished game's turn records to training rows (algorithms.md §3.2,
 * §3.3; formats.md §4.5-4.9), and the per-net file writer.
 *
 * Value targets: the list V[0..T-1] of each turn's search values plus V[T] = the final outcome
 * (White's view); a row at turn i with factor lambda gets sum_j lambda (1-lambda)^(j-i) V[j]
 * with the remaining weight on V[T] (KataGo's fillValueTDTargets), flipped to the player to
 * move. lambda = 0 gives the outcome (C0-3), 1/(1 + c*area) with c = 0.176, 0.056, 0.016 the TD
 * targets (C4-15), 1 this turn's search (C16-19).
 *
 * Surprise weighting: KataGo's rule of §3.2 (policy surprise KL(target || root prior), value
 * surprise KL of a forward-smoothed result from the raw net's value, capped at 1); then each
 * turn is written floor(w) + Bernoulli(w - floor(w)) times (resolved before the lead estimation,
 * selfplay_lead.c, so that only written rows get a lead; C21 is pla's view, weight C29). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "selfplay/selfplay_internal.h"

/* ---- Surprise weighting ------------------------------------------------------------------- */

static double selfplay__kl3(const double *target, const double *pred) {
    double kl = 0.0;
    for (int k = 0; k < 3; k++) {
        if (target[k] <= 1e-12) continue;
        double q = pred[k] > 1e-12 ? pred[k] : 1e-12;
        kl += target[k] * log(target[k] / q);
    }
    return kl < 0.0 ? 0.0 : kl > 1.0 ? 1.0 : kl;
}

void selfplay__apply_surprise_weights(const tg_selfplay_params_t *p, selfplay_recorder_t *r,
                                      const selfplay_final_t *fin) {
    int T = r->num_turns;
    if (T == 0) return;
    int area = fin->board_size * fin->board_size;
    double lam = 1.0 / (1.0 + 0.016 * area);
    double res[3] = {fin->white_win, fin->white_loss, fin->white_nr};
    for (int i = T - 1; i >= 0; i--) {
        selfplay_turn_t *t = &r->turns[i];
        double m[3] = {t->white_win, t->white_loss, t->white_nr};
        for (int k = 0; k < 3; k++)
            res[k] += lam * (m[k] - res[k]);
        double raw[3] = {t->raw_white_win, t->raw_white_loss, t->raw_white_nr};
        t->value_surprise = (float)selfplay__kl3(res, raw);
    }
    double S = 0.0, ps_sum = 0.0, vs_sum = 0.0;
    for (int i = 0; i < T; i++) {
        S += r->turns[i].weight;
        ps_sum += r->turns[i].weight * r->turns[i].policy_surprise;
        vs_sum += r->turns[i].weight * r->turns[i].value_surprise;
    }
    if (S < 1.0) return;
    double pw = p->policy_surprise_weight, vw = p->value_surprise_weight;
    double avg_ps = ps_sum / S, avg_vs = vs_sum / S;
    if (avg_vs < 0.01) vw *= avg_vs / 0.01;
    double pp_sum = 0.0, vp_sum = 0.0;
    for (int i = 0; i < T; i++) {
        const selfplay_turn_t *t = &r->turns[i];
        double excess = t->policy_surprise - 1.5 * avg_ps;
        double pp = t->weight * t->policy_surprise + (1.0 - t->weight) * (excess > 0 ? excess : 0);
        pp_sum += pp;
        vp_sum += t->weight * t->value_surprise;
    }
    for (int i = 0; i < T; i++) {
        selfplay_turn_t *t = &r->turns[i];
        double excess = t->policy_surprise - 1.5 * avg_ps;
        double pp = t->weight * t->policy_surprise + (1.0 - t->weight) * (excess > 0 ? excess : 0);
        double vp = t->weight * t->value_surprise;
        double base = 1.0 - pw - vw;
        double w = base * t->weight;
        w += pp_sum > 0.0 ? pw * pp * S / pp_sum : pw * t->weight;
        w += vp_sum > 0.0 ? vw * vp * S / vp_sum : vw * t->weight;
        t->weight = (float)(w > 0.0 ? w : 0.0);
    }
}

/* ---- Rows ----------------------------------------------------------------------------------- */

/* White-view value target j of the game (j == T: the final outcome). */
static void selfplay__value_at(const selfplay_recorder_t *r, const selfplay_final_t *fin, int j,
                               double v[4]) {
    if (j >= r->num_turns) {
        v[0] = fin->white_win, v[1] = fin->white_loss, v[2] = fin->white_nr;
        v[3] = fin->white_score;
        return;
    }
    const selfplay_turn_t *t = &r->turns[j];
    v[0] = t->white_win, v[1] = t->white_loss, v[2] = t->white_nr, v[3] = t->white_score;
}

static void selfplay__td(const selfplay_recorder_t *r, const selfplay_final_t *fin, int i,
                         bool white, double now, float *out) {
    double acc[4] = {0, 0, 0, 0}, left = 1.0;
    int T = r->num_turns;
    for (int j = i; j <= T; j++) {
        double wn;
        if (j == T) {
            wn = left;
            left = 0.0;
        } else {
            wn = left * now;
            left *= 1.0 - now;
        }
        if (wn == 0.0 && j < T) continue;
        double v[4];
        selfplay__value_at(r, fin, j, v);
        acc[0] += wn * (white ? v[0] : v[1]);
        acc[1] += wn * (white ? v[1] : v[0]);
        acc[2] += wn * v[2];
        acc[3] += wn * (white ? v[3] : -v[3]);
        if (left == 0.0) break;
    }
    for (int k = 0; k < 4; k++)
        out[k] = (float)acc[k];
}

static void selfplay__fill_row(trainrows_t *tr, int row, const selfplay_recorder_t *r,
                               const selfplay_final_t *fin, int i, tg_rng_t *rng) {
    const selfplay_turn_t *t = &r->turns[i];
    const int L = r->len, A = r->area, PL = r->policy_len, T = r->num_turns;
    const bool white = t->pla == TG_WHITE;
    const int sgn = white ? 1 : -1;
    float *gt = trainrows_global_targets_row(tr, row);

    memcpy(trainrows_binary_row(tr, row),
           r->packed + (size_t)i * TRAINROWS_BIN_CHANNELS * r->packed_len,
           (size_t)TRAINROWS_BIN_CHANNELS * r->packed_len);
    memcpy(trainrows_global_input_row(tr, row), t->global, sizeof(t->global));

    int16_t *pol = trainrows_policy_row(tr, row);
    memcpy(pol, r->policy + (size_t)i * PL, sizeof(int16_t) * PL);
    gt[TRAINROWS_GT_POLICY0_WEIGHT] = 1.0f;
    if (i + 1 < T) {
        memcpy(pol + PL, r->policy + (size_t)(i + 1) * PL, sizeof(int16_t) * PL);
        gt[TRAINROWS_GT_POLICY1_WEIGHT] = 1.0f;
    } else {
        trainrows_set_policy_missing(tr, row, 1);
        gt[TRAINROWS_GT_POLICY1_WEIGHT] = 0.0f;
    }

    int barea = fin->board_size * fin->board_size;
    selfplay__td(r, fin, i, white, 0.0, gt + 0);
    selfplay__td(r, fin, i, white, 1.0 / (1.0 + 0.176 * barea), gt + 4);
    selfplay__td(r, fin, i, white, 1.0 / (1.0 + 0.056 * barea), gt + 8);
    selfplay__td(r, fin, i, white, 1.0 / (1.0 + 0.016 * barea), gt + 12);
    selfplay__td(r, fin, i, white, 1.0, gt + 16);
    float score = gt[3];
    score = score > 421.0f ? 421.0f : score < -421.0f ? -421.0f : score;
    gt[3] = score;
    gt[TRAINROWS_GT_FINAL_SCORE] = fin->has_ownership ? score : 0.0f;

    /* Variance time: sum over later value targets of (turns ahead) * (change in win-loss)^2. */
    double vt = 0.0;
    for (int j = i + 1; j <= T; j++) {
        double a[4], b[4];
        selfplay__value_at(r, fin, j - 1, a);
        selfplay__value_at(r, fin, j, b);
        double d = (b[0] - b[1]) - (a[0] - a[1]);
        vt += (double)(j - i) * d * d;
    }
    gt[TRAINROWS_GT_VARIANCE_TIME] = (float)vt;
    gt[TRAINROWS_GT_TD_WEIGHT_INV] = 0.0f;
    gt[TRAINROWS_GT_ROW_WEIGHT] = 1.0f;
    gt[TRAINROWS_GT_OWNERSHIP_WEIGHT] = fin->has_ownership ? 1.0f : 0.0f;
    /* Lead (pla's view, capped like the score); none in no-result games. */
    if (t->has_lead && !fin->no_result) {
        float lead = (float)sgn * t->white_lead;
        lead = lead > 421.0f ? 421.0f : lead < -421.0f ? -421.0f : lead;
        gt[TRAINROWS_GT_LEAD] = lead;
        gt[TRAINROWS_GT_LEAD_WEIGHT] = 1.0f;
    } else {
        gt[TRAINROWS_GT_LEAD] = 0.0f;
        gt[TRAINROWS_GT_LEAD_WEIGHT] = 0.0f;
    }
    gt[TRAINROWS_GT_POLICY_SURPRISE] = t->policy_surprise;
    gt[TRAINROWS_GT_POLICY_ENTROPY] = t->policy_entropy;
    gt[TRAINROWS_GT_SEARCH_ENTROPY] = t->search_entropy;
    gt[TRAINROWS_GT_FUTURE_POS_WEIGHT] = 1.0f;
    bool scoring = fin->has_ownership && fin->scoring_exact;
    gt[TRAINROWS_GT_SCORING_WEIGHT] = scoring ? 1.0f : 0.0f;
    gt[TRAINROWS_GT_VALUE_WEIGHT_INV] = 0.0f;
    bool use = true;
    for (int k = 0; k < 5; k++) {
        use = use && tg_rng_uniform(rng) < 0.98;
        gt[TRAINROWS_GT_USE_HIST + k] = use ? 1.0f : 0.0f;
    }
    trainrows_set_game_hash(tr, row, fin->hash0, fin->hash1);
    gt[TRAINROWS_GT_SELF_KOMI] = t->self_komi;
    gt[TRAINROWS_GT_AREA_SCORING] = t->area_scoring ? 1.0f : 0.0f;
    gt[TRAINROWS_GT_TURN_INDEX] = (float)t->turn_number;
    gt[TRAINROWS_GT_HIT_TURN_LIMIT] = fin->hit_turn_limit ? 1.0f : 0.0f;
    gt[TRAINROWS_GT_START_MOVES] = (float)fin->start_moves;
    gt[TRAINROWS_GT_RAW_WINLOSS] = (float)sgn * (t->raw_white_win - t->raw_white_loss);
    gt[TRAINROWS_GT_RAW_SCORE] = (float)sgn * t->raw_white_score;
    gt[TRAINROWS_GT_PRIOR_ENTROPY] = t->policy_entropy;
    gt[TRAINROWS_GT_VISITS] = (float)t->visits;
    gt[TRAINROWS_GT_BONUS_POINTS] = (float)sgn * (fin->final_white_bonus - t->white_bonus);
    gt[TRAINROWS_GT_MAIN_LINE] = fin->hit_turn_limit ? 0.0f : 1.0f;

    if (fin->has_ownership)
        trainrows_set_score_distr(tr, row, score);
    else
        trainrows_set_score_distr_dummy(tr, row);

    int8_t *vt8 = trainrows_value_row(tr, row);
    int f8 = i + 8 < T ? i + 8 : T, f32 = i + 32 < T ? i + 32 : T;
    const int8_t *s8 = r->stones + (size_t)f8 * A, *s32 = r->stones + (size_t)f32 * A;
    for (int p = 0; p < A; p++) {
        if (fin->has_ownership) {
            vt8[p] = (int8_t)(sgn * fin->own_white[p]);
            vt8[A + p] = (int8_t)(sgn * fin->seki_white[p]);
            if (scoring) vt8[4 * A + p] = (int8_t)(120 * sgn * fin->own_white[p]);
        }
        /* stones: +1 black; for pla's view, black is +1 when pla is black. */
        vt8[2 * A + p] = (int8_t)(-sgn * s8[p]);
        vt8[3 * A + p] = (int8_t)(-sgn * s32[p]);
    }
    (void)L;
    memcpy(trainrows_qvalue_row(tr, row), r->qvalues + (size_t)i * 3 * PL,
           sizeof(int16_t) * 3 * PL);
}

int selfplay__writer_flush_locked(selfplay_writer_t *w, tg_err_t *err) {
    if (w->rows.num_rows == 0) return 0;
    char path[1200];
    snprintf(path, sizeof(path), "%s/%016llX.npz", w->tdata_dir,
             (unsigned long long)tg_rng_u64(&w->rng));
    int rc = trainrows_write_npz(&w->rows, path, w->npz_level, err);
    if (rc) return rc;
    if (w->hooks && w->hooks->on_file) {
        rc = w->hooks->on_file(w->hooks->ctx, w->net_name, w->random_net, path, &w->rows, err);
        if (rc < 0) return rc;
    }
    w->files++;
    w->rows_written += w->rows.num_rows;
    trainrows_clear(&w->rows);
    w->file_cap = w->max_rows;
    return 0;
}

void selfplay__resolve_copies(selfplay_recorder_t *r, tg_rng_t *rng) {
    for (int i = 0; i < r->num_turns; i++) {
        double wt = r->turns[i].weight;
        int copies = 0;
        if (wt > 0.0) {
            copies = (int)floor(wt);
            if (tg_rng_uniform(rng) < wt - floor(wt)) copies++;
        }
        r->turns[i].copies = copies;
    }
}

int selfplay__write_game_rows(selfplay_writer_t *w, const selfplay_recorder_t *r,
                              const selfplay_final_t *fin, tg_rng_t *rng, tg_err_t *err) {
    int written = 0, rc = 0;
    uv_mutex_lock(&w->lock);
    for (int i = 0; i < r->num_turns && rc == 0; i++) {
        int copies = r->turns[i].copies;
        for (int c = 0; c < copies && rc == 0; c++) {
            if (w->rows.num_rows >= w->file_cap) {
                rc = selfplay__writer_flush_locked(w, err);
                if (rc) break;
            }
            int row = trainrows_append(&w->rows);
            if (row < 0) {
                rc = tg_err_set(err, row, "selfplay: row buffer full");
                break;
            }
            selfplay__fill_row(&w->rows, row, r, fin, i, rng);
            written++;
        }
    }
    uv_mutex_unlock(&w->lock);
    return rc ? rc : written;
}
