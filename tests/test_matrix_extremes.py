"""Matrix-norm kernels at near ties, near-zero singular values, overflowing singular
values and non-finite input.

Independent references: the exact subgradient of a matrix built from prescribed
singular values (orthogonal U, V drawn at random, or exact ones), hand formulas for a
scaled rotation, numpy's SVD of an exactly rescaled copy, and PyTorch autograd.
``warnings.simplefilter("error")`` is on, so a leaked numpy RuntimeWarning fails.
"""

from __future__ import annotations

import importlib.util
import math
import warnings

import numpy as np
import pytest
import sympy as sp

import symnorm as sn
from symnorm.numeric import matrices as nm

EPS = float(np.finfo(np.float64).eps)
INF, NAN = math.inf, math.nan


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _grad(order):
    X = sn.matrix("X")
    return sn.grad(sn.norm(X, order), X, check=False).kernel()


def _value(order):
    X = sn.matrix("X")
    return sn.kernel(sn.norm(X, order), [X])


def _orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


# -- 2. near ties of the induced norms --------------------------------------------------------

def test_induced_near_tie_is_not_a_tie():
    # column (row) sums 1 and 1 + 1e-12 are exact in floats and differ: the second alone
    # is the maximum, so the gradient is e2 e2^T (not I/2)
    x = np.array([[1.0, 0.0], [0.0, 1.0 + 1e-12]])
    want = np.array([[0.0, 0.0], [0.0, 1.0]])
    for order in (1, sp.oo):
        np.testing.assert_array_equal(_grad(order)(x), want)
    np.testing.assert_array_equal(nm.induced1_grad(x), want)
    np.testing.assert_array_equal(nm.inducedinf_grad(x), want)
    # the exact tie (the identity) is still split evenly
    np.testing.assert_array_equal(nm.induced1_grad(np.eye(2)), np.eye(2) / 2)
    np.testing.assert_array_equal(nm.inducedinf_grad(np.eye(2)), np.eye(2) / 2)


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
@pytest.mark.parametrize("order", [1, "inf"])
def test_induced_near_tie_agrees_with_torch(order):
    import torch

    x = np.array([[1.0, 0.0], [0.0, 1.0 + 1e-12]])
    t = torch.tensor(x, requires_grad=True)
    torch.linalg.matrix_norm(t, ord=1 if order == 1 else float("inf")).backward()
    np.testing.assert_array_equal(_grad(1 if order == 1 else sp.oo)(x), t.grad.numpy())


def test_induced_ties_up_to_the_rounding_of_the_sums():
    # 0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 are one ulp apart in floats but equal exactly:
    # within the sums' error bound (m - 1) eps top, a tie
    x = np.array([[0.1, 0.3], [0.2, 0.2], [0.3, 0.1]])
    sums = np.sum(np.abs(x), axis=0)
    assert sums[0] != sums[1] and abs(sums[0] - sums[1]) <= 2 * EPS * sums.max()
    np.testing.assert_array_equal(nm.induced1_grad(x), np.full((3, 2), 0.5))
    np.testing.assert_array_equal(nm.inducedinf_grad(x.T), np.full((2, 3), 0.5))
    # a gap of 1e-14 relative is more than that bound (2 eps = 4.4e-16): no tie
    y = np.array([[0.1, 0.3], [0.2, 0.2], [0.3, 0.1 + 1e-14]])
    np.testing.assert_array_equal(nm.induced1_grad(y), [[0.0, 1.0]] * 3)


