"""Hypothesis properties: norm axioms, gradients against finite differences on random
inputs and on randomly composed expressions.

The finite differences here are written independently of ``symnorm.check.gradient``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import symnorm as sn
from symnorm.rules import NORMS, norm_rule

X = sn.vector("x")
# vector norms (the matrix norms' properties are in tests/test_matrix_norms.py)
ORDERS = [p for rule in NORMS for p in rule.sample_orders if not sp.sympify(p).free_symbols
          and not rule.extras.get("matrix")]
TRUE_NORMS = [p for p in ORDERS if NORMS and norm_rule(sp.sympify(p)).is_norm(
    sp.sympify(p))]
VALUE = {p: sn.kernel(sn.norm(X, p), [X]) for p in ORDERS}
GRAD = {p: sn.grad(sn.norm(X, p), X).kernel() for p in ORDERS}

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
vectors = st.integers(1, 8).flatmap(lambda n: arrays(np.float64, n, elements=finite))
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def central_fd(f, v, d, h=1e-6):
    return (f(v + h * d) - f(v - h * d)) / (2 * h)


@SETTINGS
@given(vectors, st.sampled_from(TRUE_NORMS))
def test_positive_definite(v, p):
    value = VALUE[p](v)
    assert value >= 0
    assert (value == 0) == (not np.any(v))


@SETTINGS
@given(vectors, st.floats(-100, 100, allow_nan=False), st.sampled_from(ORDERS))
def test_absolute_homogeneity(v, c, p):
    if p == 0:  # the counting "norm" is not homogeneous: only scale invariant
        assume(c != 0 and np.all((c * v != 0) == (v != 0)))  # no underflow to 0
        assert VALUE[p](c * v) == VALUE[p](v)
        return
    np.testing.assert_allclose(VALUE[p](c * v), abs(c) * VALUE[p](v), rtol=1e-12, atol=1e-300)


@SETTINGS
@given(st.integers(1, 8).flatmap(
    lambda n: st.tuples(arrays(np.float64, n, elements=finite),
                        arrays(np.float64, n, elements=finite))),
    st.sampled_from(TRUE_NORMS))
def test_triangle_inequality(pair, p):
    u, v = pair
    assert VALUE[p](u + v) <= (VALUE[p](u) + VALUE[p](v)) * (1 + 1e-12) + 1e-300


@SETTINGS
@given(st.integers(2, 8).flatmap(lambda n: arrays(
    np.float64, n, elements=st.floats(0.1, 10) | st.floats(-10, -0.1))),
    st.sampled_from([p for p in ORDERS if p != 0]))
def test_gradient_matches_finite_differences(v, p):
    # distinct magnitudes keep the L-infinity norm away from its ties
    assume(len(set(np.round(np.abs(v), 6))) == len(v))
    rng = np.random.default_rng(0)
    d = rng.standard_normal(v.shape)
    fd = central_fd(VALUE[p], v, d)
    g = GRAD[p](v)
    assert abs(fd - g @ d) <= 1e-5 * (1 + abs(fd))


@SETTINGS
@given(vectors)
def test_gradient_of_l2_is_a_unit_vector_or_zero(v):
    g = GRAD[2](v)
    assert np.all(np.isfinite(g))
    if np.any(v):
        np.testing.assert_allclose(np.linalg.norm(g), 1.0, rtol=1e-12)
    else:
        assert not np.any(g)


# -- randomly composed expressions ---------------------------------------------------------

A = sn.matrix("A", "n", "n")
a = sn.vector("a")
lam = sn.scalar("lam", positive=True)
INNER = [X, X - a, A * X - a, 2 * X + a]
SMOOTH_ORDERS = [2, 3, sp.Rational(3, 2)]


@st.composite
def expressions(draw, depth=2):
    """Sums of c * g(norm(inner, p)) with g in {t, t^2, sqrt(t^2 + 1), t^3}."""
    terms = []
    for _ in range(draw(st.integers(1, 3))):
        inner = draw(st.sampled_from(INNER))
        p = draw(st.sampled_from(SMOOTH_ORDERS + [1]))
        t = sn.norm(inner, p)
        outer = draw(st.sampled_from(["t", "t2", "sqrt", "t3", "lam"]))
        term = {"t": t, "t2": t**2, "sqrt": sp.sqrt(t**2 + 1), "t3": t**3,
                "lam": lam * t}[outer]
        terms.append(draw(st.sampled_from([1, 2, sp.Rational(1, 2), -3])) * term)
    if depth and draw(st.booleans()):
        terms.append(sp.sqrt(sp.Add(*[s**2 for s in terms]) + 1))
    return sp.Add(*terms)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(), st.integers(0, 2**32 - 1))
def test_random_expressions_gradient_vs_finite_differences(f, seed):
    d = sn.grad(f, X, check=False)
    args = d.arguments()
    value, grad = sn.kernel(f, args), d.kernel(args)
    rng = np.random.default_rng(seed)
    n = 4
    vals = {"x": rng.standard_normal(n), "a": rng.standard_normal(n),
            "A": rng.standard_normal((n, n)), "lam": 0.7}
    call = [vals[s.name] for s in args]
    direction = rng.standard_normal(n)

    def f_at(v):
        return value(v, *call[1:])

    fd = (4 * central_fd(f_at, vals["x"], direction, 5e-6)
          - central_fd(f_at, vals["x"], direction, 1e-5)) / 3
    g = grad(*call)
    assert abs(fd - g @ direction) <= 1e-5 * (1 + abs(fd)), sn.to_text(f)
