/* eval.c: position evaluation = features + symmetry + backend forward + KataGo post-processing
 * (see eval.h for the exact rules and the kata-raw-nn text format). The features are built here
 * (tg_nn_evaluate_batch) or handed in packed by the caller (tg_nn_evaluate_batch_packed).
 *
 * Buffers: one (max_batch, 22, 19, 19) feature buffer, its symmetry-transformed twin, globals,
 * and the raw output arrays of nn.h, all sized at create time for L = 19; evaluations only
 * reuse them. Lock: ev->lock is held for a whole evaluate/evaluate_batch call. */
#include "nn/eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "nn/nn_cuda.h"
#include "util/log.h"

struct tg_nn_evaluator_s {
    tg_model_t *model;
    const tg_nn_backend_t *backend;
    void *ctx;
    int max_batch;
    tg_nn_input_params_t params;
    float *spatial;     /* (max_batch, 22, 19, 19) canonical features */
    float *spatial_sym; /* (max_batch, 22, L, L) after symmetry, packed at the call's L */
    float *global;      /* (max_batch, 19) */
    tg_nn_raw_t raw;
    float canon[2][TG_BOARD_MAX * TG_BOARD_MAX]; /* policy / ownership mapped back */
    uv_mutex_t lock;
};

#define EV_PLANE_MAX (TG_BOARD_MAX * TG_BOARD_MAX)

int tg_nn_evaluator_create(const char *model_path, int max_batch, int threads,
                           tg_nn_evaluator_t **out, tg_err_t *err) {
    return tg_nn_evaluator_create_ex(model_path, NULL, max_batch, threads, out, err);
}

int tg_nn_evaluator_create_ex(const char *model_path, const tg_nn_backend_t *backend, int max_batch,
                              int threads, tg_nn_evaluator_t **out, tg_err_t *err) {
    *out = NULL;
    if (max_batch < 1)
        return tg_err_set(err, TG_EINVAL, "nn evaluator: max_batch %d must be >= 1", max_batch);
    tg_nn_evaluator_t *ev = calloc(1, sizeof(*ev));
    if (!ev) return tg_err_set(err, TG_ENOMEM, "nn evaluator: out of memory");
    int rc = tg_model_load(model_path, &ev->model, err);
    if (rc < 0) goto fail_model;
    if (tg_model_num_spatial_inputs(ev->model) != TG_NN_NUM_SPATIAL ||
        tg_model_num_global_inputs(ev->model) != TG_NN_NUM_GLOBAL) {
        rc = tg_err_set(err, TG_EUNSUPPORTED,
                        "%s: model has %d spatial / %d global inputs, only %d / %d (inputs v7) "
                        "are supported",
                        model_path, tg_model_num_spatial_inputs(ev->model),
                        tg_model_num_global_inputs(ev->model), TG_NN_NUM_SPATIAL, TG_NN_NUM_GLOBAL);
        goto fail_inputs;
    }
    /* No explicit backend: the CPU one, unless TENGEN_NN_BACKEND names another
     * (auto|cpu|cuda|cuda-fp16, see tg_nn_backend_select; e.g. to run the tests on a GPU). */
    const char *env_backend = getenv("TENGEN_NN_BACKEND");
    if (!backend && env_backend && *env_backend) {
        rc = tg_nn_backend_select(env_backend, &backend, err);
        if (rc < 0) goto fail_inputs;
    }
    ev->backend = backend ? backend : tg_nn_backend_cpu();
    ev->max_batch = max_batch;
    ev->params = tg_nn_input_params_default();
    ev->params.pass_alive_suicide = ev->model->prefer_pass_alive_under_suicide != 0;

    size_t spatial_count = (size_t)max_batch * TG_NN_NUM_SPATIAL * EV_PLANE_MAX;
    ev->spatial = malloc(sizeof(float) * spatial_count);
    ev->spatial_sym = malloc(sizeof(float) * spatial_count);
    ev->global = malloc(sizeof(float) * (size_t)max_batch * TG_NN_NUM_GLOBAL);
    if (!ev->spatial || !ev->spatial_sym || !ev->global) {
        rc = tg_err_set(err, TG_ENOMEM, "nn evaluator: out of memory for %d positions", max_batch);
        goto fail_buffers;
    }
    rc = tg_nn_raw_alloc(&ev->raw, ev->model, max_batch, err);
    if (rc < 0) goto fail_buffers;
    rc = ev->backend->create(ev->model, max_batch, threads, &ev->ctx, err);
    if (rc < 0) goto fail_backend;
    if (uv_mutex_init(&ev->lock) != 0) {
        rc = tg_err_set(err, TG_EINTERNAL, "nn evaluator: mutex init failed");
        goto fail_mutex;
    }
    *out = ev;
    return 0;

fail_mutex:
    ev->backend->destroy(ev->ctx);
fail_backend:
    tg_nn_raw_free(&ev->raw);
fail_buffers:
    free(ev->spatial);
    free(ev->spatial_sym);
    free(ev->global);
fail_inputs:
    tg_model_free(ev->model);
fail_model:
    free(ev);
    return rc;
}

