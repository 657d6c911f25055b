"""Matrix norms: closed forms, Matrix Cookbook identities, kinks, sets, prox, duals, parser.

References are written from the definitions in plain numpy (SVDs, loops over columns,
central differences); none of them calls symnorm's numeric helpers.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import symnorm as sn
from symnorm.rules import NORMS
from symnorm.rules.matrix_maps import MatrixOrder

X = sn.matrix("X")
A = sn.matrix("A", "m", "m")
B = sn.matrix("B", "n", "n")
W = sn.vector("w", "n")
Y = sn.vector("y", "m")
LAM = sn.scalar("lam", positive=True)
MATRIX_ORDERS = [p for rule in NORMS if rule.extras.get("matrix") for p in rule.sample_orders]


def ref_norm(v: np.ndarray, p) -> float:
    s = np.linalg.svd(v, compute_uv=False)
    table = {"fro": lambda: float(np.sqrt(np.sum(v * v))), "nuc": lambda: float(s.sum()),
             "spectral": lambda: float(s.max()),
             "induced1": lambda: float(np.abs(v).sum(axis=0).max()),
             "inducedinf": lambda: float(np.abs(v).sum(axis=1).max())}
    if p.kind in table:
        return table[p.kind]()
    pp, qq = (np.inf if t == sp.oo else float(t) for t in p.pq)
    cols = np.array([np.linalg.norm(v[:, j], pp) for j in range(v.shape[1])])
    return float(np.linalg.norm(cols, qq))


def central_gradient(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        g[idx] = (f(x + e) - f(x - e)) / (2 * h)
    return g


# -- closed forms ---------------------------------------------------------------------------

def test_cookbook_identities_exact():
    assert sn.grad(sn.norm(X, "fro") ** 2, X).result == 2 * X
    assert sn.grad(sn.norm(A * X * B, "fro") ** 2, X).result == 2 * A.T * A * X * B * B.T
    assert sn.grad(sn.trace(A * sn.matrix("Z", "m", "m")), sn.matrix("Z", "m", "m")).result \
        == A.T


@pytest.mark.parametrize("p,text,tex", [
    ("fro", "X/norm(X, fro)", r"\frac{X}{\left\lVert X \right\rVert_{F}}"),
    ("nuc", "svd_uv(X)", r"U V^{\top}"),
    (2, "svd_top_uv(X)", r"u_{1} v_{1}^{\top}"),
    (1, "induced_grad_cols(X)", r"\operatorname{sign}(X) \odot \mathbf{1} e_{k}^{\top}"),
    ("oo", "induced_grad_rows(X)", r"\operatorname{sign}(X) \odot e_{k} \mathbf{1}^{\top}"),
    ((2, 1), "mixed_grad(X, (2, 1))", r"\left( \frac{X_{j}}{\lVert X_{j} \rVert_2} \right)_{j}"),
])
def test_gradient_closed_forms(p, text, tex):
    d = sn.grad(sn.norm(X, p), X)
    assert sn.to_text(d.result) == text
    assert sn.latex(d.result) == tex
    assert d.report.ok


def test_norm_latex():
    assert [sn.latex(sn.norm(X, p)) for p in ("fro", "nuc", 2, 1, "oo", (2, 1))] == [
        rf"\left\lVert X \right\rVert_{{{s}}}" for s in ("F", "*", "2", "1", r"\infty", "2,1")]


@pytest.mark.parametrize("f,expected", [
    (sn.norm(A * X * B, "nuc"), "A.T*svd_uv(A*X*B)*B.T"),
    (sn.norm(A * X * B, "fro"), "A.T*A*X*B*B.T/norm(A*X*B, fro)"),
    (sn.norm(X * W - Y, 2) ** 2 + LAM * sn.norm(X, "nuc"), "lam*svd_uv(X) + 2*(X*w - y)*w.T"),
    (sn.norm(X.T, 2), "svd_top_uv(X.T).T"),
])
def test_chain_rule_forms_and_finite_differences(f, expected, rng):
    d = sn.grad(f, X)
    assert sn.to_text(d.result) == expected
    assert d.report.ok
    # an independent check: numpy references and central differences at a random point
    m, n = 4, 3
    vals = {"X": rng.standard_normal((m, n)), "A": rng.standard_normal((m, m)),
            "B": rng.standard_normal((n, n)), "w": rng.standard_normal(n),
            "y": rng.standard_normal(m), "lam": 0.7}
    args = d.arguments()
    value = d.value_kernel()
    # by name: A and B are both matrices, so a positional call would be ambiguous
    g = d.kernel()(**{a.name: vals[a.name] for a in args})

    def at(x):
        return float(value(**{a.name: x if a.name == "X" else vals[a.name] for a in args}))

    np.testing.assert_allclose(g, central_gradient(at, vals["X"]), rtol=1e-6, atol=1e-7)


def test_gradients_against_numpy_references_at_random_matrices(rng):
    for p in MATRIX_ORDERS:
        d = sn.grad(sn.norm(X, p), X, check=False)
        k = d.kernel()
        for shape in ((3, 3), (5, 2), (2, 6)):
            x = rng.standard_normal(shape)
            want = central_gradient(lambda v: ref_norm(v, p), x)  # noqa: B023
            np.testing.assert_allclose(k(x), want, rtol=1e-6, atol=1e-7, err_msg=str(p))


def test_closed_forms_against_svd_by_hand(rng):
    x = rng.standard_normal((5, 3))
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    nuc = sn.grad(sn.norm(X, "nuc"), X).kernel()
    spec = sn.grad(sn.norm(X, 2), X).kernel()
    np.testing.assert_allclose(nuc(x), u @ vt, atol=1e-12)
    np.testing.assert_allclose(spec(x), np.outer(u[:, 0], vt[0]), atol=1e-12)


def test_kernels_batched_and_out(rng):
    batch = rng.standard_normal((6, 4, 3))
    for p in MATRIX_ORDERS:
        k = sn.grad(sn.norm(X, p), X, check=False).kernel()
        single = np.stack([k(b) for b in batch])
        np.testing.assert_allclose(k(batch), single, rtol=1e-13, atol=1e-15)
        out = np.empty_like(batch)
        res = k(batch, out=out)
        assert res is out
        np.testing.assert_allclose(out, single, rtol=1e-13, atol=1e-15)
        v = sn.kernel(sn.norm(X, p), [X])
        np.testing.assert_allclose(v(batch), [ref_norm(b, p) for b in batch], rtol=1e-12)


# -- kinks: exact minimum-norm subgradients, never NaN ------------------------------------------

S2 = 1 / np.sqrt(2)


@pytest.mark.parametrize("p,x,expected", [
    ("fro", np.zeros((2, 3)), np.zeros((2, 3))),
    (2, np.eye(3), np.eye(3) / 3),                                # multiplicity 3
    (2, np.diag([2.0, 2.0, 1.0]), np.diag([0.5, 0.5, 0.0])),      # multiplicity 2
    (2, np.zeros((2, 2)), np.zeros((2, 2))),
    ("nuc", np.eye(2), np.eye(2)),                                # differentiable: SymPy NaN
    ("nuc", np.diag([2.0, 0.0]), np.diag([1.0, 0.0])),            # rank 1 < 2
    ("nuc", np.zeros((3, 2)), np.zeros((3, 2))),
    ("nuc", np.array([[1.0, 1.0], [1.0, 1.0]]), np.full((2, 2), 0.5)),
    (1, np.array([[1.0, -1.0], [1.0, 1.0]]), np.array([[0.5, -0.5], [0.5, 0.5]])),
    (1, np.array([[2.0, 1.0], [0.0, 1.0]]), np.array([[2 / 3, 1 / 3], [0.0, 1 / 3]])),
    ("oo", np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([[2 / 3, 0.0], [1 / 3, 1 / 3]])),
    (1, np.zeros((2, 2)), np.zeros((2, 2))),
    ((2, 1), np.array([[3.0, 0.0], [4.0, 0.0]]), np.array([[0.6, 0.0], [0.8, 0.0]])),
    ((2, 1), np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([[S2, 0.0], [S2, 0.0]])),
])
def test_kink_returns_documented_minimum_norm_subgradient(p, x, expected):
    g = sn.grad(sn.norm(X, p), X, check=False).kernel()(x)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, expected, atol=1e-12)


def test_induced_tie_weights_are_the_minimum_norm_choice():
    # columns 1 and 2 tie (sums 2, 2) with 1 and 2 nonzeros: brute force over the segment
    s1, s2 = np.array([[1.0, 0], [0, 0]]), np.array([[0, 1.0], [0, 1.0]])
    lam = np.linspace(0, 1, 100001)
    best = lam[np.argmin(lam**2 + 2 * (1 - lam) ** 2)]
    g = sn.grad(sn.norm(X, 1), X).kernel()(np.array([[2.0, 1.0], [0.0, 1.0]]))
    np.testing.assert_allclose(g, best * s1 + (1 - best) * s2, atol=1e-4)


def test_sympy_explicit_gradient_is_nan_where_symnorm_is_exact():
    """SymPy's explicit spectral/nuclear machinery breaks at X = I; symnorm does not."""
    x = sp.Matrix(2, 2, sp.symbols("x11 x12 x21 x22", real=True))
    nuclear = sum(sp.sqrt(e) for e in (x.T * x).eigenvals())
    at_identity = {x[0, 0]: 1, x[0, 1]: 0, x[1, 0]: 0, x[1, 1]: 1}
    sympy_grad = [sp.diff(nuclear, v).subs(at_identity) for v in x]
    assert any(g.has(sp.nan, sp.zoo) or not g.is_finite for g in sympy_grad)
    ours = sn.grad(sn.norm(X, "nuc"), X).kernel()(np.eye(2))
    np.testing.assert_array_equal(ours, np.eye(2))


