"""Smoke test: the document benchmark runs at a tiny size (no timing asserts)."""

from __future__ import annotations

import math

from benchload import load_benchmark


def test_bench_verify_document_runs_tiny() -> None:
    bench = load_benchmark("bench_verify_document")
    assert bench.document(12).count("\\begin{equation}") >= 9
    rows = bench.run([12])
    (row,) = rows
    assert row["claims"] == 12
    assert math.isfinite(row["seconds"]) and row["seconds"] > 0
    assert row["counts"].get("wrong", 0) >= 1 and row["counts"].get("proved", 0) >= 6
    assert "| 12 |" in bench.markdown(rows)
