"""Cost of ``sn.check`` at one given point of large dimension, in evaluations of f; and
of the default check (random points) of small derivations, in milliseconds.

Run::

    python benchmarks/bench_check.py                 # n = 1e6
    python benchmarks/bench_check.py --sizes 1e5 1e6 --repeat 7
    python benchmarks/bench_check.py --default       # the check sn.grad runs, 10 derivations

For each n (float64, ``x = standard_normal(n)``) the script times, in one process and
after a warm-up call, the value kernel of ‖x‖₂ (one evaluation of f, the baseline) and
``sn.check(norm(x, 2), x, grad=..., at=x)`` for the right gradient ``x/‖x‖₂`` and for the
wrong ``0.5·x/‖x‖₂``; it counts the evaluations of f and of the gradient the check makes,
and reports the check's time as a multiple of one evaluation of f. torch's fast-mode
gradcheck and jax's ``check_grads`` make about 4–8 evaluations of f; the check should
cost no more. The verdicts (right passes, wrong fails) are reported too; nothing is
asserted.

``--default`` times ``d.check()`` with its default options (6 random points and more,
the value kernel compared with an independent evaluation at each, two far points) for
ten small derivations (vectors and matrices of sizes 2 to 5), after one warm-up each,
best of ``--repeat`` rounds; and counts the kernel calls of one round.
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


DEFAULT_CASES = ["norm(A*x - b, 2)", "norm(x, 1) + 0.5*norm(x, 2)**2",
                 "sigmoid(a.T*x) + log(1 + x.T*x)", "max(norm(x, 3), a.T*x)",
                 "softplus(norm(x - a, 3/2))", "norm(X, nuc) + trace(A*X)",
                 "norm(A*X - B, fro)**2", "exp(-norm(x - a, 2)**2)", "sqrt(x.T*x + 1)",
                 "abs(a.T*x - 1)"]


def run_default(repeat: int = 5) -> dict:
    """Milliseconds per default check of the DEFAULT_CASES derivations, and kernel calls."""
    derivations = []
    for text in DEFAULT_CASES:
        shapes = {k: ("n", "n") for k in ("X", "A", "B") if "X" in text and k in text}
        f = sn.parse(text, **shapes)
        var = next(s for s in f.free_symbols if getattr(s, "name", "") in ("x", "X"))
        derivations.append(sn.grad(f, var, check=False))
    for d in derivations:
        d.check()  # warm-up: kernels compiled
    calls = {"n": 0}
    original = kernel_module.Kernel.__call__

    def counting(self, *a, **k):
        calls["n"] += 1
        return original(self, *a, **k)

    kernel_module.Kernel.__call__ = counting
    try:
        verdicts = [d.check().ok for d in derivations]
    finally:
        kernel_module.Kernel.__call__ = original
    total = _best(lambda: [d.check() for d in derivations], repeat)
    return {"cases": len(derivations), "ms_per_check": 1e3 * total / len(derivations),
            "kernel_calls_per_check": calls["n"] / len(derivations), "all_pass": all(verdicts)}


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
    ap.add_argument("--default", action="store_true",
                    help="time the default check of ten small derivations instead")
    args = ap.parse_args(argv)
    if args.default:
        r = run_default(args.repeat)
        print(f"default check, {r['cases']} derivations: {r['ms_per_check']:.1f} ms each, "
              f"{r['kernel_calls_per_check']:.1f} kernel calls each, all pass: "
              f"{r['all_pass']}")
        return
    print(markdown(run([int(s) for s in args.sizes], args.repeat)))


if __name__ == "__main__":
    main()