void tg_nn_evaluator_destroy(tg_nn_evaluator_t *ev) {
    if (!ev) return;
    uv_mutex_destroy(&ev->lock);
    ev->backend->destroy(ev->ctx);
    tg_nn_raw_free(&ev->raw);
    free(ev->spatial);
    free(ev->spatial_sym);
    free(ev->global);
    tg_model_free(ev->model);
    free(ev);
}

const tg_model_t *tg_nn_evaluator_model(const tg_nn_evaluator_t *ev) { return ev->model; }

tg_nn_input_params_t tg_nn_evaluator_input_params(const tg_nn_evaluator_t *ev) {
    return ev->params;
}

void tg_nn_evaluator_set_input_params(tg_nn_evaluator_t *ev, const tg_nn_input_params_t *p) {
    ev->params = *p;
}

/* KataGo's softPlus (nneval.cpp): x itself above 40 to avoid overflow. */
static double eval__softplus(double x) { return x > 40.0 ? x : log1p(exp(x)); }

void tg_nn_postprocess(const tg_model_t *model, const tg_game_t *g, int len,
                       const float *policy_logits, float pass_logit, const float *value_logits,
                       const float *score_raw, const float *ownership_raw, tg_nn_output_t *out) {
    const tg_board_t *b = &g->board;
    const int n = b->size;
    const tg_color_t pla = g->to_move;
    const int version = tg_model_version(model);
    const tg_model_multipliers_t *mult = tg_model_multipliers(model);
    out->board_size = n;

    /* Policy: softmax over legal moves, pass last (KataGo works in float here). */
    bool legal[EV_PLANE_MAX + 1];
    float logit[EV_PLANE_MAX + 1];
    float max_logit = -1e25f;
    int legal_count = 0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int i = y * n + x;
            legal[i] = tg_game_is_legal(g, tg_loc(x, y), pla);
            logit[i] = legal[i] ? policy_logits[y * len + x] : -1e30f;
        }
    legal[n * n] = tg_game_is_legal(g, TG_LOC_PASS, pla);
    logit[n * n] = legal[n * n] ? pass_logit : -1e30f;
    for (int i = 0; i <= n * n; i++) {
        if (legal[i]) legal_count++;
        if (logit[i] > max_logit) max_logit = logit[i];
    }
    float sum = 0.0f;
    float prob[EV_PLANE_MAX + 1];
    for (int i = 0; i <= n * n; i++) {
        prob[i] = expf(logit[i] - max_logit);
        sum += prob[i];
    }
    for (int i = 0; i <= n * n; i++) {
        if (!legal[i])
            prob[i] = -1.0f;
        else if (sum <= 0.0f)
            prob[i] = legal_count > 0 ? 1.0f / (float)legal_count : 0.0f;
        else
            prob[i] /= sum;
    }
    memcpy(out->policy, prob, sizeof(float) * (size_t)(n * n));
    out->policy_pass = prob[n * n];

    /* Value and scores, in double as KataGo. */
    double win_logit = value_logits[0], loss_logit = value_logits[1];
    double noresult_logit = value_logits[2];
    const bool no_result_impossible =
        g->rules.ko != TG_KO_SIMPLE && g->rules.scoring != TG_SCORING_TERRITORY;
    if (no_result_impossible) noresult_logit -= 100000.0;
    double mx = win_logit > loss_logit ? win_logit : loss_logit;
    if (noresult_logit > mx) mx = noresult_logit;
    double win = exp(win_logit - mx), loss = exp(loss_logit - mx);
    double noresult = exp(noresult_logit - mx);
    if (no_result_impossible) noresult = 0.0;
    double psum = win + loss + noresult;
    win /= psum;
    loss /= psum;
    noresult /= psum;

    double score_mean = score_raw[0] * (double)mult->score_mean;
    double score_stdev = eval__softplus(score_raw[1]) * (double)mult->score_stdev;
    double score_mean_sq = score_mean * score_mean + score_stdev * score_stdev;
    double lead = score_raw[2] * (double)mult->lead;
    double var_time_left = eval__softplus(score_raw[3]) * (double)mult->variance_time;
    score_mean *= 1.0 - noresult;
    score_mean_sq *= 1.0 - noresult;
    lead *= 1.0 - noresult;
    double st_wl = -1.0, st_score = -1.0;
    if (version >= 9 && tg_model_num_score_values(model) >= 6) {
        if (version >= 14) {
            double s = eval__softplus(score_raw[4] * 0.5);
            st_wl = sqrt(s * s * (double)mult->shortterm_value_error);
            s = eval__softplus(score_raw[5] * 0.5);
            st_score = sqrt(s * s * (double)mult->shortterm_score_error);
        } else if (version >= 10) {
            st_wl = sqrt(eval__softplus(score_raw[4]) * (double)mult->shortterm_value_error);
            st_score = sqrt(eval__softplus(score_raw[5]) * (double)mult->shortterm_score_error);
        } else {
            st_wl = eval__softplus(score_raw[4]);
            st_score = eval__softplus(score_raw[5]) * 10.0;
        }
    }

    if (pla == TG_WHITE) {
        out->white_win = (float)win;
        out->white_loss = (float)loss;
        out->white_score_mean = (float)score_mean;
        out->white_lead = (float)lead;
    } else {
        out->white_win = (float)loss;
        out->white_loss = (float)win;
        out->white_score_mean = -(float)score_mean;
        out->white_lead = -(float)lead;
    }
    out->no_result = (float)noresult;
    out->white_score_mean_sq = (float)score_mean_sq;
    if (version >= 9) {
        out->var_time_left = (float)var_time_left;
        out->shortterm_winloss_error = (float)st_wl;
        out->shortterm_score_error = (float)st_score;
    } else {
        out->var_time_left = -1.0f;
        out->shortterm_winloss_error = -1.0f;
        out->shortterm_score_error = -1.0f;
    }

    /* Ownership. */
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            float t = tanhf(ownership_raw[y * len + x]);
            out->white_ownership[y * n + x] = pla == TG_WHITE ? t : -t;
        }
}

