#!/usr/bin/env bash
# Runs every WebGPU benchmark and its PyTorch counterpart on the GPU machine and
# merges them into $OUT/webgpu-h200.{json,md} (GPTQ: bench/gptq-7b.ts beside bench/gptq_torch.py).
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
# The GPU machine may lack the Vulkan loader: if `ldconfig -p | grep libvulkan` is empty there,
# carry a folder of .debs (libvulkan1 …) and unpack them first, as the device notes describe
# (for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig); VK_DRIVER_FILES may need
# /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json.
#
# Quick check on lavapipe: SMALL=1 OUT=/tmp/b bash bench/h200.sh <bundle> (tiny sizes, torch skipped without CUDA).
set -euo pipefail
B=${1:?usage: OUT=dir bash bench/h200.sh <bundle dir>}
: "${OUT:?set OUT to the results folder}"
mkdir -p "$OUT"
ldconfig -p 2>/dev/null | grep -q libvulkan || echo "warning: no libvulkan in ldconfig; WebGPU may find no adapter" >&2
# exact (unquantized) timestamp queries
export LOWBIT_DAWN_FLAGS=${LOWBIT_DAWN_FLAGS:-disable-dawn-features=timestamp_quantization}
export LOWBIT_COMMIT=${LOWBIT_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ "${SMALL:-0}" = 1 ]; then
  GEMM=(--sizes 128,256 --iters 3 --gemv-shapes 256x512); COPY=(--mib 16 --iters 5)
  DECODE=(--dim 64 --layers 2 --heads 4 --ffn 160 --vocab 500 --positions 1,300 --steps 4); TORCH=(--sizes 128,256 --mib 16)
  GPTQ=(--dim 256 --ffn 688 --blocks 1 --tokens 1024 --chunk 512)
  PACKED=(--dim 256 --layers 2 --heads 4 --ffn 512 --vocab 1000 --steps 4 --kernel-iters 3)
else
  GEMM=(); COPY=(); DECODE=(); TORCH=(); GPTQ=(); PACKED=()
fi
node "$B/bench/webgpu-copy.js" "${COPY[@]}" --out "$OUT/copy-webgpu.json" > /dev/null
node "$B/bench/webgpu-gemm.js" "${GEMM[@]}" ${TILES:+--tiles "$TILES"} --out "$OUT/gemm-webgpu.json" > /dev/null
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  python3 bench/torch_gemm.py "${TORCH[@]}" --out "$OUT/torch.json" > /dev/null
  python3 bench/gptq_torch.py "${GPTQ[@]}" --out "$OUT/gptq-torch.json" > /dev/null
else
  echo "torch with CUDA not available: torch.json skipped" >&2
fi
node "$B/bench/webgpu-decode.js" "${DECODE[@]}" --out "$OUT/decode-webgpu.json" > /dev/null
# GPTQ over 2 Llama-2-7B-shaped blocks (16384 random calibration tokens), WebGPU engine beside PyTorch fasterquant
node "$B/bench/gptq-7b.js" "${GPTQ[@]}" --out "$OUT/gptq-webgpu.json" > /dev/null
# the whole sequential pipeline on a real model (MODEL30M=<dir of lowbit-ref-30m>, CALIB=<train.txt>; the bundle has no SOTU data): GPTQ 4-bit g128 on 128 × 512 tokens, backend engine
if [ -n "${MODEL30M:-}" ]; then
  node "$B/src/cli/main.js" quantize "$MODEL30M" --method gptq --backend webgpu --gptq-engine backend --calib-samples 128 --calib-seqlen 512 \
    ${CALIB:+--calib "$CALIB"} --out /tmp/lowbit-ref-30m-gptq-w4.lowbit --json > "$OUT/gptq-30m-webgpu.json"
fi
# packed formats (int4 int3 int2 int8 spqr spqr-separate bf16) at Llama-2-7B shape: decode tok/s vs roofline, per-kernel GB/s
node "$B/bench/packed-decode.js" "${PACKED[@]}" --out "$OUT/packed-decode.json" > /dev/null
node bench/collect.mjs "$OUT" --out "$OUT/webgpu-h200"