def test_kink_notes_in_derivation():
    d = sn.grad(sn.norm(X, 2), X)
    assert any("multiplicity" in k.where for k in d.kinks)
    assert "U_k V_k^T / k" in d.text()
    assert "minimum-norm subgradient" in d.kernel().__doc__


# -- subdifferentials ----------------------------------------------------------------------------

X22 = sn.matrix("X", 2, 2)


def test_nuclear_set_membership_and_rejection(rng):
    S = sn.subdiff(sn.norm(X22, "nuc"), X22)
    at = np.diag([2.0, 0.0])
    assert S.contains(np.diag([1.0, 0.3]), at=at)
    assert S.contains(np.diag([1.0, -1.0]), at=at)
    assert not S.contains(np.diag([1.0, 1.3]), at=at)      # ||W||_2 > 1
    assert not S.contains(np.array([[1.0, 0.2], [0.0, 0.5]]), at=at)  # U_r^T W != 0
    np.testing.assert_allclose(S.distance(np.diag([1.0, 1.3]), at=at), 0.3, atol=1e-12)
    np.testing.assert_array_equal(S.min_norm(at=at), np.diag([1.0, 0.0]))
    assert S.support(np.diag([1.0, -1.0]), at=at) == pytest.approx(2.0)
    assert S.report.ok
    # a random member: U_r V_r^T + W with W in the orthogonal complement, ||W||_2 <= 1
    x3 = sn.matrix("X", 4, 3)
    S3 = sn.subdiff(sn.norm(x3, "nuc"), x3)
    u, _, vt = np.linalg.svd(rng.standard_normal((4, 3)))
    point = u[:, :1] @ np.diag([3.0]) @ vt[:1]
    w = u[:, 1:3] @ np.diag([0.9, 0.4]) @ vt[1:3]
    base = np.outer(u[:, 0], vt[0])
    assert S3.contains(base + w, at=point)
    assert not S3.contains(base + 1.2 * w / 0.9, at=point)


