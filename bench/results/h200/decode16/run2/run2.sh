# decode16 run 2: the prepared norm input with one partial sum per producer workgroup (qgemv1 shares
# them over the workgroup) against e32e6be, 7B shape int4 / int3 / SpQR in one call, base first; then
# lowbit bench on the new build.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
NEW=${NEW:?}
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="bench/packed-decode.js --pos 128 --steps 64 --formats int4,int3,spqr"
run pd-base env LOWBIT_COMMIT=e32e6be node .device/app-base/$PD --out $R/pd-base.json
run pd-new env LOWBIT_COMMIT=$NEW node .device/app/$PD --out $R/pd-new.json
for m in llama2-7b:int4 llama2-7b:spqr; do
  n=bench-$(echo $m | tr : -)
  run $n env LOWBIT_COMMIT=$NEW node .device/app/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
  grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
done
cat $T
(node .device/app/bench/step-summary.js $R/pd-base.json $R/pd-new.json 2>&1
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print(d['model'],*[f'{k}={d[k]:.4g}' for k in ('prefill_tokens_per_s','decode_tokens_per_s','decode_tokens_per_s_sampling','fraction_of_roofline')])" 2>&1 | tail -1; done) | tee $OUT/summary.txt
