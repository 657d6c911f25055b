"""Regressions from fuzzing: wrong sign facts, max of non-constant terms, crashes.

Each case pins the exact symbolic result (where the form matters) and compares its
kernel with hand-written numpy or central differences at points of both signs.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.model.atoms import ScalarOf, Sigmoid

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


def test_stand_ins_carry_only_true_facts() -> None:
    from symnorm.calculus.algebra import _stand_in

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


# -- item 2: max and min of non-constant pieces -----------------------------------------

def test_max_of_l1_and_l2_norms() -> None:
    from symnorm.model.atoms import ActiveGradient, Sign

    f = sp.Max(sn.norm(x, 1), sn.norm(x, 2))
    d = sn.grad(f, x)
    assert d.result == ActiveGradient.build(
        "max", [sn.norm(x, 1), sn.norm(x, 2)], [Sign(x), x / sn.norm(x, 2)])
    assert sn.to_text(d.result) == (
        "(sign(x) if norm(x, 1) > norm(x, 2) else x/norm(x, 2) if norm(x, 2) > norm(x, 1) "
        "else minnorm(conv(tied of sign(x), x/norm(x, 2))))")
    assert sn.latex(d.result).startswith(
        r"\begin{cases} \operatorname{sign}(x) & \text{if } \left\lVert x \right\rVert_{1} > ")
    k = d.kernel()
    for v in POINTS:  # ||x||_1 > ||x||_2 off the axes
        np.testing.assert_allclose(k(v), np.sign(v))
    # on an axis the norms tie and both gradients are e_1
    np.testing.assert_allclose(k(np.array([0.0, -2.0, 0.0])), [0.0, -1.0, 0.0])
    # batched rows, one tied
    np.testing.assert_allclose(k(np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]])),
                               [[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_max_of_cubic_norm_and_gram_form_takes_the_active_branch() -> None:
    x2 = sn.vector("x", 2)
    f = sp.Max(sn.norm(x2, 3), ScalarOf(x2.T * x2))
    d = sn.grad(f, x2)
    k = d.kernel()
    v = np.array([1.0, 2.0])  # x.T*x = 5 > ||x||_3 = 9**(1/3)
    np.testing.assert_allclose(k(v), 2 * v)
    w = np.array([0.1, -0.2])  # ||x||_3 > x.T*x
    n3 = np.sum(np.abs(w) ** 3) ** (1 / 3)
    np.testing.assert_allclose(k(w), np.sign(w) * w ** 2 / n3 ** 2, rtol=1e-12)

    def value(u: np.ndarray) -> float:
        return max(np.sum(np.abs(u) ** 3) ** (1 / 3), u @ u)

    for u in (v, w, np.array([-0.4, 0.9])):
        np.testing.assert_allclose(k(u), central(value, u), rtol=1e-6)


def test_max_with_a_constant() -> None:
    f = sp.Max(ScalarOf(x.T * x), sp.Rational(1, 10))
    d = sn.grad(f, x)
    assert sn.to_text(d.result) == "(2*x if x.T*x > 1/10 else 0)"
    k = d.kernel()
    big, small = np.array([1.0, 0.0, 0.5]), np.array([0.1, 0.1, 0.1])
    np.testing.assert_allclose(k(big), 2 * big)
    np.testing.assert_allclose(k(small), 0 * small)
    tie = np.array([np.sqrt(0.1), 0.0, 0.0])  # conv{2x, 0} holds 0
    np.testing.assert_allclose(k(tie), 0 * tie, atol=1e-15)


def test_ties_give_the_minimum_norm_element_of_the_hull() -> None:
    b, c = sn.vector("b", 3), sn.vector("c", 3)
    f = sp.Max(ScalarOf(a.T * x), ScalarOf(b.T * x), ScalarOf(c.T * x))
    k = sn.grad(f, x).kernel()
    assert k.arg_names == ["x", "a", "b", "c"]
    zero = np.zeros(3)
    e = np.eye(3)
    np.testing.assert_allclose(k(zero, a=e[0], b=e[1], c=e[2]), [1 / 3, 1 / 3, 1 / 3])
    av, bv, cv = np.array([2.0, 1, 0]), np.array([-2.0, 1, 0]), np.array([0.0, 3, 0])
    np.testing.assert_allclose(k(zero, a=av, b=bv, c=cv), [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(k(zero, a=e[0], b=-e[0], c=e[1]), [0.0, 0.0, 0.0], atol=1e-12)
    # two of three tied: the segment between their gradients, the third ignored
    v = np.array([1.0, 1.0, -5.0])
    np.testing.assert_allclose(k(v, a=e[0], b=e[1], c=e[2]), [0.5, 0.5, 0.0])
    # agrees with the subdifferential's own minimum-norm element
    s = sn.subdiff(f, x)
    np.testing.assert_allclose(k(zero, a=av, b=bv, c=cv),
                               s.min_norm(zero, a=av, b=bv, c=cv), atol=1e-6)


def test_min_of_pieces_and_max_with_respect_to_a_scalar() -> None:
    f = sp.Min(sn.norm(x - a, 1), ScalarOf(a.T * x))
    k = sn.grad(f, x).kernel()

    def value(v: np.ndarray) -> float:
        return min(np.abs(v - A_VALUE).sum(), A_VALUE @ v)

    for v in POINTS:
        np.testing.assert_allclose(values(k, v), central(value, v), rtol=1e-6, atol=1e-8)
    p = sn.scalar("p")
    d = sn.grad(sp.Max(p ** 2, p), p)
    assert sn.to_text(d.result) == (
        "(1 if p > p**2 else 2*p if p**2 > p else minnorm(conv(tied of 1, 2*p)))")
    np.testing.assert_allclose(d.kernel()(np.array([0.5, 2.0, 1.0, -1.0])),
                               [1.0, 4.0, 1.0, -2.0])


def test_chain_rule_through_max_and_its_hessian() -> None:
    f = sp.exp(sp.Max(sn.norm(x, 1), ScalarOf(x.T * x))) ** 2
    k = sn.grad(f, x).kernel()

    def value(v: np.ndarray) -> float:
        return np.exp(2 * max(np.abs(v).sum(), v @ v))

    for v in POINTS:
        np.testing.assert_allclose(k(v), central(value, v), rtol=1e-6)
    h = sn.hessian(sp.Max(sn.norm(x, 2) ** 2, ScalarOf(a.T * x)), x)
    assert sn.to_text(h.result) == "(2*I if norm(x, 2)**2 > a.T*x else 0)"
    np.testing.assert_allclose(h.kernel()(np.ones(3), a=A_VALUE), 2 * np.eye(3))


# -- item 8: results display as a textbook writes them ----------------------------------

def test_derivation_repr_is_the_textbook_line() -> None:
    A, y, b = sn.matrix("A"), sn.vector("y"), sn.vector("b", "m")
    d = sn.grad(sn.norm(A * y - b, 2), y)
    assert repr(d) == "grad_y(norm(A*y - b, 2)) = A.T*(A*y - b)/norm(A*y - b, 2)"
    assert repr(sn.hessian(sn.norm(y, 2), y)) == (
        "hessian_y(norm(y, 2)) = (I - y*y.T/norm(y, 2)**2)/norm(y, 2)")


def test_sympy_latex_of_a_result_shows_norms_and_signs() -> None:
    A, y, b = sn.matrix("A"), sn.vector("y"), sn.vector("b", "m")
    g = sn.grad(sn.norm(A * y - b, 2), y).result
    assert sp.latex(g) == (r"\frac{1}{\left\lVert A y - b \right\rVert_{2}} A^{T} "
                           r"\left(A y - b\right)")
    assert sp.latex(sn.grad(sn.norm(y, 1), y).result) == r"\operatorname{sign}(y)"


# -- found by the fuzz test -------------------------------------------------------------

def test_product_of_two_linear_forms_is_a_scalar_square() -> None:
    f = (a.T * x) * (a.T * x)  # SymPy builds the matrix power (a.T*x)**2
    d = sn.grad(f, x)
    assert d.f == ScalarOf(a.T * x) ** 2
    assert d.result == 2 * ScalarOf(a.T * x) * a
    g = sn.grad(sp.exp(-(a.T * x) * (a.T * x)), x)
    assert sn.to_text(g.result) == "-2*exp(-(a.T*x)**2)*(a.T*x)*a"
    for v in POINTS:
        s = A_VALUE @ v
        np.testing.assert_allclose(values(g.kernel(), v), -2 * np.exp(-s * s) * s * A_VALUE)


def test_abs_of_sqrt_and_log_of_a_linear_form_stays_real() -> None:
    inside = [v for v in POINTS if A_VALUE @ v > 0]
    assert inside
    d = sn.grad(sp.Abs(sp.sqrt(ScalarOf(a.T * x))), x)
    for v in inside:
        s = A_VALUE @ v
        np.testing.assert_allclose(values(d.kernel(), v), A_VALUE / (2 * np.sqrt(s)))
    d = sn.grad(sp.Abs(sp.log(ScalarOf(a.T * x)) - 2), x)
    assert sn.to_text(d.result) == "sign(log(a.T*x) - 2)*a/(a.T*x)"
    for v in inside:
        s = A_VALUE @ v
        np.testing.assert_allclose(values(d.kernel(), v),
                                   np.sign(np.log(s) - 2) * A_VALUE / s)


def test_max_of_a_quadratic_and_a_log() -> None:
    f = sp.Max(sp.Rational(1, 10) * ScalarOf((x - a).T * (x - a)), sp.log(ScalarOf(a.T * x)))
    k = sn.grad(f, x).kernel()

    def value(v: np.ndarray) -> float:
        return max(0.1 * (v - A_VALUE) @ (v - A_VALUE), np.log(A_VALUE @ v))

    for v in [v for v in POINTS if A_VALUE @ v > 0]:
        np.testing.assert_allclose(values(k, v), central(value, v), rtol=1e-6, atol=1e-9)


def test_sign_of_a_real_subexpression_has_derivative_zero() -> None:
    t = ScalarOf(a.T * x)
    d = sn.grad(sp.sign(sp.sqrt(t)) * sn.norm(x, 2), x)  # SymPy alone: ValueError
    assert sn.to_text(d.result) == "sign(sqrt(a.T*x))*x/norm(x, 2)"
    d = sn.grad(sp.Min(t, 0) ** 2, x)
    assert sn.to_text(d.result) == "2*min(0, a.T*x)*(a if a.T*x < 0 else 0)"
    for v in POINTS:
        s = A_VALUE @ v
        np.testing.assert_allclose(values(d.kernel(), v), 2 * min(0.0, s) * A_VALUE)


def test_explicit_components_of_a_max_gradient() -> None:
    y, c = sn.vector("y", 2), sn.vector("c", 2)
    d = sn.grad(sp.Max(ScalarOf(c.T * y), -ScalarOf(c.T * y)), y)
    comps = d.components()
    s = {sym.name: sym for sym in comps.free_symbols}
    at = {s["c_1"]: 1, s["c_2"]: 2}
    assert comps.subs({**at, s["y_1"]: 1, s["y_2"]: 1}) == sp.Matrix([1, 2])
    assert comps.subs({**at, s["y_1"]: -1, s["y_2"]: 0}) == sp.Matrix([-1, -2])
    assert comps.subs({**at, s["y_1"]: 2, s["y_2"]: -1}) == sp.Matrix([0, 0])  # tie
    d = sn.grad(sp.Max(sn.norm(y, 1), sn.norm(y, 2)), y)
    comps = d.components()
    s = {sym.name: sym for sym in comps.free_symbols}
    assert comps.subs({s["y_1"]: 0, s["y_2"]: 2}) == sp.Matrix([0, 1])


# -- the tie rule's numeric helper, as a property -------------------------------------------

@given(st.integers(2, 5), st.integers(1, 4), st.integers(0, 2 ** 32 - 1))
@settings(max_examples=40, deadline=None)
def test_min_norm_hull_point_is_in_the_hull_and_optimal(k: int, d: int, seed: int) -> None:
    """p = argmin |g| over conv{g_i} iff p is in the hull and <p, g_i> >= |p|^2 for all i."""
    from symnorm.numeric import active_gradient

    gen = np.random.default_rng(seed)
    grads = [gen.standard_normal(d) for _ in range(k)]
    values = [np.float64(1.0)] * k  # all tied
    flat = [a for pair in zip(values, grads) for a in pair]
    p = active_gradient("max", 1, *flat)
    G = np.array(grads)
    scale = max(1.0, float(np.abs(G).max()))
    assert np.all(G @ p >= p @ p - 1e-9 * scale ** 2)
    # <p, q> >= |p|^2 for every hull point q, so |q - p|^2 <= |q|^2 - |p|^2: a hull point q
    # whose norm comes down to |p| (Frank-Wolfe on min |q|^2) proves p is the hull's
    q = G.mean(axis=0)
    for _ in range(5000):
        s = G[np.argmin(G @ q)]
        step = q - s
        denom = step @ step
        if denom == 0 or q @ step < 1e-8 * scale ** 2:  # the Frank-Wolfe gap bounds the error
            break
        q = q - min(1.0, max(0.0, (q @ step) / denom)) * step
    assert p @ p <= q @ q + 1e-12 * scale ** 2
    assert np.linalg.norm(q - p) <= np.sqrt(max(0.0, q @ q - p @ p)) + 1e-6 * scale
    assert q @ q - p @ p < 1e-3 * scale ** 2
    # a strict winner gives its own gradient, min gives the smallest piece's
    values = [np.float64(i) for i in range(k)]
    flat = [a for pair in zip(values, grads) for a in pair]
    np.testing.assert_array_equal(active_gradient("max", 1, *flat), grads[-1])
    np.testing.assert_array_equal(active_gradient("min", 1, *flat), grads[0])


# -- derivatives through a norm's order -------------------------------------------------

def _mp_norm(u: list, p: object) -> object:
    import mpmath

    return mpmath.power(mpmath.fsum(mpmath.power(abs(mpmath.mpf(v)), p) for v in u), 1 / p)


def test_derivative_with_respect_to_the_order() -> None:
    import mpmath

    from symnorm.model.atoms import NormOrderDerivative

    p = sn.scalar("p", positive=True)
    d = sn.grad(sn.norm(x, p), p)
    assert d.result == NormOrderDerivative(x, p)
    assert sn.to_text(d.result) == "dnorm_dp(x, p)"
    assert sn.latex(d.result).startswith(r"\frac{\left\lVert x \right\rVert_{p}}{p} \left(")
    k = d.kernel()
    for v, q in [([1.0, -2.0, 3.0], 2.5), ([0.0, 4.0, -1e-3], 1.5), ([7.0, 7.0, 7.0], 3.0)]:
        want = mpmath.diff(lambda t, v=v: _mp_norm(v, t), q)
        np.testing.assert_allclose(k(x=np.array(v), p=np.array(q)), float(want), rtol=1e-12)
    np.testing.assert_allclose(k(x=np.zeros(3), p=np.array(2.0)), 0.0)  # ||0||_p = 0 for all p
    big = k(x=np.array([1e300, 1e300, 0.0]), p=np.array(3.0))  # no overflow
    np.testing.assert_allclose(big, -1e300 * 2 ** (1 / 3) * np.log(2) / 9, rtol=1e-12)
    d = sn.grad(p * sn.norm(x, p) ** 2, p)
    assert sn.to_text(d.result) == "2*p*norm(x, p)*dnorm_dp(x, p) + norm(x, p)**2"


def test_order_that_depends_on_the_variable() -> None:
    import mpmath

    f = sn.norm(x, ScalarOf(x.T * x))
    d = sn.grad(f, x)
    assert d.report is not None and d.report.ok
    k = d.kernel()

    def value(v: list) -> object:
        return _mp_norm(v, mpmath.fsum(mpmath.mpf(t) ** 2 for t in v))

    for v in ([1.0, -0.5, 0.8], [0.3, 1.2, -0.9]):
        want = [float(mpmath.diff(lambda t, i=i: value(
            [t if j == i else v[j] for j in range(3)]), v[i])) for i in range(3)]
        np.testing.assert_allclose(k(np.array(v)), want, rtol=1e-10)
    with pytest.raises(sn.UnsupportedExpressionError, match="second derivatives through the order"):
        sn.hessian(f, x)


def test_max_and_order_kernels_keep_dtype_batches_and_empty_inputs() -> None:
    y = sn.vector("y")
    k = sn.grad(sp.Max(sn.norm(y, 1), sn.norm(y, 2)), y).kernel()
    Y = np.array([[1, 2, 0], [3, 0, 0]], dtype=np.float32)
    r = k(Y)
    assert r.dtype == np.float32
    np.testing.assert_array_equal(r, [[1, 1, 0], [1, 0, 0]])
    out = np.empty((2, 3), np.float32)
    assert k(Y, out=out) is out
    np.testing.assert_array_equal(out, r)
    assert k(np.zeros((0, 3))).shape == (0, 3)
    assert k(np.zeros(0)).shape == (0,)
    p = sn.scalar("p", positive=True)
    kp = sn.grad(sn.norm(y, p), p).kernel()
    assert kp(p=np.float32(2.0), y=np.ones(3, np.float32)).dtype == np.float32
    np.testing.assert_allclose(kp(p=np.array([2.0, 3.0]), y=np.ones((2, 3))),
                               [-np.sqrt(3) * np.log(3) / 4, -3 ** (1 / 3) * np.log(3) / 9])
    assert kp(p=2.0, y=np.zeros(0)) == 0.0


def test_max_of_norms_of_scaled_differences_builds_and_derives() -> None:
    # SymPy's Max compares its arguments with factor_terms, which used to rebuild the
    # 2*x - 2*a inside the norm from scalars ("Mix of Matrix and Scalar symbols")
    f = sp.Max(sn.norm(2 * (x - a), 2), sn.norm(x, 1))
    g = sp.Max(ScalarOf((2 * x - 2 * a).T * x), sn.norm(x, 1))
    assert sp.factor_terms(sn.norm(2 * x - 2 * a, 2) - sn.norm(x, 1)) == \
        sn.norm(2 * x - 2 * a, 2) - sn.norm(x, 1)
    k = sn.grad(f, x).kernel()

    def value(v: np.ndarray) -> float:
        return max(2 * np.linalg.norm(v - A_VALUE), np.abs(v).sum())

    for v in POINTS:
        np.testing.assert_allclose(values(k, v), central(value, v), rtol=1e-6, atol=1e-9)
    assert sn.grad(g, x).report.ok
    parsed = sn.parse("max(norm(2*(x - a), 2), norm(x, 1))", x=3, a=3)
    assert sn.grad(parsed, sn.vector("x", 3)).report.ok


# -- the 2-norm (any order) of a 1x1 expression is its absolute value ---------------------

u = sn.vector("u")
w = sn.vector("w")


@pytest.mark.parametrize("p", [1, 2, 3, sp.oo, sp.Rational(5, 2)])
def test_norm_of_a_one_by_one_expression(p) -> None:
    """The Cookbook's ||x.T x||_2 and ||a.T x||_p: every order is |a.T x|."""
    d = sn.grad(sn.norm(w.T * u, p), u)
    assert d.report.ok
    k = d.kernel()
    X = np.array([[1.0, 2.0], [0.5, -3.0], [-1.0, 0.5]])
    W = np.array([[1.0, -3.0], [1.0, 1.0], [2.0, 2.0]])
    s = np.einsum("bi,bi->b", W, X)  # -5, -2.5, -1: batched, one value per row
    np.testing.assert_allclose(k(X, W), np.sign(s)[:, None] * W, rtol=1e-14)
    for row in range(3):  # unbatched
        np.testing.assert_allclose(k(X[row], W[row]), np.sign(s[row]) * W[row], rtol=1e-14)
    value = sn.kernel(sn.norm(w.T * u, p), [u, w])
    np.testing.assert_allclose(value(X, W), np.abs(s), rtol=1e-14)