def test_spectral_set_membership_and_rejection():
    S = sn.subdiff(sn.norm(X22, 2), X22)
    at = np.eye(2)
    assert S.contains(np.diag([0.3, 0.7]), at=at)
    assert S.contains(np.array([[0.5, 0.2], [0.2, 0.5]]), at=at)
    assert not S.contains(np.array([[0.5, 0.2], [-0.2, 0.5]]), at=at)  # not symmetric
    assert not S.contains(np.diag([0.5, 0.6]), at=at)                  # trace 1.1
    assert not S.contains(np.diag([1.2, -0.2]), at=at)                 # not psd
    np.testing.assert_allclose(S.min_norm(at=at), np.eye(2) / 2)
    assert S.support(np.diag([1.0, 3.0]), at=at) == pytest.approx(3.0)
    # at 0: the nuclear unit ball
    z = np.zeros((2, 2))
    assert S.contains(np.diag([0.5, -0.5]), at=z) and not S.contains(np.diag([0.6, -0.5]), at=z)
    assert S.support(np.diag([1.0, -3.0]), at=z) == pytest.approx(3.0)


def test_min_norm_elements_equal_kernels_at_kinks():
    for p, x in (("nuc", np.diag([2.0, 0.0])), (2, np.eye(2)), ("fro", np.zeros((2, 2))),
                 ((2, 1), np.array([[1.0, 0.0], [2.0, 0.0]]))):
        S = sn.subdiff(sn.norm(X22, p), X22)
        k = sn.grad(sn.norm(X22, p), X22, check=False).kernel()
        np.testing.assert_allclose(S.min_norm(at=x), k(x), atol=1e-12)


