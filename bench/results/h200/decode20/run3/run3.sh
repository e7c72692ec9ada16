# decode20 run 3 (2026-12-04): qgemv1_ilv tilings in the int4 7B step at 52eb932 (decode6's sweep was at
# e855090, before the f16 subnormals, PREP and the norm partials): per op, in sequence, on one uploaded model.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 400 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
TL=4x64x2x1,2x64x2x2,4x64x1x2,2x128x1x2,2x32x4x4,2x64x2x1,4x64x1x1,4x128x1x1,8x64x1x1,4x32x4x1,2x128x2x1,4x64x2x2,4x64x2x1
run pd-tiles node .device/app/bench/packed-decode.js --pos 128 --steps 32 --kernel-iters 3 --formats int4 --ilv1 $TL --out $R/pd-tiles.json
cat $T
node .device/app/bench/step-summary.js $R/pd-tiles.json 2>&1 | tee $OUT/summary.txt
