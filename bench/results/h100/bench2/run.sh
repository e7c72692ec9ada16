# H100 bench 2 (2026-12-05): `lowbit bench` at 04c8cc3, where the timed decode runs replay the step recorded in
# the warm-up (DeviceDecoder) instead of recording it again each run; the command line
# (512-token prompt, --gen-tokens 128, the default), 7B int4 / SpQR / bf16, 7B int4 with the KV cache in
# f16; and 3b1cd0a (the build before) on the same 7B int4 bench first, for the change's ratio in one call.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1 t=$2; shift 2; local s=$(date +%s); timeout $t "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader > $R/gpu.txt
B="--prompt-tokens 512 --gen-tokens 128 --backend webgpu --json"
bench() { local n=$1 app=$2 m=$3; shift 3; run $n 150 node .device/$app/src/cli/main.js bench random:$m $B "$@"; grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack; }
bench base-llama2-7b-int4 app-base llama2-7b:int4
bench bench-llama2-7b-int4 app-app llama2-7b:int4
bench bench-llama2-7b-spqr app-app llama2-7b:spqr
bench bench-llama2-7b-bf16 app-app llama2-7b:bf16
bench bench-llama2-7b-int4-kvf16 app-app llama2-7b:int4 --kv-cache f16
cat $T
(cat $R/gpu.txt
for f in $R/base-*.json $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print('$(basename $f .json)',d['commit'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline','copy_gbps')],'record_ms=%s'%d.get('decode_record_ms'))" 2>&1 | tail -1; done) | tee $OUT/summary.txt
