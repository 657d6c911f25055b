"""Matrix-norm kernels (nuclear and spectral gradients, singular value thresholding)
against hand-written numpy, timed in the same process.

Run::

    python benchmarks/bench_matrix.py                       # 100 x 100 and 1000 x 1000
    python benchmarks/bench_matrix.py --sizes 100 --repeat 9 --markdown matrix.md

Every kernel is dominated by one SVD, so the baselines are the same computation written
by hand: ``np.linalg.svd`` and the product ``U V^T``, ``u_1 v_1^T`` or
``U max(S - lam, 0) V^T``; and ``np.linalg.svd`` alone, the floor. The ratio says what
symnorm's generated code (argument handling, tie and rank tolerances, batching, ``out=``)
costs on top. Timing (warm-up, round-robin rounds, best sample, GC off) comes from
``bench_kernels.py``. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys
from collections.abc import Sequence

import numpy as np

import symnorm as sn

_HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_kernels", _HERE / "bench_kernels.py")
bk = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bench_kernels", bk)
_spec.loader.exec_module(bk)  # type: ignore[union-attr]

LAM = 0.5


def build_kernels() -> dict:
    X = sn.matrix("X")
    lam = sn.scalar("lam", positive=True)
    return {
        "nuc": sn.grad(sn.norm(X, "nuc"), X).kernel(),
        "spectral": sn.grad(sn.norm(X, 2), X).kernel(),
        "svt": sn.prox(lam * sn.norm(X, "nuc"), X).kernel(),
    }


def make_cases(size: int, kernels: dict, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((size, size))
    out = np.empty_like(x)
    Case = bk.Case

    def svd_only() -> object:
        return np.linalg.svd(x, full_matrices=False)

    def nuc_hand() -> np.ndarray:
        u, _, vt = np.linalg.svd(x, full_matrices=False)
        return u @ vt

    def spectral_hand() -> np.ndarray:
        u, _, vt = np.linalg.svd(x, full_matrices=False)
        return np.outer(u[:, 0], vt[0])

    def svt_hand() -> np.ndarray:
        u, s, vt = np.linalg.svd(x, full_matrices=False)
        return (u * np.maximum(s - LAM, 0)) @ vt

    k = kernels
    return [
        Case("numpy np.linalg.svd (floor)", svd_only),
        Case("numpy U @ Vt", nuc_hand),
        Case("numpy outer(u1, v1)", spectral_hand),
        Case("numpy U max(S - lam, 0) Vt", svt_hand),
        Case("symnorm ∇‖X‖_* (out=)", lambda: k["nuc"](x, out=out), hand="numpy U @ Vt",
             hand_note="svd + U Vᵀ", expect=nuc_hand),
        Case("symnorm ∇‖X‖₂ (out=)", lambda: k["spectral"](x, out=out),
             hand="numpy outer(u1, v1)", hand_note="svd + u₁v₁ᵀ", expect=spectral_hand),
        Case("symnorm prox λ‖·‖_* (SVT, out=)", lambda: k["svt"](x, LAM, out=out),
             hand="numpy U max(S - lam, 0) Vt", hand_note="svd + U max(S−λ,0) Vᵀ",
             expect=svt_hand),
    ]


def check_agreement(cases: Sequence) -> None:
    """Each kernel agrees with its hand-written counterpart before it is timed."""
    for c in cases:
        if c.expect is None:
            continue
        got, want = np.array(c.func(), copy=True), c.expect()
        err = float(np.max(np.abs(got - want)))
        if err > 1e-10 * max(1.0, float(np.max(np.abs(want)))):
            raise AssertionError(f"{c.label} disagrees with numpy (max abs err {err:g})")


def run(sizes: Sequence[int], repeat: int = 5, min_sample: float = 0.005) -> list[dict]:
    """One dict per (case, size): ``kernel``, ``n`` (the matrix is n x n), ``seconds``,
    ``ms``, ``vs_svd`` (ratio to the bare SVD), ``vs_hand`` (None for baselines),
    ``hand``, ``hand_note``."""
    kernels = build_kernels()
    rows = []
    for n in sizes:
        cases = make_cases(int(n), kernels)
        check_agreement(cases)
        best = bk.time_cases(cases, repeat, min_sample)
        floor = best["numpy np.linalg.svd (floor)"]
        for c in cases:
            t = best[c.label]
            rows.append({"kernel": c.label, "n": int(n), "seconds": t, "ms": t * 1e3,
                         "vs_svd": t / floor, "vs_hand": t / best[c.hand] if c.hand else None,
                         "hand": c.hand, "hand_note": c.hand_note})
    return rows


def markdown(rows: Sequence[dict], repeat: int) -> str:
    lines = [f"Environment: {bk.environment()}; best of {repeat} round-robin rounds.", "",
             "| kernel | matrix | time ms | ratio vs svd alone | ratio vs hand numpy |",
             "|---|---:|---:|---:|---:|"]
    for r in rows:
        hand = "—" if r["vs_hand"] is None else f"{r['vs_hand']:.2f}"
        lines.append(f"| {r['kernel']} | {r['n']}×{r['n']} | {r['ms']:.2f} | "
                     f"{r['vs_svd']:.2f} | {hand} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[100, 1000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--markdown", help="also write the table to this file")
    args = ap.parse_args(argv)
    text = markdown(run(args.sizes, args.repeat), args.repeat)
    print(text)
    if args.markdown:
        pathlib.Path(args.markdown).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
