/* loss.c: KataGo's training loss for one sample and its gradient w.r.t. the raw head outputs.
 *
 * Formulas and coefficients: algorithms.md §5.1 and KataGo's metrics_pytorch.py
 * (metrics_dict_batchwise_single_heads_output) with train.py's defaults: value scale 0.6, TD
 * value scales 0.6 each, soft policy scale 8, variance-time scale 1, seki/scoring/futurepos
 * not built. Optimistic policy channels 4 and 5 are trained as in KataGo's
 * -disable-optimistic-policy mode (plain policy target, weight w26/2), so exported channel 5 is
 * a sensible policy. Output post-processing (multipliers 20/20/20/40/0.25/150 and the floored
 * softplus) matches Model.postprocess_single_heads_output for version 15. Every term is
 * multiplied by the row weight (globalTargets 25) and its own weight channel; the batch loss
 * is the sum over rows. Stop-gradients are KataGo's (exact_grad removes them for checks). */
#include <math.h>
#include <string.h>

#include "train/train_internal.h"

static const char *const loss_names[TRAIN_LOSS_COUNT] = {
    [TRAIN_LOSS_POLICY] = "policy",
    [TRAIN_LOSS_POLICY_OPP] = "policy_opp",
    [TRAIN_LOSS_POLICY_SOFT] = "policy_soft",
    [TRAIN_LOSS_POLICY_OPP_SOFT] = "policy_opp_soft",
    [TRAIN_LOSS_POLICY_OPT] = "policy_opt",
    [TRAIN_LOSS_VALUE] = "value",
    [TRAIN_LOSS_TD_VALUE] = "td_value",
    [TRAIN_LOSS_TD_SCORE] = "td_score",
    [TRAIN_LOSS_OWNERSHIP] = "ownership",
    [TRAIN_LOSS_SCORE_MEAN] = "score_mean",
    [TRAIN_LOSS_SCORE_PDF] = "score_pdf",
    [TRAIN_LOSS_SCORE_CDF] = "score_cdf",
    [TRAIN_LOSS_SCORE_STDEV] = "score_stdev",
    [TRAIN_LOSS_LEAD] = "lead",
    [TRAIN_LOSS_VARIANCE_TIME] = "variance_time",
    [TRAIN_LOSS_ST_VALUE_ERR] = "st_value_err",
    [TRAIN_LOSS_ST_SCORE_ERR] = "st_score_err",
};

const char *train_loss_name(train_loss_t term) {
    return term >= 0 && term < TRAIN_LOSS_COUNT ? loss_names[term] : "?";
}

double train__huber(double x, double delta, double *dydx) {
    double a = fabs(x);
    if (a > delta) {
        *dydx = x > 0 ? delta : -delta;
        return 0.5 * delta * delta + delta * (a - delta);
    }
    *dydx = x;
    return 0.5 * x * x;
}

static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

double train__softplus_floor(double x, int squared, int exact, double *dydx) {
    if (!squared) {
        *dydx = exact ? sigmoid(x) : fmax(sigmoid(x), 0.05);
        return softplus(x);
    }
    double s = softplus(0.5 * x);
    *dydx = exact ? s * sigmoid(0.5 * x) : fmax(sigmoid(x), 0.05);
    return s * s;
}

/* Cross-entropy of a policy channel over on-board points and pass. target (hw+1) sums to 1.
 * Adds coef * dCE/dlogit into glog (stride 6) and gpass. lsm: (hw+1) scratch. Returns CE. */
static double policy_ce(const float *logits, const float *pass, int ch, const float *mask, int hw,
                        const float *target, double coef, float *glog, float *gpass, float *lsm) {
    double mx = pass[ch];
    for (int p = 0; p < hw; p++)
        if (mask[p] != 0.0f && logits[p * TRAIN_POLICY_OUTPUTS + ch] > mx)
            mx = logits[p * TRAIN_POLICY_OUTPUTS + ch];
    double z = exp(pass[ch] - mx);
    for (int p = 0; p < hw; p++)
        if (mask[p] != 0.0f) z += exp(logits[p * TRAIN_POLICY_OUTPUTS + ch] - mx);
    const double lz = mx + log(z);
    double ce = 0.0, tsum = 0.0;
    for (int p = 0; p <= hw; p++) {
        if (p < hw && mask[p] == 0.0f) continue;
        double l = (p < hw ? logits[p * TRAIN_POLICY_OUTPUTS + ch] : pass[ch]) - lz;
        lsm[p] = (float)l;
        ce -= target[p] * l;
        tsum += target[p];
    }
    if (coef != 0.0) {
        for (int p = 0; p <= hw; p++) {
            if (p < hw && mask[p] == 0.0f) continue;
            double g = coef * (exp(lsm[p]) * tsum - target[p]);
            if (p < hw)
                glog[p * TRAIN_POLICY_OUTPUTS + ch] += (float)g;
            else
                gpass[ch] += (float)g;
        }
    }
    return ce;
}

