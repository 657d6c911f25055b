"""Smoke test: benchmarks/bench_normalization.py imports and runs at tiny sizes (no timing
asserts)."""

from __future__ import annotations

import math

import pytest
from benchload import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_normalization")


def test_bench_normalization_run_tiny(bench):
    rows = bench.run([(3, 8)], ["layer", "rms"], repeat=1, min_sample=0.0, vjp_size=50)
    assert [r["case"] for r in rows] == ["layer_norm 3x8", "rms_norm 3x8",
                                         "VJP of x/norm(x) n=5e+01"]
    for r in rows:
        assert {"copy", "symnorm numpy"} <= set(r["ms"])
        assert all(math.isfinite(v) and v > 0 for v in r["ms"].values())
    verdicts = bench.targets(rows)
    assert verdicts and all(isinstance(t["met"], bool) for t in verdicts)
    assert bench.markdown(rows).count("\n|") == len(rows) + 1


def test_bench_normalization_checks_every_case_against_hand_numpy(bench):
    cases = bench.make_cases("layer", 4, 6)  # raises when a candidate disagrees
    assert {"copy", "hand numpy", "symnorm numpy"} <= set(cases)
    import numpy as np

    y, dx = bench.hand("rms", np.array([[3.0, 4.0]]), np.array([[4.0, -3.0]]))
    assert y.shape == dx.shape == (1, 2)


def test_bench_normalization_main(bench, tmp_path, capsys):
    out = tmp_path / "n.md"
    assert bench.main(["--shapes", "2x4", "--kinds", "layer", "--vjp-size", "20",
                       "--repeat", "1", "--min-sample", "0", "--markdown", str(out)]) == 0
    assert "symnorm numpy ms" in out.read_text(encoding="utf-8")
    assert "target <=" in capsys.readouterr().out
