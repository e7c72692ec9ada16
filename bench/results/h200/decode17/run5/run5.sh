# decode17 run 5 (2026-12-04): a packed lm_head. lowbit bench at 289dfa5 (the CLI bundled alone:
#   node scripts/bundle.mjs .device/app --only src/cli/main.ts), int4 with the head bf16 (as every earlier
# bench) and in int4 too (random:<shape>:int4:head, as quantize --quantize-head stores it), alternating.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 150 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for m in llama3-8b:int4 llama3-8b:int4:head llama2-7b:int4 llama2-7b:int4:head; do
  n=bench-$(echo $m | tr : -)
  run $n node .device/app/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
  grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
done
cat $T
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print('$(basename $f .json)',d['commit'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','weight_bytes_per_token','fraction_of_roofline')])" 2>&1 | tail -1; done | tee $OUT/summary.txt
