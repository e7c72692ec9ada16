# decode18 run 5 (2026-12-04): a long prompt. lowbit bench random:llama2-7b:int4 with a 2000-token prompt
# and 64 new tokens (cache 2064 rows: split-K + combine at 6715082, flash 128 × 17 at 6e4be7d), base /
# new alternating twice, medians of 3 decode runs.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 150 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for i in 1 2; do
  for v in app-base app; do
    n=bench-llama2-7b-int4-p2000-$v-$i
    run $n node .device/$v/src/cli/main.js bench random:llama2-7b:int4 --prompt-tokens 2000 --gen-tokens 64 --backend webgpu --json
    grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
  done
done
cat $T
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print('$(basename $f .json)',d['commit'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline','kv_bytes_per_token')])" 2>&1 | tail -1; done | tee $OUT/summary.txt
