#!/usr/bin/env bash
# ddp-train's device rule at 2 ranks, as the machine allows: without a usable GPU, --device cuda
# ends in seconds with exit 2 and the reason, and --device auto trains on the CPU after one notice
# from rank 0; with one, both train on it without a notice (2 ranks share a single GPU through the
# MPI backend), and one rank on NCCL makes no host wait in a step. --backend nccl on the CPU is a
# clear error either way.
# Usage: train_device_test.sh MPIEXEC DDP_TRAIN CUDA_PROBE
set -u
mpiexec=$1 train=$2 probe=$3
fail() { echo "FAILED: $*"; exit 1; }

"$probe" || fail "ddp_cuda_probe failed"
devices=$("$probe" | sed -n 's/^cuda_devices=//p')

# run EXPECTED_STATUS PATTERN ARGS...: one run at 2 ranks; sets $output.
run() {
  local expected=$1 pattern=$2 start elapsed status
  shift 2
  start=$(date +%s)
  output=$(timeout -k 5 60 "$mpiexec" -n 2 "$train" "$@" 2>&1)
  status=$?
  elapsed=$(( $(date +%s) - start ))
  echo "--- ddp-train $* (exit $status, ${elapsed}s)"
  echo "$output" | tail -n 5
  [ "$status" -eq "$expected" ] || fail "ddp-train $*: exit status $status, expected $expected"
  [ "$elapsed" -le 20 ] || fail "ddp-train $*: took ${elapsed}s"
  [ "$(echo "$output" | grep -c -- "$pattern")" -eq 1 ] ||
    fail "ddp-train $*: not exactly one line matching '$pattern'"
}

if [ "$devices" -eq 0 ]; then
  run 2 "error: --device cuda: no usable CUDA device: " --device cuda
  run 0 "--device auto: no usable CUDA device (.*); training on the CPU" --max-steps 3 --epochs 1
else
  run 0 "2 ranks on cuda:0 " --device cuda --max-steps 3 --epochs 1
  run 0 "2 ranks on cuda:0 " --max-steps 3 --epochs 1
  echo "$output" | grep -q -- "--device auto" && fail "--device auto printed a notice with a GPU"
  # One rank on NCCL: a step outside a report makes the host wait not once (the epoch line counts
  # the waits of the timed steps; the MPI backend's staging at 2 ranks waits by design).
  output=$(timeout -k 5 120 "$mpiexec" -n 1 "$train" --device cuda --backend nccl --max-steps 40 \
    --epochs 1 --log-every 1000 --progress lines 2>&1)
  echo "--- ddp-train at 1 rank on NCCL"
  echo "$output" | tail -n 3
  echo "$output" | grep -q "host waits 0.00/step" ||
    fail "a GPU step made the host wait: $(echo "$output" | grep -o 'host waits [0-9.]*/step')"
fi
[ "$(echo "$output" | grep -c "error:")" -eq 0 ] || fail "errors in a run that should train"
run 2 "error: --backend 'nccl': " --backend nccl --device cpu
run 0 "2 ranks on the CPU" --device cpu --max-steps 3 --epochs 1
echo "$output" | grep -q -- "--device auto" && fail "--device cpu printed the auto notice"
echo "PASSED"