def test_subdiff_sum_with_smooth_term_and_latex():
    S = sn.subdiff(sn.norm(X * W - Y, 2) ** 2 + LAM * sn.norm(X, "nuc"), X)
    assert S.report.ok
    assert r"U_r V_r^{\top} + Z" in S.latex() and r"\lambda" in S.latex()
    assert "f'(X; D)" in S.support_latex()


def test_subdiff_unsupported_matrix_norm_is_named():
    with pytest.raises(sn.UnsupportedExpressionError, match="induced1|norm\\(X, 1\\)"):
        sn.subdiff(sn.norm(X22, 1), X22)


# -- prox ----------------------------------------------------------------------------------------

def _smoothed_nuclear_prox(v: np.ndarray, lam: float, eps: float = 1e-8,
                           iters: int = 4000) -> np.ndarray:
    """argmin lam*tr((X^T X + eps I)^(1/2)) + ||X - V||^2/2 by accelerated gradient descent
    (eigh of X^T X; an independent numeric minimiser, no SVT)."""
    x = v.copy()
    y = x.copy()
    t = 1.0
    step = 1.0 / (1.0 + lam / np.sqrt(eps))
    for _ in range(iters):
        evals, q = np.linalg.eigh(y.T @ y + eps * np.eye(y.shape[1]))
        grad = lam * y @ (q * evals ** -0.5) @ q.T + (y - v)
        new = y - step * grad
        t2 = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = new + (t - 1) / t2 * (new - x)
        x, t = new, t2
    return x


