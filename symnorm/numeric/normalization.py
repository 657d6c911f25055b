"""Numpy helpers of the functions of a whole vector: sums, means and the biased variance,
``softmax`` and ``logsumexp``, and the normalisation layers ``layer_norm`` and
``rms_norm`` with their fused vector-Jacobian products; and the Hessian-vector product of
the Euclidean norm (the VJP of ``u/‖u‖₂``).

Conventions as in :mod:`symnorm.numeric.vectors`: the vector axis is the last one,
leading axes are a batch, a per-row scalar has the batch shape. Where the true value is a
finite float these helpers return it: ``softmax`` and ``logsumexp`` subtract the largest
entry before exponentiating; the normalisation layers rescale a row by a power of two
(exact) only when its variance over- or underflows, so ``layer_norm(1e200 * x)`` is
``layer_norm(x)``. The normalisation layers work through the rows a block at a time, so
their temporaries stay in the cache (forward and backward cost about what reading and
writing their arrays costs).
"""

from __future__ import annotations

import math

import numpy as np

from .vectors import _float, _limits, _sum_squares, sdiv

__all__ = ["entries_mean", "entries_sum", "entries_var", "layer_norm", "layer_norm_std",
           "layer_norm_value_vjp", "layer_norm_vjp", "logsumexp", "norm2_hvp", "rms",
           "rms_norm", "rms_norm_value_vjp", "rms_norm_vjp", "softmax", "softmax_vjp"]

Array = np.ndarray

#: bytes of one block of rows: the temporaries of a block stay in the L2 cache
BLOCK_BYTES = 1 << 18


def _axes(core: int) -> tuple[int, ...]:
    return (-2, -1) if int(core) == 2 else (-1,)


def entries_sum(u: object, core: int = 1) -> Array:
    """``sum(u)``: the sum of the entries of each vector (``core=1``) or matrix (2).

    >>> float(entries_sum([1.0, 2.0, 3.5]))
    6.5
    """
    return np.asarray(np.sum(_float(u), axis=_axes(core)))


def entries_mean(u: object, core: int = 1) -> Array:
    """``mean(u)`` of each vector or matrix, finite wherever the mean is (a sum that
    overflows is redone from the entries halved).

    >>> float(entries_mean([1e308, 1e308]))
    1e+308
    """
    a = _float(u)
    axes = _axes(core)
    with np.errstate(over="ignore", invalid="ignore"):
        m = np.asarray(np.mean(a, axis=axes))
    if np.all(np.isfinite(m)) or not np.all(np.isfinite(a)):
        return m
    with np.errstate(over="ignore", invalid="ignore"):
        half = np.asarray(np.mean(a * 0.5, axis=axes)) * 2.0
    return np.where(np.isfinite(m), m, half)


def entries_var(u: object, core: int = 1) -> Array:
    """``var(u)``: the biased variance ``mean((u - mean(u))**2)`` of the entries (two
    passes: no cancellation), rescaled by a power of two where the squares overflow.

    >>> float(entries_var([1.0, 2.0, 3.0, 4.0]))
    1.25
    >>> float(entries_var([1e200, -1e200]))
    inf
    """
    a = _float(u)
    axes = _axes(core)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        d = a - np.asarray(entries_mean(a, core))[(...,) + (None,) * len(axes)]
        v = np.asarray(np.mean(d * d, axis=axes))
        if np.all(np.isfinite(v)) or not np.all(np.isfinite(d)):
            return v
        big = np.max(np.abs(d), axis=axes, keepdims=True)
        e = np.frexp(np.where((big > 0) & np.isfinite(big), big, 1.0))[1]
        scaled = np.ldexp(d, -e)
        w = np.ldexp(np.mean(scaled * scaled, axis=axes), 2 * np.squeeze(e, axis=axes))
    return np.where(np.isfinite(v), v, w)


def softmax(u: object, out: Array | None = None) -> Array:
    """``exp(u)/sum(exp(u))`` over the last axis, the largest entry subtracted first.

    >>> softmax([1000.0, 1000.0])
    array([0.5, 0.5])
    >>> softmax([0.0, -800.0])
    array([1., 0.])
    """
    a = _float(u)
    if a.shape[-1] == 0:
        return np.asarray(a.copy() if out is None else out)
    with np.errstate(under="ignore", invalid="ignore"):
        e = np.subtract(a, np.max(a, axis=-1, keepdims=True), out=out)
        np.exp(e, out=e)
        e /= np.sum(e, axis=-1, keepdims=True)
    return e


