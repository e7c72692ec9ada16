# decode18 run 4 (2026-12-04): run 3's Llama-3-8B int4 greedy figure fell (309.3 → 294.0) while its
# sampled one rose (289.7 → 307.5); again, base / new alternating twice, medians of 5 decode runs.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 200 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for i in 1 2; do
  for v in app-base app; do
    n=bench-llama3-8b-int4-$v-$i
    run $n node .device/$v/src/cli/main.js bench random:llama3-8b:int4 --prompt-tokens 512 --gen-tokens 64 --decode-runs 5 --backend webgpu --json
    grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
  done
done
cat $T
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print('$(basename $f .json)',d['commit'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline')])" 2>&1 | tail -1; done | tee $OUT/summary.txt
