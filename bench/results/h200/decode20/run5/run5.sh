# decode20 run 5 (2026-12-04): what SpQR's 1 % CSR outliers cost the 7B step at 7dcfab9 (docs said ~0.7 ms at 0a82df2,
# before the held outliers): spqr with --outlier-rate 0.01 and 0 (the same model otherwise), int3 g128 (the same kernel).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 200 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="node .device/app/bench/packed-decode.js --pos 128 --steps 32 --kernel-iters 3"
run pd-spqr $PD --formats spqr,int3 --out $R/pd-spqr.json
run pd-spqr0 $PD --formats spqr --outlier-rate 0 --out $R/pd-spqr0.json
cat $T
node .device/app/bench/step-summary.js $R/pd-spqr.json $R/pd-spqr0.json 2>&1 | tee $OUT/summary.txt
