# Sourced by the GPU-machine scripts (bench/h200-*.sh): the bundled CLI ($A), the results folder
# ($R, archived to $OUT/results.tar.gz on exit: the device returns few files), the inputs, and a
# step timer. Models and the corpus come from the carried .device-<model>/ and .device-corpus/
# tarballs, extracted once into /tmp (which persists while the machine stays warm).
#   use_model <name>  → M=/tmp/models/<name>;  use_corpus → CAL, VALID
set -uo pipefail
A=.device/app
R=/tmp/results; mkdir -p $R /tmp/models /tmp/data "$OUT"
trap 'tar -czf "$OUT/results.tar.gz" -C /tmp results' EXIT
export LOWBIT_DAWN_FLAGS=${LOWBIT_DAWN_FLAGS:-disable-dawn-features=timestamp_quantization}
WIKI=.device/data/wikitext2.txt
t0=$(date +%s)
step() { echo "$1 rc=$2 $(( $(date +%s) - t0 )) s"; }
use_model() {
  [ -d /tmp/models/$1 ] || tar -xJf .device-*/$1.tar.xz -C /tmp/models 2>/dev/null || return 1
  M=/tmp/models/$1
}
use_corpus() {
  [ -f /tmp/data/corpus/train.txt ] || tar -xJf .device-corpus/corpus.tar.xz -C /tmp/data
  CAL=/tmp/data/corpus/train.txt; VALID=/tmp/data/corpus/valid.txt
}
