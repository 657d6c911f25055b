"""symnorm's kernels compiled with ``torch.compile`` against eager torch and autograd, on CPU.

Run::

    python benchmarks/bench_torch_compile.py                    # n = 1e6 and 1e7
    python benchmarks/bench_torch_compile.py --sizes 1e5 --repeat 3 --compiler aot_eager
    python benchmarks/bench_torch_compile.py --threads 2       # torch's intra-op threads

For every size the script times, after a warm-up call (which compiles), round-robin (one
sample of each per round, ``--repeat`` rounds, the median kept), float64 tensors:

* the memory-traffic floor: ``out.copy_(x)`` into a preallocated tensor;
* symnorm's kernels with ``out=``: ∇‖x‖₂, ∇‖x‖₃ and the prox of ``lam‖x‖₁`` (soft
  thresholding), once eager (``backend="torch"``) and once compiled
  (``backend="torch.compile"``, inductor by default, one graph per size:
  ``dynamic=False``);
* torch autograd of ``torch.linalg.vector_norm`` (forward + backward), or for soft
  thresholding the textbook formula ``sign(x)·max(|x| − λ, 0)``, eager and compiled with
  the same ``torch.compile`` backend.

Ratios are to the copy in the same process. Each compiled kernel is checked against the
eager one before timing; the script prints whether each graph is one graph
(``fullgraph``). No GPU figures: this runs the CPU build.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

import symnorm as sn
from symnorm.kernels.backends import with_backend
from symnorm.kernels.backends.dispatch import compile_status

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backends import Case, time_round_robin  # noqa: E402 - the sibling script

LAM = 0.5
KERNELS = ("∇‖x‖₂", "∇‖x‖₃", "prox λ‖x‖₁")


def build_kernels() -> dict:
    x, lam = sn.vector("x"), sn.scalar("lam", positive=True)
    return {"∇‖x‖₂": sn.grad(sn.norm(x, 2), x).kernel(),
            "∇‖x‖₃": sn.grad(sn.norm(x, 3), x).kernel(),
            "prox λ‖x‖₁": sn.prox(lam * sn.norm(x, 1), x).kernel()}


def cases(n: int, kernels: dict, compiler: str) -> tuple[list[Case], dict]:
    """The cases for one size, and ``{kernel: fullgraph}`` of the compiled kernels."""
    import torch

    x = torch.asarray(np.random.default_rng(0).standard_normal(n))
    out = torch.empty_like(x)
    options = {"backend": compiler, "dynamic": False}
    found: list[Case] = [Case("torch copy (out.copy_(x))", lambda: out.copy_(x), "copy", "")]
    graphs = {}
    orders = {"∇‖x‖₂": 2.0, "∇‖x‖₃": 3.0}

    def autograd(q: float) -> Callable[[torch.Tensor], torch.Tensor]:
        def f(v: torch.Tensor) -> torch.Tensor:
            w = v.detach().requires_grad_(True)
            torch.linalg.vector_norm(w, q).backward()
            return w.grad
        return f

    def textbook(v: torch.Tensor) -> torch.Tensor:
        return torch.sign(v) * torch.clamp(torch.abs(v) - LAM, min=0)

    for label in KERNELS:
        k = with_backend(kernels[label], "torch")
        kc = with_backend(kernels[label], "torch.compile", options)
        args = (x, LAM) if label.startswith("prox") else (x,)
        want = k(*args)
        torch.testing.assert_close(kc(*args, out=out), want, rtol=1e-12, atol=1e-300)
        graphs[label] = compile_status(kc)[0]["fullgraph"]
        found.append(Case(f"symnorm {label} eager (out=)",
                          lambda k=k, args=args: k(*args, out=out), "eager", label))
        found.append(Case(f"symnorm {label} torch.compile[{compiler}] (out=)",
                          lambda kc=kc, args=args: kc(*args, out=out), "compiled", label))
        ref = autograd(orders[label]) if label in orders else textbook
        name = "autograd" if label in orders else "textbook"
        refc = torch.compile(ref, backend=compiler, dynamic=False)
        torch.testing.assert_close(refc(x), want, rtol=1e-9, atol=1e-300)
        found.append(Case(f"torch {name} {label}", lambda ref=ref: ref(x), "autodiff", label))
        found.append(Case(f"torch {name} {label} torch.compile[{compiler}]",
                          lambda refc=refc: refc(x), "autodiff compiled", label))
    return found, graphs


def run(sizes: list[int], repeat: int = 5, compiler: str = "inductor",
        min_sample: float = 0.05, threads: int | None = 1) -> list[dict]:
    """Rows ``{n, kernel, case, group, seconds, vs_copy, vs_eager, vs_autodiff,
    fullgraph}`` (medians). ``threads``: torch's intra-op threads (None: its default;
    1 by default, as on a shared machine more threads wait on each other)."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    kernels = build_kernels()
    rows = []
    for n in sizes:
        found, graphs = cases(n, kernels, compiler)
        time_round_robin(found, repeat, min_sample)
        copy = statistics.median(found[0].times)
        eager = {c.kernel: statistics.median(c.times) for c in found if c.group == "eager"}
        auto = {c.kernel: statistics.median(c.times) for c in found
                if c.group == "autodiff"}
        for c in found:
            t = statistics.median(c.times)
            rows.append({"n": n, "kernel": c.kernel, "case": c.label, "group": c.group,
                         "seconds": t, "vs_copy": t / copy,
                         "vs_eager": t / eager[c.kernel] if c.kernel in eager else None,
                         "vs_autodiff": t / auto[c.kernel] if c.kernel in auto else None,
                         "fullgraph": graphs.get(c.kernel) if c.group == "compiled"
                         else None})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| n | case | ms | × copy | × symnorm eager | × autograd/textbook eager |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        def fmt(v: float | None) -> str:
            return "" if v is None else f"{v:.2f}"
        lines.append(f"| {r['n']:.0e} | {r['case']} | {1e3 * r['seconds']:.2f} "
                     f"| {r['vs_copy']:.2f} | {fmt(r['vs_eager'])} "
                     f"| {fmt(r['vs_autodiff'])} |")
    return "\n".join(lines)


def conditions() -> str:
    import torch

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
            f"load average {os.getloadavg()[0]:.1f}, Python {sys.version.split()[0]}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--compiler", default="inductor",
                    help="torch.compile backend: inductor (needs a C++ compiler on CPU), "
                         "aot_eager, eager")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--markdown", default=None, help="also write the table to this file")
    args = ap.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rows = run(sizes, args.repeat, args.compiler, threads=args.threads or None)
    table = markdown(rows)
    print(conditions())
    for r in rows:
        if r["group"] == "compiled":
            print(f"  n={r['n']:.0e} {r['kernel']}: one graph (fullgraph) = {r['fullgraph']}")
    print(table)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
