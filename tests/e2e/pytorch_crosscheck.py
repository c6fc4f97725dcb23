#!/usr/bin/python3
"""PyTorch cross-check of ddp's nn and optim, run by hand (torch is not a test dependency).

Builds a 3-layer MLP in PyTorch, exports its initial parameters with tofile, trains it for 14
steps with SGD (momentum, weight decay) and with AdamW on the same batches, then runs ddp's driver
(ddp_pytorch_crosscheck) on the same files and compares the final parameters.

  cmake --build build --target ddp_pytorch_crosscheck
  /usr/bin/python3 tests/e2e/pytorch_crosscheck.py build/tests/e2e/ddp_pytorch_crosscheck

Exits 1 when the final parameters differ by more than 1e-5: in absolute terms and relative to
the largest parameter. The element-wise relative difference (floored at |p| = 1e-3) is printed as
well; it is larger for AdamW, whose normalised step turns last-bit differences in a near-zero
gradient (GEMM and reduction summation order) into a full-size relative change of a tiny update.
"""
import argparse
import subprocess
import sys
import tempfile

import numpy as np
import torch

WIDTHS = [32, 64, 64, 10]
BATCH = 16
STEPS = 14
SGD = dict(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=1e-3, nesterov=False)
ADAMW = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
TOLERANCE = 1e-5


def make_model():
    layers = []
    for i in range(len(WIDTHS) - 1):
        layers.append(torch.nn.Linear(WIDTHS[i], WIDTHS[i + 1]))
        if i + 2 < len(WIDTHS):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def flat(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def train(model, optimizer, x, y):
    loss_fn = torch.nn.CrossEntropyLoss()
    for step in range(STEPS):
        rows = slice(step * BATCH, (step + 1) * BATCH)
        optimizer.zero_grad()
        loss = loss_fn(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()
    return flat(model)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("driver", help="path to the ddp_pytorch_crosscheck executable")
    parser.add_argument("--dir", help="where to write the files (default: a temporary folder)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    work = args.dir or tempfile.mkdtemp(prefix="ddp_crosscheck_")

    model = make_model()
    init = flat(model)
    init.astype("<f4").tofile(f"{work}/init.bin")
    x = torch.randn(BATCH * STEPS, WIDTHS[0])
    y = torch.randint(0, WIDTHS[-1], (BATCH * STEPS,))
    x.numpy().astype("<f4").tofile(f"{work}/x.bin")
    y.numpy().astype("<i8").tofile(f"{work}/y.bin")
    with open(f"{work}/config.txt", "w") as config:
        config.write(f"widths {len(WIDTHS)} {' '.join(map(str, WIDTHS))}\n")
        config.write(f"batch {BATCH}\nsteps {STEPS}\n")
        config.write("sgd {lr!r} {momentum!r} {dampening!r} {weight_decay!r} {n}\n".format(
            n=int(SGD["nesterov"]), **SGD))
        config.write("adamw {!r} {!r} {!r} {!r} {!r}\n".format(
            ADAMW["lr"], ADAMW["betas"][0], ADAMW["betas"][1], ADAMW["eps"],
            ADAMW["weight_decay"]))

    expected = {}
    for name in ("sgd", "adamw"):
        model = make_model()
        with torch.no_grad():
            offset = 0
            for p in model.parameters():
                p.copy_(torch.from_numpy(init[offset:offset + p.numel()].reshape(p.shape)))
                offset += p.numel()
        if name == "sgd":
            optimizer = torch.optim.SGD(model.parameters(), **SGD)
        else:
            optimizer = torch.optim.AdamW(model.parameters(), **ADAMW)
        expected[name] = train(model, optimizer, x, y)

    subprocess.run([args.driver, work], check=True, stdout=subprocess.DEVNULL)
    ok = True
    print(f"torch {torch.__version__}, MLP {WIDTHS}, batch {BATCH}, {STEPS} steps, files in {work}")
    for name, reference in expected.items():
        ours = np.fromfile(f"{work}/ddp_{name}.bin", dtype="<f4")
        moved = np.abs(reference - init).max()
        diff = np.abs(ours.astype(np.float64) - reference)
        relative = diff.max() / np.abs(reference).max()
        elementwise = (diff / np.maximum(np.abs(reference), 1e-3)).max()
        print(f"{name:6s} params {reference.size}  moved by up to {moved:.3e}  "
              f"max abs diff {diff.max():.3e}  max rel diff {relative:.3e}  "
              f"(element-wise {elementwise:.3e})")
        ok = ok and diff.max() <= TOLERANCE and relative <= TOLERANCE
    print("agree to 1e-5" if ok else "DISAGREE beyond 1e-5")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
