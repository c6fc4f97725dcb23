"""What the PyTorch comparisons (compare_pytorch.py on CPUs, compare_pytorch_gpu.py on a GPU) share:
the same model on both sides, the same timing, the same ddp-train command and the same table. The
torch models here are also the ones tests/pytorch checks ddp-train's families against."""
import argparse
import json
import os
import socket
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WARMUP_STEPS = 5  # ddp-train's own warm-up (kWarmupSteps in src/apps/train/trainer.cpp)


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive integer")
    return int(text)


def positive_int_list(text):
    """"1,2,4" -> [1, 2, 4]."""
    try:
        return [positive_int(item) for item in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"'{text}' must be positive integers separated by commas, e.g. 1,2") from None


def model_spec(text):
    """ddp-train's --model for a case's model: "784,1024,10" (an MLP's widths) is
    "mlp:784,1024,10"; "cnn:32,64:512" is itself."""
    return text if ":" in text else "mlp:" + text


def case(text):
    """"784,1024,10/64/300" or "cnn:32,64:512/64/100" (model/batch/steps) -> (model, 64, 300)."""
    parts = text.split("/")
    try:
        if len(parts) != 3:
            raise argparse.ArgumentTypeError(text)
        model = parts[0]
        if model.startswith("cnn:"):
            cnn_layers(model)
        elif len(positive_int_list(model)) < 2:
            raise argparse.ArgumentTypeError(text)
        return model, positive_int(parts[1]), positive_int(parts[2])
    except (argparse.ArgumentTypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not MODEL/BATCH/STEPS with MODEL an MLP's widths or cnn:C1,...:HIDDEN, "
            "e.g. 784,1024,10/64/300 or cnn:32,64:512/64/100") from None


def make_parser(description, ddp_train, cases):
    """Both comparisons' options: ddp-train's path, the cases, the trials, the CSV; and the ones
    the driver passes to its own worker processes (hidden from users)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--ddp-train", default=os.path.join(ROOT, ddp_train))
    parser.add_argument("--cases", nargs="+", type=case, default=[case(c) for c in cases])
    parser.add_argument("--trials", type=positive_int, default=3)
    parser.add_argument("--csv", help="also write the table here as CSV")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--widths", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    return parser


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torch_mlp(torch, widths):
    """The Linear/ReLU stack ddp-train's mlp:WIDTHS builds (no ReLU after the last Linear)."""
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


CNN_INPUT = (1, 28, 28)  # ddp-train's cnn: family on synthetic data takes Fashion-MNIST's shape
CNN_CLASSES = 10


def cnn_layers(spec):
    """"cnn:32,64:512" -> ([32, 64], 512)."""
    _, channels, hidden = spec.split(":")
    return positive_int_list(channels), positive_int(hidden)


def torch_cnn(torch, channels, hidden, input_shape=CNN_INPUT, classes=CNN_CLASSES):
    """The cnn: family's network: Conv2d(k5, p2)-BatchNorm2d-ReLU-MaxPool2d(2) stages of the given
    channels, Flatten, Linear(-> hidden), ReLU, Linear(-> classes), as nn.Sequential."""
    nn = torch.nn
    layers, (c, h, w) = [], input_shape
    for out in channels:
        layers += [nn.Conv2d(c, out, 5, padding=2), nn.BatchNorm2d(out), nn.ReLU(), nn.MaxPool2d(2)]
        c, h, w = out, h // 2, w // 2
    layers += [nn.Flatten(), nn.Linear(c * h * w, hidden), nn.ReLU(), nn.Linear(hidden, classes)]
    return nn.Sequential(*layers)


def torch_model(torch, model):
    """The torch module ddp-train builds for a case's model (see model_spec)."""
    if not model.startswith("cnn:"):
        return torch_mlp(torch, [int(w) for w in model.split(",")])
    return torch_cnn(torch, *cnn_layers(model))


def model_io(model):
    """(one sample's shape, classes) of a case's model."""
    if model.startswith("cnn:"):
        return CNN_INPUT, CNN_CLASSES
    widths = [int(w) for w in model.split(",")]
    return (widths[0],), widths[-1]


def time_steps(step, steps, ready=lambda: None):
    """Seconds for steps calls of step(i) after WARMUP_STEPS untimed ones; ready() waits for
    outstanding work (a GPU's queue, the other ranks) before the clock starts."""
    for i in range(WARMUP_STEPS):
        step(i)
    ready()
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    ready()
    return time.perf_counter() - start


def ddp_train_args(model, samples, batch, epochs, steps, metrics):
    """ddp-train's options for the compared run: SGD (lr 0.01, momentum 0.9), 25 MiB buckets, in-memory
    synthetic data, steps + WARMUP_STEPS steps, one summary at the end in metrics."""
    total = steps + WARMUP_STEPS
    return ["--model", model_spec(model), "--data", f"synthetic:{samples}", "--val-fraction", "0",
            "--batch-size", str(batch), "--epochs", str(epochs), "--max-steps", str(total),
            "--optimizer", "sgd", "--lr", "0.01", "--momentum", "0.9", "--bucket-mb", "25",
            "--progress", "lines", "--log-every", str(total), "--metrics-out", metrics]


def read_summary(metrics):
    with open(metrics) as f:
        return [json.loads(line) for line in f if '"summary"' in line][-1]


def print_table(title, header, rows, csv_path=None):
    """A Markdown table on stdout (title line first), and the same rows as CSV when asked."""
    print(title)
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")
    if csv_path:
        with open(csv_path, "w") as f:
            f.write("\n".join(",".join(str(c) for c in line) for line in [header] + rows) + "\n")
