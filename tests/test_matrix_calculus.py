"""Matrix calculus the Matrix Cookbook (section 2) and SymPy's
``matrices/expressions/tests/test_derivatives.py`` derive: repeated factors (SymPy folds
``X*X`` into the power ``X**2``), inverses, a trace scaling a matrix, and the trace as an
atom SymPy's rewriting leaves whole.

Each case pins the exact result and compares its kernel with central differences of a
hand-written numpy function, entry by entry.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.model.atoms import Trace

n = 3
X = sn.matrix("X", n, n)
A = sn.matrix("A", n, n)
B = sn.matrix("B", n, n)
u, w, x, b = (sn.vector(name, n) for name in "uwxb")
rng = np.random.default_rng(11)
VALUES = {"X": rng.standard_normal((n, n)) + 2 * np.eye(n),
          "A": rng.standard_normal((n, n)) + 2 * np.eye(n),
          "B": rng.standard_normal((n, n)), "u": rng.standard_normal(n),
          "w": rng.standard_normal(n), "x": rng.standard_normal(n),
          "b": rng.standard_normal(n)}


def central_matrix(f, M: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(M)
    for idx in np.ndindex(*M.shape):
        e = np.zeros_like(M)
        e[idx] = h
        g[idx] = (f(M + e) - f(M - e)) / (2 * h)
    return g


def call(d: sn.Derivation, **changed) -> np.ndarray:
    k = d.kernel()
    values = {**VALUES, **changed}
    return k(**{name: values[name] for name in k.arg_names})


inv = np.linalg.inv
mpow = np.linalg.matrix_power
V = VALUES
CASES = [
    # (f, wrt, exact text of the gradient, numpy f of the variable)
    (sn.trace(X * X), X, "2*X.T", lambda M: np.trace(M @ M)),
    (sn.trace(X * X * B), X, "B.T*X.T + X.T*B.T", lambda M: np.trace(M @ M @ V["B"])),
    (u.T * X * X * X * w, X, "u*w.T*X.T*X.T + X.T*u*w.T*X.T + X.T*X.T*u*w.T",
     lambda M: V["u"] @ mpow(M, 3) @ V["w"]),
    (sn.trace(X**3), X, "3*X.T**2", lambda M: np.trace(mpow(M, 3))),
    (sn.norm(A * A * x - b, 2)**2, A, "2*((A**2*x - b)*x.T*A.T + A.T*(A**2*x - b)*x.T)",
     lambda M: np.sum((M @ M @ V["x"] - V["b"]) ** 2)),
    (sn.trace(sn.trace(A) * A), A, "2*trace(A)*I", lambda M: np.trace(M) ** 2),
    (sn.trace(sp.Inverse(X)), X, "-inv(X.T)*inv(X.T)", lambda M: np.trace(inv(M))),
    (u.T * sp.Inverse(X) * w, X, "-inv(X.T)*u*w.T*inv(X.T)",
     lambda M: V["u"] @ inv(M) @ V["w"]),
    (sn.trace(sp.MatPow(X, -2)), X, "-2*X.T**(-3)", lambda M: np.trace(inv(M @ M))),
]


@pytest.mark.parametrize("f,wrt,text,numeric", CASES, ids=lambda c: sn.to_text(c)
                         if isinstance(c, sp.Basic) else None)
def test_matrix_powers_inverses_and_traces(f, wrt, text, numeric) -> None:
    d = sn.grad(f, wrt)
    assert sn.to_text(d.result) == text
    assert d.report.ok
    M = VALUES[wrt.name]
    np.testing.assert_allclose(call(d), central_matrix(numeric, M), rtol=1e-6, atol=1e-7)


def test_the_cookbook_forms_of_the_repeated_factors() -> None:
    """The same gradients in the Cookbook's closed forms, entry by entry."""
    M, Bv = VALUES["X"], VALUES["B"]
    np.testing.assert_allclose(call(sn.grad(sn.trace(X * X * B), X)), (M @ Bv + Bv @ M).T,
                               rtol=1e-13)
    three = sn.grad(sn.trace(X**3), X)
    np.testing.assert_allclose(call(three), 3 * (M @ M).T, rtol=1e-13)
    Av = VALUES["A"]
    twice = sn.grad(sn.trace(sn.trace(A) * A), A)
    np.testing.assert_allclose(call(twice), 2 * np.trace(Av) * np.eye(n), rtol=1e-13)


