#!/usr/bin/env bash
# The GPU queue on a borrowed GPU machine: the package's run.sh (copied there
# by `scripts/gpu-queue --package DIR`; docs/gpu.md, "The queue"). Needs python3
# with torch 2.11, whose lib/ is the binaries' libtorch; nothing else.
#
#   run.sh [--budget-s N] [--state DIR] [--gpu-check] [--gpu-check-s N] [QUEUE ARGS]
#
#   --budget-s N     seconds for all of this command, from its start (default
#                    540: a command may run 600 there, and the output is copied
#                    back after it)
#   --state DIR      the output folder an earlier allocation left (carried back
#                    in): copied into the output first, and continued
#   --gpu-check      the GPU check first (scripts/gpu-check's measurements),
#                    its Markdown in OUT/gpu-check.md; the queue gets the time left
#   --gpu-check-s N  the GPU check's own budget (default 300)
#   QUEUE ARGS       passed to `sweep queue run` (e.g. --grace-s 90)
#
# Writes $OUT (else ./gpu-queue-out): results/ (checkpoints, metrics,
# provenance), queue/ (the queue, package.json, the binaries' logs,
# allocations.jsonl), gpu-check.md. Exit status: the queue's (0 all done, 75
# entries left: run again with --state, 1 an entry failed).
set -euo pipefail
start=$(date +%s)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { printf '[run.sh] %s\n' "$*" >&2; }

budget=540 state="" check=0 check_s=300 extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --budget-s) budget=${2:?--budget-s needs seconds}; shift ;;
    --state) state=${2:?--state needs the folder}; shift ;;
    --gpu-check) check=1 ;;
    --gpu-check-s) check_s=${2:?--gpu-check-s needs seconds}; shift ;;
    *) extra+=("$1") ;;
  esac
  shift
done

out=${OUT:-$PWD/gpu-queue-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -n "$state" ]; then
  state=$(cd "$state" && pwd)
  if [ "$state" != "$out" ]; then
    cp -a "$state/." "$out/"
    say "continuing $state ($(du -sh "$state" | cut -f1)) in $out"
  fi
fi

py=${PYTHON:-python3}
torchdir=$("$py" -c 'import torch, os; print(os.path.dirname(torch.__file__))')
export LD_LIBRARY_PATH="$torchdir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
work=${TMPDIR:-/tmp}/gpu-queue-work
mkdir -p "$work/bin" "$work/data"
# xz where the machine has it, else Python's lzma (python3 is there: torch needs it).
if command -v xz >/dev/null 2>&1; then
  xz -dc "$here/bin.tar.xz" | tar -xf - -C "$work/bin"
else
  "$py" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' \
    "$here/bin.tar.xz" | tar -xf - -C "$work/bin"
fi
say "torch at $torchdir; binaries in $work/bin; output in $out"

# Provenance outside a git checkout: the commit the binaries were built from
# (records::provenance::SOURCE_COMMIT_ENV), never a checkout above this folder.
REPRO_SOURCE_COMMIT=$(sed -n 's/.*"source_commit": *"\([^"]*\)".*/\1/p' "$here/package.json")
export REPRO_SOURCE_COMMIT
export GIT_CEILING_DIRECTORIES
GIT_CEILING_DIRECTORIES=$(dirname "$here")
# The binaries take experiments/ from their working directory's root (this folder).
cd "$here"
data=(--data "$here/cifar-10-jpeg.tar.gz" --data-dir "$work/data")

if [ "$check" = 1 ]; then
  say "the GPU check first (budget $check_s s)"
  "$work/bin/gpu-check" --budget-s "$check_s" --report "$out/gpu-check.md" "${data[@]}" \
    --experiments "$here/experiments" --reference "$here/reference.py" --python "$py" ||
    say "gpu-check ended with status $?; the queue goes on"
fi

left=$((budget - ($(date +%s) - start)))
# What is carried in next time: this package and the output folder, together
# under the package's limit; the queue starts no entry past it.
limit_mib=$(sed -n 's/.*"limit_mib": *\([0-9]*\).*/\1/p' "$here/package.json")
pkg_bytes=$(du -sb "$here" | cut -f1)
max_mb=$(( (${limit_mib:-64} * 1048576 - pkg_bytes) / 1000000 - 1 ))
say "the queue: $left s left, output up to $max_mb MB"
set +e
"$work/bin/sweep" queue run --queue "$here/experiments/queues/gpu.toml" --out "$out" \
  --budget-s "$left" --bin-dir "$work/bin" "${data[@]}" --package "$here/package.json" \
  --max-out-mb "$max_mb" "${extra[@]}"
rc=$?
set -e
say "queue status $rc; $out holds $(du -sh "$out" | cut -f1)"
exit "$rc"
