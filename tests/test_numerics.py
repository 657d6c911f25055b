"""Kernel numerics at the edges of floating point: overflow, underflow, subnormals, exp.

Expected numbers are computed by hand (comments give the formula) or with mpmath at 50
digits from the exact input floats; hypothesis draws vectors over 1e-300..1e300.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm import numeric

DBL_MAX = np.finfo(np.float64).max
EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def x():
    return sn.vector("x")


@pytest.fixture(scope="module")
def grad_kernels(x):
    p = sn.scalar("p")
    return {2: sn.grad(sn.norm(x, 2), x).kernel(),
            3: sn.grad(sn.norm(x, 3), x).kernel(),
            1.5: sn.grad(sn.norm(x, sp.Rational(3, 2)), x).kernel(),
            "p": sn.grad(sn.norm(x, p), x).kernel()}


@pytest.fixture(scope="module")
def residual():
    A, x, b = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
    return sn.grad(sn.norm(A * x - b, 2), x).kernel()


def ulps(got, want) -> np.ndarray:
    got, want = np.asarray(got, float), np.asarray(want, float)
    return np.abs(got - want) / np.spacing(np.abs(want))


def mp_lp_grad(v, p) -> list[float]:
    """sign(v_i) (|v_i|/||v||_p)^(p-1) at 50 digits, from the exact floats."""
    with mpmath.workdps(50):
        a = [abs(mpmath.mpf(float(t))) for t in v]
        p = mpmath.mpf(p)
        n = mpmath.fsum(t**p for t in a) ** (1 / p)
        if n == 0:
            return [0.0] * len(a)
        return [float(mpmath.sign(float(t)) * (abs(mpmath.mpf(float(t))) / n) ** (p - 1))
                for t in v]


def mp_lp_value(v, p) -> float:
    with mpmath.workdps(50):
        p = mpmath.mpf(p)
        s = mpmath.fsum(abs(mpmath.mpf(float(t))) ** p for t in v) ** (1 / p)
        return float(s) if s <= DBL_MAX else float("inf")


# -- the reproductions: exact expected values ---------------------------------------------

def test_residual_gradient_does_not_overflow(residual):
    # A^T (Ax - b)/||Ax - b||_2 with A = 1e150 I, x = 1e150 (1, 1), b = 0: 1e150/sqrt(2) each;
    # A^T (A x) = 1e450 overflows, so the kernel must normalise Ax - b first
    got = residual(1e150 * np.ones(2), 1e150 * np.eye(2), np.zeros(2))
    np.testing.assert_allclose(got, [1e150 / np.sqrt(2)] * 2, rtol=4 * EPS)


def test_residual_gradient_does_not_underflow(residual):
    # A = 1e-200 I, x = 1e-100 (1, 1): A^T A x = 1e-500 underflows; the answer is
    # 1e-200/sqrt(2) = 7.0710678118654752e-201 each
    got = residual(1e-100 * np.ones(2), 1e-200 * np.eye(2), np.zeros(2))
    np.testing.assert_allclose(got, [7.0710678118654752e-201] * 2, rtol=4 * EPS)


def test_residual_kernel_normalises_the_inner_vector_first(residual):
    # mv_unit(M, u) = M (u/||u||): (M u)/||u|| only where that is exact up to rounding
    assert "mv_unit(" in residual.source
    assert "sdiv" not in residual.source
    assert " - a_b" in residual.source  # -b is subtracted, not a temporary of its own


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mv_unit_takes_the_fast_order_only_when_it_is_exact(dtype):
    rng = np.random.default_rng(3)
    m = rng.standard_normal((5, 40)).astype(dtype)
    tol = 1e-14 if dtype == np.float64 else 2e-6
    for scale_m, scale_u in [(1.0, 1.0), (1e150, 1e150), (1e-200, 1e-100), (1e300, 1e-300),
                             (1e-300, 1e300), (1.0, 0.0)]:
        if dtype == np.float32 and (scale_m > 1e30 or scale_m < 1e-30 or 0 < scale_u < 1e-30
                                    or scale_u > 1e30):
            continue
        u = (rng.standard_normal(40) * scale_u).astype(dtype)
        mm = (m.astype(np.float64) * scale_m).astype(dtype)
        with np.errstate(all="ignore"):
            got = numeric.mv_unit(mm, u)
        # reference: M (u/||u||) in mpmath-free exact scaling: normalise u by its largest
        # entry first (exact), then by the norm
        u64 = u.astype(np.float64)
        big = np.abs(u64).max()
        unit = np.zeros(40) if big == 0 else (u64 / big) / np.linalg.norm(u64 / big)
        want = (mm.astype(np.float64) / scale_m) @ unit * scale_m
        np.testing.assert_allclose(got, want, rtol=tol, atol=0)
        assert got.dtype == dtype
    batch_m = rng.standard_normal((3, 4, 6))
    batch_u = rng.standard_normal((3, 6))
    batch_u[1] = 0.0
    want = np.stack([batch_m[i] @ numeric.norm2_grad(batch_u[i]) for i in range(3)])
    np.testing.assert_allclose(numeric.mv_unit(batch_m, batch_u), want, rtol=1e-14)


def test_l2_hessian_does_not_overflow_at_large_x():
    # (I - x x^T/||x||^2)/||x|| at x = 1e200 (1, 1): [[1, -1], [-1, 1]]/(2 sqrt(2) 1e200);
    # x x^T = 1e400 overflows unless x is normalised first
    k = sn.hessian(sn.norm(sn.vector("x"), 2), sn.vector("x")).kernel()
    want = np.array([[1.0, -1.0], [-1.0, 1.0]]) / (2 * np.sqrt(2) * 1e200)
    np.testing.assert_allclose(k(np.array([1e200, 1e200])), want, rtol=8 * EPS)
    np.testing.assert_array_equal(k(np.zeros(2)), np.zeros((2, 2)))


@pytest.mark.parametrize("key,want", [(2, 2 ** -0.5),           # 1/sqrt(2)  = 0.70710678...
                                      (3, 2 ** (-2 / 3)),       # 2^(-2/3)   = 0.62996052...
                                      (1.5, 2 ** (-1 / 3))])    # 2^(-1/3)   = 0.79370053...
def test_gradients_at_the_largest_float(grad_kernels, key, want):
    got = grad_kernels[key](np.array([DBL_MAX, DBL_MAX]))
    assert np.all(ulps(got, [want, want]) <= 4), got
    got_p = grad_kernels["p"](np.array([DBL_MAX, -DBL_MAX]), float(key))
    assert np.all(ulps(got_p, [want, -want]) <= 4), got_p


def test_l3_gradient_keeps_full_precision_at_subnormal_input(grad_kernels):
    v = np.array([3e-320, 5e-321])          # subnormal entries (exact binary values)
    got = grad_kernels[3](v)
    assert np.all(ulps(got, mp_lp_grad(v, 3)) <= 4), (got, mp_lp_grad(v, 3))
    got2 = grad_kernels[2](v)
    assert np.all(ulps(got2, mp_lp_grad(v, 2)) <= 4)


def test_sigmoid_of_a_norm_has_a_finite_gradient_far_out():
    x = sn.vector("x")
    d = sn.grad(sn.parse("sigmoid(-norm(x, 2))"), x)
    k, f = d.kernel(), d.value_kernel()
    # no overflow, no inf/inf on the way (underflow to 0 is the right answer here)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        g = k(np.array([800.0, 0.0]))
        assert f(np.array([800.0, 0.0])) == 0.0   # sigma(-800) = 3.7e-348 underflows to 0
    # -sigma(800) sigma(-800) (1, 0): -3.7e-348 underflows to -0.0
    np.testing.assert_array_equal(g, [0.0, 0.0])
    # at |x| = 30: -exp(-30)/(1 + exp(-30))^2 (1, 0) = -9.357622968838...e-14 (mpmath)
    with mpmath.workdps(30):
        want = float(-mpmath.exp(-30) / (1 + mpmath.exp(-30)) ** 2)
    np.testing.assert_allclose(k(np.array([0.0, -30.0])), [0.0, -want], rtol=8 * EPS)
    up = sn.grad(sn.parse("sigmoid(norm(x, 2))"), x).kernel()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_array_equal(up(np.array([800.0, 0.0])), [0.0, 0.0])


def test_scalar_sigmoid_value_is_stable():
    x = sn.vector("x")
    for text, far, want in [("sigmoid(norm(x, 2))", 800.0, 1.0),
                            ("sigmoid(-norm(x, 2))", 800.0, 0.0),
                            ("sigmoid(norm(x, 2) - 750)", 0.5, 0.0)]:
        k = sn.kernel(sn.parse(text), [x])
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            assert k(np.array([far, 0.0])) == want


def test_softplus_form_does_not_overflow():
    x = sn.vector("x")
    lse = sp.log(1 + sp.exp(sn.norm(x, 2)))
    k = sn.kernel(lse, [x])
    assert "softplus" in k.source
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert k(np.array([800.0, 0.0])) == 800.0
    np.testing.assert_allclose(k(np.array([0.0, 0.0])), np.log(2.0), rtol=EPS)


def test_log_of_a_sigmoid_keeps_its_digits():
    # log(sigmoid(s)) = -log(1 + exp(-s)): at s = 29 it is -2.5436656473766e-13 (mpmath);
    # log(1/(1 + exp(-29))) in floats keeps only 3 digits of it
    x = sn.vector("x")
    k = sn.kernel(sn.parse("log(sigmoid(norm(x, 2)))"), [x])
    with mpmath.workdps(30):
        want = float(-mpmath.log1p(mpmath.exp(-29)))
    assert ulps(k(np.array([29.0, 0.0])), want) <= 4
    kk = sn.kernel(sn.parse("log(sigmoid(-norm(x, 2)))"), [x])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert kk(np.array([800.0, 0.0])) == -800.0


def test_lp_value_nan_inf_and_overflow():
    assert np.isnan(numeric.normp([np.nan, 1.0], 3.0))
    assert numeric.normp([np.inf, 1.0], 3.0) == np.inf
    assert numeric.normp([DBL_MAX, DBL_MAX], 3.0) == np.inf    # 2^(1/3) DBL_MAX overflows
    assert numeric.normp([DBL_MAX, 0.0], 3.0) == DBL_MAX
    # (3^3 + 4^3)^(1/3) = 91^(1/3) = 4.4979414...
    assert ulps(numeric.normp([3.0, -4.0], 3.0), 91 ** (1 / 3)) <= 2


def test_l2_gradient_batch_mixes_scales(grad_kernels):
    k = grad_kernels[2]
    batch = np.array([[DBL_MAX, DBL_MAX], [3.0, 4.0], [0.0, 0.0], [5e-324, 5e-324]])
    want = [[2 ** -0.5] * 2, [0.6, 0.8], [0.0, 0.0], [2 ** -0.5] * 2]
    np.testing.assert_allclose(k(batch), want, rtol=4 * EPS, atol=0)


# -- hypothesis: widely scaled vectors against mpmath ---------------------------------------

mantissas = st.lists(st.floats(-1, 1, allow_nan=False, allow_subnormal=False), min_size=1,
                     max_size=6)
exponents = st.integers(-300, 300)
spreads = st.lists(st.integers(-20, 0), min_size=6, max_size=6)


def _vector(m, e, spread) -> np.ndarray:
    """Mantissas scaled by 10**e, entry i further by 10**spread[i] (down to 1e-20 smaller)."""
    return np.array([mi * 10.0 ** e * 10.0 ** si for mi, si in zip(m, spread)])


def _close(got, want, rtol) -> None:
    got, want = np.asarray(got, float), np.asarray(want, float)
    tol = rtol * np.abs(want) + 1e-320   # a subnormal result has an absolute rounding error
    assert np.all(np.abs(got - want) <= tol), (got, want, np.abs(got - want) / tol)


@settings(max_examples=40, deadline=None)
@given(mantissas, exponents, spreads)
def test_l2_gradient_and_value_over_scales(grad_kernels, m, e, spread):
    v = _vector(m, e, spread)
    _close(grad_kernels[2](v), mp_lp_grad(v, 2), 6 * EPS)
    _close(numeric.norm2(v), mp_lp_value(v, 2), 4 * EPS)


@settings(max_examples=40, deadline=None)
@given(mantissas, exponents, spreads, st.sampled_from([3.0, 1.5, 4.0, 2.5, 1.25]))
def test_lp_gradient_and_value_over_scales(grad_kernels, m, e, spread, p):
    v = _vector(m, e, spread)
    _close(grad_kernels["p"](v, p), mp_lp_grad(v, p), 24 * EPS)
    _close(numeric.normp(v, p), mp_lp_value(v, p), 8 * EPS)
    if p in (3.0, 1.5):
        _close(grad_kernels[p](v), mp_lp_grad(v, p), 24 * EPS)


@settings(max_examples=40, deadline=None)
@given(mantissas, exponents, st.integers(-150, 150))
def test_residual_gradient_over_scales(residual, m, e, a_exp):
    # A = 10^a I (a diagonal scaling), b = 0: A^T (A x)/||A x|| = 10^a x/||x||
    v = np.array(m) * 10.0 ** e
    scale = 10.0 ** a_exp
    with np.errstate(over="ignore", under="ignore"):
        ax = np.abs(v[v != 0]) * scale
    # A x itself must be made of normal floats: it is formed (rounded) before any norm
    assume(ax.size and np.all(np.isfinite(ax)) and np.all(ax >= 1e-290))
    got = residual(v, scale * np.eye(len(v)), np.zeros(len(v)))
    with mpmath.workdps(50):
        ref = [mpmath.mpf(scale) * g for g in map(mpmath.mpf, mp_lp_grad(v, 2))]
    _close(got, [float(r) for r in ref], 8 * EPS)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(mantissas.filter(lambda m: len(m) == 3), exponents), min_size=1,
                max_size=4))
def test_batched_gradients_equal_row_by_row(grad_kernels, rows):
    batch = np.array([np.array(m) * 10.0 ** e for m, e in rows])
    for key in (2, 3):
        got = grad_kernels[key](batch)
        want = np.array([grad_kernels[key](r) for r in batch])
        assert np.all(ulps(got, want) <= 4), (got, want)  # sums in another order


@pytest.mark.parametrize("p", [2.0, 2.5, 3.0, 4.0, 7.0])
def test_in_place_lp_gradient_matches_mpmath_rows_zero_rows_and_out(p: float) -> None:
    """The two-buffer path for p >= 2: batched rows (one zero, one at 1e300, one of
    subnormals), float32 kept, ``out=`` filled and returned."""
    import mpmath

    from symnorm.numeric import normp_grad

    rng = np.random.default_rng(5)
    rows = np.array([rng.standard_normal(5), np.zeros(5), 1e300 * rng.standard_normal(5),
                     1e-310 * np.array([1.0, -2.0, 0.0, 3.0, 1.0])])
    out = np.empty_like(rows)
    assert normp_grad(rows, p, out=out) is out
    with mpmath.workdps(40):
        for row, got in zip(rows, out):
            norm = mpmath.fsum(abs(mpmath.mpf(v)) ** p for v in row) ** (1 / mpmath.mpf(p))
            want = [0.0 if norm == 0 else float(mpmath.sign(v) * (abs(mpmath.mpf(v)) / norm)
                                                ** (p - 1)) for v in row]
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)
    single = normp_grad(rows[0].astype(np.float32), p)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, out[0], rtol=2e-6)