def softmax_vjp(u: object, g: object, out: Array | None = None) -> Array:
    """``J^T g`` of ``s = softmax(u)``: ``s ⊙ g - s (s^T g)`` (J is symmetric).

    >>> softmax_vjp([0.0, 0.0], [1.0, 1.0])
    array([0., 0.])
    """
    s = softmax(u)
    gg = _float(g)
    sg = np.sum(s * gg, axis=-1, keepdims=True)
    return np.multiply(s, gg - sg, out=out)


def logsumexp(u: object) -> Array:
    """``log(sum(exp(u)))`` over the last axis, the largest entry taken out first.

    >>> float(logsumexp([1000.0, 1000.0]))
    1000.6931471805599
    """
    a = _float(u)
    if a.shape[-1] == 0:
        return np.full(a.shape[:-1], -np.inf, dtype=a.dtype)
    m = np.max(a, axis=-1)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(under="ignore"):
        s = np.sum(np.exp(a - safe[..., None]), axis=-1)
        return np.asarray(np.where(np.isfinite(m), safe + np.log(s), m))


# -- normalisation layers ---------------------------------------------------------------

def _eps_rows(eps: object, batch: tuple, dtype: np.dtype) -> tuple[float | None, Array | None]:
    """``eps`` as one float, or as one value per row when it varies over the batch."""
    e = np.asarray(eps, dtype=np.float64)
    if np.any(e < 0) or np.any(np.isnan(e)):
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    if e.ndim == 0:
        return float(e), None
    return None, np.ascontiguousarray(np.broadcast_to(e, batch)).reshape(-1).astype(dtype)


def _stats(x: Array, eps: float | Array, rms: bool) -> tuple[Array, Array, Array]:
    """Per row of ``x``: the centred (LayerNorm) or plain (RMSNorm) entries ``d``,
    ``total = mean(d*d) + eps`` and whether that is safe (no over- or underflow that
    matters); rows that are not safe are redone scaled (:func:`_scaled_row`)."""
    n = x.shape[-1]
    d = x if rms else x - np.mean(x, axis=-1, keepdims=True)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        ss = np.einsum("ij,ij->i", d, d)
        low, high, _ = _limits(x.dtype)
        ok = (ss <= high) & ((ss >= low) | (np.asarray(eps) > 0))
        if not rms:
            ok &= np.isfinite(d[:, 0])
        total = ss / n + eps
    return d, total, ok


def _recip(total: Array) -> Array:
    """``1/sqrt(total)``, 0 where ``total`` is 0 (a constant row with ``eps = 0``)."""
    with np.errstate(divide="ignore"):
        r = 1.0 / np.sqrt(total)
    return np.where(total > 0, r, 0.0) if not np.all(total > 0) else r


