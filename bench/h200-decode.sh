#!/usr/bin/env bash
# GPU-machine call for decode and prefill speed (issues 3 and 5), everything in one run so
# every ratio's two sides come from the same machine and minute:
#  - copy bandwidth (the roofline), GEMV bandwidth sweep (gemv1 tiles) at the 7B shapes;
#  - 16-bit decode of a Llama-2-7B-shaped model (random bf16 weights made on the GPU);
#  - packed decode (int4, SpQR w3 fused and separate outliers) with per-kernel GB/s;
#  - `lowbit bench` prefill (512 tokens) + decode for random 7B models, int4 and SpQR;
#  - optionally (EVAL=1) the full WikiText-2 eval of lowbit-ref-30m against HF fp32.
# Outputs land in /tmp/results, archived to $OUT/results.tar.gz.
#   source .device/setup.sh && OUT=$OUT bash bench/h200-decode.sh
set -uo pipefail
A=.device/app
R=/tmp/results; mkdir -p $R "$OUT"
trap 'tar -czf "$OUT/results.tar.gz" -C /tmp results' EXIT
export LOWBIT_DAWN_FLAGS=${LOWBIT_DAWN_FLAGS:-disable-dawn-features=timestamp_quantization}
t0=$(date +%s)
step() { echo "$1 rc=$2 $(( $(date +%s) - t0 )) s"; }
node $A/bench/webgpu-copy.js --out $R/copy-webgpu.json > /dev/null 2> $R/copy.err; step copy $?
node $A/bench/webgpu-gemm.js --sizes 4096 --gemv-shapes 4096x12288,4096x22016,11008x4096,4096x4096,4096x32000 \
  --gemv ${GEMV:-8x32x4,8x32x2,8x32x8,4x32x4,16x32x4} --out $R/gemm-webgpu.json > /dev/null 2> $R/gemm.err; step gemv-sweep $?
node $A/bench/webgpu-decode.js --positions 128,1024 --steps 64 ${DECODE_GEMV:+--gemv $DECODE_GEMV} --out $R/decode-webgpu.json > /dev/null 2> $R/decode.err; step decode-bf16 $?
timeout ${TPACKED:-200} node $A/bench/packed-decode.js --formats ${FORMATS:-int4,spqr,spqr-separate} --pos 128 --steps 64 --out $R/packed-decode.json > /dev/null 2> $R/packed.err; step packed-decode $?
for f in ${BENCH_FORMATS:-int4 spqr}; do
  timeout 150 node $A/src/cli/main.js bench random:llama2-7b:$f --prompt-tokens 512 --gen-tokens 128 --backend webgpu --json > $R/bench-7b-$f.json 2> $R/bench-7b-$f.err; step "lowbit bench 7b $f" $?
done
if [ "${EVAL:-0}" = 1 ]; then
  M=/tmp/models/lowbit-ref-30m; WIKI=.device/data/wikitext2.txt
  [ -d $M ] || tar -xJf .device-30m/lowbit-ref-30m.tar.xz -C /tmp/models 2>/dev/null || { mkdir -p /tmp/models && tar -xJf .device-30m/lowbit-ref-30m.tar.xz -C /tmp/models; }
  node $A/src/cli/main.js eval $M --data $WIKI --seqlen 512 --backend webgpu --json > $R/eval-lowbit-ref-30m-webgpu.json 2> $R/eval-30m.err; step "eval 30m" $?
  python3 bench/eval_hf.py $M $WIKI 512 $R/eval-lowbit-ref-30m-hf.json > /dev/null 2> $R/eval-30m-hf.err; step "eval 30m hf" $?
fi
tail -n 3 $R/*.err
