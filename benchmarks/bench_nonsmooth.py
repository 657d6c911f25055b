"""Throughput of the nonsmooth kernels (prox operators, minimum-norm subgradients),
as ratios against ``np.copyto`` and hand-written numpy timed in the same process.

Run::

    python benchmarks/bench_nonsmooth.py                 # n = 1e6, and a 1000 x 1000 batch
    python benchmarks/bench_nonsmooth.py --sizes 1e6 1e7 --markdown nonsmooth.md

Timing, agreement checks and the table come from ``bench_kernels.py`` (same method:
warm-up, round-robin rounds, best sample, GC off). Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys
from collections.abc import Sequence

import numpy as np
import sympy as sp

import symnorm as sn

_HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_kernels", _HERE / "bench_kernels.py")
bk = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bench_kernels", bk)
_spec.loader.exec_module(bk)  # type: ignore[union-attr]

LAM = 0.8


def hand_project_l1_ball(v: np.ndarray, radius: float) -> np.ndarray:
    """Duchi et al. (2008), written out in numpy for one vector."""
    a = np.abs(v)
    if a.sum() <= radius:
        return v.copy()
    mu = np.sort(a)[::-1]
    cssv = np.cumsum(mu) - radius
    rho = np.nonzero(mu * np.arange(1, a.size + 1) > cssv)[0][-1]
    theta = cssv[rho] / (rho + 1.0)
    return np.sign(v) * np.maximum(a - theta, 0)


def build_kernels() -> dict:
    x = sn.vector("x")
    lam = sn.scalar("lam", positive=True)
    return {
        "soft": sn.prox(lam * sn.norm(x, 1), x).kernel(),
        "block": sn.prox(lam * sn.norm(x, 2), x).kernel(),
        "linf": sn.prox(lam * sn.norm(x, sp.oo), x).kernel(),
        "minnorm_inf": sn.subdiff(sn.norm(x, sp.oo), x).min_norm_kernel(),
    }


def make_cases(n: int, kernels: dict, seed: int = 0, batch: int | None = None) -> list:
    rng = np.random.default_rng(seed)
    shape = (batch, n // batch) if batch else (n,)
    v = rng.standard_normal(shape)
    ties = np.round(v)  # many exact ties and zeros: the kinks
    out = np.empty_like(v)
    Case = bk.Case

    def soft_hand() -> np.ndarray:
        return np.sign(v) * np.maximum(np.abs(v) - LAM, 0)

    def block_hand() -> np.ndarray:
        norms = np.linalg.norm(v, axis=-1, keepdims=True)
        return np.maximum(0, 1 - LAM / norms) * v

    def linf_hand() -> np.ndarray:
        if v.ndim == 1:
            return v - hand_project_l1_ball(v, LAM)
        return np.stack([r - hand_project_l1_ball(r, LAM) for r in v])

    def tie_hand() -> np.ndarray:
        a = np.abs(ties)
        mask = a == a.max(axis=-1, keepdims=True)
        return np.sign(ties) * mask / mask.sum(axis=-1, keepdims=True)

    k = kernels
    cases = [
        Case("numpy np.copyto(out, x)", lambda: np.copyto(out, v)),
        Case("numpy soft threshold", soft_hand),
        Case("numpy block soft threshold", block_hand),
        Case("numpy v - proj_l1ball(v) (sort)", linf_hand),
        Case("numpy sign(x) * tie mask / count", tie_hand),
        Case("symnorm prox λ‖·‖₁ (out=)", lambda: k["soft"](v, LAM, out=out),
             hand="numpy soft threshold", hand_note="soft threshold", expect=soft_hand),
        Case("symnorm prox λ‖·‖₂ (out=)", lambda: k["block"](v, LAM, out=out),
             hand="numpy block soft threshold", hand_note="block soft threshold",
             expect=block_hand),
        Case("symnorm prox λ‖·‖∞ (out=)", lambda: k["linf"](v, LAM, out=out),
             hand="numpy v - proj_l1ball(v) (sort)", hand_note="Moreau + sort",
             expect=linf_hand),
        Case("symnorm min-norm ∂‖x‖∞ at ties", lambda: k["minnorm_inf"](ties, out=out),
             hand="numpy sign(x) * tie mask / count", hand_note="tie mask",
             expect=tie_hand),
    ]
    return cases


def run(sizes: Sequence[int], repeat: int = 9, min_sample: float = 0.005,
        batch: int | None = None) -> list[dict]:
    """Rows like ``bench_kernels.run``; ``batch`` splits n into batch x (n / batch)."""
    kernels = build_kernels()
    rows = []
    for n in sizes:
        n = int(n)
        cases = make_cases(n, kernels, batch=batch)
        bk.check_agreement(cases)
        best = bk.time_cases(cases, repeat, min_sample)
        floor = best["numpy np.copyto(out, x)"]
        for c in cases:
            t = best[c.label]
            rows.append({"kernel": c.label + (f" [batch {batch}]" if batch else ""), "n": n,
                         "seconds": t, "ms": t * 1e3, "vs_copyto": t / floor,
                         "vs_hand": t / best[c.hand] if c.hand else None, "hand": c.hand,
                         "hand_note": c.hand_note, "alias": False, "other_load": None})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e6])
    ap.add_argument("--batch", type=int, default=1000, help="rows of the batched run")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--markdown", help="also write the table to this file")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes]
    rows = run(sizes, args.repeat) + run(sizes, args.repeat, batch=args.batch)
    text = bk.markdown(rows, args.repeat)
    print(text)
    if args.markdown:
        pathlib.Path(args.markdown).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
