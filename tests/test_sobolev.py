"""Sobolev norms: exact values against hand-integrated references, steps, the quadrature
fallback, first variations against SymPy's euler_equations, discrete norms and their
gradients against finite differences."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy.calculus.euler import euler_equations

import symnorm as sn

t = sp.Symbol("t", real=True)
x, y = sp.symbols("x y", real=True)
pi = sp.pi


# -- exact values (references integrated by hand) ----------------------------------------------

@pytest.mark.parametrize("f,k,seminorm,squared", [
    (sp.sin(pi * t), 0, False, sp.Rational(1, 2)),
    (sp.sin(pi * t), 1, False, (1 + pi**2) / 2),
    (sp.sin(pi * t), 1, True, pi**2 / 2),
    (sp.sin(pi * t), 2, False, (1 + pi**2 + pi**4) / 2),
    (sp.sin(pi * t), 2, True, pi**4 / 2),
    (t * (1 - t), 0, False, sp.Rational(1, 30)),
    (t * (1 - t), 1, False, sp.Rational(1, 30) + sp.Rational(1, 3)),
    (t * (1 - t), 1, True, sp.Rational(1, 3)),
    (t * (1 - t), 2, False, sp.Rational(1, 30) + sp.Rational(1, 3) + 4),
    (t**3, 2, False, sp.Rational(1, 7) + sp.Rational(9, 5) + 12),   # ∫t^6, ∫9t^4, ∫36t^2
    (1 + t + t**2, 1, False, sp.Rational(37, 10) + sp.Rational(13, 3)),
])
def test_h_k_norms_on_unit_interval(f, k, seminorm, squared):
    N = sn.sobolev_norm(f, t, (0, 1), k=k, seminorm=seminorm)
    assert N.exact and not N.notes
    assert sp.simplify(N.power - squared) == 0
    assert sp.simplify(N.value - sp.sqrt(squared)) == 0


def test_w_k_p_norms_and_other_intervals():
    # W^{1,1}(0, 2) of t^3: ∫|t^3| + ∫|3t^2| = 4 + 8
    assert sn.sobolev_norm(t**3, t, (0, 2), k=1, p=1).value == 12
    # W^{1,1}(-1, 1) of t: ∫|t| + ∫1 = 1 + 2 (the absolute value matters)
    assert sn.sobolev_norm(t, t, (-1, 1), k=1, p=1).value == 3
    # W^{1,4}(0, 1) of t: (∫t^4 + ∫1)^(1/4) = (6/5)^(1/4)
    assert sp.simplify(sn.sobolev_norm(t, t, (0, 1), k=1, p=4).value
                       - sp.Rational(6, 5) ** sp.Rational(1, 4)) == 0


def test_sup_norms():
    assert sn.sobolev_norm(t**2, t, (0, 1), k=2, p=sp.oo).value == 2
    assert sn.sobolev_norm(sp.sin(pi * t), t, (0, 1), k=1, p="oo").value == pi
    assert sn.sobolev_norm(t * (1 - t), t, (0, 1), k=0, p=sp.oo).value == sp.Rational(1, 4)


def test_several_variables_box():
    # f = x y^2 on (0,1) x (0,2): ∫f² = 32/15, f_x² -> 32/5, f_y² -> 32/9
    N = sn.sobolev_norm(x * y**2, (x, y), ((0, 1), (0, 2)), k=1)
    assert N.terms == {(0, 0): sp.Rational(32, 15), (1, 0): sp.Rational(32, 5),
                       (0, 1): sp.Rational(32, 9)}
    assert sp.simplify(N.value**2 - (sp.Rational(32, 15) + sp.Rational(32, 5)
                                     + sp.Rational(32, 9))) == 0
    # k = 2 adds f_xx = 0, f_xy = 2y (∫ = 32/3), f_yy = 2x (∫ = 8/3)
    N2 = sn.sobolev_norm(x * y**2, (x, y), ((0, 1), (0, 2)), k=2, seminorm=True)
    assert N2.power == sp.Rational(32, 3) + sp.Rational(8, 3)


def test_steps_and_latex():
    N = sn.sobolev_norm(sp.sin(pi * t), t, (0, 1), k=1)
    notes = [s.note for s in N.steps]
    assert notes == ["integral", "derivative of order 1", "integral",
                     "the square root of the sum"]
    assert N.steps[1].rhs == r"\pi \cos{\left(\pi t \right)}"
    src = N.latex()
    assert r"\begin{aligned}" in src and r"H^{1}((0, 1))" in src
    assert src.count("{") == src.count("}")
    assert N._repr_latex_().startswith("$$")
    assert "exact" in N.text()


def test_numeric_fallback_says_so():
    f = sp.sin(t**2)
    N = sn.sobolev_norm(f, t, (0, 1), k=0, p=3)
    assert not N.exact and N.notes and "numerically" in N.notes[0]
    assert any("quadrature" in s.note for s in N.steps)
    want = mpmath.quad(lambda s: abs(mpmath.sin(s**2)) ** 3, [0, 1]) ** (mpmath.mpf(1) / 3)
    assert abs(float(N.value) - float(want)) < 1e-12


def test_bad_input():
    with pytest.raises(sn.ShapeError, match="a < b"):
        sn.sobolev_norm(t, t, (1, 0))
    with pytest.raises(ValueError, match="p must"):
        sn.sobolev_norm(t, t, (0, 1), p=sp.Rational(1, 2))
    with pytest.raises(sn.ShapeError, match="domain"):
        sn.sobolev_norm(t, t)
    with pytest.raises(sn.ShapeError, match="one interval"):
        sn.sobolev_norm(x * y, (x, y), (0, 1))
    with pytest.raises(sn.ShapeError, match="grid spacing"):
        sn.sobolev_norm(sn.vector("u"), k=1)


# -- first variations ----------------------------------------------------------------------------

u = sp.Function("u")


@pytest.mark.parametrize("k,expected", [
    (1, 2 * u(t) - 2 * u(t).diff(t, 2)),
    (2, 2 * u(t) - 2 * u(t).diff(t, 2) + 2 * u(t).diff(t, 4)),
])
def test_first_variation_of_h_k_energy(k, expected):
    J = sn.sobolev_energy(u(t), t, (0, 1), k=k)
    fv = sn.first_variation(J, u(t))
    assert sp.expand(fv.result - expected) == 0
    (eq,) = euler_equations(J.function, u(t), t)
    assert sp.expand(fv.result - eq.lhs) == 0
    assert fv.equation == sp.Eq(fv.result, 0)
    assert r"\frac{\delta J}{\delta u{\left(t \right)}}" in fv.latex()


def test_first_variation_general_lagrangians():
    lag = u(t).diff(t) ** 2 / 2 + sp.sin(u(t)) + t * u(t) * u(t).diff(t)
    (eq,) = euler_equations(lag, u(t), t)
    assert sp.simplify(sn.first_variation(sp.Integral(lag, (t, 0, 1)), u(t)).result
                       - eq.lhs) == 0
    v = sp.Function("v")(x, y)
    dirichlet = v.diff(x) ** 2 + v.diff(y) ** 2 + v**2
    (eq2,) = euler_equations(dirichlet, v, (x, y))
    assert sp.simplify(sn.first_variation(dirichlet, v).result - eq2.lhs) == 0


def test_first_variation_errors():
    with pytest.raises(sn.UnsupportedExpressionError, match="unknown function"):
        sn.first_variation(t**2, t)
    with pytest.raises(sn.UnsupportedExpressionError, match="does not depend"):
        sn.first_variation(sp.Integral(t, (t, 0, 1)), u(t))


# -- discrete Sobolev norms of grid vectors ------------------------------------------------------

U = sn.vector("u")
H = sn.scalar("h", positive=True)


def _hand_h1_squared(v: np.ndarray, h: float, k: int = 1) -> float:
    total = np.sum(v**2)
    d = v
    for _ in range(k):
        d = np.diff(d) / h
        total += np.sum(d**2)
    return float(h * total)


def test_discrete_h1_value_and_convergence():
    k = sn.kernel(sn.sobolev_norm(U, k=1, h=H), [U, H])
    grid = np.linspace(0, 1, 2001)
    h = grid[1] - grid[0]
    v = np.sin(np.pi * grid)
    assert float(k(v, h)) == pytest.approx(np.sqrt(_hand_h1_squared(v, h)), rel=1e-13)
    assert float(k(v, h)) == pytest.approx(float(sp.sqrt((1 + pi**2) / 2)), rel=2e-3)


@pytest.mark.parametrize("k", [1, 2])
def test_discrete_gradient_against_finite_differences(k, rng):
    E = sn.sobolev_norm(U, k=k, h=H) ** 2
    d = sn.grad(E, U)
    assert d.report.ok
    g = d.kernel()
    v, h = rng.standard_normal(9), 0.3
    fd = np.array([(_hand_h1_squared(v + 1e-6 * e, h, k) - _hand_h1_squared(v - 1e-6 * e, h, k))
                   / 2e-6 for e in np.eye(9)])
    np.testing.assert_allclose(g(v, h), fd, rtol=1e-6, atol=1e-6)
    # the closed form 2h (I + D^T D) u (k = 1), with D built by hand
    if k == 1:
        D = (np.eye(9)[1:] - np.eye(9)[:-1]) / h
        np.testing.assert_allclose(g(v, h), 2 * h * (np.eye(9) + D.T @ D) @ v, rtol=1e-12)
        assert sn.latex(d.result) == r"2 h u + 2 h D_{h}^\top D_{h} u"
    # batched over a leading axis
    batch = rng.standard_normal((4, 9))
    np.testing.assert_allclose(g(batch, h), np.stack([g(b, h) for b in batch]), rtol=1e-13)


def test_discrete_seminorm_and_p():
    v, h = np.array([0.0, 1.0, 3.0, 2.0]), 0.5
    semi = sn.kernel(sn.sobolev_norm(U, k=1, h=H, seminorm=True), [U, H])
    assert float(semi(v, h)) == pytest.approx(np.sqrt(h * np.sum((np.diff(v) / h) ** 2)))
    w11 = sn.kernel(sn.sobolev_norm(U, k=1, h=H, p=1), [U, H])
    assert float(w11(v, h)) == pytest.approx(h * (np.abs(v).sum() + np.abs(np.diff(v) / h).sum()))
    sup = sn.kernel(sn.sobolev_norm(U, k=1, h=H, p=sp.oo), [U, H])
    assert float(sup(v, h)) == pytest.approx(max(3.0, 4.0))


@pytest.mark.parametrize("text", ["norm(u, H1)", "norm(u, H2)", "norm(A*x - b, W12)"])
def test_sobolev_space_names_are_not_norm_orders(text):
    # an undeclared name is no norm order; a Sobolev space's name gets the pointer to
    # sobolev_norm, with the caret under the name
    with pytest.raises(sn.ParseError, match="unknown norm order .*Sobolev space.*sobolev_norm") \
            as info:
        sn.parse(text)
    assert info.value.column == text.index(",") + 3
    # declared a scalar, the name is an ordinary order
    name = text[text.index(",") + 2:-1]
    assert sn.parse(text, **{name: "scalar"}).p == sp.Symbol(name, real=True)


def test_exact_terms_are_checked_against_quadrature(monkeypatch):
    N = sn.sobolev_norm(t * (1 - t), t, (0, 1), k=1)
    assert len(N.checked) == 2 and all("numeric" in c for c in N.checked)
    # a wrong closed form is caught, not returned
    import symnorm.calculus.sobolev as sob

    monkeypatch.setattr(sob, "_integrate", lambda g, v, d: (sp.Rational(1, 7), True))
    with pytest.raises(sn.CheckFailedError, match="disagrees"):
        sn.sobolev_norm(t * (1 - t), t, (0, 1), k=1)
    assert sn.sobolev_norm(t * (1 - t), t, (0, 1), k=1, check=False).power == sp.Rational(2, 7)


def test_first_variation_is_checked_numerically():
    import symnorm.calculus.variation as variation

    J = sn.sobolev_energy(u(t), t, (0, 1), k=2)
    fv = sn.first_variation(J, u(t))
    assert "= ∫ (δ J)/(δ u) v" in fv.report  # the identity it checks, as text
    assert r"\int \frac{\delta J}{\delta u}\, v" in fv.report.note.latex()  # and typeset
    derivs = [d for d in J.function.atoms(sp.Derivative)]
    with pytest.raises(sn.CheckFailedError, match="first variation"):
        variation._check_variation(J.function, u(t), 2 * u(t), derivs, J)  # the u'' terms dropped
    assert sn.first_variation(J, u(t), check=False).report == ""


def test_difference_operator_matches_its_dense_matrix(rng):
    from symnorm.numeric.matrices import difference_matrix

    for order in (1, 2, 3):
        op = difference_matrix(7, order, 0.25)
        dense = np.asarray(op)
        hand = np.eye(7)
        for _ in range(order):
            hand = np.diff(hand, axis=0)
        np.testing.assert_allclose(dense, hand / 0.25**order)
        v, w = rng.standard_normal((3, 7)), rng.standard_normal((3, 7 - order))
        np.testing.assert_allclose(np.stack([op @ r for r in v]), v @ dense.T, atol=1e-12)
        np.testing.assert_allclose(np.matmul(op.T, w[..., None])[..., 0], w @ dense,
                                   atol=1e-12)


def test_discrete_gradient_on_a_long_grid_needs_no_dense_matrix(rng):
    g = sn.grad(sn.sobolev_norm(U, k=1, h=H) ** 2, U).kernel()
    v, h = rng.standard_normal(300_000), 1e-3
    d = np.diff(v) / h
    adjoint = np.concatenate([[0.0], d]) - np.concatenate([d, [0.0]])
    np.testing.assert_allclose(g(v, h), 2 * h * (v + adjoint / h), rtol=1e-12, atol=1e-9)


def test_bad_orders_are_symnorm_errors() -> None:
    t = sp.Symbol("t", real=True)
    with pytest.raises(sn.DomainError, match="k must be an integer >= 0"):
        sn.sobolev_norm(sp.sin(t), t, (0, 1), k=-1)
    with pytest.raises(sn.DomainError, match="p must be a number >= 1"):
        sn.sobolev_norm(sp.sin(t), t, (0, 1), p=0)