def test_svt_against_a_numeric_minimiser(rng):
    P = sn.prox(LAM * sn.norm(X, "nuc"), X)
    assert sn.to_text(P.result) == "svt(V, lam)"
    assert P.report.ok
    v = rng.standard_normal((4, 3))
    lam = 0.8
    got = P.kernel()(v, lam)

    def objective(x):
        return lam * np.linalg.svd(x, compute_uv=False).sum() + 0.5 * np.sum((x - v) ** 2)

    ref = _smoothed_nuclear_prox(v, lam, eps=1e-6, iters=3000)
    assert objective(got) <= objective(ref) + 1e-6
    np.testing.assert_allclose(got, ref, atol=5e-3)
    for _ in range(50):  # no better point nearby
        d = rng.standard_normal(v.shape)
        assert objective(got) <= objective(got + 1e-3 * d) + 1e-12


@pytest.mark.parametrize("p,expected", [
    ("nuc", "svt(V, lam)"), (2, "V - proj_nucball(V, lam)"), ("fro", "fro_shrink(V, lam)"),
    ((2, 1), "col_shrink(V, lam)")])
def test_matrix_prox_closed_forms_against_numpy(p, expected, rng):
    P = sn.prox(LAM * sn.norm(X, p), X, points=6)
    assert sn.to_text(P.result) == expected and P.report.ok
    v, lam = 2 * rng.standard_normal((5, 3)), 1.3
    u, s, vt = np.linalg.svd(v, full_matrices=False)
    if p == "nuc":
        want = (u * np.maximum(s - lam, 0)) @ vt
    elif p == 2:  # clip the singular values at the level tau with sum(max(s - tau, 0)) = lam
        taus = np.linspace(0, s.max(), 200001)
        tau = taus[np.argmin(np.abs(np.maximum(s[None] - taus[:, None], 0).sum(1) - lam))]
        want = (u * np.minimum(s, tau)) @ vt
    elif p == "fro":
        want = max(0.0, 1 - lam / np.linalg.norm(v)) * v
    else:
        want = v * np.maximum(0.0, 1 - lam / np.linalg.norm(v, axis=0))
    np.testing.assert_allclose(P.kernel()(v, lam), want, atol=1e-4 if p == 2 else 1e-12)


def test_matrix_prox_elastic_net_and_errors():
    mu = sn.scalar("mu", positive=True)
    P = sn.prox(LAM * sn.norm(X, "nuc") + mu / 2 * sn.norm(X, "fro") ** 2, X)
    assert sn.to_text(P.result) == "svt(V, lam)/(mu + 1)" and P.report.ok
    assert r"\max(\Sigma - \lambda, 0)" in P.latex()
    with pytest.raises(sn.UnsupportedExpressionError, match="lam\\*norm\\(X, 'nuc'\\)"):
        sn.prox(LAM * sn.norm(X, 1), X)
    with pytest.raises(sn.UnsupportedExpressionError, match="sum of different norms"):
        sn.prox(LAM * sn.norm(X, "nuc") + LAM * sn.norm(X, 2), X)


# -- duals -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("p,expected", [
    ("nuc", "norm(Y, 2)"), (2, "norm(Y, nuc)"), ("fro", "norm(Y, fro)"),
    (1, "norm(Y, (oo, 1))"), ("oo", "norm(Y.T, (oo, 1))"), ((2, 1), "norm(Y, (2, oo))"),
    ((3, 2), "norm(Y, (3/2, 2))")])
def test_duals_and_hoelder(p, expected, rng):
    D = sn.dual(sn.norm(X, p))
    assert sn.to_text(D.result) == expected
    assert D.report.ok
    # the definition by brute force: sup over random unit-norm X never exceeds the claim
    dual_k = sn.kernel(D.result, [D.y])
    y = rng.standard_normal((3, 4))
    claim = float(dual_k(y))
    xs = rng.standard_normal((2000, 3, 4))
    norms = np.array([ref_norm(x, MatrixOrder(*_kind(p))) for x in xs])
    pairs = np.einsum("kij,ij->k", xs, y) / norms
    assert pairs.max() <= claim * (1 + 1e-12)
    assert pairs.max() >= 0.5 * claim


