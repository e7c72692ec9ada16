# decode20 run 2 (2026-12-04): int4's qgemv1_ilv decoding codes as f32 subnormals (word_dot_sub4f:
# 8 ands and 2 shifts a word, no unpack2x16float) against the f16-subnormal pairs (word_dot_sub4), 7B shape.
# app-base = 52eb932, app-f32 = 52eb932 + ../f32sub-52eb932.diff; probe-sub: does fma keep f32 subnormals here?
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 120 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
run probe node .device/app-f32/bench/probe-sub.js
for i in 1 2; do for v in base f32; do
  run pd-$v-$i node .device/app-$v/bench/packed-decode.js --pos 128 --steps 64 --formats int4 --out $R/pd-$v-$i.json
done; done
cat $T
(grep -h "subnormals" $R/probe.log; node .device/app/bench/step-summary.js $R/pd-*.json 2>&1) | tee $OUT/summary.txt
