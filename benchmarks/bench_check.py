"""Cost of ``sn.check`` at one given point of large dimension, in evaluations of f.

Run::

    python benchmarks/bench_check.py                 # n = 1e6
    python benchmarks/bench_check.py --sizes 1e5 1e6 --repeat 7

For each n (float64, ``x = standard_normal(n)``) the script times, in one process and
after a warm-up call, the value kernel of ‖x‖₂ (one evaluation of f, the baseline) and
``sn.check(norm(x, 2), x, grad=..., at=x)`` for the right gradient ``x/‖x‖₂`` and for the
wrong ``0.5·x/‖x‖₂``; it counts the evaluations of f and of the gradient the check makes,
and reports the check's time as a multiple of one evaluation of f. torch's fast-mode
gradcheck and jax's ``check_grads`` make about 4–8 evaluations of f; the check should
cost no more. The verdicts (right passes, wrong fails) are reported too; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Sequence

import numpy as np
import sympy as sp

import symnorm as sn

kernel_module = importlib.import_module("symnorm.kernels.kernel")  # the module, not sn.kernel


def _best(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(sizes: Sequence[int] = (10**6,), repeat: int = 5, seed: int = 0) -> list[dict]:
    """One row per size: times, evaluation counts and verdicts."""
    x = sn.vector("x")
    f = sn.norm(x, 2)
    right, wrong = x / f, sp.Rational(1, 2) * x / f
    value = sn.kernel(f, [x])
    rows = []
    for n in sizes:
        x0 = np.random.default_rng(seed).standard_normal(int(n))
        t_f = _best(lambda: value(x0), repeat)
        calls = {"n": 0}
        original = kernel_module.Kernel.__call__

        def counting(self, *a, **k):
            calls["n"] += 1
            return original(self, *a, **k)

        kernel_module.Kernel.__call__ = counting
        try:
            report = sn.check(f, x, grad=right, at=x0)
            evaluations = calls["n"]
        finally:
            kernel_module.Kernel.__call__ = original
        t_right = _best(lambda: sn.check(f, x, grad=right, at=x0), repeat)
        bad = sn.check(f, x, grad=wrong, at=x0)
        rows.append({"n": int(n), "f_ms": 1e3 * t_f, "check_ms": 1e3 * t_right,
                     "check_in_f_evaluations": t_right / t_f,
                     "kernel_calls": evaluations, "right_passes": report.ok,
                     "wrong_fails": not bad.ok})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| n | one f (ms) | check (ms) | check / f | kernel calls (f and g) | "
             "right passes | 0.5x wrong fails |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['n']:.0e} | {r['f_ms']:.2f} | {r['check_ms']:.2f} | "
                     f"{r['check_in_f_evaluations']:.1f} | {r['kernel_calls']} | "
                     f"{r['right_passes']} | {r['wrong_fails']} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e6])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    print(markdown(run([int(s) for s in args.sizes], args.repeat)))


if __name__ == "__main__":
    main()
