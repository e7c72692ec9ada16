"""Logit parity of lowbit against HF transformers on the same checkpoint.

Reads the files written by tools/parity/dump-logits.ts (ids, logits, meta),
tokenizes the same text with the HF tokenizer (the ids must be identical), runs
the HF model in fp32 (TF32 off) on the same windows, and reports max |Δlogit|,
mean |Δlogit| and both perplexities. Writes <result>.json and <result>.md.

    python3 tools/parity/hf_parity.py <model_dir> <data.txt> <dump_prefix> <result_prefix>
"""
import datetime
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

model_dir, data_file, dump, result = sys.argv[1:5]
meta = json.load(open(dump + ".json"))
T, W, V = meta["seqlen"], meta["windows"], meta["vocab"]
ours_ids = np.fromfile(dump + ".ids.bin", dtype="<i4")
ours = np.fromfile(dump + ".logits.bin", dtype="<f4").reshape(W, T, V)

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
torch.set_float32_matmul_precision("highest")
dev = "cuda" if torch.cuda.is_available() else "cpu"

tok = AutoTokenizer.from_pretrained(model_dir)
text = open(data_file, encoding="utf-8").read()
hf_ids = tok(text, return_tensors="pt").input_ids[0][: W * T]
ids_equal = bool(np.array_equal(hf_ids.numpy(), ours_ids))

model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(dev).eval()
max_abs, sum_abs, n = 0.0, 0.0, 0
nll_hf, nll_ours = 0.0, 0.0
with torch.no_grad():
    for w in range(W):
        x = torch.from_numpy(ours_ids[w * T:(w + 1) * T].astype(np.int64))[None].to(dev)
        ref = model(x).logits[0].float()
        o = torch.from_numpy(ours[w]).to(dev)
        d = (o - ref).abs()
        max_abs = max(max_abs, d.max().item())
        sum_abs += d.sum().item()
        n += d.numel()
        tgt = x[0, 1:]
        nll_hf += torch.nn.functional.cross_entropy(ref[:-1], tgt, reduction="sum").item()
        nll_ours += torch.nn.functional.cross_entropy(o[:-1], tgt, reduction="sum").item()

tokens = W * (T - 1)
res = {
    "date": datetime.date.today().isoformat(),
    "commit": os.environ.get("LOWBIT_COMMIT") or subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "unknown",
    "device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu",
    "transformers": transformers.__version__,
    "torch": torch.__version__,
    "model": model_dir,
    "data": data_file,
    "seqlen": T,
    "windows": W,
    "lowbit_backend": meta["backend"],
    "token_ids_identical": ids_equal,
    "max_abs_logit_diff": max_abs,
    "mean_abs_logit_diff": sum_abs / n,
    "ppl_hf": math.exp(nll_hf / tokens),
    "ppl_lowbit": math.exp(nll_ours / tokens),
    "pass": ids_equal and max_abs <= 1e-3,
}
json.dump(res, open(result + ".json", "w"), indent=1)
with open(result + ".md", "w") as f:
    f.write(f"# Logit parity: lowbit vs HF transformers {res['transformers']} (fp32, TF32 off)\n\n")
    f.write(f"{res['date']}, commit {res['commit']}, {res['device']}; lowbit backend: {res['lowbit_backend']}\n\n")
    f.write("| model | windows × seqlen | ids identical | max abs Δlogit | mean abs Δlogit | ppl HF | ppl lowbit |\n|---|---|---|---|---|---|---|\n")
    f.write(f"| {model_dir} | {W} × {T} | {ids_equal} | {max_abs:.3e} | {res['mean_abs_logit_diff']:.3e} | {res['ppl_hf']:.4f} | {res['ppl_lowbit']:.4f} |\n")
print(json.dumps(res))
