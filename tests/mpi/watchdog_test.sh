#!/usr/bin/env bash
# One rank skips a collective: the job must end within the timeout plus a few seconds, non-zero,
# with the watchdog's message naming the operation, its sequence number and its size.
set -u
mpiexec=$1 probe=$2 ranks=$3
timeout_s=3
start=$(date +%s)
output=$(DDP_TIMEOUT_SECONDS=$timeout_s timeout -k 5 60 "$mpiexec" -n "$ranks" "$probe" 2>&1)
status=$?
elapsed=$(( $(date +%s) - start ))
echo "$output" | grep -v '^$' | head -20
fail() { echo "FAILED: $*"; exit 1; }
[ "$status" -ne 0 ] || fail "the job exited 0"
[ "$status" -ne 124 ] || fail "the job hung until the test's own 60 s limit"
[ "$elapsed" -le $((timeout_s + 10)) ] || fail "the job took ${elapsed}s, more than ${timeout_s}s + 10s"
echo "$output" | grep -q "all_reduce #0 (1024 bytes of float32) on group world did not complete within 3 s" ||
  fail "the watchdog's message is missing"
echo "PASSED: job ended in ${elapsed}s with status $status"
