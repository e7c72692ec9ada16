#!/usr/bin/env python3
"""PyTorch reference for the batch-1 decode step of a Llama-2-7B-shaped model.

Random weights made on the GPU, each of the --layers layers its own tensors (so every step
streams them from HBM), KV cache of --positions past tokens. Per weight variant (bf16:
F.linear; int4: tinygemm torch.ops.aten._weight_int4pack_mm, group 128, bf16 scale+zero;
int8: torch.ops.aten._weight_int8pack_mm, per-row bf16 scale) the whole step is timed eager and
as a CUDA graph, then each projection shape alone (a graph of the layers' calls of that op in a
row). Attention is F.scaled_dot_product_attention in bf16; embedding, final norm and lm_head are
bf16 in every variant. Roofline = (weight bytes per step / copy GB/s) / step time, with the
copy (dst.copy_(src) of --mib MiB, GB/s = 2*bytes/time) measured in the same run.

  python3 bench/torch_decode.py [--variants bf16,int4,int8] [--positions 128] [--layers 32]
                                [--iters 50] [--mib 1024] [--out torch-decode.json]
"""
import argparse
import gc
import sys
from functools import partial

import torch
import torch.nn.functional as F

from torch_common import copy_row, emit, header, timed

D, H, HD, FFN, V, EPS, THETA = 4096, 32, 128, 11008, 32000, 1e-5, 10000.0
G, INNER_K_TILES, WARMUP, BUDGET_S, TOL = 128, 8, 5, 3.0, 2e-2
PROJ = {"qkv": (D, 3 * D), "o": (D, D), "gate_up": (D, 2 * FFN), "down": (FFN, D)}  # name: (K, N)
LM_HEAD = (D, V)
BF16 = torch.bfloat16
DEV = torch.device("cuda")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def graph_of(fn):
    """fn captured in a CUDA graph; warmed up on the capture stream first, as the docs ask."""
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g, stream=s):
        fn()
    return g


# --- weight variants: make(n, k, ref) -> (weight, dense f32 [n, k] reference or None); lin(x [1, k] bf16, weight) -> [1, n]

def make_bf16(n, k, ref=False):
    w = torch.randn(n, k, device=DEV, dtype=BF16) * 0.02
    return w, (w.float() if ref else None)


def make_int8(n, k, ref=False):
    q = torch.randint(-128, 128, (n, k), device=DEV, dtype=torch.int16).to(torch.int8)
    s = ((torch.rand(n, device=DEV) * 0.5 + 0.75) * (0.02 / 74)).to(BF16)
    return (q, s), (q.float() * s.float()[:, None] if ref else None)


def pack_int4(codes, layout):
    # _convert_weight_to_int4pack wants the [N, K] weight (nn.Linear layout). torch >= 2.5 takes
    # uint8 [N, K/2] with k = 2j in the HIGH nibble of byte j (torch's own test does
    # `w[:, ::2] << 4 | w[:, 1::2]`); torch <= 2.4 took int32 [N, K] of codes 0..15. "u8-lo" is the
    # other nibble order, tried only if the first fails the numerics check.
    if layout == "u8-hi":
        p = (codes[:, ::2] << 4 | codes[:, 1::2]).contiguous()
    elif layout == "u8-lo":
        p = (codes[:, 1::2] << 4 | codes[:, ::2]).contiguous()
    else:
        p = codes.to(torch.int32).contiguous()
    return torch.ops.aten._convert_weight_to_int4pack(p, INNER_K_TILES)


