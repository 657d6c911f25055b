"""Smoke test: benchmarks/bench_backprop_backends.py runs at tiny sizes (no timing asserts)."""

from __future__ import annotations

import math

import pytest
from benchload import load_benchmark
from test_backends import _jax_x64, _skip_reason


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_backprop_backends")


def test_bench_backprop_backends_run_tiny(bench):
    libraries = [lib for lib in ("torch", "jax", "dask") if not _skip_reason(lib)]
    if "jax" in libraries:
        _jax_x64()
    rows = bench.run(["2-3-2"], [5], libraries, repeat=1, min_sample=0.0)
    assert [(r["network"], r["batch"]) for r in rows] == [("2-3-2", 5)]
    times = rows[0]["us"]
    assert "numpy kernel" in times and all(math.isfinite(v) and v > 0 for v in times.values())
    ratio = {"torch": "kernel on torch / torch autograd",
             "jax": "kernel backend=jax / jax autodiff", "dask": "kernel on dask / numpy kernel"}
    assert set(rows[0]["ratios"]) == {ratio[lib] for lib in libraries}
    assert bench.markdown(rows).count("\n|") == 2


def test_bench_backprop_backends_main(bench, capsys):
    assert bench.main(["--networks", "2-3-2", "--batches", "3", "--libraries", "dask",
                       "--repeat", "1", "--min-sample", "0"]) == 0
    assert "numpy kernel µs" in capsys.readouterr().out
