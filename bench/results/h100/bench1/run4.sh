# H100 bench 1, call 4 (2026-12-05, 25778be bundle): the per-dispatch floor on the H100, as decode6 measured it on
# the H200 (floor-96658b5/): the 7B's 32-layer op sequence on a tiny model (dim 256, 2 heads, FFN 512, vocab 512),
# int4 and bf16, cache positions 128 and 512.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1 t=$2; shift 2; local s=$(date +%s); timeout $t "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
TINY="--dim 256 --layers 32 --heads 2 --kv-heads 2 --ffn 512 --vocab 512"
for p in 128 512; do
  run tiny-$p 90 node .device/app-app/bench/packed-decode.js $TINY --steps 32 --kernel-iters 5 --formats int4,bf16 --pos $p --out $R/tiny-$p.json
done
cat $T
(for p in 128 512; do echo "== pos $p"; grep -h "step: GPU" $R/tiny-$p.log | cut -c1-400; done) | tee $OUT/summary4.txt