/* CE(target, softmax(logits)) over 3 classes, gradient coef * (p - t) into g. */
static double ce3(const float *logits, const double *t, double coef, float *g) {
    double mx = fmax(logits[0], fmax(logits[1], logits[2]));
    double z = exp(logits[0] - mx) + exp(logits[1] - mx) + exp(logits[2] - mx);
    double lz = mx + log(z), ce = 0.0, ts = t[0] + t[1] + t[2];
    for (int i = 0; i < 3; i++) {
        double l = logits[i] - lz;
        ce -= t[i] * l;
        g[i] += (float)(coef * (exp(l) * ts - t[i]));
    }
    return ce;
}

static void softmax3(const float *x, double *p) {
    double mx = fmax(x[0], fmax(x[1], x[2]));
    double z = 0;
    for (int i = 0; i < 3; i++)
        z += (p[i] = exp(x[i] - mx));
    for (int i = 0; i < 3; i++)
        p[i] /= z;
}

void train__loss_sample(const train_outputs_t *out, const train_outputs_t *grad, const float *mask,
                        float mask_sum, const float *policy, const float *gt, const float *score,
                        const float *owner, int exact_grad, double *loss, float *scratch) {
    const int hw = out->hw, S = out->score_len;
    memset(grad->policy, 0, sizeof(float) * hw * TRAIN_POLICY_OUTPUTS);
    memset(grad->pass, 0, sizeof(float) * TRAIN_POLICY_OUTPUTS);
    memset(grad->value, 0, sizeof(float) * 3);
    memset(grad->misc, 0, sizeof(float) * TRAIN_MISC_OUTPUTS);
    memset(grad->moremisc, 0, sizeof(float) * TRAIN_MOREMISC_OUTPUTS);
    memset(grad->own, 0, sizeof(float) * hw);
    memset(grad->score_logp, 0, sizeof(float) * S);

    float *t0 = scratch, *t1 = t0 + (hw + 1), *ts = t1 + (hw + 1), *lsm = ts + (hw + 1);
    float *sp = lsm + (hw + 1), *sg = sp + S;
    const double w25 = gt[TRAINROWS_GT_ROW_WEIGHT], w26 = gt[TRAINROWS_GT_POLICY0_WEIGHT];
    const double w27 = gt[TRAINROWS_GT_OWNERSHIP_WEIGHT], w28 = gt[TRAINROWS_GT_POLICY1_WEIGHT];
    const double w29 = gt[TRAINROWS_GT_LEAD_WEIGHT];
    const double wv = w25 * (1.0 - gt[TRAINROWS_GT_VALUE_WEIGHT_INV]);
    const double wtd = w25 * (1.0 - gt[TRAINROWS_GT_TD_WEIGHT_INV]);
    const double wo = w25 * w27;

    /* ---- Policy terms ---- */
    const float *pt[2] = {policy, policy + (hw + 1)};
    float *tn[2] = {t0, t1};
    for (int k = 0; k < 2; k++) {
        double sum = 0;
        for (int p = 0; p <= hw; p++)
            sum += pt[k][p];
        for (int p = 0; p <= hw; p++)
            tn[k][p] = sum > 0 ? (float)(pt[k][p] / sum) : 0.0f;
    }
    const double wpol = w25 * w26, wopp = w25 * w28;
    loss[TRAIN_LOSS_POLICY] += 0.93 * wpol *
                               policy_ce(out->policy, out->pass, 0, mask, hw, t0, 0.93 * wpol,
                                         grad->policy, grad->pass, lsm);
    loss[TRAIN_LOSS_POLICY_OPP] += 0.15 * wopp *
                                   policy_ce(out->policy, out->pass, 1, mask, hw, t1, 0.15 * wopp,
                                             grad->policy, grad->pass, lsm);
    for (int k = 0; k < 2; k++) {
        double sum = 0;
        for (int p = 0; p <= hw; p++) {
            double m = (p == hw || mask[p] != 0.0f) ? 1.0 : 0.0;
            ts[p] = (float)pow((tn[k][p] + 1e-7) * m, 0.25);
            sum += ts[p];
        }
        for (int p = 0; p <= hw; p++)
            ts[p] = (float)(ts[p] / sum);
        const double c = k == 0 ? 8.0 * wpol : 8.0 * 0.15 * wopp;
        loss[k == 0 ? TRAIN_LOSS_POLICY_SOFT : TRAIN_LOSS_POLICY_OPP_SOFT] +=
            c * policy_ce(out->policy, out->pass, 2 + k, mask, hw, ts, c, grad->policy, grad->pass,
                          lsm);
    }
    const double c4 = 0.1 * 0.5 * wpol, c5 = 0.2 * 0.5 * wpol;
    loss[TRAIN_LOSS_POLICY_OPT] +=
        c4 * policy_ce(out->policy, out->pass, 4, mask, hw, t0, c4, grad->policy, grad->pass, lsm) +
        c5 * policy_ce(out->policy, out->pass, 5, mask, hw, t0, c5, grad->policy, grad->pass, lsm);

    /* ---- Value and TD values ---- */
    double tv[3] = {gt[0], gt[1], gt[2]};
    loss[TRAIN_LOSS_VALUE] += 0.72 * wv * ce3(out->value, tv, 0.72 * wv, grad->value);
    for (int j = 0; j < 3; j++) {
        const float *lg = j == 0 ? out->misc + 4 : j == 1 ? out->misc + 7 : out->moremisc + 2;
        float *gg = j == 0 ? grad->misc + 4 : j == 1 ? grad->misc + 7 : grad->moremisc + 2;
        double t[3] = {gt[4 + 4 * j], gt[5 + 4 * j], gt[6 + 4 * j]};
        /* entropy term: CE(t, softmax(log(t + 1e-30))) */
        float lt[3];
        float dummy[3] = {0, 0, 0};
        for (int i = 0; i < 3; i++)
            lt[i] = (float)log(t[i] + 1e-30);
        double ent = ce3(lt, t, 0.0, dummy);
        loss[TRAIN_LOSS_TD_VALUE] += 0.72 * wtd * (ce3(lg, t, 0.72 * wtd, gg) - ent);
    }

    /* ---- TD scores ---- */
    for (int j = 0; j < 3; j++) {
        double d, h = train__huber(out->moremisc[5 + j] * 20.0 - gt[7 + 4 * j], 12.0, &d);
        loss[TRAIN_LOSS_TD_SCORE] += 0.0004 * wo * h;
        grad->moremisc[5 + j] += (float)(0.0004 * wo * d * 20.0);
    }

    /* ---- Ownership ---- */
    {
        double sum = 0.0;
        const double c = 1.5 * wo / mask_sum;
        for (int p = 0; p < hw; p++) {
            if (mask[p] == 0.0f) continue;
            double z = 2.0 * out->own[p], y = (1.0 + owner[p]) * 0.5;
            sum += fmax(z, 0.0) - z * y + log1p(exp(-fabs(z)));
            grad->own[p] += (float)(c * 2.0 * (sigmoid(z) - y));
        }
        loss[TRAIN_LOSS_OWNERSHIP] += c * sum;
    }

    /* ---- Score mean, lead, variance time ---- */
    {
        double d, h = train__huber(out->misc[0] * 20.0 - gt[TRAINROWS_GT_SCORE], 12.0, &d);
        loss[TRAIN_LOSS_SCORE_MEAN] += 0.0015 * wo * h;
        grad->misc[0] += (float)(0.0015 * wo * d * 20.0);
        const double wl = w25 * w29;
        h = train__huber(out->misc[2] * 20.0 - gt[TRAINROWS_GT_LEAD], 8.0, &d);
        loss[TRAIN_LOSS_LEAD] += 0.006 * wl * h;
        grad->misc[2] += (float)(0.006 * wl * d * 20.0);
        double dsp, vt = train__softplus_floor(out->misc[3], 0, exact_grad, &dsp) * 40.0;
        h = train__huber(vt - (gt[TRAINROWS_GT_VARIANCE_TIME] + 1e-5), 50.0, &d);
        loss[TRAIN_LOSS_VARIANCE_TIME] += 0.0003 * wo * h;
        grad->misc[3] += (float)(0.0003 * wo * d * 40.0 * dsp);
    }

    /* ---- Score belief: pdf, cdf, stdev self-consistency ---- */
    {
        double mx = -1e300;
        for (int i = 0; i < S; i++)
            mx = fmax(mx, out->score_logp[i]);
        double z = 0.0;
        for (int i = 0; i < S; i++)
            z += exp(out->score_logp[i] - mx);
        const double lz = mx + log(z);
        double pdf = 0.0, tsum = 0.0;
        for (int i = 0; i < S; i++) {
            double l = out->score_logp[i] - lz;
            sp[i] = (float)exp(l);
            double t = score[i] * 0.01;
            pdf -= t * l;
            tsum += t;
        }
        const double cp = 0.02 * wo;
        loss[TRAIN_LOSS_SCORE_PDF] += cp * pdf;
        /* cdf: G_j = sum_{i >= j} 2 (P_i - T_i) is dL/dp_j. */
        double P = 0.0, T = 0.0, cdf = 0.0;
        for (int i = 0; i < S; i++) {
            P += sp[i];
            T += score[i] * 0.01;
            cdf += (P - T) * (P - T);
            sg[i] = (float)(2.0 * (P - T));
        }
        loss[TRAIN_LOSS_SCORE_CDF] += cp * cdf;
        for (int i = S - 2; i >= 0; i--)
            sg[i] += sg[i + 1];
        /* stdev of the belief: offsets (i - mid) + 0.5 */
        double mean = 0.0, var = 0.0;
        for (int i = 0; i < S; i++)
            mean += sp[i] * (train__score_offset(i, S) * 20.0);
        for (int i = 0; i < S; i++) {
            double o = train__score_offset(i, S) * 20.0 - mean;
            var += sp[i] * o * o;
        }
        const double sd = sqrt(0.001 + var);
        double dsp, pred = train__softplus_floor(out->misc[1], 0, exact_grad, &dsp) * 20.0;
        double d, h = train__huber(pred - sd, 10.0, &d);
        const double cs = 0.001 * w25;
        loss[TRAIN_LOSS_SCORE_STDEV] += cs * h;
        grad->misc[1] += (float)(cs * d * 20.0 * dsp);
        /* dL/dp_i total = cp*cdf part + stdev part; then softmax backward and the pdf term. */
        double dot = 0.0;
        for (int i = 0; i < S; i++) {
            double o = train__score_offset(i, S) * 20.0 - mean;
            double gi = cp * sg[i] - cs * d * (o * o) / (2.0 * sd);
            sg[i] = (float)gi;
            dot += sp[i] * gi;
        }
        for (int i = 0; i < S; i++)
            grad->score_logp[i] +=
                (float)(sp[i] * (sg[i] - dot) + cp * (sp[i] * tsum - score[i] * 0.01));
    }

    /* ---- Short-term value and score errors ---- */
    {
        double pv3[3];
        softmax3(out->moremisc + 2, pv3);
        const double pv = pv3[0] - pv3[1];
        const double rv = gt[TRAINROWS_GT_TD_LONG] - gt[TRAINROWS_GT_TD_LONG + 1];
        const double sq = (pv - rv) * (pv - rv) + 1e-8;
        double dsp, pred = train__softplus_floor(out->moremisc[0], 1, exact_grad, &dsp) * 0.25;
        double d, h = train__huber(pred - sq, 0.4, &d);
        const double cv = 2.0 * wo;
        loss[TRAIN_LOSS_ST_VALUE_ERR] += cv * h;
        grad->moremisc[0] += (float)(cv * d * 0.25 * dsp);
        if (exact_grad) { /* KataGo detaches pv; checks need the full derivative */
            double dpv = -cv * d * 2.0 * (pv - rv);
            double gw = dpv, gl = -dpv; /* dpv/dp = (1, -1, 0) */
            double dotp = pv3[0] * gw + pv3[1] * gl;
            grad->moremisc[2] += (float)(pv3[0] * (gw - dotp));
            grad->moremisc[3] += (float)(pv3[1] * (gl - dotp));
            grad->moremisc[4] += (float)(pv3[2] * (0.0 - dotp));
        }
        const double ps = out->moremisc[7] * 20.0, rs = gt[TRAINROWS_GT_TD_LONG + 3];
        const double sq2 = (ps - rs) * (ps - rs) + 1e-4;
        pred = train__softplus_floor(out->moremisc[1], 1, exact_grad, &dsp) * 150.0;
        h = train__huber(pred - sq2, 100.0, &d);
        const double cse = 0.00002 * wo;
        loss[TRAIN_LOSS_ST_SCORE_ERR] += cse * h;
        grad->moremisc[1] += (float)(cse * d * 150.0 * dsp);
        if (exact_grad) grad->moremisc[7] += (float)(-cse * d * 2.0 * (ps - rs) * 20.0);
    }
}
