"""Proximal operators and the group-lasso norm: soft thresholding, the projection onto an
L1 ball, block norms and block shrinkage. Thresholds and radii are per-batch scalars
(>= 0); group labels are one label per vector entry (any numbers; equal labels form a
block), shared by the batch or given per batch row. Finite input never gives NaN."""


from __future__ import annotations

import numpy as np

from .products import assign
from .vectors import Array, _float, _infinite_rows, sdiv, sv

# -- proximal operators and the group-lasso norm --------------------------------------------
# Helpers for symnorm.rules.prox_maps and the group-lasso rule. Thresholds/radii are per-batch
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
    with np.errstate(invalid="ignore", over="ignore"):  # inf and NaN rows: set below
        mu = -np.sort(-a, axis=-1)                       # |v| in decreasing order
        cs = np.cumsum(mu, axis=-1)
        cond = mu * np.arange(1, n + 1) > cs - r[..., None]
        last = n - 1 - np.argmax(cond[..., ::-1], axis=-1)   # the last index where cond holds
        top = np.take_along_axis(cs, last[..., None], axis=-1)[..., 0]
        theta = np.where(cond.any(axis=-1), (top - r) / (last + 1), mu[..., 0])
        theta = np.maximum(theta, 0)
        proj = np.sign(v) * np.maximum(a - theta[..., None], 0)
    inside = (np.sum(a, axis=-1) <= r)[..., None]
    res = np.where(inside, v, proj) + 0.0
    if not np.isfinite(cs[..., -1]).all():  # inf or NaN entries (or a sum that overflowed)
        # the limit as the infinite entries grow together: radius/k on each of the k,
        # with its sign; a NaN anywhere in the row: NaN
        big = np.max(a, axis=-1)
        inf = np.isinf(v)
        k = np.sum(inf, axis=-1, keepdims=True)
        limit = np.where(inf, np.sign(v) * (r[..., None] / np.maximum(k, 1)), 0.0)
        res = np.where(np.isinf(big)[..., None], limit, res)
        res = np.where(np.isnan(big)[..., None], np.nan, res)
    return assign(out, res)


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


def _group_scaled(u: Array, labels: object
                  ) -> tuple[Array, Array, Array, Array, tuple, Array]:
    """Entries scaled by a power of two per block, block sums of squares, exponents, and
    each block's largest magnitude. A block with an infinite entry is replaced by its
    limit direction (``sign`` on the infinite entries, 0 elsewhere: see the module
    docstring); its norm is the largest magnitude, inf (or NaN)."""
    ids, m, full = _group_ids(labels, u.shape)
    u = np.broadcast_to(u, full)
    flat = ids.ravel()
    big = np.zeros(m)
    with np.errstate(invalid="ignore"):  # a NaN entry: its block's maximum is NaN
        np.maximum.at(big, flat, np.abs(u).ravel())
    inf = _infinite_rows(big)
    if inf is not None:
        u = np.where(inf[ids], np.where(np.isinf(u), np.sign(u), 0), u)
    exponent = np.frexp(big if inf is None else np.where(inf, 1, big))[1]  # 0 at 0
    scaled = np.ldexp(u, -exponent[ids])          # exact; largest |entry| in [0.5, 1)
    ss = np.bincount(flat, weights=(scaled * scaled).ravel(), minlength=m)
    return ids, scaled, ss, exponent, full, big


def _block_norms(ss: Array, exponent: Array, big: Array) -> Array:
    norms = np.ldexp(np.sqrt(ss), exponent)
    return np.where(np.isfinite(big), norms, big)  # inf (or NaN) blocks: the maximum says


def group_block_norms(u: object, labels: object) -> Array:
    """``||u_g||_2`` of each entry's block, in the shape of ``u`` (no over/underflow).

    >>> group_block_norms([3.0, 1.0, 4.0], [0, 1, 0])
    array([5., 1., 5.])
    """
    ids, _, ss, exponent, _, big = _group_scaled(_float(u), labels)
    return _block_norms(ss, exponent, big)[ids]


def norm_group(u: object, labels: object) -> Array:
    """The group-lasso norm ``Σ_g ||u_g||_2`` over the last axis (blocks: equal labels).

    >>> float(norm_group([3.0, 1.0, 4.0], [0, 1, 0]))
    6.0
    >>> norm_group([[3.0, 1.0, 4.0], [0.0, 0.0, 0.0]], [7, 2, 7])
    array([6., 0.])
    """
    u = _float(u)
    _, _, ss, exponent, full, big = _group_scaled(u, labels)
    blocks = _block_norms(ss, exponent, big).reshape(
        int(np.prod(full[:-1], dtype=np.int64)), -1)
    return np.sum(blocks, axis=-1).reshape(full[:-1])


def group_normalize(u: object, labels: object, out: Array | None = None) -> Array:
    """``u_g/||u_g||_2`` on each block; 0 on a zero block (the minimum-norm subgradient).

    The gradient of the group-lasso norm.

    >>> group_normalize([3.0, 0.0, 4.0, 0.0], [0, 1, 0, 1])
    array([0.6, 0. , 0.8, 0. ])
    """
    ids, scaled, ss, _, _, _ = _group_scaled(_float(u), labels)
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
    coef = np.where(np.isnan(nb), np.nan, coef)  # a NaN reaches its whole block
    r = np.multiply(coef, v, out=out)
    return np.add(r, 0.0, out=r)
