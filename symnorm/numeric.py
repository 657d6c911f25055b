"""Numpy helpers called by generated kernels.

Conventions: a vector is an array whose last axis is the vector axis (leading axes are
a batch); a scalar is an array of the batch shape; a matrix uses the last two axes.
At a kink every helper returns the minimum-norm subgradient, never NaN: 0 for the
L2 gradient at 0, sign with 0 entries for L1, the tie split evenly for L∞.
"""

from __future__ import annotations

import math

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
    low, high, _ = _limits(u.dtype)
    if u.ndim == 1:  # plain floats: no array overhead on the fast path
        with np.errstate(over="ignore", under="ignore"):
            ss = float(np.dot(u, u))
        if low <= ss <= high:
            return u.dtype.type(math.sqrt(ss))
        return _norm2_scaled(u)
    with np.errstate(over="ignore", under="ignore"):
        ss = _sum_squares(u)
    ok = (ss >= low) & (ss <= high)
    if np.all(ok):
        return np.sqrt(ss)
    return np.where(ok, np.sqrt(np.where(ok, ss, 0)), _norm2_scaled(u))


_LIMITS: dict = {}


def _limits(dtype: np.dtype) -> tuple[float, float, float]:
    """(smallest safe sum of squares, largest finite, smallest normal) per dtype."""
    if dtype not in _LIMITS:
        info = np.finfo(dtype)
        # below sqrt(tiny), squares that underflowed to 0 may matter: rescale instead
        _LIMITS[dtype] = (float(np.sqrt(info.tiny)), float(info.max), float(info.tiny))
    return _LIMITS[dtype]


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
    tiny = _limits(u.dtype)[2]
    if u.ndim == 1 and s >= tiny:  # 1/s is finite: one multiplication pass
        return np.multiply(u, u.dtype.type(1.0 / float(s)), out=out)
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


def _pow(a: Array, e: Array) -> Array:
    """``a**e`` with fast paths for the small whole exponents norms use most."""
    if np.ndim(e) == 0:
        ev = float(e)
        if ev == 1:
            return a
        if ev == 2:
            return a * a
        if ev == 3:
            return a * a * a
        if ev == 0.5:
            return np.sqrt(a)
    return np.power(a, e)


def _normp_of_abs(a: Array, p: Array) -> Array:
    big = np.max(a, axis=-1, keepdims=True)
    safe = np.where(big > 0, big, 1)
    pv = p[..., None] if p.ndim else p
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        s = np.sum(_pow(a / safe, pv), axis=-1) ** (1 / p)
    return np.where(big[..., 0] > 0, s * big[..., 0], 0)


def normp(u: object, p: object) -> Array:
    """``(Σ|u_i|^p)^(1/p)`` over the last axis, scaled by ``max|u_i|`` so it cannot overflow."""
    a = np.abs(_float(u))
    return _normp_of_abs(a, np.asarray(p, dtype=a.dtype))


def normp_grad(u: object, p: object, out: Array | None = None) -> Array:
    """``sign(u) ⊙ (|u|/‖u‖_p)^(p-1)``, the form that cannot overflow; 0 at ``u = 0``.

    For a quasi-norm (p < 1) entries that are 0 get 0: there is no subgradient there.
    """
    u = _float(u)
    p = np.asarray(p, dtype=u.dtype)
    a = np.abs(u)
    pv = p[..., None] if p.ndim else p
    ratio = sdiv(a, sv(_normp_of_abs(a, p)))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = _pow(ratio, pv - 1)
    if np.any(p < 1):  # 0**(negative) is inf at zero entries: no subgradient there
        g = np.where(u != 0, g, 0)
    return np.multiply(np.sign(u), g, out=out)


def norm0(u: object, p: object = 0) -> Array:
    """Number of nonzero entries over the last axis (as floats)."""
    return np.count_nonzero(_float(u), axis=-1).astype(np.float64)


def sdiv(a: object, d: object, out: Array | None = None) -> Array:
    """``a / d`` with 0 where ``d == 0``: the safe quotient kernels use at kinks."""
    if isinstance(d, (float, np.floating)) and d != 0:
        return np.divide(a, d, out=out)
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


