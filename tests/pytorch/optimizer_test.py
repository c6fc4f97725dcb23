#!/usr/bin/python3
"""PyTorch as the oracle of ddp's optimizers (ctest label pytorch: pytorch.optimizer).

Builds a 3-layer MLP in PyTorch, writes its initial state_dict to init.safetensors, trains it for
14 steps with SGD (momentum, weight decay), with AdamW, and with AdamW in two param_groups (weight
decay on the 2-D weights, 0 on the biases, as nanoGPT's configure_optimizers) on the same batches,
then runs ddp's driver (ddp_optimizer_oracle) on the same files and loads its final parameters
back with load_state_dict(strict=True) to compare them. The groups must also have moved the
parameters elsewhere than plain AdamW: the check of the groups is able to fail.

  cmake --build build --target ddp_optimizer_oracle
  /usr/bin/python3 tests/pytorch/optimizer_test.py build/tests/pytorch/ddp_optimizer_oracle

Exits 1 when the final parameters differ by more than 1e-5: in absolute terms and relative to
the largest parameter. The element-wise relative difference (floored at |p| = 1e-3) is printed as
well; it is larger for AdamW, whose normalised step turns last-bit differences in a near-zero
gradient (GEMM and reduction summation order) into a full-size relative change of a tiny update.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

import safetensors_io

# benchmarks/peer.py builds the torch twins of ddp-train's model families.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../benchmarks"))
import peer  # noqa: E402

WIDTHS = [32, 64, 64, 10]
BATCH = 16
STEPS = 14
SGD = dict(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=1e-3, nesterov=False)
ADAMW = dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
TOLERANCE = 1e-5


def make_model():
    return peer.torch_mlp(torch, WIDTHS)


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
    parser.add_argument("driver", help="path to the ddp_optimizer_oracle executable")
    parser.add_argument("--dir",
                        help="keep the files in this folder (default: a temporary one, removed)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    if args.dir:
        return check(args.driver, args.dir)
    with tempfile.TemporaryDirectory(prefix="ddp_optimizer_") as work:
        return check(args.driver, work)


def check(driver, work):
    model = make_model()
    initial_state = {k: v.clone() for k, v in model.state_dict().items()}
    init = flat(model)
    safetensors_io.write(f"{work}/init.safetensors",
                         {k: v.numpy() for k, v in initial_state.items()})
    x = torch.randn(BATCH * STEPS, WIDTHS[0])
    y = torch.randint(0, WIDTHS[-1], (BATCH * STEPS,))
    config = {"widths": ",".join(map(str, WIDTHS)), "batch": BATCH, "steps": STEPS}
    config.update({f"sgd_{k}": repr(float(v)) for k, v in SGD.items()})
    config.update({"adamw_lr": repr(ADAMW["lr"]), "adamw_beta1": repr(ADAMW["betas"][0]),
                   "adamw_beta2": repr(ADAMW["betas"][1]), "adamw_eps": repr(ADAMW["eps"]),
                   "adamw_weight_decay": repr(ADAMW["weight_decay"])})
    safetensors_io.write(f"{work}/data.safetensors", {"x": x.numpy(), "y": y.numpy()}, config)

    expected = {}
    for name in ("sgd", "adamw", "adamw_groups"):
        model = make_model()
        model.load_state_dict(initial_state, strict=True)
        if name == "sgd":
            optimizer = torch.optim.SGD(model.parameters(), **SGD)
        elif name == "adamw":
            optimizer = torch.optim.AdamW(model.parameters(), **ADAMW)
        else:
            params = list(model.parameters())
            groups = [{"params": [p for p in params if p.dim() >= 2]},
                      {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
            optimizer = torch.optim.AdamW(groups, **ADAMW)
        expected[name] = train(model, optimizer, x, y)

    subprocess.run([driver, work], check=True, stdout=subprocess.DEVNULL)
    ok = True
    print(f"torch {torch.__version__}, MLP {WIDTHS}, batch {BATCH}, {STEPS} steps")
    for name, reference in expected.items():
        tensors, _ = safetensors_io.read(f"{work}/ddp_{name}.safetensors")
        trained = make_model()
        trained.load_state_dict({k: torch.from_numpy(v) for k, v in tensors.items()}, strict=True)
        ours = flat(trained)
        moved = np.abs(reference - init).max()
        diff = np.abs(ours.astype(np.float64) - reference)
        relative = diff.max() / np.abs(reference).max()
        elementwise = (diff / np.maximum(np.abs(reference), 1e-3)).max()
        print(f"{name:6s} params {reference.size}  moved by up to {moved:.3e}  "
              f"max abs diff {diff.max():.3e}  max rel diff {relative:.3e}  "
              f"(element-wise {elementwise:.3e})")
        ok = ok and diff.max() <= TOLERANCE and relative <= TOLERANCE
    groups_effect = np.abs(expected["adamw_groups"] - expected["adamw"]).max()
    print(f"no decay on the biases moved them by up to {groups_effect:.3e}")
    ok = ok and groups_effect > 10 * TOLERANCE
    print("agree to 1e-5" if ok else "DISAGREE beyond 1e-5")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
