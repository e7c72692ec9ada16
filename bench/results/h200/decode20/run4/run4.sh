# decode20 run 4 (2026-12-04): qgemv1_ilv tilings by role (norm 8×64×1×1: q|k|v, lm_head; acc 4×128×1×1: o, down;
# gate|up 4×64×2×1) against 4×64×2×1 for all, on one uploaded model per format (--ilv1 default,4x64x2x1,default);
# 7B int4, int2, int8; Llama-3-8B int4; lowbit bench random:llama2-7b:int4 (roles).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 200 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
PD="node .device/app/bench/packed-decode.js --pos 128 --steps 32 --kernel-iters 3 --ilv1 default,4x64x2x1,default"
run pd-7b $PD --formats int4,int2,int8 --out $R/pd-7b.json
run pd-8b $PD --shape llama3-8b --formats int4 --out $R/pd-8b.json
n=bench-llama2-7b-int4
run $n node .device/app/src/cli/main.js bench random:llama2-7b:int4 --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
cat $T
(node .device/app/bench/step-summary.js $R/pd-*.json; python3 -c "import json;d=json.load(open('$R/$n.json'));print('$n',d['commit'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline')])") 2>&1 | tee $OUT/summary.txt
