#!/usr/bin/env bash
# launch/ddp-mpirun's binding as a rank sees it: one rank alone gets every core and as many compute
# threads; with DDP_THREADS=1 it is bound to one core (and keeps DDP_THREADS=1); two ranks on two
# or more cores get disjoint shares.
set -euo pipefail
launcher=$(cd "$(dirname "$0")/../../launch" && pwd)/ddp-mpirun
cores=$(nproc)
[ "$cores" -ge 2 ] || { echo "SKIPPED: needs 2 cores, this machine has $cores"; exit 77; }
# What a rank sees: its allowed cores (as a count) and DDP_THREADS.
probe='echo "$(taskset -pc $$ | sed "s/.*: //") threads=$DDP_THREADS"'
allowed_count() {  # "0-1,3" -> 3
  tr ',' '\n' <<<"$1" | awk -F- '{n += ($2 == "" ? 1 : $2 - $1 + 1)} END {print n}'
}
check() {  # name, expected core count, expected threads, the rank's line
  local cpus=${4% threads=*}
  [ "$(allowed_count "$cpus")" = "$2" ] && [ "${4#* threads=}" = "$3" ] ||
    { echo "FAILED: $1: the rank sees cores '$cpus' and ${4#* }; expected $2 core(s), threads=$3"; exit 1; }
}
unset DDP_THREADS
check "one rank" "$cores" "$cores" "$("$launcher" -n 1 bash -c "$probe" 2>/dev/null)"
check "one rank, DDP_THREADS=1" 1 1 "$(DDP_THREADS=1 "$launcher" -n 1 bash -c "$probe" 2>/dev/null)"
mapfile -t lines < <("$launcher" -n 2 bash -c "$probe" 2>/dev/null | sort)
for line in "${lines[@]}"; do check "two ranks" $((cores / 2)) $((cores / 2)) "$line"; done
[ "${lines[0]% threads=*}" != "${lines[1]% threads=*}" ] ||
  { echo "FAILED: both ranks bound to cores ${lines[0]% threads=*}"; exit 1; }
echo "PASSED: one rank ${cores} cores, with DDP_THREADS=1 one core, two ranks ${lines[0]% threads=*} and ${lines[1]% threads=*}"
