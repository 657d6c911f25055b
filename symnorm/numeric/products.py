"""Building blocks of kernels: the logistic functions, matrix-vector
products (``M u/‖u‖`` without overflow) and the ``out=`` assignment."""


from __future__ import annotations

import math

import numpy as np

from .vectors import Array, _float, _limits, _short_norm, _sum_squares, _within, norm2_grad


def sigmoid(u: object) -> Array:
    """Logistic sigmoid ``1/(1 + exp(-u))`` without overflow for large ``|u|``.

    Kernels also use it for ``exp(u)/(1 + exp(u))**2 = sigmoid(u)*sigmoid(-u)``, the
    derivative, which the textbook form turns into ``inf/inf`` at ``u = 800``.

    >>> sigmoid([-800.0, 0.0, 800.0])
    array([0. , 0.5, 1. ])
    """
    u = _float(u)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(u))
    return np.where(u >= 0, 1 / (1 + e), e / (1 + e))


def softplus(u: object) -> Array:
    """``log(1 + exp(u))`` without overflow: ``max(u, 0) + log1p(exp(-|u|))``.

    >>> softplus([-1000.0, 1000.0])
    array([   0., 1000.])
    """
    return np.logaddexp(0, _float(u))


def mT(a: Array) -> Array:
    """The last two axes swapped: a matrix (or each of a batch) transposed. A 2-D array
    takes ``.T`` (a view made in 0.06 µs; ``np.swapaxes`` dispatches in 0.4 µs).

    >>> mT(np.arange(6.0).reshape(2, 3)).shape, mT(np.ones((4, 2, 3))).shape
    ((3, 2), (4, 3, 2))
    """
    if type(a) is np.ndarray and a.ndim == 2:
        return a.T
    return np.swapaxes(a, -1, -2)


def mv(a: Array, v: Array) -> Array:
    """Matrix times column vector(s)."""
    if type(a) is np.ndarray and type(v) is np.ndarray:
        if a.ndim == 2 and v.ndim == 1:
            return a @ v
    elif np.ndim(a) == 2 and np.ndim(v) == 1:
        return a @ v
    return np.matmul(a, np.asarray(v)[..., None])[..., 0]


#: (M u)/‖u‖₂ is kept when the sum of squares of M u is at least this (and finite):
#: then its largest entry is at least 2⁻³⁰⁰/√len, far above any term lost to underflow
_MV_SMALL = 2.0 ** -600


def mv_unit(a: Array, v: Array) -> Array:
    """``M (u/‖u‖₂)`` for matrix (or batch of matrices) ``a`` and vector(s) ``v``; 0
    where ``u = 0``.

    Fast path ``(M u)/‖u‖₂``: the scaling touches the result instead of ``u`` (the
    result is the smaller of the two when M has more rows than columns, as Aᵀ in
    ∇‖Ax − b‖₂ does). It is kept only when it is exact up to rounding: the sum of squares
    of ``u`` neither over- nor underflowed, and that of ``M u`` is finite and at least
    2⁻⁶⁰⁰ (so terms lost to underflow are far below its rounding); otherwise ``u`` is
    normalised first, which cannot overflow (A = 1e150 I, x = 1e150 1). Both tests are
    dot products: elementwise passes over ``M u`` right after the matrix product cost
    more than the scaling they would save. A short ``u`` (up to 32 entries) is normalised
    first, its norm from ``math.hypot``: cheaper than the two tests at that size.

    >>> mv_unit(np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([3e200, 4e200]))
    array([1.2, 0.8])
    >>> mv_unit(np.eye(2) * 1e200, np.array([0.0, 0.0]))
    array([0., 0.])
    """
    u = _float(v)
    if u.ndim == 1 and type(a) is np.ndarray and a.ndim == 2:
        r = _short_norm(u)
        if r is not None:  # a short u: normalised first, no test of M u needed
            return a @ (u * (1.0 / r))
    low, high, _ = _limits(u.dtype)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        if u.ndim == 1 and np.ndim(a) == 2:
            ss = float(np.dot(u, u))
            if low <= ss <= high:
                y = a @ u
                if _MV_SMALL <= float(np.dot(y, y)) < math.inf:
                    return np.multiply(y, y.dtype.type(1.0 / math.sqrt(ss)), out=y)
            return mv(a, norm2_grad(u))
        ss = _sum_squares(u)
        if _within(ss, low, high):
            y = mv(a, u)
            yy = _sum_squares(y)
            if _within(yy, _MV_SMALL, _limits(yy.dtype)[1]):
                return np.multiply(y, (1.0 / np.sqrt(ss))[..., None], out=y)
    return mv(a, norm2_grad(u))


def vm(r: Array, a: Array) -> Array:
    """Row vector(s) times matrix."""
    if np.ndim(a) == 2 and np.ndim(r) == 1:
        return r @ a
    return np.matmul(np.asarray(r)[..., None, :], a)[..., 0, :]


def dot(r: Array, v: Array) -> Array:
    """Row times column: the inner product over the last axis."""
    if np.ndim(r) == 1 and np.ndim(v) == 1:
        return np.asarray(np.dot(r, v))
    return np.einsum("...i,...i->...", r, v)


def outer(v: Array, r: Array) -> Array:
    """Column times row: the outer product."""
    return np.asarray(v)[..., :, None] * np.asarray(r)[..., None, :]


def diag(v: Array) -> Array:
    """Diagonal matrix of a vector (batched)."""
    v = np.asarray(v)
    return v[..., :, None] * np.eye(v.shape[-1])


def assign(out: Array | None, value: object) -> Array:
    """Write ``value`` into ``out`` when given (the generic ``out=`` path)."""
    if out is None:
        return np.asarray(value)
    np.copyto(out, value)
    return out