def test_norm_of_a_one_by_one_expression_exact_forms() -> None:
    d = sn.grad(sn.norm(w.T * u, 2), u)
    assert sn.to_text(d.result) == "w*w.T*u/norm(w.T*u, 2)"
    assert [k.where for k in d.kinks] == ["w.T*u = 0"]
    gram = sn.grad(sn.norm(u.T * u, 2), u)
    assert sn.to_text(gram.result) == "2*u*u.T*u/norm(u.T*u, 2)"
    k = sn.kernel(sn.norm(u.T * u, 2), [u])
    assert k(np.array([1.0, 2.0])) == 5.0
    np.testing.assert_allclose(k(np.array([[1.0, 2.0], [3.0, 0.0]])), [5.0, 9.0])
    np.testing.assert_allclose(gram.kernel()(np.array([1.0, 2.0])), [2.0, 4.0])
    np.testing.assert_allclose(gram.kernel()(np.zeros(2)), [0.0, 0.0])  # the kink: 0
    count = sn.kernel(sn.norm(w.T * u, 0), [u, w])
    np.testing.assert_array_equal(count(np.array([[1.0, 1.0], [1.0, -1.0]]), np.ones((2, 2))),
                                  [1.0, 0.0])
    p = sn.scalar("p", positive=True)
    dp = sn.grad(sn.norm(w.T * u, p), u)  # a symbolic order: the same |w.T u|
    np.testing.assert_allclose(dp.kernel()(np.array([1.0, 2.0]), p=2.5, w=np.array([1.0, -3.0])),
                               [-1.0, 3.0], rtol=1e-14)


