#!/usr/bin/env bash
# gpt: through ddp-train and ddp-generate without PyTorch. Training on a text file, 12 AdamW steps
# of 6 sequences: -np 2 (slices 3,3) and -np 2 with --grad-accum 2 of --batch-size 3 (micro-batches
# of slices 2,1) end with the parameters of one process, to float32 rounding (AdamW moves a
# parameter whose gradient is near 0 by up to lr, whatever rounding does to that gradient: the
# absolute tolerance is 1% of lr). ddp-generate from the -np 2 run's checkpoint: the same seed
# gives the same bytes, under mpirun too (rank 0 alone prints them), and another seed others.
# (-np 3's uneven slices: tests/pytorch/gpt_test.py.)
# Usage: gpt_test.sh MPIEXEC DDP_TRAIN DDP_GENERATE COMPARE_PARAMS
set -euo pipefail
mpiexec=$1 train=$2 generate=$3 compare=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model=gpt:layers=2,heads=2,dim=16,context=8
for i in $(seq 1 60); do echo "Line $i: a short sentence, then $((i * 7 % 13)) more words."; done \
  > "$work/text.txt"
run() {
  local ranks=$1 batch=$2
  shift 2
  timeout -k 5 120 "$mpiexec" --quiet -n "$ranks" "$train" --progress lines --threads 1 \
    --model "$model" --data "text:$work/text.txt" --val-fraction 0.1 --batch-size "$batch" \
    --max-steps 12 --optimizer adamw --lr 0.001 --weight-decay 0.1 --seed 5 "$@" \
    > "$work/log" 2>&1 || { cat "$work/log"; return 1; }
}

run 1 6 --export-params "$work/one_process.safetensors"
run 2 6 --export-params "$work/np2.safetensors" --checkpoint-dir "$work/ckpt" \
  --checkpoint-every 12
echo "-np 2 against one process:"
"$compare" "$work/np2.safetensors" "$work/one_process.safetensors" 1e-4 1e-5
run 2 3 --grad-accum 2 --export-params "$work/accum.safetensors"
echo "-np 2 --grad-accum 2 against one process:"
"$compare" "$work/accum.safetensors" "$work/one_process.safetensors" 1e-4 1e-5

sample() {  # RANKS SEED OUT
  timeout -k 5 60 "$mpiexec" --quiet -n "$1" "$generate" --checkpoint "$work/ckpt" \
    --prompt "Line 3" --tokens 60 --temperature 1.5 --top-k 50 --seed "$2" --threads 1 > "$3"
}
sample 1 11 "$work/first"
sample 2 11 "$work/again"
sample 1 12 "$work/other"
od -c "$work/first" | head -3
[ "$(wc -c < "$work/first")" -eq 61 ] || { echo "FAIL: not 60 bytes and a newline"; exit 1; }
cmp "$work/first" "$work/again" || { echo "FAIL: the same seed gave other bytes"; exit 1; }
if cmp -s "$work/first" "$work/other"; then echo "FAIL: another seed gave the same bytes"; exit 1; fi
echo "PASS"
