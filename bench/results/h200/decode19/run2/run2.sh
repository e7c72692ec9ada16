# decode19 run 2 (2026-12-04): why attention over an f16 cache ran slower than over f32 (run 1: 14.6 → 24.8
# µs a layer at 545 keys, 30.4 → 48.0 at 2033). The same packed-decode rows (7B int4, one uploaded model)
# with the f16 cache read four ways: app (678c0b5: vec2<u32> loads, unpack2x16float), app-int (integer
# widening, a shift, masks and one multiply by 2^112 per half: int.diff), app-h (shader-f16: vec4<f16> loads
# and f16 → f32 conversions: h.diff), app-raw (the loads alone, no conversion, wrong values: raw.diff).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 150 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for p in 2000 512; do
  run pd-app-$p node .device/app/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4 --pos $p --kv-cache f32,f16 --out $R/pd-app-$p.json
  for v in int h raw; do
    [ $p = 512 ] && [ $v = raw ] && continue
    run pd-$v-$p node .device/app-$v/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4 --pos $p --kv-cache f16 --out $R/pd-$v-$p.json
  done
done
cat $T
(for f in $R/pd-*.json; do echo "== $(basename $f .json)"; node .device/app/bench/step-summary.js $f 2>&1 | sed -E 's/ \| int4\[[^|]*//g; s/^[0-9a-f-]+ \| int4 \| 4×64×2×1 \| //'; done) | tee $OUT/summary.txt
