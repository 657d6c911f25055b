"""Numpy helpers of the functions of a square matrix: the inverse, the determinant, its
logarithm, and the gradient of the determinant (the transposed adjugate).

Matrices use the last two axes; leading axes are a batch. Where a function is not
defined (``inv`` of a singular matrix, ``logdet`` where ``det <= 0``) the helper raises
:class:`~symnorm.model.errors.DomainError` naming the matrix, the batch index and the
value, never a NaN or a traceback from LAPACK.
"""

from __future__ import annotations

import numpy as np

from ..model.errors import DomainError

__all__ = ["det", "det_grad", "inv", "logdet"]

Array = np.ndarray


def _square(m: object, name: str) -> Array:
    a = np.asarray(m)
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise DomainError(f"{name} must be a square matrix (or a batch of them), got an "
                          f"array of shape {a.shape}")
    return a


def _where(bad: Array, a: Array) -> str:
    """``at batch index (1, 0), M = [[...]]``: the first matrix of ``a`` that ``bad``
    marks, with its entries (shortened for large matrices)."""
    idx = tuple(int(i) for i in np.argwhere(bad)[0]) if np.ndim(bad) else ()
    m = a[idx] if idx else a
    text = np.array2string(m, precision=4, threshold=36, max_line_width=1000)
    text = " ".join(text.split())
    return (f"at batch index {idx}, " if idx else "at ") + f"the value {text}"


def inv(m: object, name: str = "M") -> Array:
    """The inverse ``M^-1``; a :class:`DomainError` naming ``M`` where it is singular.

    >>> inv(np.array([[2.0, 0.0], [0.0, 4.0]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]])
    >>> inv(np.ones((2, 2)), "S")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.DomainError: inv(S) is not defined at the value [[1. 1.] [1. 1.]]: S is singular...
    """
    a = _square(m, name)
    with np.errstate(all="ignore"):
        try:
            res = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            res = None
        if res is not None and np.all(np.isfinite(res)):
            return res
        bad = ~np.isfinite(np.linalg.det(a)) | (np.linalg.det(a) == 0)
        if res is not None:
            bad = bad | ~np.all(np.isfinite(res), axis=(-2, -1))
    if not np.all(np.isfinite(a)):
        return np.full(a.shape, np.nan, dtype=a.dtype)
    raise DomainError(f"inv({name}) is not defined {_where(bad, a)}: {name} is singular "
                      f"(det({name}) = 0)")


def det(m: object) -> Array:
    """``det(M)`` (LU), batched.

    >>> round(float(det(np.array([[2.0, 1.0], [1.0, 3.0]]))), 12)
    5.0
    """
    a = _square(m, "M")
    with np.errstate(over="ignore", under="ignore"):
        return np.asarray(np.linalg.det(a))


def det_grad(m: object, out: Array | None = None) -> Array:
    """``∇ det(M) = det(M) M^{-T}``, the transposed adjugate, also where ``M`` is singular.

    From the SVD ``M = U S V^T``: ``adj(M)^T = det(U) det(V) U diag(c) V^T`` with
    ``c_i = prod_{j != i} s_j``, the products taken as sums of logarithms, so the result
    is finite wherever it is a finite float (entries of 1e200 in a 2x2 matrix) and exact
    at rank ``n - 1`` (where ``M^{-1}`` does not exist).

    >>> np.round(det_grad(np.array([[2.0, 1.0], [1.0, 3.0]])), 12)
    array([[ 3., -1.],
           [-1.,  2.]])
    >>> np.round(det_grad(np.array([[1.0, 2.0], [2.0, 4.0]])), 12)
    array([[ 4., -2.],
           [-2.,  1.]])
    """
    a = _square(m, "M")
    n = a.shape[-1]
    if n == 1:
        return _assign(out, np.ones_like(a))
    u, s, vt = np.linalg.svd(a)
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        logs = np.log(s)
        zeros = np.zeros(s.shape[:-1] + (1,), dtype=s.dtype)
        before = np.concatenate([zeros, np.cumsum(logs[..., :-1], axis=-1)], axis=-1)
        after = np.concatenate([np.cumsum(logs[..., :0:-1], axis=-1)[..., ::-1], zeros],
                               axis=-1)
        c = np.exp(before + after)
        sign = np.linalg.det(u) * np.linalg.det(vt)
        res = np.matmul(u * c[..., None, :], vt) * np.sign(sign)[..., None, None]
    return _assign(out, res)


def _assign(out: Array | None, value: Array) -> Array:
    if out is None:
        return value
    np.copyto(out, value)
    return out


def logdet(m: object, name: str = "M", spd: bool = False) -> Array:
    """``log(det(M))`` for ``det(M) > 0``; a :class:`DomainError` naming ``M`` and the
    point elsewhere. With ``spd`` (``M`` declared positive definite) it is computed
    from the Cholesky factor, and a value that is not positive definite is refused.

    >>> bool(abs(logdet(np.array([[2.0, 1.0], [1.0, 3.0]])) - np.log(5.0)) < 1e-12)
    True
    >>> logdet(np.array([[0.0, 1.0], [1.0, 0.0]]), "S")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.DomainError: logdet(S) is not defined at the value [[0. 1.] [1. 0.]]: det(S) = -1...
    """
    a = _square(m, name)
    if spd:
        try:
            chol = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            chol = None
        if chol is not None:
            with np.errstate(divide="ignore"):
                return np.asarray(2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)),
                                               axis=-1))
    sign, value = np.linalg.slogdet(a)
    bad = ~(sign > 0)
    if np.any(bad & np.isfinite(value)) or (np.any(bad) and np.all(np.isfinite(a))):
        d = np.asarray(sign * np.exp(value))
        first = d[tuple(np.argwhere(bad)[0])] if d.ndim else d
        if spd:
            raise DomainError(f"logdet({name}) is not defined {_where(bad, a)}: {name} is "
                              f"declared positive definite, but this value is not "
                              f"(det({name}) = {float(first):.6g})")
        raise DomainError(f"logdet({name}) is not defined {_where(bad, a)}: det({name}) = "
                          f"{float(first):.6g} <= 0 (logdet is log(det) for det > 0; "
                          f"declare {name} positive definite if it is one)")
    if spd:
        raise DomainError(f"logdet({name}) is not defined {_where(np.ones(a.shape[:-2], bool), a)}:"
                          f" {name} is declared positive definite, but this value is not "
                          "(its Cholesky factorisation fails)")
    return np.asarray(value)
