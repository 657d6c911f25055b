"""Vector-norm kernels at extreme orders and at non-finite input.

Large orders: ``norm(x, p)`` for p from 1000 up to an order too large for a float
(2.5e400) and ``p = oo``; the expected numbers are exact (written out, with the formula
in a comment) or mpmath at 50 digits from the exact input floats.

Non-finite input: the rule of :mod:`symnorm.numeric.vectors` (NaN reaches every entry that
depends on it; ±inf gives norm inf and the gradient at the limit direction), with
``warnings.simplefilter("error")`` so that a numpy RuntimeWarning reaching the caller
fails the test; every array library gives numpy's numbers.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm import numeric
from symnorm.kernels.backends import with_backend
from symnorm.model.errors import ArgumentError

INF, NAN = math.inf, math.nan
EPS = float(np.finfo(np.float64).eps)
P_HUGE_FLOAT = sp.Float("2.5e400")            # larger than any float
P_HUGE_INT = sp.Integer(25) * sp.Integer(10) ** 399


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    """A RuntimeWarning (overflow, invalid, divide) reaching the caller fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _kernels(p, args=None):
    x = sn.vector("x")
    f = sn.norm(x, p)
    args = args or [x]
    return sn.kernel(f, args), sn.grad(f, x, check=False).kernel(args)


# -- 1. large orders ----------------------------------------------------------------------

# at [1, 2] the ratios to the largest entry are (1/2, 1): the value is
# 2 (1 + 2^-p)^(1/p) and the gradient (2^-(p-1), 1)/(1 + 2^-p)^(1 - 1/p); for p >= 1000,
# (1 + 2^-p) rounds to 1, so the value is exactly 2 and the gradient (2^(1-p), 1), where
# 2^(1-p) is 2^-999 = 1.8665272370064378e-301 at p = 1000 and underflows to 0 beyond 1075
LARGE = [(1000, math.ldexp(1.0, -999)), (1100, 0.0), (2000, 0.0), (10**100, 0.0),
         (P_HUGE_FLOAT, 0.0), (P_HUGE_INT, 0.0)]
LARGE_IDS = ["1000", "1100", "2000", "1e100", "2.5e400-Float", "2.5e400-Integer"]


@pytest.mark.parametrize("p,small", LARGE, ids=LARGE_IDS)
@pytest.mark.parametrize("scale", [1.0, 1e200, 1e-200])
def test_large_numeric_orders_exact(p, small, scale):
    value, grad = _kernels(p)
    x = np.array([1.0, 2.0]) * scale                 # exact: 2 * scale is a doubling
    assert value(x) == 2.0 * scale
    np.testing.assert_array_equal(grad(x), [small, 1.0])
    np.testing.assert_array_equal(grad(-x), [-small, -1.0])
    # a batch: the same rows, and 0 at 0
    batch = np.stack([x, np.zeros(2), -x])
    np.testing.assert_array_equal(value(batch), [2.0 * scale, 0.0, 2.0 * scale])
    np.testing.assert_array_equal(grad(batch), [[small, 1.0], [0.0, 0.0], [-small, -1.0]])


@pytest.mark.parametrize("p,small", [(2000.0, 0.0), (1e100, 0.0), (1e300, 0.0),
                                     (INF, 0.0), (1100.0, 0.0), (1000.0, 2.0**-999)])
def test_large_orders_at_call_time(p, small):
    P = sn.scalar("p")
    x = sn.vector("x")
    value, grad = _kernels(P, [x, P])
    assert value(np.array([1.0, 2.0]), p) == 2.0
    np.testing.assert_array_equal(grad(np.array([1.0, 2.0]), p), [small, 1.0])
    # per-row orders: each row its own, large and not
    rows = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])
    orders = np.array([p, 2.0, 3.0])
    np.testing.assert_allclose(value(rows, orders), [2.0, 5.0, 9.0 ** (1 / 3)], rtol=2 * EPS)
    np.testing.assert_allclose(grad(rows, orders),
                               [[small, 1.0], [0.6, 0.8], [1 / 9 ** (2 / 3), 4 / 9 ** (2 / 3)]],
                               rtol=4 * EPS)


