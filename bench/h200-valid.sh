#!/usr/bin/env bash
# GPU-machine call: the quality table of $MODEL (bench/quality.sh) with corpus/valid.txt over all its
# windows; WikiText-2 only for the configs matching ONLY_WIKI (default spqr: the rest merge the
# earlier table's WikiText-2 rows through quality-collect.mjs --merge when their quantization
# reproduces). Models and corpus come from .device-<model>/ and .device-corpus/ tarballs (already
# extracted to /tmp by an earlier call on a warm machine, or carried now).
# Raw outputs land in /tmp/results, archived to $OUT/results.tar.gz.
#   source .device/setup.sh && OUT=$OUT MODEL=lowbit-ref-30m bash bench/h200-valid.sh
source bench/lib/h200-prologue.sh
use_model $MODEL || { echo "no $MODEL"; exit 1; }
use_corpus
OUT=$R A=$A JOBS=${JOBS:-14} EVAL_SPLIT=${EVAL_SPLIT:-7} ONLY_WIKI=${ONLY_WIKI:-spqr} SKIP_EXISTING=1 \
  timeout ${TQ:-540} bash bench/quality.sh $M $CAL $WIKI $VALID
step "quality $MODEL" $?
