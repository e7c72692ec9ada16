source .device/setup.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization LOWBIT_COMMIT=b36785f
T=$OUT/times.txt
pack() { (cd $OUT && tar czf results.tgz --exclude=results.tgz *.json *.txt 2>/dev/null); }
run() { local n=$1; shift; local s=$(date +%s); "$@" > $OUT/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="bench/packed-decode.js --pos 128 --steps 64"
run pd-spqr-base node .device/app/$PD --formats spqr --int1 2x32x4x2,2x32x4x1 --out $OUT/pd-spqr-base.json
run pd-spqr-held node .device/app-held/$PD --formats spqr --int1 2x32x4x2,2x32x4x1 --out $OUT/pd-spqr-held.json
run pd-spqr-heldwg node .device/app-heldwg/$PD --formats spqr --int1 2x32x4x2,2x32x4x1 --out $OUT/pd-spqr-heldwg.json
run pd-int4-base node .device/app/$PD --formats int4 --out $OUT/pd-int4-base.json
run pd-int4-fma node .device/app-fma/$PD --formats int4 --out $OUT/pd-int4-fma.json
run dec-bf16 node .device/app/bench/webgpu-decode.js --positions 128 --steps 64 --out $OUT/decode-bf16.json
for a in app app-wl4; do
  s=$(date +%s); node .device/$a/src/cli/main.js bench random:llama2-7b:spqr --prompt-tokens 512 --gen-tokens 32 --backend webgpu --json > $OUT/bench-$a.log 2>&1
  echo "bench-$a rc=$? $(( $(date +%s)-s ))s" >> $T; grep '^{' $OUT/bench-$a.log | tail -1 > $OUT/bench-spqr-$a.json; pack
done
node .device/app/bench/step-summary.js $OUT/pd-*.json $OUT/decode-bf16.json > $OUT/summary.txt 2>&1; pack
cat $T; cat $OUT/summary.txt; for f in $OUT/bench-spqr-*.json; do echo $f; python3 -c "import json,sys;d=json.load(open('$f'));print({k:v for k,v in d.items() if 'tok' in k or 'prefill' in k})" 2>&1 | head -3; done
