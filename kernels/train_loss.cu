/* train_loss.cu: the training loss and the score-belief mixture on the device (train_loss.h).
 *
 * Loss: one block of TGT_BLOCK threads per sample. Everything over board points (policy
 * cross-entropies, soft targets, ownership) is split over the threads with fp64 block
 * reductions; the scalar heads and the score-belief terms (a few serial passes over ~842 bins,
 * including the cdf's prefix sums) run on thread 0. The formulas, coefficients and the order of
 * operations follow train__loss_sample (src/train/loss.c) line by line; only the summation
 * order of the parallel sums differs, so results agree to fp64 rounding. */
#include <math.h>

#include "train_common.cuh"
#include "train_loss.h"

#define NP 6 /* policy outputs */

enum {
    L_POLICY = 0,
    L_POLICY_OPP,
    L_POLICY_SOFT,
    L_POLICY_OPP_SOFT,
    L_POLICY_OPT,
    L_VALUE,
    L_TD_VALUE,
    L_TD_SCORE,
    L_OWNERSHIP,
    L_SCORE_MEAN,
    L_SCORE_PDF,
    L_SCORE_CDF,
    L_SCORE_STDEV,
    L_LEAD,
    L_VARIANCE_TIME,
    L_ST_VALUE_ERR,
    L_ST_SCORE_ERR
};

__device__ static double huber_d(double x, double delta, double *dydx) {
    double a = fabs(x);
    if (a > delta) {
        *dydx = x > 0 ? delta : -delta;
        return 0.5 * delta * delta + delta * (a - delta);
    }
    *dydx = x;
    return 0.5 * x * x;
}
__device__ static double softplus_d(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
__device__ static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }
__device__ static double softplus_floor_d(double x, int squared, int exact, double *dydx) {
    if (!squared) {
        *dydx = exact ? sigmoid_d(x) : fmax(sigmoid_d(x), 0.05);
        return softplus_d(x);
    }
    double s = softplus_d(0.5 * x);
    *dydx = exact ? s * sigmoid_d(0.5 * x) : fmax(sigmoid_d(x), 0.05);
    return s * s;
}

/* Block-parallel policy_ce of loss.c: CE of channel ch against target (hw+1), gradient
 * coef * (softmax * tsum - target) added into glog / gpass. Every thread returns the CE. */
__device__ static double policy_ce_d(const float *logits, const float *pass, int ch,
                                     const float *mask, int hw, const float *target, double coef,
                                     float *glog, float *gpass) {
    double mx = -1e300;
    for (int p = threadIdx.x; p <= hw; p += blockDim.x) {
        if (p < hw && mask[p] == 0.0f) continue;
        mx = fmax(mx, (double)(p < hw ? logits[p * NP + ch] : pass[ch]));
    }
    mx = tgt_block_max(mx);
    double z = 0.0;
    for (int p = threadIdx.x; p <= hw; p += blockDim.x) {
        if (p < hw && mask[p] == 0.0f) continue;
        z += exp((double)(p < hw ? logits[p * NP + ch] : pass[ch]) - mx);
    }
    const double lz = mx + log(tgt_block_sum(z));
    double ce = 0.0, ts = 0.0;
    for (int p = threadIdx.x; p <= hw; p += blockDim.x) {
        if (p < hw && mask[p] == 0.0f) continue;
        const double l = (double)(p < hw ? logits[p * NP + ch] : pass[ch]) - lz;
        ce -= target[p] * l;
        ts += target[p];
    }
    ce = tgt_block_sum(ce);
    ts = tgt_block_sum(ts);
    if (coef != 0.0)
        for (int p = threadIdx.x; p <= hw; p += blockDim.x) {
            if (p < hw && mask[p] == 0.0f) continue;
            const float l = (float)((double)(p < hw ? logits[p * NP + ch] : pass[ch]) - lz);
            const double g = coef * (exp((double)l) * ts - target[p]);
            if (p < hw)
                glog[p * NP + ch] += (float)g;
            else
                gpass[ch] += (float)g;
        }
    return ce;
}

__device__ static double ce3_d(const float *logits, const double *t, double coef, float *g) {
    double mx = fmax((double)logits[0], fmax((double)logits[1], (double)logits[2]));
    double z = exp(logits[0] - mx) + exp(logits[1] - mx) + exp(logits[2] - mx);
    double lz = mx + log(z), ce = 0.0, ts = t[0] + t[1] + t[2];
    for (int i = 0; i < 3; i++) {
        double l = logits[i] - lz;
        ce -= t[i] * l;
        if (g) g[i] += (float)(coef * (exp(l) * ts - t[i]));
    }
    return ce;
}

