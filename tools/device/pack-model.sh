#!/usr/bin/env bash
# xz-compresses a shared model directory into a carry folder (bf16 weights
# shrink to about two thirds), so a model travels in one device call:
#   bash tools/device/pack-model.sh ../shared/data/models/lowbit-ref-30m .device-30m
# on the device: mkdir -p /tmp/models && tar -xJf .device-30m/lowbit-ref-30m.tar.xz -C /tmp/models
set -euo pipefail
src=$1
out=$2
name=$(basename "$src")
mkdir -p "$out"
[ -f "$out/$name.tar.xz" ] || XZ_OPT='-T2 -6' tar -cJf "$out/$name.tar.xz" -C "$(dirname "$src")" "$name"
echo "$out/$name.tar.xz: $(( $(stat -c %s "$out/$name.tar.xz") / 1048576 )) MiB"
