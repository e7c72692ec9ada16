# decode16 run 4: lowbit bench (3 decode runs a figure) with the prepared norm input: the 7B shape in int4, bf16
# and SpQR (int4 against bf16 in one call), then the Llama-3-8B shape in int4 and SpQR.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization LOWBIT_COMMIT=${NEW:?}
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 150 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for m in llama2-7b:int4 llama2-7b:bf16 llama2-7b:spqr llama3-8b:int4 llama3-8b:spqr; do
  n=bench-$(echo $m | tr : -)
  run $n node .device/app/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
  grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
done
cat $T
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print(d['model'],*[f'{k}={d[k]:.4g}' for k in ('prefill_tokens_per_s','decode_tokens_per_s','decode_tokens_per_s_sampling','fraction_of_roofline')])" 2>&1 | tail -1; done | tee $OUT/summary.txt
