#!/usr/bin/env bash
# The quality table of issue 4 for one model: quantize with every method/config
# (parallel jobs), then evaluate them against the unquantized model on
# WikiText-2 and on the models' own domain (corpus/valid.txt): perplexity of
# both over all windows at seqlen 512, KL(original ‖ quantized) and top-1
# agreement, all through `lowbit eval <model> --compare <q.lowbit>`.
#
#   OUT=dir bash bench/quality.sh <model dir> <calib.txt> <wikitext.txt> <valid.txt>
# env: A (the CLI: $A/src/cli/main.js; default .device/app), BACKEND (webgpu),
#      JOBS (parallel quantize processes, 6), EVAL_SPLIT (eval processes per text, 2), SAMPLES (128), CSEQ (512), SEQLEN (512),
#      WINDOWS (WikiText-2 windows, all when empty), VALID_WINDOWS (valid.txt windows, all when empty),
#      ONLY (a regexp of config ids to run), TEXTS (which evaluations: "wiki valid" by default),
#      ONLY_WIKI (a regexp: only these configs get the WikiText-2 evaluation),
#      SKIP_EXISTING=1 (keep a config's .lowbit from an earlier run of this script instead of re-quantizing)
set -uo pipefail
M=${1:?model dir}; CAL=${2:?calib text}; WIKI=${3:?wikitext}; VALID=${4:?valid text}
: "${OUT:?set OUT}"
A=${A:-.device/app}; BACKEND=${BACKEND:-webgpu}; JOBS=${JOBS:-6}
SAMPLES=${SAMPLES:-128}; CSEQ=${CSEQ:-512}; SEQLEN=${SEQLEN:-512}; WINDOWS=${WINDOWS:-}
CLI="node $A/src/cli/main.js"
name=$(basename "$M")
work=${WORK:-/tmp/quality}/$name
mkdir -p "$OUT" "$work"

CONFIGS=(
  "rtn-w4-g128|--method rtn --bits 4 --group-size 128"
  "rtn-w4-pc|--method rtn --bits 4 --group-size 0"
  "gptq-w4-g128|--method gptq --bits 4 --group-size 128"
  "gptq-w4-g128-ao|--method gptq --bits 4 --group-size 128 --act-order"
  "gptq-w4-pc|--method gptq --bits 4 --group-size 0"
  "gptq-w4-pc-ao|--method gptq --bits 4 --group-size 0 --act-order"
  "rtn-w3-g128|--method rtn --bits 3 --group-size 128"
  "rtn-w3-pc|--method rtn --bits 3 --group-size 0"
  "gptq-w3-g128|--method gptq --bits 3 --group-size 128"
  "gptq-w3-g128-ao|--method gptq --bits 3 --group-size 128 --act-order"
  "gptq-w3-pc|--method gptq --bits 3 --group-size 0"
  "gptq-w3-pc-ao|--method gptq --bits 3 --group-size 0 --act-order"
  # τ picked on lowbit-ref-15m (16 × 256 calibration) to land near 3.9 and 3.0 average bits
  "spqr-w3-b16-q16-t0.3|--method spqr --bits 3 --group-size 16 --qq-group 16 --outlier-threshold 0.3"
  "spqr-w2-b16-q16-t0.9|--method spqr --bits 2 --group-size 16 --qq-group 16 --outlier-threshold 0.9"
)

win=(); [ -n "$WINDOWS" ] && win=(--windows "$WINDOWS")
vwin=(); [ -n "${VALID_WINDOWS:-}" ] && vwin=(--windows "$VALID_WINDOWS")
# tokenize both texts once (the token cache serves every later process)
for d in "$WIKI" "$VALID"; do $CLI eval "$M" --data "$d" --seqlen "$SEQLEN" --windows 1 --backend cpu --json > /dev/null; done

quantize_one() {
  local id=$1 flags=$2
  if [ "${SKIP_EXISTING:-0}" = 1 ] && [ -f "$work/$id.lowbit" ] && [ -f "$OUT/q-$name-$id.json" ]; then echo "$id kept"; return; fi
  # shellcheck disable=SC2086
  if ! $CLI quantize "$M" $flags --calib "$CAL" --calib-samples "$SAMPLES" --calib-seqlen "$CSEQ" --seed 0 \
      --backend "$BACKEND" --out "$work/$id.lowbit" --json > "$OUT/q-$name-$id.json" 2> "$OUT/q-$name-$id.err"; then
    echo "$id: quantize failed: $(tail -1 "$OUT/q-$name-$id.err")"; return
  fi
  echo "$id quantized"
}

# 1. quantize every config, JOBS at a time
ids=()
for c in "${CONFIGS[@]}"; do
  id=${c%%|*}; flags=${c#*|}
  [ -n "${ONLY:-}" ] && ! [[ $id =~ $ONLY ]] && continue
  ids+=("$id")
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  quantize_one "$id" "$flags" &
done
wait

# 2. per text, EVAL_SPLIT eval processes, each running the base model once per window against its
#    share of the quantized models (--compare repeated); then one e-<model>-<id>-<text>.json per config
EVAL_SPLIT=${EVAL_SPLIT:-2}
eval_part() {
  local d=$1 part=$2 data=$WIKI w=("${win[@]}") cmp=() i
  [ "$d" = valid ] && data=$VALID && w=("${vwin[@]}")
  for i in "${!ids[@]}"; do
    [ "$d" = wiki ] && [ -n "${ONLY_WIKI:-}" ] && ! [[ ${ids[$i]} =~ $ONLY_WIKI ]] && continue
    [ $((i % EVAL_SPLIT)) = "$part" ] && [ -f "$work/${ids[$i]}.lowbit" ] && cmp+=(--compare "$work/${ids[$i]}.lowbit")
  done
  [ ${#cmp[@]} = 0 ] && return
  local f="$OUT/e-$name-part$part-$d"
  if $CLI eval "$M" "${cmp[@]}" --data "$data" --seqlen "$SEQLEN" "${w[@]}" --backend "$BACKEND" --json > "$f.json" 2> "$f.err"; then
    node -e '
      const [f, out, name, d] = process.argv.slice(1);
      const r = JSON.parse(require("fs").readFileSync(f, "utf8"));
      const { compares, ...base } = r;
      for (const c of compares ?? [{ compare: r.compare, kl: r.kl, top1: r.top1, compare_ppl: r.compare_ppl, compare_nll: r.compare_nll }]) {
        const id = require("path").basename(c.compare, ".lowbit");
        require("fs").writeFileSync(`${out}/e-${name}-${id}-${d}.json`, JSON.stringify({ ...base, ...c }) + "\n");
      }' "$f.json" "$OUT" "$name" "$d"
    echo "eval $d part $part done"
  else
    echo "eval $d part $part failed: $(tail -1 "$f.err")"
  fi
}
for d in ${TEXTS:-wiki valid}; do
  for ((part = 0; part < EVAL_SPLIT; part++)); do eval_part $d $part & done
done
wait