def _kind(p):
    if isinstance(p, tuple):
        return ("mixed", *p)
    return ({"nuc": "nuc", "fro": "fro", 2: "spectral", 1: "induced1", "oo": "inducedinf"}[p],)


def test_induced_one_dual_is_not_the_induced_oo_norm():
    """In the trace pairing the dual of max_j ||x_j||_1 is sum_j ||y_j||_oo."""
    y = np.eye(2)
    k = sn.kernel(sn.dual(sn.norm(X, 1)).result, [sn.matrix("Y")])
    assert float(k(y)) == 2.0  # the induced oo-norm of I is 1


# -- axioms (numerically, by hypothesis) ---------------------------------------------------------

mats = arrays(np.float64, (3, 2), elements=st.floats(-100, 100, allow_nan=False))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mats, mats, st.floats(-10, 10, allow_nan=False), st.sampled_from(MATRIX_ORDERS))
def test_matrix_norm_axioms(a, b, c, p):
    k = sn.kernel(sn.norm(X, p), [X])
    na, nb = float(k(a)), float(k(b))
    assert float(k(a + b)) <= na + nb + 1e-9 * (1 + na + nb)
    assert float(k(c * a)) == pytest.approx(abs(c) * na, rel=1e-9, abs=1e-9)
    assert (na == 0) == (not np.any(a))


# -- the language and errors -----------------------------------------------------------------------

@pytest.mark.parametrize("text,kind", [("norm(X, fro)", "fro"), ("norm(X, 'fro')", "fro"),
                                       ("norm(X, 'nuc')", "nuc"), ("norm(X, nuc)", "nuc"),
                                       ("norm(X, 2)", "spectral"), ("norm(X, 1)", "induced1"),
                                       ("norm(X, oo)", "inducedinf")])
def test_parse_matrix_norms(text, kind):
    e = sn.parse(text)
    assert isinstance(e, sn.Norm) and e.p.kind == kind
    assert sn.parse(sn.to_text(e)) == e


def test_parse_chain_and_trace():
    f = sn.parse("norm(X*w - y, 2)**2 + lam*norm(X, nuc)", lam="scalar")
    Xp = next(s for s in f.free_symbols if s.name == "X")
    assert sn.grad(f, Xp).report.ok
    t = sn.parse("trace(A*X)")
    Xt = next(s for s in t.free_symbols if s.name == "X")
    assert sn.to_text(sn.grad(t, Xt).result) == "A.T"
    assert sn.to_text(t) == "trace(A*X)"
    with pytest.raises(sn.ShapeError, match="square"):
        sn.parse("trace(x)")
    with pytest.raises(sn.ParseError, match="matrix norm order"):
        sn.parse("'fro' + 1")


def test_errors():
    with pytest.raises(sn.UnknownNormError, match="matrix norms"):
        sn.norm(X, 3)
    with pytest.raises(sn.UnknownNormError, match=">= 1"):
        sn.norm(X, (sp.Rational(1, 2), 1))
    with pytest.raises(sn.ShapeError, match="square"):
        sn.trace(X)
    with pytest.raises(sn.UnknownNormError):
        sn.norm(sn.vector("x"), "nuc")


def test_min_norm_kernel_is_batched():
    S = sn.subdiff(sn.norm(X22, "nuc"), X22)
    k = S.min_norm_kernel()
    batch = np.stack([np.diag([2.0, 0.0]), np.eye(2), np.zeros((2, 2))])
    got = k(batch)
    for g, x in zip(got, batch):
        np.testing.assert_allclose(g, S.min_norm(at=x), atol=1e-12)


