"""sn.jacobian: textbook Jacobians exactly, numerator layout, kernels against finite
differences, VJP/JVP against ``v @ J`` and ``J @ u``, O(n) products, errors.

Numbers are compared with central differences written here in numpy (independent of
symnorm's check) and with the Jacobian kernel itself.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symnorm as sn
from symnorm.calculus.explicit import explicit
from symnorm.calculus.jacobian import JacobianDerivation
from symnorm.check import check_products
from symnorm.model.errors import UnsupportedExpressionError

x = sn.vector("x")
lam = sn.scalar("lam", positive=True)


def fd_jacobian(f, x0: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences, column by column (numerator layout: rows are outputs)."""
    f0 = np.atleast_1d(f(x0))
    J = np.empty((f0.size, x0.size))
    for j in range(x0.size):
        e = np.zeros_like(x0)
        e[j] = h
        J[:, j] = (np.atleast_1d(f(x0 + e)) - np.atleast_1d(f(x0 - e))) / (2 * h)
    return J


# -- textbook results, exactly ---------------------------------------------------------------

def test_normalisation_is_the_projection_onto_the_tangent_plane() -> None:
    d = sn.jacobian(x / sn.norm(x, 2), x)
    assert sn.to_text(d.result) == "(I - x*x.T/norm(x, 2)**2)/norm(x, 2)"
    assert sn.latex(d.result) == (r"\frac{1}{\left\lVert x \right\rVert_{2}}\left(I - "
                                  r"\frac{x x^\top}{\left\lVert x \right\rVert_{2}^{2}}\right)")
    assert d.report.ok
    assert [k.where for k in d.kinks] == ["x = 0"]


def test_affine_map() -> None:
    A, b = sn.matrix("A", "m", "n"), sn.vector("b", "m")
    d = sn.jacobian(A * x + b, x)
    assert d.result == A
    assert d.result.shape == (sp.Symbol("m", integer=True, positive=True), x.shape[0])


def test_sigmoid_and_softmax() -> None:
    d = sn.jacobian(sn.parse("sigmoid(x)"), x)
    assert sn.to_text(d.result) == "diag(sigmoid(x) .* (1 - sigmoid(x)))"
    s = sn.jacobian(sn.softmax(x), x)
    assert sn.to_text(s.result) == "diag(softmax(x)) - softmax(x)*softmax(x).T"
    assert s.report.ok and d.report.ok


def test_prox_of_l1_is_the_indicator_of_the_active_entries() -> None:
    P = sn.prox(lam * sn.norm(x, 1), x)
    d = sn.jacobian(P.result, P.v)
    assert sn.to_text(d.result) == "diag(step(abs(v) - lam*1))"
    assert r"\mathbb{1}\left[" in sn.latex(d.result) and r"> \lambda\right]" in sn.latex(
        d.result)
    assert any("lam" in k.where for k in d.kinks)
    k = d.kernel()
    np.testing.assert_array_equal(k(np.array([3.0, -0.5, 0.2, -2.0]), 1.0),
                                  np.diag([1.0, 0.0, 0.0, 1.0]))


def test_normalisation_layers() -> None:
    assert sn.to_text(sn.jacobian(sn.layer_norm(x), x).result) == (
        "(I - layer_norm(x)*layer_norm(x).T/n - 1*1.T/n)/sqrt(var(x) + 1e-5)")
    assert sn.to_text(sn.jacobian(sn.rms_norm(x, 0), x).result) == (
        "(I - rms_norm(x, 0)*rms_norm(x, 0).T/n)/sqrt(mean(x .* x))")


# -- layout ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["norm(x, 2)", "norm(A*x - b, 1)", "x.T*M*x",
                                  "logsumexp(x)", "norm(softmax(x) - y, 2)**2",
                                  "sqrt(1 + norm(x, 2)**2)"])
def test_jacobian_of_a_scalar_is_the_transposed_gradient(text: str) -> None:
    f = sn.parse(text)
    wrt = next(s for s in f.free_symbols if getattr(s, "name", "") == "x")
    j, g = sn.jacobian(f, wrt), sn.grad(f, wrt)
    assert j.result == g.result.T
    assert j.result.shape == (1, wrt.shape[0])
    assert j.report.ok
    assert "numerator layout" in j.text()


