# decode16 run 5: int2 g32 through f16 subnormals (word_dot_sub2) against 1 + q/4 (--f16-sub 0), one build (NEW), 7B shape.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization LOWBIT_COMMIT=${NEW:?}
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 100 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="node .device/app/bench/packed-decode.js --pos 128 --steps 64 --formats int2"
run pd-sub1 $PD --out $R/pd-sub1.json
run pd-sub0 $PD --f16-sub 0 --out $R/pd-sub0.json
cat $T
(grep -h "f16 subnormals" $R/pd-sub*.log; node .device/app/bench/step-summary.js $R/pd-sub1.json $R/pd-sub0.json 2>&1) | tee $OUT/summary.txt
