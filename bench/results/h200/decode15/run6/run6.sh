# decode15 run 6 (85cdc4d): int3 and SpQR's f16-subnormal decode on and off; the sample op under the
# vocabulary's workgroup; lowbit bench (3 decode runs a figure) on the 7B and Llama-3-8B shapes.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization LOWBIT_COMMIT=85cdc4d
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
run sample node .device/app/bench/sample-op.js --iters 50 --out $R/sample.json
PD="node .device/app/bench/packed-decode.js --pos 128 --steps 64 --formats int3,spqr"
run pd-sub1 $PD --out $R/pd-sub1.json
run pd-sub0 $PD --f16-sub 0 --out $R/pd-sub0.json
for m in llama2-7b:int4 llama2-7b:spqr llama2-7b:bf16 llama3-8b:int4 llama3-8b:spqr llama3-8b:bf16; do
  n=bench-$(echo $m | tr : -)
  run $n node .device/app/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
  grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
done
cat $T
(grep 'µs' $R/sample.log | grep -v '^{'
grep -h "f16 subnormals" $R/pd-sub*.log
node .device/app/bench/step-summary.js $R/pd-sub1.json $R/pd-sub0.json 2>&1
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print(d['model'],*[f'{k}={d[k]:.4g}' for k in ('prefill_tokens_per_s','decode_tokens_per_s','decode_tokens_per_s_sampling','fraction_of_roofline')])" 2>&1 | tail -1; done) | tee $OUT/summary.txt