# -- printing never simplifies -----------------------------------------------------------

def test_latex_of_max_with_exp_of_a_negative_piece(monkeypatch) -> None:
    """The tie condition of max(norm(x, 1), exp(-sigmoid(norm(x, 2)))*norm(x, 3)) once made
    the LaTeX printer call simplify (fraction -> is_constant), which broke on the norms."""
    x2, a2 = sn.vector("x", 2), sn.vector("a", 2)
    first = sn.grad(sn.parse("max(norm(x, 1), exp(-sigmoid(norm(x, 2)))*norm(x, 3))", x=x2),
                    x2)
    second = sn.grad(sn.parse("max(norm(x, 3), exp(-sigmoid(norm(x - a, 2)))/(x.T*x))",
                              x=x2, a=a2), x2)

    def refuse(*args, **kwargs):
        raise AssertionError("printing called simplify")

    monkeypatch.setattr(importlib.import_module("sympy.simplify.simplify"), "simplify", refuse)
    tex = first.latex()
    assert (r"\text{if } e^{- \frac{1}{1 + e^{- \left\lVert x \right\rVert_{2}}}} "
            r"\left\lVert x \right\rVert_{3} > \left\lVert x \right\rVert_{1}") in tex
    assert r"\left\lVert x - a \right\rVert_{2}" in second.latex()
    assert sn.latex(sp.exp(-sn.norm(x2 - a2, 2) / sn.norm(x2, 1)) * sn.norm(x2, 3)) == (
        r"e^{- \frac{\left\lVert x - a \right\rVert_{2}}{\left\lVert x \right\rVert_{1}}} "
        r"\left\lVert x \right\rVert_{3}")
    # a symbolic negative power keeps SymPy's layout: in the numerator, as written
    t = sn.scalar("t", positive=True)
    assert sn.latex(sn.norm(x2, 2) ** (-t) * sn.norm(x2, 1)) == \
        r"\left\lVert x \right\rVert_{1} \left\lVert x \right\rVert_{2}^{- t}"


