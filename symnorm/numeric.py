"""Numpy helpers called by generated kernels.

Conventions: a vector is an array whose last axis is the vector axis (leading axes are
a batch); a scalar is an array of the batch shape; a matrix uses the last two axes.
At a kink every helper returns the minimum-norm subgradient, never NaN: 0 for the
L2 gradient at 0, sign with 0 entries for L1, the tie split evenly for L∞.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def _float(u: object) -> Array:
    a = np.asarray(u)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    return a


def sv(s: object) -> Array:
    """A per-batch scalar shaped to broadcast against vectors."""
    return np.asarray(s)[..., None]


def sm(s: object) -> Array:
    """A per-batch scalar shaped to broadcast against matrices."""
    return np.asarray(s)[..., None, None]


def _sum_squares(u: Array) -> Array:
    if u.ndim == 1:
        return np.asarray(np.dot(u, u))
    return np.einsum("...i,...i->...", u, u)


def norm2(u: object, p: object = 2) -> Array:
    """Euclidean norm over the last axis, right where ``sqrt(dot(u, u))`` over/underflows.

    Fast path: ``sqrt(u·u)``. Only when the sum of squares is not finite or so small
    that squares may have underflowed, the entries are scaled by a power of two
    (exact) before squaring.

    >>> float(norm2([1e200, 1e200]))
    1.414213562373095e+200
    >>> float(norm2([3.0, 4.0]))
    5.0
    """
    u = _float(u)
    info = np.finfo(u.dtype)
    with np.errstate(over="ignore", under="ignore"):
        ss = _sum_squares(u)
    low = np.sqrt(info.tiny)  # below this, underflowed squares may matter
    ok = (ss >= low) & (ss <= info.max)
    if np.all(ok):
        return np.sqrt(ss)
    return np.where(ok, np.sqrt(np.where(ok, ss, 0)), _norm2_scaled(u))


def _norm2_scaled(u: Array) -> Array:
    big = np.max(np.abs(u), axis=-1) if u.shape[-1] else np.zeros(u.shape[:-1], u.dtype)
    finite = np.isfinite(big) & (big > 0)
    exponent = np.frexp(np.where(finite, big, 1))[1]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        scaled = np.ldexp(u, -exponent[..., None])
        out = np.ldexp(np.sqrt(_sum_squares(scaled)), exponent)
    return np.where(finite, out, np.where(np.isnan(big), np.nan, big))


def norm2_grad(u: object, p: object = 2, out: Array | None = None) -> Array:
    """``u/‖u‖₂`` without overflow or underflow; 0 at ``u = 0`` (minimum-norm subgradient)."""
    u = _float(u)
    s = norm2(u)
    tiny = np.finfo(u.dtype).tiny
    if np.all((s >= tiny) | (s == 0)):
        return sdiv(u, sv(s), out=out)
    # a subnormal norm has too few bits to divide by: rescale the entries first
    big = np.max(np.abs(u), axis=-1)
    exponent = np.frexp(np.where(big > 0, big, 1))[1]
    scaled = np.ldexp(u, -exponent[..., None])
    return sdiv(scaled, sv(norm2(scaled)), out=out)


def norm1(u: object, p: object = 1) -> Array:
    """Sum of absolute values over the last axis."""
    return np.sum(np.abs(_float(u)), axis=-1)


def norm1_grad(u: object, p: object = 1, out: Array | None = None) -> Array:
    """``sign(u)``, 0 in zero entries (the minimum-norm subgradient there)."""
    return np.sign(_float(u), out=out)


def norminf(u: object, p: object = None) -> Array:
    """Largest absolute value over the last axis."""
    return np.max(np.abs(_float(u)), axis=-1)


def maxabs_selector(u: object) -> Array:
    """``e_k`` for ``k = argmax |u_i|``; a tie over K gives ``1/|K|`` on each of K."""
    a = np.abs(_float(u))
    mask = a == np.max(a, axis=-1, keepdims=True)
    return mask / np.sum(mask, axis=-1, keepdims=True)


def norminf_grad(u: object, p: object = None, out: Array | None = None) -> Array:
    """``sign(u_k) e_k``; ties split evenly (minimum-norm subgradient), 0 at ``u = 0``."""
    u = _float(u)
    return np.multiply(np.sign(u), maxabs_selector(u), out=out)


def normp(u: object, p: object) -> Array:
    """``(Σ|u_i|^p)^(1/p)`` over the last axis, scaled by ``max|u_i|`` so it cannot overflow."""
    a = np.abs(_float(u))
    big = np.max(a, axis=-1, keepdims=True)
    safe = np.where(big > 0, big, 1)
    p = np.asarray(p, dtype=a.dtype)
    pv = p[..., None] if p.ndim else p
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sum((a / safe) ** pv, axis=-1) ** (1 / p)
    return np.where(big[..., 0] > 0, s * big[..., 0], 0)


def normp_grad(u: object, p: object, out: Array | None = None) -> Array:
    """``sign(u) ⊙ (|u|/‖u‖_p)^(p-1)``, the form that cannot overflow; 0 at ``u = 0``.

    For a quasi-norm (p < 1) entries that are 0 get 0: there is no subgradient there.
    """
    u = _float(u)
    p = np.asarray(p, dtype=u.dtype)
    pv = p[..., None] if p.ndim else p
    ratio = sdiv(np.abs(u), sv(normp(u, p)))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.power(ratio, pv - 1)
    g = np.where(u != 0, g, 0)
    return np.multiply(np.sign(u), g, out=out)


def norm0(u: object, p: object = 0) -> Array:
    """Number of nonzero entries over the last axis (as floats)."""
    return np.count_nonzero(_float(u), axis=-1).astype(np.float64)


def sdiv(a: object, d: object, out: Array | None = None) -> Array:
    """``a / d`` with 0 where ``d == 0``: the safe quotient kernels use at kinks."""
    d = np.asarray(d)
    if d.size == 1:
        dv = d.reshape(()).item()
        if dv != 0:
            return np.divide(a, dv, out=out)
        shape = np.broadcast_shapes(np.shape(a), d.shape)
        if out is None:
            return np.zeros(shape, dtype=np.result_type(a, d, np.float64))
        out[...] = 0
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.divide(a, d, out=out)
    r[np.broadcast_to(d == 0, r.shape)] = 0
    return r


def sigmoid(u: object) -> Array:
    """Logistic sigmoid without overflow for large ``|u|``."""
    u = _float(u)
    e = np.exp(-np.abs(u))
    return np.where(u >= 0, 1 / (1 + e), e / (1 + e))


def mv(a: Array, v: Array) -> Array:
    """Matrix times column vector(s)."""
    if np.ndim(a) == 2 and np.ndim(v) == 1:
        return a @ v
    return np.matmul(a, np.asarray(v)[..., None])[..., 0]


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
