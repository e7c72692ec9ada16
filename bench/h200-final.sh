#!/usr/bin/env bash
# GPU-machine call: optionally the full WikiText-2 perplexity of $MODEL, lowbit WebGPU vs HF
# fp32 (EVALHF=1); GPTQ on 2 Llama-2-7B-shaped random blocks (WebGPU engine vs
# PyTorch, same run; GPTQ7B=0 skips), GPTQ 4-bit g128 of $MODEL timed alone, optionally
# the pipeline parity dump + PyTorch reference (PARITY=1, in the background; REFDEV=cpu|cuda),
# then the quality table of $MODEL (bench/quality.sh).
# Everything lands in one archive, $OUT/results.tar.gz (the device returns few files).
#   source .device/setup.sh && OUT=$OUT MODEL=lowbit-ref-15m bash bench/h200-final.sh
source bench/lib/h200-prologue.sh
use_model $MODEL || { echo "no $MODEL"; exit 1; }
use_corpus
if [ "${EVALHF:-0}" = 1 ]; then
  node $A/src/cli/main.js eval $M --data $WIKI --seqlen 512 --backend webgpu --json > $R/eval-$MODEL-webgpu.json 2> $R/eval-$MODEL-webgpu.err
  python3 bench/eval_hf.py $M $WIKI 512 $R/eval-$MODEL-hf.json > /dev/null 2> $R/eval-$MODEL-hf.err
  echo "full WikiText-2 of $MODEL, lowbit vs HF $(( $(date +%s) - t0 )) s"
fi
if [ "${GPTQ7B:-1}" = 1 ]; then
  timeout ${T7B:-150} node $A/bench/gptq-7b.js --out $R/gptq-webgpu.json > /dev/null 2> $R/gptq-webgpu.err; echo "gptq-7b webgpu rc=$? $(( $(date +%s) - t0 )) s"
  timeout 120 python3 bench/gptq_torch.py --out $R/gptq-torch.json > /dev/null 2> $R/gptq-torch.err; echo "gptq torch rc=$? $(( $(date +%s) - t0 )) s"
fi
timeout ${TTIMED:-150} node $A/src/cli/main.js quantize $M --method gptq --bits 4 --group-size 128 --calib $CAL --calib-samples 128 --calib-seqlen 512 \
  --backend webgpu --out /tmp/timed.lowbit --json > $R/timed-gptq-$MODEL.json 2> $R/timed-gptq-$MODEL.err
echo "timed gptq $MODEL rc=$? $(( $(date +%s) - t0 )) s"
if [ "${PARITY:-0}" = 1 ]; then
  ( node $A/tools/parity/dump-pipeline.js --model $M --out /tmp/pp --method gptq --config '{"bits":3,"groupSize":128}' \
      --calib $CAL --samples 128 --seqlen 512 --backend webgpu --gptq-engine host > $R/parity.log 2>&1 &&
    python3 tools/parity/pipeline_parity.py /tmp/pp $WIKI $R/parity-pipeline-$MODEL --seqlen 512 --ref-device ${REFDEV:-cpu} >> $R/parity.log 2>&1 ) &
fi
OUT=$R A=$A JOBS=${JOBS:-8} EVAL_SPLIT=${EVAL_SPLIT:-2} timeout ${TQ:-330} bash bench/quality.sh $M $CAL $WIKI $VALID
wait
echo "quality done $(( $(date +%s) - t0 )) s"
node bench/quality-collect.mjs $R --out $R/quality-$MODEL --device "$(nvidia-smi --query-gpu=name --format=csv,noheader), WebGPU" --commit "${LOWBIT_COMMIT:-unknown}" | tail -20
