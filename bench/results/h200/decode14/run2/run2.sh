source .device/setup.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="bench/packed-decode.js --pos 128 --steps 64 --formats int4,int3,spqr"
HEADC=$(cat .device/app/COMMIT)
LOWBIT_COMMIT=$HEADC run pd-head node .device/app/$PD --out $R/pd-head.json
LOWBIT_COMMIT=b36785f run pd-base node .device/app-base/$PD --out $R/pd-base.json
LOWBIT_COMMIT=$HEADC run dec-bf16 node .device/app/bench/webgpu-decode.js --positions 128 --steps 64 --out $R/decode-bf16.json
for f in int4 spqr; do
  s=$(date +%s); LOWBIT_COMMIT=$HEADC node .device/app/src/cli/main.js bench random:llama2-7b:$f --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json > $R/bench-$f.log 2>&1
  echo "bench-$f rc=$? $(( $(date +%s)-s ))s" >> $T; grep '^{' $R/bench-$f.log | tail -1 > $R/bench-7b-$f.json; pack
done
s=$(date +%s); LOWBIT_COMMIT=b36785f node .device/app-base/src/cli/main.js bench random:llama2-7b:spqr --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json > $R/bench-spqr-base.log 2>&1
echo "bench-spqr-base rc=$? $(( $(date +%s)-s ))s" >> $T; grep '^{' $R/bench-spqr-base.log | tail -1 > $R/bench-7b-spqr-base.json; pack
node .device/app/bench/step-summary.js $R/pd-head.json $R/pd-base.json $R/decode-bf16.json > $OUT/summary.txt 2>&1; pack
cat $T; cat $OUT/summary.txt
for f in $R/bench-7b-*.json; do echo $f; python3 -c "import json;d=json.load(open('$f'));print({k:(round(v,1) if isinstance(v,float) else v) for k,v in d.items() if 'tok' in k or k in ('fraction_of_roofline','copy_gbps')})" 2>&1 | head -3; done
