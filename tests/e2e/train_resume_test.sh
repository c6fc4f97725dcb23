#!/usr/bin/env bash
# ddp-train stopped and resumed ends with the parameters of a run that was never interrupted:
#   clean   stop at step 30 with a checkpoint, resume to 60 at the same -np: bit for bit; and at
#           another -np (the global batches are the same): within float32 summation order
#   killed  one of 3 ranks killed with SIGKILL after a checkpoint: the job ends naming it; resume
#           from the newest checkpoint: bit for bit
#   preempted  SIGTERM to launch/ddp-mpirun (as Slurm sends before a time limit): every rank stops
#           after the same step, rank 0 writes a checkpoint and the launcher exits 0; resumed from
#           it, the run ends bit for bit with the uninterrupted parameters (another -np is the
#           clean case's: summation order, which 60 steps at lr 0.1 can amplify past any fixed
#           tolerance here)
#   interrupted  the same with Ctrl-C on the launcher's terminal (SIGINT to its process group)
#   sharded --shard-optimizer on ends bit for bit where off ends (with the parameters shared by
#           the ranks, and with a copy per rank under DDP_SHARED_MEMORY=0); its checkpoints (the whole optimizer state, gathered) resume sharded at the same
#           -np bit for bit, and unsharded at -np 1 and sharded at -np 3 within float32 summation
#           order
#   guards  what must not touch a checkpoint folder: a run without --resume into one that holds
#           checkpoints, a resume with another --optimizer or data too small for the saved place,
#           a resume with nothing left to train, a folder where no checkpoint reads back; each
#           leaves the files byte for byte, the refusals with one error line and exit 2 (1 for
#           the unreadable folder); and a last checkpoint rank 0 cannot write: one error line
# Usage: train_resume_test.sh MPIEXEC DDP_TRAIN COMPARE_PARAMS
#          clean|killed|preempted|interrupted|sharded|guards
set -euo pipefail
mpiexec=$1 train=$2 compare=$3 mode=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {
  local ranks=$1
  shift
  timeout -k 5 120 "$mpiexec" --quiet -n "$ranks" "$train" --progress lines "$@" > "$work/log" 2>&1 ||
    { cat "$work/log"; return 1; }
}

if [ "$mode" = clean ]; then
  # A step schedule, not cosine: cosine spans --max-steps, which differs between the two legs.
  common=(--model mlp:16,32,32,4 --data synthetic:2000 --batch-size 30 --optimizer adamw --lr 0.01
          --lr-schedule step --warmup-steps 5 --epochs 3 --dropout 0.1 --seed 7)
  run 2 "${common[@]}" --max-steps 60 --export-params "$work/uninterrupted.bin"
  run 2 "${common[@]}" --max-steps 30 --checkpoint-dir "$work/ckpt"
  ls "$work/ckpt"
  run 2 "${common[@]}" --max-steps 60 --checkpoint-dir "$work/ckpt" --resume \
    --export-params "$work/resumed.bin"
  grep -q "resuming from .*checkpoint-0000000030" "$work/log" || { cat "$work/log"; exit 1; }
  cmp "$work/uninterrupted.bin" "$work/resumed.bin"
  echo "same -np: bit for bit"

  # Without dropout, whose masks follow the rank that draws them, the run is the same for any -np.
  nodrop=("${common[@]/--dropout/--weight-decay}")
  run 2 "${nodrop[@]}" --max-steps 60 --export-params "$work/uninterrupted2.bin"
  run 2 "${nodrop[@]}" --max-steps 30 --checkpoint-dir "$work/ckpt2"
  run 3 "${nodrop[@]}" --max-steps 60 --checkpoint-dir "$work/ckpt2" --resume \
    --export-params "$work/resumed3.bin"
  "$compare" "$work/resumed3.bin" "$work/uninterrupted2.bin" 1e-5
  echo "PASSED"
  exit 0
fi

