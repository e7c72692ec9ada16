# decode18 run 3 (2026-12-04): what lands (app = flash-decoding above 256 cache rows, 64+ keys a split)
# against 6715082 (app-base: one-pass up to 1024 rows, split-K beyond). lowbit bench (medians of 3 decode
# runs, prompt 512 + 64 new tokens) alternating base / new; then packed-decode rows old (0/1024) vs new
# (64/256) tuning on one uploaded model at cache positions 128, 512, 2000.
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); timeout 200 "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for m in llama2-7b:int4 llama2-7b:bf16 llama3-8b:int4; do
  for v in app-base app; do
    n=bench-$(echo $m | tr : -)-$v
    run $n node .device/$v/src/cli/main.js bench random:$m --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
    grep '^{' $R/$n.log | tail -1 > $R/$n.json; pack
  done
done
for p in 128 512 2000; do
  run pd-$p node .device/app/bench/packed-decode.js --steps 32 --kernel-iters 3 --formats int4 --pos $p --flash 0/1024,64/256 --out $R/pd-$p.json
done
cat $T
(for f in $R/bench-*.json; do python3 -c "import json;d=json.load(open('$f'));print('$(basename $f .json)',d['commit'],*[f'{k}={d[k]:.4g}' for k in ('decode_tokens_per_s','decode_tokens_per_s_sampling','prefill_tokens_per_s','fraction_of_roofline')])" 2>&1 | tail -1; done
for f in $R/pd-*.json; do echo "== $(basename $f .json)"; node .device/app/bench/step-summary.js $f 2>&1 | sed -E 's/ \| int4\[[^|]*//g; s/^[0-9a-f-]+ \| int4 \| 4×64×2×1 \| //'; done) | tee $OUT/summary.txt
