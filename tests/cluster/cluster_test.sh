#!/usr/bin/env bash
# The programs on several nodes: launch/emulated-cluster makes them on this machine (namespaces,
# veth links), so that ranks on two hosts share no memory and talk over TCP. Modes:
#   ddp       the DDP equality tests of ddp_mpi_tests (N ranks = one process on the same global
#             batches) at 2 nodes x 2 ranks and 1+2 ranks
#   train     ddp-train with the sharded optimizer at 2x2, 1+2 and 3x1 ends where one process
#             ends on the same global batches, to float32 summation order; its first line says the
#             nodes and ranks per node
#   resume    checkpoints carried across topologies, 2x2 -> 3x1 -> 1x1, end where one
#             uninterrupted process ends, to float32 summation order
#   tutorial  ddp-tutorial prints the tutorial's table at 2x2 and 1+2
#   node_lost a whole node (ranks 1 and 2 of 1+2) killed with SIGKILL after a checkpoint: the job
#             ends within DDP_TIMEOUT_SECONDS + 10 s with one line naming the node and its ranks;
#             --resume on the node left ends where one uninterrupted process ends
#   refusal   the cluster refuses without root (exit 69, one line) and bad options (exit 2)
# Every launch must leave nothing behind (its nodes' processes, its folder). Skipped (77) when not
# root, which the namespaces need.
# Usage: cluster_test.sh MODE LAUNCH_DIR DDP_TRAIN DDP_TUTORIAL COMPARE_PARAMS MPI_TESTS EXPECTED_DIR
set -euo pipefail
mode=$1 launch=$2 train=$3 tutorial=$4 compare=$5 mpi_tests=$6 expected=$7
[ "$(id -u)" -eq 0 ] || { echo "SKIPPED: the emulated cluster needs root (namespaces)"; exit 77; }
cluster=$launch/emulated-cluster
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }

# cluster TOPOLOGY PROGRAM ARGS...: TOPOLOGY is NxR (N nodes of R ranks) or a list R0,R1,...
cluster() {
  local topology=$1 shape
  shift
  if [[ $topology == *x* ]]; then
    shape=(--nodes "${topology%x*}" --ranks-per-node "${topology#*x}")
  else
    shape=(--ranks-per-node-list "$topology")
  fi
  # Its folder in ours, where left_nothing looks.
  TMPDIR=$work timeout -k 5 120 "$cluster" "${shape[@]}" --node-info "$work/nodes" -- "$@"
}
# Nothing of the last cluster is left: its nodes' anchors (and so their namespaces), its folder.
left_nothing() {
  local pid
  for pid in $(awk '{print $2}' "$work/nodes"); do
    ! kill -0 "$pid" 2>/dev/null || fail "node anchor $pid outlived the cluster"
  done
  for folder in "$work"/emulated-cluster.*; do
    [ ! -e "$folder" ] || fail "the cluster's folder $folder is left"
  done
}
run() {  # TOPOLOGY ddp-train args: its output in $work/log
  cluster "$@" > "$work/log" 2>&1 || { cat "$work/log"; fail "the job at $1 failed"; }
  left_nothing
}
one_process() {  # ddp-train args, in a world of one (no mpirun)
  timeout -k 5 120 "$train" "$@" > "$work/log1" 2>&1 ||
    { cat "$work/log1"; fail "one process failed"; }
}
startup_says() {  # the startup line names the nodes
  grep -q "^ddp-train: .* ranks on .*, $1, " "$work/log" ||
    { cat "$work/log"; fail "the startup line does not say '$1'"; }
}

case $mode in
ddp)
  for topology in 2x2 1,2; do
    cluster "$topology" "$mpi_tests" --gtest_filter='*DdpMatchesOneProcess*:DataParallel.*' \
      > "$work/log" 2>&1 || { cat "$work/log"; fail "the DDP tests failed at $topology"; }
    # Rank 0's gtest summary: the filter chose the suites (none run would pass too).
    grep -aq "PASSED .*\] .*8 tests" "$work/log" || { cat "$work/log"; fail "not the 8 tests"; }
    echo "$topology: the 8 tests of DdpMatchesOneProcess and DataParallel passed on every rank"
    left_nothing
  done
  echo "PASSED"
  ;;
train)
  # No dropout (its masks follow the rank that draws them): the same run at any rank count.
  common=(--model mlp:16,32,32,4 --data synthetic:2000 --batch-size 30 --optimizer adamw --lr 0.01
          --weight-decay 0.01 --epochs 1 --max-steps 20 --seed 7 --progress lines)
  one_process "${common[@]}" --export-params "$work/one.bin"
  for case in "2x2;2 nodes x 2 ranks" "1,2;2 nodes (1+2 ranks)" "3x1;3 nodes x 1 rank"; do
    IFS=';' read -r topology nodes <<< "$case"
    run "$topology" "$train" "${common[@]}" --shard-optimizer on \
      --export-params "$work/$topology.bin"
    startup_says "$nodes"
    "$compare" "$work/$topology.bin" "$work/one.bin" 1e-5 ||
      fail "$topology (--shard-optimizer on) differs from one process"
    echo "$topology, --shard-optimizer on: the parameters of one process ($nodes)"
  done
  echo "PASSED"
  ;;
