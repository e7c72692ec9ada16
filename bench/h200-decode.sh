#!/usr/bin/env bash
# GPU-machine call for decode and prefill speed (issues 3 and 5), everything in one run so
# every ratio's two sides come from the same machine and minute:
#  - copy bandwidth (the roofline), GEMV bandwidth at the 7B shapes (gemv1, --gemv sweep of GEMV
#    tilings RWxTPRxUNROLLxRT with plain, RMSNorm- and SwiGLU-folded inputs);
#  - optionally (DEC_SWEEP: gemv1 tilings, MINT: gemv1MinThreads values, FUSE: fuseInputMaxBytes
#    values) 16-bit decode at position 128 for every combination, each with a step profile
#    (decode-sweep.json);
#  - 16-bit decode of a Llama-2-7B-shaped model (random bf16 weights made on the GPU), with a
#    profile of the recorded step (GPU vs host time, each op alone);
#  - packed decode (FORMATS, default int4 and SpQR) with per-kernel GB/s and the same profile,
#    per ILV1 tiling (qgemv1_ilv RxTPRxRGxUN list, int2/4/8) and INT1 tiling (qgemv1 RxTPRxRGxCU
#    list, int3 / SpQR), all on one uploaded model per format;
#  - optionally (QSWEEP, QSWEEP_SPQR) the packed T = 1 GEMV alone per tiling (qgemv-sweep);
#  - `lowbit bench` prefill (512 tokens) + decode for random 7B models (BENCH_FORMATS).
# Outputs land in /tmp/results, archived to $OUT/results.tar.gz.
#   source .device/setup.sh && OUT=$OUT bash bench/h200-decode.sh
source bench/lib/h200-prologue.sh
node $A/bench/webgpu-copy.js --out $R/copy-webgpu.json > /dev/null 2> $R/copy.err; step copy $?
if [ -n "${GEMV:-}" ]; then
  node $A/bench/webgpu-gemm.js --sizes 4096 --dtypes bf16 --iters 5 --gemv-shapes 4096x12288,4096x22016,11008x4096,4096x4096,4096x32000 \
    --gemv $GEMV --gemv-inputs plain,norm,gated --out $R/gemm-webgpu.json > /dev/null 2> $R/gemm.err; step gemv-sweep $?
fi
# packed T = 1 GEMV tilings alone (QSWEEP int4: qgemv1_ilv RxTPRxRGxUN; QSWEEP_SPQR SpQR: qgemv1 RxTPRxRGxCU),
# weights rotated past L2; QSHAPES: the shapes (default qkv,o,gu,down,gu-glu,down-plain)
if [ -n "${QSWEEP:-}" ]; then
  node $A/bench/qgemv-sweep.js --format int4 --tiles $QSWEEP --shapes ${QSHAPES:-qkv,o,gu,down,gu-glu,down-plain} --out $R/qgemv-sweep-int4.json > /dev/null 2> $R/qgemv-sweep-int4.err; step qgemv-sweep-int4 $?
  grep -v Warning $R/qgemv-sweep-int4.err
fi
if [ -n "${QSWEEP_SPQR:-}" ]; then
  node $A/bench/qgemv-sweep.js --format spqr --tiles $QSWEEP_SPQR --out $R/qgemv-sweep-spqr.json > /dev/null 2> $R/qgemv-sweep-spqr.err; step qgemv-sweep-spqr $?
  grep -v Warning $R/qgemv-sweep-spqr.err
fi
if [ -n "${DEC_SWEEP:-}" ]; then
  timeout ${TDEC:-200} node $A/bench/webgpu-decode.js --positions 128 --steps 64 --gemv $DEC_SWEEP --min-threads ${MINT:-262144} --fuse-max ${FUSE:-inf} \
    --out $R/decode-sweep.json > /dev/null 2> $R/decode-sweep.err; step decode-sweep $?
  grep -h "decode pos\|tuning" $R/decode-sweep.err
fi
node $A/bench/webgpu-decode.js --positions ${POSITIONS:-128,1024} --steps 64 --out $R/decode-webgpu.json > /dev/null 2> $R/decode.err; step decode-bf16 $?
# packed decode of FORMATS, each uploaded once; ILV1 (qgemv1_ilv RxTPRxRGxUN, int2/4/8) and INT1
# (qgemv1 RxTPRxRGxCU, int3 / SpQR) are space-separated tiling lists measured one after the other on
# the same model (the first of each list replaces the default; one row per tiling)
ilv=$(echo ${ILV1:-} | tr ' ' ','); int=$(echo ${INT1:-} | tr ' ' ',')
timeout ${TPACKED:-150} node $A/bench/packed-decode.js --formats ${FORMATS:-int4,spqr} ${ilv:+--ilv1 $ilv} ${int:+--int1 $int} --pos 128 --steps 64 --out $R/packed-decode-0.json > /dev/null 2> $R/packed-0.err; step "packed-decode" $?
for f in ${BENCH_FORMATS-int4 spqr}; do
  timeout 150 node $A/src/cli/main.js bench random:llama2-7b:$f --prompt-tokens 512 --gen-tokens 128 --backend webgpu --json > $R/bench-7b-$f.json 2> $R/bench-7b-$f.err; step "lowbit bench 7b $f" $?
done
tail -n 4 $R/*.err
