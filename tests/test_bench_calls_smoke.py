"""Smoke test: benchmarks/bench_calls.py runs at tiny sizes (no timing asserts)."""

from __future__ import annotations

import math

import pytest
from benchload import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_calls")


def test_bench_calls_run_tiny(bench):
    rows = bench.run([2, 3], repeat=1, number=2)
    assert {r["n"] for r in rows} == {2, 3}
    kernels = [r for r in rows if r["peer"] is not None]
    assert len(kernels) == 14 and len(rows) == 24
    for r in rows:
        assert math.isfinite(r["us"]) and r["us"] > 0
    for r in kernels:
        assert math.isfinite(r["above_us"]) and r["ratio"] > 0
    verdicts = bench.targets(rows)
    assert len(verdicts) == 4 and all(isinstance(t["met"], bool) for t in verdicts)
    assert bench.markdown(rows).count("\n|") == len(rows) + 1


def test_bench_calls_cases_agree_with_hand_numpy(bench):
    # make_cases raises when a kernel disagrees with its hand-written numpy peer
    cases = bench.make_cases(5, bench.build_kernels())
    assert {"∇‖x‖₂ k(v)", "hand v/norm(v)"} <= {label for label, _, _ in cases}


def test_bench_calls_main(bench, tmp_path, capsys):
    out = tmp_path / "calls.md"
    assert bench.main(["--n", "3", "--repeat", "1", "--number", "1",
                       "--markdown", str(out)]) == 0
    assert "µs above hand" in out.read_text(encoding="utf-8")
    assert "target <= 2.0" in capsys.readouterr().out
