#!/usr/bin/env bash
# What launch/ddp-mpirun shows when a job fails:
#   agreed    every rank refuses a bad option: the command line, rank 0's one error line, one line
#             with the exit status, and nothing else (none of mpirun's blocks of dashes about the
#             ranks' non-zero exit); exit status 2.
#   one_rank  only rank 1 fails (a bad DDP_TIMEOUT_SECONDS of its own): its error line and mpirun's
#             word of the abort are shown, and no status line of the launcher's; exit status 2.
#   killed    rank 1 is killed by SIGKILL as it starts: mpirun's report, which no rank is left to
#             give, is still shown whole, and the exit status is not 0. (Open MPI 4.1 says
#             "exited on signal 9" in some runs and only "1 process returned a non-zero exit
#             code" in others, plain mpirun too: 3 of 8 runs here; either block must pass.)
#   streams   what a rank writes to stderr comes out on stderr byte for byte (a line redrawn with
#             \r included), and its stdout on stdout.
# Usage: launch_errors_test.sh DDP_TRAIN agreed|one_rank|killed|streams
set -uo pipefail
train=$1 mode=$2
launcher=$(cd "$(dirname "$0")/../../launch" && pwd)/ddp-mpirun
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*"; exit 1; }
run() {  # sets output (the launcher's stderr) and status; its stdout goes to $work/stdout
  output=$(timeout -k 5 60 "$launcher" -n 2 "$@" 2>&1 > "$work/stdout")
  status=$?
  cat "$work/stdout"
  echo "$output"
  echo "(exit status $status)"
}
case $mode in
  agreed)
    run "$train" --optimizer rmsprop
    [ "$status" -eq 2 ] || fail "exit status $status, expected 2"
    mapfile -t lines < <(echo "$output" | grep -v '^+ mpirun ')
    [ "${#lines[@]}" -eq 2 ] || fail "${#lines[@]} lines besides the command line, expected 2"
    error="error: --optimizer 'rmsprop' is not one of sgd, adamw"
    [[ ${lines[0]} =~ ^"[rank 0/2 "[^]]+"] $error"$ ]] ||
      fail "the first line is not rank 0's error"
    [ "${lines[1]}" = "ddp-mpirun: the job failed with exit status 2" ] ||
      fail "the last line is not the launcher's status line"
    ! grep -Eq -- '^-{5,}|mpirun detected|Primary job' <<< "$output" ||
      fail "mpirun's blocks about the non-zero exit are shown"
    [ ! -s "$work/stdout" ] || fail "output on stdout"
    echo "PASSED: one error line, one status line, exit status 2"
    ;;
  one_rank)
    run sh -c '[ "$OMPI_COMM_WORLD_RANK" = 1 ] && export DDP_TIMEOUT_SECONDS=abc; exec "$0"' \
      "$train"
    [ "$status" -eq 2 ] || fail "exit status $status, expected 2"
    grep -q "^\[rank 1/2 .*\] error: .*DDP_TIMEOUT_SECONDS='abc' is not a" <<< "$output" ||
      fail "no error line of rank 1's"
    # Open MPI 4.1 sometimes loses the race to print its MPI_ABORT block and says ORTE_ERROR_LOG.
    grep -Eq "MPI_ABORT was invoked on rank 1|ORTE_ERROR_LOG" <<< "$output" ||
      fail "mpirun's word of the abort is gone"
    ! grep -q "the job failed with exit status" <<< "$output" ||
      fail "a status line where the ranks did not agree"
    echo "PASSED: rank 1's error and mpirun's word of the abort, exit status 2"
    ;;
  killed)
    run sh -c '[ "$OMPI_COMM_WORLD_RANK" = 1 ] && kill -9 $$; exec "$0" --max-steps 50' "$train"
    [ "$status" -ne 0 ] || fail "exit status 0"
    grep -q "process rank 1 .* exited on signal 9" <<< "$output" ||
      grep -q "^a non-zero exit code. Per user-direction, the job has been aborted.$" <<< "$output" ||
      fail "mpirun's report of the killed rank is gone"
    ! grep -q "the job failed with exit status" <<< "$output" ||
      fail "a status line where the ranks did not agree"
    echo "PASSED: mpirun's report of the killed rank, exit status $status"
    ;;
  streams)
    writes='printf "\r1" >&2; sleep 1; printf "\r2 done\n" >&2; printf "not ended" >&2; echo out'
    run sh -c "[ \"\$OMPI_COMM_WORLD_RANK\" = 1 ] || exit 0; $writes"
    [ "$status" -eq 0 ] || fail "exit status $status, expected 0"
    [ "$(cat "$work/stdout")" = out ] || fail "stdout is not the rank's"
    [ "$(sed 1d <<< "$output")" = $'\r1\r2 done\nnot ended' ] || fail "stderr is not the rank's"
    echo "PASSED: stderr and stdout as the rank wrote them"
    ;;
  *) fail "unknown mode '$mode'" ;;
esac