/* Runs one chunk of <= max_batch positions: builds the input tensor (from the games, or from
 * the caller's packed features when features != NULL), runs the net and post-processes. Both
 * input routes give the same tensor (see tg_nn_fill_features_packed). Lock held. */
static int eval__chunk(tg_nn_evaluator_t *ev, int n, const tg_game_t *const *games,
                       const float *const *features, const int *symmetries, int len,
                       tg_nn_output_t *outs, tg_err_t *err) {
    const int plane = len * len;
    const size_t row = (size_t)TG_NN_NUM_SPATIAL * (size_t)plane;
    for (int i = 0; i < n; i++) {
        if (features) {
            const int bn = games[i]->board.size;
            tg_nn_symmetry_apply_embed(features[i], bn, ev->spatial_sym + (size_t)i * row,
                                       TG_NN_NUM_SPATIAL, len, symmetries[i]);
            memcpy(ev->global + (size_t)i * TG_NN_NUM_GLOBAL,
                   features[i] + (size_t)TG_NN_NUM_SPATIAL * bn * bn,
                   sizeof(float) * TG_NN_NUM_GLOBAL);
            continue;
        }
        tg_nn_fill_features_ex(games[i], &ev->params, len, ev->spatial + (size_t)i * row,
                               ev->global + (size_t)i * TG_NN_NUM_GLOBAL);
        tg_nn_symmetry_apply(ev->spatial + (size_t)i * row, ev->spatial_sym + (size_t)i * row,
                             TG_NN_NUM_SPATIAL, len, symmetries[i]);
    }
    int rc = ev->backend->forward(ev->ctx, n, len, ev->spatial_sym, ev->global, &ev->raw, err);
    if (rc < 0) return rc;
    const int P = tg_model_num_policy_channels(ev->model);
    const int S = tg_model_num_score_values(ev->model);
    for (int i = 0; i < n; i++) {
        float score[8] = {0};
        for (int k = 0; k < S && k < 8; k++)
            score[k] = ev->raw.score[(size_t)i * S + k];
        /* Channel 0 of the policy head = the blend at policy optimism 0. */
        tg_nn_symmetry_unapply(ev->raw.policy + (size_t)i * P * plane, ev->canon[0], 1, len,
                               symmetries[i]);
        tg_nn_symmetry_unapply(ev->raw.ownership + (size_t)i * plane, ev->canon[1], 1, len,
                               symmetries[i]);
        tg_nn_postprocess(ev->model, games[i], len, ev->canon[0],
                          ev->raw.policy_pass[(size_t)i * P], ev->raw.value + (size_t)i * 3, score,
                          ev->canon[1], &outs[i]);
    }
    return 0;
}

