#!/usr/bin/env python3
"""Whole-model parity of lowbit's quantization pipeline with the PyTorch reference.

Input: a directory written by `node dist/tools/parity/dump-pipeline.js` (per-layer
W, H and our Ŵ under layers/, our quantized model under quantized/). For every
layer this redoes the method with gptq_ref.py on the *same* W and H and counts
the entries of Ŵ that agree; then it evaluates, in HF transformers (fp32, TF32
off), the perplexity of the model with our Ŵ and with the reference's Ŵ on a
text (GPTQ convention: BOS once, non-overlapping windows).

    python3 tools/parity/pipeline_parity.py DUMP DATA.txt RESULT_PREFIX [--seqlen 512] [--windows N]

Writes RESULT_PREFIX.json and RESULT_PREFIX.md; exits 1 when fewer than 99.9 % of
entries agree or the perplexities differ by more than 0.5 %.
"""
import argparse
import datetime
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptq_ref  # noqa: E402


def ppl(model, ids, seqlen, windows, dev):
    n = len(ids) // seqlen
    if windows:
        n = min(n, windows)
    nll = 0.0
    with torch.no_grad():
        for w in range(n):
            x = torch.from_numpy(ids[w * seqlen:(w + 1) * seqlen].astype(np.int64))[None].to(dev)
            logits = model(x).logits[0].float()
            nll += torch.nn.functional.cross_entropy(logits[:-1], x[0, 1:], reduction="sum").item()
    tokens = n * (seqlen - 1)
    return math.exp(nll / tokens), n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("data")
    ap.add_argument("result")
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--windows", type=int, default=0)
    ap.add_argument("--layers-only", action="store_true", help="compare the layers only (no HF transformers perplexity)")
    ap.add_argument("--ref-device", default="cpu", help="where the reference redoes the layers (cpu: LAPACK f64; cuda: cuSOLVER f64)")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = "cuda" if torch.cuda.is_available() else "cpu"

    meta = json.load(open(os.path.join(args.dump, "pipeline.json")))
    layers_dir = os.path.join(args.dump, "layers")
    ref_weights = {}
    total = identical = close = codes_same = 0
    worst = (2.0, "")
    t0 = time.time()
    for name in sorted(os.listdir(layers_dir)):
        d = os.path.join(layers_dir, name)
        lmeta, cfg, W, H = gptq_ref.read_dump(d, args.ref_device)
        What, codes, _perm = gptq_ref.METHODS[lmeta["method"]](W, H, cfg)
        out, n = W.shape
        ours = np.fromfile(os.path.join(d, "What.ts.f32"), dtype="<f4").reshape(out, n)
        ref = What.cpu().numpy().astype(np.float32)
        same = int(np.sum(ours.view(np.uint32) == ref.view(np.uint32)))
        cl = int(np.sum(np.abs(ours - ref) <= 1e-6 * np.maximum(np.abs(ours), np.abs(ref))))
        ts_codes = np.fromfile(os.path.join(d, "codes.ts.u8"), dtype=np.uint8).reshape(out, n)
        codes_same += int(np.sum(ts_codes == codes.cpu().numpy()))
        total += out * n
        identical += same
        close += cl
        worst = min(worst, (cl / (out * n), name))
        ref_weights[name] = torch.from_numpy(ref)
    ref_seconds = time.time() - t0

    ppl_ours = ppl_ref = float("nan")
    n = 0
    if not args.layers_only:
        ppl_ours, ppl_ref, n = hf_ppls(args, dev, ref_weights)
    res = report(args, meta, dev, total, identical, close, codes_same, worst, ref_seconds, len(ref_weights), ppl_ours, ppl_ref, n)
    ok = res["close"] >= 0.999 and (args.layers_only or res["ppl_rel_diff"] <= 0.005)
    sys.exit(0 if ok else 1)


def hf_ppls(args, dev, ref_weights):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(os.path.join(args.dump, "quantized"))
    text = open(args.data, encoding="utf-8").read()
    ids = tok(text, return_tensors="pt").input_ids[0].numpy()
    model = AutoModelForCausalLM.from_pretrained(os.path.join(args.dump, "quantized"), dtype=torch.float32).to(dev).eval()
    ppl_ours, n = ppl(model, ids, args.seqlen, args.windows, dev)
    sd = model.state_dict()
    with torch.no_grad():
        for name, w in ref_weights.items():
            sd[name].copy_(w.to(dev))
    ppl_ref, _ = ppl(model, ids, args.seqlen, args.windows, dev)
    return ppl_ours, ppl_ref, n


def report(args, meta, dev, total, identical, close, codes_same, worst, ref_seconds, layers, ppl_ours, ppl_ref, n):
    res = {
        "date": datetime.date.today().isoformat(),
        "commit": os.environ.get("LOWBIT_COMMIT") or subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown",
        "device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu",
        "torch": torch.__version__,
        "model": meta["model"],
        "method": meta["method"],
        "calibration": {"samples": meta["samples"], "seqlen": meta["seqlen"], "seed": meta["seed"]},
        "lowbit_backend": meta["backend"],
        "lowbit_seconds": meta["seconds"],
        "reference_seconds": ref_seconds,
        "reference_device": args.ref_device,
        "layers": layers,
        "entries": total,
        "identical": identical / total,
        "close": close / total,
        "codes_identical": codes_same / total,
        "worst_layer": {"name": worst[1], "close": worst[0]},
        "data": os.path.basename(args.data),
        "seqlen": args.seqlen,
        "windows": n,
        "ppl_lowbit": ppl_ours,
        "ppl_reference": ppl_ref,
        "ppl_rel_diff": abs(ppl_ours - ppl_ref) / ppl_ref if n else None,
    }
    with open(args.result + ".json", "w") as f:
        json.dump(res, f, indent=1)
    cfg = json.dumps(meta["method"]["config"])
    delta = "–" if res["ppl_rel_diff"] is None else "%.4f %%" % (100 * res["ppl_rel_diff"])
    md = [
        f"# Pipeline parity: lowbit vs PyTorch reference ({meta['method']['method']} {cfg})",
        "",
        f"{res['date']}, commit {res['commit']}, {res['device']}, torch {res['torch']}; lowbit backend: {meta['backend']}",
        f"Model {os.path.basename(meta['model'].rstrip('/'))}, calibration {meta['samples']} × {meta['seqlen']} (seed {meta['seed']}); "
        f"the reference redoes every layer on lowbit's W and H (torch f64 on {args.ref_device}).",
        "",
        "| layers | entries | bit-identical | equal up to f32 rounding | codes identical | worst layer (close) | ppl lowbit Ŵ | ppl reference Ŵ | Δ |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {layers} | {total} | {100 * res['identical']:.3f} % | {100 * res['close']:.3f} % | {100 * res['codes_identical']:.3f} % | "
        f"{worst[1]} ({100 * worst[0]:.3f} %) | {ppl_ours:.4f} | {ppl_ref:.4f} | {delta} |",
        "",
        f"Perplexity: HF transformers fp32 on {res['data']}, seqlen {args.seqlen}, {n} windows." if n else "Layers only (no perplexity in this run).",
        "",
    ]
    with open(args.result + ".md", "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))
    return res


if __name__ == "__main__":
    main()