def test_symbolic_sizes() -> None:
    Y = sn.matrix("Y", "m", "m")
    d = sn.grad(sn.trace(Y * Y), Y)
    assert sn.to_text(d.result) == "2*Y.T"
    for size in (2, 5):
        M = rng.standard_normal((size, size))
        np.testing.assert_allclose(d.kernel()(M), 2 * M.T, rtol=1e-14)


def test_matrix_power_refusals_name_the_exponent() -> None:
    k = sn.scalar("k")
    with pytest.raises(sn.UnsupportedExpressionError,
                       match=r"X\*\*k: a matrix power needs an integer exponent, got k"):
        sn.grad(sn.trace(sp.MatPow(X, k)), X)


# -- the trace is an atom --------------------------------------------------------------------

def test_trace_inside_max_parses_and_derives() -> None:
    X2 = sn.matrix("X", 2, 2)
    f = sn.parse("max(trace(2*X), 1)", X=X2)
    assert f == sp.Max(Trace(2 * X2), 1) and isinstance(sn.trace(X2), Trace)
    d = sn.grad(f, X2)
    assert sn.to_text(d.result) == "(2*I if trace(2*X) > 1 else 0)"
    k = d.kernel()
    np.testing.assert_array_equal(k(3 * np.eye(2)), 2 * np.eye(2))
    np.testing.assert_array_equal(k(0.1 * np.eye(2)), np.zeros((2, 2)))
    assert sn.latex(f) == r"\max\left(1, \operatorname{tr}\left(2 X \right)\right)"


def test_trace_survives_scalar_rewriting() -> None:
    X2 = sn.matrix("X", 2, 2)
    t = sn.trace(2 * X2)
    assert sp.factor_terms(t - 1) == t - 1
    both = sp.Max(sn.trace(2 * X2), sn.norm(X2, "fro"))
    d = sn.grad(both, X2)
    M = np.array([[3.0, 1.0], [0.0, 2.0]])  # tr(2M) = 10 > ||M||_F
    np.testing.assert_allclose(d.kernel()(M), 2 * np.eye(2))
    M = np.array([[0.1, 3.0], [-2.0, 0.1]])  # ||M||_F > tr(2M)
    np.testing.assert_allclose(d.kernel()(M), M / np.linalg.norm(M), rtol=1e-14)


def test_abs_of_a_trace_beside_another_factor():
    """abs(trace(B*(X - A)))*sigmoid(trace(X)): SymPy's Trace.doit expanded the trace
    inside abs into sp.Trace terms, and a product rebuilt around them failed ('noncommutative
    scalars in MatMul'; found by the fuzzer). The trace stays one atom."""
    X, A, B = (sn.matrix(n, "n", "n") for n in "XAB")
    f = sn.parse("abs(trace(B*(X - A)))*sigmoid(trace(X))", X=X, A=A, B=B)
    d = sn.grad(f, X)
    assert d.report.ok
    rng = np.random.default_rng(4)
    Xv, Av, Bv = (rng.normal(size=(3, 3)) for _ in range(3))
    t, s = np.trace(Bv @ (Xv - Av)), 1 / (1 + np.exp(-np.trace(Xv)))
    want = np.sign(t) * Bv.T * s + abs(t) * s * (1 - s) * np.eye(3)
    np.testing.assert_allclose(d.kernel()(X=Xv, A=Av, B=Bv), want, rtol=1e-12)
