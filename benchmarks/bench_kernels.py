"""Throughput of symnorm's gradient kernels against numpy baselines, in one process.

Run::

    python benchmarks/bench_kernels.py                      # n = 1e6 and 1e7
    python benchmarks/bench_kernels.py --sizes 1e6 --repeat 9 --markdown kernels.md

For every size the script times, with ``time.perf_counter`` and after a warm-up call,

* the memory-traffic floor ``np.copyto(out, x)`` (one read pass, one write pass),
* hand-written numpy for each gradient,
* the symnorm kernels of ∇‖x‖₂, ∇‖x‖₁ and ∇‖x‖_p (p = 3 numeric, and p symbolic
  called with 3.0), with ``out=`` and (for L2) without,
* ∇ₓ‖Ax − b‖₂ with A of n entries, tall (n/100 × 100) and square (√n × √n), against
  ``A.T @ r / np.linalg.norm(r)`` with ``r = A @ x - b``,

and reports each kernel's time as a ratio to the baselines measured in the same
process. Candidates are timed round-robin (one sample of each per round, ``--repeat``
rounds) and the best sample is kept, so slow drift of the machine affects all of them
alike. Every kernel's result is compared with its hand-written numpy counterpart first.

The targets below are reported, never asserted.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

import symnorm as sn

#: (kernel label, baseline key, the kernel's time may be at most this multiple of it)
TARGETS: list[tuple[str, str, float]] = [
    ("symnorm ∇‖x‖₂ (out=)", "copyto", 1.3),
    ("symnorm ∇‖x‖₂ (out=)", "hand", 1.1),
    ("symnorm ∇‖x‖₁ (out=)", "copyto", 1.3),
]

P = 3.0  # the exponent of the p-norm benchmarks


@dataclass
class Case:
    """One timed callable; ``hand`` names the hand-numpy case it is compared with."""

    label: str
    func: Callable[[], object] | None
    hand: str | None = None
    hand_note: str = ""
    expect: Callable[[], np.ndarray] | None = None  # result to agree with (checked once)
    same_as: str | None = None  # report another case's time (func is None then)


def build_kernels() -> dict[str, sn.Kernel]:
    """The symnorm kernels under test (derived and finite-difference checked once)."""
    x = sn.vector("x")
    p = sn.scalar("p")
    return {
        "l2": sn.grad(sn.norm(x, 2), x).kernel(),
        "l1": sn.grad(sn.norm(x, 1), x).kernel(),
        "p3": sn.grad(sn.norm(x, sp.Rational(3)), x).kernel(),
        "psym": sn.grad(sn.norm(x, p), x).kernel(),
        "res": sn.grad(sn.norm(sn.matrix("A", "m", "n") * x - sn.vector("b", "m"), 2),
                       x).kernel(),
    }


def hand_lp_grad(x: np.ndarray, p: float) -> np.ndarray:
    """The textbook numpy ∇‖x‖_p."""
    return np.sign(x) * np.abs(x) ** (p - 1) / np.linalg.norm(x, p) ** (p - 1)


def make_cases(n: int, kernels: dict[str, sn.Kernel], seed: int = 0) -> list[Case]:
    """Baselines and kernels for vectors of length ``n`` (float64)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    out = np.empty_like(x)
    k2, k1, kp3, kps = kernels["l2"], kernels["l1"], kernels["p3"], kernels["psym"]

    def l2_hand() -> np.ndarray:
        return x / np.linalg.norm(x)

    def lp_hand() -> np.ndarray:
        return hand_lp_grad(x, P)

    lp = "numpy sign(x)*abs(x)**(p-1)/norm(x,p)**(p-1)"
    lp_note = "sign*abs(x)**(p-1)/..."
    return [
        Case("numpy np.copyto(out, x)", lambda: np.copyto(out, x)),
        Case("numpy np.divide(x, np.linalg.norm(x), out=out)",
             lambda: np.divide(x, np.linalg.norm(x), out=out)),
        Case("numpy x/np.linalg.norm(x)", l2_hand),
        Case("numpy np.sign(x, out=out)", lambda: np.sign(x, out=out)),
        Case(lp, lp_hand),
        Case("symnorm ∇‖x‖₂ (out=)", lambda: k2(x, out=out),
             hand="numpy np.divide(x, np.linalg.norm(x), out=out)", hand_note="np.divide out=",
             expect=l2_hand),
        Case("symnorm ∇‖x‖₂ (out=)", None, same_as="symnorm ∇‖x‖₂ (out=)",
             hand="numpy x/np.linalg.norm(x)", hand_note="x/np.linalg.norm(x)"),
        Case("symnorm ∇‖x‖₂ (no out)", lambda: k2(x),
             hand="numpy x/np.linalg.norm(x)", hand_note="x/np.linalg.norm(x)", expect=l2_hand),
        Case("symnorm ∇‖x‖₁ (out=)", lambda: k1(x, out=out),
             hand="numpy np.sign(x, out=out)", hand_note="np.sign out=",
             expect=lambda: np.sign(x)),
        Case("symnorm ∇‖x‖_3 (p=3 numeric, out=)", lambda: kp3(x, out=out),
             hand=lp, hand_note=lp_note, expect=lp_hand),
        Case("symnorm ∇‖x‖_p (p symbolic = 3.0, out=)", lambda: kps(x, P, out=out),
             hand=lp, hand_note=lp_note, expect=lp_hand),
        *residual_cases(n, kernels["res"], rng),
    ]


