"""The group-lasso norm: value, gradient, subdifferential, prox, printing, errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm import numeric
from symnorm.calculus.prox import prox
from symnorm.rules import NORMS, norm_rule
from symnorm.rules.group_norm import (
    GROUP,
    GroupLabels,
    GroupNormalize,
    GroupOrder,
    group_labels,
    group_norm,
)

X = sn.vector("x")
G = group_labels("G")
LAM = sn.scalar("lam", positive=True)


def blocks(labels):
    return [labels == k for k in np.unique(labels)]


def reference_norm(v, labels):
    return sum(np.sqrt(np.sum(v[b] ** 2)) for b in blocks(labels))


def reference_gradient(v, labels):
    out = np.zeros_like(v, dtype=float)
    for b in blocks(labels):
        n = np.sqrt(np.sum(v[b] ** 2))
        if n > 0:
            out[b] = v[b] / n
    return out


# -- value ----------------------------------------------------------------------------------

def test_value_matches_numpy(rng):
    k = sn.kernel(group_norm(X, G), [X, G])
    for n in (1, 2, 7, 50):
        v = rng.standard_normal(n)
        v[0] = 0.0
        for labels in (np.zeros(n, int), np.arange(n), rng.integers(-3, 4, n),
                       rng.integers(0, 3, n) * 10.0 + 0.5):
            np.testing.assert_allclose(k(v, labels), reference_norm(v, labels), rtol=1e-13)


def test_value_extremes():
    assert float(numeric.norm_group([1e200, 1e200, 1e-200], [0, 0, 1])) == pytest.approx(
        np.sqrt(2) * 1e200)
    assert float(numeric.norm_group([3e-300, 4e-300], [5, 5])) == pytest.approx(5e-300)
    assert float(numeric.norm_group(np.zeros(4), [0, 1, 0, 1])) == 0.0
    assert float(numeric.norm_group(np.zeros(0), np.zeros(0))) == 0.0


def test_value_batched_with_shared_and_per_row_labels(rng):
    k = sn.kernel(group_norm(X, G), [X, G])
    batch = rng.standard_normal((5, 6))
    shared = np.array([0, 1, 0, 2, 1, 2])
    np.testing.assert_allclose(k(batch, shared), [reference_norm(r, shared) for r in batch])
    per_row = rng.integers(0, 3, (5, 6))
    np.testing.assert_allclose(k(batch, per_row),
                               [reference_norm(r, lab) for r, lab in zip(batch, per_row)])


def test_special_partitions_are_l1_and_l2(rng):
    v = rng.standard_normal(6)
    assert float(numeric.norm_group(v, np.arange(6))) == pytest.approx(np.abs(v).sum())
    assert float(numeric.norm_group(v, np.zeros(6))) == pytest.approx(np.linalg.norm(v))


# -- gradient -------------------------------------------------------------------------------

def test_gradient_result_kinks_and_finite_differences(rng):
    d = sn.grad(group_norm(X, G), X)
    assert d.result == GroupNormalize(X, G)
    assert sn.to_text(d.result) == "group_normalize(x, G)"
    assert d.report.ok
    assert d.kinks and "a block of x is 0" in d.kinks[0].where
    report = d.check(points=6, directions=3, seed=11)
    assert report.ok and max(report.errors) < 1e-6
    k = d.kernel()
    assert k.arg_names == ["x", "G"]
    for _ in range(5):
        v = rng.standard_normal(7)
        labels = rng.integers(0, 3, 7)
        np.testing.assert_allclose(k(v, labels), reference_gradient(v, labels), rtol=1e-13)


def test_gradient_on_zero_blocks_and_batches(rng):
    k = sn.grad(group_norm(X, G), X).kernel()
    labels = np.array([0, 1, 0, 1])
    np.testing.assert_array_equal(k(np.array([3.0, 0.0, 4.0, 0.0]), labels),
                                  [0.6, 0.0, 0.8, 0.0])
    np.testing.assert_array_equal(k(np.zeros(4), labels), np.zeros(4))
    tiny = k(np.array([1e-310, 0.0, 2e-310, 0.0]), labels)
    np.testing.assert_allclose(tiny, [1 / np.sqrt(5), 0, 2 / np.sqrt(5), 0])
    batch = rng.standard_normal((5, 4))
    batch[2, [0, 2]] = 0.0
    single = np.stack([k(r, labels) for r in batch])
    np.testing.assert_allclose(k(batch, labels), single, rtol=1e-14)
    out = np.empty_like(batch)
    res = k(batch, labels, out=out)
    assert res is out or np.shares_memory(res, out)
    np.testing.assert_allclose(out, single, rtol=1e-14)
    assert np.all(np.isfinite(k(batch, labels)))


def test_gradient_through_an_affine_map(rng):
    A, b = sn.matrix("A"), sn.vector("b", "m")
    H = group_labels("H", "m")
    d = sn.grad(group_norm(A * X - b, H), X)
    assert sn.to_text(d.result) == "A.T*group_normalize(A*x - b, H)"
    assert d.report.ok
    a, bb, x = rng.standard_normal((5, 3)), rng.standard_normal(5), rng.standard_normal(3)
    labels = np.array([0, 0, 1, 2, 2])
    got = d.kernel()(x=x, A=a, H=labels, b=bb)
    np.testing.assert_allclose(got, a.T @ reference_gradient(a @ x - bb, labels))


def test_no_explicit_components():
    y = sn.vector("y", 3)
    d = sn.grad(group_norm(y, "G"), y, check=False)
    with pytest.raises(sn.UnsupportedExpressionError, match="no explicit components"):
        d.components()


# -- subdifferential ----------------------------------------------------------------------------

SUB = GROUP.subdiff


def _random_member(rng, u, labels):
    g = np.zeros_like(u)
    for b in blocks(labels):
        n = np.linalg.norm(u[b])
        if n > 0:
            g[b] = u[b] / n
        else:
            s = rng.standard_normal(b.sum())
            g[b] = s / np.linalg.norm(s) * rng.uniform(0, 1)
    return g


def test_subdiff_contains(rng):
    labels = np.array([0, 1, 0, 2, 1])
    u = np.array([3.0, 0.0, 4.0, 1.0, 0.0])  # block 1 is zero
    g = np.array([0.6, 0.3, 0.8, 1.0, -0.4])
    assert SUB.contains(g, u, labels, 1e-12)
    assert not SUB.contains(g + np.array([0, 0, 0, 0.01, 0]), u, labels, 1e-9)
    assert not SUB.contains(np.array([0.6, 0.9, 0.8, 1.0, -0.9]), u, labels, 1e-9)  # > 1
    assert SUB.contains(np.zeros(5), np.zeros(5), labels, 0)
    for _ in range(20):
        u = rng.standard_normal(5) * (rng.random(5) < 0.6)
        assert SUB.contains(_random_member(rng, u, labels), u, labels, 1e-12)
    # the kernel's gradient is the minimum-norm member
    k = sn.grad(group_norm(X, G), X).kernel()
    assert SUB.contains(k(u, labels), u, labels, 1e-12)


def test_subdiff_project_and_support(rng):
    labels = np.array([2, 0, 2, 1, 0, 1])
    for _ in range(20):
        u = rng.standard_normal(6)
        u[labels == rng.integers(0, 3)] = 0.0
        s, d = 2 * rng.standard_normal(6), rng.standard_normal(6)
        p = SUB.project(s, u, labels)
        assert SUB.contains(p, u, labels, 1e-12)
        np.testing.assert_allclose(SUB.project(p, u, labels), p)
        # projection: no member is closer to s
        for _ in range(10):
            m = _random_member(rng, u, labels)
            assert np.linalg.norm(s - p) <= np.linalg.norm(s - m) + 1e-12
        # support: max over the set, attained at support_point, = directional derivative
        sp_ = SUB.support_point(d, u, labels)
        assert SUB.contains(sp_, u, labels, 1e-12)
        sigma = SUB.support(d, u, labels)
        assert sigma == pytest.approx(float(sp_ @ d))
        for _ in range(10):
            assert float(_random_member(rng, u, labels) @ d) <= sigma + 1e-12
        t = 1e-7
        deriv = (reference_norm(u + t * d, labels) - reference_norm(u, labels)) / t
        assert deriv == pytest.approx(sigma, abs=1e-5)


def test_subdiff_latex_is_balanced():
    for tex in (SUB.latex("u", None), SUB.latex(r"A x - b", None),
                SUB.support_latex("u", "d", None), SUB.support_latex("A x", "d", None)):
        assert tex.count("{") == tex.count("}")
        assert tex.count(r"\left") == tex.count(r"\right")
    assert r"\left(A x - b\right)_{g}" in SUB.latex("A x - b", None)
    assert GROUP.dual_order is None and "max_g ||y_g||_2" in GROUP.description


# -- prox ------------------------------------------------------------------------------------------

def test_prox(rng):
    P = prox(LAM * group_norm(X, G), X)
    assert sn.to_text(P.result) == "group_shrink(v, lam, G)" and P.report.ok
    k = P.kernel()
    assert k.arg_names == ["v", "lam", "G"]
    labels = np.array([0, 1, 0, 1, 2])
    v = np.array([3.0, 0.3, 4.0, -0.4, 0.0])
    np.testing.assert_allclose(k(v, 1.0, labels), [2.4, 0.0, 3.2, 0.0, 0.0])
    for _ in range(5):
        v = 2 * rng.standard_normal(8)
        lam = float(rng.uniform(0.2, 2))
        np.testing.assert_allclose(k(v, lam, np.zeros(8)),
                                   max(1 - lam / np.linalg.norm(v), 0) * v, rtol=1e-13)
        np.testing.assert_allclose(k(v, lam, np.arange(8)),
                                   np.sign(v) * np.maximum(np.abs(v) - lam, 0), atol=1e-14)
    assert P.check(points=9, seed=4).ok


def test_prox_of_the_group_norm_plus_a_quadratic():
    mu = sn.scalar("mu", positive=True)
    P = prox(LAM * group_norm(X, G) + mu / 2 * sn.norm(X, 2) ** 2, X)
    assert sn.to_text(P.result) == "group_shrink(v, lam, G)/(mu + 1)"
    labels = np.array([0, 0, 1])
    got = P.kernel()(np.array([3.0, 4.0, 0.5]), 1.0, 1.0, labels)
    np.testing.assert_allclose(got, [1.2, 1.6, 0.0])


# -- symbols, printing, errors -------------------------------------------------------------------

def test_labels_symbol():
    assert isinstance(G, GroupLabels) and G.dim == sn.vector("x").shape[0]
    assert not G.is_integer and not G.is_positive  # never taken for a dimension
    assert group_labels("G") == G and hash(group_labels("G")) == hash(G)
    assert group_labels("G", 3) != G and group_labels("G", 3).dim == 3
    assert pickle.loads(pickle.dumps(group_labels("G", 4))).dim == 4
    rng = np.random.default_rng(0)
    for _ in range(10):
        lab = G.random_value(rng, {G.dim: 6})
        assert lab.shape == (6,) and lab.dtype.kind == "i" and lab.min() >= 0
    assert group_labels("H", 3).random_value(rng, {}).shape == (3,)
    with pytest.raises(sn.ShapeError, match="not fixed"):
        G.random_value(rng, {})
    with pytest.raises(ValueError, match="identifier"):
        group_labels("2G")


def test_registered_rule_and_printing():
    f = group_norm(X, G)
    assert isinstance(f, sn.Norm) and f.p == GroupOrder(G) and f.p.labels == G
    assert norm_rule(f.p) is GROUP and GROUP in list(NORMS)
    assert sn.to_text(f) == "norm(x, group(G))"
    assert sn.latex(f) == r"\sum_{g} \left\lVert x_{g} \right\rVert_{2}"
    assert GROUP.extras["latex"](None, "x", f.p) == r"\sum_{g} \left\lVert x_{g} \right\rVert_{2}"
    assert sn.latex(GroupNormalize(X, G)) == \
        r"\left( \frac{x_{g}}{\lVert x_{g} \rVert_2} \right)_{g \in G}"
    assert GROUP.kinks(X, f.p)[0].where == "a block of x is 0"
    assert f.free_symbols == {X, G}
    assert sn.kernel(f, [X, G]).arg_names == ["x", "G"]


def test_errors():
    with pytest.raises(sn.ShapeError, match="group_labels\\('G', 3\\)"):
        group_norm(sn.vector("y", 3), G)
    with pytest.raises(TypeError, match="group_labels"):
        group_norm(X, sp.Symbol("G"))
    with pytest.raises(TypeError, match="group labels"):
        GroupOrder(sp.Symbol("G"))
    with pytest.raises(sn.ShapeError):
        group_norm(sn.scalar("t"), G)
    k = sn.kernel(group_norm(X, G), [X, G])
    with pytest.raises(ValueError, match="one label per vector entry"):
        k(np.ones(3), np.array([0, 1]))
    with pytest.raises(ValueError, match="finite"):
        k(np.ones(2), np.array([0.0, np.nan]))
    with pytest.raises(TypeError, match="missing"):
        k(np.ones(2))
