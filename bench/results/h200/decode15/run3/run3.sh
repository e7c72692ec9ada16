source .device/setup.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization LOWBIT_COMMIT=ec405d5
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
for m in llama2-7b:int4 llama2-7b:spqr llama2-7b:bf16 llama3-8b:int4 llama3-8b:spqr llama3-8b:bf16; do
  n=$(echo $m | tr : -); s=$(date +%s)
  node .device/app/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json > $R/bench-$n.log 2>&1
  echo "bench-$n rc=$? $(( $(date +%s)-s ))s" >> $T; grep '^{' $R/bench-$n.log | tail -1 > $R/bench-$n.json; pack
done
cat $T
for f in $R/bench-*.json; do python3 -c "import json,sys;d=json.load(open('$f'));print(d['model'],*[f'{k}={d[k]:.4g}' for k in ('prefill_tokens_per_s','decode_tokens_per_s','decode_tokens_per_s_sampling','fraction_of_roofline','copy_gbps','achieved_gbps')], 'w', d['memory']['weight_bytes'], 'kv', d['memory']['kv_cache_bytes'])" 2>&1 | tail -1; done | tee $OUT/summary.txt
