"""One training step (forward pass + every gradient) of the fused backprop kernel.

    python benchmarks/bench_backprop.py               # 2-3-2 and 784-128-10, B = 1, 64, 1024
    python benchmarks/bench_backprop.py --repeat 15 --markdown backprop.md

For each network (sigmoid layers, loss ½‖y − t‖₂² averaged over the batch) and batch
size, all in one process, the script times

* hand-written numpy backprop (the textbook forward pass, deltas and ``δᵀh`` products),
* the symnorm kernel ``sn.backprop(sn.mlp(sizes)).kernel()`` called with keyword
  arguments (argument checks included),
* PyTorch autograd on the CPU (float64, ``loss.backward()``), when torch is installed,

and reports the kernel's time as a ratio to each. Every result is compared with the hand
numpy gradients first. Candidates are timed round-robin (one sample of each per round,
``--repeat`` rounds), the best sample kept, GC off. Targets are reported, never asserted:
the kernel within 1.2x hand numpy everywhere and 1.05x for 784-128-10 at batch 64, and
2x faster than PyTorch at batch <= 64.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np

import symnorm as sn

NETWORKS: dict[str, tuple[int, ...]] = {"2-3-2": (2, 3, 2), "784-128-10": (784, 128, 10)}
BATCHES = (1, 64, 1024)
#: (peer, largest batch the target applies to, the kernel may take at most this multiple)
TARGETS = [("hand numpy", None, 1.2), ("PyTorch", 64, 0.5)]
#: (network, batch, multiple of hand numpy): the light-calls target for the MLP step
STEP_TARGET = ("784-128-10", 64, 1.05)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def hand_step(x: np.ndarray, t: np.ndarray, W1: np.ndarray, W2: np.ndarray) -> dict:
    """Textbook numpy backprop for a two-layer sigmoid MLP, mean loss over the batch."""
    B = x.shape[0]
    h1 = _sigmoid(x @ W1.T)
    y = _sigmoid(h1 @ W2.T)
    r = y - t
    d2 = r * y * (1.0 - y)
    d1 = (d2 @ W2) * h1 * (1.0 - h1)
    return {"W1": d1.T @ x / B, "W2": d2.T @ h1 / B, "loss": 0.5 * np.sum(r * r) / B}


def torch_step_factory(x: np.ndarray, t: np.ndarray, W1: np.ndarray,
                       W2: np.ndarray) -> Callable[[], dict] | None:
    """PyTorch autograd on the CPU, float64, or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    w1 = torch.from_numpy(W1.copy()).requires_grad_(True)
    w2 = torch.from_numpy(W2.copy()).requires_grad_(True)

    def step() -> dict:
        w1.grad = None
        w2.grad = None
        y = torch.sigmoid(torch.sigmoid(xt @ w1.T) @ w2.T)
        loss = 0.5 * ((y - tt) ** 2).sum(dim=1).mean()
        loss.backward()
        return {"W1": w1.grad, "W2": w2.grad, "loss": loss}

    return step


def make_cases(sizes: tuple[int, ...], batch: int, seed: int = 0) -> dict[str, Callable]:
    """The timed callables for one network and batch size, checked against hand numpy."""
    rng = np.random.default_rng(seed)
    n_in, n_hid, n_out = sizes
    x = rng.standard_normal((batch, n_in))
    t = rng.uniform(0, 1, (batch, n_out))
    W1 = rng.standard_normal((n_hid, n_in)) / np.sqrt(n_in)
    W2 = rng.standard_normal((n_out, n_hid)) / np.sqrt(n_hid)
    k = sn.backprop(sn.mlp(list(sizes)), check=batch == BATCHES[0]).kernel()
    cases: dict[str, Callable] = {
        "hand numpy": lambda: hand_step(x, t, W1, W2),
        "symnorm kernel": lambda: k(x=x, t=t, W1=W1, W2=W2),
    }
    torch_step = torch_step_factory(x, t, W1, W2)
    if torch_step is not None:
        cases["PyTorch"] = torch_step
    want = hand_step(x, t, W1, W2)
    for label, f in cases.items():
        got = f()
        for key in ("W1", "W2", "loss"):
            value = got[key].detach().numpy() if hasattr(got[key], "detach") else got[key]
            if not np.allclose(value, want[key], rtol=1e-9, atol=1e-12):
                raise AssertionError(f"{label} disagrees with hand numpy on {key}")
    return cases


