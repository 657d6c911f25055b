"""sn.check: verdicts, tolerances per dtype, reports."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.atoms import Sign


def test_accepts_the_right_gradient(syms):
    A, x, b = syms["A"], syms["x"], syms["b"]
    r = sn.check(sn.norm(A * x - b, 2) ** 2, x, grad=2 * A.T * (A * x - b))
    assert r.ok and bool(r)
    assert len(r.points) == 6 and all(e < 1e-6 for e in r.errors)
    assert "central differences" in r.method


def test_rejects_a_wrong_gradient_with_the_point(syms):
    A, x, b = syms["A"], syms["x"], syms["b"]
    r = sn.check(sn.norm(A * x - b, 2) ** 2, x, grad=A.T * (A * x - b))  # missing the 2
    assert not r.ok
    text = r.summary()
    assert text.startswith("FAIL") and "x = [" in text and "A = [" in text
    assert "finite difference" in text and "claimed" in text


def test_rejects_sympy_style_silent_zero(syms):
    x = syms["x"]
    r = sn.check(sn.norm(x, 2) ** 2, x, grad=sp.ZeroMatrix(*x.shape))
    assert not r.ok


def test_at_a_given_point(syms):
    x = syms["x"]
    r = sn.check(sn.norm(x, 1), x, grad=Sign(x), at=np.array([1.0, -2.0, 3.0]))
    assert r.ok and len(r.points) == 1
    np.testing.assert_array_equal(r.points[0].values["x"], [1.0, -2.0, 3.0])


def test_at_dict_fixes_some_arguments(syms):
    A, x, b = syms["A"], syms["x"], syms["b"]
    r = sn.check(sn.norm(A * x - b, 2), x, at={"A": np.eye(3), "b": np.ones(3)})
    assert r.ok
    assert r.points[0].values["x"].shape == (3,)


def test_float32_uses_its_own_tolerance(syms):
    x = syms["x"]
    r = sn.check(sn.norm(x, 2), x, dtype=np.float32)
    assert r.ok and r.dtype == "float32" and r.rtol > 1e-3
    with pytest.raises(ValueError, match="no tolerance for dtype"):
        sn.check(sn.norm(x, 2), x, dtype=np.int64)


def test_shape_of_claimed_gradient_is_checked(syms):
    x = syms["x"]
    with pytest.raises(sn.ShapeError, match="shape"):
        sn.check(sn.norm(x, 2), x, grad=x.T)


def test_claimed_gradient_with_foreign_symbols(syms):
    x, a = syms["x"], syms["a"]
    with pytest.raises(sn.ShapeError, match="uses a"):
        sn.check(sn.norm(x, 2), x, grad=a)


def test_html_and_dict(syms):
    x = syms["x"]
    r = sn.check(sn.norm(x, 2), x)
    assert "PASS" in r._repr_html_() and "<table>" in r._repr_html_()
    d = r.to_dict()
    assert d["ok"] is True and len(d["errors"]) == 6


def test_at_a_kink_a_gradient_is_checked_as_a_subgradient(syms):
    x = syms["x"]
    good = sn.check(sn.norm(x, 2), x, grad=x / sn.norm(x, 2), at=np.zeros(3))
    assert good.ok and good.points[0].mode == "kink"
    assert "subgradient" in good.summary()
    bad = sn.check(sn.norm(x, 2), x, grad=[2.0, 0.0, 0.0], at=np.zeros(3))
    assert not bad.ok and "f'(x; d)" in bad.summary()


def test_numeric_claim_needs_a_point(syms):
    x = syms["x"]
    with pytest.raises(sn.ShapeError, match="at="):
        sn.check(sn.norm(x, 2), x, grad=[1.0, 0.0])


def test_hessian_check_detects_an_error(syms):
    from symnorm.check import run_check

    x = syms["x"]
    good = sn.hessian(sn.norm(x, 2), x)
    bad = run_check(good.f, x, sp.Identity(x.shape[0]) / sn.norm(x, 2), hessian=True,
                    value=x / sn.norm(x, 2))
    assert good.report.ok and not bad.ok


def test_a_batch_is_not_a_point(syms):
    x = syms["x"]
    with pytest.raises(sn.ShapeError, match="one point"):
        sn.check(sn.norm(x, 2), x, at=np.ones((2, 2)))
