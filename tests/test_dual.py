"""Dual norms: closed forms, Hölder checks, weighted norms, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symnorm as sn

X = sn.vector("x")


@pytest.mark.parametrize("p,q", [(1, sp.oo), (sp.oo, 1), (2, 2), (3, sp.Rational(3, 2)),
                                 (sp.Rational(3, 2), 3), (sp.Rational(5, 4), 5)])
def test_dual_orders(p, q):
    d = sn.dual(sn.norm(X, p))
    assert d.result == sn.norm(sn.vector("y"), q)
    assert d.report.ok


def test_symbolic_p_and_involution():
    p = sn.scalar("p")
    d = sn.dual(sn.norm(X, p))
    q = d.q
    assert sp.simplify(1 / p + 1 / q) == 1
    assert sn.to_text(d.result) == "norm(y, p/(p - 1))"
    assert sp.simplify(q / (q - 1) - p) == 0  # the dual of the dual is the norm


def test_weighted_norm_dual_uses_inverse_transpose(rng):
    W = sn.matrix("W", "n", "n")
    d = sn.dual(sn.norm(W * X, 1))
    assert sn.to_text(d.result) == "norm(inv(W.T)*y, oo)"
    assert sn.latex(d.result) == r"\left\lVert W^{-\top} y \right\rVert_{\infty}"
    # brute force: sup over the primal unit ball's vertices W^{-1}(±e_i)
    w = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    y = rng.standard_normal(3)
    vertices = [np.linalg.solve(w, s * e) for e in np.eye(3) for s in (1, -1)]
    best = max(v @ y for v in vertices)
    k = sn.kernel(d.result, [d.y, W])
    assert k(y, w) == pytest.approx(best, rel=1e-12)


def test_holder_report_and_steps():
    d = sn.dual(sn.norm(X, 3))
    r = d.report
    assert r.ok and r.inequality_violation <= 0 + 1e-12 and r.equality_gap < 1e-12
    assert "PASS" in r.summary()
    tex = d.latex()
    assert r"\sup_{\left\lVert x \right\rVert_{3} \le 1} y^\top x" in tex
    assert r"\left\lVert y \right\rVert_{\frac{3}{2}}" in tex
    assert "Hölder" in d.text()


def test_wrong_dual_would_fail_the_check():
    from symnorm.calculus.dual import DualNorm, holder_check

    d = sn.dual(sn.norm(X, 1))
    wrong = DualNorm(d.norm, d.x, d.y, sn.norm(d.y, 2), sp.Integer(2), d.steps)
    assert not holder_check(wrong).ok


def test_refusals():
    with pytest.raises(sn.UnsupportedExpressionError, match="not a norm"):
        sn.dual(sn.norm(X, sp.Rational(1, 2)))
    with pytest.raises(sn.UnsupportedExpressionError):
        sn.dual(sn.norm(X, 0))
    A = sn.matrix("A")
    with pytest.raises(sn.ShapeError, match="square"):
        sn.dual(sn.norm(A * X, 2))
    with pytest.raises(sn.UnsupportedExpressionError, match="takes a norm"):
        sn.dual(X.T * X)
