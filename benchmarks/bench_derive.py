"""Derivation time: symnorm's one symbolic-n gradient of ‖Ax − b‖₂ vs explicit SymPy.

Run::

    python benchmarks/bench_derive.py                       # n = 10, 100, 1000; m = 2
    python benchmarks/bench_derive.py --sizes 10 100 --m 3 --repeat 5 --markdown derive.md

symnorm derives ∇ₓ‖Ax − b‖₂ once, for a *symbolic* length n (``sn.grad(..., check=False)``
then ``.kernel()``); that one derivation is timed ``--repeat`` times (the first call is
reported separately as "cold"). The explicit baseline builds, for each concrete n,

    xs = sp.symbols('x0:n', real=True);  A = m×n matrix of real symbols;  b = m real symbols
    f  = sqrt(Σᵢ ((A x − b)ᵢ)²);  [sp.diff(f, xj) for xj in xs];  sp.lambdify(...)

and its cost grows with n, while symnorm's is flat in n: the same compiled kernel is run
at every n and must agree with the lambdified explicit gradient to 1e-10.

Size of A. A has a fixed number of rows m for every n, m = 2 by default (``--m``). With
m = n the explicit problem at n = 1000 holds 10⁶ symbols of A and is out of reach; the
explicit cost grows roughly like m·n², and on the 2-core machine these figures come from
m = 3 already needs 114 s for ``sp.diff`` alone at n = 1000 (m = 2: 70 s), so m = 2 is the
largest m that keeps the whole run under two minutes (~90 s). (m = 1 is avoided on purpose:
SymPy rewrites sqrt(r²) to |r| for real r, a different problem.)

CSE in lambdify. Without common-subexpression elimination the printed explicit gradient
repeats the m residuals and the norm in every one of the n components (printing alone
takes minutes at n = 1000); SymPy's own ``cse=True`` is quadratic here (its argument
matching of Adds/Muls: ~130 s at n = 500). The default ``--cse tree`` passes lambdify a
plain ``tree_cse`` (shared subtrees only, no argument matching), which is far cheaper and
gives the explicit side its best time. ``--cse sympy`` and ``--cse none`` are available.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp
from sympy.core.cache import clear_cache
from sympy.simplify.cse_main import tree_cse

import symnorm as sn

TOL = 1e-10
CSE_MODES = ("tree", "sympy", "none")


def tree_cse_only(exprs: Sequence[sp.Expr]) -> tuple[list, list]:
    """``sp.cse`` without its quadratic argument-matching pass: shared subtrees only."""
    return tree_cse(list(exprs), sp.numbered_symbols("_cse"), opt_subs={}, order="none")


def _lambdify_cse(mode: str) -> object:
    if mode not in CSE_MODES:
        raise ValueError(f"cse mode must be one of {CSE_MODES}, got {mode!r}")
    return {"tree": tree_cse_only, "sympy": True, "none": False}[mode]


def symnorm_derive() -> sn.Kernel:
    """Derive and compile ∇ₓ‖Ax − b‖₂ for symbolic sizes (no finite-difference check)."""
    x = sn.vector("x")
    A = sn.matrix("A")
    b = sn.vector("b", "m")
    return sn.grad(sn.norm(A * x - b, 2), x, check=False).kernel()


def time_symnorm(repeat: int = 5) -> dict:
    """Seconds per derive+compile: ``cold`` (first call), ``best``, ``median``, ``times``.

    SymPy's global cache is cleared before every call, so no call reuses another's work.
    """
    times = []
    kernel = None
    for _ in range(max(1, repeat)):
        clear_cache()
        t0 = time.perf_counter()
        kernel = symnorm_derive()
        times.append(time.perf_counter() - t0)
    return {"cold": times[0], "best": min(times), "median": float(np.median(times)),
            "times": times, "kernel": kernel}


def explicit_gradient(n: int, m: int, cse: str = "tree") -> dict:
    """SymPy on explicit components; seconds for building+diff and for lambdify.

    The returned ``func`` is called as ``func(x, A.ravel(), b)``. SymPy's cache is
    cleared first, as for symnorm.
    """
    clear_cache()
    t0 = time.perf_counter()
    xs = sp.symbols(f"x0:{n}", real=True)
    A = sp.Matrix(m, n, lambda i, j: sp.Symbol(f"A{i}_{j}", real=True))
    bs = sp.symbols(f"b0:{m}", real=True)
    r = A * sp.Matrix(xs) - sp.Matrix(bs)
    f = sp.sqrt(sum(ri**2 for ri in r))
    grad = [sp.diff(f, xj) for xj in xs]
    t1 = time.perf_counter()
    func = sp.lambdify((list(xs), list(A), list(bs)), grad, "numpy", cse=_lambdify_cse(cse))
    t2 = time.perf_counter()
    return {"diff": t1 - t0, "lambdify": t2 - t1, "total": t2 - t0, "func": func}


def _eval_seconds(f: Callable[[], object], min_time: float = 0.02) -> float:
    """Best seconds per call of ``f`` (a few samples, calls looped)."""
    f()
    t = time.perf_counter()
    f()
    once = max(time.perf_counter() - t, 1e-9)
    loops = max(1, int(min_time / once))
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(loops):
            f()
        best = min(best, (time.perf_counter() - t) / loops)
    return best


def compare(kernel: sn.Kernel, func: Callable, n: int, m: int, seed: int = 0) -> dict:
    """Run both gradients at one random point; their largest difference and eval times."""
    rng = np.random.default_rng(seed + n)
    x = rng.standard_normal(n)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    got = kernel(x=x, A=A, b=b)
    want = np.asarray(func(x, A.ravel(), b), dtype=float)
    err = float(np.max(np.abs(got - want)))
    if not err <= TOL:
        raise AssertionError(f"symnorm and explicit SymPy disagree at n={n}: max |diff| {err:g}")
    return {
        "max_abs_diff": err,
        "symnorm_eval": _eval_seconds(lambda: kernel(x=x, A=A, b=b)),
        "explicit_eval": _eval_seconds(lambda: func(x, A.ravel(), b)),
    }


def _warm_up(cse: str) -> None:
    """First-use costs (lazy imports of printers, numpy namespaces) paid outside timing."""
    w = sp.Symbol("w", real=True)
    sp.lambdify([w], [sp.diff(sp.sqrt(w**2 + 1), w)], "numpy", cse=_lambdify_cse(cse))(1.0)


def run(sizes: Sequence[int] = (10, 100, 1000), m: int = 2, repeat: int = 5,
        cse: str = "tree") -> list[dict]:
    """One dict per n: the explicit seconds, symnorm's (same derivation for all n), ratio."""
    _warm_up(cse)
    sym = time_symnorm(repeat)
    kernel = sym["kernel"]
    rows = []
    for n in sizes:
        n = int(n)
        ex = explicit_gradient(n, m, cse=cse)
        cmp = compare(kernel, ex["func"], n, m)
        rows.append({
            "n": n, "m": m, "cse": cse,
            "explicit_diff": ex["diff"], "explicit_lambdify": ex["lambdify"],
            "explicit_total": ex["total"],
            "symnorm_cold": sym["cold"], "symnorm_best": sym["best"],
            "symnorm_median": sym["median"],
            "ratio": ex["total"] / sym["median"],
            "ratio_vs_cold": ex["total"] / sym["cold"],
            **cmp,
        })
    return rows


