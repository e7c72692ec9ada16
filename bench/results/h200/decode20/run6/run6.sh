# decode20 run 6 (2026-12-04): SpQR's CSR outliers as one u32 an entry in the GPU image (column | fp16 value << 16:
# one aligned load instead of two half-word loads; app-pairs = 56e013c + the outlier-pairs diff as it was then,
# kept in git at b64f795; rebased onto b64f795 as ../outlier-pairs-b64f795.diff) against 56e013c
# (app-base), 7B SpQR w3 β16 1 % outliers, twice each, interleaved. Bundles, from the repository root:
#   git show b64f795:bench/results/h200/decode20/outlier-pairs-56e013c.diff > /tmp/pairs-56e013c.diff
#   ENTRIES="bench/packed-decode.ts bench/step-summary.ts" bash tools/device/variants.sh base=56e013c \
#     pairs=56e013c+/tmp/pairs-56e013c.diff
# (.device/app-base, .device/app-pairs), then the call: source .device/setup.sh && bash bench/results/h200/decode20/run6/run6.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 150 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for i in 1 2; do for v in base pairs; do
  run pd-$v-$i node .device/app-$v/bench/packed-decode.js --pos 128 --steps 32 --kernel-iters 3 --formats spqr --out $R/pd-$v-$i.json
done; done
cat $T
node .device/app-base/bench/step-summary.js $R/pd-base-1.json $R/pd-pairs-1.json $R/pd-base-2.json $R/pd-pairs-2.json 2>&1 | tee $OUT/summary.txt
