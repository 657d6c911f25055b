"""The fused backprop kernel on PyTorch, JAX and Dask arrays against each library's autodiff.

    python benchmarks/bench_backprop_backends.py       # 2-3-2 and 784-128-10, B = 64, 1024
    python benchmarks/bench_backprop_backends.py --networks 2-3-2 --batches 64 --repeat 3

For each network (sigmoid layers, loss ½‖y − t‖₂² averaged over the batch, float64) and
batch size, all in one process, the script times one training step (forward pass and
every gradient):

* ``numpy kernel``: ``sn.backprop(sn.mlp(sizes)).kernel()`` on numpy arrays (the baseline);
* ``kernel on torch``: the same kernel called on CPU tensors, against ``torch autograd``
  (the forward pass, ``loss.backward()``);
* ``kernel backend=jax``: ``kernel(backend="jax")`` (``jax.jit``-compiled) on JAX arrays,
  against ``jax autodiff``: ``jax.jit(jax.value_and_grad(loss))``;
* ``kernel on dask``: the kernel on a Dask batch in 4 chunks of rows, the lazy result
  computed (``dask.compute``, threaded scheduler), against the numpy kernel on the
  whole batch: the price of the graph.

Every result is compared with hand-written numpy backprop first (rtol 1e-9). Timing as
in ``bench_backprop.py``: round-robin rounds, best sample, GC off. Ratios are reported,
never asserted; a library that is not installed is left out, saying so.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

import symnorm as sn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backprop import (  # noqa: E402 - the sibling script, found through sys.path
    NETWORKS,
    hand_step,
    time_cases,
    torch_step_factory,
)

BATCHES = (64, 1024)
LIBRARIES = ("torch", "jax", "dask")
#: (candidate, its peer): the ratios reported
PAIRS = [("kernel on torch", "torch autograd"), ("kernel backend=jax", "jax autodiff"),
         ("kernel on dask", "numpy kernel")]


def _torch_cases(k, x, t, W1, W2) -> dict[str, Callable]:
    import torch

    xt, tt, w1, w2 = (torch.from_numpy(a.copy()) for a in (x, t, W1, W2))
    cases: dict[str, Callable] = {"kernel on torch": lambda: k(x=xt, t=tt, W1=w1, W2=w2)}
    step = torch_step_factory(x, t, W1, W2)
    if step is not None:
        cases["torch autograd"] = step
    return cases


def _jax_cases(bp, x, t, W1, W2) -> dict[str, Callable]:
    import jax
    import jax.numpy as jnp

    if not jax.config.jax_enable_x64:
        raise RuntimeError("enable JAX's float64 first: jax.config.update('jax_enable_x64', "
                           "True) (main() does)")
    kj = bp.kernel(backend="jax")
    xj, tj, j1, j2 = (jnp.asarray(a) for a in (x, t, W1, W2))

    def loss(params, x, t):
        h = jax.nn.sigmoid(x @ params[0].T)
        y = jax.nn.sigmoid(h @ params[1].T)
        return 0.5 * jnp.sum((y - t) ** 2) / x.shape[0]

    grad = jax.jit(jax.value_and_grad(loss))

    def kernel_step() -> dict:
        out = kj(x=xj, t=tj, W1=j1, W2=j2)
        return jax.block_until_ready(out)

    def autodiff_step() -> dict:
        value, (g1, g2) = jax.block_until_ready(grad((j1, j2), xj, tj))
        return {"W1": g1, "W2": g2, "loss": value}

    return {"kernel backend=jax": kernel_step, "jax autodiff": autodiff_step}


def _dask_cases(k, x, t, W1, W2) -> dict[str, Callable]:
    import dask
    import dask.array as da

    rows = max(1, -(-x.shape[0] // 4))
    xd = da.from_array(x, chunks=(rows, x.shape[1]))
    td = da.from_array(t, chunks=(rows, t.shape[1]))

    def step() -> dict:
        return dask.compute(k(x=xd, t=td, W1=W1, W2=W2), scheduler="threads")[0]

    return {"kernel on dask": step}


def make_cases(sizes: tuple[int, ...], batch: int, libraries: Sequence[str] = LIBRARIES,
               seed: int = 0) -> dict[str, Callable]:
    """The timed callables for one network and batch size, checked against hand numpy."""
    rng = np.random.default_rng(seed)
    n_in, n_hid, n_out = sizes
    x = rng.standard_normal((batch, n_in))
    t = rng.uniform(0, 1, (batch, n_out))
    W1 = rng.standard_normal((n_hid, n_in)) / np.sqrt(n_in)
    W2 = rng.standard_normal((n_out, n_hid)) / np.sqrt(n_hid)
    bp = sn.backprop(sn.mlp(list(sizes)), check=False)
    k = bp.kernel()
    cases: dict[str, Callable] = {"numpy kernel": lambda: k(x=x, t=t, W1=W1, W2=W2)}
    if "torch" in libraries:
        cases.update(_torch_cases(k, x, t, W1, W2))
    if "jax" in libraries:
        cases.update(_jax_cases(bp, x, t, W1, W2))
    if "dask" in libraries:
        cases.update(_dask_cases(k, x, t, W1, W2))
    want = hand_step(x, t, W1, W2)
    for label, f in cases.items():
        got = f()
        for key in ("W1", "W2", "loss"):
            value = got[key]
            value = value.detach().numpy() if hasattr(value, "detach") else np.asarray(value)
            if not np.allclose(value, want[key], rtol=1e-9, atol=1e-12):
                raise AssertionError(f"{label} disagrees with hand numpy on {key}")
    return cases


def installed(libraries: Sequence[str]) -> list[str]:
    """The libraries of ``libraries`` that can be imported here."""
    return [lib for lib in libraries if importlib.util.find_spec(lib) is not None]


def run(networks: Sequence[str] = tuple(NETWORKS), batches: Sequence[int] = BATCHES,
        libraries: Sequence[str] = LIBRARIES, repeat: int = 7,
        min_sample: float = 0.02) -> list[dict]:
    """One row per (network, batch): µs per step of every candidate, and the ratios."""
    rows = []
    for name in networks:
        for batch in batches:
            cases = make_cases(NETWORKS[name], int(batch), installed(libraries))
            best = time_cases(cases, repeat, min_sample)
            row: dict = {"network": name, "batch": int(batch),
                         "us": {label: s * 1e6 for label, s in best.items()}}
            row["ratios"] = {f"{a} / {b}": best[a] / best[b] for a, b in PAIRS
                             if a in best and b in best}
            rows.append(row)
    return rows


def markdown(rows: Sequence[dict]) -> str:
    labels = [label for label in ("numpy kernel", "kernel on torch", "torch autograd",
                                  "kernel backend=jax", "jax autodiff", "kernel on dask")
              if any(label in r["us"] for r in rows)]
    ratios = [f"{a} / {b}" for a, b in PAIRS if any(f"{a} / {b}" in r["ratios"] for r in rows)]
    lines = ["| network | batch | " + " | ".join(f"{label} µs" for label in labels) + " | "
             + " | ".join(ratios) + " |",
             "|---|---:|" + "---:|" * (len(labels) + len(ratios))]
    for r in rows:
        cells = [f"{r['us'][label]:.1f}" if label in r["us"] else "—" for label in labels]
        cells += [f"{r['ratios'][q]:.2f}" if q in r["ratios"] else "—" for q in ratios]
        lines.append(f"| {r['network']} | {r['batch']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    ap.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    ap.add_argument("--libraries", nargs="+", default=list(LIBRARIES), choices=LIBRARIES)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--min-sample", type=float, default=0.02)
    ap.add_argument("--torch-threads", type=int, help="torch.set_num_threads")
    args = ap.parse_args(argv)
    libraries = installed(args.libraries)
    missing = sorted(set(args.libraries) - set(libraries))
    if "jax" in libraries:
        import jax

        jax.config.update("jax_enable_x64", True)
    if "torch" in libraries and args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    print(f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} "
          f"CPUs, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
          f"libraries: {', '.join(libraries)}"
          + (f"; not installed: {', '.join(missing)}" if missing else ""), file=sys.stderr)
    rows = run(args.networks, args.batches, libraries, args.repeat, args.min_sample)
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