__global__ void loss_kernel(tg_cuda_train_heads_t out, tg_cuda_train_heads_t grad, int hw, int S,
                            const float *__restrict__ mask_all,
                            const float *__restrict__ mask_sum_all,
                            const float *__restrict__ policy_all, const float *__restrict__ gt_all,
                            const float *__restrict__ score_all,
                            const float *__restrict__ owner_all, int exact, float gscale,
                            double *loss_out) {
    __shared__ float tn_s[2][TG_CUDA_TRAIN_MAX_HW + 1], ts_s[TG_CUDA_TRAIN_MAX_HW + 1];
    __shared__ float sp_s[TG_CUDA_TRAIN_MAX_SCORE], sg_s[TG_CUDA_TRAIN_MAX_SCORE];
    const int s = blockIdx.x, tid = threadIdx.x;
    const float *ol = out.policy + (size_t)s * hw * NP, *opass = out.pass + (size_t)s * NP;
    const float *oval = out.value + (size_t)s * 3, *omisc = out.misc + (size_t)s * 10;
    const float *omm = out.moremisc + (size_t)s * 8, *oown = out.own + (size_t)s * hw;
    const float *ologp = out.score_logp + (size_t)s * S;
    float *gl = grad.policy + (size_t)s * hw * NP, *gpass = grad.pass + (size_t)s * NP;
    float *gval = grad.value + (size_t)s * 3, *gmisc = grad.misc + (size_t)s * 10;
    float *gmm = grad.moremisc + (size_t)s * 8, *gown = grad.own + (size_t)s * hw;
    float *glogp = grad.score_logp + (size_t)s * S;
    const float *mask = mask_all + (size_t)s * hw, *pol = policy_all + (size_t)s * 2 * (hw + 1);
    const float *gt = gt_all + (size_t)s * 80, *score = score_all + (size_t)s * S;
    const float *owner = owner_all + (size_t)s * hw;
    const float mask_sum = mask_sum_all[s];

    for (int i = tid; i < hw * NP; i += blockDim.x)
        gl[i] = 0.0f;
    for (int i = tid; i < hw; i += blockDim.x)
        gown[i] = 0.0f;
    for (int i = tid; i < S; i += blockDim.x)
        glogp[i] = 0.0f;
    if (tid < NP) gpass[tid] = 0.0f;
    if (tid < 3) gval[tid] = 0.0f;
    if (tid < 10) gmisc[tid] = 0.0f;
    if (tid < 8) gmm[tid] = 0.0f;
    __syncthreads();

    double L[TG_CUDA_TRAIN_LOSS_TERMS];
    for (int k = 0; k < TG_CUDA_TRAIN_LOSS_TERMS; k++)
        L[k] = 0.0;
    const double w25 = gt[25], w26 = gt[26], w27 = gt[27], w28 = gt[28], w29 = gt[29];
    const double wv = w25 * (1.0 - gt[35]), wtd = w25 * (1.0 - gt[24]), wo = w25 * w27;

    /* ---- Policy terms ---- */
    for (int k = 0; k < 2; k++) {
        const float *pt = pol + k * (hw + 1);
        double sum = 0.0;
        for (int p = tid; p <= hw; p += blockDim.x)
            sum += pt[p];
        sum = tgt_block_sum(sum);
        for (int p = tid; p <= hw; p += blockDim.x)
            tn_s[k][p] = sum > 0 ? (float)(pt[p] / sum) : 0.0f;
    }
    __syncthreads();
    const double wpol = w25 * w26, wopp = w25 * w28;
    L[L_POLICY] +=
        0.93 * wpol * policy_ce_d(ol, opass, 0, mask, hw, tn_s[0], 0.93 * wpol, gl, gpass);
    L[L_POLICY_OPP] +=
        0.15 * wopp * policy_ce_d(ol, opass, 1, mask, hw, tn_s[1], 0.15 * wopp, gl, gpass);
    for (int k = 0; k < 2; k++) {
        double sum = 0.0;
        for (int p = tid; p <= hw; p += blockDim.x) {
            const double m = (p == hw || mask[p] != 0.0f) ? 1.0 : 0.0;
            ts_s[p] = (float)pow((tn_s[k][p] + 1e-7) * m, 0.25);
            sum += ts_s[p];
        }
        sum = tgt_block_sum(sum);
        for (int p = tid; p <= hw; p += blockDim.x)
            ts_s[p] = (float)(ts_s[p] / sum);
        __syncthreads();
        const double c = k == 0 ? 8.0 * wpol : 8.0 * 0.15 * wopp;
        L[k == 0 ? L_POLICY_SOFT : L_POLICY_OPP_SOFT] +=
            c * policy_ce_d(ol, opass, 2 + k, mask, hw, ts_s, c, gl, gpass);
        __syncthreads();
    }
    const double c4 = 0.1 * 0.5 * wpol, c5 = 0.2 * 0.5 * wpol;
    const double ce4 = policy_ce_d(ol, opass, 4, mask, hw, tn_s[0], c4, gl, gpass);
    const double ce5 = policy_ce_d(ol, opass, 5, mask, hw, tn_s[0], c5, gl, gpass);
    L[L_POLICY_OPT] += c4 * ce4 + c5 * ce5;

    /* ---- Ownership (parallel) ---- */
    {
        double sum = 0.0;
        const double c = 1.5 * wo / mask_sum;
        for (int p = tid; p < hw; p += blockDim.x) {
            if (mask[p] == 0.0f) continue;
            const double z = 2.0 * oown[p], y = (1.0 + owner[p]) * 0.5;
            sum += fmax(z, 0.0) - z * y + log1p(exp(-fabs(z)));
            gown[p] += (float)(c * 2.0 * (sigmoid_d(z) - y));
        }
        L[L_OWNERSHIP] += c * tgt_block_sum(sum);
    }

    if (tid == 0) {
        /* ---- Value and TD values ---- */
        double tv[3] = {gt[0], gt[1], gt[2]};
        L[L_VALUE] += 0.72 * wv * ce3_d(oval, tv, 0.72 * wv, gval);
        for (int j = 0; j < 3; j++) {
            const float *lg = j == 0 ? omisc + 4 : j == 1 ? omisc + 7 : omm + 2;
            float *gg = j == 0 ? gmisc + 4 : j == 1 ? gmisc + 7 : gmm + 2;
            double t[3] = {gt[4 + 4 * j], gt[5 + 4 * j], gt[6 + 4 * j]};
            float lt[3];
            for (int i = 0; i < 3; i++)
                lt[i] = (float)log(t[i] + 1e-30);
            const double ent = ce3_d(lt, t, 0.0, NULL);
            L[L_TD_VALUE] += 0.72 * wtd * (ce3_d(lg, t, 0.72 * wtd, gg) - ent);
        }
        /* ---- TD scores ---- */
        for (int j = 0; j < 3; j++) {
            double d, h = huber_d(omm[5 + j] * 20.0 - gt[7 + 4 * j], 12.0, &d);
            L[L_TD_SCORE] += 0.0004 * wo * h;
            gmm[5 + j] += (float)(0.0004 * wo * d * 20.0);
        }
        /* ---- Score mean, lead, variance time ---- */
        {
            double d, h = huber_d(omisc[0] * 20.0 - gt[3], 12.0, &d);
            L[L_SCORE_MEAN] += 0.0015 * wo * h;
            gmisc[0] += (float)(0.0015 * wo * d * 20.0);
            const double wl = w25 * w29;
            h = huber_d(omisc[2] * 20.0 - gt[21], 8.0, &d);
            L[L_LEAD] += 0.006 * wl * h;
            gmisc[2] += (float)(0.006 * wl * d * 20.0);
            double dsp, vt = softplus_floor_d(omisc[3], 0, exact, &dsp) * 40.0;
            h = huber_d(vt - (gt[22] + 1e-5), 50.0, &d);
            L[L_VARIANCE_TIME] += 0.0003 * wo * h;
            gmisc[3] += (float)(0.0003 * wo * d * 40.0 * dsp);
        }
        /* ---- Score belief: pdf, cdf, stdev ---- */
        {
            double mx = -1e300;
            for (int i = 0; i < S; i++)
                mx = fmax(mx, (double)ologp[i]);
            double z = 0.0;
            for (int i = 0; i < S; i++)
                z += exp(ologp[i] - mx);
            const double lz = mx + log(z);
            double pdf = 0.0, tsum = 0.0;
            for (int i = 0; i < S; i++) {
                double l = ologp[i] - lz;
                sp_s[i] = (float)exp(l);
                double t = score[i] * 0.01;
                pdf -= t * l;
                tsum += t;
            }
            const double cp = 0.02 * wo;
            L[L_SCORE_PDF] += cp * pdf;
            double P = 0.0, T = 0.0, cdf = 0.0;
            for (int i = 0; i < S; i++) {
                P += sp_s[i];
                T += score[i] * 0.01;
                cdf += (P - T) * (P - T);
                sg_s[i] = (float)(2.0 * (P - T));
            }
            L[L_SCORE_CDF] += cp * cdf;
            for (int i = S - 2; i >= 0; i--)
                sg_s[i] += sg_s[i + 1];
            double mean = 0.0, var = 0.0;
            for (int i = 0; i < S; i++)
                mean += sp_s[i] * (tgt_score_offset(i, S) * 20.0);
            for (int i = 0; i < S; i++) {
                double o = tgt_score_offset(i, S) * 20.0 - mean;
                var += sp_s[i] * o * o;
            }
            const double sd = sqrt(0.001 + var);
            double dsp, pred = softplus_floor_d(omisc[1], 0, exact, &dsp) * 20.0;
            double d, h = huber_d(pred - sd, 10.0, &d);
            const double cs = 0.001 * w25;
            L[L_SCORE_STDEV] += cs * h;
            gmisc[1] += (float)(cs * d * 20.0 * dsp);
            double dot = 0.0;
            for (int i = 0; i < S; i++) {
                double o = tgt_score_offset(i, S) * 20.0 - mean;
                double gi = cp * sg_s[i] - cs * d * (o * o) / (2.0 * sd);
                sg_s[i] = (float)gi;
                dot += sp_s[i] * gi;
            }
            for (int i = 0; i < S; i++)
                glogp[i] +=
                    (float)(sp_s[i] * (sg_s[i] - dot) + cp * (sp_s[i] * tsum - score[i] * 0.01));
        }
        /* ---- Short-term value and score errors ---- */
        {
            double pv3[3];
            {
                const float *x = omm + 2;
                double m = fmax((double)x[0], fmax((double)x[1], (double)x[2])), zz = 0;
                for (int i = 0; i < 3; i++)
                    zz += (pv3[i] = exp(x[i] - m));
                for (int i = 0; i < 3; i++)
                    pv3[i] /= zz;
            }
            const double pv = pv3[0] - pv3[1];
            const double rv = gt[12] - gt[13];
            const double sq = (pv - rv) * (pv - rv) + 1e-8;
            double dsp, pred = softplus_floor_d(omm[0], 1, exact, &dsp) * 0.25;
            double d, h = huber_d(pred - sq, 0.4, &d);
            const double cv = 2.0 * wo;
            L[L_ST_VALUE_ERR] += cv * h;
            gmm[0] += (float)(cv * d * 0.25 * dsp);
            if (exact) {
                double dpv = -cv * d * 2.0 * (pv - rv);
                double gw = dpv, glo = -dpv;
                double dotp = pv3[0] * gw + pv3[1] * glo;
                gmm[2] += (float)(pv3[0] * (gw - dotp));
                gmm[3] += (float)(pv3[1] * (glo - dotp));
                gmm[4] += (float)(pv3[2] * (0.0 - dotp));
            }
            const double ps = omm[7] * 20.0, rs = gt[15];
            const double sq2 = (ps - rs) * (ps - rs) + 1e-4;
            pred = softplus_floor_d(omm[1], 1, exact, &dsp) * 150.0;
            h = huber_d(pred - sq2, 100.0, &d);
            const double cse = 0.00002 * wo;
            L[L_ST_SCORE_ERR] += cse * h;
            gmm[1] += (float)(cse * d * 150.0 * dsp);
            if (exact) gmm[7] += (float)(-cse * d * 2.0 * (ps - rs) * 20.0);
        }
        for (int k = 0; k < TG_CUDA_TRAIN_LOSS_TERMS; k++)
            loss_out[(size_t)s * TG_CUDA_TRAIN_LOSS_TERMS + k] = L[k];
    }
    if (gscale != 1.0f) {
        __syncthreads();
        for (int i = tid; i < hw * NP; i += blockDim.x)
            gl[i] *= gscale;
        for (int i = tid; i < hw; i += blockDim.x)
            gown[i] *= gscale;
        for (int i = tid; i < S; i += blockDim.x)
            glogp[i] *= gscale;
        if (tid < NP) gpass[tid] *= gscale;
        if (tid < 3) gval[tid] *= gscale;
        if (tid < 10) gmisc[tid] *= gscale;
        if (tid < 8) gmm[tid] *= gscale;
    }
}

