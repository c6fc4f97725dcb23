#!/usr/bin/env bash
# ddp-train on a GPU trains as it does on the CPU: 30 steps at one rank with NCCL end with the
# CPU run's parameters and loss, and 2 ranks sharing the GPU through the MPI backend (gradients
# staged through pinned host memory) end with the 1-rank GPU run's. Equal within a relative 1e-3
# plus 1e-5 absolute (weights are about 0.1): cuBLAS and OpenBLAS add products in different orders
# (TF32 stays off), and 30 SGD steps grow those last-bit differences (at 2 ranks on the CPU: 1.5e-7
# at most); a wrong gradient or a missed all-reduce is orders of magnitude above.
# Exits 77 (ctest: skipped) with the reason where no CUDA device is usable.
# Usage: train_gpu_equivalence_test.sh MPIEXEC DDP_TRAIN CUDA_PROBE COMPARE_PARAMS
set -uo pipefail
mpiexec=$1 train=$2 probe=$3 compare=$4
rtol=1e-3 atol=1e-5
devices=$("$probe" | sed -n 's/^cuda_devices=//p')
if [ "${devices:-0}" -eq 0 ]; then
  echo "SKIPPED: no usable CUDA device: $("$probe" | sed -n 's/^cuda_reason=//p')"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

# train NAME RANKS ARGS...: one run; its parameters in $work/NAME.bin, its final loss printed (so
# it runs in $(...): what goes wrong goes to stderr, and the caller exits on its status).
train() {
  local name=$1 ranks=$2
  shift 2
  timeout -k 5 120 "$mpiexec" -n "$ranks" "$train" --model mlp:32,128,10 --data synthetic:4000 \
    --batch-size 128 --epochs 2 --max-steps 30 --seed 5 --log-every 10 --progress lines \
    --export-params "$work/$name.bin" --metrics-out "$work/$name.jsonl" "$@" > "$work/$name.log" 2>&1 ||
    { cat "$work/$name.log" >&2; fail "ddp-train $* at $ranks rank(s)" >&2; }
  sed -n 's/.*"final_loss": \([^,}]*\).*/\1/p' "$work/$name.jsonl"
}

same_loss() {
  awk -v a="$1" -v b="$2" -v r="$rtol" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= r * (b < 0 ? -b : b)) }'
}

cpu=$(train cpu 1 --device cpu --backend mpi) || exit 1
gpu=$(train gpu 1 --device cuda --backend nccl) || exit 1
grep -q "on cuda:0" "$work/gpu.log" || { cat "$work/gpu.log"; fail "the GPU run did not say it trained on cuda:0"; }
echo "final loss: CPU $cpu, GPU with NCCL $gpu"
same_loss "$gpu" "$cpu" || fail "final loss on the GPU $gpu, on the CPU $cpu"
"$compare" "$work/gpu.bin" "$work/cpu.bin" "$rtol" "$atol" || fail "GPU parameters differ from the CPU's"

shared=$(train shared 2 --device cuda --backend mpi) || exit 1
echo "final loss: 2 ranks on one GPU through MPI $shared"
same_loss "$shared" "$gpu" || fail "final loss at 2 ranks $shared, at 1 rank $gpu"
"$compare" "$work/shared.bin" "$work/gpu.bin" "$rtol" "$atol" || fail "2 ranks' parameters differ from 1 rank's"
echo "PASSED"