def test_max_with_exp_of_a_negative_piece_is_right() -> None:
    x2 = sn.vector("x", 2)
    d = sn.grad(sn.parse("max(norm(x, 1), exp(-sigmoid(norm(x, 2)))*norm(x, 3))", x=x2), x2)
    k = d.kernel()

    def value(v: np.ndarray) -> float:
        sig = 1 / (1 + np.exp(-np.linalg.norm(v)))
        return max(np.abs(v).sum(), np.exp(-sig) * np.sum(np.abs(v) ** 3) ** (1 / 3))

    for v in (np.array([0.3, -1.2]), np.array([2.0, 0.5]), np.array([-0.7, 0.1])):
        np.testing.assert_allclose(k(v), central(value, v), rtol=1e-6, atol=1e-9)


def test_scalar_simplification_reaches_inside_atoms_without_breaking_them() -> None:
    """SymPy's simplify replaces with Transform rules (not dicts); the atoms keep their
    matrix arguments intact under them."""
    from sympy.core.rules import Transform

    x2, a2 = sn.vector("x", 2), sn.vector("a", 2)
    assert sp.simplify(-1 / (1 + sp.exp(-sn.norm(x2, 2)))) == \
        -sp.exp(sn.norm(x2, 2)) / (sp.exp(sn.norm(x2, 2)) + 1)
    n = sn.norm(x2 - a2, 2)
    to_scalar = Transform(lambda e: sp.Integer(0), lambda e: isinstance(e, sp.MatAdd))
    assert n.xreplace(to_scalar) == n
    y2 = sn.vector("y", 2)
    assert n.xreplace(Transform(lambda e: y2, lambda e: e == x2)) == sn.norm(y2 - a2, 2)


def test_grad_of_text_or_of_a_vector_says_what_to_call_instead() -> None:
    x = sn.vector("x")
    with pytest.raises(sn.UnsupportedExpressionError, match=r"sn\.parse\('norm\(x, 2\)'\)"):
        sn.grad("norm(x, 2)", x)
    with pytest.raises(sn.ShapeError, match=r"its Jacobian: sn\.jacobian\(F, wrt\)"):
        sn.grad(x / sn.norm(x, 2), x)
