#!/usr/bin/env bash
# One GPU-machine call: WebGPU kernel benches vs torch (bench/h200.sh), then
# full WikiText-2 perplexity of the carried models on WebGPU vs HF fp32.
#   source .device/setup.sh && OUT=$OUT bash bench/h200-run1.sh
set -uo pipefail
A=.device/app
mkdir -p /tmp/models "$OUT"
for f in .device-*/lowbit-ref-*.tar.xz; do [ -f "$f" ] && tar -xJf "$f" -C /tmp/models; done
timeout 300 bash bench/h200.sh $A 2>&1 | tail -5
for m in /tmp/models/*; do
  n=$(basename "$m")
  node $A/src/cli/main.js eval "$m" --data .device/data/wikitext2.txt --seqlen 512 --backend webgpu --windows 1 --json > /dev/null 2>&1 # token cache
  node $A/src/cli/main.js eval "$m" --data .device/data/wikitext2.txt --seqlen 512 --backend webgpu --json > "$OUT/eval-$n-webgpu.json" 2> "$OUT/eval-$n-webgpu.err"
  python3 bench/eval_hf.py "$m" .device/data/wikitext2.txt 512 "$OUT/eval-$n-hf.json" > /dev/null 2> "$OUT/eval-$n-hf.err"
  python3 - "$OUT/eval-$n-webgpu.json" "$OUT/eval-$n-hf.json" <<'PY'
import json,sys
a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
print(f"{a['model']}: lowbit webgpu ppl {a['ppl']:.4f} in {a['eval_seconds']:.2f} s | HF fp32 ppl {b['ppl']:.4f} in {b['seconds_eval']:.2f} s | speedup {b['seconds_eval']/a['eval_seconds']:.2f}x")
PY
done
cat "$OUT"/webgpu-h200.md 2>/dev/null | head -60
