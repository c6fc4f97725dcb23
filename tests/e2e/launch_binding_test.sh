#!/usr/bin/env bash
# launch/ddp-mpirun's binding as a rank sees it, and the compute threads ddp-train runs with it:
# one rank alone gets every core and as many threads; with DDP_THREADS=1 it is bound to one core
# and runs one thread; two ranks on two or more cores get disjoint shares and a thread per core of
# theirs. What the launcher tells the ranks is no setting, so a --config file still sets threads
# and progress.
# Usage: launch_binding_test.sh DDP_TRAIN
set -euo pipefail
train=$1
launcher=$(cd "$(dirname "$0")/../../launch" && pwd)/ddp-mpirun
cores=$(nproc)
[ "$cores" -ge 2 ] || { echo "SKIPPED: needs 2 cores, this machine has $cores"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A rank's allowed cores, as a count: "0-1,3" -> 3.
probe='taskset -pc $$ | sed "s/.*: //" | tr "," "\n" | awk -F- "{n += (\$2 == \"\" ? 1 : \$2 - \$1 + 1)} END {print n}"'
# The compute threads ddp-train's first line reports.
threads_of() {
  "$launcher" "$@" --max-steps 1 --data synthetic:200 > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
  sed -n 's/.* \([0-9]*\) compute threads\{0,1\} per rank.*/\1/p' "$work/log"
}
check() {  # what, expected, got
  [ "$2" = "$3" ] || { echo "FAILED: $1: expected $2, got '$3'"; exit 1; }
}
unset DDP_THREADS DDP_PROGRESS DDP_OUTPUT_IS_A_TERMINAL
check "one rank's cores" "$cores" "$("$launcher" -n 1 bash -c "$probe" 2>/dev/null)"
check "one rank's threads" "$cores" "$(threads_of -n 1 "$train")"
check "one rank's cores at DDP_THREADS=1" 1 "$(DDP_THREADS=1 "$launcher" -n 1 bash -c "$probe" 2>/dev/null)"
check "one rank's threads at DDP_THREADS=1" 1 "$(DDP_THREADS=1 threads_of -n 1 "$train")"
mapfile -t counts < <("$launcher" -n 2 bash -c "$probe" 2>/dev/null)
check "two ranks' cores" "$((cores / 2)) $((cores / 2))" "${counts[*]}"
mapfile -t sets < <("$launcher" -n 2 bash -c 'taskset -pc $$ | sed "s/.*: //"' 2>/dev/null)
[ "${sets[0]}" != "${sets[1]}" ] || { echo "FAILED: both ranks bound to cores ${sets[0]}"; exit 1; }
check "two ranks' threads" $((cores / 2)) "$(threads_of -n 2 "$train")"

printf 'threads = 1\nprogress = bar\n' > "$work/run.ini"
check "threads from --config" 1 "$(threads_of -n 1 "$train" --config "$work/run.ini")"
grep -q $'\r' "$work/log" || { cat "$work/log"; echo "FAILED: --config's progress = bar drew no bar"; exit 1; }
threads_of -n 1 "$train" > /dev/null
if grep -q $'\r' "$work/log"; then echo "FAILED: a bar in a file, where lines belong"; exit 1; fi
echo "PASSED: one rank ${cores} cores and threads, with DDP_THREADS=1 one, two ranks ${sets[0]} and ${sets[1]}; --config sets threads and progress"
