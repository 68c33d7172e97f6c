#!/usr/bin/env python3
"""train_pytorch.py: the PyTorch yardstick for `tengen bench train` (issue #5's CPU speed bar).

KataGo's own trainer (python/katago/train/train.py) cannot run here, so this is an independent
PyTorch implementation of THE SAME NET AND LOSS that tengen trains (src/train/model.c, net.c,
loss.c; algorithms.md sections 4-5), written in the module structure of KataGo's
model_pytorch.py (NCHW, pre-activation fixup blocks: norm -> ReLU -> conv, gpool blocks whose
regular conv gets a bias from mean / scaled-mean / max pooling of a second conv, policy head
with global pooling and a pass branch, value head with value / misc / moremisc / ownership and
the score-belief mixture). Every trainable tensor of tengen's parameter layout exists here with
the same shape in the same order (checked and printed on every run), so the FLOPs match;
--check-ckpt loads a tengen checkpoint's weights and prints the mean of every loss term over
all rows and symmetries, to compare with tengen's own loss terms (`tengen train --lr 0`).

What this is NOT: KataGo's train.py. That also has the scoring, future-position and seki heads,
optional intermediate heads, per-batch metrics and a data loader process, so it can only be
slower than this script; comparing tengen against this script is therefore conservative.

Timing: --warmup steps first (not timed), then --steps optimizer steps (or, with --seconds,
steps until that much wall time passed). A step = draw `batch` random rows (with replacement)
from rows unpacked once at load, one random symmetry of 8 for the whole batch, forward, the
summed loss, backward, global grad-norm clip, SGD with momentum (torch semantics, KataGo's
groups: head lr x 0.5, weight decay 1e-6 / 1e-8 x batch/256), lookahead every 6 steps; i.e.
what one `trainer_step` of tengen does.

Output: one line in the format of `tengen bench train` plus `impl=pytorch`, e.g.
  bench=train backend=cpu precision=fp32 model=b6c96 params=... size=19 batch=64 threads=2
  steps=... train_samples_per_s=... ms_per_step=... trunk_gflops=... loss=... impl=pytorch
preceded by `# ...` comment lines (torch version, backend, parameter counts).
"""
import argparse
import math
import os
import sys
import time

import numpy as np


def blas_env_from_argv():
    """Before torch loads: the thread count for OpenBLAS/OpenMP too, and OpenBLAS's AVX-512
    kernels on CPUs it does not recognise (what tengen's tg_cpu_tune_blas_env does)."""
    threads = "1"
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            threads = sys.argv[i + 1]
        elif arg.startswith("--threads="):
            threads = arg.split("=", 1)[1]
    os.environ.setdefault("OMP_NUM_THREADS", threads)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", threads)
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(next((l for l in f if l.startswith("flags")), "").split())
    except OSError:
        flags = set()
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
    elif {"avx2", "fma"} <= flags:
        os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")


blas_env_from_argv()
try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the calling script turns this into a skip
    print("skipped: python3-torch not installed", file=sys.stderr)
    sys.exit(77)

# ---- model configs (same table as src/train/model.c) ------------------------------------------

# name: C, M, G, blocks ('r' regular, 'g' gpool), P1, G1, V1, V2, SB, K
CONFIGS = {
    "b2c16": (16, 16, 8, "rg", 8, 8, 8, 12, 12, 2),
    "b4c32": (32, 32, 16, "rrgr", 12, 12, 12, 24, 24, 4),
    "b6c96": (96, 96, 32, "rrgrgr", 32, 32, 32, 64, 48, 4),
    "b10c128": (128, 128, 32, "rrrrgrrgrr", 32, 32, 32, 80, 64, 6),
}
SPATIAL_IN, GLOBAL_IN = 22, 19
POLICY_OUT, MISC_OUT, MOREMISC_OUT = 6, 10, 8
SCORE_RADIUS = 60  # KataGo's EXTRA_SCORE_DISTR_RADIUS
ALIGN = 16  # tengen pads every tensor to 16 floats in its one parameter buffer


def trunc_normal_(t, std):
    """KataGo's init_weights: normal truncated at 2 std, std corrected by 1/0.8796."""
    if std < 1e-10:
        t.data.zero_()
    else:
        std = std / 0.87962566103423978
        torch.nn.init.trunc_normal_(t.data, 0.0, std, -2.0 * std, 2.0 * std)


def init_w(t, gain, scale, fan_in):
    trunc_normal_(t, scale * gain / math.sqrt(fan_in))


