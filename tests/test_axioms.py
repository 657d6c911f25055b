"""The norm-axiom checker: symbolic verdicts, numeric counterexamples, classification.

Parametrised over the rule registry, so a newly registered norm is classified against
its own ``is_norm``/``broken_axiom`` through its ``sample_orders``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.calculus.axioms import (
    AXIOMS,
    CLASSIFICATIONS,
    HOMOGENEITY,
    POSITIVITY,
    TRIANGLE,
    AxiomReport,
    AxiomResult,
    axioms,
)
from symnorm.model.errors import ShapeError, SymnormError, UnsupportedExpressionError
from symnorm.rules import NORMS

# vector norms (the matrix norms' axioms are tested numerically in tests/test_matrix_norms.py)
CASES = [(rule, sp.sympify(p)) for rule in NORMS for p in rule.sample_orders
         if not rule.extras.get("matrix")]
IDS = [f"{rule.key}-p={p}" for rule, p in CASES]
DIFF = sp.ImmutableMatrix([[-1, 1, 0], [0, -1, 1]])


def numpy_norm(v: np.ndarray, p: sp.Basic) -> float:
    """Independent reference, written from the definition."""
    a = np.abs(np.asarray(v, dtype=float))
    if p == 0:
        return float(np.count_nonzero(a))
    if p == sp.oo:
        return float(a.max())
    q = float(p)
    return float(np.sum(a**q) ** (1 / q))


@pytest.fixture
def x() -> sp.MatrixSymbol:
    return sn.vector("x")


@pytest.fixture
def x3() -> sp.MatrixSymbol:
    return sn.vector("x", 3)


# -- the registry ----------------------------------------------------------------------


@pytest.mark.parametrize("rule,p", CASES, ids=IDS)
def test_registered_norm_is_classified_as_its_rule_says(rule, p, x):
    report = axioms(sn.norm(x, p), x)
    assert report.classification in CLASSIFICATIONS
    if rule.is_norm(p):
        assert report.classification == "norm", report.summary()
        assert all(r.holds and r.method == "symbolic" for r in report.axioms.values())
        if isinstance(p, sp.Expr) and p.free_symbols:  # a symbolic p: a norm for p >= 1
            assert f"{p} >= 1" in report.conditions
        return
    broken = rule.broken_axiom(p)
    assert broken, f"{rule.key} is not a norm for p = {p} but names no broken axiom"
    assert len(report.failing) == 1 and report.failing[0] in broken, report.summary()
    failed = report.axioms[report.failing[0]]
    ce = failed.counterexample
    assert ce is not None and ce["verified"] == "exact"
    if report.failing[0] == TRIANGLE:
        assert report.classification == "quasi-norm"
        lhs = numpy_norm(ce["x"] + ce["y"], p)
        rhs = numpy_norm(ce["x"], p) + numpy_norm(ce["y"], p)
        assert lhs > rhs * (1 + 1e-6), (lhs, rhs)
    else:
        assert report.classification == "not a norm"
        assert report.failing == [HOMOGENEITY]
        lhs = numpy_norm(ce["c"] * ce["x"], p)
        rhs = abs(ce["c"]) * numpy_norm(ce["x"], p)
        assert abs(lhs - rhs) > 1e-6 * max(lhs, rhs)


def test_quasi_norm_half_reports_e1_e2(x):
    report = axioms(sn.norm(x, sp.Rational(1, 2)), x)
    assert report.classification == "quasi-norm" and not report.is_norm
    tri = report.axioms[TRIANGLE]
    assert not tri.holds and tri.method == "numeric search"
    assert "x = [1, 0, 0], y = [0, 1, 0]: f(x + y) = 4 > f(x) + f(y) = 2" in tri.reason
    assert "K = 2" in tri.reason  # 2^(1/p - 1)
    assert report.axioms[POSITIVITY].holds and report.axioms[HOMOGENEITY].holds
    text = report.summary()
    assert "fails: triangle inequality" in text and "f(x + y) = 4" in text


def test_counting_norm_breaks_homogeneity(x):
    report = axioms(sn.norm(x, 0), x)
    assert report.classification == "not a norm"
    assert report.failing == [HOMOGENEITY]
    ce = report.axioms[HOMOGENEITY].counterexample
    assert ce["c"] == 2 and list(ce["x"]) == [1, 0, 0]
    assert (ce["lhs"], ce["rhs"]) == (1, 2)
    assert "x = [1, 0, 0], c = 2: f(c x) = 1 != |c| f(x) = 2" in report.summary()
    assert "||2x||_0 = ||x||_0" in report.axioms[HOMOGENEITY].reason  # the rule's text


# -- symbolic verdicts -----------------------------------------------------------------


@pytest.mark.parametrize("p", [2, 1])
def test_difference_matrix_gives_a_seminorm(p, x3):
    report = axioms(sn.norm(DIFF * x3, p), x3)
    assert report.classification == "seminorm"
    assert report.failing == [POSITIVITY]
    pos = report.axioms[POSITIVITY]
    assert pos.method == "symbolic"
    v = pos.counterexample["x"]
    np.testing.assert_allclose(v / v[0], np.ones(3))
    assert np.all(np.array(DIFF, dtype=float) @ v == 0)
    assert "x = [1, 1, 1]" in report.summary() and "positive definiteness" in report.summary()


def test_explicit_invertible_weight_gives_a_norm(x3):
    w = sp.ImmutableMatrix([[2, 1, 0], [0, 1, 0], [1, 0, 3]])
    report = axioms(sn.norm(w * x3, 2), x3)
    assert report.is_norm and report.conditions == []
    assert "full column rank 3" in report.axioms[POSITIVITY].reason


def test_symbolic_weight_is_a_norm_under_a_condition(x):
    w = sn.matrix("W", "n", "n")
    report = axioms(sn.norm(w * x, 2), x)
    assert report.classification == "norm"
    assert report.conditions == ["W has full column rank (W x = 0 only for x = 0)"]
    assert all(r.method == "symbolic" for r in report.axioms.values())
    wide = axioms(sn.norm(sn.matrix("A") * x, sp.oo), x)
    assert "needs m >= n" in wide.conditions[0]


def test_stacked_matrices_without_common_null_vector(x3):
    ones = sp.ImmutableMatrix([[1, 1, 1]])
    report = axioms(sn.norm(DIFF * x3, 2) + sn.norm(ones * x3, 1), x3)
    assert report.is_norm and report.axioms[POSITIVITY].method == "symbolic"


def test_positive_combination_is_a_norm_symbolically(x):
    report = axioms(2 * sn.norm(x, 1) + 3 * sn.norm(x, sp.oo), x)
    assert report.classification == "norm"
    assert all(r.holds and r.method == "symbolic" for r in report.axioms.values())
    assert "Minkowski" in report.axioms[TRIANGLE].reason


def test_coefficients_of_unknown_sign_become_conditions(x):
    lam = sn.scalar("lam")
    assert axioms(lam * sn.norm(x, 1), x).conditions == ["lam > 0"]
    mu = sn.scalar("mu", positive=True)
    assert axioms(mu * sn.norm(x, 1), x).conditions == []


def test_symbolic_order_below_one_is_stated(x):
    q = sp.Symbol("q", positive=True)
    report = axioms(sn.norm(x, q, p_min=sp.Rational(1, 2)), x)
    assert report.classification == "norm"
    assert any("quasi-norm" in c for c in report.conditions)


# -- numeric search --------------------------------------------------------------------


def test_squared_norm_breaks_homogeneity(x):
    report = axioms(sn.norm(x, 2) ** 2, x)
    assert report.classification == "not a norm"
    hom = report.axioms[HOMOGENEITY]
    assert not hom.holds and hom.method == "numeric search"
    assert "x = [1, 0, 0], c = 2: f(c x) = 4 != |c| f(x) = 2" in hom.reason
    tri = report.axioms[TRIANGLE].counterexample
    lhs = np.sum((tri["x"] + tri["y"]) ** 2)
    assert lhs > np.sum(tri["x"] ** 2) + np.sum(tri["y"] ** 2)
    assert report.axioms[POSITIVITY].status == "holds (no counterexample in 400 trials)"


def test_square_root_found_by_search(x):
    report = axioms(sp.sqrt(sn.norm(x, 1)), x)
    assert report.classification == "not a norm"
    ce = report.axioms[HOMOGENEITY].counterexample
    lhs = np.sqrt(np.abs(ce["c"] * ce["x"]).sum())
    rhs = abs(ce["c"]) * np.sqrt(np.abs(ce["x"]).sum())
    assert abs(lhs - rhs) > 1e-6 and ce["verified"] == "exact"
    assert report.axioms[TRIANGLE].holds  # sqrt of a norm is subadditive


def test_difference_of_norms_is_zero_off_the_origin(x):
    report = axioms(sn.norm(x, 1) - sn.norm(x, 2), x)
    assert report.classification == "not a norm"
    pos = report.axioms[POSITIVITY]
    assert not pos.holds and pos.counterexample["kind"] == "zero at nonzero x"
    v = pos.counterexample["x"]
    assert np.any(v != 0)
    assert np.abs(v).sum() - np.linalg.norm(v) == pytest.approx(0, abs=1e-12)
    assert "positive definiteness" in report.summary() and "f(x) = 0" in pos.reason


def test_negative_values_break_positivity(x):
    report = axioms(sn.norm(x, 2) - 2 * sn.norm(x, sp.oo), x)
    pos = report.axioms[POSITIVITY]
    assert report.classification == "not a norm"
    assert pos.counterexample["kind"] == "negative"
    assert "x = [1, 0, 0]: f(x) = -1 < 0" in pos.reason


def test_offset_is_not_zero_at_the_origin(x):
    report = axioms(sn.norm(x - sn.vector("a"), 2), x)
    assert report.classification == "not a norm"
    assert report.axioms[POSITIVITY].counterexample["kind"] == "nonzero at 0"
    assert "a" in report.axioms[POSITIVITY].counterexample["parameters"]
    assert any("drawn at random" in n for n in report.notes)


def test_numeric_search_finds_null_vectors_of_explicit_matrices(x3):
    f = sp.sqrt(sn.norm(DIFF * x3, 2) ** 2 + sn.norm(DIFF * x3, 1) ** 2)
    report = axioms(f, x3)
    assert report.classification == "seminorm"
    pos = report.axioms[POSITIVITY]
    assert pos.method == "numeric search" and pos.counterexample["verified"] == "exact"
    v = pos.counterexample["x"]
    np.testing.assert_allclose(v / v[0], np.ones(3))


def test_rounding_never_makes_an_axiom_fail(x):
    # in floats norm(x) + 1e20 - 1e20 is 0 everywhere; exactly it is the L2 norm
    f = sp.Add(sn.norm(x, 2), sp.Integer(10**20), -sp.Integer(10**20), evaluate=False)
    assert float(sn.kernel(f, [x])(np.array([1.0, 2.0, 3.0]))) == 0.0
    report = axioms(f, x, trials=60)
    assert report.classification == "norm", report.summary()


def test_homogeneous_definite_function_is_a_quasi_norm(x):
    report = axioms(sn.norm(x, 2) ** 2 / sn.norm(x, 1), x)
    assert report.classification == "quasi-norm"
    ce = report.axioms[TRIANGLE].counterexample

    def f(v: np.ndarray) -> float:
        return float(np.sum(v**2) / np.abs(v).sum())

    assert f(ce["x"] + ce["y"]) > f(ce["x"]) + f(ce["y"])
    assert "largest ratio" in report.axioms[TRIANGLE].reason


def test_one_by_one_matrix_is_a_scalar(x):
    assert axioms(x.T * x, x).classification == "not a norm"


def test_search_is_reproducible(x):
    f = sn.norm(x, 2) ** 2 / sn.norm(x, 1)
    a, b = axioms(f, x, seed=3), axioms(f, x, seed=3)
    assert a.summary() == b.summary()


# -- the report ------------------------------------------------------------------------


def test_report_renders_and_serialises(x):
    report = axioms(sn.norm(x, sp.Rational(1, 2)), x)
    assert isinstance(report, AxiomReport)
    assert set(report.axioms) == set(AXIOMS)
    assert all(isinstance(r, AxiomResult) for r in report.axioms.values())
    assert str(report) == report.summary()
    assert report.expression == "norm(x, 1/2)"
    html = report._repr_html_()
    assert "<table>" in html and "triangle inequality" in html and "quasi-norm" in html
    data = json.loads(json.dumps(report.to_dict()))
    assert data["classification"] == "quasi-norm"
    assert data["axioms"][TRIANGLE]["counterexample"]["x"] == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("f,wrt,error", [
    (lambda x: x, lambda x: x, ShapeError),
    (lambda x: sn.norm(x, 2), lambda x: sn.matrix("A"), ShapeError),
    (lambda x: sn.norm(x, 2), lambda x: sn.scalar("t"), UnsupportedExpressionError),
    (lambda x: sn.norm(x, 2), lambda x: x.T, UnsupportedExpressionError),
    (lambda x: sn.norm(x, 2), lambda x: sn.vector("y"), UnsupportedExpressionError),
    (lambda x: "norm(x, 2)", lambda x: x, UnsupportedExpressionError),
], ids=["vector-f", "matrix-wrt", "scalar-wrt", "row-wrt", "wrt-absent", "string-f"])
def test_bad_input_raises_symnorm_errors(f, wrt, error, x):
    with pytest.raises(error) as info:
        axioms(f(x), wrt(x))
    assert isinstance(info.value, SymnormError)
    assert str(info.value)


def test_trials_must_be_positive(x):
    with pytest.raises(ValueError, match="trials"):
        axioms(sn.norm(x, 2), x, trials=0)


@settings(max_examples=25, deadline=None)
@given(w1=st.floats(0.01, 100), w2=st.floats(0.01, 100))
def test_positive_combinations_of_norms_are_norms(w1, w2):
    x = sn.vector("x")
    report = axioms(w1 * sn.norm(x, 1) + w2 * sn.norm(x, 2), x)
    assert report.classification == "norm"
    assert report.conditions == []
