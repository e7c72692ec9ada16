#!/usr/bin/env bash
# One GPU-machine call for one model: (1) GPTQ 4-bit g128 timed alone,
# (2) optionally the pipeline parity dump + PyTorch reference (PARITY=1, in the background),
# (3) the quality table (bench/quality.sh, parallel jobs).
#   source .device/setup.sh && OUT=$OUT MODEL=lowbit-ref-15m bash bench/h200-quality.sh
set -uo pipefail
A=.device/app
mkdir -p /tmp/models /tmp/data "$OUT"
[ -d /tmp/models/$MODEL ] || tar -xJf .device-*/$MODEL.tar.xz -C /tmp/models
[ -f /tmp/data/corpus/train.txt ] || tar -xJf .device-corpus/corpus.tar.xz -C /tmp/data
M=/tmp/models/$MODEL; CAL=/tmp/data/corpus/train.txt; VALID=/tmp/data/corpus/valid.txt; WIKI=.device/data/wikitext2.txt
t0=$(date +%s)
node $A/src/cli/main.js quantize $M --method gptq --bits 4 --group-size 128 --calib $CAL --calib-samples 128 --calib-seqlen 512 \
  --backend webgpu --out /tmp/timed-$MODEL.lowbit --json > "$OUT/timed-gptq-$MODEL.json" 2> "$OUT/timed-gptq-$MODEL.err"
echo "gptq w4 g128 128x512 alone: $(python3 -c "import json;d=json.load(open('$OUT/timed-gptq-$MODEL.json'));print(round(d['seconds'],1),'s, avg bits',round(d['avg_bits'],3))")"
if [ "${PARITY:-0}" = 1 ]; then
  ( node $A/tools/parity/dump-pipeline.js --model $M --out /tmp/pp --method gptq --config '{"bits":3,"groupSize":128}' \
      --calib $CAL --samples 128 --seqlen 512 --backend webgpu > "$OUT/parity.log" 2>&1 &&
    python3 tools/parity/pipeline_parity.py /tmp/pp $WIKI "$OUT/parity-pipeline-$MODEL" --seqlen 512 --ref-device ${REFDEV:-cpu} >> "$OUT/parity.log" 2>&1 ) &
fi
A=$A JOBS=${JOBS:-7} bash bench/quality.sh $M $CAL $WIKI $VALID
wait
tail -12 "$OUT/parity.log" 2>/dev/null
echo "total $(( $(date +%s) - t0 )) s"
node bench/quality-collect.mjs "$OUT" --out "$OUT/quality-$MODEL" --device "$(nvidia-smi --query-gpu=name --format=csv,noheader), WebGPU" --commit "${LOWBIT_COMMIT:-unknown}" | tail -22
