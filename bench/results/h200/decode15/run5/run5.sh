# decode15 run 5: the sample kernel's two-level prefix (89f00b0) against the serial one (8b60abe) at
# workgroups 256/512/1024; int4's f16-subnormal decode (eed24c0) on and off, twice each, in one
# process order; lowbit bench on the Llama-3-8B shape (sampled decode after 89f00b0).
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization LOWBIT_COMMIT=eed24c0
R=/tmp/r; mkdir -p $R; T=$OUT/times.txt
pack() { (cd $R && tar czf $OUT/results.tgz .); }
run() { local n=$1; shift; local s=$(date +%s); "$@" > $R/$n.log 2>&1; echo "$n rc=$? $(( $(date +%s)-s ))s" >> $T; pack; }
for v in base new; do
  app=.device/app; [ $v = base ] && app=.device/app-base
  for wg in 256 512 1024; do run sample-$v-$wg node $app/bench/sample-op.js --iters 50 --workgroup $wg --out $R/sample-$v-$wg.json; done
done
PD="node .device/app/bench/packed-decode.js --pos 128 --steps 64 --formats int4"
run pd-sub1 $PD --out $R/pd-sub1.json
run pd-sub0 $PD --f16-sub 0 --out $R/pd-sub0.json
run pd-sub1b $PD --out $R/pd-sub1b.json
run pd-sub0b $PD --f16-sub 0 --out $R/pd-sub0b.json
run bench-llama3-8b-int4 node .device/app/src/cli/main.js bench random:llama3-8b:int4 --prompt-tokens 512 --gen-tokens 64 --backend webgpu --json
grep '^{' $R/bench-llama3-8b-int4.log | tail -1 > $R/bench-llama3-8b-int4.json; pack
cat $T
(for v in base new; do for wg in 256 512 1024; do echo "$v workgroup $wg"; grep 'µs' $R/sample-$v-$wg.log | grep -v '^{'; done; done
grep -h "f16 subnormals" $R/pd-sub*.log
node .device/app/bench/step-summary.js $R/pd-sub1.json $R/pd-sub0.json $R/pd-sub1b.json $R/pd-sub0b.json 2>&1
python3 -c "import json;d=json.load(open('$R/bench-llama3-8b-int4.json'));print(d['model'],*[f'{k}={d[k]:.4g}' for k in ('prefill_tokens_per_s','decode_tokens_per_s','decode_tokens_per_s_sampling','fraction_of_roofline')])" 2>&1 | tail -1) | tee $OUT/summary.txt