def test_an_order_beyond_the_float_range_at_call_time():
    # 2.5e400 does not fit a float: pass float("inf"), its limit (the L-oo norm); a Python
    # int that large is an object array, which kernels refuse as not real numbers
    P = sn.scalar("p")
    x = sn.vector("x")
    value, grad = _kernels(P, [x, P])
    assert value(np.array([-3.0, 2.0]), np.inf) == 3.0
    np.testing.assert_array_equal(grad(np.array([-3.0, 3.0, 1.0]), np.inf), [-0.5, 0.5, 0.0])
    with pytest.raises(ArgumentError, match="argument p must be an array of real numbers"):
        value(np.array([1.0, 2.0]), 25 * 10**399)
    # the helpers themselves read such an integer as inf
    assert numeric.normp([1.0, -2.0], 25 * 10**399) == 2.0
    np.testing.assert_array_equal(numeric.normp_grad([1.0, -2.0], 25 * 10**399), [0.0, -1.0])
    numeric.check_order(25 * 10**399, 1.0, "p", "norm(x, p)")   # in range: no error


def test_ties_at_large_orders():
    # [1, -1]: the value 2^(1/p) and the gradient (1, -1) 2^(1/p - 1) (unit dual norm);
    # 2^(1/p) is 1 + ln2/p: 1.000346633... at p = 2000, 1 (rounded) at p = 1e100
    for p, value_want, g_want in [(2000, 2.0 ** (1 / 2000), 2.0 ** (1 / 2000 - 1)),
                                  (10**100, 1.0, 0.5), (P_HUGE_FLOAT, 1.0, 0.5)]:
        value, grad = _kernels(p)
        assert abs(value(np.array([1.0, -1.0])) - value_want) <= 2 * EPS * value_want
        np.testing.assert_allclose(grad(np.array([1.0, -1.0, 0.5])), [g_want, -g_want, 0.0],
                                   rtol=4 * EPS, atol=0)


def test_large_orders_float32():
    # float32: orders above 126 take the ratio to the largest entry (0.5**p underflows
    # there); an order overflowing float32 is inf
    x = np.array([1.0, 2.0], dtype=np.float32)
    for p in (200.0, 1e30, 1e300):
        v, g = numeric.normp(x, p), numeric.normp_grad(x, p)
        assert v == np.float32(2.0) and v.dtype == np.float32
        np.testing.assert_array_equal(g, np.array([0.0, 1.0], dtype=np.float32))
        assert g.dtype == np.float32
    # p = 100 (below 126): (1 + 2^-100)^(1/100) rounds to 1, 2^-99 is a float32 normal
    np.testing.assert_array_equal(numeric.normp_grad(x, 100.0),
                                  np.array([2.0**-99, 1.0], dtype=np.float32))


def _mp_value_grad(v, p):
    with mpmath.workdps(60):
        a = [abs(mpmath.mpf(float(t))) for t in v]
        p = mpmath.mpf(p)
        n = mpmath.fsum(t**p for t in a) ** (1 / p)
        g = [0.0 if n == 0 else float(mpmath.sign(float(t)) * (abs(mpmath.mpf(float(t))) / n)
                                      ** (p - 1)) for t in v]
        return float(n), g


@pytest.mark.parametrize("p", [1023.0, 1100.0, 2000.0, 1e4])
def test_large_orders_against_mpmath(p):
    rng = np.random.default_rng(11)
    for scale in (1.0, 1e250, 1e-250):
        # entries within 1% of each other, so that many terms of the sum matter
        v = scale * (1 + 0.01 * rng.random(6)) * rng.choice([-1.0, 1.0], 6)
        want_value, want_grad = _mp_value_grad(v, p)
        assert abs(numeric.normp(v, p) - want_value) <= 4 * EPS * want_value
        # the gradient's entries r^(p-1) carry the rounding of r times p - 1
        np.testing.assert_allclose(numeric.normp_grad(v, p), want_grad, rtol=2 * p * EPS,
                                   atol=1e-300)


orders = st.sampled_from([1023.0, 1500.0, 5000.0, 1e5, 1e100, 1e300, INF])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1, 1, allow_nan=False, allow_subnormal=False), min_size=1,
                max_size=8),
       st.integers(-300, 300), orders)
