"""Chunk-wise norm reductions for Dask arrays, overflow-safe across chunks.

A p-norm of a vector split into chunks is reduced in one pass over the data: every chunk
gives ``(e_c, S_c)`` with ``e_c`` the power-of-two exponent of its largest entry and
``S_c = Σ (|u_i| 2^-e_c)^p`` (entries at most 1, so nothing overflows and the largest
terms never underflow); the small table of pairs is combined as
``e = max e_c``, ``S = Σ S_c 2^(p (e_c - e))``. The norm is ``S^(1/p) 2^e`` and the
gradient ``(|u| 2^-e / S^(1/p))^(p-1)`` is formed from the scaled entries in the second,
elementwise pass.

The reduction pass runs when the kernel is called (``dask.compute`` of the small table,
on the active scheduler or ``distributed`` client); the kernel returns the lazy second
pass. So neither pass holds more than a few chunks of ``u`` per worker: were the two
passes one graph, every chunk of ``u`` would have to stay in memory until the last
chunk's partial sum was known. An input that is itself a lazy computation is computed
twice (once per pass), the price of never holding it whole.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_EMPTY = -1e6  # exponent of an all-zero chunk: 2**(p*(_EMPTY - e)) is 0


def _block_partials(block: np.ndarray, p: float) -> np.ndarray:
    """``[e_c, S_c]`` of one chunk, on a new last axis of length 2."""
    a = np.abs(block.astype(np.float64, copy=False))
    big = np.max(a, axis=-1, initial=0.0)
    e = np.frexp(np.where(np.isfinite(big), big, 1.0))[1].astype(np.float64)
    e = np.where(big > 0, e, _EMPTY)  # an all-zero chunk must not set the scale
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        scaled = np.ldexp(a, -np.where(big > 0, e, 0).astype(np.int64)[..., None])
        if p == 2.0:
            s = np.einsum("...i,...i->...", scaled, scaled)
        else:
            s = np.sum(scaled ** p, axis=-1)
    s = np.where(np.isfinite(big), s, big)  # inf/NaN entries: the sum says so
    return np.stack([e, s], axis=-1)


def _combine(parts: np.ndarray, p: float) -> np.ndarray:
    """``[s, e]`` (norm of the scaled vector, exponent) from a row of chunk partials."""
    e_c, s_c = parts[..., 0::2], parts[..., 1::2]
    e = np.max(e_c, axis=-1)
    e = np.where(e == _EMPTY, 0.0, e)  # the zero vector: s = 0 with e = 0
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        total = np.sum(s_c * np.exp2(p * (e_c - e[..., None])), axis=-1)
        s = total ** (1.0 / p)
    return np.stack([s, e], axis=-1)


def scaled_norm(u: Any, p: float) -> tuple[Any, Any]:
    """``(s, e)`` per batch row with ``‖u‖_p = s 2^e`` and ``s`` in [2^-1, n^(1/p)].

    One pass over the chunks of ``u`` (a Dask array, vector axis last, any chunking),
    computed now; ``s`` and ``e`` come back as small Dask arrays of known values.

    >>> import dask.array as da, numpy as np
    >>> u = da.from_array(np.array([3e200, 4e200, 0.0, 0.0]), chunks=2)
    >>> s, e = scaled_norm(u, 2.0)
    >>> round(float(np.ldexp(s.compute(), int(e.compute()))) / 1e200, 12)
    5.0
    """
    import dask
    import dask.array as da

    nb = len(u.chunks[-1])
    parts = u.map_blocks(_block_partials, p, dtype=np.float64,
                         chunks=(*u.chunks[:-1], (2,) * nb))
    parts = parts.rechunk({parts.ndim - 1: -1})
    pair = parts.map_blocks(_combine, p, dtype=np.float64,
                            chunks=(*parts.chunks[:-1], (2,)))
    s, e = dask.compute(pair[..., 0], pair[..., 1])  # pass 1 runs now (see module doc)
    return (da.from_array(np.asarray(s, dtype=u.dtype)),
            da.from_array(np.asarray(e, dtype=u.dtype)))


def normp(u: Any, p: float) -> Any:
    """``‖u‖_p`` over the last axis of a Dask array, overflow-safe, one pass.

    >>> import dask.array as da, numpy as np
    >>> round(float(normp(da.from_array(np.full(6, 1e300), chunks=2), 2.0).compute()) / 1e300, 12)
    2.449489742783
    """
    import dask.array as da

    s, e = scaled_norm(u, p)
    return da.ldexp(s, e.astype(np.int64)).astype(u.dtype)


def host(fn: Any, args: tuple, shape: tuple, dtype: Any) -> Any:
    """``fn(*args)`` (a numpy helper) on a Dask array ``args[0]``.

    Per block of whole rows when every other argument is not a Dask array and has no
    batch axes (a scalar, or one label per vector entry); otherwise as one task.
    """
    import dask
    import dask.array as da

    first, rest = args[0], args[1:]
    n = first.shape[-1]
    rowwise = tuple(first.shape) == tuple(shape) and all(
        not isinstance(a, da.Array) and np.ndim(a) == 0 or
        (not isinstance(a, da.Array) and np.ndim(a) == 1 and np.shape(a)[0] == n)
        for a in rest)
    if rowwise:
        rows = first.rechunk({first.ndim - 1: -1})
        plain = [np.asarray(a) for a in rest]
        return rows.map_blocks(lambda b: np.asarray(fn(b, *plain)).astype(dtype, copy=False),
                               dtype=dtype)
    task = dask.delayed(lambda *a: np.asarray(fn(*a)).astype(dtype, copy=False))(*args)
    return da.from_delayed(task, shape=shape, dtype=dtype)