def test_numerator_layout_rows_are_outputs(rng: np.random.Generator) -> None:
    A = sn.matrix("A", 3, 5)
    xv = sn.vector("x", 5)
    d = sn.jacobian(sn.parse("tanh(A*x)", A=A, x=xv), xv)
    assert d.result.shape == (3, 5)
    a, x0 = rng.standard_normal((3, 5)), rng.standard_normal(5)
    J = d.kernel()(x0, a)
    assert J.shape == (3, 5)
    np.testing.assert_allclose(J, fd_jacobian(lambda z: np.tanh(a @ z), x0), atol=1e-8)


def test_scalar_wrt_gives_a_column(rng: np.random.Generator) -> None:
    t = sn.scalar("t")
    a, b = sn.vector("a"), sn.vector("b")
    d = sn.jacobian(sn.softmax(t * a + b), t)
    assert d.result.shape == (a.shape[0], 1)
    a0, b0 = rng.standard_normal(4), rng.standard_normal(4)
    got = d.kernel([t, a, b])(0.7, a0, b0)

    def soft(z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max())
        return e / e.sum()

    fd = (soft(0.7001 * a0 + b0) - soft(0.6999 * a0 + b0)) / 0.0002
    np.testing.assert_allclose(got, fd, atol=1e-6)


# -- kernels against finite differences -----------------------------------------------------

