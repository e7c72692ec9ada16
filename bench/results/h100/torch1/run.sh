# H100 torch 1 (2026-12-05, 3b1cd0a): PyTorch's batch-1 decode step of the 7B shape on the same H100 as
# lowbit's (bf16 F.linear and int4 tinygemm g128, eager and in a CUDA graph, each projection alone, its
# own copy roofline), at cache position 512 as bench1's per-kernel step; then lowbit's step (int4, bf16)
# at position 512 in the same call, so both sides of every ratio come from one machine and minute.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1 t=$2; shift 2; local s=$(date +%s); timeout $t "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem --format=csv,noheader > $R/gpu.txt
python3 -c "import torch;print('torch',torch.__version__,'cuda',torch.version.cuda)" >> $R/gpu.txt
run torch-512 300 python3 bench/torch_decode.py --variants bf16,int4 --positions 512 --out $R/torch-512.json
run pd-512 150 node .device/app-app/bench/packed-decode.js --steps 32 --formats int4,bf16 --pos 512 --out $R/pd-512.json
cat $T
(cat $R/gpu.txt; tail -25 $R/torch-512.log; grep -h "tok/s" $R/pd-512.log) | tee $OUT/summary.txt
