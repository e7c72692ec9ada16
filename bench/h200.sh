#!/usr/bin/env bash
# Runs every WebGPU benchmark and its PyTorch counterpart on the GPU machine and
# merges them into $OUT/webgpu-h200.{json,md}.
#
# Prepare the bundle here (the GPU machine has no node_modules; only `webgpu` is
# external to the bundle, so a slim linux-x64 copy of it travels beside it):
#
#   node scripts/bundle.mjs .device-bench
#   mkdir -p .device-bench/node_modules && cp -r node_modules/webgpu .device-bench/node_modules/
#   rm -rf .device-bench/node_modules/webgpu/dist/{darwin-universal,linux-arm64,win32-arm64,win32-x64}
#
# then on the GPU machine (carry .device-bench):
#
#   OUT=$OUT bash bench/h200.sh .device-bench
#
# Quick check on lavapipe: SMALL=1 OUT=/tmp/b bash bench/h200.sh <bundle> (tiny sizes, torch skipped without CUDA).
set -euo pipefail
B=${1:?usage: OUT=dir bash bench/h200.sh <bundle dir>}
: "${OUT:?set OUT to the results folder}"
mkdir -p "$OUT"
export LOWBIT_COMMIT=${LOWBIT_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ "${SMALL:-0}" = 1 ]; then
  GEMM=(--sizes 128,256 --iters 3 --gemv-shapes 256x512); COPY=(--mib 16 --iters 5)
  DECODE=(--dim 64 --layers 2 --heads 4 --ffn 160 --vocab 500 --positions 1,300 --steps 4); TORCH=(--sizes 128,256 --mib 16)
  PACKED=(--dim 256 --layers 2 --heads 4 --ffn 512 --vocab 1000 --steps 4 --kernel-iters 3)
else
  GEMM=(); COPY=(); DECODE=(); TORCH=(); PACKED=()
fi
node "$B/bench/webgpu-copy.js" "${COPY[@]}" --out "$OUT/copy-webgpu.json" > /dev/null
node "$B/bench/webgpu-gemm.js" "${GEMM[@]}" ${TILES:+--tiles "$TILES"} --out "$OUT/gemm-webgpu.json" > /dev/null
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  python3 bench/torch_gemm.py "${TORCH[@]}" --out "$OUT/torch.json" > /dev/null
else
  echo "torch with CUDA not available: torch.json skipped" >&2
fi
node "$B/bench/webgpu-decode.js" "${DECODE[@]}" --out "$OUT/decode-webgpu.json" > /dev/null
# packed formats (int4 int3 int2 int8 spqr spqr-separate bf16) at Llama-2-7B shape: decode tok/s vs roofline, per-kernel GB/s
node "$B/bench/packed-decode.js" "${PACKED[@]}" --out "$OUT/packed-decode.json" > /dev/null
node bench/collect.mjs "$OUT" --out "$OUT/webgpu-h200"
