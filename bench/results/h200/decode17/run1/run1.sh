# decode17 run 1 (2026-12-04): argmax and sample reading the row in 16-byte slots, U in flight a thread.
# Builds, bundled beside each other (sample-op and the CLI only):
#   ENTRIES="bench/sample-op.ts src/cli/main.ts" bash tools/device/variants.sh base=30712b9 new=a03be90 \
#     u2=a03be90+bench/results/h200/decode17/run1/u2.diff u8=a03be90+bench/results/h200/decode17/run1/u8.diff
# base: main at 30712b9 (one f32 a load; argmax 8 loads in flight at 256 threads); new: slots, U = 4, argmax at
# sampleWorkgroupFor(V); u2, u8: U = 2, 8.
# 1. the ops alone on a peaked row (σ 2.5, 8 planted) and a flat row (σ 0.3, none) at V 32000 and 128256;
#    new also with the workgroup capped at 512 and 256;
# 2. lowbit bench (greedy and sampled decode), Llama-3-8B and Llama-2-7B shapes in int4, base and new.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 170 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
so() { local v=$1 s=$2 pl=$3 w=${4:-}; local n=so-$v-s$s${w:+-w$w}; run $n node .device/app-$v/bench/sample-op.js --iters 50 --sigma $s --planted $pl ${w:+--workgroup $w} --out $R/$n.json; }
for v in base new u2 u8; do so $v 2.5 8; so $v 0.3 0; done
for w in 512 256; do so new 2.5 8 $w; so new 0.3 0 $w; done
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
