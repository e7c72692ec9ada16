source .device/setup.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
HEADC=$(cat .device/app/COMMIT)
LOWBIT_COMMIT=7bc362e run sample-old node .device/app-old/bench/sample-op.js --iters 50 --out $R/sample-op-old.json
LOWBIT_COMMIT=$HEADC run sample-new node .device/app/bench/sample-op.js --iters 50 --out $R/sample-op-new.json
s=$(date +%s); LOWBIT_COMMIT=$HEADC node .device/app/src/cli/main.js bench random:llama2-7b:int4 --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json > $R/bench-int4.log 2>&1
echo "bench-int4 rc=$? $(( $(date +%s)-s ))s" >> $T; grep '^{' $R/bench-int4.log | tail -1 > $R/bench-7b-int4.json; pack
PD="bench/packed-decode.js --pos 128 --steps 64"
LOWBIT_COMMIT=$HEADC run pd-ilv1 node .device/app/$PD --formats int4 --ilv1 4x64x2x1,2x64x2x1,4x32x2x1,4x64x1x1,8x32x1x1,4x128x1x1,2x32x4x1,4x64x2x1 --out $R/pd-ilv1.json
LOWBIT_COMMIT=$HEADC run pd-int1 node .device/app/$PD --formats spqr,int3 --int1 2x32x4x1,4x32x2x1,2x64x2x1,1x32x8x1,2x32x2x1,2x16x8x1,2x32x4x1 --out $R/pd-int1.json
node .device/app/bench/step-summary.js $R/pd-ilv1.json $R/pd-int1.json > $OUT/summary.txt 2>&1; pack
cat $T; grep -E "^(argmax|sample)" $R/sample-*.log; cat $OUT/summary.txt
python3 -c "import json;d=json.load(open('$R/bench-7b-int4.json'));print({k:(round(v,1) if isinstance(v,float) else v) for k,v in d.items() if 'tok' in k})"
