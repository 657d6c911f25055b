"""Smoke test: benchmarks/bench_import.py runs its light cases (no timing asserts)."""

from __future__ import annotations

import math

import pytest
from benchload import load_benchmark

LIGHT = ["python", "lazy", "version"]  # no SymPy: a second or two in all


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_import")


def test_bench_import_light_cases(bench, tmp_path):
    rows = bench.run(LIGHT, repeat=1, pycache=str(tmp_path / "pyc"))
    assert [r["case"] for r in rows] == LIGHT
    for r in rows:
        assert math.isfinite(r["seconds"]) and r["seconds"] > 0
        # the lazy import and the CLI's --version load neither SymPy nor numpy
        assert not r["sympy"] and not r["numpy"] and r["modules"] > 0
    assert rows[0]["reference"] is None and rows[0]["extra"] is None
    assert rows[1]["reference"] == "python"
    assert rows[1]["extra"] == pytest.approx(rows[1]["seconds"] - rows[0]["seconds"])
    verdicts = bench.targets(rows)
    assert [t["case"] for t in verdicts] == ["version"]  # the others need import sympy
    assert isinstance(verdicts[0]["met"], bool)
    assert bench.markdown(rows).count("\n|") == len(rows) + 1


def test_bench_import_unknown_case(bench):
    with pytest.raises(ValueError, match="unknown case"):
        bench.run(["python", "nonsense"], repeat=1)


def test_bench_import_main(bench, tmp_path, capsys):
    out = tmp_path / "import.md"
    assert bench.main(["--cases", "python", "lazy", "--repeat", "1",
                       "--markdown", str(out)]) == 0
    assert "`import symnorm` (lazy)" in out.read_text(encoding="utf-8")
    assert "| case | wall s |" in capsys.readouterr().out
