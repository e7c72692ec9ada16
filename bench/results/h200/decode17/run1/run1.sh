# decode17 run 1 (prepared 2026-12-04, to run next session): the sampler. Builds, bundled beside .device/app (main):
#   ENTRIES="bench/sample-op.ts src/cli/main.ts" bash tools/device/variants.sh base=e1be33a+bench/results/h200/decode17/run1/sample-op-planted.diff sg=exp/sample-subgroup q4=exp/sample-4way
# (the patch gives the base build sample-op.js's --planted flag)
# base: the threshold search from bits 0 (before 4d434c5); app: from bits(min p); sg: + subgroup reductions;
# q4: sg + four-way steps (three quarter points a pass).
# 1. the sample op alone on a peaked row (σ 2.5, 8 planted) and flat rows (σ 1 and 0.3, none planted) at 32000 and 128256;
# 2. lowbit bench on the Llama-3-8B shape (int4): greedy vs sampled decode, base and app (and sg).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
dir() { [ $1 = app ] && echo .device/app || echo .device/app-$1; }
run() { local n=$1; shift; local s=$(date +%s); timeout 170 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for v in base app sg q4; do
  for rowkind in "2.5 8" "1 0" "0.3 0"; do
    set -- $rowkind
    run so-$v-s$1-p$2 node $(dir $v)/bench/sample-op.js --iters 50 --sigma $1 --planted $2 --out $R/so-$v-s$1-p$2.json
  done
done
for v in base app q4; do
  run bench8b-$v node $(dir $v)/src/cli/main.js bench random:llama3-8b:int4 --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
  grep '^{' $R/bench8b-$v.log | tail -1 > $R/bench8b-$v.json; pack
done
cat $T
(for f in $R/so-*.json; do echo "== $f"; grep -h "µs" ${f%.json}.log; done
for v in base app q4; do python3 -c "import json;d=json.load(open('$R/bench8b-$v.json'));print('$v',*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling')])" 2>&1 | tail -1; done) | tee $OUT/summary.txt