/* Both batched forms: features NULL = build them here. */
static int eval__batch(tg_nn_evaluator_t *ev, int n, const tg_game_t *const *games,
                       const float *const *features, const int *symmetries, int nn_len,
                       tg_nn_output_t *outs, tg_err_t *err) {
    if (n < 0) return tg_err_set(err, TG_EINVAL, "nn evaluate: negative batch size %d", n);
    if (nn_len < 2 || nn_len > TG_BOARD_MAX || nn_len > TG_NN_MAX_LEN)
        return tg_err_set(err, TG_EINVAL, "nn evaluate: tensor size %d not in 2..%d", nn_len,
                          TG_BOARD_MAX);
    for (int i = 0; i < n; i++) {
        if (symmetries[i] < 0 || symmetries[i] >= TG_NN_NUM_SYMMETRIES)
            return tg_err_set(err, TG_EINVAL, "nn evaluate: symmetry %d not in 0..7",
                              symmetries[i]);
        if (games[i]->board.size > nn_len)
            return tg_err_set(err, TG_EINVAL, "nn evaluate: board size %d exceeds tensor size %d",
                              games[i]->board.size, nn_len);
        if (games[i]->to_move != TG_BLACK && games[i]->to_move != TG_WHITE)
            return tg_err_set(err, TG_EINVAL, "nn evaluate: no player to move");
    }
    int rc = 0;
    uv_mutex_lock(&ev->lock);
    for (int done = 0; done < n && rc == 0; done += ev->max_batch) {
        int m = n - done < ev->max_batch ? n - done : ev->max_batch;
        rc = eval__chunk(ev, m, games + done, features ? features + done : NULL, symmetries + done,
                         nn_len, outs + done, err);
    }
    uv_mutex_unlock(&ev->lock);
    return rc;
}

