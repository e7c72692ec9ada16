# decode21 run 1 (2026-12-05): (a) bench/dispatch-floor.ts with weights: can a fused chain hide a step's weight reads
# behind its dependency wait (fused-pre) where dispatches cannot (barrier)? 40 steps of N = 4096, 16 KiB of weights a
# workgroup, 7B-like step sizes (512, 1536, 2752 workgroups: o/down, q|k|v, gate|up); (b) SpQR's outliers one u32 an
# entry (app-pairs = bd4766a + ../../decode20/outlier-pairs-b64f795.diff) against bd4766a (app-head), twice each,
# interleaved; (c) int4 at bd4766a against 83863fc (app-pre, before the row chunks of b64f795): no regression.
# Bundles: ENTRIES="bench/packed-decode.ts bench/step-summary.ts bench/dispatch-floor.ts" bash tools/device/variants.sh \
#   head=HEAD pairs=HEAD+bench/results/h200/decode20/outlier-pairs-b64f795.diff pre=83863fc   (at bd4766a)
# Call: source .device/setup.sh && bash bench/results/h200/decode21/run1/run1.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 150 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
DF=".device/app-head/bench/dispatch-floor.js --steps 40 --n 4096 --wkb 16 --wmb 512 --iters 10 --modes barrier,fused-flag,fused-pre,stream"
for g in 512 1536 2752; do run df-$g node $DF --g $g --out $R/df-$g.json; done
run df-0 node .device/app-head/bench/dispatch-floor.js --steps 40 --iters 10 --modes barrier,fused-flag,fused-pre --out $R/df-0.json
PD="bench/packed-decode.js --pos 128 --steps 32 --kernel-iters 3"
run pd-int4-head node .device/app-head/$PD --formats int4 --out $R/pd-int4-head.json
run pd-int4-pre node .device/app-pre/$PD --formats int4 --out $R/pd-int4-pre.json
for i in 1 2; do for v in head pairs; do run pd-spqr-$v-$i node .device/app-$v/$PD --formats spqr --out $R/pd-spqr-$v-$i.json; done; done
cat $T
grep -h "µs a step" $R/df-*.log | tee $OUT/summary.txt
node .device/app-head/bench/step-summary.js $R/pd-int4-head.json $R/pd-int4-pre.json $R/pd-spqr-head-1.json $R/pd-spqr-pairs-1.json $R/pd-spqr-head-2.json $R/pd-spqr-pairs-2.json 2>&1 | tee -a $OUT/summary.txt