extern "C" cudaError_t tg_cuda_train_loss(const tg_cuda_train_heads_t *out,
                                          const tg_cuda_train_heads_t *grad, int n, int hw,
                                          int score_len, const float *mask, const float *mask_sum,
                                          const float *policy, const float *gtargets,
                                          const float *score, const float *owner, int exact_grad,
                                          float grad_scale, double *loss, cudaStream_t stream) {
    if (hw > TG_CUDA_TRAIN_MAX_HW || score_len > TG_CUDA_TRAIN_MAX_SCORE)
        return cudaErrorInvalidValue;
    loss_kernel<<<(unsigned)n, TGT_BLOCK, 0, stream>>>(*out, *grad, hw, score_len, mask, mask_sum,
                                                       policy, gtargets, score, owner, exact_grad,
                                                       grad_scale, loss);
    return cudaGetLastError();
}

/* ---- Score belief --------------------------------------------------------------------------- */

__global__ void score_u_kernel(const float *__restrict__ s2, const float *__restrict__ global,
                               const float *__restrict__ woff, const float *__restrict__ wpar,
                               int n, int S, int SB, float *u) {
    const size_t total = (size_t)n * S * SB;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        const int j = (int)(i % SB);
        const size_t t = i / SB;
        const int b = (int)(t % S), s = (int)(t / S);
        const float kp = global[(size_t)s * 19 + 18];
        const float off = tgt_score_offset(b, S), par = tgt_score_parity(b, S) * kp;
        const float v = s2[(size_t)s * SB + j] + off * woff[j] + par * wpar[j];
        u[i] = v > 0.0f ? v : 0.0f;
    }
}

