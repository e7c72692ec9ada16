# decode18 run 1 (2026-12-04): flash-decoding (attention_flash.wgsl, 948ec7a) against the one-pass /
# split-K attention on one uploaded model per invocation (packed-decode --flash: 0 = off, else keys per
# split), the 7B shape at cache positions 128, 512 and 2000 in int4, 512 in bf16, and the 8B (GQA) at 512.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 200 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="node .device/app/bench/packed-decode.js --steps 32 --kernel-iters 5"
run pd-int4-512 $PD --formats int4 --pos 512 --flash 0,32,64,128 --out $R/pd-int4-512.json
run pd-int4-128 $PD --formats int4 --pos 128 --flash 0,32,64,128 --out $R/pd-int4-128.json
run pd-int4-2000 $PD --formats int4 --pos 2000 --flash 0,64,128,256 --out $R/pd-int4-2000.json
run pd-bf16-512 $PD --formats bf16 --pos 512 --flash 0,64 --out $R/pd-bf16-512.json
run pd-8b-int4-512 $PD --shape llama3-8b --formats int4 --pos 512 --flash 0,64 --out $R/pd-8b-int4-512.json
cat $T
node .device/app/bench/step-summary.js $R/pd-*.json 2>&1 | sed -E 's/ \| int4\[[^|]*//g' | tee $OUT/summary.txt