# -- proximal operators and the group-lasso norm --------------------------------------------
# Helpers for symnorm.prox_atoms and the group-lasso rule. Thresholds/radii are per-batch
# scalars (>= 0); group labels are one label per vector entry (any numbers; equal labels
# form a block), shared by the batch or given per batch row. Finite input never gives NaN.

def _nonnegative(s: object, what: str) -> Array:
    a = np.asarray(s, dtype=float)
    if np.any(a < 0):
        raise ValueError(f"{what} must be >= 0, got {s!r}")
    return a


def soft_threshold(v: object, lam: object, out: Array | None = None) -> Array:
    """``sign(v) ⊙ max(|v| - lam, 0)``: the prox of ``lam*||.||_1``.

    Entries with ``|v_i| <= lam`` give exactly ``+0.0`` (so ``v = 0`` gives 0).

    >>> soft_threshold([3.0, -0.5, 1.0, 0.0], 1.0)
    array([2., 0., 0., 0.])
    >>> soft_threshold([[3.0, -2.0], [1.0, 5.0]], [1.0, 2.0])
    array([[ 2., -1.],
           [ 0.,  3.]])
    """
    v = _float(v)
    lam = sv(_nonnegative(lam, "the threshold lam"))
    # v - clip(v, -lam, lam) is the same number as sign(v) * max(|v| - lam, 0) (the
    # subtraction is exact in the same way), in two passes instead of five; v - v = +0.0
    clipped = np.clip(v, -lam, lam)
    return np.subtract(v, clipped, out=out)


def project_l1_ball(v: object, radius: object = 1.0, out: Array | None = None) -> Array:
    """Euclidean projection onto ``{x : ||x||_1 <= radius}`` over the last axis.

    The sort-based method of Duchi, Shalev-Shwartz, Singer and Chandra (2008), vectorised
    over leading batch axes: ``sign(v) ⊙ max(|v| - theta, 0)`` with the threshold
    ``theta >= 0`` that puts the result on the sphere. ``v`` itself when
    ``||v||_1 <= radius``; 0 when ``radius = 0``.

    >>> project_l1_ball([3.0, -1.0, 0.0], 2.0)
    array([2., 0., 0.])
    >>> project_l1_ball([0.5, -0.25], 1.0)
    array([ 0.5 , -0.25])
    >>> project_l1_ball([[1.0, 1.0], [4.0, 0.0]], [1.0, 2.0])
    array([[0.5, 0.5],
           [2. , 0. ]])
    """
    v = _float(v)
    r = _nonnegative(radius, "the radius")
    shape = np.broadcast_shapes(v.shape[:-1], r.shape) + v.shape[-1:]
    v, r = np.broadcast_to(v, shape), np.broadcast_to(r, shape[:-1])
    n = shape[-1]
    if n == 0:
        return assign(out, np.zeros(shape))
    a = np.abs(v)
    mu = -np.sort(-a, axis=-1)                       # |v| in decreasing order
    cs = np.cumsum(mu, axis=-1)
    cond = mu * np.arange(1, n + 1) > cs - r[..., None]
    last = n - 1 - np.argmax(cond[..., ::-1], axis=-1)   # the last index where cond holds
    top = np.take_along_axis(cs, last[..., None], axis=-1)[..., 0]
    theta = np.where(cond.any(axis=-1), (top - r) / (last + 1), mu[..., 0])
    theta = np.maximum(theta, 0)
    proj = np.sign(v) * np.maximum(a - theta[..., None], 0)
    inside = (np.sum(a, axis=-1) <= r)[..., None]
    return assign(out, np.where(inside, v, proj) + 0.0)


