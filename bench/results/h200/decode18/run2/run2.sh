# decode18 run 2 (2026-12-04): flash-decoding with the online merge (app = 8b4e77b)
# and with each thread's key row loaded before the query is rotated (app-ek = HEAD + earlyk.diff);
# packed-decode rows --flash L/M: flash L keys a split above M keys (0/1024: the one-pass / split-K paths).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 200 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for v in app app-ek; do
  PD="node .device/$v/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4"
  run $v-128 $PD --pos 128 --flash 0/1024,32/0,64/0,128/0 --out $R/$v-128.json
  run $v-512 $PD --pos 512 --flash 0/1024,32/0,64/0,128/0 --out $R/$v-512.json
  run $v-2000 $PD --pos 2000 --flash 0/1024,64/0,128/0,256/0 --out $R/$v-2000.json
done
run app-8b-512 node .device/app/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4 --shape llama3-8b --pos 512 --flash 0/1024,64/0 --out $R/app-8b-512.json
cat $T
for f in $R/*.json; do echo "== $(basename $f .json)"; node .device/app/bench/step-summary.js $f 2>&1 | sed -E 's/ \| int4\[[^|]*//g; s/^[0-9a-f-]+ \| int4 \| 4×64×2×1 \| //'; done | tee $OUT/summary.txt