int tg_nn_evaluate_batch(tg_nn_evaluator_t *ev, int n, const tg_game_t *const *games,
                         const int *symmetries, int nn_len, tg_nn_output_t *outs, tg_err_t *err) {
    return eval__batch(ev, n, games, NULL, symmetries, nn_len, outs, err);
}

int tg_nn_evaluate_batch_packed(tg_nn_evaluator_t *ev, int n, const tg_game_t *const *games,
                                const float *const *features, const int *symmetries, int nn_len,
                                tg_nn_output_t *outs, tg_err_t *err) {
    if (n > 0 && !features) return tg_err_set(err, TG_EINVAL, "nn evaluate: no features given");
    return eval__batch(ev, n, games, features, symmetries, nn_len, outs, err);
}

int tg_nn_evaluate(tg_nn_evaluator_t *ev, const tg_game_t *g, int symmetry, tg_nn_output_t *out,
                   tg_err_t *err) {
    const tg_game_t *games[1] = {g};
    int syms[1] = {symmetry};
    return tg_nn_evaluate_batch(ev, 1, games, syms, g->board.size, out, err);
}

/* Appends printf-formatted text at *len; returns false once it no longer fits. */
static bool eval__append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool eval__append(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
    if (*len >= cap) return false;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= cap - *len) {
        *len = cap - 1;
        return false;
    }
    *len += (size_t)w;
    return true;
}

int tg_nn_format_raw(const tg_nn_output_t *o, int symmetry, char *buf, size_t cap) {
    if (!buf || cap == 0) return TG_ERANGE;
    size_t len = strnlen(buf, cap);
    if (len >= cap) return TG_ERANGE;
    const int n = o->board_size;
    bool ok = true;
    ok = ok && eval__append(buf, cap, &len, "symmetry %d\n", symmetry);
    ok = ok && eval__append(buf, cap, &len, "whiteWin %.6f\n", o->white_win);
    ok = ok && eval__append(buf, cap, &len, "whiteLoss %.6f\n", o->white_loss);
    ok = ok && eval__append(buf, cap, &len, "noResult %.6f\n", o->no_result);
    ok = ok && eval__append(buf, cap, &len, "whiteLead %.3f\n", o->white_lead);
    ok = ok && eval__append(buf, cap, &len, "whiteScoreSelfplay %.3f\n", o->white_score_mean);
    ok = ok && eval__append(buf, cap, &len, "whiteScoreSelfplaySq %.3f\n", o->white_score_mean_sq);
    ok = ok && eval__append(buf, cap, &len, "varTimeLeft %.3f\n", o->var_time_left);
    ok = ok &&
         eval__append(buf, cap, &len, "shorttermWinlossError %.3f\n", o->shortterm_winloss_error);
    ok = ok && eval__append(buf, cap, &len, "shorttermScoreError %.3f\n", o->shortterm_score_error);
    ok = ok && eval__append(buf, cap, &len, "policy\n");
    for (int y = 0; y < n && ok; y++) {
        for (int x = 0; x < n && ok; x++) {
            float p = o->policy[y * n + x];
            ok = p < 0 ? eval__append(buf, cap, &len, "    NAN ")
                       : eval__append(buf, cap, &len, "%8.6f ", p);
        }
        ok = ok && eval__append(buf, cap, &len, "\n");
    }
    if (o->policy_pass < 0)
        ok = ok && eval__append(buf, cap, &len, "policyPass     NAN \n");
    else
        ok = ok && eval__append(buf, cap, &len, "policyPass %8.6f \n", o->policy_pass);
    ok = ok && eval__append(buf, cap, &len, "whiteOwnership\n");
    for (int y = 0; y < n && ok; y++) {
        for (int x = 0; x < n && ok; x++)
            ok = eval__append(buf, cap, &len, "%9.7f ", o->white_ownership[y * n + x]);
        ok = ok && eval__append(buf, cap, &len, "\n");
    }
    ok = ok && eval__append(buf, cap, &len, "\n");
    return ok ? 0 : TG_ERANGE;
}
