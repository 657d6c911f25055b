"""Regressions from fuzzing: wrong sign facts, max of non-constant terms, crashes.

Each case pins the exact symbolic result (where the form matters) and compares its
kernel with hand-written numpy or central differences at points of both signs.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.atoms import ScalarOf, Sigmoid

x = sn.vector("x", 3)
a = sn.vector("a", 3)
B = sn.matrix("B", 3, 3)
rng = np.random.default_rng(7)
POINTS = [rng.standard_normal(3) for _ in range(6)] + [np.array([1.0, -2.0, 0.5])]
A_VALUE = np.array([0.3, -1.2, 0.7])
B_VALUE = rng.standard_normal((3, 3))


def central(f, v: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(v)
    for i in range(v.size):
        e = np.zeros_like(v)
        e[i] = h
        g[i] = (f(v + e) - f(v - e)) / (2 * h)
    return g


def values(k: sn.Kernel, xv: np.ndarray) -> np.ndarray:
    named = {"x": xv, "a": A_VALUE, "B": B_VALUE}
    return k(**{n: named[n] for n in k.arg_names})


# -- item 1: only true sign facts -------------------------------------------------------

def test_abs_of_gram_form_is_the_form() -> None:
    f = sp.Abs(ScalarOf(x.T * x))
    assert f == ScalarOf(x.T * x)  # x.T*x >= 0 is a fact, Abs goes away
    d = sn.grad(f, x)
    assert d.result == 2 * x
    for v in POINTS:
        np.testing.assert_allclose(d.kernel()(v), 2 * v)


def test_abs_of_linear_form_has_the_sign() -> None:
    d = sn.grad(sp.Abs(ScalarOf(a.T * x)), x)
    assert d.result == sp.sign(ScalarOf(a.T * x)) * a
    k = d.kernel()
    for v in POINTS:
        np.testing.assert_allclose(values(k, v), np.sign(A_VALUE @ v) * A_VALUE)


def test_sqrt_of_squared_linear_form() -> None:
    d = sn.grad(sp.sqrt(ScalarOf(a.T * x) ** 2), x)
    assert d.result == sp.sign(ScalarOf(a.T * x)) * a
    k = d.kernel()
    for v in POINTS:
        np.testing.assert_allclose(values(k, v), np.sign(A_VALUE @ v) * A_VALUE)


def test_sqrt_of_abs_of_linear_form_is_finite_on_both_sides() -> None:
    d = sn.grad(sp.sqrt(sp.Abs(ScalarOf(a.T * x))), x)
    t = ScalarOf(a.T * x)
    assert d.result == sp.sign(t) / (2 * sp.sqrt(sp.Abs(t))) * a
    k = d.kernel()
    for v in POINTS:
        s = A_VALUE @ v
        want = np.sign(s) / (2 * np.sqrt(abs(s))) * A_VALUE
        np.testing.assert_allclose(values(k, v), want, rtol=1e-12)


def test_abs_of_general_bilinear_form() -> None:
    f = sp.Abs(ScalarOf((x - a).T * x))
    d = sn.grad(f, x)
    assert sn.to_text(d.result) == "sign((x.T - a.T)*x)*(2*x - a)"
    k = d.kernel()
    for v in POINTS:
        s = (v - A_VALUE) @ v
        np.testing.assert_allclose(values(k, v), np.sign(s) * (2 * v - A_VALUE), rtol=1e-12)


def test_norm_order_depending_on_the_variable_is_refused() -> None:
    with pytest.raises(sn.UnsupportedExpressionError,
                       match=r"order is x.T\*x, which depends on x"):
        sn.grad(sn.norm(x, ScalarOf(x.T * x)), x)


def test_derivative_with_respect_to_the_order_is_refused_not_zero() -> None:
    p = sn.scalar("p", positive=True)
    with pytest.raises(sn.UnsupportedExpressionError, match="with respect to p: its order is p"):
        sn.grad(sn.norm(x, p), p, check=False)
    with pytest.raises(sn.UnsupportedExpressionError, match="norm's order"):
        sn.grad(p * sn.norm(x, p), p, check=False)


def test_stand_ins_carry_only_true_facts() -> None:
    from symnorm.engine import _stand_in

    t = _stand_in(sn.norm(x, 2), 0)
    assert t.is_nonnegative and t.is_positive is None  # a norm can be 0
    s = _stand_in(ScalarOf(a.T * x), 1)
    assert s.is_real and s.is_positive is None and s.is_nonnegative is None
    assert _stand_in(ScalarOf(x.T * B.T * B * x), 2).is_nonnegative
    M = sn.matrix("M", 3, positive_semidefinite=True)
    assert _stand_in(ScalarOf(x.T * M * x), 3).is_nonnegative
    assert _stand_in(ScalarOf(x.T * B * x), 4).is_nonnegative is None


# -- item 3: crashes inside SymPy -------------------------------------------------------

def test_abs_of_norm_keeps_the_norm() -> None:
    f = sp.Abs(sn.norm(x - a, 2))
    assert f == sn.norm(x - a, 2)
    d = sn.grad(f, x)
    assert sn.to_text(d.result) == "(x - a)/norm(x - a, 2)"
    k = d.kernel()
    for v in POINTS:
        np.testing.assert_allclose(values(k, v), (v - A_VALUE) / np.linalg.norm(v - A_VALUE))


def test_abs_of_norm_of_sigmoid() -> None:
    d = sn.grad(sp.Abs(sn.norm(Sigmoid(x - a), 1)), x)
    k = d.kernel()
    for v in POINTS:
        s = 1 / (1 + np.exp(-(v - A_VALUE)))
        np.testing.assert_allclose(values(k, v), s * (1 - s), rtol=1e-12)


def test_exp_of_negative_norm_of_scaled_difference() -> None:
    d = sn.grad(sp.exp(-sn.norm(2 * (x - a), 2)), x)
    k = d.kernel()
    for v in POINTS:
        u = 2 * (v - A_VALUE)
        want = -np.exp(-np.linalg.norm(u)) * 2 * u / np.linalg.norm(u)
        np.testing.assert_allclose(values(k, v), want, rtol=1e-12)


def test_abs_of_difference_of_norms() -> None:
    f = sp.Abs(sn.norm(B * x - a, 2) - sn.norm(x - a, 1))
    d = sn.grad(f, x)
    k = d.kernel()

    def value(v: np.ndarray) -> float:
        return abs(np.linalg.norm(B_VALUE @ v - A_VALUE) - np.abs(v - A_VALUE).sum())

    for v in POINTS:
        np.testing.assert_allclose(values(k, v), central(value, v), rtol=1e-6, atol=1e-8)
