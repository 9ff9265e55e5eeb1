#!/usr/bin/env python3
"""Compare duograd's MNIST training speed with PyTorch CPU on this machine, in one run.

Runs the same configurations in PyTorch (same data, same normalization, same batch order
policy, torch.set_num_threads equal to duograd's threads) and in duograd on both backends,
alternating systems within each repetition, and prints medians and ratios. Only training time
counts (data already in memory; evaluation excluded); the final test accuracy (median over the
repetitions, which use seeds seed, seed+1, ...) and duograd's peak resident memory are reported
beside it so a faster run cannot hide a worse one.

    python3 scripts/compare_pytorch.py --data-dir ../shared/data/mnist [--reps 3] [--threads 2]
        [--configs arena,wide,lenet,cnn] [--epochs N] [--batch-size N] [--pytorch-only]

Needs `pip install -r scripts/requirements-torch.txt` and `cargo build --release --examples`.
Writes the table to stdout (Markdown) and, with --json FILE, all raw measurements.

Each config is one of duograd's presets: an MLP (arena, wide: SGD, constant learning rate) or
a convolutional network (lenet, cnn: Adam with the cosine schedule stepped every batch, as
duograd's LrSchedule::Cosine does), the images reshaped to [N, 1, 28, 28] for the latter.
--epochs and --batch-size override every config's (on both sides) for quick runs;
--pytorch-only times PyTorch alone (no cargo build, no duograd runs, no latency).

With --baseline DIR it also times the train_mnist and latency programs of another build of duograd
(DIR/target/release/examples/, e.g. a git worktree of an earlier commit built with
`cargo build --release --example train_mnist --example latency`) as the systems
"ndarray@base" and "nalgebra@base", alternating with the others, and adds a table comparing both
builds' speed-ups over PyTorch measured in this one run.

With --rust-frameworks it also builds benches/frameworks (burn on its Flex and NdArray backends,
and candle; a separate cargo project, honoring CARGO_TARGET_DIR) and runs each of them in every
repetition too, alternating with the systems above on the same seeds, and adds a table of them.
"""
import argparse
import gzip
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Config:
    """One duograd preset and its PyTorch twin."""

    model: str  # "mlp", "lenet" or "cnn"
    optimizer: str  # "sgd" (no momentum) or "adam" (PyTorch's defaults)
    lr: float
    batch: int
    epochs: int
    flags: tuple  # duograd's train_mnist arguments
    hidden: tuple = ()  # the MLP's hidden sizes
    schedule: str = "constant"  # or "cosine": annealed to 0, updated at every batch


CONFIGS = {
    "arena": Config("mlp", "sgd", 0.01, 512, 5, ("--preset", "arena"), hidden=(64, 64)),
    "wide": Config("mlp", "sgd", 0.05, 128, 3, ("--preset", "wide"), hidden=(256, 256)),
    "lenet": Config("lenet", "adam", 1e-3, 64, 10, ("--preset", "lenet"), schedule="cosine"),
    "cnn": Config("cnn", "adam", 1e-3, 128, 5, ("--preset", "cnn"), schedule="cosine"),
}
# The configs benches/frameworks implements too.
FRAMEWORK_CONFIGS = {"arena", "wide"}