def _group_ids(labels: object, shape: tuple) -> tuple[Array, int, tuple]:
    """Integer block ids (one per entry, distinct across batch rows) for ``labels``."""
    lab = np.asarray(labels)
    n = shape[-1] if shape else 0
    if lab.ndim == 0 or lab.shape[-1] != n:
        raise ValueError(f"group labels must give one label per vector entry ({n}), got "
                         f"labels of shape {lab.shape}")
    if lab.dtype.kind not in "biuf" or (lab.dtype.kind == "f" and not np.all(np.isfinite(lab))):
        raise ValueError("group labels must be finite numbers (integers)")
    _, inv = np.unique(lab, return_inverse=True)
    inv = np.reshape(inv, lab.shape)
    k = int(inv.max()) + 1 if inv.size else 1
    full = np.broadcast_shapes(shape, lab.shape)
    inv = np.broadcast_to(inv, full)
    rows = int(np.prod(full[:-1], dtype=np.int64))
    ids = inv.reshape(rows, n) + (np.arange(rows) * k)[:, None]
    return ids.reshape(full), rows * k, full


def _group_scaled(u: Array, labels: object) -> tuple[Array, Array, Array, Array, tuple]:
    """Entries scaled by a power of two per block, block sums of squares, exponents."""
    ids, m, full = _group_ids(labels, u.shape)
    u = np.broadcast_to(u, full)
    flat = ids.ravel()
    big = np.zeros(m)
    np.maximum.at(big, flat, np.abs(u).ravel())
    exponent = np.frexp(big)[1]                   # 0 for an all-zero block
    scaled = np.ldexp(u, -exponent[ids])          # exact; largest |entry| in [0.5, 1)
    ss = np.bincount(flat, weights=(scaled * scaled).ravel(), minlength=m)
    return ids, scaled, ss, exponent, full


def group_block_norms(u: object, labels: object) -> Array:
    """``||u_g||_2`` of each entry's block, in the shape of ``u`` (no over/underflow).

    >>> group_block_norms([3.0, 1.0, 4.0], [0, 1, 0])
    array([5., 1., 5.])
    """
    ids, _, ss, exponent, _ = _group_scaled(_float(u), labels)
    return np.ldexp(np.sqrt(ss), exponent)[ids]


def norm_group(u: object, labels: object) -> Array:
    """The group-lasso norm ``Σ_g ||u_g||_2`` over the last axis (blocks: equal labels).

    >>> float(norm_group([3.0, 1.0, 4.0], [0, 1, 0]))
    6.0
    >>> norm_group([[3.0, 1.0, 4.0], [0.0, 0.0, 0.0]], [7, 2, 7])
    array([6., 0.])
    """
    u = _float(u)
    ids, _, ss, exponent, full = _group_scaled(u, labels)
    blocks = np.ldexp(np.sqrt(ss), exponent).reshape(int(np.prod(full[:-1], dtype=np.int64)),
                                                     -1)
    return np.sum(blocks, axis=-1).reshape(full[:-1])


def group_normalize(u: object, labels: object, out: Array | None = None) -> Array:
    """``u_g/||u_g||_2`` on each block; 0 on a zero block (the minimum-norm subgradient).

    The gradient of the group-lasso norm.

    >>> group_normalize([3.0, 0.0, 4.0, 0.0], [0, 1, 0, 1])
    array([0.6, 0. , 0.8, 0. ])
    """
    ids, scaled, ss, _, _ = _group_scaled(_float(u), labels)
    return sdiv(scaled, np.sqrt(ss)[ids], out=out)


def group_shrink(v: object, lam: object, labels: object, out: Array | None = None) -> Array:
    """Block soft thresholding ``max(1 - lam/||v_g||_2, 0) v_g`` on each block.

    The prox of ``lam`` times the group-lasso norm. A block with ``||v_g||_2 <= lam``
    (a zero block in particular) gives exactly 0; never NaN for finite input.

    >>> group_shrink([3.0, 0.5, 4.0], 2.5, [0, 1, 0])
    array([1.5, 0. , 2. ])
    """
    v = _float(v)
    lam = sv(_nonnegative(lam, "the threshold lam"))
    nb = group_block_norms(v, labels)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        coef = np.where(nb > lam, 1 - lam / np.where(nb > 0, nb, 1), 0.0)
    r = np.multiply(coef, v, out=out)
    return np.add(r, 0.0, out=r)


# matrix-norm helpers (SVD-based gradients, induced and mixed norms, SVT) live in their own
# module; kernels reach every helper as _nm.<name>
from .numeric_matrix import *  # noqa: E402, F401, F403
