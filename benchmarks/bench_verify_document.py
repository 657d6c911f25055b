"""How long ``symnorm verify notes.tex`` takes for a document of 200 derivative claims.

Run::

    python benchmarks/bench_verify_document.py                  # 200 claims
    python benchmarks/bench_verify_document.py --claims 50 200 400 --repeat 3

The document is generated: lecture notes in sections, each defining a function
(``f_k(x) = ...``: norms, least squares, a quadratic form, Lasso, a matrix norm, a
logistic loss) and making claims about it in every notation (``\\nabla f``,
``\\frac{\\partial f}{\\partial x_i}``, ``\\nabla^2 f``, ``\\partial f/\\partial X``, Unicode,
a chain over three lines), about one in six wrong. Each run is a fresh process state for
symnorm's own caches (a new :func:`symnorm.verify_document` call; SymPy's cache is
cleared first), so the time includes every derivation. The baseline, timed in the same
process, is reading alone: the file's math found and every claim's left side read
(``read_source``, ``math_blocks``, ``equations``). The issue's target, 200 claims in under
20 s, is printed as met / not met; nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import sympy as sp

import symnorm as sn
from symnorm.language.claims import read_head, relation_pieces
from symnorm.language.tex_source import equations, math_blocks, read_source

# (definition, [claims]) a section: claims about f_k as written in notes
_SECTIONS = [
    (r"f(x) = \|x\|_2", [
        r"\nabla f = \frac{x}{\|x\|_2}",
        r"\frac{\partial f}{\partial x_i} = \frac{x_i}{\|x\|_2}",
        r"\nabla^2 f = \frac{1}{\|x\|_2}\left(I - \frac{x x^\top}{\|x\|_2^2}\right)",
        r"\nabla f = \frac{2x}{\|x\|_2}",
    ]),
    (r"f(x) = \frac{1}{2}\|Ax - b\|_2^2", [
        r"\nabla f = A^\top (Ax - b)",
        r"\nabla_x f(x) = A^\top A x - A^\top b",
        r"\nabla^2 f = A^\top A",
        r"\nabla f = A^\top A x + A^\top b",
    ]),
    (r"f(x) = \lambda \|x\|_1 + \frac{\mu}{2}\|x\|_2^2", [
        r"\nabla f = \lambda \operatorname{sign}(x) + \mu x",
        r"\frac{\partial f}{\partial x_i} = \lambda \operatorname{sign}(x_i) + \mu x_i",
        "∇f = λ sign(x) + μ x",
    ]),
    (r"f(x) = x^\top S x", [
        r"\nabla f = (S + S^\top) x",
        r"\nabla^2 f = S + S^\top",
        r"\nabla f = 2 S x",
    ]),
    (r"f(X) = \|X\|_F^2", [
        r"\partial f / \partial X = 2X",
        r"\frac{\partial f}{\partial X_{ij}} = 2 X_{ij}",
    ]),
    (r"f(x) = \|x\|_3", [
        r"\nabla f = \frac{x \odot |x|}{\|x\|_3^2}",
        r"\nabla f = \frac{x \odot |x|}{\|x\|_3}",
    ]),
]
_CHAIN = (r"\nabla_x \frac{1}{2}\|Ax - b\|_2^2 &= A^\top (Ax - b) \\" "\n"
          r"  &= A^\top A x - A^\top b \\" "\n"
          r"  &= A^\top (A x - b)")


def document(claims: int) -> str:
    """A .tex document with ``claims`` derivative claims (a chain counts its steps)."""
    parts = ["\\documentclass{article}", "\\usepackage{amsmath}", "\\begin{document}"]
    count, section = 0, 0
    while count < claims:
        definition, items = _SECTIONS[section % len(_SECTIONS)]
        parts.append(f"\\section{{Part {section + 1}}}")
        parts.append(f"Let ${definition}$.")
        for item in items:
            if count >= claims:
                break
            parts += ["\\begin{equation}", f"  {item}", "\\end{equation}"]
            count += 1
        if count + 3 <= claims and section % 3 == 2:
            parts += ["\\begin{align}", _CHAIN, "\\end{align}"]
            count += 3
        section += 1
    parts.append("\\end{document}")
    return "\n".join(parts) + "\n"


def _read_only(path: Path) -> int:
    source = read_source(path)
    heads = 0
    for block in math_blocks(source):
        clean, rows = equations(source.text, block)
        for row in rows:
            for s, e in row:
                pieces = relation_pieces(clean, s, e)
                if len(pieces) > 1 and pieces[0][0] < pieces[0][1]:
                    heads += read_head(clean, pieces[0][0], pieces[0][1]) is not None
    return heads


def run(claims: Sequence[int] = (200,), repeat: int = 1) -> list[dict]:
    """One row per document size: seconds to verify it (best of ``repeat``), per claim,
    against reading alone, and the report's counts."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n in claims:
            path = Path(folder) / f"notes{n}.tex"
            path.write_text(document(n))
            best, report = float("inf"), None
            for _ in range(repeat):
                sp.core.cache.clear_cache()
                t0 = time.perf_counter()
                report = sn.verify_document(path)
                best = min(best, time.perf_counter() - t0)
            t0 = time.perf_counter()
            _read_only(path)
            reading = time.perf_counter() - t0
            assert report is not None
            rows.append({"claims": len(report.claims), "seconds": best,
                         "ms_per_claim": 1000 * best / max(len(report.claims), 1),
                         "reading_seconds": reading,
                         "vs_reading": best / reading if reading else float("inf"),
                         "counts": report.counts})
    return rows


def markdown(rows: list[dict]) -> str:
    out = ["| claims | seconds | ms per claim | reading alone (s) | verdicts |",
           "|---|---|---|---|---|"]
    for r in rows:
        counts = ", ".join(f"{v} {k}" for k, v in r["counts"].items())
        out.append(f"| {r['claims']} | {r['seconds']:.2f} | {r['ms_per_claim']:.0f} | "
                   f"{r['reading_seconds']:.3f} | {counts} |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claims", type=int, nargs="+", default=[200])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    rows = run(args.claims, args.repeat)
    print(markdown(rows))
    for r in rows:
        if r["claims"] >= 200:
            verdict = "met" if r["seconds"] < 20 else "NOT met"
            print(f"target: {r['claims']} claims in under 20 s: {verdict} "
                  f"({r['seconds']:.1f} s)")


if __name__ == "__main__":
    main()
