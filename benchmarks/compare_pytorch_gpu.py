#!/usr/bin/env python3
"""PyTorch against ddp on one GPU: the same MLP, batch and optimizer, samples/s and the ratio.

What: for each case (model widths, batch, steps) runs, in turns and several trials each,
  - PyTorch, the plain model on cuda:0 (the figure the ratio is taken against),
  - PyTorch DistributedDataParallel, NCCL backend, world size 1 ("n/a" with the reason if it fails),
  - ddp-train --device cuda --backend nccl, one rank,
and prints the best trial of each (the worst beside it) and ddp / plain PyTorch. Both train a
Linear/ReLU stack with cross-entropy and SGD (lr 0.01, momentum 0.9) in float32 (TF32 off unless
--tf32, then on for both), and both are timed after the same warm-up steps.

What each figure measures (samples/s over the timed steps, the GPU's queue drained at both ends):
  - PyTorch: host time from torch.cuda.synchronize() after the warm-up to the same after the last
    step; batches come from a pool already on the GPU, the loss is read once at the end.
  - ddp-train: its summary's samples_per_s: from the end of its warm-up (queue drained) to its last
    report, whose read-back of the step totals waits for the GPU. It collates every batch in pinned
    host memory on its loader thread and copies it on the device's copy stream, so the figure
    includes its own data loading; the loss and the finite-gradient verdict stay on the GPU and are
    read once per log interval (here the whole run). Its epoch line prints the host waits per step.

Usage, on a machine with a GPU (its python3 has torch with CUDA):
  python3 benchmarks/compare_pytorch_gpu.py [--ddp-train build-cuda/src/apps/ddp-train]
      [--cases 784,4096,4096,10/1024/300 32,128,10/1024/2000] [--trials 3] [--tf32] [--csv FILE]
A case is WIDTHS/BATCH/STEPS; the defaults are the issue's MLP and ddp-train's default model.
tests/gpu/run_on_device.sh bench runs it from the GPU bundle. Without torch, or with a torch
that sees no GPU, it prints why it skips and exits 0. A benchmark, not a test.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

from peer import (WARMUP_STEPS, ddp_train_args, free_port, make_parser, print_table, read_summary,
                  time_steps, torch_mlp)

# ddp-train's synthetic set is made once, in memory: enough batches that an epoch is long.
DDP_BATCHES_PER_EPOCH = 64


def worker(args):
    """One PyTorch run on cuda:0 in its own process; prints one JSON line."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    device = torch.device("cuda", 0)
    if args.mode == "ddp":
        import torch.distributed as dist
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ["MASTER_PORT"] = str(args.port)
        dist.init_process_group("nccl", init_method="env://", rank=0, world_size=1,
                                device_id=device)
    widths = [int(w) for w in args.widths.split(",")]
    torch.manual_seed(1234)
    model = torch_mlp(torch, widths).to(device)
    if args.mode == "ddp":
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[0],
                                                          bucket_cap_mb=25)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator(device=device).manual_seed(0)
    pool = [(torch.randn(args.batch, widths[0], device=device, generator=generator),
             torch.randint(0, widths[-1], (args.batch,), device=device, generator=generator))
            for _ in range(16)]
    last_loss = [None]

    def step(i):
        x, y = pool[i % len(pool)]
        optimizer.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        last_loss[0] = loss  # read once at the end: no wait for the GPU inside the loop

    elapsed = time_steps(step, args.steps, ready=torch.cuda.synchronize)
    print(json.dumps({"samples_per_s": args.steps * args.batch / elapsed,
                      "loss": last_loss[0].item(), "device": torch.cuda.get_device_name(0)}))
    if args.mode == "ddp":
        torch.distributed.destroy_process_group()


