# H100 bench 1, call 3 (2026-12-05, 25778be): are qgemv1_ilv's int4 defaults (4×64×2×1, chosen on an H200)
# also best on an H100? decode20 run 3's tilings in the 7B int4 step at position 128, on one uploaded model.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1 t=$2; shift 2; local s=$(date +%s); timeout $t "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
TL=4x64x2x1,2x64x2x2,4x64x1x2,2x128x1x2,2x32x4x4,2x64x2x1,4x64x1x1,4x128x1x1,8x64x1x1,4x32x4x1,2x128x2x1,4x64x2x2,4x64x2x1
run pd-tiles 330 node .device/app-app/bench/packed-decode.js --pos 128 --steps 32 --kernel-iters 3 --formats int4 --ilv1 $TL --out $R/pd-tiles.json
cat $T
node .device/app-app/bench/step-summary.js $R/pd-tiles.json 2>&1 | cut -c1-260 | tee $OUT/summary3.txt