resume)
  # A step schedule, not cosine: cosine spans --max-steps, which differs between the legs.
  common=(--model mlp:16,32,32,4 --data synthetic:2000 --batch-size 30 --optimizer adamw --lr 0.01
          --lr-schedule step --warmup-steps 5 --epochs 1 --seed 7 --progress lines)
  one_process "${common[@]}" --max-steps 30 --export-params "$work/one.bin"
  common+=(--checkpoint-dir "$work/ckpt")
  run 2x2 "$train" "${common[@]}" --max-steps 10 --shard-optimizer on
  run 3x1 "$train" "${common[@]}" --max-steps 20 --resume
  grep -q "resuming from .*checkpoint-0000000010" "$work/log" || { cat "$work/log"; fail "3x1"; }
  run 1x1 "$train" "${common[@]}" --max-steps 30 --resume --export-params "$work/resumed.bin"
  grep -q "resuming from .*checkpoint-0000000020" "$work/log" || { cat "$work/log"; fail "1x1"; }
  "$compare" "$work/resumed.bin" "$work/one.bin" 1e-5 || fail "2x2 -> 3x1 -> 1x1 differs"
  echo "PASSED: 2x2 -> 3x1 -> 1x1 ends with the parameters of one uninterrupted process"
  ;;
tutorial)
  for case in "2x2;4" "1,2;3"; do
    IFS=';' read -r topology ranks <<< "$case"
    cluster "$topology" "$tutorial" > "$work/log" 2> "$work/err" || { cat "$work/err"; fail "$topology"; }
    diff "$work/log" "$expected/tutorial_np$ranks.txt" ||
      fail "at $topology the output differs from tutorial_np$ranks.txt (< actual, > expected)"
    left_nothing
    echo "$topology: the tutorial's table for $ranks ranks"
  done
  echo "PASSED"
  ;;
node_lost)
  # Slow enough to be caught mid-way: one compute thread a rank, a checkpoint every 10 steps.
  common=(--model mlp:64,256,256,10 --data synthetic:20000 --batch-size 256 --optimizer sgd
          --epochs 1 --max-steps 60 --seed 3 --threads 1 --progress lines)
  one_process "${common[@]}" --export-params "$work/one.bin"
  export DDP_TIMEOUT_SECONDS=10
  cluster 1,2 "$train" "${common[@]}" --checkpoint-dir "$work/ckpt" --checkpoint-every 10 \
    > "$work/killed.log" 2>&1 &
  launcher=$!
  for _ in $(seq 1 1200); do
    [ -e "$work/ckpt/checkpoint-0000000020.ddpckpt" ] && break
    sleep 0.05
  done
  [ -e "$work/ckpt/checkpoint-0000000020.ddpckpt" ] || fail "no checkpoint of step 20"
  # node1's ranks: the ddp-train processes in node1's network namespace.
  node1=$(stat -L -c %i "/proc/$(awk '$1 == "node1" {print $2}' "$work/nodes")/ns/net")
  killed=0
  start=$(date +%s)
  for pid in $(pgrep -x ddp-train); do
    if [ "$(stat -L -c %i "/proc/$pid/ns/net" 2>/dev/null)" = "$node1" ]; then
      kill -KILL "$pid" && killed=$((killed + 1))
    fi
  done
  [ "$killed" -eq 2 ] || fail "found $killed ranks on node1, not 2"
  status=0
  wait "$launcher" || status=$?
  elapsed=$(( $(date +%s) - start ))
  grep -v '^ *[0-9]*%\|^epoch\|^+' "$work/killed.log"
  left_nothing
  [ "$status" -ne 0 ] || fail "the job finished before it could be killed"
  [ "$elapsed" -le $((DDP_TIMEOUT_SECONDS + 10)) ] || fail "the job took ${elapsed}s to end"
  [ "$(grep -c "lost rank [12] on node1 (signal 9); node1 held ranks 1-2$" "$work/killed.log")" -eq 1 ] ||
    fail "not one line naming node1 and its ranks"
  newest=$(ls "$work/ckpt" | grep -v tmp | tail -1)
  echo "node1 killed after $newest; the job ended ${elapsed}s later with status $status"
  run 1x1 "$train" "${common[@]}" --checkpoint-dir "$work/ckpt" --resume \
    --export-params "$work/resumed.bin"
  grep -q "resuming from .*$newest" "$work/log" || { cat "$work/log"; fail "no resume"; }
  "$compare" "$work/resumed.bin" "$work/one.bin" 1e-5 || fail "the resumed run differs"
  echo "PASSED: resumed on node0 from $newest, the parameters of one uninterrupted process"
  ;;
refusal)
  status=0
  setpriv --reuid=65534 --regid=65534 --clear-groups "$cluster" -- true > "$work/log" 2>&1 ||
    status=$?
  cat "$work/log"
  [ "$status" -eq 69 ] || fail "not root: exit status $status, not 69"
  [ "$(wc -l < "$work/log")" -eq 1 ] && grep -q "needs root" "$work/log" || fail "not one line"
  status=0
  "$cluster" --nodes 0 -- true > "$work/log" 2>&1 || status=$?
  cat "$work/log"
  [ "$status" -eq 2 ] || fail "--nodes 0: exit status $status, not 2"
  echo "PASSED"
  ;;
*) echo "unknown mode '$mode'"; exit 2 ;;
esac