def test_large_order_bounds_and_unit_dual_norm(m, e, p):
    v = np.array(m) * 10.0 ** e
    top = float(np.max(np.abs(v)))
    value = float(numeric.normp(v, p))
    # max|x| <= ||x||_p <= n^(1/p) max|x| (each up to rounding)
    assert top * (1 - 2 * EPS) <= value <= len(v) ** (1 / p) * top * (1 + 2 * EPS)
    g = numeric.normp_grad(v, p)
    if top == 0:
        np.testing.assert_array_equal(g, 0.0)
        return
    # the gradient has unit norm in the dual norm q = p/(p - 1) (q = 1 at p = oo), and
    # <g, x> = ||x||_p
    q = 1.0 if p == INF else p / (p - 1)
    with mpmath.workdps(40):
        dual = mpmath.fsum(abs(mpmath.mpf(float(t))) ** q for t in g) ** (1 / mpmath.mpf(q))
    assert abs(float(dual) - 1) <= 1e-9
    assert np.all(np.sign(g) * np.sign(v) >= 0)
    scaled = v / top  # <g, x>/max|x| (so that nothing overflows)
    assert abs(float(np.dot(g, scaled)) - value / top) <= 1e-9


# -- 5. non-finite input --------------------------------------------------------------------

R2 = 2.0 ** -0.5
# rows: [inf, 1, 0], [inf, -inf, 1], [nan, 1, 0], [nan, inf, 1], [-inf, 0, 2], finite rows
ROWS = np.array([[INF, 1.0, 0.0], [INF, -INF, 1.0], [NAN, 1.0, 0.0], [NAN, INF, 1.0],
                 [-INF, 0.0, 2.0], [3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [3e200, -4e200, 0.0]])
NAN3 = [NAN] * 3


def _lp(p):
    # the Lp gradient at the limit direction: k infinite entries get sign * k^((1-p)/p)
    w = 2.0 ** ((1 - p) / p)
    return [[1, 0, 0], [w, -w, 0], NAN3, NAN3, [-1, 0, 0]]


EXPECTED = {  # the first five (non-finite) rows: value, gradient
    2: ([INF, INF, NAN, NAN, INF], [[1, 0, 0], [R2, -R2, 0], NAN3, NAN3, [-1, 0, 0]]),
    1: ([INF, INF, NAN, NAN, INF], [[1, 1, 0], [1, -1, 1], [NAN, 1, 0], [NAN, 1, 1],
                                    [-1, 0, 1]]),
    sp.oo: ([INF, INF, NAN, NAN, INF], [[1, 0, 0], [0.5, -0.5, 0], NAN3, NAN3, [-1, 0, 0]]),
    3: ([INF, INF, NAN, NAN, INF], _lp(3)),
    sp.Rational(3, 2): ([INF, INF, NAN, NAN, INF], _lp(1.5)),
    2000: ([INF, INF, NAN, NAN, INF], _lp(2000)),
}


@pytest.mark.parametrize("p", list(EXPECTED), ids=[str(p) for p in EXPECTED])
def test_non_finite_input_numpy(p):
    value, grad = _kernels(p)
    want_value, want_grad = EXPECTED[p]
    got_value, got_grad = value(ROWS), grad(ROWS)
    np.testing.assert_allclose(got_value[:5], want_value, rtol=0)
    np.testing.assert_allclose(got_grad[:5], want_grad, rtol=4 * EPS, atol=0)
    # the finite rows are what they are without the others, as one row each (up to
    # rounding: a batch with a row off the fast path rescales every row)
    for row, v, g in zip(ROWS[5:], got_value[5:], got_grad[5:]):
        np.testing.assert_allclose(v, value(row), rtol=2 * EPS)
        np.testing.assert_allclose(g, grad(row), rtol=4 * EPS)
    # the same rows one by one (the 1-D fast paths)
    for row, v, g in zip(ROWS[:5], want_value, want_grad):
        np.testing.assert_allclose(value(row), v, rtol=0)
        np.testing.assert_allclose(grad(row), g, rtol=4 * EPS, atol=0)


def test_non_finite_input_other_helpers():
    inf_row, nan_row = np.array([INF, -INF, 1.0]), np.array([NAN, 1.0, 0.0])
    # L1 projection: the limit as the infinite entries grow together, radius/k on each
    np.testing.assert_array_equal(numeric.project_l1_ball(inf_row, 2.0), [1.0, -1.0, 0.0])
    np.testing.assert_array_equal(numeric.project_l1_ball(nan_row, 2.0), NAN3)
    np.testing.assert_array_equal(
        numeric.project_l1_ball(np.stack([inf_row, [3.0, 0, 0]]), 2.0),
        [[1.0, -1.0, 0.0], [2.0, 0.0, 0.0]])
    # soft thresholding: entrywise, inf stays inf, NaN stays in its entry
    np.testing.assert_array_equal(numeric.soft_threshold([INF, NAN, -1.0], 0.5),
                                  [INF, NAN, -0.5])
    # group norms, blocks {0, 1} and {2}: a block's entries see its own inf/NaN only
    labels = [0, 0, 1]
    np.testing.assert_array_equal(numeric.norm_group(np.stack([inf_row, nan_row]), labels),
                                  [INF, NAN])
    np.testing.assert_allclose(numeric.group_normalize(inf_row, labels), [R2, -R2, 1.0],
                               rtol=2 * EPS)
    np.testing.assert_array_equal(numeric.group_normalize(nan_row, labels), [NAN, NAN, 0.0])
    np.testing.assert_array_equal(numeric.group_block_norms([INF, 2.0, 3.0], labels),
                                  [INF, INF, 3.0])
    # shrinkage keeps an infinite block (its finite entries too: 1 - lam/inf = 1)
    np.testing.assert_array_equal(numeric.group_shrink([INF, 2.0, 3.0], 1.0, labels),
                                  [INF, 2.0, 2.0])
    np.testing.assert_array_equal(numeric.group_shrink(nan_row, 1.0, labels), [NAN, NAN, 0.0])
    # L0: inf counts, NaN makes the count NaN
    np.testing.assert_array_equal(numeric.norm0(np.stack([inf_row, nan_row])), [3.0, NAN])
    # d||u||_p/dp: no limit at infinite entries
    np.testing.assert_array_equal(numeric.normp_order_derivative(np.stack([inf_row, nan_row]),
                                                                 3.0), [NAN, NAN])
    # the gradient of max(f, g): pieces at +inf tie, a NaN value gives NaN
    np.testing.assert_array_equal(
        numeric.active_gradient("max", 1, np.array([INF, NAN, 1.0]), np.array([1.0, 0.0]),
                                np.array([INF, 2.0, 0.0]), np.array([0.0, 1.0])),
        [[0.5, 0.5], [NAN, NAN], [1.0, 0.0]])
    # M (u/||u||) at an infinite u: M times the limit direction
    np.testing.assert_allclose(numeric.mv_unit(np.diag([2.0, 3.0, 4.0]), inf_row),
                               [2 * R2, -3 * R2, 0.0], rtol=2 * EPS)
    # the value helpers
    assert numeric.norm2(inf_row) == INF and np.isnan(numeric.norm2(nan_row))
    assert numeric.norminf(inf_row) == INF and np.isnan(numeric.norminf(nan_row))
    assert numeric.normp(inf_row, 2000.0) == INF and np.isnan(numeric.normp(nan_row, 2000.0))


# jax and torch: eager, and traced (jax.jit: backend="jax"; torch.compile with the
# aot_eager backend), where every select computes both of its branches and no value can
# be looked at
LIB_NAMES = ["array_api", "numba", "jax", "jax.jit", "torch", "torch.compile", "dask"]


def _library(lib: str):
    """(to the library, back to numpy, how to call the kernel) or a skip."""
    from test_backends import _jax_x64, _skip_reason, to_lib, to_numpy

    if lib in ("array_api", "numba"):
        if _skip_reason(lib):
            pytest.skip(_skip_reason(lib))
        return (lambda a: a), np.asarray, (lambda k: with_backend(k, lib))
    name = lib.split(".")[0]
    reason = _skip_reason(name)
    if reason:
        pytest.skip(reason)
    if name == "jax":
        _jax_x64()
    call = {"jax.jit": lambda k: with_backend(k, "jax"),
            "torch.compile": lambda k: with_backend(k, "torch.compile",
                                                    {"backend": "aot_eager"})}.get(
        lib, lambda k: k)
    return (lambda a: to_lib(name, a, chunks=2)), (lambda r: to_numpy(name, r)), call


FINITE_ROWS = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [3e200, -4e200, 0.0],
                        [1.0, 2.0, -2.0], [1e-200, -3e-200, 0.0]])