extern "C" cudaError_t tg_cuda_train_score_u(const float *s2, const float *global,
                                             const float *woff, const float *wpar, int n,
                                             int score_len, int sb, float *u, cudaStream_t stream) {
    score_u_kernel<<<tgk_blocks((size_t)n * score_len * sb, 256), 256, 0, stream>>>(
        s2, global, woff, wpar, n, score_len, sb, u);
    return cudaGetLastError();
}

/* Thread per (s, j): walks the bins; gwoff/gwpar get one atomic per thread. */
__global__ void score_u_bwd_kernel(const float *__restrict__ du, const float *__restrict__ global,
                                   int n, int S, int SB, float *ds2, float *gwoff, float *gwpar) {
    const size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (i >= (size_t)n * SB) return;
    const int s = (int)(i / SB), j = (int)(i % SB);
    const float kp = global[(size_t)s * 19 + 18];
    float a = 0.0f, go = 0.0f, gp = 0.0f;
    for (int b = 0; b < S; b++) {
        const float d = du[((size_t)s * S + b) * SB + j];
        a += d;
        go += d * tgt_score_offset(b, S);
        gp += d * (tgt_score_parity(b, S) * kp);
    }
    ds2[i] = a;
    atomicAdd(&gwoff[j], go);
    atomicAdd(&gwpar[j], gp);
}

