"""Smoke test: benchmarks/bench_torch_compile.py runs at a tiny size (no timing asserts).

It compiles with torch.compile's ``eager`` backend here (no C++ compiler needed, fast);
the script's default is inductor.
"""

from __future__ import annotations

import math

import pytest
from benchload import load_benchmark


def test_bench_torch_compile_runs_tiny():
    pytest.importorskip("torch", reason="torch is not installed (pip install 'symnorm[torch]')")
    bench = load_benchmark("bench_torch_compile")
    rows = bench.run([2000], repeat=1, compiler="eager", min_sample=0.0)
    groups = {(r["kernel"], r["group"]) for r in rows}
    for kernel in bench.KERNELS:
        assert {(kernel, g) for g in ("eager", "compiled", "autodiff",
                                      "autodiff compiled")} <= groups
    for r in rows:
        assert math.isfinite(r["seconds"]) and r["seconds"] > 0 and r["vs_copy"] > 0
        if r["group"] == "compiled":
            assert r["fullgraph"] is True
    assert bench.markdown(rows).count("\n|") == len(rows) + 1
