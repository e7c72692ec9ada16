#!/usr/bin/env bash
# One GPU-machine call for GPTQ: bench/gptq-7b.ts (WebGPU engine, 2 Llama-2-7B-shaped
# random blocks) beside bench/gptq_torch.py (PyTorch fasterquant, same shapes and
# seeds) in the same run, then lowbit-ref-30m through the whole sequential pipeline
# (GPTQ 4-bit g128, 128 × 512 calibration tokens of the training corpus, backend
# engine) and the same with the host engine for comparison; merged into
# $OUT/gptq-h200.{json,md}.
#
# Here: the bundle as in bench/h200.sh (node scripts/bundle.mjs <dir> + node_modules/webgpu),
# the model and corpus as .device-30m/lowbit-ref-30m.tar.xz and .device-corpus/corpus.tar.xz.
# There: OUT=$OUT bash bench/h200-gptq.sh <bundle dir> [flags of both GPTQ benches, e.g. --tokens 16384]
set -uo pipefail
B=${1:?usage: OUT=dir bash bench/h200-gptq.sh <bundle dir> [gptq-7b flags]}
shift
: "${OUT:?set OUT to the results folder}"
mkdir -p "$OUT" /tmp/models
export LOWBIT_COMMIT=${LOWBIT_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
timeout 280 node "$B/bench/gptq-7b.js" "$@" --out "$OUT/gptq-webgpu.json" > /dev/null 2> "$OUT/gptq-webgpu.err"
timeout 280 python3 bench/gptq_torch.py "$@" --out "$OUT/gptq-torch.json" > /dev/null 2> "$OUT/gptq-torch.err"
for f in .device-30m/lowbit-ref-30m.tar.xz .device-corpus/corpus.tar.xz; do [ -f "$f" ] && tar -xJf "$f" -C /tmp/models; done
if [ -d /tmp/models/lowbit-ref-30m ] && [ -f /tmp/models/corpus/train.txt ]; then
  # the bundled CLI reads lowbit's version from ../../../package.json of src/cli/main.js
  [ -f "$B/../package.json" ] || cp package.json "$B/../package.json"
  for e in backend host; do
    timeout 280 node "$B/src/cli/main.js" quantize /tmp/models/lowbit-ref-30m --method gptq --backend webgpu --gptq-engine $e \
      --calib /tmp/models/corpus/train.txt --calib-samples 128 --calib-seqlen 512 --out /tmp/ref30m-$e.lowbit --json \
      > "$OUT/gptq-30m-$e.json" 2> "$OUT/gptq-30m-$e.err"
  done
  cp "$OUT/gptq-30m-backend.json" "$OUT/gptq-30m-webgpu.json"
fi
node bench/collect.mjs "$OUT" --out "$OUT/gptq-h200"
cat "$OUT/gptq-h200.md"
