source .device/setup.sh
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
HEADC=$(cat .device/app/COMMIT)
LOWBIT_COMMIT=7bc362e run sample-old node .device/app-old/bench/sample-op.js --iters 50 --out $R/sample-op-7bc362e.json
LOWBIT_COMMIT=4929441 run sample-cmp node .device/app-cmp/bench/sample-op.js --iters 50 --out $R/sample-op-4929441.json
LOWBIT_COMMIT=$HEADC run sample-new node .device/app/bench/sample-op.js --iters 50 --out $R/sample-op-$HEADC.json
for f in int4 spqr; do
  s=$(date +%s); LOWBIT_COMMIT=$HEADC node .device/app/src/cli/main.js bench random:llama2-7b:$f --prompt-tokens 512 --gen-tokens 128 --backend webgpu --json > $R/bench-$f.log 2>&1
  echo "bench-$f rc=$? $(( $(date +%s)-s ))s" >> $T; grep '^{' $R/bench-$f.log | tail -1 > $R/bench-7b-$f.json; pack
done
(for x in old cmp new; do grep -E "^(argmax|sample)" $R/sample-$x.log | sed "s/^/$x: /"; done) > $OUT/summary.txt; pack
cat $T; cat $OUT/summary.txt
for f in int4 spqr; do python3 -c "import json;d=json.load(open('$R/bench-7b-$f.json'));print('$f',{k:(round(v,1) if isinstance(v,float) else v) for k,v in d.items() if 'tok' in k})"; done
