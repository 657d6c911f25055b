"""The gradient of ``max``/``min`` of scalar pieces (:class:`symnorm.model.atoms.ActiveGradient`):
the active piece's gradient, and at a tie the minimum-norm point of the convex hull of the
tied pieces' gradients."""


from __future__ import annotations

import math

import numpy as np

from .products import assign
from .vectors import Array

# -- gradient of max/min of scalar pieces (symnorm.model.atoms.ActiveGradient) ----------------

def _min_norm_hull(points: Array) -> Array:
    """Minimum-norm point of the convex hull of the rows of ``points`` (k x d).

    Exact: every face of the simplex of weights is tried (k is the number of tied
    pieces, small), each by a least-squares solve with the weights summing to 1.
    """
    from itertools import combinations

    k = points.shape[0]
    if k == 1:
        return points[0]
    if k == 2:
        d = points[1] - points[0]
        dd = float(d @ d)
        t = 0.0 if dd == 0 else min(1.0, max(0.0, -float(points[0] @ d) / dd))
        return points[0] + t * d
    best, best_norm = None, np.inf
    gram = points @ points.T
    for size in range(1, k + 1):
        for face in combinations(range(k), size):
            idx = list(face)
            system = np.zeros((size + 1, size + 1))
            system[:size, :size] = gram[np.ix_(idx, idx)]
            system[:size, size] = 1.0
            system[size, :size] = 1.0
            rhs = np.zeros(size + 1)
            rhs[size] = 1.0
            w = np.linalg.lstsq(system, rhs, rcond=None)[0][:size]
            if np.any(w < -1e-12):
                continue
            w = np.maximum(w, 0)
            w /= w.sum()
            point = w @ points[idx]
            norm = float(point @ point)
            if norm < best_norm:
                best, best_norm = point, norm
    assert best is not None
    return best


def active_gradient(kind: str, core: int, *pieces: object, out: Array | None = None) -> Array:
    """Gradient of ``max`` (``min``) of scalar pieces: ``pieces`` is ``f_1, g_1, f_2, ...``.

    Where one piece is strictly the largest (smallest) this is its gradient; at a tie
    (values within 1e-12 relative) the minimum-norm element of the convex hull of the
    tied pieces' gradients. ``core`` is the number of trailing axes of one gradient
    (0 scalar, 1 vector, 2 matrix); leading axes are a batch. Values of ±inf compare
    as they are (two pieces at +inf tie); a NaN value gives a NaN gradient.

    >>> active_gradient("max", 1, 2.0, [1.0, 0.0], 2.0, [0.0, 1.0])
    array([0.5, 0.5])
    >>> active_gradient("max", 1, np.inf, [1.0, 0.0], 2.0, [0.0, 1.0])
    array([1., 0.])
    """
    values = [np.asarray(v) for v in pieces[0::2]]
    grads = [np.asarray(g) for g in pieces[1::2]]
    dtype = np.result_type(*[g.dtype for g in grads], *[v.dtype for v in values])
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    grads = np.broadcast_arrays(*grads)
    core_shape = grads[0].shape[grads[0].ndim - core:] if core else ()
    batch = np.broadcast_shapes(grads[0].shape[:grads[0].ndim - core],
                                *[v.shape for v in values])
    k = len(values)
    rows, size = math.prod(batch), math.prod(core_shape)
    f = np.stack([np.broadcast_to(v, batch) for v in values]).reshape(k, rows)
    g = np.stack([np.broadcast_to(x, batch + core_shape) for x in grads]).reshape(
        k, rows, size).astype(dtype, copy=False)
    if kind == "min":
        f = -f
    if rows == 0:
        return assign(out, np.zeros(batch + core_shape, dtype=dtype))
    top = f.max(axis=0)
    # an infinite largest value ties exactly (inf - inf would make every piece active)
    tol = np.where(np.isfinite(top), 1e-12 * np.maximum(1.0, np.abs(top)), 0.0)
    with np.errstate(invalid="ignore"):
        active = f >= top - tol
    result = g[np.argmax(f, axis=0), np.arange(f.shape[1])]
    for j in np.nonzero(active.sum(axis=0) > 1)[0]:
        result[j] = _min_norm_hull(g[active[:, j], j].astype(np.float64))
    result[np.isnan(top)] = np.nan  # a NaN value: which piece is active is unknown
    return assign(out, result.reshape(batch + core_shape))
