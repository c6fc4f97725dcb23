#!/usr/bin/env bash
# A rank for slurm_test.sh's stop check: says it runs, then runs until SIGUSR1 (what the batch
# script passes on for a stop request), says so and exits 0, as a rank that checkpoints would.
trap 'echo "rank $OMPI_COMM_WORLD_RANK stopped on SIGUSR1"; exit 0' USR1
echo "rank $OMPI_COMM_WORLD_RANK running"
while true; do sleep 0.1; done
