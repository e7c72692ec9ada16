#!/usr/bin/env bash
# GPU-machine call for issue 3's speed figures and the decode tuning, in one run so every ratio's
# two sides come from the same machine and minute:
#  - copy bandwidth and the bf16 GEMV sweep at the 7B shapes (GEMV: RWxTPRxUNROLLxRT list; plain,
#    RMSNorm-folded and SwiGLU-folded inputs);
#  - 16-bit decode of a Llama-2-7B-shaped model for every GEMV tiling × FUSE (fuseInputMaxBytes)
#    at position 128, with a step profile each;
#  - full WikiText-2 perplexity of EVAL_MODELS, lowbit WebGPU vs HF transformers fp32;
#  - int4 packed decode (the qgemv1 tilings in INT1) unless PACKED=0.
# Models: /tmp/models/<name> (extracted by an earlier call on a warm machine) or .device-<name>/.
# Outputs land in /tmp/results, archived to $OUT/results.tar.gz.
#   source .device/setup.sh && OUT=$OUT bash bench/h200-speed.sh
set -uo pipefail
A=.device/app
R=/tmp/results; rm -rf $R; mkdir -p $R /tmp/models "$OUT"
trap 'tar -czf "$OUT/results.tar.gz" -C /tmp results' EXIT
export LOWBIT_DAWN_FLAGS=${LOWBIT_DAWN_FLAGS:-disable-dawn-features=timestamp_quantization}
WIKI=.device/data/wikitext2.txt
t0=$(date +%s)
step() { echo "$1 rc=$2 $(( $(date +%s) - t0 )) s"; }
GEMV=${GEMV:-8x32x4x1,4x32x4x2,4x32x2x4,2x32x4x4}
node $A/bench/webgpu-gemm.js --sizes 4096 --dtypes bf16 --iters 5 --gemv-shapes 4096x12288,4096x22016,11008x4096,4096x4096 \
  --gemv $GEMV --gemv-inputs plain,norm,gated --out $R/gemv-sweep.json > /dev/null 2> $R/gemv.err; step gemv-sweep $?
timeout ${TDEC:-200} node $A/bench/webgpu-decode.js --positions 128 --steps 64 --gemv ${DEC_GEMV:-$GEMV} --fuse-max ${FUSE:-inf,0} \
  --out $R/decode-sweep.json > /dev/null 2> $R/decode-sweep.err; step decode-sweep $?
for m in ${EVAL_MODELS:-lowbit-ref-30m lowbit-ref-15m}; do
  [ -d /tmp/models/$m ] || tar -xJf .device-*/$m.tar.xz -C /tmp/models 2>/dev/null || { echo "no $m"; continue; }
  node $A/src/cli/main.js eval /tmp/models/$m --data $WIKI --seqlen 512 --backend webgpu --json > $R/eval-$m-webgpu.json 2> $R/eval-$m-webgpu.err; step "eval $m lowbit" $?
  python3 bench/eval_hf.py /tmp/models/$m $WIKI 512 $R/eval-$m-hf.json > /dev/null 2> $R/eval-$m-hf.err; step "eval $m hf" $?
done
if [ "${PACKED:-1}" = 1 ]; then
  i=0
  for t in ${INT1:-4x32x4}; do
    timeout 150 node $A/bench/packed-decode.js --formats int4 --int1 $t --pos 128 --steps 64 --out $R/packed-decode-$i.json > /dev/null 2> $R/packed-$i.err; step "packed int4 $t" $?
    i=$((i + 1))
  done
fi
grep -h "decode pos\|tuning\|step:" $R/decode-sweep.err | cut -c1-400
grep -h "seconds\|ppl" $R/eval-*.json | cut -c1-300
python3 - <<'P'
import json,glob
for f in sorted(glob.glob('/tmp/results/eval-*.json')):
    try:
        d=json.load(open(f)); print(f.split('/')[-1], d.get('ppl'), d.get('eval_seconds') or d.get('seconds_eval'))
    except Exception as e: print(f, e)
P
tail -n 3 $R/*.err | cut -c1-300
