# H100 bench 1, call 2 (2026-12-05, 25778be): call 1's per-kernel step (pd-512) timed out after int4's row
# (pd-512-int4.log); here SpQR's and bf16's at cache position 512, then `lowbit bench` 7B int4 with the
# KV cache in f16 (call 1 used the default f32).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1 t=$2; shift 2; local s=$(date +%s); timeout $t "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader > $R/gpu2.txt
run pd-512-spqr-bf16 240 node .device/app-app/bench/packed-decode.js --steps 32 --kernel-iters 5 --formats spqr,bf16 --pos 512 --out $R/pd-512-spqr-bf16.json
n=bench-llama2-7b-int4-kvf16
run $n 120 node .device/app-app/src/cli/main.js bench random:llama2-7b:int4 --prompt-tokens 512 --gen-tokens 64 --kv-cache f16 --backend webgpu --json
grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
cat $T
(cat $R/gpu2.txt; grep -h "tok/s" $R/pd-512-spqr-bf16.log
python3 -c "import json;d=json.load(open('$R/$n.json'));print('$n',d['commit'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline')])"
node .device/app-app/bench/step-summary.js $R/pd-512-spqr-bf16.json 2>&1 | tail -20) | tee $OUT/summary2.txt
