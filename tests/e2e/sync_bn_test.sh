#!/usr/bin/env bash
# SyncBatchNorm through ddp-train: N ranks with --sync-bn end with the parameters and running
# statistics of one process with plain BatchNorm on the same global batches, to 1e-5 relative.
# MODEL trains 10 SGD steps with momentum (lr 0.01: at 0.05 ResNet-8 amplifies any rounding
# difference tenfold a step) on global batches of 30 (slices of 4 and 2 at 8 ranks), the last of
# them 4 samples: 2, 2, 0 at 3 ranks, and 4 of 8 ranks empty. Without --sync-bn each rank normalises by
# its own slice's statistics, and the run must end elsewhere (the comparison is able to fail).
# Usage: sync_bn_test.sh MPIEXEC DDP_TRAIN COMPARE_PARAMS MODEL RANKS...
set -euo pipefail
mpiexec=$1 train=$2 compare=$3 model=$4
shift 4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {
  local ranks=$1
  shift
  timeout -k 5 240 "$mpiexec" --quiet -n "$ranks" "$train" --progress lines --threads 1 \
    --model "$model" --data synthetic:274 --val-fraction 0 --batch-size 30 --epochs 1 \
    --optimizer sgd --lr 0.01 --momentum 0.9 --seed 3 "$@" > "$work/log" 2>&1 ||
    { cat "$work/log"; return 1; }
}

run 1 --export-params "$work/one_process.safetensors"
for ranks in "$@"; do
  run "$ranks" --sync-bn --export-params "$work/np$ranks.safetensors"
  echo "-np $ranks --sync-bn against one process:"
  "$compare" "$work/np$ranks.safetensors" "$work/one_process.safetensors" 1e-5 1e-6
done

run 2 --export-params "$work/local_statistics.safetensors"
echo "-np 2 without --sync-bn against one process (must differ):"
status=0
"$compare" "$work/local_statistics.safetensors" "$work/one_process.safetensors" 1e-5 1e-6 ||
  status=$?
if [ "$status" -ne 1 ]; then
  echo "FAIL: per-rank BatchNorm statistics gave the one-process result (status $status)"
  exit 1
fi
echo "PASS"
