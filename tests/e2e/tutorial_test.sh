#!/usr/bin/env bash
# ddp-tutorial under mpirun prints exactly the tutorial's table for this many ranks
# (expected/tutorial_npN.txt: the slices torch.chunk gives, 30 samples a batch, 100 in all).
set -u
mpiexec=$1 tutorial=$2 ranks=$3 expected=$4
actual=$(timeout -k 5 120 "$mpiexec" -n "$ranks" "$tutorial" 2>/dev/null)
status=$?
[ "$status" -eq 0 ] || { echo "FAILED: exit status $status"; exit 1; }
if ! diff <(echo "$actual") "$expected"; then
  echo "FAILED: the output differs from $expected (diff above: < actual, > expected)"
  exit 1
fi
echo "PASSED: $ranks ranks print the tutorial's table"