def run(command):
    """(stdout, None) or (None, why it failed)."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None, f"exit {result.returncode}: {(result.stderr or result.stdout)[-600:].strip()}"
    return result.stdout, None


def run_pytorch(mode, widths, batch, steps, tf32):
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--mode", mode,
               "--widths", widths, "--batch", str(batch), "--steps", str(steps),
               "--port", str(free_port())] + (["--tf32"] if tf32 else [])
    out, error = run(command)
    if error:
        return None, error
    return json.loads(out.strip().splitlines()[-1]), None


def run_ddp(ddp_train, widths, batch, steps, tf32):
    samples = batch * DDP_BATCHES_PER_EPOCH
    epochs = (steps + WARMUP_STEPS + DDP_BATCHES_PER_EPOCH - 1) // DDP_BATCHES_PER_EPOCH
    with tempfile.TemporaryDirectory() as folder:
        metrics = os.path.join(folder, "metrics.jsonl")
        _, error = run([ddp_train, "--device", "cuda", "--backend", "nccl"]
                       + ddp_train_args(widths, samples, batch, epochs, steps, metrics)
                       + (["--tf32"] if tf32 else []))
        if error:
            return None, error
        summary = read_summary(metrics)
    return {"samples_per_s": summary["samples_per_s"], "loss": summary["final_loss"]}, None


def best_and_worst(results):
    figures = [r["samples_per_s"] for r in results if r]
    return (max(figures), min(figures)) if figures else (None, None)


def main():
    parser = make_parser(__doc__.split("\n")[0], "build-cuda/src/apps/ddp-train",
                         ["784,4096,4096,10/1024/300", "32,128,10/1024/2000"])
    parser.add_argument("--tf32", action="store_true", help="TF32 matrix products on both sides")
    parser.add_argument("--mode", choices=["plain", "ddp"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    try:
        import torch
    except ImportError:
        print(f"compare_pytorch_gpu: skipped, no torch for {sys.executable}")
        return
    if not torch.cuda.is_available():
        print(f"compare_pytorch_gpu: skipped, torch {torch.__version__} sees no CUDA device "
              f"(built with CUDA: {torch.version.cuda or 'no'})")
        return
    if not os.access(args.ddp_train, os.X_OK):
        sys.exit(f"compare_pytorch_gpu: no ddp-train at {args.ddp_train}; build with CUDA "
                 "or pass --ddp-train")

    rows = []
    for widths, batch, steps in args.cases:
        results = {"plain": [], "ddp": [], "ours": []}
        errors = {}
        # In turns, so that all three see the same GPU state (clocks, temperature).
        for _ in range(args.trials):
            for side in results:
                if side == "ours":
                    result, error = run_ddp(args.ddp_train, widths, batch, steps, args.tf32)
                else:
                    result, error = run_pytorch(side, widths, batch, steps, args.tf32)
                results[side].append(result)
                if error:
                    errors.setdefault(side, error)
        for side, error in errors.items():
            print(f"compare_pytorch_gpu: {widths} {side}: {error}", file=sys.stderr)
        if "ours" in errors and not any(results["ours"]):
            sys.exit(f"compare_pytorch_gpu: ddp-train failed on {widths}/{batch}/{steps}")
        if "plain" in errors and not any(results["plain"]):
            sys.exit(f"compare_pytorch_gpu: PyTorch failed on {widths}/{batch}/{steps}")
        rows.append((widths.replace(",", "-"), batch, steps,
                     *best_and_worst(results["plain"]), *best_and_worst(results["ddp"]),
                     *best_and_worst(results["ours"])))

    header = ("model", "batch", "steps", "pytorch_samples_s", "pytorch_worst",
              "pytorch_ddp_nccl_samples_s", "pytorch_ddp_nccl_worst", "ddp_samples_s",
              "ddp_worst", "ratio")
    table = [(*row[:3], *("n/a" if v is None else f"{v:.0f}" for v in row[3:]),
              f"{row[7] / row[3]:.2f}") for row in rows]
    print_table(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}; TF32 "
                f"{'on' if args.tf32 else 'off'}; one GPU, one rank; best of {args.trials} trials "
                "(worst beside it); ratio = ddp / plain PyTorch, goal >= 1.0", header, table,
                args.csv)

if __name__ == "__main__":
    main()
