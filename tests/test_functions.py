"""The functions of a whole vector or matrix: sum, mean, var, logsumexp, softmax,
layer_norm, rms_norm, inv, det, logdet.

Every derivative is compared with mpmath central differences (60 digits, the functions
written here from their definitions) at random points and at points scaled by 1e+200 and
1e-200; values with numpy written from the definitions; domains and errors by what they
raise and say.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from sympy import Inverse

import symnorm as sn
from symnorm.kernels.evaluate import evaluate
from symnorm.model.errors import (
    DomainError,
    ParseError,
    ShapeError,
    UnsupportedExpressionError,
)
from symnorm.model.functions import LayerNormScale, RmsNormScale
from symnorm.rules import FUNCTIONS

x = sn.vector("x")
M = sn.matrix("M", "n", "n")
S = sn.matrix("S", "n", "n", positive_definite=True)

SCALES = [1.0, 1e200, 1e-200]


# -- the functions in mpmath, from their definitions ------------------------------------------

def mp_vec(v: np.ndarray) -> list:
    return [mpmath.mpf(float(e)) for e in np.ravel(v)]


def mp_mean(v: list) -> mpmath.mpf:
    return mpmath.fsum(v) / len(v)


def mp_var(v: list) -> mpmath.mpf:
    mu = mp_mean(v)
    return mpmath.fsum((e - mu) ** 2 for e in v) / len(v)


def mp_softmax(v: list) -> list:
    total = mpmath.fsum(mpmath.exp(e) for e in v)
    return [mpmath.exp(e) / total for e in v]


def mp_layer_norm(v: list, eps: float) -> list:
    mu, sd = mp_mean(v), mpmath.sqrt(mp_var(v) + mpmath.mpf(eps))
    return [(e - mu) / sd for e in v]


def mp_rms_norm(v: list, eps: float) -> list:
    r = mpmath.sqrt(mpmath.fsum(e * e for e in v) / len(v) + mpmath.mpf(eps))
    return [e / r for e in v]


def mp_matrix(a: np.ndarray) -> mpmath.matrix:
    return mpmath.matrix([[mpmath.mpf(float(e)) for e in row] for row in a])


def mp_central(f, point: np.ndarray) -> np.ndarray:
    """d f/d point (entry by entry) by central differences (step 1e-20 of the largest
    entry) in arithmetic with 40 digits beyond the step's, so exp(x + h) for x = 1e-200
    still differs from exp(x - h); for a vector-valued f the Jacobian (rows: outputs)."""
    scale = float(np.max(np.abs(point)))
    digits = 60 + max(0, int(-math.log10(scale)))
    with mpmath.workdps(digits):
        return _central(f, point)


def _central(f, point: np.ndarray) -> np.ndarray:
    flat = mp_vec(point)
    h = max(abs(e) for e in flat) * mpmath.mpf(10) ** -20
    cols = []
    for j in range(len(flat)):
        up, down = list(flat), list(flat)
        up[j] += h
        down[j] -= h
        fu, fd = f(up, point.shape), f(down, point.shape)
        if isinstance(fu, list):
            cols.append([(a - b) / (2 * h) for a, b in zip(fu, fd)])
        else:
            cols.append([(fu - fd) / (2 * h)])
    out = np.array([[float(c) for c in col] for col in cols]).T  # rows: outputs
    return out[0].reshape(point.shape) if out.shape[0] == 1 and not isinstance(
        f(flat, point.shape), list) else out


def as_matrix(flat: list, shape: tuple) -> mpmath.matrix:
    return mpmath.matrix([flat[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])])


def close(got: np.ndarray, ref: np.ndarray, rtol: float = 1e-9) -> None:
    """Agreement relative to the largest entry of the reference (entries far below it,
    such as softmax's exp(-1e200), are judged by that scale)."""
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    assert got.shape == ref.shape
    scale = float(np.max(np.abs(ref))) or 1.0
    assert np.all(np.isfinite(got)), got
    assert float(np.max(np.abs(got - ref))) <= rtol * scale, (got, ref)


# -- derivatives against mpmath, at 1 and 1e+-200 -----------------------------------------------

@pytest.fixture(scope="module")
def point() -> np.ndarray:
    return np.random.default_rng(7).standard_normal(5)


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("name", ["sum", "mean", "var", "logsumexp"])
def test_scalar_vector_functions(name: str, s: float, point: np.ndarray) -> None:
    f = {"sum": sn.sum, "mean": sn.mean, "var": sn.var, "logsumexp": sn.logsumexp}[name](x)
    ref_f = {"sum": lambda v, _: mpmath.fsum(v), "mean": lambda v, _: mp_mean(v),
             "var": lambda v, _: mp_var(v),
             "logsumexp": lambda v, _: mpmath.log(mpmath.fsum(mpmath.exp(e) for e in v))}[name]
    d = sn.grad(f, x)
    assert d.report.ok
    p = point * s
    close(d.kernel()(p), mp_central(ref_f, p))
    value = float(ref_f(mp_vec(p), p.shape))
    got = float(sn.kernel(f, [x])(p))
    if math.isfinite(value):  # var at 1e200 is 1e400: not a float
        assert got == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("name,eps", [("softmax", None), ("layer_norm", 1e-5),
                                      ("layer_norm", 0.0), ("rms_norm", 1e-5),
                                      ("rms_norm", 0.0)])
def test_vector_functions(name: str, eps: float | None, s: float, point: np.ndarray) -> None:
    if name == "softmax":
        F, ref = sn.softmax(x), (lambda v, _: mp_softmax(v))
    elif name == "layer_norm":
        F, ref = sn.layer_norm(x, eps), (lambda v, _: mp_layer_norm(v, eps))
    else:
        F, ref = sn.rms_norm(x, eps), (lambda v, _: mp_rms_norm(v, eps))
    d = sn.jacobian(F, x)
    p = point * s
    J = mp_central(ref, p)
    close(d.kernel()(p), J)
    v = np.random.default_rng(3).standard_normal(p.size)
    close(d.vjp_kernel()(p, v), v @ J)
    close(d.jvp_kernel()(p, v), J @ v)
    close(sn.kernel(F, [x])(p), np.array([float(e) for e in ref(mp_vec(p), p.shape)]),
          rtol=1e-12)


@pytest.mark.parametrize("s", SCALES)
def test_det(s: float) -> None:
    M2 = sn.matrix("M", 2, 2)
    d = sn.grad(sn.det(M2), M2)
    assert d.report.ok
    a = np.random.default_rng(1).standard_normal((2, 2)) * s
    ref = mp_central(lambda v, shape: mpmath.det(as_matrix(v, shape)), a)
    close(d.kernel()(a), ref)  # det(a) itself is 1e400 at s = 1e200; its gradient is not


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("declared", [False, True])
def test_logdet(s: float, declared: bool) -> None:
    M3 = sn.matrix("M", 3, 3, positive_definite=declared)
    d = sn.grad(sn.logdet(M3), M3)
    r = np.random.default_rng(2).standard_normal((3, 3))
    a = (r @ r.T + np.eye(3)) * s
    ref = mp_central(lambda v, shape: mpmath.log(mpmath.det(as_matrix(v, shape))), a)
    if declared:  # the gradient in the symmetric convention: sym(G), G = M^-T
        ref = (ref + ref.T) / 2
    close(d.kernel()(a), ref)
    assert float(sn.kernel(sn.logdet(M3), [M3])(a)) == pytest.approx(
        float(mpmath.log(mpmath.det(mp_matrix(a)))), rel=1e-12)


@pytest.mark.parametrize("s", SCALES)
def test_inv(s: float) -> None:
    """The derivative of inv, through a^T inv(M) b (a, b scaled with M: their gradient is
    then of order 1 at every scale)."""
    M3, a, b = sn.matrix("M", 3, 3), sn.vector("a", 3), sn.vector("b", 3)
    f = sn.ScalarOf(a.T * sn.inv(M3) * b)
    d = sn.grad(f, M3)
    assert sn.to_text(d.result) == "-inv(M.T)*a*b.T*inv(M.T)"
    rng = np.random.default_rng(4)
    m0 = (rng.standard_normal((3, 3)) + 3 * np.eye(3)) * s
    a0, b0 = rng.standard_normal(3) * s, rng.standard_normal(3) * s

    def ref_f(v: list, shape: tuple) -> mpmath.mpf:
        inv = as_matrix(v, shape) ** -1
        return (mpmath.matrix(mp_vec(a0)).T * inv * mpmath.matrix(mp_vec(b0)))[0]

    close(d.kernel([M3, a, b])(m0, a0, b0), mp_central(ref_f, m0))


# -- values, overflow -------------------------------------------------------------------------

def test_logsumexp_and_softmax_do_not_overflow() -> None:
    assert float(sn.kernel(sn.logsumexp(x), [x])(np.array([1000.0, 1000.0]))) == \
        pytest.approx(1000 + math.log(2), rel=1e-15)
    assert sn.grad(sn.logsumexp(x), x).result == sn.softmax(x)
    np.testing.assert_array_equal(sn.kernel(sn.softmax(x), [x])(np.array([1000.0, 1000.0])),
                                  [0.5, 0.5])
    np.testing.assert_allclose(sn.kernel(sn.softmax(x), [x])(np.array([-1e308, 0.0])),
                               [0.0, 1.0])


@pytest.mark.parametrize("digits", [None, 40])
def test_the_reference_evaluator_knows_every_function(digits: int | None) -> None:
    """kernels.evaluate (what sn.verify compares claims with) computes each function from
    its definition, in float64 and in mpmath, and agrees with the definitions here."""
    x4, M3, eps = sn.vector("x", 4), sn.matrix("M", 3, 3), sn.scalar("eps")
    u = np.array([0.3, -1.2, 2.5, 0.7])
    r = np.random.default_rng(5).standard_normal((3, 3))
    m = r @ r.T + np.eye(3)
    values = {x4: u, M3: m, eps: 0.01}
    v = mp_vec(u)
    cases = [
        (sn.sum(x4), mpmath.fsum(v)), (sn.mean(x4), mp_mean(v)), (sn.var(x4), mp_var(v)),
        (sn.logsumexp(x4), mpmath.log(mpmath.fsum(mpmath.exp(e) for e in v))),
        (LayerNormScale(x4, eps), mpmath.sqrt(mp_var(v) + mpmath.mpf(0.01))),
        (RmsNormScale(x4, 0), mpmath.sqrt(mpmath.fsum(e * e for e in v) / 4)),
        (sn.det(M3), mpmath.det(mp_matrix(m))),
        (sn.logdet(M3), mpmath.log(mpmath.det(mp_matrix(m)))),
        (sn.softmax(x4), mp_softmax(v)), (sn.layer_norm(x4, eps), mp_layer_norm(v, 0.01)),
        (sn.rms_norm(x4), mp_rms_norm(v, 1e-5)),
    ]
    for expr, ref in cases:
        got = np.asarray(evaluate(expr, values, digits=digits), dtype=float).ravel()
        want = np.array([float(e) for e in (ref if isinstance(ref, list) else [ref])])
        np.testing.assert_allclose(got, want, rtol=1e-13, err_msg=sn.to_text(expr))


def test_the_reference_evaluator_outside_float64_and_the_domain() -> None:
    x2, M2 = sn.vector("x", 2), sn.matrix("M", 2, 2)
    big = {x2: [1000.0, 1000.0]}
    assert evaluate(sn.logsumexp(x2), big) == pytest.approx(1000 + math.log(2), rel=1e-15)
    np.testing.assert_array_equal(evaluate(sn.softmax(x2), big).ravel(), [0.5, 0.5])
    negative = {M2: [[0.0, 1.0], [1.0, 0.0]]}  # det = -1: logdet is not defined
    assert evaluate(sn.det(M2), negative) == pytest.approx(-1.0)
    assert math.isnan(evaluate(sn.logdet(M2), negative))
    assert mpmath.isnan(evaluate(sn.logdet(M2), negative, digits=30))


def test_batched_values(rng: np.random.Generator) -> None:
    X = rng.standard_normal((3, 4, 6))
    np.testing.assert_allclose(sn.kernel(sn.var(x), [x])(X), X.var(axis=-1))
    np.testing.assert_allclose(sn.kernel(sn.mean(x), [x])(X), X.mean(axis=-1))
    ln = sn.kernel(sn.layer_norm(x), [x])(X)
    ref = (X - X.mean(-1, keepdims=True)) / np.sqrt(X.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln, ref, rtol=1e-12)
    A = sn.matrix("A")
    Ms = rng.standard_normal((2, 3, 4))
    np.testing.assert_allclose(sn.kernel(sn.sum(A), [A])(Ms), Ms.sum(axis=(-2, -1)))
    np.testing.assert_allclose(sn.kernel(sn.mean(A), [A])(Ms), Ms.mean(axis=(-2, -1)))
    Sq = rng.standard_normal((5, 3, 3)) + 3 * np.eye(3)
    np.testing.assert_allclose(sn.kernel(sn.det(M), [M])(Sq), np.linalg.det(Sq))
    np.testing.assert_allclose(sn.kernel(sn.inv(M), [M])(Sq), np.linalg.inv(Sq))


def test_det_gradient_at_a_singular_matrix_is_the_adjugate() -> None:
    M2 = sn.matrix("M", 2, 2)
    k = sn.grad(sn.det(M2), M2).kernel()
    np.testing.assert_allclose(k(np.array([[1.0, 2.0], [2.0, 4.0]])),
                               [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    assert any("det(M) = 0" in kk.where for kk in sn.grad(sn.det(M2), M2).kinks)


# -- the symmetric convention for a declared positive definite matrix ---------------------------

def test_logdet_and_inv_of_a_declared_spd_matrix_are_symmetric() -> None:
    assert sn.grad(sn.logdet(S), S).result == Inverse(S)
    assert sn.grad(sn.logdet(M), M).result == Inverse(M).T
    mu, xx = sn.vector("mu"), sn.vector("x")
    nll = sn.ScalarOf((xx - mu).T * sn.inv(S) * (xx - mu)) / 2 + sn.logdet(S) / 2
    d = sn.grad(nll, S)
    assert sn.to_text(d.result) == "inv(S)/2 - inv(S)*(x - mu)*(x.T - mu.T)*inv(S)/2"
    rng = np.random.default_rng(5)
    r = rng.standard_normal((4, 4))
    s0, x0, m0 = r @ r.T + np.eye(4), rng.standard_normal(4), rng.standard_normal(4)
    g = d.kernel([S, mu, xx])(s0, m0, x0)
    np.testing.assert_allclose(g, g.T, atol=1e-14)
    si = np.linalg.inv(s0)
    dd = x0 - m0
    np.testing.assert_allclose(g, si / 2 - np.outer(si @ dd, si @ dd) / 2, rtol=1e-12)
    # the same as sym(G) of the unstructured gradient
    M4 = sn.matrix("M", "n", "n")
    nll_m = sn.ScalarOf((xx - mu).T * sn.inv(M4) * (xx - mu)) / 2 + sn.logdet(M4) / 2
    G = sn.grad(nll_m, M4).kernel([M4, mu, xx])(s0, m0, x0)
    np.testing.assert_allclose(g, (G + G.T) / 2, rtol=1e-12)
    dmu = sn.grad(nll, mu)
    assert sn.to_text(dmu.result) == "-inv(S)*(x - mu)"


# -- domains and errors -------------------------------------------------------------------------

def test_logdet_outside_its_domain_names_the_point() -> None:
    k = sn.kernel(sn.logdet(M), [M])
    with pytest.raises(DomainError, match=r"logdet\(M\).*det\(M\) = -1 <= 0") as err:
        k(np.array([[0.0, 1.0], [1.0, 0.0]]))
    assert "[[0. 1.] [1. 0.]]" in str(err.value)
    with pytest.raises(DomainError, match="batch index \\(1,\\)"):
        k(np.array([np.eye(2), -np.eye(3)[:2, :2] @ np.diag([1.0, -1.0])]))
    ks = sn.kernel(sn.logdet(S), [S])
    with pytest.raises(DomainError, match="declared positive definite"):
        ks(-np.eye(2))


def test_inv_of_a_singular_or_non_square_matrix() -> None:
    with pytest.raises(DomainError, match=r"inv\(M\).*singular"):
        sn.kernel(sn.inv(M), [M])(np.ones((3, 3)))
    with pytest.raises(ShapeError, match=r"inv\(\) needs a square matrix, but A is mxn"):
        sn.inv(sn.matrix("A"))
    with pytest.raises(ShapeError, match="square"):
        sn.det(sn.matrix("A", 2, 3))
    with pytest.raises(ShapeError, match="square matrix, but 'x'"):
        sn.parse("inv(x)")


def test_the_check_draws_inside_the_domain_of_logdet() -> None:
    d = sn.grad(sn.logdet(M), M)  # random matrices: det < 0 half the time, drawn again
    assert d.report.ok


@pytest.mark.parametrize("call,error,match", [
    (lambda: sn.softmax(sn.matrix("A")), ShapeError, "column vector, but A is the mxn"),
    (lambda: sn.softmax(x.T), ShapeError, "row vector; write softmax"),
    (lambda: sn.sum(sn.scalar("c")), ShapeError, "vector or matrix expression"),
    (lambda: sn.layer_norm(x, -1), DomainError, "eps must be >= 0"),
    (lambda: sn.layer_norm(x, x), ShapeError, "eps must be a scalar"),
    (lambda: sn.parse("softmax(A)"), ShapeError, "batch of vectors"),
    (lambda: sn.parse("sum(lam)"), ShapeError, "'lam' in 'sum\\(lam\\)' is a scalar"),
    (lambda: sn.parse("logsumexp(x, 2)"), ParseError, "wrong number of arguments"),
])
def test_errors_name_the_problem(call, error, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_a_parameter_that_depends_on_wrt_is_refused() -> None:
    e = sn.scalar("e", positive=True)
    with pytest.raises(UnsupportedExpressionError, match="parameter e depends on e"):
        sn.grad(sn.sum(sn.layer_norm(x, e)), e)


# -- the language, LaTeX, the registry -------------------------------------------------------

@pytest.mark.parametrize("text", [
    "sum(x)", "mean(A)", "var(x)", "logsumexp(x)", "softmax(W*x)", "layer_norm(x)",
    "rms_norm(x, 1e-6)", "layer_norm(x, eps)", "det(M)", "logdet(M)", "inv(M)*x",
    "norm(layer_norm(W*x) - t, 2)**2", "diag(softmax(x)) - softmax(x)*softmax(x).T"])
def test_parse_round_trips(text: str) -> None:
    e = sn.parse(text)
    assert sn.to_text(e) == text
    assert sn.parse(sn.to_text(e)) == e


def test_latex() -> None:
    assert sn.latex(sn.layer_norm(x)) == r"\operatorname{LayerNorm}(x)"
    assert sn.latex(sn.layer_norm(x, 1e-3)) == r"\operatorname{LayerNorm}(x; \epsilon = 10^{-3})"
    assert sn.latex(sn.rms_norm(x)) == r"\operatorname{RMSNorm}(x)"
    assert sn.latex(sn.softmax(2 * x)) == r"\operatorname{softmax}\left(2 x\right)"
    assert sn.latex(sn.logdet(M)) == r"\log\det(M)"
    assert sn.latex(sn.grad(sn.det(M), M).result) == r"\det(M) M^{-\top}"
    assert sp.latex(sn.logsumexp(x)) == r"\operatorname{logsumexp}(x)"  # SymPy's printer too


SAMPLES = {  # one expression and variable per registered function rule
    "sum": lambda: (sn.sum(x), x), "mean": lambda: (sn.mean(x), x),
    "var": lambda: (sn.var(x), x), "logsumexp": lambda: (sn.logsumexp(x), x),
    "layer_norm_scale": lambda: (LayerNormScale(x, 0), x),
    "rms_norm_scale": lambda: (RmsNormScale(x), x),
    "softmax": lambda: (sn.norm(sn.softmax(x) - sn.vector("y"), 2) ** 2, x),
    "layer_norm": lambda: (sn.norm(sn.layer_norm(x) - sn.vector("y"), 2) ** 2, x),
    "rms_norm": lambda: (sn.norm(sn.rms_norm(x) - sn.vector("y"), 2) ** 2, x),
    "soft": lambda: (sn.norm(sn.prox(sn.norm(x, 1), x).result, 2) ** 2,
                     sn.prox(sn.norm(x, 1), x).v),
    "inv": lambda: (sn.ScalarOf(x.T * sn.inv(M) * x), M),
    "det": lambda: (sn.det(M), M), "logdet": lambda: (sn.logdet(S), S),
}


@pytest.mark.parametrize("rule", list(FUNCTIONS), ids=FUNCTIONS.keys())
def test_every_registered_function_rule(rule) -> None:
    assert rule.key in SAMPLES, f"add a sample expression for the new rule {rule.key!r}"
    f, wrt = SAMPLES[rule.key]()
    d = sn.grad(f, wrt)
    assert d.report.ok, d.report.summary()
    assert rule.latex and rule.domain and rule.description
    node = next(n for n in sp.preorder_traversal(f) if type(n) is rule.node) \
        if any(type(n) is rule.node for n in sp.preorder_traversal(f)) else None
    if node is not None:
        assert sn.latex(node)