def read_idx(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(data_dir: Path, name: str) -> Path:
    for candidate in (data_dir / name, data_dir / (name + ".gz")):
        if candidate.exists():
            return candidate
    sys.exit(f"error: {name}(.gz) not found in {data_dir}; pass --data-dir or set MNIST_DIR")


def load_mnist(data_dir: Path):
    x_train = read_idx(find(data_dir, "train-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    y_train = read_idx(find(data_dir, "train-labels-idx1-ubyte")).astype(np.int64)
    x_test = read_idx(find(data_dir, "t10k-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    y_test = read_idx(find(data_dir, "t10k-labels-idx1-ubyte")).astype(np.int64)
    mean, std = x_train.mean(), x_train.std()  # fitted, as duograd does
    norm = lambda x: torch.from_numpy(((x - mean) / std).astype(np.float32))
    return norm(x_train), torch.from_numpy(y_train), norm(x_test), torch.from_numpy(y_test)


def build_model(config):
    """The config's network, as duograd's preset builds it (PyTorch's default initialization)."""
    if config.model == "mlp":
        sizes = [784, *config.hidden, 10]
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i + 2 < len(sizes):
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)
    if config.model == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    if config.model == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(1152, 128), nn.BatchNorm1d(128), nn.ReLU(),
            nn.Dropout(0.25), nn.Linear(128, 10))
    raise ValueError(f"unknown model {config.model!r}")


def cosine_lr(base, step, total):
    """duograd's LrSchedule::Cosine: the learning rate of step `step` (from 0) of `total`."""
    return base if total == 0 else 0.5 * base * (1.0 + math.cos(math.pi * step / total))


def torch_run(data, config, seed):
    x_train, y_train, x_test, y_test = data
    if config.model != "mlp":  # the convolutional networks take images
        x_train, x_test = x_train.view(-1, 1, 28, 28), x_test.view(-1, 1, 28, 28)
    torch.manual_seed(seed)
    model = build_model(config)
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=config.lr)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    n, batch = x_train.shape[0], config.batch
    total_steps = -(-n // batch) * config.epochs
    step = 0
    gen = torch.Generator().manual_seed(seed)
    model.train()
    start = time.perf_counter()
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            if config.schedule == "cosine":
                for group in opt.param_groups:
                    group["lr"] = cosine_lr(config.lr, step, total_steps)
            step += 1
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():  # in batches of 1000, as duograd evaluates
        correct = sum((model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum().item()
                      for i in range(0, x_test.shape[0], 1000))
    return seconds, correct / x_test.shape[0]


def examples_dir(system, baseline):
    """The directory of the example programs that `system` ("ndarray" or "ndarray@base") runs."""
    root = Path(baseline) if system.endswith("@base") else ROOT
    return root / "target" / "release" / "examples"


def duograd_run(system, flags, data_dir, seed, baseline=None):
    """Training seconds, final test accuracy and the run's peak resident memory (MB)."""
    binary = examples_dir(system, baseline) / "train_mnist"
    backend = system.split("@")[0]
    with tempfile.TemporaryDirectory() as tmp:
        metrics_path = Path(tmp) / "metrics.json"
        cmd = [str(binary), "--backend", backend, "--seed", str(seed), "--quiet",
               "--data-dir", str(data_dir), "--metrics", str(metrics_path)] + flags
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        metrics = json.loads(metrics_path.read_text())
    seconds = sum(e["seconds"] for e in metrics["epochs"])
    # The program's own VmHWM: a child's ru_maxrss would include this (torch-sized) Python
    # process, which it was forked from.
    peak = metrics.get("peak_resident_bytes")
    peak_mb = peak / 2**20 if peak else float("nan")
    return seconds, metrics["epochs"][-1]["test_accuracy"], peak_mb


FRAMEWORKS = ["burn-flex", "burn-ndarray", "candle"]
FRAMEWORKS_DIR = ROOT / "benches" / "frameworks"


def build_frameworks():
    """Build benches/frameworks; the path of its binary, or None (with the error printed)."""
    cmd = ["cargo", "build", "--release", "--manifest-path", str(FRAMEWORKS_DIR / "Cargo.toml")]
    try:
        subprocess.run(cmd, cwd=ROOT, check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"error: building the other Rust frameworks failed ({e}); going on without them",
              file=sys.stderr, flush=True)
        return None
    target = os.environ.get("CARGO_TARGET_DIR")
    # cargo reads a relative CARGO_TARGET_DIR against the directory it runs in (ROOT here).
    target_dir = (ROOT / target) if target else FRAMEWORKS_DIR / "target"
    return target_dir / "release" / "mnist_frameworks"


def framework_run(binary, framework, config, data_dir, seed, threads):
    """Training seconds and final test accuracy of one run of another Rust framework."""
    cmd = [str(binary), "--framework", framework, "--config", config, "--seed", str(seed),
           "--data-dir", str(data_dir)]
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["seconds"], result["accuracy"]


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def torch_latency(steps=4000):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(1, 784), torch.tensor([3])

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    for _ in range(steps // 10):
        step()
    rounds, per_step = 20, []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(steps // rounds):
            step()
        per_step.append((time.perf_counter() - t) * 1e6 / (steps // rounds))
    return statistics.median(per_step)


def duograd_latency(system="current", baseline=None):
    binary = examples_dir(system, baseline) / "latency"
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
    return {r["backend"]: r["micros_per_step"] for r in map(json.loads, out.strip().splitlines())}


def pytorch_only(configs, data, args):
    """Times PyTorch alone and prints its seconds (per epoch too) and accuracy per config."""
    raw = {}
    for name, config in configs.items():
        raw[name] = []
        for rep in range(args.reps):
            r = torch_run(data, config, args.seed + rep)
            raw[name].append(r)
            print(f"  {name} rep {rep + 1} pytorch: {r[0]:.3f} s, accuracy {r[1]:.4f}",
                  file=sys.stderr, flush=True)
    print(f"\nPyTorch MNIST training time (s, median of {args.reps}, training only), torch "
          f"{torch.__version__}, {args.threads} threads, {cpu_model()}, {os.cpu_count()} CPUs\n")
    print("| config | epochs | batch | seconds | seconds per epoch | accuracy |")
    print("|---|---|---|---|---|---|")
    for name, runs in raw.items():
        config = configs[name]
        med = statistics.median(r[0] for r in runs)
        acc = statistics.median(r[1] for r in runs)
        print(f"| {name} | {config.epochs} | {config.batch} | {med:.3f} | "
              f"{med / config.epochs:.3f} | {acc:.4f} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"training": {"pytorch": raw}}, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("MNIST_DIR", "data/mnist"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--configs", default="arena,wide",
                    help=f"comma-separated, from {', '.join(CONFIGS)}")
    ap.add_argument("--epochs", type=int, help="train every config this many epochs")
    ap.add_argument("--batch-size", type=int, help="train every config with this batch size")
    ap.add_argument("--pytorch-only", action="store_true",
                    help="time PyTorch alone: no cargo build, no duograd runs, no latency")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write raw measurements here")
    ap.add_argument("--baseline", help="also time the example programs built under DIR/target/release "
                    "(an earlier commit's worktree) and compare both builds in this run")
    ap.add_argument("--rust-frameworks", action="store_true",
                    help="also build and time burn (flex, ndarray) and candle from benches/frameworks")
    args = ap.parse_args()
    names = args.configs.split(",")
    for name in names:
        if name not in CONFIGS:
            sys.exit(f"error: unknown config {name!r}; choose from {', '.join(CONFIGS)}")
    if args.pytorch_only and (args.baseline or args.rust_frameworks):
        sys.exit("error: --pytorch-only runs PyTorch alone (no --baseline, no --rust-frameworks)")
    configs, overrides = {}, []
    for name in names:
        config = CONFIGS[name]
        if args.epochs is not None:
            config = replace(config, epochs=args.epochs)
        if args.batch_size is not None:
            config = replace(config, batch=args.batch_size)
        configs[name] = config
    if args.epochs is not None:
        overrides += ["--epochs", str(args.epochs)]
    if args.batch_size is not None:
        overrides += ["--batch-size", str(args.batch_size)]

    torch.set_num_threads(args.threads)
    data_dir = Path(args.data_dir).resolve()
    data = load_mnist(data_dir)
    if args.pytorch_only:
        return pytorch_only(configs, data, args)
    os.environ["DUOGRAD_THREADS"] = str(args.threads)
    subprocess.run(["cargo", "build", "--release", "--example", "train_mnist", "--example", "latency"],
                   cwd=ROOT, check=True)
    fw_binary = build_frameworks() if args.rust_frameworks else None
    if fw_binary and overrides:
        print("note: the other Rust frameworks train their own epochs and batch size; they are left "
              "out of runs with --epochs or --batch-size", file=sys.stderr, flush=True)
    frameworks = list(FRAMEWORKS) if fw_binary and not overrides else []
    systems = ["pytorch", "ndarray", "nalgebra"]
    if args.baseline:
        for system in ("ndarray@base", "nalgebra@base"):
            for program in ("train_mnist", "latency"):
                if not (examples_dir(system, args.baseline) / program).exists():
                    sys.exit(f"error: {examples_dir(system, args.baseline) / program} not found; "
                             "build the baseline with `cargo build --release --example train_mnist "
                             "--example latency` in that checkout")
        systems += ["ndarray@base", "nalgebra@base"]
    raw = {}
    fw_raw, fw_failed = {}, {}  # config -> framework -> runs / error
    for name, config in configs.items():
        flags = list(config.flags) + overrides
        runs = {s: [] for s in systems}
        for rep in range(args.reps):
            for system in systems:  # alternate, so drift in machine load hits all systems alike
                if system == "pytorch":
                    r = torch_run(data, config, args.seed + rep) + (None,)
                else:
                    r = duograd_run(system, flags, data_dir, args.seed + rep, args.baseline)
                runs[system].append(r)
                print(f"  {name} rep {rep + 1} {system}: {r[0]:.3f} s, accuracy {r[1]:.4f}", file=sys.stderr, flush=True)
            for fw in (frameworks if name in FRAMEWORK_CONFIGS else []):  # after duograd, same seed
                if fw in fw_failed.get(name, {}):
                    continue
                try:
                    r = framework_run(fw_binary, fw, name, data_dir, args.seed + rep, args.threads)
                except (OSError, ValueError, KeyError, IndexError, subprocess.CalledProcessError) as e:
                    detail = (getattr(e, "stderr", None) or "").strip()
                    print(f"error: {fw} on {name} failed: {e} {detail}; going on without it",
                          file=sys.stderr, flush=True)
                    fw_failed.setdefault(name, {})[fw] = f"{e} {detail}".strip()
                    fw_raw.get(name, {}).pop(fw, None)
                    continue
                fw_raw.setdefault(name, {}).setdefault(fw, []).append(r)
                print(f"  {name} rep {rep + 1} {fw}: {r[0]:.3f} s, accuracy {r[1]:.4f}", file=sys.stderr, flush=True)
        raw[name] = runs
    lat_torch = [torch_latency() for _ in range(args.reps)]
    lat_duo = [duograd_latency() for _ in range(args.reps)]
    lat_base = [duograd_latency("base@base", args.baseline) for _ in range(args.reps)] if args.baseline else []

    print(f"\nMNIST training time (s, median of {args.reps}, training only), torch {torch.__version__}, "
          f"{args.threads} threads, {cpu_model()}, {os.cpu_count()} CPUs\n")
    print("| config | PyTorch | ndarray | nalgebra | ndarray speed-up | nalgebra speed-up "
          "| accuracy (torch / nd / na) | duograd peak RSS (MB, nd / na) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, runs in raw.items():
        med = {s: statistics.median(r[0] for r in runs[s]) for s in systems}
        acc = {s: statistics.median(r[1] for r in runs[s]) for s in systems}
        rss = {s: max(r[2] for r in runs[s]) for s in ("ndarray", "nalgebra")}
        print(f"| {name} | {med['pytorch']:.3f} | {med['ndarray']:.3f} | {med['nalgebra']:.3f} | "
              f"{med['pytorch'] / med['ndarray']:.2f}× | {med['pytorch'] / med['nalgebra']:.2f}× | "
              f"{acc['pytorch']:.4f} / {acc['ndarray']:.4f} / {acc['nalgebra']:.4f} | "
              f"{rss['ndarray']:.0f} / {rss['nalgebra']:.0f} |")
    # Drift in machine speed moves all systems of one repetition alike (they alternate), so the
    # ratio within each repetition is steadier than the ratio of medians; a wide spread of one
    # system's own times means the run was noisy and its ratios deserve less trust. Noise only
    # ever slows a run down, so each system's fastest run is the best estimate of its speed on a
    # quiet machine, and their ratio the best estimate of the quiet speed-up.
    print("\nPer repetition: speed-up over PyTorch (min / median / max), the speed-up of each "
          "system's fastest run (nd / na), and each system's spread (slowest / fastest run)\n")
    print("| config | ndarray speed-up | nalgebra speed-up | fastest runs | spread torch / nd / na |")
    print("|---|---|---|---|---|")
    for name, runs in raw.items():
        def paired(system):
            r = sorted(t[0] / d[0] for t, d in zip(runs["pytorch"], runs[system]))
            return f"{r[0]:.2f} / {statistics.median(r):.2f} / {r[-1]:.2f}"
        fastest = {s: min(x[0] for x in runs[s]) for s in systems}
        quiet = " / ".join(f"{fastest['pytorch'] / fastest[s]:.2f}×" for s in ("ndarray", "nalgebra"))
        spread = " / ".join(f"{max(x[0] for x in runs[s]) / fastest[s]:.2f}" for s in ("pytorch", "ndarray", "nalgebra"))
        print(f"| {name} | {paired('ndarray')} | {paired('nalgebra')} | {quiet} | {spread} |")
    print()
    lt = statistics.median(lat_torch)
    ln = statistics.median(d["ndarray"] for d in lat_duo)
    la = statistics.median(d["nalgebra"] for d in lat_duo)
    print(f"| latency 784-64-10, batch 1 (µs/step) | {lt:.1f} | {ln:.1f} | {la:.1f} | {lt / ln:.1f}× | {lt / la:.1f}× | | |")
    if args.baseline:
        print(f"\nThis build against the baseline {args.baseline} in the same run: speed-up over PyTorch "
              "(ratio of medians, and the median of the per-repetition ratios)\n")
        print("| config | backend | this build | baseline | this build / baseline time |")
        print("|---|---|---|---|---|")
        for name, runs in raw.items():
            med_torch = statistics.median(r[0] for r in runs["pytorch"])
            for backend in ("ndarray", "nalgebra"):
                cells = []
                for system in (backend, backend + "@base"):
                    med = statistics.median(r[0] for r in runs[system])
                    per_rep = statistics.median(t[0] / d[0] for t, d in zip(runs["pytorch"], runs[system]))
                    cells.append(f"{med_torch / med:.2f}× ({per_rep:.2f}×)")
                ratio = (statistics.median(r[0] for r in runs[backend])
                         / statistics.median(r[0] for r in runs[backend + "@base"]))
                print(f"| {name} | {backend} | {cells[0]} | {cells[1]} | {ratio:.3f} |")
        for backend in ("ndarray", "nalgebra"):
            now = statistics.median(d[backend] for d in lat_duo)
            base = statistics.median(d[backend] for d in lat_base)
            print(f"| batch-1 step | {backend} | {lt / now:.1f}× ({now:.1f} µs) | "
                  f"{lt / base:.1f}× ({base:.1f} µs) | {now / base:.3f} |")
    if args.rust_frameworks:
        print(f"\nOther Rust frameworks on this machine (s, median of {args.reps}, training only; "
              "PyTorch / framework above 1 means the framework is faster than PyTorch, "
              "framework / duograd above 1 means duograd's backend is faster)\n")
        print("| config | framework | seconds | accuracy | PyTorch / framework "
              "| framework / duograd-ndarray | framework / duograd-nalgebra |")
        print("|---|---|---|---|---|---|---|")
        for name, runs in raw.items():
            med_torch = statistics.median(r[0] for r in runs["pytorch"])
            med_nd = statistics.median(r[0] for r in runs["ndarray"])
            med_na = statistics.median(r[0] for r in runs["nalgebra"])
            for fw, fw_runs in fw_raw.get(name, {}).items():
                med = statistics.median(r[0] for r in fw_runs)
                acc = statistics.median(r[1] for r in fw_runs)
                print(f"| {name} | {fw} | {med:.3f} | {acc:.4f} | {med_torch / med:.2f}× | "
                      f"{med / med_nd:.2f}× | {med / med_na:.2f}× |")
            for fw in fw_failed.get(name, {}):
                print(f"| {name} | {fw} | failed | | | | |")
        if not fw_binary:
            print("| (none: the build failed) | | | | | | |")
    if args.json:
        out = {"training": raw, "latency": {"pytorch": lat_torch, "duograd": lat_duo, "baseline": lat_base}}
        if args.rust_frameworks:
            out["rust_frameworks"] = {"training": fw_raw, "failed": fw_failed}
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