def _soft(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def _ln(z: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    return (z - z.mean()) / np.sqrt(z.var() + eps)


MAPS = [
    ("x/norm(x, 2)", lambda z: z / np.linalg.norm(z)),
    ("softmax(x)", _soft),
    ("layer_norm(x)", _ln),
    ("rms_norm(x, 1e-3)", lambda z: z / np.sqrt(np.mean(z * z) + 1e-3)),
    ("sigmoid(x) .* x", lambda z: z / (1 + np.exp(-z))),
    ("x*norm(x, 2) + exp(x)", lambda z: z * np.linalg.norm(z) + np.exp(z)),
    ("x*(x.T*x)", lambda z: z * (z @ z)),
    ("softmax(layer_norm(x) .* x)", lambda z: _soft(_ln(z) * z)),
    ("tanh(x).^3", lambda z: np.tanh(z) ** 3),
]


@pytest.mark.parametrize("text,ref", MAPS, ids=[m[0] for m in MAPS])
def test_jacobian_kernel_against_central_differences(text: str, ref,
                                                     rng: np.random.Generator) -> None:
    F = sn.parse(text)
    d = sn.jacobian(F, x)
    assert isinstance(d, JacobianDerivation) and d.report.ok
    k = d.kernel()
    X = rng.standard_normal((2, 3, 6))          # a batch of 2x3 points of size 6
    J = k(X)
    assert J.shape == (2, 3, 6, 6)
    for idx in np.ndindex(2, 3):
        np.testing.assert_allclose(J[idx], fd_jacobian(ref, X[idx]), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("text,ref", MAPS, ids=[m[0] for m in MAPS])
def test_vjp_and_jvp_against_the_matrix(text: str, ref, rng: np.random.Generator) -> None:
    d = sn.jacobian(sn.parse(text), x)
    X, V, U = (rng.standard_normal((4, 7)) for _ in range(3))
    J = d.kernel()(X)
    np.testing.assert_allclose(d.vjp_kernel()(X, V), np.einsum("bi,bij->bj", V, J),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(d.jvp_kernel()(X, U), np.einsum("bij,bj->bi", J, U),
                               rtol=1e-10, atol=1e-12)
    assert d.vjp().report.ok and d.jvp().report.ok


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.floats(-300, 300), st.integers(0, 2**31))
def test_vjp_of_the_normalisation_is_scale_invariant_and_finite(n: int, log10: float,
                                                                seed: int) -> None:
    """v^T J(x/|x|) at any scale: finite, and s times the value at x/s (J is homogeneous
    of degree -1), so 1e-300 and 1e300 neither underflow nor overflow."""
    k = _NORMALISED.vjp_kernel()
    rng = np.random.default_rng(seed)
    x0, v = rng.standard_normal(n), rng.standard_normal(n)
    s = 10.0 ** (log10 / 100.0 * 2.9)
    got = k(x0 * s, v) * s
    assert np.all(np.isfinite(got))
    scale = np.linalg.norm(v) / np.linalg.norm(x0)  # the size of J^T v
    np.testing.assert_allclose(got, k(x0, v), rtol=1e-12, atol=1e-13 * scale)


_NORMALISED = sn.jacobian(x / sn.norm(x, 2), x)


def test_vjp_of_the_normalisation_is_order_n_in_time_and_memory() -> None:
    """At n = 1e6 the VJP allocates O(n), never an n x n matrix (8 TB)."""
    k = _NORMALISED.vjp_kernel()
    for token in ("np.eye", "_nm.outer", "np.matmul", "_nm.diag"):
        assert token not in k.source
    assert "_nm.norm2_hvp" in k.source
    n = 10**6
    rng = np.random.default_rng(0)
    x0, v = rng.standard_normal(n), rng.standard_normal(n)
    out = np.empty(n)
    k(x0, v, out=out)
    tracemalloc.start()
    k(x0, v, out=out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 3 * 8 * n  # a few vectors' worth at most
    ref = (v - x0 * (x0 @ v) / (x0 @ x0)) / np.linalg.norm(x0)
    np.testing.assert_allclose(out, ref, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("text", ["softmax(x)", "layer_norm(x)", "rms_norm(x)"])
def test_products_of_the_structured_jacobians_use_their_fused_helpers(text: str) -> None:
    d = sn.jacobian(sn.parse(text), x)
    helper = {"softmax(x)": "softmax_vjp", "layer_norm(x)": "layer_norm_vjp",
              "rms_norm(x)": "rms_norm_vjp"}[text]
    assert f"_nm.{helper}" in d.vjp_kernel().source
    assert f"_nm.{helper}" in d.jvp_kernel().source  # J is symmetric


def test_product_kernels_name_their_arguments() -> None:
    A = sn.matrix("A", "m", "n")
    d = sn.jacobian(sn.softmax(A * x), x)
    assert d.vjp_kernel().arg_names == ["x", "v", "A"]
    assert d.jvp_kernel().arg_names == ["x", "u", "A"]
    v = sn.vector("v")
    d2 = sn.jacobian(sn.softmax(x + v), x)  # 'v' is taken: the cotangent is v1
    assert d2.vjp_kernel().arg_names == ["x", "v1", "v"]


def test_a_wrong_product_is_caught() -> None:
    u = sn.vector("u")
    report = check_products(x / sn.norm(x, 2), x, u / sn.norm(x, 2), u, "jvp")
    assert not report.ok
    assert "JVP" in report.summary()


# -- display -----------------------------------------------------------------------------------

def test_latex_steps_and_document() -> None:
    d = sn.jacobian(sn.softmax(sn.matrix("W") * x), x)
    tex = d.latex()
    assert r"\frac{\partial}{\partial x}" in tex and r"\operatorname{softmax}" in tex
    assert repr(d).startswith("jacobian_x(softmax(W*x)) = ")
    assert "Jacobian of" in d.to_latex_document()
    assert d.to_dict()["kind"] == "jacobian"


# -- errors ----------------------------------------------------------------------------------

def test_matrix_valued_map_is_refused_with_what_is_supported() -> None:
    X = sn.matrix("X", "n", "n")
    with pytest.raises(UnsupportedExpressionError, match="supported: a column vector"):
        sn.jacobian(X * X.T, X)
    with pytest.raises(UnsupportedExpressionError, match="matrix.*supported"):
        sn.jacobian(x * x.T, x)
    with pytest.raises(UnsupportedExpressionError, match="row vector"):
        sn.jacobian(x.T, x)
    with pytest.raises(UnsupportedExpressionError, match="sn.grad"):
        sn.jacobian(sn.norm(X, "fro"), X)


def test_jacobian_through_a_matrix_that_depends_on_x_points_to_the_vjp() -> None:
    M, b = sn.matrix("M", "n", "n"), sn.vector("b")
    with pytest.raises(UnsupportedExpressionError, match="3-index tensor"):
        sn.jacobian(sn.inv(M + x * x.T) * b, x)


@pytest.mark.parametrize("make", [lambda v: v / sn.norm(v, 2), sn.softmax,
                                  lambda v: sn.layer_norm(v, 0),
                                  lambda v: sn.rms_norm(v, sp.Rational(1, 10)),
                                  lambda v: sn.parse("sigmoid(x)", x=v)],
                         ids=["normalise", "softmax", "layer_norm", "rms_norm", "sigmoid"])
def test_closed_forms_equal_sympys_componentwise_jacobian(make) -> None:
    """For n = 3 the closed form, in components, is SymPy's Jacobian of the components."""
    x3 = sn.vector("x", 3)
    F = make(x3)
    J = sn.jacobian(F, x3, check=False).components()
    xs = [sp.Symbol(f"x_{i}", real=True) for i in (1, 2, 3)]
    assert sp.simplify(J - explicit(F).jacobian(xs)) == sp.zeros(3, 3)
