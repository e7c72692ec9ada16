# decode17 run 4 (2026-12-04): the sampler as landed. Builds (sample-op and the CLI only):
#   ENTRIES="bench/sample-op.ts src/cli/main.ts" bash tools/device/variants.sh base=30712b9 new3=d9a3cb9
# base: main at 30712b9; new3: run 3's with the subgroup reductions reading up to 16 partials
# directly (workgroups of 512 at SG 32) and folding more (1024).
# 1. the ops alone, peaked (σ 2.5, 8 planted) and flat (σ 0.3) rows, V 32000 and 128256;
# 2. lowbit bench (greedy and sampled decode), Llama-3-8B int4 base, new3, base, new3 (calls swing ~3 %),
#    then Llama-2-7B int4 base, new3.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 170 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
so() { local v=$1 s=$2 pl=$3; local n=so-$v-s$s; run $n node .device/app-$v/bench/sample-op.js --iters 50 --sigma $s --planted $pl --out $R/$n.json; }
for v in base new3; do so $v 2.5 8; so $v 0.3 0; done
for spec in llama3-8b:int4:base:1 llama3-8b:int4:new3:1 llama3-8b:int4:base:2 llama3-8b:int4:new3:2 llama2-7b:int4:base:1 llama2-7b:int4:new3:1; do
  IFS=: read -r arch fmt v k <<< "$spec"
  n=bench-$arch-$fmt-$v-$k
  LOWBIT_COMMIT=$v run $n node .device/app-$v/src/cli/main.js bench random:$arch:$fmt --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
  grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
done
cat $T
(for f in $R/so-*.log; do echo "== $(basename $f .log)"; grep -h "µs" $f; done
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print('$(basename $f .json)',*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','fraction_of_roofline')])" 2>&1 | tail -1; done) | tee $OUT/summary.txt