RELU, IDENT = math.sqrt(2.0), 1.0


class Beta(torch.nn.Module):
    """Fixup norm: x * (1 + gamma) + beta (gamma optional), then ReLU and the board mask."""

    def __init__(self, c, gamma=False):
        super().__init__()
        self.beta = torch.nn.Parameter(torch.zeros(1, c, 1, 1))
        self.gamma = torch.nn.Parameter(torch.zeros(1, c, 1, 1)) if gamma else None

    def forward(self, x, mask):
        if self.gamma is not None:
            x = x * (1.0 + self.gamma)
        return F.relu(x + self.beta) * mask


def gpool(x, mask, mask_sum_hw):
    """KataGPool: mean, mean * (sqrt(area) - 14) / 10, masked max -> (N, 3C)."""
    mean = x.sum(dim=(2, 3)) / mask_sum_hw
    mx = torch.amax(x + (mask - 1.0), dim=(2, 3))
    return torch.cat([mean, mean * ((mask_sum_hw.sqrt() - 14.0) * 0.1), mx], dim=1)


def vpool(x, mask_sum_hw):
    """KataValueHeadGPool: mean, mean * (s/10), mean * (s^2/100 - 0.1), s = sqrt(area) - 14."""
    mean = x.sum(dim=(2, 3)) / mask_sum_hw
    s = mask_sum_hw.sqrt() - 14.0
    return torch.cat([mean, mean * (s * 0.1), mean * (s * s * 0.01 - 0.1)], dim=1)


class Block(torch.nn.Module):
    """Residual block: normactconv1 (regular or conv+gpool), normactconv2 (gamma), skip add."""

    def __init__(self, C, M, G, is_gpool, fixup):
        super().__init__()
        self.gpool = is_gpool
        R = M - G if is_gpool else M
        self.norm1 = Beta(C)
        self.conv1 = torch.nn.Conv2d(C, R, 3, padding=1, bias=False)
        if is_gpool:
            self.conv1g = torch.nn.Conv2d(C, G, 3, padding=1, bias=False)
            self.normg = Beta(G)
            self.linear_g = torch.nn.Linear(3 * G, R, bias=False)
            init_w(self.conv1.weight, RELU, fixup * 0.8, C * 9)
            init_w(self.conv1g.weight, RELU, math.sqrt(fixup) * math.sqrt(0.6), C * 9)
            init_w(self.linear_g.weight, RELU, math.sqrt(fixup) * math.sqrt(0.6), 3 * G)
        else:
            init_w(self.conv1.weight, RELU, fixup, C * 9)
        self.norm2 = Beta(R, gamma=True)
        self.conv2 = torch.nn.Conv2d(R, C, 3, padding=1, bias=False)
        self.conv2.weight.data.zero_()  # fixup: the residual branch starts at zero

    def forward(self, x, mask, msum):
        a = self.norm1(x, mask)
        h = self.conv1(a)
        if self.gpool:
            g = self.normg(self.conv1g(a), mask)
            h = h + self.linear_g(gpool(g, mask, msum))[:, :, None, None]
        return x + self.conv2(self.norm2(h, mask))


