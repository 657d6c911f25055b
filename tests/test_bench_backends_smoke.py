"""Smoke test: the backend benchmark scripts run at tiny sizes (no timing asserts)."""

from __future__ import annotations

import math

import pytest
from benchload import load_benchmark

_load = load_benchmark


def test_bench_backends_runs_tiny_on_numpy():
    pytest.importorskip("array_api_compat")
    bench = _load("bench_backends")
    rows = bench.run([2000], repeat=1, libs=["numpy"], min_sample=0.0)
    kernels = {r["kernel"] for r in rows if r["group"] == "symnorm"}
    assert {"∇‖x‖₂", "∇‖x‖₁", "∇‖x‖₃", "∇‖x‖∞", "prox λ‖x‖₁", "batch ∇‖x‖₂"} <= kernels
    for r in rows:
        assert math.isfinite(r["seconds"]) and r["seconds"] > 0
        assert r["vs_copy"] > 0
    assert "| n | library |" in bench.markdown(rows)
    report = bench.targets(rows)
    assert len(report) == 6 and all("textbook formula" in line for line in report)


def test_bench_dask_runs_tiny():
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    r = _load("bench_dask").run(20_000, 2_000)
    assert r["grad_norm"] == pytest.approx(1.0, abs=1e-12)
    assert r["grad_head_ok"]
    assert 0.0 < r["prox_nonzero_fraction"] < 1.0
