#!/usr/bin/env bash
# ddp-train with no flags at 2 ranks: reaches the validation accuracy the README states, well
# under a minute, and writes a summary with the fields scripts read. Flags after MIN_ACCURACY go
# to ddp-train.
# Usage: train_default_test.sh MPIEXEC DDP_TRAIN MIN_ACCURACY [FLAGS...]
set -euo pipefail
mpiexec=$1 train=$2 min_accuracy=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
DDP_METRICS_OUT="$work/metrics.jsonl" timeout -k 5 120 "$mpiexec" --quiet -n 2 "$train" "$@"
elapsed=$(( $(date +%s) - start ))
summary=$(grep '"event": "summary"' "$work/metrics.jsonl")
echo "$summary"
for field in samples_per_s step_ms ranks final_loss val_accuracy params; do
  echo "$summary" | grep -q "\"$field\": " || { echo "FAILED: no $field in the summary"; exit 1; }
done
accuracy=$(echo "$summary" | sed 's/.*"val_accuracy": \([0-9.]*\).*/\1/')
awk -v a="$accuracy" -v m="$min_accuracy" 'BEGIN { exit !(a >= m) }' ||
  { echo "FAILED: validation accuracy $accuracy < $min_accuracy"; exit 1; }
[ "$elapsed" -lt 60 ] || { echo "FAILED: took ${elapsed}s"; exit 1; }
echo "PASSED: validation accuracy $accuracy in ${elapsed}s"