class Net(torch.nn.Module):
    def __init__(self, kind, pos_len):
        super().__init__()
        C, M, G, blocks, P1, G1, V1, V2, SB, K = CONFIGS[kind]
        self.kind, self.cfg = kind, CONFIGS[kind]
        self.conv_spatial = torch.nn.Conv2d(SPATIAL_IN, C, 3, padding=1, bias=False)
        self.linear_global = torch.nn.Linear(GLOBAL_IN, C, bias=False)
        init_w(self.conv_spatial.weight, RELU, 0.8, SPATIAL_IN * 9)
        init_w(self.linear_global.weight, RELU, 0.6, GLOBAL_IN)
        fixup = 1.0 / math.sqrt(len(blocks))
        self.blocks = torch.nn.ModuleList(Block(C, M, G, b == "g", fixup) for b in blocks)
        self.norm_trunkfinal = Beta(C)
        # policy head
        self.conv1p = torch.nn.Conv2d(C, P1, 1, bias=False)
        self.conv1g = torch.nn.Conv2d(C, G1, 1, bias=False)
        self.biasg = Beta(G1)
        self.linear_pg = torch.nn.Linear(3 * G1, P1, bias=False)
        self.bias2 = Beta(P1)
        self.conv2p = torch.nn.Conv2d(P1, POLICY_OUT, 1, bias=False)
        self.linear_pass = torch.nn.Linear(3 * G1, P1, bias=True)
        self.linear_pass2 = torch.nn.Linear(P1, POLICY_OUT, bias=False)
        # value head
        self.v_conv1 = torch.nn.Conv2d(C, V1, 1, bias=False)
        self.v_bias1 = Beta(V1)
        self.linear2 = torch.nn.Linear(3 * V1, V2, bias=True)
        self.linear_valuehead = torch.nn.Linear(V2, 3, bias=True)
        self.linear_miscvaluehead = torch.nn.Linear(V2, MISC_OUT, bias=True)
        self.linear_moremiscvaluehead = torch.nn.Linear(V2, MOREMISC_OUT, bias=True)
        self.conv_ownership = torch.nn.Conv2d(V1, 1, 1, bias=False)
        # score belief (training only)
        self.linear_s2 = torch.nn.Linear(3 * V1, SB, bias=True)
        self.linear_s2off = torch.nn.Linear(1, SB, bias=False)
        self.linear_s2par = torch.nn.Linear(1, SB, bias=False)
        self.linear_s3 = torch.nn.Linear(SB, K, bias=True)
        self.linear_smix = torch.nn.Linear(3 * V1, K, bias=True)
        S = 2 * (pos_len * pos_len + SCORE_RADIUS)
        mid = S // 2
        idx = torch.arange(S, dtype=torch.float32)
        self.register_buffer("score_offset", (0.05 * (idx - mid + 0.5)).view(S, 1))
        self.register_buffer("score_parity", (0.5 - torch.remainder(idx - mid, 2.0)).view(S, 1))
        # head init (tengen's model.c scales)
        for w, g, s, f in [
            (self.conv1p.weight, RELU, 0.8, C), (self.conv1g.weight, RELU, 0.6, C),
            (self.linear_pg.weight, RELU, 0.6, 3 * G1), (self.conv2p.weight, IDENT, 0.3, P1),
            (self.linear_pass.weight, RELU, 1.0, 3 * G1), (self.linear_pass.bias, RELU, 0.2, 3 * G1),
            (self.linear_pass2.weight, IDENT, 0.3, P1), (self.v_conv1.weight, RELU, 1.0, C),
            (self.linear2.weight, RELU, 1.0, 3 * V1), (self.linear2.bias, RELU, 0.2, 3 * V1),
            (self.linear_valuehead.weight, IDENT, 1.0, V2),
            (self.linear_valuehead.bias, IDENT, 0.2, V2),
            (self.linear_miscvaluehead.weight, IDENT, 1.0, V2),
            (self.linear_miscvaluehead.bias, IDENT, 0.2, V2),
            (self.linear_moremiscvaluehead.weight, IDENT, 1.0, V2),
            (self.linear_moremiscvaluehead.bias, IDENT, 0.2, V2),
            (self.conv_ownership.weight, IDENT, 0.2, V1),
            (self.linear_s2.weight, RELU, 1.0, 3 * V1), (self.linear_s2.bias, RELU, 1.0, 3 * V1),
            (self.linear_s2off.weight, RELU, 1.0, 3 * V1),
            (self.linear_s2par.weight, RELU, 1.0, 3 * V1),
            (self.linear_s3.weight, IDENT, 0.5, SB), (self.linear_s3.bias, IDENT, 0.1, SB),
            (self.linear_smix.weight, IDENT, 1.0, 3 * V1),
            (self.linear_smix.bias, IDENT, 0.2, 3 * V1)]:
            init_w(w, g, s, f)
        self.head_params = set()
        for mod in [self.conv1p, self.conv1g, self.biasg, self.linear_pg, self.bias2, self.conv2p,
                    self.linear_pass, self.linear_pass2, self.v_conv1, self.v_bias1, self.linear2,
                    self.linear_valuehead, self.linear_miscvaluehead,
                    self.linear_moremiscvaluehead, self.conv_ownership, self.linear_s2,
                    self.linear_s2off, self.linear_s2par, self.linear_s3, self.linear_smix]:
            for p in mod.parameters():
                self.head_params.add(p)

    def tengen_order(self):
        """[(param, layout)] in the order of tengen's parameter buffer (model.c layout_build);
        layout says how a torch tensor maps to tengen's: conv (oc,ic,k,k) <-> (k,k,ic,oc),
        conv1 (oc,ic,1,1) <-> (ic,oc), lin (oc,ic) <-> (ic,oc), vec: flat."""
        o = [(self.conv_spatial.weight, "conv"), (self.linear_global.weight, "lin")]
        for b in self.blocks:
            o += [(b.norm1.beta, "vec"), (b.conv1.weight, "conv")]
            if b.gpool:
                o += [(b.conv1g.weight, "conv"), (b.normg.beta, "vec"), (b.linear_g.weight, "lin")]
            o += [(b.norm2.beta, "vec"), (b.norm2.gamma, "vec"), (b.conv2.weight, "conv")]
        o += [(self.norm_trunkfinal.beta, "vec"), (self.conv1p.weight, "conv1"),
              (self.conv1g.weight, "conv1"), (self.biasg.beta, "vec"),
              (self.linear_pg.weight, "lin"), (self.bias2.beta, "vec"),
              (self.conv2p.weight, "conv1"), (self.linear_pass.weight, "lin"),
              (self.linear_pass.bias, "vec"), (self.linear_pass2.weight, "lin")]
        o += [(self.v_conv1.weight, "conv1"), (self.v_bias1.beta, "vec")]
        for m in [self.linear2, self.linear_valuehead, self.linear_miscvaluehead,
                  self.linear_moremiscvaluehead]:
            o += [(m.weight, "lin"), (m.bias, "vec")]
        o += [(self.conv_ownership.weight, "conv1"), (self.linear_s2.weight, "lin"),
              (self.linear_s2.bias, "vec"), (self.linear_s2off.weight, "vec"),
              (self.linear_s2par.weight, "vec"), (self.linear_s3.weight, "lin"),
              (self.linear_s3.bias, "vec"), (self.linear_smix.weight, "lin"),
              (self.linear_smix.bias, "vec")]
        return o

    def forward(self, spatial, glob):
        mask = spatial[:, 0:1]
        msum = mask.sum(dim=(2, 3))  # (N, 1)
        x = self.conv_spatial(spatial) + self.linear_global(glob)[:, :, None, None]
        for b in self.blocks:
            x = b(x, mask, msum)
        t = self.norm_trunkfinal(x, mask)
        # policy
        pp = self.conv1p(t)
        pq = gpool(self.biasg(self.conv1g(t), mask), mask, msum)
        pp = pp + self.linear_pg(pq)[:, :, None, None]
        policy = self.conv2p(self.bias2(pp, mask))  # (N, 6, H, W)
        pas = self.linear_pass2(F.relu(self.linear_pass(pq)))  # (N, 6)
        # value
        v = self.v_bias1(self.v_conv1(t), mask)
        vp = vpool(v, msum)
        vh = F.relu(self.linear2(vp))
        value = self.linear_valuehead(vh)
        misc = self.linear_miscvaluehead(vh)
        moremisc = self.linear_moremiscvaluehead(vh)
        own = self.conv_ownership(v) * mask  # (N, 1, H, W)
        # score belief: mixture of K softmaxes over S score bins
        s2 = self.linear_s2(vp)  # (N, SB)
        off = self.linear_s2off(self.score_offset)  # (S, SB)
        par = self.linear_s2par(self.score_parity)  # (S, SB)
        u = F.relu(s2[:, None, :] + off[None] + par[None] * glob[:, -1:, None])
        z = F.log_softmax(self.linear_s3(u), dim=1)  # (N, S, K)
        lw = F.log_softmax(self.linear_smix(vp), dim=1)  # (N, K)
        score_logp = torch.logsumexp(z + lw[:, None, :], dim=2)  # (N, S)
        return policy, pas, value, misc, moremisc, own, score_logp