def test_gradients_match_sympy_explicit_components(rng):
    """Closed matrix forms against SymPy's scalar diff of explicit formulas (2x3, 2x2)."""
    xs = sp.Matrix(2, 3, sp.symbols("x0:6", real=True))
    point = dict(zip(xs, (0.3, -1.7, 0.9, 1.1, 0.4, -0.6)))
    value = np.array([[0.3, -1.7, 0.9], [1.1, 0.4, -0.6]])
    col = [sp.sqrt(xs[0, j] ** 2 + xs[1, j] ** 2) for j in range(3)]
    formulas = {
        "fro": sp.sqrt(sum(e**2 for e in xs)),
        (2, 1): sum(col),
        1: sp.Abs(xs[0, 1]) + sp.Abs(xs[1, 1]),        # the largest column sum here
        "oo": sum(sp.Abs(e) for e in xs.row(0)),        # the largest row sum here
    }
    for p, f in formulas.items():
        got = sn.grad(sn.norm(X, p), X, check=False).kernel()(value)
        want = np.array([[float(sp.diff(f, xs[i, j]).subs(point)) for j in range(3)]
                         for i in range(2)])
        np.testing.assert_allclose(got, want, atol=1e-12, err_msg=str(p))
    # nuclear and spectral of a 2x2 through the eigenvalues of X^T X
    ys = sp.Matrix(2, 2, sp.symbols("y0:4", real=True))
    y_val = rng.standard_normal((2, 2))
    at = dict(zip(ys, y_val.ravel()))
    eig = list((ys.T * ys).eigenvals())
    sv = [sp.sqrt(e) for e in eig]
    top = max(sv, key=lambda s: float(s.subs(at)))
    for p, f in (("nuc", sv[0] + sv[1]), (2, top)):
        got = sn.grad(sn.norm(X, p), X, check=False).kernel()(y_val)
        want = np.array([[float(sp.diff(f, ys[i, j]).subs(at).evalf()) for j in range(2)]
                         for i in range(2)])
        np.testing.assert_allclose(got, want, atol=1e-9, err_msg=str(p))


# -- declared structure (symmetric, definite, diagonal, orthogonal) ------------------------------

@pytest.mark.parametrize("declared", [{"symmetric": True}, {"positive_definite": True},
                                      {"diagonal": True}, {"orthogonal": True}])
@pytest.mark.parametrize("p", ["fro", "nuc", 2, 1])
def test_norms_of_a_declared_matrix_are_derived_and_checked(declared, p, rng):
    M = sn.matrix("M", "n", "n", **declared)
    d = sn.grad(sn.norm(M, p), M)      # the check moves M along its declared structure
    assert d.report.ok
    k = sn.kernel(sn.norm(M, p), [M])
    s = rng.standard_normal((4, 4))
    if "orthogonal" in declared:
        s = np.linalg.qr(s)[0]
    elif "diagonal" in declared:
        s = np.diag(np.diag(s))
    else:
        s = s @ s.T + np.eye(4)
    want = {"fro": "fro", "nuc": "nuc", 2: 2, 1: 1}[p]
    assert float(k(s)) == pytest.approx(np.linalg.norm(s, want), rel=1e-12)
    if "orthogonal" not in declared:
        with pytest.raises(sn.ArgumentError, match="declared"):
            k(s + np.triu(np.ones((4, 4)), 1))


def test_a_wrong_gradient_with_respect_to_a_symmetric_matrix_is_caught():
    M = sn.matrix("M", "n", "n", symmetric=True)
    f = sn.norm(M, "fro") ** 2
    assert not sn.check(f, M, grad=M).ok                     # half the gradient
    assert sn.check(f, M, grad=2 * M).ok
    # on symmetric matrices a gradient is determined up to a skew part, which no symmetric
    # direction sees
    at = np.array([[2.0, 1.0], [1.0, 3.0]])
    skew = np.array([[0.0, 5.0], [-5.0, 0.0]])
    assert sn.check(f, M, grad=2 * at + skew, at=at).ok
    assert not sn.check(f, M, grad=2 * at + np.eye(2), at=at).ok


