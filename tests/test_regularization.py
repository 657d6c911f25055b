"""Lasso optimality certificates and proximal gradient built from derived kernels."""

from __future__ import annotations

import numpy as np
import pytest

import symnorm as sn

A, X, B = sn.matrix("A"), sn.vector("x"), sn.vector("b", "m")
LAM = sn.scalar("lam", positive=True)
MU = sn.scalar("mu", positive=True)
LASSO = sn.norm(A * X - B, 2) ** 2 / 2 + LAM * sn.norm(X, 1)


@pytest.fixture
def problem():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((30, 10))
    truth = np.zeros(10)
    truth[[2, 7]] = [3.0, -2.0]
    b = a @ truth + 0.05 * rng.standard_normal(30)
    return a, b


def lasso_by_coordinate_descent(a, b, lam, iters=5000):
    """Independent reference: cyclic coordinate descent for 1/2||Ax-b||^2 + lam||x||_1."""
    x = np.zeros(a.shape[1])
    col = (a**2).sum(axis=0)
    for _ in range(iters):
        for j in range(a.shape[1]):
            r = b - a @ x + a[:, j] * x[j]
            rho = a[:, j] @ r
            x[j] = np.sign(rho) * max(abs(rho) - lam, 0) / col[j]
    return x


def test_optimality_condition_latex():
    cond = sn.optimality(LASSO, X)
    tex = cond.latex()
    assert tex.startswith(r"0 \in \left\{ A^\top \left(A x - b\right) \right\} + \lambda\,")
    assert r"\iff -\frac{1}{\lambda} A^\top \left(A x - b\right) \in" in tex


def test_certificate_accepts_the_solution_and_rejects_perturbations(problem):
    a, b = problem
    ref = lasso_by_coordinate_descent(a, b, 5.0)
    cond = sn.optimality(LASSO, X)
    good = cond.certify(at=ref, A=a, b=b, lam=5.0, tol=1e-6)
    assert good.ok, good.summary()
    for j in (0, 2):
        moved = ref.copy()
        moved[j] += 1e-2
        bad = cond.certify(at=moved, A=a, b=b, lam=5.0, tol=1e-6)
        assert not bad.ok and bad.lower_bound > 1e-6
        assert "NOT OPTIMAL" in bad.summary()


@pytest.mark.parametrize("accelerated", [False, True])
def test_ista_solves_the_lasso(problem, accelerated):
    a, b = problem
    sol = sn.proximal_gradient(LASSO, X, A=a, b=b, lam=5.0, accelerated=accelerated)
    assert sol.converged and sol.certificate.ok
    np.testing.assert_allclose(sol.x, lasso_by_coordinate_descent(a, b, 5.0), atol=1e-7)
    assert np.count_nonzero(sol.x) < 10  # exact zeros: feature selection
    assert sol.objective[-1] <= sol.objective[0]


def test_ridge_matches_closed_form(problem):
    a, b = problem
    ridge = sn.norm(A * X - B, 2) ** 2 / 2 + MU / 2 * sn.norm(X, 2) ** 2
    sol = sn.proximal_gradient(ridge, X, A=a, b=b, mu=3.0)
    want = np.linalg.solve(a.T @ a + 3.0 * np.eye(10), a.T @ b)
    np.testing.assert_allclose(sol.x, want, atol=1e-8)
    assert np.count_nonzero(np.abs(sol.x) < 1e-12) == 0  # ridge only shrinks


def test_elastic_net_between_lasso_and_ridge(problem):
    a, b = problem
    enet = LASSO + MU / 2 * sn.norm(X, 2) ** 2
    sol = sn.proximal_gradient(enet, X, A=a, b=b, lam=5.0, mu=1.0)
    assert sol.certificate.ok
    lasso = sn.proximal_gradient(LASSO, X, A=a, b=b, lam=5.0).x
    assert np.linalg.norm(sol.x) < np.linalg.norm(lasso)  # the ridge part shrinks more
    assert np.count_nonzero(sol.x) <= 10


def test_group_lasso_by_proximal_gradient():
    G = sn.group_labels("G")
    f = sn.norm(A * X - B, 2) ** 2 / 2 + LAM * sn.group_norm(X, G)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((20, 6))
    b = a @ np.array([1.0, -1.0, 0, 0, 0, 0]) + 0.01 * rng.standard_normal(20)
    labels = np.array([0, 0, 1, 1, 2, 2])
    sol = sn.proximal_gradient(f, X, A=a, b=b, lam=4.0, G=labels)
    assert sol.certificate.ok
    blocks = [np.linalg.norm(sol.x[labels == g]) for g in range(3)]
    assert blocks[0] > 0.5 and blocks[1] == 0 and blocks[2] == 0


def test_two_nonsmooth_terms_are_refused():
    f = LAM * sn.norm(X, 1) + MU * sn.norm(X, 2)
    with pytest.raises(sn.UnsupportedExpressionError, match="one nonsmooth term"):
        sn.proximal_gradient(f, X, x0=np.zeros(3), lam=1.0, mu=1.0)


def test_missing_values_are_named():
    with pytest.raises(sn.UnsupportedExpressionError, match="values needed for"):
        sn.proximal_gradient(LASSO, X, A=np.eye(2))