def time_cases(cases: dict[str, Callable], repeat: int, min_sample: float) -> dict[str, float]:
    """Best seconds per call: warm-up, then ``repeat`` round-robin rounds, GC off."""
    loops = {}
    for label, f in cases.items():
        f()
        t0 = time.perf_counter()
        f()
        once = time.perf_counter() - t0
        loops[label] = max(1, int(np.ceil(min_sample / max(once, 1e-9))))
    best = {label: float("inf") for label in cases}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(max(1, repeat)):
            for label, f in cases.items():
                n = loops[label]
                t0 = time.perf_counter()
                for _ in range(n):
                    f()
                best[label] = min(best[label], (time.perf_counter() - t0) / n)
    finally:
        if enabled:
            gc.enable()
    return best


def run(networks: Sequence[str] = tuple(NETWORKS), batches: Sequence[int] = BATCHES,
        repeat: int = 9, min_sample: float = 0.02, seed: int = 0) -> list[dict]:
    """One row per (network, batch): times in µs and the kernel's ratios to its peers."""
    rows = []
    for name in networks:
        for batch in batches:
            best = time_cases(make_cases(NETWORKS[name], int(batch), seed), repeat, min_sample)
            k = best["symnorm kernel"]
            rows.append({
                "network": name, "batch": int(batch),
                "hand_us": best["hand numpy"] * 1e6, "kernel_us": k * 1e6,
                "torch_us": best["PyTorch"] * 1e6 if "PyTorch" in best else None,
                "vs_hand": k / best["hand numpy"],
                "vs_torch": k / best["PyTorch"] if "PyTorch" in best else None,
            })
    return rows


def targets(rows: Sequence[dict]) -> list[dict]:
    """The targets with a met / not met verdict (kernel ≤ 1.2× hand numpy everywhere;
    ≥ 2× faster than PyTorch, i.e. ≤ 0.5× its time, at batch ≤ 64; the 784-128-10 step
    at batch 64 ≤ 1.05× hand numpy)."""
    out = []
    for r in rows:
        if (r["network"], r["batch"]) == STEP_TARGET[:2]:
            out.append({"network": r["network"], "batch": r["batch"], "peer": "hand numpy",
                        "ratio": r["vs_hand"], "limit": STEP_TARGET[2],
                        "met": bool(r["vs_hand"] <= STEP_TARGET[2])})
        for peer, max_batch, limit in TARGETS:
            ratio = r["vs_hand"] if peer == "hand numpy" else r["vs_torch"]
            if ratio is None or (max_batch is not None and r["batch"] > max_batch):
                continue
            out.append({"network": r["network"], "batch": r["batch"], "peer": peer,
                        "ratio": ratio, "limit": limit, "met": bool(ratio <= limit)})
    return out


def markdown(rows: Sequence[dict]) -> str:
    def f(v: float | None, fmt: str) -> str:
        return "—" if v is None else format(v, fmt)

    lines = ["| network | batch | hand numpy µs | symnorm kernel µs | PyTorch µs | "
             "kernel / hand numpy | kernel / PyTorch |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['network']} | {r['batch']} | {r['hand_us']:.1f} | "
                     f"{r['kernel_us']:.1f} | {f(r['torch_us'], '.1f')} | "
                     f"{r['vs_hand']:.2f} | {f(r['vs_torch'], '.2f')} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    ap.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--min-sample", type=float, default=0.02)
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--torch-threads", type=int, help="torch.set_num_threads (default: "
                    "torch's own choice); set OPENBLAS_NUM_THREADS for numpy before starting")
    args = ap.parse_args(argv)
    try:
        import torch
        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        peer = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        peer = "torch not installed (PyTorch column skipped)"
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"Python {platform.python_version()}, numpy {np.__version__} "
          f"(OPENBLAS_NUM_THREADS={blas}), {peer}, {os.cpu_count()} CPUs", file=sys.stderr)
    rows = run(args.networks, args.batches, args.repeat, args.min_sample)
    table = markdown(rows)
    print(table)
    for t in targets(rows):
        verdict = "met" if t["met"] else "NOT met"
        print(f"{t['network']} B={t['batch']}: kernel/{t['peer']} = {t['ratio']:.2f} "
              f"(target <= {t['limit']}): {verdict}")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