def markdown(rows: Sequence[dict], repeat: int) -> str:
    """The results as a markdown table with a short legend."""
    if not rows:
        return ""
    m, cse = rows[0]["m"], rows[0]["cse"]
    r0 = rows[0]
    lines = [
        f"∇ₓ‖Ax − b‖₂ with A of m = {m} rows (fixed m, not m = n); explicit SymPy: "
        f"`sp.diff` per component then `sp.lambdify` (CSE: {cse}). symnorm: ONE derivation "
        f"for symbolic n (`sn.grad(..., check=False).kernel()`), timed {repeat}x: "
        f"SymPy cache cleared before each; cold (first, incl. one-off first-use costs) "
        f"{r0['symnorm_cold']:.4f} s, median {r0['symnorm_median']:.4f} s, "
        f"best {r0['symnorm_best']:.4f} s. The same symnorm row is repeated at every n "
        f"(flat in n); its kernel is run at every n and checked against the explicit "
        f"gradient (max |diff| ≤ {TOL:g}).",
        "",
        "| n | explicit diff s | explicit lambdify s | explicit total s | symnorm s (median) "
        "| ratio explicit/symnorm | ratio vs symnorm cold | max abs diff "
        "| eval symnorm µs | eval explicit µs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']} | {r['explicit_diff']:.3f} | {r['explicit_lambdify']:.3f} | "
            f"{r['explicit_total']:.3f} | {r['symnorm_median']:.4f} | {r['ratio']:.0f}x | "
            f"{r['ratio_vs_cold']:.0f}x | "
            f"{r['max_abs_diff']:.1e} | {r['symnorm_eval'] * 1e6:.1f} | "
            f"{r['explicit_eval'] * 1e6:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[10, 100, 1000])
    ap.add_argument("--m", type=int, default=2, help="rows of A (fixed for every n)")
    ap.add_argument("--repeat", type=int, default=5, help="symnorm derivations timed")
    ap.add_argument("--cse", choices=CSE_MODES, default="tree",
                    help="CSE for lambdify: tree_cse only (default), sympy's cse, none")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows = run(args.sizes, args.m, args.repeat, args.cse)
    text = markdown(rows, args.repeat)
    print(text)
    print(f"total wall time {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
