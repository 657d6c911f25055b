"""Start-up cost: cold imports of symnorm in fresh processes, on top of ``import sympy``.

    python benchmarks/bench_import.py                       # every case, best of 9
    python benchmarks/bench_import.py --repeat 15 --markdown import.md
    python benchmarks/bench_import.py --cases python sympy lazy version

Every case is a new ``python -c`` process started from the repository root (so this
checkout's ``symnorm`` is the one imported), timed from start to exit with
``time.perf_counter``: interpreter start-up, the imports, and shut-down. Cases run
round-robin (one process of each per round, ``--repeat`` rounds) and the best time is
kept, so a busy moment on a shared machine hits every case of a round alike.

Imports are timed as an installed package runs them, from cached bytecode: the processes
write and read their ``.pyc`` files in a private cache (``PYTHONPYCACHEPREFIX``, a
temporary folder unless ``--pycache`` names one; ``PYTHONDONTWRITEBYTECODE`` is dropped
for them), and one untimed warm-up round fills it. Nothing is written into the checkout.

Each case is reported as its wall time and as the time on top of its reference: the
bare interpreter for the cases that load no SymPy (``import symnorm``, which is lazy,
and ``symnorm --version``/``--help``), ``import sympy`` for the others. An untimed run of
each case counts the modules it leaves in ``sys.modules`` and says whether SymPy and
numpy are among them. Targets are reported, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The console script ``symnorm`` that pip installs runs exactly this.
_CLI = "import sys; from symnorm.cli import main; sys.exit(main())"


@dataclass(frozen=True)
class Case:
    """One process to time: ``python -c code *argv``; ``reference`` is the case its cost
    is reported on top of."""

    key: str
    label: str
    code: str
    argv: tuple[str, ...] = ()
    reference: str | None = "sympy"


CASES: tuple[Case, ...] = (
    Case("python", "bare interpreter (`python -c pass`)", "pass", reference=None),
    Case("numpy", "`import numpy`", "import numpy", reference="python"),
    Case("sympy", "`import sympy`", "import sympy", reference="python"),
    Case("lazy", "`import symnorm` (lazy)", "import symnorm", reference="python"),
    Case("version", "`symnorm --version`", _CLI, ("--version",), reference="python"),
    Case("help", "`symnorm --help`", _CLI, ("--help",), reference="python"),
    Case("deps", "`import sympy, numpy, lark` (the stack's dependencies)",
         "import sympy, numpy, lark"),
    Case("kernel", "`from symnorm.kernels.kernel import kernel`",
         "from symnorm.kernels.kernel import kernel"),
    Case("stack", "`import symnorm; symnorm.grad` (what a first gradient loads)",
         "import symnorm; symnorm.grad"),
    Case("first-grad", "`symnorm.grad`, a first checked ∇‖x‖₂ and one kernel call",
         "import numpy as np, symnorm as sn; x = sn.vector('x'); "
         "sn.grad(sn.norm(x, 2), x).kernel()(np.ones(3))"),
    Case("public", "`import symnorm.public` (every public name: LaTeX reader, verify, "
         "backprop, ...)", "import symnorm.public"),
)
CASE_KEYS = tuple(c.key for c in CASES)

#: (case, seconds it may take: on top of its reference where ``extra``, else wall time)
TARGETS: list[tuple[str, float, bool]] = [
    ("lazy", 0.15, True), ("version", 0.15, False), ("help", 0.15, False),
    ("stack", 0.15, True),
]
#: the issue's targets, in its words, next to the case each one is read from
TARGET_TEXT = {
    "lazy": "`import symnorm` ≤ 0.15 s on top of `import sympy`",
    "version": "`symnorm --version` ≤ 0.15 s",
    "help": "`symnorm --help` ≤ 0.15 s (same target as --version)",
    "stack": "`symnorm.grad` ≤ 0.15 s on top of `import sympy` (the issue's figure was "
             "for the eager import, which loaded everything)",
}

_CENSUS = ("import atexit, sys\n"
           "def _census():\n"
           "    m = sys.modules\n"
           "    print('CENSUS', len(m), int('sympy' in m), int('numpy' in m), file=sys.stderr)\n"
           "atexit.register(_census)\n")


def _environment(pycache: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _spawn(case: Case, env: dict[str, str], census: bool = False) -> tuple[float, str]:
    """Run one process; (wall seconds, its stderr). Raises when it fails."""
    code = _CENSUS + case.code if census else case.code
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *case.argv], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{case.label} failed (exit {done.returncode}):\n{done.stderr}")
    return wall, done.stderr


def census(case: Case, env: dict[str, str]) -> dict:
    """How many modules the case leaves loaded, and whether SymPy and numpy are among them."""
    _, err = _spawn(case, env, census=True)
    line = next(ln for ln in err.splitlines() if ln.startswith("CENSUS "))
    _, n, has_sympy, has_numpy = line.split()
    return {"modules": int(n), "sympy": has_sympy == "1", "numpy": has_numpy == "1"}


def run(cases: Sequence[str] = CASE_KEYS, repeat: int = 9,
        pycache: str | None = None) -> list[dict]:
    """One row per case: best wall time, time on top of its reference, module census."""
    chosen = [c for c in CASES if c.key in cases]
    unknown = sorted(set(cases) - set(CASE_KEYS))
    if unknown:
        raise ValueError(f"unknown case(s) {unknown}; the cases are {list(CASE_KEYS)}")
    with tempfile.TemporaryDirectory(prefix="symnorm-pyc-") as tmp:
        env = _environment(pycache or tmp)
        for c in chosen:  # warm-up round: compiles and caches the bytecode
            _spawn(c, env)
        best = {c.key: float("inf") for c in chosen}
        for _ in range(max(1, repeat)):
            for c in chosen:
                best[c.key] = min(best[c.key], _spawn(c, env)[0])
        counts = {c.key: census(c, env) for c in chosen}
    rows = []
    for c in chosen:
        ref = c.reference if c.reference in best else None
        rows.append({"case": c.key, "label": c.label, "seconds": best[c.key],
                     "reference": ref,
                     "extra": best[c.key] - best[ref] if ref is not None else None,
                     **counts[c.key]})
    return rows


def targets(rows: Sequence[dict]) -> list[dict]:
    """The targets with a met / not met verdict, for the cases that were run."""
    by = {r["case"]: r for r in rows}
    out = []
    for case, limit, extra in TARGETS:
        r = by.get(case)
        if r is None:
            continue
        value = r["seconds"]
        if extra:  # on top of import sympy, whatever the case's own reference is
            if "sympy" not in by:
                continue
            value = r["seconds"] - by["sympy"]["seconds"]
        out.append({"case": case, "target": TARGET_TEXT[case], "value": value,
                    "limit": limit, "met": bool(value <= limit)})
    return out


def environment() -> str:
    try:
        load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        load = "n/a"
    return (f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
            f"{load} (1/5/15 min)")


def markdown(rows: Sequence[dict]) -> str:
    names = {c.key: c.label for c in CASES}
    lines = ["| case | wall s | on top of | extra s | modules loaded | SymPy | numpy |",
             "|---|---:|---|---:|---:|---|---|"]
    for r in rows:
        ref = "—" if r["reference"] is None else names[r["reference"]]
        extra = "—" if r["extra"] is None else f"{r['extra']:+.3f}"
        lines.append(f"| {r['label']} | {r['seconds']:.3f} | {ref} | {extra} | "
                     f"{r['modules']} | {'yes' if r['sympy'] else 'no'} | "
                     f"{'yes' if r['numpy'] else 'no'} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=list(CASE_KEYS), choices=CASE_KEYS)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--pycache", help="bytecode cache folder (default: a temporary one)")
    ap.add_argument("--markdown", help="also write the table to this file")
    args = ap.parse_args(argv)
    print(environment(), file=sys.stderr)
    rows = run(args.cases, args.repeat, args.pycache)
    table = markdown(rows)
    print(table)
    for t in targets(rows):
        verdict = "met" if t["met"] else "NOT met"
        print(f"{t['target']}: {t['value']:+.3f} s (limit {t['limit']}): {verdict}")
    print(environment(), file=sys.stderr)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
