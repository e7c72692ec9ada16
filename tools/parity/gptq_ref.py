#!/usr/bin/env python3
"""PyTorch reference for lowbit's RTN, GPTQ and SpQR layer quantizers (parity check).

Written from the papers' algorithms (GPTQ: Frantar et al. 2023, Alg. 1; SpQR:
Dettmers et al. 2024, Alg. 1) and the numerics the TypeScript code documents,
so that both sides should agree entry for entry:

- the Hessian, its inverse Cholesky factor and the working weights are float64;
- grids are evaluated in float32 exactly as written (each op rounds to f32),
  with round-half-to-even; stored statistics (int scales, SpQR second-level
  scale/zero, SpQR outlier residuals) are rounded to fp16 where they are made;
- act-order is a *stable* sort by decreasing diag(H);
- blocks are cut at group starts so that a group never straddles a block, and
  groups fitted on the fly see the fully updated weights.

Usage (a dump written by `node dist/tools/parity/dump-layer.js --dir DIR ...`):

    python3 tools/parity/gptq_ref.py DIR [--device cuda]

Writes DIR/What.ref.f32 (Ŵ, original column order), DIR/codes.ref.u8 (codes,
layout order) and DIR/perm.ref.u32, then prints how many entries agree with
DIR/What.ts.f32 (`node dist/tools/parity/compare.js DIR` reports the same).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

F32 = torch.float32
F64 = torch.float64


# --------------------------------------------------------------------------- grids

def to_f16(x):
    """Round float32 values to the nearest fp16 (ties to even) and back to float32."""
    return x.to(torch.float16).to(F32)


def store_scale_f16(scale):
    """A positive scale rounded to fp16; underflow goes to the smallest fp16 subnormal."""
    s = to_f16(scale.to(F32))
    if not torch.isfinite(s).all():
        raise ValueError("grid scale overflows fp16")
    return torch.where(s > 0, s, torch.full_like(s, 2.0 ** -24))


def uniform_quantize(x, scale, zero, maxq):
    """gptq grid code: clamp(round(x / scale) + zero, 0, maxq), f32 arithmetic."""
    return torch.clamp(torch.round(x.to(F32) / scale) + zero, 0, maxq)


def uniform_dequantize(q, scale, zero):
    return scale * (q - zero)


def _uniform_params(xmin, xmax, maxq, sym):
    scale32 = (xmax - xmin) / maxq
    if sym:
        zero = torch.full_like(scale32, (maxq + 1) / 2)
    else:
        zero = torch.round(-xmin / scale32)
    return store_scale_f16(scale32), zero


def uniform_fit(x, cfg):
    """Per-row (scale, zero) of gptq quant.py find_params (perchannel) for x [rows, cols] (f32)."""
    x = x.to(F32)
    maxq = 2 ** cfg["bits"] - 1
    zeros = torch.zeros(x.shape[0], dtype=F32, device=x.device)
    xmin = torch.minimum(x.min(1).values, zeros)
    xmax = torch.maximum(x.max(1).values, zeros)
    if cfg["sym"]:
        xmax = torch.maximum(xmin.abs(), xmax)
        xmin = torch.where(xmin < 0, -xmax, xmin)
    deg = (xmin == 0) & (xmax == 0)
    xmin = torch.where(deg, torch.full_like(xmin, -1), xmin)
    xmax = torch.where(deg, torch.full_like(xmax, 1), xmax)
    scale, zero = _uniform_params(xmin, xmax, maxq, cfg["sym"])
    if cfg["clip"] != "mse":
        return scale, zero
    best = torch.full_like(scale, math.inf, dtype=F64)
    steps = int(math.floor(cfg["mseMaxShrink"] * cfg["mseGrid"]))
    for i in range(steps):
        p = torch.tensor(1 - i / cfg["mseGrid"], dtype=F32, device=x.device)
        s1, z1 = _uniform_params(p * xmin, p * xmax, maxq, cfg["sym"])
        xh = uniform_dequantize(uniform_quantize(x, s1[:, None], z1[:, None], maxq), s1[:, None], z1[:, None])
        err = (xh.to(F64) - x.to(F64)).abs().pow(cfg["mseNorm"]).sum(1)
        better = err < best
        best = torch.where(better, err, best)
        scale = torch.where(better, s1, scale)
        zero = torch.where(better, z1, zero)
    return scale, zero


def affine_fit(x, bits):
    """SpQR quant_groups min-max fit (round_zero=False) per row of x [rows, cols]: f32 scale, continuous zero."""
    x = x.to(F32)
    xmin = x.min(1).values
    xmax = x.max(1).values
    deg = xmin == xmax
    xmin = torch.where(deg, torch.full_like(xmin, -1), xmin)
    xmax = torch.where(deg, torch.full_like(xmax, 1), xmax)
    scale = (xmax - xmin) / (2 ** bits - 1)
    return scale, -xmin / scale


def affine_quantize(x, scale, zero, maxq):
    return torch.clamp(torch.round(x.to(F32) / scale.clamp_min(1e-9) + zero), 0, maxq)


def affine_dequantize(q, scale, zero):
    return scale * (q - zero)


# --------------------------------------------------------------------------- shared GPTQ pieces

def act_order(H):
    """Columns by decreasing diag(H), ties by increasing index."""
    return torch.sort(torch.diag(H), descending=True, stable=True).indices


def inverse_hessian_factor(H):
    """U with H^-1 = U^T U: chol(chol_inverse(chol(H)), upper), as gptq and SpQR."""
    return torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)


def block_end(i1, n, block_size, g, on_the_fly):
    """End of the block starting at i1; groups fitted on the fly never straddle a block end."""
    i2 = min(i1 + block_size, n)
    if not on_the_fly or i2 == n:
        return i2
    last_start = (i2 - 1) // g * g
    if last_start + g <= i2:
        return i2
    return last_start if last_start > i1 else min(i1 + g, n)


# --------------------------------------------------------------------------- methods

def rtn(W, H, cfg):
    out, n = W.shape
    g = n if cfg["groupSize"] == 0 else min(cfg["groupSize"], n)
    maxq = 2 ** cfg["bits"] - 1
    codes = torch.zeros(out, n, dtype=torch.uint8, device=W.device)
    What = torch.zeros(out, n, dtype=F32, device=W.device)
    for c0 in range(0, n, g):
        x = W[:, c0:c0 + g].to(F32)
        s, z = uniform_fit(x, cfg)
        q = uniform_quantize(x, s[:, None], z[:, None], maxq)
        codes[:, c0:c0 + g] = q.to(torch.uint8)
        What[:, c0:c0 + g] = uniform_dequantize(q, s[:, None], z[:, None])
    return What, codes, None


def gptq(W, H, cfg):
    """GPTQ Alg. 1 with lazy blocks; returns Ŵ (original order), codes, layout perm (or None)."""
    out, n = W.shape
    per_channel = cfg["groupSize"] == 0
    g = n if per_channel else min(cfg["groupSize"], n)
    on_the_fly = not per_channel and not cfg["staticGroups"]
    maxq = 2 ** cfg["bits"] - 1
    n_groups = -(-n // g)
    scale = torch.zeros(n_groups, out, dtype=F32, device=W.device)
    zero = torch.zeros(n_groups, out, dtype=F32, device=W.device)

    Wl = W.to(F64).clone()
    if per_channel:  # one grid per row, fitted on the original W (gptq find_params(W))
        scale[0], zero[0] = uniform_fit(W, cfg)
    H = H.clone()
    dead = torch.diag(H) == 0  # dead inputs: H_ii = 1, W[:, i] = 0
    H[dead, dead] = 1
    Wl[:, dead] = 0
    if cfg["staticGroups"] and not per_channel:  # every group's grid from the original order, before updates
        for gi in range(n_groups):
            scale[gi], zero[gi] = uniform_fit(Wl[:, gi * g:(gi + 1) * g], cfg)
    perm = act_order(H) if cfg["actOrder"] else None
    if perm is not None:
        Wl = Wl[:, perm]
        H = H[perm][:, perm]
    H[range(n), range(n)] += cfg["percdamp"] * torch.diag(H).mean()
    U = inverse_hessian_factor(H)

    codes = torch.zeros(out, n, dtype=torch.uint8, device=W.device)
    What = torch.zeros(out, n, dtype=F32, device=W.device)
    i1 = 0
    while i1 < n:
        i2 = block_end(i1, n, cfg["blockSize"], g, on_the_fly)
        E = torch.zeros(out, i2 - i1, dtype=F64, device=W.device)
        for j in range(i1, i2):
            if on_the_fly and j % g == 0:
                scale[j // g], zero[j // g] = uniform_fit(Wl[:, j:j + g], cfg)
            if per_channel:
                gi = 0
            elif on_the_fly or perm is None:
                gi = j // g
            else:
                gi = int(perm[j]) // g
            s, z = scale[gi], zero[gi]
            w = Wl[:, j]
            q = uniform_quantize(w, s, z, maxq)  # Alg. 1 line 6
            qhat = uniform_dequantize(q, s, z)
            codes[:, j] = q.to(torch.uint8)
            What[:, j] = qhat
            err = (w - qhat.to(F64)) / U[j, j]  # line 7
            E[:, j - i1] = err
            Wl[:, j + 1:i2] -= err[:, None] * U[j, j + 1:i2][None, :]  # line 8
        Wl[:, i2:] -= E @ U[i1:i2, i2:]  # line 10, the lazy batch update
        i1 = i2

    if perm is None:
        return What, codes, None
    inv = torch.argsort(perm)
    if on_the_fly:
        return What[:, inv], codes, perm
    return What[:, inv], codes[:, inv], None


def fit_stat(x, bits):
    """Second-level (scale, zero) of one chunk x [k] (f32), rounded to fp16; widened if the zero overflows."""
    s, z = affine_fit(x[None, :], bits)
    z16 = to_f16(z)
    if torch.isfinite(z16).all():
        return store_scale_f16(s)[0], z16[0]
    xmin = x.min()
    wide = store_scale_f16((xmin.abs().to(F64) / 60000).to(F32))
    return wide, to_f16(-xmin / wide)


def loo_reduction(rows, d, bits):
    """Leave-one-out error reduction for each weight of a group: rows [out, gw] (f32), d [gw] (f64)."""
    out, gw = rows.shape
    maxq = 2 ** bits - 1

    def sq_err(x, s, zz, dd):
        xh = affine_dequantize(affine_quantize(x, s[:, None], zz[:, None], maxq), s[:, None], zz[:, None])
        return (((xh.to(F64) - x.to(F64)) / dd) ** 2).sum(1)

    s, z = affine_fit(rows, bits)
    base = sq_err(rows, s, z, d[None, :])
    red = torch.zeros(out, gw, dtype=F64, device=rows.device)
    for k in range(gw):
        keep = [c for c in range(gw) if c != k]
        others = rows[:, keep]
        s, z = affine_fit(others, bits)
        red[:, k] = base - sq_err(others, s, z, d[keep][None, :])
    return red


def spqr(W, H, cfg):
    """SpQR Alg. 1; returns Ŵ (original order), codes (layout order), perm (or None)."""
    out, n = W.shape
    beta1 = min(cfg["groupSize"], n)
    beta2 = min(cfg["qqGroup"], out)
    maxq = 2 ** cfg["bits"] - 1
    qq_max = 2 ** cfg["qqBits"] - 1
    tau = cfg["outlierThreshold"]

    H = H.clone()
    perm = act_order(H) if cfg["permutation"] == "act_order" else None
    Wl = W.to(F64).clone()
    if perm is not None:
        Wl = Wl[:, perm]
        H = H[perm][:, perm]
    dead = torch.diag(H) == 0  # damping first, then dead inputs (SpQR's order)
    H[range(n), range(n)] += cfg["percdamp"] * torch.diag(H).abs().mean()
    H[dead, dead] = 1
    Wl[:, dead] = 0
    U = inverse_hessian_factor(H)
    d = torch.diag(U)
    sensitivity = (Wl.var(dim=0, unbiased=True) / d ** 2).mean().item() if out >= 2 else math.nan
    tau_abs = tau * sensitivity if (out >= 2 and math.isfinite(tau)) else math.inf

    n_groups = -(-n // beta1)
    scale = torch.zeros(n_groups, out, dtype=F32, device=W.device)
    zero = torch.zeros(n_groups, out, dtype=F32, device=W.device)

    def fit_group(j):
        gi = j // beta1
        rows = Wl[:, j:j + beta1].to(F32).clone()
        gw = rows.shape[1]
        if math.isfinite(tau_abs) and gw >= 2:
            likely = loo_reduction(rows, d[j:j + gw], cfg["bits"]) > tau_abs
            keep = ~likely
            total = (rows.to(F64) * keep).sum(1).to(F32)
            mean = total / keep.sum(1).clamp_min(1).to(F32)
            rows = torch.where(likely, mean[:, None].expand_as(rows), rows)
        s1, z1 = affine_fit(rows, cfg["bits"])
        for r0 in range(0, out, beta2):
            r1 = min(out, r0 + beta2)
            ps, pz = fit_stat(s1[r0:r1], cfg["qqBits"]), fit_stat(z1[r0:r1], cfg["qqBits"])
            qs = affine_quantize(s1[r0:r1], ps[0], ps[1], qq_max)
            qz = affine_quantize(z1[r0:r1], pz[0], pz[1], qq_max)
            scale[gi, r0:r1] = affine_dequantize(qs, ps[0], ps[1])
            zero[gi, r0:r1] = affine_dequantize(qz, pz[0], pz[1])

    codes = torch.zeros(out, n, dtype=torch.uint8, device=W.device)
    What = torch.zeros(out, n, dtype=F32, device=W.device)
    i1 = 0
    while i1 < n:
        i2 = block_end(i1, n, cfg["blockSize"], beta1, True)
        E = torch.zeros(out, i2 - i1, dtype=F64, device=W.device)
        for j in range(i1, i2):
            if j % beta1 == 0:
                fit_group(j)
            s, z = scale[j // beta1], zero[j // beta1]
            w = Wl[:, j]
            q = affine_quantize(w, s, z, maxq)
            qhat = affine_dequantize(q, s, z)
            err = (w - qhat.to(F64)) / d[j]
            outlier = err ** 2 > tau_abs
            if outlier.any():  # dense part = code of 0, plus the fp16 residual
                q0 = affine_quantize(torch.zeros_like(s), s, z, maxq)
                dense = affine_dequantize(q0, s, z)
                resid = to_f16(w.to(F32) - dense)
                q = torch.where(outlier, q0, q)
                qhat = torch.where(outlier, dense + resid, qhat)
                err = (w - qhat.to(F64)) / d[j]
            codes[:, j] = q.to(torch.uint8)
            What[:, j] = qhat
            E[:, j - i1] = err
            Wl[:, j + 1:i2] -= err[:, None] * U[j, j + 1:i2][None, :]
        Wl[:, i2:] -= E @ U[i1:i2, i2:]
        i1 = i2

    if perm is None:
        return What, codes, None
    return What[:, torch.argsort(perm)], codes, perm


METHODS = {"rtn": rtn, "gptq": gptq, "spqr": spqr}


# --------------------------------------------------------------------------- I/O

def read_dump(d, device):
    with open(os.path.join(d, "layer.json")) as f:
        meta = json.load(f)
    out, n = meta["shape"]
    cfg = {k: (math.inf if v == "Infinity" else v) for k, v in meta["config"].items()}
    W = np.fromfile(os.path.join(d, meta["files"]["W"]), dtype="<f4").reshape(out, n)
    H = np.fromfile(os.path.join(d, meta["files"]["H"]), dtype="<f8").reshape(n, n)
    return meta, cfg, torch.from_numpy(W.copy()).to(device), torch.from_numpy(H.copy()).to(device)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    meta, cfg, W, H = read_dump(args.dir, args.device)
    What, codes, perm = METHODS[meta["method"]](W, H, cfg)
    out, n = W.shape
    if perm is None:
        perm = torch.arange(n)
    What.cpu().numpy().astype("<f4").tofile(os.path.join(args.dir, "What.ref.f32"))
    codes.cpu().numpy().astype(np.uint8).tofile(os.path.join(args.dir, "codes.ref.u8"))
    perm.cpu().numpy().astype("<u4").tofile(os.path.join(args.dir, "perm.ref.u32"))

    ts = os.path.join(args.dir, "What.ts.f32")
    if os.path.exists(ts):
        ours = np.fromfile(ts, dtype="<f4").reshape(out, n)
        ref = What.cpu().numpy()
        same = np.mean(ours.view(np.uint32) == ref.view(np.uint32))
        close = np.mean(np.abs(ours - ref) <= 1e-6 * np.maximum(np.abs(ours), np.abs(ref)))
        ts_codes = np.fromfile(os.path.join(args.dir, "codes.ts.u8"), dtype=np.uint8).reshape(out, n)
        code_same = np.mean(ts_codes == codes.cpu().numpy())
        print(json.dumps({"dir": args.dir, "method": meta["method"], "shape": [out, n], "identical": float(same),
                          "close": float(close), "codes": float(code_same),
                          "maxAbsDiff": float(np.max(np.abs(ours - ref)))}))
        if close < 0.999:
            sys.exit(1)


if __name__ == "__main__":
    main()
