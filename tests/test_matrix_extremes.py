"""Matrix-norm kernels at near ties of the induced norms.

Independent references: hand-computed column sums and PyTorch autograd.
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
from symnorm import numeric_matrix as nm

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
