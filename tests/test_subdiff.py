"""Subdifferentials: closed forms, membership, minimum-norm elements, support functions,
and the kink-aware check (including SymPy's wrong answer for the max norm)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.check import one_sided_derivative
from symnorm.rules import NORMS

X = sn.vector("x")
CONVEX = [(r, p) for r in NORMS for p in r.sample_orders
          if r.subdiff is not None and not sp.sympify(p).free_symbols and r.is_norm(sp.sympify(p))
          and (p in (1, 2, sp.oo) or p > 1)]
IDS = [f"{r.key}-p={p}" for r, p in CONVEX]


def fd_tol(p):
    """|t|^p with 1 < p < 2 is differentiable but not C^2 at 0: differences converge
    like h^(p-1) there, so those orders get a looser tolerance."""
    return 2e-3 if (p not in (1, 2, sp.oo) and p < 2) else 1e-6


def value_fn(f, wrt=X):
    k = sn.kernel(f, sn.kernel.__globals__["free_arguments"](f, first=wrt))
    return lambda v: k(**v)


def kink_points():
    """Exact zeros, exact ties, the origin and a generic point."""
    return [np.zeros(4), np.array([0.0, 1.5, 0.0, -2.0]), np.array([1.0, -1.0, 1.0, 0.5]),
            np.array([2.0, 2.0, -2.0, 2.0]), np.array([0.3, -1.2, 2.5, 0.7])]


# -- closed forms ------------------------------------------------------------------------

def test_l1_set_latex():
    S = sn.subdiff(sn.norm(X, 1), X)
    tex = S.latex()
    assert tex.startswith(r"\partial \left\lVert x \right\rVert_{1} =")
    assert r"g_i \in [-1, 1] \text{ if } x_{i} = 0" in tex
    assert S.characterization() == (r"\left\{ g : \lVert g \rVert_{\infty} \le 1,\ \langle g,"
                                    r" x \rangle = \left\lVert x \right\rVert_{1} \right\}")
    assert r"\sum_{i : x_{i} = 0} \lvert d_{i} \rvert" in S.support_latex()


def test_lasso_set_latex():
    A, b, lam = sn.matrix("A"), sn.vector("b", "m"), sn.scalar("lam", positive=True)
    S = sn.subdiff(sn.norm(A * X - b, 2) ** 2 / 2 + lam * sn.norm(X, 1), X)
    assert S.root.latex() == (r"\left\{ A^\top \left(A x - b\right) \right\} + \lambda\, "
                              r"\partial \lVert \cdot \rVert_{1}\left(x\right)")


def test_weighted_norm_is_affine_precomposition():
    W = sn.matrix("W", "n", "n")
    S = sn.subdiff(sn.norm(W * X, 2), X)
    assert S.root.latex() == r"W^\top\, \partial \lVert \cdot \rVert_{2}\left(W x\right)"


# -- membership, min-norm, support: every registered convex norm ----------------------------

@pytest.mark.parametrize("rule,p", CONVEX, ids=IDS)
@pytest.mark.parametrize("point", range(5))
def test_min_norm_element_is_a_member_and_is_the_kernel_value(rule, p, point):
    x0 = kink_points()[point]
    S = sn.subdiff(sn.norm(X, p), X)
    g = S.min_norm(at=x0)
    assert S.contains(g, at=x0)
    kernel = sn.grad(sn.norm(X, p), X).kernel()
    np.testing.assert_allclose(kernel(x0), g, atol=1e-12)


@pytest.mark.parametrize("rule,p", CONVEX, ids=IDS)
@pytest.mark.parametrize("point", range(5))
def test_support_function_equals_one_sided_derivative(rule, p, point):
    x0 = kink_points()[point]
    f = sn.norm(X, p)
    S = sn.subdiff(f, X)
    rng = np.random.default_rng(point)
    fn = value_fn(f)
    for d in [*np.eye(4), *-np.eye(4), *rng.standard_normal((4, 4))]:
        fd = one_sided_derivative(fn, {"x": x0}, "x", d)
        assert abs(S.support(d, at=x0) - fd) < fd_tol(p), (d, fd)


@pytest.mark.parametrize("rule,p", CONVEX, ids=IDS)
def test_vectors_outside_are_rejected_with_a_certified_distance(rule, p):
    S = sn.subdiff(sn.norm(X, p), X)
    x0 = np.array([0.0, 1.5, 0.0, -2.0])
    g = S.min_norm(at=x0)
    for bump in (np.array([0, 0.5, 0, 0]), np.array([3.0, 0, 0, 0]), 2 * g + 1):
        outside = g + bump
        assert not S.contains(outside, at=x0)
        nearest = S.at(at=x0).nearest(outside, 1e-10)
        assert nearest.lower > 1e-3  # a separating hyperplane proves it


def test_l2_at_origin_is_the_unit_ball():
    S = sn.subdiff(sn.norm(X, 2), X)
    assert S.contains([0.6, 0.8, 0.0], at=np.zeros(3))
    assert S.contains([0.1, -0.2, 0.3], at=np.zeros(3))
    assert not S.contains([0.8, 0.8, 0.0], at=np.zeros(3))
    assert S.support([3.0, 4.0, 0.0], at=np.zeros(3)) == pytest.approx(5.0)


def test_linf_tie_is_the_convex_hull():
    S = sn.subdiff(sn.norm(X, sp.oo), X)
    x0 = np.array([1.0, -1.0, 0.5])
    assert S.contains([0.5, -0.5, 0.0], at=x0)
    assert S.contains([1.0, 0.0, 0.0], at=x0)
    assert not S.contains([0.5, 0.5, 0.0], at=x0)       # wrong sign on the tie
    assert not S.contains([0.4, -0.4, 0.2], at=x0)      # mass off the tie
    np.testing.assert_allclose(S.min_norm(at=x0), [0.5, -0.5, 0.0])


# -- convex calculus ------------------------------------------------------------------------

def test_affine_precomposition_membership(rng):
    A, b = sn.matrix("A"), sn.vector("b", "m")
    S = sn.subdiff(sn.norm(A * X - b, 1), X)
    a = rng.standard_normal((4, 3))
    x0 = rng.standard_normal(3)
    bv = a @ x0
    bv[1] += 1.0  # residual (0, -1, 0, 0): entries 0, 2, 3 at the kink
    s = np.array([0.3, -1.0, -0.9, 0.2])
    assert S.contains(a.T @ s, at=x0, A=a, b=bv)
    s_bad = np.array([0.3, 1.0, -0.9, 0.2])  # wrong sign on the nonzero residual
    assert not S.contains(a.T @ s_bad, at=x0, A=a, b=bv)
    g = S.min_norm(at=x0, A=a, b=bv)
    assert S.contains(g, at=x0, A=a, b=bv)
    d = rng.standard_normal(3)
    fn = value_fn(sn.norm(A * X - b, 1))
    fd = one_sided_derivative(fn, {"x": x0, "A": a, "b": bv}, "x", d)
    assert S.support(d, at=x0, A=a, b=bv) == pytest.approx(fd, abs=1e-6)


def test_lasso_optimality_certifies_a_solution():
    A, b, lam = sn.matrix("A"), sn.vector("b", "m"), sn.scalar("lam", positive=True)
    f = sn.norm(A * X - b, 2) ** 2 / 2 + lam * sn.norm(X, 1)
    S = sn.subdiff(f, X)
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    bv = np.array([3.0, 0.5])
    # with A = I the lasso solution is soft thresholding: (2, 0) for lam = 1
    assert S.contains(np.zeros(2), at=[2.0, 0.0], A=a, b=bv, lam=1.0)
    assert not S.contains(np.zeros(2), at=[2.5, 0.0], A=a, b=bv, lam=1.0)
    assert not S.contains(np.zeros(2), at=[2.0, 0.1], A=a, b=bv, lam=1.0)


def test_pointwise_max_is_the_hull_of_active_pieces():
    f = sp.Max(sn.norm(X, 1), 2 * sn.norm(X, sp.oo))
    S = sn.subdiff(f, X)
    x0 = np.array([1.0, 1.0])      # both pieces equal 2 here
    assert S.contains([1.0, 1.0], at=x0)     # ∂‖x‖₁
    assert S.contains([2.0, 0.0], at=x0)     # 2 ∂‖x‖∞
    assert S.contains([1.5, 0.5], at=x0)     # in between
    assert not S.contains([2.0, 2.0], at=x0)
    x1 = np.array([3.0, 1.0])       # only 2‖x‖∞ = 6 is active (‖x‖₁ = 4)
    assert not S.contains([1.0, 1.0], at=x1)
    fn = value_fn(f)
    for d in np.random.default_rng(0).standard_normal((6, 2)):
        fd = one_sided_derivative(fn, {"x": x0}, "x", d)
        assert S.support(d, at=x0) == pytest.approx(fd, abs=1e-6)


def test_monotone_function_of_a_norm():
    f = sn.norm(X, 1) ** 2
    S = sn.subdiff(f, X)
    x0 = np.array([0.0, 2.0])
    assert S.contains([1.0, 4.0], at=x0)   # 2‖x‖₁ ∂‖x‖₁ = 4 * ([-1,1], 1)
    assert not S.contains([5.0, 4.0], at=x0)


def test_min_norm_kernel_batched(rng):
    S = sn.subdiff(sn.norm(X, 1), X)
    k = S.min_norm_kernel()
    batch = np.array([[0.0, 1.0], [-2.0, 0.0]])
    np.testing.assert_array_equal(k(batch), [[0, 1], [-1, 0]])
    A, b = sn.matrix("A"), sn.vector("b", "m")
    T = sn.subdiff(sn.norm(A * X - b, 2), X)
    kk = T.min_norm_kernel()
    a = rng.standard_normal((3, 2))
    got = kk(np.array([[1.0, 2.0], [0.0, 0.0]]), a, a @ np.array([1.0, 2.0]))
    np.testing.assert_allclose(got[0], 0, atol=1e-8)


def test_nonconvex_and_unsupported_are_refused():
    with pytest.raises(sn.UnsupportedExpressionError, match="not convex"):
        sn.subdiff(sn.norm(X, 0), X)
    with pytest.raises(sn.UnsupportedExpressionError, match="supported"):
        sn.subdiff(sn.norm(X, 1) * sn.norm(X, 2), X)
    with pytest.raises(sn.UnsupportedExpressionError, match="negative multiple"):
        sn.subdiff(sn.norm(X, 2) - sn.norm(X, 1), X)
    A = sn.matrix("A", "n", "n")
    from symnorm.model.atoms import Sigmoid
    with pytest.raises(sn.UnsupportedExpressionError, match="affine"):
        sn.subdiff(sn.norm(Sigmoid(A * X), 1), X)


def test_point_must_be_given():
    S = sn.subdiff(sn.norm(X, 1), X)
    with pytest.raises(sn.ShapeError, match="at="):
        S.contains([0.0], at=None)
    with pytest.raises(sn.ShapeError, match="entries"):
        S.contains([0.0, 1.0, 2.0], at=[1.0, 2.0])


# -- kink-aware checking: SymPy's answer for the max norm -------------------------------------

def sympy_gradient_of_max_at_ones():
    """What SymPy itself says ∇ max(|x1|, |x2|, |x3|) is at (1, 1, 1)."""
    xs = sp.symbols("x1:4", real=True)
    f = sp.Max(*[sp.Abs(v) for v in xs])
    at = dict.fromkeys(xs, 1)
    return np.array([float(sp.diff(f, v).subs(at)) for v in xs])


def test_sympy_max_norm_gradient_is_rejected_and_ours_accepted():
    wrong = sympy_gradient_of_max_at_ones()
    np.testing.assert_allclose(wrong, [0.5, 0.5, 0.5])  # what SymPy returns
    f = sn.norm(X, sp.oo)
    x0 = np.ones(3)
    report = sn.check(f, X, grad=wrong, at=x0)
    assert not report.ok
    assert "<g, d> <= f'(x; d)" in report.summary() or "f(y) >=" in report.summary()
    ours = sn.grad(f, X)
    good = sn.check(f, X, grad=ours.result, at=x0, subdiff=sn.subdiff(f, X))
    assert good.ok and good.points[0].mode == "kink", good.summary()
    np.testing.assert_allclose(ours.kernel()(x0), [1 / 3] * 3)
    assert not sn.subdiff(f, X).contains(wrong, at=x0)


# -- hypothesis: random points with exact zeros and ties ------------------------------------

# exact zeros and ties, or values clearly away from them: a finite difference with step h
# crosses a kink closer than h, which would be the reference's fault, not the set's
entries = st.sampled_from([0.0, 0.0, 1.0, -1.0, 2.0, -2.0, 0.5]) | st.floats(-3, 3).filter(
    lambda v: abs(v) > 1e-3)


def separated(values):
    mags = sorted({abs(v) for v in values})
    return all(b - a > 1e-3 for a, b in zip(mags, mags[1:]))


points = st.lists(entries, min_size=2, max_size=6).filter(separated).map(np.array)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(points, st.sampled_from(CONVEX), st.integers(0, 10**6))
def test_random_points_min_norm_and_support(x0, case, seed):
    rule, p = case
    f = sn.norm(X, p)
    S = sn.subdiff(f, X)
    g = S.min_norm(at=x0)
    assert S.contains(g, at=x0)
    d = np.random.default_rng(seed).standard_normal(x0.shape)
    fd = one_sided_derivative(value_fn(f), {"x": x0}, "x", d)
    assert abs(S.support(d, at=x0) - fd) <= fd_tol(p) * (1 + abs(fd))
    # support dominates every member: <g, d> <= σ(d)
    assert g @ d <= S.support(d, at=x0) + 1e-9


def test_subdiff_is_checked_before_it_is_returned():
    S = sn.subdiff(sn.norm(X, 1), X)
    assert S.report is not None and S.report.ok
    assert any(p.mode == "kink" for p in S.report.points)
    from symnorm.calculus.subdiff.vector import Subdifferential

    # the set of ||x||_2 claimed for ||x||_1: the check must notice
    wrong = Subdifferential(f=sn.norm(X, 1), wrt=X, root=sn.subdiff(sn.norm(X, 2), X).root,
                            arguments=[X])
    report = wrong.check()
    assert not report.ok and "support function = f'(x; d)" in report.summary()
    assert sn.subdiff(sn.norm(X, 1), X, check=False).report is None


# -- composites: what the kernel returns, and the exact minimum-norm element ------------------

def box_least_squares(c, M):
    """min ||c + M s|| over s in [-1, 1]^k by enumeration of the active sets (every entry
    at -1, at +1 or free): an exact reference for small k, independent of symnorm."""
    import itertools

    k = M.shape[1]
    best = None
    for pattern in itertools.product((-1.0, 1.0, None), repeat=k):
        s = np.array([0.0 if v is None else v for v in pattern])
        free = [i for i, v in enumerate(pattern) if v is None]
        if free:
            fixed = c + M @ s
            s[free] = np.linalg.lstsq(M[:, free], -fixed, rcond=None)[0]
            if np.any(np.abs(s[free]) > 1 + 1e-12):
                continue
        g = c + M @ s
        if best is None or g @ g < best @ best - 1e-15:
            best = g
    return best


def test_composite_l1_kink_says_what_the_kernel_returns():
    """Beck, First-Order Methods, Thm 3.43: at A = [[1, 1], [0, 1]], x = (0, 1),
    b = (1, 0) the residual is (0, 1); the kernel's A^T s with s = (0, 1) is a subgradient,
    the minimum-norm subgradient is (-1/2, 1/2)."""
    x2, A2, b2 = sn.vector("x", 2), sn.matrix("A", 2, 2), sn.vector("b", 2)
    f = sn.norm(A2 * x2 - b2, 1)
    at = dict(x=np.array([0.0, 1.0]), A=np.array([[1.0, 1.0], [0.0, 1.0]]),
              b=np.array([1.0, 0.0]))
    d = sn.grad(f, x2)
    assert d.kinks[0].returns == (
        "A.T*s with s = sign with 0 in those entries, the minimum-norm subgradient of "
        "norm(., 1) at A*x - b; that is a subgradient of f where f is convex, not in general "
        "its minimum-norm element (subdiff(f, x).min_norm computes that one)")
    assert "the minimum-norm subgradient of norm(., 1) at A*x - b" in d.text()
    kernel_value = d.kernel()(**at)
    np.testing.assert_array_equal(kernel_value, [0.0, 1.0])
    S = sn.subdiff(f, x2)
    assert S.contains(kernel_value, **at)       # a subgradient ...
    best = S.min_norm(**at)
    assert np.max(np.abs(best - [-0.5, 0.5])) <= 4 * np.finfo(float).eps  # ... exactly
    assert np.linalg.norm(best) < np.linalg.norm(kernel_value)


def test_lasso_kink_and_its_exact_minimum_norm_element(rng):
    """Beck, Thm 3.40: at x_i = 0 the minimum-norm subgradient of 1/2||Ax - b||^2 +
    lam ||x||_1 soft-thresholds the smooth gradient there; the kernel adds lam*sign(0) = 0."""
    A, b, lam = sn.matrix("A"), sn.vector("b", "m"), sn.scalar("lam", positive=True)
    f = sn.norm(A * X - b, 2) ** 2 / 2 + lam * sn.norm(X, 1)
    d = sn.grad(f, X)
    (kink,) = d.kinks
    assert kink.returns.startswith("sign with 0 in those entries, the minimum-norm subgradient"
                                   " of norm(x, 1), carried into the gradient by the chain "
                                   "rule; that is a subgradient of f")
    S = sn.subdiff(f, X)
    for _ in range(5):
        a, bv, x0 = rng.standard_normal((4, 5)), rng.standard_normal(4), rng.standard_normal(5)
        x0[[0, 3]] = 0.0
        g = a.T @ (a @ x0 - bv)
        want = np.where(x0 != 0, g + 0.7 * np.sign(x0),
                        np.sign(g) * np.maximum(np.abs(g) - 0.7, 0))
        got = S.min_norm(x0, A=a, b=bv, lam=0.7)
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(d.kernel()(x0, A=a, b=bv, lam=0.7), g + 0.7 * np.sign(x0),
                                   rtol=1e-14)


def test_composite_minimum_norm_is_exact_against_enumeration(rng):
    A, b = sn.matrix("A"), sn.vector("b", "m")
    S = sn.subdiff(sn.norm(A * X - b, 1), X)
    for _ in range(6):
        a, x0 = rng.standard_normal((5, 3)), rng.standard_normal(3)
        bv = a @ x0 + rng.standard_normal(5)
        zero = rng.permutation(5)[:3]  # three residuals exactly 0
        bv[zero] = (a @ x0)[zero]
        r = a @ x0 - bv
        c = a.T @ np.where(r != 0, np.sign(r), 0.0)
        want = box_least_squares(c, a.T[:, r == 0])
        got = S.min_norm(x0, A=a, b=bv)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)
        assert S.contains(got, x0, A=a, b=bv)
        assert S.at(x0, A=a, b=bv).nearest(np.zeros(3), 1e-12).method == \
            "Wolfe's minimum-norm point"


def test_minimum_norm_of_a_tie_of_max_pieces_is_exact():
    f = sp.Max(sn.norm(X, 1), 2 * sn.norm(X, sp.oo))
    S = sn.subdiff(f, X)
    # at (1, 1) the hull of ([-1, 1] x [-1, 1] at the signs (1, 1)) and 2 conv(e1, e2):
    # {(1, 1)} and the segment 2 e1 -- 2 e2; the nearest point to 0 is (1, 1)
    np.testing.assert_allclose(S.min_norm(at=[1.0, 1.0]), [1.0, 1.0], rtol=1e-15)
    g = S.min_norm(at=[2.0, 0.0])  # ||x||_1 = 2 < 2 ||x||_oo = 4: only 2 sign(x_1) e_1
    np.testing.assert_array_equal(g, [2.0, 0.0])


def test_the_norm_itself_keeps_the_minimum_norm_claim():
    a = sn.vector("a")
    for f in (sn.norm(X, 1), 3 * sn.norm(X, 1), sn.norm(2 * X - a, 1), sn.norm(X - a, sp.oo)):
        (first, *_) = sn.grad(f, X).kinks
        assert first.returns.endswith("the minimum-norm subgradient"), (f, first.returns)
    A, b = sn.matrix("A"), sn.vector("b", "m")
    (only,) = sn.grad(sn.norm(A * X - b, 2), X).kinks  # 0 is in A^T B_2: still minimal
    assert only.returns == "0, the minimum-norm subgradient"