extern "C" cudaError_t tg_cuda_train_score_u_bwd(const float *du, const float *global, int n,
                                                 int score_len, int sb, float *ds2, float *gwoff,
                                                 float *gwpar, cudaStream_t stream) {
    score_u_bwd_kernel<<<tgk_blocks((size_t)n * sb, 128), 128, 0, stream>>>(
        du, global, n, score_len, sb, ds2, gwoff, gwpar);
    return cudaGetLastError();
}

__global__ void score_mix_fwd_kernel(const float *__restrict__ zall,
                                     const float *__restrict__ mixall, int S, int K, float *lszall,
                                     float *lwall, float *logpall) {
    __shared__ double lw_s[64], lse_s[64];
    const int s = blockIdx.x, tid = threadIdx.x;
    const float *z = zall + (size_t)s * S * K, *mix = mixall + (size_t)s * K;
    float *lsz = lszall + (size_t)s * S * K, *lw = lwall + (size_t)s * K;
    float *logp = logpall + (size_t)s * S;
    if (tid == 0) {
        double mx = -1e300, zz = 0.0;
        for (int k = 0; k < K; k++)
            mx = fmax(mx, (double)mix[k]);
        for (int k = 0; k < K; k++)
            zz += exp(mix[k] - mx);
        for (int k = 0; k < K; k++) {
            lw[k] = (float)(mix[k] - mx - log(zz));
            lw_s[k] = lw[k];
        }
    }
    for (int k = 0; k < K; k++) {
        double m2 = -1e300;
        for (int b = tid; b < S; b += blockDim.x)
            m2 = fmax(m2, (double)z[(size_t)b * K + k]);
        m2 = tgt_block_max(m2);
        double z2 = 0.0;
        for (int b = tid; b < S; b += blockDim.x)
            z2 += exp(z[(size_t)b * K + k] - m2);
        z2 = tgt_block_sum(z2);
        if (tid == 0) lse_s[k] = m2 + log(z2);
    }
    __syncthreads();
    for (int b = tid; b < S; b += blockDim.x) {
        double m3 = -1e300, z3 = 0.0;
        for (int k = 0; k < K; k++) {
            const float v = (float)(z[(size_t)b * K + k] - lse_s[k]);
            lsz[(size_t)b * K + k] = v;
            m3 = fmax(m3, (double)(v + (float)lw_s[k]));
        }
        for (int k = 0; k < K; k++)
            z3 += exp((double)(lsz[(size_t)b * K + k] + (float)lw_s[k]) - m3);
        logp[b] = (float)(m3 + log(z3));
    }
}