# ---- loss (src/train/loss.c, KataGo's metrics with train.py's default scales) -----------------


class SoftPlusFloor(torch.autograd.Function):
    """softplus (or softplus(x/2)^2) whose gradient never drops below 0.05 (KataGo)."""

    @staticmethod
    def forward(ctx, x, square):
        ctx.save_for_backward(x)
        return torch.square(F.softplus(0.5 * x)) if square else F.softplus(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * torch.clamp(torch.sigmoid(x), min=0.05), None


def huber(x, delta):
    return F.huber_loss(x, torch.zeros_like(x), reduction="none", delta=delta)


def policy_ce(logits, target, mask_flat):
    """Sum over rows of CE(target, masked softmax over board + pass). logits (N, HW+1)."""
    lsm = F.log_softmax(logits - (1.0 - mask_flat) * 5000.0, dim=1)
    return -(target * lsm).sum(dim=1)


def loss_terms(out, b):
    """Per-row loss terms (N,) by tengen's names (train_loss_name); their sum is the loss."""
    policy, pas, value, misc, moremisc, own, score_logp = out
    n = policy.shape[0]
    gt, mask = b["gt"], b["mask"]
    mask_flat = torch.cat([mask.reshape(n, -1), torch.ones(n, 1)], dim=1)
    w25, w26, w27, w28, w29 = gt[:, 25], gt[:, 26], gt[:, 27], gt[:, 28], gt[:, 29]
    wv, wtd, wo = w25 * (1.0 - gt[:, 35]), w25 * (1.0 - gt[:, 24]), w25 * w27
    wpol, wopp = w25 * w26, w25 * w28
    L = {}
    logits = torch.cat([policy.reshape(n, POLICY_OUT, -1), pas[:, :, None]], dim=2)
    pt = b["policy"]  # (N, 2, HW+1)
    t = pt / pt.sum(dim=2, keepdim=True).clamp(min=1e-30)
    soft = torch.pow((t + 1e-7) * mask_flat[:, None, :], 0.25)
    soft = soft / soft.sum(dim=2, keepdim=True)
    L["policy"] = 0.93 * wpol * policy_ce(logits[:, 0], t[:, 0], mask_flat)
    L["policy_opp"] = 0.15 * wopp * policy_ce(logits[:, 1], t[:, 1], mask_flat)
    L["policy_soft"] = 8.0 * wpol * policy_ce(logits[:, 2], soft[:, 0], mask_flat)
    L["policy_opp_soft"] = 8.0 * 0.15 * wopp * policy_ce(logits[:, 3], soft[:, 1], mask_flat)
    L["policy_opt"] = (0.05 * wpol * policy_ce(logits[:, 4], t[:, 0], mask_flat) +
                       0.1 * wpol * policy_ce(logits[:, 5], t[:, 0], mask_flat))
    # value and TD values
    L["value"] = 0.72 * wv * -(gt[:, 0:3] * F.log_softmax(value, dim=1)).sum(dim=1)
    L["td_value"] = 0.0
    for lg, j in [(misc[:, 4:7], 0), (misc[:, 7:10], 1), (moremisc[:, 2:5], 2)]:
        tt = gt[:, 4 + 4 * j:7 + 4 * j]
        ent = -(tt * torch.log(tt + 1e-30)).sum(dim=1)
        L["td_value"] = L["td_value"] + 0.72 * wtd * (
            -(tt * F.log_softmax(lg, dim=1)).sum(dim=1) - ent)
    L["td_score"] = 0.0
    for j in range(3):
        L["td_score"] = L["td_score"] + 0.0004 * wo * huber(
            moremisc[:, 5 + j] * 20.0 - gt[:, 7 + 4 * j], 12.0)
    # ownership
    z = 2.0 * own.reshape(n, -1)
    y = (1.0 + b["owner"].reshape(n, -1)) * 0.5
    bce = F.binary_cross_entropy_with_logits(z, y, reduction="none") * mask.reshape(n, -1)
    msum = mask.reshape(n, -1).sum(dim=1)
    L["ownership"] = 1.5 * wo / msum * bce.sum(dim=1)
    # score mean, lead, variance time
    L["score_mean"] = 0.0015 * wo * huber(misc[:, 0] * 20.0 - gt[:, 3], 12.0)
    L["lead"] = 0.006 * w25 * w29 * huber(misc[:, 2] * 20.0 - gt[:, 21], 8.0)
    vt = SoftPlusFloor.apply(misc[:, 3], False) * 40.0
    L["variance_time"] = 0.0003 * wo * huber(vt - (gt[:, 22] + 1e-5), 50.0)
    # score belief: pdf, cdf, stdev self-consistency
    sd_t = b["score"] * 0.01
    lsm = F.log_softmax(score_logp, dim=1)
    p = torch.exp(lsm)
    L["score_pdf"] = 0.02 * wo * -(sd_t * lsm).sum(dim=1)
    cdf = torch.cumsum(p, dim=1) - torch.cumsum(sd_t, dim=1)
    L["score_cdf"] = 0.02 * wo * (cdf * cdf).sum(dim=1)
    offs = b["score_off20"]  # (S,) bin centers in points
    mean = (p * offs).sum(dim=1, keepdim=True)
    sd = torch.sqrt(0.001 + (p * (offs - mean) ** 2).sum(dim=1))
    pred = SoftPlusFloor.apply(misc[:, 1], False) * 20.0
    L["score_stdev"] = 0.001 * w25 * huber(pred - sd, 10.0)
    # short-term value and score errors (targets detached, as KataGo)
    pv3 = torch.softmax(moremisc[:, 2:5].detach(), dim=1)
    rv = gt[:, 12] - gt[:, 13]
    sq = (pv3[:, 0] - pv3[:, 1] - rv) ** 2 + 1e-8
    pred = SoftPlusFloor.apply(moremisc[:, 0], True) * 0.25
    L["st_value_err"] = 2.0 * wo * huber(pred - sq, 0.4)
    sq2 = (moremisc[:, 7].detach() * 20.0 - gt[:, 15]) ** 2 + 1e-4
    pred = SoftPlusFloor.apply(moremisc[:, 1], True) * 150.0
    L["st_score_err"] = 0.00002 * wo * huber(pred - sq2, 100.0)
    return L


def total_loss(out, b):
    """The batch loss: every term summed over rows (KataGo's *_sum), as tengen's trainer."""
    return sum(v.sum() for v in loss_terms(out, b).values())


# ---- data ------------------------------------------------------------------------------------


def load_rows(path, pos_len):
    """KataGo .npz -> float32 arrays, bits unpacked once (as tengen's loader does)."""
    d = np.load(path)
    n = d["binaryInputNCHWPacked"].shape[0]
    hw = pos_len * pos_len
    bits = np.unpackbits(d["binaryInputNCHWPacked"], axis=2)[:, :, :hw]
    gt = d["globalTargetsNC"].astype(np.float32)
    if gt.shape[1] < 80:  # data format v2 has 64 columns; KataGo's loader zero-pads to 80
        gt = np.concatenate([gt, np.zeros((n, 80 - gt.shape[1]), np.float32)], axis=1)
    return {
        "spatial": np.ascontiguousarray(bits.reshape(n, SPATIAL_IN, pos_len, pos_len),
                                        dtype=np.float32),
        "global": d["globalInputNC"].astype(np.float32),
        "policy": d["policyTargetsNCMove"].astype(np.float32),
        "gt": gt,
        "score": d["scoreDistrN"].astype(np.float32),
        "owner": d["valueTargetsNCHW"][:, 0:1].astype(np.float32),
    }


def apply_sym(x, sym):
    """One of the 8 board symmetries on the last two dims: flip y, flip x, transpose."""
    if sym & 1:
        x = torch.flip(x, dims=[-2])
    if sym & 2:
        x = torch.flip(x, dims=[-1])
    if sym & 4:
        x = x.transpose(-2, -1)
    return x.contiguous()


def make_batch(rows, idx, sym, pos_len, score_off20, channels_last):
    n, hw = len(idx), pos_len * pos_len
    spatial = apply_sym(torch.from_numpy(rows["spatial"][idx]), sym)
    if channels_last:
        spatial = spatial.contiguous(memory_format=torch.channels_last)
    pol = torch.from_numpy(rows["policy"][idx])  # (n, 2, hw+1); board part gets the symmetry
    board = apply_sym(pol[:, :, :hw].reshape(n, 2, pos_len, pos_len), sym).reshape(n, 2, hw)
    return {
        "spatial": spatial,
        "global": torch.from_numpy(rows["global"][idx]),
        "mask": spatial[:, 0:1],
        "policy": torch.cat([board, pol[:, :, hw:]], dim=2),
        "gt": torch.from_numpy(rows["gt"][idx]),
        "score": torch.from_numpy(rows["score"][idx]),
        "owner": apply_sym(torch.from_numpy(rows["owner"][idx]), sym),
        "score_off20": score_off20,
    }


# ---- parameters and optimizer ----------------------------------------------------------------


def tengen_shapes(kind):
    """Shapes of tengen's tensor table (src/train/model.c layout_build), in its order."""
    C, M, G, blocks, P1, G1, V1, V2, SB, K = CONFIGS[kind]
    s = [(3, 3, SPATIAL_IN, C), (GLOBAL_IN, C)]
    for b in blocks:
        R = M - G if b == "g" else M
        s += [(C,), (3, 3, C, R)]
        if b == "g":
            s += [(3, 3, C, G), (G,), (3 * G, R)]
        s += [(R,), (R,), (3, 3, R, C)]
    s += [(C,), (C, P1), (C, G1), (G1,), (3 * G1, P1), (P1,), (P1, POLICY_OUT), (3 * G1, P1),
          (P1,), (P1, POLICY_OUT)]
    s += [(C, V1), (V1,), (3 * V1, V2), (V2,), (V2, 3), (3,), (V2, MISC_OUT), (MISC_OUT,),
          (V2, MOREMISC_OUT), (MOREMISC_OUT,), (V1, 1)]
    s += [(3 * V1, SB), (SB,), (SB,), (SB,), (SB, K), (K,), (3 * V1, K), (K,)]
    return s


def to_tengen(p, layout):
    if layout == "conv":
        return p.permute(2, 3, 1, 0)
    if layout in ("conv1", "lin"):
        return p.reshape(p.shape[0], p.shape[1]).t()
    return p.reshape(-1)


def from_tengen(flat, p, layout):
    """flat: tengen's floats of that tensor -> a tensor shaped like torch's p."""
    if layout == "conv":
        k, ic, oc = p.shape[2], p.shape[1], p.shape[0]
        return flat.reshape(k, k, ic, oc).permute(3, 2, 0, 1)
    if layout in ("conv1", "lin"):
        return flat.reshape(p.shape[1], p.shape[0]).t().reshape(p.shape)
    return flat.reshape(p.shape)


def param_counts(net, kind):
    """(torch numel, tengen numel, tengen padded buffer, every tensor in tengen's order has
    tengen's shape, and no torch parameter is left out)."""
    tshapes = tengen_shapes(kind)
    tn = sum(int(np.prod(s)) for s in tshapes)
    tpad = sum((int(np.prod(s)) + ALIGN - 1) // ALIGN * ALIGN for s in tshapes)
    order = net.tengen_order()
    mine = [tuple(to_tengen(p, lay).shape) for p, lay in order]
    theirs = [tuple(s) for s in tshapes]
    all_in = len({id(p) for p, _ in order}) == len(list(net.parameters()))
    return sum(p.numel() for p in net.parameters()), tn, tpad, mine == theirs and all_in


def load_tengen_checkpoint(net, path):
    """Copies the params of a tengen TGCK checkpoint (version 1 or 2; header in
    src/train/train_internal.h) into net. Returns (steps, samples)."""
    raw = open(path, "rb").read()
    if raw[:4] != b"TGCK":
        raise ValueError(f"{path}: not a TGCK checkpoint")
    version = int(np.frombuffer(raw, np.uint32, 1, 4)[0])
    hdr = {1: 352, 2: 376}.get(version)
    if hdr is None:
        raise ValueError(f"{path}: checkpoint version {version} unknown")
    num_params = int(np.frombuffer(raw, np.uint64, 1, 288)[0])
    steps, samples = (int(x) for x in np.frombuffer(raw, np.int64, 2, 296))
    buf = torch.from_numpy(np.frombuffer(raw, np.float32, num_params, hdr).copy())
    off = 0
    with torch.no_grad():
        for p, lay in net.tengen_order():
            n = p.numel()
            p.copy_(from_tengen(buf[off:off + n], p, lay))
            off += (n + ALIGN - 1) // ALIGN * ALIGN
    if off != num_params:
        raise ValueError(f"{path}: {num_params} floats, this net's layout has {off}")
    return steps, samples


def check_checkpoint(net, rows, path, pos_len, score_off20):
    """Mean per-row loss terms of a tengen checkpoint's params over every row and all 8
    symmetries (what tengen's per-step losses average to at learning rate 0)."""
    steps, samples = load_tengen_checkpoint(net, path)
    n = rows["spatial"].shape[0]
    sums = {}
    with torch.no_grad():
        for sym in range(8):
            for i in range(0, n, 128):
                b = make_batch(rows, np.arange(i, min(n, i + 128)), sym, pos_len, score_off20,
                               False)
                for k, v in loss_terms(net(b["spatial"], b["global"]), b).items():
                    sums[k] = sums.get(k, 0.0) + float(v.sum())
    tot = sum(sums.values()) / (8 * n)
    print(f"check ckpt={os.path.basename(path)} steps={steps} rows={n} syms=8 loss={tot:.4f} " +
          " ".join(f"loss_{k}={v / (8 * n):.4g}" for k, v in sums.items()))


def make_optimizer(net, batch):
    """KataGo's groups: trunk vs head (lr x 0.5), weights vs biases/betas (wd 1e-6 / 1e-8 x b)."""
    groups = {}
    bfac = batch / 256.0
    for name, p in net.named_parameters():
        head = p in net.head_params
        noreg = name.endswith(".beta") or name.endswith(".bias")
        key = (head, noreg)
        groups.setdefault(key, []).append(p)
    pgs = [{"params": ps, "lr_factor": 0.5 if head else 1.0,
            "weight_decay": (1e-8 if noreg else 1e-6) * bfac}
           for (head, noreg), ps in groups.items()]
    return torch.optim.SGD(pgs, lr=3e-5, momentum=0.9)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model-kind", default="b6c96", choices=sorted(CONFIGS))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5, help="timed steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    ap.add_argument("--seconds", type=float, default=0.0,
                    help="if > 0: timed steps until this much time passed (ignores --steps)")
    ap.add_argument("--data", default=os.path.join(
        os.environ.get("TENGEN_FIXTURES", "../shared/fixtures"), "benchmark_data_1024.npz"))
    ap.add_argument("--channels-last", action="store_true",
                    help="NHWC memory format (KataGo's default is NCHW)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check-ckpt", metavar="TGCK",
                    help="no benchmark: load a tengen checkpoint's params and print the mean "
                         "loss terms over all rows and symmetries (cross-check of the loss)")
    a = ap.parse_args()
    if a.batch < 1 or a.threads < 1 or a.steps < 1 or a.warmup < 0:
        print("train_pytorch: bad arguments", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    rows = load_rows(a.data, 19)
    pos_len = rows["spatial"].shape[2]
    net = Net(a.model_kind, pos_len)
    if a.channels_last:
        net = net.to(memory_format=torch.channels_last)
    n_torch, n_tengen, n_pad, same = param_counts(net, a.model_kind)
    print(f"# torch {torch.__version__} mkldnn={torch.backends.mkldnn.is_available()} "
          f"threads={torch.get_num_threads()} interop={torch.get_num_interop_threads()} "
          f"channels_last={int(a.channels_last)} "
          f"openblas_coretype={os.environ.get('OPENBLAS_CORETYPE', '-')}")
    print(f"# params pytorch={n_torch} tengen_tensors={n_tengen} tengen_buffer={n_pad} "
          f"shapes_match={'yes' if same and n_torch == n_tengen else 'NO'}")
    if not (same and n_torch == n_tengen):
        print("train_pytorch: parameter layout differs from tengen's", file=sys.stderr)
        return 1

    S = net.score_offset.shape[0]
    score_off20 = net.score_offset.view(S) * 20.0
    if a.check_ckpt:
        check_checkpoint(net, rows, a.check_ckpt, pos_len, score_off20)
        return 0
    opt = make_optimizer(net, a.batch)
    slow = [p.detach().clone() for p in net.parameters()]
    clip_cap = 2500.0 * math.sqrt(a.batch / 256.0)
    nrows = rows["spatial"].shape[0]
    state = {"steps": 0, "samples": 0}

    def step():
        idx = rng.integers(0, nrows, size=a.batch)
        b = make_batch(rows, idx, int(rng.integers(0, 8)), pos_len, score_off20,
                       a.channels_last)
        loss = total_loss(net(b["spatial"], b["global"]), b)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), clip_cap)
        warm = 1.0 / 20.0 if state["samples"] < 250000 else 1.0  # KataGo's first warmup stage
        for g in opt.param_groups:
            g["lr"] = 3e-5 * warm / 0.5 * g["lr_factor"]  # / lookahead alpha, as tengen
        opt.step()
        state["steps"] += 1
        state["samples"] += a.batch
        if state["steps"] % 6 == 0:  # lookahead k = 6, alpha = 0.5
            with torch.no_grad():
                for s, p in zip(slow, net.parameters()):
                    s.add_(p - s, alpha=0.5)
                    p.copy_(s)
        lv = float(loss.detach())
        if not math.isfinite(lv):
            raise RuntimeError("loss not finite")
        return lv

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    steps, el, lv = 0, 0.0, 0.0
    while (steps < a.steps) if a.seconds <= 0 else (el < a.seconds):
        lv = step()
        steps += 1
        el = time.perf_counter() - t0
    C, M, G, blocks, *_ = CONFIGS[a.model_kind]
    hw = pos_len * pos_len
    macs = hw * 9 * SPATIAL_IN * C + sum(
        2 * hw * 9 * C * ((M - G) + G if bk == "g" else M) for bk in blocks)
    sps = steps * a.batch / el
    print(f"bench=train backend=cpu precision=fp32 model={a.model_kind} params={n_torch} "
          f"size={pos_len} batch={a.batch} threads={a.threads} steps={steps} "
          f"train_samples_per_s={sps:.1f} ms_per_step={1e3 * el / steps:.2f} "
          f"trunk_gflops={sps * macs * 2 * 3 / 1e9:.2f} loss={lv / a.batch:.4f} impl=pytorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
