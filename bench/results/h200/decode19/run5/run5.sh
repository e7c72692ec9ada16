# decode19 run 5 (2026-12-04): run 4's build (4cbf912) packed the new key's value column through the
# f16 rounding inside the value loop and lost run 3's gain; app = the column packed once before the loop.
# packed-decode rows f32 / f16 cache on one uploaded 7B int4 model at cache positions 128, 512 and 2000;
# lowbit bench random:llama2-7b:int4 --kv-cache f32 / f16 (prompt 512 + 64 new tokens, medians of 3).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 100 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
sum() { (for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));m=d['memory'];print('$(basename $f .json)',d['commit'],m['kv_cache'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline','kv_bytes_per_token')],f\"kv_cache_bytes={m['kv_cache_bytes']}\")" 2>&1 | tail -1; done
  for f in $R/pd-*.json; do echo "== $(basename $f .json)"; node .device/app/bench/step-summary.js $f 2>&1 | sed -E 's/ \| int4\[[^|]*//g; s/^[0-9a-f-]+ \| int4 \| 4×64×2×1 \| //'; done) > $OUT/summary.txt; }
for p in 2000 512 128; do
  run pd-$p node .device/app/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4 --pos $p --kv-cache f32,f16 --out $R/pd-$p.json; sum
done
for kv in f16 f32; do
  n=bench-llama2-7b-int4-kv$kv
  run $n node .device/app/src/cli/main.js bench random:llama2-7b:int4 --prompt-tokens 512 --gen-tokens 64 --kv-cache $kv --backend webgpu --json
  grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack; sum
done
cat $T; cat $OUT/summary.txt