@pytest.mark.parametrize("order", ["nuc", 2, "fro", 1, sp.oo])
def test_a_matrix_with_nan_gives_nan_not_a_lapack_error(order) -> None:
    X = sn.matrix("X")
    f = sn.norm(X, order)
    value, grad = sn.kernel(f, [X]), sn.grad(f, X, check=False).kernel()
    batch = np.stack([np.eye(3), np.full((3, 3), np.nan), np.diag([np.inf, 1.0, 0.0])])
    v, g = value(batch), grad(batch)
    assert np.isnan(v[1]) and np.isnan(g[1]).all()
    assert np.isfinite(v[0]) and np.isfinite(g[0]).all()  # the other matrices unharmed


def test_a_mixed_order_survives_sympys_rebuilding() -> None:
    """``doit`` rebuilds a node from its args, where the kind is a ``Str``: the sum of two
    mixed norms used to fail with 'unknown matrix norm kind mixed'."""
    X, B, C = sn.matrix("X", 3, 2), sn.matrix("B", 2, 2), sn.matrix("C", 3, 2)
    f = sn.norm(C + 2 * X, (2, 1)) + sn.norm(X * B, (2, 1))
    assert MatrixOrder("mixed", 2, 1).func(*MatrixOrder("mixed", 2, 1).args) == \
        MatrixOrder("mixed", 2, 1)
    assert sn.grad(f, X).report.ok


def _random_matrix_loss(gen: np.random.Generator) -> sp.Expr:
    X, A, B, C = (sn.matrix("X", 3, 2), sn.matrix("A", 3, 3), sn.matrix("B", 2, 2),
                  sn.matrix("C", 3, 2))
    inner = [X, A * X, X * B, A * X * B, X - C, 2 * X + C]
    orders = ["fro", "nuc", 2, 1, sp.oo, (2, 1)]

    def term() -> sp.Expr:
        t = sn.norm(inner[gen.integers(len(inner))], orders[gen.integers(len(orders))])
        return [t, t**2, sp.exp(-t), sp.sqrt(1 + t)][gen.integers(4)]

    f = term() + int(gen.random() < 0.5) * term()
    if gen.random() < 0.3:
        f += sn.norm(X * sn.vector("w", 2) - sn.vector("y", 3), 2) ** 2
    return f


@pytest.mark.parametrize("seed", range(30))
def test_random_matrix_losses_against_central_differences(seed: int) -> None:
    """Random sums of matrix norms of affine maps (squared, exp(-.), sqrt(1 + .)): the
    derived gradient's kernel equals central differences of the value kernel."""
    gen = np.random.default_rng(seed)
    f = _random_matrix_loss(gen)
    X = sn.matrix("X", 3, 2)
    d = sn.grad(f, X)
    vals = {"X": gen.standard_normal((3, 2)), "A": gen.standard_normal((3, 3)),
            "B": gen.standard_normal((2, 2)), "C": gen.standard_normal((3, 2)),
            "w": gen.standard_normal(2), "y": gen.standard_normal(3)}
    k, value = d.kernel(), sn.kernel(f)
    g = k(**{a.name: vals[a.name] for a in k.args})

    def F(x: np.ndarray) -> float:
        return float(value(**{a.name: x if a.name == "X" else vals[a.name]
                              for a in value.args}))

    h, fd = 1e-6, np.zeros((3, 2))
    for i in range(3):
        for j in range(2):
            e = np.zeros((3, 2))
            e[i, j] = h
            fd[i, j] = (F(vals["X"] + e) - F(vals["X"] - e)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(fd).max()))


def test_a_matrix_norm_order_on_a_vector_says_so() -> None:
    x = sn.vector("x")
    for p, what in (("fro", "x"), ("nuc", "x"), ("fro", "x.T")):
        arg = x if what == "x" else x.T
        with pytest.raises(sn.UnknownNormError,
                           match=rf"'{p}' is a matrix norm order, but {what} is a vector of "
                                 r"length n; for vectors use 1, 2, oo or p"):
            sn.norm(arg, p)
