#!/usr/bin/env python3
"""HF transformers fp32 (TF32 off) perplexity of a model on a text, GPTQ convention
(BOS once, non-overlapping windows of SEQLEN), timed with CUDA synchronisation:
the counterpart of `lowbit eval --backend webgpu` in bench/results/eval-*.json.

    python3 bench/eval_hf.py MODEL_DIR DATA.txt SEQLEN OUT.json
"""
import json
import math
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

model_dir, data, seqlen, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
t0 = time.time()
tok = AutoTokenizer.from_pretrained(model_dir)
ids = tok(open(data, encoding="utf-8").read(), return_tensors="pt").input_ids[0]
t_tok = time.time() - t0
t1 = time.time()
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).cuda().eval()
torch.cuda.synchronize()
t_load = time.time() - t1
n = len(ids) // seqlen
t2 = time.time()
nll = 0.0
with torch.no_grad():
    for w in range(n):
        x = ids[w * seqlen:(w + 1) * seqlen][None].cuda()
        logits = model(x).logits[0].float()
        nll += torch.nn.functional.cross_entropy(logits[:-1], x[0, 1:], reduction="sum").item()
torch.cuda.synchronize()
t_eval = time.time() - t2
tokens = n * (seqlen - 1)
res = {"model": model_dir, "ppl": math.exp(nll / tokens), "windows": n, "seqlen": seqlen, "tokens": tokens,
       "seconds_tokenize": t_tok, "seconds_load": t_load, "seconds_eval": t_eval,
       "device": torch.cuda.get_device_name(0), "torch": torch.__version__}
json.dump(res, open(out, "w"), indent=1)
print(json.dumps(res))