def _scaled_row(x: Array, eps: float, rms: bool) -> tuple[Array, float, int]:
    """One row whose variance over/underflows: ``(d', r', k)`` with ``d'`` the centred
    (LayerNorm) or plain (RMSNorm) entries scaled by ``2**-k`` (exact) so the largest is
    in [0.5, 1), and ``r' = 1/sqrt(mean(d'*d') + eps*4**-k)`` (0 where that is 0); the
    unscaled ``r`` is ``r' * 2**-k`` and ``d' r'`` is the normalised row."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        big = float(np.max(np.abs(x))) if x.size else 0.0
        if not math.isfinite(big):
            return np.full_like(x, np.nan), math.nan, 0
        if big == 0.0:
            return np.zeros_like(x), 0.0, 0
        k = math.frexp(big)[1]
        d = np.ldexp(x, -k)
        if not rms:  # centre the scaled row, then scale the centred entries again
            d = d - np.mean(d)
            dbig = float(np.max(np.abs(d)))
            if dbig == 0.0:
                return np.zeros_like(x), 0.0, 0
            k2 = math.frexp(dbig)[1]
            d = np.ldexp(d, -k2)
            k += k2
        try:
            eps_s = math.ldexp(eps, -2 * k)
        except OverflowError:
            eps_s = math.inf
        if not math.isfinite(eps_s):  # eps dwarfs the variance: r = 1/sqrt(eps)
            return np.ldexp(d, k), 1.0 / math.sqrt(eps), 0
        total = float(np.mean(d * d)) + eps_s
        return d, (1.0 / math.sqrt(total) if total > 0 else 0.0), k


def _out(shape: tuple, dtype: np.dtype, out: Array | None) -> tuple[Array, Array]:
    """(a C-contiguous 2-D array of rows to write, the array to return)."""
    if out is not None and out.flags.c_contiguous and out.shape == shape:
        return out.reshape(-1, shape[-1]), out
    res = np.empty(shape, dtype=dtype)
    return res.reshape(-1, shape[-1]), res


def _finish(res: Array, out: Array | None) -> Array:
    if out is None or res is out:
        return res
    np.copyto(out, res)
    return out


def _step(n: int, itemsize: int) -> int:
    return max(1, BLOCK_BYTES // max(1, n * itemsize))


def _normalise(u: object, eps: object, out: Array | None, rms: bool) -> Array:
    a = _float(u)
    n = a.shape[-1] if a.ndim else 0
    if a.ndim == 0 or n == 0 or a.size == 0:
        return _finish(np.empty(a.shape, dtype=a.dtype), out)
    eps_one, eps_per_row = _eps_rows(eps, a.shape[:-1], a.dtype)
    rows = np.ascontiguousarray(a).reshape(-1, n)
    target, res = _out(a.shape, a.dtype, out)
    step = _step(n, a.itemsize)
    for r0 in range(0, rows.shape[0], step):
        x = rows[r0:r0 + step]
        r1 = r0 + x.shape[0]
        e = eps_one if eps_per_row is None else eps_per_row[r0:r1]
        d, total, ok = _stats(x, e, rms)
        with np.errstate(over="ignore", invalid="ignore"):
            np.multiply(d, _recip(total)[:, None], out=target[r0:r1])
        for i in np.flatnonzero(~ok):
            ei = eps_one if eps_per_row is None else float(eps_per_row[r0 + i])
            ds, rs, _ = _scaled_row(x[i], ei, rms)
            target[r0 + i] = ds * rs
    return _finish(res, out)


def layer_norm(u: object, eps: object = 1e-5, out: Array | None = None) -> Array:
    """``(u - mean(u))/sqrt(var(u) + eps)`` over the last axis (biased variance).

    Where ``var(u) + eps`` is 0 (a constant row, ``eps = 0``) the result is 0.

    >>> layer_norm([1.0, 3.0], 0.0)
    array([-1.,  1.])
    >>> layer_norm([1e200, 3e200], 0.0)
    array([-1.,  1.])
    >>> layer_norm([2.0, 2.0], 0.0)
    array([0., 0.])
    """
    return _normalise(u, eps, out, rms=False)


def rms_norm(u: object, eps: object = 1e-5, out: Array | None = None) -> Array:
    """``u/sqrt(mean(u .* u) + eps)`` over the last axis; 0 where ``u = 0, eps = 0``.

    >>> rms_norm([3.0, 4.0], 0.0) * math.sqrt(12.5)
    array([3., 4.])
    >>> rms_norm([3e-200, 4e-200], 0.0) * math.sqrt(12.5)
    array([3., 4.])
    """
    return _normalise(u, eps, out, rms=True)


def _scale(u: object, eps: object, rms: bool) -> Array:
    a = _float(u)
    n = a.shape[-1]
    if n == 0:
        return np.sqrt(np.broadcast_to(np.asarray(eps, dtype=a.dtype), a.shape[:-1]))
    eps_one, eps_per_row = _eps_rows(eps, a.shape[:-1], a.dtype)
    rows = np.ascontiguousarray(a).reshape(-1, n)
    e = eps_one if eps_per_row is None else eps_per_row
    _, total, ok = _stats(rows, e, rms)
    s = np.sqrt(total)
    for i in np.flatnonzero(~ok):
        ei = eps_one if eps_per_row is None else float(eps_per_row[i])
        _, rs, k = _scaled_row(rows[i], ei, rms)
        s[i] = math.ldexp(1.0 / rs, k) if rs > 0 else (0.0 if rs == 0 else math.nan)
    return s.reshape(a.shape[:-1])


def layer_norm_std(u: object, eps: object = 1e-5) -> Array:
    """``sqrt(var(u) + eps)``, the scale LayerNorm divides by, without overflow.

    >>> float(layer_norm_std([1e200, 3e200], 0.0))
    1e+200
    """
    return _scale(u, eps, rms=False)


def rms(u: object, eps: object = 1e-5) -> Array:
    """``sqrt(mean(u .* u) + eps)``, the scale RMSNorm divides by, without overflow.

    >>> round(float(rms([3e-200, 4e-200], 0.0) * 1e200) ** 2, 12)
    12.5
    """
    return _scale(u, eps, rms=True)


def _vjp(u: object, eps: object, g: object, out: Array | None, rms: bool,
         value_out: Array | None = None) -> Array:
    """``J^T g`` of LayerNorm (``rms=False``) or RMSNorm, one block of rows at a time:
    ``r (g - mean(g) - x̂ mean(g ⊙ x̂))`` and ``r (g - ŷ mean(g ⊙ ŷ))``."""
    a, gg = _float(u), _float(g)
    shape = np.broadcast_shapes(a.shape, gg.shape)
    dtype = np.result_type(a, gg)
    n = shape[-1] if shape else 0
    if not shape or n == 0 or 0 in shape:
        return _finish(np.empty(shape, dtype=dtype), out)
    eps_one, eps_per_row = _eps_rows(eps, shape[:-1], dtype)
    rows = np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype).reshape(-1, n)
    grows = np.ascontiguousarray(np.broadcast_to(gg, shape), dtype=dtype).reshape(-1, n)
    target, res = _out(shape, dtype, out)
    step = _step(n, np.dtype(dtype).itemsize)
    for r0 in range(0, rows.shape[0], step):
        x, g1 = rows[r0:r0 + step], grows[r0:r0 + step]
        r1 = r0 + x.shape[0]
        e = eps_one if eps_per_row is None else eps_per_row[r0:r1]
        d, total, ok = _stats(x, e, rms)
        r = _recip(total)
        t = target[r0:r1]
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            # r (g - mean(g) - x̂ mean(g ⊙ x̂)) with x̂ = r d, written with d itself:
            # r g - r mean(g) - d (r³ sum(g ⊙ d)/n): no x̂ array, five passes over a block
            coef = r * r * r * np.einsum("ij,ij->i", g1, d) / n
            if value_out is not None:  # the forward value too, from the same block
                np.multiply(d, r[:, None], out=value_out[r0:r1])
            np.multiply(g1, r[:, None], out=t)
            if not rms:
                t -= (r * np.mean(g1, axis=-1))[:, None]
            if rms:  # d is the input itself
                t -= d * coef[:, None]
            else:  # d is this block's own centred copy, no longer needed: scaled in place
                t -= np.multiply(d, coef[:, None], out=d)
            # r³ is a normal float for these scales; other rows are redone scaled
            ok &= (total >= 2.0**-600) & (total <= 2.0**600) & np.isfinite(coef)
        for i in np.flatnonzero(~ok):
            ei = eps_one if eps_per_row is None else float(eps_per_row[r0 + i])
            ds, rs, k = _scaled_row(x[i], ei, rms)
            with np.errstate(under="ignore", over="ignore"):
                xh = ds * rs
                row = g1[i] - xh * (float(np.dot(g1[i], xh)) / n)
                if not rms:
                    row = row - np.mean(g1[i])
                t[i] = np.ldexp(row * rs, -k) if k else row * rs
                if value_out is not None:
                    value_out[r0 + i] = xh
    return _finish(res, out)


def _value_vjp(u: object, eps: object, g: object, out: tuple | None,
               rms: bool) -> tuple[Array, Array]:
    a, gg = _float(u), _float(g)
    shape = np.broadcast_shapes(a.shape, gg.shape)
    dtype = np.result_type(a, gg)
    want = out if out is not None else (None, None)
    value, values = _out(shape, dtype, want[0]) if shape and shape[-1] else (None, None)
    grad = _vjp(a, eps, gg, want[1], rms, value_out=value)
    if value is None:
        values = np.empty(shape, dtype=dtype)
    return _finish(values, want[0]), grad


def layer_norm_vjp(u: object, eps: object, g: object, out: Array | None = None) -> Array:
    """``J^T g`` of ``x̂ = layer_norm(u, eps)``: ``(g - mean(g) - x̂ mean(g ⊙ x̂))/σ`` with
    ``σ = sqrt(var(u) + eps)`` (J is symmetric, so this is also ``J g``).

    >>> np.round(layer_norm_vjp([1.0, 3.0], 0.0, [1.0, 0.0]), 12)
    array([0., 0.])
    >>> np.round(layer_norm_vjp([1.0, 2.0, 6.0], 0.0, [1.0, 0.0, 0.0]), 6)
    array([ 0.176347, -0.220433,  0.044087])
    """
    return _vjp(u, eps, g, out, rms=False)


def rms_norm_vjp(u: object, eps: object, g: object, out: Array | None = None) -> Array:
    """``J^T g`` of ``ŷ = rms_norm(u, eps)``: ``(g - ŷ mean(g ⊙ ŷ))/r`` with
    ``r = sqrt(mean(u .* u) + eps)`` (J is symmetric).

    >>> np.round(rms_norm_vjp([3.0, 4.0], 0.0, [4.0, -3.0]) * math.sqrt(12.5), 12)
    array([ 4., -3.])
    """
    return _vjp(u, eps, g, out, rms=True)


def layer_norm_value_vjp(u: object, eps: object, g: object,
                         out: tuple | None = None) -> tuple[Array, Array]:
    """``(layer_norm(u, eps), J^T g)`` in one pass over ``u`` and ``g`` (forward and
    backward of a LayerNorm layer: the statistics of each row computed once); ``out`` is
    a pair of arrays to write into.

    >>> y, dx = layer_norm_value_vjp([1.0, 3.0], 0.0, [1.0, 0.0])
    >>> y, np.round(dx, 12)
    (array([-1.,  1.]), array([0., 0.]))
    """
    return _value_vjp(u, eps, g, out, rms=False)


def rms_norm_value_vjp(u: object, eps: object, g: object,
                       out: tuple | None = None) -> tuple[Array, Array]:
    """``(rms_norm(u, eps), J^T g)`` in one pass over ``u`` and ``g``; ``out`` is a pair.

    >>> y, dx = rms_norm_value_vjp([3.0, 4.0], 0.0, [4.0, -3.0])
    >>> np.round(y * math.sqrt(12.5), 12), np.round(dx * math.sqrt(12.5), 12)
    (array([3., 4.]), array([ 4., -3.]))
    """
    return _value_vjp(u, eps, g, out, rms=True)


def norm2_hvp(u: object, v: object, out: Array | None = None) -> Array:
    """``∇²‖u‖₂ v = (v - u (uᵀv)/‖u‖₂²)/‖u‖₂``: the Hessian of the Euclidean norm times
    ``v``, which is the VJP (and the JVP) of ``u/‖u‖₂``; 0 at ``u = 0`` (no Hessian
    there). Rescaled by a power of two where ``uᵀu`` over- or underflows.

    >>> norm2_hvp([3.0, 4.0], [4.0, -3.0]) * 5
    array([ 4., -3.])
    >>> norm2_hvp([3.0, 4.0], [3.0, 4.0])
    array([0., 0.])
    >>> norm2_hvp([3e200, 4e200], [4.0, -3.0]) * 5e200
    array([ 4., -3.])
    """
    a, b = _float(u), _float(v)
    low, high, _ = _limits(a.dtype)
    with np.errstate(over="ignore", under="ignore"):
        uu = _sum_squares(a)
    if np.size(uu) and np.all((uu >= low) & (uu <= high)):
        uv = np.einsum("...i,...i->...", a, b) if a.ndim > 1 or b.ndim > 1 else \
            np.asarray(np.dot(a, b))
        inv = 1.0 / np.sqrt(uu)
        res = np.multiply(b, np.asarray(inv)[..., None], out=out)
        coef = np.asarray(uv * inv / uu)[..., None]
        if a.shape[-1] <= 1 << 16:
            res -= a * coef
        else:  # a block at a time: the product stays in the cache
            flat_r, flat_a = res.reshape(-1, res.shape[-1]), np.broadcast_to(
                a, res.shape).reshape(-1, res.shape[-1])
            c = np.broadcast_to(coef, res.shape[:-1] + (1,)).reshape(-1, 1)
            for i in range(flat_r.shape[0]):
                for j in range(0, flat_r.shape[1], 1 << 14):
                    flat_r[i, j:j + (1 << 14)] -= flat_a[i, j:j + (1 << 14)] * c[i, 0]
        return res
    # slow path: each u scaled so its largest entry is in [0.5, 1)
    big = np.max(np.abs(a), axis=-1) if a.shape[-1] else np.zeros(a.shape[:-1])
    ok = np.isfinite(big) & (big > 0)
    k = np.frexp(np.where(ok, big, 1.0))[1]
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        s = np.ldexp(a, -np.asarray(k)[..., None])
        ss = _sum_squares(s)
        n2 = np.sqrt(ss)
        sv = np.einsum("...i,...i->...", s, np.broadcast_to(b, np.broadcast_shapes(
            s.shape, b.shape)))
        res = sdiv(b - s * np.asarray(sdiv(sv, ss))[..., None], np.asarray(n2)[..., None])
        res = np.ldexp(res, -np.asarray(k)[..., None])
    res = np.where(np.asarray(ok)[..., None], res, 0.0)
    if out is not None:
        np.copyto(out, res)
        return out
    return res
