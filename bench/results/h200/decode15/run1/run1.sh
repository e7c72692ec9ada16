source .device/setup.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="bench/packed-decode.js --pos 128 --steps 64"
export LOWBIT_COMMIT=4f2eef5
run dec-bf16 node .device/app/bench/webgpu-decode.js --positions 128 --steps 64 --out $R/decode-bf16.json
run pd-stream node .device/app/$PD --formats int4 --ilv1 4x64x2x1,4x64x2x1x264,4x64x2x1x528,4x64x2x1x1056,4x64x2x1x2112,2x32x4x1x528,2x32x4x1x1056,4x32x2x1x528,4x32x2x1x1056,2x64x2x1x1056,8x32x1x1x1056,4x64x2x1 --out $R/pd-stream.json
LOWBIT_COMMIT=4f2eef5+attention-values-first run pd-att node .device/app-att/$PD --formats int4 --out $R/pd-att.json
node .device/app/bench/step-summary.js $R/pd-stream.json $R/pd-att.json $R/decode-bf16.json > $OUT/summary.txt 2>&1; pack
cat $T; cat $OUT/summary.txt