ORDERS = [2, 1, sp.oo, 3, sp.Rational(3, 2), 2000, 10**100, P_HUGE_FLOAT]


def _same_on_library(lib, p, rows):
    """The value and gradient kernels of norm(x, p) give on ``lib`` what they give on
    numpy, to the last digits, at ``rows`` (for ``p = "p"``: a symbolic order, 2000)."""
    to, back, call = _library(lib)
    if p == "p":
        P, x = sn.scalar("p"), sn.vector("x")
        value, grad = _kernels(P, [x, P])
        extra = {"p": np.array(2000.0)}
    else:
        value, grad = _kernels(p)
        extra = {}
    with warnings.catch_warnings():
        if lib == "dask":  # lazy selects compute both branches on numpy chunks
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="dask")
        # importing inductor's pieces touches torch.jit.script_method
        warnings.filterwarnings("ignore", "`torch.jit.script_method` is deprecated")
        for k in (value, grad):
            want = k(x=rows, **extra)
            got = back(call(k)(x=to(rows), **{n: to(v) for n, v in extra.items()}))
            np.testing.assert_allclose(got, want, rtol=1e-13, atol=0)


@pytest.mark.parametrize("lib", LIB_NAMES)
@pytest.mark.parametrize("p", [*ORDERS, "p"], ids=[*(str(p) for p in ORDERS), "p"])
def test_large_orders_on_every_library(lib, p):
    _same_on_library(lib, p, FINITE_ROWS)


