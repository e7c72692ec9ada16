# decode16 run 3: tilings again with the prepared norm input, all on one build (NEW): SpQR with its gate|up
# through f16 subnormals and not (--int1 …x1 / …x0), int3 and int4 tilings; each list on one uploaded model.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
NEW=${NEW:?}
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 170 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="node .device/app/bench/packed-decode.js --pos 128 --steps 64"
export LOWBIT_COMMIT=$NEW
run pd-spqr $PD --formats spqr --int1 2x32x4x1x1,2x32x4x1x0,2x64x2x1x1,2x64x2x1x0 --out $R/pd-spqr.json
run pd-int3 $PD --formats int3 --int1 2x32x4x1,2x64x2x1,4x32x2x1 --out $R/pd-int3.json
run pd-int4 $PD --formats int4 --ilv1 4x64x2x1,2x64x2x1,4x32x4x1,4x64x1x1 --out $R/pd-int4.json
cat $T
node .device/app/bench/step-summary.js $R/pd-*.json 2>&1 | tee $OUT/summary.txt
