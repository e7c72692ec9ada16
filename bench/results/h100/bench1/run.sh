# H100 bench 1 (2026-12-05): `lowbit bench` at 25778be on an H100 (kind nvidia-h100-x1), the figures the
# issue asks for: Llama-2-7B and Llama-3-8B shapes with random weights, int4 g128 / SpQR w3 β16 (1 %
# outliers) / bf16, 512-token prompt + 64 new tokens, decode the median of 3 runs, all in one call; then
# per-kernel timestamps of one 7B decode step (int4, SpQR, bf16) at cache position 512.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1 t=$2; shift 2; local s=$(date +%s); timeout $t "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader > $R/gpu.txt
for m in llama2-7b:int4 llama2-7b:bf16 llama2-7b:spqr llama3-8b:int4 llama3-8b:spqr llama3-8b:bf16; do
  n=bench-$(echo $m | tr : -)
  run $n 130 node .device/app-app/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
  grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
done
run pd-512 70 node .device/app-app/bench/packed-decode.js --steps 32 --kernel-iters 5 --formats int4,spqr,bf16 --pos 512 --out $R/pd-512.json
cat $T
(cat $R/gpu.txt
for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print('$(basename $f .json)',d['commit'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline')])" 2>&1 | tail -1; done
node .device/app-app/bench/step-summary.js $R/pd-512.json 2>&1 | tail -20) | tee $OUT/summary.txt
