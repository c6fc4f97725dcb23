#!/usr/bin/env bash
# A program given bad input under mpirun: exit status EXPECTED_STATUS within a few seconds on every
# rank, and exactly one "error:" line, which matches PATTERN.
# Usage: bad_input_test.sh MPIEXEC RANKS EXPECTED_STATUS PATTERN PROGRAM [ARGS...]
set -u
mpiexec=$1 ranks=$2 expected_status=$3 pattern=$4
shift 4
start=$(date +%s)
output=$(timeout -k 5 60 "$mpiexec" --quiet -n "$ranks" "$@" 2>&1)
status=$?
elapsed=$(( $(date +%s) - start ))
echo "$output"
fail() { echo "FAILED: $*"; exit 1; }
[ "$status" -eq "$expected_status" ] || fail "exit status $status, expected $expected_status"
[ "$elapsed" -le 15 ] || fail "took ${elapsed}s"
errors=$(echo "$output" | grep -c "error:")
[ "$errors" -eq 1 ] || fail "$errors error lines, expected one"
echo "$output" | grep -q -- "$pattern" || fail "no line matches '$pattern'"
echo "PASSED in ${elapsed}s"
