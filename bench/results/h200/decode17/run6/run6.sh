# decode17 run 6 (2026-12-04): lowbit bench at aa50f5b (the CLI bundled alone), Llama-2-7B shape,
# int4 then bf16 in one call, decode the median of 5 runs (--decode-runs 5).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 110 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for m in llama2-7b:int4 llama2-7b:bf16; do
  n=bench-$(echo $m | tr : -)
  run $n node .device/app/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --decode-runs 5 --backend webgpu --json
  grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
done
cat $T
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print('$(basename $f .json)',d['commit'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline')])" 2>&1 | tail -1; done | tee $OUT/summary.txt
