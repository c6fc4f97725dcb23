#!/usr/bin/env bash
# --grad-accum through ddp-train: -np 2 with --grad-accum 3 on global batches of 10 ends with the
# parameters of one process on global batches of 30 (to float32 rounding), the epoch's last step
# included: 274 samples are 28 micro-batches, 9 steps of 3 and a last one of the 4 samples left,
# as one process's last batch of 4. Both count 10 optimizer steps.
#   mlp:  SGD with momentum, shuffled, on the synthetic task, weight decay on the matrices only and
#         the sharded optimizer (blocks cut where biases meet matrices) on the accumulating side;
#         without accumulation (-np 2, batches of 10) the run must end elsewhere: the comparison
#         is able to fail.
#   text: bigram:8 on a text file with AdamW, the loss over tokens (global samples * T).
# Usage: grad_accum_test.sh MPIEXEC DDP_TRAIN COMPARE_PARAMS mlp|text
set -euo pipefail
mpiexec=$1 train=$2 compare=$3 mode=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "$mode" = mlp ]; then
  data=(--model mlp:32,64,10 --data synthetic:274 --optimizer sgd --lr 0.05 --momentum 0.9
        --weight-decay 0.01 --decay-matrices-only)
else
  # 274 windows of 8 bytes and the one byte after the last.
  awk 'BEGIN { for (i = 0; i < 2193; ++i) printf "%c", 97 + (i * 7 + int(i / 13)) % 26 }' \
    > "$work/text.txt"
  data=(--model bigram:8 --data "text:$work/text.txt" --optimizer adamw --lr 0.01)
fi
run() {
  local ranks=$1 name=$2
  shift 2
  timeout -k 5 120 "$mpiexec" --quiet -n "$ranks" "$train" --progress lines --threads 1 \
    "${data[@]}" --val-fraction 0 --epochs 1 --seed 3 --export-params "$work/$name.safetensors" \
    "$@" > "$work/$name.log" 2>&1 || { cat "$work/$name.log"; return 1; }
  grep "^done:" "$work/$name.log"
}

run 1 one_process --batch-size 30
grep -q "^done: 10 steps" "$work/one_process.log"
sharded=()
[ "$mode" = mlp ] && sharded=(--shard-optimizer on)
run 2 accumulated --batch-size 10 --grad-accum 3 "${sharded[@]}"
grep -q "^done: 10 steps" "$work/accumulated.log" || { echo "FAIL: not 10 optimizer steps"; exit 1; }
echo "-np 2 --grad-accum 3 against one process on batches 3 times as large:"
"$compare" "$work/accumulated.safetensors" "$work/one_process.safetensors" 1e-5 1e-6
[ "$mode" = text ] && { echo "PASS"; exit 0; }

run 2 small_batches --batch-size 10
echo "-np 2 on batches of 10 without accumulation against one process (must differ):"
status=0
"$compare" "$work/small_batches.safetensors" "$work/one_process.safetensors" 1e-5 1e-6 ||
  status=$?
if [ "$status" -ne 1 ]; then
  echo "FAIL: batches of 10 gave the result of batches of 30 (status $status)"
  exit 1
fi
echo "PASS"
