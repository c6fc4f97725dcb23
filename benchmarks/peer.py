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
        elif model.startswith("gpt:"):
            gpt_sizes(model)
        elif len(positive_int_list(model)) < 2:
            raise argparse.ArgumentTypeError(text)
        return model, positive_int(parts[1]), positive_int(parts[2])
    except (argparse.ArgumentTypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"'{text}' is not MODEL/BATCH/STEPS with MODEL an MLP's widths, cnn:C1,...:HIDDEN or "
            "gpt:layers=L,heads=H,dim=C,context=T, e.g. 784,1024,10/64/300 or "
            "gpt:layers=4,heads=4,dim=128,context=64/8/20") from None


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


def gpt_sizes(spec):
    """"gpt:layers=2,heads=2,dim=64,context=32" -> {"layers": 2, ..., "vocab": 256}."""
    sizes = {"vocab": 256}
    for item in spec.split(":", 1)[1].split(","):
        key, value = item.split("=")
        sizes[key] = positive_int(value)
    if set(sizes) != {"layers", "heads", "dim", "context", "vocab"}:
        raise ValueError(spec)
    return sizes


def torch_gpt(torch, layers, heads, dim, context, vocab=256):
    """The gpt: family's network as nanoGPT's model.py writes it (same parameter names, lm_head
    tied to transformer.wte), with GELU's tanh form and no dropout. The causal mask is not a
    state_dict entry, as in nanoGPT on torch >= 2 (flash attention). Initialised as GPT-2 (normal(0, 0.02), the
    residual projections scaled by 1/sqrt(2 * layers))."""
    nn, F = torch.nn, torch.nn.functional

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(dim, 3 * dim)
            self.c_proj = nn.Linear(dim, dim)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.c_attn(x).split(dim, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / (c // heads) ** 0.5)
            # Made here rather than kept as a buffer, which DDP would broadcast (gloo takes no bool).
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
            return self.c_proj((att @ v).transpose(1, 2).contiguous().view(b, t, c))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(dim, 4 * dim)
            self.gelu = nn.GELU(approximate="tanh")
            self.c_proj = nn.Linear(4 * dim, dim)

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(dim)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(dim)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(vocab, dim), wpe=nn.Embedding(context, dim),
                h=nn.ModuleList([Block() for _ in range(layers)]), ln_f=nn.LayerNorm(dim)))
            self.lm_head = nn.Linear(dim, vocab, bias=False)
            self.transformer.wte.weight = self.lm_head.weight
            for module in self.modules():
                if isinstance(module, (nn.Linear, nn.Embedding)):
                    nn.init.normal_(module.weight, mean=0.0, std=0.02)
                    if getattr(module, "bias", None) is not None:
                        nn.init.zeros_(module.bias)
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):
                    nn.init.normal_(p, mean=0.0, std=0.02 / (2 * layers) ** 0.5)

        def forward(self, tokens):
            t = tokens.size(1)
            x = self.transformer.wte(tokens) + self.transformer.wpe(
                torch.arange(t, device=tokens.device))
            for block in self.transformer.h:
                x = block(x)
            return self.lm_head(self.transformer.ln_f(x))

    return GPT()


def torch_model(torch, model):
    """The torch module ddp-train builds for a case's model (see model_spec)."""
    if model.startswith("gpt:"):
        return torch_gpt(torch, **gpt_sizes(model))
    if not model.startswith("cnn:"):
        return torch_mlp(torch, [int(w) for w in model.split(",")])
    return torch_cnn(torch, *cnn_layers(model))


def model_io(model):
    """(one sample's shape, classes) of a case's model."""
    if model.startswith("cnn:"):
        return CNN_INPUT, CNN_CLASSES
    if model.startswith("gpt:"):
        sizes = gpt_sizes(model)
        return (sizes["context"],), sizes["vocab"]
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


GPT_LR, GPT_WEIGHT_DECAY = 1e-3, 0.1  # AdamW, the decay on the matrices and embeddings only


def torch_optimizer(torch, model, spec):
    """The compared runs' optimizer for a case's model: SGD (lr 0.01, momentum 0.9), or for a GPT
    AdamW with nanoGPT's parameter groups (ddp-train's --decay-matrices-only)."""
    if not spec.startswith("gpt:"):
        return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    params = list(model.parameters())
    return torch.optim.AdamW([
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": GPT_WEIGHT_DECAY},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}], lr=GPT_LR)


def write_random_bytes(path, count, seed=0):
    """count random bytes at path: a text file of `count` tokens for a GPT's timed run."""
    import random
    with open(path, "wb") as f:
        f.write(random.Random(seed).randbytes(count))


def ddp_train_args(model, samples, batch, epochs, steps, metrics):
    """ddp-train's options for the compared run: SGD (lr 0.01, momentum 0.9), 25 MiB buckets, in-memory
    synthetic data, steps + WARMUP_STEPS steps, one summary at the end in metrics. A GPT trains
    with AdamW (torch_optimizer's) on `samples` sequences of random bytes written beside metrics."""
    total = steps + WARMUP_STEPS
    data, optimizer = f"synthetic:{samples}", ["--optimizer", "sgd", "--lr", "0.01", "--momentum",
                                               "0.9"]
    if model.startswith("gpt:"):
        text = os.path.join(os.path.dirname(metrics), "random.txt")
        write_random_bytes(text, samples * gpt_sizes(model)["context"] + 1)
        data = f"text:{text}"
        optimizer = ["--optimizer", "adamw", "--lr", str(GPT_LR), "--weight-decay",
                     str(GPT_WEIGHT_DECAY)]
    return ["--model", model_spec(model), "--data", data, "--val-fraction", "0",
            "--batch-size", str(batch), "--epochs", str(epochs), "--max-steps", str(total),
            *optimizer, "--bucket-mb", "25",
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
