# decode19 run 1 (2026-12-04): the f16 KV cache (app = 678c0b5). packed-decode rows f32 / f16 cache on one
# uploaded 7B int4 model at cache positions 128, 512 and 2000 (step profiles: attention per layer), and
# 8745bb5 (app-base, f32 only: the f32 path's kernels changed shape too) at 512 and 2000; then lowbit bench
# random:llama2-7b:int4 --kv-cache f32 / f16 alternating twice (prompt 512 + 64 new tokens, medians of 3).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 150 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for p in 128 512 2000; do
  [ $p = 128 ] || run pd-base-$p node .device/app-base/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4 --pos $p --out $R/pd-base-$p.json
  run pd-$p node .device/app/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4 --pos $p --kv-cache f32,f16 --out $R/pd-$p.json
done
for i in 1 2; do
  for kv in f32 f16; do
    n=bench-llama2-7b-int4-kv$kv-$i
    run $n node .device/app/src/cli/main.js bench random:llama2-7b:int4 --prompt-tokens 512 --gen-tokens 64 --kv-cache $kv --backend webgpu --json
    grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
  done
done
cat $T
(for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));m=d['memory'];print('$(basename $f .json)',d['commit'],m['kv_cache'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline','kv_bytes_per_token')],f\"kv_cache_bytes={m['kv_cache_bytes']}\")" 2>&1 | tail -1; done
for f in $R/pd-*.json; do echo "== $(basename $f .json)"; node .device/app/bench/step-summary.js $f 2>&1 | sed -E 's/ \| int4\[[^|]*//g; s/^[0-9a-f-]+ \| int4 \| 4×64×2×1 \| //'; done) | tee $OUT/summary.txt
