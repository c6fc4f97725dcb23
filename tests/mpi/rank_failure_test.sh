#!/usr/bin/env bash
# One rank throws while the others wait in a collective: the job must end within a few seconds
# (far below the collective timeout), non-zero, with that rank's one-line message.
set -u
mpiexec=$1 probe=$2 ranks=$3
start=$(date +%s)
output=$(DDP_TIMEOUT_SECONDS=120 timeout -k 5 60 "$mpiexec" -n "$ranks" "$probe" 2>&1)
status=$?
elapsed=$(( $(date +%s) - start ))
echo "$output" | grep -v '^$' | head -20
fail() { echo "FAILED: $*"; exit 1; }
[ "$status" -ne 0 ] || fail "the job exited 0"
[ "$elapsed" -le 15 ] || fail "the job took ${elapsed}s"
echo "$output" | grep -q "^\[rank 1/$ranks .*\] error: sample 17 of shard-1.csv is malformed" ||
  fail "rank 1's message is missing"
echo "PASSED: job ended in ${elapsed}s with status $status"