if [ "$mode" = guards ]; then
  common=(--model mlp:16,32,4 --data synthetic:1000 --batch-size 25 --epochs 2 --seed 3)
  run 2 "${common[@]}" --max-steps 30 --checkpoint-dir "$work/ckpt"
  cp -r "$work/ckpt" "$work/saved"
  unchanged() { diff -r "$work/saved" "$work/ckpt" || { echo "FAILED: $1 changed the folder"; exit 1; }; }
  # Exit status $1 and one error line matching $2, then the folder as it was.
  refused() {
    local status=$1 pattern=$2 got=0
    shift 2
    timeout -k 5 120 "$mpiexec" --quiet -n 2 "$train" --progress lines "$@" >"$work/log" 2>&1 ||
      got=$?
    cat "$work/log"
    [ "$got" -eq "$status" ] || { echo "FAILED: exit status $got, expected $status"; exit 1; }
    [ "$(grep -c "error:" "$work/log")" -eq 1 ] || { echo "FAILED: not one error line"; exit 1; }
    grep -q -- "$pattern" "$work/log" || { echo "FAILED: no line matches '$pattern'"; exit 1; }
    unchanged "$pattern"
  }
  refused 2 "already holds 1 checkpoints (newest .*checkpoint-0000000030.ddpckpt); add --resume" \
    "${common[@]}" --max-steps 60 --checkpoint-dir "$work/ckpt"
  refused 2 "checkpoint-0000000030.ddpckpt was written with --optimizer sgd" \
    "${common[@]}" --max-steps 60 --checkpoint-dir "$work/ckpt" --resume --optimizer adamw
  refused 2 "stopped at batch 30 of epoch 1, but an epoch of --data synthetic:500 has 18 batches" \
    "${common[@]/synthetic:1000/synthetic:500}" --checkpoint-dir "$work/ckpt" --resume
  # Resumed where it ended: nothing to train, nothing written (the place in the data stays).
  run 2 "${common[@]}" --max-steps 30 --checkpoint-dir "$work/ckpt" --resume
  grep -q "nothing to train" "$work/log" || { cat "$work/log"; exit 1; }
  unchanged "a resume with nothing to train"
  for file in "$work/ckpt"/*; do : >"$file"; done
  cp -r "$work/ckpt" "$work/saved.empty" && rm -r "$work/saved" && mv "$work/saved.empty" "$work/saved"
  refused 1 "none of the 1 checkpoints in '$work/ckpt' reads back whole" \
    "${common[@]}" --max-steps 60 --checkpoint-dir "$work/ckpt" --resume
  # Rank 0 cannot write the last checkpoint (a folder is in its way): its error is the only one;
  # rank 1, done and waiting at the exit, leaves without one of its own.
  rm -rf "$work/ckpt" "$work/saved"
  mkdir -p "$work/ckpt/checkpoint-0000000005.ddpckpt/in-the-way"
  cp -r "$work/ckpt" "$work/saved"
  refused 1 "cannot .*checkpoint-0000000005.ddpckpt" "${common[@]}" --max-steps 5 \
    --checkpoint-dir "$work/ckpt"
  echo "PASSED"
  exit 0
fi

if [ "$mode" = sharded ]; then
  common=(--model mlp:16,32,32,4 --data synthetic:2000 --batch-size 30 --optimizer adamw --lr 0.01
          --weight-decay 0.01 --grad-clip 1 --epochs 3 --seed 7)
  run 2 "${common[@]}" --max-steps 60 --shard-optimizer off --export-params "$work/off.bin"
  run 2 "${common[@]}" --max-steps 60 --shard-optimizer on --export-params "$work/on.bin"
  grep -q "optimizer sharded over the ranks, one copy of the parameters on the node$" "$work/log" ||
    { cat "$work/log"; exit 1; }
  cmp "$work/off.bin" "$work/on.bin"
  # Without shared memory: a copy of the parameters per rank, all-gathered.
  DDP_SHARED_MEMORY=0 run 2 "${common[@]}" --max-steps 60 --shard-optimizer on \
    --export-params "$work/on_copies.bin"
  grep -q "optimizer sharded over the ranks$" "$work/log" || { cat "$work/log"; exit 1; }
  cmp "$work/off.bin" "$work/on_copies.bin"
  echo "sharded: bit for bit with unsharded, with and without one shared copy of the parameters"
  run 2 "${common[@]}" --max-steps 30 --shard-optimizer on --checkpoint-dir "$work/ckpt"
  cp -r "$work/ckpt" "$work/ckpt1"
  cp -r "$work/ckpt" "$work/ckpt3"
  run 2 "${common[@]}" --max-steps 60 --shard-optimizer on --checkpoint-dir "$work/ckpt" --resume \
    --export-params "$work/resumed.bin"
  cmp "$work/off.bin" "$work/resumed.bin"
  echo "sharded checkpoint, resumed sharded at the same -np: bit for bit"
  run 1 "${common[@]}" --max-steps 60 --checkpoint-dir "$work/ckpt1" --resume \
    --export-params "$work/resumed1.bin"
  "$compare" "$work/resumed1.bin" "$work/off.bin" 1e-5
  run 3 "${common[@]}" --max-steps 60 --shard-optimizer on --checkpoint-dir "$work/ckpt3" --resume \
    --export-params "$work/resumed3.bin"
  "$compare" "$work/resumed3.bin" "$work/off.bin" 1e-5
  echo "PASSED"
  exit 0
fi

# A run slow enough to be caught mid-way.
common=(--model mlp:64,512,512,10 --data synthetic:20000 --batch-size 256 --optimizer sgd
        --epochs 3 --max-steps 200 --seed 3 --threads 1 --log-every 5)
run 3 "${common[@]}" --export-params "$work/uninterrupted3.bin"

if [ "$mode" = preempted ] || [ "$mode" = interrupted ]; then
  launch=("$(dirname "$0")/../../launch/ddp-mpirun" -n 3 "$train" "${common[@]}"
          --checkpoint-dir "$work/ckpt" --metrics-out "$work/metrics.jsonl")
  if [ "$mode" = preempted ]; then
    "${launch[@]}" > "$work/stopped.log" 2>&1 &
  else
    # On a terminal of its own (script's pseudo-terminal), where Ctrl-C below is SIGINT to the
    # whole foreground process group, mpirun included unless the launcher keeps it out. Not
    # ignoring SIGINT, as a background job of a script would, so that the launcher may trap it.
    # script runs the command with $SHELL -c; exec, since a dash there would die of the SIGINT.
    mkfifo "$work/keys"
    (trap - INT; exec script -q -e -c "exec $(printf '%q ' "${launch[@]}")" /dev/null) \
      < "$work/keys" > "$work/stopped.log" 2>&1 &
    exec 3> "$work/keys"
  fi
  launcher=$!
  for _ in $(seq 1 600); do
    grep -q '"step": 10,' "$work/metrics.jsonl" 2>/dev/null && break
    sleep 0.05
  done
  if [ "$mode" = preempted ]; then kill -TERM "$launcher"; else printf '\003' >&3; fi
  status=0
  wait "$launcher" || status=$?
  cat "$work/stopped.log"
  grep -q "stopped by SIGUSR1 after step" "$work/stopped.log" ||
    { echo "FAILED: the ranks did not stop on the forwarded signal"; exit 1; }
  [ "$status" -eq 0 ] || { echo "FAILED: the launcher exited with $status, not 0"; exit 1; }
  newest=$(ls "$work/ckpt" | grep -v tmp | tail -1)
  [ -n "$newest" ] || { echo "FAILED: no checkpoint written on SIGTERM"; exit 1; }
  run 3 "${common[@]}" --checkpoint-dir "$work/ckpt" --resume --export-params "$work/resumed.bin"
  cmp "$work/uninterrupted3.bin" "$work/resumed.bin"
  echo "PASSED: stopped with $newest, resumed to the uninterrupted parameters"
  exit 0
fi

# killed: 3 ranks checkpointing every 10 steps; rank 1 alone is killed with SIGKILL after the
# checkpoint of step 20. The job must end within DDP_TIMEOUT_SECONDS + 10 s, non-zero, naming the
# lost rank; the newest checkpoint must be whole, and resuming from it must end bit for bit where
# an uninterrupted 3-rank run ends.
start=$(date +%s)
"$(dirname "$0")/../../launch/ddp-mpirun" -n 3 "$train" "${common[@]}" --checkpoint-dir "$work/ckpt" \
  --checkpoint-every 10 > "$work/killed.log" 2>&1 &
launcher=$!
for _ in $(seq 1 600); do
  [ -e "$work/ckpt/checkpoint-0000000020.ddpckpt" ] && break
  sleep 0.05
done
for pid in $(pgrep -f -- "--checkpoint-dir $work/ckpt"); do
  if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then
    kill -KILL "$pid"
  fi
done
status=0
wait "$launcher" || status=$?
elapsed=$(( $(date +%s) - start ))
grep -v '^ *[0-9]*%\|^epoch' "$work/killed.log"
[ "$status" -ne 0 ] || { echo "FAILED: the run finished before it could be killed"; exit 1; }
[ "$elapsed" -le $(( ${DDP_TIMEOUT_SECONDS:-300} + 10 )) ] ||
  { echo "FAILED: the job took ${elapsed}s to end"; exit 1; }
grep -q "process rank 1 .*exited on signal 9" "$work/killed.log" ||
  { echo "FAILED: no message names the lost rank"; exit 1; }
newest=$(ls "$work/ckpt" | grep -v tmp | tail -1)
echo "rank 1 killed after $newest; the job ended in ${elapsed}s with status $status"
[ "$newest" != "checkpoint-0000000200.ddpckpt" ] || { echo "FAILED: nothing left to resume"; exit 1; }
run 3 "${common[@]}" --checkpoint-dir "$work/ckpt" --checkpoint-every 10 --resume \
  --export-params "$work/resumed.bin"
cmp "$work/uninterrupted3.bin" "$work/resumed.bin"
echo "PASSED: resumed from $newest, bit for bit"
