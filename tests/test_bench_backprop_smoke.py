"""Smoke test: benchmarks/bench_backprop.py imports and runs at tiny sizes (no timing asserts)."""

from __future__ import annotations

import math

import pytest
from benchload import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_backprop")


def _positive(v: float) -> bool:
    return math.isfinite(v) and v > 0


def test_bench_backprop_run_tiny(bench):
    rows = bench.run(["2-3-2"], [1, 8], repeat=1, min_sample=0.0)
    assert [(r["network"], r["batch"]) for r in rows] == [("2-3-2", 1), ("2-3-2", 8)]
    for r in rows:
        assert _positive(r["hand_us"]) and _positive(r["kernel_us"]) and _positive(r["vs_hand"])
        assert (r["torch_us"] is None) == (r["vs_torch"] is None)
    verdicts = bench.targets(rows)
    assert all(isinstance(t["met"], bool) and _positive(t["ratio"]) for t in verdicts)
    assert bench.markdown(rows).count("\n|") == len(rows) + 1


def test_bench_backprop_hand_numpy_matches_the_kernel(bench):
    # make_cases raises when any peer disagrees with hand numpy
    cases = bench.make_cases((5, 4, 3), 7)
    assert {"hand numpy", "symnorm kernel"} <= set(cases)


def test_bench_backprop_main(bench, tmp_path, capsys):
    out = tmp_path / "bp.md"
    assert bench.main(["--networks", "2-3-2", "--batches", "2", "--repeat", "1",
                       "--min-sample", "0", "--markdown", str(out)]) == 0
    assert "kernel / hand numpy" in out.read_text(encoding="utf-8")
    assert "kernel / hand numpy" in capsys.readouterr().out


def test_bench_backprop_reports_the_step_target(bench):
    row = {"network": "784-128-10", "batch": 64, "hand_us": 100.0, "kernel_us": 104.0,
           "torch_us": None, "vs_hand": 1.04, "vs_torch": None}
    verdicts = bench.targets([row])
    assert [(t["limit"], t["met"]) for t in verdicts] == [(1.05, True), (1.2, True)]
    assert not bench.targets([{**row, "vs_hand": 1.06}])[0]["met"]
