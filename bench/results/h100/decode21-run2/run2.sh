# decode21 run 2 (2026-12-05), at cfa536e (SpQR outliers one u32 an entry): (a) dispatch-floor with weights again,
# gate|up-sized steps (2752 workgroups) now that fused grids over 65535 workgroups run 2-D, and the other two sizes
# repeated; (b) qgemv1 tilings (PackedTuning.int1) for SpQR and int3 on one uploaded model each, the default first;
# (c) the host's cost of issuing a step: int4 with Dawn's skip_validation toggle against without, twice interleaved
# (the greedy loop ran 3.05 ms a token against a 2.44 ms GPU step in run 1, the host taking 1.0–2.0 ms a step).
# Bundle: ENTRIES="bench/packed-decode.ts bench/step-summary.ts bench/dispatch-floor.ts" bash tools/device/variants.sh head=HEAD
# Call: source .device/setup.sh && bash bench/results/h100/decode21-run2/run2.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 200 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
DF=".device/app-head/bench/dispatch-floor.js --steps 40 --n 4096 --wkb 16 --wmb 512 --iters 10 --modes barrier,fused-flag,fused-pre,stream"
for g in 2752 1536 512; do run df-$g node $DF --g $g --out $R/df-$g.json; done
TL=2x32x4x1,2x32x2x1,2x64x2x1,4x32x4x1,2x32x8x1,1x32x8x1
PD="bench/packed-decode.js --pos 128 --steps 32 --kernel-iters 3"
run pd-spqr node .device/app-head/$PD --formats spqr --int1 $TL --out $R/pd-spqr.json
run pd-int3 node .device/app-head/$PD --formats int3 --int1 $TL --out $R/pd-int3.json
for i in 1 2; do
  run pd-int4-val-$i node .device/app-head/$PD --formats int4 --out $R/pd-int4-val-$i.json
  run pd-int4-skip-$i env LOWBIT_DAWN_FLAGS="$LOWBIT_DAWN_FLAGS enable-dawn-features=skip_validation" node .device/app-head/$PD --formats int4 --out $R/pd-int4-skip-$i.json
done
cat $T
grep -h "µs a step" $R/df-*.log | tee $OUT/summary.txt
grep -H "stream:\|step: GPU" $R/pd-int4-*.log | cut -c1-100 | tee -a $OUT/summary.txt
node .device/app-head/bench/step-summary.js $R/pd-spqr.json $R/pd-int3.json $R/pd-int4-val-1.json $R/pd-int4-skip-1.json $R/pd-int4-val-2.json $R/pd-int4-skip-2.json 2>&1 | tee -a $OUT/summary.txt
