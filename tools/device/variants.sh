#!/usr/bin/env bash
# Bundles other builds of lowbit beside .device/app, so that one device call can time them side by
# side (every ratio's two sides from the same machine and minute): each NAME=REV[+PATCH] becomes
# .device/app-NAME, bundled from git revision REV (a temporary worktree sharing node_modules), with
# the diff PATCH applied first when given. Each bundle is ~3.5 MiB of the 64 MiB a call carries.
# A PATCH from `git diff` leaves out new files unless they were marked first (`git add -N FILE`).
# ENTRIES="bench/packed-decode.ts ..." bundles only those entry points (~0.5 MiB a variant instead).
#
#   bash tools/device/variants.sh base=HEAD~1 pf=HEAD+/tmp/prefetch.diff
# then on the device, e.g.:
#   for v in app app-base app-pf; do node .device/$v/bench/packed-decode.js --formats spqr --out $OUT/$v.json; done
#   node .device/app/bench/step-summary.js $OUT/*.json
set -euo pipefail
caller=$PWD # PATCH paths are relative to where the script was called from
root=$(git rev-parse --show-toplevel)
cd "$root"
[ $# -gt 0 ] || { echo "usage: bash tools/device/variants.sh NAME=REV[+PATCH] ..." >&2; exit 2; }
for spec in "$@"; do
  name=${spec%%=*}
  rev=${spec#*=}
  patch=
  if [[ $rev == *+* ]]; then patch=${rev#*+}; rev=${rev%%+*}; [[ $patch == /* ]] || patch=$caller/$patch; fi
  [[ $name =~ ^[A-Za-z0-9_.-]+$ && $name != "$spec" ]] || { echo "variants.sh: bad spec '$spec' (want NAME=REV[+PATCH])" >&2; exit 2; }
  [ -z "$patch" ] || [ -f "$patch" ] || { echo "variants.sh: $patch: no such patch file" >&2; exit 2; }
  wt=$(mktemp -d /tmp/lowbit-variant-XXXXXX)
  git worktree add -q --detach "$wt" "$rev"
  trap 'git worktree remove --force "$wt" 2>/dev/null || true' EXIT
  (
    cd "$wt"
    [ -z "$patch" ] || git apply "$patch"
    ln -s "$root/node_modules" node_modules
    node scripts/prebuild.mjs > /dev/null
    rm -rf "$root/.device/app-$name"
    # shellcheck disable=SC2086
    node "$root/scripts/bundle.mjs" "$root/.device/app-$name" ${ENTRIES:+--only $ENTRIES} > /dev/null
  )
  git worktree remove --force "$wt"
  trap - EXIT
  echo ".device/app-$name: $(git rev-parse --short "$rev")${patch:+ + $patch}"
done
echo ".device holds $(( $(du -sb .device | cut -f1) / 1048576 )) MiB"
