#!/usr/bin/env python3
"""PyTorch GPTQ on the shapes of bench/gptq-7b.ts (a Llama-2-7B-shaped stack of
random blocks), the reference side of the GPTQ timing.

The quantizer is the official GPTQ `fasterquant` (IST-DASLab/gptq gptq.py and
quant.py; Frantar et al., ICLR 2023, Alg. 1), written out here: asymmetric
min-max grid per output row, groups of --group columns fitted on the fly from
W when the loop reaches them, lazy batches of 128 columns, percdamp 0.01,
dead columns zeroed, H⁻¹'s upper Cholesky factor by chol → cholesky_inverse →
chol(upper), float32 on CUDA (TF32 off). Activations uniform in [-1, 1) and
weights uniform in [-0.02, 0.02) with the same seeds as gptq-7b.ts, from
torch's generator (other numbers, same distribution).

  python3 bench/gptq_torch.py [--dim 4096] [--ffn 11008] [--blocks 2] [--tokens 16384]
          [--chunk 2048] [--bits 4] [--group 128] [--device cuda] [--out gptq-torch.json]
"""
import argparse
import datetime
import json
import math
import sys
import time

import torch


def find_params(x, maxq):
    """quant.py Quantizer.find_params, perchannel, asymmetric: per-row scale and zero of x [rows, cols]."""
    zeros = torch.zeros(x.shape[0], device=x.device)
    xmin = torch.minimum(x.min(1).values, zeros)
    xmax = torch.maximum(x.max(1).values, zeros)
    tmp = (xmin == 0) & (xmax == 0)
    xmin[tmp] = -1
    xmax[tmp] = +1
    scale = (xmax - xmin) / maxq
    zero = torch.round(-xmin / scale)
    return scale, zero


def quantize(x, scale, zero, maxq):
    q = torch.clamp(torch.round(x / scale) + zero, 0, maxq)
    return scale * (q - zero)


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def fasterquant(W, H, bits=4, groupsize=128, blocksize=128, percdamp=0.01):
    """gptq.py GPTQ.fasterquant (act_order off, static_groups off). Returns Q and timings of the factor and the loop."""
    W = W.clone().float()
    n = W.shape[1]
    maxq = 2 ** bits - 1
    sync()
    t0 = time.perf_counter()
    H = H.clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    damp = percdamp * torch.mean(torch.diag(H))
    diag = torch.arange(n, device=W.device)
    H[diag, diag] += damp
    H = torch.linalg.cholesky(H)
    H = torch.cholesky_inverse(H)
    Hinv = torch.linalg.cholesky(H, upper=True)
    sync()
    t1 = time.perf_counter()
    Q = torch.zeros_like(W)
    Losses = torch.zeros_like(W)
    scale = zero = None
    for i1 in range(0, n, blocksize):
        i2 = min(i1 + blocksize, n)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Losses1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if groupsize > 0 and (i1 + i) % groupsize == 0:
                scale, zero = find_params(W[:, (i1 + i):(i1 + i + groupsize)], maxq)
            elif scale is None:
                scale, zero = find_params(W, maxq)
            q = quantize(w, scale, zero, maxq)
            Q1[:, i] = q
            Losses1[:, i] = (w - q) ** 2 / d ** 2 / 2
            err1 = (w - q) / d
            W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
            Err1[:, i] = err1
        Q[:, i1:i2] = Q1
        Losses[:, i1:i2] = Losses1
        W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
    sync()
    t2 = time.perf_counter()
    return Q, t1 - t0, t2 - t1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--ffn", type=int, default=11008)
    ap.add_argument("--heads", type=int, default=32, help="accepted for the same flags as gptq-7b.ts; GPTQ does not use it")
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=16384)
    ap.add_argument("--chunk", type=int, default=2048)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--group", type=int, default=128)
    ap.add_argument("--device", default="cuda", help="cuda (the benchmark) or cpu (a quick check of the script)")
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(a.device)
    chunk = min(a.chunk, a.tokens)
    groups = [
        ("qkv", a.dim, [("q_proj", a.dim), ("k_proj", a.dim), ("v_proj", a.dim)]),
        ("o", a.dim, [("o_proj", a.dim)]),
        ("gate_up", a.dim, [("gate_proj", a.ffn), ("up_proj", a.ffn)]),
        ("down", a.ffn, [("down_proj", a.dim)]),
    ]
    rows = []
    totals = {"hessian": 0.0, "factor": 0.0, "gptq": 0.0}
    t_all = time.perf_counter()
    for l in range(a.blocks):
        for gi, (gid, K, layers) in enumerate(groups):
            sync()
            t0 = time.perf_counter()
            H = torch.zeros(K, K, device=dev)
            for c in range(a.tokens // chunk):  # gptq add_batch: H += (2/n)·XᵀX
                g = torch.Generator(device=dev).manual_seed(l * 16 + gi + 1000 * c)
                x = torch.rand(chunk, K, device=dev, generator=g) * 2 - 1
                H += (2 / a.tokens) * (x.t() @ x)
            sync()
            hess = time.perf_counter() - t0
            totals["hessian"] += hess
            rows.append({"block": l, "group": gid, "K": K, "tokens": a.tokens, "hessian_s": hess})
            print(f"block {l} {gid}: H [{K}, {K}] {hess:.2f} s", file=sys.stderr)
            for li, (name, out) in enumerate(layers):
                g = torch.Generator(device=dev).manual_seed(l * 16 + li + 100 + gi * 4)
                W = (torch.rand(out, K, device=dev, generator=g) * 2 - 1) * 0.02
                sync()
                t0 = time.perf_counter()
                Q, tf, tl = fasterquant(W, H, a.bits, a.group)
                dW = W - Q
                rel = float(torch.sum((dW @ H) * dW) / torch.sum((W @ H) * W))
                sync()
                s = time.perf_counter() - t0
                totals["factor"] += tf
                totals["gptq"] += s
                rows.append({"block": l, "group": gid, "layer": name, "shape": [out, K], "gptq_s": s, "factor_s": tf, "loop_s": tl, "rel_error": rel})
                print(f"  {name} [{out}, {K}]: {s:.2f} s (cholesky/inverse {tf:.2f} s, loop {tl:.2f} s), relative error {rel:.3e}", file=sys.stderr)
            del H
    total = time.perf_counter() - t_all
    print(f"total {total:.1f} s", file=sys.stderr)
    res = {
        "bench": "gptq-torch",
        "engine": "PyTorch fasterquant (IST-DASLab/gptq algorithm), float32, TF32 off",
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "config": {"dim": a.dim, "ffn": a.ffn, "blocks": a.blocks, "tokens": a.tokens, "chunk": chunk, "bits": a.bits, "groupSize": a.group, "blockSize": 128, "percdamp": 0.01},
        "rows": rows,
        "totals": {**totals, "total": total},
    }
    text = json.dumps(res, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
