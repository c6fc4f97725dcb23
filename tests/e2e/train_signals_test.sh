#!/usr/bin/env bash
# ddp-train meets a signal at an awkward moment and carries on as if it had come at a good one:
#   suspended   a job suspended for longer than DDP_TIMEOUT_SECONDS (SIGSTOP to its ranks, as
#               `scontrol suspend` sends) carries on when it resumes: time stopped is not time
#               waited. Rank 0 is stopped first, so that rank 1 waits for it in a collective, then
#               rank 1; both stay stopped for twice the timeout and resume rank 1 first. The run
#               must end with exit 0 and the parameters of a run that was never stopped.
#   slow_start  a stop forwarded by mpirun while the ranks' libraries are still initializing
#               (SLOW_START_LIBRARY, preloaded, takes 3 s) stops the run after its first steps
#               with a checkpoint and exit 0; it used to kill the ranks.
#   ctrl_z      Ctrl-Z on launch/ddp-mpirun (SIGTSTP to it) stops every rank, and fg (SIGCONT to
#               it) resumes them, after twice the timeout: the same ending as suspended.
#   timeout     `timeout 4 launch/ddp-mpirun ...`: timeout's SIGTERM, followed by its SIGCONT,
#               stops the run with a checkpoint (a SIGCONT trap once made bash drop the SIGTERM).
# Usage: train_signals_test.sh MPIEXEC DDP_TRAIN suspended|slow_start|ctrl_z|timeout
#          [SLOW_START_LIBRARY]
set -euo pipefail
mpiexec=$1 train=$2 mode=$3
work=$(mktemp -d)
job=
# A failed check leaves no stopped job behind.
trap '[ -z "$job" ] || { kill -CONT "$job"; kill -TERM "$job"; } 2>/dev/null; rm -rf "$work"' EXIT
export DDP_TIMEOUT_SECONDS=4
# Long enough (some 4 s) to be found and stopped after step 10 on a loaded machine.
common=(--model mlp:64,512,512,10 --data synthetic:20000 --batch-size 256 --epochs 9
        --max-steps 600 --seed 3 --threads 1 --log-every 5 --progress lines)

# Sets rank0 and rank1 to the pids of the ranks whose command line holds $1 (log $2 on failure).
find_ranks() {
  rank0= rank1=
  for _ in $(seq 1 300); do
    for pid in $(pgrep -f -- "$1"); do
      case "$(tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -x "OMPI_COMM_WORLD_RANK=[01]")" in
        *=0) rank0=$pid ;;
        *=1) rank1=$pid ;;
      esac
    done
    [ -z "$rank0" ] || [ -z "$rank1" ] || return 0
    sleep 0.1
  done
  cat "$2"
  echo "FAILED: no ranks"
  exit 1
}

# The run in $work/log ended with exit status $1 (as $2 expected), stopped on the forwarded signal
# with a checkpoint; $3 says how, for the last line.
stopped_with_checkpoint() {
  cat "$work/log"
  [ "$1" -eq "$2" ] || { echo "FAILED: exit status $1, not $2"; exit 1; }
  grep -q "stopped by SIGUSR1 after step" "$work/log" || { echo "FAILED: the run did not stop"; exit 1; }
  ls "$work/ckpt"/checkpoint-*.ddpckpt
  echo "PASSED: $3, with a checkpoint"
  exit 0
}

if [ "$mode" = timeout ]; then
  # timeout(1) sends SIGTERM, then SIGCONT: the stop must not be lost to the SIGCONT.
  long=("${common[@]/#9/1000}")  # epochs and steps that outlast the 4 s
  long=("${long[@]/#600/1000000}")
  status=0
  timeout -k 60 4 "$(dirname "$0")/../../launch/ddp-mpirun" -n 2 "$train" "${long[@]}" \
    --checkpoint-dir "$work/ckpt" > "$work/log" 2>&1 || status=$?
  stopped_with_checkpoint "$status" 124 "stopped by timeout's SIGTERM"
fi

if [ "$mode" = slow_start ]; then
  timeout -k 5 120 "$mpiexec" --quiet -n 2 -x LD_PRELOAD="$4" "$train" "${common[@]}" \
    --checkpoint-dir "$work/ckpt" > "$work/log" 2>&1 &
  job=$!
  # Once the ranks exist (mpirun drops a signal that comes before), while they start.
  find_ranks "--checkpoint-dir $work/ckpt" "$work/log"
  pkill -USR1 -P "$job"  # mpirun, the child of timeout
  status=0
  wait "$job" || status=$?
  job=
  stopped_with_checkpoint "$status" 0 "stopped while the ranks started"
fi

timeout -k 5 120 "$mpiexec" --quiet -n 2 "$train" "${common[@]}" \
  --export-params "$work/uninterrupted.bin" > "$work/log" 2>&1 || { cat "$work/log"; exit 1; }
if [ "$mode" = ctrl_z ]; then
  launch=("$(dirname "$0")/../../launch/ddp-mpirun")
else
  launch=(timeout -k 5 120 "$mpiexec" --quiet)
fi
"${launch[@]}" -n 2 "$train" "${common[@]}" --metrics-out "$work/metrics.jsonl" \
  --export-params "$work/suspended.bin" > "$work/suspended.log" 2>&1 &
job=$!
# The ranks first, then step 10: what comes after it must be quick, before the run ends.
find_ranks "--export-params $work/suspended.bin" "$work/suspended.log"
for _ in $(seq 1 600); do
  grep -q '"step": 10,' "$work/metrics.jsonl" 2>/dev/null && break
  sleep 0.05
done
stopped() { [ "$(cut -d' ' -f3 "/proc/$1/stat")" = T ]; }
if [ "$mode" = ctrl_z ]; then
  kill -TSTP "$job"
else
  kill -STOP "$rank0"
  sleep 0.5
  kill -STOP "$rank1"
fi
for _ in $(seq 1 40); do
  stopped "$rank0" 2>/dev/null && stopped "$rank1" 2>/dev/null && break
  sleep 0.05
done
stopped "$rank0" && stopped "$rank1" ||
  { cat "$work/suspended.log"; echo "FAILED: the ranks did not stop"; exit 1; }
sleep $(( 2 * DDP_TIMEOUT_SECONDS ))
if [ "$mode" = ctrl_z ]; then
  kill -CONT "$job"
else
  kill -CONT "$rank1"
  kill -CONT "$rank0"
fi
status=0
wait "$job" || status=$?
job=
cat "$work/suspended.log"
[ "$status" -eq 0 ] || { echo "FAILED: the resumed job exited with $status"; exit 1; }
cmp "$work/uninterrupted.bin" "$work/suspended.bin"
echo "PASSED: suspended for $(( 2 * DDP_TIMEOUT_SECONDS )) s at a ${DDP_TIMEOUT_SECONDS} s timeout, ended as if never stopped"