@pytest.mark.parametrize("lib", LIB_NAMES)
@pytest.mark.parametrize("p", [*EXPECTED, "p"], ids=[*(str(p) for p in EXPECTED), "p"])
def test_non_finite_input_and_large_orders_on_every_library(lib, p):
    _same_on_library(lib, p, ROWS)


@pytest.mark.parametrize("p", [2000, 10**100])
def test_large_orders_of_an_affine_map_through_the_chain_rule(p):
    """exp(-norm(B*x - a, p)): the chain rule leaves B.T (sign(r) .* |r|^(p-1)) times
    norm(r, p)^(1-p), which overflows to inf/inf when computed as written; the kernel takes
    the fused gradient of the p-norm and multiplies by B.T. At these orders the p-norm is
    the max norm to rounding: the gradient is -exp(-max|r|) sign(r_k) B.T e_k."""
    import sympy as sp

    x, a, B = sn.vector("x"), sn.vector("a"), sn.matrix("B", "n", "n")
    d = sn.grad(sp.exp(-sn.norm(B * x - a, p)), x)
    assert d.report.ok
    rng = np.random.default_rng(3)
    for _ in range(5):
        xv, Bv, av = rng.normal(size=4), rng.normal(size=(4, 4)), rng.normal(size=4)
        r = Bv @ xv - av
        k = int(np.argmax(np.abs(r)))
        want = -np.exp(-np.abs(r[k])) * np.sign(r[k]) * Bv[k]
        np.testing.assert_allclose(d.kernel()(x=xv, B=Bv, a=av), want, rtol=1e-12)


@pytest.mark.parametrize("make, outer", [
    (lambda n: n ** sp.Rational(1, 2), lambda m: 1 / (2 * np.sqrt(m))),
    (lambda n: 1 / n, lambda m: -1 / m ** 2),
    (lambda n: n ** 2 / 10, lambda m: 2 * m / 10),
])
@pytest.mark.parametrize("p", [2000, 10**100])
def test_large_orders_under_a_power_of_the_norm(make, outer, p):
    """SymPy merges the gradient's norm(u, p)**(1 - p) with the norm's other powers
    (1/norm**(p + 1) in the gradient of 1/norm): the kernel still takes the fused
    gradient. Reference: the p-norm's gradient from the ratios r_i/max|r| (written out
    here with Python floats), times the outer derivative at the norm."""
    x, a = sn.vector("x"), sn.vector("a")
    d = sn.grad(make(sn.norm(x - a, p)), x)
    assert d.report.ok
    rng = np.random.default_rng(5)
    pf = float(p)
    for _ in range(4):
        xv, av = rng.normal(size=5), rng.normal(size=5)
        r = xv - av
        m = float(np.max(np.abs(r)))
        ratios = [abs(v) / m for v in r]
        s = sum(q ** pf for q in ratios)
        norm = m * s ** (1 / pf)
        want = [outer(norm) * float(np.sign(v)) * q ** (pf - 1) / s ** ((pf - 1) / pf)
                for v, q in zip(r, ratios)]
        np.testing.assert_allclose(d.kernel()(x=xv, a=av), want, rtol=1e-12, atol=1e-300)