extern "C" cudaError_t tg_cuda_train_score_mix_fwd(const float *z, const float *mix, int n,
                                                   int score_len, int k, float *lsz, float *lw,
                                                   float *logp, cudaStream_t stream) {
    if (k > 64) return cudaErrorInvalidValue;
    score_mix_fwd_kernel<<<(unsigned)n, TGT_BLOCK, 0, stream>>>(z, mix, score_len, k, lsz, lw,
                                                                logp);
    return cudaGetLastError();
}

__global__ void score_mix_bwd_kernel(const float *__restrict__ glogpall,
                                     const float *__restrict__ lszall,
                                     const float *__restrict__ lwall,
                                     const float *__restrict__ logpall, int S, int K, float *dzall,
                                     float *dmixall) {
    __shared__ double dlw_s[64];
    const int s = blockIdx.x, tid = threadIdx.x;
    const float *g = glogpall + (size_t)s * S, *lsz = lszall + (size_t)s * S * K;
    const float *lw = lwall + (size_t)s * K, *logp = logpall + (size_t)s * S;
    float *dz = dzall + (size_t)s * S * K;
    for (int k = 0; k < K; k++) {
        double acc = 0.0;
        for (int b = tid; b < S; b += blockDim.x) {
            const double a = g[b] * exp((double)(lsz[(size_t)b * K + k] + lw[k]) - logp[b]);
            dz[(size_t)b * K + k] = (float)a;
            acc += a;
        }
        acc = tgt_block_sum(acc);
        if (tid == 0) dlw_s[k] = acc;
    }
    __syncthreads();
    for (int b = tid; b < S; b += blockDim.x)
        for (int k = 0; k < K; k++)
            dz[(size_t)b * K + k] -= (float)(exp((double)lsz[(size_t)b * K + k]) * dlw_s[k]);
    if (tid == 0) {
        double sum = 0.0;
        for (int k = 0; k < K; k++)
            sum += dlw_s[k];
        for (int k = 0; k < K; k++)
            dmixall[(size_t)s * K + k] = (float)(dlw_s[k] - exp((double)lw[k]) * sum);
    }
}

extern "C" cudaError_t tg_cuda_train_score_mix_bwd(const float *glogp, const float *lsz,
                                                   const float *lw, const float *logp, int n,
                                                   int score_len, int k, float *dz, float *dmix,
                                                   cudaStream_t stream) {
    if (k > 64) return cudaErrorInvalidValue;
    score_mix_bwd_kernel<<<(unsigned)n, TGT_BLOCK, 0, stream>>>(glogp, lsz, lw, logp, score_len, k,
                                                                dz, dmix);
    return cudaGetLastError();
}
