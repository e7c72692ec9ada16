#!/usr/bin/env bash
# GPU-machine call: full WikiText-2 perplexity (seqlen 512) of EVAL_MODELS, lowbit WebGPU vs HF
# transformers fp32, one after the other in the same call (issue 3's "eval faster than HF").
# Models: /tmp/models/<name> (extracted by an earlier call on a warm machine) or .device-<name>/.
# Decode and GEMV sweeps: bench/h200-decode.sh. Outputs land in /tmp/results, archived to
# $OUT/results.tar.gz.
#   source .device/setup.sh && OUT=$OUT bash bench/h200-eval.sh
source bench/lib/h200-prologue.sh
for m in ${EVAL_MODELS:-lowbit-ref-30m lowbit-ref-15m}; do
  use_model $m || { echo "no $m"; continue; }
  node $A/src/cli/main.js eval $M --data $WIKI --seqlen 512 --backend webgpu --json > $R/eval-$m-webgpu.json 2> $R/eval-$m-webgpu.err; step "eval $m lowbit" $?
  python3 bench/eval_hf.py $M $WIKI 512 $R/eval-$m-hf.json > /dev/null 2> $R/eval-$m-hf.err; step "eval $m hf" $?
done
python3 - <<'P'
import json, glob
for f in sorted(glob.glob('/tmp/results/eval-*.json')):
    d = json.load(open(f))
    print(f.split('/')[-1], d.get('ppl'), d.get('eval_seconds') or d.get('seconds_eval'))
P