def make_int4(n, k, ref=False, layout="u8-hi"):
    codes = torch.randint(0, 16, (n, k), device=DEV, dtype=torch.uint8)
    scale = ((torch.rand(k // G, n, device=DEV) * 0.5 + 0.75) * 0.004).to(BF16)
    zero = (torch.randn(k // G, n, device=DEV) * 0.002).to(BF16)
    # tinygemm dequantizes w = (code - 8) * scale + zero, reading [K/G, N, 2] (scale, zero) pairs
    sz = torch.stack([scale, zero], dim=-1).contiguous()
    r = None
    if ref:
        r = (codes.float() - 8) * scale.float().repeat_interleave(G, 0).T + zero.float().repeat_interleave(G, 0).T
    return (pack_int4(codes, layout), sz), r


def lin_bf16(x, w):
    return F.linear(x, w)


def lin_int8(x, w):
    return torch.ops.aten._weight_int8pack_mm(x, w[0], w[1])


def lin_int4(x, w):
    return torch.ops.aten._weight_int4pack_mm(x, w[0], G, w[1])


WEIGHT_BYTES = {
    "bf16": lambda k, n: 2 * k * n,
    "int4": lambda k, n: k * n // 2 + 4 * (k * n // G),  # + bf16 scale and zero per 128 weights
    "int8": lambda k, n: k * n + 2 * n,  # + bf16 scale per output row
}


def rel_err(make, lin, k, n):
    w, ref = make(n, k, ref=True)
    x = torch.randn(1, k, device=DEV, dtype=BF16)
    exp = x.float() @ ref.T
    return ((lin(x, w).float() - exp).norm() / exp.norm()).item()


def pick_int4_layout(rows):
    """make_int4 with the first packing whose kernel output matches the dequantized codes (qkv shape)."""
    k, n = PROJ["qkv"]
    for layout in ("u8-hi", "int32", "u8-lo"):
        row = {"op": "check", "variant": "int4", "name": "qkv", "shape": f"{k}x{n}", "layout": layout}
        try:
            err = rel_err(partial(make_int4, layout=layout), lin_int4, k, n)
        except Exception as e:  # e.g. an input dtype this torch does not take
            rows.append(dict(row, error=str(e)))
            log(f"torch-decode check int4 layout {layout}: error {e}")
            continue
        rows.append(dict(row, rel_err=err, ok=err < TOL))
        log(f"torch-decode check int4 layout {layout}: rel err {err:.2e}")
        if err < TOL:
            return partial(make_int4, layout=layout), {"int4_layout": layout, "group": G, "inner_k_tiles": INNER_K_TILES}
    raise RuntimeError("int4: no packing layout matched the dequantized reference; not timed")


def checked_variant(name, rows):
    """(make, lin, info) of variant name once its kernel matches the dense reference on every shape; raises if not."""
    if name == "bf16":
        make, lin, info = make_bf16, lin_bf16, {}
    elif name == "int8":
        make, lin, info = make_int8, lin_int8, {}
    elif name == "int4":
        (make, info), lin = pick_int4_layout(rows), lin_int4
    else:
        raise ValueError(f"unknown variant {name}")
    for op, (k, n) in list(PROJ.items()) + [("lm_head", LM_HEAD)]:
        err = rel_err(make, lin, k, n)
        rows.append({"op": "check", "variant": name, "name": op, "shape": f"{k}x{n}", "rel_err": err, "ok": err < TOL, **info})
        log(f"torch-decode check {name} {op} {k}x{n}: rel err {err:.2e}")
        if not err < TOL:
            raise RuntimeError(f"{name} {op}: rel err {err:.3g} against the dequantized reference; not timed")
    return make, lin, info


# --- the model

def shared_state(n_layers, max_pos):
    inv = 1.0 / THETA ** (torch.arange(0, HD, 2, device=DEV, dtype=torch.float32) / HD)
    ang = torch.outer(torch.arange(max_pos + 1, device=DEV, dtype=torch.float32), inv)
    cache = lambda: [torch.zeros(1, H, max_pos + 1, HD, device=DEV, dtype=BF16) for _ in range(n_layers)]
    return {
        "embed": torch.randn(V, D, device=DEV, dtype=BF16) * 0.02,
        "lm_head": torch.randn(V, D, device=DEV, dtype=BF16) * 0.02,
        "norm": torch.ones(D, device=DEV, dtype=BF16),
        "tok": torch.zeros(1, device=DEV, dtype=torch.long),
        "cos": ang.cos(), "sin": ang.sin(), "k": cache(), "v": cache(),
    }


def build_layers(make, n_layers):
    return [dict({op: make(n, k)[0] for op, (k, n) in PROJ.items()},
                 n1=torch.ones(D, device=DEV, dtype=BF16), n2=torch.ones(D, device=DEV, dtype=BF16))
            for _ in range(n_layers)]


def rms_norm(x, w):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS)).to(BF16) * w


def rope(t, cos, sin):  # t [H, HD]; rotate-half form
    t = t.float()
    a, b = t[:, : HD // 2], t[:, HD // 2:]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], -1).to(BF16)


def decode_step(layers, lin, st, pos):
    cos, sin = st["cos"][pos], st["sin"][pos]
    x = F.embedding(st["tok"], st["embed"])  # [1, D]
    for l, w in enumerate(layers):
        qkv = lin(rms_norm(x, w["n1"]), w["qkv"]).view(3, H, HD)
        kc, vc = st["k"][l], st["v"][l]
        kc[:, :, pos].copy_(rope(qkv[1], cos, sin))
        vc[:, :, pos].copy_(qkv[2])
        q = rope(qkv[0], cos, sin).view(1, H, 1, HD)
        a = F.scaled_dot_product_attention(q, kc[:, :, : pos + 1], vc[:, :, : pos + 1])
        x = x + lin(a.reshape(1, D).contiguous(), w["o"])
        gu = lin(rms_norm(x, w["n2"]), w["gate_up"])
        x = x + lin(F.silu(gu[:, :FFN]) * gu[:, FFN:], w["down"])
    logits = F.linear(rms_norm(x, st["norm"]), st["lm_head"])
    st["tok"].copy_(torch.argmax(logits, dim=-1))
    return logits


# --- measurements

def time_step(name, mode, layers, lin, st, pos, iters, wbytes, copy_gbps):
    row = {"op": "step", "variant": name, "mode": mode, "pos": pos, "weight_bytes": wbytes,
           "kv_bytes": 2 * len(layers) * (pos + 1) * D * 2}
    try:
        fn = partial(decode_step, layers, lin, st, pos)
        if mode == "graph":
            g = graph_of(fn)
            fn = g.replay
        sec, n = timed(fn, iters, WARMUP, BUDGET_S)
        row.update(timing="cuda-events", iters=n, ms=sec * 1e3, tok_s=1 / sec, gbps=wbytes / sec / 1e9,
                   roofline=wbytes / (copy_gbps * 1e9) / sec)
        log(f"torch-decode {name} {mode} pos={pos}: {sec * 1e3:.3f} ms, {1 / sec:.1f} tok/s, "
            f"{row['gbps']:.0f} GB/s, {100 * row['roofline']:.1f}% roofline")
    except Exception as e:
        row["error"] = str(e)
        log(f"torch-decode {name} {mode} pos={pos}: error {e}")
    return row


def time_op(name, op, k, n, weights, lin, iters, nbytes):
    row = {"op": "proj", "variant": name, "name": op, "shape": f"{k}x{n}", "calls": len(weights), "weight_bytes": nbytes}
    try:
        x = torch.randn(1, k, device=DEV, dtype=BF16)
        g = graph_of(lambda: [lin(x, w) for w in weights])
        sec, reps = timed(g.replay, iters, WARMUP, BUDGET_S)
        sec /= len(weights)
        row.update(timing="cuda-events, graph", iters=reps, us=sec * 1e6, gbps=nbytes / sec / 1e9)
        log(f"torch-decode {name} {op} {k}x{n}: {sec * 1e6:.1f} us/call, {row['gbps']:.0f} GB/s")
    except Exception as e:
        row["error"] = str(e)
        log(f"torch-decode {name} {op} {k}x{n}: error {e}")
    return row


def run_variant(name, a, st, positions, copy_gbps, rows):
    make, lin, info = checked_variant(name, rows)
    layers = build_layers(make, a.layers)
    nb = WEIGHT_BYTES[name]
    wbytes = a.layers * sum(nb(k, n) for k, n in PROJ.values()) + WEIGHT_BYTES["bf16"](*LM_HEAD)
    for pos in positions:
        for mode in ("eager", "graph"):
            rows.append(dict(time_step(name, mode, layers, lin, st, pos, a.iters, wbytes, copy_gbps), **info))
    for op, (k, n) in PROJ.items():
        rows.append(time_op(name, op, k, n, [l[op] for l in layers], lin, a.iters, nb(k, n)))
    # lm_head: one weight (>= 64 MB in every variant, past the H200's 60 MB L2) called --layers times
    head = st["lm_head"] if name == "bf16" else make(LM_HEAD[1], LM_HEAD[0])[0]
    rows.append(time_op(name, "lm_head", *LM_HEAD, [head] * a.layers, lin, a.iters, nb(*LM_HEAD)))


def tables(rows):
    out = ["| variant | mode | pos | step ms | tok/s | GB/s | % roofline |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if r["op"] == "step":
            vals = "| error | | | |" if "error" in r else f"| {r['ms']:.3f} | {r['tok_s']:.1f} | {r['gbps']:.0f} | {100 * r['roofline']:.1f} |"
            out.append(f"| {r['variant']} | {r['mode']} | {r['pos']} {vals}")
    out += ["", "| variant | op | KxN | us/call | GB/s |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        if r["op"] == "proj":
            vals = "| error | |" if "error" in r else f"| {r['us']:.1f} | {r['gbps']:.0f} |"
            out.append(f"| {r['variant']} | {r['name']} | {r['shape']} {vals}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", default="bf16,int4,int8")
    ap.add_argument("--positions", default="128")
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--out")
    a = ap.parse_args()
    positions = [int(p) for p in a.positions.split(",") if p]
    rows = [copy_row(a.mib, a.iters, "torch-decode")]
    copy_gbps = rows[0]["gbps"]
    gc.collect()
    torch.cuda.empty_cache()
    st = shared_state(a.layers, max(positions))
    for name in [v for v in a.variants.split(",") if v]:
        try:
            run_variant(name, a, st, positions, copy_gbps, rows)
        except Exception as e:
            rows.append({"op": "variant", "variant": name, "error": str(e)})
            log(f"torch-decode {name}: error {e}")
        gc.collect()
        torch.cuda.empty_cache()
    out = {
        **header("torch-decode"),
        "shape": {"dim": D, "layers": a.layers, "heads": H, "head_dim": HD, "ffn": FFN, "vocab": V,
                  "positions": positions, "batch": 1},
        "attention": "F.scaled_dot_product_attention, bf16, one query over pos + 1 cached keys",
        "lm_head": "bf16 in every variant (in the step and in weight_bytes)",
        "embedding": "bf16, one row read per token (not in weight_bytes)",
        "weight_bytes": "per step: layers x (qkv + o + gate_up + down as stored) + bf16 lm_head; norms and KV rows (kv_bytes) not counted",
        "roofline": "(weight_bytes / copy GB/s) / step time",
        "rows": rows,
    }
    emit(out, a.out)
    log(tables(rows))


if __name__ == "__main__":
    main()
