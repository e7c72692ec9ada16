source .device/setup.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization LOWBIT_COMMIT=e1b3fb8
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
for wg in 256 1024; do
  s=$(date +%s); node .device/app/bench/sample-op.js --iters 50 --workgroup $wg --out $R/sample-op-$wg.json > $R/sample-op-$wg.txt 2>&1
  echo "sample-op-$wg rc=$? $(( $(date +%s)-s ))s" >> $T; pack
done
for m in llama3-8b:int4 llama2-7b:int4; do
  n=$(echo $m | tr : -); s=$(date +%s)
  node .device/app/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json > $R/bench-$n.log 2>&1
  echo "bench-$n rc=$? $(( $(date +%s)-s ))s" >> $T; grep '^{' $R/bench-$n.log | tail -1 > $R/bench-$n.json; pack
done
cat $T
(for wg in 256 1024; do echo "workgroup $wg"; grep -v '^{' $R/sample-op-$wg.txt | grep 'µs'; done
for f in $R/bench-*.json; do python3 -c "import json,sys;d=json.load(open('$f'));print(d['model'],*[f'{k}={d[k]:.4g}' for k in ('prefill_tokens_per_s','decode_tokens_per_s','decode_tokens_per_s_sampling','fraction_of_roofline')])" 2>&1 | tail -1; done) | tee $OUT/summary.txt
