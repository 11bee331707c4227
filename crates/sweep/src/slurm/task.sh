#!/usr/bin/env bash
# Written by `sweep`: array task i trains line i of the manifest (one run, one seed).
set -euo pipefail
manifest={{MANIFEST}}
line=$(awk -F '\t' -v i="$SLURM_ARRAY_TASK_ID" '$1 == i' "$manifest")
if [ -z "$line" ]; then echo "sweep task: no index $SLURM_ARRAY_TASK_ID in $manifest" >&2; exit 2; fi
IFS=$'\t' read -r _ run seed run_id _ <<<"$line"
threads=${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-}}
echo "sweep task $SLURM_ARRAY_TASK_ID: $run_id on $(hostname) (restart count ${SLURM_RESTART_COUNT:-0})" >&2
# Slurm signals this shell (--signal=B:USR1@{{WARN_S}}) before the time limit: the
# run checkpoints where it is and exits 75 (interrupted, resumable: see
# docs/exit-codes.md), and the task puts itself back in the queue, where it
# resumes from that checkpoint, at most {{MAX_REQUEUES}} time(s) (--max-requeues).
# SIGTERM (scancel) is passed on.
requeue=0
trap 'requeue=1; kill -USR1 "$child" 2>/dev/null || true' USR1
trap 'kill -TERM "$child" 2>/dev/null || true' TERM
{{BIN}} {{FIXED}} --runs "$run" --seeds "$seed" ${threads:+--threads "$threads"} &
child=$!
set +e
wait "$child"; rc=$?
# `wait` returns early when a trapped signal arrives: wait for the run itself.
while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
set -e
restarts=${SLURM_RESTART_COUNT:-0}
if [ "$rc" = 75 ] && [ "$requeue" = 1 ]; then
  if [ "$restarts" -lt {{MAX_REQUEUES}} ]; then
    echo "sweep task $SLURM_ARRAY_TASK_ID: time limit near, interrupted at a checkpoint; requeueing (restart $((restarts + 1)) of at most {{MAX_REQUEUES}})" >&2
    scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
    exit 0
  fi
  echo "sweep task $SLURM_ARRAY_TASK_ID: interrupted at a checkpoint, not requeued: restarted $restarts time(s) already (--max-requeues {{MAX_REQUEUES}}); submit the same sweep again to resume it" >&2
elif [ "$rc" = 75 ]; then
  echo "sweep task $SLURM_ARRAY_TASK_ID: interrupted at a checkpoint by a signal; submit the same sweep again to resume it" >&2
fi
exit "$rc"
