"""Lp norms of any order and their gradients, with the order checked, large orders formed
from ``|u_i|/max|u|`` (see :mod:`symnorm.numeric.vectors` for the conventions), and the
derivative of a p-norm with respect to its order."""


from __future__ import annotations

import math

import numpy as np

from ..model.errors import DomainError
from .products import assign
from .vectors import (
    Array,
    _float,
    _limits,
    _max_abs,
    _pow2_exponent,
    _scale_pow2,
    _signed_limit,
    norminf_grad,
    sdiv,
    sv,
)

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
