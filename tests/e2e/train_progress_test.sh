#!/usr/bin/env bash
# ddp-train's progress output ends each line before the next one starts:
#   bar       --progress bar into a file: the bar, redrawn with \r, is there; its last redraw
#             ends its line, so "done:" starts a line of its own and shares none with the bar.
#   terminal  the same on a pseudo-terminal (util-linux script), where --progress auto draws it.
#   stopped   --progress bar, stopped by SIGUSR1 to mpirun: "stopped by" starts a line too.
#   lines     --progress lines: no \r, no blank line, "done:" starts a line.
# A line is judged by what a terminal leaves of it: its last \r-separated segment.
# Usage: train_progress_test.sh MPIEXEC DDP_TRAIN bar|terminal|stopped|lines
set -euo pipefail
mpiexec=$1 train=$2 mode=$3
work=$(mktemp -d)
job=
trap '[ -z "$job" ] || kill -TERM "$job" 2>/dev/null; rm -rf "$work"' EXIT
unset DDP_PROGRESS DDP_OUTPUT_IS_A_TERMINAL
fail() { cat -A "$work/log"; echo "FAILED: $*"; exit 1; }
common=(--epochs 2 --log-every 10 --seed 3 --threads 1)

case $mode in
  bar) timeout -k 5 120 "$mpiexec" --quiet -n 2 "$train" "${common[@]}" --progress bar \
         > "$work/log" ;;
  terminal)
    command -v script >/dev/null || { echo "SKIPPED: no script (util-linux)"; exit 77; }
    printf -v command '%q ' timeout -k 5 120 "$mpiexec" --quiet -n 2 "$train" "${common[@]}"
    script -qec "$command" /dev/null > "$work/log" ;;
  stopped)
    timeout -k 5 120 "$mpiexec" --quiet -n 2 "$train" --epochs 1000000 --log-every 10 --seed 3 \
      --threads 1 --progress bar --metrics-out "$work/metrics.jsonl" > "$work/log" &
    job=$!
    for _ in $(seq 1 600); do
      grep -q '"step": 20,' "$work/metrics.jsonl" 2>/dev/null && break
      sleep 0.05
    done
    pkill -USR1 -P "$job"  # mpirun, the child of timeout; it passes SIGUSR1 to the ranks
    wait "$job"
    job= ;;
  lines) timeout -k 5 120 "$mpiexec" --quiet -n 2 "$train" "${common[@]}" --progress lines \
           > "$work/log" ;;
  *) echo "unknown mode '$mode'"; exit 2 ;;
esac

# The log as a terminal shows it: the pty's \r\n made \n, each line its last \r segment.
sed 's/\r$//' "$work/log" | awk -F'\r' '{print $NF}' > "$work/shown"
if [ "$mode" = lines ]; then
  ! grep -q $'\r' "$work/log" || fail "a \\r in --progress lines"
else
  grep -q $'\r\\[' "$work/log" || fail "no bar was drawn"
fi
! grep -qx '' "$work/shown" || fail "a blank line"
[ "$(grep -c 'done:' "$work/shown")" -eq 1 ] || fail "not one line with done:"
grep -q '^done: ' "$work/shown" || fail "done: does not start a line"
! grep -q 'ETA.*done:' "$work/shown" || fail "done: on the bar's line"
if [ "$mode" = stopped ]; then
  grep -q '^stopped by SIGUSR1 after step' "$work/shown" || fail "stopped by does not start a line"
fi
if [ "$mode" != lines ]; then
  # The bar's last redraw is kept, on a line of its own, just before what followed it.
  before_end=$(awk '/^(done|stopped by)/ {print previous; exit} {previous = $0}' "$work/shown")
  [[ $before_end =~ ^\[[=\ ]+\]\ +[0-9]+%\ step\  ]] ||
    fail "the bar's last redraw is not the line before the end"
fi
cat "$work/shown"
echo "PASSED: $mode"