def residual_cases(n: int, kernel: sn.Kernel, rng: np.random.Generator) -> list[Case]:
    """∇ₓ‖Ax − b‖₂ for A of ``n`` entries, tall and square, against hand numpy."""
    cases = []
    side = int(round(n ** 0.5))
    for name, (rows, cols) in (("tall", (max(1, n // 100), 100)), ("square", (side, side))):
        a = rng.standard_normal((rows, cols))
        x, b, out = rng.standard_normal(cols), rng.standard_normal(rows), np.empty(cols)

        def hand(a=a, x=x, b=b) -> np.ndarray:
            r = a @ x - b
            return a.T @ r / np.linalg.norm(r)

        label = f"numpy A.T @ r / norm(r), A {name} {rows}×{cols}"
        cases += [
            Case(label, hand),
            Case(f"symnorm ∇‖Ax − b‖₂, A {name} {rows}×{cols} (out=)",
                 lambda a=a, x=x, b=b, out=out: kernel(A=a, b=b, x=x, out=out),
                 hand=label, hand_note="A.T @ r / norm(r)", expect=hand),
        ]
    return cases


def _loops_for(func: Callable[[], object], min_sample: float) -> int:
    """Calls per sample so that one sample lasts at least ``min_sample`` seconds."""
    t = time.perf_counter()
    func()
    once = time.perf_counter() - t
    return max(1, int(np.ceil(min_sample / max(once, 1e-9))))


def time_cases(cases: Sequence[Case], repeat: int, min_sample: float = 0.005) -> dict[str, float]:
    """Best seconds per call of each case: warm-up, then ``repeat`` round-robin rounds.

    Each sample is preceded by one untimed call of the same case (so it starts from the
    cache state that case leaves, not the one the previous case left); GC is off.

    Cases without ``func`` (rows that reuse another case's time) are skipped.
    """
    cases = [c for c in cases if c.func is not None]
    for c in cases:  # warm-up (page faults, caches, lazy imports)
        c.func()
    loops = {c.label: _loops_for(c.func, min_sample) for c in cases}
    best = {c.label: float("inf") for c in cases}
    timer = time.perf_counter
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(max(1, repeat)):
            for c in cases:
                f, k = c.func, loops[c.label]
                f()  # untimed: the previous case's temporaries evicted x and out from cache
                t0 = timer()
                for _ in range(k):
                    f()
                dt = (timer() - t0) / k
                best[c.label] = min(best[c.label], dt)
    finally:
        if gc_was_enabled:
            gc.enable()
    return best


def check_agreement(cases: Sequence[Case]) -> None:
    """Every kernel agrees with its hand-written counterpart before it is timed."""
    for c in cases:
        if c.expect is None or c.func is None:
            continue
        got = np.array(c.func(), copy=True)
        want = c.expect()
        if not np.allclose(got, want, rtol=1e-10, atol=1e-300):
            err = np.max(np.abs(got - want))
            raise AssertionError(f"{c.label} disagrees with numpy (max abs err {err:g})")


def run(sizes: Sequence[int], repeat: int = 15, min_sample: float = 0.005,
        seed: int = 0) -> list[dict]:
    """Time all cases for every size; one dict per (case, size), ratios included.

    Keys: ``kernel``, ``n``, ``seconds``, ``ms``, ``vs_copyto``, ``vs_hand`` (None for
    baselines), ``hand`` (the hand-numpy baseline's label or None), ``hand_note``,
    ``alias`` (True for a row that repeats another row's time against a second baseline),
    ``other_load`` (share of the machine other processes used meanwhile, or None).
    """
    kernels = build_kernels()
    rows: list[dict] = []
    for n in sizes:
        n = int(n)
        cases = make_cases(n, kernels, seed=seed)
        check_agreement(cases)
        with CpuMonitor() as mon:
            best = time_cases(cases, repeat, min_sample)
        floor = best["numpy np.copyto(out, x)"]
        for c in cases:
            t = best[c.same_as or c.label]
            rows.append({
                "kernel": c.label, "n": n, "seconds": t, "ms": t * 1e3,
                "vs_copyto": t / floor,
                "vs_hand": t / best[c.hand] if c.hand else None,
                "hand": c.hand, "hand_note": c.hand_note, "alias": c.same_as is not None,
                "other_load": mon.other,
            })
        del cases
    return rows


def targets(rows: Sequence[dict]) -> list[dict]:
    """The reported targets, one dict per (target, size): ``met`` is a bool."""
    found = []
    for label, key, limit in TARGETS:
        for r in rows:
            if r["kernel"] != label or r["alias"]:
                continue
            ratio = r["vs_copyto"] if key == "copyto" else r["vs_hand"]
            what = "np.copyto" if key == "copyto" else r["hand_note"]
            found.append({"kernel": label, "n": r["n"], "baseline": what, "limit": limit,
                          "ratio": ratio, "met": ratio <= limit})
    return found


def _fmt_n(n: int) -> str:
    e = int(round(np.log10(n))) if n > 0 else 0
    return f"1e{e}" if 10 ** e == n else str(n)


def _system_busy_seconds() -> float | None:
    """CPU seconds all processes spent busy since boot (Linux ``/proc/stat``), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    if not fields or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / ticks


class CpuMonitor:
    """How busy the *other* processes kept the machine while a block ran (Linux only).

    ``other`` is the CPU time used by everything but this process, as a fraction of
    the CPUs' capacity over the wall time (0 = we had the machine alone, 0.5 = another
    process kept one of 2 cores busy). None where ``/proc/stat`` is unavailable.
    """

    other: float | None = None

    def __enter__(self) -> CpuMonitor:
        self._busy = _system_busy_seconds()
        self._own = time.process_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        busy = _system_busy_seconds()
        wall = time.perf_counter() - self._wall
        if busy is None or self._busy is None or wall <= 0:
            return
        others = (busy - self._busy) - (time.process_time() - self._own)
        self.other = max(0.0, others) / (wall * (os.cpu_count() or 1))


def environment() -> str:
    """One line describing the machine and the numpy/BLAS setup."""
    blas = os.environ.get("OPENBLAS_CORETYPE")
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return (f"Python {platform.python_version()}, numpy {np.__version__}, sympy {sp.__version__}, "
            f"{os.cpu_count()} CPUs, {platform.machine()}; OPENBLAS_CORETYPE="
            f"{blas or '(unset)'}; BLAS threads env={threads or '(unset)'}")


def markdown(rows: Sequence[dict], repeat: int) -> str:
    """The results table and the target verdicts as markdown."""
    lines = [
        f"Environment: {environment()}; best of {repeat} round-robin rounds.",
        "",
        "| kernel | n | time ms | ratio vs copyto | ratio vs hand numpy | hand numpy baseline |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        hand = "—" if r["vs_hand"] is None else f"{r['vs_hand']:.2f}"
        lines.append(f"| {r['kernel']} | {_fmt_n(r['n'])} | {r['ms']:.3f} | "
                     f"{r['vs_copyto']:.2f} | {hand} | {r['hand_note'] or '—'} |")
    loads = {r["n"]: r["other_load"] for r in rows if r["other_load"] is not None}
    if loads:
        busy = ", ".join(f"n={_fmt_n(n)}: {v:.0%}" for n, v in loads.items())
        lines += ["", f"Other processes' CPU use while timing (share of all CPUs): {busy}."]
        if max(loads.values()) > 0.1:
            lines.append("Warning: other processes competed for the CPUs (and the shared cache "
                         "and memory bandwidth); BLAS threads stall then, so these figures "
                         "are noisy.")
    lines += ["", "Targets (reported, not asserted):", ""]
    for t in targets(rows):
        verdict = "met" if t["met"] else "**NOT met**"
        lines.append(f"- {t['kernel']}, n={_fmt_n(t['n'])}: {t['ratio']:.2f}x {t['baseline']} "
                     f"(target ≤ {t['limit']}x): {verdict}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7],
                    help="vector lengths (floats such as 1e6 are accepted)")
    ap.add_argument("--repeat", type=int, default=15, help="round-robin rounds; best is kept")
    ap.add_argument("--min-sample", type=float, default=0.005,
                    help="seconds one sample lasts at least (calls are looped)")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes]
    print(environment(), file=sys.stderr)
    rows = run(sizes, args.repeat, args.min_sample)
    text = markdown(rows, args.repeat)
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
