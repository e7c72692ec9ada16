# one call: the record at $C (app), SpQR outliers variant P5 (app-p5), int2/int8 before (app-old) and after (app)
set -u
export LOWBIT_DAWN_FLAGS=disable-dawn-features=timestamp_quantization
R=/tmp/r; mkdir -p $R
t0=$(date +%s)
LOWBIT_COMMIT=$C node .device/app/bench/webgpu-decode.js --positions 128 --steps 64 --out $R/decode-bf16.json > $R/decode-bf16.log 2>&1; echo "bf16 rc $? $(( $(date +%s) - t0 ))s"
LOWBIT_COMMIT=$C node .device/app/bench/packed-decode.js --formats int4,spqr,int3 --pos 128 --steps 64 --out $R/packed-decode.json > $R/packed-decode.log 2>&1; echo "packed rc $? $(( $(date +%s) - t0 ))s"
for f in int4 spqr; do LOWBIT_COMMIT=$C node .device/app/src/cli/main.js bench random:llama2-7b:$f --prompt-tokens 512 --gen-tokens 128 --backend webgpu --json > $R/bench-7b-$f.json 2> $R/bench-7b-$f.log; echo "bench $f rc $? $(( $(date +%s) - t0 ))s"; done
LOWBIT_COMMIT=$C-p5 node .device/app-p5/bench/packed-decode.js --formats spqr --pos 128 --steps 64 --out $R/pd-spqr-p5.json > $R/pd-spqr-p5.log 2>&1; echo "p5 rc $? $(( $(date +%s) - t0 ))s"
LOWBIT_COMMIT=1eec46c node .device/app-old/bench/packed-decode.js --formats int2,int8 --pos 128 --steps 64 --out $R/pd-int28-old.json > $R/pd-int28-old.log 2>&1; echo "old int2/8 rc $? $(( $(date +%s) - t0 ))s"
LOWBIT_COMMIT=$C node .device/app/bench/packed-decode.js --formats int2,int8 --pos 128 --steps 64 --out $R/pd-int28-new.json > $R/pd-int28-new.log 2>&1; echo "new int2/8 rc $? $(( $(date +%s) - t0 ))s"
tar -czf $OUT/r.tgz -C /tmp r
node .device/sum.mjs $R/*.json
for f in int4 spqr; do node -e "const j=JSON.parse(require('fs').readFileSync('$R/bench-7b-$f.json','utf8'));console.log('$f', JSON.stringify(j).slice(0,400))" 2>&1 | head -3; done
