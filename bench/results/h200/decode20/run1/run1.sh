# decode20 run 1 (2026-12-04): bench/dispatch-floor.ts with two more ways to fuse dependent steps
# through memory: fused-par (each thread's 32 atomic loads issued at once, only sentinels re-polled)
# and fused-flag (one lane per workgroup spins on the previous step's counter first).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 120 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
run floor node .device/app/bench/dispatch-floor.js --steps 160 --iters 20 --out $R/floor.json
run floor-40 node .device/app/bench/dispatch-floor.js --steps 40 --iters 20 --out $R/floor-40.json
grep µs $R/floor*.log > $OUT/summary.txt
cat $T; cat $OUT/summary.txt
