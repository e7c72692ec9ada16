# decode17 run 2 (2026-12-04): the sampler after run 1's slots. Builds (sample-op and the CLI only):
#   ENTRIES="bench/sample-op.ts src/cli/main.ts" bash tools/device/variants.sh base=30712b9 s1=a03be90 new=d60950b
# base: main at 30712b9; s1: run 1's slots (U = 4, argmax at sampleWorkgroupFor(V)); new: s1 + full
# passes testing three quarter points, no rank pass when every tie at τ is kept, no τ count without a
# filter, subgroup reductions (sum4 / max1); new-nosg: new with the backend's subgroups off.
# 1. the ops alone, peaked (σ 2.5, 8 planted) and flat (σ 0.3) rows, V 32000 and 128256;
# 2. lowbit bench (greedy and sampled decode), Llama-3-8B and Llama-2-7B shapes in int4, base and new.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 170 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
so() { local v=$1 s=$2 pl=$3 x=${4:-}; local n=so-$v${x:+-nosg}-s$s; run $n node .device/app-$v/bench/sample-op.js --iters 50 --sigma $s --planted $pl ${x:+--subgroups 0} --out $R/$n.json; }
for v in base s1 new; do so $v 2.5 8; so $v 0.3 0; done
so new 2.5 8 x; so new 0.3 0 x
for m in llama3-8b:int4 llama2-7b:int4; do
  for v in base new; do
    n=bench-$(echo $m | tr : -)-$v
    LOWBIT_COMMIT=$v run $n node .device/app-$v/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
    grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
  done
done
cat $T
(for f in $R/so-*.log; do echo "== $(basename $f .log)"; grep -h "µs" $f; done
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print('$(basename $f .json)',*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','fraction_of_roofline')])" 2>&1 | tail -1; done) | tee $OUT/summary.txt
