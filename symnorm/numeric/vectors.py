"""Numpy helpers called by generated kernels.

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

from ..model.errors import DomainError

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


_LARGE_ORDERS: dict = {}


def large_order(dtype: np.dtype) -> float:
    """Orders above this take the ratio to the largest entry (:func:`_ratio_powers`).

    Below it, entries scaled into [0.5, 1) by a power of two keep the largest power
    ``(1/2)**p`` a normal float (full precision); above it that power would underflow
    (``norm(x, 2000)`` at ``[1, 2]`` would be 0). ``-minexp``: 1022 for float64.

    >>> large_order(np.dtype(np.float64)), large_order(np.dtype(np.float32))
    (1022.0, 126.0)
    """
    if dtype not in _LARGE_ORDERS:
        _LARGE_ORDERS[dtype] = float(-np.finfo(dtype).minexp)
    return _LARGE_ORDERS[dtype]


def order_float(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except OverflowError:  # an integer beyond the float range: an infinite order
        return math.inf if v > 0 else -math.inf  # type: ignore[operator]


def order_array(p: object, dtype: np.dtype) -> Array:
    """The order(s) ``p`` as an array of ``dtype``; beyond that dtype's range ``±inf``
    (the limit p → oo, see the module docstring), without a warning.

    >>> order_array(10**400, np.dtype(np.float64)), order_array(1e300, np.dtype(np.float32))
    (array(inf), array(inf, dtype=float32))
    """
    if (type(p) is float and dtype == np.float64) or \
            (type(p) is np.ndarray and p.dtype == dtype):
        return np.asarray(p, dtype=dtype)  # nothing to convert (the usual call)
    try:
        with np.errstate(over="ignore"):
            return np.asarray(p, dtype=dtype)
    except OverflowError:  # Python integers too large for a float
        return np.vectorize(order_float, otypes=[dtype])(np.asarray(p, dtype=object))


def _ratio_powers(a: Array, big: Array, p: Array) -> tuple[Array, Array]:
    """``(r, S)`` for ``a >= 0`` with largest entry ``big`` per row: ``r = a/big`` (the
    largest exactly 1; 0 where ``big = 0``) and ``S = Σ r_i^p`` in [1, n] (0 at 0).

    Then ``‖a‖_p = big S^(1/p)`` and the gradient is ``r^(p-1) S^(1/p - 1)``: nothing
    over- or underflows however large ``p`` is, and ``p = oo`` gives the L∞ norm and its
    minimum-norm subgradient (``S`` counts the entries equal to ``big``).
    """
    pv = p[..., None] if p.ndim else p
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        r = a / np.where(big == 0, 1, big)[..., None]  # a NaN maximum: NaN throughout
        return r, np.sum(np.power(r, pv), axis=-1)


def _large_value(a: Array, p: Array) -> Array:
    """``‖a‖_p`` from :func:`_ratio_powers` (any ``p``); inf and NaN as the maximum says."""
    big = _max_abs(a)
    _, total = _ratio_powers(a, big, p)
    with np.errstate(invalid="ignore", under="ignore"):
        value = big * np.power(total, 1 / p)
    return np.where(np.isinf(big), big, value)


def _large_grad(u: Array, p: Array) -> Array:
    """``sign(u) r^(p-1) S^(1/p - 1)`` from :func:`_ratio_powers` (any ``p``)."""
    a = np.abs(u)
    a, big = _signed_limit(a, _max_abs(a))
    r, total = _ratio_powers(a, big, p)
    pv = p[..., None] if p.ndim else p
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        factor = np.power(np.where(total == 0, 1, total), 1 / p - 1)
        g = np.power(r, pv - 1) * (factor[..., None] if np.ndim(factor) else factor)
    if np.any(p < 1):  # 0**(negative): no subgradient at zero entries
        g = np.where(u != 0, g, 0)
    return np.sign(u) * g


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


def _normp_scaled(a: Array, p: Array, big: Array | None = None
                  ) -> tuple[Array, Array, Array]:
    """``(a * 2**-e, ‖a * 2**-e‖_p, e)`` for ``a >= 0``, ``e`` the exponent of ``max a``
    (``big``, when known).

    The scaled entries are at most 1 and the largest is at least 1/2, so the sum of
    powers neither overflows nor, for ``p`` up to :func:`large_order`, loses the largest
    terms to underflow.
    """
    e = _pow2_exponent(_max_abs(a) if big is None else big)
    scaled = _scale_pow2(a, e)
    pv = p[..., None] if p.ndim else p
    with np.errstate(divide="ignore", invalid="ignore", under="ignore", over="ignore"):
        s = np.sum(_pow(scaled, pv), axis=-1) ** (1 / p)
    return scaled, s, e


def normp(u: object, p: object) -> Array:
    """``(Σ|u_i|^p)^(1/p)`` over the last axis, scaled by a power of two so it cannot overflow.

    0 for an empty vector; NaN if an entry is NaN; inf only where the true value is.
    Orders above :func:`large_order` (1022 for float64) are formed from ``|u_i|/max|u|``,
    and ``p = oo`` (or an order too large for a float, see the module docstring) gives
    ``max |u_i|``, the limit.

    >>> float(normp([3.0, 4.0], 2.0))
    5.0
    >>> float(normp([float("nan"), 1.0], 3.0))
    nan
    >>> float(normp([1.0, 2.0], 2000.0)), float(normp([1.0, 2.0], float("inf")))
    (2.0, 2.0)
    """
    a = np.abs(_float(u))
    p = order_array(p, a.dtype)
    large = large_order(a.dtype)
    if p.ndim == 0 and float(p) > large:
        return _max_abs(a) if np.isinf(p) else _large_value(a, p)
    _, s, e = _normp_scaled(a, p)
    with np.errstate(over="ignore", under="ignore"):
        value = np.ldexp(s, e)
    if p.ndim and np.any(p > large):  # per-row orders, some of them large
        return np.where(p > large, _large_value(a, p), value)
    return value


def normp_grad(u: object, p: object, out: Array | None = None) -> Array:
    """``sign(u) ⊙ (|u|/‖u‖_p)^(p-1)``, the form that cannot overflow; 0 at ``u = 0``.

    The ratio ``|u|/‖u‖_p`` is formed from entries scaled by a power of two (exact), so
    it is right at the largest floats and keeps full precision at subnormal ones.
    For a quasi-norm (p < 1) entries that are 0 get 0: there is no subgradient there.
    Orders above :func:`large_order` (1022 for float64) use ``r = |u|/max|u|``:
    ``sign(u) r^(p-1) / (Σ r_i^p)^(1-1/p)``, which tends to the max-norm gradient;
    ``p = oo`` (or an order too large for a float) is the max-norm gradient (ties split
    evenly).

    >>> normp_grad([1.7976931348623157e308, 1.7976931348623157e308], 3.0)
    array([0.62996052, 0.62996052])
    >>> normp_grad([1.0, 2.0], 2000.0)
    array([0., 1.])
    >>> normp_grad([1.0, -1.0], 1e100)
    array([ 0.5, -0.5])
    """
    u = _float(u)
    p = order_array(p, u.dtype)
    large = large_order(u.dtype)
    if p.ndim == 0 and u.size:
        pf = float(p)
        if pf > large:
            return norminf_grad(u, out=out) if pf == math.inf else \
                assign(out, _large_grad(u, p))
        if pf >= 2:
            return _normp_grad_in_place(u, pf, out)
    a = np.abs(u)
    a, big = _signed_limit(a, _max_abs(a))
    scaled, s, e = _normp_scaled(a, p, big)
    pv = p[..., None] if p.ndim else p
    ratio = sdiv(scaled, sv(s))
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        g = _pow(ratio, pv - 1)
    if p.ndim == 0 and p < 2:  # ratio**(p-1) > ratio: a subnormal ratio's lost bits show
        small = (ratio < _limits(u.dtype)[2]) & (ratio > 0)
        if small.any():  # (m 2**k / s)**(p-1) = (m/s)**(p-1) 2**(k(p-1)), all normal floats
            m, k = np.frexp(a[small])
            top = np.broadcast_to(np.asarray(e)[..., None], a.shape)[small]
            norm = np.broadcast_to(np.asarray(s)[..., None], a.shape)[small]
            with np.errstate(under="ignore", over="ignore"):
                g[small] = _pow(m / norm, p - 1) * np.exp2((k - top) * (p - 1))
    if np.any(p < 1):  # 0**(negative) is inf at zero entries: no subgradient there
        g = np.where(u != 0, g, 0)
    if p.ndim and np.any(p > large):  # per-row orders, some of them large
        return assign(out, np.where((p > large)[..., None], _large_grad(u, p),
                                    np.sign(u) * g))
    return np.multiply(np.sign(u), g, out=out)


def _pow_into(a: Array, e: float, t: Array) -> Array:
    """``t = a**e`` written into ``t``, with the whole exponents 1, 2, 3 as products."""
    if e == 1:
        return np.copyto(t, a) or t
    if e == 2:
        return np.multiply(a, a, out=t)
    if e == 3:
        np.multiply(a, a, out=t)
        return np.multiply(t, a, out=t)
    return np.power(a, e, out=t)


def _normp_grad_in_place(u: Array, p: float, out: Array | None) -> Array:
    """:func:`normp_grad` for one order ``p >= 2``: the same scaled form, computed in two
    work buffers (|u| scaled, then the ratio, in one; powers in the other) so a long
    vector costs no more passes or allocations than the textbook formula."""
    a = np.abs(u)
    a, big = _signed_limit(a, _max_abs(a))  # a stays a fresh array: it is written below
    e = _pow2_exponent(big)
    if np.ndim(e) == 0:
        try:
            f = a.dtype.type(math.ldexp(1.0, -int(e)))
        except OverflowError:
            f = a.dtype.type(0)
        if np.isfinite(f) and f >= _limits(a.dtype)[2]:
            np.multiply(a, f, out=a)
        else:
            np.ldexp(a, -int(e), out=a)
    else:
        np.ldexp(a, -np.asarray(e)[..., None], out=a)
    t = np.empty_like(a)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore", over="ignore"):
        # np.power, not **: a row's sum is a numpy scalar, whose ** is libm's pow, while
        # arrays take numpy's own loop (another rounding): a batch and its rows must agree
        s = np.power(np.sum(_pow_into(a, p, t), axis=-1), 1 / p)
        zero = s == 0
        if np.ndim(s) == 0:
            if zero:
                a[...] = 0
            else:
                np.multiply(a, 1 / s, out=a)
        else:
            np.multiply(a, (1 / s)[..., None], out=a)  # as one row does: the same numbers
            if zero.any():
                a[zero] = 0
        _pow_into(a, p - 1, t)
    return np.copysign(t, u, out=out if out is not None else t)


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


def check_order(p: object, p_min: float, name: str, where: str) -> None:
    """Refuse a norm order outside the range a kernel was derived for (``p >= p_min``).

    Raises :class:`symnorm.model.errors.DomainError` naming the order, its value and the range.

    >>> check_order(3.0, 1.0, "p", "norm(x, p)")
    >>> check_order(-1.0, 1.0, "p", "norm(x, p)")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnorm.DomainError: the order p = -1 of norm(x, p) is outside the range p >= 1 ...
    """
    a = order_array(p, np.dtype(np.float64))  # an order beyond the float range is inf: p = oo
    bad = ~(a >= p_min)  # NaN is refused too
    if bad.any():
        value = a if a.ndim == 0 else a[bad].flat[0]
        raise DomainError(f"the order {name} = {float(value):g} of {where} is outside the range "
                          f"{name} >= {p_min:g} this kernel was derived for (declare "
                          f"norm(x, {name}, p_min=...) for a lower bound)")


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


# -- derivative of a p-norm with respect to its order (symnorm.model.atoms.NormOrderDerivative) --

def normp_order_derivative(u: object, p: object) -> Array:
    """``d/dp ||u||_p = ||u||_p (sum r_i^p log r_i / (p S) - log S / p^2)`` over the last
    axis, with ``r = |u| / max|u|`` and ``S = sum r_i^p`` (so nothing overflows, and
    ``0^p log 0 = 0``); 0 where ``u = 0``, and at ``p = oo`` (the limit). NaN where ``u``
    has a NaN or an infinite entry (the derivative has no limit there).

    >>> round(float(normp_order_derivative([3.0, 4.0], 2.0)), 12)
    -0.816772743492
    >>> normp_order_derivative([[1.0, np.inf], [1.0, 0.0]], 2.0)
    array([nan,  0.])
    >>> float(normp_order_derivative([3.0, -4.0], np.inf))
    0.0
    """
    a = np.abs(np.asarray(u))
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    p = order_array(p, a.dtype)[..., None]
    if a.shape[-1] == 0:
        return np.zeros(a.shape[:-1], dtype=a.dtype)
    m = np.max(a, axis=-1, keepdims=True)
    safe = np.where((m > 0) & np.isfinite(m), m, 1)
    with np.errstate(divide="ignore", invalid="ignore", under="ignore", over="ignore"):
        r = a / safe
        rp = np.where(r > 0, r ** p, 0)
        rlog = np.where(r > 0, rp * np.log(np.where(r > 0, r, 1)), 0)
        s = rp.sum(axis=-1, keepdims=True)
        s = np.where(s > 0, s, 1)
        value = safe * s ** (1 / p)
        d = value * (rlog.sum(axis=-1, keepdims=True) / (p * s) - np.log(s) / p ** 2)
    d = np.where(np.isinf(p), 0, d)
    d = np.where(np.isfinite(m), d, np.nan)
    return np.where(m == 0, 0, d)[..., 0]

