#!/usr/bin/env bash
# A job that must fail: PROGRAM at RANKS ranks (with DDP_TIMEOUT_SECONDS=TIMEOUT) must end within
# MAX_SECONDS, non-zero, never hang, and print a line matching PATTERN (grep -E).
# Usage: job_failure_test.sh MPIEXEC PROGRAM RANKS TIMEOUT MAX_SECONDS PATTERN [PROGRAM_ARGS...]
set -u
mpiexec=$1 program=$2 ranks=$3 timeout_s=$4 max_seconds=$5 pattern=$6
shift 6
start=$(date +%s)
output=$(DDP_TIMEOUT_SECONDS=$timeout_s timeout -k 5 60 "$mpiexec" -n "$ranks" "$program" "$@" 2>&1)
status=$?
elapsed=$(( $(date +%s) - start ))
echo "$output" | grep -v '^$' | head -20
fail() { echo "FAILED: $*"; exit 1; }
[ "$status" -ne 0 ] || fail "the job exited 0"
[ "$status" -ne 124 ] || fail "the job hung until the test's own 60 s limit"
[ "$elapsed" -le "$max_seconds" ] || fail "the job took ${elapsed}s, more than ${max_seconds}s"
echo "$output" | grep -Eq -- "$pattern" || fail "no line matches '$pattern'"
echo "PASSED: job ended in ${elapsed}s with status $status"
