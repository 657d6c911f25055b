"""Smoke test: the benchmark scripts still import and run at tiny sizes (no timing asserts)."""

from __future__ import annotations

import math

import pytest
from benchload import load_benchmark

_load = load_benchmark


@pytest.fixture(scope="module")
def bench_kernels():
    return _load("bench_kernels")


@pytest.fixture(scope="module")
def bench_derive():
    return _load("bench_derive")


def _positive_finite(v: float) -> bool:
    return math.isfinite(v) and v > 0


def test_bench_kernels_run_tiny(bench_kernels):
    rows = bench_kernels.run([1000], repeat=1, min_sample=0.0)
    labels = {r["kernel"] for r in rows}
    assert "numpy np.copyto(out, x)" in labels
    assert any(label.startswith("symnorm ∇‖x‖₂") for label in labels)
    assert any(label.startswith("symnorm ∇‖x‖₁") for label in labels)
    assert any(label.startswith("symnorm ∇‖x‖_p") for label in labels)
    for r in rows:
        assert r["n"] == 1000
        assert _positive_finite(r["seconds"]) and _positive_finite(r["ms"])
        assert _positive_finite(r["vs_copyto"])
        if r["hand"] is not None:
            assert _positive_finite(r["vs_hand"])
    verdicts = bench_kernels.targets(rows)
    assert len(verdicts) == len(bench_kernels.TARGETS)
    assert all(isinstance(t["met"], bool) and _positive_finite(t["ratio"]) for t in verdicts)
    table = bench_kernels.markdown(rows, 1)
    assert table.count("\n|") >= len(rows) + 1


def test_bench_kernels_main_writes_markdown(bench_kernels, tmp_path, capsys):
    out = tmp_path / "kernels.md"
    assert bench_kernels.main(["--sizes", "1e3", "--repeat", "1", "--min-sample", "0",
                               "--markdown", str(out)]) == 0
    assert "ratio vs copyto" in out.read_text(encoding="utf-8")
    assert "ratio vs copyto" in capsys.readouterr().out


def test_bench_derive_run_tiny(bench_derive):
    rows = bench_derive.run([3, 10], m=2, repeat=1)
    assert [r["n"] for r in rows] == [3, 10]
    for r in rows:
        for key in ("explicit_diff", "explicit_lambdify", "explicit_total", "symnorm_cold",
                    "symnorm_best", "symnorm_median", "ratio", "symnorm_eval",
                    "explicit_eval"):
            assert _positive_finite(r[key]), key
        assert 0 <= r["max_abs_diff"] <= bench_derive.TOL
    # one symnorm derivation serves every n
    assert rows[0]["symnorm_median"] == rows[1]["symnorm_median"]
    assert "| n |" in bench_derive.markdown(rows, 1)


@pytest.mark.parametrize("cse", ["sympy", "none"])
def test_bench_derive_cse_modes(bench_derive, cse):
    ex = bench_derive.explicit_gradient(4, 2, cse=cse)
    kernel = bench_derive.symnorm_derive()
    cmp = bench_derive.compare(kernel, ex["func"], 4, 2)
    assert cmp["max_abs_diff"] <= bench_derive.TOL


def test_bench_nonsmooth_run_tiny():
    module = _load("bench_nonsmooth")
    rows = module.run([1000], repeat=1, min_sample=0.0) + module.run(
        [1000], repeat=1, min_sample=0.0, batch=10)
    assert any("prox λ‖·‖₁" in r["kernel"] for r in rows)
    assert any("[batch 10]" in r["kernel"] for r in rows)
    for r in rows:
        assert _positive_finite(r["seconds"]) and _positive_finite(r["vs_copyto"])


def test_bench_matrix_run_tiny(tmp_path, capsys):
    module = _load("bench_matrix")
    rows = module.run([8], repeat=1, min_sample=0.0)
    labels = {r["kernel"] for r in rows}
    assert any("∇‖X‖_*" in label for label in labels)
    assert any("SVT" in label for label in labels)
    for r in rows:
        assert r["n"] == 8 and _positive_finite(r["seconds"]) and _positive_finite(r["vs_svd"])
        if r["hand"] is not None:
            assert _positive_finite(r["vs_hand"])
    out = tmp_path / "matrix.md"
    assert module.main(["--sizes", "6", "--repeat", "1", "--markdown", str(out)]) == 0
    assert "ratio vs hand numpy" in out.read_text(encoding="utf-8")


def test_bench_check_run_tiny(capsys):
    module = _load("bench_check")
    rows = module.run([1000], repeat=1)
    assert rows[0]["right_passes"] and rows[0]["wrong_fails"]
    assert rows[0]["kernel_calls"] == 6 and _positive_finite(rows[0]["check_ms"])
    r = module.run_default(repeat=1)
    assert r["cases"] == len(module.DEFAULT_CASES) and r["all_pass"]
    assert _positive_finite(r["ms_per_check"]) and r["kernel_calls_per_check"] > 6
    module.main(["--default", "--repeat", "1"])
    assert "default check, 10 derivations" in capsys.readouterr().out