def test_induced_sums_that_overflow_still_compare():
    # column sums 2e308 (exactly, both) overflow; compared after an exact rescaling they
    # tie, and 2.1e308 > 2e308 does not
    tie = np.array([[1e308, 1.5e308], [1e308, 0.5e308]])
    np.testing.assert_array_equal(nm.induced1_grad(tie), np.full((2, 2), 0.5))
    gap = np.array([[1e308, 1.5e308], [1e308, 0.6e308]])
    np.testing.assert_array_equal(nm.induced1_grad(gap), [[0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_array_equal(nm.inducedinf_grad(gap.T), [[0.0, 0.0], [1.0, 1.0]])


# -- 3. singular-value ties and rank -----------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5)])
def test_nuclear_gradient_keeps_a_small_singular_value(shape):
    # s = (1, 0.5, 1e-12): 1e-12 is far above max(m, n) eps s_1 (~1e-15), so X has rank 3
    # and the gradient is U V^T over all three pairs (its Frobenius norm sqrt(3))
    rng = np.random.default_rng(5)
    m, n = shape
    u, v = _orthogonal(m, rng)[:, :3], _orthogonal(n, rng)[:, :3]
    x = (u * [1.0, 0.5, 1e-12]) @ v.T
    got = _grad("nuc")(x)
    if m == n:
        np.testing.assert_allclose(got, u @ v.T, atol=1e-13)
    else:
        # a rectangular X has zero singular values beside 1e-12 (its extra rows or
        # columns): u_3 (or v_3) against them is determined only to eps/1e-12 ~ 2e-4 by
        # the rounded matrix. Exactly: G^T G (G G^T) is the identity of rank 3, and
        # <G, X> is the nuclear norm
        np.testing.assert_allclose(got, u @ v.T, atol=2e-3)
        small = got.T @ got if m > n else got @ got.T
        np.testing.assert_allclose(small, np.eye(3), atol=1e-12)
        assert abs(np.sum(got * x) - (1.5 + 1e-12)) < 1e-15
    assert abs(np.linalg.norm(got) - math.sqrt(3)) < 1e-12
    # exact: a diagonal matrix with these singular values
    d = np.diag([1.0, 0.5, 1e-12])
    np.testing.assert_array_equal(nm.mat_nuc_grad(d), np.eye(3))
    # below the bound the value is 0: diag(1, 0.5, 1e-17) has numerical rank 2
    np.testing.assert_array_equal(nm.mat_nuc_grad(np.diag([1.0, 0.5, 1e-17])),
                                  np.diag([1.0, 1.0, 0.0]))


def test_spectral_gradient_at_a_small_gap_is_one_pair():
    # s_1 - s_2 = 1e-11 is a real gap (the bound is 3 eps ~ 7e-16): u_1 v_1^T, not the
    # average of two pairs
    d = np.diag([1.0, 1.0 - 1e-11, 0.5])
    np.testing.assert_array_equal(_grad(2)(d), np.diag([1.0, 0.0, 0.0]))
    rng = np.random.default_rng(8)
    u, v = _orthogonal(3, rng), _orthogonal(3, rng)
    x = (u * [1.0, 1.0 - 1e-11, 0.5]) @ v.T
    got = nm.mat_spectral_grad(x)
    # a singular pair at a gap delta is determined only to eps/delta (~2e-5) by the
    # rounded matrix, so u_1 v_1^T is matched to 1e-4; the average of the two pairs is at
    # distance 1/sqrt(2) from it. Exactly: rank one, Frobenius norm 1, <G, X> = s_1
    np.testing.assert_allclose(got, np.outer(u[:, 0], v[:, 0]), atol=1e-4)
    assert abs(np.linalg.norm(got) - 1) < 1e-12
    assert np.linalg.svd(got, compute_uv=False)[1] < 1e-12
    assert abs(np.sum(got * x) - np.linalg.norm(x, 2)) < 1e-12


def test_exact_singular_value_ties_are_still_ties():
    np.testing.assert_array_equal(nm.mat_spectral_grad(np.eye(3)), np.eye(3) / 3)
    np.testing.assert_array_equal(nm.mat_spectral_grad(np.diag([2.0, 2.0, 1.0])),
                                  np.diag([0.5, 0.5, 0.0]))
    np.testing.assert_array_equal(nm.mat_nuc_grad(np.diag([2.0, 2.0, 0.0])),
                                  np.diag([1.0, 1.0, 0.0]))
    # a rotated tie: U diag(1, 1, 0.5) V^T comes out of the SVD a few ulps apart
    rng = np.random.default_rng(9)
    for _ in range(20):
        u, v = _orthogonal(3, rng), _orthogonal(3, rng)
        x = (u * [1.0, 1.0, 0.5]) @ v.T
        s = np.linalg.svd(x, compute_uv=False)
        if s[0] - s[1] > float(nm.sv_tolerance(s, x.shape)[0]):
            continue  # the rounding of forming x split the tie beyond the bound: rare
        np.testing.assert_allclose(nm.mat_spectral_grad(x), (u[:, :2] @ v[:, :2].T) / 2,
                                   atol=1e-14)


# -- 4. overflowing singular values ----------------------------------------------------------

A, B = 1.797e308, 1e308
ROTATION = np.array([[A, B], [-B, A]])


def _scaled_rotation_reference(scale_exp: int = 0) -> tuple[np.ndarray, float]:
    # [[a, b], [-b, a]] = c R with c = hypot(a, b) and R a rotation: both singular
    # values are c, U V^T = R; computed from a, b scaled by 2^-1000 (exact) so nothing
    # overflows; c 2^(1000 + scale_exp) is inf where it overflows
    a, b = math.ldexp(A, -1000), math.ldexp(B, -1000)
    c = math.hypot(a, b)
    with np.errstate(over="ignore"):
        return np.array([[a, b], [-b, a]]) / c, float(np.ldexp(c, 1000 + scale_exp))


def test_nuclear_gradient_when_the_singular_values_overflow():
    r, c = _scaled_rotation_reference()
    assert c == INF  # hypot(1.797e308, 1e308) = 2.06e308: the true norms overflow
    got = _grad("nuc")(ROTATION)
    np.testing.assert_allclose(got, r, rtol=4 * EPS, atol=0)
    np.testing.assert_allclose(got, [[0.874, 0.486], [-0.486, 0.874]], atol=5e-4)
    # the spectral gradient at the double singular value: R/2 (the tie split evenly)
    np.testing.assert_allclose(_grad(2)(ROTATION), r / 2, rtol=4 * EPS, atol=0)
    # values: inf, as the true values are
    assert _value("nuc")(ROTATION) == INF and _value(2)(ROTATION) == INF


def test_matrix_values_are_inf_only_where_they_overflow():
    quarter = ROTATION / 4   # s = 5.14e307 twice: spectral 5.14e307, nuclear 1.03e308
    _, c = _scaled_rotation_reference(-2)
    assert abs(_value(2)(quarter) - c) <= 2 * EPS * c
    assert abs(_value("nuc")(quarter) - 2 * c) <= 4 * EPS * c
    np.testing.assert_allclose(_grad("nuc")(quarter), _scaled_rotation_reference()[0],
                               rtol=4 * EPS)


def test_overflowing_singular_values_against_a_rescaled_svd():
    # X with s_1 above the largest float and distinct singular values: every helper
    # against numpy's SVD of X 2^-1020 (exact), the values and thresholds rescaled
    x = np.array([[1.5e308, 1.2e308, 0.0], [1e308, -0.5e308, 3e307]])
    small = np.ldexp(x, -1020)
    u, s, vt = np.linalg.svd(small, full_matrices=False)
    np.testing.assert_allclose(nm.mat_nuc_grad(x), u @ vt, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(nm.mat_spectral_grad(x), np.outer(u[:, 0], vt[0]),
                               rtol=1e-14, atol=1e-15)
    with np.errstate(over="ignore"):
        assert nm.mat_spectral(x) == INF and np.ldexp(s[0], 1020) == INF
    # thresholding by 1e308: s - 1e308 rescaled, finite
    lam = 1e308
    want = np.ldexp((u * np.maximum(s - math.ldexp(lam, -1020), 0)) @ vt, 1020)
    np.testing.assert_allclose(nm.mat_svt(x, lam), want, rtol=1e-13)
    radius = 1e308
    sp_ = nm._project_l1_ball_sorted(s, np.asarray(math.ldexp(radius, -1020)))
    np.testing.assert_allclose(nm.mat_proj_nuc_ball(x, radius),
                               np.ldexp((u * sp_) @ vt, 1020), rtol=1e-13)
    # a batch: the overflowing matrix next to ordinary ones, each as alone
    batch = np.stack([x, np.ldexp(x, -1000), np.zeros_like(x)])
    got = nm.mat_nuc_grad(batch)
    np.testing.assert_allclose(got[0], u @ vt, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(got[1], u @ vt, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(got[2], 0.0)


# -- 5. non-finite input ---------------------------------------------------------------------

INF_M = np.array([[INF, 1.0], [0.0, 1.0]])
NAN_M = np.array([[NAN, 1.0], [0.0, 1.0]])
N2 = np.full((2, 2), NAN)


def test_matrix_norms_at_infinite_entries():
    for order in ("fro", "nuc", 2, 1, sp.oo):
        assert _value(order)(INF_M) == INF, order
    np.testing.assert_array_equal(_grad("fro")(INF_M), [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(_grad(1)(INF_M), [[1.0, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(_grad(sp.oo)(INF_M), [[1.0, 1.0], [0.0, 0.0]])
    # no limit for the SVD-based gradients and prox maps: NaN
    np.testing.assert_array_equal(_grad("nuc")(INF_M), N2)
    np.testing.assert_array_equal(_grad(2)(INF_M), N2)
    np.testing.assert_array_equal(nm.mat_svt(INF_M, 1.0), N2)
    np.testing.assert_array_equal(nm.mat_proj_nuc_ball(INF_M, 1.0), N2)
    # mixed L_{2,1}: column by column, the L2 limit in column 0
    np.testing.assert_allclose(nm.mixed_grad(INF_M, (2, 1)), [[1.0, 2**-0.5], [0.0, 2**-0.5]],
                               rtol=2 * EPS)
    # shrinkage keeps the infinite entry and (1 - lam/inf = 1) its neighbours
    np.testing.assert_array_equal(nm.mat_fro_shrink(INF_M, 1.0), INF_M)
    np.testing.assert_allclose(nm.mat_col_shrink(INF_M, 1.0),
                               [[INF, 1 - 2**-0.5], [0.0, 1 - 2**-0.5]], rtol=4 * EPS)


def test_matrix_norms_at_nan_entries():
    for order in ("fro", "nuc", 2, 1, sp.oo):
        assert np.isnan(_value(order)(NAN_M)), order
        np.testing.assert_array_equal(_grad(order)(NAN_M), N2)
    for prox in (nm.mat_svt, nm.mat_proj_nuc_ball, nm.mat_fro_shrink):
        np.testing.assert_array_equal(prox(NAN_M, 1.0), N2)
    # column by column maps: NaN in the NaN's column only
    np.testing.assert_allclose(nm.mat_col_shrink(NAN_M, 1.0),
                               [[NAN, 1 - 2**-0.5], [NAN, 1 - 2**-0.5]], rtol=4 * EPS)
    np.testing.assert_allclose(nm.mixed_grad(NAN_M, (2, 1)), [[NAN, 2**-0.5], [NAN, 2**-0.5]],
                               rtol=2 * EPS)
    # a batch: the finite matrix next to them is unaffected
    batch = np.stack([NAN_M, INF_M, np.diag([3.0, 4.0])])
    np.testing.assert_array_equal(nm.mat_nuc(batch), [NAN, INF, 7.0])
    np.testing.assert_array_equal(nm.mat_spectral(batch), [NAN, INF, 4.0])
    np.testing.assert_array_equal(nm.mat_nuc_grad(batch), [N2, N2, np.eye(2)])
    np.testing.assert_array_equal(nm.induced1_grad(batch),
                                  [N2, [[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]])
