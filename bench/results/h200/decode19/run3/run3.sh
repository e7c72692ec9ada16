# decode19 run 3 (2026-12-04): run 2 found the f16 cache's extra time in its 8-byte loads, not the
# conversions (loads alone, wrong values: 48.5 µs a layer at 2033 keys, as with unpack2x16float: 48.4;
# f32: 30.3). Two variants (f16 cache): app-k16 binds the key cache as vec4<u32> so q·k reads a key
# row 16 bytes (eight halves) at a time (k16.diff); app-k16raw also keeps flash's value loads as loaded
# (vec2<u32>) until their products, widening there (k16raw.diff). Against app (678c0b5) f32 and f16.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 150 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for p in 2000 512 128; do
  run pd-app-$p node .device/app/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4 --pos $p --kv-cache f32,f16 --out $R/pd-app-$p.json
  for v in k16 k16raw; do
    [ $p = 128 ] && [ $v = k16raw ] && continue
    run pd-$v-$p node .device/app-$v/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4 --pos $p --kv-cache f16 --out $R/pd-$v-$p.json
  done
done
cat $T
(for f in $R/pd-*.json; do echo "== $(basename $f .json)"; node .device/app/bench/step-summary.js $f 2>&1 | sed -E 's/ \| int4\[[^|]*//g; s/^[0-9a-f-]+ \| int4 \| 4×64×2×1 \| //'; done) | tee $OUT/summary.txt
