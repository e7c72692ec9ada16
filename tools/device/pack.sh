#!/usr/bin/env bash
# Packs what a run on the GPU machine needs, small enough to carry (64 MiB in
# all): .device/ gets Node, the Vulkan/GL loaders and setup.sh (as
# ../shared/device/pack.sh does), the one native module lowbit loads at run
# time (webgpu, linux-x64 only) instead of all node_modules, lowbit's entry
# points bundled with esbuild (.device/app), and WikiText-2.
# Models are carried separately, xz-compressed: tools/device/pack-model.sh.
#
#   bash tools/device/pack.sh
# then on the device: source .device/setup.sh && node .device/app/src/cli/main.js ...
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
dev=.device
mkdir -p $dev/data
[ -f $dev/node.xz ] || xz -T2 -9 -c "$(command -v node)" > $dev/node.xz
if ! ls $dev/libglvnd0_*.deb >/dev/null 2>&1; then
  lists=/tmp/device-apt-lists
  mkdir -p "$lists/partial"
  o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  apt-get $o update >/dev/null
  (cd $dev && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>/dev/null)
fi
cp ../shared/device/setup.sh $dev/setup.sh
XZ_OPT='-T2 -6' tar -cJf $dev/modules.tar.xz node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/dist/linux-x64
rm -rf $dev/app && node scripts/bundle.mjs $dev/app
cp ../shared/data/wikitext2/wikitext-2-raw-v1_test_gptq-joined.txt $dev/data/wikitext2.txt
echo "$dev holds $(( $(du -sb $dev | cut -f1) / 1048576 )) MiB"
