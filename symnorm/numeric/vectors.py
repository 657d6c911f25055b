"""The L2, L1, L∞ and L0 helpers, safe division, and the conventions every numeric helper
follows (the Lp helpers are in :mod:`.lp`).

Conventions: a vector is an array whose last axis is the vector axis (leading axes are
a batch); a scalar is an array of the batch shape; a matrix uses the last two axes.
At a kink every helper returns the minimum-norm subgradient, never NaN: 0 for the
L2 gradient at 0, sign with 0 entries for L1, the tie split evenly for L∞.

Orders. ``normp``/``normp_grad`` take any order ``p >= 1`` (and ``0 < p < 1`` where a
kernel allows it) up to ``p = oo``. Above an order of 1022 for float64 (126 for float32:
where ``(1/2)**p`` stops being a normal float) the sum of powers is formed from
``|u_i|/max|u|`` (so the largest term is exactly 1 and nothing underflows), and
``p = oo`` is the L∞ norm. An order too large
for a float is that limit: a numeric order printed into a kernel (``norm(x, 2.5e400)``)
is a float literal, which Python reads as ``inf``, and an order given at call time
converts to ``inf`` (a Python ``int`` beyond the float range too); the value is then
``max |u_i|`` and the gradient the L∞ minimum-norm subgradient. For a finite order that
large the difference from the limit is below rounding for any vector a float can hold.

Non-finite input (every helper here; no numpy RuntimeWarning escapes):

* NaN: a NaN reaches every result entry that depends on it. A norm (value) of a vector
  holding a NaN is NaN, and so is every entry of its gradient (``u/‖u‖`` needs ‖u‖) and
  of its block (group norms); elementwise maps (``sign``, soft thresholding) give NaN
  in that entry only. NaN wins over inf.
* ±inf (no NaN): norms are ``+inf``. Gradients are the limits as the infinite entries
  grow together, i.e. the gradient at the vector holding ``sign(u_i)`` on the infinite
  entries and 0 elsewhere: ``s/‖s‖₂`` for L2 (``[inf, 1]`` gives ``[1, 0]``,
  ``[inf, -inf, 1]`` gives ``[1/√2, -1/√2, 0]``), ``sign(s) k^((1-p)/p)`` over the k
  infinite entries for Lp, the infinite entries as the tie for L∞, ``sign(u)`` for L1
  (whose gradient does not depend on sizes); group norms block by block; the
  projection onto an L1 ball puts ``radius/k`` (with the entry's sign) on each of the
  k infinite entries; soft thresholding and block shrinkage keep infinite entries
  infinite (and finite entries of an infinite block as they are: the limit of
  ``(1 - lam/‖v_g‖) v_i``). ``normp_order_derivative`` has no limit there: NaN.
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray


def _float(u: object) -> Array:
    a = np.asarray(u)
    if a.dtype.kind != "f":
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
        r = _short_norm(u)
        if r is not None:
            return u.dtype.type(r)
        with np.errstate(over="ignore", under="ignore"):
            ss = float(np.dot(u, u))
        if low <= ss <= high:
            return u.dtype.type(math.sqrt(ss))
        return _norm2_scaled(u)
    with np.errstate(over="ignore", under="ignore"):
        ss = _sum_squares(u)
    if not ss.size or _within(ss, low, high):
        return np.sqrt(ss)
    ok = (ss >= low) & (ss <= high)
    return np.where(ok, np.sqrt(np.where(ok, ss, 0)), _norm2_scaled(u))


_LIMITS: dict = {}


def _limits(dtype: np.dtype) -> tuple[float, float, float]:
    """(smallest safe sum of squares, largest finite, smallest normal) per dtype."""
    if dtype not in _LIMITS:
        info = np.finfo(dtype)
        # below sqrt(tiny), squares that underflowed to 0 may matter: rescale instead
        _LIMITS[dtype] = (float(np.sqrt(info.tiny)), float(info.max), float(info.tiny))
    return _LIMITS[dtype]


#: a 1-D vector up to this length takes its 2-norm from ``math.hypot`` on Python floats:
#: for a handful of entries that costs a fraction of a BLAS dot under ``np.errstate``,
#: and hypot neither overflows nor underflows on the way (error below one ulp)
_SHORT = 32
#: float dtype -> (smallest, largest) 2-norm that the fast paths take from hypot: the
#: norms whose square is a safe sum of squares (see ``_limits``), so a vector takes the
#: fast or the scaled path exactly as a dot product would send it
_SHORT_RANGE = {np.dtype(t): (math.sqrt(_limits(np.dtype(t))[0]),
                              math.sqrt(_limits(np.dtype(t))[1]))
                for t in (np.float64, np.float32)}


def _within(a: Array, low: float, high: float) -> bool:
    """``low <= a <= high`` in every entry of a non-empty ``a`` (False where one is NaN):
    two reductions, no boolean arrays."""
    return bool(a.size) and bool(a.min() >= low) and bool(a.max() <= high)


def _short_norm(u: Array) -> float | None:
    """``‖u‖₂`` of a short 1-D float64 or float32 vector when it lies in the dtype's fast
    range, else None (longer vectors, other dtypes, 0, tiny, huge, inf and NaN norms)."""
    if u.shape[0] > _SHORT:
        return None
    limits = _SHORT_RANGE.get(u.dtype)
    if limits is None:
        return None
    r = math.hypot(*u.tolist())
    return r if limits[0] <= r <= limits[1] else None


def _norm2_scaled(u: Array) -> Array:
    big = np.max(np.abs(u), axis=-1) if u.shape[-1] else np.zeros(u.shape[:-1], u.dtype)
    finite = np.isfinite(big) & (big > 0)
    exponent = np.frexp(np.where(finite, big, 1))[1]
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        scaled = np.ldexp(u, -exponent[..., None])
        out = np.ldexp(np.sqrt(_sum_squares(scaled)), exponent)
    return np.where(finite, out, np.where(np.isnan(big), np.nan, big))


def _pow2_exponent(big: Array) -> Array:
    """``e`` with ``big * 2**-e`` in [0.5, 1): 0 where ``big`` is 0, inf or NaN."""
    return np.frexp(big)[1]


def _scale_pow2(u: Array, e: Array) -> Array:
    """``u * 2**-e`` exactly (up to underflow of tiny entries); ``e`` per batch row."""
    if np.ndim(e) == 0:
        try:
            f = u.dtype.type(math.ldexp(1.0, -int(e)))
        except OverflowError:
            f = u.dtype.type(0)
        if np.isfinite(f) and f >= _limits(u.dtype)[2]:  # a normal power of two: one pass
            return np.multiply(u, f)
        return np.ldexp(u, -int(e))
    return np.ldexp(u, -np.asarray(e)[..., None])


def _max_abs(a: Array) -> Array:
    """``max |a_i|`` over the last axis (``a >= 0`` given); 0 for an empty axis, NaN kept."""
    return np.max(a, axis=-1, initial=0)


def norm2_grad(u: object, p: object = 2, out: Array | None = None) -> Array:
    """``u/‖u‖₂`` without overflow or underflow; 0 at ``u = 0`` (minimum-norm subgradient).

    Fast path: one dot product (``math.hypot`` for a short vector) and one
    multiplication. When the sum of squares is not a safe float (an entry near the
    largest float, or all entries tiny), the entries are first scaled by a power of two
    (exact), so ``[DBL_MAX, DBL_MAX]`` gives ``1/sqrt(2)`` and subnormal input keeps full
    precision.

    >>> norm2_grad([3.0, 4.0])
    array([0.6, 0.8])
    >>> norm2_grad([1.7976931348623157e308, 1.7976931348623157e308])
    array([0.70710678, 0.70710678])
    >>> norm2_grad([0.0, 0.0])
    array([0., 0.])
    """
    u = _float(u)
    if u.ndim == 1:  # plain floats: no array overhead on the fast path
        r = _short_norm(u)
        if r is not None:  # (a Python float keeps u's dtype)
            return np.multiply(u, 1.0 / r, out=out)
        low, high, _ = _limits(u.dtype)
        with np.errstate(over="ignore", under="ignore"):
            ss = float(np.dot(u, u))
        if low <= ss <= high:  # 1/sqrt(ss) is finite and squares did not underflow
            return np.multiply(u, u.dtype.type(1.0 / math.sqrt(ss)), out=out)
    else:
        low, high, _ = _limits(u.dtype)
        with np.errstate(over="ignore", under="ignore"):
            ss = _sum_squares(u)
        if _within(ss, low, high):
            return np.multiply(u, (1.0 / np.sqrt(ss))[..., None], out=out)
    # slow path: scale each vector so its largest entry is in [0.5, 1), then normalise
    # (a row with infinite entries: its limit direction, see the module docstring)
    u, big = _signed_limit(u, _max_abs(np.abs(u)))
    scaled = _scale_pow2(u, _pow2_exponent(big))
    with np.errstate(under="ignore"):
        s = np.sqrt(_sum_squares(scaled))
    return sdiv(scaled, sv(s), out=out)


def _infinite_rows(big: Array) -> Array | None:
    """Where the largest magnitude ``big`` of a row is inf (not NaN); None if nowhere."""
    if np.ndim(big) == 0:  # one row: a plain float comparison
        return np.True_ if float(big) == math.inf else None
    inf = np.isinf(big)
    return inf if inf.any() else None


def _signed_limit(u: Array, big: Array) -> tuple[Array, Array]:
    """``(u, max |u_i|)`` with every row whose largest magnitude is inf replaced by its
    limit direction: ``sign(u_i)`` on the infinite entries, 0 elsewhere (largest 1).

    The gradient of a norm depends on the direction of ``u`` only, so the limit of the
    gradient as the infinite entries grow together is the gradient there.

    >>> _signed_limit(np.array([np.inf, -np.inf, 3.0]), np.array(np.inf))
    (array([ 1., -1.,  0.]), array(1.))
    """
    inf = _infinite_rows(big)
    if inf is None:
        return u, big
    row = inf[..., None]
    limit = np.where(np.isinf(u), np.sign(u), 0).astype(u.dtype, copy=False)
    return np.where(row, limit, u), np.where(inf, 1, big).astype(u.dtype, copy=False)


def norm1(u: object, p: object = 1) -> Array:
    """Sum of absolute values over the last axis."""
    return np.sum(np.abs(_float(u)), axis=-1)


def norm1_grad(u: object, p: object = 1, out: Array | None = None) -> Array:
    """``sign(u)``, 0 in zero entries (the minimum-norm subgradient there)."""
    return np.sign(_float(u), out=out)


def norminf(u: object, p: object = None) -> Array:
    """Largest absolute value over the last axis; 0 for an empty vector, NaN propagates."""
    return _max_abs(np.abs(_float(u)))


def maxabs_selector(u: object) -> Array:
    """``e_k`` for ``k = argmax |u_i|``; a tie over K gives ``1/|K|`` on each of K.

    In the dtype of ``u`` (float32 stays float32); NaN input gives NaN.

    >>> maxabs_selector([3.0, -3.0, 1.0])
    array([0.5, 0.5, 0. ])
    """
    u = _float(u)
    a = np.abs(u)
    mask = a == np.max(a, axis=-1, keepdims=True, initial=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.divide(mask, np.sum(mask, axis=-1, keepdims=True), dtype=u.dtype)


def norminf_grad(u: object, p: object = None, out: Array | None = None) -> Array:
    """``sign(u_k) e_k``; ties split evenly (minimum-norm subgradient), 0 at ``u = 0``.

    The result is zero except where ``|u_i|`` reaches the maximum, so it is written
    sparsely: the largest and smallest entry of each row (two reads, no temporary), one
    comparison with the row's signed maximum (a second only for rows where both ``+max``
    and ``-max`` occur), then the few hits.

    >>> norminf_grad([3.0, -3.0, 1.0])
    array([ 0.5, -0.5,  0. ])
    >>> norminf_grad([[0.0, 0.0], [1.0, -2.0]])
    array([[ 0.,  0.],
           [ 0., -1.]])
    """
    u = _float(u)
    if u.ndim == 0 or u.size == 0:
        return np.multiply(np.sign(u), maxabs_selector(u), out=out)
    rows = u.reshape(-1, u.shape[-1])
    hi = np.max(rows, axis=-1)
    lo = np.min(rows, axis=-1)
    if np.isnan(hi).any() or np.isnan(lo).any():  # NaN propagates as np.sign does
        return np.multiply(np.sign(u), maxabs_selector(u), out=out)
    top = np.maximum(hi, -lo)
    # each row compared with its signed maximum; NaN (equal to nothing) where u = 0
    signed = np.where(top == 0, np.nan, np.where(hi == top, top, -top))
    hits = rows == signed[:, None]
    both = np.flatnonzero((hi == top) & (-lo == top) & (top > 0))
    if both.size:  # rows where +max and -max both occur (rare): their -max entries too
        hits[both] |= rows[both] == -top[both, None]
    flat = np.flatnonzero(hits)
    which = flat // rows.shape[1]
    count = np.bincount(which, minlength=rows.shape[0])
    if out is None:
        out = np.zeros(u.shape, dtype=u.dtype)
    else:
        out[...] = 0.0
    values = rows.reshape(-1)[flat]
    target = out.reshape(-1) if out.flags.c_contiguous else None
    share = np.sign(values) / count[which]
    if target is not None:
        target[flat] = share
    else:
        out[np.unravel_index(flat, u.shape)] = share
    return out


def norm0(u: object, p: object = 0) -> Array:
    """Number of nonzero entries over the last axis (as floats); NaN for a row holding a
    NaN (whether it is 0 is unknown), inf counts as nonzero.

    >>> norm0([[0.0, 3.0, -np.inf], [np.nan, 0.0, 0.0]])
    array([ 2., nan])
    """
    u = _float(u)
    count = np.asarray(np.count_nonzero(u, axis=-1), dtype=u.dtype)
    nan = np.isnan(u).any(axis=-1)
    return np.where(nan, np.nan, count).astype(u.dtype, copy=False) if nan.any() else count


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
            return np.zeros(shape, dtype=np.result_type(a, d, 1.0))
        out[...] = 0
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.divide(a, d, out=out)
    r[np.broadcast_to(d == 0, r.shape)] = 0
    return r
