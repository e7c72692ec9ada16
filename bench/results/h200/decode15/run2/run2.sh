source .device/setup.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization LOWBIT_COMMIT=4624e96
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="node .device/app/bench/packed-decode.js --pos 128 --steps 64"
IL=4x64x2x1,4x64x2x1x8,4x64x1x1x8,2x64x2x1x8,4x64x2x1
run dec-bf16 node .device/app/bench/webgpu-decode.js --positions 128 --steps 64 --out $R/decode-bf16.json
run pd-int4-fold $PD --formats int4 --ilv1 $IL --out $R/pd-int4-fold.json
run pd-int4-nofold $PD --formats int4 --ilv1 $IL --fold-norm-max 0 --out $R/pd-int4-nofold.json
run pd-int1-fold $PD --formats int3,spqr --out $R/pd-int1-fold.json
run pd-int1-nofold $PD --formats int3,spqr --fold-norm-max 0 --out $R/pd-int1-nofold.json
node .device/app/bench/step-summary.js $R/pd-int4-fold.json $R/pd-int4-nofold.json $R/pd-int1-fold.json $R/pd-int1-nofold.json $R/decode-bf16.json > $OUT/summary.txt 2>&1; pack
cat $T; cat $OUT/summary.txt
